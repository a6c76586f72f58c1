"""`--target milvus-embedded`: config rendering (fast) and one real start/restart/stop (slow)."""

from __future__ import annotations

import base64
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from process_checks import pid_alive, raw_call
from pymilvus.grpc_gen import milvus_pb2

from conformance.targets import TargetOptions, make_target
from conformance.targets import milvus_embedded as me

TEMPLATE = """\
etcd:
  endpoints: localhost:{{ etcd_port(int): 2379 }}
  data:
    dir: {{ etcd_data_dir }}
proxy:
  ip: # first unicast address
  port: {{ proxy_port(int): 19530 }}
common:
  security:
    authorizationEnabled: {{ authorization_enabled(bool): false }}
    tlsMode: {{ tls_mode(int): 0 }}
"""


def _layout(tmp_path: Path) -> me.MilvusLayout:
    return me.MilvusLayout(
        base=tmp_path, ports={"etcd_port": 41001, "proxy_port": 41002, "etcd_peer_port": 41003}
    )


def test_render_config_fills_every_placeholder_and_pins_loopback(tmp_path: Path) -> None:
    text = me.render_config(TEMPLATE, _layout(tmp_path), auth_enabled=True)
    assert "{{" not in text
    assert "endpoints: 127.0.0.1:41001" in text
    assert "port: 41002" in text
    assert "authorizationEnabled: true" in text
    assert "tlsMode: 0" in text  # template default kept
    assert "ip: 127.0.0.1" in text
    assert f"dir: {tmp_path / 'data' / 'etcd.data'}" in text


def test_render_config_auth_off(tmp_path: Path) -> None:
    text = me.render_config(TEMPLATE, _layout(tmp_path), auth_enabled=False)
    assert "authorizationEnabled: false" in text


def test_render_config_rejects_unknown_placeholder_without_default(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mystery"):
        me.render_config("x: {{ mystery }}", _layout(tmp_path), auth_enabled=True)


def test_embedded_etcd_moved_off_default_ports(tmp_path: Path) -> None:
    text = me.render_embed_etcd(_layout(tmp_path))
    assert "listen-client-urls: http://127.0.0.1:41001" in text
    assert "listen-peer-urls: http://127.0.0.1:41003" in text
    assert "initial-cluster: default=http://127.0.0.1:41003" in text
    assert "2379" not in text and "2380" not in text


def test_free_ports_are_distinct() -> None:
    ports = me.free_ports(12)
    assert len(set(ports)) == 12


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "milvus", None)  # makes `import milvus` fail
    target = make_target("milvus-embedded", TargetOptions())
    with pytest.raises(
        me.MilvusPackageMissing, match=r"pip install 'milvus-conformance\[milvus\]'"
    ):
        target.start()


# -- real Milvus 2.3.5 ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.milvus_embedded
def test_real_milvus_auth_restart_and_stop() -> None:
    pytest.importorskip("milvus", reason="needs pip install 'milvus-conformance[milvus]'")
    target = make_target("milvus-embedded", TargetOptions(profile="milvus-2.3"))
    assert isinstance(target, me.MilvusEmbeddedTarget)
    target.start()
    base = target.layout.base if target.layout else None
    pid = target.pid
    try:
        assert target.address.startswith("127.0.0.1:")
        assert target.last_ready_seconds is not None and target.last_ready_seconds < 90
        with pytest.raises(grpc.RpcError) as denied:
            raw_call(target.address, "GetVersion", milvus_pb2.GetVersionRequest(), None)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        password = base64.b64encode(b"Passw0rd_keep").decode()
        created = raw_call(
            target.address,
            "CreateCredential",
            milvus_pb2.CreateCredentialRequest(username="keep_me", password=password),
            ("root", "Milvus"),
        )
        assert created.code == 0, created.reason
        assert target.management_url is not None
        with urllib.request.urlopen(target.management_url + "/healthz", timeout=5) as resp:
            assert resp.status == 200

        target.restart()
        assert target.pid != pid and not pid_alive(pid)
        reply = raw_call(
            target.address,
            "GetVersion",
            milvus_pb2.GetVersionRequest(),
            ("keep_me", "Passw0rd_keep"),
        )
        assert reply.status.code == 0
    finally:
        last_pid = target.pid
        target.stop()
    assert last_pid is not None and not pid_alive(last_pid)
    assert base is not None and not base.exists()


@pytest.mark.slow
@pytest.mark.milvus_embedded
def test_real_milvus_auth_off_accepts_missing_header() -> None:
    pytest.importorskip("milvus", reason="needs pip install 'milvus-conformance[milvus]'")
    target = me.MilvusEmbeddedTarget(TargetOptions(), auth_enabled=False)
    target.start()
    try:
        reply = raw_call(target.address, "ListCredUsers", milvus_pb2.ListCredUsersRequest(), None)
        assert reply.status.code == 0 and "root" in reply.usernames
    finally:
        target.stop()
