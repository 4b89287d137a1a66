"""A row-at-a-time reference evaluator, written from SEMANTICS.md for the property tests.

    evaluate(program, inputs) -> Reference(views={name: [row tuple]}, late={source: count})

`program` is lowered IR; `inputs[source]` is that source's rows (dicts) in arrival order, with the
values the strategies draw: int, float, Decimal, str, bool, None, and timestamps as int microseconds.

It computes the plain relational meaning of each view (SEMANTICS §4) over the rows §1 calls on
time, which is what every target's consolidated output must equal. Clarity over speed: every view is
evaluated from scratch, one row at a time, with Python values. It imports neither the runtime nor a
target, so it is an independent witness and not a copy of either engine.

Choices where SEMANTICS.md is silent, kept in one place (each also shown by both engines):
- A null event time before any watermark exists is on time (§1 only makes it late once one
  exists). Such a row gets a null window: tumble gives one (null, null) window, hop gives its
  size/slide windows all (null, null) (null propagation through `s = ts - ...`), and a session
  window never contains it (sessions are built from the ordered, non-null times of a key).
- A global aggregate (no keys, no window) over no rows has one row (count 0, the rest null), as in SQL.
- `round` of a double to d digits multiplies by 10^d, rounds half away from zero and divides back,
  as both SQL engines do; `cast(double as integer)` truncates (the IR's documented choice).

Joins, distinct, top and union (SEMANTICS §5 and the "flowc choices" of docs/semantics.md):
- Every join is the SQL join of the on-time rows (inner, or left with null padding); an interval or
  window join is just its condition, and a lookup join reads the table's rows, the last version of
  each primary key in file order (the table is loaded before any stream row is processed).
- `distinct KEYS` keeps the first on-time row per key in arrival order. Each row carries its arrival
  position (the source row's index; a hop row's windows come in ascending window_start; a lookup
  join's row has its stream row's position). Where rows have none (after a union, a join of two
  streams, an aggregate, a top or a table scan) the result depends on interleaving: the view is
  `undefined` and not compared (the DataFusion target must refuse it).
- `top N by E [asc|desc] per KEYS`: per key, the first N rows ordered by E in the given direction
  with nulls last, then by every column ascending with nulls last.
"""

from __future__ import annotations

import decimal
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler import types as T

Row = dict


class ReferenceError_(Exception):
    """The reference met something it does not model (a gap of the reference, not of a target)."""


class Undefined(Exception):
    """A view whose contents SEMANTICS does not define (distinct without one arrival order)."""


@dataclass
class Reference:
    views: dict[str, list[tuple]] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)  # view -> why its contents are not defined


ARRIVAL = "__arrival"  # the hidden key of a row's arrival position (a tuple), where it has one


# ---------------------------------------------------------------- section 1: lateness


def split_late(rows: list[Row], event_time: str | None, delay: int | None,
               null_time_late: bool = False, positive_watermarks: bool = False) -> tuple[list[Row], list[Row]]:
    """(on-time rows, late rows), both in arrival order. W_i = max(ts_1..ts_i) - D; row i is late
    iff ts_i < W_{i-1}; a null event time is late once any watermark exists. Two named differences
    of a target can be applied: `null_time_late`, a null event time is always late (Flink's W0911);
    `positive_watermarks`, no watermark exists while W - 1 ms <= 0, i.e. before 1970 (Flink's W0919:
    its watermark assigner starts at 0 and is declared 1 ms below flowc's)."""
    if event_time is None:
        return list(rows), []
    on_time, late = [], []
    max_ts = None  # None: W = -infinity
    for r in rows:
        ts = r[event_time]
        watermark = None if max_ts is None else max_ts - (delay or 0)
        if positive_watermarks and watermark is not None and watermark - 1000 <= 0:
            watermark = None
        if ts is None:
            (late if watermark is not None or null_time_late else on_time).append(r)
            continue
        if watermark is not None and ts < watermark:
            late.append(r)
            continue
        on_time.append(r)
        max_ts = ts if max_ts is None else max(max_ts, ts)
    return on_time, late


# ---------------------------------------------------------------- values and expressions


def coerce(v, to: T.Type):
    """A value in the representation of type `to` (int, float, Decimal, str, bool, micros)."""
    if v is None or to == T.NULL:
        return v
    if to == T.DOUBLE:
        return float(v)
    if to.name == "decimal":
        return decimal.Decimal(v) if not isinstance(v, float) else decimal.Decimal(repr(v))
    return v


def _int_range(t: T.Type, v: int) -> int:
    bits = 32 if t == T.INT else 64
    if not -(2 ** (bits - 1)) <= v < 2 ** (bits - 1):
        raise ReferenceError_(f"integer overflow: {v} does not fit {t}")
    return v


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _quantize(v: decimal.Decimal, t: T.Type) -> decimal.Decimal:
    return v.quantize(decimal.Decimal(1).scaleb(-(t.scale or 0)), rounding=decimal.ROUND_HALF_UP)


def _round_half_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _kleene_and(a, b):
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _kleene_or(a, b):
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _common(types: list[T.Type]) -> T.Type:
    out = types[0]
    for t in types[1:]:
        out = T.common_type(out, t) or out
    return out


def _compare_values(fn: str, a, b) -> bool:
    return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[fn]


def ev(e: ir.Expr, row: Row):
    """The value of e on one row, with SQL's null rules."""
    if isinstance(e, ir.ColumnRef):
        return row[e.name]
    if isinstance(e, ir.Literal):
        return coerce(e.value, e.type)
    if isinstance(e, ir.Case):
        for cond, value in e.whens:
            if ev(cond, row) is True:  # a null condition counts as false
                return coerce(ev(value, row), e.type)
        return coerce(ev(e.else_, row), e.type) if e.else_ is not None else None
    if isinstance(e, ir.Cast):
        return _cast(ev(e.expr, row), e.expr.type, e.type)
    if isinstance(e, ir.Call):
        return _call(e, row)
    raise ReferenceError_(f"expression {type(e).__name__}")


def _cast(v, src: T.Type, to: T.Type):
    if v is None:
        return None
    if to.is_integer:
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, str):
            return _int_range(to, int(v.strip()))
        return _int_range(to, int(v))  # int() truncates floats and decimals toward zero
    if to == T.DOUBLE:
        return float(v)
    if to.name == "decimal":
        return _quantize(coerce(v, to), to)
    if to == T.STRING:
        if isinstance(v, bool):
            return "true" if v else "false"
        if src in (T.INT, T.BIGINT):
            return str(v)
        if src.is_time_point:  # as PostgreSQL prints it: the fraction without trailing zeros
            import datetime as dt

            t = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(v))
            text = t.strftime("%Y-%m-%d %H:%M:%S").rjust(19, "0")
            if t.microsecond:
                text += "." + f"{t.microsecond:06d}".rstrip("0")
            return text + ("+00" if src == T.TIMESTAMPTZ else "")
        raise ReferenceError_(f"cast from {src} to string")
    if to == T.BOOL:
        return bool(v)
    if to.is_time_point and src.is_time_point:
        return v
    raise ReferenceError_(f"cast from {src} to {to}")


def _call(e: ir.Call, row: Row):
    fn = e.fn
    if fn == "and":
        return _kleene_and(ev(e.args[0], row), ev(e.args[1], row))
    if fn == "or":
        return _kleene_or(ev(e.args[0], row), ev(e.args[1], row))
    if fn == "concat_all":  # PostgreSQL's concat: nulls skipped
        return "".join(v for v in (ev(a, row) for a in e.args) if v is not None)
    if fn in ("greatest", "least"):
        vals = [coerce(v, e.type) for v in (ev(a, row) for a in e.args) if v is not None]
        return (max(vals) if fn == "greatest" else min(vals)) if vals else None
    if fn == "coalesce":
        for a in e.args:
            v = ev(a, row)
            if v is not None:
                return coerce(v, e.type)
        return None
    args = [ev(a, row) for a in e.args]
    if fn == "is_null":
        return args[0] is None
    if fn == "is_not_null":
        return args[0] is not None
    if fn == "in":
        x, out = args[0], False
        for v in args[1:]:
            out = _kleene_or(out, None if x is None or v is None else x == v)
        return out
    if any(a is None for a in args):
        return None  # every other function is strict
    if fn == "not":
        return not args[0]
    if fn in ("eq", "ne", "lt", "le", "gt", "ge"):
        common = _common([a.type for a in e.args])
        return _compare_values(fn, coerce(args[0], common), coerce(args[1], common))
    if fn in ("add", "sub"):
        a_t, b_t = e.args[0].type, e.args[1].type
        if a_t.is_temporal or b_t.is_temporal or T.INTERVAL in (a_t, b_t):
            return args[0] + args[1] if fn == "add" else args[0] - args[1]  # micros both
        a, b = coerce(args[0], e.type), coerce(args[1], e.type)
        return _numeric_result(a + b if fn == "add" else a - b, e.type)
    if fn == "mul":
        a, b = coerce(args[0], e.type), coerce(args[1], e.type)
        return _numeric_result(a * b, e.type)
    if fn in ("div", "mod"):
        a, b = coerce(args[0], e.type), coerce(args[1], e.type)
        if b == 0:
            raise ReferenceError_("division by zero")
        if e.type.is_integer:
            q = _trunc_div(a, b)
            return _int_range(e.type, q if fn == "div" else a - q * b)
        if e.type == T.DOUBLE:
            return a / b if fn == "div" else math.fmod(a, b)
        raise ReferenceError_(f"{fn} of decimals")
    if fn == "neg":
        return _numeric_result(-args[0], e.type)
    if fn == "abs":
        return _numeric_result(abs(args[0]), e.type)
    if fn == "round":
        digits = args[1] if len(args) == 2 else 0
        x = args[0]
        if e.type.is_integer:
            if digits >= 0:
                return x
            raise ReferenceError_("round of an integer to negative digits")
        if e.type.name == "decimal":
            return _quantize(x.quantize(decimal.Decimal(1).scaleb(-digits), rounding=decimal.ROUND_HALF_UP), e.type)
        scale = 10.0 ** digits
        return _round_half_away(x * scale) / scale
    if fn in ("floor", "ceil"):
        x = args[0]
        if e.type.is_integer:
            return x
        if e.type.name == "decimal":
            return _quantize(x.to_integral_value(rounding=decimal.ROUND_FLOOR if fn == "floor"
                                                 else decimal.ROUND_CEILING), e.type)
        return float(math.floor(x) if fn == "floor" else math.ceil(x))
    if fn == "concat":
        return args[0] + args[1]
    if fn == "lower":
        return args[0].lower()
    if fn == "upper":
        return args[0].upper()
    if fn == "length":
        return len(args[0])
    if fn in _TEXT:
        return _TEXT[fn](*args)
    raise ReferenceError_(f"function {fn}")


def _like(s: str, pattern: str, fold: bool) -> bool:
    """SQL LIKE by recursion over the pattern (% any text, _ one character, a backslash escapes)."""
    if fold:
        s, pattern = s.lower(), pattern.lower()

    def match(i: int, j: int) -> bool:
        if j == len(pattern):
            return i == len(s)
        c = pattern[j]
        if c == "%":
            return any(match(k, j + 1) for k in range(i, len(s) + 1))
        if c == "\\" and j + 1 < len(pattern):
            return i < len(s) and s[i] == pattern[j + 1] and match(i + 1, j + 2)
        return i < len(s) and (c == "_" or s[i] == c) and match(i + 1, j + 1)
    return match(0, 0)


def _substr(s: str, start: int, count: int | None = None) -> str:
    # PostgreSQL: the characters at positions start .. start + count - 1 that exist (from 1)
    chars = [ch for pos, ch in enumerate(s, 1) if pos >= start and (count is None or pos < start + count)]
    if count is not None and count < 0:
        raise ReferenceError_("negative substring length")
    return "".join(chars)


def _split_part(s: str, d: str, n: int) -> str:
    if n == 0:
        raise ReferenceError_("split_part field 0")
    fields = s.split(d) if d else [s]
    if s == "":
        return ""
    i = n - 1 if n > 0 else len(fields) + n
    return fields[i] if 0 <= i < len(fields) else ""


def _pad(s: str, n: int, fill: str, left: bool) -> str:
    if n <= len(s):
        return s[:max(n, 0)]
    if not fill:
        return s
    pad = "".join(fill[i % len(fill)] for i in range(n - len(s)))
    return pad + s if left else s + pad


_TEXT = {
    "substr": _substr,
    "replace": lambda s, f, t: s if f == "" else s.replace(f, t),
    "split_part": _split_part,
    "strpos": lambda s, sub: s.find(sub) + 1,
    "trim": lambda s: s.strip(" "), "ltrim": lambda s: s.lstrip(" "), "rtrim": lambda s: s.rstrip(" "),
    "starts_with": lambda s, p: s.startswith(p),
    "lpad": lambda s, n, fill=" ": _pad(s, n, fill, True),
    "rpad": lambda s, n, fill=" ": _pad(s, n, fill, False),
    "left": lambda s, n: s[:n] if n >= 0 else s[:max(len(s) + n, 0)],
    "right": lambda s, n: (s[-n:] if n > 0 else "") if n >= 0 else s[min(-n, len(s)):],
    "like": lambda s, p: _like(s, p, False),
    "ilike": lambda s, p: _like(s, p, True),
}


def _numeric_result(v, t: T.Type):
    if t.is_integer:
        return _int_range(t, v)
    if t.name == "decimal":
        return _quantize(v, t)
    return v


# ---------------------------------------------------------------- relations


def _window_starts(w: ir.WindowSpec, ts: int | None) -> list[int | None]:
    """The starts of the tumble or hop windows a time belongs to (§2), ascending."""
    if w.kind == "tumble":
        return [None if ts is None else ts - ((ts - w.offset) % w.size)]
    n = w.size // w.slide
    if ts is None:
        return [None] * n
    last = ts - ((ts - w.offset) % w.slide)
    return [last - j * w.slide for j in reversed(range(n))]


def _aggregate_values(a: ir.AggCall, rows: list[Row]):
    if a.arg is None:
        return len(rows)
    values = [v for v in (ev(a.arg, r) for r in rows) if v is not None]
    if a.fn == "count":
        return len(values)
    if a.fn == "count_distinct":
        return len(set(values))
    if not values:
        return None
    if a.fn == "min":
        return min(values)
    if a.fn == "max":
        return max(values)
    if a.fn == "sum":
        if a.type == T.DOUBLE:
            return math.fsum(float(v) for v in values)
        total = sum(coerce(v, a.type) for v in values)
        return _numeric_result(total, a.type) if a.type.name == "decimal" else total
    if a.fn == "avg":
        if a.type.name == "decimal":
            return _quantize(sum(decimal.Decimal(v) for v in values) / len(values), a.type)
        if all(isinstance(v, int) for v in values):
            return sum(values) / len(values)  # exact sum, one rounding
        return math.fsum(values) / len(values)
    raise ReferenceError_(f"aggregate {a.fn}")


def _with_arrival(new: Row, old: Row) -> Row:
    if ARRIVAL in old:
        new[ARRIVAL] = old[ARRIVAL]
    return new


def _without_arrival(row: Row) -> Row:
    return {k: v for k, v in row.items() if k != ARRIVAL} if ARRIVAL in row else row


def _compare_nulls_last(a, b, descending: bool) -> int:
    if a is None or b is None:
        return (a is None) - (b is None)  # a null comes after a value, in both directions
    c = (a > b) - (a < b)
    return -c if descending else c


def table_versions(rows: list[Row], primary_key: tuple[str, ...]) -> list[Row]:
    """A table's contents: the last row of each primary key, in file order."""
    last: dict[tuple, Row] = {}
    for row in rows:
        key = tuple(row[k] for k in primary_key)
        last.pop(key, None)
        last[key] = row
    return list(last.values())


class _Evaluator:
    def __init__(self, program: ir.Program, on_time: Mapping[str, list[Row]],
                 tables: Mapping[str, list[Row]] | None = None, differences: frozenset[str] = frozenset()):
        self.program = program
        self.on_time = on_time
        self.tables = tables or {}
        self.views: dict[str, list[Row]] = {}
        # W0916: rows keep their arrival order only until a distinct or a lookup join regroups them
        self.order_ends = "W0916" in differences

    def rel(self, r: ir.Rel) -> list[Row]:
        if isinstance(r, ir.Scan):
            if r.kind == "source":
                rows = self.on_time[r.name]
            elif r.kind == "view":
                if r.name not in self.views:
                    raise Undefined(f"it reads view {r.name}, whose contents are not defined")
                rows = self.views[r.name]
            elif r.kind == "table":
                rows = self.tables[r.name]
            else:
                raise ReferenceError_(f"scan of a {r.kind}")
            names = ir.schema_names(r.columns)
            return [_with_arrival({n: row[n] for n in names}, row) for row in rows]
        if isinstance(r, ir.Filter):
            return [row for row in self.rel(r.input) if ev(r.predicate, row) is True]
        if isinstance(r, ir.Project):
            return [_with_arrival({n: ev(e, row) for n, e in r.columns}, row) for row in self.rel(r.input)]
        if isinstance(r, ir.WindowAssign):
            out = []
            for row in self.rel(r.input):
                for j, s in enumerate(_window_starts(r.window, row[r.window.time_col])):
                    new = {**row, "window_start": s, "window_end": None if s is None else s + r.window.size}
                    if ARRIVAL in row:
                        new[ARRIVAL] = row[ARRIVAL] + (j,)
                    out.append(new)
            return out
        if isinstance(r, ir.Aggregate):
            return self.aggregate(r, self.rel(r.input))
        if isinstance(r, ir.Join):
            return self.join(r)
        if isinstance(r, ir.Distinct):
            rows = self.distinct(r, self.rel(r.input))
            return [_without_arrival(row) for row in rows] if self.order_ends else rows
        if isinstance(r, ir.TopN):
            return self.top(r, self.rel(r.input))
        if isinstance(r, ir.UnionAll):
            return [_without_arrival(row) for row in self.rel(r.input) + self.rel(r.other)]
        raise ReferenceError_(f"the reference does not model {type(r).__name__} yet")

    def join(self, r: ir.Join) -> list[Row]:
        left, right = self.rel(r.input), self.rel(r.right)
        lookup = isinstance(r.right, ir.Scan) and r.right.kind == "table"
        renamed = [{out: row[f.name] for f, out in zip(r.right.schema, r.right_names, strict=True)} for row in right]
        padding = dict.fromkeys(r.right_names)
        out = []
        for lrow in left:
            # only a lookup keeps its stream's order
            base = lrow if lookup and not self.order_ends else _without_arrival(lrow)
            matched = False
            for rrow in renamed:
                row = {**base, **rrow}
                if ev(r.condition, row) is True:
                    out.append(row)
                    matched = True
            if not matched and r.kind == "left":
                out.append({**base, **padding})
        return out

    @staticmethod
    def distinct(r: ir.Distinct, rows: list[Row]) -> list[Row]:
        if any(ARRIVAL not in row for row in rows):
            raise Undefined("distinct over rows without one arrival order (a union, a join of two streams, "
                            "an aggregate or a top)")
        first: dict[tuple, Row] = {}
        for row in sorted(rows, key=lambda x: x[ARRIVAL]):
            first.setdefault(tuple(row[k] for k in r.keys), row)
        return list(first.values())

    @staticmethod
    def top(r: ir.TopN, rows: list[Row]) -> list[Row]:
        names = ir.schema_names(r.schema)

        def order(a: Row, b: Row) -> int:
            c = _compare_nulls_last(ev(r.order_by, a), ev(r.order_by, b), r.descending)
            for n in names:
                c = c or _compare_nulls_last(a[n], b[n], False)
            return c

        groups: dict[tuple, list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(row[k] for k in r.per), []).append(_without_arrival(row))
        out = []
        for members in groups.values():
            out += sorted(members, key=functools.cmp_to_key(order))[:r.n]
        return out

    def aggregate(self, r: ir.Aggregate, rows: list[Row]) -> list[Row]:
        groups: dict[tuple, list[Row]] = {}
        w = r.window
        for row in rows:
            key = tuple(row[k] for k in r.keys)
            if w is None:
                groups.setdefault(key, []).append(row)
            elif w.kind in ("tumble", "hop"):
                for s in _window_starts(w, row[w.time_col]):
                    end = None if s is None else s + w.size
                    groups.setdefault(key + (s, end), []).append(row)
            else:
                groups.setdefault(key, []).append(row)
        if w is not None and w.kind == "session":
            groups = self._sessions(w, groups)
        if w is None and not r.keys and not groups:
            groups[()] = []  # SQL: an aggregate without GROUP BY has one row, even over no rows
        out = []
        for key, members in groups.items():
            row = dict(zip(ir.schema_names(r.schema), key, strict=False))
            for a in r.aggs:
                row[a.name] = _aggregate_values(a, members)
            out.append(row)
        return out

    @staticmethod
    def _sessions(w: ir.WindowSpec, by_key: dict[tuple, list[Row]]) -> dict[tuple, list[Row]]:
        out: dict[tuple, list[Row]] = {}
        for key, rows in by_key.items():
            timed = sorted((r for r in rows if r[w.time_col] is not None), key=lambda r: r[w.time_col])
            session: list[Row] = []
            for r in timed:
                if session and r[w.time_col] - session[-1][w.time_col] >= w.gap:
                    out[key + (session[0][w.time_col], session[-1][w.time_col] + w.gap)] = session
                    session = []
                session.append(r)
            if session:
                out[key + (session[0][w.time_col], session[-1][w.time_col] + w.gap)] = session
        return out


# Named differences of a target that the reference can apply (`evaluate(..., differences=...)`), so a
# target is compared with what it is documented to compute: code -> what changes.
DIFFERENCES = {
    "W0911": "a row whose event time is null is late even before the source's first watermark (Flink)",
    "W0916": "rows lose their arrival order after a distinct or a lookup join (Flink: parallel tasks "
             "interleave them), so a distinct further on is not defined",
    "W0919": "no watermark exists before 1970-01-01 (Flink): no row is late while W - 1 ms <= 0",
}


def evaluate(program: ir.Program, inputs: Mapping[str, list[Row]], differences: frozenset[str] = frozenset()
             ) -> Reference:
    """Each view's relational contents over the on-time rows, as tuples in schema order.
    `differences`: codes of DIFFERENCES to apply."""
    result = Reference()
    on_time: dict[str, list[Row]] = {}
    for s in program.sources:
        # each row remembers its position in the source's arrival order (for distinct)
        numbered = [{**row, ARRIVAL: (i,)} for i, row in enumerate(inputs[s.name])]
        on_time[s.name], late = split_late(numbered, s.event_time, s.watermark, "W0911" in differences,
                                           "W0919" in differences)
        result.late[s.name] = len(late)
    tables = {t.name: table_versions(inputs[t.name], t.primary_key) for t in program.tables}
    ev_ = _Evaluator(program, on_time, tables, differences)
    for v in program.views:
        try:
            rows = ev_.rel(v.plan)
        except Undefined as e:
            result.undefined[v.name] = str(e)
            continue
        ev_.views[v.name] = rows
        names = ir.schema_names(v.schema)
        result.views[v.name] = [tuple(row[n] for n in names) for row in rows]
    return result
