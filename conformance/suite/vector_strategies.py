"""Hypothesis strategies for the vector clauses: datasets, scalar rows, filter expressions.

Vectors come from a seeded numpy generator (the counterexample shows shape, kind and seed,
which reproduce it exactly). The `grid` kind draws small integers, so exact ties are common
and float32 arithmetic is exact; `gaussian` gives generic floats.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance.oracle import filter_expr as fx

STRING_ALPHABET = "abc"  # no '%', '_' or quotes: `like` patterns stay in the modelled subset
INT_RANGE = (-8, 8)
FLOAT_GRID = [x / 4 for x in range(-16, 17)]  # exactly representable, so `==` is meaningful


@dataclass(frozen=True)
class VectorSpec:
    """How to build a dataset; `vectors()` materialises it reproducibly."""

    n: int
    dim: int
    kind: str  # "grid" | "gaussian"
    seed: int

    def vectors(self, rows: int | None = None, *, salt: int = 0) -> np.ndarray:
        rng = np.random.default_rng([self.seed, salt])
        shape = (self.n if rows is None else rows, self.dim)
        if self.kind == "grid":
            data = rng.integers(-2, 3, size=shape).astype(np.float32)
        else:
            data = rng.standard_normal(shape).astype(np.float32)
        zero = ~data.any(axis=1)
        data[zero, 0] = 1.0  # COSINE is undefined for the zero vector
        return data

    def queries(self, nq: int) -> np.ndarray:
        return self.vectors(nq, salt=1)

    def scalars(self) -> list[dict[str, Any]]:
        """Scalar field values per row (see vector_support.FILTER_FIELDS), from the seed.

        Seeded rather than drawn value by value: shrinking a failure then only touches n,
        the seed and the expression, instead of rebuilding a collection per shrunk value.
        """
        rng = np.random.default_rng([self.seed, 2])
        low, high = INT_RANGE

        def text() -> str:
            return "".join(rng.choice(list(STRING_ALPHABET), size=int(rng.integers(0, 5))))

        return [
            {
                "a": int(rng.integers(low, high + 1)),
                "f": float(rng.choice(FLOAT_GRID)),
                "s": text(),
                "flag": bool(rng.integers(0, 2)),
                "meta": {"k": int(rng.integers(-5, 6)), "t": text()},
            }
            for _ in range(self.n)
        ]


def vector_specs(max_n: int = 120, max_dim: int = 48) -> st.SearchStrategy[VectorSpec]:
    return st.builds(
        VectorSpec,
        n=st.integers(1, max_n),
        dim=st.integers(2, max_dim),
        kind=st.sampled_from(["grid", "gaussian"]),
        seed=st.integers(0, 2**32 - 1),
    )


_short_text = st.text(alphabet=STRING_ALPHABET, min_size=0, max_size=4)


# ---- filter expressions ------------------------------------------------------------------------

_ints = st.integers(*INT_RANGE)
_floats = st.sampled_from(FLOAT_GRID)
_ops = st.sampled_from(sorted(fx.COMPARE_OPS))
_A, _F, _S, _FLAG = fx.Field("a"), fx.Field("f"), fx.Field("s"), fx.Field("flag")
_META_K, _META_T = fx.JsonKey("meta", "k"), fx.JsonKey("meta", "t")


def _ordered_chain(operand: fx.Field, a: Any, low_op: str, high_op: str, b: Any) -> fx.Chain:
    return fx.Chain(min(a, b), low_op, operand, high_op, max(a, b))


def _chains(operand: fx.Field, values: st.SearchStrategy[Any]) -> st.SearchStrategy[fx.Chain]:
    ops = st.sampled_from(fx.CHAIN_OPS)
    return st.builds(_ordered_chain, st.just(operand), values, ops, ops, values)


def _like(core: str, shape: str) -> fx.Like:
    return fx.Like(_S, shape.format(core))


def _likes() -> st.SearchStrategy[fx.Like]:
    core = st.text(alphabet=STRING_ALPHABET, min_size=1, max_size=2)
    return st.builds(_like, core, st.sampled_from(["{}%", "%{}", "%{}%"]))


def _build_arith(op: str, constant: int, cmp: str, value: int) -> fx.Arith:
    if op == "%":
        constant = abs(constant) or 1  # modulo by a positive divisor
    return fx.Arith(_A, op, constant, cmp, value)


def _arith() -> st.SearchStrategy[fx.Arith]:
    return st.builds(
        _build_arith,
        st.sampled_from(fx.ARITH_OPS),
        st.integers(-4, 4),
        st.sampled_from(fx.ARITH_CMP),
        st.integers(-6, 6),
    )


@functools.cache  # strategies are immutable; rebuilding a recursive one per draw is slow
def leaf_expressions() -> st.SearchStrategy[fx.Expr]:
    return st.one_of(
        st.builds(fx.Compare, st.just(_A), _ops, _ints),
        st.builds(fx.Compare, st.just(_F), _ops, _floats),
        st.builds(fx.Compare, st.just(_S), _ops, _short_text),
        st.builds(fx.Compare, st.just(_FLAG), st.sampled_from(["==", "!="]), st.booleans()),
        st.builds(fx.Compare, st.just(_META_K), _ops, st.integers(-5, 5)),
        st.builds(fx.Compare, st.just(_META_T), st.sampled_from(["==", "!="]), _short_text),
        _chains(_A, _ints),
        _chains(_F, _floats),
        st.builds(
            fx.InList,
            st.just(_A),
            st.lists(_ints, min_size=1, max_size=4).map(tuple),
            st.booleans(),
        ),
        st.builds(
            fx.InList,
            st.just(_S),
            st.lists(_short_text, min_size=1, max_size=3).map(tuple),
            st.booleans(),
        ),
        _likes(),
        _arith(),
    )


@functools.cache
def expressions(max_leaves: int = 4) -> st.SearchStrategy[fx.Expr]:
    return st.recursive(
        leaf_expressions(),
        lambda inner: st.one_of(
            st.builds(fx.And, inner, inner),
            st.builds(fx.Or, inner, inner),
            st.builds(fx.Not, inner),
        ),
        max_leaves=max_leaves,
    )
