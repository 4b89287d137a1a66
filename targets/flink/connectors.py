"""flowc connectors -> Flink table options (`WITH ('connector' = ..., ...)`), with what differs.

What Flink 2.3 accepts was read from its documentation (connectors/table/filesystem, formats/csv,
formats/json, formats/debezium, connectors/table/kafka, connectors/table/jdbc) and, for what the
PyPI wheel ships (filesystem with csv and json, datagen, print, blackhole), run here
(`../shared/reference/flink.md`). Connectors whose jars are Maven artifacts (kafka, jdbc, parquet,
nexmark) compile, with a warning that the jar must be added to the cluster; `flowc run --target
flink` reads and writes every connector with flowc's own readers and writers instead (runner.py).

Each function returns the options in order and the notes (known differences) that `flowc check
--target flink` reports as warnings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from flowc.targets.base import resolve_env, resolve_path

from .expressions import TARGET

NOT_SHIPPED = ("its connector jar is a Maven artifact that the apache-flink-libraries wheel does not ship: add "
               "{jar} to the cluster's lib/ folder")
KAFKA_START = {"earliest": "earliest-offset", "latest": "latest-offset"}


@dataclass
class Options:
    options: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)


def _arg(c: ir.Connector, key: str, default: object = None) -> object:
    value = resolve_env(c.get(key, default))
    return default if value == "" and isinstance(c.get(key), ir.Env) else value


def _text(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _unsupported(c: ir.Connector, hint: str) -> UnsupportedFeature:
    return UnsupportedFeature(f"connector '{c.kind}'", TARGET, c.span, hint, code=Code.CONNECTOR_TARGET)


def _jdbc_url(dsn: str) -> str:
    """A libpq DSN or URL as a JDBC URL (host, port and database only: credentials go to options)."""
    if dsn.startswith("postgres"):
        from urllib.parse import urlparse

        u = urlparse(dsn)
        return f"jdbc:postgresql://{u.hostname or 'localhost'}:{u.port or 5432}{u.path or '/postgres'}"
    parts = dict(p.split("=", 1) for p in dsn.split() if "=" in p)
    return (f"jdbc:postgresql://{parts.get('host', 'localhost')}:{parts.get('port', '5432')}/"
            f"{parts.get('dbname', 'postgres')}")


def source_options(program: ir.Program, c: ir.Connector, on_error: object = "fail") -> Options:
    """Options of a CREATE TABLE that reads connector c (a source or a table)."""
    if c.kind in ("csv", "jsonl", "parquet"):
        path = resolve_path(program, str(_arg(c, "path")))
        # absolute: the cluster's TaskManagers do not run in the program's folder
        opts = [("connector", "filesystem"), ("path", os.path.abspath(path))]
        notes: list[str] = []
        if c.kind == "csv":
            opts += [("format", "csv"), ("csv.null-literal", ""),
                     ("csv.field-delimiter", _text(_arg(c, "delimiter", ",")))]
            if on_error == "skip":
                opts.append(("csv.ignore-parse-errors", "true"))
            notes.append("Flink's csv format reads every line as a record: the file must have no header line "
                         "(`flowc run --target flink` reads it with flowc's reader, header and all)")
            notes.append("Flink's csv format reads an empty field and an empty quoted string \"\" alike, as "
                         "null (csv.null-literal = ''); flowc reads \"\" as the empty string")
        elif c.kind == "jsonl":
            opts += [("format", "json"), ("json.fail-on-missing-field", "false")]
            if on_error == "skip":
                opts.append(("json.ignore-parse-errors", "true"))
        else:
            opts.append(("format", "parquet"))
            notes.append("the parquet format " + NOT_SHIPPED.format(jar="flink-sql-parquet-2.3.0.jar"))
        if isinstance(on_error, ir.Connector):
            notes.append("Flink has no dead-letter output for bad records: on_error into receives nothing and "
                         "a bad record fails the job")
        return Options(opts, notes)
    if c.kind == "kafka":
        fmt = str(_arg(c, "format", "json")).lower()
        if fmt not in ("json", "csv"):
            raise _unsupported(c, f"kafka format '{fmt}': use json or csv")
        opts = [("connector", "kafka"), ("topic", _text(_arg(c, "topic"))),
                ("properties.bootstrap.servers", _text(_arg(c, "brokers"))), ("format", fmt)]
        start = _arg(c, "start")
        if start is not None:
            mode = KAFKA_START.get(str(start).lower())
            if mode is None:
                raise _unsupported(c, f"kafka start '{start}': use earliest or latest")
            opts.append(("scan.startup.mode", mode))
        group = _arg(c, "group")
        if group is not None:
            opts.append(("properties.group.id", _text(group)))
        return Options(opts, ["the kafka connector " + NOT_SHIPPED.format(jar="flink-sql-connector-kafka")])
    if c.kind == "nexmark":
        table = str(_arg(c, "table", "")).lower()
        if table not in ("bid", "auction", "person"):
            raise _unsupported(c, "nexmark table must be one of bid, auction, person")
        opts = [("connector", "nexmark")]
        events = _arg(c, "events")
        if events is not None:
            opts.append(("events.num", _text(events)))
        rate = _arg(c, "rate")
        if rate is not None and float(rate) > 0:  # type: ignore[arg-type]
            opts += [("first-event.rate", _text(rate)), ("next-event.rate", _text(rate))]
        return Options(opts, [
            "the nexmark connector (from the Nexmark benchmark, nexmark-flink) " + NOT_SHIPPED.format(
                jar="nexmark-flink.jar") + "; it yields every event type in one table, and other rows than "
                "flowc's generator (`flowc run --target flink` feeds Flink flowc's events)"])
    if c.kind == "postgres":
        dsn = str(_arg(c, "dsn", "") or "")
        opts = [("connector", "jdbc"), ("url", _jdbc_url(dsn)), ("table-name", _text(_arg(c, "table")))]
        return Options(opts, ["the jdbc connector " + NOT_SHIPPED.format(jar="flink-connector-jdbc and the "
                                                                           "PostgreSQL driver")
                              + "; credentials go in its 'username' and 'password' options"])
    raise _unsupported(c, "Flink cannot read from it in flowc: use csv, jsonl, parquet, kafka, nexmark or postgres")


def sink_options(program: ir.Program, c: ir.Connector, changelog: bool, view: str) -> Options:
    """Options of the CREATE TABLE a view's sink writes to. `changelog`: the view's rows are
    updated (retractions), so the format must carry the change kind."""
    if c.kind in ("csv", "jsonl", "parquet"):
        path = resolve_path(program, str(_arg(c, "path")))
        directory = os.path.splitext(path)[0]
        opts = [("connector", "filesystem"), ("path", os.path.abspath(directory))]
        notes = [f"Flink writes the rows as part files inside the directory {directory} (one or more per "
                 f"parallel sink task, committed at checkpoints and at the end of input), not as the single file "
                 f"{path}; `flowc run --target flink` writes {path} itself"]
        if changelog:
            if c.kind == "parquet":
                raise _unsupported(c, f"view '{view}' is a changelog, which Flink's file sinks can write only in a "
                                      "changelog format (debezium-json): sink it into jsonl(...), or make it final")
            opts.append(("format", "debezium-json"))
            notes.append(f"the changelog of '{view}' is written as Debezium JSON (before/after/op), not as rows with "
                         "an _op column: Flink's file formats other than debezium-json cannot hold retractions")
        elif c.kind == "csv":
            opts += [("format", "csv"), ("csv.null-literal", "")]
            notes.append("Flink's csv files have no header line, and null and the empty string are both an "
                         "empty field")
        elif c.kind == "jsonl":
            opts.append(("format", "json"))
        else:
            opts.append(("format", "parquet"))
            notes.append("the parquet format " + NOT_SHIPPED.format(jar="flink-sql-parquet-2.3.0.jar"))
        return Options(opts, notes)
    if c.kind == "stdout":
        return Options([("connector", "print")], ["Flink's print connector writes each row with its change "
                                                  "kind (+I, -U, +U, -D) to the TaskManagers' standard output"])
    if c.kind == "kafka":
        fmt = str(_arg(c, "format", "json")).lower()
        if fmt != "json":
            raise _unsupported(c, f"kafka sinks of flowc on Flink write json, not '{fmt}'")
        opts = [("connector", "kafka"), ("topic", _text(_arg(c, "topic"))),
                ("properties.bootstrap.servers", _text(_arg(c, "brokers"))),
                ("format", "debezium-json" if changelog else "json")]
        return Options(opts, ["the kafka connector " + NOT_SHIPPED.format(jar="flink-sql-connector-kafka")])
    if c.kind == "postgres":
        if changelog:
            raise _unsupported(c, f"view '{view}' is a changelog: Flink's jdbc sink writes one only as upserts by a "
                                  "primary key, which flowc does not declare for sinks yet; make the view final")
        dsn = str(_arg(c, "dsn", "") or "")
        opts = [("connector", "jdbc"), ("url", _jdbc_url(dsn)), ("table-name", _text(_arg(c, "table")))]
        return Options(opts, ["the jdbc connector " + NOT_SHIPPED.format(jar="flink-connector-jdbc and the "
                                                                           "PostgreSQL driver")])
    raise _unsupported(c, "Flink cannot write to it in flowc: use csv, jsonl, parquet, stdout, kafka or postgres")


__all__ = ["Options", "source_options", "sink_options"]
