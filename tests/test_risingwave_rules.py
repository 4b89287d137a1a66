"""RisingWave as RisingWave plans it (issue 11): one test per finding, each citing the file of
risingwavelabs/risingwave it follows, and the rule table (targets/risingwave/rules.py) that
`flowc check` and `flowc compile` walk. Paths: planner tests under src/frontend/planner_test/tests/
testdata/, plan nodes under src/frontend/src/optimizer/plan_node/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from flowc.compiler.optimizer import optimize
from flowc.compiler.properties import columns_read
from flowc.dsl.lower import lower
from flowc.dsl.parser import parse
from flowc.targets.risingwave import compile_risingwave_with_warnings, parse_statement, risingwave_sql, to_sql
from flowc.targets.risingwave.rules import RULES, server_hint
from sqlglot import exp

from flowc import pipeline

ROOT = Path(__file__).resolve().parent.parent
NEXMARK = ROOT / "benchmarks" / "nexmark"


def program(text: str):
    return optimize(lower(parse(text, "d.flow")))


def nexmark(q: str):
    return pipeline.to_ir(pipeline.load_program(str(NEXMARK / f"{q}.flow")))


def compiled(text_or_program) -> tuple[str, list]:
    p = program(text_or_program) if isinstance(text_or_program, str) else text_or_program
    stmts, warnings = compile_risingwave_with_warnings(p)
    return risingwave_sql(p), warnings


def refused(text: str) -> UnsupportedFeature:
    with pytest.raises(UnsupportedFeature) as info:
        compile_risingwave_with_warnings(program(text))
    return info.value


KAFKA_BIDS = """\
source bids (auction bigint, bidder bigint, price bigint, date_time timestamp)
from kafka(topic = 'bids', brokers = 'b:9092')
event_time date_time watermark 5s
"""


# -- 1. Nexmark sources declare every column in order
# (src/frontend/src/handler/create_source/external_schema/nexmark.rs, check_nexmark_schema;
#  e2e_test/ddl/create_nexmark_source_issue_8812.slt; planner test nexmark_source.yaml create_sources)

@pytest.mark.parametrize("q", sorted(p.stem for p in NEXMARK.glob("q*.flow")))
def test_every_nexmark_query_declares_whole_tables_and_compiles(q: str) -> None:
    sql, _ = compiled(nexmark(q))
    for stmt in sql.split(";\n\n"):
        ast = parse_statement(stmt)
        assert not isinstance(ast, exp.Command)
        if "connector = 'nexmark'" in stmt:
            cols = [c.name for c in ast.this.expressions if isinstance(c, exp.ColumnDef)]
            table = re.search(r"nexmark.table.type = '(\w+)'", stmt).group(1)
            assert cols == {"Bid": ["auction", "bidder", "price", "channel", "url", "date_time", "extra"],
                            "Auction": ["id", "item_name", "description", "initial_bid", "reserve", "date_time",
                                        "expires", "seller", "category", "extra"],
                            "Person": ["id", "name", "email_address", "credit_card", "city", "state", "date_time",
                                       "extra"]}[table]


def test_a_nexmark_source_with_some_columns_is_refused_naming_the_whole_schema() -> None:
    e = refused("source bid (auction bigint, price bigint, date_time timestamp) from nexmark(table = 'bid')\n"
                "event_time date_time watermark 4s\n")
    d = e.first
    assert d.code == Code.RW_NEXMARK_SCHEMA and "3 of its table's 7 columns" in d.message
    assert "channel string, url string, date_time timestamp, extra string" in d.hint
    assert "nexmark.rs" in d.notes[0]


def test_the_local_generator_makes_only_the_columns_read() -> None:
    """Declaring the whole table costs nothing locally: the generator makes what the views read."""
    assert columns_read(nexmark("q2"), "bid") == {"auction", "price", "date_time"}
    assert columns_read(nexmark("q5"), "bid") == {"auction", "date_time"}


# -- 2. Session aggregates: no GROUP BY ... EMIT ON WINDOW CLOSE over a session over-window
# (stream_eowc_over_window.rs: no watermark column out; generic/agg.rs eowc_window_column; accepted:
#  e2e_test/streaming/eowc/eowc_over_window.slt mv4, and nexmark_watermark.yaml nexmark_q8 whose
#  aggregate-free GROUP BYs are planned as StreamAppendOnlyDedup)

def test_sessions_are_window_functions_deduplicated_under_eowc() -> None:
    sql, warnings = compiled(KAFKA_BIDS + "view visits = bids | window session(date_time, gap = 3s)\n"
                             "    | aggregate n = count(), spent = sum(price), top = max(price) by bidder\n")
    mv = parse_statement(sql.split(";\n\n")[1])
    select = mv.expression.this  # under EMIT ON WINDOW CLOSE
    assert isinstance(select, exp.Select)
    # the outer SELECT groups by every column and computes no aggregate: a deduplication
    assert [g.name for g in select.args["group"].expressions] == [
        "bidder", "window_start", "window_end", "n", "spent", "top"]
    assert all(isinstance(e, exp.Column) for e in select.expressions)
    # below it, every aggregate is a window function over the same SESSION frame
    inner = select.args["from_"].this.this
    windows = [e.this for e in inner.expressions if isinstance(e.this, exp.Window) or e.find(exp.Window)]
    assert len(windows) == 5
    assert sql.count("SESSION WITH GAP INTERVAL '3 SECOND'") == 5 and sql.rstrip(";").endswith("EMIT ON WINDOW CLOSE")
    assert any("state grows with the sessions" in w.message for w in warnings)


def test_a_distinct_count_in_a_session_is_refused() -> None:
    e = refused(KAFKA_BIDS + "view v = bids | window session(date_time, gap = 3s)\n"
                "    | aggregate n = count_distinct(price) by bidder\n")
    assert e.first.code == Code.RW_SESSION and "count_distinct" in e.first.message
    assert "logical_over_window.rs" in e.first.notes[0]


# -- 3. q7's join bound on window_end: rewritten on window_start
# (stream_hash_agg.rs "EOWC HashAgg only propagate one watermark column"; watermark_group.yaml;
#  nexmark_watermark.yaml nexmark_q7: StreamHashJoin [interval] cleaning both sides)

def test_q7_is_bounded_by_window_start_and_keeps_bounded_state() -> None:
    sql, warnings = compiled(nexmark("q7"))
    assert "BETWEEN m.window_start AND m.window_start + INTERVAL '10 SECOND'" in sql
    assert "window_end - " not in sql
    assert not [w for w in warnings if w.code == Code.UNBOUNDED_STATE]


def test_a_bound_that_cannot_move_to_window_start_warns_of_state_never_cleaned() -> None:
    text = (KAFKA_BIDS + "view m = bids | window tumble(date_time, 10s) | aggregate top = max(price)\n"
            "view ends = m | select top, window_end\n"
            "view j = bids | join ends as e on price = e.top\n"
            "    and date_time between e.window_end - 10s and e.window_end\n")
    _, warnings = compiled(text)
    w = [w for w in warnings if w.code == Code.UNBOUNDED_STATE and "never cleaned" in w.message]
    assert w and "window_start" in w[0].hint and "stream_hash_join.rs" in w[0].notes[0]


# -- 4. A window over an EOWC view's window_end has no watermark on RisingWave
# (stream_hash_agg.rs; watermark_group.yaml "group by tumble window_start + window_end": eowc
#  materializes watermark_columns [window_start] only)

def test_a_window_over_an_eowc_views_window_end_is_refused() -> None:
    base = KAFKA_BIDS + "view per10 = bids | window tumble(date_time, 10s) | aggregate n = count() by auction\n"
    e = refused(base + "view per_min = per10 | window tumble(window_end, 1min) | aggregate total = sum(n)\n")
    assert e.first.code == Code.RW_EOWC_WATERMARK and "window_end" in e.first.message
    assert "window over window_start" in e.first.hint and "generic/agg.rs" in e.first.notes[0]
    # over window_start it plans: the watermark EOWC HashAgg keeps
    sql, _ = compiled(base + "view per_min = per10 | window tumble(window_start, 1min) | aggregate total = sum(n)\n")
    assert "TUMBLE(per10, window_start, INTERVAL '1 MINUTE')" in sql


# -- 5. Kafka CSV needs ENCODE CSV (delimiter, without_header = 'true')
# (e2e_test/source_legacy/basic/kafka.slt: "CSV HEADER is not supported when creating table with
#  Kafka connector"; src/frontend/src/handler/create_source/external_schema.rs: delimiter required)

def test_kafka_csv_spells_out_delimiter_and_no_header() -> None:
    sql, _ = compiled("source s (k bigint, v string) from kafka(topic = 't', brokers = 'b:9092', format = 'csv')\n"
                      "view v = s | where k > 0\n")
    assert "FORMAT PLAIN ENCODE CSV (delimiter = ',', without_header = 'true')" in sql


# -- 6. q8: the watermark follows window_start through the rename to starttime
# (stream_project.rs / property/monotonicity.rs: an InputRef keeps its watermark;
#  nexmark_watermark.yaml nexmark_q8: StreamHashJoin [window] cleaning by window_start)

def test_q8_compiles_as_a_window_join_emitted_on_window_close() -> None:
    sql, _ = compiled(nexmark("q8"))
    q8 = sql.split("CREATE MATERIALIZED VIEW q8 AS")[1]
    assert "new_people.window_start AS starttime" in q8 and "new_people.window_start = a.window_start" in q8
    assert q8.rstrip(";").rstrip().endswith("EMIT ON WINDOW CLOSE")


def test_an_eowc_view_that_drops_every_watermark_column_is_refused() -> None:
    e = refused(KAFKA_BIDS + "view v = bids | window tumble(date_time, 10s) | aggregate n = count() by auction\n"
                "    | select auction, n\n")
    assert e.first.code == Code.RW_EOWC_WATERMARK and "without window_start or window_end" in e.first.message


# -- 7. Local file connectors need frontend.unsafe_enable_local_fs_connector
# (src/frontend/src/handler/util.rs ensure_local_fs_connector_allowed; src/common/src/config/frontend.rs)

def test_file_connectors_warn_of_the_setting_and_deploy_names_it() -> None:
    _, warnings = compiled("source s (k bigint, ts timestamp) from csv('s.csv')\nview v = s | where k > 0\n"
                           "sink v into jsonl('out.jsonl')\n")
    fs = [w for w in warnings if w.code == Code.RW_LOCAL_FS]
    assert len(fs) == 2 and all("frontend.unsafe_enable_local_fs_connector = true" in w.message for w in fs)
    # RisingWave's refusal, word for word (a ProtocolError, shown with its prefix)
    server = ("Protocol error: local filesystem connector 'posix_fs' is disabled. Set "
              "`frontend.unsafe_enable_local_fs_connector = true` in `risingwave.toml` to enable it.")
    assert "frontend.unsafe_enable_local_fs_connector = true" in server_hint(server)
    from flowc.targets.postgres.connect import Secrets
    from flowc.targets.postgres.deploy import Step, stopped_at

    step = Step("create", "s", "source", "CREATE SOURCE s ...", "new")
    d = stopped_at(step, "CREATE SOURCE s ...", server, [], Secrets(), "risingwave").first
    assert "[frontend] section of risingwave.toml" in d.hint and "deploy stopped at create source s" in d.message
    assert server_hint("relation \"x\" already exists") is None


# -- 8. Under EOWC a finite file's last windows never close
# (e2e_test/streaming/eowc/eowc_group_agg.slt; src/stream/src/executor/watermark_filter.rs)

@pytest.mark.parametrize("window", ["tumble(ts, 10s)", "hop(ts, size = 10s, slide = 5s)", "session(ts, gap = 5s)"])
def test_windowed_views_over_files_warn_that_the_last_windows_never_close(window: str) -> None:
    text = ("source s (k bigint, ts timestamp) from jsonl('s.jsonl') event_time ts watermark 1s\n"
            f"view v = s | window {window} | aggregate n = count() by k\n")
    _, warnings = compiled(text)
    assert [w for w in warnings if w.code == Code.RW_WINDOWS_NEVER_CLOSE and "never close" in w.message]
    _, kafka = compiled(text.replace("jsonl('s.jsonl')", "kafka(topic = 's', brokers = 'b:9092')"))
    assert not [w for w in kafka if w.code == Code.RW_WINDOWS_NEVER_CLOSE]


# -- the rule table

def test_every_rule_cites_its_source_and_is_documented() -> None:
    doc = (ROOT / "docs" / "risingwave.md").read_text()
    assert len({r.name for r in RULES}) == len(RULES)
    for r in RULES:
        assert re.search(r"(src|e2e_test)/[\w/]+\.(rs|slt|yaml)", r.source), r
        assert f"`{r.name}`" in doc, f"docs/risingwave.md does not list rule {r.name}"
        assert r.code.value in doc


def test_check_refuses_before_a_deploy_would(tmp_path: Path) -> None:
    f = tmp_path / "p.flow"
    f.write_text(KAFKA_BIDS + "view per10 = bids | window tumble(date_time, 10s) | aggregate n = count() by auction\n"
                 "view per_min = per10 | window tumble(window_end, 1min) | aggregate total = sum(n)\n")
    for cmd in ("check", "compile"):
        out = subprocess.run([sys.executable, "-m", "flowc", cmd, "--target", "risingwave", str(f)],
                             capture_output=True, text=True)
        assert out.returncode == 1, out
        assert "error[F0311]" in out.stderr and "p.flow:5:31" in out.stderr and "Traceback" not in out.stderr


# -- every statement shape flowc emits matches a RisingWave planner or e2e test (docs/risingwave.md,
#    "The planner tests our statements match"): the golden files and the Nexmark queries, classified

SHAPES = {  # shape -> the RisingWave test docs/risingwave.md cites for it
    "source with WATERMARK": "watermark.yaml",
    "source": "nexmark_source.yaml",
    "table with PRIMARY KEY": "temporal_join.yaml",
    "filter / project MV": "nexmark_q1",
    "TUMBLE + GROUP BY": "watermark_group.yaml",
    "HOP + GROUP BY": "nexmark_q5",
    "TUMBLE/HOP rows": "hop all",
    "session window functions": "eowc_over_window.slt",
    "interval join": "nexmark_q7",
    "window join": "window_join.yaml",
    "temporal join": "Inner join type for temporal join",
    "group top-N": "TopN by row_number without rank output",
    "ORDER BY ... LIMIT": "append_only.yaml",
    "DISTINCT ON": "distinct on",
    "UNION ALL": "union all",
    "regular equi-join": "nexmark_q3",
    "aggregate": "agg.yaml",
    "sink fs": "sink_vector_columns.slt",
    "sink kafka": "e2e_test/sink/kafka/create_sink.slt",
}


def _shapes(stmt: exp.Expression) -> set[str]:
    kind = stmt.args.get("kind")
    if kind == "SOURCE":
        return {"source with WATERMARK" if stmt.find(exp.WatermarkColumnConstraint) else "source"}
    if kind == "TABLE":
        return {"table with PRIMARY KEY"}
    if kind == "SINK":
        return {"sink kafka" if "'kafka'" in to_sql(stmt) else "sink fs"}
    out: set[str] = set()
    text = to_sql(stmt)
    for sel in stmt.find_all(exp.Select):
        grouped = sel.args.get("group") is not None
        own = {t.this.name.upper() for t in sel.args["from_"].find_all(exp.Table)
               if isinstance(t.this, exp.Anonymous)} if sel.args.get("from_") else set()
        for t in own & {"TUMBLE", "HOP"}:
            out.add(f"{t} + GROUP BY" if grouped else "TUMBLE/HOP rows")
        if grouped and not own and "SESSION WITH GAP" not in text:
            out.add("aggregate")
        if sel.args.get("distinct") is not None:
            out.add("DISTINCT ON")
        if sel.args.get("limit") is not None:
            out.add("ORDER BY ... LIMIT")
    if "SESSION WITH GAP" in text:
        out.add("session window functions")
    if stmt.find(exp.RowNumber):
        out.add("group top-N")
    if stmt.find(exp.Union):
        out.add("UNION ALL")
    for j in stmt.find_all(exp.Join):
        on = j.args.get("on")
        if j.this.find(exp.Version) or j.find(exp.Version):
            out.add("temporal join")
        elif on is not None and on.find(exp.Between):
            out.add("interval join")
        elif on is not None and "window_start = " in to_sql(on):
            out.add("window join")
        else:
            out.add("regular equi-join")
    return out or {"filter / project MV"}


def _emitted() -> list[tuple[str, str]]:
    out = [(p.name, p.read_text()) for p in sorted((ROOT / "tests" / "golden" / "risingwave").glob("*.sql"))]
    out += [(f"nexmark {q}", risingwave_sql(nexmark(q))) for q in ("q0", "q1", "q2", "q3", "q5", "q7", "q8")]
    return out


def test_every_emitted_shape_has_a_planner_case() -> None:
    doc = (ROOT / "docs" / "risingwave.md").read_text()
    seen: set[str] = set()
    for name, script in _emitted():
        for text in script.rstrip(";\n").split(";\n\n"):
            shapes = _shapes(parse_statement(text))
            unknown = shapes - set(SHAPES)
            assert not unknown, f"{name}: a statement of shape {unknown} matches no cited RisingWave test:\n{text}"
            seen |= shapes
    for shape in seen:
        assert SHAPES[shape] in doc, f"docs/risingwave.md does not cite {SHAPES[shape]!r} for {shape}"
    # the classifier is exercised on every kind the goldens hold
    assert {"interval join", "window join", "temporal join", "session window functions", "group top-N",
            "HOP + GROUP BY", "TUMBLE + GROUP BY", "UNION ALL", "DISTINCT ON", "sink kafka", "sink fs"} <= seen


def test_a_nexmark_rate_of_zero_is_a_diagnostic_not_a_crash() -> None:
    """Found by the issue 12 probe: a ZeroDivisionError compiling the generator's pacing."""
    e = refused("source bid (auction bigint, bidder bigint, price bigint, channel string, url string,\n"
                "            date_time timestamp, extra string) from nexmark(table = 'bid', rate = 0)\n"
                "view v = bid | where price > 0\n")
    assert e.first.code == Code.CONNECTOR_TARGET and "positive" in e.first.hint
