"""Verdicts for CreateCredential when the number of users is capped (clause AUTH-USER-LIMIT)."""

from __future__ import annotations

from collections.abc import Collection

from conformance.oracle.lifecycle import create_verdict
from conformance.oracle.params import ProfileParams
from conformance.oracle.passwords import password_verdict
from conformance.oracle.usernames import username_verdict
from conformance.oracle.verdict import Verdict, rejected


def capped_create_verdict(
    params: ProfileParams, existing: Collection[str], name: str, password: str
) -> Verdict:
    """CreateCredential(name, password) when `existing` is every user on the server, root
    included.

    observed §4.1/§4.2: the proxy validates the name, then the password; the store then refuses
    a create once the user count has reached the cap, before it looks for a duplicate name.
    The doc states no cap (doc §Limitations), so a profile without one never rejects for it.
    """
    for verdict in (username_verdict(params, name), password_verdict(params, password)):
        if not verdict.accepted:
            return verdict
    names = set(existing)
    if params.max_users is not None and len(names) >= params.max_users:
        return rejected(params, "user_limit", "status_error")
    return create_verdict(params, names, name, password)
