"""Password oracle: accepted lengths and how out-of-range passwords are rejected."""

from __future__ import annotations

from conformance.oracle.params import ProfileParams
from conformance.oracle.verdict import ACCEPTED, Verdict, rejected


def password_length(params: ProfileParams, password: str) -> int:
    if params.password.length_unit == "bytes":
        return len(password.encode("utf-8"))
    return len(password)


def password_verdict(params: ProfileParams, password: str) -> Verdict:
    """Expected answer to CreateCredential(<valid name>, password), or to UpdateCredential
    with a correct old password and `password` as the new one.  # doc §Limitations"""
    rules = params.password
    n = password_length(params, password)
    if not rules.min_length <= n <= rules.max_length:
        return rejected(
            params,
            "password_length",
            "status_error",
            n=n,
            min=rules.min_length,
            max=rules.max_length,
        )
    # observed §2.1: 2.3 validates 6..256 but bcrypt then refuses more than 72 bytes.
    if (
        rules.bcrypt_max_bytes is not None
        and len(password.encode("utf-8")) > rules.bcrypt_max_bytes
    ):
        return rejected(params, "password_bcrypt", "status_error")
    return ACCEPTED


def password_accepted(params: ProfileParams, password: str) -> bool:
    return password_verdict(params, password).accepted
