"""Fixtures of the REST v2 clauses (observed §8): where the endpoint is, and a root client.

A target without REST v2 makes every REST clause not-applicable, with the reason.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.drivers.rest import RestClient, bearer
from conformance.plugin import not_applicable

NO_REST = "target has no REST v2 endpoint; Milvus added REST v2 in 2.4"
REST_EXTRA = ("httpx", "schemathesis")
NO_REST_EXTRA = "REST clauses need the 'rest' extra: pip install 'milvus-conformance[rest]'"


def rest_extra_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in REST_EXTRA)


RestFactory = Callable[..., RestClient]


@pytest.fixture(scope="session")
def rest_url(target: Any, conformance_config: Any) -> str:
    """--milvus-rest-url, else the URL a launcher exposes (the reference serves REST itself)."""
    if not rest_extra_installed():
        not_applicable(NO_REST_EXTRA)
    url = getattr(conformance_config, "rest_url", None) or getattr(target, "rest_url", None)
    if not url:
        not_applicable(NO_REST)
    return str(url).rstrip("/")


@pytest.fixture
def rest(rest_url: str) -> Iterator[RestFactory]:
    """Factory: rest(user, password) or rest(authorization=<raw header>) -> RestClient."""
    clients: list[RestClient] = []

    def make(
        user: str | None = None, password: str | None = None, *, authorization: str | None = None
    ) -> RestClient:
        header = authorization
        if user is not None:
            header = bearer(user, password or "")
        client = RestClient(rest_url, header)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def rest_root(rest: RestFactory, root_session: Any) -> RestClient:
    """Root over REST, with root's current password (root_session tracks changes)."""
    return rest(root_session.user, root_session.password)
