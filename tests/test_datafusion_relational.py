"""DataFusion target: distinct, top N and lookup joins, through .flow text, with answers worked out
by hand from docs/semantics.md ("flowc choices"): distinct keeps the first ON-TIME row per key in
ARRIVAL order; top orders by its expression (nulls last), ties by every column ascending."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow as pa
import pytest
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.targets.datafusion import compile_datafusion, execute
from flowc.targets.datafusion.dialect import parse, render
from flowc.targets.datafusion.types import arrow_schema

from flowc.pipeline import parse_text, to_ir

T0 = dt.datetime(2026, 1, 1)

HEADER = """
source s (k bigint, v bigint, t timestamp) from csv('s.csv') event_time t watermark 2s
source u (k bigint, v bigint, t timestamp) from csv('u.csv') event_time t watermark 2s
table dim (id bigint, cat string, primary key (id)) from csv('dim.csv')
"""


def sec(n: float | None) -> dt.datetime | None:
    return None if n is None else T0 + dt.timedelta(seconds=n)


def compile_program(views: str):
    return to_ir(parse_text(HEADER + views, "rel.flow"))


def run(views: str, s_rows: list[tuple], u_rows: list[tuple] = (), dim_rows: list[tuple] = ()):
    """Run the views over in-memory inputs (s and u rows: (k, v, t seconds)); every generated
    statement must read back with our dialect."""
    program = compile_program(views)
    plan = compile_datafusion(program)
    for v in plan.views:
        assert render(parse(v.sql)) == v.sql

    def table(schema, rows, conv):
        schema = arrow_schema(schema)
        cols = list(zip(*[conv(r) for r in rows], strict=True)) if rows else [[] for _ in schema]
        return pa.table([pa.array(c, f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)

    ts_row = lambda r: (r[0], r[1], sec(r[2]))  # noqa: E731
    inputs = {"s": table(program.source("s").schema, s_rows, ts_row),
              "u": table(program.source("u").schema, u_rows, ts_row)}
    tables = {"dim": table(program.table("dim").schema, dim_rows, tuple)}
    ex = execute(program, inputs, tables, plan=plan)
    return program, {name: Counter(tuple(r.values()) for r in t.to_pylist()) for name, t in ex.outputs.items()}


# arrival order matters: row 2 has an earlier time than row 0 but arrives later (on time: 10.5s >=
# max 12s - 2s); row 3 is late (5s < 10s); the null key is one group.
S_ROWS = [(1, 10, 11), (2, 20, 12), (1, 11, 10.5), (3, 30, 5), (3, 31, 11), (2, 21, 13),
          (None, 40, 14), (None, 41, 15)]


def test_distinct_keeps_the_first_on_time_row_by_arrival():
    program, out = run("view d = s | distinct k", S_ROWS)
    assert program.view("d").emit == "final"
    assert out["d"] == Counter([(1, 10, sec(11)), (2, 20, sec(12)), (3, 31, sec(11)), (None, 40, sec(14))])


def test_distinct_through_where_select_and_a_view():
    views = """
view small = s | where v < 40 | select key = k, v, t
view d = small | where v <> 10 | distinct key
"""
    _, out = run(views, S_ROWS)
    # k=1: row 0 is filtered out (v = 10), row 2 is the first left
    assert out["d"] == Counter([(1, 11, sec(10.5)), (2, 20, sec(12)), (3, 31, sec(11))])


def test_distinct_after_hop_takes_a_rows_earliest_window_first():
    views = """
view per_key = s | window hop(t, size = 10s, slide = 5s) | distinct k
view per_window = s | window hop(t, size = 10s, slide = 5s) | distinct k, window_start
"""
    rows = [(1, 1, 12), (1, 2, 16)]
    _, out = run(views, rows)
    # 12s is in [5, 15) and [10, 20): the first row's first window
    assert out["per_key"] == Counter([(1, 1, sec(12), sec(5), sec(15))])
    # 16s is in [10, 20) and [15, 25): [10, 20) already has row 0
    assert out["per_window"] == Counter([(1, 1, sec(12), sec(5), sec(15)), (1, 1, sec(12), sec(10), sec(20)),
                                         (1, 2, sec(16), sec(15), sec(25))])


def test_distinct_after_a_lookup_join_follows_the_stream_rows():
    views = "view d = s | join dim as a on k = a.id | distinct cat"
    dim = [(1, "x"), (2, "y"), (3, "x")]
    _, out = run(views, S_ROWS, dim_rows=dim)
    # on-time stream rows in arrival order: k=1 (x), k=2 (y), k=1, k=3 (x), ...
    # a lookup join is append-only: table updates never re-emit earlier rows (SEMANTICS.md §5)
    assert out["d"] == Counter([(1, 10, sec(11), 1, "x"), (2, 20, sec(12), 2, "y")])


def test_distinct_over_a_union_is_refused_with_a_reason():
    program = compile_program("view d = s | union u | distinct k")
    with pytest.raises(UnsupportedFeature) as info:
        compile_datafusion(program)
    d = info.value.first
    assert "distinct over a union" in d.message and "arrival" in (d.hint or "")
    assert d.span is not None and d.span.line == 5  # the `distinct` stage


def test_distinct_over_an_aggregate_is_refused():
    program = compile_program("view d = s | aggregate n = count() by k | distinct n")
    with pytest.raises(UnsupportedFeature, match="distinct over an aggregate"):
        compile_datafusion(program)


# ties and nulls: per k, v sorted desc with nulls last, ties broken by t ascending. All rows are on
# time; (1, 5, 2.5s) arrives after (1, 5, 3s) and still wins their tie (the rule ignores arrival).
TOP_ROWS = [(1, 5, 3), (1, None, 3.5), (1, 7, 4), (1, 5, 2.5), (1, 7, 5), (2, None, 5), (2, 1, 6), (3, None, 7)]


def test_top_per_key_with_ties_and_nulls():
    _, out = run("view best = s | top 3 by v per k", TOP_ROWS)
    assert out["best"] == Counter([
        ("+", 1, 7, sec(4)), ("+", 1, 7, sec(5)), ("+", 1, 5, sec(2.5)),   # (1, 5, 3s) loses the tie on t
        ("+", 2, 1, sec(6)), ("+", 2, None, sec(5)),                    # null last, but kept: fewer than 3
        ("+", 3, None, sec(7))])


def test_top_ascending_puts_nulls_last_too_and_global_top():
    views = """
view low = s | top 2 by v asc per k
view top2 = s | top 2 by v
"""
    _, out = run(views, TOP_ROWS)
    assert out["low"] == Counter([("+", 1, 5, sec(2.5)), ("+", 1, 5, sec(3)), ("+", 2, 1, sec(6)),
                                  ("+", 2, None, sec(5)), ("+", 3, None, sec(7))])
    assert out["top2"] == Counter([("+", 1, 7, sec(4)), ("+", 1, 7, sec(5))])


def test_top_over_an_aggregate():
    views = "view busiest = s | aggregate n = count() by k | top 1 by n"
    _, out = run(views, S_ROWS)
    # on-time counts: k=1: 2, k=2: 2, k=3: 1, null: 2; tie on n=2 broken by k ascending, nulls last
    assert out["busiest"] == Counter([("+", 1, 2)])


def test_lookup_join_is_a_plain_join_over_the_table():
    views = """
view inner_j = s | join dim as a on k = a.id
view left_j = s | left join dim as a on k = a.id
"""
    rows = [(1, 10, 10), (2, 20, 11), (4, 40, 12)]
    dim = [(1, "x"), (2, "y"), (3, "z")]
    program, out = run(views, rows, dim_rows=dim)
    assert program.view("inner_j").emit == "final"  # table updates never re-emit earlier rows
    assert out["inner_j"] == Counter([(1, 10, sec(10), 1, "x"), (2, 20, sec(11), 2, "y")])
    assert out["left_j"] == Counter([(1, 10, sec(10), 1, "x"), (2, 20, sec(11), 2, "y"),
                                     (4, 40, sec(12), None, None)])
