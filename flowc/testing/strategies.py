"""Hypothesis strategies for flowc: source schemas, input streams and programs.

    cases()                -> Case: a program (AST) and its input rows, valid by construction
    source_specs()         -> SourceSpec: columns, event time and watermark of one source
    streams(spec)          -> rows in arrival order: bounded disorder, late rows, nulls, equal times
    programs(spec)         -> ast.Program: views drawn from the operator set over that source

Programs are built as `flowc.dsl.ast` nodes, so they can be lowered (`flowc.dsl.lower.lower`),
printed (`flowc.dsl.formatter.format_program`, what `flowc fmt` prints) and run on every target. Every expression is drawn for
a wanted type following the typing rules of `flowc.compiler.functions`, so lowering never rejects a
drawn program; a lowering error is a bug of these strategies (or of lowering).

What is kept out on purpose, because the engines may legitimately fail on it (the property is about
results, not errors): division or modulo by a value that can be zero, integer overflow (values stay
small and products take only leaves), and decimal multiplication/division (whose result scale is an
open question of the IR). Doubles are multiples of 1/4 so sums are exact in every order.

Row values use the reference evaluator's representation: int, float, Decimal, str, bool, None, and
timestamps as int microseconds since the epoch (UTC).

A case has one or two sources (the second often a twin of the first: the same columns, so `union`
can read both) and sometimes a `table` (versioned reference data for lookup joins). Stages are drawn
from `STAGE_KINDS`: row stages, windows, aggregates, joins (interval, window, regular, lookup; inner
and left), distinct, top (with and without `per`) and union.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field

from hypothesis import strategies as st

from flowc.compiler import types as T
from flowc.dsl import ast

SECOND = 1_000_000
DEC = T.decimal(10, 2)
VALUE_TYPES = (T.BIGINT, T.INT, T.DOUBLE, T.STRING, T.BOOL, DEC)
NUMERIC = (T.BIGINT, T.INT, T.DOUBLE, DEC)
ORDERABLE = (T.BIGINT, T.INT, T.DOUBLE, DEC, T.STRING, T.TIMESTAMP)
STRING_ALPHABET = "aBé ,'"


# ---------------------------------------------------------------- sources and streams


@dataclass(frozen=True)
class Column:
    name: str
    type: T.Type


@dataclass(frozen=True)
class SourceSpec:
    name: str
    columns: tuple[Column, ...]
    event_time: str | None
    watermark: int | None  # microseconds; None without an event time

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    def decl(self) -> ast.SourceDecl:
        return ast.SourceDecl(
            self.name, tuple(ast.ColumnDef(c.name, type_name(c.type)) for c in self.columns),
            ast.Connector("csv", (ast.Arg(ast.Literal(self.path, "string")),)), self.event_time,
            ast.Duration(self.watermark) if self.event_time is not None else None)


def type_name(t: T.Type) -> ast.TypeName:
    if t.name == "decimal":
        return ast.TypeName("decimal", (t.precision, t.scale))  # type: ignore[arg-type]
    return ast.TypeName(t.name)


@st.composite
def source_specs(draw, name: str = "s") -> SourceSpec:
    """A key column `k`, one to four value columns `a..d` of any type, and a timestamp `ts`
    (most often the event time, with a watermark delay from 0 to 5s)."""
    key_type = draw(st.sampled_from([T.BIGINT, T.STRING]))
    n = draw(st.integers(1, 4))
    values = [Column(c, draw(st.sampled_from(VALUE_TYPES))) for c in "abcd"[:n]]
    cols = (Column("k", key_type), *values, Column("ts", T.TIMESTAMP))
    if draw(st.integers(0, 9)) == 0:
        return SourceSpec(name, cols, None, None)
    delay = draw(st.sampled_from([0, SECOND, 2 * SECOND, 5 * SECOND, 1_500_000]))
    return SourceSpec(name, cols, "ts", delay)


def _value(draw, t: T.Type, key: bool = False):
    if t in (T.BIGINT, T.INT):
        return draw(st.integers(0, 3)) if key else draw(st.integers(-50, 50) | st.integers(-1000, 1000))
    if t == T.DOUBLE:
        return draw(st.integers(-400, 400)) / 4
    if t == DEC:
        return decimal.Decimal(draw(st.integers(-10_000, 10_000))).scaleb(-2)
    if t == T.STRING:
        if key:
            return draw(st.sampled_from(["x", "y", "z", ""]))
        return draw(st.text(STRING_ALPHABET, max_size=3))
    if t == T.BOOL:
        return draw(st.booleans())
    raise AssertionError(f"no values for {t}")


CLOCKS = (0, -20 * SECOND, 1_700_000_000 * SECOND)  # where a stream's event times start


@st.composite
def streams(draw, spec: SourceSpec, max_rows: int = 40, clocks: tuple[int, ...] = CLOCKS) -> list[dict]:
    """Rows in arrival order. Event times follow a clock that moves by 0 to 3 seconds (0 often, so
    equal times are common; sometimes by 500ms, off the window grid), then each row is either in
    order, behind the clock by at most the watermark delay (on time, out of order), behind it by
    more (late), or null."""
    # hypothesis favours small numbers; ask for a long stream half of the time
    n = draw(st.integers(0, max_rows) | st.integers(max_rows // 2, max_rows))
    delay = spec.watermark or 0
    clock = draw(st.sampled_from(list(clocks)))
    rows = []
    for _ in range(n):
        clock += draw(st.sampled_from([0, 0, SECOND, SECOND, 2 * SECOND, 3 * SECOND, 500_000]))
        how = draw(st.sampled_from(["order"] * 6 + ["disorder"] * 3 + ["late", "null"]))
        if how == "order":
            ts = clock
        elif how == "disorder":
            ts = clock - draw(st.integers(0, delay // 500_000)) * 500_000
        elif how == "late":
            ts = clock - delay - draw(st.integers(1, 20)) * 500_000
        else:
            ts = None
        row = {}
        for c in spec.columns:
            if c.name == "ts":
                row["ts"] = ts
            elif draw(st.integers(0, 7)) == 0:
                row[c.name] = None
            else:
                row[c.name] = _value(draw, c.type, key=c.name == "k")
        rows.append(row)
    return rows


def format_timestamp(micros: int) -> str:
    t = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=micros)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def csv_text(spec: SourceSpec, rows: list[dict]) -> str:
    """The rows as the CSV file the program reads: an empty cell is null, strings are always
    quoted (so '' stays an empty string), timestamps are 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    lines = [",".join(c.name for c in spec.columns)]
    for r in rows:
        cells = []
        for c in spec.columns:
            v = r[c.name]
            if v is None:
                cells.append("")
            elif c.type == T.TIMESTAMP:
                cells.append(format_timestamp(v))
            elif c.type == T.STRING:
                cells.append('"' + v.replace('"', '""') + '"')
            elif c.type == T.BOOL:
                cells.append("true" if v else "false")
            elif c.type == T.DOUBLE:
                cells.append(repr(float(v)))
            else:
                cells.append(str(v))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Col:
    """A column of a relation while drawing a pipeline: its type, and whether it carries the
    watermark (the event time, or it plus/minus a constant) so windows may close on it."""

    name: str
    type: T.Type
    watermarked: bool = False
    small: bool = True  # its values stay within the drawn range (±1000): `*` may take it as an operand


def _lit(v, kind: str) -> ast.Literal:
    return ast.Literal(v, kind)


def _bin(op: str, a, b) -> ast.Binary:
    return ast.Binary(op, a, b)


def _call(name: str, *args) -> ast.Call:
    return ast.Call(name, tuple(ast.Arg(a) for a in args))


def _name(name: str) -> ast.Name:
    """A column; `j1.a` (a join's right side, in its condition) is a qualified name."""
    return ast.Name(tuple(name.split(".")))


def _cast(e, t: T.Type) -> ast.Cast:
    return ast.Cast(e, type_name(t))


class ExprDrawer:
    """Draws typed expressions over a relation's columns. `draw_expr(t, depth)` returns an AST
    expression whose lowered IR type is exactly `t`. `avoid` names constructs not to draw (see
    AVOIDABLE)."""

    def __init__(self, draw, cols: list[Col], avoid: frozenset[str] = frozenset()):
        self.draw = draw
        self.cols = cols
        self.avoid = avoid

    def columns_of(self, t: T.Type) -> list[str]:
        return [c.name for c in self.cols if c.type == t]

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    # -- leaves
    def literal(self, t: T.Type):
        d = self.draw
        if t == T.BIGINT:
            return _lit(d(st.integers(-20, 20)), "int")
        if t == T.INT:
            return _cast(_lit(d(st.integers(-20, 20)), "int"), T.INT)
        if t == T.DOUBLE:
            return _lit(d(st.integers(-80, 80)) / 4, "float")
        if t == DEC:
            return _cast(_lit(d(st.integers(-2000, 2000)) / 4, "float"), DEC)
        if t == T.STRING:
            return _lit(d(st.text(STRING_ALPHABET, max_size=2)), "string")
        if t == T.BOOL:
            return _lit(d(st.booleans()), "bool")
        if t == T.TIMESTAMP:
            # no timestamp literal syntax outside comparisons: a column shifted by a duration
            return None
        raise AssertionError(t)

    def leaf(self, t: T.Type):
        names = self.columns_of(t)
        if names and self.draw(st.integers(0, 2)) > 0:
            return _name(self.pick(names))
        lit = self.literal(t)
        if lit is None:
            return _name(self.pick(names)) if names else None
        return lit

    def small(self, t: T.Type):
        """A leaf, possibly negated: the operands of `*`, so products stay far from overflow (a
        column computed earlier, a product itself, is not a leaf here)."""
        names = [c.name for c in self.cols if c.type == t and c.small]
        if names and self.draw(st.integers(0, 2)) > 0:
            e = _name(self.pick(names))
        else:
            e = self.literal(t)
            if e is None:
                e = _name(self.pick(names)) if names else None
        if e is not None and self.draw(st.integers(0, 4)) == 0:
            e = ast.Unary("-", e)
        return e

    # -- typed expressions
    def draw_expr(self, t: T.Type, depth: int = 2):
        if depth <= 0 or self.draw(st.integers(0, 3)) == 0:
            e = self.leaf(t)
            if e is not None:
                return e
        maker = {T.BIGINT: self._integer, T.INT: self._integer, T.DOUBLE: self._double, DEC: self._decimal,
                 T.STRING: self._string, T.BOOL: self._bool, T.TIMESTAMP: self._timestamp}[t]
        e = maker(t, max(depth, 1))
        return e if e is not None else self.leaf(t)

    def _common(self, t: T.Type, depth: int):
        """Forms every type has: case, coalesce."""
        kind = self.pick(["case", "case_no_else", "coalesce"])
        sub = depth - 1
        if kind == "coalesce":
            args = [self.draw_expr(t, sub) for _ in range(self.draw(st.integers(1, 3)))]
            return _call("coalesce", *args)
        whens = tuple((self.draw_expr(T.BOOL, sub), self.draw_expr(t, sub))
                      for _ in range(self.draw(st.integers(1, 2))))
        return ast.Case(whens, self.draw_expr(t, sub) if kind == "case" else None)

    def _nonzero_divisor(self, t: T.Type, sub: int):
        """A literal that is not 0, or a column guarded against 0 by a case."""
        if self.draw(st.booleans()):
            v = self.draw(st.integers(1, 7)) * self.pick([1, -1])
            return _lit(v, "int") if t != T.DOUBLE else _lit(v / 2, "float")
        e = self.draw_expr(t, sub)
        one = _lit(1, "int") if t != T.DOUBLE else _lit(1.0, "float")
        return ast.Case(((_bin("=", e, _lit(0, "int")), one),), e)

    def _integer(self, t: T.Type, depth: int):
        sub = depth - 1
        other = self.pick([T.BIGINT, T.INT])
        kind = self.pick(["add", "sub", "mul", "neg", "abs", "common", "round", "cast"]
                         + (["div", "mod", "length", "null_arith"] if t == T.BIGINT else [])
                         + (["strpos"] if t == T.BIGINT and "text_functions" not in self.avoid else []))
        if kind == "strpos":
            return _call("strpos", self.draw_expr(T.STRING, sub), self.literal(T.STRING))
        if kind in ("add", "sub"):
            if t == T.INT:
                return _bin("+" if kind == "add" else "-", self.draw_expr(T.INT, sub), self.draw_expr(T.INT, sub))
            a, b = self.draw_expr(t, sub), self.draw_expr(other, sub)
            return _bin("+" if kind == "add" else "-", *((a, b) if self.draw(st.booleans()) else (b, a)))
        if kind == "mul":
            return _bin("*", self.small(t), self.small(T.INT if t == T.INT else other))
        if kind == "neg":
            return ast.Unary("-", self.draw_expr(t, sub))
        if kind == "abs":
            return _call("abs", self.draw_expr(t, sub))
        if kind == "round":
            return _call(self.pick(["round", "floor", "ceil"]), self.draw_expr(t, sub))
        if kind == "cast":
            src = self.pick([T.BIGINT, T.INT, T.DOUBLE, T.BOOL])
            return _cast(self.draw_expr(src, sub), t)
        if kind in ("div", "mod"):
            return _bin("/" if kind == "div" else "%", self.draw_expr(other, sub), self._nonzero_divisor(T.BIGINT, sub))
        if kind == "length":
            return _call("length", self.draw_expr(T.STRING, sub))
        if kind == "null_arith":
            return _bin(self.pick(["+", "-", "*"]), self.draw_expr(t, sub), _lit(None, "null"))
        return self._common(t, depth)

    def _double(self, t: T.Type, depth: int):
        sub = depth - 1
        kind = self.pick(["add", "sub", "mul", "div", "neg", "abs", "round", "round_digits", "floor", "cast",
                          "common", "mixed"])
        if kind in ("add", "sub"):
            return _bin("+" if kind == "add" else "-", self.draw_expr(T.DOUBLE, sub), self.draw_expr(T.DOUBLE, sub))
        if kind == "mixed":
            other = self.pick([T.BIGINT, T.INT])
            a, b = self.draw_expr(T.DOUBLE, sub), self.draw_expr(other, sub)
            return _bin(self.pick(["+", "-"]), *((a, b) if self.draw(st.booleans()) else (b, a)))
        if kind == "mul":
            return _bin("*", self.small(T.DOUBLE), self.small(self.pick([T.DOUBLE, T.BIGINT])))
        if kind == "div":
            # by a power of two: doubles stay multiples of a power of two, so sums are exact in any
            # order and a float result grouped on later is the same on every engine
            return _bin("/", self.draw_expr(T.DOUBLE, sub), _lit(self.pick([0.5, 2.0, 4.0, -0.5, -1.0, -2.0]), "float"))
        if kind == "neg":
            return ast.Unary("-", self.draw_expr(T.DOUBLE, sub))
        if kind == "abs":
            return _call("abs", self.draw_expr(T.DOUBLE, sub))
        if kind == "round":
            return _call("round", self.draw_expr(T.DOUBLE, sub))
        if kind == "round_digits":
            # digits -1, 0 or 2: rounding a multiple of 1/4 to 1 digit (8.25 -> 8.3) leaves the dyadic
            # values whose sums every engine computes exactly
            return _call("round", self.draw_expr(T.DOUBLE, sub), _lit(self.pick([-1, 0, 2]), "int"))
        if kind == "floor":
            return _call(self.pick(["floor", "ceil"]), self.draw_expr(T.DOUBLE, sub))
        if kind == "cast":
            return _cast(self.draw_expr(self.pick([T.BIGINT, T.INT, DEC]), sub), T.DOUBLE)
        return self._common(t, depth)

    def _decimal(self, t: T.Type, depth: int):
        sub = depth - 1
        mixing = "integer_to_decimal" not in self.avoid
        kind = self.pick(["add", "sub", "neg", "abs", "common"] + (["cast"] if mixing else []))
        if kind in ("add", "sub"):
            a, b = self.draw_expr(DEC, sub), self.draw_expr(self.pick([DEC, T.BIGINT, T.INT] if mixing else [DEC]), sub)
            return _bin("+" if kind == "add" else "-", *((a, b) if self.draw(st.booleans()) else (b, a)))
        if kind == "neg":
            return ast.Unary("-", self.draw_expr(DEC, sub))
        if kind == "abs":
            return _call("abs", self.draw_expr(DEC, sub))
        if kind == "cast":
            return _cast(self.draw_expr(self.pick([T.BIGINT, T.INT]), sub), DEC)
        return self._common(t, depth)

    def _string(self, t: T.Type, depth: int):
        sub = depth - 1
        text = "text_functions" not in self.avoid
        kind = self.pick(["lower", "upper", "concat", "cast", "common"] + (["text_fn", "text_fn"] if text else [])
                         + ["replace", "split_part"])
        if kind in ("lower", "upper"):
            return _call(kind, self.draw_expr(T.STRING, sub))
        if kind == "replace":
            return _call("replace", self.draw_expr(T.STRING, sub), self.literal(T.STRING), self.literal(T.STRING))
        if kind == "split_part":  # a constant field from 1 (what Flink spells) and a non-empty delimiter
            return _call("split_part", self.draw_expr(T.STRING, sub), _lit(self.pick(["a", ";", "é"]), "string"),
                         _lit(self.pick([1, 2, 3]), "int"))
        if kind == "text_fn":
            return self._text_function(sub)
        if kind == "concat":
            return _bin("||", self.draw_expr(T.STRING, sub), self.draw_expr(T.STRING, sub))
        if kind == "cast":
            # a time's text is PostgreSQL's (issue 13): drawn where the program has a timestamp column
            src = self.pick([T.BIGINT, T.INT] + ([T.TIMESTAMP] if self.columns_of(T.TIMESTAMP) else []))
            return _cast(self.draw_expr(src, sub), T.STRING)
        return self._common(t, depth)

    def _text_function(self, sub: int):
        """substr, trim, lpad, left, concat(...) and the others with PostgreSQL's edges: positions before
        1, negative lengths where they mean something, empty fill, nulls (never an argument PostgreSQL
        refuses: a negative substr count, field 0)."""
        s = self.draw_expr(T.STRING, sub)
        n = _lit(self.draw(st.integers(-3, 4)), "int")
        fn = self.pick(["substr", "substr2", "trim", "ltrim", "rtrim", "lpad", "rpad", "left", "right", "concat",
                        "split_part_any"])
        if fn == "substr":
            return _call("substr", s, n, _lit(self.draw(st.integers(0, 3)), "int"))
        if fn == "substr2":
            return _call("substr", s, n)
        if fn in ("lpad", "rpad"):
            return _call(fn, s, n, self.literal(T.STRING))
        if fn in ("left", "right"):
            return _call(fn, s, n)
        if fn == "concat":
            return _call("concat", s, self.draw_expr(T.STRING, sub), _lit(None, "null"))
        if fn == "split_part_any":
            return _call("split_part", s, self.literal(T.STRING), _lit(self.pick([-2, -1, 1, 2]), "int"))
        return _call(fn, s)

    def _timestamp(self, t: T.Type, depth: int):
        names = self.columns_of(T.TIMESTAMP)
        if not names:
            return None
        kind = self.pick(["shift", "shift", "common"])
        if kind == "shift":
            d = ast.Duration(self.draw(st.integers(1, 20)) * 500_000)
            return _bin(self.pick(["+", "-"]), self.draw_expr(T.TIMESTAMP, depth - 1), d)
        return self._common(t, depth)

    def _comparable(self, sub: int, n: int) -> list:
        """n expressions of one family of mutually comparable types."""
        family = self.pick(["int", "mixed", "double", "decimal", "string", "bool", "timestamp", "ts_literal"])
        if family in ("timestamp", "ts_literal") and not self.columns_of(T.TIMESTAMP):
            family = "int"
        mixing = "integer_to_decimal" not in self.avoid
        pools = {"int": [T.BIGINT, T.INT], "mixed": list(NUMERIC) if mixing else [T.BIGINT, T.INT, T.DOUBLE],
                 "double": [T.DOUBLE], "decimal": [DEC, T.BIGINT] if mixing else [DEC],
                 "string": [T.STRING], "bool": [T.BOOL], "timestamp": [T.TIMESTAMP]}
        if family == "ts_literal":
            out = [self.draw_expr(T.TIMESTAMP, sub)]
            for _ in range(n - 1):
                micros = self.draw(st.integers(-40, 40)) * 500_000 + self.pick([0, 1_700_000_000 * SECOND])
                out.append(_lit(format_timestamp(micros), "string"))
            return out
        return [self.draw_expr(self.pick(pools[family]), sub) for _ in range(n)]

    def _negated(self) -> bool:
        return "negated_predicates" not in self.avoid and self.draw(st.booleans())

    def _bool(self, t: T.Type, depth: int):
        sub = depth - 1
        kind = self.pick(["compare", "compare", "and", "or", "not", "is_null", "in", "between", "common",
                          "null_compare"] + (["like", "starts_with"] if "text_functions" not in self.avoid else []))
        if kind == "like":
            pattern = _lit(self.pick(["%", "a%", "%é", "_", "a_", "\\%", "", "%a%"]), "string")
            return ast.Like(self.draw_expr(T.STRING, sub), pattern, negated=self._negated(),
                            ignore_case=self.draw(st.booleans()))
        if kind == "starts_with":
            return _call("starts_with", self.draw_expr(T.STRING, sub), self.literal(T.STRING))
        if kind == "compare":
            a, b = self._comparable(sub, 2)
            return _bin(self.pick(["=", "<>", "<", "<=", ">", ">="]), a, b)
        if kind in ("and", "or"):
            return _bin(kind, self.draw_expr(T.BOOL, sub), self.draw_expr(T.BOOL, sub))
        if kind == "not":
            return ast.Unary("not", self.draw_expr(T.BOOL, sub))
        if kind == "is_null":
            any_t = self.pick([c.type for c in self.cols] + [T.BIGINT])
            return ast.IsNull(self.draw_expr(any_t, sub), negated=self.draw(st.booleans()))
        if kind == "in":
            x_t = self.pick([T.BIGINT, T.STRING, T.DOUBLE])
            items = tuple(self.literal(x_t) for _ in range(self.draw(st.integers(1, 3))))
            if self.draw(st.integers(0, 4)) == 0:
                items += (_lit(None, "null"),)
            return ast.InList(self.draw_expr(x_t, sub), items, negated=self._negated())
        if kind == "between":
            x, lo, hi = self._comparable(sub, 3)
            return ast.Between(x, lo, hi, negated=self._negated())
        if kind == "null_compare":
            return _bin(self.pick(["=", "<"]), self.draw_expr(T.BIGINT, sub), _lit(None, "null"))
        return self._common(t, depth)


# ---------------------------------------------------------------- pipelines and programs


@dataclass
class Rel:
    """What is known about a relation while drawing stages on it."""

    cols: list[Col]
    changes: bool = False  # a changelog (a view emitted as changes)
    has_global_aggregate: bool = False
    names: list[str] = field(default_factory=list)  # fresh-name counter
    final_ok: bool = True  # the compiler lets the view be `emit final` (compiler.properties.final_blocker)
    arrival: bool = True  # rows have one arrival order (from one source): `distinct` is defined
    window: ast.Call | None = None  # the window assigned by a `window` stage (for a window join)

    def fresh(self, prefix: str) -> str:
        taken = {c.name for c in self.cols} | set(self.names)
        i = 1
        while f"{prefix}{i}" in taken:
            i += 1
        self.names.append(f"{prefix}{i}")
        return f"{prefix}{i}"

    @property
    def windowed(self) -> bool:
        """Has window_start or window_end: another window would collide with them."""
        return any(c.name in ("window_start", "window_end") for c in self.cols)

    def watermarked(self) -> list[Col]:
        return [c for c in self.cols if c.watermarked]

    def copy(self) -> Rel:
        return Rel(list(self.cols), self.changes, self.has_global_aggregate, list(self.names), self.final_ok,
                   self.arrival, self.window)


def _small(e, rel: Rel) -> bool:
    """Whether a computed column stays within the drawn value range: only a plain small column (a
    product of two such columns, read again by a later `*`, could overflow an int)."""
    if isinstance(e, ast.Name):
        return any(c.name == e.parts[0] and c.small for c in rel.cols)
    return isinstance(e, ast.Literal)


def _monotone(e, rel: Rel) -> bool:
    """Mirror of compiler.properties._monotone_of on the AST: a watermarked column, or one plus or
    minus a duration."""
    if isinstance(e, ast.Name):
        return any(c.name == e.parts[0] and c.watermarked for c in rel.cols)
    if isinstance(e, ast.Binary) and e.op in ("+", "-") and isinstance(e.right, ast.Duration):
        return _monotone(e.left, rel)
    return False


# The kinds of stage `PipelineDrawer.stages` draws.
STAGE_KINDS = ("where", "select", "derive", "window_aggregate", "aggregate", "window_assign", "join", "distinct",
               "top", "union")
JOIN_KINDS = ("interval", "window", "regular", "lookup")

# Constructs a caller may ask the strategies not to draw, to keep looking past a known open bug.
AVOIDABLE = {
    "integer_to_decimal": "an int or bigint made a decimal: cast, or mixed with one in arithmetic or comparison",
    "decimal_sum": "sum(...) and avg(...) of a decimal",
    "negated_predicates": "`not in` and `not between` (the Python builder cannot write them)",
    "text_functions": "issue 13's text functions Flink does not spell yet (substr, strpos, trim, lpad, left, "
                      "concat(...), starts_with, like, ...)",
    "table_versions": "a table file that lists a primary key twice (its last version is the table's row)",
    "undefined_distinct": "distinct where rows have no single arrival order (after a union, a join of two "
                          "streams, an aggregate or a top): its result depends on interleaving",
}


@dataclass
class Env:
    """The relations a pipeline may read: sources, tables and earlier views, by name."""

    rels: dict[str, Rel] = field(default_factory=dict)
    tables: dict[str, Rel] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)

    def alias(self) -> str:
        """A join alias unique in the program, so renamed right columns (`j1_k`) never collide."""
        self.aliases.append(f"j{len(self.aliases) + 1}")
        return self.aliases[-1]


def _same_columns(a: list[Col], b: list[Col]) -> bool:
    return [(c.name, c.type) for c in a] == [(c.name, c.type) for c in b]


def _eq_types_match(a: T.Type, b: T.Type) -> bool:
    ints = (T.BIGINT, T.INT)
    return a == b or (a in ints and b in ints)


class PipelineDrawer:
    def __init__(self, draw, depth: int = 2, avoid: frozenset[str] = frozenset(), env: Env | None = None,
                 join_kinds: tuple[str, ...] = JOIN_KINDS):
        self.draw = draw
        self.depth = depth
        self.avoid = avoid
        self.env = env or Env()
        self.join_kinds = join_kinds

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def exprs(self, rel: Rel) -> ExprDrawer:
        return ExprDrawer(self.draw, rel.cols, self.avoid)

    def where(self, rel: Rel) -> ast.Where:
        return ast.Where(self.exprs(rel).draw_expr(T.BOOL, self.depth))

    def _item_type(self, rel: Rel) -> T.Type:
        return self.pick(list(VALUE_TYPES) + ([T.TIMESTAMP] if any(c.type == T.TIMESTAMP for c in rel.cols) else []))

    def _computed(self, rel: Rel, ex: ExprDrawer, t: T.Type):
        if t == T.TIMESTAMP and self.draw(st.booleans()):
            # a shifted timestamp, which keeps the watermark when its input has it
            base = self.pick([c.name for c in rel.cols if c.type == T.TIMESTAMP])
            return _bin(self.pick(["+", "-"]), ast.Name((base,)), ast.Duration(self.draw(st.integers(1, 6)) * SECOND))
        return ex.draw_expr(t, self.depth)

    def select(self, rel: Rel) -> ast.Select:
        ex = self.exprs(rel)
        keep = [c for c in rel.cols if self.draw(st.integers(0, 2)) > 0]
        items = [ast.Item(ast.Name((c.name,))) for c in keep]
        new: list[Col] = list(keep)
        for _ in range(self.draw(st.integers(0 if keep else 1, 2))):
            t = self._item_type(rel)
            e = self._computed(rel, ex, t)
            name = rel.fresh("c")
            items.append(ast.Item(e, name))
            new.append(Col(name, t, _monotone(e, rel), _small(e, rel)))
        order = self.draw(st.permutations(range(len(items))))
        rel.cols = [new[i] for i in order]
        if not any(c.name == "window_start" for c in rel.cols):
            rel.window = None  # a window join needs window_start
        return ast.Select(tuple(items[i] for i in order))

    def derive(self, rel: Rel) -> ast.Derive:
        items = []
        for _ in range(self.draw(st.integers(1, 2))):
            # later items of a derive read the columns as the earlier items left them
            t = self._item_type(rel)
            e = self._computed(rel, self.exprs(rel), t)
            replace = [c for c in rel.cols if c.name not in ("window_start", "window_end")]
            if replace and self.draw(st.integers(0, 3)) == 0:
                name = self.pick([c.name for c in replace])
            else:
                name = rel.fresh("d")
            items.append(ast.Item(e, name))
            col = Col(name, t, _monotone(e, rel), _small(e, rel))
            cols = list(rel.cols)
            idx = next((i for i, c in enumerate(cols) if c.name == name), None)
            if idx is None:
                cols.append(col)
            else:
                cols[idx] = col
            rel.cols = cols
        return ast.Derive(tuple(items))

    def _window_call(self, rel: Rel, session: bool) -> ast.Call | None:
        wm = rel.watermarked()
        candidates = [c.name for c in (wm or [c for c in rel.cols if c.type == T.TIMESTAMP])]
        if not candidates:
            return None
        time = ast.Arg(ast.Name((self.pick(candidates),)))
        if session:
            gap = self.draw(st.integers(1, 8)) * 500_000
            return ast.Call("session", (time, ast.Arg(ast.Duration(gap), "gap")))
        size = self.pick([1, 2, 3, 4, 5, 10]) * SECOND
        offset = self.pick([0, 0, 0, SECOND // 2, SECOND, 2 * SECOND])
        offset_arg = (ast.Arg(ast.Duration(offset), "offset"),) if 0 < offset < size else ()
        if self.draw(st.booleans()):
            return ast.Call("tumble", (time, ast.Arg(ast.Duration(size))) + offset_arg)
        slide_arg = ast.Arg(ast.Duration(size // self.pick([1, 2, 5])), "slide")  # sizes are whole seconds
        return ast.Call("hop", (time, ast.Arg(ast.Duration(size), "size"), slide_arg) + offset_arg)

    def aggregate(self, rel: Rel, window: ast.Call | None) -> ast.Aggregate:
        ex = self.exprs(rel)
        key_pool = [c for c in rel.cols if c.name not in ("window_start", "window_end") or window is None]
        keys = [c for c in key_pool if self.draw(st.integers(0, 3)) == 0][:2]
        if window is not None and window.name == "session" and not keys and key_pool and self.draw(st.booleans()):
            keys = [key_pool[0]]
        items = []
        out_cols = [Col(c.name, c.type, small=c.small) for c in keys]
        if window is not None:
            wm = _monotone(window.args[0].value, rel)
            # a session's start can trail the watermark without bound (compiler.properties)
            out_cols += [Col("window_start", T.TIMESTAMP, wm and window.name != "session"),
                         Col("window_end", T.TIMESTAMP, wm)]
        for _ in range(self.draw(st.integers(1, 3))):
            fn = self.pick(["count", "count_x", "sum", "min", "max", "avg", "count_distinct"])
            name = rel.fresh("n")
            if fn == "count":
                items.append(ast.Item(_call("count"), name))
                out = T.BIGINT
            elif fn in ("count_x", "count_distinct"):
                t = self.pick([c.type for c in rel.cols] + [T.BIGINT])
                items.append(ast.Item(_call("count" if fn == "count_x" else fn, ex.draw_expr(t, 1)), name))
                out = T.BIGINT
            elif fn in ("sum", "avg"):
                t = self.pick([x for x in NUMERIC if x != DEC or "decimal_sum" not in self.avoid])
                items.append(ast.Item(_call(fn, ex.draw_expr(t, 1)), name))
                out = (T.BIGINT if t.is_integer else t) if fn == "sum" else (DEC if t == DEC else T.DOUBLE)
            else:
                t = self.pick([x for x in ORDERABLE if x != T.TIMESTAMP or ex.columns_of(T.TIMESTAMP)])
                items.append(ast.Item(_call(fn, ex.draw_expr(t, 1)), name))
                out = t
            out_cols.append(Col(name, out, small=False))  # a sum or count can exceed the drawn range
        rel.cols = out_cols
        rel.has_global_aggregate = rel.has_global_aggregate or window is None
        rel.arrival = False
        rel.window = None
        if window is None:
            rel.final_ok = False
        return ast.Aggregate(tuple(items), tuple(ast.Name((c.name,)) for c in keys))

    # ------------------------------------------------------------ distinct, top, union

    def _some_keys(self, rel: Rel, low: int) -> tuple[ast.Name, ...]:
        n = self.draw(st.integers(low, min(2, len(rel.cols))))
        names = self.draw(st.permutations([c.name for c in rel.cols]))[:n]
        return tuple(ast.Name((x,)) for x in names)

    def distinct(self, rel: Rel) -> ast.Distinct | None:
        if not rel.arrival and ("undefined_distinct" in self.avoid or self.draw(st.integers(0, 3)) > 0):
            return None  # mostly drawn where its result is defined
        return ast.Distinct(self._some_keys(rel, 1))

    def top(self, rel: Rel) -> ast.Top:
        ex = self.exprs(rel)
        t = self.pick([c.type for c in rel.cols if c.type != T.BOOL] + [T.BIGINT])
        stage = ast.Top(self.draw(st.integers(1, 3)), ex.draw_expr(t, 1), self.draw(st.booleans()),
                        self._some_keys(rel, 0))
        rel.final_ok = False
        rel.arrival = False
        return stage

    def _filtered(self, name: str, like: Rel) -> ast.Relation:
        """A relation to read on the right of a join or union: the name, or `(name | where ...)`."""
        if self.draw(st.integers(0, 2)) > 0:
            return ast.RelationRef(name)
        return ast.Pipeline(ast.RelationRef(name), (self.where(like.copy()),))

    def union(self, rel: Rel) -> ast.Union_ | None:
        same = [n for n, r in self.env.rels.items() if _same_columns(r.cols, rel.cols)]
        if not same:
            return None
        name = self.pick(same)
        other = self.env.rels[name]
        relation = self._filtered(name, other)
        rel.cols = [Col(c.name, c.type, c.watermarked and o.watermarked, c.small and o.small) for c, o in zip(rel.cols, other.cols,
                                                                                        strict=True)]
        rel.final_ok = rel.final_ok and other.final_ok
        rel.arrival = False
        rel.window = None  # compiler.properties.window_of does not see through a union
        return ast.Union_(relation)

    # ------------------------------------------------------------ joins

    def _right_cols(self, rel: Rel, right: Rel, alias: str) -> tuple[list[Col], list[Col]]:
        """(the right side's columns as the condition names them, `alias.col`; as the output names
        them: the column's name, or `alias_col` where the left side has it)."""
        left = {c.name for c in rel.cols}
        qualified = [Col(f"{alias}.{c.name}", c.type, c.watermarked, c.small) for c in right.cols]
        out = [Col(c.name if c.name not in left else f"{alias}_{c.name}", c.type, c.watermarked, c.small)
               for c in right.cols]
        return qualified, out

    def _equality(self, rel: Rel, qualified: list[Col]):
        """`left = alias.right` over a pair of columns of one type (the key `k` most often)."""
        pairs = [(a, b) for a in rel.cols for b in qualified
                 if a.type not in (T.TIMESTAMP, T.DOUBLE) and _eq_types_match(a.type, b.type)
                 and a.name not in ("window_start", "window_end")]
        if not pairs:
            return None
        keyed = [(a, b) for a, b in pairs if a.name == "k" and b.name.endswith(".k")]
        a, b = self.pick(keyed) if keyed and self.draw(st.integers(0, 3)) > 0 else self.pick(pairs)
        left, right = _name(a.name), _name(b.name)
        return _bin("=", *((left, right) if self.draw(st.integers(0, 3)) > 0 else (right, left)))

    def _extra(self, rel: Rel, qualified: list[Col], cond):
        """Sometimes one more conjunct, over both sides."""
        if self.draw(st.integers(0, 3)) > 0:
            return cond
        extra = ExprDrawer(self.draw, rel.cols + qualified, self.avoid).draw_expr(T.BOOL, 1)
        return _bin("and", cond, extra)

    def join(self, rel: Rel) -> list | None:
        """Stages joining `rel` with another relation, or None (and `rel` as it was) when none fits."""
        before = rel.copy()
        stages = self._join(rel)
        if stages is None:  # the left side may have been windowed before the right side was found wanting
            rel.__dict__.update(before.__dict__)
        return stages

    def _join(self, rel: Rel) -> list | None:
        kinds = ["regular", "interval", "interval"]
        if self.env.tables:
            kinds += ["lookup", "lookup"]
        if rel.window is not None or (not rel.windowed and rel.watermarked()):
            kinds += ["window", "window"]
        kinds = [k for k in kinds if k in self.join_kinds]
        if not kinds:
            return None
        kind = self.pick(kinds)
        how = self.pick(["inner", "inner", "left"])
        alias = self.env.alias()
        stages: list = []
        if kind == "lookup":
            table = self.pick(sorted(self.env.tables))
            right_rel, relation = self.env.tables[table], ast.RelationRef(table)
        elif kind == "window":
            if rel.window is None:  # window the left side first
                call = self._window_call(rel, session=False)
                if call is None or not rel.watermarked():
                    return None
                stages.append(ast.Window(call))
                wm = _monotone(call.args[0].value, rel)
                rel.cols = rel.cols + [Col("window_start", T.TIMESTAMP, wm), Col("window_end", T.TIMESTAMP, wm)]
                rel.window = call
            right = [n for n, r in self.env.rels.items() if r.watermarked() and not r.windowed
                     and any(c.type == T.TIMESTAMP for c in r.watermarked())]
            if not right:
                return None
            name = self.pick(right)
            right_rel = self.env.rels[name].copy()
            time = self.pick([c.name for c in right_rel.watermarked() if c.type == T.TIMESTAMP])
            call = ast.Call(rel.window.name, (ast.Arg(ast.Name((time,))),) + rel.window.args[1:])
            relation = ast.Pipeline(ast.RelationRef(name), (ast.Window(call),))
            right_rel.cols = right_rel.cols + [Col("window_start", T.TIMESTAMP, True),
                                               Col("window_end", T.TIMESTAMP, True)]
        else:
            pool = list(self.env.rels)
            if kind == "interval":
                if not any(c.type == T.TIMESTAMP for c in rel.watermarked()):
                    return None
                pool = [n for n in pool if any(c.type == T.TIMESTAMP for c in self.env.rels[n].watermarked())]
            if not pool:
                return None
            name = self.pick(pool)
            right_rel = self.env.rels[name]
            relation = self._filtered(name, right_rel)
        qualified, out = self._right_cols(rel, right_rel, alias)
        cond = self._equality(rel, qualified)
        if cond is None:
            return None
        if kind == "interval":
            lt = self.pick([c.name for c in rel.watermarked() if c.type == T.TIMESTAMP])
            rt = self.pick([c.name for c in qualified if c.watermarked and c.type == T.TIMESTAMP])
            lo = self.draw(st.integers(-6, 4)) * 500_000
            hi = lo + self.draw(st.integers(0, 8)) * 500_000
            cond = _bin("and", cond, self._bound(_name(lt), _name(rt), lo, hi))
        elif kind == "window":
            ws = (_name("window_start"), _name(f"{alias}.window_start"))
            cond = _bin("and", cond, _bin("=", *(ws if self.draw(st.booleans()) else ws[::-1])))
        cond = self._extra(rel, qualified, cond)
        stages.append(ast.Join(relation, cond, alias, how))
        rel.cols = rel.cols + out
        if kind == "regular":
            rel.final_ok = False
        elif kind != "lookup":
            rel.final_ok = rel.final_ok and right_rel.final_ok
        if kind != "lookup":
            rel.arrival = False  # a lookup join's rows come in the order of its stream's rows
        rel.window = None  # compiler.properties.window_of does not see through a join: no second window join
        return stages

    def _bound(self, left, right, lo: int, hi: int):
        """`left between right + lo and right + hi`, or the same as two comparisons."""
        def shifted(micros: int):
            if micros == 0 and self.draw(st.booleans()):
                return right
            return _bin("+" if micros >= 0 else "-", right, ast.Duration(abs(micros)))
        if self.draw(st.booleans()):
            return ast.Between(left, shifted(lo), shifted(hi))
        return _bin("and", _bin(">=", left, shifted(lo)), _bin("<=", left, shifted(hi)))

    # ------------------------------------------------------------ a pipeline

    def stages(self, rel: Rel) -> list:
        """Row stages, at most one aggregate (windowed or not), relational stages, row stages after."""
        out: list = []
        aggregated = False
        for _ in range(self.draw(st.integers(1, 4))):
            kinds = ["where", "select", "derive", "join", "join", "distinct", "top", "union", "union"]
            if not aggregated:
                kinds += ["window_aggregate", "window_aggregate", "aggregate"]
                if rel.changes:  # an aggregate over a changelog (retractions), drawn more often
                    kinds += ["aggregate", "aggregate"]
                if not rel.windowed:
                    kinds.append("window_assign")
            kind = self.pick([k for k in kinds if k in STAGE_KINDS])
            if kind == "where":
                out.append(self.where(rel))
            elif kind == "select":
                out.append(self.select(rel))
            elif kind == "derive":
                out.append(self.derive(rel))
            elif kind in ("distinct", "top", "union"):
                stage = getattr(self, kind)(rel)
                if stage is not None:
                    out.append(stage)
            elif kind == "join":
                out += self.join(rel) or []
            elif kind == "window_assign":
                call = self._window_call(rel, session=False)
                if call is None:
                    continue
                out.append(ast.Window(call))
                wm = _monotone(call.args[0].value, rel)
                rel.cols = rel.cols + [Col("window_start", T.TIMESTAMP, wm), Col("window_end", T.TIMESTAMP, wm)]
                rel.window = call
                # a row stage next must not be mistaken for the window's aggregate input: select it now
                out.append(self.select(rel) if self.draw(st.booleans()) else self.where_reading_window(rel))
            elif kind == "window_aggregate":
                if rel.windowed:
                    continue
                call = self._window_call(rel, session=self.draw(st.integers(0, 2)) == 0)
                if call is None:
                    continue
                out.append(ast.Window(call))
                out.append(self.aggregate(rel, call))
                aggregated = True
            else:
                out.append(self.aggregate(rel, None))
                aggregated = True
        return out

    def where_reading_window(self, rel: Rel) -> ast.Where:
        """A filter on window_start, which keeps the window a plain window assignment."""
        offset = ast.Duration(self.draw(st.integers(0, 4)) * SECOND)
        return ast.Where(_bin(self.pick(["<", ">=", "<>"]), ast.Name(("window_start",)),
                              _bin("-", ast.Name(("window_end",)), offset)))


# ---------------------------------------------------------------- tables and cases


@dataclass(frozen=True)
class TableSpec:
    """A versioned table (reference data for lookup joins): key `k`, one or two value columns.
    Its file may list a key twice: the last version wins."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ("k",)

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    def decl(self) -> ast.TableDecl:
        return ast.TableDecl(self.name, tuple(ast.ColumnDef(c.name, type_name(c.type)) for c in self.columns),
                             self.primary_key, ast.Connector("csv", (ast.Arg(ast.Literal(self.path, "string")),)))


@st.composite
def table_specs(draw, key_type: T.Type, name: str = "tb") -> TableSpec:
    values = [Column(c, draw(st.sampled_from(VALUE_TYPES))) for c in "xy"[:draw(st.integers(1, 2))]]
    return TableSpec(name, (Column("k", key_type), *values))


@st.composite
def table_rows(draw, spec: TableSpec, max_rows: int = 6, versions: bool = True) -> list[dict]:
    """Rows in file order; keys are never null, may repeat (a later version replaces an earlier)
    unless `versions` is False."""
    rows: list[dict] = []
    for _ in range(draw(st.integers(0, max_rows))):
        row = {"k": _value(draw, spec.columns[0].type, key=True)}
        if not versions and any(r["k"] == row["k"] for r in rows):
            continue
        for c in spec.columns[1:]:
            row[c.name] = None if draw(st.integers(0, 5)) == 0 else _value(draw, c.type)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Case:
    """One drawn test case: the program, its sources' rows in arrival order, its tables' rows."""

    program: ast.Program
    sources: tuple[SourceSpec, ...]
    inputs: dict = field(hash=False)  # source or table name -> list of row dicts
    tables: tuple[TableSpec, ...] = ()

    def flow_text(self) -> str:
        from flowc.dsl.formatter import format_program
        return format_program(self.program)

    def csv_files(self) -> dict[str, str]:
        files = {s.path: csv_text(s, self.inputs[s.name]) for s in self.sources}
        files.update({t.path: csv_text(t, self.inputs[t.name]) for t in self.tables})  # type: ignore[arg-type]
        return files

    def describe(self) -> str:
        parts = [self.flow_text()]
        for path, text in self.csv_files().items():
            parts.append(f"--- {path}\n{text}")
        return "\n".join(parts)


def _source_rel(spec: SourceSpec) -> Rel:
    return Rel([Col(c.name, c.type, c.name == spec.event_time) for c in spec.columns])


@st.composite
def programs(draw, spec: SourceSpec | tuple[SourceSpec, ...], max_views: int = 3, depth: int = 2,
             avoid: frozenset[str] = frozenset(), tables: tuple[TableSpec, ...] = (),
             join_kinds: tuple[str, ...] = JOIN_KINDS) -> ast.Program:
    """Views over the sources (and tables); each reads a source or an earlier view."""
    specs = (spec,) if isinstance(spec, SourceSpec) else tuple(spec)
    env = Env({s.name: _source_rel(s) for s in specs},
              {t.name: Rel([Col(c.name, c.type) for c in t.columns], final_ok=False, arrival=False) for t in tables})
    views: list[tuple[str, Rel]] = []
    decls: list = [s.decl() for s in specs] + [t.decl() for t in tables]
    n = draw(st.integers(1, max_views))
    pd = PipelineDrawer(draw, depth, frozenset(avoid), env, join_kinds)
    for i in range(n):
        start = draw(st.sampled_from(list(env.rels)))
        upstream = env.rels[start]
        rel = upstream.copy()
        rel.names = []
        if start in dict(views):
            rel.final_ok = not upstream.changes
        stages = pd.stages(rel)
        emit = draw(st.sampled_from([None, "final", "changes"] if rel.final_ok else [None, "changes"]))
        if emit is not None:
            stages.append(ast.Emit(emit))
        rel.changes = not rel.final_ok or emit == "changes"
        rel.final_ok = not rel.changes
        name = f"v{i + 1}"
        decls.append(ast.ViewDecl(name, ast.Pipeline(ast.RelationRef(start), tuple(stages))))
        views.append((name, rel))
        env.rels[name] = rel
    return ast.Program(tuple(decls))


@st.composite
def cases(draw, max_rows: int = 40, max_views: int = 3, depth: int = 2,
          avoid: frozenset[str] = frozenset(), max_sources: int = 2, with_tables: bool = True,
          clocks: tuple[int, ...] = CLOCKS, join_kinds: tuple[str, ...] = JOIN_KINDS) -> Case:
    """Sources, maybe a table, views over them and their rows. `avoid`: names from AVOIDABLE not to
    draw (constructs with a known open bug, so the property keeps finding new ones). `clocks`: where
    event times may start; `join_kinds`: the joins to draw (a target's named difference may need
    fewer, e.g. Flink's interval join before 1970, W0919)."""
    unknown = set(avoid) - set(AVOIDABLE)
    if unknown:
        raise ValueError(f"unknown constructs to avoid: {sorted(unknown)}; known: {sorted(AVOIDABLE)}")
    first = draw(source_specs())
    specs = [first]
    if max_sources > 1 and draw(st.booleans()):
        if draw(st.booleans()):  # a twin: the same columns, its own watermark (union reads both)
            other = draw(source_specs("u"))
            specs.append(SourceSpec("u", first.columns, other.event_time, other.watermark))
        else:
            other = draw(source_specs("u"))
            key = first.columns[0]
            specs.append(SourceSpec("u", (key,) + other.columns[1:], other.event_time, other.watermark))
    tables = (draw(table_specs(first.columns[0].type)),) if with_tables and draw(st.integers(0, 2)) == 0 else ()
    program = draw(programs(tuple(specs), max_views=max_views, depth=depth, avoid=frozenset(avoid), tables=tables,
                            join_kinds=join_kinds))
    # long streams for one source, shorter ones when there are two (a join multiplies the work)
    budget = max_rows if len(specs) == 1 else max_rows * 2 // 3
    inputs = {s.name: draw(streams(s, max_rows=budget, clocks=clocks)) for s in specs}
    inputs.update({t.name: draw(table_rows(t, versions="table_versions" not in avoid)) for t in tables})
    return Case(program, tuple(specs), inputs, tables)
