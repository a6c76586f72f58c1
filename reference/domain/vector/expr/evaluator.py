"""Evaluates a parsed filter expression to a boolean mask over columnar data.

Scalar columns are numpy arrays and are compared with vectorised numpy operations; JSON
values (and the dynamic `$meta` field) are Python objects, so those paths map a small
type-guarded function over an object array.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from reference.domain.vector import errors
from reference.domain.vector.expr import ast
from reference.domain.vector.expr.parser import parse
from reference.domain.vector.schema import (
    DYNAMIC_FIELD_NAME,
    INTEGER_TYPES,
    NUMERIC_TYPES,
    CollectionSchema,
    DataType,
)


class _Missing:
    """A JSON path that does not exist in a row; compares false with everything."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class RowSource(Protocol):
    """What the evaluator needs from a collection: its schema, row count and columns."""

    schema: CollectionSchema

    @property
    def num_rows(self) -> int: ...

    def column(self, name: str) -> np.ndarray: ...


@dataclass(frozen=True)
class _Value:
    kind: str  # "int" | "float" | "str" | "bool" | "json" | "list"
    data: Any  # a Python constant, or a numpy array with one entry per row

    @property
    def is_column(self) -> bool:
        return isinstance(self.data, np.ndarray)

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float")


def _kind_of_constant(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "list"


def _kind_of_field(dtype: DataType) -> str:
    if dtype in INTEGER_TYPES:
        return "int"
    if dtype in NUMERIC_TYPES:
        return "float"
    if dtype is DataType.VARCHAR:
        return "str"
    if dtype is DataType.BOOL:
        return "bool"
    return "json"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _json_compare(op: str) -> Callable[[Any, Any], bool]:
    fn = _COMPARE[op]

    def compare(a: Any, b: Any) -> bool:
        if a is MISSING or b is MISSING:
            return False
        if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return bool(fn(a, b))
        if op in ("==", "!=") and type(a) is type(b):
            return bool(fn(a, b))
        return False

    return compare


def _map(fn: Callable[..., Any], *args: Any) -> np.ndarray:
    return np.frompyfunc(fn, len(args), 1)(*args)


def _as_bool_array(result: Any, n: int) -> np.ndarray:
    arr = np.asarray(result)
    if arr.dtype != np.bool_:
        arr = arr.astype(bool)
    if arr.ndim == 0:
        return np.full(n, bool(arr))
    return arr


class _Evaluator:
    def __init__(self, expression: str, source: RowSource) -> None:
        self.expression = expression
        self.source = source
        self.n = source.num_rows

    def fail(self, detail: str) -> errors.StatusError:
        return errors.invalid_expression(self.expression, detail)

    # ---- values -------------------------------------------------------------------------
    def value(self, node: ast.Node) -> _Value:
        if isinstance(node, ast.Literal):
            return _Value(_kind_of_constant(node.value), node.value)
        if isinstance(node, ast.ListLiteral):
            return _Value("list", list(node.items))
        if isinstance(node, ast.FieldRef):
            return self.field(node)
        if isinstance(node, ast.Negate):
            return self.arith(ast.Arith("*", ast.Literal(-1), node.operand))
        if isinstance(node, ast.Arith):
            return self.arith(node)
        return _Value("bool", self.mask(node))

    def field(self, ref: ast.FieldRef) -> _Value:
        schema = self.source.schema
        spec = schema.get(ref.name)
        path: tuple[str | int, ...] = ref.path
        if spec is None:
            if not schema.enable_dynamic_field:
                raise self.fail(f"field {ref.name} not exist")
            spec = schema.get(DYNAMIC_FIELD_NAME)
            assert spec is not None
            path = (ref.name, *ref.path)
        if spec.is_vector:
            raise self.fail(f"vector field {spec.name} cannot be used in a filter expression")
        column = self.source.column(spec.name)
        if spec.dtype is not DataType.JSON:
            if path:
                raise self.fail(f"field {spec.name} of type {spec.dtype.name} is not JSON")
            return _Value(_kind_of_field(spec.dtype), column)
        if not path:
            return _Value("json", column)
        return _Value("json", _map(lambda doc: _follow(doc, path), column))

    def arith(self, node: ast.Arith) -> _Value:
        left, right = self.value(node.left), self.value(node.right)
        for side in (left, right):
            if not (side.numeric or side.kind == "json"):
                raise self.fail(f"arithmetic operator {node.op} needs numeric operands")
        divides = node.op in ("/", "%")
        if divides and right.numeric and not right.is_column and right.data == 0:
            raise self.fail("divide by zero")
        if left.kind == "json" or right.kind == "json":
            return _Value("json", _map(_json_arith(node.op), left.data, right.data))
        both_int = left.kind == "int" and right.kind == "int"
        a, b = left.data, right.data
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if node.op == "+":
                out = np.add(a, b)
            elif node.op == "-":
                out = np.subtract(a, b)
            elif node.op == "*":
                out = np.multiply(a, b)
            elif node.op == "/":
                # integer fields divide as C++ does in Milvus' segcore: truncation
                out = np.trunc(np.divide(a, b)).astype(np.int64) if both_int else np.divide(a, b)
            elif node.op == "%":
                out = np.fmod(a, b)
            else:
                out = np.power(np.asarray(a, dtype=np.float64), b)
                both_int = False
        return _Value("int" if both_int else "float", out)

    # ---- predicates ---------------------------------------------------------------------
    def mask(self, node: ast.Node) -> np.ndarray:
        if isinstance(node, ast.Logical):
            masks = [self.mask(item) for item in node.items]
            combine = np.logical_and if node.op == "and" else np.logical_or
            out = masks[0]
            for m in masks[1:]:
                out = combine(out, m)
            return out
        if isinstance(node, ast.Not):
            return np.logical_not(self.mask(node.operand))
        if isinstance(node, ast.Compare):
            out = np.ones(self.n, dtype=bool)
            values = [self.value(op) for op in node.operands]
            for i, op in enumerate(node.ops):
                out &= self.compare(op, values[i], values[i + 1])
            return out
        if isinstance(node, ast.In):
            return self.membership(node)
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.Exists):
            target = self.value(node.target)
            if target.kind != "json":
                raise self.fail("exists needs a JSON path")
            return _as_bool_array(_map(lambda v: v is not MISSING, target.data), self.n)
        value = self.value(node)
        if value.kind == "bool":
            return _as_bool_array(value.data, self.n)
        if value.kind == "json" and value.is_column:
            return _as_bool_array(_map(lambda v: v is True, value.data), self.n)
        raise self.fail("the expression is not a boolean expression")

    def compare(self, op: str, left: _Value, right: _Value) -> np.ndarray:
        if not left.is_column and right.is_column:
            return self.compare(_FLIPPED[op], right, left)
        if left.kind == "json" or right.kind == "json":
            return _as_bool_array(_map(_json_compare(op), left.data, right.data), self.n)
        compatible = (left.numeric and right.numeric) or left.kind == right.kind
        if not compatible:
            raise self.fail(f"comparisons between {left.kind} and {right.kind} are not supported")
        if left.kind in ("bool", "list") and op not in ("==", "!="):
            raise self.fail(f"operator {op} is not supported on {left.kind} values")
        return _as_bool_array(_COMPARE[op](left.data, right.data), self.n)

    def membership(self, node: ast.In) -> np.ndarray:
        target = self.value(node.target)
        items = list(node.values.items)
        if target.kind == "json":

            def contains(v: Any) -> bool:
                if v is MISSING:
                    return False
                return any(
                    v == x and ((_is_number(v) and _is_number(x)) or type(v) is type(x))
                    for x in items
                )

            found = _as_bool_array(_map(contains, target.data), self.n)
        else:
            for item in items:
                kind = _kind_of_constant(item)
                if not ((target.numeric and kind in ("int", "float")) or kind == target.kind):
                    raise self.fail(
                        f"value {item!r} in the list does not match the type of the field"
                    )
            if target.kind == "str":
                wanted = set(items)
                found = _as_bool_array(_map(wanted.__contains__, target.data), self.n)
            else:
                found = np.isin(target.data, np.asarray(items)) if items else np.zeros(self.n, bool)
        return ~found if node.negated else found

    def like(self, node: ast.Like) -> np.ndarray:
        target = self.value(node.target)
        if target.kind not in ("str", "json"):
            raise self.fail("like operation on non-string field is unsupported")
        pattern = _like_regex(node.pattern)

        def matches(v: Any) -> bool:
            return isinstance(v, str) and pattern.fullmatch(v) is not None

        return _as_bool_array(_map(matches, target.data), self.n)


def _follow(doc: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        if isinstance(key, int) and isinstance(doc, list):
            if not -len(doc) <= key < len(doc):
                return MISSING
            doc = doc[key]
        elif isinstance(doc, dict) and str(key) in doc:
            doc = doc[str(key)]
        else:
            return MISSING
    return doc


def _json_arith(op: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if not (_is_number(a) and _is_number(b)):
            return MISSING
        if op in ("/", "%") and b == 0:
            return MISSING
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return a % b
        return float(a) ** b

    return apply


def _like_regex(pattern: str) -> re.Pattern[str]:
    """`%` is any run of characters, `_` one character; a backslash escapes either."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def evaluate(expression: str, source: RowSource) -> np.ndarray:
    """Boolean mask (one entry per row) of the rows `expression` selects."""
    tree = parse(expression)
    return _Evaluator(expression, source).mask(tree)


def check(expression: str, source: RowSource) -> None:
    """Parses and type-checks `expression` (used for empty collections too)."""
    evaluate(expression, source)
