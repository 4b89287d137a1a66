"""RisingWave target: joins (interval, window, regular, lookup, left), distinct, top N, union and
windows on dates/timestamptz with offsets. Golden DDL per program; every statement re-parses with
our dialect to the same AST; what RisingWave cannot do is an error that says so."""

from __future__ import annotations

import pytest
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from flowc.targets.risingwave import (
    compile_risingwave,
    compile_risingwave_with_warnings,
    risingwave_sql,
    to_sql,
)
from test_risingwave import GOLDEN, UPDATE, assert_reparses

from flowc.pipeline import parse_text, to_ir

HEADER = """
source bids (auction bigint, bidder bigint, price bigint, channel string, date_time timestamp)
    from kafka(topic = 'bids', brokers = 'b:9092')
    event_time date_time watermark 5s
source auctions (id bigint, seller bigint, category string, date_time timestamp)
    from kafka(topic = 'auctions', brokers = 'b:9092')
    event_time date_time watermark 5s
source clicks (user_id bigint, url string, ts timestamp) from kafka(topic = 'clicks', brokers = 'b:9092')
table sellers (id bigint, name string, country string, primary key (id))
    from kafka(topic = 'sellers', brokers = 'b:9092')
"""


def program(views: str) -> ir.Program:
    return to_ir(parse_text(HEADER + views, "rel.flow"))


PROGRAMS = {
    "window_join": """
view bid_windows = bids | window tumble(date_time, 10s)
view auction_windows = auctions | window tumble(date_time, 10s)
view joined = bid_windows | join auction_windows as a on auction = a.id and window_start = a.window_start
view counts = bids | window hop(date_time, size = 10s, slide = 5s) | aggregate n = count() by auction
view seller_counts = auctions | window hop(date_time, size = 10s, slide = 5s) | aggregate m = count() by id
view per_window = counts | left join seller_counts as s on auction = s.id and window_start = s.window_start
view inline = bids | window tumble(date_time, 10s)
    | join (auctions | window tumble(date_time, 10s)) as a on auction = a.id and window_start = a.window_start
""",
    "regular_join": """
view j = bids | join auctions as a on auction = a.id
view lj = bids | left join auctions as a on auction = a.id and price > 10
""",
    "lookup_join": """
view enriched = bids | join sellers as s on bidder = s.id | select auction, price, name, country
view maybe = bids | where price > 5 | left join sellers as s on s.id = bidder
""",
    "left_interval_join": """
view lij = bids | left join auctions as a on auction = a.id
    and date_time between a.date_time and a.date_time + 10s
    | emit changes
""",
    "distinct": """
view first_bid = bids | distinct auction
view first_channel = bids | where price > 1 | select auction, channel, date_time | distinct auction, channel
""",
    "top": """
view best = bids | top 3 by price per auction
view cheapest = bids | top 2 by price asc
view busiest = bids | aggregate n = count() by auction | top 1 by n
""",
    "union": """
view times = bids | select key = auction, date_time
    | union (auctions | select key = id, date_time)
view per_key = times | window tumble(date_time, 1min) | aggregate n = count() by key
""",
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_golden(name: str) -> None:
    p = program(PROGRAMS[name])
    got = risingwave_sql(p)
    path = GOLDEN / f"{name}.sql"
    if UPDATE:
        path.write_text(got)
    assert got == path.read_text()
    for stmt in compile_risingwave(p):
        assert_reparses(stmt)


def compile_error(views: str) -> UnsupportedFeature:
    with pytest.raises(UnsupportedFeature) as info:
        compile_risingwave(program(views))
    return info.value


@pytest.mark.parametrize(("views", "message", "hint"), [
    ("view v = bids | join sellers as s on channel = s.name",
     "lookup join on table 'sellers' whose condition does not cover its primary key (id)", "s.id"),
    ("view v = bids | join (sellers | where country = 'NL') as s on bidder = s.id",
     "a join with a pipeline over a table", "join the table directly"),
    ("view v = clicks | join bids as b on user_id = b.bidder and ts between b.date_time and b.date_time + 10s",
     "an interval join whose left side has no watermark", "event_time"),
    ("view v = bids | join auctions as a on date_time >= a.date_time and date_time <= a.date_time + 1s",
     "a join without an equality between the two sides", "nested-loop"),
    ("view v = bids | left join auctions as a on auction = a.id"
     " and date_time between a.date_time and a.date_time + 10s",
     "a left interval join emitted final", "emit changes"),
])
def test_unsupported_joins_say_why(views: str, message: str, hint: str) -> None:
    err = compile_error(views)
    d = err.first
    assert message in d.message and "'risingwave'" in d.message, d.message
    assert hint in (d.hint or ""), d.hint
    assert d.span is not None and d.span.line >= 11


def test_join_on_window_start_of_different_windows_is_an_interval_join() -> None:
    # equal window starts of two differently windowed streams: a [0, 0] time bound, not a window join
    p = program("view v = bids | window tumble(date_time, 10s)"
                " | join (auctions | window tumble(date_time, 20s)) as a on auction = a.id"
                " and window_start = a.window_start\n")
    text = risingwave_sql(p)
    assert "window_start = a.window_start" in text
    for s in compile_risingwave(p):
        assert_reparses(s)


def test_window_join_emitted_final_runs_on_window_close() -> None:
    p = program(PROGRAMS["window_join"])
    inline = p.view("inline")
    p2 = ir.Program(sources=p.sources, views=(ir.View("inline", inline.plan, "final"),), base_dir="/d")
    stmts = compile_risingwave(p2)
    text = risingwave_sql(p2)
    assert "FROM TUMBLE(bids, date_time, INTERVAL '10 SECOND')" in text
    assert "FROM TUMBLE(auctions, date_time, INTERVAL '10 SECOND')" in text
    assert text.rstrip(";").endswith("EMIT ON WINDOW CLOSE")
    for s in stmts:
        assert_reparses(s)


def test_warnings_cover_sessions_and_unbounded_join_state() -> None:
    from test_risingwave import load_example, writable_sinks

    _, warnings = compile_risingwave_with_warnings(writable_sinks(load_example("session")))
    session = [w for w in warnings if "session" in w.message]
    assert session and "last session of each key stays open" in session[0].message
    assert session[0].span is not None and session[0].code == Code.TARGET_DIFFERENCE
    _, warnings = compile_risingwave_with_warnings(program(PROGRAMS["regular_join"]))
    grows = [w.message for w in warnings if "grows without bound" in w.message]
    assert len(grows) == 2 and "'bids' and 'auctions'" in grows[0]
    # interval, window and lookup joins keep bounded state: no such warning
    for name in ("window_join", "lookup_join"):
        _, warnings = compile_risingwave_with_warnings(program(PROGRAMS[name]))
        assert not [w for w in warnings if "grows without bound" in w.message], name


def test_distinct_over_a_union_or_changelog_warns_arbitrary_row() -> None:
    _, warnings = compile_risingwave_with_warnings(program(PROGRAMS["distinct"]))
    assert not [w for w in warnings if "arbitrary" in w.message]
    views = """
view u = bids | select auction, date_time | union (auctions | select auction = id, date_time) | distinct auction
view c = bids | aggregate n = count() by auction | distinct n
"""
    _, warnings = compile_risingwave_with_warnings(program(views))
    arbitrary = [w.message for w in warnings if "arbitrary row" in w.message]
    assert len(arbitrary) == 2 and "a union" in arbitrary[0] and "changelog" in arbitrary[1]


WINDOW_TYPES = """
source days (k bigint, d date) from kafka(topic = 'd', brokers = 'b:9092')
source zoned (k bigint, tz timestamptz) from kafka(topic = 'z', brokers = 'b:9092') event_time tz watermark 2s
view per_day = days | window tumble(d, 24h, offset = 6h) | aggregate n = count() by k | emit changes
view per_zone = zoned | window hop(tz, size = 1h, slide = 30min, offset = 10min) | aggregate n = count() by k
view zone_sessions = zoned | window session(tz, gap = 90s) | aggregate n = count() by k
"""


def test_date_and_timestamptz_windows_with_offsets() -> None:
    p = to_ir(parse_text(WINDOW_TYPES, "w.flow"))
    stmts = compile_risingwave(p)
    text = risingwave_sql(p)
    assert "WATERMARK FOR tz AS tz - INTERVAL '2 SECOND'" in text
    assert "FROM TUMBLE(days, d, INTERVAL '24 HOUR', INTERVAL '6 HOUR')" in text
    assert "FROM HOP(zoned, tz, INTERVAL '30 MINUTE', INTERVAL '1 HOUR', INTERVAL '10 MINUTE')" in text
    assert "LAST_VALUE(tz) OVER (PARTITION BY k ORDER BY tz SESSION WITH GAP INTERVAL '90 SECOND') " \
           "+ INTERVAL '90 SECOND' AS window_end" in text
    assert text.count("EMIT ON WINDOW CLOSE") == 2  # per_day is a changelog (no watermark on days)
    for s in stmts:
        assert_reparses(s)


def test_session_without_keys_partitions_by_a_constant() -> None:
    views = "view v = bids | window session(date_time, gap = 3s) | aggregate n = count()"
    p = program(views)
    text = to_sql(compile_risingwave(p)[-1], pretty=False)
    assert "OVER (PARTITION BY CAST(1 AS INT) ORDER BY date_time SESSION WITH GAP INTERVAL '3 SECOND')" in text
    for s in compile_risingwave(p):
        assert_reparses(s)


@pytest.mark.parametrize("target", ["risingwave", "datafusion", "local"])
def test_hop_size_not_a_multiple_of_slide_is_an_error_for_every_target(target: str, tmp_path) -> None:
    from support import run_flowc

    path = tmp_path / "hop.flow"
    path.write_text(HEADER + "view v = bids | window hop(date_time, size = 10s, slide = 3s)"
                             " | aggregate n = count() by auction\n")
    done = run_flowc("check", str(path), "--target", target)
    assert done.returncode != 0
    assert "hop size must be a multiple of slide" in done.stderr + done.stdout
    assert "hop.flow:11:" in done.stderr + done.stdout
