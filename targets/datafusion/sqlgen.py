"""Compile an IR program to DataFusion SQL: one lateness split per source, one SELECT per view.

DataFusion is a batch engine, so it keeps the streaming meaning (SEMANTICS §4) by deciding
lateness itself: each source is registered as `__raw_<name>`, its rows in file order with an extra
`__arrival` index, and the row at arrival i is on time iff

    prev_max IS NULL OR (ts IS NOT NULL AND ts >= prev_max - D)

with prev_max = MAX(ts) over the rows before it in arrival order (`ROWS BETWEEN UNBOUNDED PRECEDING
AND 1 PRECEDING`). MAX skips nulls, so prev_max is null exactly while no watermark exists (W = -inf);
after that a null event time is late, and a row exactly at the watermark is on time. The on-time
rows are then what every view reads under the source's own name.

Each IR relation becomes a SELECT over its input as a subquery; DataFusion's optimizer flattens
the nesting. `distinct` keeps the first on-time row per key in arrival order, so its input is
compiled with the source's `__arrival` carried along (`RelCompiler.arrival`); `top` orders by its
expression, nulls last, then by every column (docs/semantics.md, "flowc choices"). Window arithmetic is done on integer microseconds (DataFusion cannot multiply an
INTERVAL by an integer, and `date_bin` works in nanoseconds, which would overflow outside the
years 1677-2262), with floor division so times before the epoch fall in the right window.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from flowc.compiler.properties import join_kind
from sqlglot import exp

from .dialect import render
from .expressions import TARGET, aggregate, col, expr, lit_int, paren, time_micros
from .types import arrow_cast, arrow_type

FILE_CONNECTORS = ("csv", "jsonl", "parquet")
SINK_CONNECTORS = FILE_CONNECTORS + ("stdout", "postgres")

ARRIVAL = "__arrival"
ON_TIME = "__on_time"
PREV_MAX = "__prev_max"
OP = "_op"


def raw_table_name(source: str) -> str:
    return f"__raw_{source}"


@dataclass(frozen=True)
class SourcePlan:
    """How one source is read: `raw_table` holds the file's rows plus `__arrival` (0..n-1 in file
    order); `on_time_sql` selects the rows views see (registered under `name`); `late_sql` the
    late rows in arrival order, or None when the source has no event time (nothing is late)."""

    name: str
    raw_table: str
    on_time_sql: str
    late_sql: str | None


@dataclass(frozen=True)
class ViewPlan:
    """`sql` computes the view's contents (registered under `name`, so later views read it);
    `output_sql` is what a sink of it receives (with `_op` first for `emit changes`)."""

    name: str
    sql: str
    output_sql: str
    emit: str


@dataclass(frozen=True)
class DataFusionPlan:
    sources: tuple[SourcePlan, ...]
    views: tuple[ViewPlan, ...]

    def source(self, name: str) -> SourcePlan | None:
        return next((s for s in self.sources if s.name == name), None)

    def view(self, name: str) -> ViewPlan | None:
        return next((v for v in self.views if v.name == name), None)


# ---------------------------------------------------------------- program


def compile_datafusion(program: ir.Program) -> DataFusionPlan:
    """SQL for every source's lateness split and every view; raises UnsupportedFeature for what
    DataFusion cannot run (non-file connectors, relations not lowered yet)."""
    for t in program.tables:
        _check_connector(t.connector, f"table '{t.name}'", FILE_CONNECTORS + ("postgres",))
    for s in program.sinks:
        _check_connector(s.connector, f"sink of '{s.view}'", SINK_CONNECTORS)
    sources = tuple(_source_plan(s) for s in program.sources)
    views = tuple(_view_plan(program, v) for v in program.views)
    return DataFusionPlan(sources, views)


def _check_connector(c: ir.Connector, what: str, allowed: tuple[str, ...]) -> None:
    if c.kind not in allowed:
        raise UnsupportedFeature(f"the {c.kind} connector ({what})", TARGET, c.span,
                                 hint=f"DataFusion runs over files: use one of {', '.join(allowed)}",
                                 code=Code.CONNECTOR_TARGET)


def _source_plan(s: ir.Source) -> SourcePlan:
    _check_connector(s.connector, f"source '{s.name}'", FILE_CONNECTORS + ("nexmark", "postgres"))  # read whole
    if isinstance(s.on_late, ir.Connector):
        _check_connector(s.on_late, f"on_late of source '{s.name}'", SINK_CONNECTORS)
    names = [f.name for f in s.schema]
    raw = exp.to_table(raw_table_name(s.name))
    if s.event_time is None:
        q = exp.select(*(col(n) for n in names)).from_(raw)
        return SourcePlan(s.name, raw.name, render(q), None)
    flagged = _lateness(s, names, raw).subquery("__flagged")
    on_time = exp.select(*(col(n) for n in names)).from_(flagged).where(col(ON_TIME))
    late = (exp.select(*(col(n) for n in names)).from_(flagged.copy()).where(exp.Not(this=col(ON_TIME)))
            .order_by(col(ARRIVAL)))
    return SourcePlan(s.name, raw.name, render(on_time), render(late))


def _lateness(s: ir.Source, names: list[str], raw: exp.Table) -> exp.Select:
    """All columns plus `__arrival` and the on-time flag of SEMANTICS §1."""
    tf = ir.schema_lookup(s.schema, s.event_time)  # type: ignore[arg-type]
    assert tf is not None, "lowering checks the event time column"
    window = exp.Window(
        this=exp.Max(this=col(tf.name)),
        order=exp.Order(expressions=[exp.Ordered(this=col(ARRIVAL))]),
        spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                            end=lit_int(1), end_side="PRECEDING"))
    with_max = exp.select(*(col(n) for n in names), col(ARRIVAL), exp.alias_(window, PREV_MAX)).from_(raw)
    ts_us = time_micros(col(tf.name), tf.type)
    wm_us = exp.Sub(this=time_micros(col(PREV_MAX), tf.type), expression=lit_int(int(s.watermark or 0)))
    on_time = exp.Or(
        this=exp.Is(this=col(PREV_MAX), expression=exp.Null()),
        expression=exp.Paren(this=exp.And(
            this=exp.Not(this=exp.Is(this=col(tf.name), expression=exp.Null())),
            expression=exp.GTE(this=ts_us, expression=exp.Paren(this=wm_us)))))
    return exp.select(*(col(n) for n in names), col(ARRIVAL), exp.alias_(on_time, ON_TIME)) \
        .from_(with_max.subquery("__with_max"))


def _view_plan(program: ir.Program, v: ir.View) -> ViewPlan:
    q = RelCompiler(program).compile(v.plan)
    names = [f.name for f in v.schema]
    cols = [col(n) for n in names]
    if v.emit == "changes":
        # A batch run knows only the end state: the changelog that consolidates to it is all '+'.
        cols = [exp.alias_(exp.Literal.string("+"), OP), *cols]
    out = exp.select(*cols).from_(exp.to_table(v.name))
    return ViewPlan(v.name, render(q), render(out), v.emit)


# ---------------------------------------------------------------- relations


class RelCompiler:
    """Turns an IR relation tree into one SELECT, each node a query over its input's subquery."""

    def __init__(self, program: ir.Program | None = None) -> None:
        self._ids = itertools.count()
        self.program = program or ir.Program()

    def compile(self, r: ir.Rel) -> exp.Select:
        method = getattr(self, f"_{type(r).__name__}", None)
        if method is None:
            raise UnsupportedFeature(type(r).__name__, TARGET, r.span,
                                     hint="run this view with --target local or --target risingwave")
        return method(r)

    def _alias(self) -> str:
        return f"__t{next(self._ids)}"

    def _sub(self, r: ir.Rel) -> exp.Subquery:
        return self.compile(r).subquery(f"__t{next(self._ids)}")

    @staticmethod
    def _cols(schema: ir.Schema) -> list[exp.Expression]:
        return [col(f.name) for f in schema]

    def _Scan(self, r: ir.Scan) -> exp.Select:
        # sources and tables are registered under their names (sources: on-time rows only),
        # and views as DataFusion views, so a scan is the same for all three
        return exp.select(*self._cols(r.columns)).from_(exp.to_table(r.name))

    def _Filter(self, r: ir.Filter) -> exp.Select:
        return exp.select(*self._cols(r.schema)).from_(self._sub(r.input)).where(expr(r.predicate))

    def _Project(self, r: ir.Project) -> exp.Select:
        cols = [exp.alias_(expr(e), n) for n, e in r.columns]
        return exp.select(*cols).from_(self._sub(r.input))

    def _UnionAll(self, r: ir.UnionAll) -> exp.Select:
        union = exp.union(self.compile(r.input), self.compile(r.other), distinct=False)
        return exp.select(*self._cols(r.schema)).from_(union.subquery(self._alias()))

    def _Join(self, r: ir.Join, left: exp.Subquery | None = None, extra: tuple[str, ...] = ()) -> exp.Select:
        # The condition is typed over the output names; renaming the right side's columns to
        # `right_names` first makes every name in it unambiguous without qualification. A lookup
        # join is this plain join too: the table is bounded, so its "current version" is all of it.
        right = exp.select(*(exp.alias_(col(f.name), n) for f, n in zip(r.right.schema, r.right_names,
                                                                         strict=True)))
        right = right.from_(self._sub(r.right)).subquery(self._alias())
        q = exp.select(*self._cols(r.schema), *(col(x) for x in extra)) \
            .from_(left if left is not None else self._sub(r.input))
        return q.join(right, on=expr(r.condition), join_type="left" if r.kind == "left" else "inner")

    # ---- distinct and top

    def _Distinct(self, r: ir.Distinct, keep_arrival: bool = False) -> exp.Select:
        """The first on-time row per key in arrival order (a hop row's windows by window_start)."""
        cols = self._cols(r.schema)
        order = [exp.Ordered(this=col(ARRIVAL))]
        if "window_start" in ir.schema_names(r.schema):
            order.append(exp.Ordered(this=col("window_start")))
        rn = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in r.keys] or None,
                        order=exp.Order(expressions=order))
        numbered = exp.select(*cols, col(ARRIVAL), exp.alias_(rn, "__rn")) \
            .from_(self.arrival(r.input, r).subquery(self._alias()))
        out = [c.copy() for c in cols] + ([col(ARRIVAL)] if keep_arrival else [])
        return exp.select(*out).from_(numbered.subquery(self._alias())) \
            .where(exp.EQ(this=col("__rn"), expression=lit_int(1)))

    def _TopN(self, r: ir.TopN) -> exp.Select:
        """N rows per key: by the expression, nulls last either way, ties broken by every column
        ascending, nulls last; a total order, so the result does not depend on arrival."""
        cols = self._cols(r.schema)
        order = [exp.Ordered(this=expr(r.order_by), desc=r.descending, nulls_first=False)]
        order += [exp.Ordered(this=c.copy(), nulls_first=False) for c in cols]
        rn = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in r.per] or None,
                        order=exp.Order(expressions=order))
        numbered = exp.select(*cols, exp.alias_(rn, "__rn")).from_(self._sub(r.input))
        return exp.select(*(c.copy() for c in cols)).from_(numbered.subquery(self._alias())) \
            .where(exp.LTE(this=col("__rn"), expression=lit_int(r.n)))

    def arrival(self, r: ir.Rel, user: ir.Rel) -> exp.Select:
        """r's rows plus `__arrival`, the arrival position of the source row each derives from, for
        `user` (the distinct that needs it). Raises where r's rows have no single arrival order."""
        cols = self._cols(r.schema)
        if isinstance(r, ir.Scan) and r.kind == "source":
            s = self.program.source(r.name)
            if s is None:
                raise UnsupportedFeature(f"distinct over unknown source '{r.name}'", TARGET, user.span)
            raw = exp.to_table(raw_table_name(s.name))
            if s.event_time is None:
                return exp.select(*cols, col(ARRIVAL)).from_(raw)
            # the same on-time split the source's registration uses, with the arrival kept
            flagged = _lateness(s, [f.name for f in s.schema], raw).subquery(self._alias())
            return exp.select(*cols, col(ARRIVAL)).from_(flagged).where(col(ON_TIME))
        if isinstance(r, ir.Scan) and r.kind == "view" and self.program.view(r.name) is not None:
            v = self.program.view(r.name)
            return exp.select(*cols, col(ARRIVAL)).from_(self.arrival(v.plan, user).subquery(self._alias()))
        if isinstance(r, ir.Filter):
            return exp.select(*cols, col(ARRIVAL)).from_(self.arrival(r.input, user).subquery(self._alias())) \
                .where(expr(r.predicate))
        if isinstance(r, ir.Project):
            return exp.select(*(exp.alias_(expr(e), n) for n, e in r.columns), col(ARRIVAL)) \
                .from_(self.arrival(r.input, user).subquery(self._alias()))
        if isinstance(r, ir.WindowAssign):
            return self._WindowAssign(r, arrival_for=user)
        if isinstance(r, ir.Distinct):
            return self._Distinct(r, keep_arrival=True)
        if isinstance(r, ir.Join) and join_kind(r, {s.name: s for s in self.program.sources},
                                                {v.name: v for v in self.program.views}) == "lookup":
            # a lookup join's rows come in the order of the stream rows that produced them
            return self._Join(r, self.arrival(r.input, user).subquery(self._alias()), (ARRIVAL,))
        what = {ir.UnionAll: "a union", ir.Join: "a join of two streams", ir.Aggregate: "an aggregate",
                ir.TopN: "a top", ir.Scan: f"the table '{getattr(r, 'name', '')}'"}.get(type(r), type(r).__name__)
        raise UnsupportedFeature(
            f"distinct over {what}", TARGET, user.span,
            hint="distinct keeps the first row per key in arrival order, which a batch run cannot know "
                 "for rows that do not come from one source; apply distinct to the source's rows before "
                 "the union/join/aggregate, or run this view with --target local")

    # ---- windows

    def _WindowAssign(self, r: ir.WindowAssign, arrival_for: ir.Rel | None = None) -> exp.Select:
        """arrival_for: the distinct that needs `__arrival` carried through (see `arrival`)."""
        w = r.window
        extra = (ARRIVAL,) if arrival_for is not None else ()
        source = self.arrival(r.input, arrival_for).subquery(self._alias()) if arrival_for is not None else None
        inner = self._window_starts(r.input, w, source, extra)
        wtype = arrow_type(r.schema[-1].type)
        return exp.select(*self._cols(r.input.schema), *(col(x) for x in extra),
                          exp.alias_(arrow_cast(col("__ws"), wtype), "window_start"),
                          exp.alias_(arrow_cast(exp.Add(this=col("__ws"), expression=lit_int(w.size)), wtype),
                                     "window_end")).from_(inner)

    def _window_starts(self, rel: ir.Rel, w: ir.WindowSpec, source: exp.Subquery | None = None,
                       extra: tuple[str, ...] = ()) -> exp.Subquery:
        """rel's columns (and the `extra` ones `source` carries) plus `__ws`, the start (integer
        microseconds) of each window a row is in: one row per window for hop; a null time gets null
        starts. `source` is rel already compiled (default: compiled here)."""
        tf = ir.schema_lookup(rel.schema, w.time_col)
        assert tf is not None
        t = time_micros(col(tf.name), tf.type)
        cols = self._cols(rel.schema) + [col(x) for x in extra]
        source = source if source is not None else self._sub(rel)
        if w.kind == "tumble":
            start = _floor_align(t, w.size, w.offset)
            q = exp.select(*cols, exp.alias_(start, "__ws")).from_(source)
        elif w.kind == "hop":
            # A null time still yields its size/slide rows, with null windows, as the runtime's
            # window assignment does; RANGE over a null would instead yield no row at all.
            last = _floor_align(exp.Coalesce(this=t, expressions=[lit_int(0)]), w.slide, w.offset)
            starts = exp.Anonymous(this="range", expressions=[
                exp.Add(this=exp.Sub(this=paren(last), expression=lit_int(w.size)), expression=lit_int(w.slide)),
                exp.Add(this=paren(last.copy()), expression=lit_int(1)),
                lit_int(w.slide)])
            # exp.Alias, not alias_: alias_ would fold the name into UNNEST's table alias, unquoted
            unnest = exp.Alias(this=exp.Unnest(expressions=[starts]), alias=exp.to_identifier("__hop"))
            hops = exp.select(*cols, unnest).from_(source)
            start = exp.Case(ifs=[exp.If(this=exp.Is(this=col(tf.name), expression=exp.Null()), true=exp.Null())],
                             default=col("__hop"))
            q = exp.select(*(c.copy() for c in cols), exp.alias_(start, "__ws")) \
                .from_(hops.subquery(f"__t{next(self._ids)}"))
        else:
            raise UnsupportedFeature("a session window outside an aggregate", TARGET, w.span)
        return q.subquery(f"__t{next(self._ids)}")

    def _Aggregate(self, r: ir.Aggregate) -> exp.Select:
        keys = [col(k) for k in r.keys]
        aggs = [exp.alias_(aggregate(a), a.name) for a in r.aggs]
        if r.window is None:
            q = exp.select(*keys, *aggs).from_(self._sub(r.input))
            return q.group_by(*(k.copy() for k in keys)) if keys else q
        wtype = arrow_type(ir.schema_lookup(r.schema, "window_start").type)  # type: ignore[union-attr]
        if r.window.kind == "session":
            return self._session(r, keys, aggs, wtype)
        ws = col("__ws")
        bounds = [exp.alias_(arrow_cast(ws, wtype), "window_start"),
                  exp.alias_(arrow_cast(exp.Add(this=ws.copy(), expression=lit_int(r.window.size)), wtype),
                             "window_end")]
        return exp.select(*keys, *bounds, *aggs).from_(self._window_starts(r.input, r.window)) \
            .group_by(*(k.copy() for k in keys), ws.copy())

    def _session(self, r: ir.Aggregate, keys, aggs, wtype) -> exp.Select:
        """Sessions per key over all (on-time) rows: sort by time, start a new session where the
        gap to the previous row is >= gap, number sessions by a running sum of those starts."""
        w = r.window
        assert w is not None
        tf = ir.schema_lookup(r.input.schema, w.time_col)
        assert tf is not None
        cols = self._cols(r.input.schema)
        # rows without a time belong to no session
        timed = exp.select(*cols, exp.alias_(time_micros(col(tf.name), tf.type), "__t")) \
            .from_(self._sub(r.input)).where(exp.Not(this=exp.Is(this=col(tf.name), expression=exp.Null())))

        def over(fn: exp.Expression, frame: bool) -> exp.Window:
            spec = exp.WindowSpec(kind="RANGE", start="UNBOUNDED", start_side="PRECEDING",
                                  end="CURRENT ROW") if frame else None
            return exp.Window(this=fn, partition_by=[k.copy() for k in keys] or None,
                              order=exp.Order(expressions=[exp.Ordered(this=col("__t"))]), spec=spec)

        prev = over(exp.Anonymous(this="lag", expressions=[col("__t")]), frame=False)
        is_new = exp.Case(ifs=[exp.If(this=exp.Or(
            this=exp.Is(this=prev, expression=exp.Null()),
            expression=exp.GTE(this=exp.Sub(this=col("__t"), expression=prev.copy()), expression=lit_int(w.gap))),
            true=lit_int(1))], default=lit_int(0))
        flagged = exp.select(*(c.copy() for c in cols), col("__t"), exp.alias_(is_new, "__new")) \
            .from_(timed.subquery(f"__t{next(self._ids)}"))
        # RANGE frame: rows at the same time are peers and get the same session number whatever
        # order the sort left them in
        numbered = exp.select(*(c.copy() for c in cols), col("__t"),
                              exp.alias_(over(exp.Sum(this=col("__new")), frame=True), "__sid")) \
            .from_(flagged.subquery(f"__t{next(self._ids)}"))
        bounds = [exp.alias_(arrow_cast(exp.Min(this=col("__t")), wtype), "window_start"),
                  exp.alias_(arrow_cast(exp.Add(this=exp.Max(this=col("__t")), expression=lit_int(w.gap)), wtype),
                             "window_end")]
        return exp.select(*keys, *bounds, *aggs).from_(numbered.subquery(f"__t{next(self._ids)}")) \
            .group_by(*(k.copy() for k in keys), col("__sid"))


def _floor_align(t: exp.Expression, step: int, offset: int) -> exp.Expression:
    """t - ((t - offset) mod step), mod taken as floor mod: the largest k*step + offset <= t.
    SQL's % keeps the dividend's sign, so ((x % step) + step) % step makes it non-negative."""
    shifted = exp.Sub(this=t, expression=lit_int(offset)) if offset else t
    trunc_mod = exp.Mod(this=paren(shifted), expression=lit_int(step))
    floor_mod = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Paren(this=trunc_mod), expression=lit_int(step))),
                        expression=lit_int(step))
    return exp.Sub(this=t.copy(), expression=exp.Paren(this=floor_mod))
