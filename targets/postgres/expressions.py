"""IR expressions as PostgreSQL SQL: the shared translation (`flowc.targets.sql.expressions`) with
PostgreSQL's hooks.

PostgreSQL keeps the IR's meaning for most operators as written (date + interval gives a
timestamp, too). Where PostgreSQL's result type or rule differs, the SQL says so explicitly:
- results whose PostgreSQL type is not the IR type (length is INT, sum(bigint) and avg are NUMERIC)
  are cast to the IR type, so a view's columns have exactly the IR schema;
- round(double) would round half to even and round(double, d) does not exist: we round as NUMERIC,
  half away from zero, as the IR (and SQL's round on numerics) does;
- `%` on doubles does not exist: x - trunc(x / y) * y, the dividend-signed remainder;
- an integer read as a time point counts microseconds since the epoch: epoch + whole seconds +
  the remaining microseconds, so the interval arithmetic stays exact (interval * number is float8).
Time values are kept as PostgreSQL times; only lateness and sessions compare integer microseconds
(`time_micros`), which `EXTRACT(EPOCH ...)` gives exactly (it is NUMERIC since PostgreSQL 14).
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.targets.sql.expressions import SqlExpressions, date_text, lit_int, paren, timestamp_text
from flowc.targets.sql.timeaxis import TimeAxis
from sqlglot import exp

from .dialect import PostgresFlow
from .types import TARGET, cast_to, sql_type


def typed_string(text: str, t: T.Type) -> exp.Expression:
    return cast_to(exp.Literal.string(text), t)


def interval(micros: int) -> exp.Expression:
    """An exact interval of `micros` microseconds (whole seconds written as seconds, for reading)."""
    text = f"{micros // 1_000_000} seconds" if micros % 1_000_000 == 0 else f"{micros} microseconds"
    return typed_string(text, T.INTERVAL)


def epoch(t: T.Type) -> exp.Expression:
    """The Unix epoch as a value of time type t (timestamp or timestamptz)."""
    return typed_string(timestamp_text(0, t == T.TIMESTAMPTZ), t)


def time_micros(e: exp.Expression) -> exp.Expression:
    """Integer microseconds since the epoch (UTC) of a timestamp, timestamptz or date; also the
    length in microseconds of an interval."""
    seconds = exp.Extract(this=exp.var("EPOCH"), expression=e)
    return exp.Cast(this=exp.Mul(this=seconds, expression=lit_int(1_000_000)),
                    to=exp.DataType.build("BIGINT"))


def micros_to_time(e: exp.Expression, t: T.Type) -> exp.Expression:
    """The time point `e` microseconds after the epoch, exactly: whole seconds and the remainder
    (PostgreSQL multiplies an interval by float8, exact only below 2^53)."""
    secs = exp.Mul(this=exp.Paren(this=exp.Div(this=paren(e), expression=lit_int(1_000_000), typed=True)),
                   expression=interval(1_000_000))
    rest = exp.Mul(this=exp.Paren(this=exp.Mod(this=paren(e.copy()), expression=lit_int(1_000_000))),
                   expression=interval(1))
    return exp.Paren(this=exp.Add(this=exp.Add(this=epoch(t), expression=secs), expression=rest))


# IR functions whose PostgreSQL result type is already the IR's (no cast needed)
_EXACT = ("eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "is_null", "is_not_null", "in", "concat", "like", "ilike",
          "lower", "upper")
_EXACT_AGGREGATES = ("count", "count_distinct", "min", "max")


class PostgresExpressions(SqlExpressions):
    target = TARGET
    dialect = PostgresFlow

    def cast_to(self, e, t):
        return cast_to(e, t)

    def interval(self, micros):
        return interval(micros)

    def time_literal(self, micros, t):
        return typed_string(timestamp_text(micros, t == T.TIMESTAMPTZ), t)

    def date_literal(self, days):
        return typed_string(date_text(days), T.DATE)

    def bytes_literal(self, value):
        return typed_string("\\x" + value.hex(), T.BYTES)

    def double_literal(self, text):
        return cast_to(exp.Literal.number(text), T.DOUBLE)

    def cast(self, inner, have, want):
        if want.is_time_point and have.is_integer:
            return micros_to_time(inner, want)
        if want.is_integer and (have.is_time_point or have in (T.DATE, T.INTERVAL)):
            out = time_micros(inner)
            return out if want == T.BIGINT else cast_to(out, want)
        if want == T.INTERVAL and have.is_integer:
            return exp.Mul(this=paren(inner), expression=interval(1))
        # PostgreSQL converts between boolean and integer (int4) only: other numbers go through it
        # one way (true is 1, false 0), and compare with zero the other (any non-zero is true, also
        # a bigint beyond int4 or a fraction, which a detour through int4 would break)
        if want.is_integer and (have == T.DOUBLE or have.name == "decimal"):
            # the IR truncates toward zero; PostgreSQL's cast rounds (0.75 -> 1)
            return cast_to(exp.Anonymous(this="trunc", expressions=[inner]), want)
        if have == T.BOOL and want != T.INT and _is_number(want):
            return cast_to(cast_to(inner, T.INT), want)
        if want == T.BOOL and have != T.INT and _is_number(have):
            return exp.NEQ(this=paren(inner), expression=lit_int(0))
        return cast_to(inner, want)

    def call_result(self, e: ir.Call, out):
        return out if e.fn in _EXACT else self.exact(out, e.type)

    def aggregate_result(self, a: ir.AggCall, out):
        return out if a.fn in _EXACT_AGGREGATES else self.exact(out, a.type)

    def special_call(self, e: ir.Call, args):
        types = [a.type for a in e.args]
        if e.fn == "mod" and T.DOUBLE in types:
            x, y = (cast_to(a, T.DOUBLE) for a in args)
            quotient = exp.Anonymous(this="trunc", expressions=[exp.Div(this=x, expression=y, typed=True)])
            return self.call_result(e, exp.Sub(this=x.copy(), expression=exp.Mul(this=quotient, expression=y.copy())))
        if e.fn == "length":
            return self.call_result(e, exp.Anonymous(this="char_length", expressions=[args[0]]))
        if e.fn in ("floor", "ceil") and types[0].is_integer:
            return args[0]  # integral already
        if e.fn == "round":
            if types[0].is_integer and (len(args) == 1 or _nonneg_literal(e.args[1])):
                return args[0]
            # half away from zero, as NUMERIC rounds (round(double) would round half to even)
            x = args[0] if types[0].name == "decimal" else exp.Cast(this=args[0], to=exp.DataType.build("NUMERIC"))
            digits = [cast_to(args[1], T.INT)] if len(args) == 2 else []
            return self.call_result(e, exp.Anonymous(this="round", expressions=[x, *digits]))
        return None


def _is_number(t: T.Type) -> bool:
    return t.is_integer or t == T.DOUBLE or t.name == "decimal"


def _nonneg_literal(e: ir.Expr) -> bool:
    return isinstance(e, ir.Literal) and isinstance(e.value, int) and e.value >= 0


class NativeAxis(TimeAxis):
    """Times as PostgreSQL timestamps (a date as its midnight), durations as intervals: both exact
    to the microsecond, and `date_bin` floors times before the origin too."""

    def value(self, e, t):
        return exp.Cast(this=e, to=sql_type(T.TIMESTAMP)) if t == T.DATE else e

    def duration(self, micros):
        return interval(micros)

    def to_time(self, e, t):
        return e

    def micros(self, e):
        return time_micros(e)


X = PostgresExpressions()
AXIS = NativeAxis()

__all__ = ["PostgresExpressions", "NativeAxis", "X", "AXIS", "interval", "epoch",
           "time_micros", "micros_to_time", "timestamp_text"]
