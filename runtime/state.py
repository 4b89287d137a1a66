"""Operator state: growable per-group columns addressed by slot, and a key -> slot index.

The store is in memory; a checkpoint would snapshot `SlotColumn.values/valid` and the key index.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def _storage(t: pa.DataType) -> tuple[np.dtype, pa.DataType] | None:
    """The numpy dtype and Arrow storage type of a fixed-width type, or None (kept as objects)."""
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return np.dtype(t.to_pandas_dtype()), t
    if pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_date64(t):
        return np.dtype(np.int64), pa.int64()
    if pa.types.is_date32(t):
        return np.dtype(np.int32), pa.int32()
    return None


class SlotColumn:
    """Values of one Arrow type per slot (numpy for fixed-width types, Python objects otherwise)."""

    def __init__(self, t: pa.DataType, capacity: int = 64):
        self.type = t
        st = _storage(t)
        self._dtype, self._storage_type = st if st else (np.dtype(object), None)
        self.values = np.zeros(capacity, dtype=self._dtype) if st else np.full(capacity, None, dtype=object)
        self.valid = np.zeros(capacity, dtype=bool)

    def reserve(self, n: int) -> None:
        if n <= len(self.values):
            return
        cap = max(n, 2 * len(self.values))
        grown = np.zeros(cap, dtype=self._dtype) if self._storage_type else np.full(cap, None, dtype=object)
        grown[: len(self.values)] = self.values
        self.values = grown
        valid = np.zeros(cap, dtype=bool)
        valid[: len(self.valid)] = self.valid
        self.valid = valid

    def take(self, slots: np.ndarray) -> pa.Array:
        mask = ~self.valid[slots]
        vals = self.values[slots]
        if self._storage_type is None:
            vals = vals.copy()
            vals[mask] = None
            return pa.array(vals.tolist(), type=self.type)
        arr = pa.array(vals, type=self._storage_type, mask=mask if mask.any() else None)
        return arr if self._storage_type == self.type else arr.view(self.type)

    def put(self, slots: np.ndarray, arr: pa.Array) -> None:
        if arr.type != self.type:
            arr = arr.cast(self.type)
        self.valid[slots] = arr.is_valid().to_numpy(zero_copy_only=False)
        if self._storage_type is None:
            self.values[slots] = arr.to_numpy(zero_copy_only=False)
            return
        if self._storage_type != self.type:
            arr = arr.view(self._storage_type)
        self.values[slots] = arr.fill_null(0).to_numpy(zero_copy_only=False)


def _key_storage(t: pa.DataType) -> pa.DataType:
    """Temporal keys are hashed as their integer storage (no datetime objects per group)."""
    st = _storage(t)
    return st[1] if st and (pa.types.is_temporal(t)) else t


# NaN is one group, as in SQL engines' GROUP BY and DISTINCT (DataFusion, PostgreSQL): every NaN key
# becomes this one object, which a dict finds by identity although NaN != NaN
_NAN = float("nan")


class KeyIndex:
    """Group key tuple -> slot. A Python dict touched once per group per batch (not per row): group_by
    reduces a batch to its groups first, and the changed groups are what a changelog emits anyway."""

    def __init__(self, types: list[pa.DataType]):
        self.types = types
        self.slots: dict[tuple, int] = {}
        self.keys: list[tuple] = []

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, columns: list[pa.Array], n_rows: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(slot per row, is_new per row); unseen keys get fresh slots. Without key columns every
        row has the empty key () and `n_rows` says how many rows there are."""
        lists = [c.cast(_key_storage(c.type)).to_pylist() if _key_storage(c.type) != c.type else c.to_pylist()
                 for c in columns]
        for j, c in enumerate(columns):
            if pa.types.is_floating(c.type):
                lists[j] = [_NAN if v != v else v for v in lists[j]]  # v != v: v is NaN
        n = len(columns[0]) if columns else n_rows
        out = np.empty(n, dtype=np.int64)
        new = np.zeros(n, dtype=bool)
        slots, keys = self.slots, self.keys
        for i, key in enumerate(zip(*lists, strict=True) if lists else [()] * n):
            s = slots.get(key)
            if s is None:
                s = slots[key] = len(keys)
                keys.append(key)
                new[i] = True
            out[i] = s
        return out, new

    def key_columns(self) -> list[pa.Array]:
        """All keys in slot order, as Arrow columns."""
        cols = []
        for i, t in enumerate(self.types):
            st = _key_storage(t)
            arr = pa.array([k[i] for k in self.keys], type=st)
            cols.append(arr if st == t else arr.cast(t))
        return cols
