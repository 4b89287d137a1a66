"""RisingWave target: golden DDL for the examples, re-parsing with our dialect, connector errors."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from flowc.dsl.lower import lower
from flowc.dsl.parser import parse
from flowc.targets.risingwave import (
    compile_risingwave,
    compile_risingwave_with_warnings,
    parse_statement,
    risingwave_sql,
    to_sql,
)
from sqlglot import exp

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "risingwave"
UPDATE = os.environ.get("FLOWC_UPDATE_GOLDEN") == "1"
# a fixed base directory so golden files do not depend on where the repository is checked out
BASE = "/srv/flowc/examples"


def load_example(name: str) -> ir.Program:
    path = ROOT / "examples" / name / "program.flow"
    program = lower(parse(path.read_text(), str(path)))
    return dataclasses.replace(program, base_dir=f"{BASE}/{name}")


def writable_sinks(program: ir.Program) -> ir.Program:
    """The examples sink into CSV, which RisingWave cannot write (file sinks encode JSON/Parquet
    only): the golden programs sink append-only views into jsonl and changelogs into kafka."""
    sinks = []
    for s in program.sinks:
        view = program.view(s.view)
        assert view is not None
        if view.emit == "changes" and any(isinstance(n, ir.Aggregate) for n in ir.walk(view.plan)):
            conn = ir.Connector("kafka", (("brokers", "localhost:9092"), ("topic", s.view)))
        else:
            conn = ir.Connector("jsonl", (("path", str(s.connector.get("path")).replace(".csv", ".jsonl")),))
        sinks.append(dataclasses.replace(s, connector=conn))
    return dataclasses.replace(program, sinks=tuple(sinks))


def assert_reparses(stmt: exp.Expression) -> None:
    text = to_sql(stmt)
    again = parse_statement(text)
    assert not isinstance(again, exp.Command), text
    assert again == stmt, text
    assert to_sql(again) == text


EXAMPLES = ["filter_project", "tumble", "changes", "hop", "interval_join", "session"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_golden(name: str) -> None:
    program = writable_sinks(load_example(name))
    got = risingwave_sql(program)
    path = GOLDEN / f"{name}.sql"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got)
    assert got == path.read_text()
    for stmt in compile_risingwave(program):
        assert_reparses(stmt)


def test_statement_order_and_kinds() -> None:
    stmts = compile_risingwave(writable_sinks(load_example("tumble")))
    assert [s.args["kind"] for s in stmts] == ["SOURCE", "VIEW", "SINK"]
    text = risingwave_sql(writable_sinks(load_example("tumble")))
    assert text.endswith("EMIT ON WINDOW CLOSE;\n\nCREATE SINK hot_items_sink FROM hot_items\nWITH (\n"
                         "  connector = 'fs',\n  fs.path = '/srv/flowc/examples/tumble/out/hot_items',\n"
                         "  type = 'append-only'\n) FORMAT PLAIN ENCODE JSON;")


def test_changes_view_is_a_plain_mv_and_a_debezium_sink() -> None:
    text = risingwave_sql(writable_sinks(load_example("changes")))
    assert "EMIT ON WINDOW CLOSE" not in text
    assert "primary_key = 'channel'" in text and "FORMAT DEBEZIUM ENCODE JSON" in text


def test_csv_sink_names_connector_and_target() -> None:
    program = load_example("filter_project")
    with pytest.raises(UnsupportedFeature) as info:
        compile_risingwave(program)
    d = info.value.first
    assert d.code == Code.CONNECTOR_TARGET
    assert "'csv'" in d.message and "'risingwave'" in d.message
    assert d.span is not None and d.span.line == 14  # `sink big into csv(...)`
    assert "JSON" in (d.hint or "")


def _bids_source(kind: str = "csv") -> ir.Source:
    schema = (ir.Field("auction", T.BIGINT), ir.Field("price", T.BIGINT), ir.Field("ts", T.TIMESTAMP))
    return ir.Source("bids", schema, ir.Connector(kind, (("path", "bids.csv"),)), "ts", 2_000_000)


def _program(plan_fn, sink: ir.Connector, emit: str = "final", source: ir.Source | None = None) -> ir.Program:
    src = source or _bids_source()
    scan = ir.Scan("bids", "source", src.schema)
    return ir.Program(sources=(src,), views=(ir.View("v", plan_fn(scan), emit),), sinks=(ir.Sink("v", sink),),
                      base_dir="/data")


JSONL = ir.Connector("jsonl", (("path", "out/v.jsonl"),))


def test_stdout_sink_is_rejected_with_hint() -> None:
    from flowc.compiler.span import Span
    span = Span("p.flow", 3, 1, 3, 9)
    program = _program(lambda s: s, ir.Connector("stdout", (), span=span))
    with pytest.raises(UnsupportedFeature) as info:
        compile_risingwave(program)
    d = info.value.first
    assert d.code == Code.CONNECTOR_TARGET and "'stdout'" in d.message and d.span == span
    assert "blackhole" in (d.hint or "")


def test_postgres_source_is_rejected() -> None:
    src = dataclasses.replace(_bids_source(), connector=ir.Connector("postgres", (("table", "bids"),)))
    with pytest.raises(UnsupportedFeature) as info:
        compile_risingwave(_program(lambda s: s, JSONL, source=src))
    assert "'postgres'" in info.value.first.message


def test_parquet_and_kafka_and_nexmark_connectors() -> None:
    src = dataclasses.replace(_bids_source(), connector=ir.Connector("parquet", (("path", "in/b*.parquet"),)))
    text = risingwave_sql(_program(lambda s: s, ir.Connector("parquet", (("path", "o.parquet"),)), source=src))
    assert "posix_fs.root = '/data/in'" in text and "match_pattern = 'b[*].parquet'" in text
    assert "ENCODE PARQUET" in text and "fs.path = '/data/o'" in text
    src = dataclasses.replace(_bids_source(), connector=ir.Connector(
        "kafka", (("brokers", "b:9092"), ("start", "earliest"), ("topic", "bids"))))
    text = risingwave_sql(_program(lambda s: s, JSONL, source=src))
    assert "properties.bootstrap.server = 'b:9092'" in text and "scan.startup.mode = 'earliest'" in text
    # every column of Bid, in order (rules.py nexmark-schema; RisingWave's check_nexmark_schema)
    bid = tuple(ir.Field(n, t) for n, t in (("auction", T.BIGINT), ("bidder", T.BIGINT), ("price", T.BIGINT),
                                             ("channel", T.STRING), ("url", T.STRING), ("date_time", T.TIMESTAMP),
                                             ("extra", T.STRING)))
    src = dataclasses.replace(_bids_source(), schema=bid, event_time="date_time",
                              connector=ir.Connector("nexmark", (("rate", 1000), ("table", "bid"))))
    stmts = compile_risingwave(_program(lambda s: s, JSONL, source=src))
    text = to_sql(stmts[0])
    assert "nexmark.table.type = 'Bid'" in text and "nexmark.min.event.gap.in.ns = '1000000'" in text
    assert "FORMAT" not in text
    assert_reparses(stmts[0])


def _gt(col: str, v: int) -> ir.Expr:
    return ir.Call("gt", (ir.ColumnRef(col, T.BIGINT), ir.Literal(v, T.BIGINT)), T.BOOL)


def test_window_over_a_computed_input_uses_a_cte() -> None:
    def plan(scan):
        proj = ir.Project(scan, (("auction", ir.ColumnRef("auction", T.BIGINT)),
                                 ("ts2", ir.ColumnRef("ts", T.TIMESTAMP)),
                                 ("p", ir.Call("mul", (ir.ColumnRef("price", T.BIGINT), ir.Literal(2, T.BIGINT)),
                                               T.BIGINT))))
        agg = ir.Aggregate(ir.Filter(proj, _gt("p", 5)), ("auction",),
                           (ir.AggCall("n", "count_distinct", ir.ColumnRef("p", T.BIGINT), T.BIGINT),),
                           ir.WindowSpec("tumble", "ts2", size=60_000_000, offset=1_500_000))
        return ir.Filter(agg, _gt("n", 1))
    stmts = compile_risingwave(_program(plan, JSONL))
    text = to_sql(stmts[1])
    # the time column is a renamed column: still a plain column of bids, so no CTE is needed
    assert "FROM TUMBLE(bids, ts, INTERVAL '1 MINUTE', INTERVAL '1.5 SECOND')" in text
    assert "HAVING\n  COUNT(DISTINCT price * 2) > 1" in text and "EMIT ON WINDOW CLOSE" in text
    for s in stmts:
        assert_reparses(s)

    def plan2(scan):
        inner = ir.Aggregate(scan, ("auction", "ts"), (ir.AggCall("n", "count", None, T.BIGINT),))
        return ir.Aggregate(inner, ("auction",), (ir.AggCall("m", "max", ir.ColumnRef("n", T.BIGINT), T.BIGINT),),
                            ir.WindowSpec("hop", "ts", size=10_000_000, slide=5_000_000))
    # windows over a global aggregate's output have no watermark: a changelog, not `emit final`
    stmts = compile_risingwave(_program(plan2, ir.Connector("kafka", (("brokers", "b"), ("topic", "t"))), "changes"))
    text = to_sql(stmts[1])
    assert "WITH v_w1 AS (" in text and "FROM HOP(v_w1, ts, INTERVAL '5 SECOND', INTERVAL '10 SECOND')" in text
    for s in stmts:
        assert_reparses(s)


def test_expressions_precedence_and_functions_reparse() -> None:
    b = lambda n: ir.ColumnRef(n, T.BIGINT)  # noqa: E731
    s = ir.ColumnRef("name", T.STRING)
    lit = lambda v, t=T.BIGINT: ir.Literal(v, t)  # noqa: E731
    add = ir.Call("add", (b("a"), b("b")), T.BIGINT)
    cols = (
        ("x1", ir.Call("mul", (add, lit(3)), T.BIGINT)),
        ("x2", ir.Call("sub", (b("a"), add), T.BIGINT)),
        ("x3", ir.Call("neg", (ir.Call("neg", (b("a"),), T.BIGINT),), T.BIGINT)),
        ("x4", ir.Call("concat", (ir.Call("upper", (s,), T.STRING), lit("!", T.STRING)), T.STRING)),
        ("x5", ir.Call("round", (ir.Cast(b("a"), T.DOUBLE), lit(2)), T.DOUBLE)),
        ("x6", ir.Call("coalesce", (ir.Cast(b("a"), T.decimal(10, 2)), lit(-5)), T.decimal(10, 2))),
        ("x7", ir.Call("not", (ir.Call("or", (ir.Call("is_null", (b("a"),), T.BOOL),
                                              ir.Call("in", (b("b"), lit(1), lit(2)), T.BOOL)), T.BOOL),), T.BOOL)),
        ("x8", ir.Case(((ir.Call("eq", (b("a"), lit(1)), T.BOOL), lit(1.5, T.DOUBLE)),), None, T.DOUBLE)),
        ("x9", ir.Call("mod", (ir.Call("abs", (b("a"),), T.BIGINT), lit(7)), T.BIGINT)),
        ("y1", ir.Call("length", (s,), T.BIGINT)),
        ("y2", ir.Call("add", (ir.ColumnRef("ts", T.TIMESTAMP), lit(90_000_000, T.INTERVAL)), T.TIMESTAMP)),
        ("y3", ir.Call("ge", (ir.ColumnRef("ts", T.TIMESTAMP), lit(86_400_000_000, T.TIMESTAMP)), T.BOOL)),
        ("y4", ir.Call("floor", (ir.Call("div", (ir.ColumnRef("i", T.INT), lit(2)), T.BIGINT),), T.BIGINT)),
        ("select", ir.Call("is_not_null", (ir.ColumnRef("Mixed Case", T.STRING),), T.BOOL)),
    )
    schema = (ir.Field("a", T.BIGINT), ir.Field("b", T.BIGINT), ir.Field("name", T.STRING),
              ir.Field("ts", T.TIMESTAMP), ir.Field("i", T.INT), ir.Field("Mixed Case", T.STRING))
    src = ir.Source("t", schema, ir.Connector("jsonl", (("path", "t.jsonl"),)))
    scan = ir.Scan("t", "source", schema)
    program = ir.Program(sources=(src,), views=(ir.View("v", ir.Project(scan, cols), "final"),), base_dir="/d")
    stmts = compile_risingwave(program)
    text = to_sql(stmts[1], pretty=False)
    for piece in ["(a + b) * 3 AS x1", "a - (a + b) AS x2", "-(-a) AS x3", "UPPER(name) || '!' AS x4",
                  "CAST(ROUND(CAST(CAST(a AS DOUBLE PRECISION) AS DECIMAL), 2) AS DOUBLE PRECISION)", "COALESCE(CAST(a AS DECIMAL), -5)",
                  "NOT (a IS NULL OR b IN (1, 2))", "THEN CAST(1.5 AS DOUBLE PRECISION)", "ABS(a) % 7",
                  "ts + INTERVAL '90 SECOND'", "CAST('1970-01-02 00:00:00' AS TIMESTAMP)",
                  "FLOOR(CAST(i AS BIGINT) / 2)", 'NOT "Mixed Case" IS NULL AS "select"']:
        assert piece in text, (piece, text)
    for st in stmts:
        assert_reparses(st)


def test_distinct_topn_union_join_reparse() -> None:
    def plan(scan):
        d = ir.Distinct(ir.Filter(scan, _gt("price", 1)), ("auction",))
        top = ir.TopN(d, 3, ir.ColumnRef("price", T.BIGINT), True, ("auction",))
        return ir.UnionAll(top, ir.TopN(scan, 5, ir.ColumnRef("price", T.BIGINT), False, ()))
    program = dataclasses.replace(_program(plan, JSONL), sinks=())  # a top-N changelog has no key to sink by
    stmts, _ = compile_risingwave_with_warnings(program)
    text = to_sql(stmts[1])
    assert "DISTINCT ON (auction)" in text
    # flowc's top order: the expression with nulls last, then every column (docs/semantics.md)
    assert "ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC NULLS LAST, auction, price, ts)" in text
    assert "UNION ALL" in text and "ORDER BY\n      price,\n      auction,\n      price,\n      ts\n    LIMIT 5" in text
    for s in stmts:
        assert_reparses(s)


def test_changelog_into_file_is_rejected_and_keyless_kafka_too() -> None:
    agg = lambda s: ir.Aggregate(s, (), (ir.AggCall("n", "count", None, T.BIGINT),))  # noqa: E731
    with pytest.raises(UnsupportedFeature) as info:
        compile_risingwave(_program(agg, JSONL, emit="changes"))
    assert info.value.first.code == Code.CONNECTOR_TARGET
    with pytest.raises(UnsupportedFeature):
        compile_risingwave(_program(agg, ir.Connector("kafka", (("brokers", "b"), ("topic", "t"))), emit="changes"))


def test_session_window_with_emit_changes_or_on_a_date_is_refused() -> None:
    program = writable_sinks(load_example("session"))
    view = program.views[0]
    changes = dataclasses.replace(program, views=(dataclasses.replace(view, emit="changes"),), sinks=())
    with pytest.raises(UnsupportedFeature) as info:
        compile_risingwave(changes)
    d = info.value.first
    assert d.span is not None and "session" in d.message and "EMIT ON WINDOW CLOSE" in (d.hint or "")
    src = ir.Source("d", (ir.Field("k", T.BIGINT), ir.Field("day", T.DATE)),
                    ir.Connector("jsonl", (("path", "d.jsonl"),)), "day", 86_400_000_000)
    agg = ir.Aggregate(ir.Scan("d", "source", src.schema), ("k",), (ir.AggCall("n", "count", None, T.BIGINT),),
                       ir.WindowSpec("session", "day", gap=86_400_000_000))
    with pytest.raises(UnsupportedFeature, match="date"):
        compile_risingwave(ir.Program(sources=(src,), views=(ir.View("v", agg, "final"),), base_dir="/d"))


def test_warnings_name_the_known_differences() -> None:
    _, warnings = compile_risingwave_with_warnings(writable_sinks(load_example("tumble")))
    text = " ".join(w.message for w in warnings)
    assert {w.code for w in warnings} == {Code.TARGET_DIFFERENCE, Code.RW_LOCAL_FS, Code.RW_WINDOWS_NEVER_CLOSE}
    assert "watermark" in text and "on_late" in text


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (ts TIMESTAMPTZ, v INT, WATERMARK FOR ts AS ts - INTERVAL '5 MINUTE') APPEND ONLY "
    "WITH (connector = 'kafka', topic = 't') FORMAT PLAIN ENCODE JSON",
    "CREATE SINK s AS SELECT a FROM mv EMIT ON WINDOW CLOSE WITH (connector = 'kafka') "
    "FORMAT PLAIN ENCODE JSON (force_append_only = 'true') KEY ENCODE TEXT",
    "CREATE SINK s FROM mv WITH (connector = 'blackhole', snapshot = 'false')",
    "SELECT u, FIRST_VALUE(t) OVER (PARTITION BY u ORDER BY t SESSION WITH GAP INTERVAL '5 MINUTE') AS w FROM v",
    "SELECT f.a, d.b FROM f LEFT JOIN d FOR SYSTEM_TIME AS OF PROCTIME() ON f.k = d.k",
])
def test_dialect_round_trips(sql: str) -> None:
    ast = parse_statement(sql)
    assert not isinstance(ast, exp.Command)
    assert_reparses(ast)
    assert "SYSTEM_TIME" in to_sql(ast) or "SYSTEM_TIME" not in sql


def test_emit_final_of_windows_without_a_watermark_is_refused() -> None:
    """A source without `event_time` has no watermark on RisingWave, so EMIT ON WINDOW CLOSE would
    never emit; flowc's runtimes close such windows at end of input, which a stream never reaches."""
    from flowc.dsl.lower import lower
    from flowc.dsl.parser import parse
    program = lower(parse("source u (k bigint, ts timestamp) from csv('u.csv')\n"
                          "view per_window = u | window tumble(ts, 10s) | aggregate n = count() by k | emit final\n"
                          "sink per_window into jsonl('out.jsonl')\n", "p.flow"))
    with pytest.raises(UnsupportedFeature) as info:
        compile_risingwave(program)
    text = str(info.value)
    assert info.value.first.code == Code.RW_EOWC_WATERMARK
    assert "p.flow:2:30" in text and "tumble window over 'ts', which carries no watermark on RisingWave" in text
    assert "generic/agg.rs" in text  # the rule names the RisingWave file it follows
    assert "declare `event_time` on the source, or use `emit changes`" in text
    changes = lower(parse("source u (k bigint, ts timestamp) from csv('u.csv')\n"
                          "view per_window = u | window tumble(ts, 10s) | aggregate n = count() by k | emit changes\n"
                          "sink per_window into kafka(brokers = 'b:9092', topic = 't')\n", "p.flow"))
    assert "EMIT ON WINDOW CLOSE" not in to_sql(compile_risingwave(changes)[1])
