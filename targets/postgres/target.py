"""PostgreSQL as a registered target (targets/registry.py)."""

from __future__ import annotations

from flowc.compiler import ir
from flowc.targets.registry import DeployOptions, RunOptions, Target


class PostgresTarget(Target):
    name = "postgres"
    can = frozenset({"compile", "run", "deploy", "explain"})
    run_options = frozenset({"dsn"})
    deploy_options = frozenset({"dsn", "dry_run", "name", "allow_data_loss", "schema"})

    def check(self, program: ir.Program):
        from .sqlgen import compile_postgres

        compile_postgres(program)
        return []

    def compile(self, program: ir.Program) -> str:
        from .sqlgen import postgres_sql

        return postgres_sql(program)

    def run(self, program: ir.Program, options: RunOptions):
        from .runner import run_postgres

        return run_postgres(program, dsn=options.dsn, collect=options.collect)

    def deploy(self, program: ir.Program, options: DeployOptions):
        from .deploy import deploy

        return deploy(program, self.name, options.dsn, dry_run=options.dry_run, name=options.name,
                      allow_data_loss=options.allow_data_loss, schema=options.schema)
