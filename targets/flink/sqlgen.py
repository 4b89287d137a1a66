"""IR program -> one Flink SQL script: a table per source and table, a temporary view per view, a
table per sink, and one `EXECUTE STATEMENT SET` holding every INSERT (one job for the program).

How SEMANTICS.md is kept (docs/flink.md has the measurements):

- **Lateness per row.** Flink drops a row only when its window has already fired, and its
  watermark is periodic. flowc's rule (row i is late iff ts_i < max(ts_1..ts_{i-1}) - D) is
  computed by Flink itself: the job emits a watermark after every row
  (`pipeline.auto-watermark-interval: 0`, client.py), declared one millisecond below flowc's
  (`WATERMARK FOR ts AS ts - D - 1 ms`), and the source's view keeps the rows with
  `ts > CURRENT_WATERMARK(ts)` (or the first rows, before any watermark). The filter runs in the
  source's own task, right after its watermark assigner, over one file read in order, so each row
  is compared with exactly the rows before it. The 1 ms also makes Flink's window firing
  (watermark >= end - 1 ms) fire at flowc's (watermark >= end), so no kept row is ever dropped.
- **Null event times.** Flink's rowtime cannot be null; the watermark is declared on
  `__rowtime = COALESCE(ts, year 1)`, and a row with a null event time is late (W0911).
- **Sessions** split where rows are a gap apart (Flink merges them): Flink gets gap - 1 ms and the
  window ends are moved back by 1 ms (relations.py).
- **Types**: event times are TIMESTAMP(3) (W0910); everything else keeps the IR's type.
- **Late rows** go to `on_late into` by one more INSERT, reading the source table with the
  complementary condition.

`compile_flink(program)` is the script `flowc compile --target flink` prints and `flowc deploy`
submits. `compile_flink(program, staging)` is the same program with every source reading a staged
JSON file and every output written to a staging folder, which is how `flowc run --target flink`
runs it (runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, Diagnostic, Severity, UnsupportedFeature
from flowc.targets.sql.expressions import col, is_null, lit_int, paren
from sqlglot import exp

from .connectors import sink_options, source_options
from .dialect import FlinkOption, StatementSet, to_sql
from .expressions import MILLI, TARGET, interval, rowtime_type, sql_type
from .relations import PROCTIME, Rel, RelCompiler, Time, table

ROWTIME = "__rowtime"
VERSION_TIME = "__version_time"
# the rowtime of a row without an event time: before any real one, so it never moves the watermark
NO_TIME = "0001-01-01 00:00:00"


def raw_name(name: str) -> str:
    return f"{name}__raw"


def versions_name(table_name: str) -> str:
    return f"{table_name}__versions"


@dataclass(frozen=True)
class Staging:
    """Where `flowc run` wrote the inputs (name -> JSON lines file) and wants the outputs: one
    folder per output under `folder`. `views`: the views to output."""

    inputs: dict[str, str]
    folder: str
    views: tuple[str, ...]


@dataclass(frozen=True)
class Output:
    """A staging sink: the rows of view (kind "view") or the late rows of a source (kind "late"),
    written as JSON lines (`changelog`: Debezium JSON, each row with its change) into `folder`."""

    table: str
    kind: str
    of: str
    folder: str
    changelog: bool
    schema: ir.Schema


@dataclass
class FlinkPlan:
    statements: list[exp.Expression] = field(default_factory=list)  # CREATE TABLE / TEMPORARY VIEW
    inserts: list[exp.Insert] = field(default_factory=list)  # one job: EXECUTE STATEMENT SET
    outputs: list[Output] = field(default_factory=list)  # staged runs only
    warnings: list[Diagnostic] = field(default_factory=list)
    views: dict[str, Rel] = field(default_factory=dict)
    sink_jobs: dict[str, list[exp.Insert]] = field(default_factory=dict)  # sink table -> its INSERT

    def statement_set(self) -> StatementSet:
        return StatementSet(expressions=self.inserts)

    def script(self, pretty: bool = True) -> str:
        parts = [to_sql(s, pretty) for s in self.statements]
        if self.inserts:
            parts.append(to_sql(self.statement_set(), pretty))
        return ";\n\n".join(parts) + ";\n"

    def ddl_sql(self) -> list[str]:
        return [to_sql(s, pretty=False) for s in self.statements]

    def insert_sql(self) -> list[str]:
        return [to_sql(i, pretty=False) for i in self.inserts]


def _warn(plan: FlinkPlan, code: Code, message: str, span) -> None:
    d = Diagnostic(code, message, span, None, Severity.WARNING)
    if d not in plan.warnings:
        plan.warnings.append(d)


def _option_props(options: list[tuple[str, str]]) -> exp.Properties:
    return exp.Properties(expressions=[FlinkOption(this=exp.Literal.string(k), value=exp.Literal.string(v))
                                       for k, v in options])


def _column_defs(schema: ir.Schema, span, event_time: str | None = None) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    for f in schema:
        if f.name == event_time:
            kind = rowtime_type() if f.type == T.TIMESTAMP else exp.DataType.build("TIMESTAMPLTZ(3)")
        else:
            kind = sql_type(f.type, span)
        out.append(exp.ColumnDef(this=exp.to_identifier(f.name), kind=kind))
    return out


def _computed(name: str, e: exp.Expression) -> exp.ColumnDef:
    return exp.ColumnDef(this=exp.to_identifier(name),
                         constraints=[exp.ColumnConstraint(kind=exp.ComputedColumnConstraint(this=e))])


def _create_table(name: str, columns: list[exp.Expression], options: list[tuple[str, str]]) -> exp.Create:
    return exp.Create(kind="TABLE", this=exp.Schema(this=table(name), expressions=columns),
                      properties=_option_props(options))


def _create_view(name: str, query: exp.Expression) -> exp.Create:
    return exp.Create(kind="VIEW", this=table(name), expression=query,
                      properties=exp.Properties(expressions=[exp.TemporaryProperty()]))


def _staged_options(path: str) -> list[tuple[str, str]]:
    return [("connector", "filesystem"), ("path", path), ("format", "json"),
            ("json.fail-on-missing-field", "false")]


def on_time_condition(s: ir.Source) -> exp.Expression:
    """A row of source s is on time (SEMANTICS §1, as docs/flink.md derives it): it has an event time,
    and no watermark exists yet or its rowtime is above the watermark, which is declared 1 ms below
    flowc's (so `>` there is flowc's `>=`)."""
    wm = exp.Anonymous(this="CURRENT_WATERMARK", expressions=[col(ROWTIME)])
    return exp.And(this=exp.Not(this=is_null(col(s.event_time))),  # type: ignore[arg-type]
                   expression=exp.Paren(this=exp.Or(this=is_null(wm), expression=exp.GT(
                       this=col(ROWTIME), expression=wm.copy()))))


def _source(plan: FlinkPlan, program: ir.Program, s: ir.Source, staging: Staging | None) -> Rel:
    if staging is not None:
        options = _staged_options(staging.inputs[s.name])
    else:
        got = source_options(program, s.connector, s.on_error)
        options = got.options
        for note in got.notes:
            code = Code.FLINK_CONNECTOR_JAR if "Maven artifact" in note else (
                Code.FLINK_BAD_RECORDS if "bad record" in note else Code.FLINK_FILE_FORMAT)
            _warn(plan, code, f"source '{s.name}': {note}", s.connector.span or s.span)
        if s.on_error == "skip" and s.connector.kind in ("csv", "jsonl"):
            _warn(plan, Code.FLINK_BAD_RECORDS, f"source '{s.name}': Flink skips bad records without counting them "
                                                "(the run summary's 'skipped' is flowc's own)", s.span)
    cols = _column_defs(s.schema, s.span, s.event_time)
    cols.append(_computed(PROCTIME, exp.Anonymous(this="PROCTIME", expressions=[])))
    times: dict[str, Time] = {}
    attrs: frozenset[str] = frozenset()
    if s.event_time is not None:
        tf = ir.schema_lookup(s.schema, s.event_time)
        assert tf is not None
        if (s.watermark or 0) % MILLI:
            raise UnsupportedFeature(f"the watermark delay {s.watermark}us of source '{s.name}'", TARGET, s.span,
                                     hint="Flink's watermarks have millisecond precision: use whole milliseconds")
        sentinel: exp.Expression = exp.Cast(this=exp.Cast(this=exp.Literal.string(NO_TIME),
                                                          to=exp.DataType.build("TIMESTAMP")), to=rowtime_type())
        if tf.type == T.TIMESTAMPTZ:
            sentinel = exp.Anonymous(this="TO_TIMESTAMP_LTZ", expressions=[lit_int(-62135596800000), lit_int(3)])
        cols.append(_computed(ROWTIME, exp.Coalesce(this=col(s.event_time), expressions=[sentinel])))
        delay = exp.Sub(this=col(ROWTIME), expression=interval((s.watermark or 0) + MILLI, s.span))
        cols.append(exp.WatermarkColumnConstraint(this=col(ROWTIME), expression=delay))
        times = {s.event_time: Time(s.event_time)}
        attrs = frozenset({s.event_time})
        _warn(plan, Code.FLINK_MILLISECONDS,
              f"source '{s.name}': Flink's event times have millisecond precision (rowtime is TIMESTAMP(3)): "
              f"'{s.event_time}' is truncated to the millisecond, also where the views output it", s.span)
        _warn(plan, Code.FLINK_NULL_EVENT_TIME,
              f"source '{s.name}': a row whose '{s.event_time}' is null is late on Flink (a rowtime cannot be "
              "null); flowc keeps such rows that arrive before the first event time", s.span)
        _warn(plan, Code.FLINK_BEFORE_1970,
              f"source '{s.name}': Flink SQL has no watermark before 1970-01-01 (its watermark assigner starts "
              "at 0): a row whose event time is before the epoch is never late on Flink, and an interval join "
              "loses the matches of rows bounded before it", s.span)
    plan.statements.append(_create_table(raw_name(s.name), cols, options))
    items: list[exp.Expression] = []
    for f in s.schema:
        items.append(exp.Alias(this=col(ROWTIME), alias=exp.to_identifier(f.name)) if f.name == s.event_time
                     else col(f.name))
    q = exp.select(*items, col(PROCTIME)).from_(table(raw_name(s.name)))
    if s.event_time is not None:
        q = q.where(on_time_condition(s))
    plan.statements.append(_create_view(s.name, q))
    return Rel(exp.select(*(col(f.name) for f in s.schema), col(PROCTIME)).from_(table(s.name)),
               ir.schema_names(s.schema), (PROCTIME,), times, attrs, True, True)


def _table(plan: FlinkPlan, program: ir.Program, t: ir.Table, staging: Staging | None) -> Rel:
    """A table as two Flink tables over the same file: `<t>__raw` read in file order, whose last
    version per key is the view `<t>` (scans, regular joins); and `<t>__versions`, a versioned table
    (primary key, and a rowtime that is the same instant before every event for all its rows) for
    event-time temporal joins, in which every stream row meets the key's last version."""
    if staging is not None:
        options = _staged_options(staging.inputs[t.name])
    else:
        got = source_options(program, t.connector)
        options = got.options
        for note in got.notes:
            code = Code.FLINK_CONNECTOR_JAR if "Maven artifact" in note else Code.FLINK_FILE_FORMAT
            _warn(plan, code, f"table '{t.name}': {note}", t.connector.span or t.span)
    cols = _column_defs(t.schema, t.span)
    raw_cols = cols + [_computed(PROCTIME, exp.Anonymous(this="PROCTIME", expressions=[]))]
    plan.statements.append(_create_table(raw_name(t.name), raw_cols, options))
    names = [f.name for f in t.schema]
    if t.primary_key:
        newest = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in t.primary_key],
                            order=exp.Order(expressions=[exp.Ordered(this=col(PROCTIME), desc=True)]))
        ranked = exp.select(*(col(n) for n in names), exp.Alias(this=newest, alias=exp.to_identifier("__rn"))) \
            .from_(table(raw_name(t.name)))
        q = exp.select(*(col(n) for n in names)).from_(exp.Subquery(
            this=ranked, alias=exp.TableAlias(this=exp.to_identifier("__versions")))) \
            .where(exp.EQ(this=col("__rn"), expression=lit_int(1)))
        version_time = exp.Cast(this=exp.Cast(this=exp.Literal.string(NO_TIME), to=exp.DataType.build("TIMESTAMP")),
                                to=rowtime_type())
        vcols = [c.copy() for c in cols] + [
            _computed(VERSION_TIME, version_time),
            exp.WatermarkColumnConstraint(this=col(VERSION_TIME), expression=col(VERSION_TIME)),
            exp.PrimaryKey(expressions=[exp.to_identifier(k) for k in t.primary_key],
                           options=[exp.var("NOT ENFORCED")])]
        plan.statements.append(_create_view(t.name, q))
        plan.statements.append(_create_table(versions_name(t.name), vcols, options))
        return Rel(exp.select(*(col(n) for n in names)).from_(table(t.name)), tuple(names), append=False)
    plan.statements.append(_create_view(t.name, exp.select(*(col(n) for n in names)).from_(table(raw_name(t.name)))))
    return Rel(exp.select(*(col(n) for n in names)).from_(table(t.name)), tuple(names), append=True)


def _view(plan: FlinkPlan, program: ir.Program, v: ir.View, scans: dict[str, Rel]) -> Rel:
    rc = RelCompiler(program, v.name, plan.views, scans)
    rel = rc.compile(v.plan)
    query = rel.query.copy()
    if rc.ctes:
        query.set("with_", exp.With(expressions=rc.ctes))
    plan.statements.append(_create_view(v.name, query))
    for code, message, span in rc.notes:
        _warn(plan, code, message, span or v.span)
    if v.emit == "changes" and rel.append and any(isinstance(n, ir.Aggregate) and n.window is not None
                                                 for n in ir.walk(v.plan)):
        _warn(plan, Code.FLINK_FINAL_ONLY,
              f"view '{v.name}' (emit changes): Flink emits each window once, when it closes, with no earlier "
              "updates; the consolidated result is the same", v.span)
    return rel


def changelog_of(v: ir.View, rel: Rel) -> bool:
    """A view's output carries changes: emitted as changes, or updated on Flink (a regular
    aggregate, a top, a left join...), which a final view's rows then consolidate."""
    return v.emit == "changes" or not rel.append


def _select_out(schema: ir.Schema, source: str) -> exp.Select:
    """The view's IR columns cast to their IR types: Flink's time attributes become plain timestamps
    (a sink takes at most one) and TIMESTAMP(3) event times the IR's TIMESTAMP(6)."""
    return exp.select(*(exp.Alias(this=exp.Cast(this=col(f.name), to=sql_type(f.type)), alias=exp.to_identifier(f.name))
                        if f.type.is_time_point else col(f.name) for f in schema)).from_(table(source))


def _insert(into: str, query: exp.Expression) -> exp.Insert:
    return exp.Insert(this=table(into), expression=query)


def _late_query(s: ir.Source) -> exp.Select:
    late = exp.Not(this=paren(on_time_condition(s)))
    return exp.select(*(col(f.name) for f in s.schema)).from_(table(raw_name(s.name))).where(late)


def compile_flink(program: ir.Program, staging: Staging | None = None) -> FlinkPlan:
    """The Flink statements for the program (see the module docstring); raises UnsupportedFeature
    for what Flink cannot run with flowc's meaning."""
    plan = FlinkPlan()
    scans: dict[str, Rel] = {}
    for s in program.sources:
        scans[s.name] = _source(plan, program, s, staging)
    for t in program.tables:
        scans[t.name] = _table(plan, program, t, staging)
    for v in program.views:
        plan.views[v.name] = _view(plan, program, v, scans)
    if staging is not None:
        _staged_outputs(plan, program, staging)
    else:
        _sinks(plan, program)
    return plan


def _sinks(plan: FlinkPlan, program: ir.Program) -> None:
    taken = {r.name for r in (*program.sources, *program.tables, *program.views)}
    for s in program.sources:
        if isinstance(s.on_late, ir.Connector):
            name = _fresh(f"{s.name}__late", taken)
            got = sink_options(program, s.on_late, False, s.name)
            _sink_notes(plan, got.notes, f"on_late of '{s.name}'", s.on_late.span or s.span)
            plan.statements.append(_create_table(name, _column_defs(s.schema, s.span), got.options))
            plan.inserts.append(_insert(name, _late_query(s)))
    for k in program.sinks:
        v = program.view(k.view)
        if v is None:
            raise UnsupportedFeature(f"a sink of '{k.view}' (not a view)", TARGET, k.span)
        rel = plan.views[v.name]
        changes = changelog_of(v, rel) and not (v.emit == "changes" and rel.append)
        name = _fresh(f"{v.name}__sink", taken)
        got = sink_options(program, k.connector, changes, v.name)
        _sink_notes(plan, got.notes, f"sink of '{v.name}'", k.connector.span or k.span)
        if v.emit == "changes" and rel.append:
            _warn(plan, Code.FLINK_FILE_SINK, f"sink of '{v.name}': Flink writes the rows without the _op column "
                                              "(on Flink this view only ever inserts)", k.span)
        plan.statements.append(_create_table(name, _column_defs(v.schema, v.span), got.options))
        ins = _insert(name, _select_out(v.schema, v.name))
        plan.inserts.append(ins)
        plan.sink_jobs[name] = [ins]


def _sink_notes(plan: FlinkPlan, notes: list[str], what: str, span) -> None:
    for note in notes:
        code = Code.FLINK_CONNECTOR_JAR if "Maven artifact" in note else (
            Code.FLINK_FILE_FORMAT if "header" in note else Code.FLINK_FILE_SINK)
        _warn(plan, code, f"{what}: {note}", span)


def _fresh(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _staged_outputs(plan: FlinkPlan, program: ir.Program, staging: Staging) -> None:
    import os

    for s in program.sources:
        if s.event_time is None:
            continue
        name = f"__late_{s.name}"
        folder = os.path.join(staging.folder, name)
        plan.statements.append(_create_table(name, _column_defs(s.schema, s.span), _out_options(folder, False)))
        plan.inserts.append(_insert(name, _late_query(s)))
        plan.outputs.append(Output(name, "late", s.name, folder, False, s.schema))
    for view_name in staging.views:
        v = program.view(view_name)
        assert v is not None
        rel = plan.views[v.name]
        changes = changelog_of(v, rel)
        name = f"__out_{v.name}"
        folder = os.path.join(staging.folder, name)
        plan.statements.append(_create_table(name, _column_defs(v.schema, v.span), _out_options(folder, changes)))
        plan.inserts.append(_insert(name, _select_out(v.schema, v.name)))
        plan.outputs.append(Output(name, "view", v.name, folder, changes, v.schema))


def _out_options(folder: str, changelog: bool) -> list[tuple[str, str]]:
    fmt = "debezium-json" if changelog else "json"
    return [("connector", "filesystem"), ("path", folder), ("format", fmt),
            (f"{fmt}.encode.decimal-as-plain-number", "true")]


def flink_sql(program: ir.Program) -> str:
    """`flowc compile --target flink`: the script."""
    return compile_flink(program).script()


__all__ = ["compile_flink", "flink_sql", "FlinkPlan", "Staging", "Output", "raw_name", "versions_name",
           "on_time_condition", "changelog_of", "ROWTIME"]
