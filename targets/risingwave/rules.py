"""RisingWave's planner rules, as a table the checker walks before any DDL is printed.

Each row is one restriction that decides whether RisingWave accepts a statement flowc would emit,
or warns of what it will do: its name, the diagnostic code, whether it refuses or warns, the rule
in one sentence, the RisingWave file it was read from (risingwavelabs/risingwave; planner tests are
under src/frontend/planner_test/tests/testdata/, plan nodes under src/frontend/src/optimizer/
plan_node/), and the check. `check(program)` runs every row; `flowc check --target risingwave` and
`flowc compile --target risingwave` both call it, so a refusal comes before a deploy would.
docs/risingwave.md lists the table.

Watermarks are RisingWave's (watermarks.py), not SEMANTICS.md's: the rules ask what the engine sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError, Severity, UnsupportedFeature
from flowc.compiler.properties import conjuncts, join_kind_in, uncovered_keys
from flowc.compiler.span import Span
from flowc.runtime.nexmark import COLUMNS as NEXMARK_COLUMNS
from flowc.targets.base import resolve_env

from .changelog import is_eowc, view_changelog
from .watermarks import RisingWaveWatermarks

TARGET = "risingwave"


class PlannerRefusal(UnsupportedFeature):
    """Every refusal the rules found (an UnsupportedFeature, so callers catch it as one)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.what = diagnostics[0].message
        self.target = TARGET
        FlowError.__init__(self, diagnostics)


@dataclass(frozen=True)
class Finding:
    what: str  # "... is not supported on target 'risingwave'" (refusals) or the whole warning
    span: Span | None
    hint: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    code: Code
    severity: Severity
    rule: str
    source: str
    check: Callable[[Context], Iterator[Finding]]


class Context:
    def __init__(self, program: ir.Program):
        self.program = program
        self.watermarks = RisingWaveWatermarks(program)

    def views(self) -> Iterator[ir.View]:
        yield from self.program.views

    def nodes(self, kind: type) -> Iterator[tuple[ir.View, ir.Rel]]:
        for v in self.program.views:
            for n in ir.walk(v.plan):
                if isinstance(n, kind):
                    yield v, n

    def wm(self, view: ir.View, rel: ir.Rel) -> frozenset[str]:
        """rel's watermark columns planned inside `view` (EOWC or not, as the view is)."""
        return self.watermarks.planned(view, rel)


# ---------------------------------------------------------------- checks

_RW_NEXMARK_TYPES = {"int64": T.BIGINT, "string": T.STRING, "timestamp[us]": T.TIMESTAMP}


def _nexmark_schema(ctx: Context) -> Iterator[Finding]:
    for s in ctx.program.sources:
        if s.connector.kind != "nexmark":
            continue
        table = str(resolve_env(s.connector.get("table", ""))).lower()
        full = NEXMARK_COLUMNS.get(table)
        if full is None:
            continue
        want = [(f.name, _RW_NEXMARK_TYPES[str(f.type)]) for f in full]
        have = [(f.name, f.type) for f in s.schema]
        if have != want:
            cols = ", ".join(f"{n} {t}" for n, t in want)
            yield Finding(f"nexmark source '{s.name}' declaring {len(have)} of its table's {len(want)} columns"
                          if len(have) != len(want) else
                          f"nexmark source '{s.name}' with its columns in another order or of other types",
                          s.span, f"RisingWave's nexmark connector needs every column of '{table}', in order: "
                          f"`source {s.name} ({cols})`; select the ones a view needs")


def _eowc_group_watermark(ctx: Context) -> Iterator[Finding]:
    for v in ctx.views():
        if not is_eowc(ctx.program, v):
            continue
        for n in ir.walk(v.plan):
            if not (isinstance(n, ir.Aggregate) and n.window is not None and n.window.kind != "session"):
                continue
            inner = ctx.wm(v, n.input)
            if n.window.time_col in inner or set(n.keys) & inner:
                continue
            yield Finding(
                f"emit final of a {n.window.kind} window over '{n.window.time_col}', which carries no watermark "
                f"on RisingWave (view '{v.name}')", n.window.span or n.span, _no_watermark_hint(ctx, v, n))


def _no_watermark_hint(ctx: Context, view: ir.View, n: ir.Aggregate) -> str:
    col = n.window.time_col  # type: ignore[union-attr]
    if col == "window_end":
        return ("after an EMIT ON WINDOW CLOSE aggregate only window_start carries RisingWave's watermark "
                "(stream_hash_agg.rs): window over window_start instead (a tumble's window_end is "
                "window_start + size), or make the upstream view `emit changes`")
    return ("RisingWave closes a window when the watermark passes its end, and this column has none "
            "(a source without `event_time`, a global aggregate, a cast or a join drops it; flowc's own "
            "runtimes close such windows at end of input, which a stream never reaches): declare "
            "`event_time` on the source, or use `emit changes`")


def _eowc_output_watermark(ctx: Context) -> Iterator[Finding]:
    for v in ctx.views():
        if not is_eowc(ctx.program, v) or ctx.watermarks.view(v):
            continue
        if any(isinstance(n, ir.Aggregate) and n.window is not None and n.window.kind == "session"
               for n in ir.walk(v.plan)):
            continue  # sessions are planned as a dedup of over-window rows, which needs none
        if not {"window_start", "window_end"} & set(ir.schema_names(v.schema)):
            yield Finding(f"emit final of view '{v.name}' without window_start or window_end in its output", v.span,
                          "RisingWave's EMIT ON WINDOW CLOSE needs a watermark column in the output: keep "
                          "window_start (or a rename of it)")
        elif not _has_windowed_watermark(ctx, v):
            continue  # reported by eowc-group-watermark
        else:
            yield Finding(f"emit final of view '{v.name}', whose output keeps no watermark column on RisingWave",
                          v.span, "keep window_start in the output (after an EMIT ON WINDOW CLOSE aggregate "
                          "RisingWave's watermark is on window_start only; a cast drops it)")


def _has_windowed_watermark(ctx: Context, v: ir.View) -> bool:
    for n in ir.walk(v.plan):
        if isinstance(n, ir.Aggregate) and n.window is not None and n.window.time_col not in ctx.wm(v, n.input):
            return False
    return True


def _session_emit(ctx: Context) -> Iterator[Finding]:
    for v, n in ctx.nodes(ir.Aggregate):
        if n.window is None or n.window.kind != "session":
            continue
        span = n.window.span or n.span
        if v.emit != "final":
            yield Finding("a session window in a view emitted as changes", span,
                          "RisingWave computes SESSION WITH GAP frames only under EMIT ON WINDOW CLOSE: make the "
                          "view `emit final`")
        tf = ir.schema_lookup(n.input.schema, n.window.time_col)
        if tf is not None and tf.type == T.DATE:
            yield Finding("a session window on a date column", span,
                          "RisingWave orders SESSION frames by timestamps or numbers, not dates: "
                          f"`derive {n.window.time_col} = cast({n.window.time_col} as timestamp)` before the window")
        elif n.window.time_col not in ctx.wm(v, n.input):
            yield Finding(f"a session window over '{n.window.time_col}', which carries no watermark on RisingWave",
                          span, "an EMIT ON WINDOW CLOSE over-window orders by a watermark column: window over "
                          "the source's `event_time`")
        for a in n.aggs:
            if a.fn == "count_distinct":
                yield Finding(f"count_distinct in a session window ('{a.name}')", a.span or span,
                              "RisingWave computes a session's aggregates as window functions, which take no "
                              "DISTINCT: count distinct values in a later view, or use a tumble or hop window")
        if {"window_start", "window_end"} & set(ir.schema_names(n.input.schema)):
            yield Finding("a session window over rows that already have window_start/window_end", span,
                          "drop or rename those columns before the window")


def _join_shape(ctx: Context) -> Iterator[Finding]:
    for v, j in ctx.nodes(ir.Join):
        kind = join_kind_in(ctx.program, j)
        if kind == "lookup":
            continue
        if kind == "interval" and j.kind == "left" and v.emit == "final":
            yield Finding("a left interval join emitted final", j.span,
                          "RisingWave emits an unmatched left row at once and retracts it when a match arrives, "
                          "so the output is not append-only: use `emit changes`, or an inner join")
        if kind == "window":
            lw, rw = _side_window(ctx, j.input), _side_window(ctx, j.right)
            same = lw is not None and rw is not None and (lw.kind, lw.size, lw.slide, lw.offset) == (
                rw.kind, rw.size, rw.slide, rw.offset)
            if not same or lw.kind == "session":  # type: ignore[union-attr]
                yield Finding("a window join of different windows" if not same else
                              "a window join of session windows", j.span,
                              "RisingWave joins two relations windowed by the same TUMBLE or HOP (same size, "
                              "slide and offset) on their window_start")
        if kind != "regular":
            continue
        if any(isinstance(n, ir.Scan) and n.kind == "table" for n in ir.walk(j.right)):
            yield Finding("a join with a pipeline over a table", j.span,
                          "a join with a table is a lookup join, and RisingWave looks up the table itself (FOR "
                          "SYSTEM_TIME AS OF PROCTIME()): join the table directly and filter or select after it")
            continue
        has_eq, time_bound = _crossing(j)
        if time_bound:
            lacking = [side for side, rel in (("left", j.input), ("right", j.right)) if not ctx.wm(v, rel)]
            if lacking:
                yield Finding(f"an interval join whose {' and '.join(lacking)} side has no watermark", j.span,
                              "RisingWave drops interval-join state by the watermarks of both time columns: "
                              "declare `event_time COL watermark D` on both sources and bound one event time by "
                              "the other")
                continue
        if not has_eq:
            yield Finding("a join without an equality between the two sides", j.span,
                          "RisingWave streams only equi-joins (a nested-loop join is not supported): add "
                          "`and k = a.k`")


def _crossing(j: ir.Join) -> tuple[bool, bool]:
    """(an equality between the sides, a time comparison between them)."""
    left_names = set(ir.schema_names(j.input.schema))
    right_names = set(j.right_names)

    def sides(e: ir.Expr) -> tuple[bool, bool]:
        used = ir.columns_used(e)
        return bool(used & left_names), bool(used & right_names)

    has_eq = time_bound = False
    for c in conjuncts(j.condition):
        if not isinstance(c, ir.Call) or len(c.args) != 2:
            continue
        a, b = sides(c.args[0]), sides(c.args[1])
        crosses = (a[0] and b[1] and not a[1] and not b[0]) or (a[1] and b[0] and not a[0] and not b[1])
        has_eq = has_eq or (c.fn == "eq" and crosses)
        time_bound = time_bound or (c.fn in ("lt", "le", "gt", "ge") and crosses
                                    and all(x.type in TIME_TYPES for x in c.args))
    return has_eq, time_bound


TIME_TYPES = (T.TIMESTAMP, T.TIMESTAMPTZ, T.DATE)


def _side_window(ctx: Context, r: ir.Rel) -> ir.WindowSpec | None:
    """The window whose window_start a join side carries."""
    if isinstance(r, ir.WindowAssign | ir.Aggregate):
        return r.window
    if isinstance(r, ir.Scan) and r.kind == "view":
        v = ctx.program.view(r.name)
        return _side_window(ctx, v.plan) if v is not None else None
    if isinstance(r, ir.Filter | ir.Project | ir.Distinct | ir.TopN):
        return _side_window(ctx, r.input)
    return None


def _temporal_join(ctx: Context) -> Iterator[Finding]:
    for _, j in ctx.nodes(ir.Join):
        if join_kind_in(ctx.program, j) != "lookup":
            continue
        assert isinstance(j.right, ir.Scan)
        t = ctx.program.table(j.right.name)
        pk = t.primary_key if t is not None else ()
        missing = uncovered_keys(j, pk)
        if not pk or missing:
            what = f"its primary key ({', '.join(pk)})" if pk else "a primary key"
            yield Finding(f"a lookup join on table '{j.right.name}' whose condition does not cover {what}", j.span,
                          "RisingWave's FOR SYSTEM_TIME AS OF PROCTIME() looks rows up by the table's primary key: "
                          + (f"add `and COLUMN = {j.alias}.{missing[0]}` to the condition" if missing
                             else "declare `primary key (...)` on the table"))
        if j.kind not in ("inner", "left"):
            yield Finding(f"a {j.kind} lookup join", j.span, "use join or left join")


def _join_state(ctx: Context) -> Iterator[Finding]:
    for v, j in ctx.nodes(ir.Join):
        kind = join_kind_in(ctx.program, j)
        if kind == "regular":
            yield Finding(f"view '{v.name}': the regular join of {_label(j.input)} and {_label(j.right)} keeps every "
                          "row of both sides in RisingWave's state, which grows without bound", j.span)
        if kind not in ("interval", "window"):
            continue
        left, right = ctx.wm(v, j.input), ctx.wm(v, j.right)
        bounded = _cleaning_bound(j, left, right)
        if not bounded:
            yield Finding(
                f"view '{v.name}': RisingWave plans the {kind} join as a hash join whose state is never cleaned "
                "(no bound between columns that both carry its watermarks): both sides' rows are kept for good",
                j.span, "bound the join by columns that keep RisingWave's watermark: after an EMIT ON WINDOW "
                "CLOSE aggregate that is window_start, not window_end")


def _label(r: ir.Rel) -> str:
    names = sorted(ir.scan_names(r))
    return "'" + "', '".join(names) + "'" if names else "a pipeline"


def _cleaning_bound(j: ir.Join, left: frozenset[str], right: frozenset[str]) -> bool:
    """stream_hash_join.rs: state is cleaned by an equi-key or an inequality between columns (or a
    column and a constant shift of one) watermarked on both sides."""
    right_in = dict(zip(j.right_names, ir.schema_names(j.right.schema), strict=True))

    def col(e: ir.Expr) -> str | None:
        while isinstance(e, ir.Call) and e.fn in ("add", "sub") and len(e.args) == 2 \
                and isinstance(e.args[1], ir.Literal) and e.args[1].type == T.INTERVAL:
            e = e.args[0]
        return e.name if isinstance(e, ir.ColumnRef) else None

    for c in conjuncts(j.condition):
        if not (isinstance(c, ir.Call) and len(c.args) == 2 and c.fn in ("eq", "ge", "gt", "le", "lt")):
            continue
        a, b = col(c.args[0]), col(c.args[1])
        for x, y in ((a, b), (b, a)):
            if x in left and y in right_in and right_in[y] in right:
                return True
    return False


def _file_sinks(ctx: Context) -> Iterator[Finding]:
    for s in ctx.program.sinks:
        v = ctx.program.view(s.view)
        if v is None:
            continue
        append, keys = view_changelog(ctx.program, v)
        if s.connector.kind in ("jsonl", "parquet") and not append:
            yield Finding(f"a changelog view into connector '{s.connector.kind}'", s.connector.span or s.span,
                          "RisingWave file sinks are append-only and cannot write retractions (no _op column); "
                          "make the view 'emit final', or sink the changelog into kafka (FORMAT DEBEZIUM)")
        if s.connector.kind == "kafka" and not append and not keys:
            yield Finding("a changelog without a key into connector 'kafka'", s.connector.span or s.span,
                          "RisingWave's DEBEZIUM kafka sink needs a primary key; aggregate by a key or emit final")


LOCAL_FS = ("csv", "jsonl", "parquet")


def _local_fs(ctx: Context) -> Iterator[Finding]:
    for r in (*ctx.program.sources, *ctx.program.tables):
        if r.connector.kind in LOCAL_FS:
            yield Finding(f"'{r.name}' reads a local file (connector 'posix_fs'), which RisingWave release builds "
                          "refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the "
                          "[frontend] section of risingwave.toml", r.connector.span or r.span,
                          "for a production cluster read the file from s3 or gcs")
    for s in ctx.program.sinks:
        if s.connector.kind in ("jsonl", "parquet"):
            yield Finding(f"the sink of '{s.view}' writes local files (connector 'fs'), which RisingWave release "
                          "builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the "
                          "[frontend] section of risingwave.toml", s.connector.span or s.span)


def _finite_windows(ctx: Context) -> Iterator[Finding]:
    for v in ctx.views():
        if not is_eowc(ctx.program, v):
            continue
        files = sorted({n.name for n in _scanned_sources(ctx.program, v.plan)
                        if (src := ctx.program.source(n.name)) is not None and src.connector.kind in LOCAL_FS})
        if files:
            yield Finding(f"view '{v.name}': RisingWave's watermark moves only with later rows, so the last windows "
                          f"of the file source {', '.join(repr(f) for f in files)} never close there and are missing "
                          "from the output (flowc closes them at end of input)", v.span,
                          "read a stream (kafka), or use `emit changes` to see every window as it fills")


def _scanned_sources(program: ir.Program, rel: ir.Rel) -> Iterator[ir.Scan]:
    for n in ir.walk(rel):
        if isinstance(n, ir.Scan) and n.kind == "source":
            yield n
        elif isinstance(n, ir.Scan) and n.kind == "view" and (v := program.view(n.name)) is not None:
            yield from _scanned_sources(program, v.plan)


E, W = Severity.ERROR, Severity.WARNING
PT = "src/frontend/planner_test/tests/testdata/input/"
PN = "src/frontend/src/optimizer/plan_node/"

RULES: tuple[Rule, ...] = (
    Rule("nexmark-schema", Code.RW_NEXMARK_SCHEMA, E,
         "a nexmark source declares every column of its table, in order, with RisingWave's types",
         "src/frontend/src/handler/create_source/external_schema/nexmark.rs (check_nexmark_schema: \"The schema "
         "of the nexmark source must specify all columns in order\"); e2e_test/ddl/"
         "create_nexmark_source_issue_8812.slt", _nexmark_schema),
    Rule("eowc-group-watermark", Code.RW_EOWC_WATERMARK, E,
         "an EMIT ON WINDOW CLOSE aggregate groups by a column that carries a watermark (a tumble or hop "
         "over one)",
         PN + "generic/agg.rs (eowc_window_column: \"Emit-On-Window-Close mode requires a watermark column in "
         "GROUP BY\"); " + PT + "emit_on_window_close.yaml", _eowc_group_watermark),
    Rule("eowc-output-watermark", Code.RW_EOWC_WATERMARK, E,
         "an EMIT ON WINDOW CLOSE view's output keeps a watermark column",
         PN + "convert.rs (stream_enforce_eowc_requirement: \"The query cannot be executed in Emit-On-Window-Close "
         "mode\"); " + PT + "nexmark_watermark.yaml (nexmark_q2, nexmark_q3)", _eowc_output_watermark),
    Rule("session-frames", Code.RW_SESSION, E,
         "SESSION WITH GAP frames run only under EMIT ON WINDOW CLOSE, ordered by a watermarked timestamp, "
         "and window functions take no DISTINCT",
         PN + "logical_over_window.rs (\"Session frame is not yet supported in general streaming mode\"; \"The "
         "ORDER BY column ... must be a watermark column\"); src/frontend/src/binder/expr/function/mod.rs "
         "(\"DISTINCT is not allowed in window function call\"); " + PT + "over_window_function.yaml "
         "(Session frames)", _session_emit),
    Rule("streaming-joins", Code.RW_JOIN, E,
         "a streaming join has an equality between its sides (no nested-loop join), time bounds between "
         "watermarked sides, window joins of the same window; a left interval join is a changelog",
         PN + "logical_join.rs (to_stream: \"streaming nested-loop join\"); " + PN + "stream_hash_join.rs; "
         + PT + "window_join.yaml, watermark.yaml (interval join)", _join_shape),
    Rule("temporal-join", Code.RW_TEMPORAL_JOIN, E,
         "FOR SYSTEM_TIME AS OF PROCTIME() joins a table (inner or left) on its whole primary key",
         PN + "logical_join.rs (to_stream_temporal_join: \"Temporal join requires the equivalence join condition "
         "includes the key columns ...\"); " + PT + "temporal_join.yaml", _temporal_join),
    Rule("sink-changelog", Code.CONNECTOR_TARGET, E,
         "a file sink is append-only; a changelog into kafka (FORMAT DEBEZIUM) needs a primary key",
         "src/connector/src/sink/file_sink/opendal_sink.rs (FileSink::validate: \"File sink only supports "
         "append-only mode\"); src/connector/src/sink/kafka.rs (validate: \"primary key not defined\"); "
         "e2e_test/sink/kafka/create_sink.slt", _file_sinks),
    Rule("join-state-cleaning", Code.UNBOUNDED_STATE, W,
         "a regular join keeps both sides; an interval or window join drops state only by a bound between "
         "columns both sides watermark",
         PN + "stream_hash_join.rs (derive_watermark_for_hash_join); " + PT + "nexmark_watermark.yaml (nexmark_q7, "
         "nexmark_q8)", _join_state),
    Rule("local-fs-connector", Code.RW_LOCAL_FS, W,
         "posix_fs sources and fs sinks are refused by release builds unless "
         "frontend.unsafe_enable_local_fs_connector = true",
         "src/frontend/src/handler/util.rs (ensure_local_fs_connector_allowed); src/common/src/config/frontend.rs",
         _local_fs),
    Rule("eowc-finite-input", Code.RW_WINDOWS_NEVER_CLOSE, W,
         "the watermark moves only with later rows: a finite file's last windows never close",
         "e2e_test/streaming/eowc/eowc_group_agg.slt; src/stream/src/executor/watermark_filter.rs",
         _finite_windows),
)


# What RisingWave's server says when it refuses a statement for a reason of its configuration, not
# of the statement: (text in its message, what to do, where it comes from). `flowc deploy` adds the
# hint to the diagnostic of the step that failed.
SERVER_REFUSALS: tuple[tuple[str, str, str], ...] = (
    ("local filesystem connector",
     "this RisingWave refuses posix_fs sources and fs sinks (release builds do by default): set "
     "`frontend.unsafe_enable_local_fs_connector = true` in the [frontend] section of risingwave.toml "
     "and restart the frontend, or read and write s3/gcs instead",
     "src/frontend/src/handler/util.rs (ensure_local_fs_connector_allowed)"),
    ("sink_decouple",
     "RisingWave writes files only from a decoupled sink: run `SET sink_decouple = true` (or set it in "
     "the database's defaults) and deploy again",
     "src/connector/src/sink/file_sink/opendal_sink.rs (FileSink::validate)"),
)


def server_hint(message: str) -> str | None:
    """What to do about a refusal RisingWave's server gave, when SERVER_REFUSALS knows it."""
    for needle, hint, _ in SERVER_REFUSALS:
        if needle in message:
            return hint
    return None


def check(program: ir.Program) -> list[Diagnostic]:
    """Walk RULES: raise FlowError with every refusal found; return the warnings."""
    ctx = Context(program)
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    for rule in RULES:
        for f in rule.check(ctx):
            notes = (f"RisingWave rule '{rule.name}': {rule.rule} ({rule.source.split(' (')[0]})",)
            if rule.severity is Severity.ERROR:
                errors.append(Diagnostic(rule.code, f"{f.what} is not supported on target '{TARGET}'", f.span,
                                         f.hint, notes=notes))
            else:
                warnings.append(Diagnostic(rule.code, f.what, f.span, f.hint, Severity.WARNING, notes=notes))
    if errors:
        raise PlannerRefusal(errors)
    return warnings


__all__ = ["RULES", "SERVER_REFUSALS", "PlannerRefusal", "Rule", "check", "server_hint"]
