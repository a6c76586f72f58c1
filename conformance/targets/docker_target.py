"""`--target docker:IMAGE`: a standalone Milvus container, driven by the Python docker SDK.

Works with the local `milvus-conformance/milvus:2.3.5` (scripts/build-milvus-image; its entrypoint
already runs the standalone with auth on) and with official `milvusdb/milvus` images, which get
`milvus run standalone`, embedded etcd, local storage, and a mounted config overlay that turns
authorization on. Ports are published on 127.0.0.1 (random host ports); where bridges are
unavailable it falls back to host networking. The container is always removed, also on failure
and at interpreter exit, and its log is attached to every start-up error.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import grpc

from conformance.targets.base import (
    LOOPBACK,
    Target,
    TargetError,
    TargetOptions,
    make_temp_dir,
    remove_dir,
)
from conformance.targets.credential_write_probe import credential_writes_settle

INSTALL_HINT = "pip install 'milvus-conformance[docker]'"
GRPC_PORT, METRICS_PORT = 19530, 9091
MIN_STARTUP_TIMEOUT_S = 120.0
# Official images: overlay + environment for a self-contained standalone (embedded etcd).
OVERLAY_DIR = "/milvus/configs/conformance"
USER_YAML = "common:\n  security:\n    authorizationEnabled: true\n"
EMBED_ETCD_YAML = (
    "listen-client-urls: http://127.0.0.1:2479\n"
    "advertise-client-urls: http://127.0.0.1:2479\n"
    "listen-peer-urls: http://127.0.0.1:2480\n"
    "initial-advertise-peer-urls: http://127.0.0.1:2480\n"
    "initial-cluster: default=http://127.0.0.1:2480\n"
)
OFFICIAL_ENV = {
    "ETCD_USE_EMBED": "true",
    "ETCD_DATA_DIR": "/var/lib/milvus/etcd",
    "ETCD_CONFIG_PATH": f"{OVERLAY_DIR}/embedEtcd.yaml",
    "ETCD_ENDPOINTS": "127.0.0.1:2479",
    "COMMON_STORAGETYPE": "local",
    # Milvus maps upper-cased, underscore-joined keys from the environment onto its config.
    "COMMON_SECURITY_AUTHORIZATIONENABLED": "true",
}

_LIVE: set[DockerTarget] = set()


@atexit.register
def _remove_live_containers() -> None:
    for target in list(_LIVE):
        target.stop()


def _docker_client() -> Any:
    try:
        import docker
    except ImportError as exc:
        raise TargetError(f"target docker:IMAGE needs the docker SDK: {INSTALL_HINT}") from exc
    try:
        return docker.from_env()
    except docker.errors.DockerException as exc:
        raise TargetError(f"docker engine unavailable: {exc}") from exc


class DockerTarget(Target):
    capabilities = frozenset({"fresh", "restart", "management_port"})
    # `docker restart` of Milvus: stop grace plus the stale proxy session (see milvus_embedded)
    restart_cost_seconds = 35.0

    def __init__(self, spec: str, options: TargetOptions) -> None:
        super().__init__(options)
        image = spec.removeprefix("docker:")
        if not image:
            raise TargetError("bad target 'docker:': expected docker:IMAGE")
        self.name = spec
        self.image = image
        self.container: Any = None
        self.host_network = False
        self.last_ready_seconds: float | None = None
        self._home: Path | None = None
        self._client: Any = None

    def start(self) -> None:
        if self.container is not None:
            raise TargetError(f"{self.name} already started")
        self._client = _docker_client()
        _LIVE.add(self)
        try:
            self._home = make_temp_dir(self.options, "milvus-docker-")
            started = time.monotonic()
            self.container = self._run(self._run_kwargs())
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise

    def restart(self) -> None:
        """`docker restart` keeps the container's filesystem, so every stored change survives."""
        if self.container is None:
            raise TargetError(f"{self.name} is not running")
        started = time.monotonic()
        self.container.restart(timeout=10)
        self._wait_ready(started)

    def stop(self) -> None:
        container, self.container = self.container, None
        try:
            if container is not None:
                import docker

                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True, v=True)
        finally:
            _LIVE.discard(self)
            remove_dir(self._home)
            self._home = None
            self.address = ""

    def log_tail(self, lines: int = 200) -> str:
        if self.container is None:
            return ""
        try:
            return self.container.logs(tail=lines).decode("utf-8", "replace")
        except Exception as exc:  # the log is best effort; never mask the real failure
            return f"(container log unavailable: {exc})"

    # -- helpers -----------------------------------------------------------------------------
    def _is_local_image(self) -> bool:
        """Our FROM-scratch image already runs the standalone with its own milvus.yaml."""
        entrypoint = self._client.images.get(self.image).attrs["Config"].get("Entrypoint") or []
        return any(part.endswith("/milvus/bin/milvus") for part in entrypoint)

    def _run_kwargs(self) -> dict[str, Any]:
        import docker

        try:
            local = self._is_local_image()
        except docker.errors.ImageNotFound as exc:
            raise TargetError(
                f"image {self.image} not found locally; build it with scripts/build-milvus-image "
                f"or `docker pull {self.image}`"
            ) from exc
        kwargs: dict[str, Any] = {
            "image": self.image,
            "detach": True,
            "labels": {"milvus-conformance": "target"},
        }
        if not local:
            assert self._home is not None
            overlay = self._home / "overlay"
            overlay.mkdir()
            (overlay / "user.yaml").write_text(USER_YAML)
            (overlay / "embedEtcd.yaml").write_text(EMBED_ETCD_YAML)
            kwargs["command"] = ["milvus", "run", "standalone"]
            kwargs["environment"] = dict(OFFICIAL_ENV)
            kwargs["volumes"] = {str(overlay): {"bind": OVERLAY_DIR, "mode": "ro"}}
        return kwargs

    def _run(self, kwargs: dict[str, Any]) -> Any:
        import docker

        ports = {f"{GRPC_PORT}/tcp": (LOOPBACK, None), f"{METRICS_PORT}/tcp": (LOOPBACK, None)}
        try:
            return self._client.containers.run(ports=ports, **kwargs)
        except docker.errors.APIError as exc:
            # No bridge/iptables (e.g. nested containers): share the host network instead.
            if "network" not in str(exc).lower() and "iptables" not in str(exc).lower():
                raise TargetError(f"docker run {self.image} failed: {exc}") from exc
            self.host_network = True
            return self._client.containers.run(network_mode="host", **kwargs)

    def _published(self, port: int) -> int:
        if self.host_network:
            return port
        self.container.reload()
        bindings = (self.container.ports or {}).get(f"{port}/tcp") or []
        return int(bindings[0]["HostPort"]) if bindings else 0

    def _wait_ready(self, started: float) -> None:
        timeout = max(self.options.startup_timeout, MIN_STARTUP_TIMEOUT_S)
        healthy = False
        last = "no answer yet"
        token = base64.b64encode(
            f"{self.options.root_user}:{self.options.root_password}".encode()
        ).decode()
        while time.monotonic() - started < timeout:
            self.container.reload()
            if self.container.status in ("exited", "dead"):
                raise TargetError(f"{self.name} exited during start-up:\n{self.log_tail(60)}")
            grpc_port, metrics_port = self._published(GRPC_PORT), self._published(METRICS_PORT)
            if grpc_port and metrics_port:
                self.address = f"{LOOPBACK}:{grpc_port}"
                self.management_url = f"http://{LOOPBACK}:{metrics_port}"
                healthy = healthy or _healthz_ok(self.management_url)
                if healthy:
                    last = _authenticated_call(self.address, token)
                    if last == "":
                        # After a restart, writes block until the old proxy session expires.
                        last = credential_writes_settle(self.address, token, started + timeout)
                    if last == "":
                        self.last_ready_seconds = time.monotonic() - started
                        return
            time.sleep(0.1)
        raise TargetError(
            f"{self.name} not ready after {timeout:.0f} s (healthz ok: {healthy}; last: {last})\n"
            + self.log_tail(60)
        )


def _healthz_ok(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/healthz", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _authenticated_call(address: str, token: str) -> str:
    """'' when ListCredUsers as root succeeds, else what went wrong."""
    from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

    try:
        with grpc.insecure_channel(address) as channel:
            reply = milvus_pb2_grpc.MilvusServiceStub(channel).ListCredUsers(
                milvus_pb2.ListCredUsersRequest(),
                metadata=[("authorization", token)],
                timeout=3,
            )
    except grpc.RpcError as exc:
        return f"{exc.code().name}: {exc.details()}"
    return "" if reply.status.code == 0 else f"status {reply.status.code}: {reply.status.reason}"
