"""Lowering of pipelines: a relation and its stages to an IR plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, did_you_mean

from . import ast
from .lower_expr import LoweringFailed, Scope

if TYPE_CHECKING:
    from .lower import Lowerer

ROW_LOCAL = (ast.Where, ast.Derive)
SCHEMA_PRESERVING = (ast.Where, ast.Distinct, ast.Top)
WINDOW_ARGS = {"tumble": ("time", "size", "offset"), "hop": ("time", "size", "slide", "offset"),
               "session": ("time", "gap")}
WINDOW_REQUIRED = {"tumble": ("time", "size"), "hop": ("time", "size", "slide"), "session": ("time", "gap")}


class PipelineLowerer:
    def __init__(self, owner: Lowerer):
        self.owner = owner
        self.diags = owner.diags
        self.exprs = owner.exprs

    def fail(self, code: Code, message: str, span, hint: str | None = None):
        self.exprs.fail(code, message, span, hint)

    # ------------------------------------------------------------ relations

    def lower_view_pipeline(self, p: ast.Pipeline, view: str):
        """Returns (plan, emit mode or None, span of the emit stage)."""
        stages = list(p.stages)
        emit = emit_span = None
        for i, s in enumerate(stages):
            if isinstance(s, ast.Emit):
                if i != len(stages) - 1:
                    self.diags.error(Code.BAD_STAGE, "'emit' must be the last stage of a view", s.span,
                                     "move `| emit ...` to the end")
                emit, emit_span = s.mode, s.span
        stages = [s for s in stages if not isinstance(s, ast.Emit)]
        rel, name = self.relation(p.start)
        return self.stages(rel, name, stages), emit, emit_span

    def relation(self, r: ast.Relation) -> tuple[ir.Rel, str]:
        if isinstance(r, ast.Pipeline):
            for s in r.stages:
                if isinstance(s, ast.Emit):
                    self.fail(Code.BAD_STAGE, "'emit' belongs at the end of a view, not in a nested pipeline",
                              s.span)
            rel, name = self.relation(r.start)
            return self.stages(rel, name, list(r.stages)), name
        o = self.owner
        name = r.name
        if name in o.sources:
            return ir.Scan(name, "source", o.sources[name].schema, span=r.span), name
        if name in o.tables:
            return ir.Scan(name, "table", o.tables[name].schema, span=r.span), name
        decl = o.decls.get(name)
        if isinstance(decl, ast.ViewDecl):
            view = o.view(name)
            if view is None:
                raise LoweringFailed(name)  # its own errors are reported already
            return ir.Scan(name, "view", view.schema, span=r.span), name
        if decl is not None:  # a source or table with errors of its own
            raise LoweringFailed(name)
        guess = did_you_mean(name, o.relation_names())
        hint = f"did you mean '{guess}'?" if guess else (
            f"declared relations: {', '.join(o.relation_names())}" if o.relation_names() else
            "declare it with `source NAME (...) from ...`")
        self.fail(Code.UNKNOWN_RELATION, f"unknown relation '{name}'", r.span, hint)
        raise AssertionError  # unreachable

    # ------------------------------------------------------------ stages

    def stages(self, rel: ir.Rel, name: str, stages: list) -> ir.Rel:
        i = 0
        failed = False
        while i < len(stages):
            s = stages[i]
            if isinstance(s, ast.Window):
                rel, i = self._window(rel, name, stages, i)
                continue
            try:
                rel = self.stage(rel, name, s)
            except LoweringFailed:
                # A stage that keeps its input's columns can be skipped, so the stages after it are
                # still checked and all errors of the pipeline are reported in one run.
                if not isinstance(s, SCHEMA_PRESERVING):
                    raise
                failed = True
            i += 1
        if failed:
            raise LoweringFailed(name)
        return rel

    def scope(self, rel: ir.Rel, name: str, context: str) -> Scope:
        return Scope(rel.schema, name, context)

    def stage(self, rel: ir.Rel, name: str, s) -> ir.Rel:
        if isinstance(s, ast.Where):
            pred = self.exprs.lower_predicate(s.predicate, self.scope(rel, name, "where"))
            return ir.Filter(rel, pred, span=s.span)
        if isinstance(s, ast.Select):
            return self._select(rel, name, s)
        if isinstance(s, ast.Derive):
            return self._derive(rel, name, s)
        if isinstance(s, ast.Aggregate):
            return self._aggregate(rel, name, s, None)
        if isinstance(s, ast.Join):
            return self._join(rel, name, s)
        if isinstance(s, ast.Distinct):
            return ir.Distinct(rel, self._key_names(rel, name, s.keys, "distinct"), span=s.span)
        if isinstance(s, ast.Top):
            scope = self.scope(rel, name, "top")
            order = self.exprs.lower(s.by, scope)
            per = self._key_names(rel, name, s.per, "top")
            if s.n <= 0:
                self.fail(Code.BAD_ARGUMENT, f"top needs a positive count, got {s.n}", s.span)
            return ir.TopN(rel, s.n, order, s.descending, per, span=s.span)
        if isinstance(s, ast.Union_):
            other, _ = self.relation(s.relation)
            if other.schema != rel.schema:
                mine = ", ".join(str(f) for f in rel.schema)
                theirs = ", ".join(str(f) for f in other.schema)
                self.fail(Code.TYPE_MISMATCH, "'union' needs two relations with the same columns and types",
                          s.span, f"left: ({mine}); right: ({theirs}); use `select` to align them")
            return ir.UnionAll(rel, other, span=s.span)
        self.fail(Code.BAD_STAGE, f"unexpected stage {type(s).__name__}", getattr(s, "span", None))
        raise AssertionError

    def _item_name(self, item: ast.Item, context: str) -> str:
        if item.name:
            return item.name
        if isinstance(item.expr, ast.Name):
            return item.expr.parts[-1]
        self.fail(Code.BAD_STAGE, f"a computed column in '{context}' needs a name", item.span,
                  "write `NAME = EXPRESSION`")
        raise AssertionError

    def _select(self, rel: ir.Rel, name: str, s: ast.Select) -> ir.Rel:
        scope = self.scope(rel, name, "select")
        cols: list[tuple[str, ir.Expr]] = []
        seen: dict[str, ast.Item] = {}
        failed = False
        for item in s.items:
            try:
                col_name = self._item_name(item, "select")
                if col_name in seen:
                    self.fail(Code.DUPLICATE_NAME, f"column '{col_name}' selected twice", item.span,
                              "rename one: `other_name = ...`")
                seen[col_name] = item
                cols.append((col_name, self.exprs.lower(item.expr, scope)))
            except LoweringFailed:
                failed = True  # keep going: report every bad item of the stage
        if failed:
            raise LoweringFailed("select")
        return ir.Project(rel, tuple(cols), span=s.span)

    def _derive(self, rel: ir.Rel, name: str, s: ast.Derive) -> ir.Rel:
        # Items may read columns derived earlier in the same stage: their expressions are inlined.
        columns: list[tuple[str, ir.Expr]] = [(f.name, ir.ColumnRef(f.name, f.type)) for f in rel.schema]
        derived: dict[str, ir.Expr] = {}
        failed = False
        for item in s.items:
            try:
                col_name = self._item_name(item, "derive")
                fields = tuple(ir.Field(n, e.type) for n, e in columns)
                e = self.exprs.lower(item.expr, Scope(fields, name, "derive"))
                e = ir.map_columns(e, lambda ref: derived.get(ref.name, ref))
                derived[col_name] = e
                for i, (n, _) in enumerate(columns):
                    if n == col_name:
                        columns[i] = (n, e)
                        break
                else:
                    columns.append((col_name, e))
            except LoweringFailed:
                failed = True
        if failed:
            raise LoweringFailed("derive")
        return ir.Project(rel, tuple(columns), span=s.span)

    def _key_names(self, rel: ir.Rel, name: str, keys, context: str) -> tuple[str, ...]:
        out: list[str] = []
        for k in keys:
            if not isinstance(k, ast.Name) or len(k.parts) != 1:
                self.fail(Code.BAD_STAGE, f"'{context}' keys must be column names", getattr(k, "span", None),
                          "compute the key with `derive key = ...` first")
            ref = self.exprs.lower(k, self.scope(rel, name, context))
            assert isinstance(ref, ir.ColumnRef)
            if ref.name in out:
                self.fail(Code.DUPLICATE_NAME, f"key '{ref.name}' given twice in '{context}'", k.span)
            out.append(ref.name)
        return tuple(out)

    def _aggregate(self, rel: ir.Rel, name: str, s: ast.Aggregate, window: ir.WindowSpec | None) -> ir.Rel:
        keys = self._key_names(rel, name, s.by, "aggregate")
        scope = self.scope(rel, name, "aggregate")
        aggs: list[ir.AggCall] = []
        failed = False
        for item in s.items:
            try:
                aggs.append(self.exprs.lower_aggregate(item, scope))
            except LoweringFailed:
                failed = True
        if failed:
            raise LoweringFailed("aggregate")
        if not aggs and not keys:
            self.fail(Code.BAD_STAGE, "'aggregate' needs at least one aggregate or key", s.span)
        out_names = list(keys) + (["window_start", "window_end"] if window else [])
        for a in aggs:
            if a.name in out_names:
                self.fail(Code.DUPLICATE_NAME, f"aggregate output '{a.name}' collides with another column",
                          a.span, "give it another name: `other = ...`")
            out_names.append(a.name)
        if window is not None and set(keys) & {"window_start", "window_end"}:
            keys = tuple(k for k in keys if k not in ("window_start", "window_end"))
        return ir.Aggregate(rel, keys, tuple(aggs), window, span=s.span)

    # ------------------------------------------------------------ windows

    def _window(self, rel: ir.Rel, name: str, stages: list, i: int) -> tuple[ir.Rel, int]:
        s: ast.Window = stages[i]
        spec = self._window_spec(rel, name, s)
        # A window applies to the aggregate after it. Row-local stages in between (where, derive) that do
        # not read the window columns are moved before the window, which does not change the result.
        j = i + 1
        while j < len(stages) and isinstance(stages[j], ROW_LOCAL) and not _reads_window_columns(stages[j]):
            j += 1
        if j < len(stages) and isinstance(stages[j], ast.Aggregate):
            for k in range(i + 1, j):
                rel = self.stage(rel, name, stages[k])
            if spec.time_col not in ir.schema_names(rel.schema):
                self.fail(Code.UNKNOWN_COLUMN, f"window column '{spec.time_col}' was removed before the aggregate",
                          s.span)
            return self._aggregate(rel, name, stages[j], spec), j + 1
        if spec.kind == "session":
            self.fail(Code.BAD_STAGE, "a session window must be followed by `aggregate ... by KEYS`", s.span,
                      "sessions are per key: `| window session(ts, gap = 5min) | aggregate n = count() by user`")
        if {"window_start", "window_end"} & set(ir.schema_names(rel.schema)):
            self.fail(Code.BAD_STAGE, "this relation is already windowed", s.span,
                      "drop window_start/window_end with `select` first")
        return ir.WindowAssign(rel, spec, span=s.span), i + 1

    def _window_spec(self, rel: ir.Rel, name: str, s: ast.Window) -> ir.WindowSpec:
        call = s.call
        kind = call.name
        if kind not in WINDOW_ARGS:
            guess = did_you_mean(kind, WINDOW_ARGS)
            self.fail(Code.BAD_STAGE, f"unknown window '{kind}'", call.span,
                      (f"did you mean '{guess}'? " if guess else "") + "windows: tumble, hop, session")
        params = WINDOW_ARGS[kind]
        given: dict[str, ast.Arg] = {}
        for pos, a in enumerate(call.args):
            key = a.name if a.name is not None else (params[pos] if pos < len(params) else None)
            if key is None:
                self.fail(Code.ARG_COUNT, f"'{kind}' takes at most {len(params)} arguments, got {len(call.args)}",
                          call.span, _window_usage(kind))
            if key not in params:
                guess = did_you_mean(key, params)
                self.fail(Code.BAD_ARGUMENT, f"'{kind}' has no argument '{key}'", a.span,
                          (f"did you mean '{guess}'? " if guess else "") + _window_usage(kind))
            if key in given:
                self.fail(Code.BAD_ARGUMENT, f"'{kind}' argument '{key}' given twice", a.span)
            given[key] = a
        missing = [p for p in WINDOW_REQUIRED[kind] if p not in given]
        if missing:
            self.fail(Code.ARG_COUNT, f"'{kind}' is missing {', '.join(missing)}", call.span, _window_usage(kind))
        time_arg = given["time"].value
        if not isinstance(time_arg, ast.Name) or len(time_arg.parts) != 1:
            self.fail(Code.BAD_ARGUMENT, f"the first argument of '{kind}' must be a time column",
                      getattr(time_arg, "span", call.span), _window_usage(kind))
        ref = self.exprs.lower(time_arg, self.scope(rel, name, "window"))
        if not ref.type.is_temporal:
            self.fail(Code.TYPE_MISMATCH, f"window column '{ref.name}' is {ref.type}, not a timestamp or date",
                      time_arg.span, "windows need a timestamp, timestamptz or date column")
        durations = {k: self._duration(given[k], kind) for k in params if k != "time" and k in given}
        if "offset" in durations and "size" in durations and not 0 <= durations["offset"] < durations["size"]:
            self.fail(Code.BAD_ARGUMENT, "a window offset must be at least 0 and less than the size",
                      given["offset"].span)
        for k in ("size", "slide", "gap"):
            if k in durations and durations[k] <= 0:
                self.fail(Code.BAD_ARGUMENT, f"window {k} must be positive", given[k].span)
        if kind == "hop" and durations["size"] % durations["slide"]:
            self.fail(Code.BAD_ARGUMENT, "hop size must be a multiple of slide", call.span,
                      "e.g. `hop(ts, size = 10s, slide = 5s)`")
        # Windows close by the watermark; on a column other than the event time they would close too early.
        watermarked = _watermarks(self.owner, rel)
        if watermarked and ref.name not in watermarked:
            self.fail(Code.BAD_ARGUMENT, f"window on '{ref.name}', but this pipeline's event time is "
                      f"{', '.join(sorted(watermarked))}", time_arg.span,
                      "windows close when the watermark passes their end: window on the event_time column")
        return ir.WindowSpec(kind, ref.name, size=durations.get("size", 0), slide=durations.get("slide", 0),
                             offset=durations.get("offset", 0), gap=durations.get("gap", 0), span=call.span)

    def _duration(self, a: ast.Arg, kind: str) -> int:
        if not isinstance(a.value, ast.Duration):
            self.fail(Code.TYPE_MISMATCH, f"'{kind}' {a.name or 'size'} must be a duration like 10s or 5min",
                      a.value.span if hasattr(a.value, "span") else a.span, _window_usage(kind))
        return a.value.micros  # type: ignore[union-attr]

    # ------------------------------------------------------------ joins

    def _join(self, rel: ir.Rel, name: str, s: ast.Join) -> ir.Rel:
        right, right_name = self.relation(s.relation)
        alias = s.alias or (s.relation.name if isinstance(s.relation, ast.RelationRef) else None)
        if alias is None:
            self.fail(Code.BAD_STAGE, "a joined pipeline needs an alias", s.span, "write `join (...) as x on ...`")
        left_names = set(ir.schema_names(rel.schema))
        right_names: list[str] = []
        qualified: dict[str, ir.Field] = {}
        for f in right.schema:
            out = f.name if f.name not in left_names else f"{alias}_{f.name}"
            if out in left_names or out in right_names:
                self.fail(Code.AMBIGUOUS_COLUMN, f"joined column '{alias}.{f.name}' would be named '{out}', "
                          "which the left side already has", s.span,
                          f"rename it before the join: `join ({right_name} | select ...) as {alias}`")
            right_names.append(out)
            qualified[f.name] = ir.Field(out, f.type)
        scope = Scope(rel.schema, name, "join", qualified={alias: qualified})
        cond = self.exprs.lower_predicate(s.on, scope)
        return ir.Join(rel, right, s.kind, cond, alias, tuple(right_names), span=s.span)


def _window_usage(kind: str) -> str:
    return {"tumble": "usage: window tumble(TIME_COLUMN, SIZE [, offset = D])",
            "hop": "usage: window hop(TIME_COLUMN, size = D, slide = D [, offset = D])",
            "session": "usage: window session(TIME_COLUMN, gap = D)"}[kind]


def _reads_window_columns(stage) -> bool:
    found = False

    def visit(node) -> None:
        nonlocal found
        if isinstance(node, ast.Name) and node.parts[-1] in ("window_start", "window_end"):
            found = True
        elif isinstance(node, tuple):
            for x in node:
                visit(x)
        elif hasattr(node, "__dataclass_fields__"):
            for f in node.__dataclass_fields__:
                if f != "span":
                    visit(getattr(node, f))
    visit(stage)
    return found


def _watermarks(owner: Lowerer, rel: ir.Rel) -> frozenset[str]:
    from flowc.compiler.properties import watermark_columns
    return watermark_columns(rel, owner.sources, owner.views)
