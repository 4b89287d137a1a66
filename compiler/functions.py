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


SCALARS: dict[str, Scalar] = {s.name: s for s in [
    Scalar("add", 2, 2, _add, "a + b"),
    Scalar("sub", 2, 2, _sub, "a - b"),
    Scalar("mul", 2, 2, _numeric("*"), "a * b"),
    Scalar("div", 2, 2, _div, "a / b (integer division truncates for integers, as in SQL)"),
    Scalar("mod", 2, 2, _numeric("%"), "a % b"),
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
]}

# surface names of functions callable by name in .flow (operators have their own syntax)
CALLABLE = ("lower", "upper", "length", "abs", "round", "floor", "ceil", "coalesce")

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
