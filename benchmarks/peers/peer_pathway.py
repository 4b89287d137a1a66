"""Nexmark q0, q2, q7 on Pathway (static mode: the csv read once, the dataflow run to completion)
over the bids written by write_events.py. Run with the peers venv (`pip install pathway`):

    /work/peers-venv/bin/python benchmarks/peers/peer_pathway.py --dir /tmp/flowc-peers

q7: a tumbling 10 s windowby with max(price), joined back to the bids on price and window. Each
query runs in its own process (Pathway keeps one global graph per process): pass --queries qN.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def run_one(q: str, d: str) -> dict:
    import pathway as pw

    class Bid(pw.Schema):
        auction: int
        bidder: int
        price: int
        date_time: str
        extra: str

    raw = pw.io.csv.read(os.path.join(d, "bid_header.csv"), schema=Bid, mode="static")
    if q == "q0":
        out = raw.select(pw.this.auction, pw.this.bidder, pw.this.price, pw.this.date_time, pw.this.extra)
    elif q == "q2":
        out = raw.filter(pw.this.auction % 123 == 0).select(pw.this.auction, pw.this.price)
    else:
        bids = raw.with_columns(t=pw.this.date_time.dt.strptime("%Y-%m-%d %H:%M:%S.%f"))
        maxes = bids.windowby(pw.this.t, window=pw.temporal.tumbling(duration=pw.Duration("10s"))).reduce(
            window_end=pw.this._pw_window_end, maxprice=pw.reducers.max(pw.this.price))
        j = bids.join(maxes, bids.price == maxes.maxprice).select(
            bids.auction, bids.price, bids.bidder, bids.t, bids.extra, maxes.window_end)
        out = j.filter((j.t >= j.window_end - pw.Duration("10s")) & (j.t <= j.window_end)).without(pw.this.window_end)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.csv")
        pw.io.csv.write(out, path)
        t = time.perf_counter()
        pw.run(monitoring_level=pw.MonitoringLevel.NONE)
        secs = time.perf_counter() - t
        with open(path) as f:
            rows = sum(1 for _ in f) - 1  # header
    return {"engine": "pathway", "query": q, "seconds": round(secs, 3), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/flowc-peers")
    ap.add_argument("--queries", default="q0,q2,q7")
    a = ap.parse_args()
    header = os.path.join(a.dir, "bid_header.csv")
    if not os.path.exists(header):  # Pathway's csv reader wants a header line
        with open(header, "w") as out, open(os.path.join(a.dir, "bid.csv")) as src:
            out.write("auction,bidder,price,date_time,extra\n")
            for chunk in iter(lambda: src.read(1 << 24), ""):
                out.write(chunk)
    queries = a.queries.split(",")
    if len(queries) == 1:
        print(json.dumps(run_one(queries[0], a.dir)), flush=True)
        return
    for q in queries:
        subprocess.run([sys.executable, __file__, "--dir", a.dir, "--queries", q], check=False, timeout=150)


if __name__ == "__main__":
    main()
