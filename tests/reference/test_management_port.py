"""The management port (`serve --management-port`): health only, no credential side door
(observed §8.3)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from reference_harness import spawn_server

from conformance.targets.reference import _read_management_url, _read_ready, _read_rest_url
from reference.management import ManagementServer
from reference.wire.server import ReferenceServer, ServerConfig

CREDENTIAL_ROUTES = [
    ("GET", "/api/v1/credential/users", None),
    ("POST", "/api/v1/credential", {"username": "sidedoor", "password": "U2lkZV9wdzE="}),
    ("DELETE", "/api/v1/credential", {"username": "sidedoor"}),
]


def _http(method: str, url: str, body: object = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ReferenceServer, ManagementServer]]:
    server = ReferenceServer(ServerConfig(data_dir=tmp_path / "data", port=0))
    server.start()
    assert server.app is not None
    management = ManagementServer(server.app, "127.0.0.1", 0)
    management.start()
    yield server, management
    management.stop()
    server.stop(grace=0)


def test_healthz_answers_200_ok(served: tuple[ReferenceServer, ManagementServer]) -> None:
    _, management = served
    assert _http("GET", management.url + "/healthz") == (200, b"OK")


@pytest.mark.parametrize("method,path", [("GET", "/"), ("GET", "/metrics"), ("POST", "/healthz")])
def test_unknown_routes_are_404(
    served: tuple[ReferenceServer, ManagementServer], method: str, path: str
) -> None:
    _, management = served
    assert _http(method, management.url + path)[0] == 404


@pytest.mark.parametrize("method,path,body", CREDENTIAL_ROUTES)
def test_no_credential_route_exists(
    served: tuple[ReferenceServer, ManagementServer], method: str, path: str, body: object
) -> None:
    server, management = served
    assert _http(method, management.url + path, body)[0] == 404
    assert server.app is not None
    assert server.app.store.usernames() == ["root"]  # nothing was created behind our back


def test_cli_prints_and_writes_the_management_url(tmp_path: Path) -> None:
    """Line 1 of the ready file stays the bare gRPC port, so existing readers keep working."""
    ready = tmp_path / "ready"
    server = spawn_server(tmp_path / "data", "--ready-file", str(ready), "--management-port", "0")
    try:
        assert server.process.stdout is not None
        printed = server.process.stdout.readline().strip()  # the line after `listening on`
        lines = ready.read_text().splitlines()
        assert lines[0] == str(server.port)
        assert len(lines) == 2 and lines[1].startswith("management=http://127.0.0.1:")
        url = lines[1].removeprefix("management=")
        assert _read_ready(ready) == server.address
        assert _read_rest_url(ready) is None  # not mistaken for the REST URL
        assert _read_management_url(ready) == url
        assert _http("GET", url + "/healthz") == (200, b"OK")
        assert _http("GET", url + "/api/v1/credential/users")[0] == 404
        assert printed == f"management listening on {url.removeprefix('http://')}"
    finally:
        server.stop()


def test_ready_file_with_rest_and_management_lines(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    ready.write_text("4242\nhttp://127.0.0.1:5000\nmanagement=http://127.0.0.1:6000\n")
    assert _read_ready(ready) == "127.0.0.1:4242"
    assert _read_rest_url(ready) == "http://127.0.0.1:5000"
    assert _read_management_url(ready) == "http://127.0.0.1:6000"
