"""Target registry and the shared process helpers (with a tiny stand-in server process)."""

from __future__ import annotations

import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from process_checks import pid_alive

from conformance.targets import (
    NotSupported,
    Target,
    TargetError,
    TargetOptions,
    known_specs,
    make_target,
)
from conformance.targets.base import free_port, spawn, stop_process, wait_until
from conformance.targets.grpc_address import GrpcAddressTarget
from conformance.targets.milvus_lite import MilvusLiteTarget
from conformance.targets.reference import ReferenceTarget, parse_address

OPTIONS = TargetOptions()


def test_registry_picks_module_by_spec() -> None:
    assert isinstance(make_target("reference", OPTIONS), ReferenceTarget)
    assert isinstance(make_target("milvus-lite", OPTIONS), MilvusLiteTarget)
    grpc_target = make_target("grpc://127.0.0.1:19530", OPTIONS)
    assert isinstance(grpc_target, GrpcAddressTarget)
    assert grpc_target.name == "grpc://127.0.0.1:19530"
    assert "grpc://HOST:PORT" in known_specs()


def test_unknown_target_is_a_clear_error() -> None:
    with pytest.raises(TargetError, match=r"unknown target 'nonsense'.*reference"):
        make_target("nonsense", OPTIONS)


@pytest.mark.parametrize("spec", ["grpc://", "grpc://host", "grpc://h:0", "grpc://h:99999"])
def test_bad_grpc_address_is_rejected(spec: str) -> None:
    with pytest.raises(TargetError, match="expected grpc://HOST:PORT"):
        make_target(spec, OPTIONS)


def test_grpc_address_capabilities_follow_fresh_flag() -> None:
    assert make_target("grpc://127.0.0.1:1", OPTIONS).capabilities == frozenset()
    fresh = make_target("grpc://127.0.0.1:1", TargetOptions(fresh=True))
    assert fresh.has("fresh") and not fresh.has("restart")
    with pytest.raises(NotSupported):
        fresh.restart()
    with pytest.raises(NotSupported):
        fresh.spawn_auth_off()


def test_grpc_address_start_checks_reachability() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        target = make_target(f"grpc://127.0.0.1:{port}", OPTIONS)
        target.start()
        assert target.address == f"127.0.0.1:{port}"
        target.stop()
    closed = make_target(f"grpc://127.0.0.1:{free_port()}", OPTIONS)
    with pytest.raises(TargetError, match="nothing accepts connections"):
        closed.start()


def test_capabilities_are_known_names() -> None:
    from conformance.targets.base import CAPABILITIES

    for cls in (ReferenceTarget, MilvusLiteTarget):
        assert cls.capabilities <= CAPABILITIES
    assert issubclass(ReferenceTarget, Target)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:4567", "127.0.0.1:4567"),
        ("4567", "127.0.0.1:4567"),
        ('{"host": "127.0.0.1", "port": 4567}', "127.0.0.1:4567"),
        ('{"address": "127.0.0.1:4567"}', "127.0.0.1:4567"),
        ("listening on 127.0.0.1:4567\n", "127.0.0.1:4567"),
        ("garbage", None),
    ],
)
def test_ready_file_formats(text: str, address: str | None) -> None:
    assert parse_address(text) == address


# ---- process helpers, driven with a stand-in server -----------------------------------------

_FAKE_SERVER = """
import signal, socket, sys, time
if sys.argv[2] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen()
open(sys.argv[1], "w").write("127.0.0.1:%d" % sock.getsockname()[1])
print("ready", flush=True)
time.sleep(60)
"""


def _spawn_fake(tmp_path: Path, mode: str) -> tuple[object, Path]:
    ready = tmp_path / "ready"
    log = tmp_path / "log"
    proc = spawn([sys.executable, "-c", _FAKE_SERVER, str(ready), mode], log)
    address = wait_until(
        lambda: ready.read_text() if ready.exists() else None, proc, 10, "fake", log
    )
    assert address.startswith("127.0.0.1:")
    return proc, log


def test_stop_process_terminates_by_pid(tmp_path: Path) -> None:
    proc, log = _spawn_fake(tmp_path, "normal")
    stop_process(proc)  # type: ignore[arg-type]
    assert not pid_alive(proc.pid)  # type: ignore[attr-defined]
    assert "ready" in log.read_text()


def test_stop_process_escalates_to_sigkill(tmp_path: Path) -> None:
    proc, _ = _spawn_fake(tmp_path, "ignore-term")
    started = time.monotonic()
    stop_process(proc, grace=0.5)  # type: ignore[arg-type]
    assert not pid_alive(proc.pid)  # type: ignore[attr-defined]
    assert proc.returncode == -signal.SIGKILL  # type: ignore[attr-defined]
    assert time.monotonic() - started < 5


def test_wait_until_reports_early_exit_with_log(tmp_path: Path) -> None:
    log = tmp_path / "log"
    proc = spawn([sys.executable, "-c", "print('bad flag'); raise SystemExit(3)"], log)
    with pytest.raises(TargetError, match=r"exited with status 3(.|\n)*bad flag"):
        wait_until(lambda: None, proc, 10, "fake", log)


def test_wait_until_times_out_and_stops_the_process(tmp_path: Path) -> None:
    log = tmp_path / "log"
    proc = spawn([sys.executable, "-c", "import time; time.sleep(60)"], log)
    with pytest.raises(TargetError, match="not ready after"):
        wait_until(lambda: None, proc, 0.3, "fake", log)
    assert not pid_alive(proc.pid)


def test_missing_executable_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot execute"):
        spawn([str(tmp_path / "no-such-binary")], tmp_path / "log")
