"""Step tests (runtime/testing.py): rows in, watermark advanced, emitted rows checked per step, for
tumble, hop and session windows in both emit modes, and the edges of SEMANTICS.md sections 1-3."""

from __future__ import annotations

import pyarrow as pa
import pytest
from flowc.runtime.aggregate import AggSpec, GlobalAggregateOp, WindowAggregateOp
from flowc.runtime.session import SessionAggregateOp
from flowc.runtime.testing import End, Rows, TestStream, Watermark, check_steps, same_rows
from flowc.runtime.windows import WindowDef

S = 1_000_000
TS = pa.timestamp("us")
SCHEMA = pa.schema([("k", pa.int64()), ("ts", TS), ("x", pa.int64())])
AGGS = [AggSpec("n", "count", None, pa.int64()), AggSpec("total", "sum", "x", pa.int64())]


def tumble(mode="final", size=10 * S, offset=0, schema=SCHEMA, wtype=TS):
    return WindowAggregateOp("t", schema, ["k"], AGGS, "ts", WindowDef.tumble(size, offset), wtype, mode=mode)


def hop(mode="final", size=10 * S, slide=5 * S, offset=0):
    return WindowAggregateOp("h", SCHEMA, ["k"], AGGS, "ts", WindowDef.hop(size, slide, offset), TS, mode=mode)


def session(mode="final", gap=5 * S):
    return SessionAggregateOp("s", SCHEMA, ["k"], AGGS, "ts", gap, TS, mode=mode)


def row(k, t, x=1):
    return {"k": k, "ts": t, "x": x}


def win(k, start, end, n, total, op=None):
    r = {"k": k, "window_start": start, "window_end": end, "n": n, "total": total}
    if op:
        r["_op"] = op
    return r


# ---------------------------------------------------------------- lateness edges


def test_row_exactly_at_the_watermark_is_on_time_one_microsecond_below_is_late():
    stream = TestStream(tumble(), SCHEMA, event_time="ts")
    check_steps(stream, [
        Watermark(10 * S),
        Rows([row(1, 10 * S), row(1, 10 * S - 1)]),  # at the watermark: on time; 1us below: late
        End([win(1, 10 * S, 20 * S, 1, 1)]),
    ])
    assert stream.late == [row(1, 10 * S - 1)]


def test_lateness_from_the_delay_uses_the_rows_before():
    stream = TestStream(tumble(), SCHEMA, event_time="ts", delay=5 * S)
    stream.add([row(1, 20 * S), row(1, 15 * S), row(1, 15 * S - 1)])  # W = 15s after the first row
    assert stream.late == [row(1, 15 * S - 1)]
    assert stream.watermark() == 15 * S


def test_null_event_time_is_late_once_a_watermark_exists():
    stream = TestStream(tumble(), SCHEMA, event_time="ts")
    stream.add([row(1, None)])
    stream.advance(0)
    stream.add([row(2, None)])
    assert stream.late == [row(2, None)]


# ---------------------------------------------------------------- tumble


def test_tumble_window_closes_when_the_watermark_reaches_its_end_and_not_before():
    check_steps(TestStream(tumble(), SCHEMA, event_time="ts"), [
        Rows([row(1, 1 * S, 2), row(1, 9 * S, 3), row(2, 12 * S, 4)]),
        Watermark(10 * S - 1),  # one microsecond before the end: still open
        Watermark(10 * S, [win(1, 0, 10 * S, 2, 5)]),  # W >= end: closes, emitted once
        Watermark(15 * S),
        Rows([row(2, 19 * S, 1)]),
        End([win(2, 10 * S, 20 * S, 2, 5)]),
    ])


def test_tumble_changes_retracts_and_reinserts_per_batch():
    check_steps(TestStream(tumble("changes"), SCHEMA, event_time="ts"), [
        Rows([row(1, 1 * S, 2)], [win(1, 0, 10 * S, 1, 2, "+")]),
        Rows([row(1, 2 * S, 3), row(1, 3 * S, 1)], [win(1, 0, 10 * S, 1, 2, "-"), win(1, 0, 10 * S, 3, 6, "+")]),
        Watermark(10 * S),  # closing emits nothing new in changes mode
        Rows([row(1, 11 * S, 1)], [win(1, 10 * S, 20 * S, 1, 1, "+")]),
        End(),
    ])


def test_tumble_with_offset():
    check_steps(TestStream(tumble(offset=3 * S), SCHEMA, event_time="ts"), [
        Rows([row(1, 2 * S), row(1, 3 * S), row(1, 12 * S + 999_999)]),
        Watermark(3 * S, [win(1, -7 * S, 3 * S, 1, 1)]),
        Watermark(13 * S, [win(1, 3 * S, 13 * S, 2, 2)]),
        End(),
    ])


def test_tumble_on_timestamptz_and_date():
    tz = pa.timestamp("us", "UTC")
    schema = pa.schema([("k", pa.int64()), ("ts", tz), ("x", pa.int64())])
    stream = TestStream(tumble(schema=schema, wtype=tz), schema, event_time="ts")
    check_steps(stream, [Rows([row(1, 5 * S), row(1, 11 * S)]), End([win(1, 0, 10 * S, 1, 1),
                                                                       win(1, 10 * S, 20 * S, 1, 1)])])
    day = 86_400 * S
    dschema = pa.schema([("k", pa.int64()), ("ts", pa.date32()), ("x", pa.int64())])
    op = tumble(size=7 * day, schema=dschema, wtype=pa.date32())
    stream = TestStream(op, dschema, event_time="ts")
    # 1970-01-01 is a Thursday; epoch-aligned 7-day windows start on Thursdays
    got = stream.add([{"k": 1, "ts": 0, "x": 1}, {"k": 1, "ts": 6, "x": 1}, {"k": 1, "ts": 7, "x": 1}])
    assert got == []
    assert same_rows(stream.end(), [win(1, 0, 7 * day, 2, 2), win(1, 7 * day, 14 * day, 1, 1)])


# ---------------------------------------------------------------- hop


def test_hop_closes_each_window_at_its_own_end():
    check_steps(TestStream(hop(), SCHEMA, event_time="ts"), [
        Rows([row(1, 6 * S, 1), row(1, 12 * S, 10)]),  # 6s in [0,10) and [5,15); 12s in [5,15) and [10,20)
        Watermark(10 * S, [win(1, 0, 10 * S, 1, 1)]),
        Watermark(14 * S),
        Watermark(15 * S, [win(1, 5 * S, 15 * S, 2, 11)]),
        End([win(1, 10 * S, 20 * S, 1, 10)]),
    ])


def test_hop_changes_and_offset():
    # slide 5s, offset 1s: window starts ..., -4s, 1s, 6s, ...; 6s is in [1s, 11s) and [6s, 16s)
    check_steps(TestStream(hop("changes", offset=1 * S), SCHEMA, event_time="ts"), [
        Rows([row(1, 6 * S, 1)], [win(1, 1 * S, 11 * S, 1, 1, "+"), win(1, 6 * S, 16 * S, 1, 1, "+")]),
        Rows([row(1, 5 * S, 2)], [win(1, 1 * S, 11 * S, 1, 1, "-"), win(1, 1 * S, 11 * S, 2, 3, "+"),
                                  win(1, -4 * S, 6 * S, 1, 2, "+")]),
        End(),
    ])


def test_hop_final_keeps_rows_per_pane_not_per_window():
    op = hop(size=60 * S, slide=1 * S)
    stream = TestStream(op, SCHEMA, event_time="ts")
    stream.add([row(1, i * S // 10) for i in range(100)])  # 10s of rows, each in 60 windows
    buffered = sum(b.num_rows for batches in op.panes.values() for b in batches)
    assert buffered == 100  # one copy per row, in its pane, not 60
    out = stream.end()
    assert len(out) == 69 and sum(r["n"] for r in out) == 100 * 60


# ---------------------------------------------------------------- sessions


def test_session_closes_at_last_plus_gap():
    check_steps(TestStream(session(), SCHEMA, event_time="ts"), [
        Rows([row(1, 1 * S), row(1, 3 * S)]),
        Watermark(8 * S - 1),
        Watermark(8 * S, [win(1, 1 * S, 8 * S, 2, 2)]),  # end = last (3s) + gap (5s)
        End(),
    ])


def test_out_of_order_row_bridges_two_sessions():
    check_steps(TestStream(session(), SCHEMA, event_time="ts"), [
        Rows([row(1, 1 * S, 1), row(1, 10 * S, 2)]),  # two sessions: gap 9s >= 5s
        Watermark(5 * S),
        Rows([row(1, 5 * S, 4)]),  # on time (= W): gaps of 4s and 5s: sessions [1s, 10s) and [10s, 15s)
        Watermark(9 * S),  # without the row at 5s, [1s, 6s) would have closed at 6s
        Rows([row(1, 9 * S, 8)]),  # bridges 5s and 10s: one session 1s..10s
        End([win(1, 1 * S, 15 * S, 4, 15)]),
    ])


def test_session_changes_merge_retracts_both_sessions():
    stream = TestStream(session("changes"), SCHEMA, event_time="ts")
    assert same_rows(stream.add([row(1, 1 * S, 1), row(1, 10 * S, 2)]),
                     [win(1, 1 * S, 6 * S, 1, 1, "+"), win(1, 10 * S, 15 * S, 1, 2, "+")])
    assert same_rows(stream.add([row(1, 5 * S + S // 2, 4)]),  # 4.5s from each: bridges the two
                     [win(1, 1 * S, 6 * S, 1, 1, "-"), win(1, 1 * S, 15 * S, 3, 7, "+"),
                      win(1, 10 * S, 15 * S, 1, 2, "-")])
    assert stream.end() == []


# ---------------------------------------------------------------- emit final == consolidated changes


def _consolidate(rows):
    from collections import Counter
    c = Counter()
    for r in rows:
        r = dict(r)
        w = -1 if r.pop("_op", "+") == "-" else 1
        c[tuple(sorted(r.items()))] += w
    return Counter({k: v for k, v in c.items() if v > 0})


ROWS = [row(k, t * S // 4, x) for k, t, x in
        [(1, 3, 1), (2, 40, 2), (1, 9, 3), (1, 80, 4), (2, 41, 5), (1, 70, 6), (3, 5, 7), (2, 100, 8),
         (1, 30, 9), (2, 61, 10), (3, 22, 11), (1, 200, 12), (1, 150, 13), (2, 180, 14)]]


def _global(mode):
    return GlobalAggregateOp("g", SCHEMA, ["k"], AGGS, mode=mode)


@pytest.mark.parametrize("make", [tumble, hop, session, _global], ids=["tumble", "hop", "session", "global"])
@pytest.mark.parametrize("step", [1, 3, 100])
def test_final_equals_consolidated_changes_at_end(make, step):
    def run(mode):
        stream = TestStream(make(mode), SCHEMA, event_time="ts", delay=10 * S)
        out = []
        for i in range(0, len(ROWS), step):
            out += stream.add(ROWS[i: i + step])
        out += stream.end()
        return out, stream.late

    final, late_f = run("final")
    changes, late_c = run("changes")
    assert late_f == late_c and late_f  # the delay makes some rows late, the same in both modes
    assert all("_op" not in r for r in final)
    assert _consolidate(changes) == _consolidate(final)
    assert sum(_consolidate(final).values()) == len(final)  # final emits each result once
