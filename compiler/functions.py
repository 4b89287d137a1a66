"""The scalar operators and functions of the IR, with their typing rules.

`Call.fn` is always a key of SCALARS. Each target maps these names to its engine (pyarrow compute
kernels, SQL functions). Adding a function here without a mapping in a target makes that target
raise UnsupportedFeature for it, by design.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import types as T
from .types import Type


class TypeRuleError(Exception):
    """Raised by a typing rule; the message is shown to the user."""


@dataclass(frozen=True)
class Scalar:
    name: str
    min_args: int
    max_args: int | None  # None: variadic
    rule: Callable[[Sequence[Type]], Type]
    doc: str = ""


def _numeric(name: str):
    def rule(args: Sequence[Type]) -> Type:
        out = T.numeric_supertype(args[0], args[1])
        if out is None:
            raise TypeRuleError(f"'{name}' needs numbers, got {args[0]} and {args[1]}")
        return out
    return rule


def _add(args: Sequence[Type]) -> Type:
    a, b = args
    if a.is_temporal and b == T.INTERVAL:
        return T.TIMESTAMP if a == T.DATE else a
    if a == T.INTERVAL and b.is_temporal:
        return T.TIMESTAMP if b == T.DATE else b
    if a == T.INTERVAL and b == T.INTERVAL:
        return T.INTERVAL
    return _numeric("+")(args)


def _sub(args: Sequence[Type]) -> Type:
    a, b = args
    if a.is_temporal and b == T.INTERVAL:
        return T.TIMESTAMP if a == T.DATE else a
    if a.is_time_point and b.is_time_point:
        return T.INTERVAL
    if a == T.INTERVAL and b == T.INTERVAL:
        return T.INTERVAL
    return _numeric("-")(args)


def _div(args: Sequence[Type]) -> Type:
    return _numeric("/")(args)


def _compare(args: Sequence[Type]) -> Type:
    if T.common_type(args[0], args[1]) is None:
        raise TypeRuleError(f"cannot compare {args[0]} with {args[1]}")
    return T.BOOL


def _logic(args: Sequence[Type]) -> Type:
    for a in args:
        if a not in (T.BOOL, T.NULL):
            raise TypeRuleError(f"'and'/'or'/'not' need bool operands, got {a}")
    return T.BOOL


def _neg(args: Sequence[Type]) -> Type:
    if not (args[0].is_numeric or args[0] in (T.INTERVAL, T.NULL)):
        raise TypeRuleError(f"cannot negate {args[0]}")
    return args[0]


def _in(args: Sequence[Type]) -> Type:
    for a in args[1:]:
        if T.common_type(args[0], a) is None:
            raise TypeRuleError(f"'in' list item of type {a} cannot match {args[0]}")
    return T.BOOL


def _strings(args: Sequence[Type]) -> Type:
    for a in args:
        if a not in (T.STRING, T.NULL):
            raise TypeRuleError(f"expected string, got {a}")
    return T.STRING


def _length(args: Sequence[Type]) -> Type:
    _strings(args)
    return T.BIGINT


def _same_numeric(args: Sequence[Type]) -> Type:
    if not (args[0].is_numeric or args[0] == T.NULL):
        raise TypeRuleError(f"expected a number, got {args[0]}")
    return args[0]


def _round(args: Sequence[Type]) -> Type:
    if len(args) == 2 and not (args[1].is_integer or args[1] == T.NULL):
        raise TypeRuleError(f"round's digits must be an integer, got {args[1]}")
    return _same_numeric(args[:1])


def _coalesce(args: Sequence[Type]) -> Type:
    out = args[0]
    for a in args[1:]:
        nxt = T.common_type(out, a)
        if nxt is None:
            raise TypeRuleError(f"coalesce mixes {out} and {a}")
        out = nxt
    return out


def _bool(args: Sequence[Type]) -> Type:
    return T.BOOL


def _signature(*kinds: str, result: Type):
    """A rule for arguments of fixed kinds ('string', 'integer'); the result type is fixed."""
    def rule(args: Sequence[Type]) -> Type:
        for i, (a, kind) in enumerate(zip(args, kinds, strict=False), 1):
            if a == T.NULL:
                continue
            if kind == "string" and a != T.STRING:
                raise TypeRuleError(f"argument {i} must be a string, got {a}")
            if kind == "integer" and not a.is_integer:
                raise TypeRuleError(f"argument {i} must be an integer, got {a}")
        return result
    return rule


def _math(name: str):
    def rule(args: Sequence[Type]) -> Type:
        for a in args:
            if not (a.is_numeric or a == T.NULL):
                raise TypeRuleError(f"'{name}' needs numbers, got {a}")
        return T.DOUBLE
    return rule


def _nullif(args: Sequence[Type]) -> Type:
    _compare(args)
    return args[0]


def _extreme(args: Sequence[Type]) -> Type:
    out = _coalesce(args)
    if out in (T.BYTES,):
        raise TypeRuleError(f"cannot order values of type {out}")
    return out


# extract(FIELD from t): the fields and their result types (PostgreSQL's numeric results: integers
# as bigint; second (with its fraction) and epoch as double)
EXTRACT_FIELDS = {"year": T.BIGINT, "month": T.BIGINT, "day": T.BIGINT, "hour": T.BIGINT, "minute": T.BIGINT,
                  "second": T.DOUBLE, "dow": T.BIGINT, "doy": T.BIGINT, "epoch": T.DOUBLE}
DATE_FIELDS = ("year", "month", "day", "dow", "doy", "epoch")  # what PostgreSQL extracts from a date
# date_trunc('UNIT', t): the units (PostgreSQL's; a week starts on Monday)
TRUNC_UNITS = ("second", "minute", "hour", "day", "week", "month", "quarter", "year")


def _extract_rule(field: str):
    def rule(args: Sequence[Type]) -> Type:
        a = args[0]
        if a != T.NULL and not a.is_temporal:
            raise TypeRuleError(f"extract needs a timestamp, timestamptz or date, got {a}")
        if a == T.DATE and field not in DATE_FIELDS:
            raise TypeRuleError(f"a date has no {field}: extract it from cast(d as timestamp)")
        return EXTRACT_FIELDS[field]
    return rule


def _date_trunc(args: Sequence[Type]) -> Type:
    unit, t = args
    if unit not in (T.STRING, T.NULL):
        raise TypeRuleError(f"date_trunc's unit is a string such as 'day', got {unit}")
    if t != T.NULL and not t.is_temporal:
        raise TypeRuleError(f"date_trunc needs a timestamp, timestamptz or date, got {t}")
    return T.TIMESTAMP if t in (T.DATE, T.NULL) else t


def _to_char(args: Sequence[Type]) -> Type:
    t, fmt = args
    if t != T.NULL and not t.is_temporal:
        raise TypeRuleError(f"to_char formats a timestamp, timestamptz or date, got {t}")
    if fmt not in (T.STRING, T.NULL):
        raise TypeRuleError(f"to_char's format is a string such as 'YYYY-MM-DD', got {fmt}")
    return T.STRING


SCALARS: dict[str, Scalar] = {s.name: s for s in [
    Scalar("add", 2, 2, _add, "a + b"),
    Scalar("sub", 2, 2, _sub, "a - b"),
    Scalar("mul", 2, 2, _numeric("*"), "a * b"),
    Scalar("div", 2, 2, _div, "a / b (integer division truncates for integers, as in SQL)"),
    Scalar("mod", 2, 2, _numeric("%"), "mod(a, b): a % b (the sign of a; b = 0 is an error)"),
    Scalar("neg", 1, 1, _neg, "-a"),
    Scalar("eq", 2, 2, _compare, "a = b"),
    Scalar("ne", 2, 2, _compare, "a <> b"),
    Scalar("lt", 2, 2, _compare, "a < b"),
    Scalar("le", 2, 2, _compare, "a <= b"),
    Scalar("gt", 2, 2, _compare, "a > b"),
    Scalar("ge", 2, 2, _compare, "a >= b"),
    Scalar("and", 2, 2, _logic, "a and b (SQL three-valued logic)"),
    Scalar("or", 2, 2, _logic, "a or b (SQL three-valued logic)"),
    Scalar("not", 1, 1, _logic, "not a"),
    Scalar("is_null", 1, 1, _bool, "a is null"),
    Scalar("is_not_null", 1, 1, _bool, "a is not null"),
    Scalar("in", 2, None, _in, "a in (b, c, ...)"),
    Scalar("concat", 2, 2, _strings, "a || b"),
    Scalar("lower", 1, 1, _strings, "lower(s)"),
    Scalar("upper", 1, 1, _strings, "upper(s)"),
    Scalar("length", 1, 1, _length, "length(s), in characters"),
    Scalar("abs", 1, 1, _same_numeric, "abs(x)"),
    Scalar("round", 1, 2, _round, "round(x [, digits])"),
    Scalar("floor", 1, 1, _same_numeric, "floor(x)"),
    Scalar("ceil", 1, 1, _same_numeric, "ceil(x)"),
    Scalar("coalesce", 1, None, _coalesce, "coalesce(a, b, ...): the first non-null"),
    # strings, as PostgreSQL means them (positions count characters from 1)
    Scalar("substr", 2, 3, _signature("string", "integer", "integer", result=T.STRING),
           "substr(s, start [, count]): count characters from position start (1-based; a start before 1 "
           "shortens the count; a negative count is an error)"),
    Scalar("replace", 3, 3, _signature("string", "string", "string", result=T.STRING),
           "replace(s, from, to): every occurrence of from replaced (an empty from changes nothing)"),
    Scalar("split_part", 3, 3, _signature("string", "string", "integer", result=T.STRING),
           "split_part(s, delimiter, n): the n-th field (1-based; negative counts from the end; '' past "
           "the last; n = 0 is an error)"),
    Scalar("strpos", 2, 2, _signature("string", "string", result=T.BIGINT),
           "strpos(s, sub): the position of the first sub in s (1-based), 0 when absent"),
    Scalar("trim", 1, 1, _signature("string", result=T.STRING), "trim(s): spaces removed from both ends"),
    Scalar("ltrim", 1, 1, _signature("string", result=T.STRING), "ltrim(s): spaces removed from the start"),
    Scalar("rtrim", 1, 1, _signature("string", result=T.STRING), "rtrim(s): spaces removed from the end"),
    Scalar("starts_with", 2, 2, _signature("string", "string", result=T.BOOL),
           "starts_with(s, prefix): whether s begins with prefix"),
    Scalar("lpad", 2, 3, _signature("string", "integer", "string", result=T.STRING),
           "lpad(s, n [, fill]): s filled on the left with fill (default a space) to n characters, or cut "
           "to n"),
    Scalar("rpad", 2, 3, _signature("string", "integer", "string", result=T.STRING),
           "rpad(s, n [, fill]): s filled on the right to n characters, or cut to n"),
    Scalar("left", 2, 2, _signature("string", "integer", result=T.STRING),
           "left(s, n): the first n characters (n < 0: all but the last -n)"),
    Scalar("right", 2, 2, _signature("string", "integer", result=T.STRING),
           "right(s, n): the last n characters (n < 0: all but the first -n)"),
    Scalar("concat_all", 1, None, _strings,
           "concat(a, b, ...): the strings joined, nulls skipped (never null; `a || b` is null if either is)"),
    Scalar("like", 2, 2, _signature("string", "string", result=T.BOOL),
           "s like pattern: % matches any text, _ one character, a backslash escapes the next"),
    Scalar("ilike", 2, 2, _signature("string", "string", result=T.BOOL), "s ilike pattern: like, ignoring case"),
    # time
    *[Scalar(f"extract_{f}", 1, 1, _extract_rule(f), f"extract({f} from t)") for f in EXTRACT_FIELDS],
    Scalar("date_trunc", 2, 2, _date_trunc,
           "date_trunc('unit', t): t rounded down to the unit (second, minute, hour, day, week (from Monday), "
           "month, quarter, year); a date gives a timestamp"),
    Scalar("to_char", 2, 2, _to_char,
           "to_char(t, 'format'): t as text in PostgreSQL's format patterns (YYYY, MM, DD, HH24, HH12, MI, SS, MS, "
           "US, Mon, Dy, AM, ...; the format is a constant)"),
    # math, in double precision; where PostgreSQL raises an error (a root or logarithm of what has
    # none, an overflow) flowc gives null on every target, so one value never stops a stream
    Scalar("sqrt", 1, 1, _math("sqrt"), "sqrt(x): the square root; null for x < 0"),
    Scalar("ln", 1, 1, _math("ln"), "ln(x): the natural logarithm; null for x <= 0"),
    Scalar("exp", 1, 1, _math("exp"), "exp(x): e to the x; null where the result overflows or underflows"),
    Scalar("power", 2, 2, _math("power"),
           "power(a, b): a to the b; null for 0 to a negative power, a negative number to a fraction, an "
           "overflow or underflow"),
    # comparisons
    Scalar("greatest", 1, None, _extreme, "greatest(a, b, ...): the largest, nulls ignored (null if all are)"),
    Scalar("least", 1, None, _extreme, "least(a, b, ...): the smallest, nulls ignored (null if all are)"),
    Scalar("nullif", 2, 2, _nullif, "nullif(a, b): null if a = b, else a"),
]}

# surface names of functions callable by name in .flow (operators have their own syntax)
CALLABLE = ("lower", "upper", "length", "abs", "round", "floor", "ceil", "coalesce", "mod", "substr", "replace",
            "split_part", "strpos", "trim", "ltrim", "rtrim", "starts_with", "lpad", "rpad", "left", "right",
            "concat", "greatest", "least", "nullif", "date_trunc", "to_char", "sqrt", "ln", "exp", "power")
# a surface name whose IR function has another name (`concat` skips nulls; `||` is IR "concat")
SURFACE = {"concat": "concat_all"}

# functions whose SQL spelling is `name(args...)` with PostgreSQL's meaning on PostgreSQL, DataFusion
# and RisingWave (each target's expressions module lists the ones it may spell so; a target without a
# function refuses it at compile time): IR name -> SQL name
PLAIN_SQL = {"substr": "substr", "replace": "replace", "split_part": "split_part", "strpos": "strpos",
             "trim": "btrim", "ltrim": "ltrim", "rtrim": "rtrim", "starts_with": "starts_with", "lpad": "lpad",
             "rpad": "rpad", "left": "left", "right": "right", "concat_all": "concat", "greatest": "greatest",
             "least": "least", "nullif": "nullif"}
# extract, date_trunc and to_char, which each SQL target spells in its own way (targets/sql/expressions.py)
TIME_FUNCTIONS = frozenset({f"extract_{f}" for f in EXTRACT_FIELDS} | {"date_trunc", "to_char"})
MATH_FUNCTIONS = frozenset({"sqrt", "ln", "exp", "power"})
# e^x is finite from EXP_MIN (the smallest subnormal double) to EXP_MAX (the largest double): ln of each
EXP_MAX = 709.782712893384
EXP_MIN = -745.1332191019411
# of those, the ones whose integer arguments (positions, counts) SQL engines take as INT
INT_ARGS = frozenset({"substr", "split_part", "lpad", "rpad", "left", "right"})

# the targets that spell each callable function, for docs/language.md (the table there is this one:
# tests/test_functions.py checks it); a target not listed refuses the function at compile time
_ALL = "local, DataFusion, PostgreSQL, RisingWave, Flink"
_NOT_FLINK = "local, DataFusion, PostgreSQL, RisingWave (not Flink yet)"
_WHERE = {  # the functions whose targets are neither of those
    "replace": _ALL,
    "split_part": "local, DataFusion, PostgreSQL, RisingWave; Flink: a constant field from 1 and delimiter",
    "to_char": "local, PostgreSQL, RisingWave; DataFusion and Flink: the patterns listed below",
    "date_trunc": "local, DataFusion, PostgreSQL, RisingWave (not Flink yet)",
}


def function_table() -> str:
    """The markdown table of docs/language.md's "Functions" section."""
    lines = ["| function | meaning | targets |", "|---|---|---|",
             "| `extract(FIELD from t)` | FIELD of t: year, month, day, hour, minute, second (with its fraction, "
             "a double), dow (Sunday 0), doy, epoch (seconds since 1970, a double); a date has no hour, minute, "
             "second | local, DataFusion, PostgreSQL, RisingWave; Flink: not second, epoch |"]
    for surface in CALLABLE:
        fn = SCALARS[SURFACE.get(surface, surface)]
        doc = fn.doc.replace("|", "\\|")
        where = _WHERE.get(fn.name, _NOT_FLINK if fn.name in PLAIN_SQL else _ALL)
        lines.append(f"| `{surface}` | {doc} | {where} |")
    return "\n".join(lines) + "\n"


# binary operator token -> IR function
BINARY_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "||": "concat",
              "=": "eq", "==": "eq", "<>": "ne", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
              "and": "and", "or": "or"}


def aggregate_type(fn: str, arg: Type | None) -> Type:
    """Result type of an aggregate; raises TypeRuleError with a user-facing reason."""
    if fn in ("count", "count_distinct"):
        return T.BIGINT
    assert arg is not None
    if fn in ("min", "max"):
        return arg
    if fn == "sum":
        if not (arg.is_numeric or arg in (T.NULL, T.INTERVAL)):
            raise TypeRuleError(f"sum needs a number, got {arg}")
        return T.BIGINT if arg.is_integer else arg
    if fn == "avg":
        if not (arg.is_numeric or arg == T.NULL):
            raise TypeRuleError(f"avg needs a number, got {arg}")
        return arg if arg.name == "decimal" else T.DOUBLE
    raise TypeRuleError(f"unknown aggregate {fn}")
