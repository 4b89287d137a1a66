"""The compile pipeline as named stages, shared by the CLI and the Python API.

    load (.flow or .py) -> AST -> lower -> IR -> optimize -> target (flowc.targets.registry)

Heavy engines (pyarrow, datafusion, sqlglot) are imported only by the stage that needs them, so
`flowc check` stays fast.
"""

from __future__ import annotations

import os
import runpy

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.dsl import ast
from flowc.targets import registry


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

    namespace = _run_python(path)
    flows = {k: v for k, v in namespace.items() if isinstance(v, FlowBuilder)}
    if not flows:
        raise FlowError(Diagnostic(Code.IO, f"{path} defines no flowc Flow", None,
                                   "create one at module level: `flow = fc.Flow()`"))
    if len(flows) > 1 and "flow" not in flows:
        raise FlowError(Diagnostic(Code.IO, f"{path} defines several Flows: {', '.join(flows)}", None,
                                   "name the one to use `flow`"))
    return (flows.get("flow") or next(iter(flows.values()))).program


def _run_python(path: str) -> dict:
    """Run the user's Python file; its own errors (a SyntaxError, an ImportError, an exception its code
    raises) are diagnostics at its file and line, as Python would show them, not flowc's."""
    import traceback

    from flowc.compiler.span import Span

    try:
        return runpy.run_path(path, run_name="__flowc__")
    except FlowError:
        raise
    except SyntaxError as e:
        line = e.lineno or 1
        col = e.offset or 1
        end = e.end_offset if e.end_lineno == e.lineno and e.end_offset and e.end_offset > col else col + 1
        raise FlowError(Diagnostic(Code.SYNTAX, f"Python {type(e).__name__}: {e.msg}", Span(e.filename or path, line,
                                   col, line, end), "fix the Python file: flowc runs it to build the Flow")) from None
    except Exception as e:  # noqa: BLE001 - the user's code raised: show where, in their file
        frames = [f for f in traceback.extract_tb(e.__traceback__) if os.path.abspath(f.filename) ==
                  os.path.abspath(path)]
        where = frames[-1] if frames else None
        span = Span(path, where.lineno or 1, (where.colno or 0) + 1, where.end_lineno or where.lineno or 1,
                    (where.end_colno or where.colno or 0) + 1) if where is not None else None
        stack = traceback.extract_tb(e.__traceback__)
        first = next((i for i, f in enumerate(stack) if os.path.abspath(f.filename) == os.path.abspath(path)), 0)
        notes = tuple(f"{f.filename}:{f.lineno} in {f.name}" for f in stack[first:][1:])  # the calls it made
        hint = ("install it, or check the module's name" if isinstance(e, ImportError)
                else "fix the Python file: flowc runs it to build the Flow")
        raise FlowError(Diagnostic(Code.IO, f"the Python file raised {type(e).__name__}: {e}", span, hint,
                                   notes=notes)) from None


def to_ir(program: ast.Program, optimize: bool = True, verify: bool = False) -> ir.Program:
    from flowc.compiler.optimizer import optimize as run_passes
    from flowc.dsl.lower import lower

    lowered = lower(program)
    return run_passes(lowered, verify=verify) if optimize else lowered


def check_target(program: ir.Program, target: str) -> list[Diagnostic]:
    """Compile for a target only to surface its errors; returns its warnings."""
    return registry.get(target).check(program)


def compile_target(program: ir.Program, target: str) -> str:
    return registry.get(target, "compile").compile(program)


def run(program: ir.Program, target: str = "local", batch_size: int = 10_000, collect: bool = False,
        dsn: str | None = None, jobmanager: str | None = None, parallelism: int | None = None,
        max_state_rows: int | None = None):
    options = registry.RunOptions(batch_size=batch_size, collect=collect, dsn=dsn, jobmanager=jobmanager,
                                  parallelism=parallelism, max_state_rows=max_state_rows)
    return registry.get(target, "run").run(program, options)


def deploy(program: ir.Program, target: str, dsn: str | None = None, dry_run: bool = False,
           name: str | None = None, jobmanager: str | None = None, allow_data_loss: bool = False,
           schema: str | None = None):
    """`flowc deploy`: create the program's objects (or jobs) on a server."""
    options = registry.DeployOptions(dsn=dsn, jobmanager=jobmanager, dry_run=dry_run, name=name,
                                     allow_data_loss=allow_data_loss, schema=schema)
    return registry.get(target, "deploy").deploy(program, options)


def explain(program: ast.Program, stage: str) -> str:
    from flowc.compiler.printer import format_program

    if stage == "ast":
        from flowc.dsl.printer import format_ast

        return format_ast(program)
    if stage == "ir":
        return format_program(to_ir(program, optimize=False))
    if stage == "optimized":
        return format_program(to_ir(program))
    if stage not in registry.names("explain"):
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"unknown stage '{stage}'", None,
                                   f"stages: {', '.join(STAGES)}"))
    return registry.get(stage).explain(to_ir(program))


# `flowc explain --stage`: the front end's and optimizer's stages, then every target's
STAGES = ("ast", "ir", "optimized") + registry.names("explain")
