"""Helpers for reference-server tests: spawn the CLI, call it with raw stubs (no pymilvus ORM)."""

from __future__ import annotations

import base64
import itertools
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc

ROOT = ("root", "Milvus")
PROFILES = ("docs-2.1", "milvus-2.3", "milvus-2.6")
_unique = itertools.count()


def b64(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def auth_header(user: str | bytes, password: str | bytes) -> tuple[str, str]:
    u = user.encode() if isinstance(user, str) else user
    p = password.encode() if isinstance(password, str) else password
    return ("authorization", b64(u + b":" + p))


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}{os.getpid()}_{next(_unique)}"


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    address: str
    data_dir: Path
    startup_seconds: float

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> float:
        """Signal the server by PID; return how long it took to exit."""
        started = time.perf_counter()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return time.perf_counter() - started


def spawn_server(data_dir: Path, *args: str, timeout: float = 15.0) -> ServerProcess:
    """Run `python -m reference serve --port 0` and wait for its `listening on` line."""
    command = [sys.executable, "-m", "reference", "serve", "--port", "0"]
    command += ["--data-dir", str(data_dir), *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = started + timeout
    line = ""
    while time.perf_counter() < deadline:
        if selector.select(timeout=0.1):
            line = process.stdout.readline()
            break
        if process.poll() is not None:
            break
    selector.close()
    if not line.startswith("listening on "):
        process.kill()
        _, err = process.communicate(timeout=5)
        raise RuntimeError(f"server did not start: stdout={line!r} stderr={err!r}")
    return ServerProcess(process, line.split()[-1], data_dir, time.perf_counter() - started)


@dataclass(frozen=True)
class Reply:
    """What came back: a gRPC error code or the response message."""

    grpc_code: grpc.StatusCode
    details: str
    response: Any = None

    @property
    def status(self) -> common_pb2.Status:
        r = self.response
        return r if isinstance(r, common_pb2.Status) else r.status

    @property
    def ok(self) -> bool:
        return self.grpc_code == grpc.StatusCode.OK and self.status.code == 0

    def triple(self) -> tuple[int, int, str]:
        s = self.status
        return (s.code, s.error_code, s.reason)


class Wire:
    """Raw MilvusService stub with explicit metadata on every call."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.channel = grpc.insecure_channel(address)
        self.stub = milvus_pb2_grpc.MilvusServiceStub(self.channel)

    def call(
        self,
        method: str,
        request: Any,
        user: str | bytes | None = None,
        password: str | bytes | None = None,
        metadata: list[tuple[str, str]] | None = None,
    ) -> Reply:
        md = list(metadata or [])
        if user is not None:
            md.append(auth_header(user, password or ""))
        try:
            response = getattr(self.stub, method)(request, metadata=md, timeout=10)
        except grpc.RpcError as error:
            return Reply(error.code(), error.details() or "")
        return Reply(grpc.StatusCode.OK, "", response)

    def as_user(self, user: str, password: str) -> UserWire:
        return UserWire(self, user, password)

    def close(self) -> None:
        self.channel.close()


class UserWire:
    """Convenience wrapper: credential RPCs as one authenticated user."""

    def __init__(self, wire: Wire, user: str, password: str) -> None:
        self.wire, self.user, self.password = wire, user, password

    def _call(self, method: str, request: Any) -> Reply:
        return self.wire.call(method, request, self.user, self.password)

    def create(self, username: str, password: str | bytes) -> Reply:
        req = milvus_pb2.CreateCredentialRequest(username=username, password=b64(password))
        return self._call("CreateCredential", req)

    def update(self, username: str, old: str | bytes, new: str | bytes) -> Reply:
        req = milvus_pb2.UpdateCredentialRequest(
            username=username, oldPassword=b64(old), newPassword=b64(new)
        )
        return self._call("UpdateCredential", req)

    def delete(self, username: str) -> Reply:
        return self._call("DeleteCredential", milvus_pb2.DeleteCredentialRequest(username=username))

    def list(self) -> Reply:
        return self._call("ListCredUsers", milvus_pb2.ListCredUsersRequest())

    def select(self, username: str | None) -> Reply:
        req = milvus_pb2.SelectUserRequest()
        if username is not None:
            req.user.name = username
        return self._call("SelectUser", req)

    def version(self) -> Reply:
        return self._call("GetVersion", milvus_pb2.GetVersionRequest())


class ServerPool:
    """One server per (profile, auth) for the whole session; tests use unique user names."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._servers: dict[tuple[str, bool], ServerProcess] = {}

    def get(self, profile: str, auth: bool = True) -> ServerProcess:
        key = (profile, auth)
        if key not in self._servers:
            data_dir = self._base / f"{profile}-{'auth' if auth else 'noauth'}"
            args = ["--profile", profile] + ([] if auth else ["--no-auth"])
            self._servers[key] = spawn_server(data_dir, *args)
        return self._servers[key]

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()


def wire_for(pool: ServerPool, opened: dict[str, Wire], profile: str, auth: bool) -> Wire:
    address = pool.get(profile, auth).address
    if address not in opened:
        opened[address] = Wire(address)
    return opened[address]


def error_code(name: str) -> int:
    return common_pb2.ErrorCode.Value(name)
