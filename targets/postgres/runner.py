"""`flowc run --target postgres`: load the inputs into a fresh schema, run the views, write the sinks.

Everything happens in one transaction that is rolled back at the end, success or failure: the
schema, its tables and views never outlive the run (even if flowc is killed, the server rolls the
transaction back), and parallel runs never see each other's objects. Data crosses the wire as CSV
through COPY, converted by Arrow (no per-row Python): times as ISO text, intervals as
'N microseconds'; results come back the same way, timestamptz as UTC wall time and intervals as
integer microseconds, parsed by Arrow's CSV reader into exactly the IR's Arrow types.
"""

from __future__ import annotations

import io as _io
import time
import uuid

import pyarrow as pa
import pyarrow.csv as pacsv
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.runtime.postgres_io import copy_text
from flowc.targets.arrow_types import arrow_schema
from flowc.targets.base import RunResult, SinkStats, SourceStats, describe_connector
from flowc.targets.sql.connectors import bad_record_schema, read_input, write_file
from flowc.targets.sql.relations import output_schema

from .connect import Secrets, connect, first_line, resolve_dsn
from .dialect import quote_ident, render
from .expressions import time_micros
from .sqlgen import ARRIVAL, PostgresPlan, compile_postgres
from .types import TARGET

DSN_ENV = "FLOWC_PG_DSN"


def run_postgres(program: ir.Program, dsn: str | None = None, collect: bool = False) -> RunResult:
    """Run `program` on PostgreSQL (`dsn`, else $FLOWC_PG_DSN, else the local server) over its file
    inputs; write late rows to on_late connectors and each sunk view to its sinks."""
    from flowc.runtime import io  # the runtime's readers and writers parse files to the exact types

    started = time.perf_counter()
    plan = compile_postgres(program)
    # the same reads as DataFusion's: bad records left out under on_error skip / into (issue 12)
    bad: dict[str, list[pa.RecordBatch]] = {s.name: [] for s in program.sources}
    inputs = {s.name: read_input(program, io, s, bad[s.name]) for s in program.sources}
    tables = {t.name: read_input(program, io, t) for t in program.tables}
    dsn = resolve_dsn(dsn, DSN_ENV)
    with connect(dsn) as conn:
        try:
            outputs, late = _execute(conn, program, plan, inputs, tables, Secrets.of(dsn),
                                     None if collect else {k.view for k in program.sinks})
        finally:
            conn.rollback()  # drops the run's schema and everything in it

    result = RunResult(TARGET)
    for s in program.sources:
        n_late = late[s.name].num_rows if s.name in late else 0
        skipped = sum(b.num_rows for b in bad[s.name])
        result.sources.append(SourceStats(s.name, rows_in=inputs[s.name].num_rows, late=n_late, skipped=skipped))
        if isinstance(s.on_late, ir.Connector):
            write_file(program, io, s.on_late, late[s.name])
        if isinstance(s.on_error, ir.Connector):
            write_file(program, io, s.on_error, pa.Table.from_batches(bad[s.name], bad_record_schema(s)))
    for k in program.sinks:
        table = outputs[k.view]
        write_file(program, io, k.connector, table)
        result.sinks.append(SinkStats(k.view, describe_connector(program, k.connector), table.num_rows))
    if collect:
        result.tables = dict(outputs)
    result.elapsed = time.perf_counter() - started
    return result


def run_schema_name() -> str:
    return f"flowc_run_{uuid.uuid4().hex[:16]}"


def _execute(conn, program: ir.Program, plan: PostgresPlan, inputs: dict[str, pa.Table],
             tables: dict[str, pa.Table], secrets: Secrets, wanted: set[str] | None):
    schema = run_schema_name()
    cur = conn.cursor()
    _sql(cur, f"CREATE SCHEMA {quote_ident(schema)}", "creating the run's schema", secrets)
    # views resolve names when created, so the search path only matters while building them;
    # UTC makes timestamptz text unambiguous both ways
    _sql(cur, f"SET LOCAL search_path TO {quote_ident(schema)}", "setting the search path", secrets)
    _sql(cur, "SET LOCAL TIME ZONE 'UTC'", "setting the time zone", secrets)
    table_of_lines = {lines: name for name, lines in plan.table_lines.items()}
    source_of_raw = {raw: name for name, raw in plan.raw_tables.items()}
    for o in plan.objects:
        _sql(cur, o.sql, f"creating {o.role} {o.name}", secrets)
        if o.role == "raw":
            data = inputs.get(source_of_raw.get(o.name, ""))
            if data is not None:
                copy_in(cur, o.name, data, secrets)
        elif o.role == "table":  # every line of the file, in order; the table's view keeps the last versions
            copy_in(cur, o.name, tables[table_of_lines[o.name]], secrets)
    late: dict[str, pa.Table] = {}
    for s in program.sources:
        lv = plan.late_views.get(s.name)
        if lv is None:
            continue
        names = ", ".join(quote_ident(f.name) for f in s.schema)
        q = f"SELECT {names} FROM {quote_ident(lv)} ORDER BY {quote_ident(ARRIVAL)}"
        late[s.name] = copy_out(cur, q, arrow_schema(s.schema), f"the late rows of source '{s.name}'", secrets)
    outputs: dict[str, pa.Table] = {}
    for v in program.views:
        if wanted is not None and v.name not in wanted:
            continue
        outputs[v.name] = copy_out(cur, plan.outputs[v.name], output_schema(v), f"view '{v.name}'", secrets)
    return outputs, late


def _sql(cur, statement: str, what: str, secrets: Secrets) -> None:
    import psycopg

    try:
        cur.execute(statement)
    except psycopg.Error as e:
        raise _engine_error(e, what, secrets) from None


def _engine_error(e: Exception, what: str, secrets: Secrets) -> FlowError:
    return FlowError(Diagnostic(Code.BAD_RECORD, f"PostgreSQL failed {what}: {secrets.redact(first_line(str(e)))}",
                                None, "`flowc compile --target postgres` shows the SQL that ran"))


# ---------------------------------------------------------------- data in and out


def copy_in(cur, table: str, data: pa.Table, secrets: Secrets) -> None:
    """COPY an Arrow table's rows, in order, into `table` (columns by name)."""
    import psycopg

    if data.num_rows == 0:
        return
    cols = ", ".join(quote_ident(n) for n in data.column_names)
    text = copy_text(data)  # the postgres connector's sink encodes rows for COPY the same way
    try:
        with cur.copy(f"COPY {quote_ident(table)} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(text)
    except psycopg.Error as e:
        raise _engine_error(e, f"loading {table}", secrets) from None


def copy_out(cur, query: str, schema: pa.Schema, what: str, secrets: Secrets) -> pa.Table:
    """The rows of `query` (columns as in `schema`) as an Arrow table of exactly that schema."""
    import psycopg
    import sqlglot
    from sqlglot import exp

    from .dialect import PostgresFlow

    # wrap the query so each column comes out as text Arrow reads exactly
    inner = sqlglot.parse_one(query, read=PostgresFlow).subquery("__q")
    cols, types = [], {}
    for f in schema:
        c: exp.Expression = exp.column(f.name)
        t = f.type
        if pa.types.is_timestamp(t) and t.tz:
            c = exp.AtTimeZone(this=c, zone=exp.Literal.string("UTC"))
            types[f.name] = pa.timestamp("us")
        elif pa.types.is_duration(t):
            c = time_micros(c)
            types[f.name] = pa.int64()
        elif pa.types.is_binary(t):
            c = exp.Anonymous(this="encode", expressions=[c, exp.Literal.string("hex")])
            types[f.name] = pa.string()
        else:
            types[f.name] = t
        cols.append(exp.alias_(c, f.name))
    text_query = render(exp.select(*cols).from_(inner))
    data = bytearray()
    try:
        with cur.copy(f"COPY ({text_query}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                data += block
    except psycopg.Error as e:
        raise _engine_error(e, f"computing {what}", secrets) from None
    if not data:
        return schema.empty_table()
    table = pacsv.read_csv(
        _io.BytesIO(bytes(data)),
        read_options=pacsv.ReadOptions(column_names=schema.names),
        # a row of one column holding null is an empty line, which Arrow would otherwise skip
        parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                             quoted_strings_can_be_null=False, true_values=["t"],
                                             false_values=["f"]))
    cols_out = []
    for f, c in zip(schema, table.columns, strict=True):
        if pa.types.is_binary(f.type):
            c = pa.array([None if v is None else bytes.fromhex(v) for v in c.to_pylist()], pa.binary())
        cols_out.append(c.cast(f.type) if c.type != f.type else c)
    return pa.Table.from_arrays(cols_out, schema=schema)


# ---------------------------------------------------------------- files



__all__ = ["run_postgres", "copy_in", "copy_out", "run_schema_name", "DSN_ENV"]
