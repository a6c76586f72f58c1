"""report.html: self-contained (inline CSS, no scripts, no external assets)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from conformance.report.model import ClauseResult, RunResult

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.pass{background:#e6f4ea}.fail,.stale-expectation{background:#fde8e8}
.error{background:#fbe3f7}.known-deviation{background:#fff4d6}.not-applicable{background:#f1f1f1}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;white-space:pre-wrap}
.summary{font-size:1.1em;font-weight:bold}
"""


def _e(text: str) -> str:
    return escape(text, quote=True)


def render_html(run: RunResult) -> str:
    rows = "\n".join(_row(c) for c in run.clauses)
    details = "\n".join(_details(c) for c in run.clauses if c.status != "pass")
    meta = [
        ("Target", f"{run.target_name} at {run.target_address or '-'}"),
        ("Server version", run.server_version or "unknown"),
        ("Profile", run.profile),
        ("Suite version", f"{run.suite_version} (hypothesis profile {run.hypothesis_profile})"),
        ("Run", f"{run.run_id}, {run.started} → {run.finished}"),
    ]
    meta_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in meta)
    if run.target_log_file:
        link = f'<a href="{_e(run.target_log_file)}">{_e(run.target_log_file)}</a> (tail)'
        meta_rows += f"<tr><th>Target log</th><td>{link}</td></tr>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Milvus authentication conformance: {_e(run.target_name)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Milvus authentication conformance report</h1>
<p class="summary">{_e(run.summary_line())}</p>
<table>{meta_rows}</table>
<h2>Clause matrix</h2>
<table>
<tr><th>Clause</th><th>Doc section</th><th>Kind</th><th>Status</th><th>Driver</th>
<th>Time (s)</th><th>MUST</th></tr>
{rows}
</table>
<h2>Details</h2>
{details or "<p>Every clause passed.</p>"}
</body></html>
"""


def _row(c: ClauseResult) -> str:
    target = (
        f'<a href="#{_e(c.info.id)}">{_e(c.info.id)}</a>' if c.status != "pass" else (_e(c.info.id))
    )
    return (
        f'<tr class="{_e(c.status)}"><td><code>{target}</code></td>'
        f"<td>{_e(c.info.section)}</td><td>{_e(c.info.kind)}</td><td>{_e(c.status)}</td>"
        f"<td>{_e(', '.join(c.drivers) or '-')}</td><td>{c.duration:.2f}</td>"
        f"<td>{_e(c.info.must)}</td></tr>"
    )


def _details(c: ClauseResult) -> str:
    parts = [
        f'<h3 id="{_e(c.info.id)}" class="{_e(c.status)}">{_e(c.info.id)}: {_e(c.status)}</h3>',
        f"<p><em>{_e(c.info.section)}</em>: {_e(c.info.must)}</p>",
    ]
    if c.expectation:
        parts.append(
            f"<p>Expectation: {_e(c.expectation.get('reason', ''))} "
            f"(evidence: {_e(c.expectation.get('evidence', ''))})</p>"
        )
    if c.message:
        parts.append(f"<pre>{_e(c.message)}</pre>")
    if c.counterexample:
        parts.append(f"<p>Counterexample:</p><pre>{_e(c.counterexample)}</pre>")
    return "\n".join(parts)


def write_html(run: RunResult, directory: Path) -> Path:
    path = directory / "report.html"
    path.write_text(render_html(run), encoding="utf-8")
    return path
