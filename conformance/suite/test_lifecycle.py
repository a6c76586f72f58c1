"""Create / reset / delete / list users.

(doc §Create an authenticated user, §Reset password, §Delete a user, §List all users)
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import example, given

from conformance.oracle import (
    create_verdict,
    mismatch,
    reset_undecodable_old_verdict,
    reset_verdict,
)
from conformance.suite.strategies import passwords
from conformance.suite.support import fresh_password, scaled


@pytest.mark.clause("AUTH-CREATE-DUPLICATE", driver="wire")
def test_duplicate_create_rejected(users, root_wire, wire, profile) -> None:
    name, first = users.create()
    second = fresh_password()
    outcome = root_wire.create_credential(name, second)
    problem = mismatch(outcome, create_verdict(profile, {name}, name, second))
    assert problem is None, f"second create of {name!r}: {problem}"
    assert wire(name, first).connect().ok, "the original password stopped working"
    assert not wire(name, second).connect().ok, "the duplicate create changed the password"


@pytest.mark.clause("AUTH-RESET-OLD-PASSWORD", driver="wire")
@pytest.mark.parametrize("wrong_old", ["", "missing-last-char", "prefix+", "swapped"])
def test_reset_needs_correct_old_password(users, root_wire, wire, profile, wrong_old) -> None:
    name, password = users.create()
    old = {
        "missing-last-char": password[:-1],
        "prefix+": password + "x",
        "swapped": password[::-1],
    }.get(wrong_old, wrong_old)
    new = fresh_password()
    outcome = root_wire.update_credential(name, old, new)
    problem = mismatch(outcome, reset_verdict(profile, password, name, old, new))
    assert problem is None, f"reset with a wrong old password ({wrong_old}): {problem}"
    assert wire(name, password).connect().ok, "the password changed despite a wrong old one"
    assert not wire(name, new).connect().ok, "the new password works despite a wrong old one"


@pytest.mark.clause("AUTH-RESET-OLD-PASSWORD", driver="wire")
@pytest.mark.parametrize("raw_old", ["@@@", "UHdk!x==", "UHdkUHc", "UHdkUA=", "UA==UA=="])
def test_reset_rejects_undecodable_old_password(
    users, root_wire, wire, profile, raw_old: str
) -> None:
    """oldPassword that is not base64 (bad byte, short quantum, data after padding)."""
    name, password = users.create()
    new = fresh_password()
    outcome = root_wire.update_credential(name, "", new, raw_old_password_b64=raw_old)
    problem = mismatch(outcome, reset_undecodable_old_verdict(profile, raw_old))
    assert problem is None, f"reset with oldPassword {raw_old!r} (not base64): {problem}"
    assert wire(name, password).connect().ok, "the password changed despite an undecodable old one"
    assert not wire(name, new).connect().ok, "the new password works despite an undecodable old one"


@pytest.mark.clause("AUTH-RESET-OLD-PASSWORD", driver="sdk")
def test_reset_needs_old_password_through_sdk(users, sdk, root_session, wire) -> None:
    name, password = users.create()
    session = sdk(root_session.user, root_session.password)
    assert session.connect().ok
    outcome = session.reset_password(name, password + "wrong", fresh_password())
    assert not outcome.ok, "utility.reset_password accepted a wrong old password"
    assert wire(name, password).connect().ok, "the password changed despite a wrong old one"


@pytest.mark.clause("AUTH-RESET-VALIDATES", driver="wire")
@scaled(1.0)
@given(new=passwords())
@example(new="12345")
@example(new="a" * 257)
@example(new="a" * 73)
def test_reset_validates_new_password(users, root_wire, wire, profile, new: str) -> None:
    name, password = users.create(tag="r")
    outcome = root_wire.update_credential(name, password, new)
    expected = reset_verdict(profile, password, name, password, new)
    problem = mismatch(outcome, expected)
    assert problem is None, (
        f"reset to a {len(new)}-char/{len(new.encode())}-byte password: {problem}"
    )
    current = new if expected.accepted else password
    assert wire(name, current).connect().ok, "the user's current password does not log in"
    users.delete(name)


@pytest.mark.clause("AUTH-DELETE", driver="wire")
def test_delete_removes_from_list_and_login(users, root_wire, wire) -> None:
    name, password = users.create()
    assert wire(name, password).connect().ok, "a new user cannot log in"
    deleted = root_wire.delete_credential(name)
    assert deleted.ok, f"delete failed: {deleted.describe()}"
    users.forget(name)
    listing = root_wire.list_cred_users()
    assert listing.ok, f"list failed: {listing.describe()}"
    assert name not in listing.payload, f"deleted user {name!r} is still listed"
    login = wire(name, password).connect()
    assert not login.ok, "a deleted user can still log in"


@pytest.mark.clause("AUTH-DELETE", driver="sdk")
def test_delete_through_sdk(users, sdk, root_session) -> None:
    name, password = users.create()
    session = sdk(root_session.user, root_session.password)
    assert session.connect().ok
    deleted = session.delete_user(name)
    assert deleted.ok, f"utility.delete_user failed: {deleted.describe()}"
    users.forget(name)
    listing = session.list_usernames()
    assert listing.ok and name not in listing.payload, f"{name!r} still listed"
    assert not sdk(name, password).connect().ok, "a deleted user can still connect"


@pytest.mark.clause("AUTH-DELETE-MISSING", driver="wire")
def test_delete_missing_user_succeeds(users, root_wire) -> None:
    name = users.new_name("missing")
    outcome = root_wire.delete_credential(name)
    assert outcome.ok, f"deleting a user that does not exist failed: {outcome.describe()}"


def _secret_forms(password: str) -> list[str]:
    raw = password.encode()
    return [
        password,
        base64.b64encode(raw).decode(),
        hashlib.sha256(raw).hexdigest(),
    ]


@pytest.mark.clause("AUTH-LIST-NO-SECRETS", driver="wire")
def test_list_shows_names_only(users, root_wire) -> None:
    created = [users.create() for _ in range(3)]
    listing = root_wire.list_cred_users()
    assert listing.ok, f"list failed: {listing.describe()}"
    names = set(listing.payload)
    for name, _ in created:
        assert name in names, f"{name!r} missing from the user list"
    for entry in listing.payload:
        for name, password in created:
            for form in _secret_forms(password):
                assert form not in entry, f"user list entry {entry!r} contains a secret of {name}"
    selected = root_wire.select_user(created[0][0])
    if selected.ok:
        for form in _secret_forms(created[0][1]):
            assert form not in str(selected.payload), "SelectUser shows a secret"


@pytest.mark.clause("AUTH-LIST-NO-SECRETS", driver="sdk")
def test_list_through_sdk_shows_names_only(users, sdk, root_session) -> None:
    name, password = users.create()
    session = sdk(root_session.user, root_session.password)
    assert session.connect().ok
    listing = session.list_usernames()
    assert listing.ok, f"utility.list_usernames failed: {listing.describe()}"
    assert name in listing.payload
    assert all(isinstance(entry, str) for entry in listing.payload)
    assert not any(password in entry for entry in listing.payload), "the list shows a password"
