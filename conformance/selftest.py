"""`milvus-conformance selftest`: prove the suite catches every seeded deviation of the reference.

1. Run the whole suite against the clean reference: every clause must pass (or be
   not-applicable for a missing target capability).
2. For each deviation listed by `milvus-reference serve --list-deviations` (a subprocess: this
   package never imports `reference`), run the suite against `milvus-reference serve --deviate
   NAME`, restricted to the clauses the deviation targets plus a cheap sanity set. The
   deviation is *caught* when at least one targeted clause fails. Sanity clauses are only
   reported: some deviations (no root, say) legitimately break them too.
3. Write `selftest.json` and `selftest.md` (the detection matrix) into the report directory.

A deviation may name the reference profile it lives in (the user cap exists only in the real
versions' profiles): its server and suite run in that profile, and the clean reference is also
run there, on those deviations' clauses plus the sanity set.

`--fast` keeps the smallest set of deviations that still targets every clause any deviation
targets (greedy set cover), for CI. Each suite run is a `milvus-conformance run` subprocess,
so runs cannot leak state into each other.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.selftest_probe import CLAUSES_ENV, PROBE_ENV
from conformance.targets.reference import EXTRA_ARGS_ENV

# Quick clauses whose result shows whether a deviated server still works at all.
SANITY_CLAUSES = ("AUTH-ROOT-LISTED", "AUTH-DELETE-MISSING")
RUN_TIMEOUT = 600.0
DEFAULT_PROFILE = "docs-2.1"


@dataclass(frozen=True)
class DeviationInfo:
    name: str
    clauses: tuple[str, ...]
    summary: str
    profile: str = DEFAULT_PROFILE


@dataclass
class SuiteRun:
    label: str
    exit_code: int
    seconds: float
    clause_status: dict[str, str]
    first_failure_seconds: float | None
    examples_to_failure: int | None
    report_dir: Path
    error: str = ""

    def failed(self) -> list[str]:
        return sorted(c for c, s in self.clause_status.items() if s in ("fail", "error"))


@dataclass
class Detection:
    deviation: DeviationInfo
    run: SuiteRun
    caught_by: list[str] = field(default_factory=list)
    missing_clauses: list[str] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)


# ---- subprocess plumbing ----------------------------------------------------------------------


def _reference_command() -> list[str]:
    exe = shutil.which("milvus-reference", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "reference"]


def list_deviations() -> list[DeviationInfo]:
    command = [*_reference_command(), "serve", "--list-deviations"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"milvus-conformance selftest: {shlex.join(command)} failed:\n{done.stderr}"
        )
    return [
        DeviationInfo(
            name=d["name"],
            clauses=tuple(d["clauses"]),
            summary=d.get("summary", ""),
            profile=d.get("profile") or DEFAULT_PROFILE,
        )
        for d in json.loads(done.stdout)
    ]


def run_suite(
    label: str,
    report_dir: Path,
    *,
    server_args: list[str] | None = None,
    clauses: list[str] | None = None,
    hypothesis_profile: str = "ci",
    profile: str = DEFAULT_PROFILE,
) -> SuiteRun:
    report_dir.mkdir(parents=True, exist_ok=True)
    probe_file = report_dir / "probe.json"
    env = dict(os.environ)
    env[EXTRA_ARGS_ENV] = shlex.join(server_args or [])
    env[CLAUSES_ENV] = ",".join(clauses or [])
    env[PROBE_ENV] = str(probe_file)
    command = [
        sys.executable, "-m", "conformance.cli", "run",
        "--target", "reference",
        "--profile", profile,
        "--report", str(report_dir),
        "--hypothesis-profile", hypothesis_profile,
        "--", "-p", "conformance.selftest_probe", "-q",
    ]  # fmt: skip
    started = time.monotonic()
    log = report_dir / "pytest.log"
    with open(log, "wb") as out:
        try:
            proc = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=RUN_TIMEOUT
            )
            exit_code = proc.returncode
        except subprocess.TimeoutExpired:
            exit_code = -1
    seconds = time.monotonic() - started
    return _read_run(label, report_dir, exit_code, seconds)


def _read_run(label: str, report_dir: Path, exit_code: int, seconds: float) -> SuiteRun:
    run = SuiteRun(label, exit_code, round(seconds, 2), {}, None, None, report_dir)
    results = report_dir / "results.json"
    if not results.exists():
        run.error = f"no results.json (exit {exit_code}); see {report_dir / 'pytest.log'}"
        return run
    data = json.loads(results.read_text("utf-8"))
    run.clause_status = {c["id"]: c["status"] for c in data["clauses"]}
    probe_file = report_dir / "probe.json"
    if probe_file.exists():
        tests = json.loads(probe_file.read_text("utf-8"))["tests"]
        failures = [t for t in tests.values() if t["outcome"] != "passed" and t.get("failed_at")]
        if failures:
            first = min(failures, key=lambda t: t["failed_at"])
            run.first_failure_seconds = first["failed_at"]
            run.examples_to_failure = first.get("examples_to_failure")
    return run


def _not_passing(run: SuiteRun) -> dict[str, str]:
    return {c: s for c, s in run.clause_status.items() if s not in ("pass", "not-applicable")}


def profile_clean_problems(run: SuiteRun, targets: set[str]) -> dict[str, str]:
    """What spoils a clean run in a deviation's profile: any clause not passing, and any
    targeted clause that did not pass there (not-applicable or not run would let its
    deviation be 'caught' by nothing)."""
    problems = _not_passing(run)
    problems |= {
        c: run.clause_status.get(c, "not run")
        for c in sorted(targets)
        if run.clause_status.get(c) != "pass"
    }
    return problems


# ---- the matrix -----------------------------------------------------------------------------


def greedy_cover(deviations: list[DeviationInfo]) -> list[DeviationInfo]:
    """Fewest deviations (greedy) that together target every clause any deviation targets."""
    uncovered = {c for d in deviations for c in d.clauses}
    chosen: list[DeviationInfo] = []
    while uncovered:
        best = max(deviations, key=lambda d: (len(uncovered & set(d.clauses)), -len(d.clauses)))
        chosen.append(best)
        uncovered -= set(best.clauses)
    return sorted(chosen, key=lambda d: d.name)


def detect(info: DeviationInfo, run: SuiteRun, catalogue: set[str]) -> Detection:
    """Caught = a clause the deviation targets failed (a harness error does not count)."""
    return Detection(
        deviation=info,
        run=run,
        caught_by=sorted(c for c in info.clauses if run.clause_status.get(c) == "fail"),
        missing_clauses=sorted(set(info.clauses) - catalogue),
    )


def selftest(report: Path, *, fast: bool, only: list[str] | None, whole_suite: bool) -> int:
    report.mkdir(parents=True, exist_ok=True)
    deviations = list_deviations()
    if only:
        unknown = sorted(set(only) - {d.name for d in deviations})
        if unknown:
            print(f"milvus-conformance selftest: unknown deviation(s) {unknown}", file=sys.stderr)
            return 2
        deviations = [d for d in deviations if d.name in only]
    elif fast:
        deviations = greedy_cover(deviations)
    print(f"selftest: clean reference, then {len(deviations)} deviation(s)", flush=True)

    clean = run_suite("clean", report / "clean")
    bad_clean = _not_passing(clean)
    clean_ok = clean.exit_code == 0 and not bad_clean and not clean.error
    print(f"  clean: {'ok' if clean_ok else 'FAILED'} in {clean.seconds:.1f}s", flush=True)
    catalogue = set(clean.clause_status)
    for profile in sorted({d.profile for d in deviations} - {DEFAULT_PROFILE}):
        targets = {c for d in deviations if d.profile == profile for c in d.clauses}
        extra = run_suite(
            f"clean-{profile}", report / f"clean-{profile}",
            clauses=sorted(targets | set(SANITY_CLAUSES)), profile=profile,
        )  # fmt: skip
        bad = profile_clean_problems(extra, targets)
        ok = extra.exit_code == 0 and not bad and not extra.error
        print(f"  clean ({profile}): {'ok' if ok else 'FAILED'} in {extra.seconds:.1f}s")
        clean_ok = clean_ok and ok
        bad_clean |= {f"{c} ({profile})": s for c, s in bad.items()}
        clean.seconds = round(clean.seconds + extra.seconds, 2)

    detections: list[Detection] = []
    for info in deviations:
        clauses = None if whole_suite else sorted({*info.clauses, *SANITY_CLAUSES})
        run = run_suite(
            info.name, report / "deviations" / info.name,
            server_args=["--deviate", info.name], clauses=clauses, profile=info.profile,
        )  # fmt: skip
        found = detect(info, run, catalogue)
        detections.append(found)
        verdict = f"caught by {', '.join(found.caught_by)}" if found.caught else "NOT CAUGHT"
        print(f"  {info.name}: {verdict} ({run.seconds:.1f}s)", flush=True)

    matrix = _matrix(clean, clean_ok, bad_clean, detections, fast=fast, whole_suite=whole_suite)
    (report / "selftest.json").write_text(json.dumps(matrix, indent=2) + "\n", "utf-8")
    (report / "selftest.md").write_text(_markdown(matrix), "utf-8")
    ok = matrix["ok"]
    print(
        f"selftest: {'PASS' if ok else 'FAIL'}: {matrix['summary']['caught']}/"
        f"{matrix['summary']['deviations']} deviations caught, clean reference "
        f"{'passes' if clean_ok else 'FAILS'}; matrix in {report / 'selftest.md'}"
    )
    return 0 if ok else 1


def _matrix(
    clean: SuiteRun,
    clean_ok: bool,
    bad_clean: dict[str, str],
    detections: list[Detection],
    *,
    fast: bool,
    whole_suite: bool,
) -> dict[str, Any]:
    rows = []
    for d in detections:
        sanity = {c: d.run.clause_status.get(c, "not run") for c in SANITY_CLAUSES}
        rows.append(
            {
                "deviation": d.deviation.name,
                "summary": d.deviation.summary,
                "profile": d.deviation.profile,
                "target_clauses": list(d.deviation.clauses),
                "clauses_failed": d.run.failed(),
                "caught": d.caught,
                "caught_by": d.caught_by,
                "missing_from_catalogue": d.missing_clauses,
                "sanity": sanity,
                "time_to_first_failure_s": d.run.first_failure_seconds,
                "hypothesis_examples_to_failure": d.run.examples_to_failure,
                "run_seconds": d.run.seconds,
                "error": d.run.error,
            }
        )
    detect_times = [r["time_to_first_failure_s"] for r in rows if r["caught"]]
    detect_times = [t for t in detect_times if t is not None]
    caught = sum(1 for r in rows if r["caught"])
    return {
        "ok": clean_ok and caught == len(rows),
        "mode": "whole-suite" if whole_suite else "targeted",
        "fast": fast,
        "sanity_clauses": list(SANITY_CLAUSES),
        "clean": {
            "ok": clean_ok,
            "seconds": clean.seconds,
            "not_passing": bad_clean,
            "error": clean.error,
        },
        "summary": {
            "deviations": len(rows),
            "caught": caught,
            "median_time_to_detect_s": statistics.median(detect_times) if detect_times else None,
            "total_seconds": round(clean.seconds + sum(r["run_seconds"] for r in rows), 1),
        },
        "deviations": rows,
    }


def _markdown(matrix: dict[str, Any]) -> str:
    s = matrix["summary"]
    lines = [
        "# Conformance selftest: detection matrix",
        "",
        f"Verdict: **{'PASS' if matrix['ok'] else 'FAIL'}**. Clean reference: "
        f"{'passes' if matrix['clean']['ok'] else 'FAILS ' + json.dumps(matrix['clean'])} "
        f"({matrix['clean']['seconds']} s). Deviations caught: {s['caught']}/{s['deviations']}; "
        f"median time to first failure: {s['median_time_to_detect_s']} s; "
        f"total {s['total_seconds']} s. Mode: {matrix['mode']}"
        f"{' (fast subset)' if matrix['fast'] else ''}; sanity clauses: "
        f"{', '.join(matrix['sanity_clauses'])}.",
        "",
        "| deviation | target clauses | caught | clauses failed | first failure (s) "
        "| Hypothesis examples | run (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in matrix["deviations"]:
        caught = "yes" if r["caught"] else f"**NO** {r['error']}".strip()
        examples = r["hypothesis_examples_to_failure"]
        profile = "" if r["profile"] == DEFAULT_PROFILE else f" ({r['profile']})"
        lines.append(
            f"| `{r['deviation']}`{profile} | {', '.join(r['target_clauses'])} | {caught} "
            f"| {', '.join(r['clauses_failed']) or '-'} | {r['time_to_first_failure_s']} "
            f"| {examples if examples is not None else '-'} | {r['run_seconds']} |"
        )
    return "\n".join(lines) + "\n"


# ---- CLI entry (registered as `milvus-conformance selftest`) --------------------------------


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "selftest", help="run the suite against the reference and every seeded deviation"
    )
    parser.add_argument("--report", metavar="DIR", default="selftest-report")
    parser.add_argument(
        "--fast", action="store_true", help="fewest deviations that still target every clause"
    )
    parser.add_argument(
        "--deviation", action="append", metavar="NAME", help="only these deviations (repeatable)"
    )
    parser.add_argument(
        "--whole-suite",
        action="store_true",
        help="run every clause per deviation instead of its targets plus the sanity set",
    )
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    return selftest(
        Path(args.report), fast=args.fast, only=args.deviation, whole_suite=args.whole_suite
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="milvus-conformance")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
