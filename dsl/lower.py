"""Lowering: the AST of a program to the typed logical IR, with every error of the file collected.

Checks made here: unknown names (with did-you-mean), duplicate names, types, argument counts, the
event-time column's type, connectors and their arguments, and whether a view can be `emit final`.
"""

from __future__ import annotations

import os

from flowc.compiler import ir, properties
from flowc.compiler.connectors import CONNECTORS
from flowc.compiler.diagnostics import Code, Collector, FlowError, did_you_mean

from . import ast
from .lower_expr import ExprLowerer, LoweringFailed, lower_type
from .lower_pipeline import PipelineLowerer


def lower(program: ast.Program) -> ir.Program:
    """Lower a parsed or built program; raises FlowError with all errors found."""
    return Lowerer(program).run()


def lower_with_warnings(program: ast.Program) -> tuple[ir.Program, list]:
    lowerer = Lowerer(program)
    out = lowerer.run()
    return out, lowerer.diags.warnings


class Lowerer:
    def __init__(self, program: ast.Program):
        self.program = program
        self.diags = Collector()
        self.exprs = ExprLowerer(self.diags)
        self.decls: dict[str, ast.Decl] = {}
        self.sources: dict[str, ir.Source] = {}
        self.tables: dict[str, ir.Table] = {}
        self.views: dict[str, ir.View] = {}
        self.failed: set[str] = set()
        self.in_progress: list[str] = []
        self.pipelines = PipelineLowerer(self)

    def run(self) -> ir.Program:
        self._collect_names()
        for d in self.program.decls:
            if isinstance(d, ast.SourceDecl) and self.decls.get(d.name) is d:
                self._source(d)
            elif isinstance(d, ast.TableDecl) and self.decls.get(d.name) is d:
                self._table(d)
        for d in self.program.decls:
            if isinstance(d, ast.ViewDecl) and self.decls.get(d.name) is d:
                self.view(d.name)
        sinks = [s for s in (self._sink(d) for d in self.program.decls if isinstance(d, ast.SinkDecl)) if s]
        self._check_outputs(sinks)
        self.diags.raise_if_errors()
        return ir.Program(tuple(self.sources.values()), tuple(self.tables.values()), tuple(self.views.values()),
                          tuple(sinks), file=self.program.file, base_dir=self.program.base_dir)

    # ------------------------------------------------------------ names

    def _collect_names(self) -> None:
        for d in self.program.decls:
            if isinstance(d, ast.SinkDecl):
                continue
            kind = type(d).__name__.removesuffix("Decl").lower()
            if d.name in self.decls:
                first = self.decls[d.name]
                where = f" (first declared at {first.span})" if first.span else ""
                self.diags.error(Code.DUPLICATE_NAME, f"duplicate name '{d.name}': {kind} redeclares it{where}",
                                 d.name_span or d.span, "names of sources, tables and views are unique in a program")
                continue
            self.decls[d.name] = d

    def relation_names(self) -> list[str]:
        return list(self.decls)

    # ------------------------------------------------------------ declarations

    def _columns(self, cols: tuple[ast.ColumnDef, ...], owner: str) -> ir.Schema | None:
        out: list[ir.Field] = []
        ok = True
        seen: set[str] = set()
        for c in cols:
            t = lower_type(c.type, self.diags)
            if c.name in seen:
                self.diags.error(Code.DUPLICATE_NAME, f"duplicate column '{c.name}' in {owner}", c.span)
                ok = False
                continue
            seen.add(c.name)
            if t is None:
                ok = False
                continue
            out.append(ir.Field(c.name, t))
        if not cols:
            self.diags.error(Code.BAD_STAGE, f"{owner} declares no columns", None)
            ok = False
        return tuple(out) if ok else None

    def _source(self, d: ast.SourceDecl) -> None:
        schema = self._columns(d.columns, f"source '{d.name}'")
        connector = self.connector(d.connector, role="source")
        event_time = d.event_time
        if event_time is not None and schema is not None:
            f = ir.schema_lookup(schema, event_time)
            if f is None:
                guess = did_you_mean(event_time, ir.schema_names(schema))
                hint = (f"did you mean '{guess}'? " if guess else "") + \
                    f"columns of {d.name}: {', '.join(ir.schema_names(schema))}"
                self.diags.error(Code.UNKNOWN_COLUMN, f"unknown event_time column '{event_time}'",
                                 d.event_time_span or d.span, hint)
                schema = None
            elif not f.type.is_time_point:
                stamps = [x.name for x in schema if x.type.is_time_point]
                hint = (f"timestamp columns of {d.name}: {', '.join(stamps)}" if stamps else
                        f"declare it as `{event_time} timestamp` (or timestamptz)")
                self.diags.error(Code.EVENT_TIME_TYPE,
                                 f"event_time column '{event_time}' is {f.type}, not a timestamp",
                                 d.event_time_span or d.span, hint)
                schema = None
        watermark = d.watermark.micros if d.watermark is not None else None
        if event_time is not None and watermark is None:
            watermark = 0
        on_late = self._policy(d.on_late, "drop", ("drop",), "on_late")
        on_error = self._policy(d.on_error, "fail", ("fail", "skip"), "on_error")
        if schema is None or connector is None or on_late is None or on_error is None:
            self.failed.add(d.name)
            return
        self.sources[d.name] = ir.Source(d.name, schema, connector, event_time, watermark, on_late, on_error,
                                         span=d.name_span or d.span)

    def _policy(self, value, default: str, words: tuple[str, ...], what: str):
        if value is None:
            return default
        if isinstance(value, str):
            if value not in words:
                self.diags.error(Code.SYNTAX, f"unknown {what} policy '{value}'", None,
                                 f"{what} takes {', '.join(words)} or `into CONNECTOR(...)`")
                return None
            return value
        return self.connector(value, role="sink")

    def _table(self, d: ast.TableDecl) -> None:
        schema = self._columns(d.columns, f"table '{d.name}'")
        connector = self.connector(d.connector, role="source")
        if schema is not None:
            for k in d.primary_key:
                if ir.schema_lookup(schema, k) is None:
                    guess = did_you_mean(k, ir.schema_names(schema))
                    self.diags.error(Code.UNKNOWN_COLUMN, f"unknown primary key column '{k}' in table '{d.name}'",
                                     d.span, f"did you mean '{guess}'?" if guess else None)
                    schema = None
        if schema is None or connector is None:
            self.failed.add(d.name)
            return
        self.tables[d.name] = ir.Table(d.name, schema, tuple(d.primary_key), connector, span=d.name_span or d.span)

    def view(self, name: str) -> ir.View | None:
        """Lower view `name` (and, first, the views it reads); None if it has errors."""
        if name in self.views:
            return self.views[name]
        if name in self.failed:
            return None
        d = self.decls[name]
        assert isinstance(d, ast.ViewDecl)
        if name in self.in_progress:
            cycle = " -> ".join(self.in_progress[self.in_progress.index(name):] + [name])
            self.diags.error(Code.UNKNOWN_RELATION, f"views read each other in a cycle: {cycle}",
                             d.name_span or d.span, "a view may only read sources, tables and other views")
            self.failed.add(name)
            return None
        self.in_progress.append(name)
        try:
            plan, emit, emit_span = self.pipelines.lower_view_pipeline(d.pipeline, name)
            view = self._choose_emit(name, plan, emit, emit_span, d)
        except LoweringFailed:
            self.failed.add(name)
            return None
        finally:
            self.in_progress.pop()
        if view is None:
            self.failed.add(name)
            return None
        self.views[name] = view
        return view

    def _choose_emit(self, name, plan, emit, emit_span, d: ast.ViewDecl) -> ir.View | None:
        blocker = properties.final_blocker(plan, self.sources, self.views)
        if emit == "final" and blocker is not None:
            node, why, fix = blocker
            self.diags.error(Code.EMIT_FINAL, f"view '{name}' cannot be emitted final: {why}",
                             emit_span or d.span, fix)
            return None
        if emit is None:
            emit = "final" if blocker is None else "changes"
        self._warn_unbounded_state(name, plan)
        return ir.View(name, plan, emit, span=d.name_span or d.span)

    def _warn_unbounded_state(self, view: str, plan: ir.Rel) -> None:
        """Operators whose state grows with the input, named so users can see it before production."""
        for node in ir.walk(plan):
            if isinstance(node, ir.Join) and properties.join_kind(node, self.sources, self.views) == "regular":
                sides = f"every row of both sides ({_relation_label(node.input)} and {_relation_label(node.right)})"
                self.diags.warn(Code.UNBOUNDED_STATE,
                                f"view '{view}': this join keeps {sides} forever", node.span,
                                "bound it in time (`and ts between a.ts and a.ts + 1h`) to make it an interval "
                                "join, or join both sides on the same window's window_start")
            elif not self._streams(node):
                continue
            elif isinstance(node, ir.Aggregate) and node.window is None and node.keys:
                self.diags.warn(Code.UNBOUNDED_STATE,
                                f"view '{view}': this aggregate keeps a row per {', '.join(node.keys)} forever "
                                "(no window closes them), so its state grows with the keys the stream brings",
                                node.span, "aggregate over a window (`| window tumble(ts, 1h)`) to free each "
                                "window's rows when it closes, if the keys keep growing")
            elif isinstance(node, ir.Distinct):
                self.diags.warn(Code.UNBOUNDED_STATE,
                                f"view '{view}': this distinct remembers every {', '.join(node.keys)} it has seen, "
                                "so its state grows with the keys the stream brings", node.span,
                                "distinct within a window (`| window tumble(ts, 1h) | distinct ..., window_start`) "
                                "if the keys keep growing")

    def _streams(self, node: ir.Rel) -> bool:
        """The node reads a source (directly or through views): a stream, not only tables."""
        for n in ir.walk(node):
            if isinstance(n, ir.Scan) and (n.kind == "source" or (
                    n.kind == "view" and n.name in self.views and self._streams(self.views[n.name].plan))):
                return True
        return False

    def _sink(self, d: ast.SinkDecl) -> ir.Sink | None:
        connector = self.connector(d.connector, role="sink")
        target = self.decls.get(d.view)
        if target is None:
            guess = did_you_mean(d.view, [n for n, x in self.decls.items() if isinstance(x, ast.ViewDecl)])
            self.diags.error(Code.UNKNOWN_RELATION, f"sink of unknown view '{d.view}'", d.view_span or d.span,
                             f"did you mean '{guess}'?" if guess else "declare it first: `view NAME = ...`")
            return None
        if not isinstance(target, ast.ViewDecl):
            self.diags.error(Code.UNKNOWN_RELATION, f"'{d.view}' is a {type(target).__name__[:-4].lower()}, "
                             "and sinks take views", d.view_span or d.span,
                             f"add `view {d.view}_out = {d.view}` and sink that")
            return None
        if d.view not in self.views or connector is None:
            return None
        return ir.Sink(d.view, connector, span=d.span)

    def _check_outputs(self, sinks: list[ir.Sink]) -> None:
        """No two writers of one file (they would mix or overwrite each other's rows), and no writer of
        a file a source or table reads."""
        def where(c: ir.Connector) -> str | None:
            path = c.get("path")
            if c.kind not in ("csv", "jsonl", "parquet") or not isinstance(path, str):
                return None
            return os.path.normpath(os.path.join(self.program.base_dir or ".", path))

        inputs = {where(r.connector): r.name for r in (*self.sources.values(), *self.tables.values())}
        writers: list[tuple[str, ir.Connector, object]] = [(f"sink of '{k.view}'", k.connector, k.span) for k in sinks]
        for s in self.sources.values():
            for role, c in (("on_late", s.on_late), ("on_error", s.on_error)):
                if isinstance(c, ir.Connector):
                    writers.append((f"{role} of source '{s.name}'", c, c.span or s.span))
        seen: dict[str, str] = {}
        for what, c, span in writers:
            path = where(c)
            if path is None:
                continue
            if path in inputs:
                self.diags.error(Code.BAD_CONNECTOR, f"the {what} writes {c.get('path')!r}, which "
                                 f"'{inputs[path]}' reads", c.span or span,
                                 "write the output to another file: a run would overwrite its own input")
            elif path in seen:
                self.diags.error(Code.BAD_CONNECTOR, f"the {what} and the {seen[path]} write the same file "
                                 f"{c.get('path')!r}", c.span or span,
                                 "give each sink its own file (their rows would mix or overwrite each other)")
            else:
                seen[path] = what

    # ------------------------------------------------------------ connectors

    def connector(self, c: ast.Connector, role: str) -> ir.Connector | None:
        spec = CONNECTORS.get(c.name)
        if spec is None:
            guess = did_you_mean(c.name, CONNECTORS)
            self.diags.error(Code.BAD_CONNECTOR, f"unknown connector '{c.name}'", c.span,
                             (f"did you mean '{guess}'? " if guess else "") + f"connectors: {', '.join(CONNECTORS)}")
            return None
        if role == "source" and not spec.source:
            self.diags.error(Code.BAD_CONNECTOR, f"connector '{c.name}' cannot be read from", c.span,
                             "sources read: " + ", ".join(k for k, s in CONNECTORS.items() if s.source))
            return None
        if role == "sink" and not spec.sink:
            self.diags.error(Code.BAD_CONNECTOR, f"connector '{c.name}' cannot be written to", c.span,
                             "sinks write: " + ", ".join(k for k, s in CONNECTORS.items() if s.sink))
            return None
        args: dict[str, object] = {}
        ok = True
        for i, a in enumerate(c.args):
            key = a.name
            if key is None:
                if i != 0 or "path" not in spec.args:
                    self.diags.error(Code.BAD_ARGUMENT, f"connector '{c.name}' takes named arguments", a.span,
                                     f"write `{c.name}({', '.join(x + ' = ...' for x in spec.required or spec.args)})`")
                    ok = False
                    continue
                key = "path"
            if key not in spec.args:
                guess = did_you_mean(key, spec.args)
                self.diags.error(Code.BAD_ARGUMENT, f"connector '{c.name}' has no argument '{key}'", a.span,
                                 (f"did you mean '{guess}'? " if guess else "") +
                                 f"arguments: {', '.join(spec.args) or 'none'}")
                ok = False
                continue
            if key in args:
                self.diags.error(Code.BAD_ARGUMENT, f"argument '{key}' given twice", a.span)
                ok = False
                continue
            value = self._connector_value(a.value)
            if value is _BAD:
                ok = False
                continue
            args[key] = value
        missing = [k for k in spec.required if k not in args]
        if missing and ok:
            self.diags.error(Code.BAD_ARGUMENT, f"connector '{c.name}' needs {', '.join(missing)}", c.span,
                             f"e.g. `{c.name}({', '.join(k + ' = ...' for k in spec.required)})`")
            ok = False
        if not ok:
            return None
        return ir.Connector(c.name, tuple(sorted(args.items())), span=c.span)

    def _connector_value(self, v: ast.Expr) -> object:
        if isinstance(v, ast.Literal):
            return v.value
        if isinstance(v, ast.Duration):
            return v.micros
        if isinstance(v, ast.Unary) and v.op == "-" and isinstance(v.operand, ast.Literal) \
                and v.operand.kind in ("int", "float"):
            return -v.operand.value  # type: ignore[operator]
        if isinstance(v, ast.Call) and v.name == "env" and len(v.args) == 1 and \
                isinstance(v.args[0].value, ast.Literal) and v.args[0].value.kind == "string":
            return ir.Env(str(v.args[0].value.value))
        self.diags.error(Code.BAD_ARGUMENT, "connector arguments are literals or env('NAME')",
                         getattr(v, "span", None))
        return _BAD


_BAD = object()


def _relation_label(rel: ir.Rel) -> str:
    scans = [n.name for n in ir.walk(rel) if isinstance(n, ir.Scan)]
    return ", ".join(scans) or "a derived relation"


__all__ = ["lower", "lower_with_warnings", "Lowerer", "FlowError"]
