"""The local runtime as a registered target (targets/registry.py)."""

from __future__ import annotations

from flowc.compiler import ir

from .registry import RunOptions, Target


class LocalTarget(Target):
    name = "local"
    can = frozenset({"run", "explain"})
    run_options = frozenset({"batch_size", "max_state_rows"})

    def check(self, program: ir.Program):
        from .local import compile_local

        compile_local(program, batch_size=1024)
        return []

    def run(self, program: ir.Program, options: RunOptions):
        from .local import run_local

        return run_local(program, batch_size=options.batch_size, collect=options.collect,
                         max_state_rows=options.max_state_rows)

    def explain(self, program: ir.Program) -> str:
        from .local import explain_local

        return explain_local(program)
