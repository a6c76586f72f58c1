"""Who may call what (issue items 5 and 6; observed §3, §4.3), user cap and super users."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from reference_harness import ROOT, UserWire, Wire, spawn_server, unique_name

DENY_SUFFIX = {"milvus-2.3": "", "milvus-2.6": " in the `default` database"}


def make_user(root: UserWire, wire: Wire, prefix: str) -> UserWire:
    name = unique_name(prefix)
    assert root.create(name, "user-pw-1").ok
    return wire.as_user(name, "user-pw-1")


def test_non_root_permissions(root: UserWire, wire: Wire, profile_name: str) -> None:
    alice = make_user(root, wire, "alice")
    bob = make_user(root, wire, "bob")
    calls = {
        "PrivilegeSelectOwnership": alice.list,
        "PrivilegeCreateOwnership": lambda: alice.create(unique_name("x"), "secret1"),
        "PrivilegeDropOwnership": lambda: alice.delete(bob.user),
        "PrivilegeUpdateUser": lambda: alice.update(bob.user, "user-pw-1", "secret2"),
        "PrivilegeSelectUser": lambda: alice.select(bob.user),
    }
    for privilege, call in calls.items():
        reply = call()
        if profile_name == "docs-2.1":  # 2.1 had no roles: everyone may call everything
            assert reply.grpc_code == grpc.StatusCode.OK, privilege
        else:
            expected = f"{privilege}: permission deny to {alice.user}{DENY_SUFFIX[profile_name]}"
            assert (reply.grpc_code, reply.details) == (
                grpc.StatusCode.PERMISSION_DENIED,
                expected,
            )
    if profile_name != "docs-2.1":
        assert alice.select(None).grpc_code == grpc.StatusCode.PERMISSION_DENIED
    # Updating or selecting oneself is always allowed.
    assert [r.user.name for r in alice.select(alice.user).response.results] == [alice.user]
    assert alice.update(alice.user, "user-pw-1", "user-pw-2").ok
    assert wire.as_user(alice.user, "user-pw-2").version().ok


def test_user_may_delete_itself(root: UserWire, wire: Wire, profile_name: str) -> None:
    if profile_name != "docs-2.1":
        pytest.skip("with RBAC a plain user lacks PrivilegeDropOwnership")
    carol = make_user(root, wire, "carol")
    assert carol.delete(carol.user).ok
    assert carol.version().grpc_code == grpc.StatusCode.UNAUTHENTICATED


def test_root_delete_protected_for_every_caller(root: UserWire, wire: Wire) -> None:
    dave = make_user(root, wire, "dave")
    reply = dave.delete("root")
    assert reply.grpc_code in (grpc.StatusCode.OK, grpc.StatusCode.PERMISSION_DENIED)
    if reply.grpc_code == grpc.StatusCode.OK:
        assert reply.status.code == 1401
    assert wire.as_user(*ROOT).version().ok


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (
            "milvus-2.3",
            (65535, "unable to add user because the number of users has reached the limit"),
        ),
        ("milvus-2.6", (9, None)),
        ("docs-2.1", None),
    ],
)
def test_user_cap_includes_root_and_precedes_duplicate(
    tmp_path: Path, profile: str, expected: tuple[int, str | None] | None
) -> None:
    server = spawn_server(tmp_path / "data", "--profile", profile)
    wire = Wire(server.address)
    try:
        root = wire.as_user(*ROOT)
        for i in range(99):  # root + 99 = 100 users
            assert root.create(f"cap_{i:03d}", "secret1").ok, i
        reply = root.create("cap_over", "secret1")
        if expected is None:
            assert reply.ok  # the doc sets no limit
            return
        code, message = expected
        assert reply.status.code == code
        if message is not None:
            assert reply.status.reason == message
        # With the cap reached, a duplicate reports the cap, not the duplicate (observed §4.2).
        assert root.create("cap_000", "secret1").status.code == code
        assert root.delete("cap_000").ok
        assert root.create("cap_over", "secret1").ok
    finally:
        wire.close()
        server.stop()


def test_super_users_skip_old_password(tmp_path: Path) -> None:
    server = spawn_server(tmp_path / "data", "--super-users", " admin_a , root,")
    wire = Wire(server.address)
    try:
        root = wire.as_user(*ROOT)
        assert root.create("admin_a", "admin-pw").ok
        assert root.create("plain_b", "plain-pw").ok
        admin = wire.as_user("admin_a", "admin-pw")
        assert admin.update("plain_b", "wrong-old", "plain-pw-2").ok  # trimmed name matched
        assert root.update("plain_b", "", "plain-pw-3").ok
        plain = wire.as_user("plain_b", "plain-pw-3")
        assert plain.version().ok
        assert plain.update("admin_a", "wrong-old", "admin-pw-2").status.code == 1400
        # A super user still cannot create a user through an update.
        assert admin.update("ghost_c", "", "ghost-pw").status.code == 1400
        assert "ghost_c" not in root.list().response.usernames
        assert admin.update("plain_b", "", "short").status.code == 1100
    finally:
        wire.close()
        server.stop()


def test_super_users_need_verified_identity_with_auth_off(tmp_path: Path) -> None:
    server = spawn_server(tmp_path / "data", "--no-auth", "--super-users", "root")
    wire = Wire(server.address)
    try:
        claimed_root = wire.as_user("root", "not-the-password")
        assert claimed_root.create("victim_d", "victim-pw").ok
        assert claimed_root.update("victim_d", "", "taken-over").status.code == 1400
    finally:
        wire.close()
        server.stop()
