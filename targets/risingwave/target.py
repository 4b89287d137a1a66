"""RisingWave as a registered target (targets/registry.py): compiled and deployed, not run here
(no registry this machine reaches ships a RisingWave server)."""

from __future__ import annotations

from flowc.compiler import ir
from flowc.targets.registry import DeployOptions, Target


class RisingWaveTarget(Target):
    name = "risingwave"
    can = frozenset({"compile", "deploy", "explain"})
    deploy_options = frozenset({"dsn", "dry_run", "name", "allow_data_loss", "schema"})

    def check(self, program: ir.Program):
        from .ddl import compile_risingwave_with_warnings

        return list(compile_risingwave_with_warnings(program)[1])

    def compile(self, program: ir.Program) -> str:
        from .ddl import risingwave_sql

        return risingwave_sql(program)

    def deploy(self, program: ir.Program, options: DeployOptions):
        from flowc.targets.postgres.deploy import deploy

        return deploy(program, self.name, options.dsn, dry_run=options.dry_run, name=options.name,
                      allow_data_loss=options.allow_data_loss, schema=options.schema)
