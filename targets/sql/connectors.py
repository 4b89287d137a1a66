"""Which connectors a SQL target runs over, and reading and writing the file connectors for a run.

Batch targets read every input whole before running and write every output after, through the
local runtime's readers and writers, which parse files to exactly the IR's Arrow types.
"""

from __future__ import annotations

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError, UnsupportedFeature
from flowc.targets.arrow_types import arrow_schema
from flowc.targets.base import resolve_env, resolve_path

FILE_CONNECTORS = ("csv", "jsonl", "parquet")


def check_connector(c: ir.Connector, what: str, allowed: tuple[str, ...], target: str, runs_over: str) -> None:
    """Refuse a connector kind the target cannot run; `runs_over` says what it can, for the hint."""
    if c.kind not in allowed:
        raise UnsupportedFeature(f"the {c.kind} connector ({what})", target, c.span,
                                 hint=f"{runs_over}: use one of {', '.join(allowed)}",
                                 code=Code.CONNECTOR_TARGET)


def read_file(program: ir.Program, io, what: ir.Source | ir.Table, options: dict | None,
              fail_hint: str | None, skip_hint: str | None) -> pa.Table:
    """The rows of a file connector with the exact Arrow schema. A bad record fails the read with
    `fail_hint` under `on_error fail`, else with `skip_hint` (why the policy could not apply)."""
    from flowc.runtime.errors import FileFormatError, RecordError

    c = what.connector
    path = resolve_path(program, str(resolve_env(c.get("path"))))
    if c.get("delimiter") is not None:
        options = {**(options or {}), "delimiter": str(resolve_env(c.get("delimiter")))}
    try:
        return io.read_table(c.kind, path, arrow_schema(what.schema), options)
    except FileNotFoundError:
        raise FlowError(Diagnostic(Code.IO, f"no such file: {path}", c.span,
                                   f"the path is relative to {program.base_dir}")) from None
    except FileFormatError as e:
        raise FlowError(Diagnostic(Code.IO, f"cannot read {path}: {e.reason}", c.span,
                                   f"'{what.name}' reads it as {c.kind}")) from None
    except OSError as e:
        raise FlowError(Diagnostic(Code.IO, f"cannot read {path}: {e}", c.span)) from None
    except RecordError as e:
        policy = getattr(what, "on_error", "fail")
        hint = fail_hint if policy == "fail" else skip_hint
        raise FlowError(Diagnostic(Code.BAD_RECORD, f"bad record in {e.describe()}", c.span, hint)) from None


def write_file(program: ir.Program, io, c: ir.Connector, table: pa.Table) -> None:
    """Write a whole result to a file (or stdout) connector."""
    path = c.get("path")
    path = resolve_path(program, str(resolve_env(path))) if path is not None else None
    try:
        with io.open_writer(c.kind, path, table.schema) as writer:
            for batch in table.to_batches():
                writer.write(batch)
    except OSError as e:
        raise FlowError(Diagnostic(Code.IO, f"cannot write {path}: {e}", c.span)) from None


def read_input(program: ir.Program, io, what: ir.Source | ir.Table, bad: list | None = None) -> pa.Table:
    """A connector's rows with the exact Arrow schema, read whole (the batch targets, and the Flink
    target's staged inputs). For a source with `on_error skip / into`, the runtime's lenient readers
    leave bad records out and append them (error schema batches) to `bad`, so the target sees the
    same good rows as the local one."""
    c = what.connector
    if c.kind == "nexmark":  # the generator's events, materialized (targets/nexmark.py)
        from flowc.targets import nexmark

        return nexmark.read_table(what)
    if c.kind == "postgres":  # a table or query in arrival order (targets/postgres/connector.py)
        from flowc.targets.postgres.connector import read_table as read_postgres

        if getattr(what, "on_error", "fail") != "fail":
            raise FlowError(Diagnostic(Code.UNSUPPORTED, "on_error skip / into with a postgres source", c.span,
                                       "PostgreSQL casts each column to its declared type; a bad value "
                                       "fails the read"))
        return read_postgres(c, arrow_schema(what.schema), "source" if isinstance(what, ir.Source) else "table")
    options: dict = {}
    policy = getattr(what, "on_error", "fail")
    if policy != "fail" and bad is not None:
        if isinstance(policy, ir.Connector):
            bad_record_schema(what)  # a column clash is a compile error, before any file is read
        options["on_error"] = bad.append
    return read_file(program, io, what, options,
                     fail_hint=f"fix the file, or check the declared schema of '{what.name}'",
                     skip_hint="a column missing from the file fails the read under every on_error policy")


def bad_record_schema(s: ir.Source) -> pa.Schema:
    """The schema `on_error into` writes (flowc.runtime.records.error_schema)."""
    from flowc.runtime.records import META, error_schema

    try:
        return error_schema(arrow_schema(s.schema))
    except ValueError as e:
        raise FlowError(Diagnostic(Code.BAD_CONNECTOR, f"source '{s.name}': {e}", s.span,
                                   f"rename the column, or use on_error skip; bad records carry "
                                   f"{', '.join(META)}")) from None


def write_output(program: ir.Program, io, c: ir.Connector, table: pa.Table) -> None:
    """Write a whole result to its connector (a file, stdout, or a PostgreSQL table)."""
    if c.kind == "postgres":  # one transaction (targets/postgres/connector.py)
        from flowc.targets.postgres.connector import write_table as write_postgres

        return write_postgres(c, table)
    write_file(program, io, c, table)
