"""IR scalar expressions and aggregates as sqlglot expressions for PostgreSQL.

PostgreSQL keeps the IR's meaning for most operators as written (three-valued logic, `||` null on
a null operand, integer `/` truncating, `%` taking the dividend's sign, date + interval giving a
timestamp). Where PostgreSQL's result type or rule differs, the SQL says so explicitly:
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

import datetime as dt
import decimal
import math

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.compiler.functions import SCALARS
from sqlglot import exp

from .types import TARGET, cast_to

_EPOCH = dt.datetime(1970, 1, 1)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def lit_int(v: int) -> exp.Expression:
    return exp.Literal.number(v) if v >= 0 else exp.Neg(this=exp.Literal.number(-v))


def paren(e: exp.Expression) -> exp.Expression:
    """Parenthesize operator nodes: sqlglot prints hand-built trees without precedence parens."""
    if isinstance(e, exp.Binary | exp.Not | exp.Neg | exp.Is | exp.In | exp.Connector):
        return exp.Paren(this=e)
    return e


def typed_string(text: str, t: T.Type) -> exp.Expression:
    return cast_to(exp.Literal.string(text), t)


def interval(micros: int) -> exp.Expression:
    """An exact interval of `micros` microseconds (whole seconds written as seconds, for reading)."""
    text = f"{micros // 1_000_000} seconds" if micros % 1_000_000 == 0 else f"{micros} microseconds"
    return typed_string(text, T.INTERVAL)


def timestamp_text(micros: int, tz: bool) -> str:
    text = (_EPOCH + dt.timedelta(microseconds=micros)).isoformat(sep=" ")
    return text + "+00:00" if tz else text


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


def literal(value: object, t: T.Type) -> exp.Expression:
    if value is None:
        return exp.Null() if t == T.NULL else cast_to(exp.Null(), t)
    if t == T.BOOL:
        return exp.Boolean(this=bool(value))
    if t.is_integer:
        e = lit_int(int(value))  # type: ignore[arg-type]
        return e if t == T.BIGINT else cast_to(e, t)
    if t == T.DOUBLE:
        f = float(value)  # type: ignore[arg-type]
        if math.isnan(f) or math.isinf(f):
            return typed_string("NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity"), t)
        # repr is the shortest text that reads back to the same double
        return cast_to(exp.Literal.number(repr(f)), t)
    if t.name == "decimal":
        return typed_string(str(decimal.Decimal(str(value))), t)
    if t == T.STRING:
        return exp.Literal.string(str(value))
    if t == T.BYTES:
        return typed_string("\\x" + bytes(value).hex(), t)  # type: ignore[arg-type]
    if t.is_time_point:
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            value = (value - _EPOCH) // dt.timedelta(microseconds=1)
        return typed_string(timestamp_text(int(value), t == T.TIMESTAMPTZ), t)  # type: ignore[arg-type]
    if t == T.DATE:
        if isinstance(value, int):
            value = _EPOCH.date() + dt.timedelta(days=value)
        return typed_string(value.isoformat(), t)  # type: ignore[union-attr]
    if t == T.INTERVAL:
        if isinstance(value, dt.timedelta):
            value = value // dt.timedelta(microseconds=1)
        return interval(int(value))  # type: ignore[arg-type]
    raise UnsupportedFeature(f"a literal of type {t}", TARGET)


def expr(e: ir.Expr) -> exp.Expression:
    """sqlglot expression computing IR expression e over columns named as in the IR."""
    if isinstance(e, ir.ColumnRef):
        return col(e.name)
    if isinstance(e, ir.Literal):
        return literal(e.value, e.type)
    if isinstance(e, ir.Cast):
        return _cast(e)
    if isinstance(e, ir.Case):
        ifs = [exp.If(this=expr(c), true=expr(v)) for c, v in e.whens]
        default = expr(e.else_) if e.else_ is not None else None
        out: exp.Expression = exp.Case(ifs=ifs, default=default)
        return out if e.type == T.NULL else cast_to(out, e.type)
    if isinstance(e, ir.Call):
        return _call(e)
    raise UnsupportedFeature(f"expression {type(e).__name__}", TARGET, getattr(e, "span", None))


def _cast(e: ir.Cast) -> exp.Expression:
    inner = expr(e.expr)
    src = e.expr.type
    if src == e.type:
        return inner
    if e.type.is_time_point and src.is_integer:
        return micros_to_time(inner, e.type)
    if e.type.is_integer and (src.is_time_point or src in (T.DATE, T.INTERVAL)):
        out = time_micros(inner)
        return out if e.type == T.BIGINT else cast_to(out, e.type)
    if e.type == T.INTERVAL and src.is_integer:
        return exp.Mul(this=paren(inner), expression=interval(1))
    return cast_to(inner, e.type)


_BINARY = {
    "add": exp.Add, "sub": exp.Sub, "mul": exp.Mul,
    "eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE,
    "and": exp.And, "or": exp.Or, "concat": exp.DPipe,
}

# IR result types PostgreSQL's operators already give exactly (no cast needed)
_EXACT = ("eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "is_null", "is_not_null", "in", "concat",
          "lower", "upper")


def _call(e: ir.Call) -> exp.Expression:
    fn = e.fn
    if fn not in SCALARS:
        raise UnsupportedFeature(f"function '{fn}'", TARGET, e.span)
    args = [expr(a) for a in e.args]
    types = [a.type for a in e.args]
    out: exp.Expression
    if fn in _BINARY:
        out = _BINARY[fn](this=paren(args[0]), expression=paren(args[1]))
    elif fn == "div":
        # typed=True keeps `/` as written (integer division truncates, as the IR says)
        out = exp.Div(this=paren(args[0]), expression=paren(args[1]), typed=True, safe=False)
    elif fn == "mod":
        if T.DOUBLE in types:
            x, y = (cast_to(a, T.DOUBLE) for a in args)
            quotient = exp.Anonymous(this="trunc", expressions=[exp.Div(this=x, expression=y, typed=True)])
            out = exp.Sub(this=x.copy(), expression=exp.Mul(this=quotient, expression=y.copy()))
        else:
            out = exp.Mod(this=paren(args[0]), expression=paren(args[1]))
    elif fn == "neg":
        out = exp.Neg(this=paren(args[0]))
    elif fn == "not":
        out = exp.Not(this=paren(args[0]))
    elif fn == "is_null":
        out = exp.Is(this=paren(args[0]), expression=exp.Null())
    elif fn == "is_not_null":
        out = exp.Not(this=exp.Is(this=paren(args[0]), expression=exp.Null()))
    elif fn == "in":
        out = exp.In(this=paren(args[0]), expressions=args[1:])
    elif fn == "lower":
        out = exp.Lower(this=args[0])
    elif fn == "upper":
        out = exp.Upper(this=args[0])
    elif fn == "length":
        out = exp.Anonymous(this="char_length", expressions=[args[0]])
    elif fn == "abs":
        out = exp.Abs(this=args[0])
    elif fn in ("floor", "ceil"):
        if types[0].is_integer:
            return args[0]  # integral already
        out = exp.Floor(this=args[0]) if fn == "floor" else exp.Ceil(this=args[0])
    elif fn == "round":
        if types[0].is_integer and (len(args) == 1 or _nonneg_literal(e.args[1])):
            return args[0]
        # half away from zero, as NUMERIC rounds (round(double) would round half to even)
        x = args[0] if types[0].name == "decimal" else exp.Cast(this=args[0], to=exp.DataType.build("NUMERIC"))
        digits = [cast_to(args[1], T.INT)] if len(args) == 2 else []
        out = exp.Anonymous(this="round", expressions=[x, *digits])
    elif fn == "coalesce":
        out = exp.Coalesce(this=args[0], expressions=args[1:])
    else:
        raise UnsupportedFeature(f"function '{fn}'", TARGET, e.span)
    if fn in _EXACT or e.type == T.NULL:
        return out
    return cast_to(out, e.type)


def _nonneg_literal(e: ir.Expr) -> bool:
    return isinstance(e, ir.Literal) and isinstance(e.value, int) and e.value >= 0


def aggregate(a: ir.AggCall) -> exp.Expression:
    """The aggregate call, cast to its IR type (PostgreSQL sums bigints and averages as NUMERIC)."""
    arg = expr(a.arg) if a.arg is not None else None
    out: exp.Expression
    if a.fn == "count":
        out = exp.Count(this=exp.Star() if arg is None else arg)
    elif a.fn == "count_distinct":
        out = exp.Count(this=exp.Distinct(expressions=[arg]))
    elif a.fn == "sum":
        out = exp.Sum(this=arg)
    elif a.fn == "min":
        out = exp.Min(this=arg)
    elif a.fn == "max":
        out = exp.Max(this=arg)
    elif a.fn == "avg":
        out = exp.Avg(this=arg)
    else:
        raise UnsupportedFeature(f"aggregate '{a.fn}'", TARGET, a.span)
    if a.fn in ("count", "count_distinct", "min", "max") or a.type == T.NULL:
        return out  # already of the IR type
    return cast_to(out, a.type)
