"""Joins on the local runtime (SEMANTICS §5): interval, window, regular and lookup joins, inner and
left, each compared with DataFusion over the same generated inputs at several batch sizes, plus
the runtime-level properties the comparison cannot see (when rows are emitted, what is kept)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.runtime.eventtime import END_OF_INPUT
from flowc.runtime.joins import IntervalJoinOp, JoinSpec, TimeBound, match_pairs
from flowc.runtime.operators import WEIGHT, Operator
from flowc.targets.local import compile_local, explain_local, run_local
from relational_support import (
    SOURCES,
    bids_and_auctions,
    consolidate,
    datafusion_view,
    local_view,
    negative_weights,
    program,
    write_csv,
)

SELLERS = """
table sellers (seller bigint, name string, tier string, primary key (seller)) from csv('sellers.csv')
"""

CASES = {
    "interval": "view v = bids | join auctions as a on auction = a.id "
                "and date_time between a.date_time and a.date_time + 10s",
    "interval_ge_le": "view v = bids | join auctions as a on a.id = auction "
                      "and a.date_time <= date_time + 2s and date_time - 8s <= a.date_time and price > 20",
    "interval_left": "view v = bids | left join auctions as a on auction = a.id "
                     "and date_time between a.date_time - 5s and a.date_time + 10s",
    "window": "view bw = bids | window tumble(date_time, 10s)\n"
              "view aw = auctions | window tumble(date_time, 10s)\n"
              "view v = bw | join aw as a on auction = a.id and window_start = a.window_start",
    "window_left_hop": "view bw = bids | window hop(date_time, size = 20s, slide = 10s)\n"
                       "view aw = auctions | window hop(date_time, size = 20s, slide = 10s)\n"
                       "view v = bw | left join aw as a on auction = a.id and window_start = a.window_start",
    "regular": "view v = bids | join auctions as a on auction = a.id",
    "regular_left": "view v = bids | left join auctions as a on auction = a.id and price > 50",
    "lookup": "view v = auctions | join sellers as s on seller = s.seller",
    "lookup_left": "view v = auctions | left join sellers as s on seller = s.seller and s.tier = 'gold'",
    "self_interval": "view v = bids | join bids as b on auction = b.auction "
                     "and date_time between b.date_time and b.date_time + 1s",
    "interval_on_renamed_time": "view a2 = auctions | select aid = id, at = date_time\n"
                                "view v = bids | join a2 as a on auction = a.aid and date_time between a.at - 2s "
                                "and a.at + 10s",
    "lookup_then_interval": "view v = auctions | join sellers as s on seller = s.seller "
                            "| join bids as b on id = b.auction and b.date_time between date_time and date_time + 10s",
    "table_as_rows": "view v = sellers | where tier = 'gold'",
    "join_then_aggregate": "view j = bids | join auctions as a on auction = a.id "
                           "and date_time between a.date_time and a.date_time + 10s\n"
                           "view v = j | window tumble(date_time, 20s) | aggregate n = count(), p = max(price) "
                           "by category",
}


@pytest.fixture
def data(tmp_path):
    bids_and_auctions(tmp_path)
    write_csv(tmp_path / "sellers.csv", ["seller", "name", "tier"],
              [[1, "ann", "gold"], [2, "bob", None], [3, "cy", "silver"], [5, "dee", "gold"]])
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_join_matches_datafusion_at_every_batch_size(data, case):
    prog = program(data, SOURCES + SELLERS + CASES[case] + "\n")
    expected = consolidate(datafusion_view(prog, "v"))
    assert sum(expected.values()) > (1 if case == "table_as_rows" else 5)  # the inputs exercise the join
    for batch_size in (1, 7, 10_000):
        got = local_view(prog, "v", batch_size)
        assert not negative_weights(got)
        assert consolidate(got) == expected, (case, batch_size)


def _plan_ops(prog):
    return compile_local(prog, 100).plan.operators


def test_joins_are_classified_by_condition_and_inputs(data):
    kinds = {}
    for case, body in CASES.items():
        ops = _plan_ops(program(data, SOURCES + SELLERS + body + "\n"))
        kinds[case] = [type(op).__name__ for op in ops if "Join" in type(op).__name__]
    assert kinds["interval"] == kinds["interval_left"] == kinds["interval_ge_le"] == ["IntervalJoinOp"]
    assert kinds["window"] == kinds["window_left_hop"] == ["WindowJoinOp"]
    assert kinds["regular"] == kinds["regular_left"] == ["RegularJoinOp"]
    assert kinds["lookup"] == kinds["lookup_left"] == ["LookupJoinOp"]
    assert kinds["self_interval"] == kinds["interval_on_renamed_time"] == ["IntervalJoinOp"]
    assert kinds["lookup_then_interval"] == ["LookupJoinOp", "IntervalJoinOp"]


def test_interval_bounds_read_from_the_condition(data):
    ops = _plan_ops(program(data, SOURCES + CASES["interval_ge_le"] + "\n"))
    (join,) = [op for op in ops if isinstance(op, IntervalJoinOp)]
    # a.date_time <= date_time + 2s  and  date_time - 8s <= a.date_time:  -2s <= l - r <= 8s
    assert join.bound == TimeBound("date_time", "a_date_time", -2_000_000, 8_000_000)


def test_interval_and_lookup_outputs_are_append_only_regular_left_is_a_changelog(data):
    for case in ("interval", "interval_left", "lookup_left", "window_left_hop"):
        got = local_view(program(data, SOURCES + SELLERS + CASES[case] + "\n"), "v", 7)
        assert "_op" not in got.column_names or set(got.column("_op").to_pylist()) <= {"+"}, case
    got = local_view(program(data, SOURCES + CASES["regular_left"] + "\n"), "v", 7)
    assert "-" in got.column("_op").to_pylist()  # a null-padded row retracted when its match came


def test_interval_join_state_is_evicted_and_reported(data):
    prog = program(data, SOURCES + CASES["interval"] + "\n")
    result = run_local(prog, batch_size=7)
    (peak,) = result.state.values()
    rows_in = sum(s.rows_in for s in result.sources)
    assert 0 < peak < rows_in / 3  # both sides' rows leave as the watermarks pass
    assert "state v.interval_join" in result.summary()
    text = explain_local(prog)
    assert "IntervalJoin v.interval_join" in text and "[0us, 10000000us]" in text and "state:" in text


def test_lookup_table_keeps_the_last_version_of_a_primary_key(tmp_path):
    bids_and_auctions(tmp_path)
    write_csv(tmp_path / "sellers.csv", ["seller", "name", "tier"],
              [[1, "old", "x"], [2, "bob", None], [1, "new", "gold"]])
    got = local_view(program(tmp_path, SOURCES + SELLERS + CASES["lookup"] + "\n"), "v", 3)
    names = {r["name"] for r in got.to_pylist() if r["seller"] == 1}
    assert names == {"new"}


def test_left_join_with_changelog_left_side_is_a_compile_error(data):
    text = SOURCES + ("view c = bids | aggregate n = count() by auction\n"
                      "view v = c | left join auctions as a on auction = a.id\n")
    with pytest.raises(UnsupportedFeature, match="left join whose left side is a changelog"):
        compile_local(program(data, text), 10)


def test_inner_join_of_a_changelog_multiplies_weights(data):
    text = SOURCES + ("view c = bids | aggregate n = count() by auction\n"
                      "view v = auctions | join c as c on id = c.auction\n")
    prog = program(data, text)
    expected = consolidate(datafusion_view(prog, "v"))
    for batch_size in (1, 10_000):
        got = local_view(prog, "v", batch_size)
        assert "-" in got.column("_op").to_pylist() or batch_size == 10_000
        assert consolidate(got) == expected


# ---------------------------------------------------------------- the runtime directly


class Collect(Operator):
    def __init__(self):
        super().__init__("collect", pa.schema([]))
        self.rows: list[dict] = []
        self.watermarks: list[int] = []

    def on_batch(self, port, batch):
        self.rows += batch.to_pylist()

    def on_watermark(self, port, ts):
        self.watermarks.append(ts)


def _side(keys, times):
    return pa.RecordBatch.from_pydict({"k": pa.array(keys, pa.int64()),
                                       "t": pa.array(times, pa.int64()).cast(pa.timestamp("us"))})


def _interval_op(kind):
    left = pa.schema([("k", pa.int64()), ("t", pa.timestamp("us"))])
    right = pa.schema([("r_k", pa.int64()), ("r_t", pa.timestamp("us"))])

    def condition(b):
        import pyarrow.compute as pc
        lt, rt = b.column("t").cast(pa.int64()), b.column("r_t").cast(pa.int64())
        return pc.and_(pc.equal(b.column("k"), b.column("r_k")),
                       pc.and_(pc.greater_equal(lt, rt), pc.less_equal(lt, pc.add(rt, 10))))

    spec = JoinSpec([("k", "k"), ("t", "t")], [("k", "r_k"), ("t", "r_t")], left, right,
                    [lambda b: b.column("k")], [lambda b: b.column("r_k")], condition, kind)
    op = IntervalJoinOp("j", spec, TimeBound("t", "r_t", 0, 10))
    out = Collect()
    op.connect(out)
    return op, out


def test_each_pair_once_whichever_side_comes_first():
    op, out = _interval_op("inner")
    op.on_batch(0, _side([1, 1], [100, 105]))    # left first
    op.on_batch(1, _side([1], [100]))            # matches both
    op.on_batch(1, _side([1], [98]))             # matches both again (100-98, 105-98 in [0, 10])
    op.on_batch(0, _side([1, 2], [108, 108]))    # matches right 100 and 98
    pairs = sorted((r["t"].microsecond, r["r_t"].microsecond) for r in out.rows)
    assert pairs == [(100, 98), (100, 100), (105, 98), (105, 100), (108, 98), (108, 100)]


def test_left_interval_join_pads_unmatched_rows_once_the_right_watermark_rules_out_a_match():
    op, out = _interval_op("left")
    op.on_batch(0, _side([1, 2], [100, 100]))
    op.on_batch(1, _side([1], [95]))
    assert [(r["k"], r["r_k"]) for r in out.rows] == [(1, 1)]
    op.on_watermark(1, 100)     # right rows at >= 100 can still match a left row at 100
    assert len(out.rows) == 1
    op.on_watermark(1, 101)     # now no right row can: k=2 leaves, padded; k=1 matched, leaves silently
    assert [(r["k"], r["r_k"]) for r in out.rows] == [(1, 1), (2, None)]
    assert op.state_rows() == 1  # the right row at 95 waits for the left watermark (95 + 10)
    op.on_watermark(0, 106)
    assert op.state_rows() == 0
    op.on_watermark(0, END_OF_INPUT)
    op.on_watermark(1, END_OF_INPUT)
    assert len(out.rows) == 2 and out.watermarks[-1] == END_OF_INPUT


def test_interval_join_output_watermark_waits_for_kept_rows():
    """Downstream windows must not close while a kept row can still produce output."""
    op, out = _interval_op("inner")
    op.on_batch(0, _side([1], [100]))
    op.on_watermark(0, 200)
    op.on_watermark(1, 95)
    # a right row at 95..100 can still pair with the left row at 100: output times >= 95
    assert out.watermarks[-1] <= 95


def test_match_pairs_is_sql_equality():
    li, ri = match_pairs([pa.array([1, None, 2, 2])], [pa.array([None, 2, 1], pa.int32())], 4, 3)
    assert list(zip(li.tolist(), ri.tolist(), strict=True)) == [(0, 2), (2, 1), (3, 1)]
    li, ri = match_pairs([], [], 2, 3)
    assert len(li) == 6  # no keys: every pair is a candidate


def test_regular_join_changelog_weights():
    from flowc.runtime.joins import RegularJoinOp
    left = pa.schema([("k", pa.int64())])
    right = pa.schema([("r_k", pa.int64())])
    spec = JoinSpec([("k", "k")], [("k", "r_k")], left, right, [lambda b: b.column("k")],
                    [lambda b: b.column("r_k")], None, "left")
    op = RegularJoinOp("j", spec, changelog=True)
    out = Collect()
    op.connect(out)
    op.on_batch(0, pa.RecordBatch.from_pydict({"k": pa.array([1], pa.int64())}))
    op.on_batch(1, pa.RecordBatch.from_pydict({"k": pa.array([1], pa.int64()), WEIGHT: pa.array([1], pa.int64())}))
    op.on_batch(1, pa.RecordBatch.from_pydict({"k": pa.array([1], pa.int64()), WEIGHT: pa.array([-1], pa.int64())}))
    assert [(r["r_k"], r[WEIGHT]) for r in out.rows] == [(None, 1), (1, 1), (None, -1), (1, -1), (None, 1)]
    assert np.sum([r[WEIGHT] for r in out.rows]) == 1
