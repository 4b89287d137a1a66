"""The runtime proper: lateness per row, window assignment, aggregates, batch-size independence."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from flowc.runtime.aggregate import AggSpec, GlobalAggregateOp, GroupState, WindowAggregateOp, group_aggregate
from flowc.runtime.eventtime import LatenessTracker
from flowc.runtime.executor import Plan, SourceNode
from flowc.runtime.io import rebatch
from flowc.runtime.operators import WEIGHT, FilterOp, SinkOp, WindowAssignOp
from flowc.runtime.windows import WindowDef

S = 1_000_000  # one second in microseconds


def late_mask(ts, delay, cuts=None):
    """Lateness of ts (None = null), feeding the tracker in pieces cut at `cuts`."""
    tr = LatenessTracker(delay)
    vals = np.array([0 if t is None else t for t in ts], dtype=np.int64)
    valid = np.array([t is not None for t in ts])
    out = []
    bounds = [0, *(cuts or []), len(ts)]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        out += tr.split(vals[a:b], valid[a:b]).tolist()
    return out


def test_row_at_exactly_the_watermark_is_on_time_one_microsecond_below_is_late():
    # W after row 1 = 10s - 5s = 5s
    assert late_mask([10 * S, 5 * S, 5 * S - 1], 5 * S) == [False, False, True]


def test_null_event_time_is_late_once_a_watermark_exists():
    assert late_mask([None, 10 * S, None], 5 * S) == [False, False, True]


def test_watermark_uses_previous_rows_only_and_never_goes_back():
    ts = [10 * S, 20 * S, 14 * S, 15 * S, 16 * S, 30 * S, 24 * S, 26 * S]
    want = [False, False, True, False, False, False, True, False]
    assert late_mask(ts, 5 * S) == want
    for cuts in ([1], [2, 3], [1, 2, 3, 4, 5, 6, 7], [5]):
        assert late_mask(ts, 5 * S, cuts) == want


def test_lateness_is_batch_independent_on_random_data():
    rng = np.random.default_rng(7)
    ts = (np.arange(2000) * 1000 + rng.integers(-40_000, 40_000, 2000)).tolist()
    ts = [None if i % 97 == 0 else t for i, t in enumerate(ts)]
    one = late_mask(ts, 20_000)
    assert one == late_mask(ts, 20_000, list(range(1, 2000)))
    assert one == late_mask(ts, 20_000, list(range(7, 2000, 7)))
    assert 0 < sum(one) < 2000


def _late_row_by_row(ts, delay):
    """SEMANTICS.md section 1 spelled out, one row at a time (rows all have a time)."""
    out, max_ts = [], None
    for t in ts:
        out.append(max_ts is not None and t < max_ts - delay)
        max_ts = t if max_ts is None else max(max_ts, t)
    return out


@pytest.mark.parametrize("disorder", [0, 300, 5_000, 200_000])
def test_lateness_of_long_batches_matches_the_row_by_row_rule(disorder):
    """Batches long enough for the blocked split (blocks whose bounds decide every row, and blocks
    that need the exact running maximum), cut anywhere."""
    rng = np.random.default_rng(disorder)
    n = 6000
    ts = (np.arange(n) * 100 + rng.integers(-disorder, disorder + 1, n)).tolist()
    for i in rng.choice(n, 20, replace=False).tolist():  # a few rows far behind
        ts[i] -= 1_000_000
    want = _late_row_by_row(ts, 2_000)
    assert sum(want) > 0
    assert late_mask(ts, 2_000) == want
    assert late_mask(ts, 2_000, [1, 513, 1024, 1025, 4000]) == want
    assert late_mask(ts, 2_000, list(range(1500, n, 1500))) == want


def test_tumble_assignment_with_negative_times_and_offset():
    w = WindowDef.tumble(10, offset=3)
    ts = np.array([-11, -8, -7, -1, 0, 2, 3, 12, 13], dtype=np.int64)
    _, starts = w.assign(ts)
    assert starts.tolist() == [-17, -17, -7, -7, -7, -7, 3, 3, 13]
    assert ((starts <= ts) & (ts < starts + 10)).all()


def test_hop_assignment():
    w = WindowDef.hop(10, 5, offset=1)
    rows, starts = w.assign(np.array([0, 6, -4], dtype=np.int64))
    assert rows.tolist() == [0, 0, 1, 1, 2, 2]
    assert starts.tolist() == [-9, -4, 1, 6, -9, -4]


def batch(**cols):
    return pa.RecordBatch.from_pydict(cols)


def test_window_assign_operator_hop_and_null_time():
    t = pa.array([0, 7 * S, None], pa.timestamp("us"))
    b = pa.RecordBatch.from_arrays([t, pa.array([1, 2, 3])], names=["ts", "x"])
    op = WindowAssignOp("w", b.schema, "ts", WindowDef.hop(10 * S, 5 * S), pa.timestamp("us"))
    sink = SinkOp("s", op.schema, collect=True)
    op.connect(sink)
    op.on_batch(0, b)
    out = sink.table()
    assert out.column("x").to_pylist() == [1, 1, 2, 2, 3, 3]
    starts = out.column("window_start").cast(pa.int64()).to_pylist()
    assert starts == [-5 * S, 0, 0, 5 * S, None, None]


def test_group_aggregate_sql_nulls():
    t = pa.table({"k": [1, 1, None, None, 2], "x": [None, None, 3, 4, 5], "s": ["b", "a", None, "c", "c"]})
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("nx", "count", "x", pa.int64()),
            AggSpec("sx", "sum", "x", pa.int64()), AggSpec("mn", "min", "s", pa.string()),
            AggSpec("av", "avg", "x", pa.float64()), AggSpec("cd", "count_distinct", "s", pa.int64())]
    got = {r["k"]: r for r in group_aggregate(t, ["k"], aggs).to_pylist()}
    assert got[1] == {"k": 1, "n": 2, "nx": 0, "sx": None, "mn": "a", "av": None, "cd": 2}
    assert got[None] == {"k": None, "n": 2, "nx": 2, "sx": 7, "mn": "c", "av": 3.5, "cd": 1}


def consolidate(table: pa.Table, cols):
    from collections import Counter
    c = Counter()
    for r in table.to_pylist():
        c[tuple(r[k] for k in cols)] += r.get(WEIGHT, 1)
    return Counter({k: v for k, v in c.items() if v > 0})


def test_group_state_changelog_consolidates_to_the_batch_result():
    rng = np.random.default_rng(1)
    n = 500
    t = pa.table({"k": rng.integers(0, 7, n), "x": pa.array([None if i % 11 == 0 else int(v) for i, v in
                                                             enumerate(rng.integers(-50, 50, n))], pa.int64())})
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("s", "sum", "x", pa.int64()),
            AggSpec("lo", "min", "x", pa.int64()), AggSpec("hi", "max", "x", pa.int64()),
            AggSpec("av", "avg", "x", pa.float64()), AggSpec("cd", "count_distinct", "x", pa.int64())]
    st = GroupState(["k"], [pa.int64()], aggs)
    log = pa.concat_tables([st.update(b) for b in t.to_batches(max_chunksize=13)])
    cols = ["k", "n", "s", "lo", "hi", "av", "cd"]
    want = consolidate(group_aggregate(t, ["k"], aggs), cols)
    got = consolidate(log, cols)
    assert {k[:5] + k[6:] for k in got} == {k[:5] + k[6:] for k in want}
    for kw, kg in zip(sorted(want), sorted(got), strict=True):
        assert kw[5] == pytest.approx(kg[5], rel=1e-12)
    assert set(log.column(WEIGHT).to_pylist()) == {-1, 1}
    assert consolidate(st.contents(), cols).keys() == got.keys()


def run_plan(ts, vals, op_factory, batch_size, delay=5 * S):
    """A one-source plan over (ts seconds, value) rows through one operator; returns the sink table."""
    schema = pa.schema([("ts", pa.timestamp("us")), ("k", pa.int64()), ("v", pa.int64())])
    data = pa.table({"ts": pa.array([None if t is None else int(t * S) for t in ts], pa.timestamp("us")),
                     "k": pa.array([None if v is None else v % 3 for v in vals], pa.int64()), "v": pa.array(vals, pa.int64())},
                    schema=schema)
    src = SourceNode("src", schema, lambda bs: rebatch(data.to_batches(), bs, schema), "ts", delay)
    op = op_factory(schema)
    src.connect(op)
    sink = SinkOp("sink", op.schema, collect=True)
    op.connect(sink)
    Plan([src], [sink], batch_size).run()
    return sink.table(), src


def tumble_agg(mode, size=10):
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("top", "max", "v", pa.int64()),
            AggSpec("total", "sum", "v", pa.int64())]
    return lambda schema: WindowAggregateOp("agg", schema, ["k"], aggs, "ts", WindowDef.tumble(size * S),
                                            pa.timestamp("us"), mode=mode)


def rows_of(table, with_op=True):
    cols = [c for c in table.column_names if c != "_op"]
    from collections import Counter
    c = Counter()
    for r in table.to_pylist():
        c[tuple(r[k] for k in cols)] += -1 if r.get("_op") == "-" else 1
    return Counter({k: v for k, v in c.items() if v > 0})


RNG = np.random.default_rng(3)
TS = (np.arange(300) * 0.37 + RNG.uniform(-6, 2, 300)).round(3).tolist()
TS[50] = None
VALS = RNG.integers(0, 100, 300).tolist()


@pytest.mark.parametrize("mode", ["final", "changes"])
def test_windowed_aggregate_is_batch_size_independent(mode):
    results = [rows_of(run_plan(TS, VALS, tumble_agg(mode), bs)[0]) for bs in (1, 7, 10000)]
    assert results[0] == results[1] == results[2]
    assert len(results[0]) > 20


def test_final_equals_consolidated_changes_and_late_rows_are_excluded():
    final, src = run_plan(TS, VALS, tumble_agg("final"), 7)
    changes, _ = run_plan(TS, VALS, tumble_agg("changes"), 7)
    assert "_op" in changes.column_names and "_op" not in final.column_names
    assert rows_of(final) == rows_of(changes)
    assert src.late > 0
    assert sum(r[3] for r in rows_of(final)) == 300 - src.late  # counts add up to on-time rows


def test_final_emits_each_window_once_when_the_watermark_passes_its_end():
    emitted_at = []

    class Probe(SinkOp):
        def on_batch(self, port, b):
            emitted_at.append((self.watermark, b.column("window_end").cast(pa.int64()).to_pylist()))
            super().on_batch(port, b)

    schema = pa.schema([("ts", pa.timestamp("us")), ("k", pa.int64()), ("v", pa.int64())])
    ts = [1, 2, 12, 16, 14, 26]
    data = pa.table({"ts": pa.array([t * S for t in ts], pa.timestamp("us")), "k": [0] * 6, "v": [1] * 6},
                    schema=schema)
    src = SourceNode("src", schema, lambda bs: rebatch(data.to_batches(), bs, schema), "ts", 5 * S)
    op = tumble_agg("final")(schema)
    src.connect(op)
    probe = Probe("p", op.schema, collect=True)
    op.connect(probe)
    Plan([src], [probe], 1).run()
    # window [0,10) closes when W = 16-5 = 11 >= 10; [10,20) at W = 26-5 = 21; [20,30) at end of input
    ends = [e for _, es in emitted_at for e in es]
    assert ends == [10 * S, 20 * S, 30 * S]
    assert probe.table().select(["n", "total"]).to_pylist() == [{"n": 2, "total": 2}, {"n": 3, "total": 3},
                                                                 {"n": 1, "total": 1}]


def test_end_of_input_closes_every_window_and_null_time_forms_a_null_window():
    schema = pa.schema([("ts", pa.timestamp("us")), ("k", pa.int64()), ("v", pa.int64())])
    data = pa.table({"ts": pa.array([None, 100 * S, 3 * S], pa.timestamp("us")), "k": [1, 1, 1], "v": [5, 6, 7]},
                    schema=schema)
    src = SourceNode("src", schema, lambda bs: rebatch(data.to_batches(), bs, schema))  # no event time
    op = tumble_agg("final")(schema)
    src.connect(op)
    sink = SinkOp("s", op.schema, collect=True)
    op.connect(sink)
    Plan([src], [sink], 1).run()
    got = {(r["window_start"] is None, r["n"], r["top"]) for r in sink.table().to_pylist()}
    assert got == {(True, 1, 5), (False, 1, 6), (False, 1, 7)}


def test_hop_aggregate_matches_assign_then_group():
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("total", "sum", "v", pa.int64())]
    w = WindowDef.hop(10 * S, 5 * S)
    final, _ = run_plan(TS, VALS, lambda s: WindowAggregateOp("a", s, ["k"], aggs, "ts", w, pa.timestamp("us")), 7)
    assigned, _ = run_plan(TS, VALS, lambda s: WindowAssignOp("w", s, "ts", w, pa.timestamp("us")), 7)
    want = group_aggregate(assigned, ["k", "window_start", "window_end"], aggs)
    assert rows_of(final) == rows_of(want.select(final.column_names))


@pytest.mark.parametrize("window", [WindowDef.tumble(S // 2), WindowDef.hop(2 * S, S // 2, offset=S // 4)])
@pytest.mark.parametrize("batch_size", [1, 7, 10000])
def test_keyless_window_partials_match_assign_then_group(window, batch_size):
    """A keyless final aggregate of counts and min/max reduces each batch to pane partials on arrival
    (a batch spanning one pane, a few, or many when the panes are small): it must give what assigning
    the windows and grouping gives, nulls included."""
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("nv", "count", "v", pa.int64()),
            AggSpec("lo", "min", "v", pa.int64()), AggSpec("hi", "max", "v", pa.int64()),
            AggSpec("last", "max", "ts", pa.timestamp("us"))]
    vals = [None if i % 5 == 0 else v for i, v in enumerate(VALS)]
    final, _ = run_plan(TS, vals, lambda s: WindowAggregateOp("a", s, [], aggs, "ts", window, pa.timestamp("us")),
                        batch_size)
    assigned, _ = run_plan(TS, vals, lambda s: WindowAssignOp("w", s, "ts", window, pa.timestamp("us")), batch_size)
    want = group_aggregate(assigned, ["window_start", "window_end"], aggs)
    assert rows_of(final) == rows_of(want.select(final.column_names))
    assert len(rows_of(final)) > 100


def test_global_aggregate_changes_and_empty_input():
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("s", "sum", "v", pa.int64())]
    log, _ = run_plan([1, 2, 3], [4, 5, 6], lambda s: GlobalAggregateOp("g", s, [], aggs), 1)
    assert log.column("_op").to_pylist() == ["+", "-", "+", "-", "+"]
    assert rows_of(log) == {(3, 15): 1}
    empty, _ = run_plan([], [], lambda s: GlobalAggregateOp("g", s, [], aggs), 1)
    assert rows_of(empty) == {(0, None): 1}  # SQL: an aggregate without keys over no rows is one row


def test_filter_drops_null_predicates():
    b = batch(x=[1, None, 3])
    op = FilterOp("f", b.schema, lambda bb: pa.array([True, None, False]))
    sink = SinkOp("s", b.schema, collect=True)
    op.connect(sink)
    op.on_batch(0, b)
    assert sink.table().column("x").to_pylist() == [1]


def session_rows(ts, mode, batch_size, delay=100 * S, gap=3):
    from flowc.runtime.session import SessionAggregateOp
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("total", "sum", "v", pa.int64())]
    vals = [3] * len(ts)  # every row in key 0
    table, _ = run_plan(ts, vals, lambda s: SessionAggregateOp("s", s, ["k"], aggs, "ts", gap * S,
                                                              pa.timestamp("us"), mode=mode), batch_size, delay)
    return rows_of(table)


def test_session_out_of_order_row_merges_two_sessions_and_null_time_is_in_none():
    import datetime as dt
    ts = [0, 4, None, 2]  # sessions 0 | 4 until the row at 2 bridges them: one session [0, 7)
    for mode in ("final", "changes"):
        for bs in (1, 2, 10):
            got = session_rows(ts, mode, bs)
            (row,) = got
            assert row[1] == dt.datetime(1970, 1, 1) and row[2] == dt.datetime(1970, 1, 1, 0, 0, 7)
            assert row[3:] == (3, 9)


def test_session_gap_boundary_starts_a_new_session_and_closes_on_watermark():
    ts = [0, 2.999999, 5.999999, 9, 9.5]  # gaps of exactly 3s and 3.000001s start new sessions
    got = session_rows(ts, "final", 1, delay=0)
    assert sorted(r[3] for r in got) == [1, 2, 2]  # [0, 2.999999], [5.999999], [9, 9.5]


def test_packed_integer_keys_group_like_separate_keys():
    rng = np.random.default_rng(5)
    t = pa.table({"a": pa.array(rng.integers(-5, 5, 400), pa.int32()), "b": rng.integers(-10**12, 10**12, 400) // 10**11,
                  "x": rng.integers(0, 9, 400)})
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("s", "sum", "x", pa.int64())]
    packed = group_aggregate(t, ["a", "b"], aggs)
    assert packed.schema.field("a").type == pa.int32()
    as_text = t.set_column(0, "a", t.column("a").cast(pa.string()))  # strings are never packed
    plain = group_aggregate(as_text, ["a", "b"], aggs)
    assert sorted(packed.to_pylist(), key=str) == sorted(
        ({**r, "a": int(r["a"])} for r in plain.to_pylist()), key=str)
