"""DataFusion target: each IR node's SQL runs on DataFusion and gives the rows SEMANTICS.md defines.

IR is built by hand; inputs are tiny in-memory tables with answers worked out independently (a
plain-Python floor-mod window assignment, a hand-traced watermark).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pyarrow as pa
import pytest
from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from flowc.targets.datafusion import compile_datafusion, execute, explain_datafusion
from flowc.targets.datafusion.dialect import parse, render
from flowc.targets.datafusion.types import arrow_schema

F = ir.Field
EPOCH = dt.datetime(1970, 1, 1)
CSV = ir.Connector("csv", (("path", "in.csv"),))


def us(t: dt.datetime | None) -> int | None:
    return None if t is None else (t - EPOCH) // dt.timedelta(microseconds=1)


def ts(v: int | None) -> dt.datetime | None:
    return None if v is None else EPOCH + dt.timedelta(microseconds=v)


def col(name: str, t: T.Type) -> ir.ColumnRef:
    return ir.ColumnRef(name, t)


def lit(v, t: T.Type) -> ir.Literal:
    return ir.Literal(v, t)


def call(fn: str, t: T.Type, *args) -> ir.Call:
    return ir.Call(fn, tuple(args), t)


EV = (F("k", T.BIGINT), F("v", T.BIGINT), F("t", T.TIMESTAMP))


def source(name="s", schema=EV, event_time=None, watermark=None, on_late="drop"):
    return ir.Source(name, schema, CSV, event_time=event_time, watermark=watermark, on_late=on_late)


def program(src: ir.Source | tuple, *views: ir.View) -> ir.Program:
    sources = src if isinstance(src, tuple) else (src,)
    return ir.Program(sources=sources, views=views, sinks=tuple(ir.Sink(v.name, CSV) for v in views))


def scan(s: ir.Source) -> ir.Scan:
    return ir.Scan(s.name, "source", s.schema)


def table(s: ir.Source, rows: list[tuple]) -> pa.Table:
    schema = arrow_schema(s.schema)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    return pa.table([pa.array(c, f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)


def run(p: ir.Program, inputs: dict[str, list[tuple]]):
    """Execute on DataFusion; also checks every generated statement reads back with our dialect."""
    plan = compile_datafusion(p)
    for sql in [s.on_time_sql for s in plan.sources] + [s.late_sql for s in plan.sources if s.late_sql] \
            + [v.sql for v in plan.views] + [v.output_sql for v in plan.views]:
        assert render(parse(sql)) == sql
    ex = execute(p, {s.name: table(s, inputs[s.name]) for s in p.sources}, plan=plan)
    for v in p.views:
        out = ex.outputs[v.name]
        want = arrow_schema(v.schema)
        if v.emit == "changes":
            want = want.insert(0, pa.field("_op", pa.string()))
        assert out.schema.equals(want), f"{v.name}: {out.schema} != {want}"
    return ex


def rows(t: pa.Table) -> Counter:
    return Counter(tuple(r.values()) for r in t.to_pylist())


def raw_schema(p: ir.Program, v: str) -> pa.Schema:
    """The Arrow schema DataFusion itself gives the view, before `conform` touches it."""
    from flowc.targets.datafusion.runner import register_table, session, with_arrival
    plan = compile_datafusion(p)
    ctx = session()
    for s in p.sources:
        register_table(ctx, s.name, arrow_schema(s.schema).empty_table())
        register_table(ctx, f"__raw_{s.name}", with_arrival(arrow_schema(s.schema).empty_table()))
    vp = plan.view(v)
    return ctx.sql(vp.sql).schema()


# ---------------------------------------------------------------- lateness


def test_lateness_watermark_edges_and_nulls():
    s = source(event_time="t", watermark=5)
    p = program(s, ir.View("all", scan(s), "final"))
    data = [
        (0, 0, None),    # no watermark yet (W0 = -inf): a null time is on time
        (1, 0, ts(100)),  # first timed row: on time; W = 95
        (2, 0, ts(95)),   # exactly at the watermark: on time
        (3, 0, ts(94)),   # 1 us below: late
        (4, 0, None),     # null once a watermark exists: late
        (5, 0, ts(200)),  # W = 195
        (6, 0, ts(150)),  # late, behind 195
        (7, 0, ts(196)),  # on time: the late row did not move the watermark down
        (8, 0, ts(-10)),  # late
    ]
    ex = run(p, {"s": data})
    assert [r["k"] for r in ex.late["s"].to_pylist()] == [3, 4, 6, 8]  # in arrival order
    assert rows(ex.outputs["all"]) == Counter([data[i] for i in (0, 1, 2, 5, 7)])
    assert ex.rows_in["s"] == 9


def test_late_rows_still_raise_the_watermark():
    # SEMANTICS §1: W_i = max(ts_1..ts_i) - D over all rows, late ones included (a late row is
    # below the max, so it can never raise it; this pins that the running max is over arrivals).
    s = source(event_time="t", watermark=0)
    p = program(s, ir.View("all", scan(s), "final"))
    data = [(0, 0, ts(10)), (1, 0, ts(5)), (2, 0, ts(10)), (3, 0, ts(11)), (4, 0, ts(10))]
    ex = run(p, {"s": data})
    assert [r["k"] for r in ex.late["s"].to_pylist()] == [1, 4]


def test_source_without_event_time_has_no_late_rows():
    s = source()
    p = program(s, ir.View("all", scan(s), "final"))
    assert compile_datafusion(p).sources[0].late_sql is None
    data = [(1, 1, ts(100)), (2, 2, ts(0)), (3, 3, None)]
    ex = run(p, {"s": data})
    assert ex.late["s"].num_rows == 0 and rows(ex.outputs["all"]) == Counter(data)


def test_empty_source():
    s = source(event_time="t", watermark=5)
    agg = ir.Aggregate(scan(s), ("k",), (ir.AggCall("n", "count", None, T.BIGINT),),
                       ir.WindowSpec("tumble", "t", size=10))
    ex = run(program(s, ir.View("w", agg, "final")), {"s": []})
    assert ex.outputs["w"].num_rows == 0 and ex.late["s"].num_rows == 0


# ---------------------------------------------------------------- windows


def floor_start(t: int, step: int, offset: int) -> int:
    return t - ((t - offset) % step)  # Python's % is floor mod, as SEMANTICS §2 defines


TIMES = [-25, -20, -11, -10, -1, 0, 1, 9, 10, 19, 37]


@pytest.mark.parametrize("offset", [0, 3, -4])
def test_tumble_aggregate_before_and_after_epoch(offset):
    s = source()
    agg = ir.Aggregate(scan(s), ("k",), (ir.AggCall("n", "count", None, T.BIGINT),
                                         ir.AggCall("total", "sum", col("v", T.BIGINT), T.BIGINT)),
                       ir.WindowSpec("tumble", "t", size=10, offset=offset))
    data = [(i % 2, i, ts(t)) for i, t in enumerate(TIMES)]
    ex = run(program(s, ir.View("w", agg, "final")), {"s": data})
    want: Counter = Counter()
    groups: dict = {}
    for k, v, t in data:
        st = floor_start(us(t), 10, offset)
        n, tot = groups.get((k, st), (0, 0))
        groups[(k, st)] = (n + 1, tot + v)
    for (k, st), (n, tot) in groups.items():
        want[(k, ts(st), ts(st + 10), n, tot)] += 1
    assert rows(ex.outputs["w"]) == want


def test_tumble_window_assign_keeps_rows_and_null_time():
    s = source()
    wa = ir.WindowAssign(scan(s), ir.WindowSpec("tumble", "t", size=1_000_000, offset=250_000))
    data = [(1, 1, ts(-1)), (2, 2, ts(249_999)), (3, 3, ts(250_000)), (4, 4, None)]
    ex = run(program(s, ir.View("w", wa, "final")), {"s": data})
    assert rows(ex.outputs["w"]) == Counter([
        (1, 1, ts(-1), ts(-750_000), ts(250_000)),
        (2, 2, ts(249_999), ts(-750_000), ts(250_000)),
        (3, 3, ts(250_000), ts(250_000), ts(1_250_000)),
        (4, 4, None, None, None),
    ])


@pytest.mark.parametrize("size,slide,offset", [(10, 5, 0), (9, 3, 1), (6, 6, 0), (20, 5, -2)])
def test_hop_window_assign(size, slide, offset):
    s = source()
    wa = ir.WindowAssign(scan(s), ir.WindowSpec("hop", "t", size=size, slide=slide, offset=offset))
    data = [(i, i, ts(t)) for i, t in enumerate(TIMES)] + [(99, 99, None)]
    ex = run(program(s, ir.View("w", wa, "final")), {"s": data})
    want: Counter = Counter({(99, 99, None, None, None): size // slide})  # as the runtime's WindowAssignOp
    for k, v, t in data[:-1]:
        last = floor_start(us(t), slide, offset)
        for j in range(size // slide):
            st = last - j * slide
            assert st <= us(t) < st + size
            want[(k, v, t, ts(st), ts(st + size))] += 1
    assert rows(ex.outputs["w"]) == want


def test_hop_aggregate():
    s = source()
    agg = ir.Aggregate(scan(s), (), (ir.AggCall("n", "count", None, T.BIGINT),),
                       ir.WindowSpec("hop", "t", size=10, slide=5))
    data = [(0, 0, ts(t)) for t in (-6, -1, 0, 4, 5, 12)]
    ex = run(program(s, ir.View("w", agg, "final")), {"s": data})
    # windows [-15,-5): -6 | [-10,0): -6,-1 | [-5,5): -1,0,4 | [0,10): 0,4,5 | [5,15): 5,12 | [10,20): 12
    assert rows(ex.outputs["w"]) == Counter([(ts(a), ts(a + 10), n) for a, n in
                                             [(-15, 1), (-10, 2), (-5, 3), (0, 3), (5, 2), (10, 1)]])


def test_session_windows_per_key():
    s = source()
    agg = ir.Aggregate(scan(s), ("k",), (ir.AggCall("n", "count", None, T.BIGINT),
                                         ir.AggCall("total", "sum", col("v", T.BIGINT), T.BIGINT)),
                       ir.WindowSpec("session", "t", gap=10))
    # key 1 arrives out of order: 0, 25, 9, 18 -> one session 0..25 (gaps 9, 9, 7 < 10)
    # key 2: 0, 10 (gap exactly 10 starts a new session), 10 again (same time, same session)
    data = [(1, 1, ts(0)), (1, 2, ts(25)), (2, 10, ts(0)), (1, 3, ts(9)), (2, 20, ts(10)),
            (1, 4, ts(18)), (2, 30, ts(10)), (3, 5, None)]
    ex = run(program(s, ir.View("w", agg, "final")), {"s": data})
    assert rows(ex.outputs["w"]) == Counter([
        (1, ts(0), ts(35), 4, 10),
        (2, ts(0), ts(10), 1, 10),
        (2, ts(10), ts(20), 2, 50),
    ])


# ---------------------------------------------------------------- aggregates and expressions


def test_group_by_aggregates_with_nulls():
    s = source(schema=(F("k", T.STRING), F("v", T.BIGINT), F("x", T.DOUBLE), F("t", T.TIMESTAMP)))
    v, x = col("v", T.BIGINT), col("x", T.DOUBLE)
    aggs = (ir.AggCall("n", "count", None, T.BIGINT), ir.AggCall("nv", "count", v, T.BIGINT),
            ir.AggCall("s", "sum", v, T.BIGINT), ir.AggCall("lo", "min", v, T.BIGINT),
            ir.AggCall("hi", "max", x, T.DOUBLE), ir.AggCall("mean", "avg", v, T.DOUBLE),
            ir.AggCall("d", "count_distinct", v, T.BIGINT), ir.AggCall("last", "max", col("t", T.TIMESTAMP),
                                                                         T.TIMESTAMP))
    agg = ir.Aggregate(scan(s), ("k",), aggs)
    data = [("a", 1, 1.5, ts(5)), ("a", None, 2.5, None), ("a", 1, None, ts(7)), ("b", None, None, None),
            (None, 4, 0.0, ts(1))]
    ex = run(program(s, ir.View("g", agg, "final")), {"s": data})
    assert rows(ex.outputs["g"]) == Counter([
        ("a", 3, 2, 2, 1, 2.5, 1.0, 1, ts(7)),
        ("b", 1, 0, None, None, None, None, 0, None),
        (None, 1, 1, 4, 4, 0.0, 4.0, 1, ts(1)),
    ])


def test_global_aggregate_and_int_sum_type():
    s = source(schema=(F("i", T.INT), F("t", T.TIMESTAMP)))
    agg = ir.Aggregate(scan(s), (), (ir.AggCall("s", "sum", col("i", T.INT), T.BIGINT),
                                     ir.AggCall("n", "count", None, T.BIGINT)))
    ex = run(program(s, ir.View("g", agg, "final")), {"s": [(2**31 - 1, None), (2**31 - 1, None)]})
    assert rows(ex.outputs["g"]) == Counter([(2 * (2**31 - 1), 2)])


def test_decimal_sum_and_avg_keep_ir_types():
    d = T.decimal(10, 2)
    s = source(schema=(F("d", d), F("t", T.TIMESTAMP)))
    agg = ir.Aggregate(scan(s), (), (ir.AggCall("s", "sum", col("d", d), d), ir.AggCall("a", "avg", col("d", d), d)))
    p = program(s, ir.View("g", agg, "final"))
    ex = run(p, {"s": [(Decimal("1.25"), None), (Decimal("2.50"), None)]})
    assert rows(ex.outputs["g"]) == Counter([(Decimal("3.75"), Decimal("1.88"))])
    assert raw_schema(p, "g").field("s").type == pa.decimal128(10, 2)


B, INT_, D, S = T.BIGINT, T.INT, T.DOUBLE, T.STRING
a_, b_, x_, s_, t_, flag = col("a", B), col("b", B), col("x", D), col("s", S), col("t", T.TIMESTAMP), col("f", T.BOOL)
SCALAR_CASES = [
    # (name, IR expression, expected per input row)
    ("add", call("add", B, a_, b_), [5, None, -5, None]),
    ("sub", call("sub", B, a_, b_), [-1, None, -9, None]),
    ("mul", call("mul", D, a_, x_), [3.0, 7.5, -7.0, None]),
    ("div_int_truncates", call("div", B, a_, b_), [0, None, -3, None]),
    ("div_double", call("div", D, x_, lit(2.0, D)), [0.75, -1.25, 0.5, None]),
    ("mod_sign_of_dividend", call("mod", B, a_, lit(3, B)), [2, 0, -1, 0]),
    ("neg", call("neg", B, a_), [-2, 3, 7, 0]),
    ("eq", call("eq", T.BOOL, a_, b_), [False, None, False, None]),
    ("ne", call("ne", T.BOOL, s_, lit("x", S)), [True, None, False, True]),
    ("lt", call("lt", T.BOOL, a_, b_), [True, None, True, None]),
    ("le", call("le", T.BOOL, x_, lit(1.0, D)), [False, True, True, None]),
    ("gt", call("gt", T.BOOL, t_, lit(10, T.TIMESTAMP)), [False, True, None, True]),
    ("ge", call("ge", T.BOOL, a_, lit(-3, B)), [True, True, False, True]),
    ("and_3vl", call("and", T.BOOL, flag, call("gt", T.BOOL, a_, lit(0, B))), [True, False, False, False]),
    ("or_3vl", call("or", T.BOOL, flag, call("gt", T.BOOL, a_, lit(0, B))), [True, None, True, False]),
    ("not", call("not", T.BOOL, flag), [False, None, False, True]),
    ("is_null", call("is_null", T.BOOL, b_), [False, True, False, True]),
    ("is_not_null", call("is_not_null", T.BOOL, s_), [True, False, True, True]),
    ("in_3vl", call("in", T.BOOL, a_, lit(2, B), lit(None, B)), [True, None, None, None]),
    ("concat_null", call("concat", S, s_, lit("!", S)), ["ab!", None, "x!", "É!"]),
    ("lower", call("lower", S, s_), ["ab", None, "x", "é"]),
    ("upper", call("upper", S, s_), ["AB", None, "X", "É"]),
    ("length_chars", call("length", B, s_), [2, None, 1, 1]),
    ("abs", call("abs", B, a_), [2, 3, 7, 0]),
    ("round_half_away_from_zero", call("round", D, x_), [2.0, -3.0, 1.0, None]),
    ("round_digits", call("round", D, call("div", D, x_, lit(3.0, D)), lit(2, B)), [0.5, -0.83, 0.33, None]),
    ("floor", call("floor", D, x_), [1.0, -3.0, 1.0, None]),
    ("ceil", call("ceil", D, x_), [2.0, -2.0, 1.0, None]),
    ("floor_int", call("floor", B, a_), [2, -3, -7, 0]),
    ("coalesce", call("coalesce", B, b_, a_, lit(9, B)), [3, -3, 2, 0]),
    ("case", ir.Case(((call("gt", T.BOOL, a_, lit(0, B)), lit("pos", S)),), lit("other", S), S),
     ["pos", "other", "other", "other"]),
    ("cast_to_string", ir.Cast(a_, S), ["2", "-3", "-7", "0"]),
    ("cast_int", ir.Cast(a_, INT_), [2, -3, -7, 0]),
    ("ts_plus_interval", call("add", T.TIMESTAMP, t_, lit(5, T.INTERVAL)), [ts(5), ts(25), None, ts(16)]),
    ("ts_minus_ts", call("sub", T.INTERVAL, t_, lit(1, T.TIMESTAMP)),
     [dt.timedelta(microseconds=-1), dt.timedelta(microseconds=19), None, dt.timedelta(microseconds=10)]),
    # issue 13's text functions (PostgreSQL's meaning; tests/test_functions.py compares three targets)
    ("substr", call("substr", S, s_, a_, lit(2, B)), ["b", None, "", "É"]),
    ("replace", call("replace", S, s_, lit("b", S), lit("B", S)), ["aB", None, "x", "É"]),
    ("split_part", call("split_part", S, s_, lit("b", S), lit(1, B)), ["a", None, "x", "É"]),
    ("strpos", call("strpos", B, s_, lit("b", S)), [2, None, 0, 0]),
    ("trim", call("trim", S, lit(" a ", S)), ["a"] * 4),
    ("ltrim", call("ltrim", S, lit(" a ", S)), ["a "] * 4),
    ("rtrim", call("rtrim", S, lit(" a ", S)), [" a"] * 4),
    ("starts_with", call("starts_with", T.BOOL, s_, lit("a", S)), [True, None, False, False]),
    ("lpad", call("lpad", S, s_, lit(3, B), lit("-", S)), ["-ab", None, "--x", "--É"]),
    ("rpad", call("rpad", S, s_, lit(1, B)), ["a", None, "x", "É"]),
    ("left_negative", call("left", S, s_, lit(-1, B)), ["a", None, "", ""]),
    ("right", call("right", S, s_, lit(1, B)), ["b", None, "x", "É"]),
    ("concat_skips_nulls", call("concat_all", S, s_, lit(None, S), lit("!", S)), ["ab!", "!", "x!", "É!"]),
    ("greatest_ignores_nulls", call("greatest", B, a_, b_), [3, -3, 2, 0]),
    ("least", call("least", B, a_, b_), [2, -3, -7, 0]),
    ("nullif", call("nullif", B, a_, lit(-3, B)), [2, None, -7, 0]),
    ("like", call("like", T.BOOL, s_, lit("a%", S)), [True, None, False, False]),
    ("ilike", call("ilike", T.BOOL, s_, lit("é", S)), [False, None, False, True]),
    *[(f"extract_{f}", call(f"extract_{f}", T.DOUBLE if f in ("second", "epoch") else B, t_), want)
      for f, want in [("year", [1970, 1970, None, 1970]), ("month", [1, 1, None, 1]), ("day", [1, 1, None, 1]),
                      ("hour", [0, 0, None, 0]), ("minute", [0, 0, None, 0]), ("second", [0.0, 0.00002, None, 0.000011]),
                      ("dow", [4, 4, None, 4]), ("doy", [1, 1, None, 1]), ("epoch", [0.0, 0.00002, None, 0.000011])]],
    ("date_trunc", call("date_trunc", T.TIMESTAMP, lit("second", S), t_), [ts(0), ts(0), None, ts(0)]),
    ("sqrt_null_below_zero", call("sqrt", D, x_), [1.224744871, None, 1.0, None]),
    ("ln", call("ln", D, a_), [0.693147181, None, None, None]),
    ("exp", call("exp", D, lit(0.0, D)), [1.0, 1.0, 1.0, 1.0]),
    ("power", call("power", D, a_, b_), [8.0, None, 49.0, None]),
    ("to_char", call("to_char", S, t_, lit("YYYY-MM-DD HH24:MI:SS.US", S)),
     ["1970-01-01 00:00:00.000000", "1970-01-01 00:00:00.000020", None, "1970-01-01 00:00:00.000011"]),
]


@pytest.mark.parametrize("name,e,want", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_scalar_function(name, e, want):
    s = source(schema=(F("a", B), F("b", B), F("x", D), F("s", S), F("t", T.TIMESTAMP), F("f", T.BOOL)))
    proj = ir.Project(scan(s), (("r", e),))
    p = program(s, ir.View("p", proj, "final"))
    data = [(2, 3, 1.5, "ab", ts(0), True), (-3, None, -2.5, None, ts(20), None),
            (-7, 2, 1.0, "x", None, True), (0, None, None, "É", ts(11), False)]
    ex = run(p, {"s": data})
    got = [r["r"] for r in ex.outputs["p"].to_pylist()]
    if e.type == D:
        got = [None if g is None else round(g, 9) for g in got]
    assert got == want
    assert raw_schema(p, "p").field("r").type == arrow_schema(proj.schema).field("r").type


def test_every_ir_scalar_has_a_case():
    from flowc.compiler.functions import SCALARS
    covered = {c[1].fn for c in SCALAR_CASES if isinstance(c[1], ir.Call)}
    assert set(SCALARS) <= covered


# ---------------------------------------------------------------- composition, emit, other relations


def test_filter_project_views_reading_views():
    s = source()
    first = ir.View("big", ir.Filter(scan(s), call("gt", T.BOOL, col("v", B), lit(10, B))), "final")
    second = ir.View("doubled", ir.Project(ir.Scan("big", "view", s.schema),
                                           (("k", col("k", B)), ("v2", call("mul", B, col("v", B), lit(2, B))))),
                     "final")
    ex = run(program(s, first, second), {"s": [(1, 5, None), (2, 11, None), (3, None, None)]})
    assert rows(ex.outputs["doubled"]) == Counter([(2, 22)])


def test_emit_changes_prefixes_plus_op():
    s = source()
    agg = ir.Aggregate(scan(s), ("k",), (ir.AggCall("n", "count", None, B),))
    ex = run(program(s, ir.View("c", agg, "changes")), {"s": [(1, 0, None), (1, 0, None), (2, 0, None)]})
    assert ex.outputs["c"].column_names == ["_op", "k", "n"]
    assert rows(ex.outputs["c"]) == Counter([("+", 1, 2), ("+", 2, 1)])


def test_union_all_and_joins():
    l_ = source("l", (F("id", B), F("t", T.TIMESTAMP)))
    r_ = source("r", (F("id", B), F("name", S)))
    union = ir.UnionAll(scan(l_), scan(l_))
    cond = call("eq", T.BOOL, col("id", B), col("r_id", B))
    inner = ir.Join(scan(l_), scan(r_), "inner", cond, "r", ("r_id", "name"))
    left = ir.Join(scan(l_), scan(r_), "left", cond, "r", ("r_id", "name"))
    p = program((l_, r_), ir.View("u", union, "final"), ir.View("i", inner, "final"), ir.View("lj", left, "final"))
    ex = run(p, {"l": [(1, None), (2, None)], "r": [(1, "a"), (1, "b"), (3, "c")]})
    assert rows(ex.outputs["u"]) == Counter({(1, None): 2, (2, None): 2})
    assert rows(ex.outputs["i"]) == Counter([(1, None, 1, "a"), (1, None, 1, "b")])
    assert rows(ex.outputs["lj"]) == Counter([(1, None, 1, "a"), (1, None, 1, "b"), (2, None, None, None)])


def test_unsupported_relations_and_connectors():
    s = source()
    with pytest.raises(UnsupportedFeature) as e:
        # distinct over a union: no single arrival order (supported distincts: test_datafusion_relational.py)
        compile_datafusion(program(s, ir.View("d", ir.Distinct(ir.UnionAll(scan(s), scan(s)), ("k",)), "changes")))
    assert e.value.target == "datafusion"
    kafka = ir.Source("s", EV, ir.Connector("kafka", (("topic", "x"),)))
    with pytest.raises(UnsupportedFeature) as e:
        compile_datafusion(program(kafka, ir.View("a", scan(kafka), "final")))
    assert e.value.first.code == Code.CONNECTOR_TARGET
    # a sink DataFusion cannot write (postgres sinks it can: tests/test_postgres_connector.py)
    p = ir.Program(sources=(s,), views=(ir.View("a", scan(s), "final"),),
                   sinks=(ir.Sink("a", ir.Connector("kafka", (("topic", "x"),))),))
    with pytest.raises(UnsupportedFeature) as e:
        compile_datafusion(p)
    assert e.value.first.code == Code.CONNECTOR_TARGET


def test_names_with_quotes_and_dots_are_identifiers_not_sql():
    # exp.to_table parsed names as SQL: `se"lect` failed to tokenize and `a.b` became schema a, table b
    s = source('s"rc', event_time="t", watermark=0)
    first = ir.View('se"lect', ir.Distinct(scan(s), ("k",)), "changes")
    again = ir.View("a.b", ir.Scan('se"lect', "view", s.schema), "final")
    ex = run(program(s, first, again), {'s"rc': [(1, 10, ts(1)), (1, 20, ts(2)), (2, 30, ts(3))]})
    assert rows(ex.outputs['se"lect']) == Counter({("+", 1, 10, ts(1)): 1, ("+", 2, 30, ts(3)): 1})
    assert rows(ex.outputs["a.b"]) == Counter({(1, 10, ts(1)): 1, (2, 30, ts(3)): 1})


def test_explain_shows_sql_and_optimized_plan():
    s = source(event_time="t", watermark=5)
    agg = ir.Aggregate(scan(s), ("k",), (ir.AggCall("n", "count", None, B),), ir.WindowSpec("tumble", "t", size=10))
    text = explain_datafusion(program(s, ir.View("w", agg, "changes")))
    assert "-- source s: late rows" in text and "WindowAggr" in text
    assert "-- view w (emit changes)" in text and "Aggregate: groupBy" in text
    assert "'+' AS \"_op\"" in text


def test_mixed_case_names_are_kept():
    s = source("Bids", (F("Price", B), F("t", T.TIMESTAMP)))
    proj = ir.Project(scan(s), (("Euro", call("mul", B, col("Price", B), lit(2, B))),))
    ex = run(program(s, ir.View("Out", proj, "final")), {"Bids": [(3, None)]})
    assert ex.outputs["Out"].to_pylist() == [{"Euro": 6}]


def test_windows_on_timestamptz_and_date_columns():
    tz = pa.timestamp("us", tz="UTC")
    s = source(schema=(F("k", B), F("tz", T.TIMESTAMPTZ), F("d", T.DATE)))
    day = 86_400_000_000
    by_tz = ir.Aggregate(scan(s), (), (ir.AggCall("n", "count", None, B),), ir.WindowSpec("tumble", "tz", size=10))
    by_date = ir.WindowAssign(scan(s), ir.WindowSpec("tumble", "d", size=7 * day))
    p = program(s, ir.View("a", by_tz, "final"), ir.View("b", by_date, "final"))
    utc = dt.UTC
    data = [(1, ts(-3).replace(tzinfo=utc), dt.date(1970, 1, 1)), (2, ts(4).replace(tzinfo=utc), dt.date(1969, 12, 31))]
    ex = run(p, {"s": data})
    assert ex.outputs["a"].schema.field("window_start").type == tz
    assert rows(ex.outputs["a"]) == Counter([(ts(-10).replace(tzinfo=utc), ts(0).replace(tzinfo=utc), 1),
                                             (ts(0).replace(tzinfo=utc), ts(10).replace(tzinfo=utc), 1)])
    # 1970-01-01 is a Thursday; weeks are aligned to the epoch, so both days share [Jan 1, Jan 8)
    # and Dec 31 falls in the week before
    got = {r["k"]: (r["window_start"], r["window_end"]) for r in ex.outputs["b"].to_pylist()}
    assert got == {1: (ts(0), ts(7 * day)), 2: (ts(-7 * day), ts(0))}


def test_interval_aggregates_and_literals():
    s = source(schema=(F("k", B), F("iv", T.INTERVAL)))
    iv = col("iv", T.INTERVAL)
    agg = ir.Aggregate(scan(s), (), (ir.AggCall("lo", "min", iv, T.INTERVAL), ir.AggCall("hi", "max", iv, T.INTERVAL)))
    proj = ir.Project(scan(s), (("p", call("add", T.INTERVAL, iv, lit(1, T.INTERVAL))),))
    ex = run(program(s, ir.View("a", agg, "final"), ir.View("p", proj, "final")),
             {"s": [(1, dt.timedelta(microseconds=5)), (2, dt.timedelta(seconds=-1))]})
    assert rows(ex.outputs["a"]) == Counter([(dt.timedelta(seconds=-1), dt.timedelta(microseconds=5))])
    assert rows(ex.outputs["p"]) == Counter([(dt.timedelta(microseconds=6),),
                                             (dt.timedelta(seconds=-1, microseconds=1),)])


def test_evaluation_failure_is_a_user_error():
    from flowc.compiler.diagnostics import FlowError
    s = source()
    proj = ir.Project(scan(s), (("q", call("div", B, col("v", B), col("k", B))),))
    with pytest.raises(FlowError) as e:
        run(program(s, ir.View("p", proj, "final")), {"s": [(0, 1, None)]})
    assert "view 'p'" in e.value.first.message and "Divide by zero" in e.value.first.message


def test_datafusion_sql_script_reads_back():
    from flowc.targets.datafusion import datafusion_sql
    s = source(event_time="t", watermark=5)
    agg = ir.Aggregate(scan(s), ("k",), (ir.AggCall("n", "count", None, B),),
                       ir.WindowSpec("hop", "t", size=10, slide=5))
    text = datafusion_sql(program(s, ir.View("w", agg, "changes")))
    import sqlglot
    statements = [st for st in sqlglot.parse(text, read="postgres") if st is not None]
    assert len(statements) == 4  # on-time view, late rows, view, changes output
    assert 'CREATE VIEW "w" AS' in text
