"""Target contract and the process helpers every launcher shares.

A launcher binds 127.0.0.1, takes a free port, logs to a file in its own temp dir, and stops
exactly the process it started, by PID (never by name).
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# spawn_fresh: the target can start a second, empty instance of itself (see Target.spawn_fresh).
CAPABILITIES = frozenset({"fresh", "restart", "auth_off", "management_port", "spawn_fresh"})
LOOPBACK = "127.0.0.1"


class HarnessError(Exception):
    """The harness (not the target) failed: reported as clause status `error`."""


class TargetError(HarnessError):
    """A launcher could not start, reach or stop its target."""


class NotSupported(HarnessError):
    """The target lacks the capability an operation needs (e.g. restart)."""


@dataclass(frozen=True)
class TargetOptions:
    profile: str = "docs-2.1"
    root_user: str = "root"
    root_password: str = "Milvus"
    fresh: bool = False  # the user vouches that a grpc:// target is freshly installed
    management_url: str | None = None
    startup_timeout: float = 30.0
    work_dir: Path | None = None  # parent for temp dirs; None = system temp


class Target(abc.ABC):
    """A server under test. `address` is "127.0.0.1:PORT" once started."""

    name: str
    capabilities: frozenset[str] = frozenset()
    address: str = ""
    management_url: str | None = None
    # Rough wall-clock cost of one restart(); clauses that could restart many times read it
    # to restart only where it is cheap (the reference restarts in well under a second).
    restart_cost_seconds: float = 1.0

    def __init__(self, options: TargetOptions) -> None:
        self.options = options
        self.management_url = options.management_url

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def restart(self) -> None:
        """Stop and start again, keeping the data."""
        raise NotSupported(f"target {self.name} cannot be restarted")

    def spawn_auth_off(self) -> Target:
        """Start a separate, already-started instance with authentication disabled.

        The caller owns the returned target and must stop it.
        """
        raise NotSupported(f"target {self.name} cannot run with authentication disabled")

    def spawn_fresh(self) -> Target:
        """Start a separate, already-started instance with authentication on and no data
        beyond the initial root user, with the same options (profile, root credentials).

        For clauses that must fill the server (e.g. up to its user cap), which a shared target
        cannot be. The caller owns the returned target and must stop it.
        """
        raise NotSupported(f"target {self.name} cannot start a fresh instance of itself")

    def log_tail(self, lines: int = 200) -> str:
        return ""

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def __enter__(self) -> Target:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class LocalProcessTarget(Target):
    """A target run as one local child process whose output goes to `<home>/server.log`."""

    def __init__(self, options: TargetOptions) -> None:
        super().__init__(options)
        self._proc: subprocess.Popen[bytes] | None = None
        self._home: Path | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def log_path(self) -> Path | None:
        return self._home / "server.log" if self._home else None

    def log_tail(self, lines: int = 200) -> str:
        return tail_file(self.log_path, lines)

    def stop(self) -> None:
        try:
            stop_process(self._proc)
        finally:
            self._proc = None
            self.address = ""
            remove_dir(self._home)
            self._home = None


# ---- process helpers -------------------------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    """A port that was free a moment ago (for servers that cannot bind port 0 themselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def make_temp_dir(options: TargetOptions, prefix: str) -> Path:
    base = options.work_dir
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def remove_dir(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def _die_with_parent() -> None:
    # Linux PR_SET_PDEATHSIG: the child gets SIGTERM if the harness dies (even by SIGKILL),
    # so an aborted run leaves no server behind.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


_LIVE: dict[int, subprocess.Popen[bytes]] = {}


def _stop_all_live() -> None:
    for proc in list(_LIVE.values()):
        stop_process(proc)


atexit.register(_stop_all_live)


def spawn(
    argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server process with stdout+stderr appended to `log_path`."""
    child_env = dict(os.environ)
    child_env["PYTHONUNBUFFERED"] = "1"  # ready lines must reach the log immediately
    if env:
        child_env.update(env)
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env,
                preexec_fn=_die_with_parent if os.name == "posix" else None,
            )
        except OSError as exc:
            raise TargetError(f"cannot execute {argv[0]!r}: {exc}") from exc
    _LIVE[proc.pid] = proc
    return proc


def wait_until(
    ready: Callable[[], str | None],
    proc: subprocess.Popen[bytes],
    timeout: float,
    what: str,
    log_path: Path,
) -> str:
    """Poll `ready()` until it returns a value; fail fast if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        if proc.poll() is not None:
            raise TargetError(
                f"{what} exited with status {proc.returncode} before becoming ready; "
                f"log tail:\n{tail_file(log_path, 40)}"
            )
        time.sleep(0.05)
    stop_process(proc)
    raise TargetError(
        f"{what} not ready after {timeout:.0f}s; log tail:\n{tail_file(log_path, 40)}"
    )


def stop_process(
    proc: subprocess.Popen[bytes] | None, grace: float = 5.0, *, group: bool = False
) -> None:
    """SIGTERM the process by PID, SIGKILL it after `grace` seconds, and reap it.

    `group=True` signals the process group whose id is that PID (a child started with
    start_new_session), so the server's own children stop with it.
    """
    if proc is None:
        return
    kill = os.killpg if group else os.kill
    try:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=grace)
    finally:
        _LIVE.pop(proc.pid, None)


def tail_file(path: Path | None, lines: int) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def find_executable(name: str) -> str:
    """Prefer the console script installed beside this interpreter (skips pyenv-style shims)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise TargetError(f"executable {name!r} not found on PATH; is the package installed?")
    return found
