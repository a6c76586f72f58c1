"""Composition root: builds the domain services and storage from a ServerConfig."""

from __future__ import annotations

import fcntl
import os
import threading
from typing import TYPE_CHECKING, Any

from reference.domain.authn import Authenticator, CredentialVerifier
from reference.domain.credentials import CredentialService
from reference.domain.errors import StatusError
from reference.domain.password_hash import PasswordHasher
from reference.domain.profile import load_profile
from reference.storage.database import Database
from reference.storage.users import UserRepository

if TYPE_CHECKING:
    from reference.wire.server import ServerConfig

LOCK_FILE = ".milvus-reference.lock"


class StartupError(RuntimeError):
    """The server cannot start with this configuration (message is for the operator)."""


class Application:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._vectors: Any = None  # built on first use: start-up skips numpy and lark
        self._vectors_lock = threading.Lock()
        self.profile = load_profile(config.profile)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_data_dir(config.data_dir / LOCK_FILE)
        self.database = Database(config.data_dir)
        self.store = UserRepository(self.database)
        self.hasher = PasswordHasher()
        self.verifier = CredentialVerifier(self.store, self.hasher)
        self.authenticator = Authenticator(self.profile, self.verifier, enabled=config.auth_enabled)
        self.credentials = CredentialService(
            self.profile, self.store, self.hasher, self.verifier, super_users=config.super_users
        )
        try:
            self.root_created = self.credentials.ensure_root(config.root_password)
        except StatusError as error:
            self.close()
            raise StartupError(f"invalid --root-password: {error.reason}") from None
        if config.deviations:
            # DEVIATION HOOK: seeded spec departures for the conformance selftest; each one
            # substitutes a component built above, once (reference/deviations.py).
            from reference.deviations import apply_deviations

            apply_deviations(self, config.deviations)

    @staticmethod
    def decorate_gate(gate: Any) -> Any:
        """The gRPC auth gate (reference.wire.auth_gate) as served; only a seeded deviation
        replaces this."""
        return gate

    @staticmethod
    def decorate_rest(serve: Any) -> Any:
        """The REST request pipeline (reference.rest.server._serve) as served; only a seeded
        deviation replaces this."""
        return serve

    @staticmethod
    def decorate_management(routes: dict[Any, Any]) -> dict[Any, Any]:
        """The management port's route table (reference.management) as served; only a seeded
        deviation extends it."""
        return routes

    @property
    def vectors(self) -> Any:
        vectors = self._vectors
        if vectors is None:
            with self._vectors_lock:
                if self._vectors is None:
                    self._vectors = self._build_vectors()
                vectors = self._vectors
        return vectors

    @vectors.setter
    def vectors(self, value: Any) -> None:
        self._vectors = value

    def _build_vectors(self) -> Any:
        """VECTOR HOOK: the vector core's catalog, persisted under `<data-dir>/vectors`."""
        from reference.domain.vector.service import VectorService
        from reference.storage.vectors import VectorStorage

        return VectorService(VectorStorage(self.config.data_dir))

    def close(self) -> None:
        closer = getattr(self._vectors, "close", None)  # never builds the core just to close it
        if callable(closer):
            closer()
        self.database.close()
        os.close(self._lock_fd)


def _lock_data_dir(path: os.PathLike[str]) -> int:
    """Two servers on one data dir would corrupt each other's view; refuse the second."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StartupError(f"data directory is in use by another server: {path}") from None
    return fd
