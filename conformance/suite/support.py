"""Helpers shared by the suite's tests: user pool, Hypothesis scaling, repetition counts."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings

from conformance.drivers.errors import HarnessError
from conformance.drivers.wire import Outcome, WireClient
from conformance.plugin import not_applicable

MAX_LIVE_USERS = 90  # real Milvus caps all users at 100 (observed §4.2 maxUserNum)
REPEATS = {"ci": 20, "thorough": 50}


def scaled(fraction: float = 1.0, minimum: int = 5) -> settings:
    """The selected profile's settings with max_examples scaled to cap an expensive test."""
    base = settings.default
    return settings(base, max_examples=max(minimum, int(base.max_examples * fraction)))


def repeats(hypothesis_profile: str) -> int:
    """How often a timing-sensitive scenario is repeated (at least 20 under ci)."""
    return REPEATS.get(hypothesis_profile, REPEATS["ci"])


def fresh_password(tag: str = "") -> str:
    """A password valid in every profile (ASCII, 6..72 bytes)."""
    return f"Pw{tag}{secrets.token_hex(6)}"


@dataclass
class PoolLedger:
    """Session-wide record of every name the suite tried to create, shared by all pools."""

    prefix: str
    tried: set[str] = field(default_factory=set)
    live: set[str] = field(default_factory=set)
    counter: int = 0


class UserPool:
    """Creates the suite's users through root and deletes them again.

    Names carry the per-run prefix (`cf<6hex>_`). Arbitrary names (no prefix) go through
    `transient`, which deletes them right away if the target accepted them. At most
    MAX_LIVE_USERS of the suite's users are alive at once.
    """

    def __init__(self, root: Callable[[], WireClient], ledger: PoolLedger) -> None:
        self._root = root
        self.ledger = ledger
        self.mine: set[str] = set()

    def root(self) -> WireClient:
        """Root's wire client (current password)."""
        return self._root()

    @property
    def prefix(self) -> str:
        return self.ledger.prefix

    def new_name(self, tag: str = "u") -> str:
        self.ledger.counter += 1
        return f"{self.prefix}{tag}{self.ledger.counter}"

    def _reserve(self, name: str) -> None:
        if len(self.ledger.live) >= MAX_LIVE_USERS:
            raise HarnessError(f"suite would exceed {MAX_LIVE_USERS} live users")
        self.ledger.tried.add(name)
        self.mine.add(name)

    def try_create(self, name: str, password: str) -> Outcome:
        """CreateCredential as root; the name is tracked whatever the answer."""
        self._reserve(name)
        outcome = self._root().create_credential(name, password)
        if outcome.ok:
            self.ledger.live.add(name)
        return outcome

    def track_external(self, name: str, create: Callable[[], Outcome]) -> Outcome:
        """Run a create issued through another driver (e.g. the SDK) and track its name."""
        self._reserve(name)
        outcome = create()
        if outcome.ok:
            self.ledger.live.add(name)
        return outcome

    def create(self, password: str | None = None, tag: str = "u") -> tuple[str, str]:
        """Create a prefixed user that the test needs to exist; a refusal is a harness error."""
        name = self.new_name(tag)
        password = password or fresh_password()
        outcome = self.try_create(name, password)
        # A refusal is the target's deviation (the doc lets root create users), not the harness's.
        assert outcome.ok, f"target refused to create the valid user {name!r}: {outcome.describe()}"
        return name, password

    def delete(self, name: str) -> Outcome:
        outcome = self._root().delete_credential(name)
        if outcome.ok:
            self.ledger.live.discard(name)
        return outcome

    def forget(self, name: str) -> None:
        """The test deleted `name` itself."""
        self.ledger.live.discard(name)

    @contextlib.contextmanager
    def transient(self, name: str, password: str) -> Iterator[Outcome]:
        """Create `name` (any text) and delete it on exit if the target accepted it."""
        outcome = self.try_create(name, password)
        try:
            yield outcome
        finally:
            if outcome.ok:
                self.delete(name)

    def cleanup(self, names: set[str] | None = None) -> list[str]:
        """Delete every live user, and every prefixed name ever tried (a create may have
        succeeded behind an error). Returns names that could not be deleted."""
        targets = set(self.mine if names is None else names)
        doomed = {n for n in targets if n in self.ledger.live or n.startswith(self.prefix)}
        leftovers = []
        for name in sorted(doomed):
            try:
                outcome = self.delete(name)
            except HarnessError:
                leftovers.append(name)
                continue
            if outcome.ok or (outcome.kind == "rpc_error" and outcome.grpc_code == "UNIMPLEMENTED"):
                self.ledger.live.discard(name)
            else:
                leftovers.append(name)
        return leftovers


class RootSession:
    """Root's wire identity; knows root's current password so tests can change and restore it."""

    def __init__(self, factory: Callable[..., WireClient], user: str, password: str) -> None:
        self._factory = factory
        self.user = user
        self.original_password = password
        self.password = password
        self._client: WireClient | None = None

    def client(self) -> WireClient:
        if self._client is None:
            self._client = self._factory(self.user, self.password)
        return self._client

    def password_changed(self, new_password: str) -> None:
        self.password = new_password
        self.client().rebind(self.user, new_password)

    def restore(self) -> None:
        """Put root's original password back; raises HarnessError if the target refuses."""
        if self.password == self.original_password:
            return
        outcome = self.client().update_credential(self.user, self.password, self.original_password)
        if not outcome.ok:
            raise HarnessError(f"could not restore root's password: {outcome.describe()}")
        self.password_changed(self.original_password)

    def reset_client(self) -> None:
        """Drop the channel (e.g. after a restart that moved the target)."""
        if self._client is not None:
            self._client.close()
        self._client = None


def restart_and_wait(target: object, root: RootSession, timeout: float = 20.0) -> None:
    """Restart the target and wait until it accepts connections again (a launcher may return
    as soon as the process is spawned)."""
    target.restart()  # type: ignore[attr-defined]
    root.reset_client()
    if not root.client().wait_until_reachable(timeout):
        raise HarnessError(f"target did not come back within {timeout:.0f}s of a restart")


@contextlib.contextmanager
def separate_instance(target: Any, capability: str, why_not: str) -> Iterator[str]:
    """Address of a separate instance the test owns (`spawn_auth_off` or `spawn_fresh`),
    stopped afterwards; not-applicable when the target lacks `capability`."""
    if not target.has(capability):
        not_applicable(f"target {target.name} {why_not}")
    instance = target.spawn_auth_off() if capability == "auth_off" else target.spawn_fresh()
    try:
        yield instance.address
    finally:
        instance.stop()
