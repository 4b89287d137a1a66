"""Derived facts about plans that checks and targets need: which columns carry a watermark,
whether a relation is append-only, and whether a view can be emitted `final`.

`views` maps view names to their lowered View, so a Scan of a view sees the upstream facts.
Given a whole Program, `program_maps` builds `sources` and `views` (`join_kind_in` for a join).
"""

from __future__ import annotations

from collections.abc import Mapping

from . import ir
from . import types as T


class Watermarks:
    """Which columns carry a watermark, operator by operator: SEMANTICS.md's facts, which flowc's own
    runtimes follow. A target whose planner derives fewer subclasses this and overrides the
    operators it treats differently (targets/risingwave/watermarks.py), so a check can ask what the
    engine will see, not what flowc means."""

    def __init__(self, sources: Mapping[str, ir.Source], views: Mapping[str, ir.View]):
        self.sources = sources
        self.views = views

    def of(self, rel: ir.Rel) -> frozenset[str]:
        if isinstance(rel, ir.Scan):
            return self.scan(rel)
        if isinstance(rel, ir.Filter):
            return self.of(rel.input)
        if isinstance(rel, ir.Distinct):
            return self.distinct(rel, self.of(rel.input))
        if isinstance(rel, ir.TopN):
            return self.topn(rel, self.of(rel.input))
        if isinstance(rel, ir.Project):
            inner = self.of(rel.input)
            return frozenset(name for name, e in rel.columns if _monotone_of(e, inner))
        if isinstance(rel, ir.WindowAssign):
            inner = self.of(rel.input)
            extra = {"window_start", "window_end"} if rel.window.time_col in inner else set()
            return inner | extra
        if isinstance(rel, ir.Aggregate):
            return self.aggregate(rel, self.of(rel.input))
        if isinstance(rel, ir.Join):
            return self.join(rel, self.of(rel.input), self.of(rel.right))
        if isinstance(rel, ir.UnionAll):
            return self.of(rel.input) & self.of(rel.other)
        raise TypeError(f"unknown node {type(rel).__name__}")

    def scan(self, rel: ir.Scan) -> frozenset[str]:
        if rel.kind == "source":
            src = self.sources.get(rel.name)
            if src is not None and src.event_time and src.event_time in ir.schema_names(rel.schema):
                return frozenset({src.event_time})
            return frozenset()
        if rel.kind == "view" and rel.name in self.views:
            return self.view(self.views[rel.name]) & frozenset(ir.schema_names(rel.schema))
        return frozenset()

    def view(self, view: ir.View) -> frozenset[str]:
        return self.of(view.plan)

    def distinct(self, rel: ir.Distinct, inner: frozenset[str]) -> frozenset[str]:
        return inner

    def topn(self, rel: ir.TopN, inner: frozenset[str]) -> frozenset[str]:
        return inner

    def aggregate(self, rel: ir.Aggregate, inner: frozenset[str]) -> frozenset[str]:
        if rel.window is None or rel.window.time_col not in inner:
            return frozenset()
        # A window is emitted when the watermark passes its end, so window_end follows the watermark;
        # a tumble or hop window_start trails it by at most the size, but a session's start can be
        # arbitrarily far behind (a session lasts as long as rows keep coming).
        if rel.window.kind == "session":
            return frozenset({"window_end"})
        return frozenset({"window_start", "window_end"})

    def join(self, rel: ir.Join, left: frozenset[str], right: frozenset[str]) -> frozenset[str]:
        right_out = {rel.right_names[i] for i, f in enumerate(rel.right.schema) if f.name in right}
        return frozenset(left | right_out)


def watermark_columns(rel: ir.Rel, program_sources: Mapping[str, ir.Source],
                      views: Mapping[str, ir.View]) -> frozenset[str]:
    """Columns whose values are bounded below by the watermark (event time, and monotone functions
    of it), as SEMANTICS.md defines them."""
    return Watermarks(program_sources, views).of(rel)


def _monotone_of(e: ir.Expr, watermarked: frozenset[str]) -> bool:
    """e is a watermarked column, or one plus/minus a constant interval."""
    if isinstance(e, ir.ColumnRef):
        return e.name in watermarked
    if isinstance(e, ir.Call) and e.fn in ("add", "sub") and len(e.args) == 2:
        a, b = e.args
        return isinstance(b, ir.Literal) and b.type == T.INTERVAL and _monotone_of(a, watermarked)
    return False


def final_blocker(rel: ir.Rel, sources: Mapping[str, ir.Source], views: Mapping[str, ir.View]) -> tuple[
        ir.Rel, str, str] | None:
    """Why the relation cannot be emitted `final` (append-only, each row once), or None if it can.

    Returns (offending node, reason, how to make it final).
    """
    if isinstance(rel, ir.Scan):
        if rel.kind == "table":
            return rel, f"'{rel.name}' is a table, whose rows can change", "read a source instead of a table"
        if rel.kind == "view" and rel.name in views and views[rel.name].emit != "final":
            return (rel, f"view '{rel.name}' is emitted as changes",
                    f"make '{rel.name}' final, or use `emit changes` here")
        return None
    if isinstance(rel, ir.Aggregate):
        if rel.window is None:
            return (rel, "an aggregate without a window updates its results whenever a row arrives",
                    "add `| window tumble(TIME_COLUMN, SIZE)` before `aggregate`, or use `emit changes`")
        return final_blocker(rel.input, sources, views)
    if isinstance(rel, ir.TopN):
        return (rel, "`top` replaces rows when better ones arrive",
                "window the input and aggregate, or use `emit changes`")
    if isinstance(rel, ir.Join):
        kind = join_kind(rel, sources, views)
        if kind == "regular":
            return (rel, "a join without a time bound between both event times updates its results",
                    "bound the join in time: `and ts between a.ts and a.ts + 1h`, or use `emit changes`")
        if kind == "lookup":  # each stream row is joined once, at processing time
            return final_blocker(rel.input, sources, views)
        return final_blocker(rel.input, sources, views) or final_blocker(rel.right, sources, views)
    for child in ir.rel_inputs(rel):
        blocker = final_blocker(child, sources, views)
        if blocker is not None:
            return blocker
    return None


def is_interval_join(rel: ir.Join, sources: Mapping[str, ir.Source], views: Mapping[str, ir.View]) -> bool:
    """An equality plus a time bound between a watermarked column of each side (SEMANTICS.md §5)."""
    left_wm = watermark_columns(rel.input, sources, views)
    right_cols = watermark_columns(rel.right, sources, views)
    right_wm = {rel.right_names[i] for i, f in enumerate(rel.right.schema) if f.name in right_cols}
    has_eq = has_bound = False
    for c in conjuncts(rel.condition):
        if not isinstance(c, ir.Call) or len(c.args) != 2:
            continue
        used = [ir.columns_used(a) for a in c.args]
        if c.fn == "eq" and all(len(u) == 1 for u in used):
            has_eq = True
        if c.fn in ("lt", "le", "gt", "ge", "eq"):  # an equality of two event times is a [0, 0] bound
            names = used[0] | used[1]
            if names & left_wm and names & right_wm:
                has_bound = True
    return has_eq and has_bound


def conjuncts(e: ir.Expr) -> list[ir.Expr]:
    if isinstance(e, ir.Call) and e.fn == "and":
        return conjuncts(e.args[0]) + conjuncts(e.args[1])
    return [e]


def program_maps(program: ir.Program) -> tuple[dict[str, ir.Source], dict[str, ir.View]]:
    """A program's sources and views by name: the `sources` and `views` the functions here take."""
    return {s.name: s for s in program.sources}, {v.name: v for v in program.views}


def join_kind_in(program: ir.Program, rel: ir.Join) -> str:
    """`join_kind` of a join in one of `program`'s views."""
    return join_kind(rel, *program_maps(program))


def join_kind(rel: ir.Join, sources: Mapping[str, ir.Source], views: Mapping[str, ir.View]) -> str:
    """interval | window | lookup | regular (SEMANTICS.md §5)."""
    if isinstance(rel.right, ir.Scan) and rel.right.kind == "table":
        return "lookup"
    right_out = dict(zip(ir.schema_names(rel.right.schema), rel.right_names, strict=True))
    for c in conjuncts(rel.condition):
        if isinstance(c, ir.Call) and c.fn == "eq" and all(isinstance(a, ir.ColumnRef) for a in c.args):
            names = {a.name for a in c.args}  # type: ignore[union-attr]
            if names == {"window_start", right_out.get("window_start")}:
                left, right = window_of(rel.input, views), window_of(rel.right, views)
                if left is not None and left == right:
                    return "window"
    if is_interval_join(rel, sources, views):
        return "interval"
    return "regular"


def window_of(rel: ir.Rel, views: Mapping[str, ir.View]) -> ir.WindowSpec | None:
    """The window that made the relation's window_start, seen through row-preserving stages, with
    its time column name left out (two sides are windowed alike when sizes and offsets agree)."""
    if isinstance(rel, ir.Aggregate | ir.WindowAssign):
        w = rel.window
        if w is None:
            return None
        return ir.WindowSpec(w.kind, "", size=w.size, slide=w.slide, offset=w.offset, gap=w.gap)
    if isinstance(rel, ir.Scan):
        return window_of(views[rel.name].plan, views) if rel.kind == "view" and rel.name in views else None
    if isinstance(rel, ir.Project):
        ref = dict(rel.columns).get("window_start")
        if isinstance(ref, ir.ColumnRef) and ref.name == "window_start":
            return window_of(rel.input, views)
        return None
    if isinstance(rel, ir.Filter | ir.Distinct | ir.TopN):
        return window_of(rel.input, views)
    return None


def columns_read(program: ir.Program, source: str) -> frozenset[str] | None:
    """The columns of a source that the program's views read (after pruning, a projection sits right
    above each scan that needs fewer than all), or None when some reader takes every column or the
    source's late rows go to a sink, which writes them whole. A generator then makes only these."""
    s = program.source(source)
    if s is None or isinstance(s.on_late, ir.Connector) or isinstance(s.on_error, ir.Connector):
        return None
    read: set[str] = {s.event_time} if s.event_time else set()
    for view in program.views:
        for parent in ir.walk(view.plan):
            for child in ir.rel_inputs(parent):
                if not (isinstance(child, ir.Scan) and child.kind == "source" and child.name == source):
                    continue
                if not isinstance(parent, ir.Project):
                    return None
                for _, e in parent.columns:
                    read |= ir.columns_used(e)
        if isinstance(view.plan, ir.Scan) and view.plan.kind == "source" and view.plan.name == source:
            return None
    return frozenset(read)


def uncovered_keys(join: ir.Join, pk: tuple[str, ...]) -> list[str]:
    """The primary key columns of a lookup join's table that its condition does not equate with an
    expression of the stream side (a lookup by key needs all of them)."""
    out_name = dict(zip(ir.schema_names(join.right.schema), join.right_names, strict=True))
    left = set(ir.schema_names(join.input.schema))
    covered: set[str] = set()
    for c in conjuncts(join.condition):
        if isinstance(c, ir.Call) and c.fn == "eq":
            for a, b in (c.args, c.args[::-1]):
                if isinstance(a, ir.ColumnRef) and ir.columns_used(b) and ir.columns_used(b) <= left:
                    covered.add(a.name)
    return [k for k in pk if out_name.get(k) not in covered]
