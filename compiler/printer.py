"""Readable text for IR programs (`flowc explain --stage ir|optimized`)."""

from __future__ import annotations

from . import ir
from . import types as T
from .durations import format_duration

_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%", "eq": "=", "ne": "<>", "lt": "<",
          "le": "<=", "gt": ">", "ge": ">=", "and": "and", "or": "or", "concat": "||"}


def format_expr(e: ir.Expr) -> str:
    if isinstance(e, ir.ColumnRef):
        return e.name
    if isinstance(e, ir.Literal):
        if e.value is None:
            return "null"
        if e.type == T.INTERVAL:
            return format_duration(int(e.value))  # type: ignore[call-overload]
        if e.type == T.STRING:
            return "'" + str(e.value).replace("'", "''") + "'"
        if e.type.is_temporal:
            return f"{e.type}({e.value})"
        return str(e.value).lower() if isinstance(e.value, bool) else str(e.value)
    if isinstance(e, ir.Call):
        if e.fn in _INFIX:
            return f"({format_expr(e.args[0])} {_INFIX[e.fn]} {format_expr(e.args[1])})"
        if e.fn == "neg":
            return f"-{format_expr(e.args[0])}"
        if e.fn == "not":
            return f"not {format_expr(e.args[0])}"
        if e.fn in ("is_null", "is_not_null"):
            return f"({format_expr(e.args[0])} is {'not ' if e.fn == 'is_not_null' else ''}null)"
        if e.fn == "in":
            return f"({format_expr(e.args[0])} in ({', '.join(format_expr(a) for a in e.args[1:])}))"
        return f"{e.fn}({', '.join(format_expr(a) for a in e.args)})"
    if isinstance(e, ir.Cast):
        return f"cast({format_expr(e.expr)} as {e.type})"
    if isinstance(e, ir.Case):
        parts = " ".join(f"when {format_expr(c)} then {format_expr(v)}" for c, v in e.whens)
        tail = f" else {format_expr(e.else_)}" if e.else_ is not None else ""
        return f"case {parts}{tail} end"
    raise TypeError(type(e).__name__)


def format_window(w: ir.WindowSpec) -> str:
    if w.kind == "tumble":
        args = [w.time_col, format_duration(w.size)]
    elif w.kind == "hop":
        args = [w.time_col, f"size = {format_duration(w.size)}", f"slide = {format_duration(w.slide)}"]
    else:
        args = [w.time_col, f"gap = {format_duration(w.gap)}"]
    if w.offset:
        args.append(f"offset = {format_duration(w.offset)}")
    return f"{w.kind}({', '.join(args)})"


def format_agg(a: ir.AggCall) -> str:
    return f"{a.name} = {a.fn}({format_expr(a.arg) if a.arg is not None else ''})"


def _describe(r: ir.Rel) -> str:
    if isinstance(r, ir.Scan):
        return f"Scan {r.kind} {r.name}"
    if isinstance(r, ir.Filter):
        return f"Filter {format_expr(r.predicate)}"
    if isinstance(r, ir.Project):
        cols = ", ".join(n if isinstance(e, ir.ColumnRef) and e.name == n else f"{n} = {format_expr(e)}"
                         for n, e in r.columns)
        return f"Project {cols}"
    if isinstance(r, ir.WindowAssign):
        return f"WindowAssign {format_window(r.window)}"
    if isinstance(r, ir.Aggregate):
        window = f" window {format_window(r.window)}" if r.window else ""
        return f"Aggregate by [{', '.join(r.keys)}]{window}: {', '.join(format_agg(a) for a in r.aggs)}"
    if isinstance(r, ir.Join):
        return f"Join {r.kind} as {r.alias} on {format_expr(r.condition)}"
    if isinstance(r, ir.Distinct):
        return f"Distinct [{', '.join(r.keys)}]"
    if isinstance(r, ir.TopN):
        order = "desc" if r.descending else "asc"
        return f"TopN {r.n} by {format_expr(r.order_by)} {order} per [{', '.join(r.per)}]"
    if isinstance(r, ir.UnionAll):
        return "UnionAll"
    raise TypeError(type(r).__name__)


def format_plan(r: ir.Rel, indent: int = 1) -> list[str]:
    cols = ", ".join(f.name for f in r.schema)
    lines = ["  " * indent + f"{_describe(r)}  -> [{cols}]"]
    for child in ir.rel_inputs(r):
        lines += format_plan(child, indent + 1)
    return lines


def format_connector(c: ir.Connector) -> str:
    def value(v: object) -> str:
        if isinstance(v, ir.Env):
            return f"env('{v.name}')"
        return repr(v)
    return f"{c.kind}({', '.join(f'{k} = {value(v)}' for k, v in c.args)})"


def format_program(p: ir.Program) -> str:
    out: list[str] = []
    for s in p.sources:
        line = f"source {s.name} ({', '.join(str(f) for f in s.schema)}) from {format_connector(s.connector)}"
        if s.event_time:
            line += f" event_time {s.event_time} watermark {format_duration(s.watermark or 0)}"
        late = s.on_late if isinstance(s.on_late, str) else f"into {format_connector(s.on_late)}"
        err = s.on_error if isinstance(s.on_error, str) else f"into {format_connector(s.on_error)}"
        out.append(f"{line} on_late {late} on_error {err}")
    for t in p.tables:
        out.append(f"table {t.name} ({', '.join(str(f) for f in t.schema)}, primary key ({', '.join(t.primary_key)}))"
                   f" from {format_connector(t.connector)}")
    for v in p.views:
        out.append(f"view {v.name} emit {v.emit}: ({', '.join(str(f) for f in v.schema)})")
        out += format_plan(v.plan)
    for k in p.sinks:
        out.append(f"sink {k.view} into {format_connector(k.connector)}")
    return "\n".join(out)
