"""An independent model of the Milvus boolean filter language (the subset the suite generates).

Expressions are built as a small AST, rendered to Milvus syntax with `render`, and evaluated
on a row (a mapping of field name -> value) with `evaluate`. Nothing is parsed and nothing is
eval()'d: the AST is the source of truth, the string is derived from it.

Semantics follow Milvus (observed behaviour; the doc does not cover filters):
* comparisons and chained comparisons (`lo < x <= hi`) on numbers and strings;
* `in` / `not in` with a literal list;
* `like` with `%` wildcards used as prefix, suffix or infix patterns;
* integer arithmetic `x <op> c == v` / `!=`, with C (truncating) `%` and `/` semantics, as in
  Milvus's C++ segment core;
* JSON access `field["key"]` (every generated row carries the keys it is queried by);
* `and`, `or`, `not` with ordinary two-valued logic.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Scalar = bool | int | float | str

COMPARE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
CHAIN_OPS = ("<", "<=")
ARITH_OPS = ("+", "-", "*", "%")
ARITH_CMP = ("==", "!=")


class ExprError(ValueError):
    """An AST that the model cannot render or evaluate."""


# ---- AST --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class JsonKey:
    field: str
    key: str


Operand = Field | JsonKey


@dataclass(frozen=True)
class Compare:
    operand: Operand
    op: str
    value: Scalar


@dataclass(frozen=True)
class Chain:
    low: int | float
    low_op: str
    operand: Operand
    high_op: str
    high: int | float


@dataclass(frozen=True)
class InList:
    operand: Operand
    values: tuple[Scalar, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    operand: Operand
    pattern: str  # "ab%", "%ab", "%ab%" or a literal without wildcards


@dataclass(frozen=True)
class Arith:
    operand: Operand
    op: str
    constant: int
    cmp: str
    value: int


@dataclass(frozen=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not:
    inner: Expr


Expr = Compare | Chain | InList | Like | Arith | And | Or | Not


# ---- rendering --------------------------------------------------------------------------------


def render_literal(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExprError(f"non-finite literal {value!r}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)  # double quotes, backslash escapes
    raise ExprError(f"unsupported literal {value!r}")


def render_operand(operand: Operand) -> str:
    if isinstance(operand, Field):
        return operand.name
    return f"{operand.field}[{json.dumps(operand.key)}]"


def render(expr: Expr) -> str:
    """Milvus syntax for `expr`; every compound is parenthesised, so precedence never matters."""
    match expr:
        case Compare(operand, op, value):
            _known(op, COMPARE_OPS)
            return f"{render_operand(operand)} {op} {render_literal(value)}"
        case Chain(low, low_op, operand, high_op, high):
            _known(low_op, CHAIN_OPS)
            _known(high_op, CHAIN_OPS)
            return (
                f"{render_literal(low)} {low_op} {render_operand(operand)} "
                f"{high_op} {render_literal(high)}"
            )
        case InList(operand, values, negated):
            items = ", ".join(render_literal(v) for v in values)
            keyword = "not in" if negated else "in"
            return f"{render_operand(operand)} {keyword} [{items}]"
        case Like(operand, pattern):
            return f"{render_operand(operand)} like {render_literal(pattern)}"
        case Arith(operand, op, constant, cmp, value):
            _known(op, ARITH_OPS)
            _known(cmp, ARITH_CMP)
            return f"{render_operand(operand)} {op} {constant} {cmp} {value}"
        case And(left, right):
            return f"({render(left)}) and ({render(right)})"
        case Or(left, right):
            return f"({render(left)}) or ({render(right)})"
        case Not(inner):
            return f"not ({render(inner)})"
    raise ExprError(f"not an expression node: {expr!r}")


def _known(op: str, table: Iterable[str]) -> None:
    if op not in table:
        raise ExprError(f"unsupported operator {op!r}")


# ---- evaluation -------------------------------------------------------------------------------


def _value(operand: Operand, row: Mapping[str, Any]) -> Any:
    if isinstance(operand, Field):
        if operand.name not in row:
            raise ExprError(f"row has no field {operand.name!r}")
        return row[operand.name]
    document = row.get(operand.field)
    if not isinstance(document, Mapping) or operand.key not in document:
        raise ExprError(f"row has no JSON key {operand.field}[{operand.key!r}]")
    return document[operand.key]


def _comparable(left: Any, right: Any) -> None:
    numeric = (int, float)
    if isinstance(left, bool) or isinstance(right, bool):
        if not (isinstance(left, bool) and isinstance(right, bool)):
            raise ExprError(f"cannot compare {left!r} with {right!r}")
    elif isinstance(left, numeric) != isinstance(right, numeric):
        raise ExprError(f"cannot compare {left!r} with {right!r}")


def like_matches(text: str, pattern: str) -> bool:
    """Milvus `like` for the generated patterns: `%` at the start and/or end only."""
    core = pattern.strip("%")
    if "%" in core or "_" in pattern:
        raise ExprError(f"pattern {pattern!r} is outside the modelled subset")
    starts, ends = pattern.startswith("%"), pattern.endswith("%")
    if starts and ends:
        return core in text
    if ends:
        return text.startswith(core)
    if starts:
        return text.endswith(core)
    return text == core


def c_arith(left: int, op: str, right: int) -> int:
    """Integer arithmetic with C semantics (truncating `%`), as Milvus's segment core does."""
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "%":
        if right == 0:
            raise ExprError("modulo by zero")
        return int(math.fmod(left, right))
    raise ExprError(f"unsupported operator {op!r}")


def evaluate(expr: Expr, row: Mapping[str, Any]) -> bool:
    match expr:
        case Compare(operand, op, value):
            left = _value(operand, row)
            _comparable(left, value)
            return COMPARE_OPS[op](left, value)
        case Chain(low, low_op, operand, high_op, high):
            middle = _value(operand, row)
            _comparable(middle, low)
            return COMPARE_OPS[low_op](low, middle) and COMPARE_OPS[high_op](middle, high)
        case InList(operand, values, negated):
            left = _value(operand, row)
            for v in values:
                _comparable(left, v)
            found = any(left == v for v in values)
            return found != negated
        case Like(operand, pattern):
            text = _value(operand, row)
            if not isinstance(text, str):
                raise ExprError(f"like on non-string {text!r}")
            return like_matches(text, pattern)
        case Arith(operand, op, constant, cmp, value):
            left = _value(operand, row)
            if isinstance(left, bool) or not isinstance(left, int):
                raise ExprError(f"integer arithmetic on {left!r}")
            return COMPARE_OPS[cmp](c_arith(left, op, constant), value)
        case And(left, right):
            return evaluate(left, row) and evaluate(right, row)
        case Or(left, right):
            return evaluate(left, row) or evaluate(right, row)
        case Not(inner):
            return not evaluate(inner, row)
    raise ExprError(f"not an expression node: {expr!r}")


def matching(expr: Expr, rows: Sequence[Mapping[str, Any]], key: str) -> set[Any]:
    """Primary keys (`row[key]`) of the rows that satisfy `expr`."""
    return {row[key] for row in rows if evaluate(expr, row)}
