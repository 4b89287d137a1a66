"""IR types as PostgreSQL types (all exact: PostgreSQL has a native type for each IR type)."""

from __future__ import annotations

from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.compiler.types import Type
from sqlglot import exp

TARGET = "postgres"

_NAMES = {"bool": "BOOLEAN", "int": "INT", "bigint": "BIGINT", "double": "DOUBLE PRECISION",
          "string": "TEXT", "bytes": "BYTEA", "date": "DATE", "timestamp": "TIMESTAMP",
          "timestamptz": "TIMESTAMPTZ", "interval": "INTERVAL"}


def sql_type(t: Type, span=None) -> exp.DataType:
    if t.name == "decimal":
        return exp.DataType.build(f"NUMERIC({t.precision or 38}, {t.scale or 0})", dialect="postgres")
    name = _NAMES.get(t.name)
    if name is None:
        raise UnsupportedFeature(f"type {t}", TARGET, span)
    return exp.DataType.build(name, dialect="postgres")


def cast_to(e: exp.Expression, t: Type) -> exp.Expression:
    return exp.Cast(this=e, to=sql_type(t))
