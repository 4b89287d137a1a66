"""Runs a plan: reads the sources in batches, decides lateness per row, pushes on-time rows and then
the watermark through the operators, and closes everything at end of input."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from .eventtime import END_OF_INPUT, NO_WATERMARK, LatenessTracker, micros
from .io import Writer
from .operators import Operator, SinkOp


class SourceNode(Operator):
    """A source: `open(batch_size)` yields its batches in arrival order.

    With `event_time`, rows behind the watermark are late: written unchanged to `late_writer` or
    only counted. Without it, there is no watermark until end of input. Bad records the reader left
    out (`on_error skip / into`) arrive at `bad_records`: counted in `skipped`, and written to
    `error_writer` when there is one.
    """

    n_inputs = 0

    def __init__(self, name: str, schema: pa.Schema, open: Callable[[int], Iterator[pa.RecordBatch]],
                 event_time: str | None = None, delay: int | None = None, late_writer: Writer | None = None):
        super().__init__(name, schema)
        self._in_wm = []
        self.open = open
        self.event_time = event_time
        self.lateness = LatenessTracker(delay or 0) if event_time is not None else None
        self.late_writer = late_writer
        self.error_writer: Writer | None = None
        self.rows_in = 0
        self.late = 0
        self.skipped = 0

    def push(self, batch: pa.RecordBatch) -> None:
        self.rows_in += batch.num_rows
        if self.lateness is None:
            self.emit(batch)
            return
        ts, valid = micros(batch.column(self.event_time))
        late = self.lateness.split(ts, valid)
        n_late = int(late.sum())
        if n_late:
            self.late += n_late
            if self.late_writer is not None:
                self.late_writer.write(batch.filter(pa.array(late)))
            batch = batch.filter(pa.array(~late))
        self.emit(batch)
        wm = self.lateness.watermark
        if wm != NO_WATERMARK and wm > self.watermark:
            self._advance_to(wm)

    def bad_records(self, batch: pa.RecordBatch) -> None:
        """The reader's callback for records it left out (a batch of `records.error_schema`)."""
        self.skipped += batch.num_rows
        if self.error_writer is not None:
            self.error_writer.write(batch)

    def finish(self) -> None:
        """End of a bounded input: the watermark becomes +infinity, so this source no longer holds
        back operators that also read other, longer sources (their watermark is the min)."""
        self._advance_to(END_OF_INPUT)

    def _advance_to(self, wm: int) -> None:
        self.watermark = wm
        for op, p in self.outputs:
            op.on_watermark(p, wm)

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        raise TypeError("a source has no input")


@dataclass
class RunStats:
    elapsed: float = 0.0
    sources: list[SourceNode] = field(default_factory=list)
    sinks: list[SinkOp] = field(default_factory=list)


@dataclass
class Plan:
    """Sources wired to operators wired to sinks. `run` executes it once."""

    sources: list[SourceNode]
    sinks: list[SinkOp]
    batch_size: int = 10_000
    operators: list[Operator] = field(default_factory=list)  # for explain/inspection only

    def run(self) -> RunStats:
        start = time.perf_counter()
        done = False
        try:
            iterators = [(s, s.open(self.batch_size)) for s in self.sources]
            # round-robin over sources, one batch each, as a streaming engine would interleave them
            while iterators:
                still = []
                for src, it in iterators:
                    batch = next(it, None)
                    if batch is None:
                        src.finish()
                    else:
                        src.push(batch)
                        still.append((src, it))
                iterators = still
            done = True
        finally:
            # a complete run commits every file at once; a failed or interrupted one keeps none of
            # its output, and the previous files stay as they were (io.AtomicFile)
            writers = [w for s in self.sources for w in (s.late_writer, s.error_writer) if w is not None]
            _finish(writers + list(self.sinks), done)
        return RunStats(time.perf_counter() - start, list(self.sources), list(self.sinks))


def _finish(writers: list, done: bool) -> None:
    """Close (commit) every writer of a complete run, abort every one of a failed run. A commit that
    fails (a server gone) aborts the writers not yet closed, then raises."""
    failure: BaseException | None = None
    for w in writers:
        if done and failure is None:
            try:
                w.close()
            except BaseException as e:  # noqa: BLE001 - re-raised below, after the others are aborted
                failure = e
        else:
            w.abort()
    if failure is not None:
        raise failure

