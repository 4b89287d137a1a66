"""Merge adjacent filters into one conjunction, so pushdown moves them together."""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..properties import conjuncts
from ..rewrite import and_all, rewrite_bottom_up


def _merge(f: ir.Filter) -> ir.Rel:
    if isinstance(f.input, ir.Filter):
        inner = f.input
        # conjuncts flattened and re-chained left to right: the same shape pushdown builds, so
        # the two passes agree on one canonical form
        return replace(inner, predicate=and_all(conjuncts(inner.predicate) + conjuncts(f.predicate)))
    return f


RULES = [(ir.Filter, _merge)]


def merge_filters(rel: ir.Rel) -> ir.Rel:
    return rewrite_bottom_up(rel, RULES)
