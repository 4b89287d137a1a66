"""The logical dataflow IR: typed, immutable, structurally comparable.

Front ends (the .flow parser and the Python builder) lower to this IR; passes rewrite it; targets
compile it. Every node is a frozen dataclass whose fields are its schema. A relation node computes
and validates its output schema in `__post_init__`, so an ill-formed plan cannot be built, and the
verifier (`flowc.compiler.verify`) only has to re-check what construction cannot see.

Times and durations are integers in microseconds (UTC for time points).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Union

from . import types as T
from .span import Span
from .types import Type


class IRError(ValueError):
    """An internal invariant of the IR was broken (a compiler bug, not a user error)."""


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: Type

    def __str__(self) -> str:
        return f"{self.name} {self.type}"


Schema = tuple[Field, ...]


def schema_names(schema: Schema) -> tuple[str, ...]:
    return tuple(f.name for f in schema)


def schema_lookup(schema: Schema, name: str) -> Field | None:
    for f in schema:
        if f.name == name:
            return f
    return None


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class ColumnRef:
    name: str
    type: Type
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Literal:
    """value: None, bool, int, float, str, decimal.Decimal.

    Intervals are int microseconds; timestamp/timestamptz literals are int microseconds since the
    epoch (UTC); date literals are int days since the epoch.
    """

    value: object
    type: Type
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Call:
    """A scalar operator or function; `fn` names an entry of `flowc.compiler.functions.SCALARS`."""

    fn: str
    args: tuple[Expr, ...]
    type: Type
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Case:
    whens: tuple[tuple[Expr, Expr], ...]
    else_: Expr | None
    type: Type
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Cast:
    expr: Expr
    type: Type
    span: Span | None = _span()


Expr = Union[ColumnRef, Literal, Call, Case, Cast]


def expr_children(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Call):
        return e.args
    if isinstance(e, Case):
        out: list[Expr] = []
        for c, v in e.whens:
            out += [c, v]
        if e.else_ is not None:
            out.append(e.else_)
        return tuple(out)
    if isinstance(e, Cast):
        return (e.expr,)
    return ()


def columns_used(e: Expr) -> set[str]:
    """Names of the input columns an expression reads."""
    if isinstance(e, ColumnRef):
        return {e.name}
    out: set[str] = set()
    for c in expr_children(e):
        out |= columns_used(c)
    return out


def map_columns(e: Expr, fn) -> Expr:
    """Rebuild e with every ColumnRef replaced by fn(ref); returns e itself when nothing changed."""
    if isinstance(e, ColumnRef):
        return fn(e)
    if isinstance(e, Call):
        args = tuple(map_columns(a, fn) for a in e.args)
        return e if all(a is b for a, b in zip(args, e.args, strict=True)) else replace(e, args=args)
    if isinstance(e, Cast):
        inner = map_columns(e.expr, fn)
        return e if inner is e.expr else replace(e, expr=inner)
    if isinstance(e, Case):
        whens = tuple((map_columns(c, fn), map_columns(v, fn)) for c, v in e.whens)
        else_ = map_columns(e.else_, fn) if e.else_ is not None else None
        same = else_ is e.else_ and all(a[0] is b[0] and a[1] is b[1] for a, b in zip(whens, e.whens, strict=True))
        return e if same else replace(e, whens=whens, else_=else_)
    return e


# ---------------------------------------------------------------- windows and aggregates


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """kind: tumble | hop | session. Durations in microseconds.

    tumble: size (+ offset); hop: size, slide (+ offset); session: gap.
    """

    kind: str
    time_col: str
    size: int = 0
    slide: int = 0
    offset: int = 0
    gap: int = 0
    span: Span | None = _span()

    def __post_init__(self) -> None:
        if self.kind not in ("tumble", "hop", "session"):
            raise IRError(f"unknown window kind {self.kind}")
        if self.kind in ("tumble", "hop") and self.size <= 0:
            raise IRError("window size must be positive")
        if self.kind == "hop" and (self.slide <= 0 or self.size % self.slide):
            raise IRError("hop size must be a positive multiple of slide")
        if self.kind == "session" and self.gap <= 0:
            raise IRError("session gap must be positive")


AGGREGATES = ("count", "sum", "min", "max", "avg", "count_distinct")


@dataclass(frozen=True, slots=True)
class AggCall:
    """`name = fn(arg)`; arg None only for count() (count of rows)."""

    name: str
    fn: str
    arg: Expr | None
    type: Type
    span: Span | None = _span()

    def __post_init__(self) -> None:
        if self.fn not in AGGREGATES:
            raise IRError(f"unknown aggregate {self.fn}")
        if self.arg is None and self.fn != "count":
            raise IRError(f"{self.fn} needs an argument")


# ---------------------------------------------------------------- relations


def _unique(names: tuple[str, ...], what: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise IRError(f"duplicate column {n!r} in {what}")
        seen.add(n)


def _require(schema: Schema, names, what: str) -> None:
    have = set(schema_names(schema))
    for n in names:
        if n not in have:
            raise IRError(f"{what} reads unknown column {n!r}; input has {sorted(have)}")


@dataclass(frozen=True, slots=True)
class Scan:
    """Read a declared relation: kind is source | table | view."""

    name: str
    kind: str
    columns: Schema
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema", self.columns)


@dataclass(frozen=True, slots=True)
class Filter:
    input: Rel
    predicate: Expr
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.predicate.type not in (T.BOOL, T.NULL):
            raise IRError(f"filter predicate has type {self.predicate.type}")
        _require(self.input.schema, columns_used(self.predicate), "filter")
        object.__setattr__(self, "schema", self.input.schema)


@dataclass(frozen=True, slots=True)
class Project:
    """Output exactly `columns`, in order: (name, expression over the input)."""

    input: Rel
    columns: tuple[tuple[str, Expr], ...]
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        _unique(tuple(n for n, _ in self.columns), "project")
        for _, e in self.columns:
            _require(self.input.schema, columns_used(e), "project")
        object.__setattr__(self, "schema", tuple(Field(n, e.type) for n, e in self.columns))

    def is_identity(self) -> bool:
        return schema_names(self.schema) == schema_names(self.input.schema) and all(
            isinstance(e, ColumnRef) and e.name == n for n, e in self.columns)


def window_fields(input_schema: Schema, window: WindowSpec) -> Schema:
    tf = schema_lookup(input_schema, window.time_col)
    if tf is None:
        raise IRError(f"window time column {window.time_col!r} not in input")
    wtype = T.TIMESTAMP if tf.type == T.DATE else tf.type
    return (Field("window_start", wtype), Field("window_end", wtype))


@dataclass(frozen=True, slots=True)
class WindowAssign:
    """Tumble or hop window assignment without aggregation: appends window_start, window_end
    (hop: one row per window the row belongs to)."""

    input: Rel
    window: WindowSpec
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.window.kind == "session":
            raise IRError("session windows exist only inside an aggregate")
        names = schema_names(self.input.schema)
        if "window_start" in names or "window_end" in names:
            raise IRError("input already has window columns")
        object.__setattr__(self, "schema", self.input.schema + window_fields(self.input.schema, self.window))


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Group by `keys` (plus the window, if any) and compute `aggs`.

    Output: keys, then window_start, window_end when windowed, then the aggregates.
    """

    input: Rel
    keys: tuple[str, ...]
    aggs: tuple[AggCall, ...]
    window: WindowSpec | None = None
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        _require(self.input.schema, self.keys, "aggregate keys")
        for a in self.aggs:
            if a.arg is not None:
                _require(self.input.schema, columns_used(a.arg), f"aggregate {a.name}")
        out: list[Field] = [schema_lookup(self.input.schema, k) for k in self.keys]  # type: ignore[misc]
        if self.window is not None:
            out += window_fields(self.input.schema, self.window)
        out += [Field(a.name, a.type) for a in self.aggs]
        _unique(tuple(f.name for f in out), "aggregate")
        object.__setattr__(self, "schema", tuple(out))


@dataclass(frozen=True, slots=True)
class Join:
    """Join `input` (left, the pipeline) with `right`.

    `condition` is typed over the join's output names: left columns keep their names, right columns
    are renamed per `right_names` (collisions become `ALIAS_col`).
    """

    input: Rel
    right: Rel
    kind: str  # inner | left
    condition: Expr
    alias: str
    right_names: tuple[str, ...]
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("inner", "left"):
            raise IRError(f"join kind {self.kind}")
        if len(self.right_names) != len(self.right.schema):
            raise IRError("right_names must name every right column")
        out = self.input.schema + tuple(Field(n, f.type) for n, f in zip(self.right_names, self.right.schema,
                                                                          strict=True))
        _unique(schema_names(out), "join")
        _require(out, columns_used(self.condition), "join condition")
        object.__setattr__(self, "schema", out)


@dataclass(frozen=True, slots=True)
class Distinct:
    """First row per key."""

    input: Rel
    keys: tuple[str, ...]
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        _require(self.input.schema, self.keys, "distinct")
        object.__setattr__(self, "schema", self.input.schema)


@dataclass(frozen=True, slots=True)
class TopN:
    input: Rel
    n: int
    order_by: Expr
    descending: bool
    per: tuple[str, ...]
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise IRError("top N needs N > 0")
        _require(self.input.schema, set(self.per) | columns_used(self.order_by), "top")
        object.__setattr__(self, "schema", self.input.schema)


@dataclass(frozen=True, slots=True)
class UnionAll:
    input: Rel
    other: Rel
    span: Span | None = _span()
    schema: Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.input.schema != self.other.schema:
            raise IRError("union inputs differ in schema")
        object.__setattr__(self, "schema", self.input.schema)


Rel = Scan | Filter | Project | WindowAssign | Aggregate | Join | Distinct | TopN | UnionAll


def rel_inputs(r: Rel) -> tuple[Rel, ...]:
    if isinstance(r, Scan):
        return ()
    if isinstance(r, Join):
        return (r.input, r.right)
    if isinstance(r, UnionAll):
        return (r.input, r.other)
    return (r.input,)


def with_inputs(r: Rel, inputs: tuple[Rel, ...]) -> Rel:
    """r with new inputs; r itself when they are the same objects."""
    old = rel_inputs(r)
    if all(a is b for a, b in zip(old, inputs, strict=True)):
        return r
    if isinstance(r, Join):
        return replace(r, input=inputs[0], right=inputs[1])
    if isinstance(r, UnionAll):
        return replace(r, input=inputs[0], other=inputs[1])
    return replace(r, input=inputs[0])


def walk(r: Rel):
    """All nodes of a plan, inputs before the nodes that read them."""
    for i in rel_inputs(r):
        yield from walk(i)
    yield r


def scan_names(r: Rel) -> tuple[str, ...]:
    """The sources, tables and views a plan reads, each once, in the order it first reads them.

    A scanned view counts as itself; its plan is not followed: what callers need is what this plan
    depends on directly (deployment order, a view's dependencies, naming a join's sides)."""
    return tuple(dict.fromkeys(n.name for n in walk(r) if isinstance(n, Scan)))


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Env:
    """A connector argument read from the environment at run or deploy time: `env('PG_DSN')`."""

    name: str


@dataclass(frozen=True, slots=True)
class Connector:
    """kind: csv | jsonl | parquet | stdout | nexmark | postgres | kafka. `args` are sorted by key;
    a single positional path is stored under "path"."""

    kind: str
    args: tuple[tuple[str, object], ...] = ()
    span: Span | None = _span()

    def get(self, key: str, default: object = None) -> object:
        for k, v in self.args:
            if k == key:
                return v
        return default


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    schema: Schema
    connector: Connector
    event_time: str | None = None
    watermark: int | None = None  # bounded out-of-orderness, microseconds
    on_late: Connector | str = "drop"  # "drop" or a connector receiving late rows unchanged
    on_error: Connector | str = "fail"  # "fail" | "skip" | a connector
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    schema: Schema
    primary_key: tuple[str, ...]
    connector: Connector
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class View:
    name: str
    plan: Rel
    emit: str  # final | changes
    span: Span | None = _span()

    @property
    def schema(self) -> Schema:
        return self.plan.schema


@dataclass(frozen=True, slots=True)
class Sink:
    view: str
    connector: Connector
    span: Span | None = _span()


@dataclass(frozen=True, slots=True)
class Program:
    sources: tuple[Source, ...] = ()
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()  # in dependency order: a view only reads earlier views
    sinks: tuple[Sink, ...] = ()
    file: str = field(default="<input>", compare=False)
    base_dir: str = field(default=".", compare=False)

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def view(self, name: str) -> View | None:
        return next((v for v in self.views if v.name == name), None)

    def with_views(self, views: tuple[View, ...]) -> Program:
        if all(a is b for a, b in zip(views, self.views, strict=True)):
            return self
        return replace(self, views=views)
