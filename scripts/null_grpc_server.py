#!/usr/bin/env python3
"""A Milvus gRPC server that does nothing: the bench's ceiling peer for unary RPC rates.

It answers ListCredUsers with a fixed list and GetVersion with a fixed version, checks no
credentials and touches no storage, on the same sync grpcio server the reference uses. Any
Python gRPC server pays at least this much per call, so (rate here) / (rate of Milvus) bounds
the ratio a Python server can reach with the bench's client on this machine.

    python scripts/null_grpc_server.py --port 0 --ready-file PATH   # PATH gets the port
"""

from __future__ import annotations

import argparse
import signal
import sys
from concurrent import futures
from pathlib import Path

import grpc
from pymilvus.grpc_gen import common_pb2, milvus_pb2

SERVICE = "milvus.proto.milvus.MilvusService"
USERS = ("root",)


def build_server(port: int, workers: int = 16) -> tuple[grpc.Server, int]:
    users = milvus_pb2.ListCredUsersResponse(status=common_pb2.Status(), usernames=USERS)
    version = milvus_pb2.GetVersionResponse(status=common_pb2.Status(), version="null")
    handlers = {
        "ListCredUsers": grpc.unary_unary_rpc_method_handler(
            lambda request, context: users,
            request_deserializer=milvus_pb2.ListCredUsersRequest.FromString,
            response_serializer=milvus_pb2.ListCredUsersResponse.SerializeToString,
        ),
        "GetVersion": grpc.unary_unary_rpc_method_handler(
            lambda request, context: version,
            request_deserializer=milvus_pb2.GetVersionRequest.FromString,
            response_serializer=milvus_pb2.GetVersionResponse.SerializeToString,
        ),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    server.add_registered_method_handlers(SERVICE, handlers)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    return server, bound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args(argv)
    server, port = build_server(args.port)
    server.start()
    args.ready_file.write_text(f"{port}\n")
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main())
