"""Join bounds RisingWave can clean state by: window_end rewritten as window_start + size.

After an EMIT ON WINDOW CLOSE aggregate only window_start carries RisingWave's watermark
(stream_hash_agg.rs, watermarks.py), so a join bounded by `m.window_end` (Nexmark q7: `date_time
between m.window_end - 10s and m.window_end`) is planned as a hash join whose state is never cleaned.
A tumble's or hop's window_end is exactly its window_start + size, so the bound is rewritten on
window_start, which keeps the meaning and gives RisingWave's interval join a watermarked column on
both sides (planner test nexmark_watermark.yaml nexmark_q7: `StreamHashJoin [interval]` cleans both
sides by such bounds). Bounds this cannot rewrite stay, and rules.py (join-state-cleaning) warns.
"""

from __future__ import annotations

from dataclasses import replace

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.properties import join_kind_in

from .watermarks import RisingWaveWatermarks

Bounds = dict[str, tuple[str, int]]  # window_end column -> (its window_start column, window size)


def window_bounds(program: ir.Program, rel: ir.Rel) -> Bounds:
    """The columns of rel that are a tumble's or hop's window_end, with their window_start."""
    if isinstance(rel, ir.Aggregate | ir.WindowAssign):
        w = rel.window
        if w is not None and w.kind in ("tumble", "hop"):
            return {"window_end": ("window_start", w.size)}
        return {}
    if isinstance(rel, ir.Filter | ir.Distinct | ir.TopN):
        return window_bounds(program, rel.input)
    if isinstance(rel, ir.Project):
        inner = window_bounds(program, rel.input)
        renamed: dict[str, list[str]] = {}
        for name, e in rel.columns:
            if isinstance(e, ir.ColumnRef):
                renamed.setdefault(e.name, []).append(name)
        return {end: (renamed[start][0], size) for src_end, (start, size) in inner.items()
                if start in renamed for end in renamed.get(src_end, [])}
    if isinstance(rel, ir.Scan) and rel.kind == "view":
        v = program.view(rel.name)
        names = set(ir.schema_names(rel.schema))
        inner = window_bounds(program, v.plan) if v is not None else {}
        return {e: (s, n) for e, (s, n) in inner.items() if e in names and s in names}
    if isinstance(rel, ir.Join):
        left = window_bounds(program, rel.input)
        out = dict(zip(ir.schema_names(rel.right.schema), rel.right_names, strict=True))
        right = {out[e]: (out[s], n) for e, (s, n) in window_bounds(program, rel.right).items()}
        return {**left, **right}
    return {}


def bound_by_window_start(program: ir.Program) -> ir.Program:
    wm = RisingWaveWatermarks(program)

    def fix(view: ir.View, rel: ir.Rel) -> ir.Rel:
        rel = ir.with_inputs(rel, tuple(fix(view, i) for i in ir.rel_inputs(rel)))
        if not isinstance(rel, ir.Join) or join_kind_in(program, rel) not in ("interval", "regular"):
            return rel
        swaps: dict[str, ir.Expr] = {}
        out = dict(zip(ir.schema_names(rel.right.schema), rel.right_names, strict=True))
        for side, names in ((rel.input, None), (rel.right, out)):
            marks = wm.planned(view, side)
            marks = {names[c] for c in marks} if names is not None else marks
            bounds = window_bounds(program, side)
            if names is not None:
                bounds = {names[e]: (names[s], n) for e, (s, n) in bounds.items()}
            for end, (start, size) in bounds.items():
                if end not in marks and start in marks:
                    start_type = _column_type(rel, start)
                    swaps[end] = ir.Call("add", (ir.ColumnRef(start, start_type), ir.Literal(size, T.INTERVAL)),
                                         start_type)
        if not swaps:
            return rel
        cond = ir.map_columns(rel.condition, lambda c: swaps.get(c.name, c))
        if cond is rel.condition:
            return rel
        return replace(rel, condition=_fold_shifts(cond))

    views = tuple(replace(v, plan=fix(v, v.plan)) for v in program.views)
    return program.with_views(views)


def _fold_shifts(e: ir.Expr) -> ir.Expr:
    """`(x + a) - b` with constant intervals as `x + (a - b)` (or x): the bound as one would write it."""
    if isinstance(e, ir.Call):
        e = replace(e, args=tuple(_fold_shifts(a) for a in e.args))
        if e.fn in ("add", "sub") and len(e.args) == 2 and _is_interval(e.args[1]):
            inner, shift = e.args[0], e.args[1].value * (1 if e.fn == "add" else -1)
            if isinstance(inner, ir.Call) and inner.fn in ("add", "sub") and _is_interval(inner.args[1]):
                total = shift + inner.args[1].value * (1 if inner.fn == "add" else -1)
                base = inner.args[0]
                if total == 0:
                    return base
                return ir.Call("add" if total > 0 else "sub", (base, ir.Literal(abs(total), T.INTERVAL)), e.type)
    return e


def _is_interval(e: ir.Expr) -> bool:
    return isinstance(e, ir.Literal) and e.type == T.INTERVAL and isinstance(e.value, int)


def _column_type(join: ir.Join, name: str) -> T.Type:
    f = ir.schema_lookup(join.schema, name)
    assert f is not None
    return f.type


__all__ = ["bound_by_window_start", "window_bounds"]
