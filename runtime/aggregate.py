"""Aggregation: the one-shot group_by kernel, mergeable partial aggregates for changelogs, and the
aggregate operators (windowed `final`, windowed or global `changes`).

Windowed `final` buffers each pane's rows and runs one Arrow group_by when the watermark closes
windows (datafusion.md section 4, approach E). `changes` keeps per-group partial aggregates in slot
columns and, after each input batch, retracts and re-inserts every group whose result changed.
A non-windowed aggregate over a changelog input keeps retractable state instead (changelog_aggregate.py).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .eventtime import END_OF_INPUT, NO_WATERMARK, micros
from .operators import WEIGHT, Operator, is_changelog, lagged, window_column
from .state import KeyIndex, SlotColumn
from .windows import WindowDef

FUNCTIONS = ("count", "sum", "min", "max", "avg", "count_distinct")
_ONLY_VALID = pc.CountOptions(mode="only_valid")
_NULL_IF_EMPTY = pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)
_DUMMY_KEY = "__group"
_PACKED_KEY = "__packed"
_WINDOW_KEY = "__window"


@dataclass(frozen=True)
class AggSpec:
    """`name = fn(arg)` with result type `type`; arg is an input column name, None for count()."""

    name: str
    fn: str
    arg: str | None
    type: pa.DataType

    def __post_init__(self) -> None:
        if self.fn not in FUNCTIONS:
            raise ValueError(f"unknown aggregate {self.fn}")
        if self.arg is None and self.fn != "count":
            raise ValueError(f"{self.fn} needs an argument")


def _arrow_spec(a: AggSpec) -> tuple:
    if a.fn == "count":
        return ([], "count_all") if a.arg is None else (a.arg, "count", _ONLY_VALID)
    if a.fn == "count_distinct":
        return (a.arg, "count_distinct", _ONLY_VALID)
    fn = {"sum": "sum", "min": "min", "max": "max", "avg": "mean"}[a.fn]
    return (a.arg, fn, _NULL_IF_EMPTY)


def _run_group_by(table: pa.Table, keys: list[str], specs: list[tuple]) -> tuple[list[pa.Array], list[pa.Array]]:
    """(key columns, aggregate columns in the order of specs). Without keys, one group over a constant
    key: scalar aggregation lacks some kernels (hash_distinct) and this keeps one code path."""
    if not keys:
        table = table.append_column(_DUMMY_KEY, pa.array(np.zeros(table.num_rows, dtype=np.int8)))
        keys_used = [_DUMMY_KEY]
    else:
        keys_used = keys
    packed = _pack_keys(table, keys_used) if len(keys_used) > 1 else None
    if packed is not None:
        # one int64 key instead of several integer keys: about 2x faster (datafusion.md section 4)
        codes, unpack = packed
        table = table.append_column(_PACKED_KEY, pa.array(codes))
        key_cols, agg_cols = _group_by(table, [_PACKED_KEY], specs)
        return unpack(key_cols[0]), agg_cols
    key_cols, agg_cols = _group_by(table, keys_used, specs)
    return (key_cols if keys else []), agg_cols


def _group_by(table: pa.Table, keys: list[str], specs: list[tuple]) -> tuple[list[pa.Array], list[pa.Array]]:
    out = table.group_by(keys, use_threads=False).aggregate(specs)
    names = out.schema.names
    nk = len(keys)
    if names[:nk] == keys:
        key_idx, agg_idx = list(range(nk)), list(range(nk, len(names)))
    else:
        key_idx, agg_idx = list(range(len(names) - nk, len(names))), list(range(len(names) - nk))
    cols = [c.combine_chunks() for c in out.columns]
    return [cols[i] for i in key_idx], [cols[i] for i in agg_idx]


def _pack_keys(table: pa.Table, keys: list[str]):
    """Integer keys without nulls whose value ranges multiply to < 2**62: (packed codes, unpack)."""
    if table.num_rows == 0:
        return None
    cols = [table.column(k) for k in keys]
    if not all(pa.types.is_integer(c.type) and not c.null_count for c in cols):
        return None  # decided before any column is read: a string key (q8's name) is common
    mins, spans, values, types = [], [], [], []
    total = 1
    for c in cols:
        mm = pc.min_max(c)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        span = hi - lo + 1
        total *= span
        if total >= 2**62:
            return None
        mins.append(lo)
        spans.append(span)
        values.append(c.to_numpy())
        types.append(c.type)
    # in place, one int64 array: no temporary per key (astype(copy=False) leaves int64 alone)
    codes = np.subtract(values[0], mins[0], dtype=np.int64)
    for v, lo, span in zip(values[1:], mins[1:], spans[1:], strict=True):
        codes *= span
        codes += v.astype(np.int64, copy=False)
        codes -= lo

    def unpack(packed: pa.Array) -> list[pa.Array]:
        rest = packed.to_numpy(zero_copy_only=False).astype(np.int64)
        out = []
        for lo, span, t in reversed(list(zip(mins, spans, types, strict=True))):
            out.append(pa.array(rest % span + lo).cast(t))
            rest = rest // span
        return out[::-1]
    return codes, unpack


def group_aggregate(table: pa.Table, keys: list[str], aggs: list[AggSpec]) -> pa.Table:
    """SQL GROUP BY keys with aggs (nulls form a group; count(x) skips nulls; sum of nulls is null)."""
    key_cols, agg_cols = _run_group_by(table, keys, [_arrow_spec(a) for a in aggs])
    arrays = key_cols + [c.cast(a.type) for c, a in zip(agg_cols, aggs, strict=True)]
    fields = [table.schema.field(k) for k in keys] + [pa.field(a.name, a.type) for a in aggs]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def split_by(values: np.ndarray, batch: pa.RecordBatch | pa.Table) -> list[tuple[int, pa.RecordBatch]]:
    """Rows grouped by an int64 value (one take and slices, no per-row loop), in value order."""
    n = len(values)
    if n == 0:
        return []
    first = values[0]
    if (values == first).all():
        return [(int(first), batch)]
    order = np.argsort(values, kind="stable")
    sv = values[order]
    taken = batch.take(pa.array(order))
    bounds = [0, *(np.flatnonzero(np.diff(sv)) + 1).tolist(), n]
    return [(int(sv[s]), taken.slice(s, e - s)) for s, e in zip(bounds[:-1], bounds[1:], strict=True)]


# ---------------------------------------------------------------- mergeable partials (changes mode)


def _add_nullable(old: pa.Array, new: pa.Array) -> pa.Array:
    t = old.type
    if pa.types.is_decimal128(t) and t.precision >= 38:
        # decimal128 addition needs one more digit than the operands; add in decimal256 and narrow
        # back with a checked cast (a sum that does not fit is an error, as in SQL)
        wide = pa.decimal256(t.precision + 1, t.scale)
        both = pc.add_checked(old.cast(wide), new.cast(wide)).cast(t)
    else:
        both = pc.add_checked(old, new).cast(t)
    return pc.coalesce(both, old, new)


class _Partial:
    """How one aggregate is kept per group: partial columns, merge, and the final value."""

    def __init__(self, spec: AggSpec):
        self.spec = spec
        a = spec.arg
        if spec.fn == "count":
            self.arrow = [([], "count_all") if a is None else (a, "count", _ONLY_VALID)]
        elif spec.fn in ("sum", "min", "max"):
            self.arrow = [(a, spec.fn, _NULL_IF_EMPTY)]
        elif spec.fn == "avg":
            self.arrow = [(a, "sum", _NULL_IF_EMPTY), (a, "count", _ONLY_VALID)]
        else:  # count_distinct: the distinct values per group, merged into Python sets
            self.arrow = [(a, "distinct", _ONLY_VALID)]
        self.columns: list[SlotColumn] | None = None
        self.sets: list[set] = []

    def reserve(self, n: int, partials: list[pa.Array]) -> None:
        if self.spec.fn == "count_distinct":
            while len(self.sets) < n:
                self.sets.append(set())
            return
        if self.columns is None:
            self.columns = [SlotColumn(p.type) for p in partials]
        for c in self.columns:
            c.reserve(n)

    def update(self, slots: np.ndarray, partials: list[pa.Array]) -> tuple[pa.Array, pa.Array]:
        """Merge a batch's partials into the groups at `slots`; returns (old final, new final)."""
        t = self.spec.type
        if self.spec.fn == "count_distinct":
            before = np.empty(len(slots), dtype=np.int64)
            after = np.empty(len(slots), dtype=np.int64)
            for i, (s, vals) in enumerate(zip(slots.tolist(), partials[0].to_pylist(), strict=True)):
                seen = self.sets[s]
                before[i] = len(seen)
                seen.update(vals)
                after[i] = len(seen)
            return pa.array(before).cast(t), pa.array(after).cast(t)
        assert self.columns is not None
        old = [c.take(slots) for c in self.columns]
        new = [p.cast(c.type) for p, c in zip(partials, self.columns, strict=True)]
        fn = self.spec.fn
        if fn in ("count", "sum"):
            merged = [_add_nullable(old[0], new[0])]
        elif fn == "min":
            merged = [pc.min_element_wise(old[0], new[0], skip_nulls=True)]
        elif fn == "max":
            merged = [pc.max_element_wise(old[0], new[0], skip_nulls=True)]
        else:  # avg
            merged = [_add_nullable(old[0], new[0]), _add_nullable(old[1], new[1])]
        for c, m in zip(self.columns, merged, strict=True):
            c.put(slots, m)
        return self._final(old), self._final(merged)

    def _final(self, parts: list[pa.Array]) -> pa.Array:
        t = self.spec.type
        if self.spec.fn == "count":
            return parts[0].fill_null(0).cast(t)
        if self.spec.fn != "avg":
            return parts[0].cast(t)
        return avg_final(parts[0], parts[1], t)

    def empty_value(self) -> pa.Array:
        return empty_value(self.spec)


def avg_final(total: pa.Array, n: pa.Array, t: pa.DataType) -> pa.Array:
    """avg = total / n per row, null where n is 0 or null, as type t."""
    n = pc.if_else(pc.equal(n.fill_null(0), 0), pa.scalar(None, n.type), n)
    if pa.types.is_decimal(total.type):
        # the quotient's precision is the sum's + 20 or more: past decimal128's 38 for a wide sum,
        # so divide in decimal256 and narrow to the result type
        if total.type.precision + 20 > 38:
            quotient = pc.divide(total.cast(pa.decimal256(total.type.precision, total.type.scale)),
                                 n.cast(pa.decimal256(19, 0)))
        else:
            quotient = pc.divide(total, n.cast(pa.decimal128(19, 0)))
        # rounded half away from zero to the result's scale, as SQL engines and Arrow's mean do
        return pc.round(quotient, ndigits=t.scale, round_mode="half_towards_infinity").cast(t, safe=False)
    return pc.divide(total.cast(pa.float64()), n.cast(pa.float64())).cast(t)


def empty_value(spec: AggSpec) -> pa.Array:
    """The value over no rows (a global aggregate of an empty input): 0 for counts, else null."""
    if spec.fn in ("count", "count_distinct"):
        return pa.array([0], pa.int64()).cast(spec.type)
    return pa.nulls(1, spec.type)


def differs(olds: list[pa.Array], news: list[pa.Array], n: int) -> np.ndarray:
    """Per group (n of them): whether some aggregate's value changed (null to null is no change)."""
    changed = np.zeros(n, dtype=bool)
    for o, f in zip(olds, news, strict=True):
        same = pc.fill_null(pc.equal(o, f), False).to_numpy(zero_copy_only=False)
        both_null = (o.is_null().to_numpy(zero_copy_only=False) & f.is_null().to_numpy(zero_copy_only=False))
        changed |= ~(same | both_null)
    return changed


def changes_table(schema: pa.Schema, key_cols: list[pa.Array], olds: list[pa.Array], news: list[pa.Array],
                  retract: np.ndarray, insert: np.ndarray) -> pa.Table:
    """A changelog over a batch's groups: the old values of the `retract` groups (weight -1), then
    the new values of the `insert` groups (+1)."""
    r_idx = pa.array(np.flatnonzero(retract))
    i_idx = pa.array(np.flatnonzero(insert))
    cols = []
    for k in key_cols:
        cols.append(pa.concat_arrays([k.take(r_idx), k.take(i_idx)]))
    for o, f in zip(olds, news, strict=True):
        cols.append(pa.concat_arrays([o.take(r_idx), f.take(i_idx)]))
    weight = np.concatenate([np.full(len(r_idx), -1, np.int64), np.ones(len(i_idx), np.int64)])
    cols.append(pa.array(weight))
    return pa.Table.from_arrays(cols, schema=schema)


class GroupState:
    """Partial aggregates per group; `update` returns the batch's changes as a changelog table."""

    def __init__(self, keys: list[str], key_types: list[pa.DataType], aggs: list[AggSpec]):
        self.keys = keys
        self.index = KeyIndex(key_types)
        self.partials = [_Partial(a) for a in aggs]
        self.aggs = aggs
        self.schema = pa.schema([pa.field(k, t) for k, t in zip(keys, key_types, strict=True)]
                                + [pa.field(a.name, a.type) for a in aggs] + [pa.field(WEIGHT, pa.int64())])

    def update(self, table: pa.Table | pa.RecordBatch) -> pa.Table:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        specs = [s for p in self.partials for s in p.arrow]
        key_cols, part_cols = _run_group_by(table, self.keys, specs)
        if not self.keys:
            key_cols_for_index = [pa.array(np.zeros(len(part_cols[0]), dtype=np.int8))]
        else:
            key_cols_for_index = key_cols
        slots, new = self.index.lookup(key_cols_for_index)
        n_slots = len(self.index)
        olds, news = [], []
        i = 0
        for p in self.partials:
            parts = part_cols[i: i + len(p.arrow)]
            i += len(p.arrow)
            p.reserve(n_slots, parts)
            old, fresh = p.update(slots, parts)
            olds.append(old)
            news.append(fresh)
        # a group whose results all stayed the same is left out of the changelog
        changed = new | differs(olds, news, len(new))
        return changes_table(self.schema, key_cols, olds, news, changed & ~new, changed)

    def contents(self) -> pa.Table:
        """The current result of every group (no weight column)."""
        n = len(self.index)
        slots = np.arange(n, dtype=np.int64)
        cols = self.index.key_columns() if self.keys else []
        for p in self.partials:
            if p.spec.fn == "count_distinct":
                cols.append(pa.array([len(s) for s in p.sets[:n]], pa.int64()).cast(p.spec.type))
            elif p.columns is None:
                cols.append(pa.nulls(0, p.spec.type))
            else:
                cols.append(p._final([c.take(slots) for c in p.columns]))
        return pa.Table.from_arrays(cols, schema=pa.schema(list(self.schema)[:-1]))

    def empty_result(self) -> pa.Table:
        """A keyless aggregate over no rows is one row (count 0, others null), as in SQL."""
        return pa.Table.from_arrays([p.empty_value() for p in self.partials], schema=pa.schema(list(self.schema)[:-1]))


# ---------------------------------------------------------------- pre-aggregated panes (windowed final)

_MERGE_FN = {"count": "sum", "sum": "sum", "min": "min", "max": "max"}


def _pre_aggregable(a: AggSpec, schema: pa.Schema) -> bool:
    """Whether a pane's partial of `a` can be merged exactly into the window's result: counts,
    sums, min and max always; avg of integers and floats (a sum and a count); never count_distinct
    (kept raw) nor avg of decimals (its rounding is the mean kernel's)."""
    if a.fn == "count_distinct":
        return False
    if a.fn == "avg":
        t = schema.field(a.arg).type
        return pa.types.is_integer(t) or pa.types.is_floating(t)
    return True


class PanePartials:
    """Each pane's rows reduced to one partial row per group as the batch arrives (one group_by on
    keys + pane over the batch), so raw rows are grouped once, not size/slide times, and a window's
    result merges the partials of its panes (k small tables) when it closes."""

    def __init__(self, keys: list[str], aggs: list[AggSpec]):
        self.keys = keys
        self.partials = [_Partial(a) for a in aggs]
        self.specs = [s for p in self.partials for s in p.arrow]
        self.names = [f"__p{i}" for i in range(len(self.specs))]
        fns = []
        for p in self.partials:
            fns += ["sum", "sum"] if p.spec.fn == "avg" else [_MERGE_FN[p.spec.fn]]
        self.merge_specs = [(n, f, _NULL_IF_EMPTY) for n, f in zip(self.names, fns, strict=True)]

    def reduce(self, rows: pa.Table, panes: np.ndarray) -> list[tuple[int, pa.Table]]:
        """(pane, partial rows: keys then the partial columns) for each pane of `rows`."""
        t = rows.append_column(_WINDOW_KEY, pa.array(panes))
        key_cols, part_cols = _run_group_by(t, self.keys + [_WINDOW_KEY], self.specs)
        out = pa.Table.from_arrays(key_cols[:-1] + part_cols, names=self.keys + self.names)
        return split_by(key_cols[-1].to_numpy(zero_copy_only=False), out)

    def merge(self, table: pa.Table, window_col: str) -> tuple[list[pa.Array], pa.Array, list[pa.Array]]:
        """(key columns, window column, final aggregate columns) of partials grouped by keys + window."""
        key_cols, parts = _run_group_by(table, self.keys + [window_col], self.merge_specs)
        finals, i = [], 0
        for p in self.partials:
            n = len(p.arrow)
            finals.append(p._final(parts[i:i + n]).cast(p.spec.type))
            i += n
        return key_cols[:-1], key_cols[-1], finals


def _keyless_reducible(a: AggSpec, schema: pa.Schema) -> bool:
    """count, and min/max of integers or timestamps: merged exactly, whatever the order (sums are
    left to the group_by path: its overflow and float rounding are the kernel's)."""
    if a.fn == "count":
        return True
    if a.fn in ("min", "max"):
        t = schema.field(a.arg).type
        return pa.types.is_integer(t) or pa.types.is_timestamp(t)
    return False


class _PanePartial:
    """One pane's partial results of a keyless aggregate (a count, or a min/max as an int or None);
    num_rows says what it weighs as state (one row)."""

    num_rows = 1

    def __init__(self, values: list):
        self.values = values


class KeylessPanes:
    """A windowed aggregate without keys whose aggregates are counts and min/max of integers or
    times (Nexmark q7's max per window): each batch's rows are reduced on arrival to one partial per
    pane with scalar kernels, and a closing window merges its panes' partials in plain Python (a few
    values per window). No group_by, no buffered rows."""

    def __init__(self, aggs: list[AggSpec], schema: pa.Schema):
        self.aggs = aggs
        self.arg_types = [schema.field(a.arg).type if a.arg is not None else None for a in aggs]

    def reduce_batch(self, rows: pa.RecordBatch, ts: np.ndarray, window: WindowDef) -> list[tuple[int, _PanePartial]]:
        """One partial per pane the rows fall in, in pane order. The panes come from the times'
        bounds, not from a pane per row: a batch spans a few panes (most often one, where no row needs
        looking at), each selected by two comparisons; no rows are filtered or copied."""
        if len(ts) == 0:
            return []
        first, last = window.pane_of(int(ts.min())), window.pane_of(int(ts.max()))
        if first == last:
            return [(first, self._reduce(rows, None))]
        out = []
        if (last - first) // window.slide < 16:
            for p in range(first, last + 1, window.slide):
                mask = (ts >= p) & (ts < p + window.slide)
                if mask.any():
                    out.append((p, self._reduce(rows, mask)))
            return out
        panes = window.pane_start(ts)  # a batch spanning many panes (sparse times): one pass per pane present
        for p in np.unique(panes).tolist():
            out.append((int(p), self._reduce(rows, panes == p)))
        return out

    def _reduce(self, rows: pa.RecordBatch, mask: np.ndarray | None) -> _PanePartial:
        """The partial of the rows where `mask` (None: all of them)."""
        n = rows.num_rows if mask is None else int(np.count_nonzero(mask))
        values = []
        for a, t in zip(self.aggs, self.arg_types, strict=True):
            if a.arg is None:
                values.append(n)
                continue
            col = rows.column(a.arg)
            where = mask
            if col.null_count:
                valid = col.is_valid().to_numpy(zero_copy_only=False)
                where = valid if mask is None else valid & mask
            if a.fn == "count":  # of any type: only the validity matters
                values.append(n if where is None else int(np.count_nonzero(where)))
                continue
            if pa.types.is_timestamp(t):
                col = col.view(pa.int64())
            data = col.to_numpy(zero_copy_only=False) if not col.null_count else col.fill_null(0).to_numpy()
            if where is None:
                values.append(int(data.min() if a.fn == "min" else data.max()))
            elif not where.any():
                values.append(None)  # no valid value
            elif a.fn == "min":
                values.append(int(np.min(data, where=where, initial=np.iinfo(data.dtype).max)))
            else:
                values.append(int(np.max(data, where=where, initial=np.iinfo(data.dtype).min)))
        return _PanePartial(values)

    def merge(self, x: _PanePartial, y: _PanePartial) -> _PanePartial:
        out = []
        for a, u, v in zip(self.aggs, x.values, y.values, strict=True):
            if a.fn == "count":
                out.append(u + v)
            elif u is None or v is None:
                out.append(v if u is None else u)
            else:
                out.append(min(u, v) if a.fn == "min" else max(u, v))
        return _PanePartial(out)

    def columns(self, partials: list[_PanePartial]) -> list[pa.Array]:
        """The final aggregate columns, one row per partial."""
        cols = []
        for i, (a, t) in enumerate(zip(self.aggs, self.arg_types, strict=True)):
            vals = [p.values[i] for p in partials]
            if a.fn == "count":
                cols.append(pa.array(vals, pa.int64()).cast(a.type))
            elif pa.types.is_timestamp(t):
                cols.append(pa.array(vals, pa.int64()).view(t).cast(a.type))
            else:
                cols.append(pa.array(vals, t).cast(a.type))
        return cols


# ---------------------------------------------------------------- operators


def _check_append_only(name: str, schema: pa.Schema) -> None:
    if is_changelog(schema):
        raise ValueError(f"{name}: aggregating a changelog is not supported by the runtime yet")


class GlobalAggregateOp(Operator):
    """A non-windowed aggregate. `changes`: a changelog after each input batch; `final`: every group
    once, at end of input (nothing can close earlier without a window). Over a changelog input the
    groups keep retractable state (changelog_aggregate.py); over an append-only one, merged partials."""

    def __init__(self, name: str, input_schema: pa.Schema, keys: list[str], aggs: list[AggSpec],
                 mode: str = "changes"):
        self.needed = list(dict.fromkeys(keys + [a.arg for a in aggs if a.arg is not None]))
        if is_changelog(input_schema):
            from .changelog_aggregate import ChangelogGroupState  # it builds on this module's kernels

            self.state: GroupState | ChangelogGroupState = ChangelogGroupState(keys, input_schema, aggs)
            self.needed.append(WEIGHT)
        else:
            self.state = GroupState(keys, [input_schema.field(k).type for k in keys], aggs)
        self.mode = mode
        schema = self.state.schema if mode == "changes" else pa.schema(list(self.state.schema)[:-1])
        super().__init__(name, schema)
        self._emitted_any = False

    def state_rows(self) -> int:
        """The groups seen so far (one partial aggregate each)."""
        return len(self.state.index)

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        changes = self.state.update(batch.select(self.needed))
        if self.mode == "changes" and changes.num_rows:
            self._emitted_any = True
            for b in changes.combine_chunks().to_batches():
                self.emit(b)

    def advance(self, watermark: int) -> None:
        if watermark != END_OF_INPUT:
            return
        if self.mode == "final":
            out = self.state.contents() if len(self.state.index) or self.state.keys else self.state.empty_result()
            for b in out.combine_chunks().to_batches():
                self.emit(b)
        elif not self.state.keys and not self._emitted_any:
            empty = self.state.empty_result()
            out = empty.append_column(WEIGHT, pa.array([1], pa.int64()))
            for b in out.to_batches():
                self.emit(b)


class WindowAggregateOp(Operator):
    """A tumble or hop aggregate. Output: keys, window_start, window_end, aggregates (+ weight in
    `changes` mode).

    `lag` says how far the window time column may trail the watermark reaching this operator: every
    later row has time >= watermark - lag (0 for the source's event time; a window_start of an upstream
    windowed aggregate trails by that window's size), so a window closes once watermark - lag reaches
    its end. None: the column has no such bound and windows close only at end of input. Rows whose
    time is null form one window with null bounds, closed at end of input.
    """

    def __init__(self, name: str, input_schema: pa.Schema, keys: list[str], aggs: list[AggSpec], time_col: str,
                 window: WindowDef, window_type: pa.DataType, mode: str = "final", lag: int | None = 0):
        _check_append_only(name, input_schema)
        self.keys = keys
        self.aggs = aggs
        self.time_col = time_col
        self.window = window
        self.window_type = window_type
        self.mode = mode
        self.lag = lag
        key_fields = [input_schema.field(k) for k in keys]
        fields = key_fields + [pa.field("window_start", window_type), pa.field("window_end", window_type)]
        fields += [pa.field(a.name, a.type) for a in aggs]
        if mode == "changes":
            fields.append(pa.field(WEIGHT, pa.int64()))
        super().__init__(name, pa.schema(fields))
        self._final_schema = pa.schema([f for f in fields if f.name != WEIGHT])
        self.needed = list(dict.fromkeys(keys + [a.arg for a in aggs if a.arg is not None]))
        self._needed_schema = pa.schema([input_schema.field(c) for c in self.needed])
        self._key_types = [f.type for f in key_fields]
        # final mode: rows buffered per pane; window starts that have rows, as a heap (+ a set)
        self.panes: dict[int, list[pa.RecordBatch]] = defaultdict(list)
        self._pending: list[int] = []
        self._pending_set: set[int] = set()
        self.null_rows: list[pa.RecordBatch] = []
        # changes mode: partial aggregates per open window (None: the null window)
        self.states: dict[int | None, GroupState] = {}
        # final mode with mergeable aggregates: panes hold partials (PanePartials), not raw rows
        self.pre = (PanePartials(keys, aggs) if mode == "final" and window.per_row > 1
                    and all(_pre_aggregable(a, input_schema) for a in aggs) else None)
        self._sealed: set[int] = set()  # panes whose rows were reduced to partials (self.panes[p] == [partials])
        # final mode without keys, counts/min/max only: self.panes[p] == [one _PanePartial]
        self.keyless = (KeylessPanes(aggs, input_schema) if mode == "final" and not keys
                        and all(_keyless_reducible(a, input_schema) for a in aggs) else None)
        if self.keyless is not None:
            self.pre = None

    def state_rows(self) -> int:
        """final: the rows buffered in open panes (partial rows once a pane is sealed, one per pane
        when keyless) and the null-time rows; changes: the groups of every open window."""
        if self.mode == "final":
            return (sum(b.num_rows for part in self.panes.values() for b in part)
                    + sum(b.num_rows for b in self.null_rows))
        return sum(len(st.index) for st in self.states.values())

    # -- input
    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        ts, valid = micros(batch.column(self.time_col))
        rows = batch.select(self.needed)
        if self.mode == "final":
            self._buffer(rows, ts, valid)
        else:
            self._update(rows, ts, valid)

    def _buffer(self, rows: pa.RecordBatch, ts: np.ndarray, valid: np.ndarray) -> None:
        if not valid.all():
            self.null_rows.append(self._null_window_rows(rows, valid))
            rows, ts = rows.filter(pa.array(valid)), ts[valid]
        touched = []
        if self.keyless is not None:
            for pane, part in self.keyless.reduce_batch(rows, ts, self.window):
                held = self.panes.get(pane)
                self.panes[pane] = [self.keyless.merge(held[0], part) if held else part]
                touched.append(pane)
        else:
            for pane, part in split_by(self.window.pane_start(ts), rows):
                self.panes[pane].append(part)
                touched.append(pane)
        for pane in touched:
            for s in self.window.windows_of_pane(pane):
                if s not in self._pending_set:
                    self._pending_set.add(s)
                    heapq.heappush(self._pending, s)

    def _update(self, rows: pa.RecordBatch, ts: np.ndarray, valid: np.ndarray) -> None:
        out: list[pa.Table] = []
        if not valid.all():
            out.append(self._state_update(None, self._null_window_rows(rows, valid)))
            rows, ts = rows.filter(pa.array(valid)), ts[valid]
        idx, starts = self.window.assign(ts)
        if len(idx) != rows.num_rows:
            rows = rows.take(pa.array(idx))
        for s, part in split_by(starts, rows):
            out.append(self._state_update(s, part))
        out = [t for t in out if t.num_rows]
        if out:
            for b in pa.concat_tables(out).combine_chunks().to_batches():
                self.emit(b)

    def _null_window_rows(self, rows: pa.RecordBatch, valid: np.ndarray) -> pa.RecordBatch:
        """Rows with a null time, once per window a row belongs to (hop: size/slide times), as
        window assignment gives them: the other targets group them the same way."""
        idx = np.repeat(np.flatnonzero(~valid), self.window.per_row)
        return rows.take(pa.array(idx))

    def _state_update(self, start: int | None, part: pa.RecordBatch) -> pa.Table:
        st = self.states.get(start)
        if st is None:
            st = self.states[start] = GroupState(self.keys, self._key_types, self.aggs)
        changes = st.update(part)
        return self._with_window(changes, start, changes.num_rows)

    def _with_window(self, table: pa.Table, start: int | None, n: int) -> pa.Table:
        nk = len(self.keys)
        if start is None:
            ws = we = pa.nulls(n, self.window_type)
        else:
            ws = window_column(np.full(n, start, np.int64), None, self.window_type)
            we = window_column(np.full(n, start + self.window.size, np.int64), None, self.window_type)
        cols = table.columns[:nk] + [ws, we] + table.columns[nk:]
        return pa.Table.from_arrays(cols, schema=self.schema)

    # -- watermark
    def advance(self, watermark: int) -> None:
        # from here on, `watermark` bounds the window time column: no later row is below it
        watermark = lagged(watermark, self.lag)
        if watermark == NO_WATERMARK:
            return
        size = self.window.size
        if self.mode == "changes":
            # results were emitted as they changed; a closed window's state is simply dropped
            for s in [s for s in self.states if s is not None and s + size <= watermark]:
                del self.states[s]
            if watermark == END_OF_INPUT:
                self.states.clear()
            return
        if self.pre is not None:
            self._seal(watermark)
        closing = []
        while self._pending and self._pending[0] + size <= watermark:
            s = heapq.heappop(self._pending)
            self._pending_set.discard(s)
            closing.append(s)
        out = [self._close(closing)] if closing else []
        for pane in [p for p in self.panes if p + size <= watermark]:
            del self.panes[pane]  # its last window has closed
            self._sealed.discard(pane)
        if watermark == END_OF_INPUT and self.null_rows:
            table = pa.Table.from_batches(self.null_rows, self._needed_schema)
            self.null_rows = []
            res = group_aggregate(table, self.keys, self.aggs)
            out.append(self._with_window(res, None, res.num_rows))
        out = [t for t in out if t.num_rows]
        if out:
            for b in pa.concat_tables(out).combine_chunks().to_batches():
                self.emit(b)

    def _seal(self, watermark: int) -> None:
        """Panes the watermark has passed get no more rows: each is reduced to one partial row per
        group (all such panes in one group_by), which the size/slide windows holding it then merge."""
        done = sorted(p for p in self.panes if p + self.window.slide <= watermark and p not in self._sealed)
        if not done:
            return
        batches, panes = [], []
        for p in done:
            for b in self.panes[p]:
                batches.append(b)
                panes.append(np.full(b.num_rows, p, np.int64))
        rows = pa.Table.from_batches(batches, self._needed_schema)
        for p in done:
            self.panes[p] = []
            self._sealed.add(p)
        for p, part in self.pre.reduce(rows, np.concatenate(panes)):
            self.panes[p] = [part]

    def _close(self, starts: list[int]) -> pa.Table:
        """Results of the windows starting at `starts`: their panes' rows, tagged with the window start,
        in one group_by on (keys, window start), so closing many windows at once stays one call."""
        if self.keyless is not None:
            return self._close_keyless(starts)
        tables = []
        for start in starts:
            parts = []
            for pane in range(start, start + self.window.size, self.window.slide):
                parts += self.panes.get(pane, [])
            if not parts:
                continue
            t = pa.concat_tables(parts) if self.pre is not None else pa.Table.from_batches(parts, self._needed_schema)
            tables.append(t.append_column(_WINDOW_KEY, pa.array(np.full(t.num_rows, start, np.int64))))
        nk = len(self.keys)
        if not tables:
            return self._final_schema.empty_table()
        if self.pre is not None:
            key_cols, wcol, finals = self.pre.merge(pa.concat_tables(tables), _WINDOW_KEY)
            order = pa.array(np.argsort(wcol.to_numpy(zero_copy_only=False), kind="stable"))
            ws = wcol.take(order).to_numpy(zero_copy_only=False)
            cols = [c.take(order) for c in key_cols] + [None] + [c.take(order) for c in finals]
        else:
            res = group_aggregate(pa.concat_tables(tables), self.keys + [_WINDOW_KEY], self.aggs).sort_by(_WINDOW_KEY)
            ws = res.column(_WINDOW_KEY).to_numpy()
            cols = [c.combine_chunks() for c in res.columns]
        cols = cols[:nk] + [window_column(ws, None, self.window_type),
                            window_column(ws + self.window.size, None, self.window_type)] + cols[nk + 1:]
        return pa.Table.from_arrays(cols, schema=self._final_schema)

    def _close_keyless(self, starts: list[int]) -> pa.Table:
        """The windows starting at `starts` (in order) that have rows: their panes' partials merged."""
        done, merged = [], []
        for start in sorted(starts):
            held = [self.panes[p][0] for p in range(start, start + self.window.size, self.window.slide)
                    if self.panes.get(p)]
            if not held:
                continue
            acc = held[0]
            for h in held[1:]:
                acc = self.keyless.merge(acc, h)
            done.append(start)
            merged.append(acc)
        if not done:
            return self._final_schema.empty_table()
        ws = np.array(done, np.int64)
        cols = [window_column(ws, None, self.window_type), window_column(ws + self.window.size, None, self.window_type)]
        return pa.Table.from_arrays(cols + self.keyless.columns(merged), schema=self._final_schema)
