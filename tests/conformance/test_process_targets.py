"""Launchers that spawn real servers: reference (H1's server) and milvus-lite."""

from __future__ import annotations

import socket

import pytest
from process_checks import pid_alive

from conformance.report.server_version import fetch_server_version
from conformance.targets import TargetOptions, make_target
from conformance.targets.milvus_lite import MilvusLiteTarget
from conformance.targets.reference import ReferenceTarget


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


def test_reference_fresh_instance_is_separate_empty_and_same_profile(tmp_path) -> None:
    from conformance.drivers.wire import WireClient

    options = TargetOptions(profile="milvus-2.3", work_dir=tmp_path)
    target = make_target("reference", options)
    assert target.has("spawn_fresh")
    target.start()
    try:
        with WireClient(target.address, "root", "Milvus") as client:
            assert client.create_credential("only_on_main", "secret12").ok
        fresh = target.spawn_fresh()
        try:
            assert fresh.address != target.address and fresh.options == options
            assert fresh.pid not in (None, target.pid)
            # Authentication on, only root: the main target's user is not there.
            assert "UNAUTHENTICATED" in fetch_server_version(fresh.address, "root", "wrong")
            with WireClient(fresh.address, "root", "Milvus") as client:
                assert client.list_cred_users().payload == ["root"]
            # Same profile: the reference reports the profile's server version.
            assert fetch_server_version(fresh.address, "root", "Milvus") == "v2.3.5"
            assert fetch_server_version(target.address, "root", "Milvus") == "v2.3.5"
            fresh_pid = fresh.pid
        finally:
            fresh.stop()
        assert fresh_pid is not None and not pid_alive(fresh_pid)
        assert target.pid is not None and pid_alive(target.pid)  # the main target keeps running
        assert len(list(tmp_path.iterdir())) == 1  # the fresh instance's dir is gone
    finally:
        target.stop()


def test_targets_without_spawn_fresh_raise_not_supported() -> None:
    from conformance.targets.base import CAPABILITIES, NotSupported

    assert "spawn_fresh" in CAPABILITIES
    target = make_target("grpc://127.0.0.1:1", TargetOptions())
    assert not target.has("spawn_fresh")
    with pytest.raises(NotSupported, match="fresh instance"):
        target.spawn_fresh()
    assert not MilvusLiteTarget.capabilities & {"spawn_fresh"}


def test_milvus_embedded_siblings_share_options_and_differ_only_in_auth(monkeypatch) -> None:
    """Fast: the real start is replaced; real Milvus runs in `-k test_user_limit` (H7 report)."""
    from conformance.targets.milvus_embedded import MilvusEmbeddedTarget

    started: list[MilvusEmbeddedTarget] = []
    monkeypatch.setattr(MilvusEmbeddedTarget, "start", lambda self: started.append(self))
    options = TargetOptions(profile="milvus-2.3", root_password="Other-pw1")
    target = MilvusEmbeddedTarget(options)
    assert target.has("spawn_fresh") and target.has("auth_off")
    fresh, open_ = target.spawn_fresh(), target.spawn_auth_off()
    assert started == [fresh, open_]  # returned already started, each a new instance
    assert fresh is not target and fresh.options == options and open_.options == options
    assert fresh.auth_enabled and not open_.auth_enabled
