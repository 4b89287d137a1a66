"""IR relations as DataFusion SELECTs: the shared lowering (`flowc.targets.sql.relations`) with
DataFusion's windows.

Sources are registered as their on-time rows without `__arrival`, so views never carry it; a
`distinct`, which keeps the first on-time row per key in arrival order, compiles its input again
with `__arrival` (the shared `arrival`): from the source's raw rows through the same lateness
split. Where rows have no single arrival order, DataFusion refuses the distinct (the shared
default). Windows are cut on integer microseconds with floor division, so times before the epoch
fall in the right window.
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.compiler.properties import conjuncts
from flowc.targets.sql.expressions import col, is_null, lit_int, paren
from flowc.targets.sql.relations import Query, RelationCompiler
from sqlglot import exp

from .expressions import AXIS, X


class DataFusionRelations(RelationCompiler):
    x = X
    axis = AXIS
    unsupported_hint = "run this view with --target local or --target risingwave"

    def predicate(self, e: ir.Expr) -> exp.Expression:
        # DataFusion 55 takes a conjunct `f(k) = k` (both sides reading one column) for an
        # equivalence that wrongly satisfies a later PARTITION BY k's ordering, and then fails at run
        # time ("Expects PARTITION BY expression to be ordered":
        # tests/corpus/regressions/datafusion_self_equality_before_partition). `(f(k) = k) IS TRUE`
        # keeps the same rows and is not read as an equivalence.
        cs = conjuncts(e)
        if not any(_self_equality(c) for c in cs):
            return super().predicate(e)
        parts = [exp.Is(this=paren(self.x.expr(c)), expression=exp.true()) if _self_equality(c) else self.x.expr(c)
                 for c in cs]
        out = parts[0]
        for p in parts[1:]:  # parenthesized: a conjunct may be an OR, which binds looser than AND
            out = exp.And(this=paren(out), expression=paren(p))
        return out

    def _Aggregate(self, r: ir.Aggregate) -> Query:
        q, arrival = super()._Aggregate(_arguments_as_columns(r))
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


def _arguments_as_columns(r: ir.Aggregate) -> ir.Aggregate:
    """r with every computed aggregate argument moved into a column `__aN` of a projection below.

    DataFusion 55 names an aggregate after its argument with casts left out, so `avg(cast(a as
    decimal))` and `avg(a)` in one aggregate both get the name `avg(a)` and the plan is refused
    for a duplicate field (tests/corpus/regressions/datafusion_avg_of_a_column_and_of_its_cast);
    over distinct columns the names differ. Bare columns stay as they are, and so do arguments
    without a column (constants: `aggregate` spells count of a constant its own way)."""
    moved: list[tuple[str, ir.Expr]] = []
    aggs = []
    for a in r.aggs:
        if a.arg is None or isinstance(a.arg, ir.ColumnRef) or not ir.columns_used(a.arg):
            aggs.append(a)
            continue
        name = f"__a{len(moved)}"
        moved.append((name, a.arg))
        aggs.append(ir.AggCall(a.name, a.fn, ir.ColumnRef(name, a.arg.type), a.type, span=a.span))
    if not moved:
        return r
    keep = tuple((f.name, ir.ColumnRef(f.name, f.type)) for f in r.input.schema)
    below = ir.Project(r.input, keep + tuple(moved), span=r.span)
    return ir.Aggregate(below, r.keys, tuple(aggs), r.window, span=r.span)


def _floor_align(t: exp.Expression, step: int, offset: int) -> exp.Expression:
    """t - ((t - offset) mod step), mod taken as floor mod: the largest k*step + offset <= t.
    SQL's % keeps the dividend's sign, so ((x % step) + step) % step makes it non-negative."""
    shifted = exp.Sub(this=t, expression=lit_int(offset)) if offset else t
    trunc_mod = exp.Mod(this=paren(shifted), expression=lit_int(step))
    floor_mod = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Paren(this=trunc_mod), expression=lit_int(step))),
                        expression=lit_int(step))
    return exp.Sub(this=t.copy(), expression=exp.Paren(this=floor_mod))


def _self_equality(e: ir.Expr) -> bool:
    """`a = b` whose two sides read a column in common (`k + 0 = k`)."""
    return (isinstance(e, ir.Call) and e.fn == "eq" and len(e.args) == 2
            and bool(ir.columns_used(e.args[0]) & ir.columns_used(e.args[1])))
