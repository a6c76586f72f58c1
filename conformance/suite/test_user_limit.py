"""The cap on the number of users (observed §4.2: `proxy.maxUserNum`, root included).

The doc states no cap (doc §Limitations), so profiles without one report not-applicable. Filling
the cap on the shared target would break the suite's hygiene rule (at most MAX_LIVE_USERS suite
users) and every other test running there, so the clause runs on a fresh instance of the target
that it owns and stops.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.drivers.wire import WireClient
from conformance.oracle import auth_verdict, basic_metadata, capped_create_verdict, mismatch
from conformance.plugin import not_applicable
from conformance.suite.support import fresh_password, separate_instance

NAME_PREFIX = "cap_user_"
REFUSED_NAME = "cap_refused"


@pytest.fixture
def capped_address(target: Any, profile: Any) -> Iterator[str]:
    """A fresh instance of the target (auth on, only root), stopped afterwards."""
    if profile.max_users is None:
        not_applicable(f"profile {profile.name} sets no cap on the number of users")
    with separate_instance(target, "spawn_fresh", "cannot start a fresh instance of itself") as a:
        yield a


def _listed(client: WireClient) -> set[str]:
    listing = client.list_cred_users()
    assert listing.ok, f"ListCredUsers as root: {listing.describe()}"
    return set(listing.payload)


def _login(address: str, user: str, password: str) -> Any:
    with WireClient(address, user, password) as client:
        return client.connect()  # Connect needs authentication but no privilege (observed §4.3)


@pytest.mark.clause("AUTH-USER-LIMIT", driver="wire")
def test_create_at_the_cap_is_refused_and_creates_nothing(
    capped_address: str, profile: Any, conformance_config: Any
) -> None:
    root, root_password = conformance_config.root_user, conformance_config.root_password
    password = fresh_password()
    with WireClient(capped_address, root, root_password) as client:
        existing = _listed(client)  # root, plus whatever the target ships with
        valid = {root: root_password}
        # Fill up to the cap; the oracle expects every one of these creates to succeed.
        index = 0
        while len(existing) < profile.max_users:
            name = f"{NAME_PREFIX}{index:03d}"
            index += 1
            outcome = client.create_credential(name, password)
            problem = mismatch(outcome, capped_create_verdict(profile, existing, name, password))
            assert problem is None, f"create #{len(existing) + 1} ({name!r}): {problem}"
            existing.add(name)
            valid[name] = password

        at_cap = {
            "a new name": REFUSED_NAME,
            "an existing name": f"{NAME_PREFIX}000",  # the cap is checked before duplicates
        }
        for label, name in at_cap.items():
            outcome = client.create_credential(name, password)
            expected = capped_create_verdict(profile, existing, name, password)
            problem = mismatch(outcome, expected)
            assert problem is None, f"create of {label} at the cap ({name!r}): {problem}"

        listed = _listed(client)
        assert REFUSED_NAME not in listed, f"the refused user {REFUSED_NAME!r} is listed"
        assert listed == existing, f"users changed by refused creates: {listed ^ existing}"

    # The refused user cannot log in; the last user created below the cap can.
    logins = [REFUSED_NAME] + ([f"{NAME_PREFIX}{index - 1:03d}"] if index else [])
    for user in logins:
        outcome = _login(capped_address, user, password)
        expected = auth_verdict(profile, basic_metadata(user, password), valid)
        problem = mismatch(outcome, expected)
        assert problem is None, f"login as {user!r} after the cap was reached: {problem}"
