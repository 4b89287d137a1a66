"""Lowering of expressions: names resolved against a scope, types checked, operators to IR calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, Collector, did_you_mean
from flowc.compiler.functions import (
    BINARY_OPS,
    CALLABLE,
    EXTRACT_FIELDS,
    SCALARS,
    SURFACE,
    TRUNC_UNITS,
    TypeRuleError,
    aggregate_type,
)
from flowc.compiler.span import Span

from . import ast

AGGREGATE_NAMES = ("count", "sum", "min", "max", "avg", "count_distinct")
WINDOW_NAMES = ("tumble", "hop", "session")


class LoweringFailed(Exception):
    """An expression could not be lowered; the reason is already in the Collector."""


@dataclass
class Scope:
    """The columns an expression may read.

    `columns` are the unqualified names (the pipeline's relation); `qualified` maps an alias (join's
    right side) to {column: output name}. `relation` names the input in error hints.
    """

    columns: ir.Schema
    relation: str
    context: str  # the stage, for messages: "where", "select", ...
    qualified: dict[str, dict[str, ir.Field]] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [f.name for f in self.columns]


def lower_type(t: ast.TypeName, diags: Collector) -> T.Type | None:
    name = t.name.lower()
    if name == "decimal" or name == "numeric":
        if len(t.params) == 0:
            return T.decimal(38, 9)
        if len(t.params) not in (1, 2) or not 1 <= t.params[0] <= 38 or (
                len(t.params) == 2 and not 0 <= t.params[1] <= t.params[0]):
            diags.error(Code.UNKNOWN_TYPE, f"bad decimal precision/scale {t.params}", t.span,
                        "write decimal(p, s) with 1 <= p <= 38 and 0 <= s <= p")
            return None
        return T.decimal(t.params[0], t.params[1] if len(t.params) == 2 else 0)
    found = T.SIMPLE_TYPES.get(name) or T.TYPE_ALIASES.get(name)
    if found is None or t.params:
        guess = did_you_mean(name, T.TYPE_NAMES)
        hint = f"did you mean '{guess}'? types: {', '.join(T.TYPE_NAMES)}" if guess else \
            f"types: {', '.join(T.TYPE_NAMES)}"
        diags.error(Code.UNKNOWN_TYPE, f"unknown type '{t.name}'", t.span, hint)
        return None
    return found


class ExprLowerer:
    def __init__(self, diags: Collector):
        self.diags = diags

    def fail(self, code: Code, message: str, span: Span | None, hint: str | None = None):
        self.diags.error(code, message, span, hint)
        raise LoweringFailed(message)

    # ------------------------------------------------------------ entry points

    def lower(self, e: ast.Expr, scope: Scope) -> ir.Expr:
        method = getattr(self, f"_{type(e).__name__.lower()}")
        return method(e, scope)

    def lower_predicate(self, e: ast.Expr, scope: Scope) -> ir.Expr:
        out = self.lower(e, scope)
        if out.type not in (T.BOOL, T.NULL):
            self.fail(Code.TYPE_MISMATCH, f"'{scope.context}' needs a bool condition, got {out.type}", e.span,
                      "compare a value, e.g. `price > 10`")
        return out

    def lower_aggregate(self, item: ast.Item, scope: Scope) -> ir.AggCall:
        e = item.expr
        if not isinstance(e, ast.Call) or e.name not in AGGREGATE_NAMES:
            self.fail(Code.BAD_STAGE, "'aggregate' items must be aggregate calls", e.span,
                      f"aggregates: {', '.join(a + '(...)' for a in AGGREGATE_NAMES)}; compute other columns "
                      "with `derive` before or after")
        if any(a.name is not None for a in e.args):
            self.fail(Code.BAD_ARGUMENT, f"'{e.name}' takes no named arguments", e.span)
        args = [a.value for a in e.args]
        name = item.name or self._agg_default_name(e)
        if e.star and e.name != "count":
            self.fail(Code.BAD_ARGUMENT, f"'{e.name}(*)': only count takes *", e.span,
                      f"count(*) counts rows; {e.name} needs a column, e.g. {e.name}(price)")
        # `agg(x) filter (where c)` is `agg(case when c then x end)`: every aggregate ignores nulls,
        # so the two mean the same on every target (SQL's FILTER needs no engine support)
        cond = self.lower_predicate(e.filter, scope) if e.filter is not None else None
        if e.name == "count" and not args:
            if cond is None:
                return ir.AggCall(name, "count", None, T.BIGINT, span=item.span)
            one = ir.Case(((cond, ir.Literal(1, T.BIGINT, span=e.span)),), None, T.BIGINT, span=e.span)
            return ir.AggCall(name, "count", one, T.BIGINT, span=item.span)
        if len(args) != 1:
            want = "0 or 1 argument" if e.name == "count" else "1 argument"
            self.fail(Code.ARG_COUNT, f"'{e.name}' takes {want}, got {len(args)}", e.span)
        arg = self.lower(args[0], scope)
        try:
            out_type = aggregate_type(e.name, arg.type)
        except TypeRuleError as err:
            self.fail(Code.TYPE_MISMATCH, str(err), e.span)
        if cond is not None:
            arg = ir.Case(((cond, arg),), None, arg.type, span=e.span)
        return ir.AggCall(name, e.name, arg, out_type, span=item.span)

    @staticmethod
    def _agg_default_name(e: ast.Call) -> str:
        if e.args and isinstance(e.args[0].value, ast.Name):
            return f"{e.name}_{e.args[0].value.parts[-1]}"
        return e.name

    # ------------------------------------------------------------ nodes

    def _name(self, e: ast.Name, scope: Scope) -> ir.Expr:
        if len(e.parts) == 1:
            col = e.parts[0]
            for f in scope.columns:
                if f.name == col:
                    return ir.ColumnRef(f.name, f.type, span=e.span)
            self._unknown_column(col, e.span, scope)
        if len(e.parts) == 2 and e.parts[0] in scope.qualified:
            alias, col = e.parts
            fields = scope.qualified[alias]
            if col in fields:
                f = fields[col]
                return ir.ColumnRef(f.name, f.type, span=e.span)
            guess = did_you_mean(col, fields)
            hint = (f"did you mean '{alias}.{guess}'? " if guess else "") + \
                f"columns of {alias}: {', '.join(fields)}"
            self.fail(Code.UNKNOWN_COLUMN, f"unknown column '{e.text}' in '{scope.context}'", e.span, hint)
        if scope.qualified:
            hint = f"qualify with one of: {', '.join(scope.qualified)}"
        else:
            hint = "qualified names (`alias.column`) are only for the right side of a join condition"
        self.fail(Code.UNKNOWN_COLUMN, f"unknown column '{e.text}' in '{scope.context}'", e.span, hint)

    def _unknown_column(self, col: str, span: Span | None, scope: Scope):
        guess = did_you_mean(col, scope.names())
        listing = f"columns of {scope.relation}: {', '.join(scope.names())}"
        hint = f"did you mean '{guess}'? {listing}" if guess else listing
        for alias, fields in scope.qualified.items():
            if col in fields:
                hint = f"'{col}' is a column of the right side: write '{alias}.{col}'"
        self.fail(Code.UNKNOWN_COLUMN, f"unknown column '{col}' in '{scope.context}'", span, hint)

    def _literal(self, e: ast.Literal, scope: Scope) -> ir.Expr:
        if e.kind == "int":
            value = int(e.value)  # type: ignore[call-overload]
            if not -(2**63) <= value < 2**63:
                self.fail(Code.TYPE_MISMATCH, f"integer {value} does not fit in bigint", e.span,
                          "write it as a decimal or double, e.g. 1.0e20")
            return ir.Literal(value, T.BIGINT, span=e.span)
        kinds = {"float": T.DOUBLE, "string": T.STRING, "bool": T.BOOL, "null": T.NULL}
        return ir.Literal(e.value, kinds[e.kind], span=e.span)

    def _duration(self, e: ast.Duration, scope: Scope) -> ir.Expr:
        return ir.Literal(e.micros, T.INTERVAL, span=e.span)

    def _call_scalar(self, fn: str, args: Sequence[ir.Expr], span: Span | None, shown: str) -> ir.Expr:
        try:
            out = SCALARS[fn].rule([a.type for a in args])
        except TypeRuleError as err:
            self.fail(Code.TYPE_MISMATCH, f"{err} in '{shown}'", span)
        return ir.Call(fn, tuple(args), out, span=span)

    def _unary(self, e: ast.Unary, scope: Scope) -> ir.Expr:
        operand = self.lower(e.operand, scope)
        if e.op == "-" and isinstance(operand, ir.Literal) and isinstance(operand.value, int | float) and \
                not isinstance(operand.value, bool):
            return ir.Literal(-operand.value, operand.type, span=e.span)
        return self._call_scalar("neg" if e.op == "-" else "not", [operand], e.span, e.op)

    def _binary(self, e: ast.Binary, scope: Scope) -> ir.Expr:
        left = self.lower(e.left, scope)
        right = self.lower(e.right, scope)
        fn = BINARY_OPS.get(e.op)
        if fn is None:
            self.fail(Code.SYNTAX, f"unknown operator '{e.op}'", e.span)
        left, right = self._coerce_literals(left, right)
        return self._call_scalar(fn, [left, right], e.span, e.op)

    def _coerce_literals(self, left: ir.Expr, right: ir.Expr) -> tuple[ir.Expr, ir.Expr]:
        """A string literal compared with a time becomes a time literal: `ts > '2026-03-01 12:00:00'`."""
        def coerce(lit: ir.Expr, other: ir.Expr) -> ir.Expr:
            if isinstance(lit, ir.Literal) and lit.type == T.STRING and other.type.is_temporal:
                micros = parse_time_literal(str(lit.value), other.type)
                if micros is None:
                    self.fail(Code.TYPE_MISMATCH, f"'{lit.value}' is not a valid {other.type}", lit.span,
                              "write times as 'YYYY-MM-DD HH:MM:SS[.ffffff]' and dates as 'YYYY-MM-DD'")
                return ir.Literal(micros, other.type, span=lit.span)
            return lit
        return coerce(left, right), coerce(right, left)

    def _inlist(self, e: ast.InList, scope: Scope) -> ir.Expr:
        x = self.lower(e.expr, scope)
        items = [self._coerce_literals(self.lower(i, scope), x)[0] for i in e.items]
        out = self._call_scalar("in", [x, *items], e.span, "in")
        return ir.Call("not", (out,), T.BOOL, span=e.span) if e.negated else out

    def _between(self, e: ast.Between, scope: Scope) -> ir.Expr:
        x = self.lower(e.expr, scope)
        lo, _ = self._coerce_literals(self.lower(e.low, scope), x)
        hi, _ = self._coerce_literals(self.lower(e.high, scope), x)
        ge = self._call_scalar("ge", [x, lo], e.span, "between")
        le = self._call_scalar("le", [x, hi], e.span, "between")
        out = ir.Call("and", (ge, le), T.BOOL, span=e.span)
        return ir.Call("not", (out,), T.BOOL, span=e.span) if e.negated else out

    def _extract(self, e: ast.Extract, scope: Scope) -> ir.Expr:
        field = e.field.lower()
        if field not in EXTRACT_FIELDS:
            guess = did_you_mean(field, tuple(EXTRACT_FIELDS))
            self.fail(Code.BAD_ARGUMENT, f"extract has no field '{e.field}'", e.span,
                      (f"did you mean '{guess}'? " if guess else "") + f"fields: {', '.join(EXTRACT_FIELDS)}")
        return self._call_scalar(f"extract_{field}", [self.lower(e.expr, scope)], e.span, "extract")

    def _like(self, e: ast.Like, scope: Scope) -> ir.Expr:
        x = self.lower(e.expr, scope)
        pattern = self.lower(e.pattern, scope)
        shown = "ilike" if e.ignore_case else "like"
        out = self._call_scalar(shown, [x, pattern], e.span, shown)
        return ir.Call("not", (out,), T.BOOL, span=e.span) if e.negated else out

    def _isnull(self, e: ast.IsNull, scope: Scope) -> ir.Expr:
        x = self.lower(e.expr, scope)
        return ir.Call("is_not_null" if e.negated else "is_null", (x,), T.BOOL, span=e.span)

    def _case(self, e: ast.Case, scope: Scope) -> ir.Expr:
        whens = []
        out_type: T.Type | None = T.NULL
        for cond, value in e.whens:
            c = self.lower_predicate(cond, scope)
            v = self.lower(value, scope)
            whens.append((c, v))
            out_type = T.common_type(out_type, v.type) if out_type is not None else None
            if out_type is None:
                self.fail(Code.TYPE_MISMATCH, f"'case' branches mix types ({v.type} here)", value.span,
                          "cast the branches to one type")
        else_ = self.lower(e.else_, scope) if e.else_ is not None else None
        if else_ is not None:
            out_type = T.common_type(out_type, else_.type)  # type: ignore[arg-type]
            if out_type is None:
                self.fail(Code.TYPE_MISMATCH, f"'case' else branch has type {else_.type}, unlike the others",
                          e.else_.span if e.else_ else e.span, "cast the branches to one type")
        return ir.Case(tuple(whens), else_, out_type or T.NULL, span=e.span)

    def _cast(self, e: ast.Cast, scope: Scope) -> ir.Expr:
        x = self.lower(e.expr, scope)
        to = lower_type(e.type, self.diags)
        if to is None:
            raise LoweringFailed("bad type")
        return ir.Cast(x, to, span=e.span)

    def _call(self, e: ast.Call, scope: Scope) -> ir.Expr:
        name = e.name.lower()
        if (e.filter is not None or e.star) and name not in AGGREGATE_NAMES:
            what = "filter (where ...)" if e.filter is not None else "*"
            self.fail(Code.BAD_ARGUMENT, f"{what} applies to aggregates only, not to '{e.name}'", e.span,
                      "write it after an aggregate in an `aggregate` stage: `n = count() filter (where x > 0)`")
        if name in AGGREGATE_NAMES:
            self.fail(Code.BAD_STAGE, f"aggregate '{name}' is only allowed in an 'aggregate' stage", e.span,
                      f"use `| aggregate x = {name}(...)`")
        if name in WINDOW_NAMES:
            self.fail(Code.BAD_STAGE, f"'{name}' is a window: use it as `| window {name}(...)`", e.span)
        if name not in CALLABLE:
            guess = did_you_mean(name, CALLABLE + AGGREGATE_NAMES)
            hint = f"did you mean '{guess}'? " if guess else ""
            self.fail(Code.UNKNOWN_FUNCTION, f"unknown function '{e.name}'", e.span,
                      hint + f"functions: {', '.join(CALLABLE)}")
        shown = name
        name = SURFACE.get(name, name)
        spec = SCALARS[name]
        if any(a.name is not None for a in e.args):
            self.fail(Code.BAD_ARGUMENT, f"'{name}' takes no named arguments", e.span)
        n = len(e.args)
        if n < spec.min_args or (spec.max_args is not None and n > spec.max_args):
            want = str(spec.min_args) if spec.min_args == spec.max_args else (
                f"{spec.min_args} or more" if spec.max_args is None else f"{spec.min_args} to {spec.max_args}")
            self.fail(Code.ARG_COUNT, f"'{shown}' takes {want} argument{'s' if want != '1' else ''}, got {n}",
                      e.span, f"{spec.doc}")
        args = [self.lower(a.value, scope) for a in e.args]
        self._constant_arguments(name, args, e)
        return self._call_scalar(name, args, e.span, shown)

    def _constant_arguments(self, name: str, args: list[ir.Expr], e: ast.Call) -> None:
        """date_trunc's unit and to_char's format are constants (each target spells them its own way)."""
        if name == "date_trunc":
            unit = args[0]
            if not (isinstance(unit, ir.Literal) and isinstance(unit.value, str)
                    and unit.value.lower() in TRUNC_UNITS):
                self.fail(Code.BAD_ARGUMENT, "date_trunc's unit must be one of " + ", ".join(
                    f"'{u}'" for u in TRUNC_UNITS), e.args[0].span or e.span, "e.g. date_trunc('hour', date_time)")
            args[0] = ir.Literal(unit.value.lower(), T.STRING, span=unit.span)
        if name == "to_char" and not (isinstance(args[1], ir.Literal) and isinstance(args[1].value, str)):
            self.fail(Code.BAD_ARGUMENT, "to_char's format must be a constant string", e.args[1].span or e.span,
                      "e.g. to_char(date_time, 'YYYY-MM-DD HH24:MI')")


def parse_time_literal(text: str, type_: T.Type) -> int | None:
    """Microseconds since the epoch (UTC) for timestamps, days for dates; None if unparseable."""
    import datetime as dt

    try:
        if type_ == T.DATE:
            d = dt.date.fromisoformat(text.strip())
            return (d - dt.date(1970, 1, 1)).days
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC).replace(tzinfo=None)
    delta = t - dt.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
