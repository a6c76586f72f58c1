"""Helpers shared by the launcher tests: is a PID gone, and one raw Milvus RPC.

Importable from every test module because pytest puts tests/ (the rootdir conftest's folder)
on sys.path.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import grpc
from pymilvus.grpc_gen import milvus_pb2_grpc


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def raw_call(address: str, method: str, request: object, auth: tuple[str, str] | None) -> Any:
    """One MilvusService RPC on a fresh channel, with base64 user:password when `auth`."""
    metadata = []
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        metadata.append(("authorization", token))
    with grpc.insecure_channel(address) as channel:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        return getattr(stub, method)(request, metadata=metadata, timeout=10)
