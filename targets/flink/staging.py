"""Rows between flowc and a Flink job: Arrow tables as the JSON lines Flink's `json` format reads,
and the part files Flink's filesystem sinks write (`json`, `debezium-json`) back as Arrow tables.

`flowc run --target flink` reads every input with flowc's own readers (so CSV headers, quoting,
nulls and `on_error` mean exactly what they mean on the other targets) and hands Flink JSON, which
keeps what CSV cannot: null apart from the empty string, exact decimals, base64 bytes. Event-time
columns are written to the millisecond (Flink's rowtime precision, W0910), floored, as Flink's
TIMESTAMP(3) would truncate them.

JSON values by IR type (Flink's `json` format with `timestamp-format.standard = SQL`):
timestamp "yyyy-MM-dd HH:mm:ss.ffffff", timestamptz the same with "Z", date "yyyy-MM-dd",
decimal a plain number, double a number ("NaN", "Infinity" as strings), bytes base64.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import glob
import json
import math
import os

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.targets.arrow_types import arrow_schema

EPOCH = dt.datetime(1970, 1, 1)
OP = "_op"


def _time_text(micros: int, millis: bool, tz: bool) -> str:
    if millis:
        micros -= micros % 1000  # floor, also before the epoch
    text = (EPOCH + dt.timedelta(microseconds=micros)).strftime("%Y-%m-%d %H:%M:%S.%f")
    if millis:
        text = text[:-3]
    return text + ("Z" if tz else "")


def _encoder(t: T.Type, millis: bool):
    """A function from a Python value of an Arrow column (as `to_pylist` gives it) to JSON."""
    if t.is_time_point:
        tz = t == T.TIMESTAMPTZ

        def ts(v):
            if isinstance(v, dt.datetime):
                if v.tzinfo is not None:
                    v = v.astimezone(dt.UTC).replace(tzinfo=None)
                v = (v - EPOCH) // dt.timedelta(microseconds=1)
            return _time_text(v, millis, tz)
        return ts
    if t == T.DATE:
        return lambda v: v.isoformat()
    if t.name == "decimal":
        return lambda v: _RawNumber(format(v, "f"))
    if t == T.DOUBLE:
        def dbl(v):
            if math.isnan(v):
                return "NaN"
            if math.isinf(v):
                return "Infinity" if v > 0 else "-Infinity"
            return v
        return dbl
    if t == T.BYTES:
        return lambda v: base64.b64encode(v).decode("ascii")
    if t == T.INTERVAL:
        raise ValueError("an interval column cannot be staged for Flink")
    return None  # JSON as is: bool, int, str


class _RawNumber(str):
    """A number written as its exact decimal text (json.dumps would write a string)."""


def write_jsonl(table: pa.Table, schema: ir.Schema, path: str, event_time: str | None = None) -> None:
    """The rows of `table` (columns named as `schema`) as JSON lines in arrival order."""
    names = [f.name for f in schema]
    encoders = [_encoder(f.type, f.name == event_time) for f in schema]
    columns = [table.column(n).to_pylist() for n in names]
    keys = [json.dumps(n) for n in names]
    with open(path, "w", encoding="utf-8") as f:
        for row in zip(*columns, strict=True) if columns else ():
            parts = []
            for key, enc, v in zip(keys, encoders, row, strict=True):
                if v is None:
                    text = "null"
                elif enc is None:
                    text = json.dumps(v, ensure_ascii=False)
                else:
                    out = enc(v)
                    text = out if isinstance(out, _RawNumber) else json.dumps(out, ensure_ascii=False)
                parts.append(f"{key}:{text}")
            f.write("{" + ",".join(parts) + "}\n")


# ---------------------------------------------------------------- reading Flink's output


def _decoder(t: T.Type):
    if t.is_time_point:
        return _parse_time
    if t == T.DATE:
        return lambda v: dt.date.fromisoformat(v)
    if t.name == "decimal":
        return lambda v: decimal.Decimal(str(v))
    if t == T.DOUBLE:
        return lambda v: float(v) if not isinstance(v, str) else float(v.replace("Infinity", "inf"))
    if t.is_integer:
        return int
    if t == T.BYTES:
        return lambda v: base64.b64decode(v)
    return None


def _parse_time(v: str) -> dt.datetime:
    """Flink's SQL timestamp text ("2026-03-01 12:00:01", ".5", ".123456", a trailing "Z")."""
    text = v.rstrip("Z").replace("T", " ")
    date, _, clock = text.partition(" ")
    whole, _, frac = clock.partition(".")
    base = dt.datetime.fromisoformat(f"{date} {whole}")
    micros = int((frac + "000000")[:6]) if frac else 0
    return base + dt.timedelta(microseconds=micros)


def part_files(folder: str) -> list[str]:
    """The committed part files of a Flink filesystem sink (in-progress files start with a dot)."""
    return sorted(p for p in glob.glob(os.path.join(folder, "**", "*"), recursive=True)
                  if os.path.isfile(p) and not os.path.basename(p).startswith("."))


def read_output(folder: str, schema: ir.Schema, changelog: bool, with_op: bool) -> pa.Table:
    """A staging sink's rows as an Arrow table of `schema`.

    `changelog`: the files are Debezium JSON (`op` c/r insert `after`, d retracts `before`, u does
    both). With `with_op` the result is the changelog itself, `_op` first ("+"/"-"); without, its
    consolidation (rows whose inserts outnumber their retractions, as often as they do)."""
    names = [f.name for f in schema]
    decoders = [_decoder(f.type) for f in schema]
    rows: list[tuple] = []
    ops: list[str] = []
    for path in part_files(folder):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                record = json.loads(line, parse_float=decimal.Decimal)
                if not changelog:
                    rows.append(_row(record, names, decoders))
                    ops.append("+")
                    continue
                op = record.get("op")
                if op in ("d", "u") and record.get("before") is not None:
                    rows.append(_row(record["before"], names, decoders))
                    ops.append("-")
                if op in ("c", "r", "u") and record.get("after") is not None:
                    rows.append(_row(record["after"], names, decoders))
                    ops.append("+")
    if changelog and not with_op:
        rows = _consolidate(rows, ops)
        ops = ["+"] * len(rows)
    arrow = arrow_schema(schema)
    columns = [pa.array([r[i] for r in rows], type=f.type) for i, f in enumerate(arrow)]
    if with_op:
        return pa.Table.from_arrays([pa.array(ops, pa.string())] + columns,
                                    schema=pa.schema([pa.field(OP, pa.string())] + list(arrow)))
    return pa.Table.from_arrays(columns, schema=arrow)


def _row(values: dict, names: list[str], decoders) -> tuple:
    out = []
    for n, dec in zip(names, decoders, strict=True):
        v = values.get(n)
        out.append(None if v is None else (dec(v) if dec is not None else v))
    return tuple(out)


def _consolidate(rows: list[tuple], ops: list[str]) -> list[tuple]:
    weights: dict[tuple, int] = {}
    order: list[tuple] = []
    for r, op in zip(rows, ops, strict=True):
        key = tuple(_hashable(v) for v in r)
        if key not in weights:
            weights[key] = 0
            order.append(r)
        weights[key] += 1 if op == "+" else -1
    out = []
    for r in order:
        out += [r] * max(weights[tuple(_hashable(v) for v in r)], 0)
    return out


def _hashable(v):
    if isinstance(v, float) and math.isnan(v):
        return "__nan__"
    return v


__all__ = ["write_jsonl", "read_output", "part_files"]
