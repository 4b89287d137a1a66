"""Step tests for operators, in the spirit of Beam's TestStream: push rows, advance the watermark,
and check what the operator emitted at each step.

    stream = TestStream(op, schema, event_time="ts")          # watermark only when advanced
    stream.add([{"k": 1, "ts": 3 * S}])                       # -> rows emitted by this step
    stream.advance(10 * S)                                    # -> rows emitted by this step
    stream.end()                                              # the input ends: watermark +inf

or declaratively, with a readable failure that names the step:

    check_steps(stream, [Rows([...], expect=[]), Watermark(10 * S, expect=[...]), End(expect=[...])])

Lateness is decided as the executor's sources do (SEMANTICS.md section 1): with `event_time`, a row
is late iff its time is below the current watermark (strictly; a null time is late once there is a
watermark), and late rows are kept in `stream.late` instead of reaching the operator. The watermark
is the larger of the explicitly advanced one and, when `delay` is given, max(ts seen) - delay.

Emitted rows are dicts; a changelog's weight becomes `_op` ('+' / '-'); with `micros=True` (the
default) timestamp and date values are int microseconds since the epoch, like the rows going in.
Steps compare rows as multisets (emission order within a step is not part of the contract).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .eventtime import END_OF_INPUT, NO_WATERMARK, LatenessTracker, micros
from .operators import WEIGHT, Operator

Rowish = Sequence[dict] | pa.RecordBatch | pa.Table


class _Collector(Operator):
    def __init__(self, schema: pa.Schema):
        super().__init__("test collector", schema)
        self.batches: list[pa.RecordBatch] = []

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        self.batches.append(batch)


class TestStream:
    """Drives `operator` (its input `schemas`, one per port) step by step."""

    __test__ = False  # not a pytest test class

    def __init__(self, operator: Operator, schemas: pa.Schema | Sequence[pa.Schema], event_time: str | None = None,
                 delay: int | None = None, micros: bool = True):
        self.op = operator
        self.schemas = [schemas] if isinstance(schemas, pa.Schema) else list(schemas)
        if len(self.schemas) != operator.n_inputs:
            raise ValueError(f"{operator.name} has {operator.n_inputs} inputs, {len(self.schemas)} schemas given")
        self.event_time = event_time
        self.micros = micros
        n = len(self.schemas)
        self._trackers = [LatenessTracker(delay) if delay is not None and event_time else None for _ in range(n)]
        self._floor = [NO_WATERMARK] * n  # explicitly advanced watermark per port
        self._sent = [NO_WATERMARK] * n  # watermark last pushed into the operator per port
        self.late: list[dict] = []
        self._out = _Collector(operator.schema)
        operator.connect(self._out)

    # -- steps
    def add(self, rows: Rowish, port: int = 0) -> list[dict]:
        """Push rows (dicts, an Arrow batch or table) into `port`; returns what the operator emitted."""
        batch = self._batch(rows, port)
        if self.event_time is not None and batch.num_rows:
            ts, valid = micros(batch.column(self.event_time))
            tracker = self._trackers[port]
            derived = tracker.split(ts, valid) if tracker is not None else np.zeros(len(ts), dtype=bool)
            floor = self._floor[port]
            below = np.where(valid, ts < floor, floor != NO_WATERMARK) if floor != NO_WATERMARK else \
                np.zeros(len(ts), dtype=bool)
            late = derived | below
            if late.any():
                self.late += self._rows(batch.filter(pa.array(late)))
                batch = batch.filter(pa.array(~late))
        if batch.num_rows:
            self.op.on_batch(port, batch)
        self._push_watermark(port)
        return self._drain()

    def advance(self, watermark: int, port: int | None = None) -> list[dict]:
        """Advance the watermark of `port` (default: every port) to `watermark`."""
        for p in range(len(self.schemas)) if port is None else [port]:
            self._floor[p] = max(self._floor[p], watermark)
            self._push_watermark(p)
        return self._drain()

    def end(self, port: int | None = None) -> list[dict]:
        """The input of `port` (default: every input) ends: its watermark becomes +infinity."""
        return self.advance(END_OF_INPUT, port)

    def watermark(self, port: int = 0) -> int:
        tracker = self._trackers[port]
        derived = tracker.watermark if tracker is not None else NO_WATERMARK
        return max(self._floor[port], derived)

    # -- helpers
    def _push_watermark(self, port: int) -> None:
        wm = self.watermark(port)
        if wm > self._sent[port]:
            self._sent[port] = wm
            self.op.on_watermark(port, wm)

    def _batch(self, rows: Rowish, port: int) -> pa.RecordBatch:
        schema = self.schemas[port]
        if isinstance(rows, pa.Table):
            rows = rows.combine_chunks().to_batches()[0] if rows.num_rows else schema.empty_table().to_batches()
        if isinstance(rows, pa.RecordBatch):
            return rows
        if isinstance(rows, list) and not rows:
            return pa.RecordBatch.from_pylist([], schema=schema)
        if isinstance(rows, list):
            return pa.RecordBatch.from_arrays(
                [pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema],
                schema=schema)
        raise TypeError("rows are a list of dicts, an Arrow RecordBatch or a Table")

    def _drain(self) -> list[dict]:
        batches, self._out.batches = self._out.batches, []
        out: list[dict] = []
        for b in batches:
            out += self._rows(b)
        return out

    def _rows(self, batch: pa.RecordBatch) -> list[dict]:
        cols = {}
        for f, c in zip(batch.schema, batch.columns, strict=True):
            if f.name == WEIGHT:
                cols["_op"] = ["+" if w > 0 else "-" for w in c.to_pylist()]
            elif self.micros and (pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)):
                us, valid = micros(c)
                cols[f.name] = [int(v) if ok else None for v, ok in zip(us.tolist(), valid.tolist(), strict=True)]
            else:
                cols[f.name] = c.to_pylist()
        names = list(cols)
        return [dict(zip(names, vals, strict=True)) for vals in zip(*cols.values(), strict=True)] if names else []


# ---------------------------------------------------------------- declarative steps


@dataclass
class Rows:
    rows: Rowish
    expect: list[dict] = field(default_factory=list)
    port: int = 0


@dataclass
class Watermark:
    ts: int
    expect: list[dict] = field(default_factory=list)
    port: int | None = None


@dataclass
class End:
    expect: list[dict] = field(default_factory=list)
    port: int | None = None


def same_rows(got: list[dict], want: list[dict]) -> bool:
    """Equal as multisets of rows."""
    return _bag(got) == _bag(want)


def _bag(rows: list[dict]) -> Counter:
    return Counter(tuple(sorted(r.items())) for r in rows)


def check_steps(stream: TestStream, steps: Sequence[Rows | Watermark | End]) -> None:
    """Run the steps; raise AssertionError naming the first step whose output differs."""
    for i, step in enumerate(steps, start=1):
        if isinstance(step, Rows):
            got, what = stream.add(step.rows, step.port), f"rows {step.rows!r}"
        elif isinstance(step, Watermark):
            got, what = stream.advance(step.ts, step.port), f"watermark {step.ts}"
        else:
            got, what = stream.end(step.port), "end of input"
        if not same_rows(got, step.expect):
            missing = list((_bag(step.expect) - _bag(got)).elements())
            extra = list((_bag(got) - _bag(step.expect)).elements())
            raise AssertionError(f"step {i} ({what}): missing {[dict(r) for r in missing]}, "
                                 f"unexpected {[dict(r) for r in extra]}")
