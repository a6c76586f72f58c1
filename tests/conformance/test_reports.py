"""Report writers: junit well-formed at clause level, JSON keys, self-contained HTML, markdown."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.report import write_reports
from conformance.report.model import ClauseInfo, ClauseResult, RunResult, TestResult, aggregate

COUNTEREXAMPLE = "Falsifying example: test_names(\n    name='a\\x00<b>&\"',\n)"


def info(cid: str) -> ClauseInfo:
    return ClauseInfo(cid, "Limitations", "doc", f'{cid} MUST hold <always> & "forever"')


def make_run() -> RunResult:
    failing = TestResult(
        "suite/t.py::test_f", ("AUTH-F",), "wire", "fail", 0.5, "boom \x00 <x>", COUNTEREXAMPLE
    )
    clauses = [
        ClauseResult(info("AUTH-P"), "pass", [TestResult("t::p", ("AUTH-P",), "sdk", "pass", 1)]),
        aggregate(info("AUTH-F"), [failing], "not selected"),
        ClauseResult(
            info("AUTH-K"),
            "known-deviation",
            message="m",
            expectation={"reason": "why", "evidence": "issue #1"},
        ),
        ClauseResult(info("AUTH-S"), "stale-expectation", message="stale"),
        ClauseResult(info("AUTH-N"), "not-applicable", message="needs restart"),
        ClauseResult(info("AUTH-E"), "error", message="harness error during setup"),
    ]
    return RunResult(
        target_name="reference",
        target_address="127.0.0.1:1234",
        server_version="2.3.5-ref",
        profile="milvus-2.3",
        suite_version="0.1.0",
        hypothesis_profile="ci",
        run_id="abc123",
        started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:00:09+00:00",
        clauses=clauses,
    )


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    paths = write_reports(make_run(), tmp_path / "out")
    assert sorted(p.name for p in paths) == [
        "junit.xml",
        "report.html",
        "report.md",
        "results.json",
    ]
    return tmp_path / "out"


def test_junit_is_well_formed_and_clause_level(report_dir: Path) -> None:
    root = ET.parse(report_dir / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["AUTH-P", "AUTH-F", "AUTH-K", "AUTH-S", "AUTH-N", "AUTH-E"]
    assert len(cases["AUTH-P"]) == 0
    assert cases["AUTH-F"].find("failure") is not None
    assert "Falsifying example" in (cases["AUTH-F"].find("failure").text or "")  # type: ignore[union-attr]
    assert cases["AUTH-S"].find("failure") is not None
    assert cases["AUTH-E"].find("error") is not None
    assert cases["AUTH-N"].find("skipped") is not None
    assert "known-deviation: why" in cases["AUTH-K"].find("skipped").get("message", "")  # type: ignore[union-attr]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "2", "1")


def test_results_json_schema(report_dir: Path) -> None:
    data = json.loads((report_dir / "results.json").read_text())
    assert data["target"] == {
        "name": "reference",
        "address": "127.0.0.1:1234",
        "server_version": "2.3.5-ref",
    }
    assert data["profile"] == "milvus-2.3"
    assert data["suite"]["version"] == "0.1.0"
    assert {"started", "finished", "run_id", "summary", "clauses"} <= set(data)
    assert data["summary"]["ok"] is False
    clause_keys = {
        "id",
        "section",
        "kind",
        "must",
        "status",
        "driver",
        "duration",
        "counterexample",
        "message",
        "tests",
    }
    for clause in data["clauses"]:
        assert clause_keys <= set(clause)
        assert clause["status"] in {
            "pass",
            "fail",
            "known-deviation",
            "stale-expectation",
            "not-applicable",
            "error",
        }
    by_id = {c["id"]: c for c in data["clauses"]}
    assert by_id["AUTH-F"]["counterexample"] == COUNTEREXAMPLE
    assert by_id["AUTH-F"]["driver"] == "wire"
    assert by_id["AUTH-F"]["duration"] == 0.5
    assert by_id["AUTH-P"]["counterexample"] is None
    assert by_id["AUTH-K"]["expectation"]["evidence"] == "issue #1"


def test_html_is_self_contained_and_escaped(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<always>" not in html and "&lt;always&gt;" in html
    assert "Falsifying example" in html and "Limitations" in html
    assert 'href="#AUTH-F"' in html and 'id="AUTH-F"' in html


def test_markdown_has_matrix_and_details(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert "| `AUTH-P` | Limitations | doc | ✅ pass | sdk |" in md
    assert "### `AUTH-F`: fail" in md and COUNTEREXAMPLE in md
    assert "DOES NOT CONFORM" in md


def test_aggregate_precedence() -> None:
    def t(status: str) -> TestResult:
        return TestResult(f"t::{status}", ("X",), "wire", status)  # type: ignore[arg-type]

    assert aggregate(info("X"), [t("pass"), t("fail"), t("error")], "").status == "fail"
    assert aggregate(info("X"), [t("pass"), t("error")], "").status == "error"
    assert aggregate(info("X"), [t("pass"), t("not-applicable")], "").status == "pass"
    na = aggregate(info("X"), [t("not-applicable")], "")
    assert na.status == "not-applicable"
    none = aggregate(info("X"), [], "not selected")
    assert (none.status, none.message) == ("not-applicable", "not selected")


def test_summary_line_verdict() -> None:
    run = make_run()
    assert "DOES NOT CONFORM" in run.summary_line() and not run.ok
    run.clauses = [c for c in run.clauses if c.status in ("pass", "known-deviation")]
    assert run.ok and "CONFORMS: 2 clauses (1 pass, 1 known-deviation)" in run.summary_line()
