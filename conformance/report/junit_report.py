"""junit.xml at clause level: one <testcase> per clause, so CI dashboards show clauses."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.report.model import RunResult

# XML 1.0 cannot carry most control characters; counterexamples may contain them (NUL names).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def build_junit(run: RunResult) -> ET.ElementTree:
    counts = run.counts()
    suite = ET.Element(
        "testsuite",
        {
            "name": f"milvus-conformance[{run.profile}]",
            "tests": str(len(run.clauses)),
            "failures": str(counts["fail"] + counts["stale-expectation"]),
            "errors": str(counts["error"]),
            "skipped": str(counts["not-applicable"] + counts["known-deviation"]),
            "time": f"{sum(c.duration for c in run.clauses):.3f}",
            "timestamp": run.started,
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", run.target_name),
        ("address", run.target_address),
        ("server_version", run.server_version),
        ("profile", run.profile),
        ("suite_version", run.suite_version),
    ):
        ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
    for clause in run.clauses:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"conformance.{clause.info.kind}",
                "name": clause.info.id,
                "time": f"{clause.duration:.3f}",
            },
        )
        detail = _clean("\n\n".join(p for p in (clause.message, clause.counterexample) if p))
        if clause.status == "fail":
            node = ET.SubElement(case, "failure", {"message": _clean(clause.info.must)})
            node.text = detail
        elif clause.status == "stale-expectation":
            node = ET.SubElement(case, "failure", {"message": "stale expectation"})
            node.text = detail
        elif clause.status == "error":
            node = ET.SubElement(case, "error", {"message": "harness error"})
            node.text = detail
        elif clause.status == "not-applicable":
            ET.SubElement(case, "skipped", {"message": _clean(f"not-applicable: {detail}")})
        elif clause.status == "known-deviation":
            reason = (clause.expectation or {}).get("reason", "")
            ET.SubElement(case, "skipped", {"message": _clean(f"known-deviation: {reason}")})
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(run: RunResult, directory: Path) -> Path:
    path = directory / "junit.xml"
    build_junit(run).write(path, encoding="utf-8", xml_declaration=True)
    return path
