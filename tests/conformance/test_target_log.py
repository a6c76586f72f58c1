"""A failing run keeps the target's log tail as target-log.txt, linked from the reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

SUITE = """
import os
import pytest

@pytest.mark.clause("AUTH-ROOT-LISTED", driver="wire")
def test_talks_to_the_target(target, wire, conformance_config):
    assert wire(conformance_config.root_user, conformance_config.root_password).connect().ok

@pytest.mark.clause("AUTH-USERNAME-EMPTY", driver="wire")
def test_forced_failure(target):
    assert os.environ.get("FORCE_FAILURE") != "1", "forced failure"
"""


def run_suite(tmp_path: Path, *, fail: bool) -> tuple[subprocess.CompletedProcess[str], Path]:
    (tmp_path / "test_log_suite.py").write_text(textwrap.dedent(SUITE), encoding="utf-8")
    (tmp_path / "conftest.py").write_text(
        "from conformance.suite.conftest import *  # noqa: F403\n", encoding="utf-8"
    )
    report = tmp_path / "report"
    env = dict(os.environ, FORCE_FAILURE="1" if fail else "0")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull,
         "--rootdir", str(tmp_path), str(tmp_path / "test_log_suite.py"),
         "--milvus-target", "reference", "--milvus-report", str(report)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    return proc, report


def results(report: Path) -> dict[str, Any]:
    return json.loads((report / "results.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("fail", [True, False], ids=["failing", "passing"])
def test_target_log_only_when_a_clause_fails(tmp_path: Path, fail: bool) -> None:
    proc, report = run_suite(tmp_path, fail=fail)
    assert (report / "results.json").exists(), proc.stdout + proc.stderr
    data = results(report)
    log = report / "target-log.txt"
    markdown = (report / "report.md").read_text(encoding="utf-8")
    html = (report / "report.html").read_text(encoding="utf-8")
    assert isinstance(data["hypothesis_max_examples"], int)
    if fail:
        assert proc.returncode != 0
        assert log.exists(), proc.stdout + proc.stderr
        # the reference's own start-up line: the tail is the server's log, not pytest's
        assert "listening" in log.read_text(encoding="utf-8").lower()
        assert data["target_log"] == "target-log.txt"
        assert "](target-log.txt)" in markdown
        assert 'href="target-log.txt"' in html
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert not log.exists()
        assert data["target_log"] is None
        assert "target-log.txt" not in markdown + html


def test_a_passing_rerun_removes_a_stale_log(tmp_path: Path) -> None:
    _, report = run_suite(tmp_path, fail=True)
    assert (report / "target-log.txt").exists()
    proc, report = run_suite(tmp_path, fail=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (report / "target-log.txt").exists()
