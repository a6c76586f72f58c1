"""Per-request authentication over the wire (issue item 4; observed §5), every profile."""

from __future__ import annotations

import base64

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymilvus.grpc_gen import milvus_pb2
from reference_harness import (
    PROFILES,
    ROOT,
    ServerPool,
    UserWire,
    Wire,
    auth_header,
    b64,
    unique_name,
    wire_for,
)

MISSING = "missing authorization in header"
BAD_TOKEN = "invalid token format"
NO_COLON = "auth check failure, please check api key is correct"
BAD_CREDENTIALS = "auth check failure, please check username and password are correct"

EXEMPTION_CANDIDATES = [
    ("Connect", milvus_pb2.ConnectRequest()),
    ("GetVersion", milvus_pb2.GetVersionRequest()),
    ("CheckHealth", milvus_pb2.CheckHealthRequest()),
    ("ListCredUsers", milvus_pb2.ListCredUsersRequest()),
    ("SelectUser", milvus_pb2.SelectUserRequest()),
    ("DeleteCredential", milvus_pb2.DeleteCredentialRequest(username="nobody_here")),
]


def health_check(wire: Wire, metadata: list[tuple[str, str]]) -> tuple[grpc.StatusCode, str]:
    stub = health_pb2_grpc.HealthStub(wire.channel)
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(), metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize(("method", "request_message"), EXEMPTION_CANDIDATES)
def test_every_rpc_requires_credentials(wire: Wire, method: str, request_message: object) -> None:
    reply = wire.call(method, request_message)
    assert (reply.grpc_code, reply.details) == (grpc.StatusCode.UNAUTHENTICATED, MISSING)
    assert wire.call(method, request_message, *ROOT).grpc_code == grpc.StatusCode.OK


def test_grpc_health_check_requires_credentials(wire: Wire) -> None:
    assert health_check(wire, []) == (grpc.StatusCode.UNAUTHENTICATED, MISSING)
    assert health_check(wire, [auth_header("root", "nope")]) == (
        grpc.StatusCode.UNAUTHENTICATED,
        BAD_CREDENTIALS,
    )
    assert health_check(wire, [auth_header(*ROOT)]) == (grpc.StatusCode.OK, "")


@pytest.mark.parametrize(
    ("header", "details"),
    [
        ("Bearer " + b64("root:Milvus"), BAD_TOKEN),
        ("Bearer root:Milvus", BAD_TOKEN),
        (b64("root:Milvus").rstrip("="), BAD_TOKEN),  # unpadded
        ("cm9vd*NaWx2dXM=", BAD_TOKEN),
        ("root:Milvus", BAD_TOKEN),
        (b64("rootMilvus"), NO_COLON),
        ("", NO_COLON),
        (b64("root:"), BAD_CREDENTIALS),
        (b64("root:milvus"), BAD_CREDENTIALS),
        (b64("root:Milvus "), BAD_CREDENTIALS),
        (b64("Root:Milvus"), BAD_CREDENTIALS),
        (b64("nosuchuser:Milvus"), BAD_CREDENTIALS),
        (b64(":Milvus"), BAD_CREDENTIALS),
        (base64.b64encode(b"\xff\xfe:Milvus").decode(), BAD_CREDENTIALS),
    ],
)
def test_bad_headers_get_milvus_details(wire: Wire, header: str, details: str) -> None:
    reply = wire.call(
        "GetVersion", milvus_pb2.GetVersionRequest(), metadata=[("authorization", header)]
    )
    assert (reply.grpc_code, reply.details) == (grpc.StatusCode.UNAUTHENTICATED, details)


def test_sourceid_never_bypasses_authentication(wire: Wire) -> None:
    member = ("sourceid", b64("@@milvus-member@@"))
    reply = wire.call("GetVersion", milvus_pb2.GetVersionRequest(), metadata=[member])
    assert (reply.grpc_code, reply.details) == (grpc.StatusCode.UNAUTHENTICATED, MISSING)
    reply = wire.call(
        "ListCredUsers",
        milvus_pb2.ListCredUsersRequest(),
        metadata=[member, auth_header("root", "definitely-wrong")],
    )
    assert (reply.grpc_code, reply.details) == (grpc.StatusCode.UNAUTHENTICATED, BAD_CREDENTIALS)


def test_password_may_contain_colons_and_split_is_on_first(root: UserWire, wire: Wire) -> None:
    name = unique_name("colon")
    assert root.create(name, "a:b:c:d").ok
    assert wire.call("GetVersion", milvus_pb2.GetVersionRequest(), name, "a:b:c:d").ok
    reply = wire.call("GetVersion", milvus_pb2.GetVersionRequest(), name, "a:b:c")
    assert reply.grpc_code == grpc.StatusCode.UNAUTHENTICATED


def test_only_first_authorization_value_counts(wire: Wire) -> None:
    good, bad = auth_header(*ROOT), auth_header("root", "wrong-one")
    assert wire.call("GetVersion", milvus_pb2.GetVersionRequest(), metadata=[good, bad]).ok
    reply = wire.call("GetVersion", milvus_pb2.GetVersionRequest(), metadata=[bad, good])
    assert reply.details == BAD_CREDENTIALS


def test_reset_invalidates_old_password_on_very_next_call(root: UserWire, wire: Wire) -> None:
    name = unique_name("reset")
    assert root.create(name, "first-pw").ok
    user = wire.as_user(name, "first-pw")
    for _ in range(3):  # warm the verified-credential cache
        assert user.version().ok
    assert root.update(name, "first-pw", "second-pw").ok
    assert user.version().details == BAD_CREDENTIALS
    assert wire.as_user(name, "second-pw").version().ok


def test_deleted_user_fails_on_very_next_call(root: UserWire, wire: Wire) -> None:
    for attempt in range(5):  # observed §12: Milvus fails this intermittently; we never may
        name = unique_name(f"gone{attempt}")
        assert root.create(name, "pw-of-user").ok
        user = wire.as_user(name, "pw-of-user")
        assert user.version().ok
        assert user.update(name, "pw-of-user", "pw-changed").ok
        user = wire.as_user(name, "pw-changed")
        assert user.version().ok
        assert root.delete(name).ok
        assert user.version().details == BAD_CREDENTIALS
        assert root.create(name, "pw-recreated").ok
        assert user.version().details == BAD_CREDENTIALS
        assert wire.as_user(name, "pw-recreated").version().ok


@pytest.mark.parametrize("profile", PROFILES)
def test_auth_off_accepts_any_or_no_credentials(
    server_pool: ServerPool, wires: dict[str, Wire], profile: str
) -> None:
    wire = wire_for(server_pool, wires, profile, auth=False)
    for metadata in ([], [("authorization", "Bearer junk")], [auth_header("root", "wrong")]):
        assert wire.call("GetVersion", milvus_pb2.GetVersionRequest(), metadata=metadata).ok
    assert health_check(wire, []) == (grpc.StatusCode.OK, "")
    # Credential RPCs keep working and keep validating.
    name = unique_name("off")
    request = milvus_pb2.CreateCredentialRequest(username=name, password=b64("pw-123456"))
    assert wire.call("CreateCredential", request).ok
    assert wire.call("CreateCredential", request).status.reason.startswith("user already exists")
    bad = milvus_pb2.CreateCredentialRequest(username="1" + name, password=b64("pw-123456"))
    assert wire.call("CreateCredential", bad).status.code == 1100
    listed = wire.call("ListCredUsers", milvus_pb2.ListCredUsersRequest(), "nobody", "x")
    assert name in listed.response.usernames
    wrong_old = milvus_pb2.UpdateCredentialRequest(
        username=name, oldPassword=b64("not-it"), newPassword=b64("pw-654321")
    )
    assert wire.call("UpdateCredential", wrong_old).status.code == 1400
    root_delete = wire.call("DeleteCredential", milvus_pb2.DeleteCredentialRequest(username="root"))
    assert root_delete.status.code == 1401
