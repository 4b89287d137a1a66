"""run_datafusion's glue: connectors in and out, tables, stats, and errors as diagnostics."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import Code, FlowError
from flowc.targets.datafusion import run_datafusion

F = ir.Field
SCHEMA = (F("k", T.BIGINT), F("v", T.DOUBLE), F("t", T.TIMESTAMP))
DIM = (F("id", T.BIGINT), F("name", T.STRING))


def conn(kind: str, path: str | None = None) -> ir.Connector:
    return ir.Connector(kind, (("path", path),) if path else ())


def _program(tmp_path, sink: ir.Connector, on_late=None) -> ir.Program:
    src = ir.Source("s", SCHEMA, conn("parquet", "in.parquet"), event_time="t", watermark=1_000_000,
                    on_late=on_late or "drop")
    dim = ir.Table("dim", DIM, ("id",), conn("jsonl", "dim.jsonl"))
    cond = ir.Call("eq", (ir.ColumnRef("k", T.BIGINT), ir.ColumnRef("id", T.BIGINT)), T.BOOL)
    plan = ir.Join(ir.Scan("s", "source", SCHEMA), ir.Scan("dim", "table", DIM), "left", cond, "d", ("id", "name"))
    return ir.Program(sources=(src,), tables=(dim,), views=(ir.View("joined", plan, "final"),),
                      sinks=(ir.Sink("joined", sink),), base_dir=str(tmp_path))


@pytest.fixture
def inputs(tmp_path):
    t0 = dt.datetime(2026, 3, 1, 12)
    pq.write_table(pa.table({"k": pa.array([1, 2, 3], pa.int64()), "v": [0.5, 1.5, 2.5],
                             "t": pa.array([t0, t0 - dt.timedelta(seconds=2), t0 + dt.timedelta(seconds=1)],
                                           pa.timestamp("us"))}), tmp_path / "in.parquet")
    (tmp_path / "dim.jsonl").write_text('{"id": 1, "name": "one"}\n{"id": 3, "name": "three"}\n')
    return tmp_path


def test_parquet_and_jsonl_in_jsonl_out_with_a_table(inputs):
    p = _program(inputs, conn("jsonl", "out/joined.jsonl"), on_late=conn("csv", "out/late.csv"))
    res = run_datafusion(p, collect=True)
    assert (res.sources[0].rows_in, res.sources[0].late) == (3, 1)
    assert res.sinks[0].rows_out == 2
    lines = [json.loads(x) for x in (inputs / "out" / "joined.jsonl").read_text().splitlines()]
    assert sorted((r["k"], r["name"]) for r in lines) == [(1, "one"), (3, "three")]
    assert (inputs / "out" / "late.csv").read_text().splitlines() == ["k,v,t", "2,1.5,2026-03-01 11:59:58.000000"]
    assert res.tables["joined"].num_rows == 2


def test_stdout_sink(inputs, capsys):
    run_datafusion(_program(inputs, conn("stdout")))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "k,v,t,id,name" and len(out) == 3


def test_missing_file_and_bad_record_are_diagnostics(inputs):
    (inputs / "in.parquet").unlink()
    with pytest.raises(FlowError) as e:
        run_datafusion(_program(inputs, conn("stdout")))
    assert e.value.first.code == Code.IO
    (inputs / "dim.jsonl").write_text('{"id": "x", "name": "one"}\n')
    pq.write_table(pa.table({"k": [1], "v": [1.0], "t": pa.array([0], pa.timestamp("us"))}), inputs / "in.parquet")
    with pytest.raises(FlowError) as e:
        run_datafusion(_program(inputs, conn("stdout")))
    assert e.value.first.code == Code.BAD_RECORD and "dim.jsonl" in e.value.first.message
