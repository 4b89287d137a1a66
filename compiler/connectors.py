"""The connector catalog: which connectors exist, their arguments, and where they may appear."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectorSpec:
    kind: str
    args: tuple[str, ...]  # accepted argument names ("path" is also the one positional argument)
    required: tuple[str, ...]
    source: bool
    sink: bool
    doc: str


CONNECTORS: dict[str, ConnectorSpec] = {c.kind: c for c in [
    ConnectorSpec("csv", ("path", "delimiter", "header"), ("path",), True, True, "a CSV file with a header row"),
    ConnectorSpec("jsonl", ("path",), ("path",), True, True, "one JSON object per line"),
    ConnectorSpec("parquet", ("path",), ("path",), True, True, "a Parquet file"),
    ConnectorSpec("stdout", ("format",), (), False, True, "print rows to standard output"),
    ConnectorSpec("nexmark", ("table", "events", "rate", "seed", "max_delay"), ("table",), True, False,
                  "the Nexmark benchmark generator (person, auction, bid)"),
    ConnectorSpec("postgres", ("table", "query", "dsn", "order_by", "key"), (), True, True,
                  "a PostgreSQL table or query"),
    ConnectorSpec("kafka", ("topic", "brokers", "format", "group", "start"), ("topic", "brokers"), True, True,
                  "a Kafka topic"),
]}

FILE_CONNECTORS = ("csv", "jsonl", "parquet")
