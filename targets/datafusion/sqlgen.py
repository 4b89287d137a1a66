"""Compile an IR program to DataFusion SQL: one lateness split per source, one SELECT per view.

DataFusion is a batch engine, so it keeps the streaming meaning (SEMANTICS §4) by deciding
lateness itself (`flowc.targets.sql.lateness`): each source is registered as `__raw_<name>`, its
rows in file order with an extra `__arrival` index; the on-time rows are then what every view
reads under the source's own name. Each IR relation becomes a SELECT over its input as a subquery
(`relations.py`); DataFusion's optimizer flattens the nesting. A `table` is registered the same way
(`__raw_<name>` with `__arrival`), and read as the last version of each primary key
(`flowc.targets.sql.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

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
from .expressions import AXIS, TARGET
from .relations import DataFusionRelations as RelCompiler

SINK_CONNECTORS = FILE_CONNECTORS + ("stdout", "postgres")
SOURCE_CONNECTORS = FILE_CONNECTORS + ("nexmark", "postgres")  # read whole before the run
TABLE_CONNECTORS = FILE_CONNECTORS + ("postgres",)


@dataclass(frozen=True)
class SourcePlan:
    """How one source is read: `raw_table` holds the file's rows plus `__arrival` (0..n-1 in file
    order); `on_time_sql` selects the rows views see (registered under `name`); `late_sql` the
    late rows in arrival order, or None when the source has no event time (nothing is late)."""

    name: str
    raw_table: str
    on_time_sql: str
    late_sql: str | None


@dataclass(frozen=True)
class TablePlan:
    """How one table is read: `raw_table` holds the file's rows plus `__arrival` (0..n-1 in file
    order); `sql` selects the last version of each primary key (registered under `name`)."""

    name: str
    raw_table: str
    sql: str


@dataclass(frozen=True)
class ViewPlan:
    """`sql` computes the view's contents (registered under `name`, so later views read it);
    `output_sql` is what a sink of it receives (with `_op` first for `emit changes`)."""

    name: str
    sql: str
    output_sql: str
    emit: str


@dataclass(frozen=True)
class DataFusionPlan:
    sources: tuple[SourcePlan, ...]
    views: tuple[ViewPlan, ...]
    tables: tuple[TablePlan, ...] = ()

    def source(self, name: str) -> SourcePlan | None:
        return next((s for s in self.sources if s.name == name), None)

    def view(self, name: str) -> ViewPlan | None:
        return next((v for v in self.views if v.name == name), None)


def compile_datafusion(program: ir.Program) -> DataFusionPlan:
    """SQL for every source's lateness split and every view; raises UnsupportedFeature for what
    DataFusion cannot run (connectors it cannot read whole, relations not lowered yet)."""
    for t in program.tables:
        _check_connector(t.connector, f"table '{t.name}'", TABLE_CONNECTORS)
    for s in program.sinks:
        _check_connector(s.connector, f"sink of '{s.view}'", SINK_CONNECTORS)
    sources = tuple(_source_plan(s) for s in program.sources)
    views = tuple(_view_plan(program, v) for v in program.views)
    tables = tuple(TablePlan(t.name, raw_table_name(t.name), render(last_versions(t))) for t in program.tables)
    return DataFusionPlan(sources, views, tables)


def _check_connector(c: ir.Connector, what: str, allowed: tuple[str, ...]) -> None:
    check_connector(c, what, allowed, TARGET, "DataFusion runs over files")


def _source_plan(s: ir.Source) -> SourcePlan:
    _check_connector(s.connector, f"source '{s.name}'", SOURCE_CONNECTORS)
    if isinstance(s.on_late, ir.Connector):
        _check_connector(s.on_late, f"on_late of source '{s.name}'", SINK_CONNECTORS)
    raw = table(raw_table_name(s.name))
    if s.event_time is None:
        q = exp.select(*(col(f.name) for f in s.schema)).from_(raw)
        return SourcePlan(s.name, raw.name, render(q), None)
    on_time, late = split_on_time(s, raw, AXIS, keep_arrival=False)
    return SourcePlan(s.name, raw.name, render(on_time), render(late.order_by(col(ARRIVAL))))


def _view_plan(program: ir.Program, v: ir.View) -> ViewPlan:
    q, _ = RelCompiler(program).compile(v.plan)
    return ViewPlan(v.name, render(q), render(output_query(v)), v.emit)


__all__ = ["compile_datafusion", "DataFusionPlan", "SourcePlan", "TablePlan", "ViewPlan", "RelCompiler", "ARRIVAL", "ON_TIME",
           "PREV_MAX", "OP", "raw_table_name"]
