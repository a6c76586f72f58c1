"""`reference`: spawns the `milvus-reference` server (a separate process, never an import)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
from pathlib import Path

from conformance.targets.base import (
    LOOPBACK,
    LocalProcessTarget,
    Target,
    TargetError,
    TargetOptions,
    find_executable,
    make_temp_dir,
    spawn,
    stop_process,
    wait_until,
)

_LISTENING = re.compile(r"listening on (\S+):(\d+)")
_DEFAULT_ROOT_PASSWORD = "Milvus"  # doc §Create an authenticated user
EXTRA_ARGS_ENV = "MILVUS_CONFORMANCE_REFERENCE_ARGS"  # shell-quoted extra `serve` arguments


class ReferenceTarget(LocalProcessTarget):
    capabilities = frozenset({"fresh", "restart", "auth_off", "management_port", "spawn_fresh"})

    def __init__(self, options: TargetOptions, *, auth: bool = True) -> None:
        super().__init__(options)
        self.name = "reference" if auth else "reference(--no-auth)"
        self.auth = auth
        self._port = 0
        self._http_port = 0
        self._management_port = 0
        self.rest_url: str | None = None  # REST API v2, served by the same process

    def start(self) -> None:
        if self._proc is not None:
            raise TargetError("reference target already started")
        self._home = make_temp_dir(self.options, "milvus-reference-")
        (self._home / "data").mkdir()
        self._launch(port=0)

    def restart(self) -> None:
        """Same data dir, same port, so clients can reconnect to the address they know."""
        if self._proc is None:
            raise TargetError("reference target is not running")
        stop_process(self._proc)
        self._proc = None
        self._launch(port=self._port)

    def spawn_auth_off(self) -> Target:
        return self._spawn_sibling(auth=False)

    def spawn_fresh(self) -> Target:
        return self._spawn_sibling(auth=True)

    def _spawn_sibling(self, *, auth: bool) -> Target:
        """Another server with the same options in its own temp data dir, already started."""
        other = ReferenceTarget(self.options, auth=auth)
        other.start()
        return other

    def _launch(self, port: int) -> None:
        assert self._home is not None and self.log_path is not None
        ready_file = self._home / "ready"
        ready_file.unlink(missing_ok=True)
        argv = [
            find_executable("milvus-reference"),
            "serve",  # binds 127.0.0.1 by default
            "--port",
            str(port),
            "--ready-file",
            str(ready_file),
            "--data-dir",
            str(self._home / "data"),
            "--profile",
            self.options.profile,
            "--management-port",  # health only; probed by AUTH-MANAGEMENT-PORT
            str(self._management_port),
        ]
        if _rest_server_installed():
            argv += ["--http-port", str(self._http_port)]
        if not self.auth:
            argv.append("--no-auth")
        # Extra server arguments, e.g. `--deviate NAME` from `milvus-conformance selftest`.
        argv += shlex.split(os.environ.get(EXTRA_ARGS_ENV, ""))
        if self.options.root_password != _DEFAULT_ROOT_PASSWORD:
            argv += ["--root-password", self.options.root_password]
        log_path = self.log_path
        offset = log_path.stat().st_size if log_path.exists() else 0  # ignore earlier launches
        self._proc = spawn(argv, log_path)
        address = wait_until(
            lambda: _read_ready(ready_file) or _read_listening_line(log_path, offset),
            self._proc,
            self.options.startup_timeout,
            "milvus-reference",
            log_path,
        )
        self.address = address
        self._port = int(address.rsplit(":", 1)[1])
        self.rest_url = _read_rest_url(ready_file)
        if self.rest_url is not None:
            self._http_port = int(self.rest_url.rsplit(":", 1)[1])
        self.management_url = _read_management_url(ready_file)
        if self.management_url is not None:
            self._management_port = int(self.management_url.rsplit(":", 1)[1])


def _read_ready(ready_file: Path) -> str | None:
    """The ready file holds the bound address: "HOST:PORT", a bare port, or JSON."""
    try:
        text = ready_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text:
        return None  # written but not yet flushed
    return parse_address(text.splitlines()[0])  # line 2, if any, is the REST URL


def _rest_server_installed() -> bool:
    """The server's REST adapter needs the 'rest' extra; without it REST clauses report n/a."""
    return all(importlib.util.find_spec(name) is not None for name in ("fastapi", "uvicorn"))


def _read_rest_url(ready_file: Path) -> str | None:
    """Line 2 of the ready file: the REST v2 base URL (written with --http-port)."""
    try:
        lines = ready_file.read_text(encoding="utf-8").split()
    except OSError:
        return None
    return lines[1] if len(lines) > 1 and lines[1].startswith("http") else None


def _read_management_url(ready_file: Path) -> str | None:
    """The `management=URL` line of the ready file (written with --management-port)."""
    try:
        lines = ready_file.read_text(encoding="utf-8").split()
    except OSError:
        return None
    for line in lines[1:]:
        key, _, value = line.partition("=")
        if key == "management" and value.startswith("http"):
            return value
    return None


def _read_listening_line(log_path: Path, offset: int) -> str | None:
    with open(log_path, "rb") as log:
        log.seek(offset)
        text = log.read(64 * 1024).decode("utf-8", errors="replace")
    match = _LISTENING.search(text)
    return f"{match.group(1)}:{match.group(2)}" if match else None


def parse_address(text: str) -> str | None:
    if text.isdigit():
        return f"{LOOPBACK}:{text}"
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None
        if "address" in data:
            return str(data["address"])
        return f"{data.get('host', LOOPBACK)}:{data['port']}" if "port" in data else None
    match = re.search(r"([\w.\-]+):(\d+)", text)
    return f"{match.group(1)}:{match.group(2)}" if match else None
