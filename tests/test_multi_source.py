"""Several sources: an operator with several inputs has the min of their watermarks; a bounded source
that has ended (watermark +inf) no longer holds the others back (SEMANTICS.md section 1)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from flowc.runtime.aggregate import AggSpec, WindowAggregateOp
from flowc.runtime.eventtime import END_OF_INPUT, NO_WATERMARK
from flowc.runtime.executor import Plan, SourceNode
from flowc.runtime.io import rebatch
from flowc.runtime.operators import Operator, SinkOp
from flowc.runtime.testing import TestStream
from flowc.runtime.windows import WindowDef

from flowc.pipeline import parse_text, run, to_ir

S = 1_000_000
SCHEMA = pa.schema([("k", pa.int64()), ("ts", pa.timestamp("us"))])


def memory_source(name, times, delay=0, event_time="ts"):
    table = pa.table({"k": [1] * len(times), "ts": pa.array(times, pa.timestamp("us"))}, schema=SCHEMA)

    def open_(batch_size):
        return rebatch(table.to_batches(), batch_size, SCHEMA)

    return SourceNode(name, SCHEMA, open_, event_time=event_time, delay=delay)


class Probe(Operator):
    """A two-input operator that records its watermarks as they move."""

    def __init__(self):
        super().__init__("probe", SCHEMA, n_inputs=2)
        self.log: list[tuple[int, int, int]] = []  # (input 0, input 1, own) at each advance
        self.input_log: list[tuple[int, int]] = []
        self.rows = [0, 0]

    def on_batch(self, port, batch):
        self.rows[port] += batch.num_rows

    def input_advanced(self, port, ts):
        self.input_log.append((port, ts))

    def advance(self, watermark):
        self.log.append((self.input_watermark(0), self.input_watermark(1), watermark))


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_min_of_inputs_and_a_finished_source_stops_holding_back(batch_size):
    short = memory_source("short", [1 * S, 2 * S, 3 * S])
    long = memory_source("long", [i * S for i in range(1, 21)])
    probe = Probe()
    short.connect(probe, 0)
    long.connect(probe, 1)
    Plan([short, long], [], batch_size).run()
    assert probe.rows == [3, 20]
    for a, b, own in probe.log:
        assert own == min(a, b)
    # once `short` has ended (+inf), the probe follows `long` alone, before `long` ends
    after = [own for a, _, own in probe.log if a == END_OF_INPUT]
    assert after[0] < END_OF_INPUT and after[-1] == END_OF_INPUT
    assert 20 * S in after
    assert (0, END_OF_INPUT) in probe.input_log  # the per-input hook saw the short side end


def test_a_source_without_event_time_holds_the_watermark_until_it_ends():
    timed = memory_source("timed", [i * S for i in range(1, 11)])
    untimed = memory_source("untimed", [0] * 30, event_time=None)
    probe = Probe()
    timed.connect(probe, 0)
    untimed.connect(probe, 1)
    Plan([timed, untimed], [], 1).run()
    # the untimed source has no watermark (-inf) until its end, after the timed one has ended
    assert [own for *_, own in probe.log] == [END_OF_INPUT]


def test_connect_checks_the_port():
    with pytest.raises(ValueError, match="no input port 2"):
        memory_source("a", [1]).connect(Probe(), 2)


def test_test_stream_drives_multi_input_operators():
    probe = Probe()
    stream = TestStream(probe, [SCHEMA, SCHEMA], event_time="ts")
    stream.advance(5 * S, port=0)
    assert probe.watermark == NO_WATERMARK
    stream.advance(3 * S, port=1)
    assert probe.watermark == 3 * S
    stream.end(port=1)
    assert probe.watermark == 5 * S
    stream.end()
    assert probe.watermark == END_OF_INPUT


@pytest.mark.parametrize("batch_size", [1, 3, 10_000])
def test_windows_of_the_long_source_close_while_it_runs(batch_size):
    """Two sources of different lengths feed their own windowed views: the short one ending closes
    all of its windows; the long one keeps closing windows on its own watermark."""
    short = memory_source("short", [1 * S, 12 * S])
    long = memory_source("long", [i * S for i in range(0, 60, 3)])
    sinks = []
    emitted_at = []
    for src in (short, long):
        agg = WindowAggregateOp(f"{src.name}.agg", SCHEMA, ["k"], [AggSpec("n", "count", None, pa.int64())], "ts",
                                WindowDef.tumble(10 * S), pa.timestamp("us"))
        sink = SinkOp(f"{src.name}.sink", agg.schema, collect=True)
        src.connect(agg)
        agg.connect(sink)
        sinks.append(sink)

    class Spy(Operator):
        def on_batch(self, port, batch):
            emitted_at.append((long.watermark, batch.num_rows))

    spy = Spy("spy", sinks[1].schema)
    long.outputs[0][0].connect(spy)
    Plan([short, long], sinks, batch_size).run()
    counts = [sorted(r["n"] for r in s.table().to_pylist()) for s in sinks]
    assert counts == [[1, 1], [3, 3, 3, 3, 4, 4]]
    assert any(wm < END_OF_INPUT for wm, _ in emitted_at)  # closed before the long source ended


def test_two_file_sources_of_different_lengths_on_local_and_datafusion(tmp_path):
    (tmp_path / "a.csv").write_text("k,ts\n1,2026-03-01 00:00:01\n1,2026-03-01 00:00:11\n")
    (tmp_path / "b.csv").write_text("k,ts\n" + "".join(f"2,2026-03-01 00:00:{i:02d}\n" for i in range(0, 60, 2)))
    text = """
source a (k bigint, ts timestamp) from csv('a.csv') event_time ts watermark 0s
source b (k bigint, ts timestamp) from csv('b.csv') event_time ts watermark 0s
view va = a | window tumble(ts, 10s) | aggregate n = count() by k | emit final
view vb = b | window tumble(ts, 10s) | aggregate n = count() by k | emit final
sink va into csv('out/va.csv')
sink vb into csv('out/vb.csv')
"""
    prog = to_ir(parse_text(text, str(tmp_path / "p.flow")))
    results = {}
    for target, bs in [("local", 1), ("local", 4), ("datafusion", 0)]:
        res = run(prog, target, batch_size=bs or 10_000, collect=True)
        results[(target, bs)] = {v: sorted(t.column("n").to_pylist()) for v, t in res.tables.items()}
    assert results[("local", 1)] == {"va": [1, 1], "vb": [5] * 6}
    assert len({str(v) for v in results.values()}) == 1
