"""The selftest's pure pieces: deviation cover, detection, clean runs in other profiles."""

from __future__ import annotations

from pathlib import Path

from conformance.selftest import (
    DeviationInfo,
    SuiteRun,
    detect,
    greedy_cover,
    profile_clean_problems,
)


def _run(statuses: dict[str, str]) -> SuiteRun:
    return SuiteRun("r", 0, 1.0, statuses, None, None, Path("."))


def test_greedy_cover_targets_every_clause_with_fewer_deviations() -> None:
    wide = DeviationInfo("wide", ("A", "B"), "")
    narrow = DeviationInfo("narrow", ("A",), "")
    other = DeviationInfo("other", ("C",), "")
    chosen = greedy_cover([narrow, wide, other])
    assert [d.name for d in chosen] == ["other", "wide"]


def test_caught_only_by_a_targeted_clause_that_failed() -> None:
    info = DeviationInfo("d", ("A", "B"), "")
    found = detect(info, _run({"A": "pass", "B": "fail", "C": "fail"}), {"A", "B"})
    assert found.caught and found.caught_by == ["B"]
    assert not detect(info, _run({"A": "error", "B": "pass"}), {"A", "B"}).caught
    assert detect(info, _run({}), {"A"}).missing_clauses == ["B"]


def test_profile_clean_run_needs_its_targets_to_pass() -> None:
    assert profile_clean_problems(_run({"T": "pass", "S": "not-applicable"}), {"T"}) == {}
    assert profile_clean_problems(_run({"T": "not-applicable"}), {"T"}) == {"T": "not-applicable"}
    assert profile_clean_problems(_run({"S": "pass"}), {"T"}) == {"T": "not run"}
    assert profile_clean_problems(_run({"T": "pass", "S": "fail"}), {"T"}) == {"S": "fail"}
