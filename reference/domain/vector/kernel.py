"""Exact top-k search: float32 BLAS products per chunk and a bounded top-k merge.

Scores are arranged so that smaller is better ("keys"): the squared L2 distance without
the constant |q|^2, or the negated inner product / cosine similarity. Memory stays bounded:
the data is scanned in tiles whose score block is about `TILE_SCORES` floats (more only when
nq is large), and between tiles only about k candidates per query survive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

# Scores per tile (nq x rows): at most 32 MiB of float32 (more only when nq alone exceeds it).
# Few, large BLAS calls matter on a busy machine: every call synchronises the BLAS threads, and
# measured p50s rose with the call count; a tile never has fewer than MIN_TILE_ROWS rows.
TILE_SCORES = 1 << 23
MIN_TILE_ROWS = 256
# The first bound is the k-th best of a P-row prefix, which lets about k*W/P rows of a W-row
# tile through per query. Partitioning costs ~P, merging the candidates ~k*W/P (times a log),
# so P ~ sqrt(PREFIX_SCALE*k*W) balances the two.
PREFIX_SCALE = 16


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


def _select(scores: np.ndarray, k: int, prefix: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (query, column) pairs that include each query's k smallest finite scores.

    Every score equal to a query's k-th smallest is kept, so a tie at the cut is settled by
    row order in `_reduce`, never by argpartition's arbitrary pick. With `prefix`, the cut is
    the k-th smallest of the first `prefix` columns only: an upper bound on the true k-th, so
    nothing is lost, and partitioning a prefix is far cheaper than the whole block.
    """
    width = scores.shape[1]
    if k >= width:
        return np.divmod(np.flatnonzero(np.isfinite(scores)), width)
    head = scores if prefix is None or prefix >= width else scores[:, : max(prefix, k)]
    kth = np.partition(head, k - 1, axis=1)[:, k - 1]
    if head is not scores and not np.isfinite(kth).all():
        return _select(scores, k)  # < k valid rows in the prefix: its cut would keep them all
    keep = (scores <= kth[:, None]) & np.isfinite(scores)
    return np.divmod(np.flatnonzero(keep), width)


def _reduce(
    rows: np.ndarray, ids: np.ndarray, keys: np.ndarray, nq: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keeps the k best (key, then row id) candidates of each query.

    Precondition: among candidates of one query with equal keys, input order is row order
    (`_Candidates.add` passes the kept, older rows first, then a tile's rows in order). One
    stable sort on a (query, key) integer then orders them exactly as (query, key, row).
    """
    order = np.argsort(_query_key_order(rows, keys), kind="stable")
    rows, ids, keys = rows[order], ids[order], keys[order]
    starts = np.searchsorted(rows, np.arange(nq))
    rank = np.arange(len(rows)) - starts[rows]
    keep = rank < k
    return rows[keep], ids[keep], keys[keep]


def _query_key_order(rows: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """uint64 whose order is (query, key): query in the high half, the key's float32 bits
    mapped to an order-preserving uint32 in the low half (-0.0 counts as +0.0)."""
    bits = (keys.astype(np.float32) + np.float32(0.0)).view(np.uint32)
    ordered = np.where(bits >> 31, ~bits, bits | np.uint32(0x80000000)).astype(np.uint64)
    return (rows.astype(np.uint64) << np.uint64(32)) | ordered


def _tile_rows(nq: int) -> int:
    return max(MIN_TILE_ROWS, TILE_SCORES // max(nq, 1))


class _Candidates:
    """The running top-k per query: (query, row, key) triples plus a bound per query.

    A row can still enter a query's top-k only if its key is strictly below the bound, the
    k-th best key kept so far: rows arrive in increasing order, so an equal key loses the
    tie to the earlier row (ties by earliest row).
    """

    def __init__(self, nq: int, k: int) -> None:
        self.nq, self.k = nq, k
        self.bound = np.full(nq, np.inf, np.float32)
        self.ready = False  # every query has k candidates, so `bound` is finite
        self.q = np.empty(0, np.int64)
        self.ids = np.empty(0, np.int64)
        self.keys = np.empty(0, np.float32)

    def add(self, q: np.ndarray, ids: np.ndarray, keys: np.ndarray) -> None:
        """Merges one tile's candidates and tightens the bounds (tiles are few and growing)."""
        if not len(q):
            return
        self.q, self.ids, self.keys = _reduce(
            np.concatenate([self.q, q]),
            np.concatenate([self.ids, ids]),
            np.concatenate([self.keys, keys]),
            self.nq,
            self.k,
        )
        counts = np.bincount(self.q, minlength=self.nq)
        if (counts == self.k).all():
            last = np.cumsum(counts) - 1  # each query's k-th best, after the (q, key, id) sort
            self.bound = self.keys[last]
            self.ready = True


def search(
    chunks: Iterable[tuple[int, np.ndarray]],
    queries: np.ndarray,
    metric: str,
    k: int,
    valid: np.ndarray | None = None,
    fetch: Callable[[np.ndarray], np.ndarray] | None = None,
) -> TopK:
    """Exact k nearest rows of each query among rows where `valid` is true (or all rows).

    The data is scanned in tiles whose score block (nq x tile) stays bounded; once every
    query holds k candidates, a tile contributes only the scores under that query's bound,
    so the top-k selection costs one comparison pass instead of a partition of all scores.

    With `fetch` (global rows -> stored vectors) the winners' distances are recomputed
    directly in float64, which avoids the cancellation of the |x|^2 - 2q.x expansion.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    nq = queries.shape[0]
    augmented = _augmented_queries(queries, metric)
    max_tile = _tile_rows(nq)
    buffer = np.empty(0, np.float32)  # score block, reused by every tile
    # Every tile is as large as the score budget allows (few BLAS calls: each one synchronises
    # the BLAS threads). The first tile's bound comes from a prefix of its own scores (see
    # PREFIX_SCALE); later tiles use the running bound, which only tightens.
    tile = max_tile
    best = _Candidates(nq, k)
    for start, matrix in chunks:
        t0 = 0
        while t0 < matrix.shape[0]:
            rows = matrix[t0 : t0 + tile]
            width = rows.shape[0]
            first = start + t0
            t0 += width
            tile_valid = None if valid is None else valid[first : first + width]
            if tile_valid is not None:
                if not tile_valid.any():
                    continue
                if tile_valid.all():
                    tile_valid = None
            if len(buffer) < nq * width:
                buffer = np.empty(nq * min(max_tile, max(width, matrix.shape[0])), np.float32)
            scores = np.matmul(augmented, rows.T, out=buffer[: nq * width].reshape(nq, width))
            if metric == "COSINE":
                norms = np.sqrt(rows[:, -1])
                scores *= np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
            if tile_valid is not None:
                scores[:, ~tile_valid] = np.inf
            if best.ready:
                # flatnonzero + divmod: far cheaper than a 2-D nonzero on a mostly-False mask
                r, c = np.divmod(np.flatnonzero(scores < best.bound[:, None]), width)
            else:
                prefix = max(MIN_TILE_ROWS, 4 * k, math.isqrt(PREFIX_SCALE * k * width))
                r, c = _select(scores, k, prefix)
            best.add(r, c + first, scores[r, c])
    cand_q, cand_id, cand_key = best.q, best.ids, best.keys
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
