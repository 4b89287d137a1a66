"""Push-based operators over Arrow record batches.

An operator receives `on_batch(port, batch)` and `on_watermark(port, ts)` and pushes its results to
the operators connected to its output. Batches of a changelog stream carry the int64 WEIGHT column
(+1 insert, -1 retract) last, as Feldera's Z-sets; stateless operators pass it through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import EvaluationError
from .eventtime import END_OF_INPUT, NO_WATERMARK, micros
from .windows import WindowDef

WEIGHT = "__weight"

# an expression compiled by a target: a batch in, one value per row out (array or scalar)
BatchFn = Callable[[pa.RecordBatch], pa.Array | pa.Scalar]


def is_changelog(schema: pa.Schema) -> bool:
    return schema.get_field_index(WEIGHT) >= 0


def shift(watermark: int, delta: int | None) -> int:
    """watermark + delta, keeping the infinities: with no delta (an unbounded side of the
    condition), only the end of input lets go."""
    if watermark in (NO_WATERMARK, END_OF_INPUT):
        return watermark
    if delta is None:
        return NO_WATERMARK
    return max(NO_WATERMARK + 1, min(END_OF_INPUT - 1, watermark + delta))


def lagged(watermark: int, lag: int | None) -> int:
    """The watermark of a column that trails the stream's watermark by `lag` microseconds: every
    later row has column >= watermark - lag. None: the column has no such bound, so only the end of
    input lets a window on it close."""
    return shift(watermark, None if lag is None else -lag)


class Operator:
    """Base: output wiring and watermark bookkeeping.

    An operator has `n_inputs` input ports (a class attribute, or the `n_inputs` argument for
    operators such as union whose arity varies). Upstream operators `connect(self, port)`; each port
    gets batches and watermarks separately. A port's watermark never goes back; the operator's
    watermark is the min over its ports (SEMANTICS.md section 1), so an input that has not produced
    a watermark yet (NO_WATERMARK) holds the operator back, and a bounded input that has ended
    (END_OF_INPUT) no longer does. Hooks for subclasses:

    - `on_batch(port, batch)`: rows arrived on `port`.
    - `input_advanced(port, ts)`: that port's watermark moved to ts (called before `advance`, even
      when the min did not move: a join purges one side's state on the *other* side's watermark).
    - `advance(watermark)`: the operator's (min) watermark moved forward; close windows here.
    - `state_rows()`: how many rows a stateful operator keeps now (0 for stateless ones).
    `input_watermark(port)` reads a port's current watermark.
    """

    n_inputs = 1

    def __init__(self, name: str, schema: pa.Schema, n_inputs: int | None = None):
        if n_inputs is not None:
            self.n_inputs = n_inputs
        self.name = name
        self.schema = schema  # of the batches this operator emits
        self.outputs: list[tuple[Operator, int]] = []
        self._in_wm = [NO_WATERMARK] * self.n_inputs
        self.watermark = NO_WATERMARK

    def connect(self, downstream: Operator, port: int = 0) -> Operator:
        if not 0 <= port < downstream.n_inputs:
            raise ValueError(f"{downstream.name} has no input port {port}")
        self.outputs.append((downstream, port))
        return downstream

    def input_watermark(self, port: int) -> int:
        return self._in_wm[port]

    # -- pushed in
    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        raise NotImplementedError

    def on_watermark(self, port: int, ts: int) -> None:
        if ts <= self._in_wm[port]:
            return
        self._in_wm[port] = ts
        self.input_advanced(port, ts)
        combined = min(self._in_wm)
        if combined > self.watermark:
            self.watermark = combined
            self.advance(combined)
            for op, p in self.outputs:
                op.on_watermark(p, combined)

    def input_advanced(self, port: int, ts: int) -> None:
        """Hook: input `port`'s watermark moved to ts (the operator's own may not have)."""

    def advance(self, watermark: int) -> None:
        """Hook: the watermark moved forward (stateful operators close windows here)."""

    # -- state
    def state_rows(self) -> int:
        """Rows (or groups, for running aggregates) the operator keeps right now. An operator that keeps
        state between batches overrides this; the others keep none."""
        return 0

    @property
    def keeps_state(self) -> bool:
        """Whether the operator keeps state between batches: such operators answer `state_rows`
        themselves (the state probe reports them even while they hold nothing)."""
        return type(self).state_rows is not Operator.state_rows

    # -- pushed out
    def emit(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            for op, p in self.outputs:
                op.on_batch(p, batch)


class FilterOp(Operator):
    def __init__(self, name: str, schema: pa.Schema, predicate: BatchFn):
        super().__init__(name, schema)
        self.predicate = predicate

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        mask = evaluate(self.name, self.predicate, batch, pa.bool_())
        # null is not true: SQL's WHERE keeps only rows whose predicate is true
        self.emit(batch.filter(mask, null_selection_behavior="drop"))


class ProjectOp(Operator):
    """Computes `columns` (name, type, fn); the weight column of a changelog passes through."""

    def __init__(self, name: str, columns: Sequence[tuple[str, pa.DataType, BatchFn]], changelog: bool = False):
        fields = [pa.field(n, t) for n, t, _ in columns]
        if changelog:
            fields.append(pa.field(WEIGHT, pa.int64()))
        super().__init__(name, pa.schema(fields))
        self.columns = list(columns)
        self.changelog = changelog

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        arrays = [evaluate(self.name, fn, batch, t) for _, t, fn in self.columns]
        if self.changelog:
            arrays.append(batch.column(WEIGHT))
        self.emit(pa.RecordBatch.from_arrays(arrays, schema=self.schema))


class WindowAssignOp(Operator):
    """Appends window_start, window_end (tumble: one row per input row; hop: one per window).

    A row with a null time gets null window columns."""

    def __init__(self, name: str, input_schema: pa.Schema, time_col: str, window: WindowDef,
                 window_type: pa.DataType):
        fields = [f for f in input_schema if f.name != WEIGHT]
        fields += [pa.field("window_start", window_type), pa.field("window_end", window_type)]
        if is_changelog(input_schema):
            fields.append(pa.field(WEIGHT, pa.int64()))
        super().__init__(name, pa.schema(fields))
        self.time_col = time_col
        self.window = window
        self.window_type = window_type

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        ts, valid = micros(batch.column(self.time_col))
        rows, starts = self.window.assign(ts)
        if len(rows) != batch.num_rows:
            batch = batch.take(pa.array(rows))
            valid = valid[rows]
        start = window_column(starts, valid, self.window_type)
        end = window_column(starts + self.window.size, valid, self.window_type)
        arrays = [batch.column(f.name) for f in self.schema if f.name not in ("window_start", "window_end")]
        names = [f.name for f in self.schema if f.name not in ("window_start", "window_end")]
        cols = dict(zip(names, arrays, strict=True))
        cols["window_start"], cols["window_end"] = start, end
        self.emit(pa.RecordBatch.from_arrays([cols[f.name] for f in self.schema], schema=self.schema))


def window_column(us: np.ndarray, valid: np.ndarray | None, t: pa.DataType) -> pa.Array:
    """int64 microseconds (with an optional valid mask) as a timestamp column of type t."""
    mask = None if valid is None or valid.all() else ~valid
    return pa.array(us, type=pa.int64(), mask=mask).view(pa.timestamp("us", getattr(t, "tz", None))).cast(t)


def evaluate(where: str, fn: BatchFn, batch: pa.RecordBatch, t: pa.DataType | None = None) -> pa.Array:
    """An expression closure's value over a batch, as a full-length array (of type t when given);
    kernel errors become EvaluationError naming the operator."""
    try:
        out = fn(batch)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ZeroDivisionError, OverflowError) as e:
        raise EvaluationError(where, str(e)) from None
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    if isinstance(out, pa.Scalar):
        out = broadcast(out, batch.num_rows)
    if t is not None and out.type != t:
        try:
            out = out.cast(t)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise EvaluationError(where, str(e)) from None
    return out


def broadcast(value: pa.Scalar, n: int) -> pa.Array:
    """A scalar repeated n times, without a Python loop."""
    if not value.is_valid:
        return pa.nulls(n, value.type)
    if pa.types.is_null(value.type):
        return pa.nulls(n)
    return pc.if_else(pa.array(np.ones(n, dtype=bool)), value, pa.scalar(None, value.type))


class SinkOp(Operator):
    """The end of a view: writes each batch to its writers and optionally keeps it.

    A changelog's weight becomes an `_op` column ('+' / '-') in FIRST position; `with_op` adds an
    all-'+' `_op` to an append-only stream whose view asked for `emit changes`.
    """

    def __init__(self, name: str, input_schema: pa.Schema, writers: Sequence = (), collect: bool = False,
                 with_op: bool = False):
        self.changelog = is_changelog(input_schema)
        self.with_op = with_op or self.changelog
        fields = [f for f in input_schema if f.name != WEIGHT]
        if self.with_op:
            fields = [pa.field("_op", pa.string())] + fields
        super().__init__(name, pa.schema(fields))
        self.writers = list(writers)
        self.collect = collect
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        if self.changelog:
            op = pc.if_else(pc.greater(batch.column(WEIGHT), 0), "+", "-")
            arrays = [op] + [batch.column(f.name) for f in self.schema if f.name != "_op"]
        elif self.with_op:
            arrays = [broadcast(pa.scalar("+"), batch.num_rows)] + list(batch.columns)
        else:
            arrays = list(batch.columns)
        out = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self.rows += out.num_rows
        for w in self.writers:
            w.write(out)
        if self.collect:
            self.batches.append(out)

    def table(self) -> pa.Table:
        return pa.Table.from_batches(self.batches, self.schema)

    def close(self) -> None:
        for w in self.writers:
            w.close()

    def abort(self) -> None:
        for w in self.writers:
            w.abort()
