"""The local target: IR -> a plan of runtime operators, and running it.

    compile_local(program, batch_size) -> LocalPlan      (no file is touched)
    run_local(program, batch_size, collect) -> RunResult (opens readers and writers, runs, reports)

Each view's plan becomes a chain of operators; a view reading another view hangs off that view's
last operator, so upstream work is shared. Aggregates with expression arguments get a projection
first. What the runtime cannot do yet raises UnsupportedFeature at compile time, with the span.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError, UnsupportedFeature
from flowc.compiler.properties import columns_read
from flowc.runtime import io
from flowc.runtime.aggregate import AggSpec, GlobalAggregateOp, WindowAggregateOp
from flowc.runtime.errors import EvaluationError, FileFormatError, RecordError, StateLimitExceeded
from flowc.runtime.executor import Plan, SourceNode
from flowc.runtime.operators import (
    WEIGHT,
    FilterOp,
    Operator,
    ProjectOp,
    SinkOp,
    WindowAssignOp,
    is_changelog,
)
from flowc.runtime.records import META, error_schema
from flowc.runtime.session import SessionAggregateOp
from flowc.runtime.state_probe import attach_state_probe
from flowc.runtime.windows import WindowDef

from . import nexmark
from .arrow_types import arrow_schema, arrow_type
from .base import RunResult, SinkStats, SourceStats, describe_connector, resolve_env, resolve_path
from .local_exprs import compile_expr
from .local_relational import compile_relational, describe_relational, linear_time, table_scan

TARGET = "local"
READABLE = ("csv", "jsonl", "parquet", "postgres")
WRITABLE = ("csv", "jsonl", "parquet", "stdout", "postgres")


@dataclass
class _Node:
    """A compiled relation: its operator, and its event-time columns with their lags.

    Column c has lag L when every row the operator emits after passing on watermark W has
    c >= W - L: a source's event time has lag 0; after a windowed aggregate that closes on the
    watermark, window_end has the lag of the window's time column and window_start that plus the
    window size; `c + d` has lag L - d. A window on c closes once W - L reaches its end, and a join
    drops kept rows by the other side's W - L (the runtime's `lag` arguments)."""

    op: Operator
    lags: Mapping[str, int]


@dataclass
class LocalPlan:
    program: ir.Program
    plan: Plan
    sources: dict[str, SourceNode]
    sinks: list[tuple[ir.Sink, SinkOp]]  # in program order
    collectors: dict[str, SinkOp] = field(default_factory=dict)  # view -> what its sinks receive


def compile_local(program: ir.Program, batch_size: int = 10_000, collect: bool = False) -> LocalPlan:
    """Build the operator graph. Raises UnsupportedFeature for what the runtime lacks."""
    return _Compiler(program, batch_size, collect).build()


class _Compiler:
    def __init__(self, program: ir.Program, batch_size: int, collect: bool):
        self.p = program
        self.batch_size = batch_size
        self.collect = collect
        self.sources: dict[str, SourceNode] = {}
        self.views: dict[str, _Node] = {}
        self.operators: list[Operator] = []
        self._ids = 0

    def build(self) -> LocalPlan:
        for s in self.p.sources:
            self.sources[s.name] = self._source(s)
        sinks: list[tuple[ir.Sink, SinkOp]] = []
        collectors: dict[str, SinkOp] = {}
        by_view: dict[str, list[ir.Sink]] = {}
        for k in self.p.sinks:
            by_view.setdefault(k.view, []).append(k)
        for v in self.p.views:
            node = self._view(v)
            self.views[v.name] = node
            for k in by_view.get(v.name, []):
                _check_writable(k.connector, "a sink")
                op = SinkOp(f"sink {v.name}", node.op.schema, collect=self.collect and v.name not in collectors,
                            with_op=v.emit == "changes")
                node.op.connect(op)
                sinks.append((k, op))
                if op.collect:
                    collectors[v.name] = op
            if self.collect and v.name not in collectors:
                op = SinkOp(f"collect {v.name}", node.op.schema, collect=True, with_op=v.emit == "changes")
                node.op.connect(op)
                collectors[v.name] = op
        for k in self.p.sinks:
            if k.view not in self.views:
                raise UnsupportedFeature(f"a sink of '{k.view}', which is not a view,", TARGET, k.span)
        all_sinks = [op for _, op in sinks] + [op for op in collectors.values() if not op.writers
                                              and all(op is not s for _, s in sinks)]
        plan = Plan(list(self.sources.values()), all_sinks, self.batch_size, self.operators)
        return LocalPlan(self.p, plan, self.sources, sinks, collectors)

    # -- sources
    def _source(self, s: ir.Source) -> SourceNode:
        c = s.connector
        if c.kind not in READABLE and c.kind != "nexmark":
            raise UnsupportedFeature(f"connector '{c.kind}'", TARGET, c.span,
                                     "the local runtime reads csv, jsonl and parquet files; "
                                     "use --target risingwave for live connectors")
        if isinstance(s.on_late, ir.Connector):
            _check_writable(s.on_late, "on_late")
        schema = arrow_schema(s.schema)
        if isinstance(s.on_error, ir.Connector):
            _check_writable(s.on_error, "on_error")
            bad_record_schema(s, schema)
        if c.kind == "nexmark":  # the generator, streamed (targets/nexmark.py): the columns read only
            et = s.event_time
            read = columns_read(self.p, s.name)
            if read is not None:
                schema = pa.schema([f for f in schema if f.name in read])
            return SourceNode(s.name, schema, nexmark.open_batches(s, schema.names), event_time=et,
                              delay=s.watermark if et is not None else None)
        if c.kind == "postgres":  # a table or query in arrival order (targets/postgres/connector.py)
            from .postgres.connector import open_source as open_postgres

            if s.on_error != "fail":
                raise UnsupportedFeature("on_error skip / into with a postgres source", TARGET, c.span,
                                         "PostgreSQL casts each column to its declared type; a bad value "
                                         "fails the read")
            et = s.event_time
            return SourceNode(s.name, schema, open_postgres(c, schema), event_time=et,
                              delay=s.watermark if et is not None else None)
        path = resolve_path(self.p, str(resolve_env(c.get("path"))))
        options = {}
        if c.get("delimiter") is not None:
            options["delimiter"] = str(resolve_env(c.get("delimiter")))
        kind = c.kind
        et = s.event_time
        node = SourceNode(s.name, schema, None, event_time=et, delay=s.watermark if et is not None else None)
        if s.on_error != "fail":
            # the reader leaves bad records out and hands them to the node (counted; written by `into`)
            options["on_error"] = node.bad_records

        def open_source(batch_size: int, kind=kind, path=path, schema=schema, options=options):
            return io.read_batches(kind, path, schema, batch_size, options)

        node.open = open_source
        return node

    # -- views
    def _view(self, v: ir.View) -> _Node:
        top_agg = next((n for n in _top_down(v.plan) if isinstance(n, ir.Aggregate)), None)
        self._emit = v.emit
        self._top_agg = top_agg
        self._view_name = v.name
        node = self._rel(v.plan)
        want = arrow_schema(v.schema)
        got = pa.schema([f for f in node.op.schema if f.name != WEIGHT])
        if not got.equals(want):
            node = self._conform(node, want)
        return node

    def _add(self, upstream: Operator, op: Operator) -> Operator:
        upstream.connect(op)
        self.operators.append(op)
        return op

    def _name(self, what: str) -> str:
        self._ids += 1
        return f"{self._view_name}.{what}{self._ids}"

    def _rel(self, r: ir.Rel) -> _Node:
        if isinstance(r, ir.Scan):
            return self._scan(r)
        if isinstance(r, ir.Filter):
            up = self._rel(r.input)
            op = FilterOp(self._name("filter"), up.op.schema, compile_expr(r.predicate))
            return _Node(self._add(up.op, op), up.lags)
        if isinstance(r, ir.Project):
            up = self._rel(r.input)
            cols = [(n, arrow_type(e.type), compile_expr(e)) for n, e in r.columns]
            op = ProjectOp(self._name("project"), cols, changelog=is_changelog(up.op.schema))
            return _Node(self._add(up.op, op), project_lags(r.columns, up.lags))
        if isinstance(r, ir.WindowAssign):
            up = self._rel(r.input)
            w = r.window
            op = WindowAssignOp(self._name("window"), up.op.schema, w.time_col, _window_def(w),
                                arrow_type(r.schema[-1].type))
            lags = dict(up.lags)
            if w.time_col in up.lags:
                # a row at t gets windows with t - size < start <= t < end: bounded like t, the start
                # trailing by one window size
                lag = up.lags[w.time_col]
                lags.update(window_start=lag + w.size, window_end=lag)
            return _Node(self._add(up.op, op), lags)
        if isinstance(r, ir.Aggregate):
            return self._aggregate(r)
        if isinstance(r, ir.Join | ir.Distinct | ir.TopN | ir.UnionAll):
            return compile_relational(self, r)
        raise UnsupportedFeature(f"'{type(r).__name__}'", TARGET, r.span, "the local runtime does not implement it")

    def _scan(self, r: ir.Scan) -> _Node:
        if r.kind == "view":
            node = self.views.get(r.name)
            if node is None:
                raise UnsupportedFeature(f"reading view '{r.name}' before it is defined", TARGET, r.span)
        elif r.kind == "source":
            src = self.sources.get(r.name)
            if src is None:
                raise UnsupportedFeature(f"scan of unknown source '{r.name}'", TARGET, r.span)
            decl = self.p.source(r.name)
            node = _Node(src, {decl.event_time: 0} if decl is not None and decl.event_time else {})
        elif r.kind == "table":
            node = table_scan(self, r)
        else:
            raise UnsupportedFeature(f"reading {r.kind} '{r.name}'", TARGET, r.span)
        have = pa.schema([f for f in node.op.schema if f.name != WEIGHT])
        # a generator makes only the columns some reader uses (properties.columns_read)
        want = arrow_schema(tuple(f for f in r.columns if r.kind != "source" or f.name in have.names))
        if have.names != want.names:
            node = self._select(node, [f.name for f in want])
        return node

    def _select(self, node: _Node, names: list[str]) -> _Node:
        schema = node.op.schema
        cols = [(n, schema.field(n).type, _column(n)) for n in names]
        op = ProjectOp(self._name("select"), cols, changelog=is_changelog(schema))
        return _Node(self._add(node.op, op), {n: node.lags[n] for n in names if n in node.lags})

    def _conform(self, node: _Node, want: pa.Schema) -> _Node:
        cols = [(f.name, f.type, _column(f.name)) for f in want]
        op = ProjectOp(self._name("conform"), cols, changelog=is_changelog(node.op.schema))
        # a column of unchanged type keeps its values, hence its bound
        have = node.op.schema
        kept = {f.name: node.lags[f.name] for f in want
                if f.name in node.lags and have.field(f.name).type == f.type}
        return _Node(self._add(node.op, op), kept)

    def _aggregate(self, r: ir.Aggregate) -> _Node:
        up = self._rel(r.input)
        w = r.window
        if w is not None and is_changelog(up.op.schema):
            raise UnsupportedFeature("a windowed aggregate over a changelog (a view with emit changes)", TARGET, r.span,
                                     "aggregate the source rows directly, emit the upstream view final, "
                                     "or aggregate without a window")
        # aggregate arguments that are expressions are computed by a projection first
        specs: list[AggSpec] = []
        extra: list[tuple[str, ir.Expr]] = []
        for i, a in enumerate(r.aggs):
            arg = None
            if isinstance(a.arg, ir.ColumnRef):
                arg = a.arg.name
            elif a.arg is not None:
                arg = f"__arg{i}"
                extra.append((arg, a.arg))
            specs.append(AggSpec(a.name, a.fn, arg, arrow_type(a.type)))
        node = up
        if extra:
            keep = list(dict.fromkeys(list(r.keys) + ([w.time_col] if w is not None else [])
                                      + [s.arg for s in specs if s.arg is not None and not s.arg.startswith("__arg")]))
            schema = up.op.schema
            cols = [(n, schema.field(n).type, _column(n)) for n in keep]
            cols += [(n, arrow_type(e.type), compile_expr(e)) for n, e in extra]
            op = ProjectOp(self._name("aggargs"), cols, changelog=is_changelog(schema))
            node = _Node(self._add(up.op, op), {n: up.lags[n] for n in keep if n in up.lags})
        top = r is self._top_agg
        lag = node.lags.get(w.time_col) if w is not None else None  # None: windows close at end of input
        name = self._name("aggregate")
        if w is None:
            mode = "final" if top and self._emit == "final" else "changes"
            op = GlobalAggregateOp(name, node.op.schema, list(r.keys), specs, mode=mode)
        elif w.kind == "session":
            mode = "changes" if top and self._emit == "changes" else "final"
            wtype = arrow_type(r.schema[len(r.keys)].type)
            op = SessionAggregateOp(name, node.op.schema, list(r.keys), specs, w.time_col, w.gap, wtype, mode=mode,
                                    lag=lag)
        else:
            mode = "changes" if top and self._emit == "changes" else "final"
            wtype = arrow_type(r.schema[len(r.keys)].type)
            op = WindowAggregateOp(name, node.op.schema, list(r.keys), specs, w.time_col, _window_def(w), wtype,
                                   mode=mode, lag=lag)
        # A window is emitted once W - lag passes its end, so every later output row has a window_end
        # above W - lag (W: the watermark passed on with it). A tumble or hop window_start is its end
        # minus the size; a session's start has no bound (a session can last any time).
        if lag is None:
            return _Node(self._add(node.op, op), {})
        lags = {"window_end": lag}
        if w.kind != "session":
            lags["window_start"] = lag + w.size
        return _Node(self._add(node.op, op), lags)


def project_lags(columns, lags: Mapping[str, int]) -> dict[str, int]:
    """The lags of a projection's outputs: a copy keeps its column's lag, `c + d` (d a constant
    interval) lowers it by d, `c - d` raises it."""
    out = {}
    for n, e in columns:
        lin = linear_time(e)
        if lin is not None and lin[0] in lags:
            out[n] = lags[lin[0]] - lin[1]
    return out


def _top_down(r: ir.Rel):
    """Nodes from the view's output down (the first aggregate met is the one the emit mode is about)."""
    yield r
    for i in ir.rel_inputs(r):
        yield from _top_down(i)


def _column(name: str):
    return lambda b: b.column(name)


def _window_def(w: ir.WindowSpec) -> WindowDef:
    if w.kind == "tumble":
        return WindowDef.tumble(w.size, w.offset)
    if w.kind == "hop":
        return WindowDef.hop(w.size, w.slide, w.offset)
    raise UnsupportedFeature(f"{w.kind} windows", TARGET, w.span)


def _check_writable(c: ir.Connector, what: str) -> None:
    if c.kind not in WRITABLE:
        raise UnsupportedFeature(f"connector '{c.kind}' as {what}", TARGET, c.span,
                                 "the local runtime writes csv, jsonl, parquet, stdout and postgres")
    if c.kind == "postgres":  # its arguments are checked before anything runs
        from .postgres.connector import parse_args

        parse_args(c, "sink")


def explain_local(program: ir.Program, batch_size: int = 10_000) -> str:
    """The operator graph the local runtime would run, one operator per line, indented under its input."""
    lp = compile_local(program, batch_size)
    lines = []

    def walk(op: Operator, depth: int) -> None:
        lines.append("  " * depth + _describe(op))
        for child, _ in op.outputs:
            walk(child, depth + 1)

    for src in lp.sources.values():
        walk(src, 0)
    for k, _ in lp.sinks:
        lines.append(f"sink {k.view} -> {describe_connector(program, k.connector)}")
    return "\n".join(lines)


def _closing(lag: int | None) -> str:
    if lag is None:
        return " (closes at end of input)"
    return f" (closes at watermark - {lag}us)" if lag else ""


def _describe(op: Operator) -> str:
    cols = ", ".join(f.name for f in op.schema if f.name != WEIGHT)
    kind = type(op).__name__.removesuffix("Op").removesuffix("Node")
    extra = ""
    if isinstance(op, SourceNode) and op.event_time:
        extra = f" event_time {op.event_time} delay {op.lateness.delay if op.lateness else 0}us"
    elif isinstance(op, WindowAggregateOp):
        w = op.window
        extra = (f" by {', '.join(op.keys) or '()'} window size {w.size}us slide {w.slide}us emit {op.mode}"
                 + _closing(op.lag))
    elif isinstance(op, SessionAggregateOp):
        extra = f" by {', '.join(op.keys) or '()'} session gap {op.gap}us emit {op.mode}" + _closing(op.lag)
    elif isinstance(op, GlobalAggregateOp):
        extra = f" by {', '.join(op.state.keys) or '()'} emit {op.mode}"
    elif describe_relational(op) is not None:
        extra = describe_relational(op)
    changelog = " [changelog]" if is_changelog(op.schema) else ""
    return f"{kind} {op.name}{extra}: {cols}{changelog}"


# ---------------------------------------------------------------- running


def run_local(program: ir.Program, batch_size: int = 10_000, collect: bool = False,
              max_state_rows: int | None = None) -> RunResult:
    """Run the program on the local runtime; with collect, RunResult.tables[view] holds what each
    view's sinks received (changelogs with `_op` first)."""
    lp = compile_local(program, batch_size, collect)
    probe = attach_state_probe(lp.plan.sources, lp.plan.operators, max_state_rows)  # peak rows per operator
    opened: list[io.Writer] = []
    try:
        for s in program.sources:
            node = lp.sources[s.name]
            if isinstance(s.on_late, ir.Connector):
                node.late_writer = _open(program, s.on_late, node.schema, opened)
            if isinstance(s.on_error, ir.Connector):
                node.error_writer = _open(program, s.on_error, bad_record_schema(s, node.schema), opened)
        for k, op in lp.sinks:
            op.writers = [_open(program, k.connector, op.schema, opened)]
        stats = _run(program, lp)
    except BaseException:
        for w in opened:  # nothing of a failed run is written; the previous outputs stay
            w.abort()
        raise
    finally:
        for w in opened:
            w.close()
    result = RunResult(TARGET, elapsed=stats.elapsed, state=dict(probe.peak))
    for s in program.sources:
        node = lp.sources[s.name]
        result.sources.append(SourceStats(s.name, rows_in=node.rows_in, late=node.late, skipped=node.skipped))
    for k, op in lp.sinks:
        result.sinks.append(SinkStats(k.view, describe_connector(program, k.connector), op.rows))
    if collect:
        result.tables = {v: op.table() for v, op in lp.collectors.items()}
    return result


def bad_record_schema(s: ir.Source, schema: pa.Schema) -> pa.Schema:
    """The schema `on_error into` writes (runtime/records.py); a source column named like one of its
    extra columns is a compile error."""
    try:
        return error_schema(schema)
    except ValueError as e:
        raise FlowError(Diagnostic(Code.BAD_CONNECTOR, f"source '{s.name}': {e}", s.span,
                                   f"rename the column, or use on_error skip; bad records carry "
                                   f"{', '.join(META)}")) from None


def _open(program: ir.Program, c: ir.Connector, schema: pa.Schema, opened: list) -> io.Writer:
    if c.kind == "postgres":  # connects and creates the table if missing (targets/postgres/connector.py)
        from .postgres.connector import open_sink

        opened.append(open_sink(c, schema))
        return opened[-1]
    path = c.get("path")
    path = resolve_path(program, str(resolve_env(path))) if path is not None else None
    try:
        w = io.open_writer(c.kind, path, schema)
    except OSError as e:
        raise FlowError(Diagnostic(Code.IO, f"cannot write {path}: {e.strerror or e}", c.span)) from None
    opened.append(w)
    return w


def _run(program: ir.Program, lp: LocalPlan):
    try:
        return lp.plan.run()
    except RecordError as e:
        src = _source_of(program, e.file)
        raise FlowError(Diagnostic(Code.BAD_RECORD, f"bad record in {e.describe()}",
                                   src.connector.span if src else None,
                                   f"fix the file, or check the declared schema of source '{src.name}'"
                                   if src else None)) from None
    except FileNotFoundError as e:
        src = _source_of(program, str(e.args[0]) if e.args else "")
        raise FlowError(Diagnostic(Code.IO, f"no such file: {e.args[0] if e.args else e}",
                                   src.connector.span if src else None,
                                   f"the path is relative to {program.base_dir}")) from None
    except StateLimitExceeded as e:
        view = program.view(e.operator.split(".")[0])
        raise FlowError(Diagnostic(Code.STATE_LIMIT, f"stopped: the state of view '{e.operator.split('.')[0]}' "
                                   f"({e.operator}) reached {e.rows} rows, over --max-state-rows {e.limit}",
                                   view.span if view else None,
                                   "bound the state (a window, an interval join), or raise the limit")) from None
    except FileFormatError as e:
        src = _source_of(program, e.file)
        raise FlowError(Diagnostic(Code.IO, f"cannot read {e.file}: {e.reason}", src.connector.span if src else None,
                                   f"source '{src.name}' reads it as {src.connector.kind}" if src else None)) from None
    except EvaluationError as e:
        view = program.view(e.where.split(".")[0])
        raise FlowError(Diagnostic(Code.BAD_RECORD, f"evaluating view '{e.where.split('.')[0]}' failed: {e.reason}",
                                   view.span if view else None)) from None
    except OSError as e:
        raise FlowError(Diagnostic(Code.IO, f"input/output error: {e}")) from None


def _source_of(program: ir.Program, path: str) -> ir.Source | None:
    for s in program.sources:
        p = s.connector.get("path")
        if p is not None and os.path.abspath(resolve_path(program, str(resolve_env(p)))) == os.path.abspath(path):
            return s
    return None
