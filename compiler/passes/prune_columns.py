"""Column pruning: read only the columns a view needs.

Walks each plan top-down with the set of columns the parent needs; narrows projections to those
columns and puts a projection right above each scan that provides more than is needed. A view's own
output columns are always kept, so pruning never changes a view's schema.
"""

from __future__ import annotations

from dataclasses import replace

from .. import ir


def prune_columns(rel: ir.Rel) -> ir.Rel:
    return _prune(rel, set(ir.schema_names(rel.schema)))


def _narrow_scan(scan: ir.Scan, needed: set[str]) -> ir.Rel:
    keep = [f for f in scan.schema if f.name in needed]
    if len(keep) == len(scan.schema) or not keep:
        return scan
    return ir.Project(scan, tuple((f.name, ir.ColumnRef(f.name, f.type)) for f in keep), span=scan.span)


def _prune(rel: ir.Rel, needed: set[str]) -> ir.Rel:
    if isinstance(rel, ir.Scan):
        return _narrow_scan(rel, needed)
    if isinstance(rel, ir.Project):
        cols = tuple((n, e) for n, e in rel.columns if n in needed) or rel.columns[:1]
        below: set[str] = set()
        for _, e in cols:
            below |= ir.columns_used(e)
        new_input = _prune(rel.input, below)
        if cols == rel.columns and new_input is rel.input:
            return rel
        return replace(rel, input=new_input, columns=cols)
    if isinstance(rel, ir.Filter):
        return ir.with_inputs(rel, (_prune(rel.input, needed | ir.columns_used(rel.predicate)),))
    if isinstance(rel, ir.WindowAssign):
        below = (needed - {"window_start", "window_end"}) | {rel.window.time_col}
        return ir.with_inputs(rel, (_prune(rel.input, below),))
    if isinstance(rel, ir.Aggregate):
        below = set(rel.keys)
        for a in rel.aggs:
            if a.arg is not None:
                below |= ir.columns_used(a.arg)
        if rel.window is not None:
            below.add(rel.window.time_col)
        return ir.with_inputs(rel, (_prune(rel.input, below),))
    if isinstance(rel, ir.Distinct):
        return ir.with_inputs(rel, (_prune(rel.input, needed | set(rel.keys)),))
    if isinstance(rel, ir.TopN):
        below = needed | set(rel.per) | ir.columns_used(rel.order_by)
        return ir.with_inputs(rel, (_prune(rel.input, below),))
    if isinstance(rel, ir.Join):
        # Join output names are fixed by right_names, so both sides keep their full schemas here;
        # only the columns below them are pruned.
        return ir.with_inputs(rel, (_prune(rel.input, set(ir.schema_names(rel.input.schema))),
                                    _prune(rel.right, set(ir.schema_names(rel.right.schema)))))
    if isinstance(rel, ir.UnionAll):
        everything = set(ir.schema_names(rel.schema))
        return ir.with_inputs(rel, (_prune(rel.input, everything), _prune(rel.other, everything)))
    raise TypeError(f"unknown node {type(rel).__name__}")
