"""Windows (tumble, hop, session; with offsets) on timestamp, timestamptz and date event times, in
both emit modes, plus non-windowed aggregates: the local runtime at several batch sizes and the
DataFusion target give the same consolidated results, and `emit final` equals the consolidated
`emit changes` of the same view (SEMANTICS.md sections 2-4)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest

from flowc.pipeline import parse_text, run, to_ir

WINDOWS = {
    "tumble": "window tumble({col}, {size})",
    "tumble_offset": "window tumble({col}, {size}, offset = {offset})",
    "hop": "window hop({col}, size = {size}, slide = {slide})",
    "hop_offset": "window hop({col}, size = {size}, slide = {slide}, offset = {offset})",
    "session": "window session({col}, gap = {gap})",
}
# per type of the window's time column: durations. A date column cannot be an event time, and a
# pipeline with an event time windows on it only (both compile errors of the language), so the
# date case has no event time: its windows close at end of input and nothing is late.
UNITS = {
    "timestamp": dict(col="ts", size="10s", slide="5s", offset="3s", gap="4s"),
    "timestamptz": dict(col="ts", size="10s", slide="5s", offset="3s", gap="4s"),
    "date": dict(col="d", size="7d", slide="1d", offset="2d", gap="3d"),
}


def write_input(tmp, ttype: str) -> None:
    """Rows with out-of-order times (some late), a null price every few rows, and keys 1..3."""
    rng = np.random.default_rng(11)
    n = 80
    base = np.arange(n) * 3 + rng.integers(-9, 10, n)
    lines = ["k,ts,d,price"]
    t0 = dt.datetime(2026, 3, 1, 12, 0, 0)
    for i, b in enumerate(base.tolist()):
        d = (t0.date() + dt.timedelta(days=b // 3)).isoformat()
        if ttype == "timestamptz":
            # the same instants written with different zones: windows are on UTC
            t = (t0 + dt.timedelta(seconds=b, hours=2)).isoformat(sep=" ") + "+02:00" if i % 2 else \
                (t0 + dt.timedelta(seconds=b, microseconds=250)).isoformat(sep=" ") + "Z"
        else:
            t = (t0 + dt.timedelta(seconds=b, microseconds=i)).isoformat(sep=" ")
        price = "" if i % 9 == 4 else str(int(rng.integers(1, 100)))
        if i in (0, 40):  # null times: the first is on time (no watermark yet), the other late
            t = d = ""
        lines.append(f"{1 + i % 3},{t},{d},{price}")
    (tmp / "in.csv").write_text("\n".join(lines) + "\n")


def program(tmp, ttype: str, window: str | None, emit: str):
    u = UNITS[ttype]
    stage = f"    | {WINDOWS[window].format(**u)}\n" if window else ""
    text = f"""
source s (k bigint, ts {"timestamptz" if ttype == "timestamptz" else "timestamp"}, d date, price bigint)
from csv('in.csv') {"" if ttype == "date" else "event_time ts watermark 6s"}
view v = s
{stage}    | aggregate n = count(), total = sum(price), hi = max(price) by k
    | emit {emit}
sink v into csv('out/v.csv')
"""
    return to_ir(parse_text(text, str(tmp / "p.flow")))


def consolidated(table) -> Counter:
    c: Counter = Counter()
    for r in table.to_pylist():
        w = -1 if r.pop("_op", "+") == "-" else 1
        c[tuple(sorted((k, _norm(v)) for k, v in r.items()))] += w
    return Counter({k: v for k, v in c.items() if v > 0})


def _norm(v):
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    return v


@pytest.mark.parametrize("window", [*WINDOWS, None])
@pytest.mark.parametrize("ttype", list(UNITS))
def test_local_and_datafusion_agree_and_final_is_consolidated_changes(tmp_path, ttype, window):
    write_input(tmp_path, ttype)
    results = {}
    late = set()
    # an aggregate without a window cannot be `emit final` (a compile error, F0208)
    for emit in ("final", "changes") if window else ("changes",):
        prog = program(tmp_path, ttype, window, emit)
        for target, bs in (("local", 1), ("local", 7), ("local", 10_000), ("datafusion", None)):
            res = run(prog, target, batch_size=bs or 10_000, collect=True)
            results[(emit, target, bs)] = consolidated(res.tables["v"])
            late.add(res.sources[0].late)
            if emit == "final":
                assert "_op" not in res.tables["v"].column_names
    assert len(late) == 1  # the same rows are late everywhere
    assert (late.pop() > 0) == (ttype != "date")
    want = results[("final" if window else "changes", "local", 10_000)]
    assert want
    for key, got in results.items():
        assert got == want, f"{key} differs: missing {list((want - got).items())[:3]}, " \
                            f"extra {list((got - want).items())[:3]}"
