"""distinct, top and union on the local runtime: compared with DataFusion and with a plain Python
reference over the on-time rows, at several batch sizes; plus what each emits and keeps."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.runtime.operators import Operator
from flowc.runtime.relational import DistinctOp, TopNOp, UnionOp, dedupe_last, group_rows
from flowc.targets.local import compile_local, explain_local, run_local
from relational_support import SOURCES, bids_and_auctions, consolidate, datafusion_view, local_view, program

CASES = {
    "distinct": "view v = bids | distinct auction",
    "distinct_two_keys": "view v = bids | where price > 10 | distinct channel, bidder",
    "top": "view v = bids | top 2 by price desc per auction",
    "top_asc_expr": "view v = bids | top 3 by price + bidder asc per channel",
    "top_global": "view v = bids | top 5 by price",
    "union": "view v = bids | select auction, date_time | union (auctions | select auction = id, date_time)",
    "union_then_window": "view v = bids | select auction, date_time "
                         "| union (auctions | select auction = id, date_time) "
                         "| window tumble(date_time, 10s) | aggregate n = count() by auction",
    "distinct_after_window": "view v = bids | window tumble(date_time, 30s) | distinct auction, window_start",
}


@pytest.fixture
def data(tmp_path):
    bids_and_auctions(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_datafusion_at_every_batch_size(data, case):
    prog = program(data, SOURCES + CASES[case] + "\n")
    expected = consolidate(datafusion_view(prog, "v"))
    assert sum(expected.values()) > 3
    for batch_size in (1, 7, 10_000):
        assert consolidate(local_view(prog, "v", batch_size)) == expected, (case, batch_size)


def _on_time_bids(data):
    """The bids SEMANTICS §1 calls on time (watermark 5 s), in arrival order: a plain loop."""
    import csv
    import datetime as dt
    rows, max_ts, delay = [], None, dt.timedelta(seconds=5)
    with open(data / "bids.csv") as f:
        for r in csv.DictReader(f):
            t = dt.datetime.fromisoformat(r["date_time"]) if r["date_time"] else None
            late = max_ts is not None and (t is None or t < max_ts - delay)
            if t is not None:
                max_ts = t if max_ts is None else max(max_ts, t)
            if not late:
                rows.append({"auction": int(r["auction"]) if r["auction"] else None, "bidder": int(r["bidder"]),
                             "price": int(r["price"]), "channel": r["channel"], "date_time": t})
    return rows


def test_distinct_is_the_first_row_per_key_in_arrival_order(data):
    prog = program(data, SOURCES + CASES["distinct"] + "\n")
    got = local_view(prog, "v", 7)
    first: dict = {}
    for r in _on_time_bids(data):
        first.setdefault(r["auction"], r)
    assert got.to_pylist() == list(first.values())  # append-only, in arrival order
    assert None in first  # null keys form one group


def test_top_retracts_displaced_rows_and_keeps_n_per_group(data):
    prog = program(data, SOURCES + CASES["top"] + "\n")
    got = local_view(prog, "v", 1)
    ops = Counter(got.column("_op").to_pylist())
    assert ops["-"] > 0 and ops["+"] == ops["-"] + sum(consolidate(got).values())
    per: Counter = Counter(dict(k)["auction"] for k, n in consolidate(got).items() for _ in range(n))
    assert max(per.values()) == 2
    best = {}
    for r in _on_time_bids(data):
        best.setdefault(r["auction"], []).append(r["price"])
    assert set(per) == set(best)
    for key, prices in best.items():
        kept = sorted((dict(k)["price"] for k, n in consolidate(got).items() if dict(k)["auction"] == key
                       for _ in range(n)), reverse=True)
        assert kept == sorted(prices, reverse=True)[:2]


def test_union_watermark_is_the_min_of_its_inputs():
    class Sink(Operator):
        def __init__(self):
            super().__init__("s", pa.schema([]))
            self.wm = []

        def on_batch(self, port, batch):
            pass

        def on_watermark(self, port, ts):
            self.wm.append(ts)

    u = UnionOp("u", pa.schema([("x", pa.int64())]))
    s = Sink()
    u.connect(s)
    u.on_watermark(0, 100)
    assert s.wm == []
    u.on_watermark(1, 50)
    u.on_watermark(1, 150)
    assert s.wm == [50, 100]


def test_distinct_over_a_changelog_is_a_compile_error(data):
    """(top over a changelog runs: tests/test_local_changelog_relational.py)"""
    text = SOURCES + "view c = bids | aggregate n = count() by auction\nview v = c | distinct auction\n"
    with pytest.raises(UnsupportedFeature, match="'distinct' over a changelog"):
        compile_local(program(data, text), 10)


def test_state_reported_and_explained(data):
    prog = program(data, SOURCES + CASES["distinct"] + "\n" + CASES["top"].replace("view v", "view w") + "\n")
    result = run_local(prog, batch_size=7)
    distinct = next(n for op, n in result.state.items() if "distinct" in op)
    top = next(n for op, n in result.state.items() if "top" in op)
    keys = len({r["auction"] for r in _on_time_bids(data)})
    assert distinct == keys
    assert keys < top <= 2 * keys
    text = explain_local(prog)
    assert "Distinct v.distinct" in text and "TopN w.top" in text and "2 desc per auction" in text


def test_kernels():
    groups, first = group_rows([pa.array(["a", None, "a", "b", None]), pa.array([1, 2, 1, 1, 2])], 5)
    assert groups.tolist() == [0, 1, 0, 2, 1] and first.tolist() == [0, 1, 3]
    t = pa.table({"k": [1, 2, 1, 3, 2], "v": ["a", "b", "c", "d", "e"]})
    assert dedupe_last(t, ["k"]).to_pydict() == {"k": [1, 3, 2], "v": ["c", "d", "e"]}
    d = DistinctOp("d", pa.schema([("k", pa.int64())]), ["k"])
    assert d.state_rows() == 0
    top = TopNOp("t", pa.schema([("k", pa.int64()), ("v", pa.int64())]), 1, lambda b: b.column("v"), pa.int64(),
                 True, ["k"])
    top.on_batch(0, pa.RecordBatch.from_pydict({"k": [1, 1, 2], "v": [None, 3, 4]}))
    # nulls last either way: the row with a value wins
    assert sorted(top.kept.column("v").to_pylist()) == [3, 4]


def test_nan_keys_form_one_group_across_batches(tmp_path):
    """NaN is one key for distinct, top's per and grouping, as in DataFusion and PostgreSQL (a Python
    dict alone would make every NaN a new key, since NaN != NaN)."""
    (tmp_path / "s.csv").write_text("x,v\nnan,1\n1.5,2\nnan,3\nNaN,4\n1.5,5\n")
    prog = program(tmp_path, "source s (x double, v bigint) from csv('s.csv')\n"
                             "view d = s | distinct x\n"
                             "view g = s | aggregate n = count() by x\n"
                             "view t = s | top 1 by v per x\n")

    def spelled(table) -> Counter:
        out: Counter = Counter()
        for r in table.to_pylist():
            weight = -1 if r.pop("_op", "+") == "-" else 1
            out[tuple("NaN" if v != v else v for v in r.values())] += weight
        return +out

    want = {"d": {("NaN", 1): 1, (1.5, 2): 1}, "g": {("NaN", 3): 1, (1.5, 2): 1},
            "t": {("NaN", 4): 1, (1.5, 5): 1}}
    for view, rows in want.items():
        assert spelled(datafusion_view(prog, view)) == rows, view
        for batch_size in (1, 2, 10_000):
            assert spelled(local_view(prog, view, batch_size)) == rows, (view, batch_size)
