"""Stream joins (SEMANTICS.md section 5): interval, window, regular and lookup joins.

Every join works the same way at its core: the rows of one side are matched against rows kept from
the other side with one vectorized hash join on the equi-join keys (`Table.join` over the key
columns plus a row index), and the full join condition is then evaluated on the joined batch (it
decides; the hash join only narrows the candidates, so null keys and non-equi predicates keep
their SQL meaning). The joins differ in what they keep and when they emit:

- IntervalJoinOp: both sides buffered by event time; a new row is matched against the other side's
  buffer at once (each pair is emitted exactly once: when the later of its two rows arrives); a
  buffered row is dropped once the other side's watermark makes a match impossible. A left
  interval join emits an unmatched left row, padded with nulls, exactly then.
- WindowJoinOp: rows buffered per window; a window's rows are joined when the watermark closes it.
- RegularJoinOp: no time bound, so both sides are kept forever; the output is a Z-set changelog
  (weights multiply), and a left join retracts its null-padded row when a first match arrives.
- LookupJoinOp: the right side is a table loaded before the first stream row; each stream row is
  joined with the table as it is at that moment; nothing is kept of the stream.

Batches reaching a join carry the input's own column names; the join selects the columns it needs
and renames the right side's to the join's output names (`right_names` in the IR), so the join keys
and the condition are evaluated over output names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .aggregate import split_by
from .errors import EvaluationError
from .eventtime import END_OF_INPUT, NO_WATERMARK, micros
from .operators import WEIGHT, BatchFn, Operator, is_changelog

LEFT, RIGHT = 0, 1


@dataclass(frozen=True)
class JoinSpec:
    """What every join needs: the columns of each side (input name -> output name, in output order),
    the equi-join key expressions of each side (evaluated over that side's output names), the full
    condition (over the joined output), and the kind: inner | left."""

    left_columns: Sequence[tuple[str, str]]
    right_columns: Sequence[tuple[str, str]]
    left_schema: pa.Schema  # the left side's rows as the join keeps them (output names)
    right_schema: pa.Schema
    left_keys: Sequence[BatchFn]
    right_keys: Sequence[BatchFn]
    condition: BatchFn | None
    kind: str = "inner"

    @property
    def output_fields(self) -> list[pa.Field]:
        return list(self.left_schema) + list(self.right_schema)

    def side_schema(self, port: int) -> pa.Schema:
        return self.left_schema if port == LEFT else self.right_schema

    def normalize(self, name: str, port: int, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, np.ndarray]:
        """The side's columns under output names, and the rows' weights (+1 without a changelog)."""
        cols = self.left_columns if port == LEFT else self.right_columns
        schema = self.side_schema(port)
        arrays = [batch.column(src) for src, _ in cols]
        out = pa.RecordBatch.from_arrays(arrays, schema=schema)
        if is_changelog(batch.schema):
            w = batch.column(WEIGHT).to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            w = np.ones(batch.num_rows, dtype=np.int64)
        return out, w

    def keys(self, name: str, port: int, rows: pa.RecordBatch | pa.Table) -> list[pa.Array]:
        fns = self.left_keys if port == LEFT else self.right_keys
        return [_evaluate(name, fn, rows) for fn in fns]


# ---------------------------------------------------------------- kernel


def _evaluate(where: str, fn: BatchFn, rows: pa.RecordBatch | pa.Table) -> pa.Array:
    if isinstance(rows, pa.Table):
        rows = rows.combine_chunks().to_batches()[0] if rows.num_rows else pa.RecordBatch.from_pylist(
            [], schema=rows.schema)
    try:
        out = fn(rows)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ZeroDivisionError, OverflowError) as e:
        raise EvaluationError(where, str(e)) from None
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    if isinstance(out, pa.Scalar):
        out = pa.array([out.as_py()] * rows.num_rows, type=out.type) if rows.num_rows else pa.nulls(0, out.type)
    return out


def _hashable(arr: pa.Array) -> pa.Array:
    """A key column as the hash join accepts it: dictionaries decoded, timestamps as int64."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _align(a: pa.Array, b: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Both key columns in one type, so equal values hash alike (bigint = int, bigint = double...)."""
    a, b = _hashable(a), _hashable(b)
    if a.type == b.type:
        return a, b
    ta, tb = a.type, b.type
    if pa.types.is_integer(ta) and pa.types.is_integer(tb):
        t = pa.int64()
    elif (pa.types.is_integer(ta) or pa.types.is_floating(ta)) and (pa.types.is_integer(tb) or pa.types.is_floating(tb)):
        t = pa.float64()
    elif pa.types.is_timestamp(ta) and pa.types.is_timestamp(tb):
        t = pa.timestamp("us", ta.tz)
    elif pa.types.is_decimal(ta) or pa.types.is_decimal(tb):
        t = pa.float64()
    else:
        t = ta
    return a.cast(t), b.cast(t)


def match_pairs(left_keys: Sequence[pa.Array], right_keys: Sequence[pa.Array], n_left: int,
                n_right: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), sorted, of left and right rows whose keys are all equal and not null.

    Without keys every pair matches (the condition decides). One hash join over the key columns and
    row numbers: the payload columns are only gathered for the pairs found."""
    if n_left == 0 or n_right == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not left_keys:
        return np.repeat(np.arange(n_left, dtype=np.int64), n_right), np.tile(np.arange(n_right, dtype=np.int64),
                                                                                n_left)
    names = [f"k{i}" for i in range(len(left_keys))]
    aligned = [_align(a, b) for a, b in zip(left_keys, right_keys, strict=True)]
    lt = pa.table([a for a, _ in aligned] + [pa.array(np.arange(n_left, dtype=np.int64))], names=names + ["__l"])
    rt = pa.table([b for _, b in aligned] + [pa.array(np.arange(n_right, dtype=np.int64))], names=names + ["__r"])
    j = lt.join(rt, keys=names, join_type="inner", use_threads=False)
    li = j.column("__l").to_numpy()
    ri = j.column("__r").to_numpy()
    order = np.lexsort((ri, li))  # a deterministic output order, whatever the hash table did
    return li[order], ri[order]


def _as_table(rows: pa.RecordBatch | pa.Table) -> pa.Table:
    return pa.Table.from_batches([rows]) if isinstance(rows, pa.RecordBatch) else rows


def join_rows(name: str, spec: JoinSpec, left: pa.Table | pa.RecordBatch, left_keys: Sequence[pa.Array],
              right: pa.Table | pa.RecordBatch, right_keys: Sequence[pa.Array]
              ) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """The joined rows (left columns, then right) that satisfy the condition, with their left and
    right row indices."""
    li, ri = match_pairs(left_keys, right_keys, left.num_rows, right.num_rows)
    schema = pa.schema(spec.output_fields)
    if len(li) == 0:
        return schema.empty_table(), li, ri
    lt = _as_table(left).take(pa.array(li))
    rt = _as_table(right).take(pa.array(ri))
    joined = pa.Table.from_arrays(lt.columns + rt.columns, schema=schema)
    if spec.condition is not None:
        mask = _evaluate(name, spec.condition, joined)
        if mask.type != pa.bool_():
            mask = mask.cast(pa.bool_())
        keep = mask.fill_null(False).to_numpy(zero_copy_only=False)
        if not keep.all():
            joined = joined.filter(pa.array(keep))
            li, ri = li[keep], ri[keep]
    return joined, li, ri


def pad_right(spec: JoinSpec, left: pa.Table | pa.RecordBatch) -> pa.Table:
    """Left rows with every right column null (a left join's unmatched rows)."""
    left = _as_table(left)
    n = left.num_rows
    cols = list(left.columns) + [pa.nulls(n, f.type) for f in spec.right_schema]
    return pa.Table.from_arrays(cols, schema=pa.schema(spec.output_fields))


def with_weight(table: pa.Table, weights: np.ndarray | int) -> pa.Table:
    w = np.full(table.num_rows, weights, np.int64) if np.isscalar(weights) else np.asarray(weights, np.int64)
    return table.append_column(pa.field(WEIGHT, pa.int64()), pa.array(w))


def shift(watermark: int, delta: int | None) -> int:
    """watermark + delta, keeping the infinities: with no delta (an unbounded side of the
    condition), only the end of input lets go."""
    if watermark in (NO_WATERMARK, END_OF_INPUT):
        return watermark
    if delta is None:
        return NO_WATERMARK
    return max(NO_WATERMARK + 1, min(END_OF_INPUT - 1, watermark + delta))


# ---------------------------------------------------------------- kept rows


class KeptRows:
    """Rows one side of a join keeps: their batches (output names), join keys, weights, event times
    (interval joins) and match counts (left joins). Appends are cheap; the concatenation the next
    match needs is built once and cached until the rows change."""

    def __init__(self, schema: pa.Schema, n_keys: int):
        self.schema = schema
        self.n_keys = n_keys
        self._rows: list[pa.RecordBatch] = []
        self._keys: list[list[pa.Array]] = []
        self._weights: list[np.ndarray] = []
        self._ts: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._whole: tuple | None = None
        self.n = 0
        self.min_ts = END_OF_INPUT

    def __len__(self) -> int:
        return self.n

    def append(self, rows: pa.RecordBatch, keys: list[pa.Array], weights: np.ndarray,
               ts: np.ndarray | None = None, counts: np.ndarray | None = None) -> None:
        if rows.num_rows == 0:
            return
        self._rows.append(rows)
        self._keys.append(keys)
        self._weights.append(weights)
        self._ts.append(ts if ts is not None else np.zeros(rows.num_rows, np.int64))
        self._counts.append(counts if counts is not None else np.zeros(rows.num_rows, np.int64))
        self.n += rows.num_rows
        if ts is not None and len(ts):
            self.min_ts = min(self.min_ts, int(ts.min()))
        self._whole = None

    def whole(self) -> tuple[pa.Table, list[pa.Array], np.ndarray, np.ndarray, np.ndarray]:
        """(rows, keys, weights, event times, match counts) of everything kept, as one piece."""
        if self._whole is None:
            if not self._rows:
                none = np.zeros(0, np.int64)
                self._whole = (self.schema.empty_table(), [pa.nulls(0)] * self.n_keys, none, none, none)
            else:
                rows = pa.Table.from_batches(self._rows, self.schema).combine_chunks()
                keys = [pa.concat_arrays([k[i] for k in self._keys]) for i in range(self.n_keys)]
                self._whole = (rows, keys, np.concatenate(self._weights), np.concatenate(self._ts),
                               np.concatenate(self._counts))
                # keep the one piece, so the next concatenation does not redo this one
                self._rows = rows.to_batches()
                self._keys = [keys]
                self._weights, self._ts, self._counts = [self._whole[2]], [self._whole[3]], [self._whole[4]]
        return self._whole

    def add_counts(self, idx: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Adds match-count deltas to rows idx (indices into `whole()`); returns every row's count
        before and after."""
        counts = self.whole()[4]
        before = counts.copy()
        np.add.at(counts, idx, delta)  # in place: the kept piece shares this array
        return before, counts

    def remove_before(self, threshold: int) -> tuple[pa.Table, np.ndarray] | None:
        """Drops the rows whose event time is below `threshold`; returns them with their match
        counts, or None when nothing is that old."""
        if self.n == 0 or self.min_ts >= threshold:
            return None
        rows, keys, weights, ts, counts = self.whole()
        old = ts < threshold
        keep = ~old
        gone = (rows.filter(pa.array(old)), counts[old])
        kept_rows = rows.filter(pa.array(keep)).combine_chunks()
        self._rows = kept_rows.to_batches() if kept_rows.num_rows else []
        mask = pa.array(keep)
        self._keys = [[k.filter(mask) for k in keys]] if self._rows else []
        self._weights = [weights[keep]] if self._rows else []
        self._ts = [ts[keep]] if self._rows else []
        self._counts = [counts[keep]] if self._rows else []
        self.n = int(keep.sum())
        self.min_ts = int(ts[keep].min()) if self.n else END_OF_INPUT
        self._whole = None
        return gone


class _JoinBase(Operator):
    """Two inputs (left on port 0, right on port 1); the output schema is the left columns, the
    right columns renamed, and a weight when the output is a changelog."""

    n_inputs = 2
    changelog_output = False

    def __init__(self, name: str, spec: JoinSpec, changelog: bool = False):
        fields = spec.output_fields + ([pa.field(WEIGHT, pa.int64())] if changelog else [])
        super().__init__(name, pa.schema(fields))
        self.spec = spec
        self.changelog_output = changelog
        self.peak_state = 0

    def state_rows(self) -> int:
        """Rows this operator keeps right now (both sides)."""
        raise NotImplementedError

    def _note_state(self) -> None:
        self.peak_state = max(self.peak_state, self.state_rows())

    def _emit_table(self, table: pa.Table, weight: np.ndarray | int = 1) -> None:
        if table.num_rows == 0:
            return
        if self.changelog_output:
            table = with_weight(table, weight)
        for b in table.combine_chunks().to_batches():
            self.emit(b)

    def _forward(self, watermark: int) -> None:
        if watermark > self.watermark:
            self.watermark = watermark
            for op, p in self.outputs:
                op.on_watermark(p, watermark)


# ---------------------------------------------------------------- interval join


@dataclass(frozen=True)
class TimeBound:
    """lo <= left_time - right_time <= hi (microseconds); None: unbounded on that side. The time
    columns are event-time columns of each side (output names), bounded below by its watermark."""

    left_time: str
    right_time: str
    lo: int | None
    hi: int | None


class IntervalJoinOp(_JoinBase):
    """An append-only join of two append-only streams whose condition bounds the distance between
    their event times. State: each side's rows until the other side's watermark rules out a match
    (a left row at t can still meet right rows with time >= t - hi; none can come once the right
    watermark passes t - lo)."""

    def __init__(self, name: str, spec: JoinSpec, bound: TimeBound):
        super().__init__(name, spec, changelog=False)
        self.bound = bound
        self.kept = [KeptRows(spec.left_schema, len(spec.left_keys)), KeptRows(spec.right_schema, len(spec.right_keys))]

    def state_rows(self) -> int:
        return len(self.kept[LEFT]) + len(self.kept[RIGHT])

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        rows, _ = self.spec.normalize(self.name, port, batch)
        if rows.num_rows == 0:
            return
        time_col = self.bound.left_time if port == LEFT else self.bound.right_time
        ts, valid = micros(rows.column(time_col))
        keys = self.spec.keys(self.name, port, rows)
        other = self.kept[1 - port]
        o_rows, o_keys, _, _, _ = other.whole()
        if port == LEFT:
            joined, li, ri = join_rows(self.name, self.spec, rows, keys, o_rows, o_keys)
            matched = np.bincount(li, minlength=rows.num_rows).astype(np.int64)
        else:
            joined, li, ri = join_rows(self.name, self.spec, o_rows, o_keys, rows, keys)
            if self.spec.kind == "left" and len(li):
                other.add_counts(li, np.ones(len(li), np.int64))
            matched = None
        self._emit_table(joined)
        # a row without an event time satisfies no time bound: it is never kept
        if not valid.all():
            if port == LEFT and self.spec.kind == "left":
                self._emit_table(pad_right(self.spec, rows.filter(pa.array(~valid))))
            sel = pa.array(valid)
            rows, ts, keys = rows.filter(sel), ts[valid], [k.filter(sel) for k in keys]
            matched = matched[valid] if matched is not None else None
        self.kept[port].append(rows, keys, np.ones(rows.num_rows, np.int64), ts, matched)
        self._note_state()
        self._evict()  # rows already too old for any future match leave at once

    def on_watermark(self, port: int, ts: int) -> None:
        if ts <= self._in_wm[port]:
            return
        self._in_wm[port] = ts
        self._evict()
        self._forward(self.output_watermark())

    def thresholds(self) -> tuple[int, int]:
        """Left rows below the first, right rows below the second can no longer match."""
        w_left, w_right = self._in_wm
        return shift(w_right, self.bound.lo), shift(w_left, None if self.bound.hi is None else -self.bound.hi)

    def output_watermark(self) -> int:
        """No later output row has a time column below this: pairs come from kept rows (not yet
        evicted) or rows that have just arrived (not late)."""
        w_left, w_right = self._in_wm
        t_left, t_right = self.thresholds()
        return min(w_left, w_right, t_left, t_right)

    def _evict(self) -> None:
        t_left, t_right = self.thresholds()
        gone = self.kept[LEFT].remove_before(t_left)
        if gone is not None and self.spec.kind == "left":
            rows, counts = gone
            self._emit_table(pad_right(self.spec, rows.filter(pa.array(counts == 0))))
        self.kept[RIGHT].remove_before(t_right)


# ---------------------------------------------------------------- window join


class WindowJoinOp(_JoinBase):
    """Both sides windowed alike and joined on window_start (and keys): a window's rows are kept
    until the watermark reaches its end, then joined once; left joins pad unmatched left rows.
    Rows without a window (null time) are joined at end of input."""

    def __init__(self, name: str, spec: JoinSpec, left_end: str, right_end: str):
        super().__init__(name, spec, changelog=False)
        self.end_cols = (left_end, right_end)
        self.windows: dict[int, tuple[list[pa.RecordBatch], list[pa.RecordBatch]]] = {}

    def state_rows(self) -> int:
        return sum(b.num_rows for sides in self.windows.values() for side in sides for b in side)

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        rows, _ = self.spec.normalize(self.name, port, batch)
        ends, valid = micros(rows.column(self.end_cols[port]))
        ends = np.where(valid, ends, END_OF_INPUT)
        for end, part in split_by(ends, rows):
            self.windows.setdefault(int(end), ([], []))[port].append(part)
        self._note_state()

    def advance(self, watermark: int) -> None:
        out = []
        for end in sorted(e for e in self.windows if e <= watermark):
            left_parts, right_parts = self.windows.pop(end)
            left = pa.Table.from_batches(left_parts, self.spec.left_schema)
            right = pa.Table.from_batches(right_parts, self.spec.right_schema)
            joined, li, _ = join_rows(self.name, self.spec, left, self.spec.keys(self.name, LEFT, left), right,
                                      self.spec.keys(self.name, RIGHT, right))
            out.append(joined)
            if self.spec.kind == "left":
                unmatched = np.bincount(li, minlength=left.num_rows) == 0
                out.append(pad_right(self.spec, left.filter(pa.array(unmatched))))
        for t in out:
            self._emit_table(t)

    def on_watermark(self, port: int, ts: int) -> None:
        if ts <= self._in_wm[port]:
            return
        self._in_wm[port] = ts
        combined = min(self._in_wm)
        if combined > self.watermark:
            self.advance(combined)
            self._forward(combined)


# ---------------------------------------------------------------- regular join


class RegularJoinOp(_JoinBase):
    """A join without a time bound: both sides kept forever (the state grows with the input).

    Inputs may be changelogs: the change of L x R is dL x R + L x dR, the weights multiplying.
    A left join (its left input append-only) counts each left row's matches: the null-padded row is
    inserted while the count is zero and retracted when it becomes positive (and back)."""

    def __init__(self, name: str, spec: JoinSpec, changelog: bool):
        super().__init__(name, spec, changelog=changelog)
        self.kept = [KeptRows(spec.left_schema, len(spec.left_keys)), KeptRows(spec.right_schema, len(spec.right_keys))]

    def state_rows(self) -> int:
        return len(self.kept[LEFT]) + len(self.kept[RIGHT])

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        rows, weights = self.spec.normalize(self.name, port, batch)
        if rows.num_rows == 0:
            return
        keys = self.spec.keys(self.name, port, rows)
        other = self.kept[1 - port]
        o_rows, o_keys, o_weights, _, _ = other.whole()
        left_join = self.spec.kind == "left"
        if port == LEFT:
            joined, li, ri = join_rows(self.name, self.spec, rows, keys, o_rows, o_keys)
            self._emit_table(joined, weights[li] * o_weights[ri])
            counts = np.zeros(rows.num_rows, np.int64)
            if left_join:
                np.add.at(counts, li, o_weights[ri])
                self._emit_table(pad_right(self.spec, rows.filter(pa.array(counts <= 0))))
            self.kept[LEFT].append(rows, keys, weights, None, counts)
        else:
            joined, li, ri = join_rows(self.name, self.spec, o_rows, o_keys, rows, keys)
            self._emit_table(joined, o_weights[li] * weights[ri])
            if left_join and len(li):
                before, after = other.add_counts(li, weights[ri])
                now_matched = (before <= 0) & (after > 0)
                now_unmatched = (before > 0) & (after <= 0)
                if now_matched.any():
                    self._emit_table(pad_right(self.spec, o_rows.filter(pa.array(now_matched))), -1)
                if now_unmatched.any():
                    self._emit_table(pad_right(self.spec, o_rows.filter(pa.array(now_unmatched))), 1)
            self.kept[RIGHT].append(rows, keys, weights)
        self._note_state()

    def on_watermark(self, port: int, ts: int) -> None:
        # the output carries no time bound (old kept rows can pair with new ones): only the end of
        # both inputs is passed on
        if ts <= self._in_wm[port]:
            return
        self._in_wm[port] = ts
        if min(self._in_wm) == END_OF_INPUT:
            self._forward(END_OF_INPUT)


# ---------------------------------------------------------------- lookup join


class LookupJoinOp(_JoinBase):
    """A stream (port 0) joined with a table (port 1) at processing time. The table's rows arrive
    on port 1, pushed by `load` before the first stream row is processed; later stream rows see
    the table as it is then. Output is append-only: nothing earlier is re-emitted."""

    def __init__(self, name: str, spec: JoinSpec, load: Callable[[], None]):
        super().__init__(name, spec, changelog=False)
        self._load = load
        self._loaded = False
        self.table = KeptRows(spec.right_schema, len(spec.right_keys))

    def state_rows(self) -> int:
        return len(self.table)

    def ensure_loaded(self) -> None:
        if not self._loaded:
            self._loaded = True
            self._load()

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        rows, weights = self.spec.normalize(self.name, port, batch)
        if port == RIGHT:
            if (weights != 1).any():
                raise EvaluationError(self.name, "a lookup table received a retraction")
            self.table.append(rows, self.spec.keys(self.name, RIGHT, rows), weights)
            self._note_state()
            return
        self.ensure_loaded()
        t_rows, t_keys, _, _, _ = self.table.whole()
        keys = self.spec.keys(self.name, LEFT, rows)
        joined, li, _ = join_rows(self.name, self.spec, rows, keys, t_rows, t_keys)
        self._emit_table(joined)
        if self.spec.kind == "left":
            unmatched = np.bincount(li, minlength=rows.num_rows) == 0
            self._emit_table(pad_right(self.spec, rows.filter(pa.array(unmatched))))

    def on_watermark(self, port: int, ts: int) -> None:
        if port == LEFT:
            self.ensure_loaded()
        if ts <= self._in_wm[port]:
            return
        self._in_wm[port] = ts
        # output rows are stream rows emitted as they arrive: the stream's watermark holds for them
        self._forward(self._in_wm[LEFT] if self._in_wm[RIGHT] == END_OF_INPUT else min(self._in_wm))
