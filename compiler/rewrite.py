"""A small rule-table rewriter for local plan rewrites (as tinygrad's PatternMatcher, Ibis's @replace).

A rule is (node class, function). The function gets a node whose inputs are already rewritten and
returns a replacement, or the same object when it does not apply. The driver runs bottom-up to a
fixpoint, which it recognizes by identity: no change returns the same object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import ir

Rule = tuple[type, Callable[[ir.Rel], ir.Rel]]


def rewrite_bottom_up(rel: ir.Rel, rules: Sequence[Rule], max_rounds: int = 20) -> ir.Rel:
    for _ in range(max_rounds):
        new = _once(rel, rules)
        if new is rel:
            return rel
        rel = new
    return rel


def _once(rel: ir.Rel, rules: Sequence[Rule]) -> ir.Rel:
    inputs = tuple(_once(i, rules) for i in ir.rel_inputs(rel))
    rel = ir.with_inputs(rel, inputs)
    for cls, fn in rules:
        if isinstance(rel, cls):
            out = fn(rel)
            if out is not rel:
                return out
    return rel


def and_all(preds: Sequence[ir.Expr]) -> ir.Expr:
    from . import types as T
    out = preds[0]
    for p in preds[1:]:
        out = ir.Call("and", (out, p), T.BOOL)
    return out
