"""Stateful model agreement: a RuleBasedStateMachine drives the target and a plain-Python model
of the credential store side by side and compares them after every step. On failure Hypothesis
prints the shrunk steps as a replayable script:
`state = CredentialMachine(); state.create(...); ...`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.drivers.wire import WireClient
from conformance.oracle import (
    auth_verdict,
    basic_metadata,
    create_verdict,
    delete_verdict,
    mismatch,
    reset_verdict,
)
from conformance.suite.support import UserPool, restart_and_wait

# Passwords valid in every profile, plus invalid ones at each profile's boundaries.
PASSWORDS = ("Secret_1", "Other_pw2", "ThirdOne3", "", "short", "x" * 73, "y" * 257, "é" * 5)
RESTARTS_PER_TEST = {"ci": 1, "thorough": 5}
# Above this a restart step would dominate the run (real Milvus: ~35 s); there the machine
# runs without its restart rule and AUTH-PERSISTENCE alone checks that a restart keeps state.
MAX_RESTART_COST_S = 5.0


def cheap_restarts(target: Any) -> bool:
    return "restart" in target.capabilities and target.restart_cost_seconds <= MAX_RESTART_COST_S


@dataclass
class Context:
    """What the machine needs from the fixtures (shared by all examples of one test)."""

    wire: Any
    users: UserPool
    profile: Any
    target: Any
    root_session: Any
    names: tuple[str, ...]
    restarts_left: int
    sessions: list[WireClient] = field(default_factory=list)


@dataclass
class Session:
    client: WireClient
    user: str
    password: str

    def __repr__(self) -> str:  # shows up in the printed replay script
        return f"Session({self.user!r}, {self.password!r})"


def build_machine(ctx: Context) -> type[RuleBasedStateMachine]:
    class CredentialMachine(RuleBasedStateMachine):
        sessions = Bundle("sessions")

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[str, str] = {}
            for name in ctx.names:  # every example starts from "none of our users exist"
                ctx.users.delete(name)

        def _root(self) -> WireClient:
            return ctx.root_session.client()

        def _expect(self, what: str, outcome: Any, verdict: Any) -> None:
            problem = mismatch(outcome, verdict)
            assert problem is None, f"{what}: {problem}"

        @rule(name=st.sampled_from(ctx.names), password=st.sampled_from(PASSWORDS))
        def create(self, name: str, password: str) -> None:
            verdict = create_verdict(ctx.profile, set(self.model), name, password)
            outcome = ctx.users.try_create(name, password)
            self._expect(f"create({name!r})", outcome, verdict)
            if verdict.accepted:
                self.model[name] = password

        @rule(
            name=st.sampled_from(ctx.names),
            old_is_current=st.booleans(),
            new=st.sampled_from(PASSWORDS),
        )
        def reset(self, name: str, old_is_current: bool, new: str) -> None:
            current = self.model.get(name)
            old = current if old_is_current and current is not None else "Not_the_pw9"
            verdict = reset_verdict(ctx.profile, current, name, old, new)
            outcome = self._root().update_credential(name, old, new)
            self._expect(f"reset({name!r})", outcome, verdict)
            if verdict.accepted:
                self.model[name] = new

        @rule(name=st.sampled_from(ctx.names))
        def delete(self, name: str) -> None:
            outcome = ctx.users.delete(name)
            self._expect(f"delete({name!r})", outcome, delete_verdict(ctx.profile, name))
            self.model.pop(name, None)

        @rule()
        def list_users(self) -> None:
            outcome = self._root().list_cred_users()
            assert outcome.ok, f"list users failed: {outcome.describe()}"
            ours = {n for n in outcome.payload if n in ctx.names}
            assert ours == set(self.model), f"listed {sorted(ours)}, model {sorted(self.model)}"

        @rule(target=sessions, name=st.sampled_from(ctx.names), stale=st.booleans())
        def open_session(self, name: str, stale: bool) -> Session:
            password = self.model.get(name, "Secret_1")
            if stale:
                password = "Other_pw2" if password != "Other_pw2" else "Secret_1"
            client = ctx.wire(name, password)
            ctx.sessions.append(client)
            return Session(client, name, password)

        @rule(session=sessions)
        def call(self, session: Session) -> None:
            valid = dict(self.model)
            verdict = auth_verdict(
                ctx.profile, basic_metadata(session.user, session.password), valid
            )
            self._expect(f"call as {session!r}", session.client.get_version(), verdict)

        @rule(session=sessions)
        def reconnect(self, session: Session) -> None:
            """Disconnect and re-connect with the user's current password (doc §Connect)."""
            if session.user in self.model:
                session.password = self.model[session.user]
            session.client.rebind(session.user, session.password)
            valid = dict(self.model)
            verdict = auth_verdict(
                ctx.profile, basic_metadata(session.user, session.password), valid
            )
            self._expect(f"reconnect {session!r}", session.client.connect(), verdict)

        # The precondition must not read the run-wide restart budget: Hypothesis replays steps
        # while shrinking, and a precondition that changes between replays makes it abort with
        # FlakyStrategyDefinition instead of reporting the target's failure.
        @precondition(lambda self: cheap_restarts(ctx.target))
        @rule()
        def restart(self) -> None:
            if ctx.restarts_left <= 0:
                return  # budget spent (restarts are slow on real servers): a no-op step
            ctx.restarts_left -= 1
            restart_and_wait(ctx.target, ctx.root_session)

        @invariant()
        def root_still_works(self) -> None:
            outcome = self._root().get_version()
            assert outcome.ok, f"root's session failed: {outcome.describe()}"

        def teardown(self) -> None:
            for name in ctx.names:
                ctx.users.delete(name)

    return CredentialMachine


@pytest.mark.clause("AUTH-STATEFUL-MODEL", driver="wire")
def test_target_agrees_with_credential_model(
    users, wire, profile, target, root_session, conformance_config
) -> None:
    ctx = Context(
        wire=wire,
        users=users,
        profile=profile,
        target=target,
        root_session=root_session,
        names=tuple(users.new_name("s") for _ in range(3)),
        restarts_left=RESTARTS_PER_TEST.get(conformance_config.hypothesis_profile, 1),
    )
    machine = build_machine(ctx)
    machine.__name__ = "CredentialMachine"
    try:
        run_state_machine_as_test(machine, settings=settings(settings.default))
    finally:
        for client in ctx.sessions:
            client.close()
