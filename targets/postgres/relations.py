"""IR relations as PostgreSQL SELECTs: the shared lowering (`flowc.targets.sql.relations`) with
PostgreSQL's windows, and its choice for `distinct` over rows without one arrival order.

Sources are views of their on-time rows that keep `__arrival`, which `distinct` (the first row per
key in arrival order) reads them with; `top` is the shared total order. Windows: tumble is `date_bin(size, ts, epoch + offset)` (exact,
in integer microseconds, and flooring times before the origin too); hop is the tumble of the
slide, minus k slides for k in `generate_series(0, size/slide - 1)`.
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.targets.sql.dialect import table
from flowc.targets.sql.expressions import col, lit_int
from flowc.targets.sql.relations import NoArrivalOrder, Query, RelationCompiler
from sqlglot import exp

from .expressions import AXIS, X, epoch, interval


class PostgresRelations(RelationCompiler):
    x = X
    axis = AXIS

    def scan_arrival(self, r: ir.Scan) -> bool:
        return r.kind == "source"  # sources are views of their on-time rows, `__arrival` kept

    def window_starts(self, rel, w, sub, arrival):
        tf = ir.schema_lookup(rel.schema, w.time_col)
        assert tf is not None
        t = AXIS.value(col(tf.name), tf.type)
        origin = epoch(T.TIMESTAMP if tf.type == T.DATE else tf.type)
        if w.offset:
            origin = exp.Add(this=origin, expression=interval(w.offset))
        cols = self._cols(rel.schema, arrival)
        if w.kind == "tumble":
            start = exp.Anonymous(this="date_bin", expressions=[interval(w.size), t, origin])
            return exp.select(*cols, exp.alias_(start, "__ws")).from_(sub).subquery(self._alias())
        if w.kind == "hop":
            last = exp.Anonymous(this="date_bin", expressions=[interval(w.slide), t, origin])
            series = exp.Anonymous(this="generate_series", expressions=[lit_int(0), lit_int(w.size // w.slide - 1)])
            hops = exp.select(*cols, exp.alias_(last, "__last"), exp.alias_(series, "__k")).from_(sub)
            start = exp.Sub(this=col("__last"), expression=exp.Mul(this=col("__k"), expression=interval(w.slide)))
            q = exp.select(*(c.copy() for c in cols), exp.alias_(start, "__ws")).from_(hops.subquery(self._alias()))
            return q.subquery(self._alias())
        raise UnsupportedFeature("a session window outside an aggregate", self.target, w.span)

    def source_arrival(self, s: ir.Source) -> exp.Select:
        # the source's view is its on-time rows with `__arrival` already
        return exp.select(*self._cols(s.schema, arrival=True)).from_(table(s.name))

    def distinct_without_arrival(self, r: ir.Distinct, what: str, keep_arrival: bool) -> Query:
        """Rows without one arrival order (a union, a join of two streams, an aggregate, a top):
        SEMANTICS leaves the kept row open there; PostgreSQL keeps the first per key by all
        columns, a deterministic choice."""
        if keep_arrival:
            raise NoArrivalOrder(what)
        sub, arrival = self._sub(r.input)
        order = [exp.Ordered(this=c, nulls_first=False) for c in self._cols(r.input.schema)]
        return self._ranked(sub, r.schema, arrival, list(r.keys), order, 1, keep_arrival=False), False
