"""pytest plugin used by `milvus-conformance selftest` inside each suite run (`-p` loaded).

It does two things, both driven by environment variables so `milvus-conformance run` needs no
new options:
* MILVUS_CONFORMANCE_SELFTEST_CLAUSES="ID,ID": deselect every test that checks none of them;
* MILVUS_CONFORMANCE_PROBE_FILE=PATH: write per-test timing, outcome and the number of
  Hypothesis examples run before the first failing one (via Hypothesis observability).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

CLAUSES_ENV = "MILVUS_CONFORMANCE_SELFTEST_CLAUSES"
PROBE_ENV = "MILVUS_CONFORMANCE_PROBE_FILE"


def _clause_ids(item: pytest.Item) -> list[str]:
    return [str(a) for mark in item.iter_markers("clause") for a in mark.args]


class _Probe:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = time.monotonic()
        self.current: str | None = None
        self.tests: dict[str, dict[str, Any]] = {}

    def observe(self, observation: Any) -> None:
        if getattr(observation, "type", "") != "test_case" or self.current is None:
            return
        record = self.tests[self.current]
        record["examples"] += 1
        if observation.status == "failed" and record["examples_to_failure"] is None:
            record["examples_to_failure"] = record["examples"]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.current = item.nodeid
        self.tests.setdefault(
            item.nodeid,
            {
                "clauses": _clause_ids(item),
                "outcome": "passed",
                "finished": None,
                "examples": 0,
                "examples_to_failure": None,
            },
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.tests.get(report.nodeid)
        if record is None:
            return
        if report.failed and record["outcome"] == "passed":
            record["outcome"] = "failed" if report.when == "call" else "error"
            record["failed_at"] = round(time.monotonic() - self.started, 3)
            if record["examples_to_failure"] is None and record["examples"]:
                # A failing explicit @example is not always delivered as a "failed"
                # observation: then count every example run up to the failure.
                record["examples_to_failure"] = record["examples"]
        if report.when == "teardown":
            record["finished"] = round(time.monotonic() - self.started, 3)
            self.current = None

    def pytest_sessionfinish(self) -> None:
        self.path.write_text(json.dumps({"tests": self.tests}, indent=1), "utf-8")


@pytest.hookimpl(trylast=True)  # after the conformance plugin loaded its Hypothesis profile
def pytest_configure(config: pytest.Config) -> None:
    probe_file = os.environ.get(PROBE_ENV)
    if not probe_file:
        return
    probe = _Probe(Path(probe_file))
    config.pluginmanager.register(probe, "milvus-selftest-probe")
    from hypothesis import Phase, settings
    from hypothesis.internal import observability

    # Detection needs the first failure, not a minimal one: skip shrinking so a caught
    # deviation does not spend minutes minimising its counterexample.
    current = settings()
    settings.register_profile(
        "selftest", parent=current, phases=[p for p in current.phases if p != Phase.shrink]
    )
    settings.load_profile("selftest")
    # Only the counts are wanted: skip Hypothesis's per-example coverage tracing (read at run
    # time from this module attribute; the env-var switch would also write files to .hypothesis/).
    observability.OBSERVABILITY_COLLECT_COVERAGE = False
    observability.add_observability_callback(probe.observe)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {c for c in os.environ.get(CLAUSES_ENV, "").split(",") if c}
    if not wanted:
        return
    keep = [item for item in items if wanted & set(_clause_ids(item))]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
