"""Authorization disabled (observed §7): the header is not checked, the credential RPCs keep
their rules. The doc only describes the enabled server; this clause pins what users of the
default Milvus configuration (authorization off) rely on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.drivers.wire import WireClient, b64
from conformance.oracle import (
    create_verdict,
    delete_verdict,
    mismatch,
    reset_verdict,
    username_verdict,
)
from conformance.suite.support import fresh_password, separate_instance

CLAIMED_USER = "nobody_claimed"  # never created: with authorization off nobody checks it


@pytest.fixture
def auth_off_address(target: Any) -> Iterator[str]:
    """A separate instance of the target with authorization disabled, stopped afterwards."""
    with separate_instance(target, "auth_off", "cannot run with authorization disabled") as address:
        yield address


def _headers(root_user: str, root_password: str) -> dict[str, list[tuple[str, str]] | None]:
    """Header variants, every one of which an enabled server rejects (observed §5.1, §5.2)."""
    return {
        "absent": [],
        "not base64": [("authorization", "%%%not-base64%%%")],
        "no colon": [("authorization", b64(root_user + root_password))],
        "wrong password": [("authorization", b64(f"{root_user}:{root_password}-wrong"))],
        "unknown user": [("authorization", b64(f"{CLAIMED_USER}:whatever"))],
    }


@pytest.mark.clause("AUTH-OFF-CREDENTIALS-IGNORED", driver="wire")
def test_header_is_not_checked(
    auth_off_address: str, profile: Any, conformance_config: Any
) -> None:
    failures = []
    variants = _headers(conformance_config.root_user, conformance_config.root_password)
    for label, metadata in variants.items():
        with WireClient(auth_off_address, metadata=metadata) as client:
            for call in (client.connect, client.get_version, client.list_cred_users):
                outcome = call()
                if not outcome.ok:
                    failures.append(f"{label} header, {call.__name__}: {outcome.describe()}")
            listing = client.list_cred_users()
            if listing.ok and profile.root_user not in listing.payload:
                failures.append(f"{label} header: root missing from {listing.payload!r}")
    # No privilege check either: a claimed, unverified non-root name may manage users.
    claimed = variants["unknown user"]
    name, password = "authoff_made", fresh_password()
    with WireClient(auth_off_address, metadata=claimed) as client:
        for step, outcome in (
            ("create", client.create_credential(name, password)),
            ("delete", client.delete_credential(name)),
        ):
            if not outcome.ok:
                failures.append(f"{step} by claimed {CLAIMED_USER!r}: {outcome.describe()}")
    assert not failures, "\n".join(failures)


@pytest.mark.clause("AUTH-OFF-CREDENTIALS-IGNORED", driver="wire")
def test_credential_rules_still_apply(auth_off_address: str, profile: Any) -> None:
    invalid_name = "1starts_with_digit"
    name, password, new = "authoff_rules", fresh_password("o"), fresh_password("n")
    with WireClient(auth_off_address) as client:  # no authorization header at all
        outcome = client.create_credential(invalid_name, fresh_password())
        problem = mismatch(outcome, username_verdict(profile, invalid_name))
        assert problem is None, f"create {invalid_name!r} with authorization off: {problem}"

        outcome = client.delete_credential(profile.root_user)
        problem = mismatch(outcome, delete_verdict(profile, profile.root_user))
        assert problem is None, f"delete root with authorization off: {problem}"
        assert profile.root_user in (client.list_cred_users().payload or []), "root vanished"

        created = client.create_credential(name, password)
        assert created.ok, f"create {name!r} with authorization off: {created.describe()}"
        try:
            outcome = client.create_credential(name, new)
            problem = mismatch(outcome, create_verdict(profile, {name}, name, new))
            assert problem is None, f"duplicate create with authorization off: {problem}"
            wrong = password + "x"
            outcome = client.update_credential(name, wrong, new)
            problem = mismatch(outcome, reset_verdict(profile, password, name, wrong, new))
            assert problem is None, f"reset with a wrong old password, authorization off: {problem}"
        finally:
            client.delete_credential(name)
