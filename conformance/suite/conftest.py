"""Fixtures of the conformance suite. `target` and `conformance_config` come from the plugin
(conformance/plugin.py); everything here builds on them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from conformance.drivers.errors import HarnessError
from conformance.drivers.sdk import SdkClient, SdkSession
from conformance.drivers.wire import WireClient
from conformance.oracle.params import ProfileParams, load_params
from conformance.suite.support import PoolLedger, RootSession, UserPool
from conformance.suite.vector_support import datasets_fixture  # noqa: F401  (`datasets`)

WireFactory = Callable[..., WireClient]


_ORM_WARNING = "ignore:.*ORM-style PyMilvus API.*"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The doc shows the ORM API, which pymilvus 3 deprecates; the suite uses it on purpose.
    for item in items:
        item.add_marker(pytest.mark.filterwarnings(_ORM_WARNING))


@pytest.fixture(scope="session", autouse=True)
def _quiet_sdk() -> None:
    # pymilvus logs every failed RPC with a traceback; the suite expects many rejections.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)


@pytest.fixture(scope="session")
def profile(conformance_config: Any) -> ProfileParams:
    """The oracle parameters of the selected profile."""
    return load_params(conformance_config.profile)


def _wire_factory(target: Any) -> Iterator[WireFactory]:
    clients: list[WireClient] = []

    def make(
        user: str | None = None,
        password: str | None = None,
        *,
        metadata: Sequence[tuple[str, str | bytes]] | None = None,
    ) -> WireClient:
        client = WireClient(target.address, user, password, metadata=metadata)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def _session_wire(target: Any) -> Iterator[WireFactory]:
    yield from _wire_factory(target)


@pytest.fixture
def wire(target: Any) -> Iterator[WireFactory]:
    """Factory: wire(user=None, password=None, *, metadata=None) -> WireClient on the target.

    Reads target.address at each call, so clients made after a restart follow the target;
    closes its clients at the end of the test."""
    yield from _wire_factory(target)


@pytest.fixture(scope="session")
def root_session(_session_wire: WireFactory, conformance_config: Any) -> Iterator[RootSession]:
    session = RootSession(
        _session_wire, conformance_config.root_user, conformance_config.root_password
    )
    outcome = session.client().connect()
    if not outcome.ok:
        raise HarnessError(
            f"the configured root credentials do not authenticate: {outcome.describe()}"
        )
    yield session
    session.restore()  # never leave root's password changed


@pytest.fixture
def root_wire(root_session: RootSession) -> WireClient:
    """A wire client authenticated as root (with root's current password)."""
    return root_session.client()


@pytest.fixture(scope="session")
def _ledger(root_session: RootSession, conformance_config: Any) -> Iterator[PoolLedger]:
    ledger = PoolLedger(prefix=f"cf{conformance_config.run_id}_")
    yield ledger
    leftovers = UserPool(root_session.client, ledger).cleanup(ledger.tried)
    if leftovers:
        raise HarnessError(f"could not delete suite users at session end: {leftovers}")


@pytest.fixture
def users(root_session: RootSession, _ledger: PoolLedger) -> Iterator[UserPool]:
    """Per-test user pool; everything it created is deleted at teardown, even on failure."""
    pool = UserPool(root_session.client, _ledger)
    yield pool
    leftovers = pool.cleanup()
    if leftovers:
        raise HarnessError(f"could not delete suite users {leftovers}")


def _closing_factory(make: Callable[..., Any], close: str) -> Iterator[Callable[..., Any]]:
    """Yield a factory of clients for the target; call each one's `close` at teardown."""
    made: list[Any] = []

    def factory(user: str, password: str) -> Any:
        made.append(make(user, password))
        return made[-1]

    yield factory
    for client in made:
        getattr(client, close)()


@pytest.fixture
def sdk(target: Any) -> Iterator[Callable[..., SdkSession]]:
    """Factory: sdk(user, password) -> SdkSession with a unique alias, disconnected at teardown."""
    yield from _closing_factory(lambda u, p: SdkSession(target.address, u, p), "disconnect")


@pytest.fixture
def sdk_client(target: Any) -> Iterator[Callable[..., SdkClient]]:
    """Factory: sdk_client(user, password) -> dedicated MilvusClient wrapper."""
    yield from _closing_factory(lambda u, p: SdkClient(target.address, u, p), "close")


@pytest.fixture
def existing_users(root_wire: WireClient) -> frozenset[str]:
    """Users present before the test (so generated names never collide with them)."""
    outcome = root_wire.list_cred_users()
    return frozenset(outcome.payload or ()) if outcome.ok else frozenset()
