"""The relational stages: `distinct KEYS`, `top N by EXPR per KEYS`, `union`, and the grouping
kernel they share.

- DistinctOp: the first row per key in arrival order; append-only in, append-only out (each row
  leaves at once, so the input's event-time bound still holds). State: the keys seen.
- TopNOp: the N best rows per group as a changelog: when a batch changes a group's top set, the
  rows that left it are retracted and the rows that entered it inserted. Ties are broken by the
  rows' columns (docs/semantics.md, "flowc choices").
  State: the current top rows (N per group).
- UnionOp: bag union of two inputs with the same columns; its watermark is the min of the inputs'.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .operators import WEIGHT, BatchFn, Operator, evaluate, is_changelog
from .state import KeyIndex

_ORDER, _GROUP, _SEQ = "__order", "__group", "__seq"


def group_rows(columns: list[pa.Array], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group), groups numbered by first appearance.

    Nulls form a group of their own (as in SQL's GROUP BY and PARTITION BY). Each column is
    dictionary-encoded and the codes combined (re-densified column by column, so many columns
    cannot overflow), without touching rows in Python."""
    if not columns:
        return np.zeros(n, np.int64), np.zeros(1 if n else 0, np.int64)
    combined = np.zeros(n, np.int64)
    for c in columns:
        if isinstance(c, pa.ChunkedArray):
            c = c.combine_chunks()
        if pa.types.is_dictionary(c.type):
            c = c.dictionary_decode()
        enc = pc.dictionary_encode(c, null_encoding="encode")
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        _, combined = np.unique(combined * len(enc.dictionary) + codes, return_inverse=True)
        combined = combined.astype(np.int64).reshape(-1)
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    # renumber the groups by first appearance, so group order follows arrival order
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.reshape(-1)].astype(np.int64), first[order].astype(np.int64)


def first_rows(columns: list[pa.Array], first: np.ndarray) -> list[pa.Array]:
    """The given rows of each column (the first row of each group: one key per group, not per row),
    dictionaries decoded (to_pylist of a dictionary array is several times slower)."""
    idx = pa.array(first, pa.int64())
    taken = [c.take(idx) for c in columns]
    return [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in taken]


def dedupe_last(table: pa.Table, keys: list[str]) -> pa.Table:
    """The last row per key, in order of those rows (a table's current contents when a file lists
    several versions of a primary key)."""
    if not keys or table.num_rows == 0:
        return table
    groups, _ = group_rows([table.column(k) for k in keys], table.num_rows)
    last = np.full(int(groups.max()) + 1, -1, np.int64)
    np.maximum.at(last, groups, np.arange(table.num_rows, dtype=np.int64))
    keep = np.sort(last)
    return table if len(keep) == table.num_rows else table.take(pa.array(keep))


def _require_append_only(name: str, schema: pa.Schema, what: str) -> None:
    if is_changelog(schema):
        raise ValueError(f"{name}: {what} over a changelog is not supported by the runtime")


class DistinctOp(Operator):
    """Keeps the first row of each key (arrival order); later rows of a seen key are dropped."""

    def __init__(self, name: str, schema: pa.Schema, keys: list[str]):
        _require_append_only(name, schema, "distinct")
        super().__init__(name, schema)
        self.keys = keys
        self.seen = KeyIndex([schema.field(k).type for k in keys])

    def state_rows(self) -> int:
        return len(self.seen)

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        cols = [batch.column(k) for k in self.keys]
        _, first = group_rows(cols, batch.num_rows)
        _, unseen = self.seen.lookup(first_rows(cols, first), len(first))
        fresh = first[unseen]  # in arrival order: groups are numbered by first row
        if len(fresh):
            self.emit(batch if len(fresh) == batch.num_rows else batch.take(pa.array(fresh)))


class TopNOp(Operator):
    """The n rows with the best `order` per group of `per` columns, as a changelog.

    Only the groups a batch touches are re-ranked: their kept rows and the new rows, sorted once by
    (group, order, the row's columns, arrival).
    """

    def __init__(self, name: str, input_schema: pa.Schema, n: int, order: BatchFn, order_type: pa.DataType,
                 descending: bool, per: list[str]):
        _require_append_only(name, input_schema, "top")
        super().__init__(name, pa.schema(list(input_schema) + [pa.field(WEIGHT, pa.int64())]))
        self.input_schema = input_schema
        self.n = n
        self.order = order
        self.order_type = order_type
        self.descending = descending
        self.per = per
        self.groups = KeyIndex([input_schema.field(k).type for k in per])  # group key -> the id in _GROUP
        self._kept_schema = pa.schema(list(input_schema) + [pa.field(_ORDER, order_type), pa.field(_GROUP, pa.int64()),
                                                            pa.field(_SEQ, pa.int64())])
        self.kept = self._kept_schema.empty_table()  # the current top rows of every group
        # a total order (docs/semantics.md, "flowc choices"): the expression, nulls last either way,
        # then every column ascending, nulls last; rows equal in all of them are interchangeable
        self._sort_keys = ([(_GROUP, "ascending", "at_end"),
                            (_ORDER, "descending" if descending else "ascending", "at_end")]
                           + [(f.name, "ascending", "at_end") for f in input_schema if _sortable(f.type)]
                           + [(_SEQ, "ascending", "at_end")])
        self._seq = 0

    def state_rows(self) -> int:
        return self.kept.num_rows

    def _order_values(self, batch: pa.RecordBatch) -> pa.Array:
        return evaluate(self.name, self.order, batch, self.order_type)

    def _group_ids(self, batch: pa.RecordBatch) -> np.ndarray:
        cols = [batch.column(k) for k in self.per]
        local, first = group_rows(cols, batch.num_rows)
        ids, _ = self.groups.lookup(first_rows(cols, first), len(first))
        return ids[local]

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        n = batch.num_rows
        gid = self._group_ids(batch)
        seq = np.arange(self._seq, self._seq + n, dtype=np.int64)
        self._seq += n
        new = pa.Table.from_arrays(list(batch.columns) + [self._order_values(batch), pa.array(gid), pa.array(seq)],
                                   schema=self._kept_schema)
        touched = np.isin(self.kept.column(_GROUP).to_numpy(), np.unique(gid))
        old = self.kept.filter(pa.array(touched))
        candidates = pa.concat_tables([old, new])
        ranked = candidates.sort_by(self._sort_keys)
        groups = ranked.column(_GROUP).to_numpy()
        starts = np.r_[True, groups[1:] != groups[:-1]] if len(groups) else np.zeros(0, bool)
        pos = np.arange(len(groups))
        rank = pos - np.maximum.accumulate(np.where(starts, pos, 0))
        top = ranked.filter(pa.array(rank < self.n))
        top_seq = top.column(_SEQ).to_numpy()
        left = old.filter(pa.array(~np.isin(old.column(_SEQ).to_numpy(), top_seq)))
        entered = new.filter(pa.array(np.isin(seq, top_seq)))
        self.kept = pa.concat_tables([self.kept.filter(pa.array(~touched)), top]).combine_chunks()
        self._emit_changes(left, -1)
        self._emit_changes(entered, 1)

    def _emit_changes(self, rows: pa.Table, weight: int) -> None:
        if rows.num_rows == 0:
            return
        cols = [rows.column(f.name) for f in self.input_schema]
        cols.append(pa.array(np.full(rows.num_rows, weight, np.int64)))
        for b in pa.Table.from_arrays(cols, schema=self.schema).combine_chunks().to_batches():
            self.emit(b)


def _sortable(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t) or pa.types.is_null(t))


class UnionOp(Operator):
    """Bag union of two inputs (ports 0 and 1) with the same columns. When the output is a
    changelog, rows of an append-only input are inserts (+1)."""

    n_inputs = 2

    def __init__(self, name: str, schema: pa.Schema):
        super().__init__(name, schema)
        self.changelog = is_changelog(schema)

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        cols = []
        for f in self.schema:
            if f.name == WEIGHT and not is_changelog(batch.schema):
                cols.append(pa.array(np.ones(batch.num_rows, np.int64)))
            else:
                cols.append(batch.column(f.name))
        self.emit(pa.RecordBatch.from_arrays(cols, schema=self.schema))
