"""State you can see: peak state rows per operator in the run summary, and state that stays bounded
when the watermark lets it go. One million rows (generated with numpy) go through an interval
join and through a windowed aggregate; the peak state must not grow with the input (250k vs 1M).
No timing assertions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flowc.targets.local import run_local
from relational_support import program

US = 1_000_000


def _events(n: int, seed: int, key_name: str) -> pa.Table:
    """n rows, one per millisecond of event time with +-0.5 s of disorder, keys cycling over 10000."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * 1000 + rng.integers(-500_000, 500_000, n)
    return pa.table({key_name: pa.array(np.arange(n, dtype=np.int64) % 10_000),
                     "price": pa.array(rng.integers(1, 1000, n)),
                     "date_time": pa.array(t, pa.int64()).cast(pa.timestamp("us"))})


SOURCES = """
source bids (auction bigint, price bigint, date_time timestamp)
from parquet('bids.parquet') event_time date_time watermark 2s

source auctions (id bigint, price bigint, date_time timestamp)
from parquet('auctions.parquet') event_time date_time watermark 2s
"""


def _peak_state(tmp: Path, rows_total: int, view: str, name_part: str) -> tuple[int, str]:
    # both sides at the same event-time rate, so neither runs ahead of the other's watermark
    pq.write_table(_events(rows_total // 2, 1, "auction"), tmp / "bids.parquet")
    pq.write_table(_events(rows_total // 2, 2, "id"), tmp / "auctions.parquet")
    prog = program(tmp, SOURCES + view + "\n")
    result = run_local(prog, batch_size=10_000)
    peaks = {op: n for op, n in result.state.items() if name_part in op}
    assert len(peaks) == 1, result.state
    assert sum(s.rows_in for s in result.sources) == rows_total
    return next(iter(peaks.values())), result.summary()


@pytest.mark.parametrize("view,operator", [
    ("view v = bids | join auctions as a on auction = a.id and date_time between a.date_time - 1s "
     "and a.date_time + 2s", "interval_join"),
    ("view v = bids | window tumble(date_time, 10s) | aggregate n = count(), top = max(price) by auction",
     "aggregate"),
])
def test_peak_state_does_not_grow_with_the_input(tmp_path, view, operator):
    small_dir, big_dir = tmp_path / "small", tmp_path / "big"
    small_dir.mkdir()
    big_dir.mkdir()
    small, _ = _peak_state(small_dir, 250_000, view, operator)
    big, summary = _peak_state(big_dir, 1_000_000, view, operator)
    assert small > 0
    # bounded: the peak is what a few seconds of input hold (1000 rows per second per source), not
    # a share of the input; four times the input leaves it (nearly) where it was
    assert big < 60_000, summary
    assert big <= 1.3 * small, (small, big)
    assert f"peak {big} rows" in summary


def test_regular_join_state_grows_and_is_reported(tmp_path):
    """The contrast: a join without a time bound keeps every row (SEMANTICS §5), visibly."""
    pq.write_table(_events(20_000, 1, "auction"), tmp_path / "bids.parquet")
    pq.write_table(_events(20_000, 2, "id"), tmp_path / "auctions.parquet")
    prog = program(tmp_path, SOURCES + "view v = bids | join auctions as a on auction = a.id\n")
    result = run_local(prog, batch_size=5_000)
    (peak,) = [n for op, n in result.state.items() if "join" in op]
    assert peak == 40_000
    assert "state v.join" in result.summary()
