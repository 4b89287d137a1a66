"""runtime.io: parsing to exact types, exact batch sizes, round trips, and bad-record messages."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pyarrow as pa
import pytest
from flowc.runtime import io
from flowc.runtime.errors import RecordError

SCHEMA = pa.schema([("i", pa.int32()), ("b", pa.int64()), ("f", pa.float64()), ("d", pa.decimal128(10, 2)),
                    ("s", pa.string()), ("day", pa.date32()), ("ts", pa.timestamp("us")),
                    ("tz", pa.timestamp("us", "UTC")), ("ok", pa.bool_())])

CSV = """ok,i,b,f,d,s,day,ts,tz,extra
true,1,10,1.5,12.34,hello,2026-03-01,2026-03-01 12:00:05.008000,2026-03-01T12:00:05Z,x
,,,,,,,,,
false,-3,-30,-2.25,-0.5,"a,b",2026-03-02,2026-03-01T12:00:06,2026-03-01 13:00:06+01:00,y
true,4,40,0,1,"",2026-03-03,2026-03-01 12:00:07.5,2026-03-01 12:00:07,z
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_csv_parses_exact_types_and_nulls(tmp_path):
    t = io.read_table("csv", write(tmp_path, "a.csv", CSV), SCHEMA)
    assert t.schema == SCHEMA
    rows = t.to_pylist()
    assert rows[0]["ts"] == dt.datetime(2026, 3, 1, 12, 0, 5, 8000)
    assert rows[0]["d"] == decimal.Decimal("12.34")
    assert rows[2]["ts"] == dt.datetime(2026, 3, 1, 12, 0, 6)  # ISO 'T' form
    utc = dt.UTC
    assert rows[2]["tz"].astimezone(utc) == dt.datetime(2026, 3, 1, 12, 0, 6, tzinfo=utc)  # offset honoured
    assert rows[3]["tz"].astimezone(utc) == dt.datetime(2026, 3, 1, 12, 0, 7, tzinfo=utc)  # no zone: UTC
    assert all(v is None for v in rows[1].values())  # empty cells are nulls
    assert rows[3]["s"] == ""  # a quoted empty string is not null
    assert rows[2]["s"] == "a,b"


@pytest.mark.parametrize("batch_size", [1, 3, 4, 100])
def test_batches_have_exactly_batch_size_rows_in_file_order(tmp_path, batch_size):
    n = 1000
    path = write(tmp_path, "n.csv", "x\n" + "".join(f"{i}\n" for i in range(n)))
    schema = pa.schema([("x", pa.int64())])
    batches = list(io.read_batches("csv", path, schema, batch_size))
    assert all(b.num_rows == batch_size for b in batches[:-1])
    assert 0 < batches[-1].num_rows <= batch_size
    assert pa.Table.from_batches(batches).column("x").to_pylist() == list(range(n))


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_round_trip(tmp_path, kind):
    t = io.read_table("csv", write(tmp_path, "a.csv", CSV), SCHEMA)
    path = str(tmp_path / "out" / f"t.{kind}")
    with io.open_writer(kind, path, SCHEMA) as w:
        for b in t.to_batches(max_chunksize=2):
            w.write(b)
    assert w.rows == t.num_rows
    assert io.read_table(kind, path, SCHEMA).equals(t)


def test_csv_writer_prints_timestamps_with_microseconds(tmp_path):
    schema = pa.schema([("ts", pa.timestamp("us")), ("n", pa.int64())])
    path = str(tmp_path / "o.csv")
    with io.open_writer("csv", path, schema) as w:
        w.write(pa.record_batch([pa.array([dt.datetime(2026, 3, 1, 12, 0, 5, 8000)], pa.timestamp("us")),
                                 pa.array([1])], schema=schema))
    assert open(path).read() == "ts,n\n2026-03-01 12:00:05.008000,1\n"


def test_csv_writer_writes_header_without_rows(tmp_path):
    path = str(tmp_path / "deep" / "dir" / "o.csv")
    io.open_writer("csv", path, pa.schema([("a", pa.int64()), ("b", pa.string())])).close()
    assert open(path).read() == "a,b\n"


def test_jsonl_writer_escapes_strings(tmp_path):
    schema = pa.schema([("s", pa.string()), ("n", pa.float64())])
    path = str(tmp_path / "o.jsonl")
    values = ['he said "hi"\n', "back\\slash", None, "tab\there", "bell\x07"]
    with io.open_writer("jsonl", path, schema) as w:
        w.write(pa.record_batch([pa.array(values), pa.array([1.5, None, float("nan"), 2.0, 3.0])], schema=schema))
    got = [json.loads(line) for line in open(path)]
    assert [g["s"] for g in got] == values
    assert [g["n"] for g in got] == [1.5, None, None, 2.0, 3.0]


def test_stdout_writer(capsys):
    schema = pa.schema([("a", pa.int64())])
    w = io.open_writer("stdout", None, schema)
    w.write(pa.record_batch([pa.array([1, 2])], schema=schema))
    w.close()
    assert capsys.readouterr().out == "a\n1\n2\n"


def test_bad_cell_names_file_row_and_column(tmp_path):
    path = write(tmp_path, "bad.csv", "a,b\n1,2\n3,4\n5,oops\n7,8\n")
    schema = pa.schema([("a", pa.int64()), ("b", pa.int64())])
    with pytest.raises(RecordError) as e:
        list(io.read_batches("csv", path, schema, 2))
    assert (e.value.file, e.value.row, e.value.column) == (path, 3, "b")
    assert "'oops'" in str(e.value) and "bigint" in str(e.value)


def test_bad_timestamp_and_bad_timestamptz(tmp_path):
    path = write(tmp_path, "t.csv", "ts\n2026-03-01 12:00:00\n2026-02-30 00:00:00\n")
    with pytest.raises(RecordError) as e:
        list(io.read_batches("csv", path, pa.schema([("ts", pa.timestamp("us"))]), 10))
    assert (e.value.row, e.value.column) == (2, "ts")
    with pytest.raises(RecordError) as e:
        list(io.read_batches("csv", path, pa.schema([("ts", pa.timestamp("us", "UTC"))]), 10))
    assert (e.value.row, e.value.column) == (2, "ts")


def test_missing_column_and_short_row(tmp_path):
    path = write(tmp_path, "m.csv", "a,b\n1,2\n3\n")
    with pytest.raises(RecordError, match="missing column") as e:
        list(io.read_batches("csv", path, pa.schema([("a", pa.int64()), ("c", pa.int64())]), 10))
    assert e.value.column == "c"
    with pytest.raises(RecordError, match="expected 2 fields, got 1") as e:
        list(io.read_batches("csv", path, pa.schema([("a", pa.int64()), ("b", pa.int64())]), 10))
    assert e.value.row == 2


def test_jsonl_reads_types_and_reports_bad_line(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"a": 1, "ts": "2026-03-01 12:00:00.5", "d": 1.25, "extra": true}\n'
                                      '{"a": null}\n')
    schema = pa.schema([("a", pa.int64()), ("ts", pa.timestamp("us")), ("d", pa.decimal128(5, 2))])
    t = io.read_table("jsonl", path, schema)
    assert t.to_pylist() == [{"a": 1, "ts": dt.datetime(2026, 3, 1, 12, 0, 0, 500000), "d": decimal.Decimal("1.25")},
                             {"a": None, "ts": None, "d": None}]
    bad = write(tmp_path, "b.jsonl", '{"a": 1}\n{"a": "x"}\n')
    with pytest.raises(RecordError) as e:
        list(io.read_batches("jsonl", bad, pa.schema([("a", pa.int64())]), 10))
    assert (e.value.row, e.value.column) == (2, "a")


def test_rebatch_across_blocks():
    schema = pa.schema([("x", pa.int64())])
    parts = [pa.record_batch([pa.array(range(a, b))], schema=schema) for a, b in [(0, 3), (3, 4), (4, 11)]]
    out = list(io.rebatch(parts, 4, schema))
    assert [b.num_rows for b in out] == [4, 4, 3]
    assert pa.Table.from_batches(out).column("x").to_pylist() == list(range(11))


def test_csv_skip_mode_drops_and_reports_bad_records(tmp_path):
    path = write(tmp_path, "s.csv", "a,b\n1,2\n3,x\n4\n5,6\ny,z\n7,8\n")
    seen = []
    schema = pa.schema([("a", pa.int64()), ("b", pa.int64())])
    t = pa.Table.from_batches(list(io.read_batches("csv", path, schema, 2, {"on_error": seen.append})), schema)
    assert t.to_pydict() == {"a": [1, 5, 7], "b": [2, 6, 8]}
    bad = pa.Table.from_batches(seen).to_pylist()
    assert [(r["_row"], r["_column"]) for r in bad] == [(2, "b"), (3, None), (5, "a")]
    assert "'x'" in bad[0]["_error"] and "'y'" in bad[2]["_error"]
