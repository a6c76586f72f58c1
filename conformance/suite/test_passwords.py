"""Password rules (doc §Limitations): accepted iff within range; every character counts."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from conformance.oracle import (
    create_undecodable_password_verdict,
    mismatch,
    password_accepted,
    password_verdict,
)
from conformance.suite.strategies import late_positions, mutated, passwords
from conformance.suite.support import scaled


@pytest.mark.clause("AUTH-PASSWORD-LENGTH", driver="wire")
@scaled(1.5)
@given(password=passwords())
@example(password="12345")
@example(password="123456")
@example(password="a" * 256)
@example(password="a" * 257)
@example(password="a" * 73)
@example(password="éé")
@example(password="ééé")
@example(password="é" * 36)
@example(password="é" * 37)
def test_password_accepted_iff_in_range(users, profile, password: str) -> None:
    name = users.new_name("p")
    expected = password_verdict(profile, password)
    with users.transient(name, password) as outcome:
        problem = mismatch(outcome, expected)
        assert problem is None, (
            f"create with a {len(password)}-char/{len(password.encode())}-byte password: {problem}"
        )


@pytest.mark.clause("AUTH-PASSWORD-LENGTH", driver="wire")
@pytest.mark.parametrize("raw", ["@@@not-base64", "UHdk!x==", "UHdkUHc", "UHdkUA=", "UA==UA=="])
def test_create_rejects_undecodable_password(users, root_wire, wire, profile, raw: str) -> None:
    """A password field that is not base64 (bad byte, short quantum, data after padding) is
    rejected before any length rule, and no user is created (observed §4.1)."""
    name = users.new_name("pb")
    outcome = users.track_external(name, lambda: root_wire.create_credential(name, "", raw))
    problem = mismatch(outcome, create_undecodable_password_verdict(profile, raw))
    assert problem is None, f"create with password field {raw!r} (not base64): {problem}"
    listing = root_wire.list_cred_users()
    assert listing.ok and name not in listing.payload, f"{name!r} exists after the refusal"


@pytest.mark.clause("AUTH-PASSWORD-LOGIN", driver="wire")
@scaled(1.0)
@given(password=passwords())
@example(password="a:b:c\x00d")
@example(password="é" * 36)
def test_accepted_password_logs_in(users, profile, wire, password: str) -> None:
    assume(password_accepted(profile, password))
    name = users.new_name("l")
    with users.transient(name, password) as created:
        assert created.ok, f"valid password refused: {created.describe()}"
        login = wire(name, password).connect()
        assert login.ok, f"accepted password does not log in: {login.describe()}"


@pytest.mark.clause("AUTH-PASSWORD-SIGNIFICANT", driver="wire")
@scaled(1.0)
@given(data=st.data(), password=passwords())
@example(data=None, password="b" * 80)
def test_single_position_change_does_not_log_in(users, profile, wire, data, password) -> None:
    assume(password_accepted(profile, password))
    if data is None:  # the explicit example: change byte 80, beyond bcrypt's 72
        position, replacement = 79, "c"
    else:
        position = data.draw(late_positions(len(password)), label="position")
        replacement = data.draw(st.sampled_from("xZ0é\x00 "), label="replacement")
    other = mutated(password, position, replacement)
    name = users.new_name("m")
    with users.transient(name, password) as created:
        assert created.ok, f"valid password refused: {created.describe()}"
        login = wire(name, other).connect()
        assert not login.ok, (
            f"a password differing at position {position} ({len(password.encode())}-byte "
            f"original) logged in"
        )
        assert login.kind == "rpc_error" and login.grpc_code == "UNAUTHENTICATED", (
            f"wrong password must be UNAUTHENTICATED, got {login.describe()}"
        )


@pytest.mark.clause("AUTH-PASSWORD-LOGIN", driver="sdk")
@pytest.mark.parametrize("password", ["sdk_pw1", "é" * 10, "with:colon:and space", "x" * 72])
def test_accepted_password_logs_in_through_sdk(users, profile, sdk, sdk_client, password) -> None:
    """connections.connect and MilvusClient both log in with any accepted password."""
    # every parameter is 6..72 bytes, valid in all profiles
    name, _ = users.create(password=password, tag="s")
    connected = sdk(name, password).connect()
    assert connected.ok, f"connections.connect failed: {connected.describe()}"
    client = sdk_client(name, password)
    built = client.connect()
    assert built.ok, f"MilvusClient failed: {built.describe()}"
    call = client.get_server_version()
    assert call.ok, f"MilvusClient call as {name} failed: {call.describe()}"
