"""sqrt, ln, exp, power with flowc's meaning in SQL (compiler/functions.py): doubles, and null where
PostgreSQL raises an error. The conditions come first, in one CASE evaluated in order, the value
only where none holds: PostgreSQL and DataFusion raise their errors while computing the value, and
the logarithm in power's overflow test is taken only of a non-zero base. Shared by every SQL
target (the shared translation and RisingWave's)."""

from __future__ import annotations

from collections.abc import Callable

from flowc.compiler.functions import EXP_MAX, EXP_MIN
from sqlglot import exp

_NAMES = {"sqrt": "SQRT", "ln": "LN", "exp": "EXP", "power": "POWER"}


def guarded(fn: str, xs: list[exp.Expression], num: Callable[[float], exp.Expression],
            null: exp.Expression) -> exp.Expression:
    """The CASE for `fn` over double operands `xs`; `num(v)` spells a double literal, `null` a
    double NULL, in the target's dialect."""
    def x(i: int = 0) -> exp.Expression:
        return exp.Paren(this=xs[i].copy())

    value = exp.Anonymous(this=_NAMES[fn], expressions=[x(i) for i in range(len(xs))])
    if fn == "sqrt":
        whens = [exp.LT(this=x(), expression=num(0.0))]
    elif fn == "ln":
        whens = [exp.LTE(this=x(), expression=num(0.0))]
    elif fn == "exp":
        whens = [exp.GT(this=x(), expression=num(EXP_MAX)), exp.LT(this=x(), expression=num(EXP_MIN))]
    else:
        zero_base = exp.Case(ifs=[exp.If(this=exp.LT(this=x(1), expression=num(0.0)), true=null.copy())],
                             default=value.copy())
        log = exp.Mul(this=x(1), expression=exp.Anonymous(this="LN", expressions=[exp.Abs(this=x(0))]))
        ifs = [exp.If(this=exp.EQ(this=x(0), expression=num(0.0)), true=zero_base),
               exp.If(this=exp.And(this=exp.LT(this=x(0), expression=num(0.0)),
                                   expression=exp.NEQ(this=x(1), expression=exp.Floor(this=x(1)))), true=null.copy()),
               exp.If(this=exp.GT(this=log, expression=num(EXP_MAX)), true=null.copy()),
               exp.If(this=exp.LT(this=log.copy(), expression=num(EXP_MIN)), true=null.copy())]
        return exp.Case(ifs=ifs, default=value)
    return exp.Case(ifs=[exp.If(this=w, true=null.copy()) for w in whens], default=value)
