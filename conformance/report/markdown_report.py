"""report.md: a human summary with the clause matrix and every deviation's counterexample."""

from __future__ import annotations

from pathlib import Path

from conformance.report.model import ClauseResult, RunResult

STATUS_MARK = {
    "pass": "✅ pass",
    "fail": "❌ fail",
    "known-deviation": "⚠️ known-deviation",
    "stale-expectation": "❌ stale-expectation",
    "not-applicable": "➖ not-applicable",
    "error": "💥 error",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}"


def render_markdown(run: RunResult) -> str:
    lines = [
        "# Milvus authentication conformance report",
        "",
        f"**{run.summary_line()}**",
        "",
        "| | |",
        "|---|---|",
        f"| Target | `{run.target_name}` at `{run.target_address or '-'}` |",
        f"| Server version | {_cell(run.server_version or 'unknown')} |",
        f"| Profile | `{run.profile}` |",
        f"| Suite version | {run.suite_version} (hypothesis profile `{run.hypothesis_profile}`) |",
        f"| Run | `{run.run_id}`, {run.started} → {run.finished} |",
        *(
            [f"| Target log | [{run.target_log_file}]({run.target_log_file}) (tail) |"]
            if run.target_log_file
            else []
        ),
        "",
        "## Clause matrix",
        "",
        "| Clause | Doc section | Kind | Status | Driver | Time (s) | MUST |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in run.clauses:
        lines.append(
            f"| `{c.info.id}` | {_cell(c.info.section)} | {c.info.kind} | "
            f"{STATUS_MARK[c.status]} | {', '.join(c.drivers) or '-'} | {c.duration:.2f} | "
            f"{_cell(c.info.must)} |"
        )
    details = [c for c in run.clauses if c.status != "pass"]
    if details:
        lines += ["", "## Details", ""]
        for c in details:
            lines += _details(c)
    return "\n".join(lines) + "\n"


def _details(c: ClauseResult) -> list[str]:
    out = [f"### `{c.info.id}`: {c.status}", "", f"*{c.info.section}*: {c.info.must}", ""]
    if c.expectation:
        out += [
            f"Expectation: {c.expectation.get('reason', '')} "
            f"(evidence: {c.expectation.get('evidence', '')})",
            "",
        ]
    if c.message:
        out += [_fence(c.message), ""]
    if c.counterexample:
        out += ["Counterexample:", "", _fence(c.counterexample), ""]
    return out


def write_markdown(run: RunResult, directory: Path) -> Path:
    path = directory / "report.md"
    path.write_text(render_markdown(run), encoding="utf-8")
    return path
