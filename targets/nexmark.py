"""The `nexmark(...)` source on the local and DataFusion targets: the connector's arguments checked and
turned into a `runtime.nexmark.NexmarkConfig`, and the declared columns generated.

A source declares the Nexmark columns it reads (any subset, any order); only those are generated, so
`source bid (auction bigint, price bigint, date_time timestamp) from nexmark(table = 'bid')` never
pays for the 100-byte `extra` strings. Batch targets materialize the same events first
(`read_table`); the local runtime streams them (`open_batches`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.runtime import nexmark as gen

from .arrow_types import arrow_schema
from .base import resolve_env


def _bad(c: ir.Connector, message: str, hint: str | None = None) -> FlowError:
    return FlowError(Diagnostic(Code.BAD_ARGUMENT, message, c.span, hint))


def _int(c: ir.Connector, key: str, default: int, minimum: int) -> int:
    v = resolve_env(c.get(key, default))
    if v == "":  # env('NAME') of an unset variable: the default
        v = default
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise _bad(c, f"nexmark argument '{key}' must be an integer, not {v!r}") from None
    if isinstance(v, float) and v != n:
        raise _bad(c, f"nexmark argument '{key}' must be an integer, not {v!r}")
    if n < minimum:
        raise _bad(c, f"nexmark argument '{key}' must be at least {minimum}, not {n}")
    return n


def config(c: ir.Connector) -> gen.NexmarkConfig:
    """The generator's configuration from the connector's arguments (FlowError on a bad value)."""
    rate_v = resolve_env(c.get("rate", 0))
    rate_v = 0 if rate_v == "" else rate_v
    try:
        rate = float(rate_v)
    except (TypeError, ValueError):
        raise _bad(c, f"nexmark argument 'rate' must be a number of events per second, not {rate_v!r}") from None
    if rate < 0:
        raise _bad(c, "nexmark argument 'rate' must be >= 0 (0: as fast as possible)")
    return gen.NexmarkConfig(events=_int(c, "events", gen.DEFAULT_EVENTS, 0), seed=_int(c, "seed", 0, 0),
                             rate=rate, max_delay=_int(c, "max_delay", 0, 0))


def table_of(c: ir.Connector) -> str:
    table = str(resolve_env(c.get("table", ""))).lower()
    if table not in gen.COLUMNS:
        raise _bad(c, f"nexmark table must be one of {', '.join(gen.TABLES)}, not {table!r}",
                   "write nexmark(table = 'bid'), 'auction' or 'person'")
    return table


def check_source(s: ir.Source) -> tuple[str, gen.NexmarkConfig, pa.Schema]:
    """(table, config, Arrow schema of the declared columns); FlowError naming a column the table
    lacks or a type the generated values cannot be read as."""
    c = s.connector
    table = table_of(c)
    cfg = config(c)
    full = gen.COLUMNS[table]
    schema = arrow_schema(s.schema)
    for f in schema:
        if f.name not in full.names:
            raise FlowError(Diagnostic(Code.BAD_CONNECTOR, f"nexmark table '{table}' has no column '{f.name}'",
                                       s.span, f"columns of {table}: {', '.join(full.names)}"))
        have = full.field(f.name).type
        if have != f.type and not _castable(have, f.type):
            raise FlowError(Diagnostic(Code.BAD_CONNECTOR,
                                       f"nexmark column '{table}.{f.name}' is {have}, which cannot be read as "
                                       f"{f.type}", s.span, "declare it bigint, string or timestamp as generated"))
    return table, cfg, schema


def _castable(have: pa.DataType, want: pa.DataType) -> bool:
    if pa.types.is_timestamp(have):
        return pa.types.is_timestamp(want)
    if pa.types.is_integer(have):
        return pa.types.is_integer(want) or pa.types.is_floating(want) or pa.types.is_decimal(want) \
            or pa.types.is_string(want)
    return pa.types.is_string(want) or pa.types.is_binary(want)


def open_batches(s: ir.Source, columns: list[str] | None = None) -> Callable[[int], Iterator[pa.RecordBatch]]:
    """For the local runtime's SourceNode.open: batches of exactly batch_size rows of the declared
    schema (or of its `columns`), in arrival order, generated as they are pulled."""
    table, cfg, schema = check_source(s)
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])

    def open_source(batch_size: int) -> Iterator[pa.RecordBatch]:
        return gen.read_batches(table, schema, batch_size, cfg)

    return open_source


def read_table(s: ir.Source) -> pa.Table:
    """All the source's rows, materialized (batch targets): the same rows, in the same order, as
    the local runtime streams."""
    table, cfg, schema = check_source(s)
    return pa.Table.from_batches(list(gen.read_batches(table, schema, 1 << 20, cfg, pace=False)), schema)


__all__ = ["config", "check_source", "open_batches", "read_table", "table_of"]
