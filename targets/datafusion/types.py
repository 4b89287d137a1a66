"""IR types as DataFusion sees them: Arrow types, `arrow_cast` type names, and SQL casts.

DataFusion's own SQL type names do not always give the Arrow type the IR schema promises
(`TIMESTAMP` is nanoseconds, `TEXT` may be Utf8View), so every type whose SQL name is not exact is
cast with `arrow_cast(x, '<Arrow type>')`, which names the Arrow type directly.
"""

from __future__ import annotations

import pyarrow as pa
from flowc.compiler.types import Type
from flowc.targets import arrow_types as _shared
from sqlglot import exp

# The one IR -> Arrow mapping, shared with the local target (re-exported for this package).
arrow_type = _shared.arrow_type
arrow_schema = _shared.arrow_schema


def arrow_cast_name(t: pa.DataType) -> str:
    """The type string DataFusion's `arrow_cast` accepts for an Arrow type."""
    if pa.types.is_timestamp(t):
        unit = {"s": "Second", "ms": "Millisecond", "us": "Microsecond", "ns": "Nanosecond"}[t.unit]
        tz = f'Some("{t.tz}")' if t.tz else "None"
        return f"Timestamp({unit}, {tz})"
    if pa.types.is_duration(t):
        unit = {"s": "Second", "ms": "Millisecond", "us": "Microsecond", "ns": "Nanosecond"}[t.unit]
        return f"Duration({unit})"
    if pa.types.is_decimal(t):
        return f"Decimal128({t.precision}, {t.scale})"
    names = {pa.bool_(): "Boolean", pa.int32(): "Int32", pa.int64(): "Int64", pa.float64(): "Float64",
             pa.string(): "Utf8", pa.binary(): "Binary", pa.date32(): "Date32", pa.null(): "Null"}
    if t in names:
        return names[t]
    raise ValueError(f"no DataFusion type name for Arrow type {t}")


# IR types whose plain SQL CAST gives exactly the right Arrow type on DataFusion (with
# map_string_types_to_utf8view=false); everything else goes through arrow_cast.
_SQL_CASTS = {"bool": "BOOLEAN", "int": "INT", "bigint": "BIGINT", "double": "DOUBLE", "string": "VARCHAR"}


def cast_to(e: exp.Expression, t: Type) -> exp.Expression:
    """An expression converting e to IR type t, exactly."""
    if t.name in _SQL_CASTS:
        return exp.Cast(this=e, to=exp.DataType.build(_SQL_CASTS[t.name]))
    if t.name == "decimal":
        return exp.Cast(this=e, to=exp.DataType.build(f"DECIMAL({t.precision or 38}, {t.scale or 0})"))
    return arrow_cast(e, arrow_type(t))


def arrow_cast(e: exp.Expression, t: pa.DataType) -> exp.Expression:
    return exp.Anonymous(this="arrow_cast", expressions=[e, exp.Literal.string(arrow_cast_name(t))])


def needs_exact_cast(t: Type) -> bool:
    """Types DataFusion's arithmetic and aggregates may change (decimal precision, time units)."""
    return t.name in ("decimal", "timestamp", "timestamptz", "interval", "date")


__all__ = ["arrow_type", "arrow_schema", "arrow_cast_name", "cast_to", "arrow_cast", "needs_exact_cast"]
