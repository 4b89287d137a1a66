"""Which columns carry a watermark as RisingWave's planner derives them (not as flowc means them).

RisingWave propagates fewer watermarks than SEMANTICS.md: an EMIT ON WINDOW CLOSE aggregate keeps
one, a session over-window none, a join only its equi-keys and the larger side of each time bound.
The rule checker (rules.py) asks these facts, so it refuses what RisingWave's planner would refuse.
Each override cites the planner file it follows (risingwavelabs/risingwave, src/frontend/src/
optimizer/plan_node/), with the planner test that shows it (src/frontend/planner_test/tests/testdata/).
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.properties import Watermarks, conjuncts, join_kind_in, program_maps

from .changelog import changelog, is_eowc


class RisingWaveWatermarks(Watermarks):
    def __init__(self, program: ir.Program):
        super().__init__(*program_maps(program))
        self.program = program
        self._eowc = False  # planning an EMIT ON WINDOW CLOSE view (the flag covers its whole query)

    def view(self, view: ir.View) -> frozenset[str]:
        """StreamMaterialize stores its input's watermark columns in the catalog, and a scan of the
        MV derives them again (stream_materialize.rs, generic/table_scan.rs)."""
        outer, self._eowc = self._eowc, is_eowc(self.program, view)
        try:
            return self.of(view.plan)
        finally:
            self._eowc = outer

    def planned(self, view: ir.View, rel: ir.Rel) -> frozenset[str]:
        """rel's watermark columns when planned inside `view` (EOWC or not, as the view is)."""
        outer, self._eowc = self._eowc, is_eowc(self.program, view)
        try:
            return self.of(rel)
        finally:
            self._eowc = outer

    def aggregate(self, rel: ir.Aggregate, inner: frozenset[str]) -> frozenset[str]:
        """stream_hash_agg.rs `new_with_eowc`: "EOWC HashAgg only propagate one watermark column, the
        window column" (generic/agg.rs `eowc_window_column`: the watermarked group key of lowest
        input index; flowc's GROUP BY lists keys, then window_start, then window_end); without EOWC
        every watermarked group key keeps its watermark (watermark_group.yaml, "group by tumble
        window_start + window_end": eowc [window_start], stream [window_start, window_end]). A
        session's window_start/window_end come from an over-window, which outputs no watermark
        (stream_eowc_over_window.rs: "EowcOverWindowExecutor cannot produce any watermark columns")."""
        keys = [k for k in rel.keys if k in inner]
        if rel.window is not None and rel.window.kind != "session" and rel.window.time_col in inner:
            keys += ["window_start", "window_end"]
        if not keys:
            return frozenset()
        return frozenset(keys[:1]) if self._eowc else frozenset(keys)

    def distinct(self, rel: ir.Distinct, inner: frozenset[str]) -> frozenset[str]:
        """An append-only input is deduplicated (stream_dedup.rs keeps every watermark column); a
        changelog goes through a group top-1, which keeps the first partition column's only."""
        if changelog(self.program, rel.input)[0]:
            return inner
        return inner & frozenset(rel.keys[:1])

    def topn(self, rel: ir.TopN, inner: frozenset[str]) -> frozenset[str]:
        """stream_group_topn.rs: "The executor only forwards watermarks on the first group-by
        column"; a top-N without groups (stream_topn.rs) forwards none."""
        return inner & frozenset(rel.per[:1])

    def join(self, rel: ir.Join, left: frozenset[str], right: frozenset[str]) -> frozenset[str]:
        """stream_hash_join.rs `derive_watermark_for_hash_join`: an equi-key watermarked on both sides
        keeps it on both output columns; a time bound `l >= r + c` keeps the larger side's column
        (the left here), `l <= r + c` the right one only when c is zero (otherwise the bound is a
        column computed below the join, not in the output: nexmark_watermark.yaml nexmark_q7). A
        temporal join keeps the left side's (stream_temporal_join.rs)."""
        out = dict(zip(ir.schema_names(rel.right.schema), rel.right_names, strict=True))
        if join_kind_in(self.program, rel) == "lookup":
            return left
        kept: set[str] = set()
        for c in conjuncts(rel.condition):
            if not (isinstance(c, ir.Call) and len(c.args) == 2 and c.fn in ("eq", "ge", "gt", "le", "lt")):
                continue
            a, b = c.args
            for lhs, rhs, fn in ((a, b, c.fn), (b, a, _FLIP[c.fn])):
                if not isinstance(lhs, ir.ColumnRef) or lhs.name not in left:
                    continue
                r_col, shifted = _right_column(rhs, rel.right_names)
                if r_col is None:
                    continue
                right_in = next((k for k, v in out.items() if v == r_col), None)
                if right_in not in right:
                    continue
                if fn == "eq" and not shifted:
                    kept |= {lhs.name, r_col}
                elif fn in ("ge", "gt"):
                    kept.add(lhs.name)
                elif fn in ("le", "lt") and not shifted:
                    kept.add(r_col)
        return frozenset(kept)


_FLIP = {"eq": "eq", "ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}


def _right_column(e: ir.Expr, right_names: tuple[str, ...]) -> tuple[str | None, bool]:
    """(the right side's output column e is, or is plus/minus a constant interval of; shifted)."""
    if isinstance(e, ir.ColumnRef):
        return (e.name, False) if e.name in right_names else (None, False)
    if isinstance(e, ir.Call) and e.fn in ("add", "sub") and len(e.args) == 2:
        a, b = e.args
        if isinstance(b, ir.Literal) and b.type == T.INTERVAL:
            col, _ = _right_column(a, right_names)
            return col, True
    return None, False


__all__ = ["RisingWaveWatermarks"]
