"""IR expressions, aggregates and types as Flink SQL: the shared SQL translation
(`flowc.targets.sql.expressions`) with Flink's hooks.

Where Flink's result type or meaning differs from the IR's, the expression is rewritten so the
value is the IR's (each measured on Flink 2.3, `../shared/reference/flink.md`):
- `SUM(INT)` stays INT and wraps: the argument is widened to BIGINT first (the IR's sum is BIGINT);
- `AVG` of integers is an integer: the argument is a DOUBLE first (the IR's avg is DOUBLE);
- a bare `1.5` is DECIMAL(2, 1) in Calcite: doubles are written `1.5E0`;
- CHAR_LENGTH is INT: cast to BIGINT;
- results whose type Flink derives differently (decimal precision, CASE branches, FLOOR of a
  decimal) are cast back to the IR type, so a view's columns have exactly the IR's types.
Intervals have millisecond precision on Flink (`INTERVAL DAY TO SECOND(3)` holds milliseconds): a
finer duration is refused at compile time.
"""

from __future__ import annotations

import decimal

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.targets.sql.expressions import SqlExpressions, date_text, lit_int, paren, timestamp_text
from sqlglot import exp

TARGET = "flink"
MILLI = 1_000

_TYPE_NAMES = {"bool": "BOOLEAN", "int": "INT", "bigint": "BIGINT", "double": "DOUBLE", "string": "STRING",
               "bytes": "BYTES", "date": "DATE", "timestamp": "TIMESTAMP(6)", "timestamptz": "TIMESTAMP_LTZ(6)"}


def sql_type(t: T.Type, span=None) -> exp.DataType:
    """Flink's name for an IR type: timestamps keep microseconds (TIMESTAMP(6)), except event-time
    columns, which the DDL declares TIMESTAMP(3) (`ROWTIME`)."""
    if t.name == "decimal":
        return exp.DataType.build(f"DECIMAL({t.precision or 38}, {t.scale or 0})")
    name = _TYPE_NAMES.get(t.name)
    if name is None:
        raise UnsupportedFeature(f"a value of type {t}", TARGET, span,
                                 hint="Flink SQL has no column type for it in flowc's Flink target")
    from .dialect import DIALECT

    return exp.DataType.build(name, dialect=DIALECT)


ROWTIME_TYPE = "TIMESTAMP(3)"


def rowtime_type() -> exp.DataType:
    from .dialect import DIALECT

    return exp.DataType.build(ROWTIME_TYPE, dialect=DIALECT)


def cast_to(e: exp.Expression, t: T.Type) -> exp.Expression:
    return exp.Cast(this=e, to=sql_type(t))


_UNITS = (("DAY", 86_400_000_000), ("HOUR", 3_600_000_000), ("MINUTE", 60_000_000), ("SECOND", 1_000_000))


def interval(micros: int, span=None) -> exp.Expression:
    """A DAY TO SECOND interval literal of `micros` (a whole number of milliseconds).

    Calcite gives single-unit literals a leading precision of 2 (`INTERVAL '100' SECOND` is refused),
    so a value of 100 or more of its unit is written `INTERVAL 'd hh:mm:ss.fff' DAY(p) TO SECOND(3)`."""
    if micros < 0:
        return exp.Neg(this=interval(-micros, span))
    if micros % MILLI:
        raise UnsupportedFeature(f"the duration {micros}us", TARGET, span,
                                 hint="Flink's intervals and event times have millisecond precision: "
                                      "use a whole number of milliseconds")
    for unit, size in _UNITS:
        if micros % size == 0 and micros // size < 100 and (micros > 0 or unit == "SECOND"):
            return exp.Interval(this=exp.Literal.string(str(micros // size)), unit=exp.var(unit))
    if micros < 100 * 1_000_000:
        text = str(decimal.Decimal(micros) / decimal.Decimal(1_000_000))
        return exp.Interval(this=exp.Literal.string(text), unit=exp.var("SECOND"))
    ms = micros // MILLI
    days, ms = divmod(ms, 86_400_000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    text = f"{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}"
    precision = max(2, len(str(days)))
    if precision > 6:
        raise UnsupportedFeature(f"a duration of {days} days", TARGET, span, hint="Flink's intervals hold at most "
                                                                                   "999999 days")
    unit = exp.IntervalSpan(this=exp.var(f"DAY({precision})"), expression=exp.var("SECOND(3)"))
    return exp.Interval(this=exp.Literal.string(text), unit=unit)


def typed_string(text: str, t: T.Type) -> exp.Expression:
    return exp.Cast(this=exp.Literal.string(text), to=sql_type(t))


class FlinkExpressions(SqlExpressions):
    # Flink's functions of these names mean other things (CONCAT and GREATEST are null if any argument
    # is; SUBSTR counts differently; SPLIT_INDEX counts from 0): none is spelled plainly; the ones
    # special_call spells (extract, replace, split_part, to_char) are written out there, the others
    # are refused at compile time (issue 13)
    plain_functions: frozenset[str] = frozenset()
    target = TARGET

    def cast_to(self, e, t):
        return cast_to(e, t)

    def interval(self, micros):
        return interval(micros)

    def time_literal(self, micros, t):
        if t == T.TIMESTAMPTZ:
            # TIMESTAMP_LTZ has no literal: the UTC wall time read in the session's zone (UTC)
            return exp.Cast(this=typed_string(timestamp_text(micros, False), T.TIMESTAMP), to=sql_type(t))
        return typed_string(timestamp_text(micros, False), t)

    def date_literal(self, days):
        return typed_string(date_text(days), T.DATE)

    def bytes_literal(self, value):
        return exp.HexString(this=value.hex())

    def double_literal(self, text):
        # Calcite reads `1.5` as DECIMAL(2, 1) and `1.5E0` as DOUBLE
        mantissa = text if "e" in text.lower() else text + "E0"
        return exp.Literal.number(mantissa.replace("e", "E"))

    def cast(self, inner, have, want):
        if have.is_time_point and want == T.STRING:
            return _time_text(inner, have == T.TIMESTAMPTZ)
        if have == T.DOUBLE and want == T.STRING:
            raise UnsupportedFeature("a cast from double to string", TARGET, None,
                                     hint="Flink prints Java's text (1.0E20) where flowc prints PostgreSQL's "
                                          "(1e+20): cast to decimal(p, s) first, whose text is the same everywhere")
        if have.is_integer and want.is_time_point:
            raise UnsupportedFeature(f"a cast from {have} to {want}", TARGET, None,
                                     hint="flowc reads an integer as microseconds since the epoch; Flink "
                                          "casts none to TIMESTAMP: compute the time from a timestamp column")
        if want.is_integer and (have.is_time_point or have in (T.DATE, T.INTERVAL)):
            raise UnsupportedFeature(f"a cast from {have} to {want}", TARGET, None,
                                     hint="Flink gives no microseconds-since-epoch cast")
        return cast_to(inner, want)

    def case_branch(self, e, have, want):
        if have == T.NULL and want != T.NULL:
            return cast_to(exp.Null(), want)
        return e if have == want or want == T.NULL or have.is_time_point else cast_to(e, want)

    def exact(self, out, t):
        # Times stay Flink's (TIMESTAMP(3) for event times): a cast would end a time attribute, which
        # windows and interval joins need; sinks cast every time to the IR's type (sqlgen.py)
        return out if t == T.NULL or t.is_time_point else cast_to(out, t)

    def call_result(self, e: ir.Call, out):
        if e.fn in _EXACT:
            return out
        return self.exact(out, e.type)

    def literal(self, value, t):
        if value is None and t == T.NULL:
            # Calcite refuses a bare NULL almost everywhere ("Illegal use of 'NULL'"); a NULL whose
            # IR type is still open is typed by its call (call_args), else it is a BOOLEAN
            return cast_to(exp.Null(), T.BOOL)
        return super().literal(value, t)

    def call_args(self, e: ir.Call, args):
        types = [a.type for a in e.args]
        if T.NULL in types:
            # a NULL operand takes the type of the others (`16 - NULL` is a BIGINT NULL)
            known = [t for t in types if t != T.NULL]
            peer = known[0] if known else (e.type if e.type not in (T.BOOL, T.NULL) else T.BOOL)
            for t in known[1:]:
                peer = T.common_type(peer, t) or peer
            if e.fn == "concat":
                peer = T.STRING
            args = [cast_to(exp.Null(), peer) if t == T.NULL else a for a, t in zip(args, types, strict=True)]
        if e.fn == "in":
            return args
        if e.fn in ("add", "sub", "mul", "div", "mod") and e.type.is_numeric:
            # operands of the result type: Flink's DECIMAL and INT arithmetic differ from the IR's
            return [a if t == e.type or t == T.NULL else cast_to(a, e.type)
                    for a, t in zip(args, (x.type for x in e.args), strict=True)]
        return args

    def special_call(self, e: ir.Call, args):
        types = [a.type for a in e.args]
        spelled = self._text_and_time(e, args)
        if spelled is not None:
            return spelled
        if e.fn == "length":
            return cast_to(exp.Anonymous(this="CHAR_LENGTH", expressions=[args[0]]), T.BIGINT)
        if e.fn in ("floor", "ceil", "round") and types[0].is_integer and (
                len(args) == 1 or _nonneg_literal(e.args[1])):
            return args[0]  # integral already
        if e.fn == "mod":
            return self.call_result(e, exp.Anonymous(this="MOD", expressions=[paren(args[0]), paren(args[1])]))
        if e.fn == "div" and not isinstance(e.args[1], ir.Literal) and not ir.columns_used(e.args[1]):
            # Flink 2.3's constant reduction takes a constant divisor for a literal and fails on any
            # other constant (ExpressionReducer.skipAndValidateExprs: ClassCastException): fold it here
            folded = _fold(e.args[1])
            if folded is not None:
                divisor = self.literal(folded, e.args[1].type)
                out = exp.Div(this=paren(args[0]), expression=paren(divisor), typed=True, safe=False)
                return self.call_result(e, out)
        if e.fn == "round" and len(args) == 2:
            return self.call_result(e, exp.Round(this=args[0], decimals=cast_to(args[1], T.INT)))
        return None

    def _text_and_time(self, e: ir.Call, args):
        """Issue 13's functions that Flink can mean as PostgreSQL does, written out."""
        if e.fn.startswith("extract_"):
            field = e.fn.removeprefix("extract_")
            if field in ("second", "epoch"):
                raise UnsupportedFeature(f"extract({field} from ...)", TARGET, e.span,
                                         "Flink's EXTRACT(SECOND) drops the fraction and it has no EPOCH; "
                                         "nearest: extract(minute ...) or a timestamp difference")
            out = exp.Extract(this=exp.var(field.upper()), expression=args[0])
            if field == "dow":  # Calcite counts Sunday 1 .. Saturday 7; PostgreSQL Sunday 0
                out = exp.Sub(this=out, expression=lit_int(1))
            return cast_to(out, T.BIGINT)
        if e.fn == "replace":
            out = exp.Anonymous(this="REPLACE", expressions=args)
            f = e.args[1]
            if isinstance(f, ir.Literal) and isinstance(f.value, str) and f.value:
                return out
            # Java's replace puts `to` between every character for an empty `from`; PostgreSQL changes nothing
            empty = exp.EQ(this=paren(args[1].copy()), expression=exp.Literal.string(""))
            return exp.Case(ifs=[exp.If(this=empty, true=args[0].copy())], default=out)
        if e.fn == "split_part":
            n, d = e.args[2], e.args[1]
            if not (isinstance(n, ir.Literal) and isinstance(n.value, int) and n.value >= 1
                    and isinstance(d, ir.Literal) and isinstance(d.value, str) and d.value):
                raise UnsupportedFeature("split_part with a field number that is not a positive constant, or a "
                                         "delimiter that is not a non-empty constant", TARGET, e.span,
                                         "Flink's SPLIT_INDEX counts fields from 0 and has no negative fields")
            part = exp.Anonymous(this="SPLIT_INDEX", expressions=[args[0], args[1], lit_int(n.value - 1)])
            # SPLIT_INDEX is null past the last field; PostgreSQL gives ''
            whole = exp.Coalesce(this=part, expressions=[exp.Literal.string("")])
            return exp.Case(ifs=[exp.If(this=exp.Is(this=paren(args[0].copy()), expression=exp.Null()),
                                        true=cast_to(exp.Null(), T.STRING))], default=whole)
        if e.fn == "to_char":
            from flowc.compiler.timeformat import FormatError, java

            try:
                pattern = java(str(e.args[1].value))
            except FormatError as err:
                raise UnsupportedFeature(str(err), TARGET, e.span,
                                         "Flink formats YYYY YY MM DD DDD HH24 HH12 HH MI SS MS Mon Dy AM "
                                         "FMMonth FMDay (and FM before the numbers)") from None
            return exp.Anonymous(this="DATE_FORMAT", expressions=[args[0], exp.Literal.string(pattern)])
        return None

    def aggregate(self, a: ir.AggCall) -> exp.Expression:
        if a.arg is not None and a.arg.type.is_time_point:
            # a time aggregated is a plain TIMESTAMP: Flink's planner otherwise may take MAX of a
            # rowtime expression for a time attribute and fail on its own plan ("Type mismatch")
            arg = exp.Cast(this=self.expr(a.arg), to=sql_type(a.arg.type))
            node = {"min": exp.Min, "max": exp.Max}.get(a.fn)
            if node is not None:
                return node(this=arg)
            if a.fn == "count":
                return exp.Count(this=arg)
            if a.fn == "count_distinct":
                return exp.Count(this=exp.Distinct(expressions=[arg]))
        if a.arg is not None and a.fn in ("sum", "avg"):
            want = T.BIGINT if a.fn == "sum" and a.arg.type.is_integer else (
                T.DOUBLE if a.fn == "avg" and a.arg.type.is_integer else None)
            if want is not None:
                arg = cast_to(self.expr(a.arg), want)
                node = exp.Sum if a.fn == "sum" else exp.Avg
                return self.aggregate_result(a, node(this=arg))
        return super().aggregate(a)

    def aggregate_result(self, a: ir.AggCall, out):
        # COUNT is BIGINT, MIN/MAX keep their argument's type, SUM/AVG of BIGINT/DOUBLE (integers are
        # widened above) too; only decimal sums and averages need the cast to the IR's precision
        if a.fn in ("count", "count_distinct", "min", "max") or a.type in (T.BIGINT, T.DOUBLE):
            return out
        return self.exact(out, a.type)


# IR functions whose Flink result type is already the IR's (no cast needed)
_EXACT = ("eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "is_null", "is_not_null", "in", "concat",
          "lower", "upper")


def _time_text(e: exp.Expression, zoned: bool) -> exp.Expression:
    """A time point as PostgreSQL prints it (`2015-07-15 00:00:01.5`, `+00` after a timestamptz):
    Flink's CAST prints every digit of the type's precision (`...01.500000`), which is cut here."""
    def text() -> exp.Expression:
        return cast_to(e.copy(), T.STRING)

    def digits() -> exp.Expression:
        fraction = exp.Substring(this=text(), start=lit_int(21))
        return exp.Trim(this=fraction, expression=exp.Literal.string("0"), position="TRAILING")

    base = exp.Substring(this=text(), start=lit_int(1), length=lit_int(19))
    tail = exp.Case(ifs=[exp.If(this=exp.EQ(this=digits(), expression=exp.Literal.string("")),
                                true=exp.Literal.string(""))],
                    default=exp.DPipe(this=exp.Literal.string("."), expression=digits()))
    out = exp.DPipe(this=base, expression=tail)
    if zoned:
        out = exp.DPipe(this=out, expression=exp.Literal.string("+00"))
    return exp.Case(ifs=[exp.If(this=exp.Is(this=paren(e.copy()), expression=exp.Null()),
                                true=cast_to(exp.Null(), T.STRING))], default=out)


def _fold(e: ir.Expr) -> object | None:
    """The value of a constant expression, computed by the local runtime's expression kernels (so
    with the IR's meaning); None when they cannot compute it."""
    import pyarrow as pa
    from flowc.compiler.diagnostics import FlowError
    from flowc.targets.local_exprs import compile_expr

    try:
        value = compile_expr(e)(pa.record_batch([pa.array([0])], names=["__one"]))
    except (FlowError, pa.ArrowException, ValueError, TypeError):
        return None
    if isinstance(value, pa.Array):
        value = value[0]
    return value.as_py()


def _nonneg_literal(e: ir.Expr) -> bool:
    return isinstance(e, ir.Literal) and isinstance(e.value, int) and e.value >= 0


X = FlinkExpressions()

__all__ = ["TARGET", "FlinkExpressions", "X", "sql_type", "cast_to", "interval", "rowtime_type", "ROWTIME_TYPE",
           "lit_int"]
