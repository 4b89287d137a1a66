"""The relational stages: `distinct KEYS`, `top N by EXPR per KEYS`, `union`, and the grouping
kernel they share.

- DistinctOp: the first row per key in arrival order; append-only in, append-only out (each row
  leaves at once, so the input's event-time bound still holds). State: the keys seen.
- TopNOp: the N best rows per group as a changelog: when a batch changes a group's top set, the
  rows that left it are retracted and the rows that entered it inserted. Ties are broken by the
  rows' columns (docs/semantics.md, "flowc choices").
  State over an append-only input: the current top rows (N per group). Over a changelog a
  retraction may remove a top row and let the next-best one back in, so every row present is kept
  (a multiset: each distinct row with its count).
- UnionOp: bag union of two inputs with the same columns; its watermark is the min of the inputs'.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .operators import WEIGHT, BatchFn, Operator, evaluate, is_changelog
from .state import KeyIndex

_ORDER, _GROUP, _SEQ, _COUNT = "__order", "__group", "__seq", "__count"


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

    Append-only input: only the groups a batch touches are re-ranked: their kept rows and the new
    rows, sorted once by (group, order, the row's columns, arrival).

    Changelog input (weights +k / -k: k copies of a row inserted / retracted): every row present is
    kept with its count. The groups a batch touches are re-ranked: their present rows and the
    changes, sorted once by (group, order, the row's columns), so copies of one row are adjacent and
    summed. A group's top n are the first n copies in that order; the output is, per distinct row,
    the difference between its copies in the top n after the batch and before it.
    """

    def __init__(self, name: str, input_schema: pa.Schema, n: int, order: BatchFn, order_type: pa.DataType,
                 descending: bool, per: list[str]):
        self.changelog = is_changelog(input_schema)
        rows_schema = pa.schema([f for f in input_schema if f.name != WEIGHT])
        super().__init__(name, pa.schema(list(rows_schema) + [pa.field(WEIGHT, pa.int64())]))
        self.input_schema = rows_schema
        self.n = n
        self.order = order
        self.order_type = order_type
        self.descending = descending
        self.per = per
        self.groups = KeyIndex([rows_schema.field(k).type for k in per])  # group key -> the id in _GROUP
        # the row columns that tell rows apart (a column of type null is null in every row)
        self._row_columns = [f.name for f in rows_schema if _sortable(f.type)]
        # a total order (docs/semantics.md, "flowc choices"): the expression, nulls last either way,
        # then every column ascending, nulls last; rows equal in all of them are interchangeable
        self._sort_keys = ([(_GROUP, "ascending", "at_end"),
                            (_ORDER, "descending" if descending else "ascending", "at_end")]
                           + [(c, "ascending", "at_end") for c in self._row_columns])
        if self.changelog:
            self._kept_schema = pa.schema(list(rows_schema) + [pa.field(_ORDER, order_type),
                                                               pa.field(_GROUP, pa.int64()),
                                                               pa.field(_COUNT, pa.int64())])
        else:
            self._kept_schema = pa.schema(list(rows_schema) + [pa.field(_ORDER, order_type),
                                                               pa.field(_GROUP, pa.int64()),
                                                               pa.field(_SEQ, pa.int64())])
            self._sort_keys.append((_SEQ, "ascending", "at_end"))
        self.kept = self._kept_schema.empty_table()  # append-only: the current top rows of every group
        self.present = _PresentRows(self._kept_schema)  # changelog: every row present, with its count
        self._seq = 0

    def state_rows(self) -> int:
        return self.present.live if self.changelog else self.kept.num_rows

    def _order_values(self, batch: pa.RecordBatch) -> pa.Array:
        return evaluate(self.name, self.order, batch, self.order_type)

    def _group_ids(self, batch: pa.RecordBatch) -> np.ndarray:
        cols = [batch.column(k) for k in self.per]
        local, first = group_rows(cols, batch.num_rows)
        ids, _ = self.groups.lookup(first_rows(cols, first), len(first))
        return ids[local]

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        if self.changelog:
            self._on_changes(batch)
            return
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

    # ------------------------------------------------------------ over a changelog

    def _on_changes(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        weights = batch.column(WEIGHT).to_numpy(zero_copy_only=False).astype(np.int64)
        gid = self._group_ids(batch)
        new = pa.Table.from_arrays([batch.column(f.name) for f in self.input_schema]
                                   + [self._order_values(batch), pa.array(gid), pa.array(weights)],
                                   schema=self._kept_schema)
        old = self.present.take_groups(np.unique(gid), len(self.groups))
        candidates = pa.concat_tables([old, new])
        order = pc.sort_indices(candidates, sort_keys=self._sort_keys).to_numpy()
        ranked = candidates.take(pa.array(order)).combine_chunks()
        is_old = order < old.num_rows
        counts = ranked.column(_COUNT).to_numpy()
        groups = ranked.column(_GROUP).to_numpy()
        # copies of one row are adjacent once sorted: each run of equal rows is one distinct row
        first_of_run = _distinct_starts(ranked, [_GROUP, *self._row_columns])
        starts = np.flatnonzero(first_of_run)
        run = np.cumsum(first_of_run) - 1  # the distinct row of each ranked row
        total = np.add.reduceat(counts, starts) if len(starts) else np.zeros(0, np.int64)
        # copies of each distinct row in its group's top n, before (old rows: one per distinct row) and after
        before = np.zeros(len(starts), np.int64)
        before[run[is_old]] = _top_copies(groups[is_old], counts[is_old], self.n)
        after = _top_copies(groups[starts], total, self.n)
        present = ranked.take(pa.array(starts[total != 0]))
        present = present.set_column(present.schema.get_field_index(_COUNT), _COUNT, pa.array(total[total != 0]))
        self.present.put(present)
        delta = after - before
        changed = np.flatnonzero(delta)
        if len(changed):
            # a change of k copies is k rows of weight +/-1 (a sink writes one '+' or '-' per row); retractions first
            changed = changed[np.argsort(delta[changed] > 0, kind="stable")]
            copies = np.repeat(changed, np.abs(delta[changed]))
            rows = ranked.take(pa.array(starts[copies]))
            cols = [rows.column(f.name) for f in self.input_schema] + [pa.array(np.sign(delta[copies]))]
            for b in pa.Table.from_arrays(cols, schema=self.schema).combine_chunks().to_batches():
                self.emit(b)


class _PresentRows:
    """The rows present in a changelog top's groups, each distinct row once with its count. A batch
    takes out the rows of the groups it touches and puts back their successors: the table only
    grows by chunks, rows taken out are marked dead, and dead rows are dropped once they outnumber
    the live ones, so a batch costs what its groups hold rather than a copy of the whole state."""

    _MAX_CHUNKS = 64

    def __init__(self, schema: pa.Schema):
        self.table = schema.empty_table()
        self.group_of = np.zeros(0, np.int64)  # the group of each row of the table
        self.alive = np.zeros(0, bool)
        self.live = 0

    def take_groups(self, groups: np.ndarray, n_groups: int) -> pa.Table:
        """The live rows of `groups` (ids below n_groups), taken out: `put` puts their successors."""
        wanted = np.zeros(n_groups, bool)
        wanted[groups] = True
        idx = np.flatnonzero(self.alive & wanted[self.group_of])
        self.alive[idx] = False
        self.live -= len(idx)
        return self.table.take(pa.array(idx, pa.int64()))

    def put(self, rows: pa.Table) -> None:
        if rows.num_rows:
            self.table = pa.concat_tables([self.table, rows])
            self.group_of = np.concatenate([self.group_of, rows.column(_GROUP).to_numpy()])
            self.alive = np.concatenate([self.alive, np.ones(rows.num_rows, bool)])
            self.live += rows.num_rows
        if len(self.alive) - self.live > max(self.live, 1024) or self.table.column(0).num_chunks > self._MAX_CHUNKS:
            keep = pa.array(self.alive)
            self.table = self.table.filter(keep).combine_chunks()
            self.group_of = self.group_of[self.alive]
            self.alive = np.ones(self.live, bool)


def _top_copies(groups: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """How many copies of each row are in its group's first n copies, for rows in rank order (groups
    contiguous) with their counts (a count below 0, a retraction ahead of its insertion, is no copy)."""
    copies = np.maximum(counts, 0)
    if not len(copies):
        return copies
    ahead = np.cumsum(copies) - copies  # copies ranked ahead of the row, from the first group on
    first = np.r_[True, groups[1:] != groups[:-1]]
    ahead -= np.maximum.accumulate(np.where(first, ahead, 0))  # ... from its own group's first row on
    return np.clip(n - ahead, 0, copies)


def _distinct_starts(table: pa.Table, columns: list[str]) -> np.ndarray:
    """For rows sorted so that equal rows are adjacent: True where a row differs from the one before
    it in one of `columns` (nulls equal to nulls, NaN to NaN, as the sort puts them together)."""
    n = table.num_rows
    starts = np.ones(n, bool)
    if n < 2:
        return starts
    differ = np.zeros(n - 1, bool)
    for name in columns:
        col = table.column(name).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        a, b = col.slice(1), col.slice(0, n - 1)
        same = pc.fill_null(pc.equal(a, b), False)
        both_null = pc.and_(a.is_null(), b.is_null())
        same = pc.or_(same, both_null)
        if pa.types.is_floating(col.type):
            same = pc.or_(same, pc.fill_null(pc.and_(pc.is_nan(a), pc.is_nan(b)), False))
        differ |= ~same.to_numpy(zero_copy_only=False)
    starts[1:] = differ
    return starts


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
