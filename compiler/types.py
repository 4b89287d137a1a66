"""The type system of .flow programs (LANGUAGE.md "Types")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Type:
    name: str
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name == "decimal":
            return f"decimal({self.precision}, {self.scale})"
        return self.name

    @property
    def is_numeric(self) -> bool:
        return self.name in NUMERIC_ORDER

    @property
    def is_integer(self) -> bool:
        return self.name in ("int", "bigint")

    @property
    def is_temporal(self) -> bool:
        return self.name in ("timestamp", "timestamptz", "date")

    @property
    def is_time_point(self) -> bool:
        """Types an event time may have."""
        return self.name in ("timestamp", "timestamptz")


BOOL = Type("bool")
INT = Type("int")
BIGINT = Type("bigint")
DOUBLE = Type("double")
STRING = Type("string")
BYTES = Type("bytes")
DATE = Type("date")
TIMESTAMP = Type("timestamp")
TIMESTAMPTZ = Type("timestamptz")
INTERVAL = Type("interval")
NULL = Type("null")  # the type of a bare `null` literal; unifies with anything


def decimal(precision: int, scale: int) -> Type:
    return Type("decimal", precision, scale)


SIMPLE_TYPES = {t.name: t for t in (BOOL, INT, BIGINT, DOUBLE, STRING, BYTES, DATE, TIMESTAMP, TIMESTAMPTZ,
                                    INTERVAL)}
# accepted spellings, so `integer` or `varchar` do not surprise SQL users
TYPE_ALIASES = {"boolean": BOOL, "integer": INT, "int32": INT, "int64": BIGINT, "float64": DOUBLE,
                "float": DOUBLE, "text": STRING, "varchar": STRING, "bytea": BYTES}
TYPE_NAMES = sorted(list(SIMPLE_TYPES) + ["decimal"])

NUMERIC_ORDER = ("int", "bigint", "decimal", "double")


def numeric_supertype(a: Type, b: Type) -> Type | None:
    """The type arithmetic on a and b produces, or None when they do not mix."""
    if a == NULL:
        return b if b.is_numeric or b == NULL else None
    if b == NULL:
        return a if a.is_numeric else None
    if not (a.is_numeric and b.is_numeric):
        return None
    if a.name == "decimal" and b.name == "decimal":
        scale = max(a.scale or 0, b.scale or 0)
        whole = max((a.precision or 38) - (a.scale or 0), (b.precision or 38) - (b.scale or 0))
        return decimal(min(whole + scale, 38), scale)
    rank = max(NUMERIC_ORDER.index(a.name), NUMERIC_ORDER.index(b.name))
    if NUMERIC_ORDER[rank] == "decimal":
        return a if a.name == "decimal" else b
    return SIMPLE_TYPES[NUMERIC_ORDER[rank]]


def common_type(a: Type, b: Type) -> Type | None:
    """The type two values share for comparison, CASE branches, IN lists; None if incompatible."""
    if a == b:
        return a
    if a == NULL:
        return b
    if b == NULL:
        return a
    num = numeric_supertype(a, b)
    if num is not None:
        return num
    if {a.name, b.name} <= {"timestamp", "timestamptz", "date"}:
        return TIMESTAMPTZ if "timestamptz" in (a.name, b.name) else TIMESTAMP
    return None
