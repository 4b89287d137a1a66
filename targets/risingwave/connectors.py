"""flowc connectors -> RisingWave `WITH (...)` options and `FORMAT ... ENCODE ...` clauses.

What RisingWave accepts was read from its source (see docs/risingwave.md for the references):
- file sources: `connector = 'posix_fs'` (`posix_fs.root` = a directory, `match_pattern` = a glob
  under it) with FORMAT PLAIN ENCODE CSV | JSON | PARQUET (frontend `create_source/validate.rs`);
- file sinks: `connector = 'fs'` (`fs.path` = a directory, `type = 'append-only'`) with FORMAT PLAIN
  ENCODE PARQUET | JSON only: there is no CSV encoder for file sinks (`create_sink.rs`);
- kafka sources: PLAIN JSON | CSV (| AVRO | PROTOBUF | BYTES); kafka sinks: PLAIN | UPSERT JSON,
  DEBEZIUM JSON;
- nexmark: the built-in generator, no FORMAT.
Anything else raises UnsupportedFeature with code CONNECTOR_TARGET, naming connector and target.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from flowc.targets.base import resolve_env, resolve_path

TARGET = "risingwave"

FILE_SOURCE_ENCODE = {"csv": "CSV", "jsonl": "JSON", "parquet": "PARQUET"}
FILE_SINK_ENCODE = {"jsonl": "JSON", "parquet": "PARQUET"}  # no CSV encoder for RisingWave file sinks
KAFKA_SOURCE_ENCODE = {"json": "JSON", "csv": "CSV"}
NEXMARK_TABLES = {"bid": "Bid", "auction": "Auction", "person": "Person"}
KAFKA_START = {"earliest": "earliest", "latest": "latest"}


@dataclass
class ConnectorSQL:
    """The pieces of a CREATE SOURCE/TABLE/SINK that depend on the connector."""

    options: list[tuple[str, str]]  # WITH (k = 'v', ...) in this order
    format: tuple[str, str, list[tuple[str, str]]] | None = None  # FORMAT f ENCODE e (opts)
    notes: list[str] = field(default_factory=list)  # known differences, reported as warnings


def _unsupported(c: ir.Connector, hint: str) -> UnsupportedFeature:
    return UnsupportedFeature(f"connector '{c.kind}'", TARGET, c.span, hint, code=Code.CONNECTOR_TARGET)


def _arg(c: ir.Connector, key: str, default: object = None) -> object:
    """The argument's value; an `env('NAME')` that is unset counts as not given."""
    value = resolve_env(c.get(key, default))
    return default if value == "" and isinstance(c.get(key), ir.Env) else value


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def source_connector(program: ir.Program, c: ir.Connector) -> ConnectorSQL:
    """For CREATE SOURCE and CREATE TABLE."""
    if c.kind in FILE_SOURCE_ENCODE:
        path = resolve_path(program, str(_arg(c, "path")))
        # posix_fs lists files under a root directory and keeps those matching a glob; escape glob
        # characters of the file name so that exactly this file matches.
        options = [("connector", "posix_fs"), ("posix_fs.root", os.path.dirname(path) or "/"),
                   ("match_pattern", glob.escape(os.path.basename(path)))]
        encode_opts: list[tuple[str, str]] = []
        if c.kind == "csv":
            header = _arg(c, "header", True)
            encode_opts = [("without_header", "false" if header not in (False, "false") else "true"),
                           ("delimiter", _text(_arg(c, "delimiter", ",")))]
        notes = ["posix_fs reads the file from each compute node's local disk (RisingWave documents it "
                 "for testing); on a multi-node cluster place the file on every node or use s3/gcs"]
        return ConnectorSQL(options, ("PLAIN", FILE_SOURCE_ENCODE[c.kind], encode_opts), notes)
    if c.kind == "kafka":
        fmt = str(_arg(c, "format", "json")).lower()
        if fmt not in KAFKA_SOURCE_ENCODE:
            raise _unsupported(c, f"kafka format '{fmt}' has no schema-less RisingWave decoder; "
                                  f"use one of {', '.join(KAFKA_SOURCE_ENCODE)}")
        options = [("connector", "kafka"), ("topic", _text(_arg(c, "topic"))),
                   ("properties.bootstrap.server", _text(_arg(c, "brokers")))]
        start = _arg(c, "start")
        if start is not None:
            mode = KAFKA_START.get(str(start).lower())
            if mode is None:
                raise _unsupported(c, f"kafka start '{start}': RisingWave knows scan.startup.mode "
                                      "'earliest' or 'latest'")
            options.append(("scan.startup.mode", mode))
        group = _arg(c, "group")
        if group is not None:
            options.append(("group.id.prefix", _text(group)))
        encode_opts: list[tuple[str, str]] = []
        if fmt == "csv":
            # a message is one row, without a header; RisingWave's CSV parser needs both options
            # spelled out (e2e_test/source_legacy/basic/kafka.slt: `ENCODE CSV (delimiter = ',',
            # without_header = 'true')`)
            encode_opts = [("delimiter", _text(_arg(c, "delimiter", ","))), ("without_header", "true")]
        return ConnectorSQL(options, ("PLAIN", KAFKA_SOURCE_ENCODE[fmt], encode_opts))
    if c.kind == "nexmark":
        table = str(_arg(c, "table", "")).lower()
        if table not in NEXMARK_TABLES:
            raise _unsupported(c, f"nexmark table must be one of {', '.join(NEXMARK_TABLES)}")
        options = [("connector", "nexmark"), ("nexmark.table.type", NEXMARK_TABLES[table])]
        events = _arg(c, "events")
        if events is not None:
            options.append(("nexmark.event.num", _text(events)))
        rate = _arg(c, "rate")
        if rate is not None and not (isinstance(rate, int | float) and rate > 0):
            raise _unsupported(c, f"nexmark rate {rate!r}: RisingWave paces its generator by the gap between "
                                  "events, so the rate must be a positive number of events per second")
        if rate is not None:
            # RisingWave paces its generator by the minimum gap between two events
            options.append(("nexmark.min.event.gap.in.ns", str(max(int(round(1e9 / float(rate))), 0))))
        notes = ["RisingWave's built-in Nexmark generator produces different rows than flowc's "
                 "(seed and max_delay have no RisingWave equivalent)"]
        return ConnectorSQL(options, None, notes)
    if c.kind == "postgres":
        raise _unsupported(c, "reading PostgreSQL on RisingWave needs a postgres-cdc source "
                              "(CREATE SOURCE ... WITH (connector = 'postgres-cdc') + CREATE TABLE ... FROM); "
                              "not generated yet")
    raise _unsupported(c, "RisingWave cannot read from it")


def sink_connector(program: ir.Program, c: ir.Connector, append_only: bool,
                   keys: tuple[str, ...] | None) -> ConnectorSQL:
    """For CREATE SINK. `append_only`: the sunk relation never retracts; `keys`: its unique key when
    it is a changelog (needed by UPSERT/DEBEZIUM formats)."""
    if c.kind in FILE_SINK_ENCODE:
        assert append_only, "rules.py (sink-changelog) refuses a changelog into a file sink"
        path = resolve_path(program, str(_arg(c, "path")))
        # The fs sink writes files named by RisingWave into a directory; a directory per sink (the
        # path without its extension) keeps two sinks from mixing their files.
        directory = os.path.splitext(path)[0]
        options = [("connector", "fs"), ("fs.path", directory), ("type", "append-only")]
        notes = [f"RisingWave writes the rows as several {FILE_SINK_ENCODE[c.kind]} files inside the "
                 f"directory {directory}, not as the single file {path}"]
        return ConnectorSQL(options, ("PLAIN", FILE_SINK_ENCODE[c.kind], []), notes)
    if c.kind == "csv":
        raise _unsupported(c, "RisingWave file sinks (connector 'fs', 's3', ...) encode only JSON or "
                              "PARQUET; sink into jsonl(...) or parquet(...) instead")
    if c.kind == "stdout":
        raise _unsupported(c, "RisingWave has no console sink: query the materialized view "
                              "(SELECT * FROM <view>), or use connector 'blackhole' to discard rows")
    if c.kind == "kafka":
        fmt = str(_arg(c, "format", "json")).lower()
        if fmt != "json":
            raise _unsupported(c, f"kafka sinks on RisingWave encode JSON, AVRO or PROTOBUF, not '{fmt}'")
        options = [("connector", "kafka"), ("topic", _text(_arg(c, "topic"))),
                   ("properties.bootstrap.server", _text(_arg(c, "brokers")))]
        if append_only:
            return ConnectorSQL(options, ("PLAIN", "JSON", []))
        assert keys, "rules.py (sink-changelog) refuses a keyless changelog into kafka"
        options.append(("primary_key", ",".join(keys)))
        return ConnectorSQL(options, ("DEBEZIUM", "JSON", []),
                            ["the changelog is written as Debezium JSON (before/after), not as _op rows"])
    if c.kind == "postgres":
        raise _unsupported(c, "a PostgreSQL sink is not generated for RisingWave yet")
    raise _unsupported(c, "RisingWave cannot write to it")
