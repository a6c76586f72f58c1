"""The clause catalogue is valid and every clause has a suite test (and vice versa)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conformance.catalogue import (
    CatalogueError,
    catalogue,
    check_references,
    parse_catalogue,
    uncovered,
)

SUITE = Path(__file__).resolve().parents[2] / "conformance" / "suite"


def _declared_clause_ids() -> set[str]:
    ids: set[str] = set()
    for path in SUITE.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "clause"
            ):
                ids.update(a.value for a in node.args if isinstance(a, ast.Constant))
    return ids


def test_catalogue_size_and_kinds() -> None:
    clauses = catalogue()
    assert len([c for c in clauses.values() if c.kind == "doc"]) >= 15
    assert all(c.evidence for c in clauses.values() if c.kind == "observed")


def test_every_clause_is_tested_and_every_reference_exists() -> None:
    declared = _declared_clause_ids()
    check_references(declared)
    auth = {cid for cid in catalogue() if cid.startswith("AUTH-")}
    assert not [cid for cid in uncovered(declared) if cid in auth]


@pytest.mark.parametrize(
    "data",
    [
        {"clauses": [{"id": "AUTH-X", "section": "s", "kind": "doc", "must": "x MUST y"}]},
        {"clauses": [{"id": "bad", "section": "s", "kind": "doc", "must": "MUST", "params": []}]},
        {
            "clauses": [
                {"id": "A-B", "section": "s", "kind": "observed", "must": "MUST", "params": []}
            ]
        },
        {"clauses": [{"id": "A-B", "section": "s", "kind": "doc", "must": "should", "params": []}]},
    ],
)
def test_invalid_catalogues_are_rejected(data) -> None:
    with pytest.raises(CatalogueError):
        parse_catalogue(data)


def test_duplicate_ids_rejected() -> None:
    entry = {"id": "A-B", "section": "s", "kind": "doc", "must": "MUST", "params": []}
    with pytest.raises(CatalogueError, match="duplicate"):
        parse_catalogue({"clauses": [entry, dict(entry)]})


def test_unknown_reference_rejected() -> None:
    with pytest.raises(CatalogueError, match="NOPE-X"):
        check_references(["NOPE-X"])


def test_catalogue_merges_every_area_file_and_rejects_ids_defined_twice(
    tmp_path, monkeypatch
) -> None:
    import conformance.catalogue as cat

    entry = (
        "  - id: {id}\n    section: Limitations\n    kind: doc\n"
        "    must: A server MUST do it.\n    params: []\n"
    )
    (tmp_path / "clauses.yaml").write_text("clauses:\n" + entry.format(id="AUTH-ONE"))
    (tmp_path / "clauses_more.yaml").write_text("clauses:\n" + entry.format(id="VEC-TWO"))
    monkeypatch.setattr(cat, "CATALOGUE_DIR", tmp_path)
    monkeypatch.setattr(cat, "CATALOGUE_PATH", tmp_path / "clauses.yaml")
    assert sorted(cat.load_catalogue()) == ["AUTH-ONE", "VEC-TWO"]

    (tmp_path / "clauses_dup.yaml").write_text("clauses:\n" + entry.format(id="AUTH-ONE"))
    with pytest.raises(cat.CatalogueError, match=r"clauses_dup\.yaml: clause ids already defined"):
        cat.load_catalogue()


def test_every_area_file_is_in_the_packaged_catalogue() -> None:
    from conformance.catalogue import catalogue_files, load_catalogue

    names = {p.name for p in catalogue_files()}
    assert {"clauses.yaml", "clauses_vector.yaml", "clauses_rest.yaml"} <= names
    ids = load_catalogue()
    assert any(i.startswith("VEC-") for i in ids) and any(i.startswith("REST-") for i in ids)
