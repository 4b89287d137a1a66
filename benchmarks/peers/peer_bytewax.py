"""Nexmark q0, q2, q7 on Bytewax (one worker, `run_main`) over the bids written by write_events.py
(parquet, read with pyarrow and fed to Bytewax one row tuple at a time, its unit of data). Run with
the peers venv (`pip install bytewax`):

    /work/peers-venv/bin/python benchmarks/peers/peer_bytewax.py --dir /tmp/flowc-peers

q7 is a per-window fold (the max price and the bids carrying it) on an event-time tumbling window
with a 2 s watermark delay: the same result as the interval join, in Bytewax's own idiom.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq


def rows(path: str):
    for b in pq.ParquetFile(path).iter_batches(batch_size=65_536):
        cols = [c.to_pylist() for c in b.columns]  # date_time: naive datetimes
        yield from zip(*cols, strict=True)


def build(q: str, path: str, out: list):
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.operators import windowing as win
    from bytewax.testing import TestingSink, TestingSource

    flow = Dataflow(q)
    s = op.input("bids", flow, TestingSource(rows(path)))
    if q == "q0":
        s = op.map("select", s, lambda r: (r[0], r[1], r[2], r[3], r[4]))
    elif q == "q2":
        s = op.map("select", op.filter("where", s, lambda r: r[0] % 123 == 0), lambda r: (r[0], r[2]))
    else:
        keyed = op.key_on("all", s, lambda r: "all")
        clock = win.EventClock(lambda r: r[3].replace(tzinfo=UTC), wait_for_system_duration=timedelta(seconds=2))
        windower = win.TumblingWindower(length=timedelta(seconds=10),
                                        align_to=datetime(2015, 7, 15, tzinfo=UTC))

        def fold(acc, r):
            best, bids = acc
            if r[2] > best:
                return r[2], [r]
            if r[2] == best:
                bids.append(r)
            return acc

        def merge(a, b):
            return a if a[0] > b[0] else b if b[0] > a[0] else (a[0], a[1] + b[1])

        w = win.fold_window("max", keyed, clock, windower, lambda: (-1, []), fold, merge)
        s = op.flat_map("winners", w.down, lambda kv: [(r[0], r[2], r[1], r[3], r[4]) for r in kv[1][1][1]])
    op.output("out", s, TestingSink(out))
    return flow


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/flowc-peers")
    ap.add_argument("--queries", default="q0,q2,q7")
    a = ap.parse_args()
    from bytewax.testing import run_main

    path = os.path.join(a.dir, "bid.parquet")
    for q in a.queries.split(","):
        out: list = []
        flow = build(q, path, out)
        t = time.perf_counter()
        run_main(flow)
        secs = time.perf_counter() - t
        print(json.dumps({"engine": "bytewax", "query": q, "seconds": round(secs, 3), "rows": len(out)}), flush=True)


if __name__ == "__main__":
    main()
