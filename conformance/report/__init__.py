"""Report writers, one module per format. `write_reports` writes them all."""

from __future__ import annotations

from pathlib import Path

from conformance.report.html_report import write_html
from conformance.report.json_report import write_json
from conformance.report.junit_report import write_junit
from conformance.report.markdown_report import write_markdown
from conformance.report.model import RunResult

WRITERS = (write_json, write_junit, write_markdown, write_html)


def write_reports(run: RunResult, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [writer(run, directory) for writer in WRITERS]
