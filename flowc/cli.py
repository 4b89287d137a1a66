"""The `flowc` command line.

Exit codes: 0 ok, 1 user error (bad program, bad input data, unsupported on the target),
2 internal error (a bug in flowc; set FLOWC_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import traceback

from flowc.compiler.diagnostics import Code, Diagnostic, FlowError, mask_secrets
from flowc.targets import registry

EXIT_OK, EXIT_USER, EXIT_INTERNAL = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowc", description="Compile and run .flow dataflow programs.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="parse and type-check; report every error")
    c.add_argument("file")
    c.add_argument("--target", choices=registry.names(),
                   help="also check what this target can express (its known differences as warnings)")

    c = sub.add_parser("compile", help="print the program compiled for a target")
    c.add_argument("file")
    c.add_argument("--target", "-t", required=True, choices=registry.names("compile"))
    c.add_argument("-o", "--output", help="write to this file instead of standard output")

    c = sub.add_parser("run", help="run the program over its inputs and write its sinks")
    c.add_argument("file")
    c.add_argument("--target", "-t", default="local", choices=registry.names("run"))
    c.add_argument("--batch-size", type=int, default=None, help="rows per batch (local target; default 10000)")
    c.add_argument("--quiet", "-q", action="store_true", help="no summary")
    c.add_argument("--dsn", help="PostgreSQL to run on (target postgres; default $FLOWC_PG_DSN, "
                                 "then the local server)")
    c.add_argument("--jobmanager", help="a running Flink cluster's REST address HOST:PORT (target flink; "
                                        "default $FLOWC_FLINK_JOBMANAGER, else a local cluster started "
                                        "for the run)")
    c.add_argument("--parallelism", type=int, help="parallelism of the Flink job (target flink; default 2)")
    c.add_argument("--max-state-rows", type=int, metavar="N",
                   help="stop the run when one operator keeps more than N rows of state (local target)")

    c = sub.add_parser("deploy", help="create the program's objects on a server, or its jobs on a cluster")
    c.add_argument("file")
    c.add_argument("--target", "-t", required=True, choices=registry.names("deploy"))
    c.add_argument("--dsn", help="the server (default $FLOWC_RISINGWAVE_DSN or $FLOWC_PG_DSN)")
    c.add_argument("--jobmanager", help="the Flink cluster's REST address HOST:PORT (target flink; "
                                        "default $FLOWC_FLINK_JOBMANAGER, then `flowc flink start`'s cluster)")
    c.add_argument("--dry-run", action="store_true", help="print the plan only")
    c.add_argument("--allow-data-loss", action="store_true", default=None,
                   help="apply a plan that drops tables holding loaded rows (postgres, risingwave)")
    c.add_argument("--name", help="the deployment's name in the catalog (default: the program's name)")
    c.add_argument("--schema", help="the schema the deployment's objects live in (postgres, risingwave; default: "
                                    "where it already lives, else its name)")

    c = sub.add_parser("explain", help="show a stage of compilation")
    c.add_argument("file")
    c.add_argument("--stage", default="optimized", choices=("ast", "ir", "optimized") + registry.names("explain"))

    c = sub.add_parser("graph", help="draw the dataflow graph")
    c.add_argument("file")
    c.add_argument("--format", default="mermaid", choices=("mermaid", "dot"))

    c = sub.add_parser("fmt", help="rewrite a .flow file in canonical form (a .py Flow is printed as .flow)")
    c.add_argument("file")
    c.add_argument("--check", action="store_true", help="change nothing; exit 1 if the file is not canonical")
    c.add_argument("--stdout", action="store_true", help="print the result instead of rewriting the file")

    c = sub.add_parser("flink", help="manage a local standalone Flink cluster (loopback only) for runs and deploys")
    fl = c.add_subparsers(dest="flink_command", metavar="ACTION", required=True)
    f = fl.add_parser("start", help="start a JobManager and TaskManagers on 127.0.0.1")
    f.add_argument("--taskmanagers", type=int, default=2, help="TaskManagers to start (default 2)")
    f.add_argument("--slots", type=int, default=2, help="task slots per TaskManager (default 2)")
    f.add_argument("--port", type=int, help="the REST port (default 8081, or a free one if taken)")
    f.add_argument("--home", help="the cluster's folder: config, logs, pids (default $FLOWC_FLINK_HOME, "
                                  "then ~/.cache/flowc/flink)")
    f = fl.add_parser("stop", help="stop the cluster `flowc flink start` started")
    f.add_argument("--home", help="the cluster's folder (default as for start)")
    f = fl.add_parser("status", help="whether the cluster runs, its address, TaskManagers and jobs")
    f.add_argument("--home", help="the cluster's folder (default as for start)")

    c = sub.add_parser("demo", help="copy a bundled example into a folder and run it on the local runtime")
    c.add_argument("example", nargs="?", default="tumble")
    c.add_argument("--dir", default="flowc-demo", help="where to copy the example (default ./flowc-demo)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        from flowc import __version__

        print(f"flowc {__version__}")
        return EXIT_OK
    if not args.command:
        _parser().print_help()
        return EXIT_USER
    try:
        try:
            return COMMANDS[args.command](args)
        except RecursionError:
            return _deep(COMMANDS[args.command], args)
    except FlowError as e:
        for d in e.diagnostics:
            print(d.render(), file=sys.stderr)
        n = len([d for d in e.diagnostics if d.severity.value == "error"])
        if n > 1:
            print(f"{n} errors", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - the last line of defence: never a bare traceback for users
        if os.environ.get("FLOWC_DEBUG"):
            traceback.print_exc()
        print(f"flowc: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        print("this is a bug in flowc; rerun with FLOWC_DEBUG=1 for the traceback and report it",
              file=sys.stderr)
        return EXIT_INTERNAL


DEEP_STACK = 1 << 29  # bytes: a thread for programs nested deeper than Python's default stack allows
DEEP_RECURSION = 60_000


def _deep(command, args) -> int:
    """Run a command again in a thread with a large stack and recursion limit: an expression of
    hundreds of `or` terms or views nests the compilers that deep. Beyond that, a diagnostic."""
    import threading

    out: dict = {}

    def body() -> None:
        try:
            out["rc"] = command(args)
        except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
            out["error"] = e

    old_limit, old_size = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(DEEP_RECURSION)
    threading.stack_size(DEEP_STACK)
    try:
        t = threading.Thread(target=body, name="flowc-deep")
        t.start()
        t.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    error = out.get("error")
    if isinstance(error, RecursionError):
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, "the program nests too deeply to compile", None,
                                   "split long chains of `or`/`and`/`+` terms or of views into several "
                                   "`derive` stages or views")) from None
    if error is not None:
        raise error
    return out["rc"]


def _check(args) -> int:
    from flowc import pipeline
    from flowc.dsl.lower import lower_with_warnings

    program = pipeline.load_program(args.file)
    lowered, warnings = lower_with_warnings(program)
    from flowc.compiler.optimizer import optimize

    optimized = optimize(lowered)
    if args.target:
        warnings += pipeline.check_target(optimized, args.target)
    for w in warnings:
        print(w.render(), file=sys.stderr)
    print(f"{args.file}: ok ({len(lowered.sources)} sources, {len(lowered.tables)} tables, "
          f"{len(lowered.views)} views, {len(lowered.sinks)} sinks)")
    return EXIT_OK


def _compile(args) -> int:
    from flowc import pipeline

    text = pipeline.compile_target(pipeline.to_ir(pipeline.load_program(args.file)), args.target)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
    else:
        print(text)
    return EXIT_OK


def _run(args) -> int:
    from flowc import pipeline

    if args.batch_size is not None and args.batch_size <= 0:
        print("flowc: --batch-size must be positive", file=sys.stderr)
        return EXIT_USER
    if args.parallelism is not None and args.parallelism <= 0:
        print("flowc: --parallelism must be positive", file=sys.stderr)
        return EXIT_USER
    if args.max_state_rows is not None and args.max_state_rows <= 0:
        print("flowc: --max-state-rows must be positive", file=sys.stderr)
        return EXIT_USER
    if not _options_apply(args, "run", ("dsn", "jobmanager", "parallelism", "max_state_rows")):
        return EXIT_USER
    program = pipeline.to_ir(pipeline.load_program(args.file))
    files = [k for k in program.sinks if k.connector.kind in ("csv", "jsonl", "parquet")]
    kept = ("no file sink was written: each keeps its previous content (a sink's file is replaced only "
            "when a run completes)")
    try:
        result = pipeline.run(program, args.target, args.batch_size or 10_000, dsn=args.dsn,
                              jobmanager=args.jobmanager, parallelism=args.parallelism,
                              max_state_rows=args.max_state_rows)
    except FlowError as e:
        if files and args.target != "flink":  # Flink's filesystem sink commits its own part files
            first = dataclasses.replace(e.diagnostics[0], notes=(*e.diagnostics[0].notes, kept))
            raise FlowError([first, *e.diagnostics[1:]]) from None
        raise
    except KeyboardInterrupt:
        print(f"flowc run: interrupted{'; ' + kept if files and args.target != 'flink' else ''}", file=sys.stderr)
        return 130
    if not args.quiet:
        print(result.summary(), file=sys.stderr)
    return EXIT_OK


def _deploy(args) -> int:
    from flowc import pipeline

    if not _options_apply(args, "deploy", ("dsn", "jobmanager", "allow_data_loss", "schema")):
        return EXIT_USER
    pipeline.deploy(pipeline.to_ir(pipeline.load_program(args.file)), args.target, args.dsn,
                    dry_run=args.dry_run, name=args.name, jobmanager=args.jobmanager,
                    allow_data_loss=bool(args.allow_data_loss), schema=args.schema)
    return EXIT_OK


def _options_apply(args, command: str, options: tuple[str, ...]) -> bool:
    """Refuse an option the chosen target does not read (a `--dsn` for local would be ignored)."""
    target = registry.get(args.target)
    reads = target.run_options if command == "run" else target.deploy_options
    for opt in options:
        if getattr(args, opt) is not None and opt not in reads:
            users = [n for n in registry.names(command)
                     if opt in (registry.get(n).run_options if command == "run" else registry.get(n).deploy_options)]
            print(f"flowc: --{opt.replace('_', '-')} applies to --target {' or '.join(users)} only", file=sys.stderr)
            return False
    return True


def _explain(args) -> int:
    from flowc import pipeline

    print(mask_secrets(pipeline.explain(pipeline.load_program(args.file), args.stage)))
    return EXIT_OK


def _graph(args) -> int:
    from flowc import pipeline
    from flowc.graph import to_dot, to_mermaid

    program = pipeline.to_ir(pipeline.load_program(args.file))
    print(mask_secrets(to_mermaid(program) if args.format == "mermaid" else to_dot(program)))
    return EXIT_OK


def _fmt(args) -> int:
    from flowc import pipeline
    from flowc.dsl.formatter import format_program, format_source

    program = pipeline.load_program(args.file)
    if args.file.endswith(".py"):  # a Python Flow: print its .flow text
        print(format_program(program), end="")
        return EXIT_OK
    with open(args.file, encoding="utf-8") as f:
        original = f.read()
    formatted = format_source(program, original)
    if args.stdout:
        print(formatted, end="")
        return EXIT_OK
    if formatted == original:
        print(f"{args.file}: already formatted", file=sys.stderr)
        return EXIT_OK
    if args.check:
        print(f"{args.file}: would reformat", file=sys.stderr)
        return EXIT_USER
    with open(args.file, "w", encoding="utf-8") as f:
        f.write(formatted)
    print(f"{args.file}: reformatted", file=sys.stderr)
    return EXIT_OK


def _flink(args) -> int:
    from flowc.targets.flink.commands import flink_command

    return flink_command(args)


def _demo(args) -> int:
    from flowc.demo import run_demo

    return run_demo(args.example, args.dir)


COMMANDS = {"fmt": _fmt, "check": _check, "compile": _compile, "run": _run, "deploy": _deploy, "explain": _explain,
            "graph": _graph, "flink": _flink, "demo": _demo}


if __name__ == "__main__":
    sys.exit(main())
