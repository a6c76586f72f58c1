"""`--target milvus-embedded`: the real Milvus 2.3.5 standalone binary from the `milvus` wheel.

Why not `milvus.MilvusServer`: it probes ports upward from the defaults (19530, 9091, ...), leaves
the embedded etcd on 2379/2380 (the template's `etcd_port` only moves the *client* endpoint), and
changes the interpreter's working directory. This launcher reuses only the wheel's data (the
lzma-compressed binary and the config template) and controls everything else itself:

* the binary is unpacked once into a per-user cache, keyed by the wheel's checksum;
* every run gets a fresh temp dir with its own milvus.yaml and embedEtcd.yaml;
* every port (gRPC, internal, coordinators, metrics, etcd client and peer) is a free 127.0.0.1 port;
* the server runs in its own session so the whole process group is stopped by its PID.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import lzma
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from conformance.targets.base import (
    LOOPBACK,
    Target,
    TargetError,
    TargetOptions,
    make_temp_dir,
    remove_dir,
    stop_process,
)
from conformance.targets.credential_write_probe import credential_writes_settle

INSTALL_HINT = "pip install 'milvus-conformance[milvus]'"
DEFAULT_ROOT_PASSWORD = "Milvus"  # observed §3.1: 2.3.5 always creates root with this password
MIN_STARTUP_TIMEOUT_S = 90.0  # a cold start on a busy 2-core machine can take tens of seconds
STOP_GRACE_S = 10.0
# A restart waits for the old proxy session to expire in etcd before writes work again.
RESTART_COST_ESTIMATE_S = 35.0

# Template placeholders that are ports; each gets its own free port.
_PORT_KEYS = (
    "etcd_port",
    "root_coord_port",
    "proxy_port",
    "proxy_internal_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
)
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*(?:\(\s*\w+\s*\))?\s*(?::\s*([^}]*?))?\s*\}\}")
# Component `ip:` lines are empty in the template (= first unicast address); pin them to loopback.
_EMPTY_IP_LINE = re.compile(r"^(\s+)ip:\s*(#.*)?$", re.MULTILINE)


class MilvusPackageMissing(TargetError):
    """The optional `milvus` wheel (real binary) is not installed."""


class MilvusStartError(TargetError):
    """The server exited or never answered an authenticated RPC."""


def _package_data_dir() -> Path:
    try:
        import milvus  # the wheel that ships the real binary
    except ImportError as exc:
        raise MilvusPackageMissing(
            f"target milvus-embedded needs the real Milvus binary: {INSTALL_HINT}"
        ) from exc
    data = Path(milvus.__file__).resolve().parent / "data"
    if not (data / "bin" / "milvus.lzma").is_file():
        raise MilvusPackageMissing(
            f"the installed 'milvus' package has no bundled binary in {data}: {INSTALL_HINT}"
        )
    return data


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "milvus-conformance"


def unpacked_binary_dir(data_dir: Path | None = None) -> Path:
    """Unpack the wheel's lzma files once; returns the dir holding `milvus` and its libraries."""
    data_dir = data_dir or _package_data_dir()
    archives = sorted((data_dir / "bin").glob("*.lzma"))
    digest = hashlib.sha256()
    for archive in archives:
        digest.update(archive.name.encode())
        digest.update(str(archive.stat().st_size).encode())
        digest.update(str(archive.stat().st_mtime_ns).encode())
    target = _cache_root() / f"milvus-bin-{digest.hexdigest()[:16]}"
    if (target / "milvus").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unpack into a private dir and rename, so concurrent first runs never see half a binary.
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=target.parent))
    try:
        for archive in archives:
            out = staging / archive.name.removesuffix(".lzma")
            with lzma.open(archive) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            out.chmod(0o755)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "milvus").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def free_ports(count: int) -> list[int]:
    """Distinct free 127.0.0.1 ports (all sockets held open together so none repeats)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class MilvusLayout:
    """Where one server instance keeps everything; all of it lives under `base`."""

    base: Path
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.base / "configs"

    @property
    def logs_dir(self) -> Path:
        return self.base / "logs"

    @property
    def storage_dir(self) -> Path:
        return self.base / "data"


def render_config(template: str, layout: MilvusLayout, *, auth_enabled: bool) -> str:
    """Fill the wheel's template (`{{ key(type): default }}`) for this layout."""
    values: dict[str, str] = {str(k): str(v) for k, v in layout.ports.items()}
    values.update(
        authorization_enabled="true" if auth_enabled else "false",
        etcd_log_path=str(layout.logs_dir / "etcd.log"),
        etcd_data_dir=str(layout.storage_dir / "etcd.data"),
        local_storage_dir=str(layout.storage_dir),
        rocksmq_data_dir=str(layout.storage_dir / "rocksmq"),
        system_log_path=str(layout.logs_dir),
    )

    def substitute(match: re.Match[str]) -> str:
        key, default = match.group(1), match.group(2)
        if key in values:
            return values[key]
        if default is None:
            raise ValueError(f"milvus config template placeholder {key!r} has no value")
        return default.strip()

    text = _PLACEHOLDER.sub(substitute, template)
    text = _EMPTY_IP_LINE.sub(r"\1ip: 127.0.0.1", text)
    return text.replace("localhost:", "127.0.0.1:")


def render_embed_etcd(layout: MilvusLayout) -> str:
    """embed.Config YAML: moves the in-process etcd off 2379/2380 (it ignores milvus.yaml ports)."""
    client = f"http://127.0.0.1:{layout.ports['etcd_port']}"
    peer = f"http://127.0.0.1:{layout.ports['etcd_peer_port']}"
    return "\n".join(
        [
            f"listen-client-urls: {client}",
            f"advertise-client-urls: {client}",
            f"listen-peer-urls: {peer}",
            f"initial-advertise-peer-urls: {peer}",
            f"initial-cluster: default={peer}",
            "initial-cluster-state: new",
            "auto-compaction-mode: revision",
            "auto-compaction-retention: '1000'",
            "",
        ]
    )


def _basic_token(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def process_tree_pids(root_pid: int) -> list[int]:
    """`root_pid` and all its descendants, read from /proc (no psutil dependency)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory summed over a process tree."""
    total = 0
    for pid in process_tree_pids(root_pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


_LIVE_TARGETS: set[MilvusEmbeddedTarget] = set()


@atexit.register
def _stop_live_targets() -> None:
    # A harness that exits without stop() (Ctrl-C, crash) must not leave Milvus running.
    for target in list(_LIVE_TARGETS):
        target.stop()


class MilvusEmbeddedTarget(Target):
    """Real Milvus 2.3.5 standalone in a fresh temp dir; see the module docstring."""

    capabilities = frozenset({"fresh", "restart", "auth_off", "management_port", "spawn_fresh"})
    restart_cost_seconds = RESTART_COST_ESTIMATE_S

    def __init__(self, options: TargetOptions, *, auth_enabled: bool = True) -> None:
        super().__init__(options)
        self.name = "milvus-embedded" if auth_enabled else "milvus-embedded(auth off)"
        self.auth_enabled = auth_enabled
        self.startup_timeout = max(options.startup_timeout, MIN_STARTUP_TIMEOUT_S)
        self.layout: MilvusLayout | None = None
        self.process: subprocess.Popen[bytes] | None = None
        # Measured by the last start/restart: spawn -> first authenticated RPC answered OK.
        self.last_ready_seconds: float | None = None
        self._bin_dir: Path | None = None
        self._password = DEFAULT_ROOT_PASSWORD  # root's password as the server knows it

    # -- Target API --------------------------------------------------------------------------
    def start(self) -> None:
        if self.process is not None:
            raise TargetError("milvus-embedded target is already running")
        data_dir = _package_data_dir()
        self._bin_dir = unpacked_binary_dir(data_dir)
        base = make_temp_dir(self.options, "milvus-embedded-")
        ports = free_ports(len(_PORT_KEYS) + 2)
        layout = MilvusLayout(
            base=base,
            ports={
                **dict(zip(_PORT_KEYS, ports, strict=False)),
                "etcd_peer_port": ports[-2],
                "metrics_port": ports[-1],
            },
        )
        self.layout = layout
        _LIVE_TARGETS.add(self)
        try:
            for sub in (layout.config_dir, layout.logs_dir, layout.storage_dir, base / "run"):
                sub.mkdir(parents=True, exist_ok=True)
            template = (data_dir / "config.yaml.template").read_text(encoding="utf-8")
            rendered = render_config(template, layout, auth_enabled=self.auth_enabled)
            (layout.config_dir / "milvus.yaml").write_text(rendered, encoding="utf-8")
            (layout.config_dir / "embedEtcd.yaml").write_text(render_embed_etcd(layout))
            shutil.copy(data_dir / "glog.conf", layout.config_dir / "glog.conf")
            self.address = f"{LOOPBACK}:{layout.ports['proxy_port']}"
            # Milvus serves /healthz, /metrics and (2.3.5) an unauthenticated /api/v1 here.
            self.management_url = f"http://{LOOPBACK}:{layout.ports['metrics_port']}"
            self._password = DEFAULT_ROOT_PASSWORD
            self._spawn_and_wait()
            self._apply_root_password()
        except BaseException:
            self.stop()
            raise

    def restart(self) -> None:
        """Stop by PID and start again on the same dir and ports: every stored change is kept."""
        if self.layout is None:
            raise TargetError("milvus-embedded target is not running")
        self._terminate()
        self._spawn_and_wait()

    def stop(self) -> None:
        try:
            self._terminate()
        finally:
            _LIVE_TARGETS.discard(self)
            if self.layout is not None:
                remove_dir(self.layout.base)
            self.layout = None
            self.address = ""

    def spawn_auth_off(self) -> Target:
        return self._spawn_sibling(auth_enabled=False)

    def spawn_fresh(self) -> Target:
        return self._spawn_sibling(auth_enabled=True)

    def _spawn_sibling(self, *, auth_enabled: bool) -> Target:
        """Another server with the same options in its own temp dir and ports, already started
        (stopped again if start-up fails, see start)."""
        other = MilvusEmbeddedTarget(self.options, auth_enabled=auth_enabled)
        other.start()
        return other

    def log_tail(self, lines: int = 200) -> str:
        if self.layout is None:
            return ""
        parts = []
        for log in sorted(self.layout.logs_dir.glob("*.log")):
            with contextlib.suppress(OSError):
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"==> {log.name} <==\n" + "\n".join(tail))
        return "\n".join(parts)

    # -- helpers -----------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.process.pid) if self.process is not None else 0

    def _auth_metadata(self) -> list[tuple[str, str]]:
        if not self.auth_enabled:
            return []
        return [("authorization", _basic_token(self.options.root_user, self._password))]

    def _apply_root_password(self) -> None:
        """2.3.5 cannot be configured with another root password: change it over the wire."""
        wanted = self.options.root_password
        if self.options.root_user != "root" or wanted == self._password:
            return
        from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

        def b64(text: str) -> str:
            return base64.b64encode(text.encode()).decode("ascii")

        with grpc.insecure_channel(self.address) as channel:
            reply = milvus_pb2_grpc.MilvusServiceStub(channel).UpdateCredential(
                milvus_pb2.UpdateCredentialRequest(
                    username="root", oldPassword=b64(self._password), newPassword=b64(wanted)
                ),
                metadata=self._auth_metadata(),
                timeout=10,
            )
        if reply.code != 0 or reply.error_code != 0:
            raise TargetError(f"cannot set the requested root password: {reply.reason}")
        self._password = wanted

    def _spawn_and_wait(self) -> None:
        assert self.layout is not None and self._bin_dir is not None
        layout = self.layout
        env = dict(os.environ)
        env.update(
            DEPLOY_MODE="STANDALONE",
            METRICS_PORT=str(layout.ports["metrics_port"]),
            MILVUSCONF=str(layout.config_dir),
            ETCD_CONFIG_PATH=str(layout.config_dir / "embedEtcd.yaml"),
            MILVUS_RUN_DIR=str(layout.base / "run"),
            LD_LIBRARY_PATH=os.pathsep.join(
                filter(None, [str(self._bin_dir), env.get("LD_LIBRARY_PATH")])
            ),
        )
        started = time.monotonic()
        with (
            open(layout.logs_dir / "milvus-stdout.log", "ab") as out,
            open(layout.logs_dir / "milvus-stderr.log", "ab") as err,
        ):
            # Own session: the server and anything it forks form one group we signal by its PID.
            self.process = subprocess.Popen(
                [str(self._bin_dir / "milvus"), "run", "standalone"],
                cwd=layout.base,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self._wait_ready(started)
        self.last_ready_seconds = time.monotonic() - started

    def _wait_ready(self, started: float) -> None:
        from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

        last_error = "no answer yet"
        with grpc.insecure_channel(self.address) as channel:
            stub = milvus_pb2_grpc.MilvusServiceStub(channel)
            while time.monotonic() - started < self.startup_timeout:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise MilvusStartError(
                        f"milvus exited with code {self.process.returncode} during start-up\n"
                        + self.log_tail(40)
                    )
                try:
                    # ListCredUsers needs proxy + rootcoord: a success means the target is usable.
                    reply = stub.ListCredUsers(
                        milvus_pb2.ListCredUsersRequest(), metadata=self._auth_metadata(), timeout=2
                    )
                    if reply.status.code == 0 and reply.status.error_code == 0:
                        break
                    last_error = f"status {reply.status.code}: {reply.status.reason}"
                except grpc.RpcError as exc:
                    last_error = f"{exc.code().name}: {exc.details()}"
                time.sleep(0.05)
            else:
                raise MilvusStartError(
                    f"milvus did not answer an authenticated RPC within "
                    f"{self.startup_timeout:.0f} s (last: {last_error})\n" + self.log_tail(40)
                )
        # After a restart, writes block until the old proxy session expires (see the module).
        metadata = self._auth_metadata()
        token = metadata[0][1] if metadata else ""
        problem = credential_writes_settle(self.address, token, started + self.startup_timeout)
        if problem:
            raise MilvusStartError(
                f"milvus did not accept a credential write within {self.startup_timeout:.0f} s "
                f"(last: {problem})\n" + self.log_tail(40)
            )

    def _terminate(self) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        # The group id is the PID we started (start_new_session); signal only that group.
        stop_process(proc, STOP_GRACE_S, group=True)
