"""Unit tests of the password and lifecycle oracles."""

from __future__ import annotations

import pytest

from conformance.oracle import (
    create_undecodable_password_verdict,
    create_verdict,
    delete_verdict,
    load_params,
    password_verdict,
    reset_verdict,
)

DOCS = load_params("docs-2.1")
V23 = load_params("milvus-2.3")
V26 = load_params("milvus-2.6")


@pytest.mark.parametrize(
    ("password", "docs", "v23", "v26"),
    [
        ("12345", False, False, False),
        ("123456", True, True, True),
        ("a" * 72, True, True, True),
        ("a" * 73, True, False, False),  # 2.3: bcrypt; 2.6: validator max 72
        ("a" * 256, True, False, False),
        ("a" * 257, False, False, False),
        ("éé", False, False, False),  # 2 chars / 4 bytes
        ("ééé", False, True, True),  # 3 chars / 6 bytes
        ("é" * 36, True, True, True),  # 72 bytes
        ("é" * 37, True, False, False),
        ("é" * 200, True, False, False),  # 200 chars (docs counts characters)
    ],
)
def test_password_acceptance(password: str, docs: bool, v23: bool, v26: bool) -> None:
    assert password_verdict(DOCS, password).accepted is docs
    assert password_verdict(V23, password).accepted is v23
    assert password_verdict(V26, password).accepted is v26


def test_password_messages() -> None:
    short = password_verdict(V23, "abc")
    assert (short.code, short.reason) == (
        1100,
        "invalid password length: invalid parameter[3 out of range 6 <= value <= 256]",
    )
    bcrypt = password_verdict(V23, "a" * 73)
    assert (bcrypt.code, bcrypt.error_code, bcrypt.rejection) == (65535, 1, "password_bcrypt")
    assert password_verdict(V26, "a" * 73).reason.endswith("[73 out of range 6 <= value <= 72]")


def test_create_checks_password_before_duplicate() -> None:
    assert create_verdict(V23, {"u"}, "u", "").rejection == "password_length"
    dup = create_verdict(V23, {"u"}, "u", "Valid_pw1")
    assert (dup.code, dup.error_code, dup.reason) == (65535, 29, "user already exists: u")
    assert create_verdict(V26, {"u"}, "u", "Valid_pw1").reason == (
        "user already exists: u: invalid parameter"
    )
    assert create_verdict(DOCS, set(), "u", "Valid_pw1").accepted


def test_delete_verdicts() -> None:
    assert delete_verdict(DOCS, "nobody").accepted
    root = delete_verdict(V23, "root")
    assert (root.code, root.reason) == (
        1401,
        "root user cannot be deleted: privilege not permitted",
    )
    assert delete_verdict(V23, "Root").accepted  # exact-match protection only


def test_reset_order_of_checks() -> None:
    # observed §4.1: new password length first, then the old password, then bcrypt.
    assert reset_verdict(V23, "Old_pw1", "u", "wrong", "abc").rejection == "password_length"
    assert reset_verdict(V23, "Old_pw1", "u", "wrong", "a" * 73).rejection == "wrong_old_password"
    assert reset_verdict(V23, "Old_pw1", "u", "Old_pw1", "a" * 73).rejection == "password_bcrypt"
    assert reset_verdict(V23, None, "u", "x", "New_pw12").reason == (
        "old password not correct for u: not authenticated"
    )
    assert reset_verdict(DOCS, "Old_pw1", "u", "Old_pw1", "New_pw12").accepted


def test_undecodable_create_password_matches_the_2_3_5_snapshot() -> None:
    """fixtures/snapshots/milvus-2.3.5.json, probe password-invalid-base64: "fail", byte 0."""
    exact = create_undecodable_password_verdict(V23, "@@@not-base64")
    assert (exact.code, exact.error_code) == (65535, 1)
    assert exact.reason == "decode password fail: illegal base64 data at input byte 0"
    assert create_undecodable_password_verdict(V26, "UHdkUHc").reason == (
        "decode password fail: illegal base64 data at input byte 4"
    )
    loose = create_undecodable_password_verdict(DOCS, "UA==UA==")
    assert loose.kind == "status_error" and loose.reason is None
    with pytest.raises(ValueError, match="valid base64"):
        create_undecodable_password_verdict(DOCS, "UHdk")
