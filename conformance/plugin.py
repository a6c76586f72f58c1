"""pytest plugin: target launch, clause marker, clause-level results, expectations, reports.

Auto-loaded in every pytest run (entry point `pytest11`), so it stays inert and cheap unless
the run is a conformance run: `--milvus-target` was given or tests of the shipped suite
(conformance/suite) were collected. Heavy imports (pymilvus, hypothesis, reports) happen only then.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.report.model import RunResult, TestResult
    from conformance.targets.base import Target

PROFILES = ("docs-2.1", "milvus-2.3", "milvus-2.6")
DEFAULT_TARGET = "reference"
DEFAULT_REPORT_DIR = "conformance-report"
_NA_PREFIX = "not-applicable: "
_STATE_KEY = pytest.StashKey["_RunState"]()
SUITE_DIR = Path(__file__).resolve().parent / "suite"


class NotApplicable(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """A skip that the report shows as `not-applicable` with its reason."""


def not_applicable(reason: str) -> None:
    """Skip the current test; its clauses are reported not-applicable with `reason`."""
    raise NotApplicable(_NA_PREFIX + reason, _use_item_location=True)


@dataclass(frozen=True)
class ConformanceConfig:
    target_spec: str
    profile: str
    root_user: str
    root_password: str = field(repr=False)  # keep it out of logs and tracebacks
    fresh: bool
    run_id: str
    hypothesis_profile: str
    management_url: str | None
    report_dir: Path
    expectations_file: Path | None
    rest_url: str | None = None  # REST v2 base URL (--milvus-rest-url); None: REST clauses n/a


# ---- options and configuration ---------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("milvus-conformance", "Milvus authentication conformance")
    group.addoption(
        "--milvus-target",
        default=None,
        metavar="T",
        help="reference (default) | grpc://HOST:PORT | milvus-lite | ...",
    )
    group.addoption(
        "--milvus-profile",
        default="docs-2.1",
        choices=PROFILES,
        help="what the clauses compare (default: docs-2.1)",
    )
    group.addoption("--milvus-root-user", default="root", metavar="USER")
    group.addoption("--milvus-root-password", default="Milvus", metavar="PW")
    group.addoption(
        "--milvus-expectations", default=None, metavar="FILE", help="YAML list of known deviations"
    )
    group.addoption(
        "--milvus-report",
        default=None,
        metavar="DIR",
        help=f"report directory (default: ./{DEFAULT_REPORT_DIR})",
    )
    group.addoption("--milvus-hypothesis-profile", default="ci", choices=("ci", "thorough"))
    group.addoption(
        "--milvus-fresh",
        action="store_true",
        default=False,
        help="the grpc:// target is freshly installed (enables fresh-only clauses)",
    )
    group.addoption("--milvus-management-url", default=None, metavar="URL")
    group.addoption(
        "--milvus-rest-url",
        default=None,
        metavar="URL",
        help="REST API v2 base URL, e.g. http://127.0.0.1:19530 (the reference starts its own)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Registered unconditionally: suite modules must collect cleanly under any pytest run.
    config.addinivalue_line(
        "markers", "clause(*ids, driver='wire'|'sdk'): conformance clauses a test checks"
    )
    if config.getoption("--milvus-target") is not None:
        _activate(config)


def _activate(config: pytest.Config) -> _RunState:
    """Turn this session into a conformance run (idempotent)."""
    state = config.stash.get(_STATE_KEY, None)
    if state is not None:
        return state
    from conformance import hypothesis_profiles
    from conformance.report.model import load_clause_infos

    opt = config.getoption
    cfg = ConformanceConfig(
        target_spec=opt("--milvus-target") or DEFAULT_TARGET,
        profile=opt("--milvus-profile"),
        root_user=opt("--milvus-root-user"),
        root_password=opt("--milvus-root-password"),
        fresh=bool(opt("--milvus-fresh")),
        run_id=secrets.token_hex(3),
        hypothesis_profile=opt("--milvus-hypothesis-profile"),
        management_url=opt("--milvus-management-url"),
        report_dir=Path(opt("--milvus-report") or DEFAULT_REPORT_DIR),
        expectations_file=Path(e) if (e := opt("--milvus-expectations")) else None,
        rest_url=opt("--milvus-rest-url"),
    )
    try:
        catalogue = load_clause_infos()
    except Exception as exc:  # any loader failure is a usage problem, not a test result
        raise pytest.UsageError(f"cannot load the clause catalogue: {exc}") from exc
    expectations = []
    if cfg.expectations_file is not None:
        from conformance.expectations import ExpectationsError, load_expectations

        try:
            expectations = load_expectations(
                cfg.expectations_file, [c.id for c in catalogue], PROFILES
            )
        except ExpectationsError as exc:
            raise pytest.UsageError(str(exc)) from exc
    hypothesis_profiles.load(cfg.hypothesis_profile)
    _restore_hypothesis_printer()
    _interrupt_on_sigterm()
    state = _RunState(cfg, catalogue, expectations)
    state.target = _build_target(cfg)  # a bad spec is a usage error, before any test runs
    config.stash[_STATE_KEY] = state
    return state


def _interrupt_on_sigterm() -> None:
    """Treat SIGTERM (CI cancel, `timeout`) like Ctrl-C so session teardown stops the target.

    Python's default SIGTERM action skips `finally` blocks; launched servers would then only
    die through their parent-death signal and leave their temp dirs behind.
    """
    import signal
    import threading

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, interrupt)


def _restore_hypothesis_printer() -> None:
    """Undo a foreign plugin's swap of Hypothesis's example printer.

    schemathesis (its auto-loaded pytest plugin, and any run of it) replaces it with one that
    prints nothing: falsifying examples then read `n=,`, and a conformance report without
    counterexamples is useless.
    """
    from hypothesis import core
    from hypothesis.vendor import pretty

    if getattr(core, "RepresentationPrinter", pretty.RepresentationPrinter) is not (
        pretty.RepresentationPrinter
    ):
        core.RepresentationPrinter = pretty.RepresentationPrinter  # type: ignore[attr-defined]


def _build_target(cfg: ConformanceConfig) -> Target:
    from conformance.targets import TargetError, TargetOptions, make_target

    options = TargetOptions(
        profile=cfg.profile,
        root_user=cfg.root_user,
        root_password=cfg.root_password,
        fresh=cfg.fresh,
        management_url=cfg.management_url,
    )
    try:
        return make_target(cfg.target_spec, options)
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from exc


def _state(config: pytest.Config) -> _RunState | None:
    return config.stash.get(_STATE_KEY, None)


class _RunState:
    def __init__(self, cfg: ConformanceConfig, catalogue: list[Any], expectations: list[Any]):
        self.cfg = cfg
        self.catalogue = catalogue
        self.expectations = expectations
        self.started = _now()
        self.results: dict[str, TestResult] = {}
        self.declared: set[str] = set()  # clause ids on any collected test, before -k/-m
        self.selected: set[str] = set()
        self.whole_suite = False  # the shipped suite dir was collected as a whole
        self.marker_errors: dict[str, list[str]] = {}
        self.target: Target | None = None
        self.target_address = ""
        self.server_version = ""
        self.target_log = ""
        self.summary_lines: list[str] = []


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---- collection -----------------------------------------------------------------------------


def _clause_marker(item: pytest.Item) -> tuple[tuple[str, ...], str] | None:
    ids: list[str] = []
    driver = ""
    for mark in item.iter_markers("clause"):
        ids.extend(str(a) for a in mark.args)
        driver = driver or str(mark.kwargs.get("driver", ""))
    return (tuple(dict.fromkeys(ids)), driver) if ids else None


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    marked = [(item, m) for item in items if (m := _clause_marker(item)) is not None]
    state = _state(config)
    if state is None and any(SUITE_DIR in item.path.parents for item, _ in marked):
        state = _activate(config)  # running the shipped suite: `reference` is the default
    if state is not None:
        for _, (ids, _driver) in marked:
            state.declared.update(ids)
    result = yield  # -k / -m deselection happens in the inner hooks
    if state is not None:
        known = {c.id for c in state.catalogue}
        for item in items:
            marker = _clause_marker(item)
            if marker is None:
                continue
            state.selected.update(marker[0])
            for unknown in sorted(set(marker[0]) - known):
                state.marker_errors.setdefault(unknown, []).append(item.nodeid)
        state.narrowed = bool(config.getoption("keyword") or config.getoption("markexpr")) or any(
            "::" in str(a) for a in config.args
        )
    return result


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items and (state := _state(items[0].config)) is not None:
        state.narrowed = True


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def conformance_config(request: pytest.FixtureRequest) -> ConformanceConfig:
    return _activate(request.config).cfg


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, conformance_config: ConformanceConfig) -> Iterator[Any]:
    state = _activate(request.config)
    started = state.target
    assert started is not None
    try:
        started.start()
        yield started
    finally:  # also runs on failures and Ctrl-C (pytest tears down the session on interrupt)
        _record_version(state)
        _record_log_tail(state)  # before stop(): it removes the dir / the container
        started.stop()


@pytest.fixture(autouse=True)
def _clause_capabilities(request: pytest.FixtureRequest) -> None:
    """Clauses needing a capability the target lacks are not-applicable, with the reason.

    Autouse in every pytest run, so it returns at once for tests without a clause marker.
    """
    marker = _clause_marker(request.node)
    state = _state(request.config)
    if marker is None or state is None:
        return
    needs = {c.id: c.capabilities for c in state.catalogue if c.id in marker[0]}
    if not any(needs.values()):
        return
    started = request.getfixturevalue("target")
    for clause_id, capabilities in needs.items():
        missing = [cap for cap in capabilities if not started.has(cap)]
        if missing:
            hint = (
                " (pass --fresh if the server is freshly installed)" if "fresh" in missing else ""
            )
            not_applicable(
                f"{clause_id} needs target capability {', '.join(missing)}; "
                f"target {started.name} lacks it{hint}"
            )


TARGET_LOG_LINES = 200


def _record_log_tail(state: _RunState) -> None:
    """Keep the target's log tail; the report writes it out only if a clause failed."""
    if state.target is None:
        return
    try:
        state.target_log = state.target.log_tail(TARGET_LOG_LINES)
    except Exception as exc:  # best effort: never mask the run's real outcome
        state.target_log = f"(target log unavailable: {type(exc).__name__}: {exc})"


def _record_version(state: _RunState) -> None:
    """Read the version while the target still runs (called just before it is stopped)."""
    if state.target is None or state.server_version or not state.target.address:
        return
    from conformance.report.server_version import fetch_server_version

    state.target_address = state.target.address
    state.server_version = fetch_server_version(
        state.target.address, state.cfg.root_user, state.cfg.root_password
    )


# ---- per-test outcomes -----------------------------------------------------------------------


def _is_harness_error(exc: BaseException) -> bool:
    # Matched by name so a HarnessError defined by drivers/fixtures counts too.
    return any(cls.__name__ == "HarnessError" for cls in type(exc).__mro__)


def _notes(exc: BaseException) -> str:
    """Hypothesis attaches the falsifying example (and stateful step list) as notes."""
    notes = [str(n) for n in getattr(exc, "__notes__", [])]
    return "\n".join(n for n in notes if n.strip())


def _exc_message(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join(_exc_message(e) for e in exc.exceptions)
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, AssertionError) else text


def _exc_counterexample(exc: BaseException) -> str:
    parts = [_notes(exc)]
    if isinstance(exc, BaseExceptionGroup):
        parts += [_exc_counterexample(e) for e in exc.exceptions]
    return "\n".join(p for p in parts if p)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # schemathesis swaps the printer again whenever a test drives it; re-check before each test.
    if _state(item.config) is not None and _clause_marker(item) is not None:
        _restore_hypothesis_printer()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    state = _state(item.config)
    marker = _clause_marker(item) if state is not None else None
    if state is None or marker is None:
        return report
    ids, driver = marker
    from conformance.report.model import TestResult

    result = state.results.get(item.nodeid)
    if result is None:
        result = state.results[item.nodeid] = TestResult(item.nodeid, ids, driver, "pass")
    result.duration += report.duration
    if report.skipped:
        if result.status == "pass":
            result.status = "not-applicable"
            exc = call.excinfo.value if call.excinfo is not None else None
            result.message = _skip_reason(exc, report)
    elif report.failed:
        exc = call.excinfo.value if call.excinfo is not None else None
        harness = report.when != "call" or (exc is not None and _is_harness_error(exc))
        if result.status in ("pass", "not-applicable"):
            result.status = "error" if harness else "fail"
            result.message = _exc_message(exc) if exc is not None else str(report.longrepr)
            if report.when != "call":
                result.message = f"harness error during {report.when}: {result.message}"
            result.counterexample = _exc_counterexample(exc) if exc is not None else ""
    return report


def _skip_reason(exc: BaseException | None, report: pytest.TestReport) -> str:
    if isinstance(exc, pytest.skip.Exception):
        message = str(exc.msg)
    else:  # e.g. a skip marker: no exception object in hand
        longrepr = report.longrepr
        message = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        message = message.removeprefix("Skipped: ")
    return message.removeprefix(_NA_PREFIX)


# ---- session end: aggregate, apply expectations, report, exit status ------------------------


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state(session.config)
    if state is None:
        return
    with contextlib.suppress(Exception):
        _record_version(state)
    run = build_run(state)
    from conformance.report import write_reports

    paths = write_reports(run, state.cfg.report_dir)
    state.summary_lines = [run.summary_line(), f"milvus-conformance: reports in {paths[0].parent}"]
    if session.config.pluginmanager.get_plugin("terminalreporter") is None:
        print("\n".join(state.summary_lines))
    if int(exitstatus) in (
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        session.exitstatus = pytest.ExitCode.OK if run.ok else pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    state = _state(terminalreporter.config)
    if state is not None and state.summary_lines:
        terminalreporter.ensure_newline()
        for line in state.summary_lines:
            terminalreporter.write_line(line, bold=True)


def build_run(state: _RunState) -> RunResult:
    from conformance.expectations import apply_expectations
    from conformance.report.model import ClauseInfo, ClauseResult, RunResult, aggregate

    by_clause: dict[str, list[TestResult]] = {}
    for test in state.results.values():
        for clause_id in test.clause_ids:
            by_clause.setdefault(clause_id, []).append(test)
    clauses: list[ClauseResult] = []
    for info in state.catalogue:
        tests = by_clause.get(info.id, [])
        if not tests and info.id not in state.declared and state.whole_suite:
            clauses.append(ClauseResult(info, "error", message="no test declares this clause"))
            continue
        clauses.append(aggregate(info, tests, "not selected"))
    for unknown, nodeids in sorted(state.marker_errors.items()):
        info = ClauseInfo(unknown, "", "unknown", "(not in the clause catalogue)")
        message = "clause marker names an id missing from the catalogue: " + ", ".join(nodeids)
        clauses.append(ClauseResult(info, "error", message=message))
    clauses = apply_expectations(clauses, state.expectations, state.cfg.profile)
    target = state.target
    from importlib.metadata import PackageNotFoundError, version

    try:
        suite_version = version("milvus-conformance")
    except PackageNotFoundError:
        suite_version = "unknown"
    return RunResult(
        target_name=target.name if target is not None else state.cfg.target_spec,
        target_address=state.target_address,
        server_version=state.server_version or "unknown (target not started)",
        profile=state.cfg.profile,
        suite_version=suite_version,
        hypothesis_profile=state.cfg.hypothesis_profile,
        run_id=state.cfg.run_id,
        started=state.started,
        finished=_now(),
        clauses=clauses,
        target_log=state.target_log,
        max_examples=_max_examples(),
    )


def _max_examples() -> int | None:
    from hypothesis import settings

    return settings.default.max_examples if settings.default is not None else None
