"""Merge adjacent filters into one conjunction, so pushdown moves them together."""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..rewrite import and_all, rewrite_bottom_up


def _merge(f: ir.Filter) -> ir.Rel:
    if isinstance(f.input, ir.Filter):
        inner = f.input
        return replace(inner, predicate=and_all([inner.predicate, f.predicate]))
    return f


RULES = [(ir.Filter, _merge)]


def merge_filters(rel: ir.Rel) -> ir.Rel:
    return rewrite_bottom_up(rel, RULES)
