"""IR expressions as DataFusion SQL: the shared translation (`flowc.targets.sql.expressions`) with
DataFusion's hooks.

Where DataFusion's result type differs from the IR's (length is Int32, floor/ceil of an integer
are Float64, decimal arithmetic widens precision, time arithmetic may change units) the result is
cast back, so a view's Arrow schema is exactly its IR schema. Times are written as integers
through `arrow_cast`, which names the exact Arrow type.
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.functions import PLAIN_SQL, TIME_FUNCTIONS
from flowc.targets.sql.expressions import SqlExpressions, is_null, lit_int, paren
from flowc.targets.sql.timeaxis import TimeAxis
from sqlglot import exp

from .dialect import DataFusion
from .types import arrow_cast, arrow_type, cast_to, needs_exact_cast

TARGET = "datafusion"
FLOAT8_TEXT = "flowc_float8_text"  # a double as PostgreSQL prints it; registered by runner.session


def time_micros(e: exp.Expression, t: T.Type) -> exp.Expression:
    """Integer microseconds since the epoch of a time point (timestamp, timestamptz or date)."""
    if t == T.DATE:
        e = arrow_cast(e, arrow_type(T.TIMESTAMP))
    return exp.Cast(this=e, to=exp.DataType.build("BIGINT"))


def time_text(e: exp.Expression, zoned: bool) -> exp.Expression:
    """A time point as PostgreSQL prints it (`2015-07-15 00:00:01.5`; `+00` after a timestamptz):
    DataFusion's own cast prints `2015-07-15T00:00:01.500`."""
    base = exp.Anonymous(this="to_char", expressions=[e, exp.Literal.string("%Y-%m-%d %H:%M:%S")])
    # EXTRACT(MICROSECOND) counts the second's microseconds and its seconds (never negative)
    frac = exp.Mod(this=exp.Extract(this=exp.var("MICROSECOND"), expression=e.copy()),
                   expression=lit_int(1_000_000))
    digits = exp.Anonymous(this="rtrim", expressions=[
        exp.Anonymous(this="lpad", expressions=[cast_to(paren(frac.copy()), T.STRING), lit_int(6),
                                                exp.Literal.string("0")]), exp.Literal.string("0")])
    tail = exp.Case(ifs=[exp.If(this=exp.EQ(this=paren(frac), expression=lit_int(0)), true=exp.Literal.string(""))],
                    default=exp.DPipe(this=exp.Literal.string("."), expression=digits))
    out = exp.DPipe(this=base, expression=tail)
    if zoned:
        out = exp.DPipe(this=out, expression=exp.Literal.string("+00"))
    return cast_to(out, T.STRING)


class DataFusionExpressions(SqlExpressions):
    target = TARGET
    dialect = DataFusion

    def cast_to(self, e, t):
        return cast_to(e, t)

    def interval(self, micros):
        return arrow_cast(lit_int(micros), arrow_type(T.INTERVAL))

    def time_literal(self, micros, t):
        return arrow_cast(lit_int(micros), arrow_type(t))

    def date_literal(self, days):
        return arrow_cast(lit_int(days), arrow_type(T.DATE))

    def bytes_literal(self, value):
        return exp.Anonymous(this="decode", expressions=[exp.Literal.string(value.hex()), exp.Literal.string("hex")])

    def cast(self, inner, have, want):
        if have.is_time_point and want == T.STRING:
            return time_text(inner, have == T.TIMESTAMPTZ)
        if have == T.DOUBLE and want == T.STRING:  # PostgreSQL's text: flowc's function (runner.session)
            return exp.Anonymous(this=FLOAT8_TEXT, expressions=[inner])
        if want.is_time_point and have.is_integer:
            # an integer read as a time point counts microseconds since the epoch, like IR literals
            return arrow_cast(cast_to(inner, T.BIGINT), arrow_type(want))
        # Arrow has no cast between boolean and decimal: through an integer one way (true is 1),
        # a comparison with zero the other
        if have == T.BOOL and want.name == "decimal":
            return cast_to(cast_to(inner, T.INT), want)
        if want == T.BOOL and have.name == "decimal":
            return exp.NEQ(this=paren(inner), expression=lit_int(0))
        return cast_to(inner, want)

    def case_branch(self, e, have, want):
        return e if have == want or want == T.NULL else cast_to(e, want)

    def exact(self, out, t):
        return cast_to(out, t) if needs_exact_cast(t) else out

    def aggregate(self, a: ir.AggCall) -> exp.Expression:
        if a.fn == "count" and a.arg is not None and not ir.columns_used(a.arg):
            # DataFusion 55 folds count(<constant>) into count(1), the same expression as count(*),
            # and then refuses the plan for a duplicate field name when both are in one aggregate
            # (tests/corpus/regressions/datafusion_count_constant_and_count_rows). A constant is either
            # null in every row or in none, so the count is 0 or the row count.
            when = exp.If(this=is_null(paren(self.expr(a.arg))), true=lit_int(0))
            return exp.Case(ifs=[when], default=exp.Count(this=exp.Star()))
        if a.fn == "count_distinct":
            # DataFusion 55 counts the null when an argument it folds to a constant null sits beside
            # count(*) in a global aggregate (tests/corpus/regressions/
            # datafusion_count_distinct_of_a_constant_null); a FILTER on the nulls, which COUNT
            # DISTINCT skips anyway, keeps it off that path
            arg = self.expr(a.arg)
            counted = exp.Count(this=exp.Distinct(expressions=[arg]))
            only = exp.Where(this=exp.Not(this=is_null(paren(arg.copy()))))
            return self.aggregate_result(a, exp.Filter(this=counted, expression=only))
        return super().aggregate(a)

    def aggregate_result(self, a: ir.AggCall, out):
        # an integer sum over a narrower integer would otherwise keep DataFusion's type
        widened = a.type.is_integer and a.fn == "sum" and a.arg is not None and a.arg.type != a.type
        return cast_to(out, a.type) if needs_exact_cast(a.type) or widened else out

    def call_args(self, e: ir.Call, args):
        types = [a.type for a in e.args]
        if e.fn in ("add", "sub") and T.DATE in types and e.type != T.INTERVAL:
            # date +/- interval is a timestamp in the IR; DataFusion would keep a date
            return [arrow_cast(a, arrow_type(T.TIMESTAMP)) if t == T.DATE else a for a, t in zip(args, types,
                                                                                              strict=True)]
        return args

    def special_call(self, e: ir.Call, args):
        if e.fn == "length":
            return cast_to(exp.Length(this=args[0]), T.BIGINT)  # DataFusion's length is Int32
        if e.fn in ("floor", "ceil", "round"):
            if e.args[0].type.is_integer and len(args) == 1:
                return args[0]  # integral already; DataFusion would detour through Float64
        return None

    def time_function(self, e: ir.Call, args):
        if e.fn == "extract_second":  # DataFusion's second is whole; its microsecond counts the seconds too
            micros = exp.Extract(this=exp.var("MICROSECOND"), expression=args[0])
            return exp.Div(this=cast_to(micros, T.DOUBLE), expression=exp.Literal.number("1000000.0"),
                           typed=True, safe=False)
        if e.fn == "to_char":
            from flowc.compiler.diagnostics import UnsupportedFeature
            from flowc.compiler.timeformat import FormatError, chrono

            try:
                fmt = chrono(str(e.args[1].value))
            except FormatError as err:
                raise UnsupportedFeature(str(err), TARGET, e.span,
                                         "DataFusion formats YYYY YY MM DD DDD HH24 HH12 HH MI SS MS US Mon Dy AM "
                                         "FMMonth FMDay") from None
            # an anonymous call: sqlglot's TO_CHAR node would map the format as PostgreSQL's
            return exp.Anonymous(this="to_char", expressions=[args[0], exp.Literal.string(fmt)])
        return super().time_function(e, args)

    def call_result(self, e: ir.Call, out):
        # floor/ceil/round may come back in another type than the IR says (an integer rounded
        # to some digits is Float64), and left/right/concat... as Utf8View: always cast back
        if e.fn in ("floor", "ceil", "round") or e.fn in PLAIN_SQL or e.fn in TIME_FUNCTIONS:
            return cast_to(out, e.type)
        return self.exact(out, e.type)


class MicrosAxis(TimeAxis):
    """Times as integer microseconds: DataFusion cannot multiply an INTERVAL by an integer, and
    `date_bin` works in nanoseconds, which would overflow outside the years 1677-2262."""

    counts_micros = True

    def value(self, e, t):
        return time_micros(e, t)

    def duration(self, micros):
        return lit_int(micros)

    def to_time(self, e, t):
        return arrow_cast(e, arrow_type(t))

    def micros(self, e):
        return e


X = DataFusionExpressions()
AXIS = MicrosAxis()

__all__ = ["TARGET", "DataFusionExpressions", "MicrosAxis", "X", "AXIS",
           "time_micros"]
