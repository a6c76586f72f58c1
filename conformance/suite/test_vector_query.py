"""Query and delete against the filter-expression oracle (observed Milvus behaviour)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from conformance.oracle import filter_expr as fx
from conformance.oracle import vector as vo
from conformance.suite.support import scaled
from conformance.suite.vector_strategies import VectorSpec, expressions, vector_specs
from conformance.suite.vector_support import (
    DATASET_KINDS,
    FILTER_FIELDS,
    PK,
    Collections,
    DatasetPool,
    collections_fixture,  # noqa: F401  (fixture `collections`)
    count,
    create_loaded,
    milvus_fixture,  # noqa: F401  (fixture `milvus`)
    query,
    query_ids,
    rows_for,
    sdk_call,
    search,
)

EXPRESSIONS_PER_DATASET = 8


def _same_value(stored: Any, returned: Any) -> bool:
    if isinstance(stored, float):
        return isinstance(returned, float | int) and math.isclose(stored, returned)
    return stored == returned


@pytest.mark.clause("VEC-QUERY-FILTER", driver="sdk")
@scaled(0.4, minimum=4)
@given(kind=st.sampled_from(DATASET_KINDS), data=st.data())
def test_query_returns_exactly_the_matching_entities(
    milvus: Any, datasets: DatasetPool, kind: str, data: st.DataObject
) -> None:
    dataset = datasets.get(kind, "L2")  # query ignores the metric; shares the search datasets
    name, rows = dataset.name, dataset.rows
    by_id = {row[PK]: row for row in rows}
    for _ in range(EXPRESSIONS_PER_DATASET):
        expr = data.draw(expressions(), label="expression")
        text = fx.render(expr)
        note(f"filter: {text}")
        expected = fx.matching(expr, rows, PK)
        returned = query(milvus, name, text, [PK, *FILTER_FIELDS], dataset.consistency)
        got = [row[PK] for row in returned]
        assert len(got) == len(set(got)), f"{text!r}: duplicate ids {sorted(got)}"
        assert set(got) == expected, (
            f"{text!r}: unexpected {sorted(set(got) - expected)}, "
            f"missing {sorted(expected - set(got))}"
        )
        for row in returned:
            stored = by_id[row[PK]]
            wrong = [f for f in FILTER_FIELDS if not _same_value(stored[f], row.get(f))]
            assert not wrong, f"id {row[PK]}: fields {wrong} differ: {row} vs {stored}"
        counted = count(milvus, name, text, dataset.consistency)
        assert counted == len(expected), f"count(*) for {text!r}"


DELETE_DIM = 8


@dataclass
class DeleteLedger:
    """What the examples of one delete test did to their shared collection."""

    vectors: dict[int, np.ndarray] = field(default_factory=dict)  # survivors: id -> vector
    next_id: int = 0


def _check_survivors(
    milvus: Any, name: str, metric: str, ids: range, survivors: dict[int, np.ndarray], stage: str
) -> None:
    """Query, count(*) and search over `ids` see exactly `survivors`."""
    scope = f"{PK} >= {ids.start} and {PK} < {ids.stop}" if ids else f"{PK} < 0"
    got = query_ids(milvus, name, scope)
    wanted = sorted(survivors)
    assert sorted(got) == wanted, (
        f"{stage}: query returned deleted {sorted(set(got) - set(wanted))}, "
        f"missing {sorted(set(wanted) - set(got))}"
    )
    assert count(milvus, name, scope) == len(wanted), f"{stage}: count(*)"
    if not wanted:
        return
    query = VectorSpec(1, DELETE_DIM, "gaussian", ids.start).queries(1)
    limit = min(len(ids), 16384)
    (hits,) = search(milvus, name, query, limit, metric, expr=scope)
    stacked = np.stack([survivors[i] for i in wanted])
    exact = vo.distances(stacked, query, metric)[0]
    verdict = vo.check_topk(hits.ids, hits.distances, wanted, exact, metric, limit)
    assert verdict.ok, f"{stage}: search: " + "; ".join(verdict.problems)


@pytest.mark.clause("VEC-DELETE-GONE", driver="sdk")
@pytest.mark.parametrize("metric", vo.METRICS)
def test_deleted_entities_never_come_back(
    milvus: Any, collections: Collections, metric: str
) -> None:
    """Examples insert fresh rows into ONE collection and delete some of them (by ids and by
    filter, scoped to the example's id range); after all examples the collection is flushed,
    released and loaded once, and every example's survivors are checked again."""
    ledger = DeleteLedger()
    with collections.temporary("delete") as name:
        create_loaded(milvus, name, DELETE_DIM, [], metric=metric, scalars=True)

        # The examples are split across the metrics: the same total as one metric-drawing test.
        @scaled(0.4 / len(vo.METRICS), minimum=4)
        @given(spec=vector_specs(max_n=50, max_dim=DELETE_DIM), data=st.data())
        def delete_some(spec: VectorSpec, data: st.DataObject) -> None:
            first = ledger.next_id
            ledger.next_id += spec.n
            ids = range(first, first + spec.n)
            vectors = VectorSpec(spec.n, DELETE_DIM, spec.kind, spec.seed).vectors()
            rows = rows_for(vectors, spec.scalars(), first_id=first)
            by_ids = data.draw(st.sets(st.sampled_from(ids)), label="delete ids")
            by_expr = data.draw(expressions(max_leaves=2), label="delete filter")
            text = fx.render(by_expr)
            note(f"ids {first}..{ids.stop - 1}; filter: {text}")
            doomed = set(by_ids) | fx.matching(by_expr, rows, PK)
            sdk_call("insert", lambda: milvus.insert(name, rows))
            if by_ids:
                sdk_call("delete by ids", lambda: milvus.delete(name, ids=sorted(by_ids)))
            scoped = f"({PK} >= {first} and {PK} < {ids.stop}) and ({text})"
            sdk_call(f"delete (filter {text!r})", lambda: milvus.delete(name, filter=scoped))
            survivors = {i: vectors[i - first] for i in ids if i not in doomed}
            _check_survivors(milvus, name, metric, ids, survivors, "after delete")
            ledger.vectors.update(survivors)

        delete_some()
        sdk_call("flush", lambda: milvus.flush(name))
        sdk_call("release_collection", lambda: milvus.release_collection(name))
        sdk_call("load_collection", lambda: milvus.load_collection(name))
        everything = range(0, ledger.next_id)
        _check_survivors(
            milvus, name, metric, everything, ledger.vectors, "after flush, release and load"
        )
