"""Load and validate the clause catalogue: every conformance/clauses*.yaml file, merged.

One file per area (auth in clauses.yaml, vector core, REST) keeps each file reviewable; ids stay
unique across all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

CATALOGUE_DIR = Path(__file__).resolve().parent
CATALOGUE_PATH = CATALOGUE_DIR / "clauses.yaml"
CLAUSE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
KNOWN_CAPABILITIES = frozenset({"fresh", "restart", "auth_off", "management_port", "spawn_fresh"})
REQUIRED = ("id", "section", "kind", "must", "params")


class CatalogueError(ValueError):
    """The catalogue (or a reference to it) is invalid."""


@dataclass(frozen=True)
class Clause:
    id: str
    section: str
    kind: Literal["doc", "observed"]
    must: str
    params: tuple[str, ...]
    capabilities: tuple[str, ...] = ()
    evidence: str | None = None


def _clause(entry: Any, index: int) -> Clause:
    if not isinstance(entry, dict):
        raise CatalogueError(f"clause #{index} is not a mapping")
    missing = [key for key in REQUIRED if key not in entry]
    if missing:
        raise CatalogueError(f"clause #{index} ({entry.get('id', '?')}): missing {missing}")
    cid = str(entry["id"])
    if not CLAUSE_ID.match(cid):
        raise CatalogueError(f"clause id {cid!r} is not of the form AREA-NAME")
    kind = entry["kind"]
    if kind not in ("doc", "observed"):
        raise CatalogueError(f"{cid}: kind must be doc|observed, got {kind!r}")
    evidence = entry.get("evidence")
    if kind == "observed" and not evidence:
        raise CatalogueError(f"{cid}: observed clauses need evidence")
    must = str(entry["must"])
    if "MUST" not in must:
        raise CatalogueError(f"{cid}: 'must' has to be phrased in MUST form")
    capabilities = tuple(entry.get("capabilities") or ())
    unknown = set(capabilities) - KNOWN_CAPABILITIES
    if unknown:
        raise CatalogueError(f"{cid}: unknown capabilities {sorted(unknown)}")
    return Clause(
        id=cid,
        section=str(entry["section"]),
        kind=kind,
        must=must,
        params=tuple(str(p) for p in entry["params"] or ()),
        capabilities=capabilities,
        evidence=str(evidence) if evidence else None,
    )


def parse_catalogue(data: Any) -> dict[str, Clause]:
    if not isinstance(data, dict) or not isinstance(data.get("clauses"), list):
        raise CatalogueError("catalogue must be a mapping with a 'clauses' list")
    clauses: dict[str, Clause] = {}
    for index, entry in enumerate(data["clauses"]):
        clause = _clause(entry, index)
        if clause.id in clauses:
            raise CatalogueError(f"duplicate clause id {clause.id}")
        clauses[clause.id] = clause
    return clauses


def catalogue_files() -> list[Path]:
    """The packaged catalogue files, the auth catalogue first."""
    others = sorted(p for p in CATALOGUE_DIR.glob("clauses*.yaml") if p != CATALOGUE_PATH)
    return [CATALOGUE_PATH, *others]


def load_catalogue(path: Path | None = None) -> dict[str, Clause]:
    """One file when `path` is given, else every packaged catalogue file merged."""
    merged: dict[str, Clause] = {}
    for file in [path] if path is not None else catalogue_files():
        with file.open(encoding="utf-8") as fh:
            try:
                clauses = parse_catalogue(yaml.safe_load(fh))
            except CatalogueError as exc:
                raise CatalogueError(f"{file.name}: {exc}") from None
        clash = sorted(set(clauses) & set(merged))
        if clash:
            raise CatalogueError(f"{file.name}: clause ids already defined: {', '.join(clash)}")
        merged.update(clauses)
    return merged


@cache
def catalogue() -> dict[str, Clause]:
    """The packaged catalogue, loaded once."""
    return load_catalogue()


def check_references(ids: Iterable[str], clauses: dict[str, Clause] | None = None) -> None:
    """Raise if any id referenced by a test is not in the catalogue."""
    known = catalogue() if clauses is None else clauses
    unknown = sorted(set(ids) - set(known))
    if unknown:
        raise CatalogueError(f"tests reference unknown clause ids: {', '.join(unknown)}")


def uncovered(ids: Iterable[str], clauses: dict[str, Clause] | None = None) -> list[str]:
    """Catalogue clauses that no test declares."""
    known = catalogue() if clauses is None else clauses
    return sorted(set(known) - set(ids))
