"""Every operator answers `state_rows()` itself: 0 for stateless operators, the rows (or groups, for
running aggregates) a stateful one keeps right now; the state probe watches exactly the operators
that keep state. The counts are the ones the run summary reports (tests/test_state_bounded.py)."""

from __future__ import annotations

import pyarrow as pa
from flowc.runtime.aggregate import AggSpec, GlobalAggregateOp, WindowAggregateOp
from flowc.runtime.eventtime import END_OF_INPUT
from flowc.runtime.operators import FilterOp, Operator, ProjectOp, SinkOp, WindowAssignOp
from flowc.runtime.relational import DistinctOp, TopNOp, UnionOp
from flowc.runtime.session import SessionAggregateOp
from flowc.runtime.state import KeyIndex
from flowc.runtime.state_probe import StateProbe
from flowc.runtime.windows import WindowDef

S = 1_000_000
TS = pa.timestamp("us")
SCHEMA = pa.schema([("k", pa.int64()), ("v", pa.int64()), ("t", TS)])
COUNT = [AggSpec("n", "count", None, pa.int64())]


def _batch(k: list, v: list, t: list) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(k, pa.int64()), pa.array(v, pa.int64()),
                                       pa.array([x * S if x is not None else None for x in t], pa.int64()).cast(TS)],
                                      schema=SCHEMA)


def _stateless() -> list[Operator]:
    return [FilterOp("f", SCHEMA, lambda b: pa.array([True] * b.num_rows)),
            ProjectOp("p", [("k", pa.int64(), lambda b: b.column("k"))]),
            WindowAssignOp("w", SCHEMA, "t", WindowDef.tumble(10 * S), TS),
            UnionOp("u", SCHEMA),
            SinkOp("s", SCHEMA, collect=True)]


def test_stateless_operators_keep_nothing():
    for op in _stateless():
        assert not op.keeps_state and op.state_rows() == 0, op.name
    sink = _stateless()[-1]
    sink.on_batch(0, _batch([1], [1], [1]))  # what a sink collects is output, not operator state
    assert sink.state_rows() == 0


def test_global_aggregate_counts_groups():
    op = GlobalAggregateOp("g", SCHEMA, ["k"], COUNT)
    assert op.keeps_state and op.state_rows() == 0
    op.on_batch(0, _batch([1, 2, 1], [1, 2, 3], [1, 2, 3]))
    op.on_batch(0, _batch([3, 1], [1, 2], [4, 5]))
    assert op.state_rows() == 3


def test_window_aggregate_final_counts_buffered_rows_until_the_window_closes():
    op = WindowAggregateOp("w", SCHEMA, ["k"], [AggSpec("n", "count_distinct", "v", pa.int64())], "t",
                           WindowDef.tumble(10 * S), TS)
    op.on_batch(0, _batch([1, 1, 2, 1], [1, 2, 3, 4], [1, 2, 12, None]))
    assert op.state_rows() == 4  # three rows in two panes and one with a null time
    op.on_watermark(0, 10 * S)
    assert op.state_rows() == 2
    op.on_watermark(0, END_OF_INPUT)
    assert op.state_rows() == 0


def test_window_aggregate_final_keyless_counts_one_partial_per_pane():
    op = WindowAggregateOp("w", SCHEMA, [], COUNT, "t", WindowDef.tumble(10 * S), TS)
    assert op.keyless is not None
    op.on_batch(0, _batch([1, 1, 2], [1, 2, 3], [1, 2, 12]))
    assert op.state_rows() == 2


def test_window_aggregate_changes_counts_groups_of_open_windows():
    op = WindowAggregateOp("w", SCHEMA, ["k"], COUNT, "t", WindowDef.tumble(10 * S), TS, mode="changes")
    op.on_batch(0, _batch([1, 1, 2, 1], [1, 2, 3, 4], [1, 2, 3, 12]))
    assert op.state_rows() == 3  # (1, 2) in [0, 10), 1 in [10, 20)
    op.on_watermark(0, 10 * S)
    assert op.state_rows() == 1


def test_session_aggregate_counts_rows_of_open_sessions():
    op = SessionAggregateOp("s", SCHEMA, ["k"], COUNT, "t", 5 * S, TS)
    op.on_batch(0, _batch([1, 1, 2, 1], [1, 2, 3, 4], [1, 3, 4, None]))
    assert op.state_rows() == 3  # a null time belongs to no session
    op.on_watermark(0, 8 * S)  # closes key 1's session (ends at 3 + 5), not key 2's (9)
    assert op.state_rows() == 1


def test_distinct_and_top_count_keys_and_kept_rows():
    d = DistinctOp("d", SCHEMA, ["k"])
    d.on_batch(0, _batch([1, 2, 1, None], [1, 2, 3, 4], [1, 2, 3, 4]))
    d.on_batch(0, _batch([2, 3, None], [5, 6, 7], [5, 6, 7]))
    assert d.keeps_state and d.state_rows() == 4  # 1, 2, null, 3
    top = TopNOp("t", SCHEMA, 2, lambda b: b.column("v"), pa.int64(), True, ["k"])
    top.on_batch(0, _batch([1, 1, 1, 2], [1, 2, 3, 4], [1, 2, 3, 4]))
    assert top.state_rows() == 3  # two of key 1, one of key 2


def test_top_without_per_keeps_one_group():
    top = TopNOp("t", SCHEMA, 2, lambda b: b.column("v"), pa.int64(), False, [])
    top.on_batch(0, _batch([1, 2, 3], [3, 1, 2], [1, 2, 3]))
    top.on_batch(0, _batch([4], [0], [4]))
    assert top.state_rows() == 2 and len(top.groups) == 1


def test_key_index_without_key_columns_has_one_key():
    index = KeyIndex([])
    slots, new = index.lookup([], 3)
    assert slots.tolist() == [0, 0, 0] and new.tolist() == [True, False, False]  # new: its first row only
    slots, new = index.lookup([], 1)
    assert slots.tolist() == [0] and new.tolist() == [False] and len(index) == 1


def test_probe_watches_stateful_operators_only_and_keeps_their_peak():
    agg = GlobalAggregateOp("g", SCHEMA, ["k"], COUNT)
    idle = DistinctOp("d", SCHEMA, ["k"])
    probe = StateProbe(_stateless() + [agg, idle])
    assert [op.name for op in probe.watched] == ["g", "d"]
    agg.on_batch(0, _batch([1, 2], [1, 2], [1, 2]))
    probe.on_batch(0, _batch([], [], []))
    assert probe.peak == {"g": 2, "d": 0}  # an operator that kept nothing is still reported
