"""`milvus-conformance` CLI: argument mapping, exit codes, and end-to-end runs on real targets."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import load_catalogue
from conformance.cli import SUITE_DIR, build_parser, pytest_arguments
from conformance.oracle.params import load_params
from conformance.targets.reference import ReferenceTarget

# Runs the CLI with its suite directory swapped for a stand-in, in a fresh interpreter.
_WITH_SUITE = (
    "import sys; from pathlib import Path; import conformance.cli as cli; "
    "cli.SUITE_DIR = Path(sys.argv[1]); sys.exit(cli.main(sys.argv[2:]))"
)

STAND_IN_SUITE = """
import pytest

@pytest.mark.clause("AUTH-USERNAME-EMPTY", driver="wire")
def test_empty():
    pass

@pytest.mark.clause("AUTH-USERNAME-LENGTH", driver="wire")
def test_length():
    assert {ok}, "33-byte name accepted"
"""


def cli_with_suite(tmp_path: Path, ok: bool, *args: str) -> subprocess.CompletedProcess[str]:
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    (suite / "test_stand_in.py").write_text(STAND_IN_SUITE.format(ok=ok))
    return subprocess.run(
        [sys.executable, "-c", _WITH_SUITE, str(suite), "run", *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip


def test_arguments_map_to_plugin_options(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["run", "--target", "grpc://127.0.0.1:19530", "--profile", "milvus-2.6",
         "--root-password", "pw", "--expectations", "e.yaml", "--report", "out",
         "--hypothesis-profile", "thorough", "-k", "root", "--fresh",
         "--management-url", "http://127.0.0.1:9091", "--rest", "http://127.0.0.1:19530",
         "--", "-x"]
    )  # fmt: skip
    argv = pytest_arguments(args, tmp_path / "pytest.ini")
    assert argv[0] == str(SUITE_DIR)
    pairs = dict(itertools.pairwise(argv))
    assert pairs["--milvus-target"] == "grpc://127.0.0.1:19530"
    assert pairs["--milvus-profile"] == "milvus-2.6"
    assert pairs["--milvus-root-password"] == "pw"
    assert pairs["--milvus-expectations"] == str(Path("e.yaml").resolve())
    assert pairs["--milvus-report"] == str(Path("out").resolve())
    assert pairs["--milvus-hypothesis-profile"] == "thorough"
    assert pairs["-k"] == "root"
    assert pairs["--milvus-management-url"] == "http://127.0.0.1:9091"
    assert pairs["--milvus-rest-url"] == "http://127.0.0.1:19530"
    assert "--milvus-fresh" in argv and argv[-1] == "-x"


def test_defaults() -> None:
    args = build_parser().parse_args(["run"])
    assert (args.target, args.profile, args.report) == (
        "reference",
        "docs-2.1",
        "conformance-report",
    )
    assert (args.root_user, args.hypothesis_profile, args.fresh) == ("root", "ci", False)


def test_suite_directory_is_shipped() -> None:
    assert SUITE_DIR.is_dir() and (SUITE_DIR / "conftest.py").is_file()


def test_exit_zero_when_every_clause_passes(tmp_path: Path) -> None:
    proc = cli_with_suite(tmp_path, True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "milvus-conformance: CONFORMS" in proc.stdout
    assert "[100%]" in proc.stdout  # pytest's progress stays visible
    assert (tmp_path / "conformance-report" / "results.json").is_file()  # default report dir


def test_exit_one_when_a_clause_fails(tmp_path: Path) -> None:
    proc = cli_with_suite(tmp_path, False, "--report", "r")
    assert proc.returncode == 1
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    assert {c["id"]: c["status"] for c in data["clauses"]}["AUTH-USERNAME-LENGTH"] == "fail"


def test_known_deviation_exits_zero_and_stale_exits_one(tmp_path: Path) -> None:
    (tmp_path / "exp.yaml").write_text(
        "- {clause: AUTH-USERNAME-LENGTH, reason: accepts 33, evidence: run 12}\n"
    )
    assert cli_with_suite(tmp_path, False, "--expectations", "exp.yaml").returncode == 0
    assert cli_with_suite(tmp_path, True, "--expectations", "exp.yaml").returncode == 1


def test_bad_input_is_reported_clearly(tmp_path: Path) -> None:
    (tmp_path / "exp.yaml").write_text("- {clause: NOPE-X, reason: r, evidence: e}\n")
    proc = cli_with_suite(tmp_path, True, "--expectations", "exp.yaml")
    assert proc.returncode == 4 and "unknown clause id 'NOPE-X'" in proc.stderr
    proc = cli_with_suite(tmp_path, True, "--profile", "milvus-9")
    assert proc.returncode == 2 and "invalid choice: 'milvus-9'" in proc.stderr
    proc = cli_with_suite(tmp_path, True, "--target", "bogus")
    assert proc.returncode == 4 and "unknown target 'bogus'" in proc.stderr


def test_clauses_lists_the_catalogue() -> None:
    proc = subprocess.run(
        ["milvus-conformance", "clauses"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for clause_id in load_catalogue():
        assert clause_id in proc.stdout
    assert f"{len(load_catalogue())} clauses" in proc.stdout


# ---- end to end on real targets (the full shipped suite) ------------------------------------


def run_suite(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        ["milvus-conformance", "run", "--report", str(tmp_path / "report"), *args],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    results = tmp_path / "report" / "results.json"
    assert results.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.returncode, json.loads(results.read_text()), proc.stdout


@pytest.mark.parametrize("profile", ["docs-2.1", "milvus-2.3", "milvus-2.6"])
def test_reference_conforms_in_every_profile(tmp_path: Path, profile: str) -> None:
    code, data, stdout = run_suite(tmp_path, "--target", "reference", "--profile", profile)
    capabilities = ReferenceTarget.capabilities
    catalogue = load_catalogue()
    # AUTH-USER-LIMIT needs a profile with a user cap; the doc (docs-2.1) states none.
    uncapped = {"AUTH-USER-LIMIT"} if load_params(profile).max_users is None else set()
    for clause in data["clauses"]:
        needs = set(catalogue[clause["id"]].capabilities)
        # Only clauses needing a capability the reference launcher lacks may be skipped.
        applies = needs <= capabilities and clause["id"] not in uncapped
        expected = "pass" if applies else "not-applicable"
        assert clause["status"] == expected, (clause["id"], clause["message"], stdout[-2000:])
    assert code == 0
    assert data["target"]["server_version"] and not data["target"]["server_version"].startswith(
        "unknown"
    )


# Clauses about authentication itself: milvus-lite accepts any credential, so they must fail,
# and fail because bad credentials were accepted (not because an RPC is unimplemented).
AUTH_CLAUSES = ("AUTH-EVERY-RPC", "AUTH-NO-BYPASS-HEADER")


def test_negative_control_milvus_lite_fails_authentication(tmp_path: Path) -> None:
    # Vector clauses say nothing about authentication; leave them out of the control.
    code, data, stdout = run_suite(tmp_path, "--target", "milvus-lite", "-k", "not vector")
    status = {c["id"]: c for c in data["clauses"]}
    for clause_id in AUTH_CLAUSES:
        clause = status[clause_id]
        assert clause["status"] == "fail", (clause_id, clause["message"])
        assert "expected gRPC UNAUTHENTICATED" in clause["message"]
        assert "got accepted" in clause["message"]
    errors = [c["id"] for c in data["clauses"] if c["status"] == "error"]
    assert not errors  # the harness stayed sound: deviations are fails, not errors
    assert code == 1
    assert "DOES NOT CONFORM" in stdout
