"""The Nexmark generator (runtime/nexmark.py): the standard generator's structure, determinism,
independence from batch size and column choice, bounded out-of-orderness, and the connector on
the local and DataFusion targets."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from flowc.compiler.diagnostics import FlowError
from flowc.runtime import nexmark as nx
from flowc.targets.datafusion.runner import run_datafusion
from flowc.targets.local import run_local

from flowc.pipeline import parse_text, to_ir


def table(name: str, events: int = 20_000, columns=None, batch_size: int = 4096, **kw) -> pa.Table:
    cfg = nx.NexmarkConfig(events=events, **kw)
    cols = columns or nx.COLUMNS[name].names
    return pa.Table.from_batches(list(nx.generate(name, cfg, cols, batch_size)),
                                 pa.schema([nx.COLUMNS[name].field(c) for c in cols]))


def test_proportions_and_ids_follow_the_standard_generator():
    n = 50_000
    people, auctions, bids = table("person", n), table("auction", n), table("bid", n)
    assert (people.num_rows, auctions.num_rows, bids.num_rows) == (1_000, 3_000, 46_000)
    # persons and auctions are numbered from the first ids, one after the other
    assert people.column("id").to_pylist() == list(range(1000, 2000))
    assert auctions.column("id").to_pylist() == list(range(1000, 4000))
    # bids reference auctions and people that exist or are about to (the standard leads of 10)
    assert pc.min(bids.column("auction")).as_py() >= 1000
    assert pc.max(bids.column("auction")).as_py() <= 4000 + 10
    assert pc.max(bids.column("bidder")).as_py() <= 2000 + 10
    # hot auctions: about half of all bids go to the first auction of the last batch of 100
    hot = (bids.column("auction").to_numpy() - 1000) % 100 == 0
    assert 0.45 < hot.mean() < 0.6
    cats = set(auctions.column("category").to_pylist())
    assert cats == {10, 11, 12, 13, 14}
    assert set(people.column("state").to_pylist()) <= set(nx.US_STATES)


def test_event_times_prices_and_strings():
    bids = table("bid", 10_000)
    ts = bids.column("date_time").cast(pa.int64()).to_numpy()
    # 10 000 events/s by default: event n at base + n * 100us, in whole milliseconds
    assert ts[0] == nx.BASE_TIME_MS * 1000
    assert np.all(np.diff(ts) >= 0) and np.all(ts % 1000 == 0)
    assert ts[-1] - ts[0] <= 1_000_000
    price = bids.column("price").to_numpy()
    assert price.min() >= 100 and price.max() <= 100_000_000
    extra = pc.utf8_length(bids.column("extra")).to_numpy()
    assert extra.min() >= 54 and extra.max() < 82  # bid records average 100 bytes, +-20%
    hot = pc.is_in(bids.column("channel"), pa.array(nx.HOT_CHANNELS)).to_numpy(zero_copy_only=False)
    assert 0.45 < hot.mean() < 0.55
    people = table("person", 10_000)
    cards = people.column("credit_card").to_pylist()
    assert all(len(c) == 19 and c.replace(" ", "").isdigit() for c in cards)
    assert all(e.endswith(".com") and "@" in e for e in people.column("email_address").to_pylist())
    auctions = table("auction", 10_000)
    assert pc.all(pc.greater_equal(auctions.column("reserve"), auctions.column("initial_bid"))).as_py()
    assert pc.all(pc.greater(auctions.column("expires"), auctions.column("date_time"))).as_py()


def test_same_seed_same_events_other_seed_other_events():
    a, b = table("bid", 30_000, seed=7), table("bid", 30_000, seed=7)
    assert a.equals(b)
    c = table("bid", 30_000, seed=8)
    assert not a.column("price").equals(c.column("price"))
    # the ids and times are the standard generator's, whatever the seed
    assert a.column("date_time").equals(c.column("date_time"))


@pytest.mark.parametrize("max_delay", [0, 1_500_000])
def test_batch_size_and_column_choice_do_not_change_the_events(max_delay):
    whole = table("bid", 250_000, batch_size=1 << 20, max_delay=max_delay)
    small = table("bid", 250_000, batch_size=777, max_delay=max_delay)
    assert whole.equals(small)
    some = table("bid", 250_000, ["price", "auction"], batch_size=1000, max_delay=max_delay)
    assert some.equals(whole.select(["price", "auction"]))
    # a run of fewer events is a prefix of a longer one
    if max_delay == 0:
        assert table("bid", 120_000).equals(whole.slice(0, 110_400))


def test_max_delay_bounds_the_disorder():
    delay = 2_000_000
    bids = table("bid", 300_000, ["date_time"], max_delay=delay)
    ts = bids.column("date_time").cast(pa.int64()).to_numpy()
    behind = np.maximum.accumulate(ts) - ts
    assert behind.max() > 0  # some events do arrive late
    assert behind.max() <= delay  # but never more than max_delay behind the newest
    assert sorted(ts.tolist()) == sorted(table("bid", 300_000, ["date_time"]).column("date_time")
                                         .cast(pa.int64()).to_pylist())


def test_rate_spaces_event_times_and_paces():
    import time
    cfg = nx.NexmarkConfig(events=2_000, rate=20_000)  # 0.1 s of events
    t = time.perf_counter()
    rows = sum(b.num_rows for b in nx.generate("bid", cfg, ["date_time"], 500))
    assert rows == 1_840 and time.perf_counter() - t >= 0.08
    ts = table("bid", 2_000, ["date_time"], rate=1_000).column("date_time").cast(pa.int64()).to_numpy()
    assert ts[-1] - ts[0] >= 1_900_000  # 2000 events at 1000/s span about 2 s


def test_unknown_table_or_column_is_an_error():
    with pytest.raises(ValueError, match="table"):
        list(nx.generate("bids", nx.NexmarkConfig(events=10)))
    with pytest.raises(ValueError, match="no column 'prise'"):
        list(nx.generate("bid", nx.NexmarkConfig(events=10), ["prise"]))


PROGRAM = """
source bid (auction bigint, price bigint, date_time timestamp)
from nexmark(table = 'bid', events = 30000, seed = 5, max_delay = 1s)
event_time date_time watermark 2s

view top = bid
    | window tumble(date_time, 1s)
    | aggregate n = count(), top_price = max(price) by auction
"""


def _program(text: str):
    return to_ir(parse_text(text))


def test_connector_on_local_and_datafusion_gives_the_same_results():
    p = _program(PROGRAM)
    local = run_local(p, batch_size=1000, collect=True)
    df = run_datafusion(p, collect=True)
    assert local.sources[0].rows_in == df.sources[0].rows_in == 27_600
    assert local.sources[0].late == df.sources[0].late == 0
    cols = ["auction", "window_start", "n", "top_price"]
    a = local.tables["top"].select(cols).sort_by([(c, "ascending") for c in cols])
    b = df.tables["top"].select(cols).sort_by([(c, "ascending") for c in cols])
    assert a.num_rows > 0 and a.equals(b)


def test_connector_errors_name_the_problem():
    bad_col = PROGRAM.replace("price bigint", "prise bigint").replace("max(price)", "max(prise)")
    with pytest.raises(FlowError, match="no column 'prise'"):
        run_local(_program(bad_col))
    with pytest.raises(FlowError, match="nexmark table must be one of"):
        run_datafusion(_program(PROGRAM.replace("'bid'", "'bids'")))
    with pytest.raises(FlowError, match="'events' must be an integer"):
        run_local(_program(PROGRAM.replace("events = 30000", "events = 'many'")))
