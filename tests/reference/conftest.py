"""Fixtures for reference-server tests: one spawned server per (profile, auth) per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reference_harness import PROFILES, ROOT, ServerPool, UserWire, Wire, wire_for


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("reference-servers"))
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def wires() -> Iterator[dict[str, Wire]]:
    opened: dict[str, Wire] = {}
    yield opened
    for wire in opened.values():
        wire.close()


@pytest.fixture(params=PROFILES)
def profile_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def wire(server_pool: ServerPool, wires: dict[str, Wire], profile_name: str) -> Wire:
    return wire_for(server_pool, wires, profile_name, auth=True)


@pytest.fixture
def root(wire: Wire) -> UserWire:
    return wire.as_user(*ROOT)
