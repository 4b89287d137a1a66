"""IR relations as DataFusion SELECTs: the shared lowering (`flowc.targets.sql.relations`) with
DataFusion's windows, distinct and top.

Sources are registered as their on-time rows without `__arrival`, so views never carry it; a
`distinct`, which keeps the first on-time row per key in arrival order, compiles its input again
with `__arrival` (`arrival`): from the source's raw rows through the same lateness split. `top`
orders by its expression, nulls last, then by every column (docs/semantics.md, "flowc choices").
Windows are cut on integer microseconds with floor division, so times before the epoch fall in
the right window.
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.compiler.properties import join_kind
from flowc.targets.sql.dialect import table
from flowc.targets.sql.expressions import col, is_null, lit_int, paren
from flowc.targets.sql.lateness import flag_on_time
from flowc.targets.sql.names import ARRIVAL, ON_TIME, raw_table_name
from flowc.targets.sql.relations import Query, RelationCompiler
from sqlglot import exp

from .expressions import AXIS, X


class DataFusionRelations(RelationCompiler):
    x = X
    axis = AXIS
    unsupported_hint = "run this view with --target local or --target risingwave"

    def _Aggregate(self, r: ir.Aggregate) -> Query:
        q, arrival = super()._Aggregate(r)
        if not r.keys and r.window is None:
            # A global aggregate has exactly one row, so LIMIT 1 changes nothing, but DataFusion 55
            # does not push filters through a LIMIT: without it, a filter that is false for every
            # row above the aggregate is pushed below it, and the aggregate of no rows still yields
            # its row (tests/corpus/regressions/datafusion_constant_filter_over_global_aggregate).
            q = q.limit(1)
        return q, arrival

    def window_starts(self, rel, w, sub, arrival):
        tf = ir.schema_lookup(rel.schema, w.time_col)
        assert tf is not None
        t = AXIS.value(col(tf.name), tf.type)
        cols = self._cols(rel.schema, arrival)
        if w.kind == "tumble":
            q = exp.select(*cols, exp.alias_(_floor_align(t, w.size, w.offset), "__ws")).from_(sub)
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
            hops = exp.select(*cols, unnest).from_(sub)
            start = exp.Case(ifs=[exp.If(this=is_null(col(tf.name)), true=exp.Null())], default=col("__hop"))
            q = exp.select(*(c.copy() for c in cols), exp.alias_(start, "__ws")).from_(hops.subquery(self._alias()))
        else:
            raise UnsupportedFeature("a session window outside an aggregate", self.target, w.span)
        return q.subquery(self._alias())

    # ---- distinct and top

    def _Distinct(self, r: ir.Distinct, keep_arrival: bool = False) -> Query:
        """The first on-time row per key in arrival order (a hop row's windows by window_start)."""
        order = [exp.Ordered(this=col(ARRIVAL))]
        if "window_start" in ir.schema_names(r.schema):
            order.append(exp.Ordered(this=col("window_start")))
        sub = self.arrival(r.input, r).subquery(self._alias())
        return self._ranked(sub, r.schema, True, list(r.keys), order, 1, keep_arrival), keep_arrival

    def _TopN(self, r: ir.TopN) -> Query:
        """N rows per key: by the expression, nulls last either way, ties broken by every column
        ascending, nulls last; a total order, so the result does not depend on arrival."""
        order = [exp.Ordered(this=self.x.expr(r.order_by), desc=r.descending, nulls_first=False)]
        order += [exp.Ordered(this=c, nulls_first=False) for c in self._cols(r.schema)]
        sub, _ = self._sub(r.input)
        return self._ranked(sub, r.schema, False, list(r.per), order, r.n), False

    def arrival(self, r: ir.Rel, user: ir.Rel) -> exp.Select:
        """r's rows plus `__arrival`, the arrival position of the source row each derives from, for
        `user` (the distinct that needs it). Raises where r's rows have no single arrival order."""
        cols = self._cols(r.schema, arrival=True)
        if isinstance(r, ir.Scan) and r.kind == "source":
            s = self.program.source(r.name)
            if s is None:
                raise UnsupportedFeature(f"distinct over unknown source '{r.name}'", self.target, user.span)
            raw = table(raw_table_name(s.name))
            if s.event_time is None:
                return exp.select(*cols).from_(raw)
            # the same on-time split the source's registration uses, with the arrival kept
            flagged = flag_on_time(s, raw, AXIS).subquery(self._alias())
            return exp.select(*cols).from_(flagged).where(col(ON_TIME))
        if isinstance(r, ir.Scan) and r.kind == "view" and self.program.view(r.name) is not None:
            v = self.program.view(r.name)
            return exp.select(*cols).from_(self._arrival_sub(v.plan, user))
        if isinstance(r, ir.Filter):
            return self.filter(r, self._arrival_sub(r.input, user), True)[0]
        if isinstance(r, ir.Project):
            return self.project(r, self._arrival_sub(r.input, user), True)[0]
        if isinstance(r, ir.WindowAssign):
            return self.window_assign(r, self._arrival_sub(r.input, user), True)[0]
        if isinstance(r, ir.Distinct):
            return self._Distinct(r, keep_arrival=True)[0]
        if isinstance(r, ir.Join) and join_kind(r, {s.name: s for s in self.program.sources},
                                                {v.name: v for v in self.program.views}) == "lookup":
            # a lookup join's rows come in the order of the stream rows that produced them
            return self.join(r, (self._arrival_sub(r.input, user), True), keep_arrival=True)[0]
        what = {ir.UnionAll: "a union", ir.Join: "a join of two streams", ir.Aggregate: "an aggregate",
                ir.TopN: "a top", ir.Scan: f"the table '{getattr(r, 'name', '')}'"}.get(type(r), type(r).__name__)
        raise UnsupportedFeature(
            f"distinct over {what}", self.target, user.span,
            hint="distinct keeps the first row per key in arrival order, which a batch run cannot know "
                 "for rows that do not come from one source; apply distinct to the source's rows before "
                 "the union/join/aggregate, or run this view with --target local")

    def _arrival_sub(self, r: ir.Rel, user: ir.Rel) -> exp.Subquery:
        return self.arrival(r, user).subquery(self._alias())


def _floor_align(t: exp.Expression, step: int, offset: int) -> exp.Expression:
    """t - ((t - offset) mod step), mod taken as floor mod: the largest k*step + offset <= t.
    SQL's % keeps the dividend's sign, so ((x % step) + step) % step makes it non-negative."""
    shifted = exp.Sub(this=t, expression=lit_int(offset)) if offset else t
    trunc_mod = exp.Mod(this=paren(shifted), expression=lit_int(step))
    floor_mod = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Paren(this=trunc_mod), expression=lit_int(step))),
                        expression=lit_int(step))
    return exp.Sub(this=t.copy(), expression=exp.Paren(this=floor_mod))
