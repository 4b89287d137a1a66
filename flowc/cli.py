"""The `flowc` command line.

Exit codes: 0 ok, 1 user error (bad program, bad input data, unsupported on the target),
2 internal error (a bug in flowc; set FLOWC_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from flowc.compiler.diagnostics import FlowError

EXIT_OK, EXIT_USER, EXIT_INTERNAL = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowc", description="Compile and run .flow dataflow programs.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="parse and type-check; report every error")
    c.add_argument("file")
    c.add_argument("--target", choices=("local", "datafusion", "risingwave", "postgres"),
                   help="also check what this target can express")

    c = sub.add_parser("compile", help="print the program compiled for a target")
    c.add_argument("file")
    c.add_argument("--target", "-t", required=True, choices=("risingwave", "datafusion", "postgres"))
    c.add_argument("-o", "--output", help="write to this file instead of standard output")

    c = sub.add_parser("run", help="run the program over its inputs and write its sinks")
    c.add_argument("file")
    c.add_argument("--target", "-t", default="local", choices=("local", "datafusion", "postgres"))
    c.add_argument("--batch-size", type=int, default=10_000, help="rows per batch (local target)")
    c.add_argument("--quiet", "-q", action="store_true", help="no summary")
    c.add_argument("--dsn", help="PostgreSQL to run on (target postgres; default $FLOWC_PG_DSN, "
                                 "then the local server)")

    c = sub.add_parser("deploy", help="create the program's objects on a RisingWave or PostgreSQL server")
    c.add_argument("file")
    c.add_argument("--target", "-t", required=True, choices=("risingwave", "postgres"))
    c.add_argument("--dsn", help="the server (default $FLOWC_RISINGWAVE_DSN or $FLOWC_PG_DSN)")
    c.add_argument("--dry-run", action="store_true", help="print the plan only")
    c.add_argument("--name", help="the deployment's name in the catalog (default: the program's name)")

    c = sub.add_parser("explain", help="show a stage of compilation")
    c.add_argument("file")
    c.add_argument("--stage", default="optimized",
                   choices=("ast", "ir", "optimized", "local", "datafusion", "risingwave", "postgres"))

    c = sub.add_parser("graph", help="draw the dataflow graph")
    c.add_argument("file")
    c.add_argument("--format", default="mermaid", choices=("mermaid", "dot"))

    c = sub.add_parser("fmt", help="rewrite a .flow file in canonical form (a .py Flow is printed as .flow)")
    c.add_argument("file")
    c.add_argument("--check", action="store_true", help="change nothing; exit 1 if the file is not canonical")
    c.add_argument("--stdout", action="store_true", help="print the result instead of rewriting the file")

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
        return COMMANDS[args.command](args)
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

    if args.batch_size <= 0:
        print("flowc: --batch-size must be positive", file=sys.stderr)
        return EXIT_USER
    if args.dsn and args.target != "postgres":
        print("flowc: --dsn applies to --target postgres only", file=sys.stderr)
        return EXIT_USER
    result = pipeline.run(pipeline.to_ir(pipeline.load_program(args.file)), args.target, args.batch_size,
                          dsn=args.dsn)
    if not args.quiet:
        print(result.summary(), file=sys.stderr)
    return EXIT_OK


def _deploy(args) -> int:
    from flowc import pipeline

    pipeline.deploy(pipeline.to_ir(pipeline.load_program(args.file)), args.target, args.dsn,
                    dry_run=args.dry_run, name=args.name)
    return EXIT_OK


def _explain(args) -> int:
    from flowc import pipeline

    print(pipeline.explain(pipeline.load_program(args.file), args.stage))
    return EXIT_OK


def _graph(args) -> int:
    from flowc import pipeline
    from flowc.graph import to_dot, to_mermaid

    program = pipeline.to_ir(pipeline.load_program(args.file))
    print(to_mermaid(program) if args.format == "mermaid" else to_dot(program))
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


def _demo(args) -> int:
    from flowc.demo import run_demo

    return run_demo(args.example, args.dir)


COMMANDS = {"fmt": _fmt, "check": _check, "compile": _compile, "run": _run, "deploy": _deploy, "explain": _explain,
            "graph": _graph, "demo": _demo}


if __name__ == "__main__":
    sys.exit(main())
