"""Expected verdicts and their comparison with what a target answered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from conformance.oracle.params import Message, ProfileParams

Kind = Literal["ok", "status_error", "rpc_error"]


@dataclass(frozen=True)
class Verdict:
    """What the oracle expects for one request.

    `rejection` names the rule that rejects (e.g. "username_length"); None when accepted.
    `code`/`error_code`/`reason` are only set (and only compared) in exact profiles.
    """

    accepted: bool
    kind: Kind
    grpc_code: str = "OK"
    rejection: str | None = None
    code: int | None = None
    error_code: int | None = None
    reason: str | None = None

    @property
    def outcome_class(self) -> str:
        return outcome_class(self.kind, self.grpc_code)


ACCEPTED = Verdict(accepted=True, kind="ok")


def outcome_class(kind: str, grpc_code: str) -> str:
    """The doc-level class: accepted, error status, or the gRPC rejection code."""
    if kind == "ok":
        return "accepted"
    if kind == "status_error":
        return "error status"
    return f"gRPC {grpc_code}"


def rejected(params: ProfileParams, rule: str, kind: Kind, **fmt: Any) -> Verdict:
    """A rejection by `rule`; in exact profiles, with the version's code and message."""
    grpc_code = "UNAUTHENTICATED" if kind == "rpc_error" else "OK"
    message: Message | None = params.messages.get(rule) if params.exact else None
    if params.exact and message is None:
        raise KeyError(f"profile {params.name} has no message for rule {rule!r}")
    if message is None:
        return Verdict(False, kind, grpc_code, rule)
    if message.grpc is not None:
        grpc_code = message.grpc
    return Verdict(
        accepted=False,
        kind=kind,
        grpc_code=grpc_code,
        rejection=rule,
        code=message.code,
        error_code=message.error_code,
        reason=message.reason.format(**fmt),
    )


def mismatch(outcome: Any, expected: Verdict) -> str | None:
    """Describe how `outcome` (a drivers Outcome) differs from `expected`; None if it conforms."""
    got = outcome_class(outcome.kind, outcome.grpc_code)
    if got != expected.outcome_class:
        detail = f" ({outcome.reason!r})" if outcome.reason else ""
        want = expected.outcome_class
        if expected.rejection:
            want += f" [{expected.rejection}]"
        return f"expected {want}, got {got}{detail}"
    if expected.reason is None:
        return None
    problems = []
    if expected.code is not None and outcome.status_code != expected.code:
        problems.append(f"code {outcome.status_code} != {expected.code}")
    if expected.error_code is not None and outcome.error_code != expected.error_code:
        problems.append(f"error_code {outcome.error_code} != {expected.error_code}")
    if outcome.reason != expected.reason:
        problems.append(f"message {outcome.reason!r} != {expected.reason!r}")
    return "; ".join(problems) or None
