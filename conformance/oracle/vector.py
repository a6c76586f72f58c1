"""Vector-search oracle: exact distances, exact top-k with ties, recall. Pure numpy, no I/O.

Milvus conventions the clauses rely on (observed Milvus behaviour, not in the doc):
L2 is the *squared* Euclidean distance and sorts ascending; IP and COSINE are similarities
and sort descending. Distances are computed here in float64, so the target's float32 results
are compared within a tolerance, and candidates whose distances tie (within that tolerance)
are interchangeable at the top-k boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METRICS = ("L2", "IP", "COSINE")
# float32 on the target: a relative error of ~1e-6 per term, summed over up to a few hundred
# terms; these bounds stay far below the gaps between distinct grid distances.
ABS_TOL = 1e-4
REL_TOL = 1e-4


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    return metric


def ascending(metric: str) -> bool:
    """True when smaller distances are better (L2), False for similarities (IP, COSINE)."""
    return _check_metric(metric) == "L2"


def distances(data: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    """(nq, n) matrix of distances between every query and every row, in float64."""
    _check_metric(metric)
    x = np.asarray(data, dtype=np.float64)
    q = np.asarray(queries, dtype=np.float64)
    if x.ndim != 2 or q.ndim != 2 or x.shape[1] != q.shape[1]:
        raise ValueError(f"shape mismatch: data {x.shape}, queries {q.shape}")
    if metric == "L2":
        diff = q[:, None, :] - x[None, :, :]
        return np.einsum("qnd,qnd->qn", diff, diff)
    if metric == "IP":
        return q @ x.T
    x_norm = np.linalg.norm(x, axis=1)
    q_norm = np.linalg.norm(q, axis=1)
    if not (x_norm > 0).all() or not (q_norm > 0).all():
        raise ValueError("COSINE is undefined for zero vectors")
    return (q / q_norm[:, None]) @ (x / x_norm[:, None]).T


def tolerance(value: float) -> float:
    return ABS_TOL + REL_TOL * abs(value)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= tolerance(max(abs(a), abs(b)))


def exact_topk(row_distances: np.ndarray, metric: str, k: int) -> np.ndarray:
    """Positions of the best `k` rows for one query (ties broken by position, for stability)."""
    if k < 0:
        raise ValueError("k must be >= 0")
    keys = row_distances if ascending(metric) else -row_distances
    order = np.lexsort((np.arange(len(keys)), keys))
    return order[:k]


@dataclass(frozen=True)
class TopkCheck:
    """Result of comparing one query's returned hits with the exact answer."""

    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_topk(
    returned_ids: Sequence[object],
    returned_distances: Sequence[float],
    candidate_ids: Sequence[object],
    candidate_distances: np.ndarray,
    metric: str,
    k: int,
) -> TopkCheck:
    """Is (returned_ids, returned_distances) a correct exact top-k over the candidates?

    Correct means: min(k, #candidates) distinct hits; each hit is a candidate whose true
    distance matches the reported one; the reported distances are, rank by rank, the exact
    top-k distances; and every candidate strictly better than the k-th distance (beyond the
    tolerance) is among the hits. Candidates tied at the boundary compare as a set.
    """
    problems: list[str] = []
    true_by_id = {cid: float(d) for cid, d in zip(candidate_ids, candidate_distances, strict=True)}
    expected_len = min(k, len(true_by_id))
    hits = list(returned_ids)
    dists = [float(d) for d in returned_distances]
    if len(hits) != len(dists):
        problems.append(f"{len(hits)} ids but {len(dists)} distances")
        return TopkCheck(tuple(problems))
    if len(hits) != expected_len:
        problems.append(f"expected {expected_len} hits, got {len(hits)}")
    if len(set(hits)) != len(hits):
        problems.append(f"duplicate ids in hits: {hits}")
    for hit, dist in zip(hits, dists, strict=True):
        if hit not in true_by_id:
            problems.append(f"id {hit!r} is not a candidate (deleted, filtered out or unknown)")
        elif not close(true_by_id[hit], dist):
            problems.append(f"id {hit!r}: reported distance {dist!r}, exact {true_by_id[hit]!r}")
    order = exact_topk(np.asarray(candidate_distances, dtype=np.float64), metric, expected_len)
    exact = [float(candidate_distances[i]) for i in order]
    for rank, (got, want) in enumerate(zip(dists, exact, strict=False)):
        if not close(got, want):
            problems.append(f"rank {rank}: distance {got!r}, exact top-k has {want!r}")
            break
    if exact:
        boundary = exact[-1]
        sign = 1.0 if ascending(metric) else -1.0
        must_have = [
            cid
            for cid, d in true_by_id.items()
            if sign * (boundary - d) > tolerance(boundary)  # strictly better than the k-th
        ]
        missing = sorted(set(must_have) - set(hits), key=str)
        if missing:
            problems.append(f"missing ids strictly inside the top-{k}: {missing[:10]}")
    return TopkCheck(tuple(problems))


def recall_at_k(returned: Sequence[Sequence[object]], truth: Sequence[Sequence[object]]) -> float:
    """Mean over queries of |returned ∩ truth| / |truth| (truth = exact top-k ids)."""
    if len(returned) != len(truth):
        raise ValueError(f"{len(returned)} result lists for {len(truth)} queries")
    if not truth:
        raise ValueError("recall of zero queries is undefined")
    scores = []
    for got, want in zip(returned, truth, strict=True):
        wanted = set(want)
        scores.append(len(set(got) & wanted) / len(wanted) if wanted else 1.0)
    return float(np.mean(scores))
