"""How RisingWave streams a plan: append-only or a changelog (with its unique key), and which views
run under EMIT ON WINDOW CLOSE. Sinks need the first (FORMAT PLAIN vs DEBEZIUM, primary_key);
`distinct` needs it too (RisingWave dedups an append-only input by its first row, reference §1.8).
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler.properties import join_kind_in


def has_windowed_aggregate(r: ir.Rel) -> bool:
    return any(isinstance(n, ir.Aggregate) and n.window is not None for n in ir.walk(r))


def has_window_join(program: ir.Program, r: ir.Rel) -> bool:
    return any(isinstance(n, ir.Join) and join_kind_in(program, n) == "window" for n in ir.walk(r))


def is_eowc(program: ir.Program, view: ir.View) -> bool:
    """`emit final` of windowed aggregates and window joins: results once, when the window closes."""
    return view.emit == "final" and (has_windowed_aggregate(view.plan) or has_window_join(program, view.plan))


def changelog(program: ir.Program, r: ir.Rel) -> tuple[bool, tuple[str, ...] | None]:
    """(append_only, unique key) of a plan as RisingWave streams it (without the view's EOWC)."""
    if isinstance(r, ir.Scan):
        if r.kind == "source":
            return True, None
        if r.kind == "table":
            t = program.table(r.name)
            pk = t.primary_key if t is not None else ()
            return False, pk if pk and set(pk) <= set(ir.schema_names(r.columns)) else None
        v = program.view(r.name)
        return view_changelog(program, v) if v is not None else (False, None)
    if isinstance(r, (ir.Filter, ir.WindowAssign)):
        return changelog(program, r.input)
    if isinstance(r, ir.Project):
        append, keys = changelog(program, r.input)
        renamed = {e.name: n for n, e in r.columns if isinstance(e, ir.ColumnRef)}
        if keys is not None and all(k in renamed for k in keys):
            return append, tuple(renamed[k] for k in keys)
        return append, None
    if isinstance(r, ir.Aggregate):
        keys = r.keys + (("window_start", "window_end") if r.window is not None else ())
        return False, keys or None
    if isinstance(r, ir.Distinct):
        return changelog(program, r.input)[0], r.keys or None
    if isinstance(r, ir.Join):
        left, _ = changelog(program, r.input)
        if join_kind_in(program, r) == "lookup":
            # a process-time temporal join never re-emits for table changes (reference §1.7)
            return left, None
        right, _ = changelog(program, r.right)
        # a left join emits the unmatched row at once and retracts it when a match arrives
        return left and right and r.kind == "inner", None
    if isinstance(r, ir.UnionAll):
        return changelog(program, r.input)[0] and changelog(program, r.other)[0], None
    return False, None  # TopN: a better row retracts an older one


def view_changelog(program: ir.Program, view: ir.View) -> tuple[bool, tuple[str, ...] | None]:
    append, keys = changelog(program, view.plan)
    return append or is_eowc(program, view), keys
