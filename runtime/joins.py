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

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .aggregate import split_by
from .errors import EvaluationError
from .eventtime import END_OF_INPUT, NO_WATERMARK, micros
from .operators import WEIGHT, BatchFn, Operator, evaluate, is_changelog, shift

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
    return evaluate(where, fn, rows)


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
    aligned = [_align(a, b) for a, b in zip(left_keys, right_keys, strict=True)]
    if len(aligned) == 1 and min(n_left, n_right) <= _FEW:
        few = _match_few(*aligned[0])
        if few is not None:
            return few
    names = [f"k{i}" for i in range(len(left_keys))]
    lt = pa.table([a for a, _ in aligned] + [pa.array(np.arange(n_left, dtype=np.int64))], names=names + ["__l"])
    rt = pa.table([b for _, b in aligned] + [pa.array(np.arange(n_right, dtype=np.int64))], names=names + ["__r"])
    j = lt.join(rt, keys=names, join_type="inner", use_threads=False)
    li = j.column("__l").to_numpy()
    ri = j.column("__r").to_numpy()
    order = np.lexsort((ri, li))  # a deterministic output order, whatever the hash table did
    return li[order], ri[order]


_FEW = 8  # a side this small is matched by comparing each of its keys with the other side's column


def _match_few(left: pa.Array, right: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """match_pairs for one integer or timestamp key when one side has at most _FEW rows: one numpy
    comparison per row of the small side instead of building a hash table (q7 probes the bids of a
    window with that window's one maximum). Null keys match nothing. None for other key types."""
    t = left.type
    if not (pa.types.is_integer(t) or pa.types.is_timestamp(t)):
        return None
    small_left = len(left) <= len(right)
    small, big = (left, right) if small_left else (right, left)
    small_v, small_ok = _ints(small)
    big_v, big_ok = _ints(big)
    idx_small, idx_big = [], []
    rows = range(len(small_v)) if small_ok is None else np.flatnonzero(small_ok).tolist()
    for i in rows:
        eq = big_v == small_v[i]
        if big_ok is not None:
            eq &= big_ok
        hits = np.flatnonzero(eq)
        if len(hits):
            idx_small.append(np.full(len(hits), i, np.int64))
            idx_big.append(hits)
    if not idx_small:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b = np.concatenate(idx_small), np.concatenate(idx_big).astype(np.int64)
    li, ri = (a, b) if small_left else (b, a)
    order = np.lexsort((ri, li))
    return li[order], ri[order]


def _ints(arr: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """An integer or timestamp column's values (nulls as 0) and its valid mask (None: no nulls)."""
    if pa.types.is_timestamp(arr.type):
        arr = arr.view(pa.int64())
    if not arr.null_count:
        return arr.to_numpy(zero_copy_only=False), None
    return arr.fill_null(0).to_numpy(zero_copy_only=False), arr.is_valid().to_numpy(zero_copy_only=False)


def _as_table(rows: pa.RecordBatch | pa.Table) -> pa.Table:
    return pa.Table.from_batches([rows]) if isinstance(rows, pa.RecordBatch) else rows


def join_rows(name: str, spec: JoinSpec, left: pa.Table | pa.RecordBatch | RowsView,
              left_keys: Sequence[pa.Array] | None, right: pa.Table | pa.RecordBatch | RowsView,
              right_keys: Sequence[pa.Array] | None) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """The joined rows (left columns, then right) that satisfy the condition, with their left and
    right row indices. A side that is a RowsView may pass None for its keys: the view's own."""
    li, ri = _view_pairs(left, left_keys, right, right_keys)
    schema = pa.schema(spec.output_fields)
    if len(li) == 0:
        return schema.empty_table(), li, ri
    lt = _take(left, li)
    rt = _take(right, ri)
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


def _view_pairs(left, left_keys: Sequence[pa.Array] | None, right,
                right_keys: Sequence[pa.Array] | None) -> tuple[np.ndarray, np.ndarray]:
    """match_pairs where a side may be a RowsView. When the other side has a handful of rows and one
    key (q7: a window's maximum against the bids kept in reach), the view is probed piece by piece,
    so the kept keys are never concatenated; otherwise over the view's concatenated keys."""
    for view_left in (True, False):
        view, other, other_keys = (left, right, right_keys) if view_left else (right, left, left_keys)
        if (isinstance(view, RowsView) and len(view.pieces) > 1 and other_keys is not None
                and len(other_keys) == 1 and other.num_rows <= _FEW):
            lis, ris = [], []
            for piece, offset in zip(view.pieces, view.offsets[:-1].tolist(), strict=True):
                n = piece.rows.num_rows
                if view_left:
                    li, ri = match_pairs(piece.keys, other_keys, n, other.num_rows)
                    li = li + offset
                else:
                    li, ri = match_pairs(other_keys, piece.keys, other.num_rows, n)
                    ri = ri + offset
                lis.append(li)
                ris.append(ri)
            li, ri = np.concatenate(lis), np.concatenate(ris)
            order = np.lexsort((ri, li))  # match_pairs' order
            return li[order], ri[order]
    lk = left.keys if left_keys is None else left_keys
    rk = right.keys if right_keys is None else right_keys
    return match_pairs(lk, rk, left.num_rows, right.num_rows)


def _take(rows: pa.Table | pa.RecordBatch | RowsView, idx: np.ndarray) -> pa.Table:
    if isinstance(rows, RowsView):
        return rows.take(idx)
    return _as_table(rows).take(pa.array(idx))


def pad_right(spec: JoinSpec, left: pa.Table | pa.RecordBatch) -> pa.Table:
    """Left rows with every right column null (a left join's unmatched rows)."""
    left = _as_table(left)
    n = left.num_rows
    cols = list(left.columns) + [pa.nulls(n, f.type) for f in spec.right_schema]
    return pa.Table.from_arrays(cols, schema=pa.schema(spec.output_fields))


def with_weight(table: pa.Table, weights: np.ndarray | int) -> pa.Table:
    w = np.full(table.num_rows, weights, np.int64) if np.isscalar(weights) else np.asarray(weights, np.int64)
    return table.append_column(pa.field(WEIGHT, pa.int64()), pa.array(w))


# ---------------------------------------------------------------- kept rows


@dataclass
class _Piece:
    """One appended batch of kept rows with its keys, weights, event times, match counts and time range."""

    rows: pa.RecordBatch
    keys: list[pa.Array]
    weights: np.ndarray
    ts: np.ndarray
    counts: np.ndarray
    tmin: int
    tmax: int
    dead_before: int = NO_WATERMARK  # rows with ts below this are evicted, still in place (see remove_before)
    n_dead: int = 0


def _live(p: _Piece) -> _Piece:
    """The piece without its dead rows (see KeptRows.remove_before)."""
    if not p.n_dead:
        return p
    keep = p.ts >= p.dead_before
    mask = pa.array(keep)
    ts = p.ts[keep]
    return _Piece(p.rows.filter(mask), [k.filter(mask) for k in p.keys], p.weights[keep], ts, p.counts[keep],
                  int(ts.min()) if len(ts) else p.dead_before, int(ts.max()) if len(ts) else p.dead_before)


def _concat_pieces(schema: pa.Schema, n_keys: int, pieces: list[_Piece]) -> _Piece:
    pieces = [_live(p) for p in pieces]
    rows = pa.Table.from_batches([p.rows for p in pieces], schema).combine_chunks()
    batch = rows.to_batches()[0] if rows.num_rows else pa.RecordBatch.from_pylist([], schema=schema)
    return _Piece(batch, [pa.concat_arrays([p.keys[i] for p in pieces]) for i in range(n_keys)],
                  np.concatenate([p.weights for p in pieces]), np.concatenate([p.ts for p in pieces]),
                  np.concatenate([p.counts for p in pieces]), min(p.tmin for p in pieces),
                  max(p.tmax for p in pieces))


class RowsView:
    """Some kept pieces seen as one run of rows (indices in piece order). Only the join keys and
    weights are concatenated: the payload columns (strings included) are gathered for the matched
    indices alone, so a probe costs what the keys cost, not what the kept rows weigh."""

    def __init__(self, schema: pa.Schema, n_keys: int, pieces: list[_Piece]):
        self.schema = schema
        self.n_keys = n_keys
        self.pieces = pieces
        self.offsets = np.cumsum([0] + [p.rows.num_rows for p in pieces]).astype(np.int64)
        self.num_rows = int(self.offsets[-1])

    @functools.cached_property
    def keys(self) -> list[pa.Array]:
        """The join keys of every viewed row (concatenated once, when first asked for)."""
        if len(self.pieces) == 1:
            return list(self.pieces[0].keys)
        if self.pieces:
            return [pa.concat_arrays([p.keys[i] for p in self.pieces]) for i in range(self.n_keys)]
        return [pa.nulls(0)] * self.n_keys

    @functools.cached_property
    def weights(self) -> np.ndarray:
        if len(self.pieces) == 1:
            return self.pieces[0].weights
        if self.pieces:
            return np.concatenate([p.weights for p in self.pieces])
        return np.zeros(0, np.int64)

    def take(self, idx: np.ndarray) -> pa.Table:
        """The rows at view indices idx, in that order."""
        if len(self.pieces) == 1:
            return pa.Table.from_batches([self.pieces[0].rows]).take(pa.array(idx, pa.int64()))
        if len(idx) == 0:
            return self.schema.empty_table()
        piece = np.searchsorted(self.offsets, idx, side="right") - 1
        local = idx - self.offsets[piece]
        order = np.argsort(piece, kind="stable")
        sp = piece[order]
        bounds = [0, *(np.flatnonzero(np.diff(sp)) + 1).tolist(), len(sp)]
        parts = [self.pieces[int(sp[s])].rows.take(pa.array(local[order[s:e]]))
                 for s, e in zip(bounds[:-1], bounds[1:], strict=True)]
        grouped = pa.Table.from_batches(parts, self.schema).combine_chunks()
        if (np.diff(piece) >= 0).all():  # already in piece order: no permutation back
            return grouped
        inverse = np.empty(len(order), np.int64)
        inverse[order] = np.arange(len(order), dtype=np.int64)
        return grouped.take(pa.array(inverse))

    def filter(self, mask: np.ndarray | pa.Array) -> pa.Table:
        if isinstance(mask, pa.Array):
            mask = mask.to_numpy(zero_copy_only=False)
        return self.take(np.flatnonzero(mask))

    def add_counts(self, idx: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Adds match-count deltas to view rows idx (in the pieces, in place); returns every view
        row's count before and after."""
        counts = np.concatenate([p.counts for p in self.pieces]) if self.pieces else np.zeros(0, np.int64)
        before = counts.copy()
        np.add.at(counts, idx, delta)
        for p, s in zip(self.pieces, self.offsets[:-1].tolist(), strict=True):
            p.counts[:] = counts[s: s + p.rows.num_rows]
        return before, counts


class KeptRows:
    """Rows one side of a join keeps, as the pieces they arrived in: batches (output names), join
    keys, weights, event times (interval joins) and match counts (left joins), each piece with its
    time range. An interval join probes only the pieces whose time range can match and drops whole
    pieces behind the watermark, so its per-batch work follows the join horizon, not the state;
    many small pieces are merged now and then so a piece list stays short."""

    MAX_PIECES = 64
    MERGE = 8

    def __init__(self, schema: pa.Schema, n_keys: int):
        self.schema = schema
        self.n_keys = n_keys
        self.pieces: list[_Piece] = []
        self._all: RowsView | None = None
        self.n = 0
        self.min_ts = END_OF_INPUT

    def __len__(self) -> int:
        return self.n

    def append(self, rows: pa.RecordBatch, keys: list[pa.Array], weights: np.ndarray,
               ts: np.ndarray | None = None, counts: np.ndarray | None = None) -> None:
        n = rows.num_rows
        if n == 0:
            return
        ts_ = ts if ts is not None else np.zeros(n, np.int64)
        tmin, tmax = (int(ts_.min()), int(ts_.max())) if ts is not None else (0, 0)
        self.pieces.append(_Piece(rows, list(keys), weights, ts_,
                                  counts if counts is not None else np.zeros(n, np.int64), tmin, tmax))
        self.n += n
        if ts is not None:
            self.min_ts = min(self.min_ts, tmin)
        if len(self.pieces) > self.MAX_PIECES:
            # consecutive pieces merged in groups: arrival order (hence time locality) is kept
            m = self.MERGE
            self.pieces = [_concat_pieces(self.schema, self.n_keys, self.pieces[i:i + m]) if m > 1 else self.pieces[i]
                           for i in range(0, len(self.pieces), m)]
        self._all = None

    def view(self, t_lo: int | None = None, t_hi: int | None = None) -> RowsView:
        """The kept rows (all, or those of the pieces whose time range meets [t_lo, t_hi])."""
        if t_lo is None and t_hi is None:
            if self._all is None:
                self._all = RowsView(self.schema, self.n_keys, self.pieces)
            return self._all
        lo = NO_WATERMARK if t_lo is None else t_lo
        hi = END_OF_INPUT if t_hi is None else t_hi
        return RowsView(self.schema, self.n_keys, [p for p in self.pieces if p.tmax >= lo and p.tmin <= hi])

    def remove_before(self, threshold: int, want_gone: bool = True) -> tuple[pa.Table, np.ndarray] | None:
        """Drops the rows whose event time is below `threshold`; returns them (when `want_gone`) with
        their match counts, or None when nothing is that old. A piece entirely below goes at once;
        in a piece straddling the threshold the old rows are only marked dead (they can no longer
        satisfy the join's time bound, so probing them finds nothing) until half the piece is dead,
        when it is filtered: re-filtering a batch's strings at every watermark costs more than the
        join."""
        if self.n == 0 or self.min_ts >= threshold:
            return None
        gone_rows: list[pa.RecordBatch] = []
        gone_counts: list[np.ndarray] = []
        kept: list[_Piece] = []
        for p in self.pieces:
            if p.tmin >= threshold or p.dead_before >= threshold:
                kept.append(p)
                continue
            if p.tmax < threshold:
                if want_gone:
                    if p.n_dead:
                        live = p.ts >= p.dead_before
                        gone_rows.append(p.rows.filter(pa.array(live)))
                        gone_counts.append(p.counts[live])
                    else:
                        gone_rows.append(p.rows)
                        gone_counts.append(p.counts)
                continue
            newly = p.ts < threshold
            if p.n_dead:
                newly &= p.ts >= p.dead_before
            if want_gone:
                gone_rows.append(p.rows.filter(pa.array(newly)))
                gone_counts.append(p.counts[newly])
            p.n_dead += int(newly.sum())
            p.dead_before = threshold
            if 2 * p.n_dead > p.rows.num_rows:
                p = _live(p)
            kept.append(p)
        self.pieces = kept
        self.n = sum(p.rows.num_rows - p.n_dead for p in kept)
        self.min_ts = min((max(p.tmin, p.dead_before) for p in kept), default=END_OF_INPUT)
        self._all = None
        if not want_gone:
            return None
        return (pa.Table.from_batches(gone_rows, self.schema),
                np.concatenate(gone_counts) if gone_counts else np.zeros(0, np.int64))


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
    columns are event-time columns of each side (output names): every row a side sends after its
    watermark W has time >= W - lag (lag 0 for a source's event time; a window_start downstream of
    a windowed aggregate trails the watermark by the window's size)."""

    left_time: str
    right_time: str
    lo: int | None
    hi: int | None
    left_lag: int = 0
    right_lag: int = 0


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
        other = self.kept[1 - port].view(*self._reach(port, ts[valid]))
        if port == LEFT:
            joined, li, ri = join_rows(self.name, self.spec, rows, keys, other, None)
            matched = np.bincount(li, minlength=rows.num_rows).astype(np.int64)
        else:
            joined, li, ri = join_rows(self.name, self.spec, other, None, rows, keys)
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
        self._evict()  # rows already too old for any future match leave at once

    def on_watermark(self, port: int, ts: int) -> None:
        if ts <= self._in_wm[port]:
            return
        self._in_wm[port] = ts
        self._evict()
        self._forward(self.output_watermark())

    def _reach(self, port: int, ts: np.ndarray) -> tuple[int | None, int | None]:
        """The other side's times that rows at `ts` on `port` can meet (lo <= left - right <= hi);
        (None, None) is everything. Rows without a time meet nothing: an empty range."""
        if len(ts) == 0:
            return END_OF_INPUT, NO_WATERMARK
        t0, t1 = int(ts.min()), int(ts.max())
        lo, hi = self.bound.lo, self.bound.hi
        if port == LEFT:  # right in [left - hi, left - lo]
            return (None if hi is None else t0 - hi), (None if lo is None else t1 - lo)
        return (None if lo is None else t0 + lo), (None if hi is None else t1 + hi)

    def thresholds(self) -> tuple[int, int]:
        """Left rows below the first, right rows below the second can no longer match: later right
        rows have right_time >= right watermark - right_lag, so a left row needs left_time >= that + lo
        (and symmetrically, left_time - hi)."""
        w_left, w_right = self._in_wm
        b = self.bound
        return (shift(w_right, None if b.lo is None else b.lo - b.right_lag),
                shift(w_left, None if b.hi is None else -b.hi - b.left_lag))

    def output_watermark(self) -> int:
        """No later output row has a time column below this minus that column's input lag: pairs come
        from kept rows (not yet evicted: time >= threshold) or rows that have just arrived (time >= the
        side's watermark - lag)."""
        w_left, w_right = self._in_wm
        t_left, t_right = self.thresholds()
        return min(w_left, w_right, t_left, t_right)

    def _evict(self) -> None:
        t_left, t_right = self.thresholds()
        left_join = self.spec.kind == "left"
        gone = self.kept[LEFT].remove_before(t_left, want_gone=left_join)
        if gone is not None and left_join:
            rows, counts = gone
            self._emit_table(pad_right(self.spec, rows.filter(pa.array(counts == 0))))
        self.kept[RIGHT].remove_before(t_right, want_gone=False)


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

    def advance(self, watermark: int) -> None:
        """Joins every window the watermark closes in one hash join, the window's end an extra key
        (q8 closes several 10 s windows per watermark step: one join instead of one each)."""
        closing = sorted(e for e in self.windows if e <= watermark)
        if not closing:
            return
        (left, left_keys), (right, right_keys) = (self._closing_side(closing, port) for port in (LEFT, RIGHT))
        for end in closing:
            del self.windows[end]
        joined, li, _ = join_rows(self.name, self.spec, left, left_keys, right, right_keys)
        self._emit_table(joined)
        if self.spec.kind == "left":
            unmatched = np.bincount(li, minlength=left.num_rows) == 0
            self._emit_table(pad_right(self.spec, left.filter(pa.array(unmatched))))

    def _closing_side(self, ends: list[int], port: int) -> tuple[pa.Table, list[pa.Array]]:
        """One side's rows of the closing windows (in window order) and their join keys plus the
        window's end."""
        parts, tags = [], []
        for end in ends:
            for b in self.windows[end][port]:
                parts.append(b)
                tags.append(np.full(b.num_rows, end, np.int64))
        rows = pa.Table.from_batches(parts, self.spec.side_schema(port))
        window = pa.array(np.concatenate(tags) if tags else np.zeros(0, np.int64))
        return rows, self.spec.keys(self.name, port, rows) + [window]


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
        other = self.kept[1 - port].view()
        o_rows, o_keys, o_weights = other, other.keys, other.weights
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
    the table as it is then. Nothing earlier is re-emitted, so the output is append-only for an
    append-only stream. A stream that is a changelog (`changelog=True`) gives a changelog: each
    change row is joined like an inserted row and its joined (or, for a left join, null-padded)
    rows carry its weight, so a retraction takes back what its insertion added while the table
    stays as loaded."""

    def __init__(self, name: str, spec: JoinSpec, load: Callable[[], None], changelog: bool = False):
        super().__init__(name, spec, changelog=changelog)
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
            return
        self.ensure_loaded()
        t_rows = self.table.view()
        t_keys = t_rows.keys
        keys = self.spec.keys(self.name, LEFT, rows)
        joined, li, _ = join_rows(self.name, self.spec, rows, keys, t_rows, t_keys)
        self._emit_table(joined, weights[li])
        if self.spec.kind == "left":
            unmatched = np.bincount(li, minlength=rows.num_rows) == 0
            self._emit_table(pad_right(self.spec, rows.filter(pa.array(unmatched))), weights[unmatched])

    def on_watermark(self, port: int, ts: int) -> None:
        if port == LEFT:
            self.ensure_loaded()
        if ts <= self._in_wm[port]:
            return
        self._in_wm[port] = ts
        # output rows are stream rows emitted as they arrive: the stream's watermark holds for them
        self._forward(self._in_wm[LEFT] if self._in_wm[RIGHT] == END_OF_INPUT else min(self._in_wm))
