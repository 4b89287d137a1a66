"""The Python front end: a builder that makes the same AST as the .flow parser.

    flow = Flow()
    bids = flow.source("bids", csv("bids.csv"), schema={...}, event_time="date_time", watermark="5s")

    @flow.view(emit="final")
    def hot_items(bids):
        return bids.where(col("price") > 10).window(tumble("date_time", "10s")) \
                   .aggregate(bids=count(), top_price=max_("price"), by=["auction"])

Spans point at the Python call site (file:line), so errors found in lowering name the line of the
user's script. Equality ignores spans: the builder's program equals the parsed .flow program.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Iterable, Mapping

from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.compiler.span import Span

from . import ast
from .syntax_durations import DurationError, duration_micros

# ---------------------------------------------------------------- call sites


def _caller_span(depth: int = 2) -> Span | None:
    """The span of the first frame outside this module (the user's line)."""
    frame = inspect.currentframe()
    try:
        f = frame
        for _ in range(depth):
            if f is None:
                return None
            f = f.f_back
        while f is not None and f.f_code.co_filename == __file__:
            f = f.f_back
        if f is None:
            return None
        return Span.point(f.f_code.co_filename, f.f_lineno, 1, 0)
    finally:
        del frame


# ---------------------------------------------------------------- durations


def duration(value: str | int) -> ast.Duration:
    """`duration("5s")`; an int is microseconds."""
    if isinstance(value, ast.Duration):
        return value
    if isinstance(value, int):
        return ast.Duration(value, f"{value}us", span=_caller_span())
    span = _caller_span()
    try:
        micros = duration_micros(value.strip())
    except DurationError as e:
        raise FlowError(Diagnostic(Code.BAD_DURATION, f"bad duration {value!r}: {e.message}", span,
                                   e.hint)) from None
    return ast.Duration(micros, value.strip(), span=span)


# ---------------------------------------------------------------- expressions


class Expr:
    """A column expression under construction; operators build AST nodes."""

    __slots__ = ("node", "name")

    def __init__(self, node: ast.Expr, name: str | None = None):
        self.node = node
        self.name = name

    def alias(self, name: str) -> Expr:
        """Name a computed column in select/derive: `(col("price") * 100).alias("cents")`."""
        return Expr(self.node, name)

    def _bin(self, op: str, other: object, reflected: bool = False) -> Expr:
        left, right = self.node, to_node(other)
        if reflected:
            left, right = right, left
        return Expr(ast.Binary(op, left, right, span=_caller_span()))

    def __add__(self, o): return self._bin("+", o)
    def __radd__(self, o): return self._bin("+", o, True)
    def __sub__(self, o): return self._bin("-", o)
    def __rsub__(self, o): return self._bin("-", o, True)
    def __mul__(self, o): return self._bin("*", o)
    def __rmul__(self, o): return self._bin("*", o, True)
    def __truediv__(self, o): return self._bin("/", o)
    def __rtruediv__(self, o): return self._bin("/", o, True)
    def __mod__(self, o): return self._bin("%", o)
    def __eq__(self, o): return self._bin("=", o)  # type: ignore[override]
    def __ne__(self, o): return self._bin("<>", o)  # type: ignore[override]
    def __lt__(self, o): return self._bin("<", o)
    def __le__(self, o): return self._bin("<=", o)
    def __gt__(self, o): return self._bin(">", o)
    def __ge__(self, o): return self._bin(">=", o)
    def __and__(self, o): return self._bin("and", o)
    def __rand__(self, o): return self._bin("and", o, True)
    def __or__(self, o): return self._bin("or", o)
    def __ror__(self, o): return self._bin("or", o, True)
    def __neg__(self):
        # as the parser does: `-5` and `-2s` are negative literals, not negations of positive ones
        n = self.node
        if isinstance(n, ast.Literal) and n.kind in ("int", "float"):
            return Expr(ast.Literal(-n.value, n.kind, span=_caller_span()))  # type: ignore[operator]
        if isinstance(n, ast.Duration):
            return Expr(ast.Duration(-n.micros, f"-{n.text}", span=_caller_span()))
        return Expr(ast.Unary("-", n, span=_caller_span()))
    def __invert__(self): return Expr(ast.Unary("not", self.node, span=_caller_span()))

    __hash__ = None  # type: ignore[assignment]  # == builds an expression

    def concat(self, o) -> Expr:
        return self._bin("||", o)

    def is_null(self) -> Expr:
        return Expr(ast.IsNull(self.node, span=_caller_span()))

    def is_not_null(self) -> Expr:
        return Expr(ast.IsNull(self.node, True, span=_caller_span()))

    def isin(self, values: Iterable[object]) -> Expr:
        return Expr(ast.InList(self.node, tuple(to_node(v) for v in values), span=_caller_span()))

    def not_in(self, values: Iterable[object]) -> Expr:
        """`x not in (...)` (SQL: null if x is null or no item matches and one is null)."""
        return Expr(ast.InList(self.node, tuple(to_node(v) for v in values), True, span=_caller_span()))

    def between(self, low: object, high: object) -> Expr:
        return Expr(ast.Between(self.node, to_node(low), to_node(high), span=_caller_span()))

    def not_between(self, low: object, high: object) -> Expr:
        return Expr(ast.Between(self.node, to_node(low), to_node(high), True, span=_caller_span()))

    def like(self, pattern: object) -> Expr:
        """`x like pattern`: `%` any text, `_` one character, backslash escapes."""
        return Expr(ast.Like(self.node, to_node(pattern), span=_caller_span()))

    def not_like(self, pattern: object) -> Expr:
        return Expr(ast.Like(self.node, to_node(pattern), True, span=_caller_span()))

    def ilike(self, pattern: object) -> Expr:
        """`x ilike pattern`: like, ignoring case."""
        return Expr(ast.Like(self.node, to_node(pattern), ignore_case=True, span=_caller_span()))

    def not_ilike(self, pattern: object) -> Expr:
        return Expr(ast.Like(self.node, to_node(pattern), True, True, span=_caller_span()))

    def filter(self, cond: object) -> Expr:
        """An aggregate over the rows where `cond` holds: `fc.count().filter(fc.col("price") > 100)`."""
        import dataclasses

        if not isinstance(self.node, ast.Call):
            raise TypeError("filter() applies to an aggregate call, e.g. fc.sum('price').filter(...)")
        return Expr(dataclasses.replace(self.node, filter=to_node(cond)))

    def cast(self, type_name: str) -> Expr:
        return Expr(ast.Cast(self.node, type_name_node(type_name), span=_caller_span()))

    def __bool__(self) -> bool:
        raise TypeError("a flowc expression has no truth value: use & | ~ instead of and/or/not")

    def __repr__(self) -> str:
        return f"Expr({self.node!r})"


def type_name_node(text: str) -> ast.TypeName:
    m = re.match(r"^\s*(\w+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$", text)
    if not m:
        raise FlowError(Diagnostic(Code.UNKNOWN_TYPE, f"bad type {text!r}", _caller_span(),
                                   "e.g. 'bigint', 'timestamp', 'decimal(10, 2)'"))
    params = tuple(int(g) for g in m.groups()[1:] if g is not None)
    return ast.TypeName(m.group(1).lower(), params)


def to_node(value: object) -> ast.Expr:
    """A Python value as an expression: Expr, Duration, or a literal (str is a string literal)."""
    if isinstance(value, Expr):
        return value.node
    if isinstance(value, ast.Duration):
        return value
    if value is None:
        return ast.Literal(None, "null")
    if isinstance(value, bool):
        return ast.Literal(value, "bool")
    if isinstance(value, int):
        return ast.Literal(value, "int")
    if isinstance(value, float):
        return ast.Literal(value, "float")
    if isinstance(value, str):
        return ast.Literal(value, "string")
    raise TypeError(f"cannot use {type(value).__name__} in a flowc expression")


def to_column(value: object) -> ast.Expr:
    """Where a column is expected, a str names a column (`max("price")`)."""
    if isinstance(value, str):
        parts = tuple(value.split("."))
        return ast.Name(parts, span=_caller_span())
    return to_node(value)


def col(name: str) -> Expr:
    """A column: `col("price")`, or `col("a.id")` for the right side of a join."""
    return Expr(to_column(name))


def lit(value: object) -> Expr:
    return Expr(to_node(value))


def expr(text: str) -> Expr:
    """An expression in .flow syntax: `expr("price > 10 and channel <> 'web'")`."""
    from .parser import parse_expression

    # The spans of the parsed text are relative to the string, so it gets a name of its own that
    # says where it came from (the caret then quotes the expression, not line 1 of the script).
    span = _caller_span()
    return Expr(parse_expression(text, file=f"<expression at {span}>" if span else "<expression>"))


def func(name: str, *args: object) -> Expr:
    """A scalar function call: `func("lower", col("channel"))`."""
    return Expr(ast.Call(name, tuple(ast.Arg(to_column(a) if isinstance(a, str) else to_node(a))
                                     for a in args), span=_caller_span()))


def extract(field: str, value: object) -> Expr:
    """`extract(field from value)`: `fc.extract("hour", "date_time")`."""
    return Expr(ast.Extract(field, to_column(value) if isinstance(value, str) else to_node(value),
                            span=_caller_span()))


def case(*whens: tuple[object, object], else_: object = None) -> Expr:
    return Expr(ast.Case(tuple((to_node(c), to_node(v)) for c, v in whens),
                         to_node(else_) if else_ is not None else None, span=_caller_span()))


def _agg(name: str, arg: object = None) -> Expr:
    args = () if arg is None else (ast.Arg(to_column(arg)),)
    return Expr(ast.Call(name, args, span=_caller_span()))


def count(arg: object = None) -> Expr:
    return _agg("count", arg)


def sum_(arg: object) -> Expr:
    return _agg("sum", arg)


def min_(arg: object) -> Expr:
    return _agg("min", arg)


def max_(arg: object) -> Expr:
    return _agg("max", arg)


def avg(arg: object) -> Expr:
    return _agg("avg", arg)


def count_distinct(arg: object) -> Expr:
    return _agg("count_distinct", arg)


# ---------------------------------------------------------------- windows


def _window(kind: str, positional: list[object], named: Mapping[str, object]) -> ast.Call:
    args = [ast.Arg(to_column(positional[0]))]
    args += [ast.Arg(duration(v) if isinstance(v, str | int) else to_node(v)) for v in positional[1:]]
    args += [ast.Arg(duration(v) if isinstance(v, str | int) else to_node(v), k) for k, v in named.items()]
    return ast.Call(kind, tuple(args), span=_caller_span())


def tumble(time_column: str, size: str, offset: str | None = None) -> ast.Call:
    return _window("tumble", [time_column, size], {"offset": offset} if offset else {})


def hop(time_column: str, size: str, slide: str, offset: str | None = None) -> ast.Call:
    named = {"size": size, "slide": slide} | ({"offset": offset} if offset else {})
    return _window("hop", [time_column], named)


def session(time_column: str, gap: str) -> ast.Call:
    return _window("session", [time_column], {"gap": gap})


# ---------------------------------------------------------------- connectors


def connector(name: str, path: str | None = None, **args: object) -> ast.Connector:
    out = [ast.Arg(ast.Literal(path, "string"))] if path is not None else []
    for k, v in args.items():
        if isinstance(v, ast.Call):
            out.append(ast.Arg(v, k))
        else:
            out.append(ast.Arg(to_node(v), k))
    return ast.Connector(name, tuple(out), span=_caller_span())


def csv(path: str, **args: object) -> ast.Connector:
    return connector("csv", path, **args)


def jsonl(path: str) -> ast.Connector:
    return connector("jsonl", path)


def parquet(path: str) -> ast.Connector:
    return connector("parquet", path)


def stdout() -> ast.Connector:
    return connector("stdout")


def env(name: str) -> ast.Call:
    """A connector argument read from the environment: `postgres(dsn=env("PG_DSN"), table="t")`."""
    return ast.Call("env", (ast.Arg(ast.Literal(name, "string")),))


# ---------------------------------------------------------------- relations and pipelines


class Relation:
    """A relation in a pipeline under construction. Every stage returns a new Relation."""

    def __init__(self, start: ast.Relation, stages: tuple[ast.Stage, ...] = (), span: Span | None = None):
        self._start = start
        self._stages = stages
        self._span = span

    def _then(self, stage: ast.Stage) -> Relation:
        return Relation(self._start, self._stages + (stage,), self._span)

    def to_relation(self) -> ast.Relation:
        if not self._stages:
            return self._start
        return ast.Pipeline(self._start, self._stages, span=self._span)

    def to_pipeline(self) -> ast.Pipeline:
        return ast.Pipeline(self._start, self._stages, span=self._span)

    def where(self, predicate: Expr | str) -> Relation:
        node = expr(predicate).node if isinstance(predicate, str) else to_node(predicate)
        return self._then(ast.Where(node, span=_caller_span()))

    @staticmethod
    def _items(positional: Iterable[object], named: Mapping[str, object]) -> tuple[ast.Item, ...]:
        items: list[ast.Item] = []
        for p in positional:
            if isinstance(p, str):
                items.append(ast.Item(to_column(p)))
            elif isinstance(p, Expr):
                items.append(ast.Item(p.node, p.name))
            else:
                raise TypeError(f"select/derive take column names or expressions, not {type(p).__name__}")
        for k, v in named.items():
            items.append(ast.Item(expr(v).node if isinstance(v, str) else to_node(v), k))
        return tuple(items)

    def select(self, *columns: object, **named: object) -> Relation:
        """`select("auction", (col("price") * 100).alias("cents"))`; keyword items come last."""
        return self._then(ast.Select(self._items(columns, named), span=_caller_span()))

    def derive(self, *columns: Expr, **named: object) -> Relation:
        return self._then(ast.Derive(self._items(columns, named), span=_caller_span()))

    def window(self, call: ast.Call) -> Relation:
        return self._then(ast.Window(call, span=_caller_span()))

    def aggregate(self, *, by: Iterable[str] = (), **aggs: Expr) -> Relation:
        items = tuple(ast.Item(v.node, k) for k, v in aggs.items())
        return self._then(ast.Aggregate(items, tuple(to_column(k) for k in by), span=_caller_span()))

    def join(self, other: Relation, on: Expr | str, alias: str | None = None, how: str = "inner") -> Relation:
        node = expr(on).node if isinstance(on, str) else to_node(on)
        return self._then(ast.Join(other.to_relation(), node, alias, how, span=_caller_span()))

    def distinct(self, *keys: str) -> Relation:
        return self._then(ast.Distinct(tuple(to_column(k) for k in keys), span=_caller_span()))

    def top(self, n: int, by: Expr | str, descending: bool = True, per: Iterable[str] = ()) -> Relation:
        return self._then(ast.Top(n, to_column(by) if isinstance(by, str) else to_node(by), descending,
                                  tuple(to_column(k) for k in per), span=_caller_span()))

    def union(self, other: Relation) -> Relation:
        return self._then(ast.Union_(other.to_relation(), span=_caller_span()))

    def emit(self, mode: str) -> Relation:
        return self._then(ast.Emit(mode, span=_caller_span()))


class FlowBuilder:
    """Collects declarations in order; `program` is the AST both front ends agree on."""

    def __init__(self, base_dir: str | None = None):
        span = _caller_span()
        self.file = span.file if span else "<python>"
        self.base_dir = base_dir or (os.path.dirname(os.path.abspath(self.file)) if span else ".")
        self._decls: list[ast.Decl] = []

    @property
    def program(self) -> ast.Program:
        return ast.Program(tuple(self._decls), file=self.file, base_dir=self.base_dir)

    def source(self, name: str, from_: ast.Connector, schema: Mapping[str, str], event_time: str | None = None,
               watermark: str | int | None = None, on_late: ast.Connector | str | None = None,
               on_error: ast.Connector | str | None = None) -> Relation:
        span = _caller_span()
        cols = tuple(ast.ColumnDef(k, type_name_node(v), span=span) for k, v in schema.items())
        wm = duration(watermark) if watermark is not None else None
        self._decls.append(ast.SourceDecl(name, cols, from_, event_time, wm, on_late, on_error, span=span,
                                          name_span=span, event_time_span=span))
        return Relation(ast.RelationRef(name, span=span), span=span)

    def table(self, name: str, from_: ast.Connector, schema: Mapping[str, str],
              primary_key: Iterable[str]) -> Relation:
        span = _caller_span()
        cols = tuple(ast.ColumnDef(k, type_name_node(v), span=span) for k, v in schema.items())
        self._decls.append(ast.TableDecl(name, cols, tuple(primary_key), from_, span=span, name_span=span))
        return Relation(ast.RelationRef(name, span=span), span=span)

    def view(self, fn: Callable[..., Relation] | None = None, *, name: str | None = None,
             emit: str | None = None):
        """Decorator: the function's parameters are resolved by name to declared relations."""
        def register(f: Callable[..., Relation]) -> Relation:
            span = Span.point(f.__code__.co_filename, f.__code__.co_firstlineno, 1, 0)
            params = inspect.signature(f).parameters
            handles = [Relation(ast.RelationRef(p, span=span), span=span) for p in params]
            result = f(*handles)
            if not isinstance(result, Relation):
                raise TypeError(f"view {f.__name__} must return a relation, got {type(result).__name__}")
            if emit is not None:
                result = result.emit(emit)
            view_name = name or f.__name__
            self._decls.append(ast.ViewDecl(view_name, result.to_pipeline(), span=span, name_span=span))
            return Relation(ast.RelationRef(view_name, span=span), span=span)
        return register(fn) if fn is not None else register

    def sink(self, view: Relation | str, into: ast.Connector) -> None:
        span = _caller_span()
        if isinstance(view, Relation):
            start = view.to_relation()
            if not isinstance(start, ast.RelationRef):
                raise TypeError("sink takes a view (the result of @flow.view), not a pipeline")
            view = start.name
        self._decls.append(ast.SinkDecl(view, into, span=span, view_span=span))
