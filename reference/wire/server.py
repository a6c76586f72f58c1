"""Builds and runs the gRPC server: auth gate, Milvus servicer, grpc.health.v1."""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from reference.app import Application
from reference.domain.profile import DEFAULT_PROFILE
from reference.wire.auth_gate import AuthGate, GuardedServer
from reference.wire.milvus_service import add_milvus_service
from reference.wire.proto import milvus_pb2
from reference.wire.servicer import ReferenceServicer
from reference.wire.status import check_profile_codes

DEFAULT_PORT = 19530
DEFAULT_ROOT_PASSWORD = "Milvus"  # doc §Create an authenticated user
MILVUS_SERVICE = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"].full_name


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    auth_enabled: bool = True
    root_password: str = DEFAULT_ROOT_PASSWORD
    profile: str = DEFAULT_PROFILE
    super_users: tuple[str, ...] = field(default_factory=tuple)
    # Bounded so a hostile 2 GiB request is refused by gRPC instead of exhausting memory.
    max_message_bytes: int = 64 * 1024 * 1024
    workers: int = 16
    deviations: tuple[str, ...] = ()  # seeded spec departures (reference/deviations.py)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ReferenceServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.app: Application | None = None
        self.port: int | None = None
        self._server: grpc.Server | None = None
        self._health: health.HealthServicer | None = None

    def start(self) -> int:
        """Start serving; return the bound port. Authenticated RPCs work once this returns."""
        app = Application(self.config)
        try:
            check_profile_codes(app.profile)
            server = grpc.server(
                futures.ThreadPoolExecutor(
                    max_workers=self.config.workers, thread_name_prefix="rpc"
                ),
                options=[
                    ("grpc.max_receive_message_length", self.config.max_message_bytes),
                    ("grpc.max_send_message_length", self.config.max_message_bytes),
                    ("grpc.so_reuseport", 0),
                ],
            )
            guarded = GuardedServer(server, app.decorate_gate(AuthGate(app.authenticator)))
            add_milvus_service(ReferenceServicer(app), guarded)
            health_servicer = health.HealthServicer()
            for service in ("", MILVUS_SERVICE):
                health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
            health_pb2_grpc.add_HealthServicer_to_server(health_servicer, guarded)
            address = format_address(self.config.host, self.config.port)
            try:
                port = server.add_insecure_port(address)
            except RuntimeError as error:
                raise OSError(f"cannot listen on {address}: {error}") from None
            if port == 0:
                raise OSError(f"cannot listen on {address}")
            server.start()
        except BaseException:
            app.close()
            raise
        self.app, self.port, self._server, self._health = app, port, server, health_servicer
        return port

    @property
    def address(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return format_address(self.config.host, self.port)

    def stop(self, grace: float = 0.3) -> None:
        """Refuse new RPCs, give running ones `grace` seconds, then release the data dir."""
        if self._server is None:
            return
        if self._health is not None:
            self._health.enter_graceful_shutdown()
        self._server.stop(grace).wait(grace + 0.5)
        self._server = None
        if self.app is not None:
            self.app.close()
            self.app = None
