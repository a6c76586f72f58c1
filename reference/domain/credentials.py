"""Credential management (doc §Create an authenticated user, §Reset password, §Delete a user,
§List all users) with each profile's authorisation rules (observed §3, §4)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Literal, Protocol

from reference.domain.authn import CredentialVerifier, Principal
from reference.domain.errors import PermissionDenied
from reference.domain.password_hash import PasswordHasher
from reference.domain.profile import Profile
from reference.domain.validation import (
    check_hashable,
    decode_password,
    status_error,
    validate_password,
    validate_username,
)

AddOutcome = Literal["added", "exists", "limit"]


class UserStore(Protocol):
    def get_hash(self, username: str) -> str | None: ...
    def add(self, username: str, password_hash: str, limit: int | None) -> AddOutcome: ...
    def set_hash(self, username: str, password_hash: str) -> bool: ...
    def delete(self, username: str) -> bool: ...
    def usernames(self) -> list[str]: ...


class CredentialService:
    def __init__(
        self,
        profile: Profile,
        users: UserStore,
        hasher: PasswordHasher,
        verifier: CredentialVerifier,
        super_users: Iterable[str] = (),
    ) -> None:
        self.profile = profile
        self._users = users
        self._hasher = hasher
        self._verifier = verifier
        self._super_users = frozenset(super_users)
        # Serialises "write the store, then update the verified-credential cache" so two
        # concurrent changes to one user cannot leave the cache disagreeing with the store.
        self._change_lock = threading.Lock()

    def ensure_root(self, password: str) -> bool:
        """Create root with `password` unless it exists (observed §3.1); True if created."""
        if self._users.get_hash(self.profile.root_user) is not None:
            return False
        raw = password.encode("utf-8")
        validate_password(self.profile, raw)
        check_hashable(self.profile, raw)
        # Root never counts against the cap when it is first created.
        return self._users.add(self.profile.root_user, self._hasher.hash(raw), None) == "added"

    def create(self, caller: Principal, username: str, password_b64: str) -> None:
        self._authorize(caller, "create", None)
        validate_username(self.profile, username)
        password = decode_password(self.profile, password_b64)
        validate_password(self.profile, password)
        check_hashable(self.profile, password)
        password_hash = self._hasher.hash(password)
        with self._change_lock:
            outcome = self._users.add(username, password_hash, self.profile.user_limit)
            if outcome == "added":
                self._verifier.credential_changed(username, password)
        if outcome == "limit":
            raise status_error(self.profile, "user_limit")
        if outcome == "exists":
            raise status_error(self.profile, "user_exists", username=username)

    def update(
        self, caller: Principal, username: str, old_password_b64: str, new_password_b64: str
    ) -> None:
        self._authorize(caller, "update", username)
        old_password = decode_password(
            self.profile, old_password_b64, failure="old_password_decode"
        )
        new_password = decode_password(
            self.profile, new_password_b64, failure="new_password_decode"
        )
        validate_password(self.profile, new_password)
        # Super users skip the old-password check; only a verified identity counts, so with
        # authentication off a claimed name grants nothing (unlike observed §7).
        is_super_user = caller.verified and caller.name in self._super_users
        if not is_super_user and not self._verifier.verify(username, old_password):
            raise status_error(self.profile, "old_password_mismatch", username=username)
        check_hashable(self.profile, new_password)
        # An update never creates a user, even for a super user (observed §4.2 notes 2.3 would).
        password_hash = self._hasher.hash(new_password)
        with self._change_lock:
            updated = self._users.set_hash(username, password_hash)
            if updated:
                self._verifier.credential_changed(username, new_password)
        if not updated:
            raise status_error(self.profile, "old_password_mismatch", username=username)

    def delete(self, caller: Principal, username: str) -> None:
        self._authorize(caller, "delete", None)
        if username == self.profile.root_user:
            raise status_error(self.profile, "root_delete")
        if not username:
            raise status_error(self.profile, "delete_empty")
        # Deleting a missing user succeeds (observed §4.2); deleting oneself is allowed.
        with self._change_lock:
            self._users.delete(username)
            self._verifier.credential_changed(username, None)

    def list_usernames(self, caller: Principal) -> list[str]:
        self._authorize(caller, "list", None)
        return self._users.usernames()

    def select(self, caller: Principal, username: str | None) -> list[str]:
        """Existing usernames matching `username` (all users when None)."""
        self._authorize(caller, "select", username)
        if username is None:
            return self._users.usernames()
        validate_username(self.profile, username)
        return [username] if self._users.get_hash(username) is not None else []

    def _authorize(self, caller: Principal, operation: str, target: str | None) -> None:
        """RBAC of profiles that have it (observed §4.3); off when authentication is off."""
        rbac = self.profile.rbac
        if not rbac.enabled or not caller.verified or caller.name == rbac.superuser:
            return
        if operation in ("update", "select") and target is not None and target == caller.name:
            return
        raise PermissionDenied(
            rbac.deny_message.format_map(
                {"privilege": rbac.privileges[operation], "user": caller.name}
            )
        )
