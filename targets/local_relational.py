"""The local target's relational nodes: IR Join / Distinct / TopN / UnionAll and table scans, compiled
to the runtime's operators (flowc.runtime.joins, flowc.runtime.relational).

A join is classified by its condition and inputs (SEMANTICS.md section 5):

- lookup join: the right side reads only tables; the tables are loaded before the first stream row;
- interval join: both inputs append-only and a conjunct bounds the distance between an event-time
  column of each side (`ts between a.ts + X and a.ts + Y`, or `>=`/`<=`): append-only output,
  state bounded by the watermarks;
- window join: both inputs windowed on their event time, joined on `window_start`: emitted when the
  window closes;
- regular join: anything else: both sides kept, the output a changelog (append-only for an inner
  join of append-only inputs).

Equality conjuncts between an expression of the left side and one of the right side are the hash
keys; the whole condition is evaluated again on each joined row, so it alone decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.compiler.properties import conjuncts
from flowc.runtime import io
from flowc.runtime.executor import SourceNode
from flowc.runtime.joins import (
    IntervalJoinOp,
    JoinSpec,
    LookupJoinOp,
    RegularJoinOp,
    TimeBound,
    WindowJoinOp,
)
from flowc.runtime.operators import WEIGHT, Operator, is_changelog
from flowc.runtime.relational import DistinctOp, TopNOp, UnionOp, dedupe_last

from .arrow_types import arrow_schema, arrow_type
from .base import resolve_env, resolve_path
from .local_exprs import compile_expr

if TYPE_CHECKING:
    from .local import _Compiler, _Node

TARGET = "local"
TABLE_CONNECTORS = ("csv", "jsonl", "parquet", "postgres")


def compile_relational(c: _Compiler, r: ir.Join | ir.Distinct | ir.TopN | ir.UnionAll) -> _Node:
    if isinstance(r, ir.Join):
        return _join(c, r)
    if isinstance(r, ir.Distinct):
        return _distinct(c, r)
    if isinstance(r, ir.TopN):
        return _top(c, r)
    return _union(c, r)


def _node(op: Operator, lags: Mapping[str, int]) -> _Node:
    """A compiled relation with its event-time columns' lags (see targets/local.py `_Node`)."""
    from .local import _Node

    return _Node(op, dict(lags))


def _wire(c: _Compiler, op: Operator, *inputs: _Node) -> Operator:
    for port, node in enumerate(inputs):
        node.op.connect(op, port)
    c.operators.append(op)
    return op


# ---------------------------------------------------------------- distinct, top, union


def _distinct(c: _Compiler, r: ir.Distinct) -> _Node:
    up = c._rel(r.input)
    if is_changelog(up.op.schema):
        raise UnsupportedFeature("'distinct' over a changelog (a view emitted as changes)", TARGET, r.span,
                                 "apply distinct to the rows before the stage that makes the changelog")
    op = DistinctOp(c._name("distinct"), up.op.schema, list(r.keys))
    # rows leave as they arrive: the input's event-time bound still holds for them
    return _node(_wire(c, op, up), up.lags)


def _top(c: _Compiler, r: ir.TopN) -> _Node:
    up = c._rel(r.input)
    # over a changelog TopNOp keeps every row present, so a retracted top row's successor comes back
    op = TopNOp(c._name("top"), up.op.schema, r.n, compile_expr(r.order_by), arrow_type(r.order_by.type),
                r.descending, list(r.per))
    return _node(_wire(c, op, up), {})


def _union(c: _Compiler, r: ir.UnionAll) -> _Node:
    left, right = c._rel(r.input), c._rel(r.other)
    names = list(ir.schema_names(r.schema))
    changelog = is_changelog(left.op.schema) or is_changelog(right.op.schema)
    fields = [left.op.schema.field(n) for n in names] + ([pa.field(WEIGHT, pa.int64())] if changelog else [])
    op = UnionOp(c._name("union"), pa.schema(fields))
    # the later of the two bounds holds for rows from either input
    return _node(_wire(c, op, left, right), {n: max(left.lags[n], right.lags[n])
                                              for n in left.lags.keys() & right.lags.keys()})


# ---------------------------------------------------------------- tables


def table_scan(c: _Compiler, r: ir.Scan) -> _Node:
    """A table read as rows (the last version of each primary key). Under a lookup join's right
    side the table is loaded by the join itself; anywhere else it is one more input of the plan."""
    t = c.p.table(r.name)
    if t is None:
        raise UnsupportedFeature(f"scan of unknown table '{r.name}'", TARGET, r.span)
    node = _table_node(c, t)
    driven = getattr(c, "_lookup_tables", None)
    if driven is not None:
        driven.append(node)
    else:
        c.sources[f"table {t.name}"] = node
    return _node(node, {})


def _table_node(c: _Compiler, t: ir.Table) -> SourceNode:
    con = t.connector
    if con.kind not in TABLE_CONNECTORS:
        raise UnsupportedFeature(f"connector '{con.kind}' for table '{t.name}'", TARGET, con.span,
                                 "the local runtime reads tables from csv, jsonl and parquet files")
    schema = arrow_schema(t.schema)
    keys = list(t.primary_key)
    if con.kind == "postgres":  # reference data kept in PostgreSQL (targets/postgres/connector.py)
        from .postgres.connector import parse_args
        from .postgres.connector import read_table as read_postgres

        parse_args(con, "table")

        def load(con=con, schema=schema) -> pa.Table:
            return read_postgres(con, schema, "table")
    else:
        path = resolve_path(c.p, str(resolve_env(con.get("path"))))
        options = {}
        if con.get("delimiter") is not None:
            options["delimiter"] = str(resolve_env(con.get("delimiter")))

        def load(kind=con.kind, path=path, schema=schema, options=options) -> pa.Table:
            return io.read_table(kind, path, schema, options)

    def open_table(batch_size: int, load=load, keys=keys):
        table = dedupe_last(load(), keys).combine_chunks()
        for start in range(0, table.num_rows, batch_size):
            yield from table.slice(start, batch_size).to_batches()

    return SourceNode(f"table {t.name}", schema, open_table)


def _reads_only_tables(r: ir.Rel) -> bool:
    leaves = [n for n in ir.walk(r) if isinstance(n, ir.Scan)]
    return bool(leaves) and all(n.kind == "table" for n in leaves)


# ---------------------------------------------------------------- joins


def _join(c: _Compiler, r: ir.Join) -> _Node:
    left = c._rel(r.input)
    lookup = _reads_only_tables(r.right)
    if lookup:
        saved = getattr(c, "_lookup_tables", None)
        c._lookup_tables = tables = []
        try:
            right = c._rel(r.right)
        finally:
            c._lookup_tables = saved
    else:
        right = c._rel(r.right)
    spec = _spec(r, left, right)
    left_cl, right_cl = is_changelog(left.op.schema), is_changelog(right.op.schema)
    right_lags = {out: right.lags[f.name] for f, out in zip(r.right.schema, r.right_names, strict=True)
                  if f.name in right.lags}
    if lookup:
        def load(batch_size=c.batch_size, tables=tables) -> None:
            for node in tables:
                for b in node.open(batch_size):
                    node.push(b)
                node.finish()

        # a changelog stream: each change row is looked up and keeps its weight (the table is loaded
        # once, so a retraction meets the rows its insertion met)
        op = LookupJoinOp(c._name("lookup_join"), spec, load, changelog=left_cl)
        return _node(_wire(c, op, left, right), left.lags)
    append_only = not (left_cl or right_cl)
    bound = _time_bound(r, left.lags, right_lags) if append_only else None
    ends = _window_join_ends(c, r) if append_only and bound is None else None
    if append_only and bound is None and ends is None:
        # an equality of event-time columns bounds the distance to [d, d] (q5: window_start =
        # m.window_start, both trailing the watermark by a window size)
        bound = _time_bound(r, left.lags, right_lags, equalities=True)
    if bound is not None:
        op = IntervalJoinOp(c._name("interval_join"), spec, bound)
        # the join's output watermark is at most each side's eviction threshold and watermark, so a
        # kept or new row's time column is >= it minus that column's input lag
        lags = {n: max(lag, 0) for n, lag in {**left.lags, **right_lags}.items()}
        return _node(_wire(c, op, left, right), lags)
    if ends is not None:
        op = WindowJoinOp(c._name("window_join"), spec, *ends)
        return _node(_wire(c, op, left, right), _window_join_lags(c, r, left, right))
    if r.kind == "left" and left_cl:
        raise UnsupportedFeature("a left join whose left side is a changelog (a view emitted as changes)", TARGET,
                                 r.span, "use an inner join, or emit the left view final")
    changelog = left_cl or right_cl or r.kind == "left"
    op = RegularJoinOp(c._name("join"), spec, changelog=changelog)
    return _node(_wire(c, op, left, right), {})


def _spec(r: ir.Join, left: _Node, right: _Node) -> JoinSpec:
    left_cols = [(f.name, f.name) for f in r.input.schema]
    right_cols = [(f.name, out) for f, out in zip(r.right.schema, r.right_names, strict=True)]
    left_schema = pa.schema([pa.field(out, left.op.schema.field(src).type) for src, out in left_cols])
    right_schema = pa.schema([pa.field(out, right.op.schema.field(src).type) for src, out in right_cols])
    lkeys, rkeys = equi_keys(r)
    return JoinSpec(left_cols, right_cols, left_schema, right_schema, [compile_expr(e) for e in lkeys],
                    [compile_expr(e) for e in rkeys], compile_expr(r.condition), r.kind)


def equi_keys(r: ir.Join) -> tuple[list[ir.Expr], list[ir.Expr]]:
    """The equality conjuncts with one side's columns on each side: (left exprs, right exprs)."""
    left_names = set(ir.schema_names(r.input.schema))
    right_names = set(r.right_names)
    lkeys: list[ir.Expr] = []
    rkeys: list[ir.Expr] = []
    for cj in conjuncts(r.condition):
        if not (isinstance(cj, ir.Call) and cj.fn == "eq" and len(cj.args) == 2):
            continue
        a, b = cj.args
        ua, ub = ir.columns_used(a), ir.columns_used(b)
        if not ua or not ub:
            continue
        if ua <= left_names and ub <= right_names:
            lkeys.append(a)
            rkeys.append(b)
        elif ub <= left_names and ua <= right_names:
            lkeys.append(b)
            rkeys.append(a)
    return lkeys, rkeys


def linear_time(e: ir.Expr) -> tuple[str, int] | None:
    """e as column + constant interval (microseconds), or None."""
    if isinstance(e, ir.ColumnRef):
        return e.name, 0
    if isinstance(e, ir.Call) and e.fn in ("add", "sub") and len(e.args) == 2:
        a, b = e.args
        if isinstance(b, ir.Literal) and b.type == T.INTERVAL and isinstance(b.value, int):
            inner = linear_time(a)
            if inner is not None:
                return inner[0], inner[1] + (b.value if e.fn == "add" else -b.value)
        if e.fn == "add" and isinstance(a, ir.Literal) and a.type == T.INTERVAL and isinstance(a.value, int):
            inner = linear_time(b)
            if inner is not None:
                return inner[0], inner[1] + a.value
    return None


_FLIP = {"ge": "le", "gt": "lt", "le": "ge", "lt": "gt", "eq": "eq"}


def _time_bound(r: ir.Join, left_lags: Mapping[str, int], right_lags: Mapping[str, int],
                equalities: bool = False) -> TimeBound | None:
    """lo <= left_time - right_time <= hi from the comparisons between an event-time column of
    each side (strict comparisons bound the same way: the condition filters the pairs exactly);
    with `equalities`, `=` bounds both ways. The time columns' lags go with the bound."""
    left_et, right_et = left_lags, right_lags
    pair: tuple[str, str] | None = None
    lo: int | None = None
    hi: int | None = None
    for cj in conjuncts(r.condition):
        if not (isinstance(cj, ir.Call) and cj.fn in _FLIP and len(cj.args) == 2):
            continue
        if cj.fn == "eq" and not equalities:
            continue
        a, b = (linear_time(x) for x in cj.args)
        if a is None or b is None:
            continue
        fn = cj.fn
        if a[0] in left_et and b[0] in right_et:
            (lcol, lc), (rcol, rc) = a, b
        elif a[0] in right_et and b[0] in left_et:
            (rcol, rc), (lcol, lc) = a, b
            fn = _FLIP[fn]
        else:
            continue
        if pair is None:
            pair = (lcol, rcol)
        elif pair != (lcol, rcol):
            continue
        d = rc - lc  # lcol + lc OP rcol + rc  <=>  lcol - rcol OP rc - lc
        if fn in ("ge", "gt", "eq"):
            lo = d if lo is None else max(lo, d)
        if fn in ("le", "lt", "eq"):
            hi = d if hi is None else min(hi, d)
    if pair is None:
        return None
    return TimeBound(pair[0], pair[1], lo, hi, left_lag=left_et[pair[0]], right_lag=right_et[pair[1]])


def _window_join_ends(c: _Compiler, r: ir.Join) -> tuple[str, str] | None:
    """(left window_end, right window_end) when both sides are windowed on their event time and the
    condition equates their window_start; None otherwise."""
    rename = dict(zip(ir.schema_names(r.right.schema), r.right_names, strict=True))
    if not {"window_start", "window_end"} <= set(ir.schema_names(r.input.schema)):
        return None
    if not {"window_start", "window_end"} <= set(rename):
        return None
    want = {"window_start", rename["window_start"]}
    on_start = any(isinstance(cj, ir.Call) and cj.fn == "eq" and len(cj.args) == 2
                   and all(isinstance(a, ir.ColumnRef) for a in cj.args)
                   and {a.name for a in cj.args} == want for cj in conjuncts(r.condition))
    if not on_start:
        return None
    # the operator groups each window's rows by window_end: equal starts must mean equal ends, so
    # both sides' windows have one size (else: an interval join on window_start, see _join)
    size = _closing_window_size(c, r.input)
    if size is None or size != _closing_window_size(c, r.right):
        return None
    return "window_end", rename["window_end"]


def _closing_window_size(c: _Compiler, rel: ir.Rel) -> int | None:
    """The size of the tumble or hop window rel's window_start/window_end come from, when that
    window is on a source's event time (a window's rows have all arrived once the watermark reaches
    its end); None otherwise."""
    found = _closing_window(c, rel)
    return found[0].size if found else None


def _closing_window(c: _Compiler, rel: ir.Rel) -> tuple[ir.WindowSpec, bool] | None:
    """That window, and whether its time column is still a column of rel (window assignment)."""
    if isinstance(rel, ir.Filter | ir.Distinct):
        return _closing_window(c, rel.input)
    if isinstance(rel, ir.Project):
        cols = dict(rel.columns)
        ok = all(isinstance(cols.get(n), ir.ColumnRef) and cols[n].name == n for n in ("window_start", "window_end"))
        found = _closing_window(c, rel.input) if ok else None
        if found is None:
            return None
        kept = isinstance(cols.get(found[0].time_col), ir.ColumnRef) and cols[found[0].time_col].name == found[0].time_col
        return found[0], found[1] and kept
    if isinstance(rel, ir.Scan) and rel.kind == "view":
        v = c.p.view(rel.name)
        return _closing_window(c, v.plan) if v is not None else None
    if isinstance(rel, ir.WindowAssign) or (isinstance(rel, ir.Aggregate) and rel.window is not None):
        w = rel.window
        ok = w is not None and w.kind in ("tumble", "hop") and w.time_col in _event_time_cols(c, rel.input)
        return (w, isinstance(rel, ir.WindowAssign)) if ok else None
    return None


def _window_join_lags(c: _Compiler, r: ir.Join, left: _Node, right: _Node) -> dict[str, int]:
    """Event-time columns of a window join's output. It emits a window's pairs once the watermark
    passes the window's end, so every later row has window_end above the watermark, and window_start
    and the window's time column (each in [start, end)) at most one window size below it."""
    lags: dict[str, int] = {}
    rename = dict(zip(ir.schema_names(r.right.schema), r.right_names, strict=True))
    for rel, node, name in ((r.input, left, lambda n: n), (r.right, right, lambda n: rename.get(n, n))):
        found = _closing_window(c, rel)
        if found is None:
            continue
        w, time_kept = found
        base = node.lags.get("window_end", 0)
        lags[name("window_end")] = base
        lags[name("window_start")] = base + w.size
        if time_kept:
            lags[name(w.time_col)] = base + w.size
    return lags


def _event_time_cols(c: _Compiler, rel: ir.Rel) -> set[str]:
    """Columns equal to a source's event time (plain copies only: they are bounded by its watermark)."""
    if isinstance(rel, ir.Scan):
        if rel.kind == "source":
            s = c.p.source(rel.name)
            return {s.event_time} if s is not None and s.event_time else set()
        if rel.kind == "view":
            v = c.p.view(rel.name)
            return _event_time_cols(c, v.plan) & set(ir.schema_names(rel.schema)) if v is not None else set()
        return set()
    if isinstance(rel, ir.Filter | ir.Distinct | ir.WindowAssign):
        return _event_time_cols(c, rel.input)
    if isinstance(rel, ir.Project):
        inner = _event_time_cols(c, rel.input)
        return {n for n, e in rel.columns if isinstance(e, ir.ColumnRef) and e.name in inner}
    return set()


# ---------------------------------------------------------------- explain


def describe_relational(op: Operator) -> str | None:
    """What a relational operator keeps, for `flowc explain --stage local`; None for other operators."""
    if isinstance(op, IntervalJoinOp):
        b = op.bound
        lo = "-inf" if b.lo is None else f"{b.lo}us"
        hi = "+inf" if b.hi is None else f"{b.hi}us"
        right_wm = f"right watermark - {b.right_lag}us" if b.right_lag else "right watermark"
        left_wm = f"left watermark - {b.left_lag}us" if b.left_lag else "left watermark"
        return (f" {op.spec.kind} on {b.left_time} - {b.right_time} in [{lo}, {hi}];"
                f" state: left rows until {b.left_time} < {right_wm} + {lo},"
                f" right rows until {b.right_time} < {left_wm} - {hi}")
    if isinstance(op, WindowJoinOp):
        return f" {op.spec.kind}; state: each window's rows until the watermark reaches {op.end_cols[0]}"
    if isinstance(op, RegularJoinOp):
        return f" {op.spec.kind}; state: every row of both sides (grows with the input)"
    if isinstance(op, LookupJoinOp):
        return f" {op.spec.kind}; state: the table's rows (the stream's rows are not kept)"
    if isinstance(op, DistinctOp):
        return f" by {', '.join(op.keys) or '()'}; state: every key seen (grows with the keys)"
    if isinstance(op, TopNOp):
        order = "desc" if op.descending else "asc"
        kept = ("every row present in every group, counted (the input is a changelog)" if op.changelog
                else "the current top rows of every group")
        return f" {op.n} {order} per {', '.join(op.per) or '()'}; state: {kept}"
    if isinstance(op, UnionOp):
        return ""
    return None
