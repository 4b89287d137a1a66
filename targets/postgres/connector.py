"""The `postgres(...)` connector for the local and DataFusion targets: arguments, DSN, errors.

The reading and writing is `flowc.runtime.postgres_io`; this module resolves what the program says
into it and turns its failures into FlowErrors with the connector's span and no password:

    postgres(table = 'bids', order_by = 'id')            a source, in `id` order
    postgres(query = 'SELECT ...', order_by = 'id')      a source over a query
    postgres(table = 'totals', key = 'channel')          a sink kept as the view's current contents
    postgres(table = 'events')                           a sink that appends
    dsn = 'postgresql://u@h/db' | env('PG_DSN')          else $FLOWC_PG_DSN, else the local server
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.runtime import io
from flowc.runtime import postgres_io as pgio

from .connect import Secrets, connect, resolve_dsn

DSN_ENV = "FLOWC_PG_DSN"
KIND = "postgres"


@dataclass(frozen=True)
class PgArgs:
    """A postgres connector's resolved arguments."""

    dsn: str
    table: str | None
    query: str | None
    order_by: tuple[str, ...] | None
    key: tuple[str, ...] | None
    span: object = None

    @property
    def secrets(self) -> Secrets:
        return Secrets.of(self.dsn)

    def connector(self) -> Callable[[], object]:
        return lambda: connect(self.dsn, "PostgreSQL")

    def describe(self) -> str:
        return f"postgres table {self.table}" if self.table is not None else "postgres query"


def _bad(msg: str, span, hint: str | None = None) -> FlowError:
    return FlowError(Diagnostic(Code.BAD_ARGUMENT, msg, span, hint))


def _text(c: ir.Connector, name: str) -> str | None:
    value = c.get(name)
    if value is None:
        return None
    if isinstance(value, ir.Env):
        if value.name not in os.environ:
            raise _bad(f"postgres: argument '{name}' reads env('{value.name}'), which is not set", c.span,
                       f"export {value.name}=...")
        return os.environ[value.name]
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"postgres: argument '{name}' must be a non-empty string", c.span)
    return value


def _columns(c: ir.Connector, name: str) -> tuple[str, ...] | None:
    text = _text(c, name)
    if text is None:
        return None
    try:
        return tuple(pgio.column_list(text))
    except pgio.PostgresIOError as e:
        raise _bad(f"postgres: argument '{name}': {e}", c.span) from None


def parse_args(c: ir.Connector, role: str) -> PgArgs:
    """Validate a postgres connector for `role` ("source", "table" or "sink"); raises FlowError."""
    table, query = _text(c, "table"), _text(c, "query")
    order_by, key = _columns(c, "order_by"), _columns(c, "key")
    if role == "sink":
        if table is None:
            raise _bad("a postgres sink needs table = '...'", c.span, "e.g. postgres(table = 'totals', key = 'id')")
        for name, v in (("query", query), ("order_by", order_by)):
            if v is not None:
                raise _bad(f"a postgres sink takes no '{name}'", c.span, "sinks take table, key and dsn")
    else:
        if (table is None) == (query is None):
            raise _bad("a postgres source needs exactly one of table = '...' or query = '...'", c.span)
        if key is not None:
            raise _bad("a postgres source takes no 'key'", c.span, "the arrival order is order_by")
    if table is not None:
        try:
            pgio.table_name(table)
        except pgio.PostgresIOError as e:
            raise _bad(f"postgres: {e}", c.span) from None
    dsn = resolve_dsn(_text(c, "dsn"), DSN_ENV)
    return PgArgs(dsn, table, query, order_by, key, c.span)


def _io_error(args: PgArgs, role: str, e: Exception) -> FlowError:
    return FlowError(Diagnostic(Code.IO, args.secrets.redact(f"postgres {role} ({args.describe()}): {e}"),
                                args.span, "see docs/postgres.md, 'The postgres connector'"))


def open_source(c: ir.Connector, schema: pa.Schema, role: str = "source") -> Callable[[int], Iterator[pa.RecordBatch]]:
    """`open(batch_size)` for a SourceNode: the rows in arrival order, in batches of batch_size.
    A `table` (role "table") needs no order: without order_by it is read in whatever order."""
    args = parse_args(c, role)

    def open_batches(batch_size: int) -> Iterator[pa.RecordBatch]:
        try:
            yield from pgio.read_batches(args.connector(), schema, batch_size, table=args.table, query=args.query,
                                         order_by=args.order_by, redact=args.secrets.redact,
                                         ordered=role != "table")
        except pgio.PostgresIOError as e:
            raise _io_error(args, "source", e) from None

    return open_batches


def read_table(c: ir.Connector, schema: pa.Schema, role: str = "source") -> pa.Table:
    """All the rows at once, in arrival order (the DataFusion target's input)."""
    return pa.Table.from_batches(list(open_source(c, schema, role)(1 << 20)), schema)


class _GuardedWriter(io.Writer):
    """A PostgresWriter whose failures are FlowErrors naming the sink (redacted)."""

    def __init__(self, args: PgArgs, schema: pa.Schema):
        super().__init__(schema)
        self.args = args
        try:
            self.inner = pgio.PostgresWriter(args.connector(), args.table, schema, args.key,
                                             redact=args.secrets.redact)
        except pgio.PostgresIOError as e:
            raise _io_error(args, "sink", e) from None

    def _write(self, batch: pa.RecordBatch) -> None:
        try:
            self.inner.write(batch)
        except pgio.PostgresIOError as e:
            raise _io_error(self.args, "sink", e) from None

    def _close(self) -> None:
        try:
            self.inner.close()
        except pgio.PostgresIOError as e:
            raise _io_error(self.args, "sink", e) from None

    def _abort(self) -> None:
        self.inner.abort()


def open_sink(c: ir.Connector, schema: pa.Schema) -> io.Writer:
    """A writer for a postgres sink (`schema` may start with `_op`). Connects and creates the table now."""
    return _GuardedWriter(parse_args(c, "sink"), schema)


def write_table(c: ir.Connector, table: pa.Table) -> None:
    """Write a whole result (the DataFusion target's sinks), in one transaction."""
    with open_sink(c, table.schema) as w:
        for batch in table.to_batches():
            w.write(batch)


__all__ = ["parse_args", "open_source", "read_table", "open_sink", "write_table", "PgArgs", "DSN_ENV"]
