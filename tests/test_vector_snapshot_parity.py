"""Vector error parity: the reference answers every recorded vector probe exactly as real Milvus
2.3.5 did (fixtures/snapshots/milvus-2.3.5-vector.json, recorded by
`scripts/record-snapshots --set vector`).

The doc says nothing about vector errors, so the reference gives 2.3.5's status and message in
every profile; it is replayed in the default profile and in milvus-2.3. Probes marked
`parity_excluded` (2.3.5 bugs, internals in the message) are recorded but not replayed;
`reason_excluded` probes compare everything but the final reason text.
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
import snapshot_vector_probes as svp  # noqa: E402

PROBES = svp.load_probes()
SNAPSHOT = json.loads(svp.DEFAULT_SNAPSHOT.read_text(encoding="utf-8"))
RECORDED = {entry["id"]: entry for entry in SNAPSHOT["probes"]}
REPLAYED = [(index, probe) for index, probe in enumerate(PROBES) if not probe.parity_excluded]
PROFILES = ("docs-2.1", "milvus-2.3")


def test_probe_list_is_large_and_well_formed() -> None:
    assert len(PROBES) >= 35
    for probe in PROBES:
        reason = probe.parity_excluded or svp.REASON_EXCLUDED.get(probe.id)
        if reason is not None:
            assert len(reason) > 20, f"{probe.id}: give a real reason"
    # Exclusions stay the exception: most probes are compared in full.
    assert len(REPLAYED) >= 0.8 * len(PROBES)


def test_recording_matches_the_probe_file() -> None:
    # A probe edited after recording would compare against stale answers: re-record instead.
    assert SNAPSHOT["probes_sha256"] == sp.probe_file_digest(svp.PROBE_FILE), (
        "vector-probes.yaml changed since the recording; run scripts/record-snapshots --set vector"
    )
    assert [p.id for p in PROBES] == [entry["id"] for entry in SNAPSHOT["probes"]]


def test_recording_has_errors_for_every_error_probe() -> None:
    # Guards against a broken recording (e.g. every step a transport error or all successes).
    failing = [
        entry
        for entry in SNAPSHOT["probes"]
        if any(step["result"]["status_code"] not in (0, None) for step in entry["steps"])
    ]
    assert len(failing) >= 50
    assert all(
        step["result"]["grpc_code"] == "OK" for e in SNAPSHOT["probes"] for step in e["steps"]
    )


def test_normalisation_hides_ids_and_the_prefix() -> None:
    prefix = sp.probe_prefix("ab12", 7)
    text = f"collection not loaded[collection=446512345678901234] in {prefix}c at 1.5"
    assert (
        svp.normalise_text(text, prefix) == "collection not loaded[collection={n}] in {u}c at 1.5"
    )


def test_reason_exclusion_still_compares_the_status() -> None:
    probe = sp.Probe("x", "d", [{"rpc": "Query"}])
    svp.REASON_EXCLUDED["x"] = "parser wording differs between ANTLR and lark"
    try:
        want = {
            "id": "x",
            "steps": [{"request": {"rpc": "Query"}, "result": {"c": 1, "reason": "a"}}],
        }
        same_status = {
            "id": "x",
            "steps": [{"request": {"rpc": "Query"}, "result": {"c": 1, "reason": "b"}}],
        }
        other_status = {
            "id": "x",
            "steps": [{"request": {"rpc": "Query"}, "result": {"c": 2, "reason": "a"}}],
        }
        assert svp.compare(probe, want, same_status) == []
        assert svp.compare(probe, want, other_status)
    finally:
        del svp.REASON_EXCLUDED["x"]


@pytest.fixture(scope="module", params=PROFILES)
def reference_address(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    home = tmp_path_factory.mktemp(f"vector-parity-{request.param}")
    with sp.reference_server(home, request.param) as address:
        yield address


@pytest.fixture(scope="module")
def runner(reference_address: str) -> svp.VectorProbeRunner:
    return svp.VectorProbeRunner(reference_address, root=("root", "Milvus"))


@pytest.mark.parametrize(("index", "probe"), REPLAYED, ids=[p.id for _, p in REPLAYED])
def test_reference_matches_milvus_2_3_5(
    runner: svp.VectorProbeRunner, index: int, probe: sp.Probe
) -> None:
    replayed = runner.run(probe, index)
    differences = svp.compare(probe, RECORDED[probe.id], replayed)
    assert not differences, "\n".join(differences)
