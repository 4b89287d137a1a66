"""IR relations as Flink streaming SQL: each node one SELECT over its input, window functions over
named inputs (CTEs), and the bookkeeping Flink's time attributes need.

Flink decides what is streamed how from *time attributes*: a window table-valued function needs
one (`DESCRIPTOR(ts)`), an interval join bounds two of them, a temporal join reads the table as of
one. A time attribute survives a plain projection (also renamed), a filter, an interval join, a
union of two; it does not survive an expression (`ts + 1h` is a plain TIMESTAMP), a regular join,
an aggregate without window, a top-N. The IR instead knows *watermarked* columns: the event time
and columns that are it plus a constant (`compiler.properties.watermark_columns`). `Rel.times`
links the two: an IR column `c` equal to `attr + shift` where `attr` is a time attribute of the
relation (visible, or carried along as a hidden column `__tN` when a projection drops it). So
`window tumble(c, 10s)` over `c = ts + 3s` becomes `TUMBLE(TABLE t, DESCRIPTOR(ts), 10s, offset - 3s)`
with both bounds shifted back by 3 s: the same windows, Flink's time attribute.

Other hidden columns: `__proctime` (the source's processing time: `distinct` keeps the first row
per key in arrival order, which is Flink's keep-first-row deduplication ordered by it) and
`__wt<N>` (the window_time attribute of a window function, for windows over windows).

What Flink cannot keep with flowc's meaning is refused here with `UnsupportedFeature`, whose hint
names what would work (`FLINK_GAPS` in tests/test_equivalence.py lists them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, UnsupportedFeature
from flowc.compiler.properties import conjuncts, join_kind_in, uncovered_keys
from flowc.compiler.span import Span
from flowc.targets.sql.expressions import col, lit_int
from sqlglot import exp

from .dialect import WindowTVF
from .expressions import MILLI, TARGET, X, interval

PROCTIME = "__proctime"
WS = "__ws"  # a computed window's start
TVF_COLUMNS = ("window_start", "window_end", "window_time")  # what a window function appends
RANK = "__rn"
ORDER = "__order"
TIE = "__tie"  # a processing time ordering rows that are all alike
HIDDEN_PREFIX = "__"


@dataclass(frozen=True)
class Time:
    """An IR column whose value is time attribute `attr` (a column of the same relation) + `shift` µs."""

    attr: str
    shift: int = 0


@dataclass
class Rel:
    """A compiled relation: `query` selects `cols` (the IR schema's names, in order) then `hidden`.

    `times` maps IR columns to the time attribute they follow; `attrs` are the output columns that
    are Flink time attributes (rowtime); `append`: Flink streams it insert-only (else it is an
    updating stream, written with retractions)."""

    query: exp.Expression
    cols: tuple[str, ...]
    hidden: tuple[str, ...] = ()
    times: dict[str, Time] = field(default_factory=dict)
    attrs: frozenset[str] = frozenset()
    append: bool = True
    proctime: bool = False  # carries `__proctime`, in arrival order of one source

    @property
    def names(self) -> tuple[str, ...]:
        return self.cols + self.hidden


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name)


def table(name: str) -> exp.Table:
    return exp.Table(this=_ident(name))


def _alias(e: exp.Expression, name: str) -> exp.Expression:
    if isinstance(e, exp.Column) and e.name == name and not e.table:
        return e
    return exp.Alias(this=e, alias=_ident(name))


def _add(e: exp.Expression, micros: int) -> exp.Expression:
    if micros == 0:
        return e
    return exp.Add(this=e, expression=interval(micros)) if micros > 0 else exp.Sub(this=e, expression=interval(-micros))


def _unsupported(what: str, span: Span | None, hint: str) -> UnsupportedFeature:
    return UnsupportedFeature(what, TARGET, span, hint=hint)


class RelCompiler:
    """Compiles the plans of one view; collects the CTEs its window functions read."""

    def __init__(self, program: ir.Program, view_name: str, views: dict[str, Rel], scans: dict[str, Rel]):
        self.program = program
        self.view_name = view_name
        self._arrival_order = False  # compiling the rows a distinct keeps the first of
        self.views = views  # earlier views, as compiled (their hidden columns and time attributes)
        self.scans = scans  # sources' on-time views and tables, as they read
        self.ctes: list[exp.CTE] = []
        self.notes: list[tuple[Code, str, Span | None]] = []  # named differences: code, message, span
        self._n = 0

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"__{stem}{self._n}"

    # ------------------------------------------------------------ helpers

    def sub(self, r: Rel) -> exp.Subquery:
        return exp.Subquery(this=r.query, alias=exp.TableAlias(this=_ident(self.fresh("q"))))

    def named(self, r: Rel) -> str:
        """A name holding r's rows (a window function reads a table, not a subquery)."""
        if isinstance(r.query, exp.Select) and _plain_scan(r.query, r.names) is not None:
            return _plain_scan(r.query, r.names)  # type: ignore[return-value]
        name = f"{self.view_name}{self.fresh('w')}"
        self.ctes.append(exp.CTE(this=r.query, alias=exp.TableAlias(this=_ident(name))))
        return name

    @staticmethod
    def cols(names) -> list[exp.Expression]:
        return [col(n) for n in names]

    def compile(self, r: ir.Rel) -> Rel:
        method = getattr(self, f"_{type(r).__name__}", None)
        if method is None:
            raise _unsupported(type(r).__name__, r.span, "not lowered for Flink yet")
        # a distinct keeps the first row in arrival order through filters, projections and window
        # assignment only (see _WindowAssign); any other node sets its own order
        outer = self._arrival_order
        if not isinstance(r, ir.Filter | ir.Project | ir.WindowAssign | ir.Distinct):
            self._arrival_order = False
        try:
            out = method(r)
        finally:
            self._arrival_order = outer
        assert out.cols == ir.schema_names(r.schema), (type(r).__name__, out.cols, ir.schema_names(r.schema))
        return out

    # ------------------------------------------------------------ scans, rows

    def _Scan(self, r: ir.Scan) -> Rel:
        base = self.views.get(r.name) if r.kind == "view" else self.scans.get(r.name)
        if base is None:
            raise _unsupported(f"a scan of '{r.name}'", r.span, "declare it before it is read")
        wanted = ir.schema_names(r.columns)
        # a pruned scan reads fewer columns than the relation has: keep what it reads, and the
        # hidden columns and attributes the kept ones need
        keep_hidden = tuple(h for h in base.hidden if h == PROCTIME or any(
            t.attr == h for c, t in base.times.items() if c in wanted))
        times = {c: t for c, t in base.times.items() if c in wanted}
        q = exp.select(*self.cols(wanted + keep_hidden)).from_(table(r.name))
        attrs = frozenset(a for a in base.attrs if a in wanted + keep_hidden)
        return Rel(q, wanted, keep_hidden, times, attrs, base.append, base.proctime and PROCTIME in keep_hidden)

    def _Filter(self, r: ir.Filter) -> Rel:
        inner = self.compile(r.input)
        q = exp.select(*self.cols(inner.names)).from_(self.sub(inner)).where(X.expr(r.predicate))
        return replace(inner, query=q)

    def _Project(self, r: ir.Project) -> Rel:
        inner = self.compile(r.input)
        items: list[exp.Expression] = []
        times: dict[str, Time] = {}
        attrs: set[str] = set()
        out_of: dict[str, str] = {}  # an input attribute -> the output column that passes it on
        for name, e in r.columns:
            items.append(_alias(X.expr(e), name))
            if isinstance(e, ir.ColumnRef) and e.name in inner.attrs:
                attrs.add(name)
                out_of.setdefault(e.name, name)
        hidden: list[str] = []
        extra: list[exp.Expression] = []
        for name, e in r.columns:
            shifted = _shift_of(e)
            if shifted is None or shifted[0] not in inner.times:
                continue
            t = inner.times[shifted[0]]
            if t.attr not in out_of:  # the attribute itself is dropped: carry it hidden
                h = self.fresh("t")
                out_of[t.attr] = h
                hidden.append(h)
                extra.append(_alias(col(t.attr), h))
                attrs.add(h)
            times[name] = Time(out_of[t.attr], t.shift + shifted[1])
        if inner.proctime:
            hidden.append(PROCTIME)
            extra.append(col(PROCTIME))
        q = exp.select(*items, *extra).from_(self.sub(inner))
        return Rel(q, ir.schema_names(r.schema), tuple(hidden), times, frozenset(attrs), inner.append,
                   inner.proctime)

    # ------------------------------------------------------------ windows

    def _time_of(self, rel: Rel, w: ir.WindowSpec) -> Time:
        t = rel.times.get(w.time_col)
        if t is None:
            raise _unsupported(
                f"a {w.kind} window over '{w.time_col}', which is not an event time on Flink", w.span,
                "Flink windows need a time attribute: the source's event time, or that column plus or minus a "
                "duration (declare `event_time COL watermark D` on the source and window on it)")
        return t

    def _tvf(self, rel: Rel, w: ir.WindowSpec, partition: tuple[str, ...] = ()) -> tuple[WindowTVF, Time]:
        """The window function over rel for window w, and the Time of w's column; `partition`: the
        columns a session is partitioned by (never a time: _Aggregate passes plain copies)."""
        t = self._time_of(rel, w)
        for d in (w.size, w.slide, w.offset, w.gap):
            if d % MILLI:
                raise _unsupported(f"a {w.kind} window of {d}us", w.span,
                                   "Flink windows have millisecond precision: use whole milliseconds")
        name = self.named(rel)
        if w.kind == "tumble":
            offset = (w.offset - t.shift) % w.size
            args = [interval(w.size)] + ([interval(offset)] if offset else [])
        elif w.kind == "hop":
            offset = (w.offset - t.shift) % w.slide
            args = [interval(w.slide), interval(w.size)] + ([interval(offset)] if offset else [])
        else:
            if w.gap <= MILLI:
                raise _unsupported(f"a session gap of {w.gap}us", w.span,
                                   "flowc splits sessions where rows are a gap apart and Flink merges them, so "
                                   "flowc asks Flink for the gap minus 1 ms: use a gap above 1 ms")
            args = [interval(w.gap - MILLI)]
        tvf = WindowTVF(this=exp.var(w.kind.upper()), table=table(name),
                        partition=[col(p) for p in partition] or None, descriptor=col(t.attr), args=args)
        return tvf, t

    def _with_key_copies(self, rel: Rel, keys: set[str]) -> Rel:
        """rel plus `__key_<k>`, a plain TIMESTAMP(3) copy of each key k (see _Aggregate)."""
        q = exp.select(*self.cols(rel.names),
                       *(_alias(exp.Cast(this=col(k), to=_plain_time()), _key_copy(k)) for k in sorted(keys))) \
            .from_(self.sub(rel))
        return replace(rel, query=q, hidden=rel.hidden + tuple(_key_copy(k) for k in sorted(keys)))

    def _bounds(self, w: ir.WindowSpec, t: Time) -> tuple[list[exp.Expression], dict[str, Time], str]:
        """window_start/window_end as flowc means them, over a window function's output, and their
        Times over `__wtN` (the window's time attribute, window_time, = Flink's end - 1 ms)."""
        wt = self.fresh("wt")
        if w.kind == "session":
            # Flink's session ends at last + (gap - 1 ms); flowc's at last + gap
            start = _add(col("window_start"), t.shift)
            end = _add(col("window_end"), t.shift + MILLI)
            times = {"window_end": Time(wt, t.shift + 2 * MILLI)}
        else:
            start = _add(col("window_start"), t.shift)
            end = _add(col("window_end"), t.shift)
            times = {"window_start": Time(wt, t.shift + MILLI - w.size), "window_end": Time(wt, t.shift + MILLI)}
        return [_alias(start, "window_start"), _alias(end, "window_end")], times, wt

    def _WindowAssign(self, r: ir.WindowAssign) -> Rel:
        inner = self.compile(r.input)
        if r.window.kind == "session":
            raise _unsupported("a session window outside an aggregate", r.span, "aggregate the sessions")
        # Flink's HOP function emits a row's windows latest first (SlidingWindowAssigner), flowc earliest
        # first: when a distinct downstream keeps the first of them, the windows are computed in order
        in_order = r.window.kind == "hop" and self._arrival_order
        if in_order or not self._has_attribute(inner, r.window):
            with_ws = self._computed_windows(inner, r.window)
            ws = col(WS)
            q = exp.select(*self.cols(inner.cols), _alias(ws, "window_start"),
                           _alias(_add(ws.copy(), r.window.size), "window_end"),
                           *([col(PROCTIME)] if inner.proctime else [])).from_(self.sub(with_ws))
            hidden = (PROCTIME,) if inner.proctime else ()
            return Rel(q, ir.schema_names(r.schema), hidden, {}, frozenset(), inner.append, inner.proctime)
        tvf, t = self._tvf(inner, r.window)
        bounds, times, wt = self._bounds(r.window, t)
        # the input's attributes no longer drive windows after a window function (Flink's rule), but
        # their type still says rowtime: they stay in `attrs`, so that `plain` casts them
        hidden = tuple(h for h in inner.hidden if h == PROCTIME) + (wt,)
        q = exp.select(*self.cols(inner.cols), *bounds, *([col(PROCTIME)] if inner.proctime else []),
                       _alias(col("window_time"), wt)).from_(tvf)
        attrs = frozenset({wt} | {a for a in inner.attrs if a in inner.cols})
        return Rel(q, ir.schema_names(r.schema), hidden, times, attrs, inner.append, inner.proctime)

    def _has_attribute(self, rel: Rel, w: ir.WindowSpec) -> bool:
        """Whether Flink's window function can cut w over rel: the time column follows a time attribute
        and the input is append-only. Otherwise tumble and hop windows are computed (below)."""
        t = rel.times.get(w.time_col)
        return t is not None and t.attr in rel.names and rel.append

    def _computed_windows(self, rel: Rel, w: ir.WindowSpec) -> Rel:
        """rel's rows with `__ws`, the start of each tumble or hop window of the row, computed from
        the time in milliseconds since the epoch (floor alignment, also before 1970): one row per
        window for hop (a join with the window numbers 0..size/slide-1), a null start for a null
        time. For windows over a column without a watermark, or over a changelog; grouped by a plain
        GROUP BY (an updating aggregate), which is what flowc's end-of-input closing means."""
        if w.kind == "session" and w.time_col in rel.times and not rel.append:
            raise _unsupported("a session window over a changelog", w.span,
                               "Flink's sessions read append-only input: aggregate the rows before they are "
                               "joined or updated")
        if w.kind == "session":
            raise _unsupported(
                f"a session window over '{w.time_col}', which is not an event time on Flink", w.span,
                "Flink's sessions need a time attribute: declare `event_time COL watermark D` on the source "
                "and aggregate its rows before they are joined or updated")
        for d in (w.size, w.slide, w.offset):
            if d % MILLI:
                raise _unsupported(f"a {w.kind} window of {d}us", w.span,
                                   "Flink windows have millisecond precision: use whole milliseconds")
        step = (w.slide if w.kind == "hop" else w.size) // MILLI
        ms = _epoch_ms(col(w.time_col))
        shifted = exp.Sub(this=ms, expression=lit_int(w.offset // MILLI)) if w.offset else ms
        mod = exp.Anonymous(this="MOD", expressions=[
            exp.Add(this=exp.Anonymous(this="MOD", expressions=[shifted, lit_int(step)]), expression=lit_int(step)),
            lit_int(step)])
        last = exp.Sub(this=ms.copy(), expression=mod)
        source: exp.Expression = self.sub(rel)
        if w.kind == "hop":
            # a row's windows from `CROSS JOIN UNNEST(ARRAY[start_1, ..., start_n])` of its own window
            # starts (ascending, the order distinct keeps): a correlated UNNEST stays in the task that
            # reads the row and emits in array order; an UNNEST of constants (or a join with VALUES)
            # is a join, which interleaves rows and ends their processing-time attribute
            n = w.size // w.slide
            starts = [_from_ms(exp.Sub(this=last.copy(), expression=lit_int(i * step))) for i in reversed(range(n))]
            hops = exp.Unnest(expressions=[exp.Array(expressions=starts)],
                              alias=exp.TableAlias(this=_ident(self.fresh("hop")), columns=[_ident(WS)]))
            q = exp.select(*self.cols(rel.names), col(WS)).from_(source).join(hops, join_type="cross")
        else:
            q = exp.select(*self.cols(rel.names), _alias(_from_ms(last), WS)).from_(source)
        return replace(rel, query=q, hidden=rel.hidden + (WS,), times={}, attrs=frozenset(),
                       append=rel.append)

    # ------------------------------------------------------------ aggregates

    def _Aggregate(self, r: ir.Aggregate) -> Rel:
        inner = self.compile(r.input)
        keys = [col(k) for k in r.keys]
        aggs = [_alias(X.aggregate(a), a.name) for a in r.aggs]
        if r.window is None:
            inner = self.plain(inner, r.input.schema)
            if not r.keys:
                return self._global_aggregate(r, inner)
            q = exp.select(*keys, *aggs).from_(self.sub(inner)).group_by(*(k.copy() for k in keys))
            return Rel(q, ir.schema_names(r.schema), append=False)
        w = r.window
        if not self._has_attribute(inner, w):
            with_ws = self._computed_windows(inner, w)
            ws = col(WS)
            q = exp.select(*keys, _alias(ws, "window_start"), _alias(_add(ws.copy(), w.size), "window_end"), *aggs) \
                .from_(self.sub(with_ws)).group_by(*(k.copy() for k in keys), ws.copy())
            return Rel(q, ir.schema_names(r.schema), append=False)
        # The window function reads exactly what the aggregate needs, each in a column of its own:
        # - the keys; a key that is a time (an attribute, or one shifted) as a plain copy `__key_<k>`:
        #   Flink takes a key that follows the rowtime for a second time attribute and plans an
        #   updating aggregate, and a session cannot be partitioned by its own time column;
        # - each aggregate's argument as `__argN`: an argument Calcite simplifies to a partition key
        #   (`count(k * 1) by k`) otherwise repeats the key in the projection under the aggregate,
        #   which Flink 2.3 cannot plan (FlinkRelMdWindowProperties.updateWindowSpec: checkArgument);
        # - the time attribute, as `__time` where the input has a column named like the window
        #   function's own (window_start, window_end, window_time: q5 windows on window_start).
        t0 = self._time_of(inner, w)
        timed = {k for k in r.keys if k in inner.attrs or k in inner.times}
        items = [_alias(exp.Cast(this=col(k), to=_plain_time()), _key_copy(k)) if k in timed else col(k)
                 for k in r.keys]
        moved = [(f"__arg{i}", a) for i, a in enumerate(r.aggs) if a.arg is not None]
        items += [_alias(X.expr(a.arg), n) for n, a in moved]
        attr = "__time" if t0.attr in TVF_COLUMNS or t0.attr in r.keys else t0.attr
        items.append(_alias(col(t0.attr), attr))
        names = tuple(_key_copy(k) if k in timed else k for k in r.keys) + tuple(n for n, _ in moved) + (attr,)
        inner = Rel(exp.select(*items).from_(self.sub(inner)), (), names, {w.time_col: Time(attr, t0.shift)},
                    frozenset({attr}), True)
        argument = dict((id(a), n) for n, a in moved)
        aggs = [_alias(X.aggregate(ir.AggCall(a.name, a.fn, ir.ColumnRef(argument[id(a)], a.arg.type), a.type,
                                              span=a.span)) if a.arg is not None else X.aggregate(a), a.name)
                for a in r.aggs]
        partition = tuple(_key_copy(k) if k in timed else k for k in r.keys) if w.kind == "session" else ()
        tvf, t = self._tvf(inner, w, partition=partition)
        keys = [_alias(col(_key_copy(k)), k) if k in timed else col(k) for k in r.keys]
        group = [col(_key_copy(k)) if k in timed else col(k) for k in r.keys]
        if w.kind == "session":
            # A session's bounds as aggregates of its rows (flowc's definition: first time, last time +
            # gap), not Flink's window_start/window_end: a query that outputs a session window's
            # columns carries Flink's window properties on, and Flink 2.3 fails planning when a later
            # projection repeats a partition key (FlinkRelMdWindowProperties.updateWindowSpec:
            # checkArgument). Nothing after a session needs them: its output has no time attribute.
            first = exp.Min(this=exp.Cast(this=col(t.attr), to=_plain_time()))
            last = exp.Max(this=exp.Cast(this=col(t.attr), to=_plain_time()))
            inner_q = exp.select(*keys, _alias(first, "__first"), _alias(last, "__last"), *aggs).from_(tvf) \
                .group_by(*group, col("window_start"), col("window_end"))
            bounds = [_alias(_add(col("__first"), t.shift), "window_start"),
                      _alias(_add(col("__last"), t.shift + w.gap), "window_end")]
            q = exp.select(*(col(k) for k in r.keys), *bounds, *(col(a.name) for a in r.aggs)) \
                .from_(exp.Subquery(this=inner_q, alias=exp.TableAlias(this=_ident(self.fresh("q")))))
            return Rel(q, ir.schema_names(r.schema), append=True)
        bounds, times, wt = self._bounds(w, t)
        q = exp.select(*keys, *bounds, *aggs, _alias(col("window_time"), wt)).from_(tvf) \
            .group_by(*group, col("window_start"), col("window_end"), col("window_time"))
        return Rel(q, ir.schema_names(r.schema), (wt,), times, frozenset({wt}), True)

    def _global_aggregate(self, r: ir.Aggregate, inner: Rel) -> Rel:
        """An aggregate without keys has one row even over no rows (count 0, the others null), as
        in SQL; Flink's streaming aggregate emits nothing until a row arrives. One extra row from
        VALUES with every argument null (and `__real` null, which count(*) counts instead of rows)
        gives the group its row from the start, and no aggregate sees a value in it."""
        args: list[tuple[str, ir.AggCall]] = []
        real = "__real"
        cols_in: list[exp.Expression] = [_alias(lit_int(1), real)]
        nulls: list[exp.Expression] = [_alias(exp.Cast(this=exp.Null(), to=exp.DataType.build("INT")), real)]
        aggs = []
        for i, a in enumerate(r.aggs):
            if a.arg is None:
                aggs.append(_alias(exp.Count(this=col(real)), a.name))
                continue
            name = f"__arg{i}"
            cols_in.append(_alias(X.expr(a.arg), name))
            from .expressions import sql_type

            t = a.arg.type if a.arg.type != T.NULL else T.BIGINT
            nulls.append(_alias(exp.Cast(this=exp.Null(), to=sql_type(t, a.span)), name))
            args.append((name, a))
            moved = ir.AggCall(a.name, a.fn, ir.ColumnRef(name, a.arg.type), a.type, span=a.span)
            aggs.append(_alias(X.aggregate(moved), a.name))
        rows = exp.select(*cols_in).from_(self.sub(inner))
        empty = exp.select(*nulls).from_(exp.Values(expressions=[exp.Tuple(expressions=[lit_int(1)])],
                                                    alias=exp.TableAlias(this=_ident(self.fresh("one")))))
        union = exp.union(rows, empty, distinct=False)
        q = exp.select(*aggs).from_(exp.Subquery(this=union, alias=exp.TableAlias(this=_ident(self.fresh("q")))))
        return Rel(q, ir.schema_names(r.schema), append=False)

    # ------------------------------------------------------------ joins

    def _Join(self, r: ir.Join) -> Rel:
        kind = join_kind_in(self.program, r)
        left = self.compile(r.input)
        right = self.compile(r.right)
        if kind == "interval":
            names = dict(zip(ir.schema_names(r.right.schema), r.right_names, strict=True))
            rtimes = {names[c]: Time(names.get(t.attr, t.attr), t.shift) for c, t in right.times.items()}
            _, bounded = _bounds_on_attributes(r.condition, {**left.times, **rtimes}, left.attrs,
                                               frozenset(names.get(a, a) for a in right.attrs))
            if not bounded:
                # no time attribute on a side (after a session, a regular join): Flink's regular join,
                # which keeps the same rows (and all their state; a left one updates)
                kind = "regular"
        if kind == "window" and not (_window_time(left) and _window_time(right)):
            kind = "regular"  # a side's windows are computed (no window function): Flink's regular join
        if kind == "regular":
            left, right = self.plain(left, r.input.schema), self.plain(right, r.right.schema)
        elif kind == "window":
            # the sides' own time attributes are plain after the join; cast them, keep the windows'
            left = self.plain(left, r.input.schema, keep_hidden=True)
            right = self.plain(right, r.right.schema, keep_hidden=True)
        # the right side's columns under their output names, so the condition (typed over the
        # output names) reads every column unqualified
        rnames = dict(zip(ir.schema_names(r.right.schema), r.right_names, strict=True))
        rq_items = [_alias(col(c), rnames[c]) for c in right.cols]
        rhidden: list[str] = []
        rtimes: dict[str, Time] = {}
        for h in right.hidden:
            if h == PROCTIME:
                continue
            new = self.fresh("r")  # a hidden column of the right side, renamed away from the left's
            rq_items.append(_alias(col(h), new))
            rhidden.append(new)
        hmap = dict(zip((h for h in right.hidden if h != PROCTIME), rhidden, strict=True))
        for c, t in right.times.items():
            rtimes[rnames[c]] = Time(rnames.get(t.attr, hmap.get(t.attr, t.attr)), t.shift)
        rattrs = {rnames.get(a, hmap.get(a, a)) for a in right.attrs}
        rsub = exp.Subquery(this=exp.select(*rq_items).from_(self.sub(right)),
                            alias=exp.TableAlias(this=_ident(self.fresh("r"))))
        lsub = self.sub(left)
        times = {**left.times, **rtimes}
        cond = r.condition
        side = "left" if r.kind == "left" else None
        if kind == "interval":
            cond, _ = _bounds_on_attributes(r.condition, times, left.attrs, frozenset(rattrs))
        elif kind == "window":
            cond = ir.Call("and", (r.condition, ir.Call(
                "eq", (ir.ColumnRef("window_end", T.TIMESTAMP),
                       ir.ColumnRef(rnames["window_end"], T.TIMESTAMP)), T.BOOL)), T.BOOL) \
                if "window_end" in rnames and "window_end" in left.cols else r.condition
        elif kind == "lookup":
            return self._lookup(r, left, right, rsub, lsub, rq_items)
        hidden = tuple(h for h in left.hidden if h != PROCTIME) + tuple(rhidden)
        q = exp.select(*self.cols(ir.schema_names(r.schema)), *self.cols(hidden)).from_(lsub) \
            .join(rsub, on=X.expr(cond), join_type=side or "inner")
        if kind == "interval":
            # Flink's interval join keeps both sides' time attributes; it emits an unmatched left row
            # once the right side's watermark passes its bound: append-only. After a left join the
            # right side's times are null on those rows, and a window function drops a row whose
            # time attribute is null (flowc keeps it, in no window): windows over them are computed
            # (flink_window_over_a_left_joins_right_time)
            out_times = dict(left.times) if side == "left" else times
            return Rel(q, ir.schema_names(r.schema), hidden, out_times, frozenset(left.attrs | rattrs),
                       left.append and right.append)
        # a regular (or window) join: Flink makes time attributes plain timestamps
        append = left.append and right.append and side is None
        if kind == "window":
            append = left.append and right.append
        return Rel(q, ir.schema_names(r.schema), (), {}, frozenset(), append)

    def _lookup(self, r: ir.Join, left: Rel, right: Rel, rsub, lsub, rq_items) -> Rel:
        """A lookup join against a table: Flink's event-time temporal join (`FOR SYSTEM_TIME AS OF`
        the stream's event time) against the table, whose rows are all versions at one time before
        any event, so each stream row meets the table's last version of its key once the table is read;
        the stream keeps its time attributes and the output is append-only. Without an event time on
        the stream, a regular join with the table's last versions (an updating result)."""
        assert isinstance(r.right, ir.Scan)
        t = self.program.table(r.right.name)
        rnames = dict(zip(ir.schema_names(r.right.schema), r.right_names, strict=True))
        pk = t.primary_key if t is not None else ()
        covered = bool(pk) and not uncovered_keys(r, pk)
        event = next((c for c, tm in left.times.items() if tm.shift == 0 and tm.attr == c and c in left.cols), None)
        if event is None:
            event = next((tm.attr for tm in left.times.values() if tm.attr in left.names), None)
        # a conjunct without a column of the table (`and false`, `and ts < ts`) may be folded by
        # Flink's planner, and with it the key equality a temporal join needs ("the join key in
        # Temporal Table Join can not be empty"): such a join is the regular one
        table_cols = set(rnames.values())
        constant = any(not (ir.columns_used(c) & table_cols) for c in conjuncts(r.condition))
        versioned = t is not None and t.primary_key and covered and event is not None and not constant \
            and all(c in ir.schema_names(r.right.schema) for c in t.primary_key)
        side = "left" if r.kind == "left" else "inner"
        hidden = tuple(h for h in left.hidden)
        if not versioned:
            q = exp.select(*self.cols(ir.schema_names(r.schema))).from_(lsub) \
                .join(rsub, on=X.expr(r.condition), join_type=side)
            self.notes.append((
                Code.FLINK_LOOKUP_JOIN, f"view '{self.view_name}': the lookup join with table '{r.right.name}' is a regular join on Flink "
                "(the table's primary key is not in the condition, or the stream has no event time): a change of "
                "the table re-emits the rows it joined, and time attributes end there", r.span))
            return Rel(q, ir.schema_names(r.schema), append=False)
        # FOR SYSTEM_TIME AS OF needs the table itself (a table with a primary key and event time)
        alias = self.fresh("v")
        versioned_table = table(f"{r.right.name}__versions")
        versioned_table.set("version", exp.Version(this="TIMESTAMP", kind="AS OF",
                                                   expression=exp.column(event, table=_l_alias(lsub))))
        versioned_table.set("alias", exp.TableAlias(this=_ident(alias)))
        on = _qualified(X.expr(r.condition), {v: k for k, v in rnames.items()}, alias, _l_alias(lsub))
        items = [exp.column(c, table=_l_alias(lsub)) for c in left.cols]
        items += [_alias(exp.column(c, table=alias), rnames[c]) for c in ir.schema_names(r.right.schema)]
        items += [exp.column(h, table=_l_alias(lsub)) for h in hidden]
        q = exp.select(*items).from_(lsub).join(versioned_table, on=on, join_type=side)
        return Rel(q, ir.schema_names(r.schema), hidden, dict(left.times), left.attrs, left.append, left.proctime)

    # ------------------------------------------------------------ distinct, top, union

    def _Distinct(self, r: ir.Distinct) -> Rel:
        outer, self._arrival_order = self._arrival_order, True
        try:
            inner = self.compile(r.input)
        finally:
            self._arrival_order = outer
        if not inner.append:
            raise _unsupported("'distinct' over a changelog", r.span,
                               "Flink's keep-first-row deduplication reads append-only input: apply distinct "
                               "before the aggregate or join that updates its rows")
        order = col(PROCTIME) if inner.proctime else None
        if order is not None and self._regrouped(r.input):
            self.notes.append((Code.FLINK_ARBITRARY_DISTINCT,
                               f"view '{self.view_name}': distinct {', '.join(r.keys)} keeps one of the first rows per "
                               "key on Flink: after a distinct or a lookup join Flink's parallel tasks interleave the "
                               "rows, so the arrival order of the source is not kept", r.span))
        if order is None:
            self.notes.append((Code.FLINK_ARBITRARY_DISTINCT,
                               f"view '{self.view_name}': distinct {', '.join(r.keys)} keeps an arbitrary row per key "
                               "on Flink: its input does not come in one source's arrival order", r.span))
            # any row: Flink's processing order of this input
            inner = self._with_proctime(inner)
            order = col(PROCTIME)
        rank = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in r.keys] or None,
                          order=exp.Order(expressions=[exp.Ordered(this=order)]))
        ranked = exp.select(*self.cols(inner.names), _alias(rank, RANK)).from_(self.sub(inner))
        q = exp.select(*self.cols(inner.names)).from_(
            exp.Subquery(this=ranked, alias=exp.TableAlias(this=_ident(self.fresh("q"))))) \
            .where(exp.EQ(this=col(RANK), expression=lit_int(1)))
        # keep-first-row deduplication on processing time is append-only and keeps the time
        # attributes (measured on Flink 2.3: a window over its output works)
        return replace(inner, query=q, append=True)

    def plain(self, rel: Rel, schema: ir.Schema, keep_hidden: bool = False) -> Rel:
        """rel with its time attributes made plain timestamps (and its hidden ones dropped), for an
        operator that ends them anyway: a regular join or aggregate, a top. Flink's planner makes
        that change itself late, and on the way some rules compare a plain TIMESTAMP(3) with the
        rowtime it was and fail ("Type mismatch ... *ROWTIME*"); cast first, they never see one."""
        if not rel.attrs and PROCTIME not in rel.hidden:
            return rel
        types = {f.name: f.type for f in schema}
        items = [_alias(exp.Cast(this=col(c), to=_plain_time(types.get(c))), c) if c in rel.attrs else col(c)
                 for c in rel.cols]
        if keep_hidden:
            hidden = tuple(h for h in rel.hidden if h != PROCTIME)
            q = exp.select(*items, *self.cols(hidden)).from_(self.sub(rel))
            return Rel(q, rel.cols, hidden, {c: t for c, t in rel.times.items() if t.attr in hidden},
                       frozenset(h for h in rel.attrs if h in hidden), rel.append, False)
        q = exp.select(*items).from_(self.sub(rel))
        return Rel(q, rel.cols, (), {}, frozenset(), rel.append, False)

    def _regrouped(self, r: ir.Rel) -> bool:
        """A distinct or a lookup join (which regroup rows by their keys across parallel tasks)
        upstream of r, through the views it reads."""
        for n in ir.walk(r):
            if isinstance(n, ir.Distinct) or (isinstance(n, ir.Join) and join_kind_in(self.program, n) == "lookup"):
                return True
            if isinstance(n, ir.Scan) and n.kind == "view":
                v = self.program.view(n.name)
                if v is not None and self._regrouped(v.plan):
                    return True
        return False

    def _with_proctime(self, inner: Rel) -> Rel:
        q = exp.select(*self.cols(inner.names), _alias(exp.Anonymous(this="PROCTIME", expressions=[]), PROCTIME)) \
            .from_(self.sub(inner))
        return replace(inner, query=q, hidden=inner.hidden + (PROCTIME,))

    def _TopN(self, r: ir.TopN) -> Rel:
        """docs/semantics.md: EXPR in its direction, nulls last either way, then every column
        ascending, nulls last (a total order); Flink's Top-N (ROW_NUMBER over the keys), updating."""
        inner = self.compile(r.input)
        # time attributes made plain timestamps first: Flink 2.3 plans a Top-N partitioned by a rowtime
        # as append-only and then keeps more than N rows per key (seen with `top 1 ... per ts`)
        types = {f.name: f.type for f in r.input.schema}
        cols = [_alias(exp.Cast(this=col(c), to=_plain_time(types.get(c))), c) if c in inner.attrs else col(c)
                for c in inner.cols]
        source: exp.Expression = self.sub(inner)
        if r.n == 1 and inner.append:
            # Flink 2.1+ plans a top-1 over insert-only input with a multi-column order as an
            # insert-only "deduplication" and never retracts a displaced row
            # (FlinkChangelogModeInferenceProgram + RankUtil.keepLastDeduplicateRow). Over the
            # distinct rows (a GROUP BY every column: an updating input) it plans the retracting
            # Top-N; for N = 1 identical rows are interchangeable, so nothing else changes. Times are
            # cast to TIMESTAMP(6) first: grouped by a window's own bounds, the GROUP BY would be
            # planned as one more window aggregate, which is insert-only again.
            from .expressions import sql_type

            plain = [_alias(exp.Cast(this=col(c), to=sql_type(types[c])), c) if types.get(c, T.NULL).is_time_point
                     else col(c) for c in inner.cols]
            widened = exp.Subquery(this=exp.select(*plain).from_(source),
                                   alias=exp.TableAlias(this=_ident(self.fresh("q"))))
            distinct_rows = exp.select(*(col(c) for c in inner.cols)).from_(widened) \
                .group_by(*(col(c) for c in inner.cols))
            source = exp.Subquery(this=distinct_rows, alias=exp.TableAlias(this=_ident(self.fresh("q"))))
            cols = [col(c) for c in inner.cols]
        with_order = exp.select(*cols, _alias(X.expr(r.order_by), ORDER)).from_(source)
        order = [exp.Ordered(this=col(ORDER), desc=r.descending, nulls_first=False)]
        order += [exp.Ordered(this=col(c), nulls_first=False) for c in inner.cols]
        constants = _constant_columns(r.input)
        if set(inner.cols) <= constants and not (ir.columns_used(r.order_by) - constants):
            # every row is the same row (all columns constant): Flink refuses a ROW_NUMBER ordered by
            # constants only ("requires order by clause with non-constant fields"); the processing
            # time orders identical rows, which changes nothing (flink_top_of_constant_rows)
            with_order = with_order.select(_alias(exp.Anonymous(this="PROCTIME"), TIE))
            order.append(exp.Ordered(this=col(TIE)))
        rank = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in r.per] or None,
                          order=exp.Order(expressions=order))
        ranked = exp.select(*self.cols(inner.cols), _alias(rank, RANK)).from_(
            exp.Subquery(this=with_order, alias=exp.TableAlias(this=_ident(self.fresh("q")))))
        q = exp.select(*self.cols(inner.cols)).from_(
            exp.Subquery(this=ranked, alias=exp.TableAlias(this=_ident(self.fresh("q"))))) \
            .where(exp.LTE(this=col(RANK), expression=lit_int(r.n)))
        return Rel(q, inner.cols, append=False)

    def _UnionAll(self, r: ir.UnionAll) -> Rel:
        a, b = self.compile(r.input), self.compile(r.other)
        # what both sides carry alike stays: hidden columns of the same name, times with the same
        # attribute and shift, attributes on both
        hidden = tuple(h for h in a.hidden if h in b.hidden and h != PROCTIME)
        times = {c: t for c, t in a.times.items() if b.times.get(c) == t and (t.attr in a.cols or t.attr in hidden)}
        attrs = frozenset(x for x in a.attrs & b.attrs if x in a.cols or x in hidden)
        names = a.cols + hidden
        union = exp.union(exp.select(*self.cols(names)).from_(self.sub(a)),
                          exp.select(*self.cols(names)).from_(self.sub(b)), distinct=False)
        q = exp.select(*self.cols(names)).from_(
            exp.Subquery(this=union, alias=exp.TableAlias(this=_ident(self.fresh("q")))))
        return Rel(q, a.cols, hidden, times, attrs, a.append and b.append)


# ---------------------------------------------------------------- helpers


def _constant_columns(rel: ir.Rel) -> set[str]:
    """The columns of rel that are the same on every row (computed from literals only)."""
    if isinstance(rel, ir.Project):
        inner = _constant_columns(rel.input)
        return {n for n, e in rel.columns if ir.columns_used(e) <= inner}
    if isinstance(rel, ir.Filter | ir.Distinct | ir.TopN):
        return _constant_columns(rel.input)
    return set()


def _window_time(rel: Rel) -> bool:
    """rel carries a window function's window_time (`__wtN`): its windows are Flink's own."""
    return any(h.startswith("__wt") for h in rel.hidden)


def _key_copy(name: str) -> str:
    return f"__key_{name}"


def _epoch_ms(e: exp.Expression) -> exp.Expression:
    """Milliseconds since the epoch of a TIMESTAMP, in the session's zone (UTC). Flink has no direct
    cast; whole seconds through UNIX_TIMESTAMP of the formatted time are exact before 1970 too
    (TIMESTAMPDIFF and EXTRACT(MILLISECOND) are not, measured on Flink 2.3)."""
    seconds = exp.Anonymous(this="UNIX_TIMESTAMP", expressions=[
        exp.Anonymous(this="DATE_FORMAT", expressions=[e, exp.Literal.string("yyyy-MM-dd HH:mm:ss")])])
    millis = exp.Cast(this=exp.Anonymous(this="DATE_FORMAT", expressions=[e.copy(), exp.Literal.string("SSS")]),
                      to=exp.DataType.build("BIGINT"))
    return exp.Paren(this=exp.Add(this=exp.Mul(this=seconds, expression=lit_int(1000)), expression=millis))


def _from_ms(e: exp.Expression) -> exp.Expression:
    """The TIMESTAMP(3) `e` milliseconds after the epoch (UTC)."""
    return exp.Cast(this=exp.Anonymous(this="TO_TIMESTAMP_LTZ", expressions=[e, lit_int(3)]),
                    to=_plain_time())


def _plain_time(t: T.Type | None = None) -> exp.DataType:
    """The type of a time attribute made a plain time: TIMESTAMP(3), or TIMESTAMP_LTZ(3) for a
    timestamptz (rowtimes have milliseconds)."""
    from .expressions import rowtime_type

    return exp.DataType.build("TIMESTAMPLTZ(3)") if t == T.TIMESTAMPTZ else rowtime_type()


def _plain_scan(q: exp.Select, names: tuple[str, ...]) -> str | None:
    """The table q reads as is (`SELECT a, b FROM t`), or None."""
    src = q.args.get("from_")
    if q.args.get("where") or q.args.get("joins") or q.args.get("group") or q.args.get("with_") \
            or src is None or not isinstance(src.this, exp.Table) or src.this.args.get("version"):
        return None
    if [e.name if isinstance(e, exp.Column) and not e.table else None for e in q.expressions] != list(names):
        return None
    return src.this.name


def _shift_of(e: ir.Expr) -> tuple[str, int] | None:
    """(column, shift) when e is a column plus or minus constant intervals."""
    if isinstance(e, ir.ColumnRef):
        return e.name, 0
    if isinstance(e, ir.Call) and e.fn in ("add", "sub") and len(e.args) == 2:
        a, b = e.args
        if isinstance(b, ir.Literal) and b.type == T.INTERVAL and isinstance(b.value, int):
            inner = _shift_of(a)
            if inner is not None:
                return inner[0], inner[1] + (b.value if e.fn == "add" else -b.value)
    return None


def _bounds_on_attributes(cond: ir.Expr, times: dict[str, Time], left_attrs: frozenset[str],
                          right_attrs: frozenset[str]) -> tuple[ir.Expr, bool]:
    """The join condition with every watermarked time column written as its time attribute plus a
    constant, so Flink sees the interval join's bounds on two time attributes; and whether some
    conjunct bounds an attribute of each side (else Flink plans a regular join)."""
    attrs = left_attrs | right_attrs
    bounded = False

    def to_attr(ref: ir.ColumnRef) -> ir.Expr:
        t = times.get(ref.name)
        if t is None or t.attr not in attrs:
            return ref
        base = ir.ColumnRef(t.attr, ref.type)
        if t.shift == 0:
            return base
        return ir.Call("add" if t.shift > 0 else "sub", (base, ir.Literal(abs(t.shift), T.INTERVAL)), ref.type)

    parts = []
    for c in conjuncts(cond):
        if isinstance(c, ir.Call) and c.fn in ("lt", "le", "gt", "ge", "eq") and all(
                a.type in (T.TIMESTAMP, T.TIMESTAMPTZ) for a in c.args):
            c = ir.map_columns(c, to_attr)
            used = ir.columns_used(c)
            bounded = bounded or (bool(used & left_attrs) and bool(used & right_attrs))
        parts.append(c)
    out = parts[0]
    for p in parts[1:]:
        out = ir.Call("and", (out, p), T.BOOL)
    return out, bounded


def _l_alias(sub: exp.Subquery) -> str:
    return sub.alias


def _qualified(cond: exp.Expression, right_orig: dict[str, str], ralias: str, lalias: str) -> exp.Expression:
    """A join condition compiled over the output names, with every column qualified: a right
    column (`right_orig` maps its output name to the table's) by the table's alias, the rest by the
    left side's. For a join whose right side is a table read as is, whose names may be the left's."""
    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            if node.name in right_orig:
                return exp.column(right_orig[node.name], table=ralias)
            return exp.column(node.name, table=lalias)
        return node
    return cond.transform(fix)


__all__ = ["Rel", "Time", "RelCompiler", "PROCTIME", "table"]
