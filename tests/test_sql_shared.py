"""The helpers the SQL targets share: the relations a plan reads (`ir.scan_names`), join kinds of a
whole program (`properties.join_kind_in`), the Arrow schema a sink of a view receives
(`sql.relations.output_schema`) and the text of time literals (`sql.expressions.timestamp_text`,
`date_text`, spelled the same by PostgreSQL and RisingWave)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.properties import join_kind, join_kind_in, program_maps
from flowc.targets.postgres.expressions import X as PG
from flowc.targets.risingwave import expressions as RW
from flowc.targets.risingwave.dialect import to_sql
from flowc.targets.sql.expressions import date_text, timestamp_text
from flowc.targets.sql.relations import output_schema

from flowc.pipeline import parse_text, to_ir

PROGRAM = """
source s (k bigint, v bigint, t timestamp) from csv('s.csv') event_time t watermark 2s
source u (k bigint, v bigint, t timestamp) from csv('u.csv') event_time t watermark 2s
table dim (id bigint, cat string, primary key (id)) from csv('dim.csv')

view looked = s | join dim as a on k = a.id
view bounded = s | join u as b on k = b.k and t between b.t and b.t + 5s
view both = looked | union (looked | where v > 1) | join s as c on k = c.k
view counts = s | aggregate n = count() by k | emit changes
"""


@pytest.fixture(scope="module")
def program() -> ir.Program:
    return to_ir(parse_text(PROGRAM, "shared.flow"))


def _join(v: ir.View) -> ir.Join:
    return next(n for n in ir.walk(v.plan) if isinstance(n, ir.Join))


def test_scan_names_each_once_in_first_read_order_without_following_views(program):
    assert ir.scan_names(program.view("looked").plan) == ("s", "dim")
    assert ir.scan_names(program.view("bounded").plan) == ("s", "u")
    # `looked` is read twice and counts once; its own reads (dim) are not followed
    assert ir.scan_names(program.view("both").plan) == ("looked", "s")


def test_join_kind_in_a_program_is_join_kind_with_the_programs_maps(program):
    sources, views = program_maps(program)
    assert sorted(sources) == ["s", "u"] and sorted(views) == ["both", "bounded", "counts", "looked"]
    kinds = {name: join_kind_in(program, _join(program.view(name))) for name in ("looked", "bounded", "both")}
    assert kinds == {"looked": "lookup", "bounded": "interval", "both": "regular"}
    for name in kinds:
        assert join_kind(_join(program.view(name)), sources, views) == kinds[name]


def test_output_schema_puts_op_first_for_changes_only(program):
    changes = output_schema(program.view("counts"))
    assert changes.names == ["_op", "k", "n"] and changes.field("_op").type == pa.string()
    final = output_schema(program.view("bounded"))
    assert final.names == [f.name for f in program.view("bounded").schema]


@pytest.mark.parametrize("micros", [0, 1, 1_500_000, -1, 1_767_225_600_123_456])
def test_timestamp_text_is_iso_with_utc_offset_for_timestamptz(micros):
    when = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=micros)
    assert timestamp_text(micros, tz=False) == when.isoformat(sep=" ")
    assert timestamp_text(micros, tz=True) == when.isoformat(sep=" ") + "+00:00"


def test_time_literals_keep_each_targets_text():
    micros, days = 1_500_000, 20_454
    # RisingWave: a typed string in its own type names
    assert to_sql(RW.literal(ir.Literal(micros, T.TIMESTAMP))) == "CAST('1970-01-01 00:00:01.500000' AS TIMESTAMP)"
    assert to_sql(RW.literal(ir.Literal(micros, T.TIMESTAMPTZ))) == \
        "CAST('1970-01-01 00:00:01.500000+00:00' AS TIMESTAMPTZ)"
    assert to_sql(RW.literal(ir.Literal(days, T.DATE))) == "CAST('2026-01-01' AS DATE)"
    assert date_text(days) == "2026-01-01" and date_text(-1) == "1969-12-31"
    # PostgreSQL: the same text inside its casts
    assert "'1970-01-01 00:00:01.500000+00:00'" in PG.literal(micros, T.TIMESTAMPTZ).sql(dialect="postgres")
    assert "'2026-01-01'" in PG.literal(days, T.DATE).sql(dialect="postgres")
