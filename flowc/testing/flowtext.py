"""Print an AST program as `.flow` text, so a drawn program can be read, saved and re-run.

Expressions are fully parenthesized: the printed text is meant to parse back to the same program
(the property tests check that it lowers to the same IR), not to be pretty. `flowc fmt`, the
user-facing formatter, is a separate piece of work; this printer only covers what the strategies draw
plus the declarations around it.
"""

from __future__ import annotations

from flowc.dsl import ast
from flowc.dsl.syntax_durations import format_duration


def to_flow(program: ast.Program) -> str:
    return "\n\n".join(_decl(d) for d in program.decls) + "\n"


def _decl(d) -> str:
    if isinstance(d, ast.SourceDecl):
        cols = ",\n".join(f"    {c.name} {_type(c.type)}" for c in d.columns)
        text = f"source {d.name} (\n{cols},\n)\nfrom {_connector(d.connector)}"
        if d.event_time is not None:
            wm = format_duration(d.watermark.micros if d.watermark is not None else 0)
            text += f"\nevent_time {d.event_time} watermark {wm}"
        if isinstance(d.on_late, ast.Connector):
            text += f"\non_late into {_connector(d.on_late)}"
        elif d.on_late is not None:
            text += f"\non_late {d.on_late}"
        if isinstance(d.on_error, ast.Connector):
            text += f"\non_error into {_connector(d.on_error)}"
        elif d.on_error is not None:
            text += f"\non_error {d.on_error}"
        return text
    if isinstance(d, ast.ViewDecl):
        return f"view {d.name} = {_pipeline(d.pipeline, 1)}"
    if isinstance(d, ast.SinkDecl):
        return f"sink {d.view} into {_connector(d.connector)}"
    if isinstance(d, ast.TableDecl):
        cols = [f"    {c.name} {_type(c.type)}" for c in d.columns]
        cols.append(f"    primary key ({', '.join(d.primary_key)})")
        return f"table {d.name} (\n" + ",\n".join(cols) + f",\n)\nfrom {_connector(d.connector)}"
    raise TypeError(f"cannot print {type(d).__name__}")


def _type(t: ast.TypeName) -> str:
    return t.name + (f"({', '.join(str(p) for p in t.params)})" if t.params else "")


def _connector(c: ast.Connector) -> str:
    return f"{c.name}({', '.join(_arg(a) for a in c.args)})"


def _arg(a: ast.Arg) -> str:
    return (f"{a.name} = " if a.name else "") + expr(a.value)


def _relation(r, depth: int) -> str:
    if isinstance(r, ast.RelationRef):
        return r.name
    return "(" + _pipeline(r, depth + 1) + ")"


def _pipeline(p: ast.Pipeline, depth: int) -> str:
    pad = "\n" + "    " * depth + "| "
    return _relation(p.start, depth) + "".join(pad + _stage(s, depth) for s in p.stages)


def _items(items: tuple[ast.Item, ...]) -> str:
    return ", ".join((f"{i.name} = " if i.name else "") + expr(i.expr) for i in items)


def _stage(s, depth: int) -> str:
    if isinstance(s, ast.Where):
        return f"where {expr(s.predicate)}"
    if isinstance(s, ast.Select):
        return f"select {_items(s.items)}"
    if isinstance(s, ast.Derive):
        return f"derive {_items(s.items)}"
    if isinstance(s, ast.Window):
        return f"window {expr(s.call)}"
    if isinstance(s, ast.Aggregate):
        by = f" by {', '.join(expr(k) for k in s.by)}" if s.by else ""
        return f"aggregate {_items(s.items)}{by}"
    if isinstance(s, ast.Join):
        kind = "left join" if s.kind == "left" else "join"
        alias = f" as {s.alias}" if s.alias else ""
        return f"{kind} {_relation(s.relation, depth)}{alias} on {expr(s.on)}"
    if isinstance(s, ast.Distinct):
        return f"distinct {', '.join(expr(k) for k in s.keys)}"
    if isinstance(s, ast.Top):
        per = f" per {', '.join(expr(k) for k in s.per)}" if s.per else ""
        return f"top {s.n} by {expr(s.by)} {'desc' if s.descending else 'asc'}{per}"
    if isinstance(s, ast.Union_):
        return f"union {_relation(s.relation, depth)}"
    if isinstance(s, ast.Emit):
        return f"emit {s.mode}"
    raise TypeError(f"cannot print stage {type(s).__name__}")


def _literal(e: ast.Literal) -> str:
    if e.kind == "null":
        return "null"
    if e.kind == "bool":
        return "true" if e.value else "false"
    if e.kind == "string":
        return "'" + str(e.value).replace("'", "''") + "'"
    if e.kind == "float":
        text = repr(float(e.value))  # type: ignore[arg-type]
        if text.lstrip("-")[0].isdigit() and "." not in text and "e" not in text:
            text += ".0"
        return f"({text})" if text.startswith("-") else text
    text = str(e.value)
    return f"({text})" if text.startswith("-") else text


def expr(e) -> str:
    """One expression, parenthesized wherever precedence could matter."""
    if isinstance(e, ast.Name):
        return ".".join(e.parts)
    if isinstance(e, ast.Literal):
        return _literal(e)
    if isinstance(e, ast.Duration):
        return format_duration(e.micros)
    if isinstance(e, ast.Unary):
        return f"(not {expr(e.operand)})" if e.op == "not" else f"(-{expr(e.operand)})"
    if isinstance(e, ast.Binary):
        return f"({expr(e.left)} {e.op} {expr(e.right)})"
    if isinstance(e, ast.InList):
        neg = " not" if e.negated else ""
        return f"({expr(e.expr)}{neg} in ({', '.join(expr(i) for i in e.items)}))"
    if isinstance(e, ast.Between):
        neg = " not" if e.negated else ""
        return f"({expr(e.expr)}{neg} between {expr(e.low)} and {expr(e.high)})"
    if isinstance(e, ast.IsNull):
        return f"({expr(e.expr)} is {'not ' if e.negated else ''}null)"
    if isinstance(e, ast.Case):
        whens = " ".join(f"when {expr(c)} then {expr(v)}" for c, v in e.whens)
        else_ = f" else {expr(e.else_)}" if e.else_ is not None else ""
        return f"(case {whens}{else_} end)"
    if isinstance(e, ast.Cast):
        return f"cast({expr(e.expr)} as {_type(e.type)})"
    if isinstance(e, ast.Call):
        return f"{e.name}({', '.join(_arg(a) for a in e.args)})"
    raise TypeError(f"cannot print expression {type(e).__name__}")
