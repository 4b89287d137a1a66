"""Filter pushdown: move each conjunct of a filter as close to its source as it can go without
changing the result.

Through a projection when the columns it reads are plain column references (renames are undone);
through window assignment when it does not read window_start/window_end; below an aggregate or a
distinct when it reads only grouping keys; into both sides of a union; into the matching side of an
inner join (and the left side of a left join). Late-data decisions happen at the source, before any
of these operators, so moving filters never changes which rows are late.
"""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..properties import conjuncts
from ..rewrite import and_all, rewrite_bottom_up


def _split(f: ir.Filter, can_push) -> tuple[list[ir.Expr], list[ir.Expr]]:
    push, keep = [], []
    for c in conjuncts(f.predicate):
        (push if can_push(c) else keep).append(c)
    return push, keep


def _rebuild(f: ir.Filter, new_input: ir.Rel, keep: list[ir.Expr]) -> ir.Rel:
    return replace(f, input=new_input, predicate=and_all(keep)) if keep else new_input


def _through_project(f: ir.Filter) -> ir.Rel:
    p = f.input
    assert isinstance(p, ir.Project)
    renames = {name: e for name, e in p.columns if isinstance(e, ir.ColumnRef)}
    push, keep = _split(f, lambda c: ir.columns_used(c) <= set(renames))
    if not push:
        return f
    inner = and_all([ir.map_columns(c, lambda ref: renames[ref.name]) for c in push])
    return _rebuild(f, replace(p, input=ir.Filter(p.input, inner, span=f.span)), keep)


def _through_window(f: ir.Filter) -> ir.Rel:
    w = f.input
    assert isinstance(w, ir.WindowAssign)
    push, keep = _split(f, lambda c: not ir.columns_used(c) & {"window_start", "window_end"})
    if not push:
        return f
    return _rebuild(f, replace(w, input=ir.Filter(w.input, and_all(push), span=f.span)), keep)


def _through_keys(f: ir.Filter) -> ir.Rel:
    node = f.input
    assert isinstance(node, ir.Aggregate | ir.Distinct)
    keys = set(node.keys)
    push, keep = _split(f, lambda c: bool(ir.columns_used(c)) and ir.columns_used(c) <= keys)
    if not push:
        return f
    return _rebuild(f, replace(node, input=ir.Filter(node.input, and_all(push), span=f.span)), keep)


def _through_union(f: ir.Filter) -> ir.Rel:
    u = f.input
    assert isinstance(u, ir.UnionAll)
    return replace(u, input=ir.Filter(u.input, f.predicate, span=f.span),
                   other=ir.Filter(u.other, f.predicate, span=f.span))


def _through_join(f: ir.Filter) -> ir.Rel:
    j = f.input
    assert isinstance(j, ir.Join)
    left = set(ir.schema_names(j.input.schema))
    back = {out: ir.ColumnRef(rf.name, rf.type) for out, rf in zip(j.right_names, j.right.schema, strict=True)}
    to_left, to_right, keep = [], [], []
    for c in conjuncts(f.predicate):
        used = ir.columns_used(c)
        if used and used <= left:
            to_left.append(c)
        elif used and used <= set(back) and j.kind == "inner":
            to_right.append(ir.map_columns(c, lambda ref: back[ref.name]))
        else:
            keep.append(c)
    if not to_left and not to_right:
        return f
    new_left = ir.Filter(j.input, and_all(to_left), span=f.span) if to_left else j.input
    new_right = ir.Filter(j.right, and_all(to_right), span=f.span) if to_right else j.right
    return _rebuild(f, replace(j, input=new_left, right=new_right), keep)


def _dispatch(f: ir.Filter) -> ir.Rel:
    handlers = {ir.Project: _through_project, ir.WindowAssign: _through_window, ir.Aggregate: _through_keys,
                ir.Distinct: _through_keys, ir.UnionAll: _through_union, ir.Join: _through_join}
    handler = handlers.get(type(f.input))
    return handler(f) if handler else f


RULES = [(ir.Filter, _dispatch)]


def push_filters(rel: ir.Rel) -> ir.Rel:
    return rewrite_bottom_up(rel, RULES)
