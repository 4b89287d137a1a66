"""IR scalar expressions, aggregates, types and identifiers -> sqlglot nodes for RisingWave.

Nodes are built in the exact shape our dialect's parser produces for the printed text (e.g.
`INTERVAL '5' SECOND` is Interval(this='5', unit=SECOND); a negative number is Neg(number)), so a
statement re-parses to an equal AST. sqlglot does not add parentheses for precedence when a tree is
built by hand, so `_operand` adds them where SQL precedence would otherwise regroup the tree.
"""

from __future__ import annotations

import decimal
import functools
import math
import re
from collections.abc import Callable, Mapping

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.compiler.functions import INT_ARGS, MATH_FUNCTIONS, PLAIN_SQL
from flowc.targets.sql.expressions import date_text, timestamp_text
from sqlglot import exp
from sqlglot.errors import ParseError

from .dialect import RisingWave, parse_statement

TARGET = "risingwave"

# PostgreSQL's reserved key words (RisingWave's parser follows them), plus words sqlglot reads as
# something other than a column name.
RESERVED = frozenset("""
all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create
current_catalog current_date current_role current_time current_timestamp current_user default deferrable
desc distinct do else end except false fetch for foreign from grant group having in initially intersect
into lateral leading limit localtime localtimestamp not null offset on only or order placing primary
references returning select session_user some symmetric table then to trailing true union unique user
using variadic when where window with emit source sink watermark
""".split())

_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")


@functools.lru_cache(maxsize=4096)
def needs_quotes(name: str) -> bool:
    """Quote only where needed: upper case or odd characters (RisingWave folds unquoted names to
    lower case), reserved words, and anything our parser would not read back as the same column."""
    if not _PLAIN.fullmatch(name) or name in RESERVED:
        return True
    try:
        parsed = parse_statement(f"SELECT {name} FROM t").expressions[0]
    except (ParseError, IndexError):  # a keyword the parser cannot read as a column (`between`; `join`
        return True  # reads as `SELECT` joined to a table): quoted
    return not (isinstance(parsed, exp.Column) and parsed.name == name and not parsed.table)


def ident(name: str) -> exp.Identifier:
    return exp.Identifier(this=name, quoted=needs_quotes(name))


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=ident(name), table=ident(table) if table else None)


def table(name: str) -> exp.Table:
    return exp.Table(this=ident(name))


def alias(e: exp.Expression, name: str) -> exp.Expression:
    if isinstance(e, exp.Column) and e.name == name and not e.table:
        return e
    return exp.Alias(this=e, alias=ident(name))


# ---------------------------------------------------------------- types


def sql_type(t: T.Type, span=None) -> exp.DataType:
    """RisingWave type names: DECIMAL without (p, s), VARCHAR without length (reference §1.12)."""
    names = {"bool": "BOOLEAN", "int": "INT", "bigint": "BIGINT", "double": "DOUBLE PRECISION",
             "string": "VARCHAR", "bytes": "BYTEA", "date": "DATE", "timestamp": "TIMESTAMP",
             "timestamptz": "TIMESTAMPTZ", "interval": "INTERVAL", "decimal": "DECIMAL"}
    name = names.get(t.name)
    if name is None:
        raise UnsupportedFeature(f"type {t}", TARGET, span)
    return exp.DataType.build(name, dialect="risingwave")


# ---------------------------------------------------------------- literals

_UNITS = (("HOUR", 3_600_000_000), ("MINUTE", 60_000_000), ("SECOND", 1_000_000))


def interval(micros: int) -> exp.Expression:
    """An INTERVAL literal. Hours at most: day and month units follow the session time zone on
    TIMESTAMPTZ windows (reference §1.3); sub-second values as fractional seconds."""
    if micros < 0:
        return exp.Neg(this=interval(-micros))
    for unit, size in _UNITS:
        if micros % size == 0 and micros >= size:
            return exp.Interval(this=exp.Literal.string(str(micros // size)), unit=exp.var(unit))
    if micros == 0:  # `watermark 0s`; the parser flags a fraction only where the text has a point
        return exp.Interval(this=exp.Literal.string("0"), unit=exp.var("SECOND"))
    text = str(decimal.Decimal(micros) / decimal.Decimal(1_000_000))
    return exp.Interval(this=exp.Literal.string(text), unit=exp.var("SECOND"), fraction_in_string=True)


def _number(v) -> exp.Expression:
    if v < 0:
        return exp.Neg(this=_number(-v))
    return exp.Literal.number(v)


def _typed_string(text: str, t: T.Type) -> exp.Expression:
    return exp.Cast(this=exp.Literal.string(text), to=sql_type(t))


def literal(lit: ir.Literal) -> exp.Expression:
    v, t = lit.value, lit.type
    if v is None:
        return exp.Null() if t == T.NULL else exp.Cast(this=exp.Null(), to=sql_type(t, lit.span))
    if t == T.BOOL:
        return exp.Boolean(this=bool(v))
    if t == T.INTERVAL:
        return interval(int(v))
    if t in (T.TIMESTAMP, T.TIMESTAMPTZ):
        return _typed_string(timestamp_text(int(v), t == T.TIMESTAMPTZ), t)
    if t == T.DATE:
        return _typed_string(date_text(int(v)), t)
    if t == T.DOUBLE:
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            text = "NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity")
            return _typed_string(text, t)
        # a bare 1.5 is NUMERIC in RisingWave; the IR says DOUBLE
        return exp.Cast(this=_number(decimal.Decimal(repr(f)) if f != int(f) else int(f)), to=sql_type(t))
    if t.name == "decimal":
        return _number(decimal.Decimal(str(v)))
    if t.is_integer:
        return _number(int(v))
    if t == T.STRING:
        return exp.Literal.string(str(v))
    if t == T.BYTES:
        return exp.Cast(this=exp.Literal.string("\\x" + bytes(v).hex()), to=sql_type(t))
    raise UnsupportedFeature(f"literal of type {t}", TARGET, lit.span)


# ---------------------------------------------------------------- precedence

# PostgreSQL precedence, lowest first (`||` is an "other operator": above comparisons, below + -)
_PREC: list[tuple[type, int]] = [
    (exp.Or, 1), (exp.And, 2), (exp.Not, 3),
    (exp.EQ, 4), (exp.NEQ, 4), (exp.LT, 4), (exp.LTE, 4), (exp.GT, 4), (exp.GTE, 4), (exp.Is, 4),
    (exp.In, 4), (exp.Like, 4), (exp.ILike, 4), (exp.DPipe, 5), (exp.Add, 6), (exp.Sub, 6), (exp.Mul, 7), (exp.Div, 7), (exp.Mod, 7),
    (exp.Neg, 8),
]


def _prec(e: exp.Expression) -> int:
    for cls, p in _PREC:
        if type(e) is cls:
            return p
    return 100  # atoms: columns, literals, function calls, casts, parenthesised


def _operand(e: exp.Expression, parent: type, right: bool = False) -> exp.Expression:
    """Parenthesise `e` as an operand of `parent` where printing would regroup the tree: a looser
    operand; an equal one on the right (sqlglot parses left-associatively); comparisons and `||`
    never chain; and `- -x` must not print as the comment `--x`."""
    p, c = dict(_PREC)[parent], _prec(e)
    if c < p or (c == p and (right or p in (4, 5) or parent is exp.Neg)):
        return exp.Paren(this=e)
    return e


def _binary(cls: type, a: exp.Expression, b: exp.Expression) -> exp.Expression:
    if cls in (exp.And, exp.Or) and type(b) is cls:
        # AND/OR are associative: rebuild `a AND (b AND c)` left-deep, which prints without parentheses
        return _binary(cls, _binary(cls, a, b.this), b.expression)
    out = cls(this=_operand(a, cls), expression=_operand(b, cls, right=True))
    if cls is exp.Div:
        # typed: SQL division as written (integer division truncates), as the IR specifies; an
        # untyped Div makes sqlglot emulate "true" division with a cast to DOUBLE PRECISION
        out.set("typed", True)
        out.set("safe", False)
    return out


# ---------------------------------------------------------------- scalar expressions

_BINARY = {"add": exp.Add, "sub": exp.Sub, "mul": exp.Mul, "div": exp.Div, "mod": exp.Mod,
           "eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE,
           "and": exp.And, "or": exp.Or}
_ARITH = ("add", "sub", "mul", "div", "mod")
_FUNCS: dict[str, Callable[[list[exp.Expression]], exp.Expression]] = {
    "lower": lambda a: exp.Lower(this=a[0]),
    "upper": lambda a: exp.Upper(this=a[0]),
    "length": lambda a: exp.Length(this=a[0]),
    "abs": lambda a: exp.Abs(this=a[0]),
    "round": lambda a: exp.Round(this=a[0], decimals=a[1] if len(a) > 1 else None),
    "floor": lambda a: exp.Floor(this=a[0]),
    "ceil": lambda a: exp.Ceil(this=a[0]),
    "coalesce": lambda a: exp.Coalesce(this=a[0], expressions=a[1:]),
}


def _widen(arg: ir.Expr, node: exp.Expression, result: T.Type) -> exp.Expression:
    """RisingWave computes INT op INT in INT; the IR types integer literals BIGINT, so `int_col * 100`
    is BIGINT in the IR. Cast integer operands up to the IR result type to keep its range."""
    if result in (T.BIGINT, T.DOUBLE) and arg.type.is_integer and arg.type != result \
            and not isinstance(arg, ir.Literal):
        return exp.Cast(this=node, to=sql_type(result))
    return node


def expr(e: ir.Expr, env: Mapping[str, exp.Expression]) -> exp.Expression:
    """Translate `e`; `env` maps the input column names to the SQL they stand for (copied per use)."""
    if isinstance(e, ir.ColumnRef):
        if e.name not in env:
            raise KeyError(f"column {e.name} not in scope {sorted(env)}")
        return env[e.name].copy()
    if isinstance(e, ir.Literal):
        return literal(e)
    if isinstance(e, ir.Cast):
        return exp.Cast(this=expr(e.expr, env), to=sql_type(e.type, e.span))
    if isinstance(e, ir.Case):
        ifs = [exp.If(this=expr(c, env), true=expr(v, env)) for c, v in e.whens]
        default = expr(e.else_, env) if e.else_ is not None else None
        return exp.Case(ifs=ifs, default=default)
    if isinstance(e, ir.Call):
        return _call(e, env)
    raise UnsupportedFeature(f"expression {type(e).__name__}", TARGET, getattr(e, "span", None))


def _call(e: ir.Call, env: Mapping[str, exp.Expression]) -> exp.Expression:
    args = [expr(a, env) for a in e.args]
    if e.fn in _BINARY:
        if e.fn in _ARITH:
            args = [_widen(a, n, e.type) for a, n in zip(e.args, args, strict=True)]
        return _binary(_BINARY[e.fn], args[0], args[1])
    if e.fn == "neg":
        return exp.Neg(this=_operand(args[0], exp.Neg))
    if e.fn == "not":
        return exp.Not(this=_operand(args[0], exp.Not))
    if e.fn == "is_null":
        return exp.Is(this=_operand(args[0], exp.Is), expression=exp.Null())
    if e.fn == "is_not_null":
        return exp.Not(this=exp.Is(this=_operand(args[0], exp.Is), expression=exp.Null()))
    if e.fn == "in":
        return exp.In(this=_operand(args[0], exp.In), expressions=args[1:])
    if e.fn == "concat":
        return exp.DPipe(this=_operand(args[0], exp.DPipe), expression=_operand(args[1], exp.DPipe, True),
                         safe=True)
    if e.fn == "round" and len(args) == 2 and e.args[0].type == T.DOUBLE:
        # round(double precision, int) does not exist (PostgreSQL rule, kept by RisingWave): round
        # the DECIMAL and come back to the IR's DOUBLE
        inner = exp.Round(this=exp.Cast(this=args[0], to=sql_type(T.decimal(38, 0))), decimals=args[1])
        return exp.Cast(this=inner, to=sql_type(T.DOUBLE))
    if e.fn in _FUNCS:
        return _FUNCS[e.fn](args)
    if e.fn.startswith("extract_"):  # RisingWave's EXTRACT is NUMERIC: made the IR's type
        field = e.fn.removeprefix("extract_")
        return exp.Cast(this=exp.Extract(this=exp.var(field.upper()), expression=args[0]), to=sql_type(e.type))
    if e.fn == "date_trunc":
        t = args[1] if e.args[1].type != T.DATE else exp.Cast(this=args[1], to=sql_type(T.TIMESTAMP))
        return exp.func("date_trunc", args[0], t, dialect=RisingWave)
    if e.fn == "to_char":
        return exp.func("to_char", args[0], args[1], dialect=RisingWave)
    if e.fn in MATH_FUNCTIONS:
        return _math(e, args)
    if e.fn in ("like", "ilike"):
        return (exp.Like if e.fn == "like" else exp.ILike)(this=_operand(args[0], exp.EQ),
                                                           expression=_operand(args[1], exp.EQ, right=True))
    if e.fn in PLAIN_SQL:
        if e.fn in INT_ARGS:
            args = [exp.Cast(this=x, to=sql_type(T.INT)) if a.type.is_integer and a.type != T.INT else x
                    for a, x in zip(e.args, args, strict=True)]
        # sqlglot's own node for the name, so that the statement reads back as itself
        out = exp.func(PLAIN_SQL[e.fn], *args, dialect=RisingWave)
        # RisingWave's strpos is INT; the IR's positions are BIGINT
        return exp.Cast(this=out, to=sql_type(T.BIGINT)) if e.type == T.BIGINT else out
    raise UnsupportedFeature(f"function '{e.fn}'", TARGET, e.span)


def _math(e: ir.Call, args: list[exp.Expression]) -> exp.Expression:
    """sqrt, ln, exp, power in doubles, null where PostgreSQL (and RisingWave) raise an error."""
    from flowc.targets.sql.math import guarded

    double = sql_type(T.DOUBLE)
    xs = [a if t.type == T.DOUBLE else exp.Cast(this=a, to=double.copy()) for t, a in zip(e.args, args, strict=True)]
    return guarded(e.fn, xs, lambda v: exp.Cast(this=exp.Literal.number(repr(v)), to=double.copy()),
                   exp.Cast(this=exp.Null(), to=double.copy()))


def conjunction(preds: list[exp.Expression]) -> exp.Expression:
    out = preds[0]
    for p in preds[1:]:
        out = _binary(exp.And, out, p)
    return out


# ---------------------------------------------------------------- aggregates


def aggregate(a: ir.AggCall, env: Mapping[str, exp.Expression]) -> exp.Expression:
    if a.fn == "count" and a.arg is None:
        return exp.Count(this=exp.Star(), big_int=True)  # the shape the parser gives
    arg = expr(a.arg, env)  # type: ignore[arg-type]
    if a.fn == "count":
        return exp.Count(this=arg, big_int=True)
    if a.fn == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[arg]), big_int=True)
    if a.fn == "avg":
        out: exp.Expression = exp.Avg(this=arg)
        # AVG of integers is NUMERIC in RisingWave; the IR says DOUBLE
        if a.type == T.DOUBLE and a.arg is not None and a.arg.type != T.DOUBLE:
            out = exp.Cast(this=out, to=sql_type(T.DOUBLE))
        return out
    cls = {"sum": exp.Sum, "min": exp.Min, "max": exp.Max}.get(a.fn)
    if cls is None:
        raise UnsupportedFeature(f"aggregate '{a.fn}'", TARGET, a.span)
    return cls(this=arg)
