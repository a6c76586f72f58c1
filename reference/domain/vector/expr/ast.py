"""Syntax tree of Milvus boolean filter expressions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Literal:
    value: Any  # int | float | str | bool


@dataclass(frozen=True)
class ListLiteral:
    items: tuple[Any, ...]  # plain Python values


@dataclass(frozen=True)
class FieldRef:
    name: str
    path: tuple[str | int, ...] = ()  # JSON keys / indexes: meta["a"][0]


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Arith:
    op: str  # + - * / % **
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    """A chain `a < b <= c` means `a < b and b <= c`."""

    operands: tuple[Node, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class In:
    target: Node
    values: ListLiteral
    negated: bool


@dataclass(frozen=True)
class Like:
    target: Node
    pattern: str


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Exists:
    target: FieldRef


Node = (
    Literal | ListLiteral | FieldRef | Negate | Arith | Compare | In | Like | Logical | Not | Exists
)
