"""IR scalar expressions and aggregates as sqlglot expressions, for any SQL target.

SQL keeps the IR's meaning directly for most operators (three-valued logic, `||` yielding null on a
null operand, integer `/` truncating, `%` taking the dividend's sign), so the spelling here is shared.
What differs between engines is the result *type* of some operations and how a few values and
functions are written; a target subclasses `SqlExpressions` and overrides the hooks below. Every
hook but `cast_to` has a documented default, so a new target starts from plain SQL (and
UnsupportedFeature for the literals SQL has no portable spelling of) and overrides what it must.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.compiler.functions import (
    INT_ARGS,
    MATH_FUNCTIONS,
    PLAIN_SQL,
    SCALARS,
    TIME_FUNCTIONS,
)
from sqlglot import exp

EPOCH = dt.datetime(1970, 1, 1)


def timestamp_text(micros: int, tz: bool) -> str:
    """The time point `micros` after the epoch as ISO text (`1970-01-01 00:00:01.500000`), with
    `+00:00` for a timestamptz: what a typed string literal of the time spells (PostgreSQL, RisingWave)."""
    text = (EPOCH + dt.timedelta(microseconds=micros)).isoformat(sep=" ")
    return text + "+00:00" if tz else text


def date_text(days: int) -> str:
    """The date `days` after 1970-01-01 as ISO text (`1970-01-02`)."""
    return (EPOCH.date() + dt.timedelta(days=days)).isoformat()


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def lit_int(v: int) -> exp.Expression:
    return exp.Literal.number(v) if v >= 0 else exp.Neg(this=exp.Literal.number(-v))


def paren(e: exp.Expression) -> exp.Expression:
    """Parenthesize operator nodes: sqlglot prints hand-built trees without precedence parens."""
    if isinstance(e, exp.Binary | exp.Not | exp.Neg | exp.Is | exp.In | exp.Connector):
        return exp.Paren(this=e)
    return e


def is_null(e: exp.Expression) -> exp.Expression:
    # parenthesized: `NOT FALSE IS NULL` would read as `NOT (FALSE IS NULL)`
    return exp.Is(this=paren(e), expression=exp.Null())


_BINARY = {
    "add": exp.Add, "sub": exp.Sub, "mul": exp.Mul, "mod": exp.Mod,
    "eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE,
    "and": exp.And, "or": exp.Or, "concat": exp.DPipe,
}
_UNARY = {"lower": exp.Lower, "upper": exp.Upper, "abs": exp.Abs}
_ROUNDING = {"floor": exp.Floor, "ceil": exp.Ceil, "round": exp.Round}
_AGGREGATES = {"sum": exp.Sum, "min": exp.Min, "max": exp.Max, "avg": exp.Avg}


class SqlExpressions:
    """IR expression -> sqlglot expression over columns named as in the IR."""

    target = "sql"
    # the functions of compiler/functions.PLAIN_SQL this engine spells `name(args...)` with their
    # IR meaning (a target that lacks one, or means another thing by it, leaves it out)
    plain_functions: frozenset[str] = frozenset(PLAIN_SQL) | {"like", "ilike"} | TIME_FUNCTIONS
    dialect: object = None  # the target's sqlglot dialect (class), for exp.func

    # ---- hooks: types and values

    def cast_to(self, e: exp.Expression, t: T.Type) -> exp.Expression:
        """An expression converting e to IR type t, exactly. Required: SQL type names differ."""
        raise NotImplementedError

    # The literals below have no portable SQL spelling; by default a target has none of them.

    def interval(self, micros: int) -> exp.Expression:
        """A literal duration of `micros` microseconds."""
        raise UnsupportedFeature("an interval literal", self.target)

    def time_literal(self, micros: int, t: T.Type) -> exp.Expression:
        """A timestamp/timestamptz literal `micros` after the epoch (UTC)."""
        raise UnsupportedFeature(f"a {t} literal", self.target)

    def date_literal(self, days: int) -> exp.Expression:
        """The date `days` after 1970-01-01."""
        raise UnsupportedFeature("a date literal", self.target)

    def bytes_literal(self, value: bytes) -> exp.Expression:
        raise UnsupportedFeature("a bytes literal", self.target)

    def double_literal(self, text: str) -> exp.Expression:
        """A finite double written as `text` (default: the bare number, which SQL reads as double)."""
        return exp.Literal.number(text)

    def cast(self, inner: exp.Expression, have: T.Type, want: T.Type) -> exp.Expression:
        """An IR Cast between two different types (default: `cast_to`); targets override the casts
        whose SQL meaning differs from the IR's (integers as time points count microseconds)."""
        return self.cast_to(inner, want)

    # ---- hooks: result types (where the engine's result type may differ from the IR's)

    def case_branch(self, e: exp.Expression, have: T.Type, want: T.Type) -> exp.Expression:
        """One THEN/ELSE value of a CASE of IR type `want` (default: as is)."""
        return e

    def exact(self, out: exp.Expression, t: T.Type) -> exp.Expression:
        """A CASE or function result made exactly IR type t (default: cast unless it is the null type)."""
        return out if t == T.NULL else self.cast_to(out, t)

    def call_result(self, e: ir.Call, out: exp.Expression) -> exp.Expression:
        """The shared spelling of call e, made exactly its IR type (default: `exact`)."""
        return self.exact(out, e.type)

    def aggregate_result(self, a: ir.AggCall, out: exp.Expression) -> exp.Expression:
        """An aggregate call made exactly its IR type (default: `exact`)."""
        return self.exact(out, a.type)

    # ---- hooks: functions

    def call_args(self, e: ir.Call, args: list[exp.Expression]) -> list[exp.Expression]:
        """The compiled arguments of e as the shared spelling should see them (default: as is)."""
        return args

    def special_call(self, e: ir.Call, args: list[exp.Expression]) -> exp.Expression | None:
        """The target's own spelling of e, finished (exactly of e's IR type), or None for the shared
        spelling followed by `call_result`. Default: None, SQL's spelling fits every function."""
        return None

    def math_function(self, e: ir.Call, args: list[exp.Expression]) -> exp.Expression:
        """sqrt, ln, exp, power in doubles, null where PostgreSQL raises an error (targets/sql/math.py)."""
        from .math import guarded

        xs = [a if t.type == T.DOUBLE else self.cast_to(a, T.DOUBLE) for t, a in zip(e.args, args, strict=True)]
        out = guarded(e.fn, xs, lambda v: self.literal(v, T.DOUBLE), self.cast_to(exp.Null(), T.DOUBLE))
        return self.exact(out, T.DOUBLE)

    def time_function(self, e: ir.Call, args: list[exp.Expression]) -> exp.Expression:
        """extract, date_trunc and to_char as PostgreSQL spells them (a date truncated is a timestamp)."""
        if e.fn.startswith("extract_"):
            field = e.fn.removeprefix("extract_")
            return exp.Extract(this=exp.var(field.upper()), expression=args[0])
        if e.fn == "date_trunc":
            t = args[1] if e.args[1].type != T.DATE else self.cast_to(args[1], T.TIMESTAMP)
            return exp.func("date_trunc", args[0], t, dialect=self.dialect)
        return exp.func("to_char", args[0], args[1], dialect=self.dialect)

    # ---- the shared translation

    def literal(self, value: object, t: T.Type) -> exp.Expression:
        if value is None:
            return exp.Null() if t == T.NULL else self.cast_to(exp.Null(), t)
        if t == T.BOOL:
            return exp.Boolean(this=bool(value))
        if t.is_integer:
            e = lit_int(int(value))  # type: ignore[arg-type]
            return e if t == T.BIGINT else self.cast_to(e, t)
        if t == T.DOUBLE:
            f = float(value)  # type: ignore[arg-type]
            if math.isnan(f) or math.isinf(f):
                text = "NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity")
                return self.cast_to(exp.Literal.string(text), t)
            # repr is the shortest text that reads back to the same double
            return self.double_literal(repr(f))
        if t.name == "decimal":
            return self.cast_to(exp.Literal.string(str(decimal.Decimal(str(value)))), t)
        if t == T.STRING:
            return exp.Literal.string(str(value))
        if t == T.BYTES:
            return self.bytes_literal(bytes(value))  # type: ignore[arg-type]
        if t.is_time_point:
            if isinstance(value, dt.datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(dt.UTC).replace(tzinfo=None)
                value = (value - EPOCH) // dt.timedelta(microseconds=1)
            return self.time_literal(int(value), t)  # type: ignore[arg-type]
        if t == T.DATE:
            if isinstance(value, dt.date):
                value = (value - EPOCH.date()).days
            return self.date_literal(int(value))  # type: ignore[arg-type]
        if t == T.INTERVAL:
            if isinstance(value, dt.timedelta):
                value = value // dt.timedelta(microseconds=1)
            return self.interval(int(value))  # type: ignore[arg-type]
        raise UnsupportedFeature(f"a literal of type {t}", self.target)

    def expr(self, e: ir.Expr) -> exp.Expression:
        """sqlglot expression computing IR expression e over columns named as in the IR."""
        if isinstance(e, ir.ColumnRef):
            return col(e.name)
        if isinstance(e, ir.Literal):
            return self.literal(e.value, e.type)
        if isinstance(e, ir.Cast):
            inner = self.expr(e.expr)
            return inner if e.expr.type == e.type else self.cast(inner, e.expr.type, e.type)
        if isinstance(e, ir.Case):
            ifs = [exp.If(this=self.expr(c), true=self.case_branch(self.expr(v), v.type, e.type))
                   for c, v in e.whens]
            default = self.case_branch(self.expr(e.else_), e.else_.type, e.type) if e.else_ is not None else None
            return self.exact(exp.Case(ifs=ifs, default=default), e.type)
        if isinstance(e, ir.Call):
            return self._call(e)
        raise UnsupportedFeature(f"expression {type(e).__name__}", self.target, getattr(e, "span", None))

    def _call(self, e: ir.Call) -> exp.Expression:
        fn = e.fn
        if fn not in SCALARS:
            raise UnsupportedFeature(f"function '{fn}'", self.target, e.span)
        args = self.call_args(e, [self.expr(a) for a in e.args])
        special = self.special_call(e, args)
        if special is not None:
            return special
        out: exp.Expression
        if fn in _BINARY:
            out = _BINARY[fn](this=paren(args[0]), expression=paren(args[1]))
        elif fn == "div":
            # typed=True keeps SQL's `/` as written (integer division truncates, as the IR says);
            # without it the Postgres writer inserts a cast to DOUBLE PRECISION.
            out = exp.Div(this=paren(args[0]), expression=paren(args[1]), typed=True, safe=False)
        elif fn == "neg":
            out = exp.Neg(this=paren(args[0]))
        elif fn == "not":
            out = exp.Not(this=paren(args[0]))
        elif fn == "is_null":
            out = is_null(paren(args[0]))
        elif fn == "is_not_null":
            out = exp.Not(this=is_null(paren(args[0])))
        elif fn == "in":
            out = exp.In(this=paren(args[0]), expressions=args[1:])
        elif fn in _UNARY:
            out = _UNARY[fn](this=args[0])
        elif fn in _ROUNDING:
            node = _ROUNDING[fn]
            out = node(this=args[0], decimals=args[1]) if len(args) == 2 else node(this=args[0])
        elif fn == "coalesce":
            out = exp.Coalesce(this=args[0], expressions=args[1:])
        elif fn in MATH_FUNCTIONS:
            return self.math_function(e, args)
        elif fn in TIME_FUNCTIONS and fn in self.plain_functions:
            out = self.time_function(e, args)
        elif fn in ("like", "ilike") and fn in self.plain_functions:
            out = (exp.Like if fn == "like" else exp.ILike)(this=paren(args[0]), expression=paren(args[1]))
        elif fn in PLAIN_SQL and fn in self.plain_functions:
            if fn in INT_ARGS:
                args = [self.cast_to(x, T.INT) if a.type.is_integer and a.type != T.INT else x
                        for a, x in zip(e.args, args, strict=True)]
            # sqlglot's own node for the name, so that the SQL reads back as itself in our dialect
            out = exp.func(PLAIN_SQL[fn], *args, dialect=self.dialect)
        else:
            raise UnsupportedFeature(f"function '{fn}'", self.target, e.span)
        return self.call_result(e, out)

    def aggregate(self, a: ir.AggCall) -> exp.Expression:
        arg = self.expr(a.arg) if a.arg is not None else None
        out: exp.Expression
        if a.fn == "count":
            out = exp.Count(this=exp.Star() if arg is None else arg)
        elif a.fn == "count_distinct":
            out = exp.Count(this=exp.Distinct(expressions=[arg]))
        elif a.fn in _AGGREGATES:
            out = _AGGREGATES[a.fn](this=arg)
        else:
            raise UnsupportedFeature(f"aggregate '{a.fn}'", self.target, a.span)
        return self.aggregate_result(a, out)
