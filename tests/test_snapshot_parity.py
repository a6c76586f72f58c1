"""Snapshot parity: the reference in profile milvus-2.3 answers every recorded probe exactly as
real Milvus 2.3.5 did (fixtures/snapshots/milvus-2.3.5.json, recorded by scripts/record-snapshots).

Probes marked `parity_excluded` (security holes, the management port, a cache race) are recorded
but not replayed: the reference must never reproduce them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import snapshot_probes as sp  # noqa: E402

PROBES = sp.load_probes()
SNAPSHOT = json.loads(sp.DEFAULT_SNAPSHOT.read_text(encoding="utf-8"))
RECORDED = {entry["id"]: entry for entry in SNAPSHOT["probes"]}
REPLAYED = [(index, probe) for index, probe in enumerate(PROBES) if not probe.parity_excluded]


def test_probe_list_is_large_and_well_formed() -> None:
    assert len(PROBES) >= 60
    for probe in PROBES:
        if probe.parity_excluded:
            assert len(probe.parity_excluded) > 20, f"{probe.id}: give a real reason"


def test_recording_matches_the_probe_file() -> None:
    # A probe edited after recording would compare against stale answers: re-record instead.
    assert SNAPSHOT["probes_sha256"] == sp.probe_file_digest(), (
        "probes.yaml changed since the recording; run scripts/record-snapshots"
    )
    assert [p.id for p in PROBES] == [entry["id"] for entry in SNAPSHOT["probes"]]


def test_normalisation_maps_the_prefix_back_to_the_placeholder() -> None:
    prefix = sp.probe_prefix("ab12", 7)
    assert len(prefix) == sp.PREFIX_LEN
    assert sp.normalise_text(f"user already exists: {prefix}dup", prefix) == (
        "user already exists: {u}dup"
    )


@pytest.fixture(scope="module")
def reference_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sp.reference_server(tmp_path_factory.mktemp("parity-reference"), "milvus-2.3") as address:
        yield address


@pytest.fixture(scope="module")
def runner(reference_address: str) -> sp.ProbeRunner:
    return sp.ProbeRunner(reference_address, root=("root", "Milvus"))


@pytest.mark.parametrize(("index", "probe"), REPLAYED, ids=[p.id for _, p in REPLAYED])
def test_reference_matches_milvus_2_3_5(
    runner: sp.ProbeRunner, index: int, probe: sp.Probe
) -> None:
    replayed = runner.run(probe, index)
    differences = sp.compare(RECORDED[probe.id], replayed)
    assert not differences, "\n".join(differences)
