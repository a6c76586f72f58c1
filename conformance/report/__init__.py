"""Report writers, one module per format. `write_reports` writes them all."""

from __future__ import annotations

from pathlib import Path

from conformance.report.html_report import write_html
from conformance.report.json_report import write_json
from conformance.report.junit_report import write_junit
from conformance.report.markdown_report import write_markdown
from conformance.report.model import TARGET_LOG_FILE, RunResult

WRITERS = (write_json, write_junit, write_markdown, write_html)


def write_reports(run: RunResult, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [writer(run, directory) for writer in WRITERS]
    log_path = directory / TARGET_LOG_FILE
    if run.target_log_file is not None:  # a failure: the server's side of the story
        log_path.write_text(run.target_log.rstrip("\n") + "\n", encoding="utf-8")
        paths.append(log_path)
    else:
        log_path.unlink(missing_ok=True)  # never leave a previous run's log beside this report
    return paths
