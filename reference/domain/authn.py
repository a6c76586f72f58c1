"""Per-request authentication (observed §5): parse `authorization`, verify, cache verified pairs.

Only the `authorization` metadata is ever consulted; no other header (e.g. `sourceid`) can
skip verification (observed §5.3 describes the Milvus bypass we deliberately do not copy).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from dataclasses import dataclass
from typing import Protocol

from reference.domain import go_base64
from reference.domain.errors import Unauthenticated
from reference.domain.password_hash import PasswordHasher
from reference.domain.profile import Profile

_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Principal:
    """Who is calling. `verified` is False when authentication is off (name is only claimed)."""

    name: str
    verified: bool


ANONYMOUS = Principal(name="", verified=False)


class HashLookup(Protocol):
    def get_hash(self, username: str) -> str | None: ...


class VerifiedCredentialCache:
    """Keyed fast digests of (user, password) pairs whose slow hash already verified.

    The key is random per process, so the cache is useless outside it. A generation counter
    stops a verification that read a hash before an invalidation from re-inserting it after.
    """

    def __init__(self) -> None:
        self._key = os.urandom(32)
        self._entries: dict[str, bytes] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def digest(self, username: str, password: bytes) -> bytes:
        name = username.encode("utf-8", "surrogatepass")
        message = len(name).to_bytes(8, "big") + name + password
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def generation(self) -> int:
        with self._lock:
            return self._generation

    def matches(self, username: str, digest: bytes) -> bool:
        with self._lock:
            known = self._entries.get(username)
        return known is not None and hmac.compare_digest(known, digest)

    def remember(self, username: str, digest: bytes, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= _CACHE_LIMIT:
                self._entries.clear()
            self._entries[username] = digest

    def replace(self, username: str, digest: bytes | None) -> None:
        """Forget what was verified for `username`; optionally record its new credential."""
        with self._lock:
            self._generation += 1
            self._entries.pop(username, None)
            if digest is not None:
                if len(self._entries) >= _CACHE_LIMIT:
                    self._entries.clear()
                self._entries[username] = digest


class CredentialVerifier:
    """Checks a password against the stored slow hash, through the verified-credential cache."""

    def __init__(self, users: HashLookup, hasher: PasswordHasher) -> None:
        self._users = users
        self._hasher = hasher
        self._cache = VerifiedCredentialCache()

    def verify(self, username: str, password: bytes) -> bool:
        if not password:
            return False
        digest = self._cache.digest(username, password)
        if self._cache.matches(username, digest):
            return True
        generation = self._cache.generation()
        stored = self._users.get_hash(username)
        if stored is None or not self._hasher.verify(password, stored):
            return False
        self._cache.remember(username, digest, generation)
        return True

    def credential_changed(self, username: str, new_password: bytes | None) -> None:
        """Call after the store changed, before acknowledging (observed §5.4 without the lag).

        Like Milvus's proxy cache push, a new password is cached right away, so the user's
        next call does not pay the slow hash; None (deletion) just forgets the user.
        """
        digest = None if new_password is None else self._cache.digest(username, new_password)
        self._cache.replace(username, digest)


class Authenticator:
    def __init__(self, profile: Profile, verifier: CredentialVerifier, enabled: bool) -> None:
        self._messages = profile.auth_messages
        self._verifier = verifier
        self.enabled = enabled

    def authenticate(self, authorization: str | None) -> Principal:
        """Principal for the first `authorization` value; raise Unauthenticated when enabled."""
        if not self.enabled:
            return self._claimed(authorization)
        if authorization is None:
            raise Unauthenticated(self._messages["missing_header"])
        try:
            decoded = go_base64.decode(authorization)
        except go_base64.GoBase64Error:
            raise Unauthenticated(self._messages["invalid_token"]) from None
        user_raw, colon, password = decoded.partition(b":")
        if not colon:
            # Milvus treats a colon-less value as an API key, which open-source Milvus never
            # accepts (observed §5.1).
            raise Unauthenticated(self._messages["no_colon"])
        try:
            username = user_raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Unauthenticated(self._messages["bad_credentials"]) from None
        if not self._verifier.verify(username, password):
            raise Unauthenticated(self._messages["bad_credentials"])
        return Principal(name=username, verified=True)

    @staticmethod
    def _claimed(authorization: str | None) -> Principal:
        """With authentication off the header is not checked; keep the claimed name for logs."""
        if authorization is None:
            return ANONYMOUS
        try:
            user_raw, _, _ = go_base64.decode(authorization).partition(b":")
            return Principal(name=user_raw.decode("utf-8"), verified=False)
        except (go_base64.GoBase64Error, UnicodeDecodeError):
            return ANONYMOUS
