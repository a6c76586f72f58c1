"""Unit tests of the vector oracle and the filter-expression model (no server involved)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.oracle import filter_expr as fx
from conformance.oracle import vector as vo

DATA = np.array([[0, 0], [1, 0], [0, 2], [3, 4]], dtype=np.float32)
QUERY = np.array([[1, 1]], dtype=np.float32)


def test_l2_is_squared_euclidean() -> None:
    assert vo.distances(DATA, QUERY, "L2")[0].tolist() == [2.0, 1.0, 2.0, 13.0]


def test_ip_and_cosine() -> None:
    assert vo.distances(DATA[1:], QUERY, "IP")[0].tolist() == [1.0, 2.0, 7.0]
    cosine = vo.distances(DATA[1:], QUERY, "COSINE")[0]
    assert np.allclose(cosine, [1 / np.sqrt(2), 1 / np.sqrt(2), 7 / (5 * np.sqrt(2))])


def test_cosine_rejects_zero_vectors_and_unknown_metrics() -> None:
    with pytest.raises(ValueError, match="zero"):
        vo.distances(DATA, QUERY, "COSINE")
    with pytest.raises(ValueError, match="unknown metric"):
        vo.distances(DATA, QUERY, "HAMMING")


def test_exact_topk_orders_by_metric_direction() -> None:
    l2 = vo.distances(DATA, QUERY, "L2")[0]
    assert vo.exact_topk(l2, "L2", 3).tolist() == [1, 0, 2]
    ip = vo.distances(DATA, QUERY, "IP")[0]
    assert vo.exact_topk(ip, "IP", 2).tolist() == [3, 2]


def _check(ids: list[int], dists: list[float], k: int, metric: str = "L2") -> vo.TopkCheck:
    exact = vo.distances(DATA, QUERY, metric)[0]
    return vo.check_topk(ids, dists, [0, 1, 2, 3], exact, metric, k)


def test_check_topk_accepts_either_member_of_a_tie() -> None:
    # ids 0 and 2 tie at distance 2: either completes the top-2
    assert _check([1, 0], [1.0, 2.0], 2).ok
    assert _check([1, 2], [1.0, 2.0], 2).ok
    assert _check([1, 2], [1.0, 2.00001], 2).ok  # within float tolerance


@pytest.mark.parametrize(
    ("ids", "dists", "k", "problem"),
    [
        ([1, 3], [1.0, 13.0], 2, "rank 1"),  # a worse id instead of the tie
        ([0, 1], [2.0, 1.0], 2, "rank 0"),  # wrong order
        ([1], [1.0], 2, "expected 2 hits"),  # too few
        ([1, 1], [1.0, 1.0], 2, "duplicate"),
        ([1, 7], [1.0, 2.0], 2, "not a candidate"),  # unknown / deleted id
        ([1, 0], [1.5, 2.0], 2, "reported distance"),
        ([0, 2, 3], [2.0, 2.0, 13.0], 3, "missing ids"),  # the best id is absent
    ],
)
def test_check_topk_rejects_wrong_answers(
    ids: list[int], dists: list[float], k: int, problem: str
) -> None:
    check = _check(ids, dists, k)
    assert not check.ok
    assert any(problem in p for p in check.problems), check.problems


def test_check_topk_with_k_beyond_candidates_wants_all() -> None:
    assert _check([1, 0, 2, 3], [1.0, 2.0, 2.0, 13.0], 10).ok
    assert not _check([1, 0, 2], [1.0, 2.0, 2.0], 10).ok


def test_check_topk_for_similarities_wants_largest_first() -> None:
    assert _check([3, 2], [7.0, 2.0], 2, "IP").ok
    assert not _check([0, 1], [0.0, 1.0], 2, "IP").ok


def test_recall() -> None:
    assert vo.recall_at_k([[1, 2], [3, 4]], [[1, 2], [3, 5]]) == 0.75
    with pytest.raises(ValueError):
        vo.recall_at_k([[1]], [[1], [2]])


@settings(max_examples=30, derandomize=True, database=None)
@given(
    data=st.lists(st.lists(st.integers(-2, 2), min_size=3, max_size=3), min_size=1, max_size=12),
    k=st.integers(1, 14),
)
def test_exact_answer_always_passes_its_own_check(data: list[list[int]], k: int) -> None:
    vectors = np.array(data, dtype=np.float32)
    query = np.array([[1, -1, 0]], dtype=np.float32)
    exact = vo.distances(vectors, query, "L2")[0]
    top = vo.exact_topk(exact, "L2", k)
    check = vo.check_topk(top.tolist(), exact[top].tolist(), list(range(len(data))), exact, "L2", k)
    assert check.ok, check.problems


# ---- filter expressions ------------------------------------------------------------------------

ROWS = [
    {"id": 0, "a": -7, "f": 0.5, "s": "abc", "flag": True, "meta": {"k": 1, "t": "a"}},
    {"id": 1, "a": 3, "f": -1.25, "s": "", "flag": False, "meta": {"k": -2, "t": "cb"}},
    {"id": 2, "a": 4, "f": 2.0, "s": "cab", "flag": True, "meta": {"k": 5, "t": ""}},
]
A, F, S = fx.Field("a"), fx.Field("f"), fx.Field("s")


@pytest.mark.parametrize(
    ("expr", "text", "ids"),
    [
        (fx.Compare(A, ">", 3), "a > 3", {2}),
        (fx.Compare(F, "<=", 0.5), "f <= 0.5", {0, 1}),
        (fx.Compare(S, "==", ""), 's == ""', {1}),
        (fx.Compare(fx.Field("flag"), "==", True), "flag == true", {0, 2}),
        (fx.Compare(fx.JsonKey("meta", "k"), ">=", 1), 'meta["k"] >= 1', {0, 2}),
        (fx.Chain(-7, "<", A, "<=", 4), "-7 < a <= 4", {1, 2}),
        (fx.InList(A, (3, 4)), "a in [3, 4]", {1, 2}),
        (fx.InList(S, ("abc",), negated=True), 's not in ["abc"]', {1, 2}),
        (fx.Like(S, "ab%"), 's like "ab%"', {0}),
        (fx.Like(S, "%ab"), 's like "%ab"', {2}),
        (fx.Like(S, "%a%"), 's like "%a%"', {0, 2}),
        (fx.Arith(A, "%", 2, "==", -1), "a % 2 == -1", {0}),  # C remainder: -7 % 2 == -1
        (fx.Arith(A, "*", 2, "!=", 6), "a * 2 != 6", {0, 2}),
        (
            fx.Or(fx.Compare(A, "<", 0), fx.Not(fx.Compare(S, "!=", "cab"))),
            '(a < 0) or (not (s != "cab"))',
            {0, 2},
        ),
        (fx.And(fx.Compare(A, ">", 0), fx.Compare(F, ">", 0.0)), "(a > 0) and (f > 0.0)", {2}),
    ],
)
def test_render_and_evaluate(expr: fx.Expr, text: str, ids: set[int]) -> None:
    assert fx.render(expr) == text
    assert fx.matching(expr, ROWS, "id") == ids


def test_string_literals_are_escaped() -> None:
    assert fx.render(fx.Compare(S, "==", 'a"b\\')) == 's == "a\\"b\\\\"'


@pytest.mark.parametrize(
    "expr",
    [
        fx.Compare(A, "=~", 1),
        fx.Compare(A, "==", "x"),  # int field vs string literal
        fx.Compare(fx.Field("missing"), "==", 1),
        fx.Arith(A, "%", 0, "==", 0),
        fx.Like(S, "a%b"),
    ],
)
def test_bad_expressions_raise(expr: fx.Expr) -> None:
    with pytest.raises(fx.ExprError):
        fx.render(expr)
        fx.matching(expr, ROWS, "id")


def test_c_arith_truncates_towards_zero() -> None:
    assert fx.c_arith(-7, "%", 3) == -1
    assert fx.c_arith(7, "%", -3) == 1
