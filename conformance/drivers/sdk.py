"""pymilvus driver: ORM `connections`/`utility` and `MilvusClient`, used the way the doc shows
them (doc §Connect Milvus with an authenticated user, §Reset password, §List all users).

It shows what users see. SDK exceptions become `Outcome`s (the gRPC code when the SDK exposes
the underlying RpcError, else the Status code/message); exceptions that are not SDK answers
(TypeError and the like) are harness failures.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

import grpc

from conformance.drivers.errors import HarnessError
from conformance.drivers.wire import Outcome

_alias_counter = itertools.count()


def _rpc_cause(exc: BaseException) -> grpc.RpcError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, grpc.RpcError):
            return current
        current = current.__cause__ or current.__context__
    return None


def outcome_from_exception(exc: BaseException) -> Outcome:
    """Map what pymilvus raised to an Outcome; raise HarnessError if it was not a server answer."""
    from pymilvus.exceptions import MilvusException

    rpc = _rpc_cause(exc)
    if rpc is not None and hasattr(rpc, "code"):
        code = rpc.code()
        details = rpc.details() if hasattr(rpc, "details") else str(rpc)
        if code == grpc.StatusCode.UNAVAILABLE and "failed to connect" in (details or "").lower():
            raise HarnessError(f"target unreachable through pymilvus: {details}") from exc
        return Outcome("rpc_error", code.name, None, None, details or "", None)
    if isinstance(exc, MilvusException):
        return Outcome("status_error", "OK", exc.code, None, exc.message, None)
    raise HarnessError(f"pymilvus raised {type(exc).__name__}: {exc}") from exc


def _run(action: Callable[[], Any]) -> Outcome:
    from pymilvus.exceptions import MilvusException

    try:
        result = action()
    except (MilvusException, grpc.RpcError) as exc:
        return outcome_from_exception(exc)
    return Outcome("ok", "OK", 0, 0, "", result)


def unique_alias(stem: str = "cf") -> str:
    return f"{stem}-{os.getpid()}-{next(_alias_counter)}"


class SdkSession:
    """One ORM alias (`connections.connect(alias=..., host, port, user, password)`)."""

    def __init__(self, address: str, user: str, password: str, *, timeout: float = 10.0) -> None:
        self.address = address
        self.user = user
        self.password = password
        self.timeout = timeout
        self.alias = unique_alias()

    def connect(self, user: str | None = None, password: str | None = None) -> Outcome:
        """(Re)connect this alias, optionally as another user (doc: disconnect and re-connect)."""
        from pymilvus import connections

        if user is not None:
            self.user = user
        if password is not None:
            self.password = password
        host, _, port = self.address.rpartition(":")
        connections.disconnect(self.alias)
        return _run(
            lambda: connections.connect(
                alias=self.alias,
                host=host,
                port=port,
                user=self.user,
                password=self.password,
                timeout=self.timeout,
            )
        )

    def disconnect(self) -> None:
        from pymilvus import connections

        connections.disconnect(self.alias)
        connections.remove_connection(self.alias)

    def get_server_version(self) -> Outcome:
        from pymilvus import utility

        return _run(lambda: utility.get_server_version(using=self.alias, timeout=self.timeout))

    def list_usernames(self) -> Outcome:
        from pymilvus import utility

        return _run(lambda: list(utility.list_usernames(using=self.alias, timeout=self.timeout)))

    def create_user(self, user: str, password: str) -> Outcome:
        from pymilvus import utility

        return _run(lambda: utility.create_user(user, password, using=self.alias))

    def reset_password(self, user: str, old: str, new: str) -> Outcome:
        """utility.reset_password: updates the password and re-arms this alias as `user`."""
        from pymilvus import utility

        outcome = _run(lambda: utility.reset_password(user, old, new, using=self.alias))
        if outcome.ok:
            self.user, self.password = user, new
        return outcome

    def delete_user(self, user: str) -> Outcome:
        from pymilvus import utility

        return _run(lambda: utility.delete_user(user, using=self.alias))

    def has_collection(self, name: str = "cf_probe") -> Outcome:
        from pymilvus import utility

        return _run(lambda: utility.has_collection(name, using=self.alias, timeout=self.timeout))

    def __enter__(self) -> SdkSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()


class SdkClient:
    """A dedicated `MilvusClient` (no handler shared with other clients, observed §6)."""

    def __init__(self, address: str, user: str, password: str, *, timeout: float = 10.0) -> None:
        self.address = address
        self.user = user
        self.password = password
        self.timeout = timeout
        self.client: Any = None

    def connect(self) -> Outcome:
        from pymilvus import MilvusClient

        def build() -> None:
            self.client = MilvusClient(
                uri=f"http://{self.address}",
                user=self.user,
                password=self.password,
                timeout=self.timeout,
                dedicated=True,
            )

        return _run(build)

    def _require(self) -> Any:
        if self.client is None:
            raise HarnessError("SdkClient used before a successful connect()")
        return self.client

    def list_users(self) -> Outcome:
        return _run(lambda: list(self._require().list_users()))

    def create_user(self, user: str, password: str) -> Outcome:
        return _run(lambda: self._require().create_user(user, password))

    def update_password(self, user: str, old: str, new: str, reset_connection: bool) -> Outcome:
        return _run(
            lambda: self._require().update_password(
                user, old, new, reset_connection=reset_connection
            )
        )

    def drop_user(self, user: str) -> Outcome:
        return _run(lambda: self._require().drop_user(user))

    def has_collection(self, name: str = "cf_probe") -> Outcome:
        return _run(lambda: self._require().has_collection(name))

    def get_server_version(self) -> Outcome:
        return _run(lambda: self._require().get_server_version())

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
