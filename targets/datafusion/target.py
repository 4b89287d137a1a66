"""DataFusion as a registered target (targets/registry.py)."""

from __future__ import annotations

from flowc.compiler import ir
from flowc.targets.registry import RunOptions, Target


class DataFusionTarget(Target):
    name = "datafusion"
    can = frozenset({"compile", "run", "explain"})

    def compile(self, program: ir.Program) -> str:
        from .runner import datafusion_sql

        return datafusion_sql(program)

    def run(self, program: ir.Program, options: RunOptions):
        from .runner import run_datafusion

        return run_datafusion(program, collect=options.collect)

    def explain(self, program: ir.Program) -> str:
        from .runner import explain_datafusion

        return explain_datafusion(program)
