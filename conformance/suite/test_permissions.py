"""What a verified caller may do with the credential RPCs (AUTH-CALLER-PERMISSIONS).

docs-2.1: the doc knows no roles (doc §Create an authenticated user, §List all users), so a
non-root user may manage every user. RBAC profiles (observed §4.3): a user without grants is
denied everything but resetting and selecting itself; root is never denied.

Every user a case touches is a throw-away from the `users` pool; root is only ever aimed at with
requests that must fail (delete: root is protected; reset: a wrong old password).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.drivers.wire import Outcome, WireClient
from conformance.oracle import (
    Verdict,
    caller_verdict,
    create_verdict,
    delete_verdict,
    mismatch,
    reset_verdict,
)
from conformance.oracle.params import ProfileParams
from conformance.plugin import not_applicable
from conformance.suite.support import RootSession, UserPool, fresh_password

# (rpc, aim): aim is the user the request names, seen from the caller.
NON_ROOT_CASES = [
    ("ListCredUsers", "all"),
    ("CreateCredential", "new"),
    ("DeleteCredential", "other"),
    ("DeleteCredential", "root"),
    ("DeleteCredential", "self"),
    ("UpdateCredential", "self"),
    ("UpdateCredential", "other"),
    ("UpdateCredential", "root"),
    ("SelectUser", "self"),
    ("SelectUser", "other"),
    ("SelectUser", "root"),
]


def _then(gate: Verdict, rpc_verdict: Callable[[], Verdict]) -> Verdict:
    """The authorisation gate comes first; past it, the RPC's own rules decide."""
    return rpc_verdict() if gate.accepted else gate


def _covered(profile: ProfileParams, rpc: str) -> None:
    assert profile.permissions is not None, f"profile {profile.name} lacks a permissions table"
    if rpc not in profile.permissions.rpcs:
        not_applicable(f"{rpc} is not part of AUTH-CALLER-PERMISSIONS in profile {profile.name}")


def _logs_in(wire: Callable[..., WireClient], user: str, password: str) -> bool:
    return wire(user, password).connect().ok


def _check(outcome: Outcome, expected: Verdict, what: str) -> None:
    problem = mismatch(outcome, expected)
    assert problem is None, f"{what}: {problem}"


@pytest.mark.clause("AUTH-CALLER-PERMISSIONS", driver="wire")
@pytest.mark.parametrize(
    ("rpc", "aim"), NON_ROOT_CASES, ids=[f"{r}-{a}" for r, a in NON_ROOT_CASES]
)
def test_non_root_caller(
    users: UserPool,
    root_session: RootSession,
    wire: Callable[..., WireClient],
    profile: ProfileParams,
    rpc: str,
    aim: str,
) -> None:
    _covered(profile, rpc)
    caller, caller_pw = users.create(tag="c")
    client = wire(caller, caller_pw)
    gate = caller_verdict(profile, caller, rpc, caller_is_root=False, target_is_self=aim == "self")
    root_user = profile.root_user
    doing = f"non-root {caller!r} calling {rpc} on {aim}"

    if rpc == "ListCredUsers":
        outcome = client.list_cred_users()
        _check(outcome, gate, doing)
        if outcome.ok:
            assert caller in outcome.payload, f"{doing}: the list lacks the caller"

    elif rpc == "CreateCredential":
        name, password = users.new_name("n"), fresh_password()
        outcome = users.track_external(name, lambda: client.create_credential(name, password))
        _check(outcome, _then(gate, lambda: create_verdict(profile, set(), name, password)), doing)
        listed = name in (users.root().list_cred_users().payload or ())
        assert listed == outcome.ok, f"{doing}: answer ok={outcome.ok} but listed={listed}"

    elif rpc == "DeleteCredential":
        victim, victim_pw = {
            "other": lambda: users.create(tag="v"),
            "self": lambda: (caller, caller_pw),
            "root": lambda: (root_user, root_session.password),
        }[aim]()
        outcome = client.delete_credential(victim)
        expected = _then(gate, lambda: delete_verdict(profile, victim))
        _check(outcome, expected, doing)
        if outcome.ok:
            users.forget(victim)
        still_there = _logs_in(wire, victim, victim_pw)
        assert still_there is not expected.accepted, (
            f"{doing}: {victim!r} can{'' if still_there else 'not'} log in afterwards"
        )

    elif rpc == "UpdateCredential":
        if aim == "root":
            # A wrong old password: allowed callers get the wrong-password error, and root's
            # password can never change under the suite's feet.
            target, current, old = root_user, root_session.password, "not-" + fresh_password()
        elif aim == "self":
            target, current, old = caller, caller_pw, caller_pw
        else:
            target, current = users.create(tag="v")
            old = current
        new = fresh_password()
        outcome = client.update_credential(target, old, new)
        if outcome.ok and target == root_user:
            root_session.password_changed(new)  # so the session restores it at the end
        expected = _then(gate, lambda: reset_verdict(profile, current, target, old, new))
        _check(outcome, expected, doing)
        now = new if expected.accepted else current
        assert _logs_in(wire, target, now), f"{doing}: {target!r} cannot log in with {now!r}"

    else:  # SelectUser
        target = {"self": caller, "root": root_user}.get(aim) or users.create(tag="v")[0]
        outcome = client.select_user(target)
        _check(outcome, gate, doing)
        if outcome.ok:
            assert outcome.payload == [target], f"{doing}: selected {outcome.payload!r}"


@pytest.mark.clause("AUTH-CALLER-PERMISSIONS", driver="wire")
def test_root_is_never_denied(
    users: UserPool, root_wire: WireClient, profile: ProfileParams, wire: Callable[..., WireClient]
) -> None:
    assert profile.permissions is not None, f"profile {profile.name} lacks a permissions table"
    root = profile.root_user
    victim, victim_pw = users.create(tag="v")
    new = fresh_password()
    calls: dict[str, Callable[[], Outcome]] = {
        "ListCredUsers": root_wire.list_cred_users,
        "UpdateCredential": lambda: root_wire.update_credential(victim, victim_pw, new),
        "SelectUser": lambda: root_wire.select_user(victim),
        "DeleteCredential": lambda: root_wire.delete_credential(victim),
    }
    for rpc, call in calls.items():
        if rpc not in profile.permissions.rpcs:
            continue
        gate = caller_verdict(profile, root, rpc, caller_is_root=True, target_is_self=False)
        outcome = call()
        _check(outcome, gate, f"root calling {rpc} on {victim!r}")
        if rpc == "DeleteCredential":
            users.forget(victim)
    assert not _logs_in(wire, victim, new), "root's delete of another user did not take effect"
