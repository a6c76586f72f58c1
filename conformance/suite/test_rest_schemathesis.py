"""schemathesis against the REST v2 surface with valid credentials (observed §8.2): single
operations, then link-driven sequences. No 5xx, every answer conforms to our OpenAPI document.
Findings carry the reproducing curl command."""

# The REST fixtures live in rest_support (conftest.py belongs to the gRPC suite); importing them
# here registers them, and test parameters then "redefine" the imported names.
# ruff: noqa: F811

from __future__ import annotations

import time
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from conformance.drivers.rest import RestClient, bearer, openapi_document
from conformance.suite.rest_support import rest, rest_root, rest_url  # noqa: F401

try:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    CHECKS = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
except ImportError:  # the 'rest' extra is absent: the clause reports not-applicable
    schemathesis = None
    CHECKS = []
EXAMPLES = {"ci": 15, "thorough": 100}  # per operation
STATEFUL = {"ci": (8, 8), "thorough": (40, 15)}  # (scenarios, steps per scenario)
TIME_BUDGET = {"ci": 90.0, "thorough": 600.0}  # seconds, whole clause


def _settings(examples: int, **extra: Any) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        **extra,
    )


class _Stats:
    def __init__(self) -> None:
        self.cases = 0
        self.findings: list[str] = []


def _run_operation(
    op: Any, url: str, headers: dict[str, str], examples: int, stats: _Stats
) -> None:
    @_settings(examples)
    @hypothesis.given(data=st.data())
    def run(data: Any) -> None:
        case = data.draw(op.as_strategy())
        response = case.call(base_url=url, headers=headers)
        stats.cases += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    except Exception as error:  # FailureGroup and friends: the message holds the curl command
        stats.findings.append(f"{op.label}:\n{error}")


def _run_stateful(
    schema: Any, url: str, headers: dict[str, str], profile: str, stats: _Stats
) -> None:
    scenarios, steps = STATEFUL[profile]

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": url, "headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            stats.cases += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        Machine.run(settings=_settings(scenarios, stateful_step_count=steps))
    except Exception as error:
        stats.findings.append(f"stateful (links):\n{error}")


def _cleanup(root: RestClient, users_before: set[str], collections_before: set[str]) -> None:
    """Generated requests may create users and collections; remove what the run added."""
    for name in set(root.list_users().data or []) - users_before:
        root.drop_user(name)
    listed = root.post("/collections/list", {})
    for name in set(listed.data or []) - collections_before:
        root.post("/collections/drop", {"collectionName": name})


@pytest.mark.clause("REST-SCHEMA-FUZZ", driver="rest")
def test_schemathesis_finds_no_server_error_or_schema_violation(
    rest_url: str, rest_root: RestClient, root_session: Any, conformance_config: Any
) -> None:
    profile = conformance_config.hypothesis_profile
    headers = {"Authorization": bearer(root_session.user, root_session.password)}
    schema = schemathesis.openapi.from_dict(openapi_document())
    users_before = set(rest_root.list_users().data or [])
    collections_before = set(rest_root.post("/collections/list", {}).data or [])
    stats = _Stats()
    started = time.monotonic()
    budget = TIME_BUDGET[profile]
    skipped: list[str] = []
    try:
        for result in schema.get_all_operations():
            op = result.ok()
            if time.monotonic() - started > budget:
                skipped.append(op.label)
                continue
            _run_operation(op, rest_url, headers, EXAMPLES[profile], stats)
        if time.monotonic() - started <= budget:
            _run_stateful(schema, rest_url, headers, profile, stats)
        else:
            skipped.append("stateful")
    finally:
        _cleanup(rest_root, users_before, collections_before)
    elapsed = time.monotonic() - started
    summary = f"schemathesis: {stats.cases} cases in {elapsed:.1f}s"
    print(summary)
    assert not stats.findings, summary + "\n\n" + "\n\n".join(stats.findings)
    assert not skipped, f"{summary}; time budget {budget:.0f}s exhausted before: {skipped}"
