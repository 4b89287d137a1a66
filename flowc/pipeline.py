"""The compile pipeline as named stages, shared by the CLI and the Python API.

    load (.flow or .py) -> AST -> lower -> IR -> optimize -> target (local | datafusion | risingwave)

Heavy engines (pyarrow, datafusion, sqlglot) are imported only by the stage that needs them, so
`flowc check` stays fast.
"""

from __future__ import annotations

import os
import runpy

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.dsl import ast

TARGETS = ("local", "datafusion", "risingwave", "postgres")
RUN_TARGETS = ("local", "datafusion", "postgres")
DEPLOY_TARGETS = ("risingwave", "postgres")


def parse_text(text: str, file: str = "<input>") -> ast.Program:
    from flowc.dsl.parser import parse

    return parse(text, file)


def load_program(path: str) -> ast.Program:
    """Parse a .flow file, or run a Python file and take the Flow it defines."""
    if not os.path.exists(path):
        raise FlowError(Diagnostic(Code.IO, f"no such file: {path}", None,
                                   "give the path of a .flow file or of a Python file that defines a Flow"))
    if path.endswith(".py"):
        return _load_python(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise FlowError(Diagnostic(Code.IO, f"cannot read {path}: {e}", None)) from None
    return parse_text(text, path)


def _load_python(path: str) -> ast.Program:
    from flowc.dsl.builder import FlowBuilder

    namespace = runpy.run_path(path, run_name="__flowc__")
    flows = {k: v for k, v in namespace.items() if isinstance(v, FlowBuilder)}
    if not flows:
        raise FlowError(Diagnostic(Code.IO, f"{path} defines no flowc Flow", None,
                                   "create one at module level: `flow = fc.Flow()`"))
    if len(flows) > 1 and "flow" not in flows:
        raise FlowError(Diagnostic(Code.IO, f"{path} defines several Flows: {', '.join(flows)}", None,
                                   "name the one to use `flow`"))
    return (flows.get("flow") or next(iter(flows.values()))).program


def to_ir(program: ast.Program, optimize: bool = True, verify: bool = False) -> ir.Program:
    from flowc.compiler.optimizer import optimize as run_passes
    from flowc.dsl.lower import lower

    lowered = lower(program)
    return run_passes(lowered, verify=verify) if optimize else lowered


def check_target(program: ir.Program, target: str) -> list[Diagnostic]:
    """Compile for a target only to surface its errors; returns its warnings."""
    if target == "risingwave":
        from flowc.targets.risingwave import compile_risingwave_with_warnings

        _, warnings = compile_risingwave_with_warnings(program)
        return list(warnings)
    if target == "datafusion":
        compile_target(program, target)
        return []
    if target == "local":
        from flowc.targets.local import compile_local

        compile_local(program, batch_size=1024)
        return []
    if target == "postgres":
        from flowc.targets.postgres import compile_postgres

        compile_postgres(program)
        return []
    raise _unknown_target(target, TARGETS)


def compile_target(program: ir.Program, target: str) -> str:
    if target == "risingwave":
        from flowc.targets.risingwave import risingwave_sql

        return risingwave_sql(program)
    if target == "datafusion":
        from flowc.targets.datafusion import datafusion_sql

        return datafusion_sql(program)
    if target == "postgres":
        from flowc.targets.postgres import postgres_sql

        return postgres_sql(program)
    raise _unknown_target(target, ("risingwave", "datafusion", "postgres"))


def run(program: ir.Program, target: str = "local", batch_size: int = 10_000, collect: bool = False,
        dsn: str | None = None):
    if target == "local":
        from flowc.targets.local import run_local

        return run_local(program, batch_size=batch_size, collect=collect)
    if target == "datafusion":
        from flowc.targets.datafusion import run_datafusion

        return run_datafusion(program, collect=collect)
    if target == "postgres":
        from flowc.targets.postgres import run_postgres

        return run_postgres(program, dsn=dsn, collect=collect)
    raise _unknown_target(target, RUN_TARGETS)


def deploy(program: ir.Program, target: str, dsn: str | None = None, dry_run: bool = False,
           name: str | None = None):
    """`flowc deploy`: create the program's objects on a RisingWave or PostgreSQL server."""
    if target not in DEPLOY_TARGETS:
        raise _unknown_target(target, DEPLOY_TARGETS)
    from flowc.targets.postgres.deploy import deploy as run_deploy

    return run_deploy(program, target, dsn, dry_run=dry_run, name=name)


def explain(program: ast.Program, stage: str) -> str:
    from flowc.compiler.printer import format_program

    if stage == "ast":
        from flowc.dsl.printer import format_ast

        return format_ast(program)
    if stage == "ir":
        return format_program(to_ir(program, optimize=False))
    optimized = to_ir(program)
    if stage == "optimized":
        return format_program(optimized)
    if stage == "local":
        from flowc.targets.local import explain_local

        return explain_local(optimized)
    if stage == "datafusion":
        from flowc.targets.datafusion import explain_datafusion

        return explain_datafusion(optimized)
    if stage in ("risingwave", "postgres"):
        return compile_target(optimized, stage)
    raise _unknown_target(stage, ("ast", "ir", "optimized") + TARGETS, what="stage")


def _unknown_target(name: str, known, what: str = "target") -> FlowError:
    return FlowError(Diagnostic(Code.BAD_ARGUMENT, f"unknown {what} '{name}'", None,
                                f"{what}s: {', '.join(known)}"))
