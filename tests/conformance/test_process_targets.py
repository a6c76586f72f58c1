"""Launchers that spawn real servers: reference (H1's server) and milvus-lite."""

from __future__ import annotations

import os
import socket

import pytest

from conformance.report.server_version import fetch_server_version
from conformance.targets import TargetOptions, make_target
from conformance.targets.milvus_lite import MilvusLiteTarget
from conformance.targets.reference import ReferenceTarget


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_listening(address: str) -> None:
    host, port = address.rsplit(":", 1)
    assert host == "127.0.0.1"
    with socket.create_connection((host, int(port)), timeout=2):
        pass


def test_reference_start_restart_stop_leaves_no_process(tmp_path) -> None:
    target = make_target("reference", TargetOptions(work_dir=tmp_path))
    assert isinstance(target, ReferenceTarget)
    assert target.has("fresh") and target.has("restart") and target.has("auth_off")
    target.start()
    try:
        first_pid = target.pid
        assert first_pid is not None
        assert_listening(target.address)
        version = fetch_server_version(target.address, "root", "Milvus")
        assert not version.startswith("unknown"), version
        address = target.address
        target.restart()
        assert target.pid not in (None, first_pid)
        assert not pid_alive(first_pid)
        assert target.address == address  # clients reconnect to the address they know
        assert_listening(target.address)
        assert not fetch_server_version(target.address, "root", "Milvus").startswith("unknown")
        second_pid = target.pid
    finally:
        target.stop()
    assert second_pid is not None and not pid_alive(second_pid)
    assert list(tmp_path.iterdir()) == []  # temp data dir removed


def test_reference_auth_off_instance_is_separate(tmp_path) -> None:
    target = make_target("reference", TargetOptions(work_dir=tmp_path))
    target.start()
    try:
        open_target = target.spawn_auth_off()
        try:
            assert open_target.address != target.address
            # With authentication off, any credential works; with it on, a wrong one fails.
            assert not fetch_server_version(open_target.address, "x", "y").startswith("unknown")
            assert "UNAUTHENTICATED" in fetch_server_version(target.address, "root", "wrong")
        finally:
            open_target.stop()
    finally:
        target.stop()


def test_reference_reports_startup_failure_with_log(tmp_path) -> None:
    target = make_target("reference", TargetOptions(profile="no-such-profile", work_dir=tmp_path))
    with pytest.raises(Exception, match="milvus-reference"):
        target.start()
    target.stop()


def test_milvus_lite_start_restart_stop(tmp_path) -> None:
    target = make_target("milvus-lite", TargetOptions(work_dir=tmp_path))
    assert isinstance(target, MilvusLiteTarget)
    target.start()
    try:
        first_pid = target.pid
        assert first_pid is not None
        assert_listening(target.address)
        # The negative control: it answers whatever the credentials are.
        assert fetch_server_version(target.address, "root", "wrong").startswith("milvus_lite")
        target.restart()
        assert not pid_alive(first_pid)
        assert_listening(target.address)
        second_pid = target.pid
    finally:
        target.stop()
    assert second_pid is not None and not pid_alive(second_pid)
    assert "listening on" not in target.log_tail()  # log went with the temp dir
