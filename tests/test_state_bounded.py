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


# Nexmark q5's shape: a hop aggregate, a tumble on its window_start, and a join of the two on
# window_start. window_start trails the watermark by the hop's size (10 s), so the tumble closes at
# watermark - 10 s and the join drops a window's rows once the other side is 10-12 s past it.
Q5_LIKE = """
view auction_bids = bids | window hop(date_time, size = 10s, slide = 2s) | aggregate num = count() by auction
view max_bids = auction_bids | window tumble(window_start, 2s) | aggregate maxn = max(num)
view v = auction_bids | join max_bids as m on window_start = m.window_start and num >= m.maxn
"""


def _q5_like_state(tmp: Path, rows_total: int) -> tuple[dict[str, int], str]:
    pq.write_table(_events(rows_total // 2, 1, "auction"), tmp / "bids.parquet")
    pq.write_table(_events(rows_total // 2, 2, "id"), tmp / "auctions.parquet")
    result = run_local(program(tmp, SOURCES + Q5_LIKE), batch_size=10_000)
    assert sum(s.rows_in for s in result.sources) == rows_total
    return result.state, result.summary()


def test_window_on_window_start_and_its_join_keep_bounded_state(tmp_path):
    (tmp_path / "small").mkdir()
    (tmp_path / "big").mkdir()
    small, _ = _q5_like_state(tmp_path / "small", 250_000)
    big, summary = _q5_like_state(tmp_path / "big", 1_000_000)
    # the tumble on window_start closes on the watermark, and the join is an interval join on it
    assert any("max_bids.aggregate" in op for op in big), big
    assert any("interval_join" in op for op in big), big
    for op, peak in big.items():
        assert peak > 0, (op, big)
        # a few windows' rows (1000 bids a second), not a share of the 500k bids
        assert peak < 60_000, summary
        assert peak <= 1.3 * small[op], (op, small, big)


LAGGED = {
    "q5": Q5_LIKE.replace("view v = auction_bids | join", "view v = auction_bids | left join"),
    "sizes": """
view a = bids | window tumble(date_time, 10s) | aggregate n = count() by auction
view b = bids | window tumble(date_time, 20s) | aggregate m = count() by auction
view v = a | join b as b on window_start = b.window_start and auction = b.auction
""",
    "session": """
view a = bids | window tumble(date_time, 5s) | aggregate n = count() by auction
view v = a | window session(window_start, 12s) | aggregate s = sum(n) by auction
""",
    "shifted": """
view a = bids | window tumble(date_time, 5s) | aggregate n = count() by auction
view v = a | select auction, n, t = window_start + 3s | window tumble(t, 10s) | aggregate s = sum(n)
""",
    "nested": """
view a = bids | window tumble(date_time, 2s) | aggregate n = count() by auction
view b = a | window tumble(window_start, 6s) | aggregate m = sum(n) by auction
view c = b | window tumble(window_start, 12s) | aggregate k = max(m)
view v = b | join c as c on window_start = c.window_start and m = c.k
""",
}


@pytest.mark.parametrize("case", sorted(LAGGED))
def test_operators_on_lagged_time_columns_match_datafusion(tmp_path, case):
    """Windows closed at watermark - lag and joins evicting by it give DataFusion's rows (a lag too
    small drops rows here: the inputs are out of order, with late and null times)."""
    from relational_support import SOURCES as RELATIONAL_SOURCES
    from relational_support import bids_and_auctions, consolidate, datafusion_view, local_view

    bids_and_auctions(tmp_path, seed=3)
    prog = program(tmp_path, RELATIONAL_SOURCES + LAGGED[case])
    want = consolidate(datafusion_view(prog, "v"))
    assert sum(want.values()) > 0
    for batch_size in (7, 50, 1000):
        assert consolidate(local_view(prog, "v", batch_size)) == want, batch_size
