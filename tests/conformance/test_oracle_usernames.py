"""Unit tests of the username oracle (pure functions, no target)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.oracle import go_trim_space, load_params, stored_name, username_verdict

DOCS = load_params("docs-2.1")
V23 = load_params("milvus-2.3")
V26 = load_params("milvus-2.6")


@pytest.mark.parametrize(
    ("name", "docs", "v23", "v26"),
    [
        ("a", True, True, True),
        ("a" * 32, True, True, True),
        ("a" * 33, False, False, False),
        ("", False, False, False),
        ("1rs", False, False, False),
        ("_rs", False, False, False),
        ("rs_a.b", False, False, True),
        ("rs_a-b", False, False, True),
        ("rs_é", False, False, False),
        ("rs_sp ", False, True, True),  # 2.3 trims for the check only (observed §1.3)
        ("   ", False, False, False),
        ("rs\x00", False, False, False),
    ],
)
def test_username_acceptance_per_profile(name: str, docs: bool, v23: bool, v26: bool) -> None:
    assert username_verdict(DOCS, name).accepted is docs
    assert username_verdict(V23, name).accepted is v23
    assert username_verdict(V26, name).accepted is v26


def test_length_unit_chars_versus_bytes() -> None:
    # 'é' is rejected by the charset anyway; the rule that fires differs with the unit.
    name = "a" + "é" * 20  # 21 chars, 41 bytes
    assert username_verdict(DOCS, name).rejection == "username_charset"
    assert username_verdict(V23, name).rejection == "username_length"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "username must be not empty: invalid parameter"),
        ("   ", "username must be not empty: invalid parameter"),
        (
            "1rs",
            "invalid user name 1rs, the first character must be a letter, "
            "but got %!s(uint8=49): invalid parameter",
        ),
        (
            "rs_a:b",
            "invalid user name rs_a:b, username must contain only numbers, letters and "
            "underscores, but got %!s(uint8=58): invalid parameter",
        ),
        (
            "a" * 33,
            f"invalid username {'a' * 33} with length 33, the length of username must be less "
            "than %!d(string=32): invalid parameter",
        ),
    ],
)
def test_exact_messages_2_3(name: str, reason: str) -> None:
    verdict = username_verdict(V23, name)
    assert (verdict.code, verdict.error_code, verdict.reason) == (1100, 5, reason)


def test_exact_first_char_message_2_6_shows_the_character() -> None:
    assert username_verdict(V26, "_rs").reason == (
        "invalid user name _rs, the first character must be a letter, but got _: invalid parameter"
    )


def test_docs_profile_has_no_messages() -> None:
    verdict = username_verdict(DOCS, "1rs")
    assert verdict.reason is None and verdict.kind == "status_error"


def test_go_trim_space_is_not_python_strip() -> None:
    assert go_trim_space("\x1cname\x1f") == "\x1cname\x1f"  # not Unicode White_Space
    assert go_trim_space("\u3000 name\t\n") == "name"


def test_stored_name() -> None:
    assert stored_name(V23, "rs_sp ") == "rs_sp "
    assert stored_name(V26, "rs_sp ") is None
    assert stored_name(V26, "rs_sp") == "rs_sp"


@settings(max_examples=200, derandomize=True, database=None)
@given(st.text(max_size=70))
def test_accepted_names_satisfy_the_doc(name: str) -> None:
    if username_verdict(DOCS, name).accepted:
        assert 1 <= len(name) <= 32
        assert name[0].isascii() and name[0].isalpha()
        assert all(c.isascii() and (c.isalnum() or c == "_") for c in name)
