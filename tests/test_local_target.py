"""The local target: IR -> runtime plan; expressions; the acceptance examples end to end."""

from __future__ import annotations

import decimal
from pathlib import Path

import pyarrow as pa
import pytest
from flowc.compiler import functions, ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, FlowError, UnsupportedFeature
from flowc.targets.local import compile_local, run_local
from flowc.targets.local_exprs import compile_expr
from support import EXAMPLES, compare_outputs, copy_example

BIDS = (ir.Field("auction", T.BIGINT), ir.Field("bidder", T.BIGINT), ir.Field("price", T.BIGINT),
        ir.Field("channel", T.STRING), ir.Field("date_time", T.TIMESTAMP))


def col(name, t=T.BIGINT):
    return ir.ColumnRef(name, t)


def lit(v, t=T.BIGINT):
    return ir.Literal(v, t)


def tumble_program(base_dir: str, emit: str = "final") -> ir.Program:
    """The tumble example, built by hand as common.md shows."""
    src = ir.Source("bids", BIDS, ir.Connector("csv", (("path", "bids.csv"),)), event_time="date_time",
                    watermark=5_000_000, on_late=ir.Connector("csv", (("path", "out/late_bids.csv"),)))
    plan = ir.Aggregate(ir.Filter(ir.Scan("bids", "source", BIDS), ir.Call("gt", (col("price"), lit(10)), T.BOOL)),
                        keys=("auction",),
                        aggs=(ir.AggCall("bids", "count", None, T.BIGINT),
                              ir.AggCall("top_price", "max", col("price"), T.BIGINT)),
                        window=ir.WindowSpec("tumble", "date_time", size=10_000_000))
    return ir.Program(sources=(src,), views=(ir.View("hot_items", plan, emit),),
                      sinks=(ir.Sink("hot_items", ir.Connector("csv", (("path", "out/hot_items.csv"),))),),
                      base_dir=base_dir)


@pytest.mark.parametrize("batch_size", [1, 7, 10000])
def test_hand_built_tumble_matches_expected(tmp_path, batch_size):
    work = copy_example("tumble", tmp_path)
    result = run_local(tumble_program(str(work)), batch_size=batch_size, collect=True)
    assert compare_outputs(EXAMPLES / "tumble" / "expected", work / "out") == []
    (src,) = result.sources
    assert src.late == 3 and src.rows_in > src.late
    assert result.sinks[0].rows_out == result.tables["hot_items"].num_rows > 0


def test_changes_mode_consolidates_to_final(tmp_path):
    work = copy_example("tumble", tmp_path)
    final = run_local(tumble_program(str(work), "final"), batch_size=3, collect=True).tables["hot_items"]
    changes = run_local(tumble_program(str(work), "changes"), batch_size=3, collect=True).tables["hot_items"]
    assert changes.column_names[0] == "_op"
    assert "-" in changes.column("_op").to_pylist()  # batch size 3 does revise groups
    from collections import Counter
    log = Counter()
    for r in changes.to_pylist():
        op = r.pop("_op")
        log[tuple(r.values())] += 1 if op == "+" else -1
    assert +log == Counter(tuple(r.values()) for r in final.to_pylist())


def example_program(work: Path) -> ir.Program:
    from flowc.dsl.lower import lower
    from flowc.dsl.parser import parse
    path = work / "program.flow"
    return lower(parse(path.read_text(), str(path)))


@pytest.mark.parametrize("case", ["filter_project", "tumble", "changes", "hop", "session"])
@pytest.mark.parametrize("batch_size", [1, 7, 10000])
def test_examples_end_to_end(tmp_path, case, batch_size):
    work = copy_example(case, tmp_path)
    run_local(example_program(work), batch_size=batch_size)
    assert compare_outputs(EXAMPLES / case / "expected", work / "out") == []


@pytest.mark.parametrize("case", ["filter_project", "tumble", "changes", "hop", "session"])
def test_examples_through_the_optimizer(tmp_path, case):
    from flowc.compiler.optimizer import optimize
    work = copy_example(case, tmp_path)
    run_local(optimize(example_program(work)), batch_size=5)
    assert compare_outputs(EXAMPLES / case / "expected", work / "out") == []


def consolidated(table: pa.Table):
    from collections import Counter
    log = Counter()
    for r in table.to_pylist():
        op = r.pop("_op", "+")
        log[tuple(r.values())] += 1 if op == "+" else -1
    return +log


@pytest.mark.parametrize("case", ["session", "hop", "tumble"])
def test_windowed_changes_consolidate_to_final_at_every_batch_size(tmp_path, case):
    from dataclasses import replace
    work = copy_example(case, tmp_path)
    prog = example_program(work)
    final = consolidated(run_local(prog, 10000, collect=True).tables[prog.views[0].name])
    changes_prog = prog.with_views((replace(prog.views[0], emit="changes"),))
    for bs in (1, 7, 10000):
        log = run_local(changes_prog, bs, collect=True).tables[prog.views[0].name]
        assert log.column_names[0] == "_op"
        assert consolidated(log) == final
        if bs == 1:
            assert "-" in log.column("_op").to_pylist()


def test_view_reading_a_view_shares_upstream_and_several_sinks(tmp_path):
    work = copy_example("filter_project", tmp_path)
    src = ir.Source("bids", BIDS, ir.Connector("csv", (("path", "bids.csv"),)))
    cheap = ir.Filter(ir.Scan("bids", "source", BIDS), ir.Call("lt", (col("price"), lit(20)), T.BOOL))
    by = ir.Aggregate(ir.Scan("cheap", "view", BIDS), ("channel",), (ir.AggCall("n", "count", None, T.BIGINT),))
    sinks = (ir.Sink("cheap", ir.Connector("csv", (("path", "out/a.csv"),))),
             ir.Sink("cheap", ir.Connector("jsonl", (("path", "out/b.jsonl"),))),
             ir.Sink("by", ir.Connector("csv", (("path", "out/by.csv"),))))
    prog = ir.Program((src,), (), (ir.View("cheap", cheap, "final"), ir.View("by", by, "changes")), sinks,
                      base_dir=str(work))
    lp = compile_local(prog, 100)
    assert len(lp.sources["bids"].outputs) == 1  # the aggregate hangs off the filter, not the source
    res = run_local(prog, 4, collect=True)
    assert [s.rows_out for s in res.sinks][:2] == [res.tables["cheap"].num_rows] * 2
    assert (work / "out" / "b.jsonl").read_text().count("\n") == res.tables["cheap"].num_rows
    by_channel = {}
    for r in res.tables["by"].to_pylist():
        if r["_op"] == "+":
            by_channel[r["channel"]] = r["n"]
    assert sum(by_channel.values()) == res.tables["cheap"].num_rows


def test_unsupported_connector_and_nodes(tmp_path):
    prog = tumble_program(str(tmp_path))
    kafka = ir.Source("bids", BIDS, ir.Connector("kafka", (("brokers", "x"), ("topic", "t"))))
    with pytest.raises(UnsupportedFeature, match="connector 'kafka'"):
        compile_local(ir.Program((kafka,), (), prog.views, prog.sinks), 10)
    counts = ir.Aggregate(ir.Scan("bids", "source", BIDS), ("auction",),
                          (ir.AggCall("n", "count", None, T.BIGINT),))
    distinct = ir.View("d", ir.Distinct(counts, ("auction",)), "changes")
    with pytest.raises(FlowError, match="distinct"):  # first row per key of a changelog has no meaning
        compile_local(ir.Program(prog.sources, (), (distinct,), ()), 10)


def test_bad_record_is_a_flow_error_naming_file_row_and_column(tmp_path):
    (tmp_path / "bids.csv").write_text("auction,bidder,price,channel,date_time\n"
                                       "1,2,3,web,2026-03-01 12:00:00\n1,2,x,web,2026-03-01 12:00:01\n")
    with pytest.raises(FlowError) as e:
        run_local(tumble_program(str(tmp_path)), batch_size=1)
    d = e.value.first
    assert d.code == Code.BAD_RECORD
    assert "bids.csv" in d.message and "row 2" in d.message and "'price'" in d.message and "'x'" in d.message


def test_missing_input_file_is_an_io_error(tmp_path):
    with pytest.raises(FlowError) as e:
        run_local(tumble_program(str(tmp_path)))
    assert e.value.first.code == Code.IO


# ---------------------------------------------------------------- expressions


def evaluate(e: ir.Expr, **columns):
    b = pa.RecordBatch.from_pydict(columns) if columns else pa.RecordBatch.from_pydict({"_": [0]})
    out = compile_expr(e)(b)
    return out.as_py() if isinstance(out, pa.Scalar) else out.to_pylist()


def test_integer_division_truncates_and_mod_follows_the_dividend():
    a, b = col("a"), col("b")
    assert evaluate(ir.Call("div", (a, b), T.BIGINT), a=[-7, 7, 7, None], b=[2, -2, 2, 1]) == [-3, -3, 3, None]
    assert evaluate(ir.Call("mod", (a, b), T.BIGINT), a=[-7, 7, 7], b=[2, -2, 2]) == [-1, 1, 1]
    assert evaluate(ir.Call("div", (a, b), T.DOUBLE), a=[7.0], b=[2.0]) == [3.5]


def test_three_valued_logic():
    a, b = col("a", T.BOOL), col("b", T.BOOL)
    vals = dict(a=[True, False, None, None], b=[None, None, False, True])
    assert evaluate(ir.Call("and", (a, b), T.BOOL), **vals) == [None, False, False, None]
    assert evaluate(ir.Call("or", (a, b), T.BOOL), **vals) == [True, None, None, True]
    x = col("x")
    assert evaluate(ir.Call("in", (x, lit(1), lit(None, T.NULL)), T.BOOL), x=[1, 2, None]) == [True, None, None]


def test_timestamp_arithmetic_and_comparison():
    import datetime as dt
    ts = col("ts", T.TIMESTAMP)
    t0 = dt.datetime(2026, 3, 1, 12, 0, 0)
    plus = ir.Call("add", (ts, lit(10_000_000, T.INTERVAL)), T.TIMESTAMP)
    assert evaluate(plus, ts=[t0]) == [t0 + dt.timedelta(seconds=10)]
    gt = ir.Call("gt", (plus, ir.Literal("2026-03-01 12:00:05", T.TIMESTAMP)), T.BOOL)
    assert evaluate(gt, ts=[t0, t0 - dt.timedelta(seconds=6)]) == [True, False]
    diff = ir.Call("sub", (ts, ts), T.INTERVAL)
    assert evaluate(diff, ts=[t0]) == [dt.timedelta(0)]


def test_case_cast_and_decimal():
    x = col("x")
    case = ir.Case(((ir.Call("gt", (x, lit(1)), T.BOOL), ir.Literal("big", T.STRING)),), ir.Literal("small", T.STRING),
                   T.STRING)
    assert evaluate(case, x=[0, 5, None]) == ["small", "big", "small"]
    assert evaluate(ir.Cast(ir.ColumnRef("s", T.STRING), T.BIGINT), s=["12", None]) == [12, None]
    d = ir.Call("add", (ir.ColumnRef("d", T.decimal(10, 2)), lit(1)), T.decimal(10, 2))
    assert evaluate(d, d=pa.array([decimal.Decimal("1.25")], pa.decimal128(10, 2))) == [decimal.Decimal("2.25")]


_T0 = __import__("datetime").datetime(2015, 7, 15, 0, 0, 1, 500000)
EXAMPLE_ARGS = {
    "add": (col("a"), col("b")), "sub": (col("a"), col("b")), "mul": (col("a"), col("b")),
    "div": (col("a"), col("b")), "mod": (col("a"), col("b")), "neg": (col("a"),),
    "eq": (col("a"), col("b")), "ne": (col("a"), col("b")), "lt": (col("a"), col("b")),
    "le": (col("a"), col("b")), "gt": (col("a"), col("b")), "ge": (col("a"), col("b")),
    "and": (col("p", T.BOOL), col("p", T.BOOL)), "or": (col("p", T.BOOL), col("p", T.BOOL)),
    "not": (col("p", T.BOOL),), "is_null": (col("a"),), "is_not_null": (col("a"),),
    "in": (col("a"), lit(3), lit(4)), "concat": (col("s", T.STRING), col("s", T.STRING)),
    "lower": (col("s", T.STRING),), "upper": (col("s", T.STRING),), "length": (col("s", T.STRING),),
    "abs": (col("a"),), "round": (col("f", T.DOUBLE), lit(1)), "floor": (col("f", T.DOUBLE),),
    "ceil": (col("f", T.DOUBLE),), "coalesce": (col("a"), col("b")),
    # issue 13
    "substr": (col("s", T.STRING), lit(2)), "replace": (col("s", T.STRING), lit("b", T.STRING), lit("B", T.STRING)),
    "split_part": (col("s", T.STRING), lit("b", T.STRING), lit(1)), "strpos": (col("s", T.STRING), lit("b", T.STRING)),
    "trim": (col("s", T.STRING),), "ltrim": (col("s", T.STRING),), "rtrim": (col("s", T.STRING),), "starts_with": (col("s", T.STRING), lit("A", T.STRING)),
    "lpad": (col("s", T.STRING), lit(4), lit("-", T.STRING)), "rpad": (col("s", T.STRING), lit(3)), "left": (col("s", T.STRING), lit(-1)),
    "right": (col("s", T.STRING), lit(1)), "concat_all": (col("s", T.STRING), lit(None, T.NULL), lit("!", T.STRING)),
    "greatest": (col("a"), col("b")), "least": (col("a"), col("b")), "nullif": (col("a"), lit(3)),
    "like": (col("s", T.STRING), lit("A%", T.STRING)), "ilike": (col("s", T.STRING), lit("a_", T.STRING)),
    **{f"extract_{f}": (col("t", T.TIMESTAMP),) for f in ("year", "month", "day", "hour", "minute", "second",
                                                         "dow", "doy", "epoch")},
    "date_trunc": (lit("month", T.STRING), col("t", T.TIMESTAMP)),
    "to_char": (col("t", T.TIMESTAMP), lit("YYYY-MM-DD HH24:MI:SS.MS", T.STRING)),
    "sqrt": (col("f", T.DOUBLE),), "ln": (col("a"),), "exp": (lit(0),), "power": (col("a"), col("b")),
}
EXPECTED = {
    "add": [5, None], "sub": [1, None], "mul": [6, None], "div": [1, None], "mod": [1, None], "neg": [-3, None],
    "eq": [False, None], "ne": [True, None], "lt": [False, None], "le": [False, None], "gt": [True, None],
    "ge": [True, None], "and": [True, None], "or": [True, None], "not": [False, None],
    "is_null": [False, True], "is_not_null": [True, False], "in": [True, None], "concat": ["AbAb", None],
    "lower": ["ab", None], "upper": ["AB", None], "length": [2, None], "abs": [3, None], "round": [-2.6, None],
    "floor": [-3.0, None], "ceil": [-2.0, None], "coalesce": [3, None],
    "substr": ["b", None], "replace": ["AB", None], "split_part": ["A", None], "strpos": [2, None],
    "trim": ["Ab", None], "ltrim": ["Ab", None], "rtrim": ["Ab", None], "starts_with": [True, None],
    "lpad": ["--Ab", None], "rpad": ["Ab ", None], "left": ["A", None], "right": ["b", None],
    "concat_all": ["Ab!", "!"], "greatest": [3, None], "least": [2, None], "nullif": [None, None],
    "like": [True, None], "ilike": [True, None],
    "extract_year": [2015, None], "extract_month": [7, None], "extract_day": [15, None], "extract_hour": [0, None],
    "extract_minute": [0, None], "extract_second": [1.5, None], "extract_dow": [3, None], "extract_doy": [196, None],
    "extract_epoch": [1436918401.5, None], "date_trunc": [_T0.replace(day=1, second=0, microsecond=0), None],
    "to_char": ["2015-07-15 00:00:01.500", None],
    "sqrt": [None, None], "ln": [1.0986122886681098, None], "exp": 1.0, "power": [9.0, None],
}


@pytest.mark.parametrize("fn", sorted(functions.SCALARS))
def test_every_ir_scalar_compiles_and_evaluates(fn):
    args = EXAMPLE_ARGS[fn]
    t = functions.SCALARS[fn].rule([a.type for a in args])
    got = evaluate(ir.Call(fn, args, t), a=[3, None], b=[2, None], p=[True, None], s=["Ab", None],
                   f=[-2.55, None], t=pa.array([_T0, None], pa.timestamp("us")))
    assert got == EXPECTED[fn]


def test_on_error_skip_counts_skipped_rows(tmp_path):
    from dataclasses import replace
    (tmp_path / "bids.csv").write_text("auction,bidder,price,channel,date_time\n"
                                       "1,2,30,web,2026-03-01 12:00:00\n1,2,x,web,2026-03-01 12:00:01\n"
                                       "1,2,40,web,2026-03-01 12:00:02\n")
    prog = tumble_program(str(tmp_path))
    prog = replace(prog, sources=(replace(prog.sources[0], on_error="skip"),))
    res = run_local(prog, batch_size=1, collect=True)
    assert res.sources[0].skipped == 1 and res.sources[0].rows_in == 2
    assert res.tables["hot_items"].column("bids").to_pylist() == [2]
