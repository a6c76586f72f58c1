"""The suite must judge the reference without sharing code with it, and the reverse.

Parses every module's imports (static, so lazy imports inside functions count too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_top_level_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value.split(".")[0])
    return names


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in {"import_module", "__import__"} and bool(node.args)


@pytest.mark.parametrize(
    ("package", "forbidden"), [("reference", "conformance"), ("conformance", "reference")]
)
def test_packages_never_import_each_other(package: str, forbidden: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"{package}/ has no modules"
    offenders = [
        str(path.relative_to(ROOT))
        for path in modules
        if forbidden in imported_top_level_packages(path)
    ]
    assert offenders == [], f"{package} imports {forbidden} in: {offenders}"


def test_detector_sees_plain_lazy_and_dynamic_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "def f():\n"
        "    from reference.domain import errors\n"
        "    importlib.import_module('conformance.oracle')\n"
    )
    assert {"os", "reference", "conformance"} <= imported_top_level_packages(sample)
