"""Result model: per-test outcomes, their aggregation into clause results, and the run record.

Statuses (docs/ARCHITECTURE.md): pass | fail | known-deviation | stale-expectation |
not-applicable | error. `error` always means the harness failed, never the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

TestStatus = Literal["pass", "fail", "error", "not-applicable"]
Status = Literal["pass", "fail", "known-deviation", "stale-expectation", "not-applicable", "error"]
STATUSES: tuple[Status, ...] = (
    "pass",
    "fail",
    "known-deviation",
    "stale-expectation",
    "not-applicable",
    "error",
)
FAILING: frozenset[str] = frozenset({"fail", "error", "stale-expectation"})

# When several tests check one clause, the most alarming outcome wins: a target deviation is
# certain evidence, a harness error is an unknown, and not-applicable only if nothing ran.
_PRECEDENCE: dict[str, int] = {"fail": 3, "error": 2, "pass": 1, "not-applicable": 0}


@dataclass(frozen=True)
class ClauseInfo:
    id: str
    section: str
    kind: str  # "doc" | "observed"
    must: str
    params: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()  # target capabilities needed, e.g. "restart"


@dataclass
class TestResult:
    __test__: ClassVar[bool] = False  # not a pytest test class despite the name

    nodeid: str
    clause_ids: tuple[str, ...]
    driver: str
    status: TestStatus
    duration: float = 0.0
    message: str = ""
    counterexample: str = ""


@dataclass
class ClauseResult:
    info: ClauseInfo
    status: Status
    tests: list[TestResult] = field(default_factory=list)
    message: str = ""
    counterexample: str = ""
    expectation: dict[str, str | bool] | None = None

    @property
    def drivers(self) -> list[str]:
        return sorted({t.driver for t in self.tests if t.driver})

    @property
    def duration(self) -> float:
        return sum(t.duration for t in self.tests)


TARGET_LOG_FILE = "target-log.txt"


@dataclass
class RunResult:
    target_name: str
    target_address: str
    server_version: str
    profile: str
    suite_version: str
    hypothesis_profile: str
    run_id: str
    started: str
    finished: str
    clauses: list[ClauseResult]
    # The target's log tail, taken just before it was stopped (docker: the container's log).
    target_log: str = ""
    # settings.default.max_examples of the run; tests scale it (see suite/support.scaled).
    max_examples: int | None = None

    @property
    def target_log_file(self) -> str | None:
        """File name of the log tail in the report dir; only kept when a clause failed/errored."""
        if self.target_log and any(c.status in ("fail", "error") for c in self.clauses):
            return TARGET_LOG_FILE
        return None

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for clause in self.clauses:
            counts[clause.status] += 1
        return counts

    @property
    def ok(self) -> bool:
        return not any(c.status in FAILING for c in self.clauses)

    def summary_line(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        verdict = "CONFORMS" if self.ok else "DOES NOT CONFORM"
        return (
            f"milvus-conformance: {verdict}: {len(self.clauses)} clauses ({counts}) "
            f"target={self.target_name} profile={self.profile}"
        )


def aggregate(info: ClauseInfo, tests: list[TestResult], unselected_reason: str) -> ClauseResult:
    """One clause's status from the tests that checked it (before expectations)."""
    if not tests:
        return ClauseResult(info, "not-applicable", message=unselected_reason)
    worst = max(tests, key=lambda t: _PRECEDENCE[t.status])
    status: Status = worst.status
    if status == "not-applicable":
        reasons = sorted({t.message for t in tests if t.message})
        return ClauseResult(info, status, list(tests), message="; ".join(reasons))
    culprits = [t for t in tests if t.status == status] if status != "pass" else []
    message = "\n".join(f"{t.nodeid}: {t.message}" for t in culprits if t.message)
    counterexample = "\n\n".join(t.counterexample for t in culprits if t.counterexample)
    return ClauseResult(info, status, list(tests), message=message, counterexample=counterexample)


# ---- catalogue access ------------------------------------------------------------------------


def load_clause_infos() -> list[ClauseInfo]:
    """The packaged clause catalogue as report rows, in catalogue order."""
    from conformance.catalogue import load_catalogue

    return [
        ClauseInfo(
            id=c.id,
            section=c.section,
            kind=c.kind,
            must=" ".join(c.must.split()),
            params=c.params,
            capabilities=c.capabilities,
        )
        for c in load_catalogue().values()
    ]
