"""Parser for Milvus boolean expressions (lark LALR grammar; never Python eval)."""

from __future__ import annotations

import functools
import re
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from reference.domain.vector import errors
from reference.domain.vector.expr import ast

_GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr
        | or_expr _OR and_expr          -> or_
?and_expr: not_expr
         | and_expr _AND not_expr       -> and_
?not_expr: _NOT not_expr                -> not_
         | predicate
?predicate: sum
          | sum (COMP_OP sum)+          -> compare
          | sum _IN list                -> in_
          | sum _NOT _IN list           -> not_in
          | sum _LIKE STRING            -> like
          | _EXISTS field               -> exists
?sum: product
    | sum ADD_OP product                -> arith
?product: power
        | product MUL_OP power          -> arith
?power: unary
      | unary POW_OP power              -> arith
?unary: atom
      | "-" unary                       -> neg
      | "+" unary
?atom: NUMBER                           -> number
     | STRING                           -> string
     | TRUE                             -> true
     | FALSE                            -> false
     | field
     | list
     | "(" or_expr ")"
field: NAME ("[" (STRING | INT) "]")*
list: "[" [or_expr ("," or_expr)* ","?] "]"

_OR.2: /or\b/i | "||"
_AND.2: /and\b/i | "&&"
_NOT.2: /not\b/i | /!(?!=)/
_IN.2: /in\b/i
_LIKE.2: /like\b/i
_EXISTS.2: /exists\b/i
TRUE.2: /true\b/i
FALSE.2: /false\b/i
COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/" | "%"
POW_OP: "**"
NAME: /\$?[A-Za-z_][A-Za-z0-9_]*/
INT: /\d+/
NUMBER: /(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?/
STRING: /"(?:[^"\\]|\\.)*"/ | /'(?:[^'\\]|\\.)*'/

%import common.WS
%ignore WS
"""


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)


def _unquote(token: str) -> str:
    # Known escapes are decoded; any other backslash pair (e.g. `\%` for like) is kept.
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), token[1:-1])


class _ToAst(Transformer):
    def number(self, items: list[Token]) -> ast.Literal:
        text = str(items[0])
        if any(c in text for c in ".eE"):
            return ast.Literal(float(text))
        return ast.Literal(int(text))

    def string(self, items: list[Token]) -> ast.Literal:
        return ast.Literal(_unquote(str(items[0])))

    def true(self, _items: list[Token]) -> ast.Literal:
        return ast.Literal(True)

    def false(self, _items: list[Token]) -> ast.Literal:
        return ast.Literal(False)

    def field(self, items: list[Token]) -> ast.FieldRef:
        path: list[str | int] = []
        for tok in items[1:]:
            path.append(_unquote(str(tok)) if tok.type == "STRING" else int(tok))
        return ast.FieldRef(str(items[0]), tuple(path))

    def list(self, items: list[Any]) -> ast.ListLiteral:
        values = []
        for item in items:
            if item is None:
                continue
            values.append(_constant_value(item))
        return ast.ListLiteral(tuple(values))

    @v_args(inline=True)
    def neg(self, operand: ast.Node) -> ast.Node:
        if isinstance(operand, ast.Literal) and not isinstance(operand.value, (bool, str)):
            return ast.Literal(-operand.value)
        return ast.Negate(operand)

    @v_args(inline=True)
    def arith(self, left: ast.Node, op: Token, right: ast.Node) -> ast.Arith:
        return ast.Arith(str(op), left, right)

    def compare(self, items: list[Any]) -> ast.Compare:
        operands = tuple(items[0::2])
        ops = tuple(str(t) for t in items[1::2])
        return ast.Compare(operands, ops)

    @v_args(inline=True)
    def in_(self, target: ast.Node, values: ast.ListLiteral) -> ast.In:
        return ast.In(target, values, negated=False)

    @v_args(inline=True)
    def not_in(self, target: ast.Node, values: ast.ListLiteral) -> ast.In:
        return ast.In(target, values, negated=True)

    @v_args(inline=True)
    def like(self, target: ast.Node, pattern: Token) -> ast.Like:
        return ast.Like(target, _unquote(str(pattern)))

    @v_args(inline=True)
    def exists(self, target: ast.FieldRef) -> ast.Exists:
        return ast.Exists(target)

    def and_(self, items: list[ast.Node]) -> ast.Logical:
        return _flatten_logical("and", items)

    def or_(self, items: list[ast.Node]) -> ast.Logical:
        return _flatten_logical("or", items)

    @v_args(inline=True)
    def not_(self, operand: ast.Node) -> ast.Not:
        return ast.Not(operand)


def _flatten_logical(op: str, items: list[ast.Node]) -> ast.Logical:
    flat: list[ast.Node] = []
    for item in items:
        if isinstance(item, ast.Logical) and item.op == op:
            flat.extend(item.items)
        else:
            flat.append(item)
    return ast.Logical(op, tuple(flat))


def _constant_value(node: ast.Node) -> Any:
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.ListLiteral):
        return list(node.items)
    raise ValueError("list elements must be constants")


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", maybe_placeholders=True)


@functools.lru_cache(maxsize=512)
def parse(expression: str) -> ast.Node:
    """Parses `expression`; a syntax error becomes Milvus' invalid-parameter status."""
    try:
        tree = _parser().parse(expression)
        return _ToAst().transform(tree)
    except VisitError as exc:
        raise errors.invalid_expression(expression, str(exc.orig_exc)) from None
    except LarkError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise errors.invalid_expression(expression, f"syntax error: {detail}") from None
