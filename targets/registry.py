"""Every target as one object in one table: what it can do (compile, run, deploy, explain) and how.

A target is a subclass of `Target` in its own package (its `target.py`), registered by one line in
`TARGETS` (`name -> "module:class"`), the way sqlglot registers dialects and Ibis backends. The table
names modules instead of importing them so that `flowc check` without `--target` loads no engine:
a target's module (pyarrow, datafusion, psycopg, py4j) is imported the first time it is asked for.

The CLI and the Python API ask the registry, never `if target == ...`: `names("run")` gives the
choices of `flowc run --target`, `get("flink").run(program, options)` runs there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError

# name -> "module:class" of its Target, in the order the CLI lists them
TARGETS: dict[str, str] = {
    "local": "flowc.targets.local_target:LocalTarget",
    "datafusion": "flowc.targets.datafusion.target:DataFusionTarget",
    "postgres": "flowc.targets.postgres.target:PostgresTarget",
    "risingwave": "flowc.targets.risingwave.target:RisingWaveTarget",
    "flink": "flowc.targets.flink.target:FlinkTarget",
}

CAPABILITIES = ("compile", "run", "deploy", "explain")

# Which targets can do what, known without importing them (argparse choices, error hints).
# Each Target class states the same in its own attributes; test_targets_registry checks they agree.
CAN: dict[str, frozenset[str]] = {
    "local": frozenset({"run", "explain"}),
    "datafusion": frozenset({"compile", "run", "explain"}),
    "postgres": frozenset({"compile", "run", "deploy", "explain"}),
    "risingwave": frozenset({"compile", "deploy", "explain"}),
    "flink": frozenset({"compile", "run", "deploy", "explain"}),
}


@dataclass(frozen=True)
class RunOptions:
    """What `flowc run` and `Flow.run()` pass to a target; each target reads the fields it names in
    `Target.run_options` (the CLI refuses an option given to a target that ignores it)."""

    batch_size: int = 10_000
    collect: bool = False
    dsn: str | None = None  # postgres
    jobmanager: str | None = None  # flink: HOST:PORT of a running cluster's REST endpoint
    parallelism: int | None = None  # flink
    max_state_rows: int | None = None  # local: stop when one operator keeps more rows


@dataclass(frozen=True)
class DeployOptions:
    dsn: str | None = None  # postgres, risingwave
    jobmanager: str | None = None  # flink
    dry_run: bool = False
    name: str | None = None
    allow_data_loss: bool = False  # postgres, risingwave: apply a plan that drops tables holding rows
    schema: str | None = None  # postgres, risingwave: the schema the deployment lives in


class Target:
    """A target: the compile-time checks, the compiled text, the run and the deploy of one engine.
    Subclasses set `name` and `can`, and override what they can do."""

    name = ""
    can: frozenset[str] = frozenset()
    run_options: frozenset[str] = frozenset()  # RunOptions fields besides batch_size/collect it reads
    deploy_options: frozenset[str] = frozenset({"dry_run", "name"})

    def check(self, program: ir.Program) -> list[Diagnostic]:
        """Compile for the target only to surface its errors; return its warnings (the known,
        named differences from SEMANTICS.md). Default: compile, no warnings."""
        self.compile(program)
        return []

    def compile(self, program: ir.Program) -> str:
        raise self._cannot("compile")

    def run(self, program: ir.Program, options: RunOptions):
        raise self._cannot("run")

    def deploy(self, program: ir.Program, options: DeployOptions):
        raise self._cannot("deploy")

    def explain(self, program: ir.Program) -> str:
        """`flowc explain --stage <target>` (default: the compiled text)."""
        return self.compile(program)

    def _cannot(self, what: str) -> FlowError:
        able = names(what)
        return FlowError(Diagnostic(Code.BAD_ARGUMENT, f"target '{self.name}' cannot {what}", None,
                                    f"targets that can {what}: {', '.join(able)}" if able else None))


def names(capability: str | None = None) -> tuple[str, ...]:
    """The registered targets (that have `capability`), in the CLI's order."""
    return tuple(n for n in TARGETS if capability is None or capability in CAN[n])


def get(name: str, capability: str | None = None) -> Target:
    """The target called `name`; a clear error for an unknown one, or one lacking `capability`."""
    if name not in TARGETS:
        known = names(capability)
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"unknown target '{name}'", None,
                                   f"targets: {', '.join(known)}"))
    if capability is not None and capability not in CAN[name]:
        able = names(capability)
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"target '{name}' cannot {capability}", None,
                                   f"targets that can {capability}: {', '.join(able)}"))
    if name not in _LOADED:
        module, cls = TARGETS[name].split(":")
        _LOADED[name] = getattr(importlib.import_module(module), cls)()
    return _LOADED[name]


_LOADED: dict[str, Target] = {}


__all__ = ["TARGETS", "CAN", "CAPABILITIES", "RunOptions", "DeployOptions", "Target", "names", "get"]
