"""Vector search against the numpy oracle: FLAT exactness per metric, filtered search, ANN recall.

The doc says nothing about vectors; these are observed Milvus behaviours (clauses_vector.yaml).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st

from conformance.oracle import filter_expr as fx
from conformance.oracle import vector as vo
from conformance.suite.support import scaled
from conformance.suite.vector_strategies import VectorSpec, expressions
from conformance.suite.vector_support import (
    DATASET_KINDS,
    Collections,
    DatasetPool,
    collections_fixture,  # noqa: F401  (fixture `collections`)
    create_loaded,
    milvus_fixture,  # noqa: F401  (fixture `milvus`)
    rows_for,
    search,
)

FLAT_METRICS = [
    pytest.param(metric, marks=pytest.mark.clause(f"VEC-FLAT-EXACT-{metric}", driver="sdk"))
    for metric in vo.METRICS
]


def _assert_exact(
    hits: Any, ids: list[Any], exact: np.ndarray, metric: str, k: int, query_no: int
) -> None:
    check = vo.check_topk(hits.ids, hits.distances, ids, exact, metric, k)
    assert check.ok, f"query {query_no} ({metric}, k={k}): " + "; ".join(check.problems)


_query_seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("metric", FLAT_METRICS)
@scaled(0.4, minimum=4)
@given(
    kind=st.sampled_from(DATASET_KINDS),
    nq=st.integers(1, 3),
    extra_k=st.integers(-60, 5),
    query_seed=_query_seeds,
)
def test_flat_search_is_exact(
    datasets: DatasetPool,
    milvus: Any,
    metric: str,
    kind: str,
    nq: int,
    extra_k: int,
    query_seed: int,
) -> None:
    dataset = datasets.get(kind, metric)  # built and loaded once per session
    n = dataset.spec.n
    k = max(1, n + extra_k)  # weighted to k near n, sometimes above it
    queries = dataset.queries(nq, query_seed)
    results = search(milvus, dataset.name, queries, k, metric, consistency=dataset.consistency)
    assert len(results) == nq, f"{len(results)} result lists for nq={nq}"
    exact = vo.distances(dataset.vectors, queries, metric)
    ids = list(range(n))
    for query_no, hits in enumerate(results):
        _assert_exact(hits, ids, exact[query_no], metric, k, query_no)


@pytest.mark.clause("VEC-SEARCH-FILTER", driver="sdk")
@scaled(0.4, minimum=4)
@given(
    kind=st.sampled_from(DATASET_KINDS),
    metric=st.sampled_from(vo.METRICS),
    query_seed=_query_seeds,
    data=st.data(),
)
def test_filtered_search_is_exact_over_matching_entities(
    datasets: DatasetPool,
    milvus: Any,
    kind: str,
    metric: str,
    query_seed: int,
    data: st.DataObject,
) -> None:
    dataset = datasets.get(kind, metric)
    for _ in range(3):
        expr = data.draw(expressions(), label="expression")
        k = data.draw(st.integers(1, dataset.spec.n + 2), label="k")
        text = fx.render(expr)
        note(f"filter: {text}")
        matching = sorted(fx.matching(expr, dataset.rows, "id"))
        query = dataset.queries(1, query_seed)
        (hits,) = search(
            milvus, dataset.name, query, k, metric, expr=text, consistency=dataset.consistency
        )
        exact = vo.distances(dataset.vectors[matching], query, metric)[0]
        check = vo.check_topk(hits.ids, hits.distances, matching, exact, metric, k)
        assert check.ok, f"filter {text!r}, k={k}: " + "; ".join(check.problems)


ANN_CASES = [
    pytest.param("IVF_FLAT", "L2", id="IVF_FLAT-L2"),
    pytest.param("HNSW", "L2", id="HNSW-L2"),
    pytest.param("HNSW", "COSINE", id="HNSW-COSINE"),
]
RECALL_ROWS, RECALL_DIM, RECALL_QUERIES, RECALL_K = 2000, 16, 20, 10


@pytest.mark.clause("VEC-ANN-RECALL", driver="sdk")
@pytest.mark.parametrize(("index_type", "metric"), ANN_CASES)
# A seed has no structure to shrink; shrinking would only rebuild 2000-row indexes.
@settings(scaled(0.07, minimum=1), phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(seed=st.integers(0, 2**32 - 1))
def test_ann_recall_at_10(
    milvus: Any, collections: Collections, index_type: str, metric: str, seed: int
) -> None:
    spec = VectorSpec(RECALL_ROWS, RECALL_DIM, "gaussian", seed)
    vectors, queries = spec.vectors(), spec.queries(RECALL_QUERIES)
    with collections.temporary("ann") as name:
        # flush: real Milvus builds ANN indexes on sealed segments only
        create_loaded(
            milvus,
            name,
            spec.dim,
            rows_for(vectors),
            metric=metric,
            index_type=index_type,
            flush=True,
        )
        results = search(milvus, name, queries, RECALL_K, metric, index_type=index_type)
    exact = vo.distances(vectors, queries, metric)
    truth = [[int(i) for i in vo.exact_topk(row, metric, RECALL_K)] for row in exact]
    recall = vo.recall_at_k([hits.ids for hits in results], truth)
    note(f"recall@{RECALL_K} = {recall:.3f}")
    assert recall >= 0.9, f"{index_type}/{metric}: recall@{RECALL_K} = {recall:.3f} < 0.9"
