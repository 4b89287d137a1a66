"""Nexmark q0, q2, q7 on PyFlink (a local mini-cluster, parallelism 1, streaming mode) over the bids
written by write_events.py (csv). Run with the peers venv (`pip install apache-flink`; Java 17):

    /work/peers-venv/bin/python benchmarks/peers/peer_pyflink.py --dir /tmp/flowc-peers

Prints one JSON line per query: seconds from job submission to its end (the job's own time; the
JVM start and planning are reported apart), and the output row count.
"""

from __future__ import annotations

import argparse
import json
import os
import time

DDL = """CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, date_time TIMESTAMP(3), extra STRING,
  WATERMARK FOR date_time AS date_time - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv')"""

QUERIES = {
    "q0": "SELECT auction, bidder, price, date_time, extra FROM bid",
    "q2": "SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0",
    "q7": """SELECT B.auction, B.price, B.bidder, B.date_time, B.extra FROM bid B
JOIN (SELECT MAX(price) AS maxprice, window_end AS date_time
      FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
      GROUP BY window_start, window_end) B1
ON B.price = B1.maxprice
WHERE B.date_time BETWEEN B1.date_time - INTERVAL '10' SECOND AND B1.date_time""",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/flowc-peers")
    ap.add_argument("--queries", default="q0,q2,q7")
    a = ap.parse_args()
    t0 = time.perf_counter()
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.get_config().set("parallelism.default", "1")
    env.execute_sql(DDL.format(path=os.path.join(a.dir, "bid.csv")))
    print(json.dumps({"engine": "pyflink", "startup_s": round(time.perf_counter() - t0, 2)}), flush=True)
    for q in a.queries.split(","):
        sink = f"out_{q}"
        cols = env.sql_query(QUERIES[q]).get_schema()
        fields = ", ".join(f"`{n}` {t}" for n, t in zip(cols.get_field_names(), cols.get_field_data_types(),
                                                        strict=True))
        # timed into a blackhole sink (no output cost); small outputs are then collected to count them
        env.execute_sql(f"CREATE TABLE {sink} ({fields}) WITH ('connector' = 'blackhole')")
        t = time.perf_counter()
        env.execute_sql(f"INSERT INTO {sink} {QUERIES[q]}").wait()
        secs = time.perf_counter() - t
        rows = None
        if q != "q0":  # small outputs: collected to count them (timed apart)
            with env.sql_query(QUERIES[q]).execute().collect() as results:
                rows = sum(1 for _ in results)
        print(json.dumps({"engine": "pyflink", "query": q, "seconds": round(secs, 3), "rows": rows}), flush=True)


if __name__ == "__main__":
    main()
