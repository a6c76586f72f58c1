"""REST v2 authentication and error envelope (observed §8.1, §8.2)."""

# The REST fixtures live in rest_support (conftest.py belongs to the gRPC suite); importing them
# here registers them, and test parameters then "redefine" the imported names.
# ruff: noqa: F811

from __future__ import annotations

import base64

import pytest

from conformance.drivers.rest import RestClient, basic, bearer, openapi_document
from conformance.suite.rest_support import RestFactory, rest, rest_root, rest_url  # noqa: F401

ENDPOINT_PATHS = sorted(path.removeprefix("/v2/vectordb") for path in openapi_document()["paths"])


def _bad_credentials(root_user: str, root_password: str) -> list[str | None]:
    wrong = root_password + "-wrong"
    return [
        None,
        bearer(root_user, wrong),
        f"Bearer {root_user}{root_password}",  # no colon: an API key, never valid here
        bearer("no_such_user_rest", root_password),
        basic(root_user, wrong),
        "Basic " + base64.b64encode(f"{root_user}:{root_password}".encode()).decode().rstrip("="),
        "Bearer " + base64.b64encode(f"{root_user}:{root_password}".encode()).decode(),
    ]


@pytest.mark.clause("REST-AUTH-EVERY-ENDPOINT", driver="rest")
@pytest.mark.parametrize("path", ENDPOINT_PATHS)
def test_every_endpoint_requires_credentials(
    rest: RestFactory, root_session: object, path: str
) -> None:
    user, password = root_session.user, root_session.password  # type: ignore[attr-defined]
    client = rest()
    failures = []
    for header in _bad_credentials(user, password):
        answer = client.post(path, {}, authorization=header)
        if not answer.unauthenticated:
            failures.append(f"expected HTTP 401 code 1800, got {answer.describe()}")
    assert not failures, "\n".join(failures)


@pytest.mark.clause("REST-AUTH-SCHEMES", driver="rest")
def test_bearer_and_basic_authenticate(
    rest: RestFactory, rest_root: RestClient, users: object
) -> None:
    name = users.new_name("rs")  # type: ignore[attr-defined]
    password = "p:w:" + name  # colons after the first belong to the password
    created = users.track_external(name, lambda: rest_root.create_user(name, password))  # type: ignore[attr-defined]
    assert created.ok, created.describe()
    for header in (bearer(name, password), basic(name, password)):
        answer = rest(authorization=header).describe_user(name)
        assert answer.ok, answer.describe()
    truncated = rest(name, password.split(":")[0]).describe_user(name)
    assert truncated.unauthenticated, truncated.describe()


@pytest.mark.clause("REST-ERROR-CODES", driver="rest")
def test_bad_json_and_missing_fields(rest_root: RestClient) -> None:
    for raw in (b"{not json", b"[1, 2]", b"\xff"):
        answer = rest_root.post("/users/describe", raw=raw)
        assert (answer.http_status, answer.code) == (200, 1801), answer.describe()
    for path, body in (
        ("/users/create", {"password": "secret1"}),
        ("/users/create", {"userName": "someone"}),
        ("/users/update_password", {"userName": "someone", "password": "secret1"}),
        ("/users/drop", {}),
        ("/users/describe", {}),
        ("/collections/describe", {}),
    ):
        answer = rest_root.post(path, body)
        assert (answer.http_status, answer.code) == (200, 1802), answer.describe()
