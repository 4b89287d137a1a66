"""Non-windowed aggregates over a changelog: per-group state that rows can be retracted from.

Input rows carry WEIGHT (+1 insert, -1 retract; a weight of k stands for |k| rows of its sign). The
consolidated output equals the aggregate of the consolidated input (SEMANTICS section 4):

- count() is the sum of the weights. A keyed group whose count is no longer positive is gone (its
  row is retracted); the keyless group always has its one row (count 0, others null when empty).
- count(x), and sum/avg of integers, decimals and intervals, are sums of the weighted values plus
  the count of weighted valid values (sum and avg are null where that count is 0): invertible.
- sum/avg of floats are kept exactly, as an integer multiple of 2**-1126 (plus counts of infinities
  and NaN): a retraction cancels its insertion bit for bit, and the result is the correctly rounded
  sum of the rows present, whatever was inserted and retracted before.
- min, max and count_distinct are not invertible: per group a multiset value -> count, and for
  min/max a heap of the values with lazy deletion (a value whose count fell to 0 is dropped when
  it reaches the top).

Each batch is reduced by Arrow group_by first, per group (the sums) and per (group, value) (the
multisets and the exact float sums), so Python loops over groups and distinct values, not rows.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .aggregate import AggSpec, _add_nullable, _run_group_by, avg_final, changes_table, differs, empty_value
from .operators import WEIGHT
from .state import KeyIndex, SlotColumn, _key_storage

# A finite double is M * 2**(e - 53) with np.frexp's e >= -1073 and an integer mantissa |M| < 2**53,
# so double * 2**_SCALE_BITS is an integer (shifted left by e + _SHIFT bits).
_SCALE_BITS = 1126
_SHIFT = _SCALE_BITS - 53
_SCALE = 1 << _SCALE_BITS
_LOW_BITS = 26  # the mantissa is summed as two halves, so an int64 sum of many rows cannot overflow
_POS_INF, _NEG_INF, _NAN = 5000, 5001, 5002  # exponent codes of the values that are not finite
_NAN_VALUE = ("nan",)  # NaN as a multiset key (float('nan') != itself); min and max skip it, as Arrow does


def _grown(a: np.ndarray, n: int, fill=0) -> np.ndarray:
    if len(a) >= n:
        return a
    out = np.full(max(n, 2 * len(a), 16), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


class _AggState:
    """One aggregate's state for every group (by slot). `sums` names the per-row columns to sum
    per group (merged by `merge`); `by_value` the (value, mask, columns) to sum per (group, value)
    (merged by `merge_values`); `final` gives the current values of some groups."""

    def __init__(self, spec: AggSpec):
        self.spec = spec
        self.n = 0

    def reserve(self, n: int) -> None:
        self.n = n

    def sums(self, table: pa.Table, w: np.ndarray) -> list[pa.Array]:
        return []

    def merge(self, slots: np.ndarray, parts: list[pa.Array]) -> None:
        pass

    def by_value(self, table: pa.Table, w: np.ndarray) -> tuple[pa.Array, np.ndarray, list[pa.Array]] | None:
        return None

    def merge_values(self, slots: np.ndarray, values: pa.Array, parts: list[np.ndarray]) -> None:
        pass

    def final(self, slots: np.ndarray) -> pa.Array:
        raise NotImplementedError


def _valid_weights(table: pa.Table, arg: str | None, w: np.ndarray) -> pa.Array:
    """Each row's weight where the argument is not null, else 0 (count() counts every row)."""
    if arg is None:
        return pa.array(w)
    valid = _column(table, arg).is_valid().to_numpy(zero_copy_only=False)
    return pa.array(np.where(valid, w, 0))


class _Count(_AggState):
    """count() and count(x): the sum of the weights (of the rows where x is not null)."""

    def __init__(self, spec: AggSpec):
        super().__init__(spec)
        self.counts = np.zeros(0, np.int64)

    def reserve(self, n: int) -> None:
        super().reserve(n)
        self.counts = _grown(self.counts, n)

    def sums(self, table: pa.Table, w: np.ndarray) -> list[pa.Array]:
        return [_valid_weights(table, self.spec.arg, w)]

    def merge(self, slots: np.ndarray, parts: list[pa.Array]) -> None:
        self.counts[slots] += parts[0].to_numpy(zero_copy_only=False)

    def final(self, slots: np.ndarray) -> pa.Array:
        return pa.array(self.counts[slots]).cast(self.spec.type)


class _ExactSum(_AggState):
    """sum and avg of integers, decimals and intervals: the sum of x * weight, and how many valid x
    (weighted) it has; both invertible, so a retraction simply subtracts."""

    def __init__(self, spec: AggSpec):
        super().__init__(spec)
        self.valid = np.zeros(0, np.int64)
        self.total: SlotColumn | None = None  # created with the type of the first batch's sums

    def reserve(self, n: int) -> None:
        super().reserve(n)
        self.valid = _grown(self.valid, n)
        if self.total is not None:
            self.total.reserve(n)

    def sums(self, table: pa.Table, w: np.ndarray) -> list[pa.Array]:
        x = _column(table, self.spec.arg)
        if pa.types.is_integer(x.type):
            x = x.cast(pa.int64())
        elif pa.types.is_duration(x.type):
            x = x.view(pa.int64())  # Arrow's group_by has no sum of durations
        signed = pc.if_else(pa.array(w < 0), pc.negate_checked(x), x)
        return [signed, _valid_weights(table, self.spec.arg, w)]

    def merge(self, slots: np.ndarray, parts: list[pa.Array]) -> None:
        if self.total is None:
            self.total = SlotColumn(parts[0].type)
            self.total.reserve(self.n)
        old = self.total.take(slots)
        self.total.put(slots, _add_nullable(old, parts[0].cast(self.total.type)))
        self.valid[slots] += parts[1].to_numpy(zero_copy_only=False)

    def final(self, slots: np.ndarray) -> pa.Array:
        t = self.spec.type
        if self.total is None:
            return pa.nulls(len(slots), t)
        total, n = self.total.take(slots), pa.array(self.valid[slots])
        if self.spec.fn == "avg":
            return avg_final(total, n, t)
        total = pc.if_else(pc.equal(n, 0), pa.scalar(None, total.type), total)
        return total.view(t) if pa.types.is_duration(t) else total.cast(t)


class _FloatSum(_AggState):
    """sum and avg of floats, exactly: per group a Python integer = the sum of x * weight * 2**1126
    over the finite x, and weighted counts of +inf, -inf and NaN."""

    def __init__(self, spec: AggSpec):
        super().__init__(spec)
        self.valid = np.zeros(0, np.int64)
        self.total = np.zeros(0, object)
        self.special = {code: np.zeros(0, np.int64) for code in (_POS_INF, _NEG_INF, _NAN)}

    def reserve(self, n: int) -> None:
        super().reserve(n)
        self.valid = _grown(self.valid, n)
        self.total = _grown(self.total, n)
        self.special = {code: _grown(a, n) for code, a in self.special.items()}

    def sums(self, table: pa.Table, w: np.ndarray) -> list[pa.Array]:
        return [_valid_weights(table, self.spec.arg, w)]

    def merge(self, slots: np.ndarray, parts: list[pa.Array]) -> None:
        self.valid[slots] += parts[0].to_numpy(zero_copy_only=False)

    def by_value(self, table: pa.Table, w: np.ndarray) -> tuple[pa.Array, np.ndarray, list[pa.Array]]:
        """Rows grouped by exponent: the mantissas of one exponent add up exactly in int64."""
        x = _column(table, self.spec.arg)
        valid = x.is_valid().to_numpy(zero_copy_only=False)
        xf = x.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        finite = np.isfinite(xf)
        m, e = np.frexp(np.where(finite, xf, 0.0))
        mantissa = (m * 2.0**53).astype(np.int64)  # exact: m has at most 53 significant bits
        high = np.where(finite, mantissa >> _LOW_BITS, 1)  # the others count 1 each
        low = np.where(finite, mantissa & ((1 << _LOW_BITS) - 1), 0)
        code = np.where(finite, e, np.where(np.isnan(xf), _NAN, np.where(xf > 0, _POS_INF, _NEG_INF)))
        return pa.array(code.astype(np.int32)), valid, [pa.array(high * w), pa.array(low * w)]

    def merge_values(self, slots: np.ndarray, values: pa.Array, parts: list[np.ndarray]) -> None:
        total = self.total
        for s, code, high, low in zip(slots.tolist(), values.to_pylist(), parts[0].tolist(), parts[1].tolist(),
                                      strict=True):
            if code < _POS_INF:
                total[s] += ((high << _LOW_BITS) + low) << (code + _SHIFT)
            else:
                self.special[code][s] += high

    def final(self, slots: np.ndarray) -> pa.Array:
        avg = self.spec.fn == "avg"
        out = []
        for s in slots.tolist():
            n = int(self.valid[s])
            if n <= 0:
                out.append(None)
            elif self.special[_NAN][s] > 0 or (self.special[_POS_INF][s] > 0 and self.special[_NEG_INF][s] > 0):
                out.append(math.nan)
            elif self.special[_POS_INF][s] > 0:
                out.append(math.inf)
            elif self.special[_NEG_INF][s] > 0:
                out.append(-math.inf)
            else:
                out.append(_to_float(self.total[s], _SCALE * n if avg else _SCALE))
        return pa.array(out, pa.float64()).cast(self.spec.type)


def _to_float(numerator: int, denominator: int) -> float:
    """numerator / denominator correctly rounded (Python's integer division is), infinite past the
    largest double."""
    try:
        return numerator / denominator
    except OverflowError:
        return math.inf if numerator > 0 else -math.inf


class _Descending:
    """A heap entry that orders values largest first (max keeps a min-heap of these)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return other.value < self.value


class _Multiset(_AggState):
    """min, max and count_distinct: per group value -> count; min/max also keep a heap of the values
    (an entry is dropped lazily, once its value's count is 0 when it is on top)."""

    def __init__(self, spec: AggSpec, arg_type: pa.DataType):
        super().__init__(spec)
        self.arg_type = arg_type
        self.storage = _key_storage(arg_type)  # temporal values as integers: no datetime objects
        self.counts: list[dict] = []
        self.heaps: list[list] = []
        self.distinct = np.zeros(0, np.int64)  # values with a positive count, per group
        self.descending = spec.fn == "max"

    def reserve(self, n: int) -> None:
        super().reserve(n)
        while len(self.counts) < n:
            self.counts.append({})
            self.heaps.append([])
        self.distinct = _grown(self.distinct, n)

    def by_value(self, table: pa.Table, w: np.ndarray) -> tuple[pa.Array, np.ndarray, list[pa.Array]]:
        x = _column(table, self.spec.arg)
        return x, x.is_valid().to_numpy(zero_copy_only=False), [pa.array(w)]

    def merge_values(self, slots: np.ndarray, values: pa.Array, parts: list[np.ndarray]) -> None:
        if self.storage != values.type:
            values = values.cast(self.storage)
        ordered = self.spec.fn != "count_distinct"
        for s, v, w in zip(slots.tolist(), values.to_pylist(), parts[0].tolist(), strict=True):
            if not w:
                continue
            if v != v:  # NaN
                v = _NAN_VALUE
            counts = self.counts[s]
            before = counts.get(v, 0)
            after = before + w
            if after:
                counts[v] = after
            else:
                del counts[v]
            if before <= 0 < after:
                self.distinct[s] += 1
                if ordered and v is not _NAN_VALUE:
                    heapq.heappush(self.heaps[s], _Descending(v) if self.descending else v)
            elif after <= 0 < before:
                self.distinct[s] -= 1

    def final(self, slots: np.ndarray) -> pa.Array:
        if self.spec.fn == "count_distinct":
            return pa.array(self.distinct[slots]).cast(self.spec.type)
        values = [self._extreme(s) for s in slots.tolist()]
        out = pa.array(values, type=self.storage)
        return out if self.storage == self.arg_type else out.cast(self.arg_type)

    def _extreme(self, s: int):
        counts, heap = self.counts[s], self.heaps[s]
        while heap:
            top = heap[0].value if self.descending else heap[0]
            if counts.get(top, 0) > 0:
                break
            heapq.heappop(heap)
        else:
            top = math.nan if counts.get(_NAN_VALUE, 0) > 0 else None
        if len(heap) > 2 * len(counts) + 16:  # stale entries of values retracted below the top
            heap[:] = [_Descending(v) if self.descending else v for v, c in counts.items()
                       if c > 0 and v is not _NAN_VALUE]
            heapq.heapify(heap)
        return top


class _AlwaysNull(_AggState):
    """sum, avg, min or max of the null type: null whatever the rows."""

    def final(self, slots: np.ndarray) -> pa.Array:
        return pa.nulls(len(slots), self.spec.type)


def _agg_state(spec: AggSpec, arg_type: pa.DataType | None) -> _AggState:
    if spec.fn == "count":
        return _Count(spec)
    if spec.fn == "count_distinct":
        return _Multiset(spec, arg_type)
    if pa.types.is_null(arg_type):
        return _AlwaysNull(spec)
    if spec.fn in ("min", "max"):
        return _Multiset(spec, arg_type)
    if pa.types.is_floating(arg_type):
        return _FloatSum(spec)
    return _ExactSum(spec)


def _unit_weights(table: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """The rows with weights +1/-1: a row of weight k repeated |k| times (0: left out)."""
    w = _column(table, WEIGHT).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    if (np.abs(w) == 1).all():
        return table, w
    idx = np.repeat(np.arange(len(w)), np.abs(w))
    return table.take(pa.array(idx)), np.sign(w[idx])


class ChangelogGroupState:
    """The groups of a non-windowed aggregate over a changelog; `update` takes a batch with WEIGHT and
    returns the changes of the aggregate's result (the interface of aggregate.GroupState)."""

    def __init__(self, keys: list[str], input_schema: pa.Schema, aggs: list[AggSpec]):
        self.keys = keys
        key_types = [input_schema.field(k).type for k in keys]
        self.index = KeyIndex(key_types)
        self.aggs = aggs
        self.states = [_agg_state(a, input_schema.field(a.arg).type if a.arg is not None else None) for a in aggs]
        self.rows = np.zeros(0, np.int64)  # count() per group: the group exists while it is positive
        self.shown = np.zeros(0, bool)  # the group's row is in the output (inserted, not retracted)
        self.schema = pa.schema([pa.field(k, t) for k, t in zip(keys, key_types, strict=True)]
                                + [pa.field(a.name, a.type) for a in aggs] + [pa.field(WEIGHT, pa.int64())])

    def update(self, table: pa.Table | pa.RecordBatch) -> pa.Table:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        table, w = _unit_weights(table)
        if not table.num_rows:
            return self.schema.empty_table()
        # per group: the weight and each aggregate's sums
        sums = [s.sums(table, w) for s in self.states]
        columns = {k: table.column(k) for k in self.keys} | {"__rows": pa.array(w)}
        for i, parts in enumerate(sums):
            columns |= {f"__sum{i}_{j}": p for j, p in enumerate(parts)}
        specs = [(name, "sum") for name in columns if name not in self.keys]
        key_cols, part_cols = _run_group_by(pa.table(columns), self.keys, specs)
        slots = self._slots(key_cols, len(part_cols[0]))
        n = len(self.index)
        self.rows, self.shown = _grown(self.rows, n), _grown(self.shown, n, False)
        for s in self.states:
            s.reserve(n)
        before = [s.final(slots) for s in self.states]
        self.rows[slots] += part_cols[0].to_numpy(zero_copy_only=False)
        i = 1
        for s, parts in zip(self.states, sums, strict=True):
            s.merge(slots, part_cols[i: i + len(parts)])
            i += len(parts)
        for s in self.states:
            grouped = s.by_value(table, w)
            if grouped is not None:
                self._merge_by_value(s, table, *grouped)
        after = [s.final(slots) for s in self.states]
        # retract the row shown before where it changed or the group is gone; insert where it changed or is new
        was = self.shown[slots]
        now = self.rows[slots] > 0 if self.keys else np.ones(len(slots), bool)
        changed = differs(before, after, len(slots))
        self.shown[slots] = now
        return changes_table(self.schema, key_cols, before, after, was & (~now | changed), now & (~was | changed))

    def _slots(self, key_cols: list[pa.Array], n: int) -> np.ndarray:
        return self.index.lookup(key_cols, n)[0] if self.keys else self.index.lookup([], min(n, 1))[0].repeat(n)

    def _merge_by_value(self, state: _AggState, table: pa.Table, values: pa.Array, mask: np.ndarray,
                        parts: list[pa.Array]) -> None:
        """Sum `parts` per (group, value) over the rows in `mask` and hand them to the state."""
        columns = {k: table.column(k) for k in self.keys} | {"__value": values}
        columns |= {f"__part{j}": p for j, p in enumerate(parts)}
        rows = pa.table(columns)
        if not mask.all():
            rows = rows.filter(pa.array(mask))
        if not rows.num_rows:
            return
        key_cols, sums = _run_group_by(rows, self.keys + ["__value"], [(f"__part{j}", "sum") for j in range(len(parts))])
        slots = self._slots(key_cols[:-1], len(key_cols[-1]))
        state.merge_values(slots, key_cols[-1], [p.to_numpy(zero_copy_only=False) for p in sums])

    def contents(self) -> pa.Table:
        """The current result of every group that exists (no weight column)."""
        n = len(self.index)
        if not self.keys:
            if not n:
                return self.empty_result()
            slots = np.zeros(1, np.int64)
            keys = []
        else:
            slots = np.flatnonzero(self.rows[:n] > 0)
            keys = [k.take(pa.array(slots)) for k in self.index.key_columns()]
        cols = keys + [s.final(slots) for s in self.states]
        return pa.Table.from_arrays(cols, schema=pa.schema(list(self.schema)[:-1]))

    def empty_result(self) -> pa.Table:
        """A keyless aggregate over no rows is one row (count 0, others null), as in SQL."""
        return pa.Table.from_arrays([empty_value(a) for a in self.aggs], schema=pa.schema(list(self.schema)[:-1]))
