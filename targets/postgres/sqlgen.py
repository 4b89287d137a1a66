"""Compile an IR program to PostgreSQL DDL: tables for the inputs, views for everything computed.

PostgreSQL is a batch engine here, so it keeps the streaming meaning (SEMANTICS §4) by deciding
lateness itself. Each source's rows go to a table `__raw_<name>` whose `__arrival` column is an
identity: rows get 1, 2, 3, ... in the order they are inserted (COPY keeps file order), which is
the arrival order. The view `<name>` holds the on-time rows: the row at arrival i is on time iff

    prev_max IS NULL OR (ts IS NOT NULL AND ts >= prev_max - D)

with prev_max = MAX(ts) over the rows before it in arrival order (`ROWS BETWEEN UNBOUNDED PRECEDING
AND 1 PRECEDING`). MAX skips nulls, so prev_max is null exactly while no watermark exists; after
that a null event time is late; a row exactly at the watermark is on time. `__late_<name>` holds
the late rows. Both views keep `__arrival`, which `distinct` orders by.

A `table`'s lines go to `__raw_<name>` the same way (a file may list a primary key several times,
each line a new version of that row), and the view `<name>` holds the last version of each key
(`flowc.targets.sql.tables`), which is what lookup joins read.

Every IR relation becomes a SELECT over its input as a subquery (`relations.py`); PostgreSQL's
planner flattens it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.targets.sql.connectors import FILE_CONNECTORS, check_connector
from flowc.targets.sql.dialect import table
from flowc.targets.sql.expressions import col
from flowc.targets.sql.lateness import split_on_time
from flowc.targets.sql.names import ARRIVAL, ON_TIME, OP, PREV_MAX, raw_table_name
from flowc.targets.sql.relations import output_query
from flowc.targets.sql.tables import last_versions
from sqlglot import exp

from .dialect import render
from .expressions import AXIS
from .relations import PostgresRelations as RelCompiler
from .types import TARGET, sql_type

SINK_CONNECTORS = FILE_CONNECTORS + ("stdout",)


def late_view_name(source: str) -> str:
    return f"__late_{source}"


@dataclass(frozen=True)
class PgObject:
    """One database object of the compiled program, created by `statement`.

    kind: table | view. `depends_on` names the objects the statement reads (they come first).
    `role` says what it is for: raw (a source's rows), source (its on-time rows), late, table (a
    table's lines, every version), versions (the table: the last version of each key), view."""

    name: str
    kind: str
    role: str
    statement: exp.Expression
    depends_on: tuple[str, ...] = ()
    note: str | None = None

    @property
    def sql(self) -> str:
        return render(self.statement)


@dataclass(frozen=True)
class PostgresPlan:
    objects: tuple[PgObject, ...]
    # per source: (raw table, late view or None); per view: the query a sink of it receives
    raw_tables: dict[str, str] = field(default_factory=dict)
    late_views: dict[str, str | None] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    # per table: the table its file's lines are loaded into
    table_lines: dict[str, str] = field(default_factory=dict)

    def object(self, name: str) -> PgObject | None:
        return next((o for o in self.objects if o.name == name), None)


def compile_postgres(program: ir.Program, check_connectors: bool = True) -> PostgresPlan:
    """The program's DDL in dependency order. `check_connectors`: refuse connectors `flowc run
    --target postgres` cannot read or write (deploy only creates the objects, so it does not check)."""
    if check_connectors:
        for s in program.sources:
            _check_connector(s.connector, f"source '{s.name}'", FILE_CONNECTORS)
            if isinstance(s.on_late, ir.Connector):
                _check_connector(s.on_late, f"on_late of source '{s.name}'", SINK_CONNECTORS)
        for t in program.tables:
            _check_connector(t.connector, f"table '{t.name}'", FILE_CONNECTORS)
        for k in program.sinks:
            _check_connector(k.connector, f"sink of '{k.view}'", SINK_CONNECTORS)
    objects: list[PgObject] = []
    raw_tables: dict[str, str] = {}
    late_views: dict[str, str | None] = {}
    for s in program.sources:
        objects += _source_objects(s)
        raw_tables[s.name] = raw_table_name(s.name)
        late_views[s.name] = late_view_name(s.name) if s.event_time is not None else None
    table_lines: dict[str, str] = {}
    for t in program.tables:
        objects += _table_objects(t)
        table_lines[t.name] = raw_table_name(t.name)
    outputs: dict[str, str] = {}
    for v in program.views:
        objects.append(_view_object(program, v))
        outputs[v.name] = render(output_query(v))
    return PostgresPlan(tuple(objects), raw_tables, late_views, outputs, table_lines)


def postgres_sql(program: ir.Program) -> str:
    """`flowc compile --target postgres`: the DDL script, one statement per object."""
    plan = compile_postgres(program, check_connectors=False)
    parts = []
    for o in plan.objects:
        head = f"-- {o.role} {o.name}" + (f": {o.note}" if o.note else "")
        parts.append(f"{head}\n{render(o.statement, pretty=True)};")
    return "\n\n".join(parts) + "\n"


def _check_connector(c: ir.Connector, what: str, allowed: tuple[str, ...]) -> None:
    check_connector(c, what, allowed, TARGET, "flowc run --target postgres loads and writes files")


def _column_defs(schema: ir.Schema, span) -> list[exp.Expression]:
    return [exp.ColumnDef(this=exp.to_identifier(f.name), kind=sql_type(f.type, span)) for f in schema]


def _numbered_table(name: str, schema: ir.Schema, span) -> exp.Create:
    """A table of `schema` plus `__arrival`, numbering rows 1, 2, 3, ... in insertion order."""
    arrival = exp.ColumnDef(this=exp.to_identifier(ARRIVAL), kind=exp.DataType.build("BIGINT"),
                            constraints=[exp.ColumnConstraint(kind=exp.GeneratedAsIdentityColumnConstraint(
                                this=True))])
    return exp.Create(kind="TABLE", this=exp.Schema(this=table(name),
                                                    expressions=[*_column_defs(schema, span), arrival]))


def _source_objects(s: ir.Source) -> list[PgObject]:
    raw = raw_table_name(s.name)
    create = _numbered_table(raw, s.schema, s.span)
    names = [f.name for f in s.schema]
    out = [PgObject(raw, "table", "raw", create, (),
                    f"the rows of source '{s.name}'; insert them in arrival order ({ARRIVAL} numbers them)")]
    if s.event_time is None:
        q = exp.select(*(col(n) for n in names), col(ARRIVAL)).from_(table(raw))
        out.append(PgObject(s.name, "view", "source", _create_view(s.name, q), (raw,), "every row is on time"))
        return out
    on_time, late = split_on_time(s, table(raw), AXIS, keep_arrival=True)
    out.append(PgObject(s.name, "view", "source", _create_view(s.name, on_time), (raw,),
                        f"the on-time rows (event time {s.event_time}, watermark delay "
                        f"{(s.watermark or 0) / 1e6:g}s)"))
    out.append(PgObject(late_view_name(s.name), "view", "late", _create_view(late_view_name(s.name), late),
                        (raw,), "the late rows"))
    return out


def _table_objects(t: ir.Table) -> list[PgObject]:
    """The table of t's lines (no primary key constraint: a key may come again, as a new version)
    and the view of its current contents."""
    raw = raw_table_name(t.name)
    key = f"primary key ({', '.join(t.primary_key)})" if t.primary_key else "no primary key: every line"
    return [PgObject(raw, "table", "table", _numbered_table(raw, t.schema, t.span), (),
                     f"the lines of table '{t.name}'; insert them in order ({ARRIVAL} numbers them), a "
                     f"repeated key is a new version"),
            PgObject(t.name, "view", "versions", _create_view(t.name, last_versions(t)), (raw,),
                     f"the last version of each key ({key})")]


def _create_view(name: str, q: exp.Expression) -> exp.Create:
    return exp.Create(kind="VIEW", this=table(name), expression=q)


def _view_object(program: ir.Program, v: ir.View) -> PgObject:
    q, _ = RelCompiler(program).compile(v.plan)
    names = [f.name for f in v.schema]
    body = exp.select(*(col(n) for n in names)).from_(q.subquery("__out"))
    return PgObject(v.name, "view", "view", _create_view(v.name, body), ir.scan_names(v.plan), f"emit {v.emit}")


__all__ = ["compile_postgres", "postgres_sql", "PostgresPlan", "PgObject", "RelCompiler", "raw_table_name",
           "late_view_name", "ARRIVAL", "ON_TIME", "PREV_MAX", "OP"]
