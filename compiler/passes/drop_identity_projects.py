"""Remove projections that output exactly their input."""

from __future__ import annotations

from .. import ir
from ..rewrite import rewrite_bottom_up


def _drop(p: ir.Project) -> ir.Rel:
    return p.input if p.is_identity() else p


RULES = [(ir.Project, _drop)]


def drop_identity_projects(rel: ir.Rel) -> ir.Rel:
    return rewrite_bottom_up(rel, RULES)
