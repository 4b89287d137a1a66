"""Rebuild an AST program through the public Python API (`fc.Flow()`, `flow.source`, `flow.view`,
`fc.col`, ...), to check that the Python DSL and the .flow text build equal programs.

    to_flow_object(program) -> fc.Flow      (raises Inexpressible where the builder has no way)
    fold_literal_signs(node) -> node        (the AST as the parser gives it: `-5` is a literal)

The parser folds a minus into the number or duration it precedes (`- 5`, `-(5)` and `-5` all read
as the literal -5), so a drawn `Unary('-', Literal(5))` is written `fc.lit(-5)`, and compared with
the parsed text after `fold_literal_signs`.

Only the public builder is used: expressions from `col`, `lit`, `func`, `case`, operators and
`Expr` methods, windows from `tumble`/`hop`/`session`, aggregates from `count`/`sum_`/...,
relations from the handles `flow.source`, `flow.table` and `flow.view` return. Nothing reads
.flow text (`fc.expr(...)` would make the property trivially true).
"""

from __future__ import annotations

import dataclasses

import flowc as fc
from flowc.dsl import ast
from flowc.dsl.formatter import type_name


class Inexpressible(Exception):
    """A construct the Python builder has no public way to write (a finding, reported as such)."""


_AGGS = {"count": "count", "sum": "sum_", "min": "min_", "max": "max_", "avg": "avg", "count_distinct": "count_distinct"}


def fold_literal_signs(node):
    """Bottom-up: a minus applied to a numeric literal or a duration becomes part of it."""
    if isinstance(node, tuple):
        return tuple(fold_literal_signs(x) for x in node)
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return node
    changes = {f.name: fold_literal_signs(getattr(node, f.name)) for f in dataclasses.fields(node)
               if f.init and f.name != "span"}
    node = dataclasses.replace(node, **changes)
    if isinstance(node, ast.Unary) and node.op == "-":
        inner = node.operand
        if isinstance(inner, ast.Literal) and inner.kind in ("int", "float") and inner.value is not None:
            return ast.Literal(-inner.value, inner.kind)
        if isinstance(inner, ast.Duration):
            return ast.Duration(-inner.micros)
    return node


def _expr(e: ast.Expr):
    """An AST expression as a builder `Expr`."""
    if isinstance(e, ast.Name):
        return fc.col(".".join(e.parts))
    if isinstance(e, ast.Literal):
        return fc.lit(e.value)
    if isinstance(e, ast.Duration):
        return fc.lit(fc.duration(e.micros))
    if isinstance(e, ast.Unary):
        folded = fold_literal_signs(e)
        if folded is not e and not isinstance(folded, ast.Unary):
            return _expr(folded)  # `-5`: the literal -5, as the parser reads it
        return ~_expr(e.operand) if e.op == "not" else -_expr(e.operand)
    if isinstance(e, ast.Binary):
        a, b = _expr(e.left), _expr(e.right)
        ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b, "%": lambda: a % b,
               "=": lambda: a == b, "<>": lambda: a != b, "<": lambda: a < b, "<=": lambda: a <= b,
               ">": lambda: a > b, ">=": lambda: a >= b, "and": lambda: a & b, "or": lambda: a | b,
               "||": lambda: a.concat(b)}
        return ops[e.op]()
    if isinstance(e, ast.IsNull):
        return _expr(e.expr).is_not_null() if e.negated else _expr(e.expr).is_null()
    if isinstance(e, ast.InList):
        items = [_expr(i) for i in e.items]
        return _expr(e.expr).not_in(items) if e.negated else _expr(e.expr).isin(items)
    if isinstance(e, ast.Between):
        x = _expr(e.expr)
        return x.not_between(_expr(e.low), _expr(e.high)) if e.negated else x.between(_expr(e.low), _expr(e.high))
    if isinstance(e, ast.Extract):
        return fc.extract(e.field, _expr(e.expr))
    if isinstance(e, ast.Like):
        method = ("not_" if e.negated else "") + ("ilike" if e.ignore_case else "like")
        return getattr(_expr(e.expr), method)(_expr(e.pattern))
    if isinstance(e, ast.Case):
        whens = [(_expr(c), _expr(v)) for c, v in e.whens]
        return fc.case(*whens, else_=_expr(e.else_) if e.else_ is not None else None)
    if isinstance(e, ast.Cast):
        return _expr(e.expr).cast(type_name(e.type))
    if isinstance(e, ast.Call):
        if any(a.name for a in e.args):
            raise Inexpressible(f"named arguments of a scalar call: {e.name}(...)")
        if e.name in _AGGS:
            agg = getattr(fc, _AGGS[e.name])
            out = agg(*(_expr(a.value) for a in e.args))
            return out.filter(_expr(e.filter)) if e.filter is not None else out
        return fc.func(e.name, *(_expr(a.value) for a in e.args))
    raise Inexpressible(f"expression {type(e).__name__}")


def _window(call: ast.Call):
    args = {a.name or ("time" if i == 0 else "size"): a.value for i, a in enumerate(call.args)}
    time = args["time"]
    if not isinstance(time, ast.Name) or len(time.parts) != 1:
        raise Inexpressible("a window over an expression (the builder takes a column name)")
    micros = {k: v.micros for k, v in args.items() if isinstance(v, ast.Duration)}
    if call.name == "tumble":
        return fc.tumble(time.parts[0], micros["size"], micros.get("offset"))
    if call.name == "hop":
        return fc.hop(time.parts[0], micros["size"], micros["slide"], micros.get("offset"))
    return fc.session(time.parts[0], micros["gap"])


def _items(items: tuple[ast.Item, ...]):
    out = []
    for i in items:
        e = _expr(i.expr)
        out.append(e.alias(i.name) if i.name else e)
    return out


def _key(e: ast.Expr) -> str:
    if not isinstance(e, ast.Name):
        raise Inexpressible("a key that is not a column name")
    return ".".join(e.parts)


def _relation(r: ast.Relation, handles: dict):
    if isinstance(r, ast.RelationRef):
        return handles[r.name]
    rel = _relation(r.start, handles)
    for s in r.stages:
        rel = _stage(rel, s, handles)
    return rel


def _stage(rel, s, handles: dict):
    if isinstance(s, ast.Where):
        return rel.where(_expr(s.predicate))
    if isinstance(s, ast.Select):
        return rel.select(*_items(s.items))
    if isinstance(s, ast.Derive):
        return rel.derive(*_items(s.items))
    if isinstance(s, ast.Window):
        return rel.window(_window(s.call))
    if isinstance(s, ast.Aggregate):
        if any(i.name is None for i in s.items):
            raise Inexpressible("an unnamed aggregate item (Relation.aggregate takes keyword arguments)")
        return rel.aggregate(by=[_key(k) for k in s.by], **{i.name: _expr(i.expr) for i in s.items})
    if isinstance(s, ast.Join):
        return rel.join(_relation(s.relation, handles), _expr(s.on), alias=s.alias, how=s.kind)
    if isinstance(s, ast.Distinct):
        return rel.distinct(*(_key(k) for k in s.keys))
    if isinstance(s, ast.Top):
        return rel.top(s.n, _expr(s.by), descending=s.descending, per=[_key(k) for k in s.per])
    if isinstance(s, ast.Union_):
        return rel.union(_relation(s.relation, handles))
    raise Inexpressible(f"stage {type(s).__name__}")


def _connector(c: ast.Connector):
    """File connectors with a path (what the strategies declare and sink into)."""
    maker = {"csv": fc.csv, "jsonl": fc.jsonl, "parquet": fc.parquet}.get(c.name)
    if maker is None or len(c.args) != 1 or c.args[0].name or not isinstance(c.args[0].value, ast.Literal):
        raise Inexpressible(f"connector {c.name} with these arguments")
    return maker(c.args[0].value.value)


def _body(pipeline: ast.Pipeline, handles: dict):
    """The view's function: no parameters, it reads the handles of the relations declared before."""
    return lambda: _relation(pipeline, handles)


def to_flow_object(program: ast.Program) -> fc.Flow:
    """The program rebuilt with the public builder. Raises Inexpressible where it has no way."""
    flow = fc.Flow()
    handles: dict = {}
    for d in program.decls:
        schema = {c.name: type_name(c.type) for c in getattr(d, "columns", ())}
        if isinstance(d, ast.SourceDecl):
            handles[d.name] = flow.source(d.name, _connector(d.connector), schema, event_time=d.event_time,
                                          watermark=d.watermark.micros if d.watermark is not None else None,
                                          on_late=d.on_late, on_error=d.on_error)
        elif isinstance(d, ast.TableDecl):
            handles[d.name] = flow.table(d.name, _connector(d.connector), schema, d.primary_key)
        elif isinstance(d, ast.ViewDecl):
            stages = list(d.pipeline.stages)
            emit = stages.pop().mode if stages and isinstance(stages[-1], ast.Emit) else None

            handles[d.name] = flow.view(_body(ast.Pipeline(d.pipeline.start, tuple(stages)), handles),
                                        name=d.name, emit=emit)
        elif isinstance(d, ast.SinkDecl):
            flow.sink(handles[d.view], _connector(d.connector))
    return flow
