"""Ask the target for its version (GetVersion) for the report header; never fails the run."""

from __future__ import annotations

import base64


def fetch_server_version(address: str, user: str, password: str, timeout: float = 5.0) -> str:
    if not address:
        return "unknown (target not started)"
    try:  # imported lazily: grpc_gen pulls in pymilvus, which is slow to import
        import grpc
        from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc
    except ImportError as exc:
        return f"unknown ({exc})"
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    try:
        with grpc.insecure_channel(address) as channel:
            stub = milvus_pb2_grpc.MilvusServiceStub(channel)
            reply = stub.GetVersion(
                milvus_pb2.GetVersionRequest(),
                metadata=[("authorization", token)],
                timeout=timeout,
            )
    except grpc.RpcError as exc:
        return f"unknown (GetVersion failed: {exc.code().name})"
    if reply.status.code or reply.status.error_code:
        return f"unknown (GetVersion status {reply.status.code}: {reply.status.reason})"
    return reply.version or "unknown (empty version)"
