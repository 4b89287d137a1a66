"""Apache Flink as a registered target (targets/registry.py): compiled to Flink SQL, run as one
job on a real cluster, deployed as detached jobs. Nothing Flink-specific is imported until used:
the flink extra (apache-flink-libraries, py4j) and Java may be missing."""

from __future__ import annotations

from flowc.compiler import ir
from flowc.targets.registry import DeployOptions, RunOptions, Target


class FlinkTarget(Target):
    name = "flink"
    can = frozenset({"compile", "run", "deploy", "explain"})
    run_options = frozenset({"jobmanager", "parallelism"})
    deploy_options = frozenset({"jobmanager", "dry_run", "name"})

    def check(self, program: ir.Program):
        from .sqlgen import compile_flink

        return list(compile_flink(program).warnings)

    def compile(self, program: ir.Program) -> str:
        from .sqlgen import flink_sql

        return flink_sql(program)

    def run(self, program: ir.Program, options: RunOptions):
        from .runner import run_flink

        return run_flink(program, jobmanager=options.jobmanager, parallelism=options.parallelism,
                         collect=options.collect)

    def deploy(self, program: ir.Program, options: DeployOptions):
        from .deploy import deploy

        return deploy(program, jobmanager=options.jobmanager, dry_run=options.dry_run, name=options.name)
