"""Unit tests of the user-cap oracle (clause AUTH-USER-LIMIT) and its profile parameter."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from conformance.oracle import capped_create_verdict, load_params
from conformance.oracle.params import PROFILE_DIR, ProfileError, params_from_mapping

DOCS = load_params("docs-2.1")
V23 = load_params("milvus-2.3")
V26 = load_params("milvus-2.6")
PASSWORD = "secret12"


def users(count: int) -> set[str]:
    """`count` users, root included (the cap counts root, observed §4.2)."""
    return {"root"} | {f"u{i:03d}" for i in range(count - 1)}


def test_profiles_carry_the_cap() -> None:
    assert DOCS.max_users is None  # the doc states no cap
    assert V23.max_users == 100 and V26.max_users == 100


@pytest.mark.parametrize("params", [V23, V26], ids=["2.3", "2.6"])
def test_creates_below_the_cap_are_accepted(params) -> None:
    for count in (1, 50, 99):
        verdict = capped_create_verdict(params, users(count), "fresh_name", PASSWORD)
        assert verdict.accepted, (count, verdict)


def test_create_at_the_cap_is_rejected_with_the_version_answer() -> None:
    full = users(100)
    v23 = capped_create_verdict(V23, full, "fresh_name", PASSWORD)
    assert (v23.accepted, v23.kind, v23.rejection) == (False, "status_error", "user_limit")
    assert (v23.code, v23.error_code) == (65535, 29)
    assert v23.reason == "unable to add user because the number of users has reached the limit"
    v26 = capped_create_verdict(V26, full, "fresh_name", PASSWORD)
    assert (v26.code, v26.error_code, v26.rejection) == (9, 29, "user_limit")
    assert v26.reason is not None and v26.reason.endswith(": quota exceeded")
    # Over the cap (e.g. a super user's update created one more) is refused as well.
    assert capped_create_verdict(V23, users(101), "fresh_name", PASSWORD).rejection == "user_limit"


def test_cap_is_checked_before_the_duplicate_but_after_validation() -> None:
    full = users(100)
    assert capped_create_verdict(V23, full, "u000", PASSWORD).rejection == "user_limit"
    assert capped_create_verdict(V23, users(5), "u000", PASSWORD).rejection == "duplicate_create"
    # The proxy validates name and password before the store counts users (observed §4.1).
    assert capped_create_verdict(V23, full, "1bad", PASSWORD).rejection == "username_first_char"
    assert capped_create_verdict(V23, full, "fresh_name", "short").rejection == "password_length"


def test_a_profile_without_a_cap_never_rejects_for_it() -> None:
    many = users(500)
    assert capped_create_verdict(DOCS, many, "fresh_name", PASSWORD).accepted
    assert capped_create_verdict(DOCS, many, "u000", PASSWORD).rejection == "duplicate_create"
    uncapped = dataclasses.replace(V23, max_users=None)
    assert capped_create_verdict(uncapped, many, "fresh_name", PASSWORD).accepted


def test_existing_names_are_counted_once() -> None:
    listed_twice = ["root", *sorted(users(99))]  # 100 entries, 99 distinct users
    assert capped_create_verdict(V23, listed_twice, "fresh_name", PASSWORD).accepted


def _mapping(**users_entry: object) -> dict:
    data = yaml.safe_load((PROFILE_DIR / "milvus-2.3.yaml").read_text(encoding="utf-8"))
    data["users"] = users_entry
    return data


@pytest.mark.parametrize("bad", [0, -1, "100", 2.5, True])
def test_bad_cap_values_are_rejected(bad: object) -> None:
    with pytest.raises(ProfileError, match=r"users\.max"):
        params_from_mapping(_mapping(max=bad))


def test_absent_cap_means_none() -> None:
    data = _mapping()
    del data["users"]
    assert params_from_mapping(data).max_users is None
    assert params_from_mapping(_mapping(max=None)).max_users is None
    assert params_from_mapping(_mapping(max=7)).max_users == 7
