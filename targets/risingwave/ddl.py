"""IR program -> ordered RisingWave DDL: sources, tables, materialized views, sinks.

Choices (docs/risingwave.md has the reasons):
- a flowc `source` (an append-only stream) becomes `CREATE SOURCE`: nothing is stored, a WATERMARK is
  allowed on an append-only (FORMAT PLAIN) source, and each MV keeps only the state it needs.
  `CREATE TABLE ... APPEND ONLY` would persist every row again for no gain;
- a flowc `table` (keyed, updatable) becomes `CREATE TABLE ... PRIMARY KEY`;
- a view becomes `CREATE MATERIALIZED VIEW`, with `EMIT ON WINDOW CLOSE` when it is `emit final`
  and aggregates over a window or joins two windowed relations; views reading views are MVs on MVs;
- a sink becomes `CREATE SINK <view>_sink FROM <view>`.
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, Severity, UnsupportedFeature
from sqlglot import exp

from . import expressions as X
from . import rules
from .changelog import is_eowc, view_changelog
from .connectors import TARGET, ConnectorSQL, sink_connector, source_connector
from .dialect import (
    AppendOnlyProperty,  # noqa: F401  (re-exported for users building DDL by hand)
    EmitOnWindowClose,
    FormatEncodeProperty,
    SinkFromProperty,
    to_sql,
)
from .joins import bound_by_window_start
from .relations import compile_query


def _properties(c: ConnectorSQL) -> list[exp.Expression]:
    props: list[exp.Expression] = [exp.Property(this=exp.var(k), value=exp.Literal.string(v))
                                   for k, v in c.options]
    if c.format is not None:
        fmt, enc, opts = c.format
        options = exp.Properties(expressions=[exp.Property(this=exp.var(k), value=exp.Literal.string(v))
                                              for k, v in opts]) if opts else None
        props.append(FormatEncodeProperty(this=exp.var(fmt), encode=exp.var(enc), options=options))
    return props


def _columns(schema: ir.Schema, span) -> list[exp.Expression]:
    return [exp.ColumnDef(this=X.ident(f.name), kind=X.sql_type(f.type, span)) for f in schema]


def _warn(warnings: list[Diagnostic], message: str, span, hint: str | None = None) -> None:
    warnings.append(Diagnostic(Code.TARGET_DIFFERENCE, message, span, hint, Severity.WARNING))


def _source(program: ir.Program, s: ir.Source, warnings: list[Diagnostic]) -> exp.Create:
    conn = source_connector(program, s.connector)
    cols = _columns(s.schema, s.span)
    if s.event_time is not None:
        delay = X.interval(s.watermark or 0)
        cols.append(exp.WatermarkColumnConstraint(
            this=X.col(s.event_time),
            expression=exp.Sub(this=X.col(s.event_time), expression=delay)))
        _warn(warnings, f"source '{s.name}': RisingWave advances the watermark once per chunk of rows, "
                        "so a row late by less than one chunk may be kept where flowc drops it", s.span)
    if isinstance(s.on_late, ir.Connector):
        _warn(warnings, f"source '{s.name}': RisingWave drops late rows silently; on_late into "
                        f"{s.on_late.kind}(...) receives nothing", s.on_late.span or s.span)
    if s.on_error != "skip":
        _warn(warnings, f"source '{s.name}': RisingWave skips records it cannot decode (and logs them) "
                        f"instead of on_error {s.on_error if isinstance(s.on_error, str) else 'into'}",
              s.span)
    for note in conn.notes:
        _warn(warnings, f"source '{s.name}': {note}", s.connector.span or s.span)
    return exp.Create(kind="SOURCE", this=exp.Schema(this=X.table(s.name), expressions=cols),
                      properties=exp.Properties(expressions=_properties(conn)))


def _table(program: ir.Program, t: ir.Table, warnings: list[Diagnostic]) -> exp.Create:
    conn = source_connector(program, t.connector)
    cols = _columns(t.schema, t.span)
    if t.primary_key:
        cols.append(exp.PrimaryKey(expressions=[X.ident(k) for k in t.primary_key],  # as the parser reads it
                                   include=exp.IndexParameters(with_storage=False)))
    for note in conn.notes:
        _warn(warnings, f"table '{t.name}': {note}", t.connector.span or t.span)
    return exp.Create(kind="TABLE", this=exp.Schema(this=X.table(t.name), expressions=cols),
                      properties=exp.Properties(expressions=_properties(conn)))


def _view(program: ir.Program, view: ir.View, warnings: list[Diagnostic]) -> exp.Create:
    notes: list[tuple[str, object]] = []
    query: exp.Expression = compile_query(program, view, notes)
    for message, span in notes:
        _warn(warnings, message, span or view.span)
    if is_eowc(program, view):
        query = EmitOnWindowClose(this=query)
    return exp.Create(kind="VIEW", this=X.table(view.name), expression=query,
                      properties=exp.Properties(expressions=[exp.MaterializedProperty()]))


def _sink(program: ir.Program, sink: ir.Sink, name: str, warnings: list[Diagnostic]) -> exp.Create:
    view = program.view(sink.view)
    if view is None:
        raise UnsupportedFeature(f"a sink of '{sink.view}' (not a view)", TARGET, sink.span)
    append, keys = view_changelog(program, view)
    conn = sink_connector(program, sink.connector, append, keys)
    for note in conn.notes:
        _warn(warnings, f"sink of '{sink.view}': {note}", sink.connector.span or sink.span)
    if view.emit == "changes" and append:
        _warn(warnings, f"sink of '{sink.view}': RisingWave writes the rows without the _op column "
                        "(every row is an insert)", sink.span)
    props = [SinkFromProperty(this=X.table(view.name)), *_properties(conn)]
    return exp.Create(kind="SINK", this=X.table(name), properties=exp.Properties(expressions=props))


def _sink_names(program: ir.Program) -> list[str]:
    taken = {r.name for r in (*program.sources, *program.tables, *program.views)}
    out = []
    for s in program.sinks:
        base = f"{s.view}_sink"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        out.append(name)
    return out


# ---------------------------------------------------------------- public


def compile_risingwave_with_warnings(program: ir.Program) -> tuple[list[exp.Expression], list[Diagnostic]]:
    """The DDL statements in dependency order, and the known differences from local semantics
    (SEMANTICS.md §6) as W0901 warnings. Raises UnsupportedFeature for what RisingWave cannot do."""
    program = bound_by_window_start(program)  # joins.py: bounds on window_end as window_start + size
    warnings: list[Diagnostic] = rules.check(program)  # refuses what RisingWave's planner would
    stmts: list[exp.Expression] = []
    stmts += [_source(program, s, warnings) for s in program.sources]
    stmts += [_table(program, t, warnings) for t in program.tables]
    stmts += [_view(program, v, warnings) for v in program.views]  # program.views is in dependency order
    stmts += [_sink(program, s, n, warnings) for s, n in zip(program.sinks, _sink_names(program), strict=True)]
    return stmts, warnings


def compile_risingwave(program: ir.Program) -> list[exp.Expression]:
    return compile_risingwave_with_warnings(program)[0]


def risingwave_warnings(program: ir.Program) -> list[Diagnostic]:
    return compile_risingwave_with_warnings(program)[1]


def risingwave_sql(program: ir.Program) -> str:
    """The DDL as one script: pretty-printed statements separated by `;` and a blank line."""
    return ";\n\n".join(to_sql(s) for s in compile_risingwave(program)) + ";"
