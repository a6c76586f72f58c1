"""Known-deviation handling: strict, validated, profile-aware."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.expectations import ExpectationsError, apply_expectations, load_expectations
from conformance.report.model import ClauseInfo, ClauseResult

KNOWN = ["AUTH-A", "AUTH-B", "AUTH-C", "AUTH-D"]
PROFILES = ["docs-2.1", "milvus-2.3"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expectations.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def result(clause_id: str, status: str) -> ClauseResult:
    return ClauseResult(ClauseInfo(clause_id, "Limitations", "doc", "X MUST Y"), status)  # type: ignore[arg-type]


VALID = """
- clause: AUTH-A
  reason: accepts 33-byte names
  evidence: https://example.invalid/issue/1
- clause: AUTH-B
  reason: bcrypt truncation
  evidence: observed §2.1
  profile: milvus-2.3
"""


def test_valid_file_loads(tmp_path: Path) -> None:
    loaded = load_expectations(write(tmp_path, VALID), KNOWN, PROFILES)
    assert [e.clause for e in loaded] == ["AUTH-A", "AUTH-B"]
    assert loaded[1].profile == "milvus-2.3"


def test_mapping_form_and_empty_file(tmp_path: Path) -> None:
    wrapped = "expectations:\n" + "\n".join("  " + line for line in VALID.splitlines())
    assert len(load_expectations(write(tmp_path, wrapped), KNOWN, PROFILES)) == 2
    assert load_expectations(write(tmp_path, ""), KNOWN, PROFILES) == []


def test_failing_expected_clause_is_known_deviation(tmp_path: Path) -> None:
    loaded = load_expectations(write(tmp_path, VALID), KNOWN, PROFILES)
    out = apply_expectations([result("AUTH-A", "fail")], loaded, "docs-2.1")
    assert out[0].status == "known-deviation"
    assert out[0].expectation == {
        "reason": "accepts 33-byte names",
        "evidence": "https://example.invalid/issue/1",
    }


def test_passing_expected_clause_is_stale(tmp_path: Path) -> None:
    loaded = load_expectations(write(tmp_path, VALID), KNOWN, PROFILES)
    out = apply_expectations([result("AUTH-A", "pass")], loaded, "docs-2.1")
    assert out[0].status == "stale-expectation"
    assert "no longer occurs" in out[0].message


def test_intermittent_expectation_passes_when_not_hit_and_is_known_when_hit(
    tmp_path: Path,
) -> None:
    text = "- {clause: AUTH-C, reason: cache race, evidence: 3/20 runs, intermittent: true}\n"
    loaded = load_expectations(write(tmp_path, text), KNOWN, PROFILES)
    assert loaded[0].intermittent is True
    passed, failed = (
        apply_expectations([result("AUTH-C", status)], loaded, "docs-2.1")[0]
        for status in ("pass", "fail")
    )
    assert passed.status == "pass"
    assert "not observed in this run" in passed.message
    assert passed.expectation["intermittent"] is True
    assert failed.status == "known-deviation"


def test_profile_scoped_expectation_only_applies_to_its_profile(tmp_path: Path) -> None:
    loaded = load_expectations(write(tmp_path, VALID), KNOWN, PROFILES)
    assert apply_expectations([result("AUTH-B", "fail")], loaded, "docs-2.1")[0].status == "fail"
    assert (
        apply_expectations([result("AUTH-B", "fail")], loaded, "milvus-2.3")[0].status
        == "known-deviation"
    )


@pytest.mark.parametrize("status", ["error", "not-applicable"])
def test_error_and_not_applicable_are_untouched(tmp_path: Path, status: str) -> None:
    loaded = load_expectations(write(tmp_path, VALID), KNOWN, PROFILES)
    out = apply_expectations([result("AUTH-A", status)], loaded, "docs-2.1")
    assert out[0].status == status


def test_unlisted_clauses_keep_their_status(tmp_path: Path) -> None:
    loaded = load_expectations(write(tmp_path, VALID), KNOWN, PROFILES)
    out = apply_expectations([result("AUTH-C", "fail"), result("AUTH-D", "pass")], loaded, "x")
    assert [r.status for r in out] == ["fail", "pass"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- clause: AUTH-NOPE\n  reason: r\n  evidence: e\n", "unknown clause id 'AUTH-NOPE'"),
        ("- clause: [unclosed\n", "not valid YAML"),
        ("clause: AUTH-A\n", "may only contain 'expectations'"),
        ("42\n", "expected a list"),
        ("- just a string\n", "expected a mapping"),
        ("- clause: AUTH-A\n  evidence: e\n", "'reason' must be a non-empty string"),
        ("- clause: AUTH-A\n  reason: r\n  evidence: ''\n", "'evidence' must be a non-empty"),
        ("- clause: AUTH-A\n  reason: r\n  evidence: e\n  colour: red\n", "unknown key"),
        (
            "- clause: AUTH-A\n  reason: r\n  evidence: e\n  intermittent: sometimes\n",
            "'intermittent' must be true or false",
        ),
        ("- clause: AUTH-A\n  reason: r\n  evidence: e\n  profile: milvus-9\n", "unknown profile"),
        (
            "- {clause: AUTH-A, reason: r, evidence: e}\n"
            "- {clause: AUTH-A, reason: s, evidence: f}\n",
            "listed twice",
        ),
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ExpectationsError) as info:
        load_expectations(write(tmp_path, text), KNOWN, PROFILES)
    assert message in str(info.value)
    assert str(tmp_path) in str(info.value)  # says which file


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExpectationsError, match="cannot read expectations file"):
        load_expectations(tmp_path / "absent.yaml", KNOWN)
