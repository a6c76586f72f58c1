"""`--target docker:IMAGE` against the local image (scripts/build-milvus-image).

Needs a reachable docker engine and the image; without either the tests skip and say why.
"""

from __future__ import annotations

import base64
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from process_checks import raw_call
from pymilvus.grpc_gen import milvus_pb2

from conformance.targets import TargetError, TargetOptions, make_target
from conformance.targets.docker_target import DockerTarget

IMAGE = os.environ.get("MILVUS_CONFORMANCE_IMAGE", "milvus-conformance/milvus:2.3.5")
ROOT = ("root", "Milvus")  # observed §3.1: 2.3.5 creates root/Milvus

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    """The docker client, or a skip naming what is missing."""
    docker = pytest.importorskip("docker", reason="needs pip install 'milvus-conformance[docker]'")
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"docker engine unreachable (start dockerd): {exc}")
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"image {IMAGE} not built: run scripts/build-milvus-image")
    yield client
    client.close()


def _create(address: str, user: str, password: str) -> Any:
    encoded = base64.b64encode(password.encode()).decode()
    request = milvus_pb2.CreateCredentialRequest(username=user, password=encoded)
    return raw_call(address, "CreateCredential", request, ROOT)


def _users(address: str) -> list[str]:
    reply = raw_call(address, "ListCredUsers", milvus_pb2.ListCredUsersRequest(), ROOT)
    assert reply.status.code == 0, reply.status.reason
    return list(reply.usernames)


def _labelled_containers(engine: Any) -> list[Any]:
    return engine.containers.list(all=True, filters={"label": "milvus-conformance=target"})


def test_container_auth_restart_and_removal(engine: Any) -> None:
    target = make_target(f"docker:{IMAGE}", TargetOptions(profile="milvus-2.3"))
    assert isinstance(target, DockerTarget)
    before = {c.id for c in _labelled_containers(engine)}
    target.start()
    container_id = target.container.id
    try:
        assert target.address.startswith("127.0.0.1:")
        assert target.last_ready_seconds is not None and target.last_ready_seconds < 60
        with pytest.raises(grpc.RpcError) as denied:
            raw_call(target.address, "GetVersion", milvus_pb2.GetVersionRequest(), None)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert target.management_url is not None
        with urllib.request.urlopen(target.management_url + "/healthz", timeout=5) as resp:
            assert resp.status == 200
        assert _create(target.address, "keep_me", "Passw0rd_keep").code == 0

        target.restart()  # same container: the stored user survives
        reply = raw_call(
            target.address,
            "GetVersion",
            milvus_pb2.GetVersionRequest(),
            ("keep_me", "Passw0rd_keep"),
        )
        assert reply.status.code == 0, reply.status.reason
    finally:
        target.stop()
    remaining = {c.id for c in _labelled_containers(engine)} - before
    assert container_id not in remaining, "the container was not removed by stop()"


def test_two_containers_keep_separate_state(engine: Any) -> None:
    first = make_target(f"docker:{IMAGE}", TargetOptions())
    second = make_target(f"docker:{IMAGE}", TargetOptions())
    first.start()
    try:
        second.start()
        try:
            assert first.address != second.address
            assert _create(first.address, "only_in_first", "Passw0rd_one").code == 0
            assert "only_in_first" in _users(first.address)
            assert "only_in_first" not in _users(second.address)
        finally:
            second.stop()
    finally:
        first.stop()


def test_missing_image_names_the_build_script(engine: Any) -> None:
    target = make_target("docker:milvus-conformance/no-such-image:0", TargetOptions())
    with pytest.raises(TargetError, match="build-milvus-image"):
        target.start()
    assert target.container is None
