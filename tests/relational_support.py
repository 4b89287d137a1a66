"""Helpers for the join and relational-stage tests: generated inputs, programs from .flow text,
running them on the local runtime and DataFusion, and consolidating changelogs."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import numpy as np
from flowc.compiler import ir
from flowc.targets.local import run_local

from flowc import pipeline

EPOCH = dt.datetime(2024, 1, 1)


def ts(seconds: float) -> str:
    return (EPOCH + dt.timedelta(seconds=float(seconds))).strftime("%Y-%m-%d %H:%M:%S.%f")


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


def bids_and_auctions(tmp: Path, seed: int = 1, n_bids: int = 400, n_auctions: int = 40) -> None:
    """bids.csv and auctions.csv: times roughly increasing with jitter (some rows late), keys that
    sometimes have no partner, a few null keys and null times."""
    rng = np.random.default_rng(seed)
    a_times = np.sort(rng.uniform(0, 200, n_auctions)) + rng.normal(0, 3, n_auctions)
    auctions = [[i, int(rng.integers(1, 5)), ["a", "b", "c"][i % 3], ts(t)] for i, t in enumerate(a_times)]
    auctions[5][3] = None  # a null event time
    b_times = np.sort(rng.uniform(0, 220, n_bids)) + rng.normal(0, 4, n_bids)
    bids = []
    for t in b_times:
        if rng.random() < 0.6:  # mostly a recent auction, so the time bounds matter
            auction = max(0, int(np.searchsorted(a_times, t)) - int(rng.integers(0, 3)))
        else:  # any auction, or one that does not exist
            auction = int(rng.integers(0, n_auctions + 5))
        bids.append([None if rng.random() < 0.02 else auction, int(rng.integers(1, 30)), int(rng.integers(1, 100)),
                     ["web", "app"][int(rng.integers(0, 2))], ts(t)])
    bids[17][4] = None
    write_csv(tmp / "bids.csv", ["auction", "bidder", "price", "channel", "date_time"], bids)
    write_csv(tmp / "auctions.csv", ["id", "seller", "category", "date_time"], auctions)


SOURCES = """
source bids (auction bigint, bidder bigint, price bigint, channel string, date_time timestamp)
from csv('bids.csv') event_time date_time watermark 5s

source auctions (id bigint, seller bigint, category string, date_time timestamp)
from csv('auctions.csv') event_time date_time watermark 5s
"""


def program(tmp: Path, text: str) -> ir.Program:
    path = tmp / "program.flow"
    path.write_text(text)
    return pipeline.to_ir(pipeline.load_program(str(path)))


def consolidate(table) -> Counter:
    """A view's contents as a multiset of rows (a changelog's `_op` summed as weights)."""
    rows = table.to_pylist()
    out: Counter = Counter()
    for r in rows:
        op = r.pop("_op", "+")
        key = tuple(sorted((k, _norm(v)) for k, v in r.items()))
        out[key] += 1 if op == "+" else -1
    return +out  # drops zero (and would hide negative) counts


def _norm(v):
    if isinstance(v, float):
        return round(v, 9)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


def negative_weights(table) -> bool:
    """Some row is retracted more often than inserted (a broken changelog)."""
    out: Counter = Counter()
    for r in table.to_pylist():
        op = r.pop("_op", "+")
        out[tuple(sorted(r.items()))] += 1 if op == "+" else -1
    return any(v < 0 for v in out.values())


def local_view(prog: ir.Program, view: str, batch_size: int):
    return run_local(prog, batch_size=batch_size, collect=True).tables[view]


def datafusion_view(prog: ir.Program, view: str):
    from flowc.targets.datafusion.runner import run_datafusion

    return run_datafusion(prog, collect=True).tables[view]
