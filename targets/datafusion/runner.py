"""Run a compiled program on DataFusion: read the files, split late rows, run the views, write sinks.

The SQL comes from `sqlgen`; this module is the glue around it (registering Arrow tables,
collecting results, writing connectors), so everything that decides *which* rows come out is in
the generated SQL, where `flowc explain --stage datafusion` shows it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from datafusion import SessionConfig, SessionContext
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.targets.base import RunResult, SinkStats, SourceStats, describe_connector
from flowc.targets.sql.connectors import bad_record_schema, read_input, write_output
from flowc.targets.sql.relations import output_schema

from .dialect import parse, quote_ident, render
from .sqlgen import ARRIVAL, DataFusionPlan, compile_datafusion
from .types import arrow_schema

TARGET = "datafusion"


def session() -> SessionContext:
    """One context per run. One partition: inputs are small next to DataFusion's per-partition
    overhead, and it keeps results deterministic. Utf8 rather than Utf8View, so casts to strings
    give the plain `string` type the IR schema promises.

    `repartition_sorts` off: with it, DataFusion 55 pushes a sort below a UNION ALL into each side,
    drops sort columns a join below made equal to others, and then refuses its own plan
    (SanityCheckPlan) because the union does not carry those equalities up
    (tests/corpus/regressions/datafusion_top_over_union_of_a_join). With one partition it would
    only split the sort into per-side sorts and a merge, so turning it off costs nothing."""
    cfg = (SessionConfig().with_target_partitions(1)
           .set("datafusion.sql_parser.map_string_types_to_utf8view", "false")
           .set("datafusion.optimizer.repartition_sorts", "false")
           # a filter of hundreds of `or` terms nests the SQL that deep (the default, 50, refuses it)
           .set("datafusion.sql_parser.recursion_limit", "20000"))
    ctx = SessionContext(cfg)
    ctx.register_udf(_float8_text_udf())
    return ctx


def _float8_text_udf():
    """flowc_float8_text(double): a double as PostgreSQL prints it (runtime/text_forms.py): DataFusion's
    own cast prints `1e20` and `1.0` where PostgreSQL prints `1e+20` and `1`."""
    from datafusion import udf
    from flowc.runtime.text_forms import float8_texts
    from flowc.targets.datafusion.expressions import FLOAT8_TEXT

    return udf(lambda arr: float8_texts(arr), [pa.float64()], pa.string(), "immutable", name=FLOAT8_TEXT)


def register_table(ctx: SessionContext, name: str, table: pa.Table) -> None:
    """Register an Arrow table under an exact (case-kept) name; empty tables keep their schema."""
    batches = table.to_batches() or [pa.RecordBatch.from_pylist([], schema=table.schema)]
    ctx.register_record_batches(quote_ident(name), [batches])


def with_arrival(table: pa.Table) -> pa.Table:
    """The table plus `__arrival`: each row's index in file order, which lateness is decided over."""
    return table.append_column(ARRIVAL, pa.array(np.arange(table.num_rows, dtype=np.int64)))


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Results with exactly the IR's Arrow types (and field nullability from the IR: all nullable).
    The SQL already produces these types; this only drops DataFusion's `not null` markers, or
    casts as a last resort should an engine version change a result type."""
    if table.schema.equals(schema):
        return table
    return pa.Table.from_arrays([c.cast(f.type) if c.type != f.type else c
                                 for c, f in zip(table.columns, schema, strict=True)], schema=schema)


@dataclass
class Execution:
    """What one run computed: per source, rows read and late rows (original columns, arrival
    order); per view, its output (`_op` first for `emit changes`)."""

    rows_in: dict[str, int] = field(default_factory=dict)
    late: dict[str, pa.Table] = field(default_factory=dict)
    outputs: dict[str, pa.Table] = field(default_factory=dict)


def execute(program: ir.Program, inputs: Mapping[str, pa.Table], tables: Mapping[str, pa.Table] | None = None,
            views: set[str] | None = None, plan: DataFusionPlan | None = None) -> Execution:
    """Run `program` over in-memory inputs: `inputs[source]` holds a source's rows in arrival order
    with exactly the source's Arrow schema; `tables[name]` a table's rows. Computes the outputs of
    `views` (default: all views)."""
    plan = plan or compile_datafusion(program)
    ctx = session()
    out = Execution()
    for t, tp in zip(program.tables, plan.tables, strict=True):
        # a table file may list a key several times: the table is the last version of each key
        register_table(ctx, tp.raw_table, with_arrival((tables or {})[t.name]))
        register_table(ctx, t.name, conform(_collect(ctx, tp.sql, f"the rows of table '{t.name}'"),
                                            arrow_schema(t.schema)))
    for s, sp in zip(program.sources, plan.sources, strict=True):
        data = inputs[s.name]
        out.rows_in[s.name] = data.num_rows
        register_table(ctx, sp.raw_table, with_arrival(data))
        schema = arrow_schema(s.schema)
        # Materialize the on-time rows once: every view reading the source shares them.
        on_time = _collect(ctx, sp.on_time_sql, f"the on-time rows of source '{s.name}'")
        register_table(ctx, s.name, conform(on_time, schema))
        if sp.late_sql is not None:
            out.late[s.name] = conform(_collect(ctx, sp.late_sql, f"the late rows of source '{s.name}'"), schema)
        else:
            out.late[s.name] = schema.empty_table()
    for v, vp in zip(program.views, plan.views, strict=True):
        ctx.register_view(quote_ident(v.name), ctx.sql(vp.sql))
    for v, vp in zip(program.views, plan.views, strict=True):
        if views is not None and v.name not in views:
            continue
        out.outputs[v.name] = conform(_collect(ctx, vp.output_sql, f"view '{v.name}'"), output_schema(v))
    return out


def run_datafusion(program: ir.Program, collect: bool = False) -> RunResult:
    """`flowc run --target datafusion`: read every source file, compute lateness and the views in
    DataFusion, write late rows to on_late connectors and each sunk view to its sinks."""
    from flowc.runtime import io  # the runtime's readers and writers parse files to the exact types

    started = time.perf_counter()
    plan = compile_datafusion(program)
    bad: dict[str, list[pa.RecordBatch]] = {s.name: [] for s in program.sources}
    inputs = {s.name: read_input(program, io, s, bad[s.name]) for s in program.sources}
    tables = {t.name: read_input(program, io, t) for t in program.tables}
    wanted = None if collect else {k.view for k in program.sinks}
    ex = execute(program, inputs, tables, wanted, plan)

    result = RunResult(TARGET)
    for s in program.sources:
        late = ex.late[s.name]
        skipped = sum(b.num_rows for b in bad[s.name])
        result.sources.append(SourceStats(s.name, rows_in=ex.rows_in[s.name], late=late.num_rows, skipped=skipped))
        if isinstance(s.on_late, ir.Connector):
            write_output(program, io, s.on_late, late)
        if isinstance(s.on_error, ir.Connector):
            write_output(program, io, s.on_error, pa.Table.from_batches(bad[s.name], bad_record_schema(s)))
    for k in program.sinks:
        table = ex.outputs[k.view]
        write_output(program, io, k.connector, table)
        result.sinks.append(SinkStats(k.view, describe_connector(program, k.connector), table.num_rows))
    if collect:
        result.tables = dict(ex.outputs)
    result.elapsed = time.perf_counter() - started
    return result


def _collect(ctx: SessionContext, sql: str, what: str) -> pa.Table:
    """Run one statement; an engine failure on the data (division by zero, a failing cast) is the
    user's error, shown with what was being computed."""
    try:
        return ctx.sql(sql).to_arrow_table()
    except Exception as e:  # DataFusion raises plain Exceptions carrying its error text
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise FlowError(Diagnostic(Code.BAD_RECORD, f"DataFusion failed computing {what}: {text}", None,
                                   "`flowc explain --stage datafusion` shows the SQL that ran")) from None


def explain_datafusion(program: ir.Program) -> str:
    """The generated SQL of every source and view, each followed by DataFusion's optimized logical
    plan, planned against empty tables of the right schemas."""
    plan = compile_datafusion(program)
    ctx = session()
    parts: list[str] = []
    for t, tp in zip(program.tables, plan.tables, strict=True):
        register_table(ctx, tp.raw_table, with_arrival(arrow_schema(t.schema).empty_table()))
        register_table(ctx, t.name, arrow_schema(t.schema).empty_table())
        parts.append(_section(ctx, f"table {t.name}: the last version of each key", tp.sql))
    for s, sp in zip(program.sources, plan.sources, strict=True):
        schema = arrow_schema(s.schema)
        register_table(ctx, sp.raw_table, with_arrival(schema.empty_table()))
        register_table(ctx, s.name, schema.empty_table())
        parts.append(_section(ctx, f"source {s.name}: on-time rows", sp.on_time_sql))
        if sp.late_sql is not None:
            parts.append(_section(ctx, f"source {s.name}: late rows", sp.late_sql))
    for v, vp in zip(program.views, plan.views, strict=True):
        ctx.register_view(quote_ident(v.name), ctx.sql(vp.sql))
        parts.append(_section(ctx, f"view {v.name} (emit {v.emit})", vp.sql))
        if v.emit == "changes":
            parts.append(f"-- sink output of {v.name}\n{vp.output_sql};")
    return "\n\n".join(parts) + "\n"


def _section(ctx: SessionContext, title: str, sql: str) -> str:
    logical = ctx.sql(sql).optimized_logical_plan().display_indent()
    body = "\n".join("--   " + line for line in logical.rstrip().splitlines())
    return f"-- {title}\n{render(parse(sql), pretty=True)};\n-- optimized logical plan:\n{body}"


def datafusion_sql(program: ir.Program) -> str:
    """`flowc compile --target datafusion`: the SQL script, one statement per source split and view,
    in the order the runner executes them."""
    plan = compile_datafusion(program)
    parts = []
    for tp in plan.tables:
        parts.append(f"-- {tp.name}: the last version of each key of {tp.raw_table} (file rows + {ARRIVAL})\n"
                     f"CREATE VIEW {quote_ident(tp.name)} AS {tp.sql};")
    for sp in plan.sources:
        parts.append(f"-- {sp.name}: on-time rows of {sp.raw_table} (file rows + {ARRIVAL})\n"
                     f"CREATE VIEW {quote_ident(sp.name)} AS {sp.on_time_sql};")
        if sp.late_sql is not None:
            parts.append(f"-- {sp.name}: late rows, in arrival order\n{sp.late_sql};")
    for vp in plan.views:
        parts.append(f"-- view {vp.name} (emit {vp.emit})\nCREATE VIEW {quote_ident(vp.name)} AS {vp.sql};")
        if vp.emit == "changes":
            parts.append(f"-- sink output of {vp.name}\n{vp.output_sql};")
    return "\n\n".join(parts) + "\n"


__all__ = ["run_datafusion", "explain_datafusion", "datafusion_sql", "execute", "Execution", "session"]
