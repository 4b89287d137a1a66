"""Compile an IR program to PostgreSQL DDL: tables for the inputs, views for everything computed.

PostgreSQL is a batch engine here, so it keeps the streaming meaning (SEMANTICS §4) by deciding
lateness itself. Each source's rows go to a table `__raw_<name>` whose `__arrival` column is an
identity: rows get 1, 2, 3, ... in the order they are inserted (COPY keeps file order), which is
the arrival order. The view `<name>` holds the on-time rows: the row at arrival i is on time iff

    prev_max IS NULL OR (ts IS NOT NULL AND ts >= prev_max - D)

with prev_max = MAX(ts) over the rows before it in arrival order (`ROWS BETWEEN UNBOUNDED PRECEDING
AND 1 PRECEDING`). MAX skips nulls, so prev_max is null exactly while no watermark exists; after
that a null event time is late; a row exactly at the watermark is on time. `__late_<name>` holds
the late rows. Both views keep `__arrival`, which `distinct` and `top` order by.

Windows: tumble is `date_bin(size, ts, epoch + offset)` (PostgreSQL floors times before the origin
too, in integer microseconds, so it is exact); hop is the tumble of the slide, minus k slides for
k in `generate_series(0, size/slide - 1)`; sessions are numbered by window functions (a new session
where the gap to the previous row of the key is >= gap).

Every IR relation becomes a SELECT over its input as a subquery; PostgreSQL's planner flattens it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from sqlglot import exp

from .dialect import render
from .expressions import aggregate, col, epoch, expr, interval, lit_int, paren, time_micros
from .types import TARGET, sql_type

FILE_CONNECTORS = ("csv", "jsonl", "parquet")
SINK_CONNECTORS = FILE_CONNECTORS + ("stdout",)

ARRIVAL = "__arrival"
ON_TIME = "__on_time"
PREV_MAX = "__prev_max"
OP = "_op"


def raw_table_name(source: str) -> str:
    return f"__raw_{source}"


def late_view_name(source: str) -> str:
    return f"__late_{source}"


@dataclass(frozen=True)
class PgObject:
    """One database object of the compiled program, created by `statement`.

    kind: table | view. `depends_on` names the objects the statement reads (they come first).
    `role` says what it is for: raw (a source's rows), source (its on-time rows), late, table, view."""

    name: str
    kind: str
    role: str
    statement: exp.Expression
    depends_on: tuple[str, ...] = ()
    note: str | None = None

    @property
    def sql(self) -> str:
        return render(self.statement)


@dataclass(frozen=True)
class PostgresPlan:
    objects: tuple[PgObject, ...]
    # per source: (raw table, late view or None); per view: the query a sink of it receives
    raw_tables: dict[str, str] = field(default_factory=dict)
    late_views: dict[str, str | None] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def object(self, name: str) -> PgObject | None:
        return next((o for o in self.objects if o.name == name), None)


def compile_postgres(program: ir.Program, check_connectors: bool = True) -> PostgresPlan:
    """The program's DDL in dependency order. `check_connectors`: refuse connectors `flowc run
    --target postgres` cannot read or write (deploy only creates the objects, so it does not check)."""
    if check_connectors:
        for s in program.sources:
            _check_connector(s.connector, f"source '{s.name}'", FILE_CONNECTORS)
            if isinstance(s.on_late, ir.Connector):
                _check_connector(s.on_late, f"on_late of source '{s.name}'", SINK_CONNECTORS)
        for t in program.tables:
            _check_connector(t.connector, f"table '{t.name}'", FILE_CONNECTORS)
        for k in program.sinks:
            _check_connector(k.connector, f"sink of '{k.view}'", SINK_CONNECTORS)
    objects: list[PgObject] = []
    raw_tables: dict[str, str] = {}
    late_views: dict[str, str | None] = {}
    for s in program.sources:
        objects += _source_objects(s)
        raw_tables[s.name] = raw_table_name(s.name)
        late_views[s.name] = late_view_name(s.name) if s.event_time is not None else None
    objects += [_table_object(t) for t in program.tables]
    outputs: dict[str, str] = {}
    for v in program.views:
        objects.append(_view_object(v))
        outputs[v.name] = render(_output_query(v))
    return PostgresPlan(tuple(objects), raw_tables, late_views, outputs)


def postgres_sql(program: ir.Program) -> str:
    """`flowc compile --target postgres`: the DDL script, one statement per object."""
    plan = compile_postgres(program, check_connectors=False)
    parts = []
    for o in plan.objects:
        head = f"-- {o.role} {o.name}" + (f": {o.note}" if o.note else "")
        parts.append(f"{head}\n{render(o.statement, pretty=True)};")
    return "\n\n".join(parts) + "\n"


def _check_connector(c: ir.Connector, what: str, allowed: tuple[str, ...]) -> None:
    if c.kind not in allowed:
        raise UnsupportedFeature(f"the {c.kind} connector ({what})", TARGET, c.span,
                                 hint=f"flowc run --target postgres loads and writes files: use one of "
                                      f"{', '.join(allowed)}", code=Code.CONNECTOR_TARGET)


def _column_defs(schema: ir.Schema, span) -> list[exp.Expression]:
    return [exp.ColumnDef(this=exp.to_identifier(f.name), kind=sql_type(f.type, span)) for f in schema]


def _source_objects(s: ir.Source) -> list[PgObject]:
    raw = raw_table_name(s.name)
    arrival = exp.ColumnDef(this=exp.to_identifier(ARRIVAL), kind=exp.DataType.build("BIGINT"),
                            constraints=[exp.ColumnConstraint(kind=exp.GeneratedAsIdentityColumnConstraint(
                                this=True))])
    table = exp.Create(kind="TABLE", this=exp.Schema(this=exp.to_table(raw),
                                                     expressions=[*_column_defs(s.schema, s.span), arrival]))
    names = [f.name for f in s.schema]
    out = [PgObject(raw, "table", "raw", table, (),
                    f"the rows of source '{s.name}'; insert them in arrival order ({ARRIVAL} numbers them)")]
    if s.event_time is None:
        q = exp.select(*(col(n) for n in names), col(ARRIVAL)).from_(exp.to_table(raw))
        out.append(PgObject(s.name, "view", "source", _create_view(s.name, q), (raw,), "every row is on time"))
        return out
    flagged = _lateness(s, names, raw).subquery("__flagged")
    on_time = exp.select(*(col(n) for n in names), col(ARRIVAL)).from_(flagged).where(col(ON_TIME))
    late = exp.select(*(col(n) for n in names), col(ARRIVAL)).from_(flagged.copy()) \
        .where(exp.Not(this=col(ON_TIME)))
    out.append(PgObject(s.name, "view", "source", _create_view(s.name, on_time), (raw,),
                        f"the on-time rows (event time {s.event_time}, watermark delay "
                        f"{(s.watermark or 0) / 1e6:g}s)"))
    out.append(PgObject(late_view_name(s.name), "view", "late", _create_view(late_view_name(s.name), late),
                        (raw,), "the late rows"))
    return out


def _lateness(s: ir.Source, names: list[str], raw: str) -> exp.Select:
    """All columns plus `__arrival` and the on-time flag of SEMANTICS §1."""
    ts = s.event_time
    assert ts is not None
    window = exp.Window(
        this=exp.Max(this=col(ts)),
        order=exp.Order(expressions=[exp.Ordered(this=col(ARRIVAL))]),
        spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                            end=lit_int(1), end_side="PRECEDING"))
    with_max = exp.select(*(col(n) for n in names), col(ARRIVAL), exp.alias_(window, PREV_MAX)) \
        .from_(exp.to_table(raw))
    watermark = exp.Sub(this=col(PREV_MAX), expression=interval(int(s.watermark or 0)))
    on_time = exp.Or(
        this=exp.Is(this=col(PREV_MAX), expression=exp.Null()),
        expression=exp.Paren(this=exp.And(
            this=exp.Not(this=exp.Is(this=col(ts), expression=exp.Null())),
            expression=exp.GTE(this=col(ts), expression=exp.Paren(this=watermark)))))
    return exp.select(*(col(n) for n in names), col(ARRIVAL), exp.alias_(on_time, ON_TIME)) \
        .from_(with_max.subquery("__with_max"))


def _table_object(t: ir.Table) -> PgObject:
    cols = _column_defs(t.schema, t.span)
    if t.primary_key:
        cols.append(exp.PrimaryKey(expressions=[exp.to_identifier(k) for k in t.primary_key]))
    stmt = exp.Create(kind="TABLE", this=exp.Schema(this=exp.to_table(t.name), expressions=cols))
    return PgObject(t.name, "table", "table", stmt, (), f"the rows of table '{t.name}'")


def _create_view(name: str, q: exp.Expression) -> exp.Create:
    return exp.Create(kind="VIEW", this=exp.to_table(name), expression=q)


def _scanned(r: ir.Rel) -> tuple[str, ...]:
    names: list[str] = []
    for node in ir.walk(r):
        if isinstance(node, ir.Scan) and node.name not in names:
            names.append(node.name)
    return tuple(names)


def _view_object(v: ir.View) -> PgObject:
    q, _ = RelCompiler().compile(v.plan)
    names = [f.name for f in v.schema]
    body = exp.select(*(col(n) for n in names)).from_(q.subquery("__out"))
    return PgObject(v.name, "view", "view", _create_view(v.name, body), _scanned(v.plan), f"emit {v.emit}")


def _output_query(v: ir.View) -> exp.Select:
    cols: list[exp.Expression] = [col(f.name) for f in v.schema]
    if v.emit == "changes":
        # A batch run knows only the end state: the changelog that consolidates to it is all '+'.
        cols = [exp.alias_(exp.Literal.string("+"), OP), *cols]
    return exp.select(*cols).from_(exp.to_table(v.name))


# ---------------------------------------------------------------- relations


class RelCompiler:
    """Turns an IR relation tree into one SELECT, each node a query over its input's subquery.

    `compile` returns the SELECT and whether it carries `__arrival` (the arrival order of the source
    rows it comes from) after the IR columns: scans of sources do, and filters, projections, window
    assignment, distinct and top keep it; aggregates, joins and unions have no arrival order."""

    def __init__(self) -> None:
        self._ids = itertools.count()

    def compile(self, r: ir.Rel) -> tuple[exp.Select, bool]:
        method = getattr(self, f"_{type(r).__name__}", None)
        if method is None:
            raise UnsupportedFeature(type(r).__name__, TARGET, r.span)
        return method(r)

    def _alias(self) -> str:
        return f"__t{next(self._ids)}"

    def _sub(self, r: ir.Rel) -> tuple[exp.Subquery, bool]:
        q, arrival = self.compile(r)
        return q.subquery(self._alias()), arrival

    @staticmethod
    def _cols(schema: ir.Schema, arrival: bool = False) -> list[exp.Expression]:
        return [col(f.name) for f in schema] + ([col(ARRIVAL)] if arrival else [])

    def _Scan(self, r: ir.Scan) -> tuple[exp.Select, bool]:
        # sources are views of their on-time rows, so all three kinds read the same way
        arrival = r.kind == "source"
        return exp.select(*self._cols(r.columns, arrival)).from_(exp.to_table(r.name)), arrival

    def _Filter(self, r: ir.Filter):
        sub, arrival = self._sub(r.input)
        return exp.select(*self._cols(r.schema, arrival)).from_(sub).where(expr(r.predicate)), arrival

    def _Project(self, r: ir.Project):
        sub, arrival = self._sub(r.input)
        cols = [exp.alias_(expr(e), n) for n, e in r.columns] + ([col(ARRIVAL)] if arrival else [])
        return exp.select(*cols).from_(sub), arrival

    def _UnionAll(self, r: ir.UnionAll):
        a, _ = self.compile(r.input)
        b, _ = self.compile(r.other)
        union = exp.union(self._only(a, r.input.schema), self._only(b, r.other.schema), distinct=False)
        return exp.select(*self._cols(r.schema)).from_(union.subquery(self._alias())), False

    def _only(self, q: exp.Select, schema: ir.Schema) -> exp.Select:
        return exp.select(*self._cols(schema)).from_(q.subquery(self._alias()))

    def _Join(self, r: ir.Join):
        # The condition is typed over the output names; renaming the right side's columns to
        # `right_names` first makes every name in it unambiguous without qualification.
        rsub, _ = self._sub(r.right)
        right = exp.select(*(exp.alias_(col(f.name), n) for f, n in zip(r.right.schema, r.right_names,
                                                                         strict=True)))
        right = right.from_(rsub).subquery(self._alias())
        lsub, _ = self._sub(r.input)
        q = exp.select(*self._cols(r.schema)).from_(lsub)
        return q.join(right, on=expr(r.condition), join_type="left" if r.kind == "left" else "inner"), False

    def _Distinct(self, r: ir.Distinct):
        """The first row per key: in arrival order when the rows have one, else by all columns (a
        deterministic choice for rows that carry no order, e.g. out of an aggregate)."""
        sub, arrival = self._sub(r.input)
        keys = list(r.keys) or [f.name for f in r.input.schema]
        order = [col(ARRIVAL)] if arrival else [col(f.name) for f in r.input.schema]
        return self._ranked(sub, r.schema, arrival, keys, [exp.Ordered(this=o) for o in order], 1)

    def _TopN(self, r: ir.TopN):
        """The n best rows per key by the order expression (nulls last), ties broken by arrival."""
        sub, arrival = self._sub(r.input)
        order = [exp.Ordered(this=expr(r.order_by), desc=r.descending, nulls_first=False)]
        if arrival:
            order.append(exp.Ordered(this=col(ARRIVAL)))
        return self._ranked(sub, r.schema, arrival, list(r.per), order, r.n)

    def _ranked(self, sub, schema, arrival, keys, order, n):
        rank = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in keys] or None,
                          order=exp.Order(expressions=order))
        ranked = exp.select(*self._cols(schema, arrival), exp.alias_(rank, "__rank")).from_(sub)
        return exp.select(*self._cols(schema, arrival)).from_(ranked.subquery(self._alias())) \
            .where(exp.LTE(this=col("__rank"), expression=lit_int(n))), arrival

    # ---- windows

    def _WindowAssign(self, r: ir.WindowAssign):
        sub, arrival = self._window_starts(r.input, r.window)
        return exp.select(*self._cols(r.input.schema),
                          exp.alias_(col("__ws"), "window_start"),
                          exp.alias_(exp.Add(this=col("__ws"), expression=interval(r.window.size)), "window_end"),
                          *([col(ARRIVAL)] if arrival else [])).from_(sub), arrival

    def _window_starts(self, rel: ir.Rel, w: ir.WindowSpec) -> tuple[exp.Subquery, bool]:
        """rel's columns plus `__ws`, the start of each window a row is in: one row per window for
        hop; a null time gets null starts (hop: still size/slide rows, as the runtime assigns)."""
        tf = ir.schema_lookup(rel.schema, w.time_col)
        assert tf is not None
        sub, arrival = self._sub(rel)
        wtype = T.TIMESTAMP if tf.type == T.DATE else tf.type
        t: exp.Expression = col(tf.name)
        if tf.type == T.DATE:
            t = exp.Cast(this=t, to=sql_type(T.TIMESTAMP))
        origin = epoch(wtype)
        if w.offset:
            origin = exp.Add(this=origin, expression=interval(w.offset))
        cols = self._cols(rel.schema, arrival)
        if w.kind == "tumble":
            start = exp.Anonymous(this="date_bin", expressions=[interval(w.size), t, origin])
            return exp.select(*cols, exp.alias_(start, "__ws")).from_(sub).subquery(self._alias()), arrival
        if w.kind == "hop":
            last = exp.Anonymous(this="date_bin", expressions=[interval(w.slide), t, origin])
            series = exp.Anonymous(this="generate_series", expressions=[lit_int(0), lit_int(w.size // w.slide - 1)])
            hops = exp.select(*cols, exp.alias_(last, "__last"), exp.alias_(series, "__k")).from_(sub)
            start = exp.Sub(this=col("__last"), expression=exp.Mul(this=col("__k"), expression=interval(w.slide)))
            q = exp.select(*(c.copy() for c in cols), exp.alias_(start, "__ws")).from_(hops.subquery(self._alias()))
            return q.subquery(self._alias()), arrival
        raise UnsupportedFeature("a session window outside an aggregate", TARGET, w.span)

    def _Aggregate(self, r: ir.Aggregate):
        keys = [col(k) for k in r.keys]
        aggs = [exp.alias_(aggregate(a), a.name) for a in r.aggs]
        if r.window is None:
            sub, _ = self._sub(r.input)
            q = exp.select(*keys, *aggs).from_(sub)
            return (q.group_by(*(k.copy() for k in keys)) if keys else q), False
        if r.window.kind == "session":
            return self._session(r, keys, aggs), False
        sub, _ = self._window_starts(r.input, r.window)
        ws = col("__ws")
        bounds = [exp.alias_(ws, "window_start"),
                  exp.alias_(exp.Add(this=ws.copy(), expression=interval(r.window.size)), "window_end")]
        return exp.select(*keys, *bounds, *aggs).from_(sub).group_by(*(k.copy() for k in keys), ws.copy()), False

    def _session(self, r: ir.Aggregate, keys, aggs) -> exp.Select:
        """Sessions per key over all (on-time) rows: sort by time, start a new session where the
        gap to the previous row is >= gap, number sessions by a running sum of those starts."""
        w = r.window
        assert w is not None
        tf = ir.schema_lookup(r.input.schema, w.time_col)
        assert tf is not None
        cols = self._cols(r.input.schema)
        sub, _ = self._sub(r.input)
        ts: exp.Expression = col(tf.name)
        if tf.type == T.DATE:
            ts = exp.Cast(this=ts, to=sql_type(T.TIMESTAMP))
        # rows without a time belong to no session
        timed = exp.select(*cols, exp.alias_(ts, "__ts"), exp.alias_(time_micros(ts.copy()), "__t")).from_(sub) \
            .where(exp.Not(this=exp.Is(this=col(tf.name), expression=exp.Null())))

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
        flagged = exp.select(*(c.copy() for c in cols), col("__ts"), col("__t"), exp.alias_(is_new, "__new")) \
            .from_(timed.subquery(self._alias()))
        # RANGE frame: rows at the same time are peers and get the same session number whatever
        # order the sort left them in
        numbered = exp.select(*(c.copy() for c in cols), col("__ts"),
                              exp.alias_(over(exp.Sum(this=col("__new")), frame=True), "__sid")) \
            .from_(flagged.subquery(self._alias()))
        bounds = [exp.alias_(exp.Min(this=col("__ts")), "window_start"),
                  exp.alias_(exp.Add(this=exp.Max(this=col("__ts")), expression=interval(w.gap)), "window_end")]
        return exp.select(*keys, *bounds, *aggs).from_(numbered.subquery(self._alias())) \
            .group_by(*(k.copy() for k in keys), col("__sid"))


__all__ = ["compile_postgres", "postgres_sql", "PostgresPlan", "PgObject", "RelCompiler", "paren"]
