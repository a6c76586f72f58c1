"""REST v2 user lifecycle, mirroring the gRPC clauses (doc §Limitations, §Create an authenticated
user, §Reset password, §Delete a user), and REST <-> gRPC visibility (observed §8.2)."""

# The REST fixtures live in rest_support (conftest.py belongs to the gRPC suite); importing them
# here registers them, and test parameters then "redefine" the imported names.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest

from conformance.drivers.rest import RestClient
from conformance.suite.rest_support import RestFactory, rest, rest_root, rest_url  # noqa: F401
from conformance.suite.support import fresh_password

# Sign-in checks use a user's describe of itself: every profile allows it without grants
# (observed §4.3), so they test authentication, not RBAC.


def _create(users: Any, rest_root: RestClient, name: str, password: str) -> Any:
    return users.track_external(name, lambda: rest_root.create_user(name, password))


@pytest.mark.clause("REST-USER-LIMITS", driver="rest")
def test_name_and_password_limits(rest_root: RestClient, users: Any, profile: Any) -> None:
    longest = users.prefix + "x" * (profile.username.max_length - len(users.prefix))
    too_long = longest + "y"
    minimum = "m" * profile.password.min_length
    cases = [
        (longest, fresh_password(), True),
        (too_long, fresh_password(), False),
        ("1" + users.prefix, fresh_password(), False),
        (users.new_name("pmin"), minimum, True),
        (users.new_name("pshort"), minimum[:-1], False),
        (users.new_name("plong"), "L" * (profile.password.max_length + 1), False),
    ]
    for name, password, accepted in cases:
        answer = _create(users, rest_root, name, password)
        assert answer.ok == accepted, f"{name!r}/{len(password)} chars: {answer.describe()}"
        if not accepted:
            assert answer.http_status == 200 and answer.code not in (None, 0), answer.describe()


@pytest.mark.clause("REST-ROOT", driver="rest")
def test_root_listed_and_undeletable(rest_root: RestClient, root_session: Any) -> None:
    listed = rest_root.list_users()
    assert listed.ok and root_session.user in listed.data, listed.describe()
    dropped = rest_root.drop_user(root_session.user)
    assert not dropped.ok and dropped.http_status in (200, 403), dropped.describe()
    assert rest_root.list_users().ok


@pytest.mark.clause("REST-RESET", driver="rest")
def test_reset_needs_old_password_and_takes_effect_at_once(
    rest: RestFactory, rest_root: RestClient, users: Any
) -> None:
    name, old, new = users.new_name("rr"), fresh_password("o"), fresh_password("n")
    assert _create(users, rest_root, name, old).ok
    own = rest(name, old)
    assert own.describe_user(name).ok  # warms any credential cache
    wrong = own.update_password(name, old + "x", new)
    assert not wrong.ok, wrong.describe()
    assert rest(name, old).describe_user(name).ok, "a rejected reset changed the password"
    reset = own.update_password(name, old, new)
    assert reset.ok, reset.describe()
    stale = rest(name, old).describe_user(name)
    assert stale.unauthenticated, f"old password still works: {stale.describe()}"
    assert rest(name, new).describe_user(name).ok


@pytest.mark.clause("REST-DELETE", driver="rest")
def test_deleted_user_fails_at_next_call(
    rest: RestFactory, rest_root: RestClient, users: Any
) -> None:
    name, password = users.new_name("rd"), fresh_password()
    assert _create(users, rest_root, name, password).ok
    session = rest(name, password)
    assert session.describe_user(name).ok
    dropped = rest_root.drop_user(name)
    assert dropped.ok, dropped.describe()
    users.forget(name)
    after = session.describe_user(name)
    assert after.unauthenticated, f"deleted user's next call: {after.describe()}"
    assert name not in (rest_root.list_users().data or [])
    missing = rest_root.drop_user(users.new_name("never"))
    assert missing.ok, missing.describe()


@pytest.mark.clause("REST-CROSS-PROTOCOL", driver="rest")
def test_rest_and_grpc_see_one_user_store(
    rest: RestFactory, rest_root: RestClient, users: Any, wire: Any
) -> None:
    over_rest, over_grpc = users.new_name("xr"), users.new_name("xg")
    p1, p2, p3 = fresh_password("a"), fresh_password("b"), fresh_password("c")
    assert _create(users, rest_root, over_rest, p1).ok
    assert wire(over_rest, p1).select_user(over_rest).ok, "REST user cannot log in over gRPC"
    assert users.try_create(over_grpc, p2).ok
    assert rest(over_grpc, p2).describe_user(over_grpc).ok, "gRPC user cannot log in over REST"
    # reset over REST, enforced on gRPC at the next call
    assert rest(over_rest, p1).update_password(over_rest, p1, p3).ok
    stale = wire(over_rest, p1).select_user(over_rest)
    assert not stale.ok and stale.grpc_code == "UNAUTHENTICATED", stale.describe()
    assert wire(over_rest, p3).select_user(over_rest).ok
    # reset over gRPC, enforced on REST at the next call
    assert wire(over_grpc, p2).update_credential(over_grpc, p2, p1).ok
    assert rest(over_grpc, p2).describe_user(over_grpc).unauthenticated
    # delete over gRPC, enforced on REST
    session = rest(over_rest, p3)
    assert session.describe_user(over_rest).ok
    assert users.delete(over_rest).ok
    assert session.describe_user(over_rest).unauthenticated
