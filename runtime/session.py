"""Session windows (SEMANTICS.md section 2): per key, rows ordered by time; a new session starts
where the time gap to the previous row is >= gap. window_start = first time, window_end = last time
+ gap. A session closes when the watermark reaches its end: any later on-time row is at least `gap`
after its last row, so it can no longer grow or merge.

State is the rows of the sessions still open. Sessions are recomputed over those rows (one sort, no
per-row Python) only when the watermark may close one (`final`) or after each batch (`changes`).
Rows with a null time belong to no session (as in the SQL targets).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .aggregate import AggSpec, _check_append_only, group_aggregate
from .eventtime import END_OF_INPUT, NO_WATERMARK, micros
from .operators import WEIGHT, Operator, lagged, window_column

_T = "__t"
_SID = "__sid"


def _key_changed(a: pa.Array) -> np.ndarray:
    """changed[i] for i >= 1: a[i] differs from a[i-1], nulls equal to each other (length n-1)."""
    if len(a) < 2:
        return np.zeros(0, dtype=bool)
    x, y = a.slice(1), a.slice(0, len(a) - 1)
    neq = pc.not_equal(x, y)
    one_null = pc.xor(pc.is_null(x), pc.is_null(y))
    return pc.fill_null(neq, one_null).to_numpy(zero_copy_only=False) if neq.null_count else \
        neq.to_numpy(zero_copy_only=False)


class Sessions:
    """Sessions over a table of rows (keys, aggregate inputs, __t): rows sorted by key then time,
    a session id per row, and each session's first row, start and end."""

    def __init__(self, table: pa.Table, keys: list[str], gap: int):
        order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys] + [(_T, "ascending")])
        t = table.take(order).combine_chunks()
        ts = t.column(_T).to_numpy()
        n = len(ts)
        new = np.ones(n, dtype=bool)
        if n > 1:
            new[1:] = (ts[1:] - ts[:-1]) >= gap
            for k in keys:
                new[1:] |= _key_changed(t.column(k).chunk(0) if t.column(k).num_chunks else t.column(k))
        self.sid = np.cumsum(new) - 1
        self.first = np.flatnonzero(new)
        last = np.append(self.first[1:] - 1, n - 1).astype(np.int64) if n else np.zeros(0, np.int64)
        self.start = ts[self.first] if n else np.zeros(0, np.int64)
        self.end = ts[last] + gap if n else np.zeros(0, np.int64)
        self.rows = t


class SessionAggregateOp(Operator):
    """Aggregate per key and session. Output: keys, window_start, window_end, aggs (+ weight in
    `changes` mode, where every batch retracts and re-inserts the sessions it changed).

    `lag`: every later row has time >= watermark - lag, so a session closes once watermark - lag
    reaches its end (0 for the source's event time); None: sessions close at end of input."""

    def __init__(self, name: str, input_schema: pa.Schema, keys: list[str], aggs: list[AggSpec], time_col: str,
                 gap: int, window_type: pa.DataType, mode: str = "final", lag: int | None = 0):
        _check_append_only(name, input_schema)
        self.keys = keys
        self.aggs = aggs
        self.time_col = time_col
        self.gap = gap
        self.window_type = window_type
        self.mode = mode
        self.lag = lag
        key_fields = [input_schema.field(k) for k in keys]
        fields = key_fields + [pa.field("window_start", window_type), pa.field("window_end", window_type)]
        fields += [pa.field(a.name, a.type) for a in aggs]
        self._result_schema = pa.schema(fields)
        if mode == "changes":
            fields = fields + [pa.field(WEIGHT, pa.int64())]
        super().__init__(name, pa.schema(fields))
        self.needed = list(dict.fromkeys(keys + [a.arg for a in aggs if a.arg is not None]))
        self._buffer_schema = pa.schema([input_schema.field(c) for c in self.needed] + [pa.field(_T, pa.int64())])
        self._rows: list[pa.RecordBatch] = []  # rows of open sessions (and new rows)
        self._next_close = END_OF_INPUT  # no open session ends before this
        self._current = self._result_schema.empty_table()  # changes mode: open sessions as last emitted

    def state_rows(self) -> int:
        """The rows of the sessions still open."""
        return sum(b.num_rows for b in self._rows)

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        ts, valid = micros(batch.column(self.time_col))
        rows = batch.select(self.needed)
        if not valid.all():
            rows, ts = rows.filter(pa.array(valid)), ts[valid]
        if not len(ts):
            return
        arrays = list(rows.columns) + [pa.array(ts, pa.int64())]
        self._rows.append(pa.RecordBatch.from_arrays(arrays, schema=self._buffer_schema))
        self._next_close = min(self._next_close, int(ts.min()) + self.gap)
        if self.mode == "changes":
            self._revise(None)

    def advance(self, watermark: int) -> None:
        watermark = lagged(watermark, self.lag)  # bounds the time column from here on
        if watermark == NO_WATERMARK:
            return
        if watermark < self._next_close and watermark != END_OF_INPUT:
            return
        if self.mode == "final":
            sess = self._sessions()
            if sess is None:
                return
            closed = sess.end <= watermark
            out = self._results(sess, closed)
            self._keep_open(sess, ~closed)
            if out.num_rows:
                for b in out.combine_chunks().to_batches():
                    self.emit(b)
        else:
            self._revise(watermark)

    # -- helpers
    def _sessions(self) -> Sessions | None:
        if not self._rows:
            return None
        return Sessions(pa.Table.from_batches(self._rows, self._buffer_schema), self.keys, self.gap)

    def _keep_open(self, sess: Sessions, open_: np.ndarray) -> None:
        keep = sess.rows.filter(pa.array(open_[sess.sid]))
        self._rows = keep.to_batches() if keep.num_rows else []
        self._next_close = int(sess.end[open_].min()) if open_.any() else END_OF_INPUT

    def _results(self, sess: Sessions, which: np.ndarray) -> pa.Table:
        """The result rows of the sessions selected by `which` (a mask over sessions), in session order."""
        ids = np.flatnonzero(which)
        if not len(ids):
            return self._result_schema.empty_table()
        rows = sess.rows.filter(pa.array(which[sess.sid]))
        rows = rows.append_column(_SID, pa.array(sess.sid[which[sess.sid]]))
        agg = group_aggregate(rows, [_SID], self.aggs).sort_by(_SID)
        first = pa.array(sess.first[ids])
        cols = [sess.rows.column(k).take(first) for k in self.keys]
        cols += [window_column(sess.start[ids], None, self.window_type),
                 window_column(sess.end[ids], None, self.window_type)]
        cols += [agg.column(a.name) for a in self.aggs]
        return pa.Table.from_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in cols],
                                    schema=self._result_schema)

    def _revise(self, watermark: int | None) -> None:
        """changes mode: recompute the open sessions, emit the difference to what was emitted before,
        and forget the sessions the watermark closed."""
        sess = self._sessions()
        if sess is None:
            return
        now = self._results(sess, np.ones(len(sess.first), dtype=bool))
        diff = _difference(self._current, now)
        if diff.num_rows:
            for b in diff.combine_chunks().to_batches():
                self.emit(b)
        if watermark is None:
            self._current = now
            return
        closed = sess.end <= watermark
        self._current = now.filter(pa.array(~closed))
        self._keep_open(sess, ~closed)


def _difference(before: pa.Table, after: pa.Table) -> pa.Table:
    """A changelog turning `before` into `after`: rows only in before get -1, only in after +1."""
    both = pa.concat_tables([
        before.append_column(WEIGHT, pa.array(np.full(before.num_rows, -1, np.int64))),
        after.append_column(WEIGHT, pa.array(np.ones(after.num_rows, np.int64)))])
    if not both.num_rows:
        return both
    net = both.group_by(before.column_names, use_threads=False).aggregate([(WEIGHT, "sum")])
    net = net.filter(pc.not_equal(net.column(f"{WEIGHT}_sum"), 0))
    w = net.column(f"{WEIGHT}_sum").to_numpy()
    # a row whose net weight is +/-k stands for k changes of one each
    idx = np.repeat(np.arange(len(w)), np.abs(w))
    out = net.take(pa.array(idx))
    cols = [out.column(c) for c in before.column_names] + [pa.array(np.sign(w[idx]).astype(np.int64))]
    retract_first = np.argsort(np.sign(w[idx]), kind="stable")
    table = pa.Table.from_arrays(cols, names=before.column_names + [WEIGHT])
    return table.take(pa.array(retract_first))
