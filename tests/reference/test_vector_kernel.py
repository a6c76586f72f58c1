"""Search kernel vs brute-force numpy (Hypothesis, derandomized), including chunked paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.domain.vector import kernel
from reference.domain.vector.columns import VectorColumn


def _oracle(data: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    x, q = data.astype(np.float64), queries.astype(np.float64)
    if metric == "L2":
        return ((q[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)
    if metric == "IP":
        return -(q @ x.T)
    xn = np.linalg.norm(x, axis=1)
    qn = np.linalg.norm(q, axis=1)
    return -(q @ x.T) / np.outer(qn, xn)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    n=st.integers(1, 400),
    dim=st.integers(2, 16),
    nq=st.integers(1, 5),
    k=st.integers(1, 50),
    metric=st.sampled_from(["L2", "IP", "COSINE"]),
    seed=st.integers(0, 2**16),
    delete_fraction=st.sampled_from([0.0, 0.3, 0.95]),
)
def test_kernel_matches_bruteforce(n, dim, nq, k, metric, seed, delete_fraction) -> None:
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, dim)).astype(np.float32) + 0.1
    queries = rng.normal(size=(nq, dim)).astype(np.float32)
    column = VectorColumn(dim)
    column.chunk_rows = 97  # force several chunks and the cross-chunk merge
    column.append(data[: n // 2])
    column.append(data[n // 2 :])
    valid = rng.random(n) >= delete_fraction
    top = kernel.search(column.chunks(), queries, metric, k, valid, fetch=column.rows)
    keys = _oracle(data, queries, metric)
    keys[:, ~valid] = np.inf
    for q in range(nq):
        expected_count = min(k, int(valid.sum()))
        assert top.counts[q] == expected_count
        got = top.rows[q, :expected_count]
        assert valid[got].all()
        want_keys = np.sort(keys[q])[:expected_count]
        got_keys = keys[q, got]
        np.testing.assert_allclose(got_keys, want_keys, rtol=1e-4, atol=1e-4)
        dist = top.distances[q, :expected_count]
        expected = got_keys if metric == "L2" else -got_keys
        np.testing.assert_allclose(dist, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_growing_tiles_and_bound_path_exact(metric: str) -> None:
    # large enough that later tiles go through the running-bound comparison, not a partition
    rng = np.random.default_rng(5)
    data = rng.random((20000, 16), dtype=np.float32)
    queries = rng.random((20, 16), dtype=np.float32)
    column = VectorColumn(16)
    column.append(data)
    top = kernel.search(column.chunks(), queries, metric, 10, None, fetch=column.rows)
    keys = _oracle(data, queries, metric)
    want = np.argsort(keys, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(np.sort(top.rows, axis=1), np.sort(want, axis=1))


def test_ties_are_returned_as_lowest_rows() -> None:
    column = VectorColumn(2)
    column.append(np.ones((50, 2), np.float32))
    top = kernel.search(column.chunks(), np.ones((1, 2), np.float32), "L2", 5)
    assert top.rows[0].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("tile_scores", [64, 1 << 23])
def test_ties_across_tiles_keep_earliest_rows(monkeypatch, tile_scores: int) -> None:
    # Exact duplicates of the nearest vector sit in every tile and chunk: the bound must let
    # none of the later ones displace an earlier one (ties by earliest row).
    monkeypatch.setattr(kernel, "TILE_SCORES", tile_scores)
    monkeypatch.setattr(kernel, "MIN_TILE_ROWS", 8)
    rng = np.random.default_rng(3)
    data = rng.random((3000, 4), dtype=np.float32) + 1.0
    nearest = np.zeros(4, np.float32)
    data[5::7] = nearest
    column = VectorColumn(4)
    column.chunk_rows = 500
    column.append(data)
    queries = np.stack([nearest, nearest + 0.01])
    top = kernel.search(column.chunks(), queries, "L2", 12, fetch=column.rows)
    for q in range(2):
        assert top.rows[q].tolist() == list(range(5, 5 + 7 * 12, 7))
    deleted = np.ones(3000, bool)
    deleted[5:40] = False  # the first five duplicates are gone
    top = kernel.search(column.chunks(), queries, "L2", 3, deleted, fetch=column.rows)
    assert top.rows[0].tolist() == [40, 47, 54]


def test_query_key_order_matches_lexsort_including_signed_zero() -> None:
    rng = np.random.default_rng(9)
    keys = rng.choice(np.array([-3.5, -1.0, -0.0, 0.0, 1e-30, 2.0, 7.25], np.float32), 400)
    queries = rng.integers(0, 5, 400)
    rows = np.arange(400)
    order = np.argsort(kernel._query_key_order(queries, keys), kind="stable")
    # -0.0 and +0.0 are equal keys: their ties must fall back to row order
    want = np.lexsort((rows, keys + np.float32(0.0), queries))
    np.testing.assert_array_equal(order, want)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(
    n=st.integers(1, 300),
    nq=st.integers(1, 4),
    k=st.integers(1, 20),
    metric=st.sampled_from(["L2", "IP"]),
    seed=st.integers(0, 2**16),
    dead_prefix=st.integers(0, 60),
)
def test_prefix_bound_keeps_ties_and_survives_a_dead_prefix(
    n, nq, k, metric, seed, dead_prefix
) -> None:
    """Small integer vectors make many exact ties; deleted leading rows can leave the bound's
    prefix with fewer than k valid rows. Expected: the (key, row) order of brute force."""
    rng = np.random.default_rng(seed)
    data = rng.integers(-2, 3, size=(n, 3)).astype(np.float32)
    queries = rng.integers(-2, 3, size=(nq, 3)).astype(np.float32)
    valid = np.ones(n, bool)
    valid[:dead_prefix] = False
    with pytest.MonkeyPatch.context() as patch:  # a prefix of 4k rows, several tiles
        patch.setattr(kernel, "MIN_TILE_ROWS", 4)
        patch.setattr(kernel, "PREFIX_SCALE", 1)
        patch.setattr(kernel, "TILE_SCORES", 128)
        column = VectorColumn(3)
        column.append(data)
        top = kernel.search(column.chunks(), queries, metric, k, valid)
    keys = _oracle(data, queries, metric)
    keys[:, ~valid] = np.inf
    for q in range(nq):
        count = min(k, int(valid.sum()))
        order = np.lexsort((np.arange(n), keys[q]))[:count]
        assert top.counts[q] == count
        assert top.rows[q, :count].tolist() == order.tolist()
