"""Query and delete against the filter-expression oracle (observed Milvus behaviour)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from conformance.oracle import filter_expr as fx
from conformance.oracle import vector as vo
from conformance.suite.support import scaled
from conformance.suite.vector_strategies import VectorSpec, expressions, vector_specs
from conformance.suite.vector_support import (
    FILTER_FIELDS,
    PK,
    Collections,
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
@given(spec=vector_specs(max_n=60, max_dim=4), data=st.data())
def test_query_returns_exactly_the_matching_entities(
    milvus: Any, collections: Collections, spec: VectorSpec, data: st.DataObject
) -> None:
    rows = rows_for(spec.vectors(), spec.scalars())
    by_id = {row[PK]: row for row in rows}
    name = collections.cached(
        ("query", spec),
        "query",
        lambda name: create_loaded(milvus, name, spec.dim, rows, scalars=True),
    )
    for _ in range(EXPRESSIONS_PER_DATASET):
        expr = data.draw(expressions(), label="expression")
        text = fx.render(expr)
        note(f"filter: {text}")
        expected = fx.matching(expr, rows, PK)
        returned = query(milvus, name, text, [PK, *FILTER_FIELDS])
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
        assert count(milvus, name, text) == len(expected), f"count(*) for {text!r}"


@pytest.mark.clause("VEC-DELETE-GONE", driver="sdk")
@scaled(0.4, minimum=4)
@given(
    spec=vector_specs(max_n=50, max_dim=8),
    metric=st.sampled_from(vo.METRICS),
    data=st.data(),
)
def test_deleted_entities_never_come_back(
    milvus: Any, collections: Collections, spec: VectorSpec, metric: str, data: st.DataObject
) -> None:
    vectors = spec.vectors()
    rows = rows_for(vectors, spec.scalars())
    by_ids = data.draw(st.sets(st.integers(0, spec.n - 1)), label="delete ids")
    by_expr = data.draw(expressions(max_leaves=2), label="delete filter")
    text = fx.render(by_expr)
    doomed = set(by_ids) | fx.matching(by_expr, rows, PK)
    survivors = sorted(set(range(spec.n)) - doomed)
    with collections.temporary("delete") as name:
        create_loaded(milvus, name, spec.dim, rows, metric=metric, scalars=True)
        if by_ids:
            sdk_call("delete by ids", lambda: milvus.delete(name, ids=sorted(by_ids)))
        sdk_call(f"delete (filter {text!r})", lambda: milvus.delete(name, filter=text))

        def check(stage: str) -> None:
            ids = query_ids(milvus, name, f"{PK} >= 0")
            assert sorted(ids) == survivors, (
                f"{stage}: query returned deleted {sorted(doomed & set(ids))}"
            )
            assert count(milvus, name) == len(survivors), f"{stage}: count(*)"
            query = spec.queries(1)
            (hits,) = search(milvus, name, query, spec.n, metric)
            exact = vo.distances(vectors[survivors], query, metric)[0]
            verdict = vo.check_topk(hits.ids, hits.distances, survivors, exact, metric, spec.n)
            assert verdict.ok, f"{stage}: search: " + "; ".join(verdict.problems)

        check("after delete")
        sdk_call("flush", lambda: milvus.flush(name))
        sdk_call("release_collection", lambda: milvus.release_collection(name))
        sdk_call("load_collection", lambda: milvus.load_collection(name))
        check("after flush, release and load")
