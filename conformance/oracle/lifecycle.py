"""Verdicts for user-management requests beyond name/password validity."""

from __future__ import annotations

from conformance.oracle.go_base64 import decode_error_offset
from conformance.oracle.params import ProfileParams
from conformance.oracle.passwords import password_verdict
from conformance.oracle.verdict import ACCEPTED, Verdict, rejected


def create_verdict(params: ProfileParams, existing: set[str], name: str, password: str) -> Verdict:
    """CreateCredential for a valid name: the password is validated first, then duplicate
    names are rejected (observed §4.1 order of checks, §4.2)."""
    verdict = password_verdict(params, password)
    if verdict.accepted and name in existing:
        return rejected(params, "duplicate_create", "status_error", user=name)
    return verdict


def delete_verdict(params: ProfileParams, name: str) -> Verdict:
    """DeleteCredential: root is protected (doc §Create an authenticated user lists root as
    built in; observed §3.2); deleting a missing user succeeds (observed §4.2)."""
    if name == params.root_user:
        return rejected(params, "delete_root", "status_error")
    return ACCEPTED


def reset_verdict(
    params: ProfileParams, current: str | None, name: str, old: str, new: str
) -> Verdict:
    """UpdateCredential(name, old, new) by a caller who is not a super user: the new password is
    validated first, then the old one must match (doc §Reset password; observed §4.1)."""
    verdict = password_verdict(params, new)
    if not verdict.accepted and verdict.rejection == "password_length":
        return verdict
    if current is None or current != old:
        return rejected(params, "wrong_old_password", "status_error", user=name)
    return verdict


def reset_undecodable_old_verdict(params: ProfileParams, old_password_b64: str) -> Verdict:
    """UpdateCredential whose oldPassword field is not valid base64: rejected with an error
    status before anything else is checked (doc §Reset password needs a valid old password;
    observed §4.1: the old password is decoded first, Go's decoder names the bad byte)."""
    offset = decode_error_offset(old_password_b64)
    if offset is None:
        raise ValueError(f"{old_password_b64!r} is valid base64; the oracle needs an invalid one")
    return rejected(params, "old_password_decode", "status_error", offset=offset)


def create_undecodable_password_verdict(params: ProfileParams, password_b64: str) -> Verdict:
    """CreateCredential whose password field is not valid base64: an error status, no user
    (observed §4.1: the password is decoded before it is validated). Exact profiles name the
    offending byte, and CreateCredential says "fail" where UpdateCredential says "failed"."""
    offset = decode_error_offset(password_b64)
    if offset is None:
        raise ValueError(f"{password_b64!r} is valid base64; the oracle needs an invalid one")
    return rejected(params, "password_decode", "status_error", offset=offset)
