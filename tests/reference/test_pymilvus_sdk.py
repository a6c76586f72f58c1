"""pymilvus 3.x, unmodified, against the reference (issue item 9; observed §6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymilvus import MilvusClient, MilvusException, connections, utility
from reference_harness import ServerPool, Wire, unique_name, wire_for

pytestmark = pytest.mark.filterwarnings("ignore:.*ORM-style")


@pytest.fixture(params=["docs-2.1", "milvus-2.3"])
def address(request: pytest.FixtureRequest, server_pool: ServerPool, wires: dict[str, Wire]) -> str:
    return wire_for(server_pool, wires, request.param, auth=True).address


@pytest.fixture
def alias(address: str) -> Iterator[str]:
    name = unique_name("alias")
    host, port = address.rsplit(":", 1)
    connections.connect(alias=name, host=host, port=port, user="root", password="Milvus")
    yield name
    connections.disconnect(name)
    connections.remove_connection(name)


def test_orm_user_lifecycle(alias: str, address: str) -> None:
    user = unique_name("sdk")
    utility.create_user(user, "sdk-pass-1", using=alias)
    assert user in utility.list_usernames(using=alias)
    host, port = address.rsplit(":", 1)
    other = unique_name("alias")
    connections.connect(alias=other, host=host, port=port, user=user, password="sdk-pass-1")
    connections.disconnect(other)
    utility.reset_password(user, "sdk-pass-1", "sdk-pass-2", using=alias)
    # observed §6: reset_password rebinds the alias to `user`; reconnect as root.
    connections.disconnect(alias)
    connections.connect(alias=alias, host=host, port=port, user="root", password="Milvus")
    with pytest.raises(MilvusException):
        connections.connect(alias=other, host=host, port=port, user=user, password="sdk-pass-1")
    connections.connect(alias=other, host=host, port=port, user=user, password="sdk-pass-2")
    connections.disconnect(other)
    utility.delete_user(user, using=alias)
    assert user not in utility.list_usernames(using=alias)


def test_orm_rejects_bad_credentials(address: str) -> None:
    host, port = address.rsplit(":", 1)
    for user, password in (("root", "wrong"), ("", "")):
        name = unique_name("bad")
        with pytest.raises(MilvusException):
            connections.connect(alias=name, host=host, port=port, user=user, password=password)
        connections.remove_connection(name)


def test_orm_validation_error_surfaces(alias: str) -> None:
    with pytest.raises(MilvusException) as caught:
        utility.create_user("1bad", "sdk-pass-1", using=alias)
    assert caught.value.code == 1100


def test_milvus_client_with_token(address: str) -> None:
    client = MilvusClient(uri=f"http://{address}", token="root:Milvus", dedicated=True)
    try:
        user = unique_name("mc")
        client.create_user(user, "mc-pass-1")
        assert user in client.list_users()
        client.update_password(user, "mc-pass-1", "mc-pass-2")
        client.drop_user(user)
        assert user not in client.list_users()
    finally:
        client.close()
    with pytest.raises(MilvusException):
        MilvusClient(uri=f"http://{address}", token="root:wrong", dedicated=True)
