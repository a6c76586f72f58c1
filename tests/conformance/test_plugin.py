"""The pytest plugin, exercised through real pytest subprocesses on small stand-in suites."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

MIXED_SUITE = """
import pytest
from hypothesis import given, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule
from conformance.plugin import not_applicable
from conformance.drivers.errors import HarnessError


@pytest.mark.clause("AUTH-USERNAME-EMPTY", driver="wire")
def test_pass():
    pass


@pytest.mark.clause("AUTH-USERNAME-LENGTH", driver="wire")
@given(n=st.integers(min_value=0, max_value=100))
def test_property_fails(n):
    assert n < 33, f"name of length {n} was accepted"


class Counter(RuleBasedStateMachine):
    count = 0

    @rule()
    def bump(self):
        self.count += 1
        assert self.count < 3, "model and target disagree"


@pytest.mark.clause("AUTH-STATEFUL-MODEL", driver="wire")
def test_stateful():
    Counter.TestCase().runTest()


@pytest.mark.clause("AUTH-USERNAME-CHARSET", driver="sdk")
def test_not_applicable():
    not_applicable("needs a restartable target")


@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")


@pytest.mark.clause("AUTH-USERNAME-FIRST-CHAR", driver="sdk")
def test_setup_error(broken):
    pass


@pytest.mark.clause("AUTH-ROOT-LISTED", driver="wire")
def test_harness_error_in_call():
    raise HarnessError("driver could not reach the target")


@pytest.mark.clause("AUTH-DELETE", driver="wire")
def test_delete_one():
    pass


@pytest.mark.clause("AUTH-DELETE", driver="sdk")
def test_delete_two():
    assert False, "deleted user still listed"


def test_unmarked_helper_test():
    pass
"""


def run_pytest(
    tmp_path: Path, suite: str, *args: str, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    (tmp_path / "test_fake_suite.py").write_text(textwrap.dedent(suite), encoding="utf-8")
    report = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull,
         "--rootdir", str(tmp_path), str(tmp_path / "test_fake_suite.py"),
         "--milvus-report", str(report), *args],
        capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
    )  # fmt: skip
    results = report / "results.json"
    data = json.loads(results.read_text()) if results.exists() else None
    return proc, data


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in data["clauses"]}


def clause(data: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in data["clauses"] if c["id"] == cid)


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    proc, data = run_pytest(tmp_path_factory.mktemp("mixed"), MIXED_SUITE, "--milvus-target",
                            "reference")  # fmt: skip
    assert data is not None, proc.stdout + proc.stderr
    return proc, data


def test_outcomes_map_to_clause_statuses(mixed_run: tuple[Any, dict[str, Any]]) -> None:
    _, data = mixed_run
    got = statuses(data)
    assert got["AUTH-USERNAME-EMPTY"] == "pass"
    assert got["AUTH-USERNAME-LENGTH"] == "fail"
    assert got["AUTH-STATEFUL-MODEL"] == "fail"
    assert got["AUTH-USERNAME-CHARSET"] == "not-applicable"
    assert got["AUTH-USERNAME-FIRST-CHAR"] == "error"  # setup failure = harness
    assert got["AUTH-ROOT-LISTED"] == "error"  # HarnessError = harness
    assert got["AUTH-DELETE"] == "fail"  # one of its two tests failed
    # Everything else in the catalogue was not in this suite at all.
    assert got["AUTH-PERSISTENCE"] == "not-applicable"
    assert clause(data, "AUTH-PERSISTENCE")["message"] == "not selected"


def test_counterexamples_and_messages_are_captured(mixed_run: tuple[Any, dict[str, Any]]) -> None:
    _, data = mixed_run
    length = clause(data, "AUTH-USERNAME-LENGTH")
    # Hypothesis renamed the heading ("Falsifying example" up to ~6.16x, "Failing test case" after).
    heading = ("Falsifying example", "Failing test case")
    assert any(h in length["counterexample"] for h in heading), length["counterexample"]
    assert "n=33" in length["counterexample"]
    assert "name of length 33 was accepted" in length["message"]
    assert "@reproduce_failure" in length["counterexample"]  # print_blob from the ci profile
    stateful = clause(data, "AUTH-STATEFUL-MODEL")["counterexample"]
    assert "state.bump()" in stateful  # the shrunk step list, replayable
    assert clause(data, "AUTH-USERNAME-CHARSET")["message"] == "needs a restartable target"
    assert "fixture exploded" in clause(data, "AUTH-USERNAME-FIRST-CHAR")["message"]
    assert clause(data, "AUTH-DELETE")["drivers"] == ["sdk", "wire"]
    assert len(clause(data, "AUTH-DELETE")["tests"]) == 2


def test_exit_status_and_summary_line(mixed_run: tuple[Any, dict[str, Any]]) -> None:
    proc, data = mixed_run
    assert proc.returncode == 1
    assert data["summary"]["ok"] is False
    assert "milvus-conformance: DOES NOT CONFORM" in proc.stdout


PASSING_SUITE = """
import pytest

@pytest.mark.clause("AUTH-USERNAME-EMPTY", driver="wire")
def test_empty():
    pass

@pytest.mark.clause("AUTH-USERNAME-LENGTH", "AUTH-USERNAME-CHARSET", driver="wire")
def test_length():
    assert {expression}
"""


def test_all_passing_exits_zero(tmp_path: Path) -> None:
    proc, data = run_pytest(tmp_path, PASSING_SUITE.format(expression="True"),
                            "--milvus-target", "reference")  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    assert data is not None and data["summary"]["ok"] is True
    assert statuses(data)["AUTH-USERNAME-CHARSET"] == "pass"  # one test, two clauses
    assert "milvus-conformance: CONFORMS" in proc.stdout
    assert {"junit.xml", "report.md", "report.html"} <= {
        p.name for p in (tmp_path / "report").iterdir()
    }


def test_known_deviation_passes_and_stale_expectation_fails(tmp_path: Path) -> None:
    expectations = tmp_path / "exp.yaml"
    expectations.write_text(
        "- {clause: AUTH-USERNAME-LENGTH, reason: accepts 33, evidence: issue 7}\n"
    )
    failing = PASSING_SUITE.format(expression="False")
    proc, data = run_pytest(tmp_path, failing, "--milvus-target", "reference",
                            "--milvus-expectations", str(expectations))  # fmt: skip
    assert data is not None
    assert statuses(data)["AUTH-USERNAME-LENGTH"] == "known-deviation"
    # The same test also checks AUTH-USERNAME-CHARSET, which has no expectation: still a fail.
    assert statuses(data)["AUTH-USERNAME-CHARSET"] == "fail"
    assert proc.returncode == 1
    expectations.write_text(
        "- {clause: AUTH-USERNAME-LENGTH, reason: r, evidence: e}\n"
        "- {clause: AUTH-USERNAME-CHARSET, reason: r, evidence: e}\n"
    )
    proc, data = run_pytest(tmp_path, failing, "--milvus-target", "reference",
                            "--milvus-expectations", str(expectations))  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    passing = PASSING_SUITE.format(expression="True")
    proc, data = run_pytest(tmp_path, passing, "--milvus-target", "reference",
                            "--milvus-expectations", str(expectations))  # fmt: skip
    assert data is not None and statuses(data)["AUTH-USERNAME-LENGTH"] == "stale-expectation"
    assert proc.returncode == 1


def test_bad_expectations_file_is_a_usage_error(tmp_path: Path) -> None:
    expectations = tmp_path / "exp.yaml"
    expectations.write_text("- {clause: AUTH-NO-SUCH, reason: r, evidence: e}\n")
    proc, data = run_pytest(tmp_path, PASSING_SUITE.format(expression="True"),
                            "--milvus-target", "reference",
                            "--milvus-expectations", str(expectations))  # fmt: skip
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert "unknown clause id 'AUTH-NO-SUCH'" in proc.stderr
    assert data is None


def test_deselected_clauses_are_not_selected(tmp_path: Path) -> None:
    proc, data = run_pytest(tmp_path, PASSING_SUITE.format(expression="False"),
                            "--milvus-target", "reference", "-k", "test_empty")  # fmt: skip
    assert data is not None and proc.returncode == 0, proc.stdout
    assert statuses(data)["AUTH-USERNAME-EMPTY"] == "pass"
    assert clause(data, "AUTH-USERNAME-LENGTH")["status"] == "not-applicable"
    assert clause(data, "AUTH-USERNAME-LENGTH")["message"] == "not selected"


def test_unknown_clause_id_in_marker_is_an_error(tmp_path: Path) -> None:
    suite = 'import pytest\n@pytest.mark.clause("AUTH-TYPO")\ndef test_x():\n    pass\n'
    proc, data = run_pytest(tmp_path, suite, "--milvus-target", "reference")
    assert data is not None and proc.returncode == 1
    assert statuses(data)["AUTH-TYPO"] == "error"


def test_markers_outside_the_suite_do_not_activate(tmp_path: Path) -> None:
    proc, data = run_pytest(tmp_path, PASSING_SUITE.format(expression="True"))
    assert proc.returncode == 0 and data is None
    assert "milvus-conformance:" not in proc.stdout


def test_running_the_shipped_suite_defaults_to_reference(tmp_path: Path) -> None:
    from conformance.plugin import SUITE_DIR

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(SUITE_DIR),
         "-k", "test_root_is_listed", "--milvus-report", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    data = json.loads((tmp_path / "report" / "results.json").read_text())
    assert data["target"]["name"] == "reference" and data["profile"] == "docs-2.1"
    assert statuses(data)["AUTH-ROOT-LISTED"] == "pass"
    assert clause(data, "AUTH-PERSISTENCE")["message"] == "not selected"


def test_plugin_is_inert_in_ordinary_runs(tmp_path: Path) -> None:
    suite = """
import sys

def test_nothing_heavy_loaded():
    assert "pymilvus" not in sys.modules
    assert "conformance.report" not in sys.modules
    assert "conformance.targets" not in sys.modules
"""
    (tmp_path / "test_fake_suite.py").write_text(suite)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull,
         "--rootdir", str(tmp_path), str(tmp_path / "test_fake_suite.py")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    assert "milvus-conformance:" not in proc.stdout
    assert not (tmp_path / "conformance-report").exists()


TARGET_SUITE = """
import os, time
import pytest

@pytest.mark.clause("AUTH-ROOT-LISTED", driver="wire")
def test_uses_target(target, conformance_config):
    assert target.address.startswith("127.0.0.1:")
    assert conformance_config.profile == "milvus-2.3"
    assert len(conformance_config.run_id) == 6
    open(os.environ["PID_FILE"], "w").write(str(target.pid))
    time.sleep(float(os.environ.get("HOLD", "0")))

@pytest.mark.clause("AUTH-PERSISTENCE", driver="wire")
def test_needs_restart(target):
    target.restart()
"""


def test_target_fixture_starts_and_stops_by_pid(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PID_FILE", str(tmp_path / "pid"))
    proc, data = run_pytest(tmp_path, TARGET_SUITE, "--milvus-target", "milvus-lite",
                            "--milvus-profile", "milvus-2.3", "-k", "uses_target")  # fmt: skip
    assert data is not None and proc.returncode == 0, proc.stdout + proc.stderr
    assert data["target"]["name"] == "milvus-lite"
    assert data["target"]["server_version"].startswith("milvus_lite")
    assert data["target"]["address"].startswith("127.0.0.1:")
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_missing_capability_is_not_applicable_with_reason(tmp_path: Path) -> None:
    from conformance.targets import TargetOptions, make_target

    with make_target("milvus-lite", TargetOptions(work_dir=tmp_path / "lite")) as running:
        spec = f"grpc://{running.address}"  # an already-running server: no restart capability
        proc, data = run_pytest(tmp_path, TARGET_SUITE, "--milvus-target", spec,
                                "-k", "needs_restart")  # fmt: skip
    assert data is not None and proc.returncode == 0, proc.stdout
    assert data["target"]["name"] == spec
    persistence = clause(data, "AUTH-PERSISTENCE")
    assert persistence["status"] == "not-applicable"
    assert "needs target capability restart" in persistence["message"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_still_stops_the_target(tmp_path: Path, signum: int) -> None:
    (tmp_path / "test_fake_suite.py").write_text(TARGET_SUITE)
    pid_file = tmp_path / "pid"
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, PID_FILE=str(pid_file), HOLD="60")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull,
         "--rootdir", str(tmp_path), str(tmp_path / "test_fake_suite.py"),
         "--milvus-target", "milvus-lite", "--milvus-profile", "milvus-2.3",
         "--milvus-report", str(tmp_path / "report"), "-k", "uses_target"],
        cwd=tmp_path, env=dict(env, TMPDIR=str(tmp_path / "tmp")),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        server_pid = int(pid_file.read_text())
        proc.send_signal(signum)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)
    assert list((tmp_path / "tmp").iterdir()) == []  # the server's temp dir went too


PRINTER_SWAP_SUITE = """
import pytest
from hypothesis import core, given, strategies as st
from hypothesis.vendor import pretty


class Blank(pretty.RepresentationPrinter):  # what schemathesis installs while it runs
    def pretty(self, obj, *, cycle=False):
        return None


@pytest.mark.clause("AUTH-USERNAME-EMPTY", driver="wire")
def test_a_swaps_the_printer():
    core.RepresentationPrinter = Blank


@pytest.mark.clause("AUTH-USERNAME-LENGTH", driver="wire")
@given(n=st.integers(min_value=0, max_value=100))
def test_b_property_fails(n):
    assert n < 33
"""


def test_counterexamples_survive_a_swapped_hypothesis_printer(tmp_path: Path) -> None:
    proc, data = run_pytest(tmp_path, PRINTER_SWAP_SUITE, "--milvus-target", "reference")
    assert data is not None, proc.stdout
    assert "n=33" in clause(data, "AUTH-USERNAME-LENGTH")["counterexample"]
