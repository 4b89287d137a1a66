"""IR relations as SQL: each node one SELECT over its input's subquery (the engines' planners
flatten the nesting), for any SQL target.

`compile` returns the SELECT and whether it carries `__arrival` (the arrival position of the source
row each row derives from) after the IR columns. Filters, projections and window assignment keep
it; aggregates, unions, joins and top do not. Which scans carry it and how windows are cut are the
target's hooks.

`distinct` and `top` follow docs/semantics.md, "flowc choices", on every SQL target:
- `distinct KEYS` keeps the first on-time row per key in arrival order (a hop row's windows by
  window_start, folded into `__arrival`). Its input is compiled again with `__arrival` (`arrival`): from the sources' rows
  through filters, projections, window assignment, lookup joins, earlier distincts and views. With
  no keys, the whole input is one group (the first row), as in the local runtime. Where the rows
  have no single arrival order (a union, a join of two streams, an aggregate, a top) the target
  decides (`distinct_without_arrival`): DataFusion refuses the view.
- `top N by E per KEYS` orders by E (nulls last in both directions), then by every column
  ascending, nulls last: a total order, so the result does not depend on arrival.
"""

from __future__ import annotations

import itertools

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.compiler.properties import join_kind_in
from flowc.targets.arrow_types import arrow_schema
from sqlglot import exp

from .dialect import table
from .expressions import SqlExpressions, col, is_null, lit_int
from .lateness import flag_on_time
from .names import ARRIVAL, ON_TIME, OP, raw_table_name
from .timeaxis import TimeAxis

Query = tuple[exp.Select, bool]  # the SELECT, and whether it carries `__arrival` last


class NoArrivalOrder(Exception):
    """Rows that do not come in one arrival order; `what` names why (e.g. "a union")."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def output_query(v: ir.View) -> exp.Select:
    """What a sink of view v receives, read from the view's registered name."""
    cols: list[exp.Expression] = [col(f.name) for f in v.schema]
    if v.emit == "changes":
        # A batch run knows only the end state: the changelog that consolidates to it is all '+'.
        cols = [exp.alias_(exp.Literal.string("+"), OP), *cols]
    return exp.select(*cols).from_(table(v.name))


def output_schema(v: ir.View) -> pa.Schema:
    """The Arrow schema of the rows `output_query(v)` gives a sink: `_op` first for `emit changes`."""
    schema = arrow_schema(v.schema)
    if v.emit == "changes":
        schema = schema.insert(0, pa.field(OP, pa.string()))
    return schema


class RelationCompiler:
    """Turns an IR relation tree into one SELECT. Subclasses set `x` (expressions) and `axis`, and
    add `window_starts` (without it, windows are UnsupportedFeature on that target). Every other
    node is shared."""

    x: SqlExpressions
    axis: TimeAxis
    # said with UnsupportedFeature for a relation kind the target has no lowering for
    unsupported_hint: str | None = None

    def __init__(self, program: ir.Program | None = None) -> None:
        self._ids = itertools.count()
        self.program = program or ir.Program()

    @property
    def target(self) -> str:
        return self.x.target

    def compile(self, r: ir.Rel) -> Query:
        method = getattr(self, f"_{type(r).__name__}", None)
        if method is None:
            raise UnsupportedFeature(type(r).__name__, self.target, r.span, hint=self.unsupported_hint)
        return method(r)

    def _alias(self) -> str:
        return f"__t{next(self._ids)}"

    def _sub(self, r: ir.Rel) -> tuple[exp.Subquery, bool]:
        q, arrival = self.compile(r)
        return q.subquery(self._alias()), arrival

    @staticmethod
    def _cols(schema: ir.Schema, arrival: bool = False) -> list[exp.Expression]:
        return [col(f.name) for f in schema] + ([col(ARRIVAL)] if arrival else [])

    # ---- hooks

    def scan_arrival(self, r: ir.Scan) -> bool:
        """Whether the registered rows of r carry `__arrival` (default: no scan does)."""
        return False

    def window_starts(self, rel: ir.Rel, w: ir.WindowSpec, sub: exp.Subquery, arrival: bool) -> exp.Subquery:
        """rel's columns (compiled as `sub`, `__arrival` last if `arrival`) plus `__ws`, the axis
        value of the start of each window a row is in: one row per window for hop, null starts
        for a null time. Default: the target has no windows."""
        raise UnsupportedFeature(f"a {w.kind} window", self.target, w.span, hint=self.unsupported_hint)

    # ---- row-wise nodes: `_Node(r)` compiles the input, then calls the builder, which takes the
    # input compiled (a target that compiles an input its own way, e.g. with `__arrival`, calls it)

    def _Scan(self, r: ir.Scan) -> Query:
        # sources (their on-time rows), tables and views are registered under their names
        arrival = self.scan_arrival(r)
        return exp.select(*self._cols(r.columns, arrival)).from_(table(r.name)), arrival

    def _Filter(self, r: ir.Filter) -> Query:
        return self.filter(r, *self._sub(r.input))

    def filter(self, r: ir.Filter, sub: exp.Subquery, arrival: bool) -> Query:
        return exp.select(*self._cols(r.schema, arrival)).from_(sub).where(self.predicate(r.predicate)), arrival

    def predicate(self, e: ir.Expr) -> exp.Expression:
        """A WHERE clause's condition (hook: a target may spell some conjuncts its own way)."""
        return self.x.expr(e)

    def _Project(self, r: ir.Project) -> Query:
        return self.project(r, *self._sub(r.input))

    def project(self, r: ir.Project, sub: exp.Subquery, arrival: bool) -> Query:
        cols = [exp.alias_(self.x.expr(e), n) for n, e in r.columns] + ([col(ARRIVAL)] if arrival else [])
        return exp.select(*cols).from_(sub), arrival

    def _UnionAll(self, r: ir.UnionAll) -> Query:
        sides = [(self.compile(r.input), r.input.schema), (self.compile(r.other), r.other.schema)]
        union = exp.union(*(self._only(q, arrival, schema) for (q, arrival), schema in sides), distinct=False)
        return exp.select(*self._cols(r.schema)).from_(union.subquery(self._alias())), False

    def _only(self, q: exp.Select, arrival: bool, schema: ir.Schema) -> exp.Select:
        """q without `__arrival` (a union's sides must agree column for column)."""
        return exp.select(*self._cols(schema)).from_(q.subquery(self._alias())) if arrival else q

    def _Join(self, r: ir.Join) -> Query:
        return self.join(r)

    def join(self, r: ir.Join, left: tuple[exp.Subquery, bool] | None = None, keep_arrival: bool = False) -> Query:
        """The join over `left` (default: r's input, compiled here after the right side); its rows
        keep the left side's `__arrival` only if `keep_arrival` (a lookup join's rows come in the
        order of the stream rows that produced them; a stream join's have no order)."""
        # The condition is typed over the output names; renaming the right side's columns to
        # `right_names` first makes every name in it unambiguous without qualification. A lookup
        # join is this plain join too: the table is bounded, so its "current version" is all of it.
        rsub, _ = self._sub(r.right)
        right = exp.select(*(exp.alias_(col(f.name), n) for f, n in zip(r.right.schema, r.right_names,
                                                                         strict=True)))
        right = right.from_(rsub).subquery(self._alias())
        lsub, left_arrival = left if left is not None else self._sub(r.input)
        arrival = keep_arrival and left_arrival
        q = exp.select(*self._cols(r.schema, arrival)).from_(lsub)
        return q.join(right, on=self.x.expr(r.condition), join_type="left" if r.kind == "left" else "inner"), arrival

    # ---- windows

    def _bounds(self, start: exp.Expression, end: exp.Expression, t) -> list[exp.Expression]:
        return [exp.alias_(self.axis.to_time(start, t), "window_start"),
                exp.alias_(self.axis.to_time(end, t), "window_end")]

    def _WindowAssign(self, r: ir.WindowAssign) -> Query:
        return self.window_assign(r, *self._sub(r.input))

    def window_assign(self, r: ir.WindowAssign, sub: exp.Subquery, arrival: bool) -> Query:
        starts = self.window_starts(r.input, r.window, sub, arrival)
        ws = col("__ws")
        bounds = self._bounds(ws, exp.Add(this=ws.copy(), expression=self.axis.duration(r.window.size)),
                              r.schema[-1].type)
        return exp.select(*self._cols(r.input.schema), *bounds, *([col(ARRIVAL)] if arrival else [])) \
            .from_(starts), arrival

    def _Aggregate(self, r: ir.Aggregate) -> Query:
        keys = [col(k) for k in r.keys]
        aggs = [exp.alias_(self.x.aggregate(a), a.name) for a in r.aggs]
        if r.window is None:
            sub, _ = self._sub(r.input)
            q = exp.select(*keys, *aggs).from_(sub)
            return (q.group_by(*(k.copy() for k in keys)) if keys else q), False
        wtype = ir.schema_lookup(r.schema, "window_start").type  # type: ignore[union-attr]
        if r.window.kind == "session":
            return self._session(r, keys, aggs, wtype), False
        sub, arrival = self._sub(r.input)
        ws = col("__ws")
        bounds = self._bounds(ws, exp.Add(this=ws.copy(), expression=self.axis.duration(r.window.size)), wtype)
        return exp.select(*keys, *bounds, *aggs).from_(self.window_starts(r.input, r.window, sub, arrival)) \
            .group_by(*(k.copy() for k in keys), ws.copy()), False

    def _session(self, r: ir.Aggregate, keys, aggs, wtype) -> exp.Select:
        """Sessions per key over all (on-time) rows: sort by time, start a new session where the
        gap to the previous row is >= gap, number sessions by a running sum of those starts."""
        w = r.window
        assert w is not None
        tf = ir.schema_lookup(r.input.schema, w.time_col)
        assert tf is not None
        cols = self._cols(r.input.schema)
        sub, _ = self._sub(r.input)
        # `__t`: integer microseconds, to compare gaps exactly; `__ts`: the axis value the bounds
        # are made of, where the axis is not microseconds already
        value = self.axis.value(col(tf.name), tf.type)
        times = ["__t"] if self.axis.counts_micros else ["__ts", "__t"]
        timed_cols = [exp.alias_(value, "__t")] if self.axis.counts_micros else \
            [exp.alias_(value, "__ts"), exp.alias_(self.axis.micros(value.copy()), "__t")]
        # rows without a time belong to no session
        timed = exp.select(*cols, *timed_cols).from_(sub).where(exp.Not(this=is_null(col(tf.name))))

        def over(fn: exp.Expression, frame: bool) -> exp.Window:
            spec = exp.WindowSpec(kind="RANGE", start="UNBOUNDED", start_side="PRECEDING",
                                  end="CURRENT ROW") if frame else None
            return exp.Window(this=fn, partition_by=[k.copy() for k in keys] or None,
                              order=exp.Order(expressions=[exp.Ordered(this=col("__t"))]), spec=spec)

        prev = over(exp.Anonymous(this="lag", expressions=[col("__t")]), frame=False)
        is_new = exp.Case(ifs=[exp.If(this=exp.Or(
            this=is_null(prev),
            expression=exp.GTE(this=exp.Sub(this=col("__t"), expression=prev.copy()), expression=lit_int(w.gap))),
            true=lit_int(1))], default=lit_int(0))
        flagged = exp.select(*(c.copy() for c in cols), *(col(t) for t in times), exp.alias_(is_new, "__new")) \
            .from_(timed.subquery(self._alias()))
        # RANGE frame: rows at the same time are peers and get the same session number whatever
        # order the sort left them in
        numbered = exp.select(*(c.copy() for c in cols), col(times[0]),
                              exp.alias_(over(exp.Sum(this=col("__new")), frame=True), "__sid")) \
            .from_(flagged.subquery(self._alias()))
        start = exp.Min(this=col(times[0]))
        end = exp.Add(this=exp.Max(this=col(times[0])), expression=self.axis.duration(w.gap))
        return exp.select(*keys, *self._bounds(start, end, wtype), *aggs) \
            .from_(numbered.subquery(self._alias())).group_by(*(k.copy() for k in keys), col("__sid"))

    # ---- distinct and top (docs/semantics.md, "flowc choices")

    def _Distinct(self, r: ir.Distinct, keep_arrival: bool = False) -> Query:
        """The first on-time row per key in arrival order (a hop row's windows by window_start),
        with `__arrival` last if `keep_arrival` (a distinct further down the view needs it)."""
        try:
            sub = self.arrival(r.input, r).subquery(self._alias())
        except NoArrivalOrder as e:
            return self.distinct_without_arrival(r, e.what, keep_arrival)
        order = [exp.Ordered(this=col(ARRIVAL))]
        return self._ranked(sub, r.schema, True, list(r.keys), order, 1, keep_arrival), keep_arrival

    def distinct_without_arrival(self, r: ir.Distinct, what: str, keep_arrival: bool) -> Query:
        """`distinct` over rows without one arrival order (`what` says why). Default: refused,
        as docs/semantics.md says a batch target does. An override that picks rows must raise
        NoArrivalOrder again when `keep_arrival` (its rows have no arrival order either)."""
        raise UnsupportedFeature(
            f"distinct over {what}", self.target, r.span,
            hint="distinct keeps the first row per key in arrival order, which a batch run cannot know "
                 "for rows that do not come from one source; apply distinct to the source's rows before "
                 "the union/join/aggregate, or run this view with --target local")

    def _TopN(self, r: ir.TopN) -> Query:
        """N rows per key: by the expression, nulls last either way, ties broken by every column
        ascending, nulls last; a total order, so the result does not depend on arrival."""
        order = [exp.Ordered(this=self.x.expr(r.order_by), desc=r.descending, nulls_first=False)]
        order += [exp.Ordered(this=c, nulls_first=False) for c in self._cols(r.schema)]
        sub, arrival = self._sub(r.input)
        return self._ranked(sub, r.schema, arrival, list(r.per), order, r.n, keep_arrival=False), False

    # ---- arrival order, for distinct

    def source_arrival(self, s: ir.Source) -> exp.Select:
        """The on-time rows of source s with `__arrival`. Default: the same on-time split the
        source's registration uses, over its raw rows (`__raw_<name>`, which carry `__arrival`)."""
        cols = self._cols(s.schema, arrival=True)
        raw = table(raw_table_name(s.name))
        if s.event_time is None:
            return exp.select(*cols).from_(raw)
        flagged = flag_on_time(s, raw, self.axis).subquery(self._alias())
        return exp.select(*cols).from_(flagged).where(col(ON_TIME))

    def arrival(self, r: ir.Rel, user: ir.Rel) -> exp.Select:
        """r's rows plus `__arrival`, the arrival position of the source row each derives from, for
        `user` (the distinct that needs it). Raises NoArrivalOrder where r's rows have none."""
        if isinstance(r, ir.Scan) and r.kind == "source":
            s = self.program.source(r.name)
            if s is None:
                raise UnsupportedFeature(f"distinct over unknown source '{r.name}'", self.target, user.span)
            return self.source_arrival(s)
        if isinstance(r, ir.Scan) and r.kind == "view" and self.program.view(r.name) is not None:
            v = self.program.view(r.name)
            return exp.select(*self._cols(r.schema, arrival=True)).from_(self._arrival_sub(v.plan, user))
        if isinstance(r, ir.Filter):
            return self.filter(r, self._arrival_sub(r.input, user), True)[0]
        if isinstance(r, ir.Project):
            return self.project(r, self._arrival_sub(r.input, user), True)[0]
        if isinstance(r, ir.WindowAssign):
            q = self.window_assign(r, self._arrival_sub(r.input, user), True)[0]
            return self._hop_arrival(r, q) if r.window.kind == "hop" else q
        if isinstance(r, ir.Distinct):
            return self._Distinct(r, keep_arrival=True)[0]
        if isinstance(r, ir.Join) and join_kind_in(self.program, r) == "lookup":
            # a lookup join's rows come in the order of the stream rows that produced them
            return self.join(r, (self._arrival_sub(r.input, user), True), keep_arrival=True)[0]
        raise NoArrivalOrder({ir.UnionAll: "a union", ir.Join: "a join of two streams", ir.Aggregate: "an aggregate",
                              ir.TopN: "a top", ir.Scan: f"the table '{getattr(r, 'name', '')}'"}
                             .get(type(r), type(r).__name__))

    def _hop_arrival(self, r: ir.WindowAssign, q: exp.Select) -> exp.Select:
        """The rows of a hop window assignment `q` with `__arrival` refined so that one source
        row's windows come in ascending window_start: `__arrival * windows per row + index`. Later
        stages may drop or recompute the window columns, so the order must live in `__arrival`."""
        per_row = r.window.size // r.window.slide
        index = exp.Window(this=exp.RowNumber(), partition_by=[col(ARRIVAL)],
                           order=exp.Order(expressions=[exp.Ordered(this=col("window_start"))]))
        seq = exp.Add(this=exp.Mul(this=col(ARRIVAL), expression=lit_int(per_row)),
                      expression=exp.Paren(this=exp.Sub(this=index, expression=lit_int(1))))
        return exp.select(*self._cols(r.schema), exp.alias_(seq, ARRIVAL)).from_(q.subquery(self._alias()))

    def _arrival_sub(self, r: ir.Rel, user: ir.Rel) -> exp.Subquery:
        return self.arrival(r, user).subquery(self._alias())

    def _ranked(self, sub: exp.Subquery, schema: ir.Schema, arrival: bool, keys: list[str],
                order: list[exp.Ordered], n: int, keep_arrival: bool | None = None) -> exp.Select:
        """The first n rows per key in `order` (ROW_NUMBER over the key), with `__arrival` last if
        `keep_arrival` (default: if `arrival`)."""
        keep = arrival if keep_arrival is None else keep_arrival
        rank = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in keys] or None,
                          order=exp.Order(expressions=order))
        ranked = exp.select(*self._cols(schema, arrival), exp.alias_(rank, "__rank")).from_(sub)
        return exp.select(*self._cols(schema, keep)).from_(ranked.subquery(self._alias())) \
            .where(exp.LTE(this=col("__rank"), expression=lit_int(n)))
