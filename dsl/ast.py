"""The abstract syntax of .flow programs, shared by both front ends.

The parser (`flowc.dsl.parser`) and the Python builder (`flowc.dsl.builder`) both produce these
nodes; lowering (`flowc.dsl.lower`) turns them into the typed IR. Nodes are immutable and compare by
value; `span` is excluded from equality so a program built in Python equals the same program parsed
from text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from flowc.compiler.span import Span


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False, kw_only=True)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Name:
    """A column reference: `price`, or qualified `a.id`."""

    parts: tuple[str, ...]
    span: Span | None = _span()

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Literal:
    """kind is one of int, float, string, bool, null."""

    value: object
    kind: str
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Duration:
    """`250ms`, `5s`, `10min`, `1h`, `1d`: a fixed length of time, in microseconds."""

    micros: int
    text: str = field(default="", compare=False)
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "not"
    operand: Expr
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * / % || = <> < <= > >= and or
    left: Expr
    right: Expr
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class InList:
    expr: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Between:
    expr: Expr
    low: Expr
    high: Expr
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Like:
    """`x [not] like pattern` (`ilike`: ignoring case): `%` any text, `_` one character, `\\` escapes."""
    expr: Expr
    pattern: Expr
    negated: bool = False
    ignore_case: bool = False
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Extract:
    """`extract(field from expr)`."""
    field: str
    expr: Expr
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class IsNull:
    expr: Expr
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Case:
    whens: tuple[tuple[Expr, Expr], ...]
    else_: Expr | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class TypeName:
    name: str
    params: tuple[int, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Cast:
    expr: Expr
    type: TypeName
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Arg:
    """A call argument: positional (name None) or `name = value`."""

    value: Expr
    name: str | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Call:
    """A function or aggregate call, `count()`, `max(price)`, `tumble(ts, 10s, offset = 2s)`."""

    name: str
    args: tuple[Arg, ...] = ()
    span: Span | None = _span()
    filter: Expr | None = None  # an aggregate's `filter (where cond)`
    star: bool = False  # `count(*)`, as written


Expr = Union[Name, Literal, Duration, Unary, Binary, InList, Between, Like, Extract, IsNull, Case, Cast, Call]


# ---------------------------------------------------------------- pipelines


@dataclass(frozen=True, slots=True)
class Item:
    """`NAME = EXPR` or a bare `EXPR` (then the name comes from the column) in select/derive/aggregate."""

    expr: Expr
    name: str | None = None
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Where:
    predicate: Expr
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Select:
    items: tuple[Item, ...]
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Derive:
    items: tuple[Item, ...]
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Window:
    """`window tumble(...)`, `window hop(...)`, `window session(...)`: the call is checked in lowering."""

    call: Call
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Aggregate:
    items: tuple[Item, ...]
    by: tuple[Expr, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Join:
    relation: Relation
    on: Expr
    alias: str | None = None
    kind: str = "inner"  # inner | left
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Distinct:
    keys: tuple[Expr, ...]
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Top:
    n: int
    by: Expr
    descending: bool = True
    per: tuple[Expr, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Union_:
    relation: Relation
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Emit:
    mode: str  # final | changes
    span: Span | None = _span()


Stage = Union[Where, Select, Derive, Window, Aggregate, Join, Distinct, Top, Union_, Emit]


@dataclass(frozen=True, slots=True)
class RelationRef:
    name: str
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A relation followed by stages; a parenthesized pipeline is itself a relation."""

    start: Relation
    stages: tuple[Stage, ...] = ()
    span: Span | None = _span()


Relation = Union[RelationRef, Pipeline]


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Connector:
    """`csv('bids.csv')`, `kafka(topic = 't', brokers = 'h:9092')`. Values are expressions
    (literals, durations, or `env('NAME')`)."""

    name: str
    args: tuple[Arg, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ColumnDef:
    name: str
    type: TypeName
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class SourceDecl:
    name: str
    columns: tuple[ColumnDef, ...]
    connector: Connector
    event_time: str | None = None
    watermark: Duration | None = None
    on_late: Connector | str | None = None  # None = default (drop); "drop"; or a connector
    on_error: Connector | str | None = None  # None = default (fail); "fail" | "skip"; or a connector
    span: Span | None = _span()
    name_span: Span | None = _span()
    event_time_span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class TableDecl:
    name: str
    columns: tuple[ColumnDef, ...]
    primary_key: tuple[str, ...]
    connector: Connector
    span: Span | None = _span()
    name_span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class ViewDecl:
    name: str
    pipeline: Pipeline
    span: Span | None = _span()
    name_span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class SinkDecl:
    view: str
    connector: Connector
    span: Span | None = _span()
    view_span: Span | None = _span()


Decl = Union[SourceDecl, TableDecl, ViewDecl, SinkDecl]


@dataclass(frozen=True, slots=True)
class Program:
    decls: tuple[Decl, ...]
    file: str = field(default="<input>", compare=False)
    base_dir: str = field(default=".", compare=False)
