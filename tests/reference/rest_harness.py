"""Spawns the reference server with REST v2 (`--http-port 0`) and talks to both protocols."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REST = "/v2/vectordb"


@dataclass
class RestServerProcess:
    process: subprocess.Popen[str]
    grpc_address: str
    http_url: str

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if it does not stop in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _read_lines(process: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    """The first `count` stdout lines (a reader thread, so a silent server cannot hang us)."""
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for _ in range(count):
            line = process.stdout.readline()
            if not line:
                return
            lines.append(line.strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return lines + [""] * (count - len(lines))


def spawn_rest_server(data_dir: Path, *args: str, timeout: float = 20.0) -> RestServerProcess:
    command = [sys.executable, "-m", "reference", "serve", "--port", "0", "--http-port", "0"]
    command += ["--data-dir", str(data_dir), *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    grpc_line, http_line = _read_lines(process, 2, timeout)[:2]
    if not (grpc_line.startswith("listening on ") and http_line.startswith("http listening on ")):
        process.kill()
        process.wait()
        raise RuntimeError(f"server did not start: {grpc_line!r} {http_line!r}")
    return RestServerProcess(process, grpc_line.split()[-1], "http://" + http_line.split()[-1])


def post(
    url: str, path: str, body: Any = None, *, auth: str | None = None, content: bytes | None = None
) -> httpx.Response:
    """POST to `/v2/vectordb<path>`; `auth` is the raw Authorization header value."""
    headers = {"Authorization": auth} if auth is not None else {}
    if content is not None:
        headers["Content-Type"] = "application/json"
        return httpx.post(url + REST + path, content=content, headers=headers, timeout=10)
    return httpx.post(
        url + REST + path, json={} if body is None else body, headers=headers, timeout=10
    )


def bearer(user: str, password: str) -> str:
    return f"Bearer {user}:{password}"
