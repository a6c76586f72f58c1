"""results.json: the machine-readable record of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.report.model import ClauseResult, RunResult, TestResult

SCHEMA_VERSION = 1


def run_to_dict(run: RunResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "suite": {"name": "milvus-conformance", "version": run.suite_version},
        "target": {
            "name": run.target_name,
            "address": run.target_address,
            "server_version": run.server_version,
        },
        "profile": run.profile,
        "hypothesis_profile": run.hypothesis_profile,
        "hypothesis_max_examples": run.max_examples,
        "target_log": run.target_log_file,
        "run_id": run.run_id,
        "started": run.started,
        "finished": run.finished,
        "summary": {"ok": run.ok, "counts": run.counts()},
        "clauses": [_clause(c) for c in run.clauses],
    }


def _clause(clause: ClauseResult) -> dict[str, Any]:
    return {
        "id": clause.info.id,
        "section": clause.info.section,
        "kind": clause.info.kind,
        "must": clause.info.must,
        "status": clause.status,
        "driver": ",".join(clause.drivers),
        "drivers": clause.drivers,
        "duration": round(clause.duration, 3),
        "counterexample": clause.counterexample or None,
        "message": clause.message,
        "expectation": clause.expectation,
        "tests": [_test(t) for t in clause.tests],
    }


def _test(test: TestResult) -> dict[str, Any]:
    return {
        "nodeid": test.nodeid,
        "driver": test.driver,
        "status": test.status,
        "duration": round(test.duration, 3),
        "message": test.message,
        "counterexample": test.counterexample or None,
    }


def write_json(run: RunResult, directory: Path) -> Path:
    path = directory / "results.json"
    path.write_text(json.dumps(run_to_dict(run), indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path
