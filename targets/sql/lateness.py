"""The on-time flag of every source row (SEMANTICS §1), computed in SQL by a batch engine.

The row at arrival i is on time iff

    prev_max IS NULL OR (ts IS NOT NULL AND ts >= prev_max - D)

with prev_max = MAX(ts) over the rows before it in arrival order (`ROWS BETWEEN UNBOUNDED PRECEDING
AND 1 PRECEDING`). MAX skips nulls, so prev_max is null exactly while no watermark exists (W = -inf);
after that a null event time is late, and a row exactly at the watermark is on time.
"""

from __future__ import annotations

from flowc.compiler import ir
from sqlglot import exp

from .expressions import col, is_null, lit_int
from .names import ARRIVAL, ON_TIME, PREV_MAX
from .timeaxis import TimeAxis


def flag_on_time(s: ir.Source, raw: exp.Table, axis: TimeAxis) -> exp.Select:
    """The source's columns, `__arrival` and `__on_time`, over `raw` (its rows plus `__arrival`)."""
    tf = ir.schema_lookup(s.schema, s.event_time)  # type: ignore[arg-type]
    assert tf is not None, "lowering checks the event time column"
    names = [f.name for f in s.schema]
    window = exp.Window(
        this=exp.Max(this=col(tf.name)),
        order=exp.Order(expressions=[exp.Ordered(this=col(ARRIVAL))]),
        spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                            end=lit_int(1), end_side="PRECEDING"))
    with_max = exp.select(*(col(n) for n in names), col(ARRIVAL), exp.alias_(window, PREV_MAX)).from_(raw)
    watermark = exp.Sub(this=axis.value(col(PREV_MAX), tf.type), expression=axis.duration(int(s.watermark or 0)))
    on_time = exp.Or(
        this=is_null(col(PREV_MAX)),
        expression=exp.Paren(this=exp.And(
            this=exp.Not(this=is_null(col(tf.name))),
            expression=exp.GTE(this=axis.value(col(tf.name), tf.type), expression=exp.Paren(this=watermark)))))
    return exp.select(*(col(n) for n in names), col(ARRIVAL), exp.alias_(on_time, ON_TIME)) \
        .from_(with_max.subquery("__with_max"))


def split_on_time(s: ir.Source, raw: exp.Table, axis: TimeAxis, keep_arrival: bool) -> tuple[exp.Select, exp.Select]:
    """(on-time rows, late rows) of a source with an event time: its columns, plus `__arrival` if
    `keep_arrival`. The late rows come unordered; order them by `__arrival` where it matters."""
    cols = [col(f.name) for f in s.schema] + ([col(ARRIVAL)] if keep_arrival else [])
    flagged = flag_on_time(s, raw, axis).subquery("__flagged")
    on_time = exp.select(*cols).from_(flagged).where(col(ON_TIME))
    late = exp.select(*(c.copy() for c in cols)).from_(flagged.copy()).where(exp.Not(this=col(ON_TIME)))
    return on_time, late
