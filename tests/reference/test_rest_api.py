"""REST API v2 of the reference: the OpenAPI document, authentication, 1800/1801/1802, and the
user and vector endpoints over HTTP (observed §8)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rest_harness import REST, RestServerProcess, bearer, post, spawn_rest_server

from reference.rest.openapi import build_document
from reference.rest.spec import ENDPOINTS

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "openapi" / "milvus-rest-v2.json"
ROOT = bearer("root", "Milvus")
UNAUTHENTICATED = {"code": 1800, "message": "user hasn't authenticated"}
BAD_CREDENTIALS = [
    None,
    "Bearer root:wrong-password",
    "Bearer rootMilvus",
    "Bearer root:",
    "Bearer nobody:Milvus",
    "Basic " + base64.b64encode(b"root:wrong-password").decode(),
    "Basic " + base64.b64encode(b"root:Milvus").decode().rstrip("="),  # unpadded: invalid
    "Basic ###",
    "Token root:Milvus",
    "root:Milvus",
    "Bearer " + base64.b64encode(b"root:Milvus").decode(),  # gRPC's token is not REST's
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestServerProcess]:
    process = spawn_rest_server(tmp_path_factory.mktemp("rest-api"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def url(server: RestServerProcess) -> str:
    return server.http_url


# ---- the OpenAPI document ----------------------------------------------------------------------
def test_fixture_is_the_generated_document() -> None:
    assert json.loads(FIXTURE.read_text(encoding="utf-8")) == build_document(), (
        "fixtures/openapi/milvus-rest-v2.json is stale: "
        "run `python -m reference.rest.openapi > fixtures/openapi/milvus-rest-v2.json`"
    )


def test_served_document_equals_fixture(url: str) -> None:
    response = httpx.get(url + "/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_document_paths_are_exactly_the_served_routes(url: str) -> None:
    documented = set(json.loads(FIXTURE.read_text(encoding="utf-8"))["paths"])
    assert len(documented) == 5 + 8 + 6 + 4
    for path in documented:  # every documented path answers with the Milvus envelope
        response = httpx.post(url + path, json={}, headers={"Authorization": ROOT}, timeout=10)
        assert response.status_code == 200, path
        assert isinstance(response.json()["code"], int), path
    # ... and the server has no other POST route under /v2 (checked on its ASGI routing table).
    from reference.rest.server import build_app

    class _NoApp:  # routes are registered without touching the Application
        @staticmethod
        def decorate_rest(serve: object) -> object:  # the clean hook: no deviation
            return serve

    routes = {r.path for r in build_app(_NoApp()).routes if "POST" in getattr(r, "methods", ())}  # type: ignore[arg-type]
    assert routes == documented
    unknown = httpx.post(url + REST + "/users/grant_role", json={}, headers={"Authorization": ROOT})
    assert unknown.status_code == 404


def test_grpc_only_start_up_never_imports_the_http_stack() -> None:
    code = (
        "import sys, reference.cli, reference.wire.server, reference.app;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'uvicorn', 'starlette', 'reference.rest') or m.startswith('reference.rest')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- authentication (observed §8.1) ------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
def test_every_endpoint_rejects_missing_or_bad_credentials(url: str, endpoint: object) -> None:
    for header in BAD_CREDENTIALS:
        response = post(url, endpoint.path, {}, auth=header)  # type: ignore[attr-defined]
        assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), header


def test_authentication_comes_before_body_parsing(url: str) -> None:
    response = post(url, "/users/list", content=b"{not json", auth="Bearer root:nope")
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)


def test_bearer_and_basic_both_authenticate(url: str) -> None:
    assert post(url, "/users/list", auth=ROOT).json() == {"code": 0, "data": ["root"]} or (
        "root" in post(url, "/users/list", auth=ROOT).json()["data"]
    )
    basic = httpx.post(url + REST + "/users/list", json={}, auth=("root", "Milvus"), timeout=10)
    assert basic.status_code == 200 and basic.json()["code"] == 0


def test_bearer_splits_on_the_first_colon(url: str) -> None:
    assert (
        post(
            url, "/users/create", {"userName": "colon_user", "password": "a:b:c:d"}, auth=ROOT
        ).json()["code"]
        == 0
    )
    assert post(url, "/users/list", auth=bearer("colon_user", "a:b:c:d")).json()["code"] == 0
    assert post(url, "/users/list", auth=bearer("colon_user", "a:b")).status_code == 401


def test_non_ascii_password_over_bearer_bytes(url: str) -> None:
    password = "pässwörd✓"
    assert (
        post(
            url, "/users/create", {"userName": "utf8_user", "password": password}, auth=ROOT
        ).json()["code"]
        == 0
    )
    header = ("Bearer utf8_user:" + password).encode("utf-8")
    response = httpx.post(url + REST + "/users/list", json={}, headers={"Authorization": header})
    assert response.status_code == 200 and response.json()["code"] == 0
    assert (
        httpx.post(
            url + REST + "/users/list", json={}, auth=("utf8_user", password), timeout=10
        ).json()["code"]
        == 0
    )


# ---- 1801 / 1802 (observed §8.2) --------------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [b"{bad json", b"[]", b'"text"', b"123", b'{"userName": NaN}', b"\xff\xfe{}", b"{" * 100000],
)
def test_invalid_json_is_1801(url: str, content: bytes) -> None:
    response = post(url, "/users/describe", content=content, auth=ROOT)
    assert response.status_code == 200
    assert response.json()["code"] == 1801
    assert response.json()["message"].startswith("can only accept json format request")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/users/create", {"userName": 5, "password": "secret1"}),
        ("/users/create", {"userName": "x", "password": ["secret1"]}),
        ("/collections/create", {"collectionName": "c", "dimension": "8"}),
        ("/collections/create", {"collectionName": "c", "dimension": True}),
        ("/entities/search", {"collectionName": "c", "data": [["a"]]}),
        ("/entities/insert", {"collectionName": "c", "data": {"id": 1}}),
    ],
)
def test_wrong_json_type_is_1801(url: str, path: str, body: dict[str, object]) -> None:
    assert post(url, path, body, auth=ROOT).json()["code"] == 1801


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.required], ids=lambda e: e.path)
def test_each_missing_required_field_is_1802(url: str, endpoint: object) -> None:
    complete = {
        "userName": "someone",
        "password": "secret1",
        "newPassword": "secret2",
        "collectionName": "no_such_collection",
        "data": [],
        "filter": "id > 0",
        "id": 1,
        "indexName": "ix",
        "indexParams": [],
    }
    for field in endpoint.required:  # type: ignore[attr-defined]
        body = {k: complete[k] for k in endpoint.required if k != field}  # type: ignore[attr-defined]
        response = post(url, endpoint.path, body, auth=ROOT)  # type: ignore[attr-defined]
        assert response.status_code == 200
        assert response.json()["code"] == 1802, (field, response.json())
        assert field in response.json()["message"]
    null_body = {k: None for k in endpoint.required}  # type: ignore[attr-defined]
    assert post(url, endpoint.path, null_body, auth=ROOT).json()["code"] == 1802  # type: ignore[attr-defined]


# ---- user endpoints carry the gRPC rules ------------------------------------------------------
def test_user_rules_and_codes_match_grpc(url: str) -> None:
    def call(path: str, body: dict[str, object]) -> dict[str, object]:
        return post(url, path, body, auth=ROOT).json()

    assert call("/users/create", {"userName": "1abc", "password": "secret1"})["code"] == 1100
    assert call("/users/create", {"userName": "a" * 33, "password": "secret1"})["code"] == 1100
    short = call("/users/create", {"userName": "shorty", "password": "12345"})
    assert short == {
        "code": 1100,
        "message": "invalid password length: invalid parameter[5 out of range 6 <= value <= 256]",
    }
    assert call("/users/create", {"userName": "dup_user", "password": "secret1"})["code"] == 0
    assert call("/users/create", {"userName": "dup_user", "password": "secret2"}) == {
        "code": 65535,
        "message": "user already exists: dup_user",
    }
    assert call("/users/drop", {"userName": "root"}) == {
        "code": 1401,
        "message": "root user cannot be deleted: privilege not permitted",
    }
    assert call("/users/describe", {"userName": "dup_user"}) == {"code": 0, "data": []}
    wrong_old = call(
        "/users/update_password",
        {"userName": "dup_user", "password": "nope-nope", "newPassword": "secret9"},
    )
    assert wrong_old["code"] == 1400
    assert call("/users/drop", {"userName": "never_existed"}) == {"code": 0, "data": {}}
    listed = call("/users/list", {})["data"]
    assert listed == sorted(listed) and "dup_user" in listed and "root" in listed
    assert not any("secret" in name for name in listed)


def test_lone_surrogates_are_replaced_not_crashing(url: str) -> None:
    content = b'{"userName": "\\ud800abc", "password": "\\udfffsecret"}'
    response = post(url, "/users/create", content=content, auth=ROOT)
    assert response.status_code == 200 and response.json()["code"] == 1100
    assert (
        post(url, "/users/drop", content=b'{"userName": "\\ud800"}', auth=ROOT).json()["code"] == 0
    )


# ---- vector endpoints -------------------------------------------------------------------------
def test_vector_workflow_over_rest(url: str) -> None:
    def ok(path: str, body: dict[str, object]) -> object:
        answer = post(url, path, body, auth=ROOT).json()
        assert answer["code"] == 0, (path, answer)
        return answer["data"]

    name = "rest_vectors"
    ok("/collections/create", {"collectionName": name, "dimension": 3, "metricType": "L2"})
    assert ok("/collections/has", {"collectionName": name}) == {"has": True}
    assert name in ok("/collections/list", {})  # type: ignore[operator]
    rows = [{"id": i, "vector": [float(i), 0.0, 0.0], "tag": f"t{i}"} for i in range(10)]
    assert ok("/entities/insert", {"collectionName": name, "data": rows}) == {
        "insertCount": 10,
        "insertIds": list(range(10)),
    }
    hits = ok(
        "/entities/search",
        {"collectionName": name, "data": [[2.2, 0, 0]], "limit": 2, "outputFields": ["tag"]},
    )
    assert [(h["id"], h["tag"]) for h in hits] == [(2, "t2"), (3, "t3")]  # type: ignore[index,union-attr]
    queried = ok(
        "/entities/query", {"collectionName": name, "filter": "id >= 8", "outputFields": ["tag"]}
    )
    assert queried == [{"id": 8, "tag": "t8"}, {"id": 9, "tag": "t9"}]
    assert ok(
        "/entities/query", {"collectionName": name, "filter": "", "outputFields": ["count(*)"]}
    ) == [{"count(*)": 10}]
    assert ok("/entities/delete", {"collectionName": name, "filter": "id in [0, 1]"}) == {
        "deleteCount": 2
    }
    assert ok("/entities/get", {"collectionName": name, "id": [0, 2]}) == [{"id": 2}]
    ok(
        "/entities/upsert",
        {"collectionName": name, "data": [{"id": 2, "vector": [9, 9, 9], "tag": "new"}]},
    )
    assert ok("/entities/get", {"collectionName": name, "id": 2, "outputFields": ["tag"]}) == [
        {"id": 2, "tag": "new"}
    ]
    described = ok("/collections/describe", {"collectionName": name})
    assert described["load"] == "LoadStateLoaded"  # type: ignore[index]
    assert [f["name"] for f in described["fields"]] == ["id", "vector"]  # type: ignore[index]
    assert ok("/indexes/list", {"collectionName": name}) == ["vector"]
    ok("/collections/release", {"collectionName": name})
    assert ok("/collections/get_load_state", {"collectionName": name}) == {
        "loadState": "LoadStateNotLoad"
    }
    not_loaded = post(
        url, "/entities/query", {"collectionName": name, "filter": "id > 0"}, auth=ROOT
    )
    assert not_loaded.json()["code"] == 101
    ok("/indexes/drop", {"collectionName": name, "indexName": "vector"})
    ok(
        "/indexes/create",
        {
            "collectionName": name,
            "indexParams": [
                {
                    "fieldName": "vector",
                    "metricType": "IP",
                    "indexType": "HNSW",
                    "params": {"M": 8, "efConstruction": 64},
                }
            ],
        },
    )
    assert (
        ok("/indexes/describe", {"collectionName": name, "indexName": "vector"})[0]["indexType"]
        == "HNSW"
    )  # type: ignore[index]
    ok("/collections/drop", {"collectionName": name})
    assert (
        post(url, "/collections/describe", {"collectionName": name}, auth=ROOT).json()["code"]
        == 100
    )


def test_bad_rows_get_status_codes_not_500(url: str) -> None:
    name = "rest_bad_rows"
    post(url, "/collections/create", {"collectionName": name, "dimension": 2}, auth=ROOT)
    for rows in (
        [],
        [{"id": 1}],
        [{"id": "x", "vector": [1, 2]}],
        [{"id": 1, "vector": [1, 2, 3]}],
        [{"id": 1, "vector": [1e300, 1]}],
        [{"id": 2**70, "vector": [1, 2]}],
        [{"id": 1, "vector": "ab"}],
    ):
        response = post(url, "/entities/insert", {"collectionName": name, "data": rows}, auth=ROOT)
        assert response.status_code == 200 and response.json()["code"] not in (0, 65535), rows
    bad_search = post(url, "/entities/search", {"collectionName": name, "data": [[1]]}, auth=ROOT)
    assert bad_search.json()["code"] == 1100
    post(url, "/collections/drop", {"collectionName": name}, auth=ROOT)


def test_http_server_stops_with_the_grpc_server() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        server = spawn_rest_server(Path(data_dir))
        server.stop()
        assert server.process.returncode == 0
        with pytest.raises(httpx.TransportError):
            httpx.post(server.http_url + REST + "/users/list", json={}, timeout=2)
