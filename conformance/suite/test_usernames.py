"""Username rules (doc §Limitations): accepted iff the oracle says valid; round-trip."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from conformance.oracle import mismatch, stored_name, username_verdict
from conformance.suite.strategies import NON_ASCII_LETTERS, PUNCTUATION, WHITESPACE, usernames
from conformance.suite.support import fresh_password, scaled

PASSWORD = "Valid_pw1"  # within every profile's range


def _check_create(users, profile, existing, name: str) -> None:
    assume(name not in existing and name.strip() not in existing)
    expected = username_verdict(profile, name)
    with users.transient(name, PASSWORD) as outcome:
        problem = mismatch(outcome, expected)
        assert problem is None, f"create username {name!r}: {problem}"


@pytest.mark.clause("AUTH-USERNAME-EMPTY", driver="wire")
@pytest.mark.parametrize("name", ["", " ", "   ", "\t", "\n \t"], ids=repr)
def test_empty_username_rejected(users, profile, existing_users, name: str) -> None:
    expected = username_verdict(profile, name)
    with users.transient(name, PASSWORD) as outcome:
        problem = mismatch(outcome, expected)
        assert problem is None, f"create username {name!r}: {problem}"


@pytest.mark.clause("AUTH-USERNAME-LENGTH", driver="wire")
@scaled(1.0)
@given(
    length=st.integers(1, 64),
    body=st.sampled_from(string.ascii_letters + string.digits + "_é"),
)
@example(length=32, body="a")
@example(length=33, body="a")
@example(length=31, body="é")  # 31 chars, 61 bytes: over the limit only when counted in bytes
def test_username_length_boundary(users, profile, existing_users, length: int, body: str) -> None:
    name = "a" + body * (length - 1)
    _check_create(users, profile, existing_users, name)


@pytest.mark.clause("AUTH-USERNAME-FIRST-CHAR", driver="wire")
@scaled(1.0)
@given(
    first=st.sampled_from(
        string.ascii_letters + string.digits + "_.-" + PUNCTUATION + NON_ASCII_LETTERS + "\x00"
    ),
    rest=st.text(st.sampled_from(string.ascii_lowercase + "_"), min_size=0, max_size=8),
)
@example(first="1", rest="rs")
@example(first="_", rest="rs")
@example(first="Z", rest="")
@example(first="X", rest="_a")  # kills validation.py:40320c:1 ("X" in the trim set)
def test_username_first_character(users, profile, existing_users, first: str, rest: str) -> None:
    _check_create(users, profile, existing_users, first + rest)


@pytest.mark.clause("AUTH-USERNAME-CHARSET", driver="wire")
@scaled(1.5)
@given(name=usernames())
@example(name="rs_a.b")
@example(name="rs_a-b")
@example(name="rs_é")
@example(name="rs_a:b")
@example(name="rs\x00nul")
@example(name="rs sp")
def test_username_accepted_iff_valid(users, profile, existing_users, name: str) -> None:
    _check_create(users, profile, existing_users, name)


@pytest.mark.clause("AUTH-USERNAME-ROUNDTRIP", driver="wire")
@scaled(1.0)
@given(
    name=st.one_of(
        usernames(), st.builds(lambda n, p: n + p, usernames(), st.sampled_from(WHITESPACE))
    ),
)
@example(name="RoundTrip_1")
@example(name="rs_sp ")
@example(name="rs_quad\u2000")  # EN QUAD: Unicode whitespace that Go's TrimSpace strips too
def test_accepted_username_listed_and_logs_in(
    users, profile, existing_users, wire, root_wire, name: str
) -> None:
    assume(name not in existing_users and name.strip() not in existing_users)
    assume(username_verdict(profile, name).accepted)
    password = fresh_password()
    with users.transient(name, password) as outcome:
        assert outcome.ok, f"valid username {name!r} was refused: {outcome.describe()}"
        listed_as = stored_name(profile, name)
        if listed_as is None:
            return  # the profile leaves how padded names are stored undefined
        listing = root_wire.list_cred_users()
        assert listing.ok, f"list users failed: {listing.describe()}"
        assert listed_as in listing.payload, f"{name!r} missing from user list {listing.payload!r}"
        login = wire(listed_as, password).connect()
        assert login.ok, f"{name!r} cannot log in with its password: {login.describe()}"


@pytest.mark.clause("AUTH-USERNAME-CHARSET", driver="sdk")
@pytest.mark.parametrize(
    "name", ["SdkUser_1", "1sdk", "sdk.user", "sdk-user", "sdk user", "sdké", "a" * 33], ids=repr
)
def test_username_rules_through_sdk(
    users, profile, existing_users, sdk, root_session, name: str
) -> None:
    """What pymilvus users see: utility.create_user succeeds iff the name is valid."""
    session = sdk(root_session.user, root_session.password)
    connected = session.connect()
    assert connected.ok, f"root cannot connect through pymilvus: {connected.describe()}"
    expected = username_verdict(profile, name)
    outcome = users.track_external(name, lambda: session.create_user(name, PASSWORD))
    if outcome.ok:
        users.delete(name)
    assert outcome.ok == expected.accepted, (
        f"utility.create_user({name!r}): expected "
        f"{'success' if expected.accepted else 'an error'}, got {outcome.describe()}"
    )
