"""Seeded deviations (reference/deviations.py): each one changes behaviour over the wire.

Every deviation has a probe: a short wire scenario returning an observable. The probe must give
the spec answer on the clean reference and a different answer with the deviation on. Servers
run in-process (real gRPC on 127.0.0.1, port 0), one per deviation.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

from reference.deviations import REGISTRY, UnknownDeviation, check_names
from reference.wire.server import ReferenceServer, ServerConfig

ROOT = ("root", "Milvus")
_MEMBER = base64.b64encode(b"@@milvus-member@@").decode()


def _b64(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.b64encode(data).decode()


class Client:
    """Raw stubs with an explicit `authorization` value per call."""

    def __init__(self, server: ReferenceServer) -> None:
        self.server = server
        self.address = server.address
        self.channel = grpc.insecure_channel(self.address)
        self.stub = milvus_pb2_grpc.MilvusServiceStub(self.channel)

    def call(self, method: str, request: Any, metadata: list[tuple[str, str]] | None) -> Any:
        """The response, or the gRPC status code name when the call failed."""
        try:
            return getattr(self.stub, method)(request, metadata=metadata or [], timeout=10)
        except grpc.RpcError as error:
            return error.code().name

    def as_(self, user: str, password: str | bytes, method: str, request: Any) -> Any:
        return self.call(method, request, [("authorization", _b64(user.encode() + b":" + (
            password.encode() if isinstance(password, str) else password)))])  # fmt: skip

    def ok(self, user: str, password: str | bytes, method: str, request: Any) -> bool:
        reply = self.as_(user, password, method, request)
        if isinstance(reply, str):
            return False
        status = reply if hasattr(reply, "code") and not hasattr(reply, "status") else reply.status
        return status.code == 0

    def login(self, user: str, password: str | bytes) -> bool:
        return self.ok(user, password, "Connect", milvus_pb2.ConnectRequest())

    def create(self, user: str, password: str | bytes) -> bool:
        req = milvus_pb2.CreateCredentialRequest(username=user, password=_b64(password))
        return self.ok(*ROOT, "CreateCredential", req)

    def update(self, user: str, old: str, new: str, as_user: tuple[str, str] = ROOT) -> bool:
        req = milvus_pb2.UpdateCredentialRequest(
            username=user, oldPassword=_b64(old), newPassword=_b64(new)
        )
        return self.ok(*as_user, "UpdateCredential", req)

    def delete(self, user: str) -> bool:
        req = milvus_pb2.DeleteCredentialRequest(username=user)
        return self.ok(*ROOT, "DeleteCredential", req)

    def users(self) -> list[str]:
        return list(self.as_(*ROOT, "ListCredUsers", milvus_pb2.ListCredUsersRequest()).usernames)

    def close(self) -> None:
        self.channel.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Client]]:
    started: list[tuple[ReferenceServer, Client]] = []

    def launch(
        *deviations: str, data: str = "data", auth: bool = True, profile: str = "docs-2.1"
    ) -> Client:
        config = ServerConfig(
            data_dir=tmp_path / data,
            port=0,
            deviations=deviations,
            auth_enabled=auth,
            profile=profile,
        )
        server = ReferenceServer(config)
        server.start()
        client = Client(server)
        started.append((server, client))
        return client

    yield launch
    for server, client in started:
        client.close()
        server.stop(grace=0)


def _restart(start: Callable[..., Client], client: Client, *deviations: str) -> Client:
    client.close()
    client.server.stop(grace=0)
    return start(*deviations)


# ---- probes: scenario -> observable ---------------------------------------------------------

Probe = Callable[[Callable[..., Client], tuple[str, ...]], Any]


def _creates(name: str, password: str = "Secret_1") -> Probe:
    return lambda start, dev: start(*dev).create(name, password)


def _login_after_create(name: str, password: str, attempt: str) -> Probe:
    def probe(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
        c = start(*dev)
        return c.create(name, password), c.login(name, attempt)

    return probe


def _unauthenticated(call: Callable[[Client], Any]) -> Probe:
    return lambda start, dev: call(start(*dev))


def _reset_scenario(start: Callable[..., Client], dev: tuple[str, ...]) -> dict[str, Any]:
    c = start(*dev)
    c.create("alice", "Alice_pw1")
    c.create("bob", "Bob_pw_1")
    c.login("alice", "Alice_pw1")
    return {
        "reset": c.update("alice", "Alice_pw1", "Alice_pw2"),
        "old": c.login("alice", "Alice_pw1"),
        "new": c.login("alice", "Alice_pw2"),
        "bob": c.login("bob", "Bob_pw_1"),
    }


def _persistence(start: Callable[..., Client], dev: tuple[str, ...]) -> dict[str, Any]:
    c = start(*dev)
    c.create("keeper", "Keeper_1")
    c.create("changer", "Change_1")
    c.update("changer", "Change_1", "Change_2")
    c = _restart(start, c, *dev)
    return {"keeper": c.login("keeper", "Keeper_1"), "changer": c.login("changer", "Change_2")}


def _deleted_session(start: Callable[..., Client], dev: tuple[str, ...]) -> bool:
    c = start(*dev)
    c.create("gone", "Gone_pw1")
    c.login("gone", "Gone_pw1")
    c.delete("gone")
    return c.login("gone", "Gone_pw1")


def _vector_scenario(start: Callable[..., Client], dev: tuple[str, ...]) -> dict[str, Any]:
    from pymilvus import DataType, MilvusClient

    c = start(*dev)
    client = MilvusClient(uri=f"http://{c.address}", token="root:Milvus")
    seen: dict[str, Any] = {}
    try:
        rng = np.random.default_rng(7)
        vectors = rng.normal(size=(40, 4)).astype(np.float32)
        query = vectors[0] * 3 + 0.1
        for metric in ("L2", "COSINE"):
            name = f"v_{metric.lower()}"
            schema = MilvusClient.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True, description="pk")
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
            schema.add_field("tag", DataType.INT64)
            index = MilvusClient.prepare_index_params()
            index.add_index("vec", index_type="FLAT", metric_type=metric)
            client.create_collection(name, schema=schema, index_params=index)
            rows = [{"id": i, "vec": vectors[i].tolist(), "tag": i % 5} for i in range(40)]
            client.insert(name, rows)
            hits = client.search(name, [query.tolist()], limit=5, anns_field="vec")[0]
            seen[f"{metric}:ids"] = [h["id"] for h in hits]
            seen[f"{metric}:dist"] = [round(h["distance"], 4) for h in hits]
        seen["in"] = sorted(r["id"] for r in client.query("v_l2", filter="id in [1, 2, 3]"))
        seen["desc"] = client.describe_collection("v_l2")["fields"][0].get("description")
        client.delete("v_l2", ids=[seen["L2:ids"][0]])
        seen["after_delete"] = [
            h["id"] for h in client.search("v_l2", [query.tolist()], limit=5, anns_field="vec")[0]
        ]
        client.create_collection("v_auto", dimension=4)  # quick setup: AUTOINDEX (an ANN index)
        client.insert("v_auto", [{"id": i, "vector": vectors[i].tolist()} for i in range(40)])
        seen["ann"] = [h["id"] for h in client.search("v_auto", [query.tolist()], limit=3)[0]]
        client.release_collection("v_l2")
        try:
            client.search("v_l2", [query.tolist()], limit=1, anns_field="vec")
            seen["released"] = "searchable"
        except Exception:  # any refusal is what the spec wants
            seen["released"] = "refused"
    finally:
        client.close()
    query_request = milvus_pb2.QueryRequest(collection_name="v_auto", expr="id >= 0")
    seen["unauth_query"] = c.call("Query", query_request, None)
    if not isinstance(seen["unauth_query"], str):
        seen["unauth_query"] = "answered"
    return seen


_CLEAN_VECTORS: dict[str, Any] = {}


def _vector(key: str) -> Probe:
    def probe(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
        if dev:
            return _vector_scenario(start, dev)[key]
        if not _CLEAN_VECTORS:  # the clean answers are the same for every vector deviation
            _CLEAN_VECTORS.update(_vector_scenario(start, dev))
        return _CLEAN_VECTORS[key]

    return probe


def _health_unauthenticated(c: Client) -> str:
    stub = health_pb2_grpc.HealthStub(c.channel)
    try:
        stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
    except grpc.RpcError as error:
        return error.code().name
    return "OK"


def _list_entries(start: Callable[..., Client], dev: tuple[str, ...]) -> list[str]:
    c = start(*dev)
    c.create("zed_last", "Zed_pw_1")
    return c.users()


def _get_version_bare(c: Client) -> Any:
    reply = c.call("GetVersion", milvus_pb2.GetVersionRequest(), None)
    return reply if isinstance(reply, str) else "answered"


def _connect_bare(c: Client) -> Any:
    reply = c.call("Connect", milvus_pb2.ConnectRequest(), None)
    return reply if isinstance(reply, str) else "answered"


def _sourceid(c: Client) -> Any:
    md = [("sourceid", _MEMBER), ("authorization", _b64("root:definitely-wrong"))]
    reply = c.call("ListCredUsers", milvus_pb2.ListCredUsersRequest(), md)
    return reply if isinstance(reply, str) else "answered"


def _bearer(c: Client) -> Any:
    md = [("authorization", "Bearer " + _b64("root:Milvus"))]
    reply = c.call("GetVersion", milvus_pb2.GetVersionRequest(), md)
    return reply if isinstance(reply, str) else "answered"


def _unpadded(c: Client) -> Any:
    md = [("authorization", _b64("root:Milvus").rstrip("="))]  # 11 bytes: one '=' dropped
    reply = c.call("GetVersion", milvus_pb2.GetVersionRequest(), md)
    return reply if isinstance(reply, str) else "answered"


def _root_delete(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c = start(*dev)
    return c.delete("root"), c.login(*ROOT)


def _root_reset(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c = start(*dev)
    return c.update("root", "Milvus", "Milvus_2", as_user=ROOT), c.login("root", "Milvus_2")


def _duplicate(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c = start(*dev)
    c.create("dup", "First_pw1")
    return c.create("dup", "Second_pw"), c.login("dup", "First_pw1")


def _reset_with(old: str, new: str) -> Probe:
    def probe(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
        c = start(*dev)
        c.create("resetme", "Original1")
        return c.update("resetme", old, new)

    return probe


def _delete_then_login(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c = start(*dev)
    c.create("victim", "Victim_p1")
    c.delete("victim")
    return "victim" in c.users()


def _mixed_case(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c = start(*dev)
    c.create("MixedCase", "Mixed_pw1")
    return "MixedCase" in c.users(), c.login("MixedCase", "Mixed_pw1")


def _sdk_reset_status(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c = start(*dev)
    c.create("sdkuser", "Sdk_pw_01")
    return c.update("sdkuser", "Sdk_pw_01", "Sdk_pw_02"), c.login("sdkuser", "Sdk_pw_02")


def _non_root_self_reset(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c = start(*dev)
    c.create("selfish", "Selfish_1")
    reset = c.update("selfish", "Selfish_1", "Selfish_2", as_user=("selfish", "Selfish_1"))
    return reset, c.login("selfish", "Selfish_2")


def _auth_off_bad_header(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    """observed §7: with authentication off, even a header that is not base64 is accepted."""
    c = start(*dev, auth=False)
    return c.call("ListCredUsers", milvus_pb2.ListCredUsersRequest(), [("authorization", "%%")])


# ---- REST probes: the same server's REST v2 surface (reference/rest/), plain httpx ----------


def _rest(start: Callable[..., Client], dev: tuple[str, ...]) -> tuple[Client, Any]:
    """A gRPC client and an httpx client on the REST server of the same Application."""
    from reference.rest.server import RestServer

    c = start(*dev)
    server = RestServer(c.server.app)
    server.start()
    http = httpx.Client(base_url=server.url + "/v2/vectordb", timeout=10)
    _REST_SERVERS.append((server, http))
    return c, http


_REST_SERVERS: list[tuple[Any, Any]] = []


@pytest.fixture(autouse=True)
def _stop_rest_servers() -> Iterator[None]:
    yield
    while _REST_SERVERS:
        server, http = _REST_SERVERS.pop()
        http.close()
        server.stop()


def _post(http: Any, path: str, body: Any, auth: str | None = "Bearer root:Milvus") -> Any:
    """(HTTP status, envelope code) of one REST call."""
    headers = {} if auth is None else {"Authorization": auth}
    answer = http.post(path, json=body, headers=headers)
    return answer.status_code, answer.json().get("code")


def _rest_call(path: str, body: Any, auth: str | None = "Bearer root:Milvus") -> Probe:
    return lambda start, dev: _post(_rest(start, dev)[1], path, body, auth)


def _rest_reset_wrong_old(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c, http = _rest(start, dev)
    c.create("resty", "Resty_pw1")
    body = {"userName": "resty", "password": "Wrong_old1", "newPassword": "Resty_pw2"}
    return _post(http, "/users/update_password", body), c.login("resty", "Resty_pw1")


def _rest_deleted_session(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c, http = _rest(start, dev)
    c.create("gone", "Gone_pw_1")
    own = "Bearer gone:Gone_pw_1"
    before = _post(http, "/users/describe", {"userName": "gone"}, own)
    c.delete("gone")
    return before, _post(http, "/users/describe", {"userName": "gone"}, own)


def _rest_cross_protocol(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    c, http = _rest(start, dev)
    created = _post(http, "/users/create", {"userName": "xrest", "password": "Xrest_pw1"})
    return created, c.login("xrest", "Xrest_pw1"), "xrest" in c.users()


def _management_side_door(start: Callable[..., Client], dev: tuple[str, ...]) -> Any:
    """observed §8.3: unauthenticated list/create/delete on the management port."""
    from reference.management import ManagementServer

    c = start(*dev)
    server = ManagementServer(c.server.app, "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            listed = http.get("/api/v1/credential/users")
            pw = _b64("Side_pw1")
            created = http.post("/api/v1/credential", json={"username": "side", "password": pw})
            made = "side" in c.users()
            dropped = http.request("DELETE", "/api/v1/credential", json={"username": "side"})
            return listed.status_code, listed.text, created.status_code, made, dropped.status_code
    finally:
        server.stop()


def _over_the_user_cap(start: Callable[..., Client], dev: tuple[str, ...]) -> bool:
    """milvus-2.3 caps users at 100 including root (observed §4.2): may a 101st be created?"""
    c = start(*dev, profile="milvus-2.3")
    assert all(c.create(f"cap{n:03d}", "Secret_1") for n in range(99))
    return c.create("cap_over", "Secret_1")


PROBES: dict[str, Probe] = {
    "username-33-chars": _creates("a" * 33),
    "username-digit-first": _creates("1abc"),
    "username-hyphen": _creates("ab-c"),
    "username-empty": _creates(""),
    "username-lowercased": _mixed_case,
    "password-5-chars": _creates("five5", "abcde"),
    "password-257-chars": _creates("long257", "p" * 257),
    "password-length-in-bytes": _creates("bytes1", "é" * 200),
    "password-truncated-72-bytes": _login_after_create("trunc", "x" * 72 + "AAAA", "x" * 72 + "B"),
    "auth-split-last-colon": _login_after_create("colon", "pa:ss:word", "pa:ss:word"),
    "root-missing": lambda start, dev: start(*dev).login(*ROOT),
    "root-other-password": lambda start, dev: start(*dev).login(*ROOT),
    "root-deletable": _root_delete,
    "root-not-listed": lambda start, dev: "root" in start(*dev).users(),
    "root-password-frozen": _root_reset,
    "duplicate-create-overwrites": _duplicate,
    "delete-missing-fails": lambda start, dev: start(*dev).delete("never_existed"),
    "user-limit-off-by-one": _over_the_user_cap,
    "delete-is-noop": _delete_then_login,
    "reset-ignores-old-password": _reset_with("Wrong_old1", "Newpass_1"),
    "reset-skips-validation": _reset_with("Original1", "abc"),
    "reset-garbles-new-password": lambda start, dev: _reset_scenario(start, dev)["new"],
    "reset-applies-to-all-users": lambda start, dev: _reset_scenario(start, dev)["bob"],
    "reset-reports-failure": _sdk_reset_status,
    "non-root-cannot-reset-self": _non_root_self_reset,
    "stale-cache-after-reset": lambda start, dev: _reset_scenario(start, dev)["old"],
    "deleted-session-survives": _deleted_session,
    "list-omits-user": _list_entries,
    "list-leaks-hashes": _list_entries,
    "getversion-unauthenticated": _unauthenticated(_get_version_bare),
    "connect-unauthenticated": _unauthenticated(_connect_bare),
    "health-unauthenticated": _unauthenticated(_health_unauthenticated),
    "sourceid-bypass": _unauthenticated(_sourceid),
    "bearer-prefix-accepted": _unauthenticated(_bearer),
    "unpadded-base64-accepted": _unauthenticated(_unpadded),
    "empty-password-accepted": lambda start, dev: start(*dev).login("root", ""),
    "users-lost-on-restart": lambda start, dev: _persistence(start, dev)["keeper"],
    "password-change-lost-on-restart": lambda start, dev: _persistence(start, dev)["changer"],
    "search-wrong-order": _vector("L2:ids"),
    "search-topk-off-by-one": _vector("L2:ids"),
    "search-ignores-deletes": _vector("after_delete"),
    "filter-in-drops-last": _vector("in"),
    "cosine-as-ip": _vector("COSINE:dist"),
    "ann-low-recall": _vector("ann"),
    "released-still-searchable": _vector("released"),
    "schema-drops-descriptions": _vector("desc"),
    "data-rpcs-unauthenticated": _vector("unauth_query"),
    "auth-off-checks-header": lambda start, dev: isinstance(_auth_off_bad_header(start, dev), str),
    "rest-list-unauthenticated": _rest_call("/users/list", {}, auth=None),
    "rest-basic-rejected": _rest_call("/users/list", {}, auth="Basic " + _b64("root:Milvus")),
    "rest-missing-field-wrong-code": _rest_call("/users/describe", {}),
    "rest-500-on-bad-vector": _rest_call("/entities/search", {"collectionName": "c", "data": []}),
    "rest-long-username-accepted": _rest_call(
        "/users/create", {"userName": "a" * 33, "password": "Secret_1"}
    ),
    "rest-root-droppable": _rest_call("/users/drop", {"userName": "root"}),
    "rest-reset-ignores-old": _rest_reset_wrong_old,
    "rest-deleted-still-works": _rest_deleted_session,
    "rest-separate-user-store": _rest_cross_protocol,
    "management-port-side-door": _management_side_door,
}


def test_every_deviation_has_a_probe() -> None:
    assert set(PROBES) == set(REGISTRY)
    assert len(REGISTRY) >= 30


@pytest.mark.parametrize("name", sorted(PROBES))
def test_deviation_changes_wire_behaviour(name: str, start: Callable[..., Client]) -> None:
    probe = PROBES[name]
    clean = probe(lambda *d, **kw: start(*d, data="clean", **kw), ())
    deviant = probe(lambda *d, **kw: start(*d, data="deviant", **kw), (name,))
    assert deviant != clean, f"{name}: same observable with and without it: {clean!r}"


def test_clean_answers_are_the_spec_answers(start: Callable[..., Client]) -> None:
    """The clean side of a few probes, so 'differs' above means 'departs from the spec'."""
    c = start()
    assert not c.create("a" * 33, "Secret_1") and not c.create("1abc", "Secret_1")
    assert _get_version_bare(c) == "UNAUTHENTICATED" and _sourceid(c) == "UNAUTHENTICATED"
    assert c.login(*ROOT) and "root" in c.users() and c.delete("never_existed")


def test_clean_rest_answers_are_the_spec_answers(start: Callable[..., Client]) -> None:
    """observed §8: 401/1800 without credentials, 1802 for a missing field, no 5xx, and root
    undeletable; doc §Limitations: 33 characters is one too many."""
    runs = iter(range(100))

    def fresh(*dev: str) -> Client:
        return start(*dev, data=f"clean{next(runs)}")

    assert _rest_call("/users/list", {}, auth=None)(fresh, ()) == (401, 1800)
    assert _rest_call("/users/describe", {})(fresh, ()) == (200, 1802)
    search = _rest_call("/entities/search", {"collectionName": "c", "data": []})(fresh, ())
    assert search[0] == 200 and search[1] != 0
    too_long = {"userName": "a" * 33, "password": "Secret_1"}
    assert _rest_call("/users/create", too_long)(fresh, ())[1] not in (0, None)
    assert _rest_call("/users/drop", {"userName": "root"})(fresh, ())[1] not in (0, None)
    assert _rest_cross_protocol(fresh, ()) == ((200, 0), True, True)


def test_clean_management_port_has_no_side_door(start: Callable[..., Client]) -> None:
    assert _management_side_door(start, ()) == (404, "404 page not found", 404, False, 404)


def test_side_door_answers_like_milvus_2_3_5(start: Callable[..., Client]) -> None:
    listed, text, created, made, dropped = _management_side_door(
        start, ("management-port-side-door",)
    )
    assert (listed, created, made, dropped) == (200, 200, True, 200)
    assert json.loads(text) == {"status": {}, "usernames": ["root"]}


def test_unknown_name_is_rejected_with_the_valid_names() -> None:
    with pytest.raises(UnknownDeviation, match=r"valid names: .*username-empty"):
        check_names(["no-such-deviation"])


def test_cli_lists_deviations_as_json_and_rejects_unknown_names() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "reference", "serve", "--list-deviations"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    entries = json.loads(listed.stdout)
    assert {e["name"] for e in entries} == set(REGISTRY)
    assert all(e["clauses"] and e["summary"] for e in entries)
    bad = subprocess.run(
        [sys.executable, "-m", "reference", "serve", "--deviate", "nope", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "valid names:" in bad.stderr and "root-missing" in bad.stderr
