"""The one mapping from IR types to Arrow types, shared by the local and DataFusion targets."""

from __future__ import annotations

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler.types import Type

_SIMPLE = {
    "bool": pa.bool_(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "string": pa.string(),
    "bytes": pa.binary(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "interval": pa.duration("us"),
    "null": pa.null(),
}


def arrow_type(t: Type) -> pa.DataType:
    if t.name == "decimal":
        return pa.decimal128(t.precision or 38, t.scale or 0)
    try:
        return _SIMPLE[t.name]
    except KeyError:
        raise ValueError(f"no Arrow type for IR type {t}") from None


def arrow_schema(schema: ir.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, arrow_type(f.type)) for f in schema])
