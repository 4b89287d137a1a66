"""The optimizer: an ordered list of small passes over each view's plan.

Order matters and is deliberate: filters are merged, then pushed down (which can expose more
merges), then columns are pruned on the final shape, then projections that became identities go.
With `verify=True` (always under test) the verifier runs after every pass and a pass that changes a
view's output schema is a compiler bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from . import ir
from .passes.drop_identity_projects import drop_identity_projects
from .passes.merge_filters import merge_filters
from .passes.prune_columns import prune_columns
from .passes.push_filters import push_filters
from .verify import verify_plan

Pass = Callable[[ir.Rel], ir.Rel]

PASSES: list[tuple[str, Pass]] = [
    ("merge_filters", merge_filters),
    ("push_filters", push_filters),
    ("merge_filters_again", merge_filters),
    ("prune_columns", prune_columns),
    ("drop_identity_projects", drop_identity_projects),
]


def optimize(program: ir.Program, verify: bool = False,
             passes: list[tuple[str, Pass]] | None = None) -> ir.Program:
    views = tuple(_optimize_view(v, verify, PASSES if passes is None else passes) for v in program.views)
    return program.with_views(views)


MAX_ROUNDS = 8


def _optimize_view(view: ir.View, verify: bool, passes: list[tuple[str, Pass]]) -> ir.View:
    # Passes enable each other (pruning adds a projection that pushdown can then move a filter
    # through), so the list runs until a round changes nothing: optimize(optimize(p)) == optimize(p).
    plan = view.plan
    for _ in range(MAX_ROUNDS):
        before = plan
        for name, run in passes:
            new = run(plan)
            if verify:
                verify_plan(new, f"after pass {name} on view {view.name}")
                if new.schema != plan.schema:
                    raise ir.IRError(f"pass {name} changed the schema of view {view.name}: "
                                     f"{plan.schema} -> {new.schema}")
            plan = new
        # equality, not identity: a pass may rebuild an equal tree, and idempotence is about equality
        if plan == before:
            break
    return view if plan == view.plan else replace(view, plan=plan)
