"""Vector persistence: the log replays lazily, in sequence order, across inserts and deletes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reference.domain.vector.schema import build_field
from reference.domain.vector.service import VectorService
from reference.storage.vectors import VectorStorage


def _service(data_dir: Path) -> VectorService:
    return VectorService(VectorStorage(data_dir, durable=False))


def _create(service: VectorService) -> None:
    fields = [
        build_field(
            name="id", dtype=5, type_params={}, description="", is_primary=True, auto_id=False
        ),
        build_field(name="v", dtype=101, type_params={"dim": "3"}, description=""),
    ]
    service.create_collection("c", "c", fields)


def _insert(service: VectorService, ids: range, vectors: np.ndarray) -> None:
    service.insert("c", {"id": np.array(ids, np.int64), "v": vectors}, len(ids))


def test_replay_interleaves_inserts_and_deletes_by_sequence(tmp_path: Path) -> None:
    vectors = np.arange(60, dtype=np.float32).reshape(20, 3)
    first = _service(tmp_path)
    _create(first)
    _insert(first, range(10), vectors[:10])
    first.delete("c", "id in [1, 2]")
    _insert(first, range(10, 20), vectors[10:])
    # a primary-key list: other filters need a loaded collection (as in 2.3.5)
    first.delete("c", "id in [18, 19]")
    first.insert("c", {"id": np.array([3]), "v": vectors[:1] + 0.5}, 1, upsert=True)
    expected_ids = first.get("c").primary_keys(np.flatnonzero(first.get("c")._live_mask([])))

    second = _service(tmp_path)
    collection = second.get("c")
    live = np.flatnonzero(collection._live_mask([]))
    assert collection.primary_keys(live).tolist() == expected_ids.tolist()
    assert sorted(collection.primary_keys(live).tolist()) == [0, *range(3, 18)]
    np.testing.assert_array_equal(
        collection.values(collection.schema.get("v"), live[-1:], None), [[0.5, 1.5, 2.5]]
    )
    # the log sequence continues after a restart: a new write is replayed after the old ones
    second.delete("c", "id == 0")
    third = _service(tmp_path)
    assert third.get("c").alive_count == 15
