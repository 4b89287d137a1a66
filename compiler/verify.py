"""The IR verifier: what node construction cannot check on its own.

Construction validates each node against its inputs' schemas. The verifier re-checks the whole tree
after a pass: every node's stored schema is what its fields imply, every column reference carries
the type of the column it reads, and every call's type is what the function's typing rule gives.
"""

from __future__ import annotations

from dataclasses import fields

from . import ir
from .functions import SCALARS, TypeRuleError, aggregate_type


def verify_plan(rel: ir.Rel, where: str = "") -> None:
    for node in ir.walk(rel):
        _verify_node(node, where)


def _verify_node(node: ir.Rel, where: str) -> None:
    kwargs = {f.name: getattr(node, f.name) for f in fields(node) if f.init}
    rebuilt = type(node)(**kwargs)  # re-runs __post_init__ validation
    if rebuilt.schema != node.schema:
        raise ir.IRError(f"{where}: {type(node).__name__} schema is stale")
    for scope, expr in _expressions(node):
        _verify_expr(expr, scope, f"{where}: {type(node).__name__}")


def _expressions(node: ir.Rel):
    if isinstance(node, ir.Filter):
        yield node.input.schema, node.predicate
    elif isinstance(node, ir.Project):
        for _, e in node.columns:
            yield node.input.schema, e
    elif isinstance(node, ir.Aggregate):
        for a in node.aggs:
            if a.arg is not None:
                yield node.input.schema, a.arg
                if aggregate_type(a.fn, a.arg.type) != a.type:
                    raise ir.IRError(f"aggregate {a.name} has type {a.type}")
    elif isinstance(node, ir.Join):
        yield node.schema, node.condition
    elif isinstance(node, ir.TopN):
        yield node.input.schema, node.order_by


def _verify_expr(e: ir.Expr, schema: ir.Schema, where: str) -> None:
    if isinstance(e, ir.ColumnRef):
        f = ir.schema_lookup(schema, e.name)
        if f is None or f.type != e.type:
            raise ir.IRError(f"{where}: column {e.name} of type {e.type} does not match the input")
        return
    for c in ir.expr_children(e):
        _verify_expr(c, schema, where)
    if isinstance(e, ir.Call):
        spec = SCALARS.get(e.fn)
        if spec is None:
            raise ir.IRError(f"{where}: unknown function {e.fn}")
        try:
            want = spec.rule([a.type for a in e.args])
        except TypeRuleError as err:
            raise ir.IRError(f"{where}: {e.fn}: {err}") from None
        if want != e.type:
            raise ir.IRError(f"{where}: {e.fn} typed {e.type}, rule gives {want}")
