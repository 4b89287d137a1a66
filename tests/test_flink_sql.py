"""Flink target, compile side (no JVM): golden SQL for every example, Nexmark query and relational
program; every statement re-parses with our dialect to the same text (never an `exp.Command`);
the dialect's own constructs; the named differences each appear as their warning; what Flink
cannot do with flowc's meaning is refused with a hint. The live behaviour is test_flink_target.py.

Goldens: `FLOWC_UPDATE_GOLDEN=1 pytest tests/test_flink_sql.py` rewrites them.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Severity, UnsupportedFeature
from flowc.targets.flink.dialect import StatementSet, WindowTVF, parse_script, parse_statement, to_sql
from flowc.targets.flink.expressions import interval
from flowc.targets.flink.sqlgen import compile_flink, flink_sql
from sqlglot import exp
from test_risingwave import BASE, EXAMPLES, UPDATE
from test_risingwave_relational import HEADER, PROGRAMS

from flowc.pipeline import parse_text, to_ir

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "flink"
NEXMARK = sorted(p.stem for p in (ROOT / "benchmarks" / "nexmark").glob("q*.flow"))


def load_example(name: str) -> ir.Program:
    path = ROOT / "examples" / name / "program.flow"
    return dataclasses.replace(to_ir(parse_text(path.read_text(), str(path))), base_dir=f"{BASE}/{name}")


def load_nexmark(name: str) -> ir.Program:
    path = ROOT / "benchmarks" / "nexmark" / f"{name}.flow"
    return dataclasses.replace(to_ir(parse_text(path.read_text(), str(path))), base_dir="/srv/flowc/nexmark")


def assert_golden(name: str, got: str) -> None:
    path = GOLDEN / f"{name}.sql"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got)
    assert got == path.read_text()


def assert_reparses(script: str) -> None:
    """Every statement of the script parses back (no Command) and prints the same again."""
    stmts = parse_script(script)
    assert stmts, script
    for stmt in stmts:
        assert not isinstance(stmt, exp.Command)
        assert not any(isinstance(n, exp.Command) for n in stmt.walk())
        text = to_sql(stmt)
        assert to_sql(parse_statement(text)) == text


@pytest.mark.parametrize("name", EXAMPLES)
def test_golden_example(name: str) -> None:
    script = flink_sql(load_example(name))
    assert_golden(name, script)
    assert_reparses(script)


@pytest.mark.parametrize("name", NEXMARK)
def test_golden_nexmark(name: str) -> None:
    script = flink_sql(load_nexmark(name))
    assert_golden(f"nexmark_{name}", script)
    assert_reparses(script)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_golden_relational(name: str) -> None:
    script = flink_sql(to_ir(parse_text(HEADER + PROGRAMS[name], "rel.flow")))
    assert_golden(f"relational_{name}", script)
    assert_reparses(script)


def test_one_statement_set_for_every_sink_and_late_rows() -> None:
    plan = compile_flink(load_example("tumble"))
    kinds = [(s.args["kind"], bool(s.args.get("properties") and s.find(exp.TemporaryProperty))) for s in plan.statements]
    # the source's table and its on-time view, the view, the late rows' and the sink's tables
    assert kinds == [("TABLE", False), ("VIEW", True), ("VIEW", True), ("TABLE", False), ("TABLE", False)]
    assert [i.this.name for i in plan.inserts] == ["bids__late", "hot_items__sink"]
    script = plan.script()
    assert script.count("EXECUTE STATEMENT SET") == 1
    assert isinstance(parse_script(script)[-1], StatementSet)


# ---------------------------------------------------------------- the dialect


@pytest.mark.parametrize("sql", [
    "SELECT * FROM TABLE(TUMBLE(TABLE `s`, DESCRIPTOR(`ts`), INTERVAL '10' SECOND))",
    "SELECT * FROM TABLE(HOP(TABLE `s`, DESCRIPTOR(`ts`), INTERVAL '5' SECOND, INTERVAL '10' SECOND, "
    "INTERVAL '1' SECOND)) AS `w`",
    "SELECT * FROM TABLE(SESSION(TABLE `s` PARTITION BY `k`, DESCRIPTOR(`ts`), INTERVAL '4.999' SECOND))",
    "SELECT * FROM TABLE(SESSION(TABLE `s` PARTITION BY (`k`, `j`), DESCRIPTOR(`ts`), INTERVAL '3' SECOND))",
    "CREATE TABLE `t` (`a` BIGINT, `b` STRING, `c` DECIMAL(10, 2), `d` BYTES, `e` TIMESTAMP_LTZ(6), `f` DOUBLE, "
    "`ts` TIMESTAMP(3), `rt` AS COALESCE(`ts`, CAST('0001-01-01 00:00:00' AS TIMESTAMP)), "
    "WATERMARK FOR `rt` AS `rt` - INTERVAL '5' SECOND) WITH ('connector' = 'filesystem', 'path' = '/x')",
    "SELECT * FROM `a` JOIN `b` FOR SYSTEM_TIME AS OF `a`.`ts` AS `c` ON `a`.`k` = `c`.`k`",
    "EXECUTE STATEMENT SET BEGIN INSERT INTO `a` SELECT * FROM `b`; INSERT INTO `c` SELECT * FROM `d`; END",
])
def test_dialect_round_trip(sql: str) -> None:
    e = parse_statement(sql)
    assert to_sql(e, pretty=False) == sql
    assert to_sql(parse_statement(to_sql(e))) == to_sql(e)


def test_window_tvf_node() -> None:
    e = parse_statement("SELECT * FROM TABLE(SESSION(TABLE `s` PARTITION BY (`k`, `j`), DESCRIPTOR(`ts`), "
                        "INTERVAL '3' SECOND))")
    tvf = e.find(WindowTVF)
    assert tvf is not None and tvf.this.name == "SESSION"
    assert [p.name for p in tvf.args["partition"]] == ["k", "j"] and tvf.args["descriptor"].name == "ts"


def test_an_opaque_command_is_refused() -> None:
    with pytest.raises(ValueError, match="opaque command"):
        parse_statement("SHOW JOBS")


@pytest.mark.parametrize("micros, text", [
    (10_000_000, "INTERVAL '10' SECOND"),
    (3_600_000_000, "INTERVAL '1' HOUR"),
    (5_001_000, "INTERVAL '5.001' SECOND"),
    (150_000_000, "INTERVAL '0 00:02:30.000' DAY(2) TO SECOND(3)"),
    (-2_000_000, "-INTERVAL '2' SECOND"),
    (0, "INTERVAL '0' SECOND"),
])
def test_intervals_as_flink_reads_them(micros: int, text: str) -> None:
    # Calcite gives single-unit literals a leading precision of 2: 100 SECOND is refused
    assert to_sql(interval(micros), pretty=False) == text


def test_a_sub_millisecond_duration_is_refused() -> None:
    with pytest.raises(UnsupportedFeature, match="millisecond"):
        interval(1500)


# ---------------------------------------------------------------- the named differences


def _warnings(text: str) -> dict[Code, list[str]]:
    plan = compile_flink(to_ir(parse_text(text, "w.flow")))
    out: dict[Code, list[str]] = {}
    for w in plan.warnings:
        assert w.severity is Severity.WARNING
        out.setdefault(w.code, []).append(w.message)
    return out


SRC = """source bids (auction bigint, price bigint, ts timestamp) from csv('b.csv') event_time ts watermark 2s
table sellers (id bigint, name string, primary key (id)) from csv('s.csv')
"""


def test_event_time_differences_are_warned() -> None:
    w = _warnings(SRC + "view v = bids | where price > 1\n")
    assert {Code.FLINK_MILLISECONDS, Code.FLINK_NULL_EVENT_TIME, Code.FLINK_BEFORE_1970} <= set(w)
    assert "millisecond" in w[Code.FLINK_MILLISECONDS][0]


def test_csv_differences_are_warned() -> None:
    w = _warnings(SRC + "view v = bids | where price > 1\nsink v into csv('out/v.csv')\n")
    assert any("header" in m for m in w[Code.FLINK_FILE_FORMAT])
    assert any("part files" in m for m in w[Code.FLINK_FILE_SINK])


def test_a_changelog_into_a_file_is_debezium_json_and_warned() -> None:
    text = SRC + "view v = bids | aggregate n = count() by auction\nsink v into jsonl('out/v.jsonl')\n"
    w = _warnings(text)
    assert any("Debezium" in m for m in w[Code.FLINK_FILE_SINK])
    assert "'format' = 'debezium-json'" in flink_sql(to_ir(parse_text(text, "w.flow")))


def test_connectors_without_a_shipped_jar_are_warned() -> None:
    text = ("source bids (auction bigint, ts timestamp) from kafka(topic = 't', brokers = 'b:9092') "
            "event_time ts watermark 1s\nview v = bids\nsink v into kafka(topic = 'o', brokers = 'b:9092')\n")
    assert any("Maven artifact" in m for m in _warnings(text)[Code.FLINK_CONNECTOR_JAR])


def test_a_lookup_join_that_cannot_be_temporal_is_warned() -> None:
    w = _warnings(SRC + "view v = bids | join sellers as s on price = s.id + 1\n")
    assert any("regular join" in m for m in w[Code.FLINK_LOOKUP_JOIN])
    assert Code.FLINK_LOOKUP_JOIN not in _warnings(SRC + "view v = bids | join sellers as s on auction = s.id\n")


def test_distinct_after_a_distinct_is_warned() -> None:
    w = _warnings(SRC + "view v = bids | distinct auction | distinct price\n")
    assert any("interleave" in m for m in w[Code.FLINK_ARBITRARY_DISTINCT])
    assert Code.FLINK_ARBITRARY_DISTINCT not in _warnings(SRC + "view v = bids | distinct auction\n")


def test_windowed_changes_are_warned_final_only() -> None:
    w = _warnings(SRC + "view v = bids | window tumble(ts, 10s) | aggregate n = count() | emit changes\n")
    assert Code.FLINK_FINAL_ONLY in w


def test_on_error_into_is_warned() -> None:
    text = ("source bids (auction bigint, ts timestamp) from csv('b.csv') event_time ts watermark 1s "
            "on_error into csv('bad.csv')\nview v = bids\n")
    assert any("dead-letter" in m for m in _warnings(text)[Code.FLINK_BAD_RECORDS])


# ---------------------------------------------------------------- lowerings that keep flowc's meaning


def _sql(text: str) -> str:
    return flink_sql(to_ir(parse_text(SRC + text, "t.flow")))


def test_lateness_is_decided_per_row_by_current_watermark() -> None:
    sql = _sql("view v = bids\n")
    # the watermark 1 ms below flowc's, and each row compared with the watermark of the rows before it
    assert "WATERMARK FOR `__rowtime` AS `__rowtime` - INTERVAL '2.001' SECOND" in sql
    assert "`__rowtime` > CURRENT_WATERMARK(`__rowtime`)" in sql


def test_sessions_split_at_the_gap() -> None:
    sql = _sql("view v = bids | window session(ts, gap = 5s) | aggregate n = count() by auction\n")
    assert "SESSION(TABLE" in sql and "INTERVAL '4.999' SECOND" in sql
    assert "MAX(CAST(`ts` AS TIMESTAMP(3))) AS `__last`" in sql and "`__last` + INTERVAL '5' SECOND" in sql


def test_integer_sums_and_averages_keep_the_ir_types() -> None:
    sql = _sql("view v = bids | aggregate s = sum(cast(price as int)), a = avg(price) by auction\n")
    assert "SUM(CAST(CAST(`price` AS INT) AS BIGINT))" in sql
    assert "AVG(CAST(`price` AS DOUBLE))" in sql


def test_a_window_over_a_shifted_event_time_uses_the_attribute() -> None:
    sql = _sql("view v = bids | derive t = ts + 3s | window tumble(t, 10s) | aggregate n = count()\n")
    # the same windows over ts (carried on as a hidden column `__tN` once the optimizer drops it),
    # offset by -3 s (mod 10 s), and bounds moved back by 3 s
    assert re.search(r"`ts` AS `(__t\d+)`", sql)
    hidden = re.search(r"`ts` AS `(__t\d+)`", sql).group(1)
    assert f"DESCRIPTOR(`{hidden}`), INTERVAL '10' SECOND, INTERVAL '7' SECOND" in sql
    assert "`window_start` + INTERVAL '3' SECOND AS `window_start`" in sql


def test_a_lookup_join_is_an_event_time_temporal_join() -> None:
    sql = _sql("view v = bids | join sellers as s on auction = s.id\n")
    assert "FOR SYSTEM_TIME AS OF" in sql and "`sellers__versions`" in sql
    assert "PRIMARY KEY (`id`) NOT ENFORCED" in sql


# ---------------------------------------------------------------- refused with a hint


@pytest.mark.parametrize("text, what", [
    ("view c = bids | aggregate n = count() by auction | emit changes\n"
     "view v = c | distinct n\n", "'distinct' over a changelog"),
    ("source raw (k bigint, t timestamp) from csv('r.csv')\n"
     "view v = raw | window session(t, gap = 1s) | aggregate n = count() by k\n", "not an event time"),
    ("view v = bids | window tumble(ts, 1500us) | aggregate n = count()\n", "millisecond"),
])
def test_what_flink_cannot_do_is_refused(text: str, what: str) -> None:
    with pytest.raises(UnsupportedFeature) as info:
        _sql(text)
    assert what in info.value.what or what in (info.value.first.hint or "")
    assert info.value.first.hint
