"""Writes the Nexmark bids (as benchmarks/nexmark/*.flow generate them: seed, max_delay 1 s) once,
as parquet and csv, for the peer engines, and the row counts of q0, q2 and q7 that flowc's local
runtime gives over the same events, so each peer's output can be checked.

    .venv/bin/python benchmarks/peers/write_events.py --events 1000000 --dir /tmp/flowc-peers
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["auction", "bidder", "price", "date_time", "extra"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", default="/tmp/flowc-peers")
    a = ap.parse_args()
    from flowc.runtime.nexmark import NexmarkConfig, generate_table

    os.makedirs(a.dir, exist_ok=True)
    bids = generate_table("bid", NexmarkConfig(events=a.events, seed=a.seed, max_delay=1_000_000), COLUMNS)
    pq.write_table(bids, os.path.join(a.dir, "bid.parquet"))
    # csv with a millisecond text timestamp (every Nexmark time is whole milliseconds)
    ts = pc.utf8_slice_codeunits(pc.strftime(bids.column("date_time"), "%Y-%m-%d %H:%M:%S.%f"), 0, 23)
    pacsv.write_csv(bids.set_column(3, "date_time", ts), os.path.join(a.dir, "bid.csv"),
                    pacsv.WriteOptions(include_header=False))
    # expected results: flowc's local runtime on the same queries (checked against DataFusion by run.py)
    os.environ["NEXMARK_EVENTS"], os.environ["NEXMARK_SEED"] = str(a.events), str(a.seed)
    sys.path.insert(0, os.path.dirname(HERE))
    from run import worker_local

    expected = {"events": a.events, "bids": bids.num_rows}
    with tempfile.TemporaryDirectory() as tmp:
        for q in ("q0", "q2", "q7"):
            r = worker_local(q, 65_536, os.path.join(tmp, f"{q}.arrow"), None, False)
            expected[q] = {"rows": r["rows_out"], "flowc_local_s": round(r["proc_s"], 4)}
    with open(os.path.join(a.dir, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(json.dumps(expected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
