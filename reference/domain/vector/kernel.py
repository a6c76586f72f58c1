"""Exact top-k search: float32 BLAS products per chunk and a bounded top-k merge.

Scores are arranged so that smaller is better ("keys"): the squared L2 distance without
the constant |q|^2, or the negated inner product / cosine similarity. Memory stays bounded:
a score block is at most `SCORE_BLOCK_BYTES`, and between blocks only k candidates per query
survive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

SCORE_BLOCK_BYTES = 32 * 1024 * 1024
_BLOCK = 64  # columns per block in the threshold pre-selection
_DIRECT_LIMIT = 1 << 18  # score blocks smaller than this are selected with argpartition


@dataclass(frozen=True)
class TopK:
    """Per query: global row positions and distances, best first; -1 rows pad short lists."""

    rows: np.ndarray  # (nq, k) int64
    distances: np.ndarray  # (nq, k) float32
    counts: np.ndarray  # (nq,) int64


def _augmented_queries(queries: np.ndarray, metric: str) -> np.ndarray:
    nq, dim = queries.shape
    out = np.zeros((nq, dim + 1), np.float32)
    if metric == "L2":
        out[:, :dim] = -2.0 * queries
        out[:, dim] = 1.0
    elif metric == "IP":
        out[:, :dim] = -queries
    else:  # COSINE
        norms = np.linalg.norm(queries, axis=1, keepdims=True)
        out[:, :dim] = -queries / np.where(norms == 0, 1, norms)
    return out


def _select(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (query, column) pairs that include each query's k smallest finite scores."""
    nq, width = scores.shape
    if k >= width:
        rows, cols = np.nonzero(np.isfinite(scores))
        return rows, cols
    nblocks = width // _BLOCK
    if scores.size > _DIRECT_LIMIT and nblocks > 2 * k:
        # Each block's minimum is a real score, so the k-th smallest block minimum bounds
        # the k-th smallest score from above; only scores under that bound can qualify.
        mins = scores[:, : nblocks * _BLOCK].reshape(nq, nblocks, _BLOCK).min(axis=2)
        bound = np.partition(mins, k - 1, axis=1)[:, k - 1]
        if np.isfinite(bound).all():
            flat = np.flatnonzero(scores <= bound[:, None])
            if len(flat) <= 8 * k * nq + 1024:
                rows, cols = np.divmod(flat, width)
                return rows, cols
    part = np.argpartition(scores, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(nq), k)
    cols = part.ravel()
    finite = np.isfinite(scores[rows, cols])
    return rows[finite], cols[finite]


def _reduce(
    rows: np.ndarray, ids: np.ndarray, keys: np.ndarray, nq: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keeps the k best (key, then row id) candidates of each query."""
    order = np.lexsort((ids, keys, rows))
    rows, ids, keys = rows[order], ids[order], keys[order]
    starts = np.searchsorted(rows, np.arange(nq))
    rank = np.arange(len(rows)) - starts[rows]
    keep = rank < k
    return rows[keep], ids[keep], keys[keep]


def search(
    chunks: Iterable[tuple[int, np.ndarray]],
    queries: np.ndarray,
    metric: str,
    k: int,
    valid: np.ndarray | None = None,
    fetch: Callable[[np.ndarray], np.ndarray] | None = None,
) -> TopK:
    """Exact k nearest rows of each query among rows where `valid` is true (or all rows).

    With `fetch` (global rows -> stored vectors) the winners' distances are recomputed
    directly in float64, which avoids the cancellation of the |x|^2 - 2q.x expansion.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    nq = queries.shape[0]
    augmented = _augmented_queries(queries, metric)
    cand_q = np.empty(0, np.int64)
    cand_id = np.empty(0, np.int64)
    cand_key = np.empty(0, np.float32)
    for start, matrix in chunks:
        width = matrix.shape[0]
        if width == 0:
            continue
        chunk_valid = None if valid is None else valid[start : start + width]
        if chunk_valid is not None and not chunk_valid.any():
            continue
        inverse_norms = None
        if metric == "COSINE":
            norms = np.sqrt(matrix[:, -1])
            inverse_norms = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        q_step = max(1, SCORE_BLOCK_BYTES // (4 * width))
        for q0 in range(0, nq, q_step):
            block = augmented[q0 : q0 + q_step]
            scores = block @ matrix.T
            if inverse_norms is not None:
                scores *= inverse_norms
            if chunk_valid is not None and not chunk_valid.all():
                scores[:, ~chunk_valid] = np.inf
            r, c = _select(scores, k)
            cand_q = np.concatenate([cand_q, r + q0])
            cand_id = np.concatenate([cand_id, c + start])
            cand_key = np.concatenate([cand_key, scores[r, c]])
        cand_q, cand_id, cand_key = _reduce(cand_q, cand_id, cand_key, nq, k)
    counts = np.bincount(cand_q, minlength=nq).astype(np.int64)
    out_rows = np.full((nq, k), -1, np.int64)
    out_keys = np.full((nq, k), np.inf, np.float32)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(cand_q)) - starts[cand_q]
    out_rows[cand_q, rank] = cand_id
    out_keys[cand_q, rank] = cand_key
    distances = _distances(out_keys, queries, metric)
    if fetch is not None and len(cand_id):
        exact = _exact_distances(fetch(cand_id), queries[cand_q], metric)
        distances[cand_q, rank] = exact
        order = np.lexsort((out_rows, -distances if metric != "L2" else distances), axis=1)
        distances = np.take_along_axis(distances, order, axis=1)
        out_rows = np.take_along_axis(out_rows, order, axis=1)
    return TopK(out_rows, distances, counts)


def _exact_distances(vectors: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    x = vectors.astype(np.float64)
    q = queries.astype(np.float64)
    if metric == "L2":
        return ((x - q) ** 2).sum(axis=1).astype(np.float32)
    dots = (x * q).sum(axis=1)
    if metric == "IP":
        return dots.astype(np.float32)
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(q, axis=1)
    cosine = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    return cosine.astype(np.float32)


def _distances(keys: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    if metric == "L2":
        q_norms = np.einsum("ij,ij->i", queries, queries)[:, None]
        return np.maximum(keys + q_norms, 0.0).astype(np.float32)
    return (-keys).astype(np.float32)
