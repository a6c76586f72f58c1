"""The built-in root user (doc §Create an authenticated user)."""

from __future__ import annotations

import pytest

from conformance.oracle import delete_verdict, mismatch
from conformance.suite.support import fresh_password


@pytest.mark.clause("AUTH-ROOT-DEFAULT", driver="wire")
def test_root_default_password_authenticates(wire, profile) -> None:
    outcome = wire(profile.root_user, profile.root_default_password).connect()
    assert outcome.ok, f"root with the default password was refused: {outcome.describe()}"
    listing = wire(profile.root_user, profile.root_default_password).list_cred_users()
    assert listing.ok, f"root with the default password cannot list users: {listing.describe()}"


@pytest.mark.clause("AUTH-ROOT-DEFAULT", driver="sdk")
def test_root_default_password_through_sdk(sdk, profile) -> None:
    outcome = sdk(profile.root_user, profile.root_default_password).connect()
    assert outcome.ok, f"connections.connect as root/default failed: {outcome.describe()}"


@pytest.mark.clause("AUTH-ROOT-LISTED", driver="wire")
def test_root_is_listed(root_wire, profile) -> None:
    listing = root_wire.list_cred_users()
    assert listing.ok, f"list users as root failed: {listing.describe()}"
    assert profile.root_user in listing.payload, f"root missing from {listing.payload!r}"


@pytest.mark.clause("AUTH-ROOT-LISTED", driver="sdk")
def test_root_is_listed_through_sdk(sdk, root_session, profile) -> None:
    session = sdk(root_session.user, root_session.password)
    assert session.connect().ok
    listing = session.list_usernames()
    assert listing.ok, f"utility.list_usernames failed: {listing.describe()}"
    assert profile.root_user in listing.payload, f"root missing from {listing.payload!r}"


@pytest.mark.clause("AUTH-ROOT-UNDELETABLE", driver="wire")
def test_root_cannot_be_deleted(root_wire, wire, root_session, profile) -> None:
    outcome = root_wire.delete_credential(profile.root_user)
    problem = mismatch(outcome, delete_verdict(profile, profile.root_user))
    assert problem is None, f"delete root: {problem}"
    after = wire(root_session.user, root_session.password).connect()
    assert after.ok, f"root no longer authenticates after the delete attempt: {after.describe()}"
    listing = root_wire.list_cred_users()
    assert listing.ok and profile.root_user in listing.payload, "root vanished from the list"


@pytest.mark.clause("AUTH-ROOT-CHANGE-OWN-PASSWORD", driver="wire")
def test_root_changes_own_password(root_session, wire) -> None:
    old = root_session.password
    new = fresh_password("root")
    changed = root_session.client().update_credential(root_session.user, old, new)
    assert changed.ok, f"root could not change its own password: {changed.describe()}"
    root_session.password_changed(new)
    try:
        with_new = wire(root_session.user, new).connect()
        assert with_new.ok, f"root's new password does not work at once: {with_new.describe()}"
        with_old = wire(root_session.user, old).connect()
        assert not with_old.ok, "root's old password still works after the change"
    finally:
        root_session.restore()
    restored = wire(root_session.user, old).connect()
    assert restored.ok, f"root's password could not be restored: {restored.describe()}"
