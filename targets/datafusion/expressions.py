"""IR scalar expressions and aggregates as sqlglot expressions for DataFusion.

SQL keeps the IR's meaning directly for most operators (three-valued logic, `||` yielding null on a
null operand, integer `/` truncating, `%` taking the dividend's sign); DataFusion was checked to do
the same. Where DataFusion's result type differs from the IR's (length is Int32, floor/ceil of an
integer are Float64, decimal arithmetic widens precision, time arithmetic may change units) the
result is cast back, so a view's Arrow schema is exactly its IR schema.
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

from .types import arrow_cast, arrow_type, cast_to, needs_exact_cast

TARGET = "datafusion"

_EPOCH = dt.datetime(1970, 1, 1)


def col(name: str) -> exp.Column:
    return exp.column(name)


def lit_int(v: int) -> exp.Expression:
    return exp.Literal.number(v)


def paren(e: exp.Expression) -> exp.Expression:
    """Parenthesize operator nodes: sqlglot prints trees as built, without adding precedence parens."""
    if isinstance(e, exp.Binary | exp.Not | exp.Neg | exp.Is | exp.In | exp.Connector):
        return exp.Paren(this=e)
    return e


_BINARY = {
    "add": exp.Add, "sub": exp.Sub, "mul": exp.Mul, "mod": exp.Mod,
    "eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE,
    "and": exp.And, "or": exp.Or, "concat": exp.DPipe,
}


def time_micros(e: exp.Expression, t: T.Type) -> exp.Expression:
    """Integer microseconds since the epoch of a time point (timestamp, timestamptz or date)."""
    if t == T.DATE:
        e = arrow_cast(e, arrow_type(T.TIMESTAMP))
    return exp.Cast(this=e, to=exp.DataType.build("BIGINT"))


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
            text = "NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity")
            return cast_to(exp.Literal.string(text), t)
        # repr is the shortest text that reads back to the same double
        return exp.Literal.number(repr(f))
    if t.name == "decimal":
        return cast_to(exp.Literal.string(str(decimal.Decimal(str(value)))), t)
    if t == T.STRING:
        return exp.Literal.string(str(value))
    if t == T.BYTES:
        return exp.Anonymous(this="decode", expressions=[exp.Literal.string(bytes(value).hex()),  # type: ignore
                                                          exp.Literal.string("hex")])
    if t.is_time_point:
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            value = (value - _EPOCH) // dt.timedelta(microseconds=1)
        return arrow_cast(lit_int(int(value)), arrow_type(t))  # type: ignore[arg-type]
    if t == T.DATE:
        if isinstance(value, dt.date):
            value = (value - _EPOCH.date()).days
        return arrow_cast(lit_int(int(value)), arrow_type(t))  # type: ignore[arg-type]
    if t == T.INTERVAL:
        if isinstance(value, dt.timedelta):
            value = value // dt.timedelta(microseconds=1)
        return arrow_cast(lit_int(int(value)), arrow_type(t))  # type: ignore[arg-type]
    raise UnsupportedFeature(f"a literal of type {t}", TARGET)


def expr(e: ir.Expr) -> exp.Expression:
    """sqlglot expression computing IR expression e over columns named as in the IR."""
    if isinstance(e, ir.ColumnRef):
        return col(e.name)
    if isinstance(e, ir.Literal):
        return literal(e.value, e.type)
    if isinstance(e, ir.Cast):
        inner = expr(e.expr)
        if e.expr.type == e.type:
            return inner
        if e.type.is_time_point and e.expr.type.is_integer:
            # an integer read as a time point counts microseconds since the epoch, like IR literals
            return arrow_cast(cast_to(inner, T.BIGINT), arrow_type(e.type))
        return cast_to(inner, e.type)
    if isinstance(e, ir.Case):
        ifs = [exp.If(this=expr(c), true=_exact(expr(v), v.type, e.type)) for c, v in e.whens]
        default = _exact(expr(e.else_), e.else_.type, e.type) if e.else_ is not None else None
        out: exp.Expression = exp.Case(ifs=ifs, default=default)
        return cast_to(out, e.type) if needs_exact_cast(e.type) else out
    if isinstance(e, ir.Call):
        return _call(e)
    raise UnsupportedFeature(f"expression {type(e).__name__}", TARGET, getattr(e, "span", None))


def _exact(e: exp.Expression, have: T.Type, want: T.Type) -> exp.Expression:
    return e if have == want or want == T.NULL else cast_to(e, want)


def _call(e: ir.Call) -> exp.Expression:
    fn = e.fn
    if fn not in SCALARS:
        raise UnsupportedFeature(f"function '{fn}'", TARGET, e.span)
    args = [expr(a) for a in e.args]
    types = [a.type for a in e.args]
    if fn in ("add", "sub") and T.DATE in types and e.type != T.INTERVAL:
        # date +/- interval is a timestamp in the IR; DataFusion would keep a date
        args = [arrow_cast(a, arrow_type(T.TIMESTAMP)) if t == T.DATE else a for a, t in zip(args, types,
                                                                                          strict=True)]
    out: exp.Expression
    if fn in _BINARY:
        out = _BINARY[fn](this=paren(args[0]), expression=paren(args[1]))
    elif fn == "div":
        # typed=True: keep SQL's `/` as written (integer division truncates, as the IR says);
        # without it the Postgres writer inserts a cast to DOUBLE PRECISION.
        out = exp.Div(this=paren(args[0]), expression=paren(args[1]), typed=True, safe=False)
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
        out = cast_to(exp.Length(this=args[0]), T.BIGINT)  # DataFusion's length is Int32
    elif fn == "abs":
        out = exp.Abs(this=args[0])
    elif fn in ("floor", "ceil", "round"):
        if types[0].is_integer and len(args) == 1:
            return args[0]  # integral already; DataFusion would detour through Float64
        node = {"floor": exp.Floor, "ceil": exp.Ceil, "round": exp.Round}[fn]
        out = node(this=args[0], decimals=args[1]) if len(args) == 2 else node(this=args[0])
        out = cast_to(out, e.type)
    elif fn == "coalesce":
        out = exp.Coalesce(this=args[0], expressions=args[1:])
    else:
        raise UnsupportedFeature(f"function '{fn}'", TARGET, e.span)
    if needs_exact_cast(e.type) and fn not in ("floor", "ceil", "round", "length"):
        out = cast_to(out, e.type)
    return out


def aggregate(a: ir.AggCall) -> exp.Expression:
    """The aggregate call, cast to its IR type where DataFusion's differs (decimal sums and averages)."""
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
    if needs_exact_cast(a.type) or a.type.is_integer and a.fn == "sum" and a.arg is not None \
            and a.arg.type != a.type:
        out = cast_to(out, a.type)
    return out
