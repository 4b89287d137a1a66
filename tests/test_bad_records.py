"""on_error fail / skip / into for csv, jsonl and parquet inputs, on the local and DataFusion targets:
every format x every failure kind. Both targets must see the same good rows and write the same bad
records (runtime/records.py defines the error schema)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flowc.compiler.diagnostics import Code, FlowError
from flowc.runtime import io
from flowc.runtime.records import error_schema

from flowc.pipeline import parse_text, run, to_ir

TARGETS = ("local", "datafusion")
GOOD = [  # (auction, price, date_time) of the rows every case keeps
    (1, 10, "2026-03-01 12:00:00"),
    (2, 20, "2026-03-01 12:00:01"),
    (3, 30, "2026-03-01 12:00:02"),
]


def program(tmp: Path, kind: str, policy: str):
    on_error = {"fail": "on_error fail", "skip": "on_error skip",
                "into": "on_error into csv('out/bad.csv')"}[policy]
    text = f"""
source bids (auction bigint, price bigint, date_time timestamp)
from {kind}('bids.{kind}')
event_time date_time watermark 5s
{on_error}

view v = bids | where price >= 0

sink v into csv('out/v.csv')
"""
    return to_ir(parse_text(text, str(tmp / "p.flow")))


# ---------------------------------------------------------------- inputs: the good rows with one bad record
# inserted as record 2. Each maker returns (bad column or None, a fragment of the reason).


def csv_text(tmp: Path, header: str, bad_line: str | None) -> None:
    lines = [header] + [f"{a},{p},{t}" for a, p, t in GOOD]
    if bad_line is not None:
        lines.insert(2, bad_line)
    (tmp / "bids.csv").write_text("\n".join(lines) + "\n")


def jsonl_text(tmp: Path, bad_line: str | None, drop_key: str | None = None) -> None:
    rows = [{"auction": a, "price": p, "date_time": t} for a, p, t in GOOD]
    if drop_key:
        for r in rows:
            r.pop(drop_key)
    lines = [json.dumps(r) for r in rows]
    if bad_line is not None:
        lines.insert(1, bad_line)
    (tmp / "bids.jsonl").write_text("\n".join(lines) + "\n")


def parquet_file(tmp: Path, auction: list, price: list, ts: list, drop: str | None = None) -> None:
    cols = {"auction": auction, "price": price, "date_time": ts}
    if drop:
        cols.pop(drop)
    pq.write_table(pa.table(cols), tmp / "bids.parquet")


def _ts(i: int) -> str:
    return GOOD[i][2]


CASES = {
    # kind: failure -> writer(tmp) returning (column, reason fragment, raw text or None)
    ("csv", "malformed cell"): lambda t: (csv_text(t, "auction,price,date_time", "9,12,2026-02-30 00:00:00"),
                                          ("date_time", "cannot read '2026-02-30 00:00:00' as timestamp", None)),
    ("csv", "wrong type"): lambda t: (csv_text(t, "auction,price,date_time", "9,12.5,2026-03-01 12:00:00"),
                                      ("price", "cannot read '12.5' as bigint", None)),
    ("csv", "short row"): lambda t: (csv_text(t, "auction,price,date_time", "9,12"),
                                     (None, "expected 3 fields, got 2", "9,12")),
    ("csv", "long row"): lambda t: (csv_text(t, "auction,price,date_time", "9,12,2026-03-01 12:00:00,x"),
                                    (None, "expected 3 fields, got 4", "9,12,2026-03-01 12:00:00,x")),
    ("jsonl", "malformed cell"): lambda t: (
        jsonl_text(t, '{"auction": 9, "price": 12, "date_time": "yesterday"}'),
        ("date_time", "cannot read 'yesterday' as timestamp", None)),
    ("jsonl", "wrong type"): lambda t: (jsonl_text(t, '{"auction": 9, "price": "twelve", "date_time": null}'),
                                        ("price", "cannot read 'twelve' as bigint", None)),
    ("jsonl", "short row"): lambda t: (jsonl_text(t, '{"auction": 9, "price": 1'),
                                       (None, "not valid JSON", '{"auction": 9, "price": 1')),
    ("jsonl", "not an object"): lambda t: (jsonl_text(t, "[9, 12]"), (None, "one JSON object", "[9, 12]")),
    ("parquet", "malformed cell"): lambda t: (
        parquet_file(t, [1, 9, 2, 3], [10, 12, 20, 30], [_ts(0), "nope", _ts(1), _ts(2)]),
        ("date_time", "cannot read 'nope' as timestamp", None)),
    ("parquet", "wrong type"): lambda t: (
        parquet_file(t, [1, 9, 2, 3], [10.0, 12.5, 20.0, 30.0], [_ts(0), _ts(0), _ts(1), _ts(2)]),
        ("price", "cannot read 12.5 as bigint", None)),
    ("parquet", "out of range"): lambda t: (
        parquet_file(t, ["1", "99999999999999999999", "2", "3"], [10, 12, 20, 30], [_ts(0), _ts(0), _ts(1), _ts(2)]),
        ("auction", "as bigint", None)),
}


def good_rows(res) -> list[tuple]:
    t = res.tables["v"]
    return sorted((r["auction"], r["price"], str(r["date_time"])) for r in t.to_pylist())


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", sorted(CASES), ids=lambda c: f"{c[0]}-{c[1].replace(' ', '_')}")
def test_fail_names_file_row_column_and_reason(tmp_path, case, target):
    kind, _ = case
    column, reason, _ = CASES[case](tmp_path)[1]
    prog = program(tmp_path, kind, "fail")
    with pytest.raises(FlowError) as e:
        run(prog, target, batch_size=2)
    d = e.value.first
    assert d.code == Code.BAD_RECORD
    assert f"bids.{kind}" in d.message and "row 2" in d.message and reason in d.message
    if column is not None:
        assert f"column '{column}'" in d.message


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", sorted(CASES), ids=lambda c: f"{c[0]}-{c[1].replace(' ', '_')}")
def test_skip_counts_and_keeps_the_good_rows(tmp_path, case, target):
    kind, _ = case
    CASES[case](tmp_path)
    res = run(program(tmp_path, kind, "skip"), target, batch_size=2, collect=True)
    assert good_rows(res) == [(a, p, t) for a, p, t in GOOD]
    assert res.sources[0].skipped == 1
    assert "1 skipped" in res.summary()
    assert not (tmp_path / "out" / "bad.csv").exists()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", sorted(CASES), ids=lambda c: f"{c[0]}-{c[1].replace(' ', '_')}")
def test_into_writes_the_raw_record_and_the_reason(tmp_path, case, target):
    kind, _ = case
    column, reason, raw = CASES[case](tmp_path)[1]
    res = run(program(tmp_path, kind, "into"), target, batch_size=1, collect=True)
    assert good_rows(res) == [(a, p, t) for a, p, t in GOOD]
    assert res.sources[0].skipped == 1
    bad = read_csv(tmp_path / "out" / "bad.csv")
    assert list(bad[0]) == ["auction", "price", "date_time", "_row", "_column", "_error", "_raw"]
    assert len(bad) == 1
    rec = bad[0]
    assert rec["_row"] == "2" and rec["_column"] == (column or "") and reason in rec["_error"]
    assert rec["_raw"] == (raw or "")
    if raw is None:  # the record could be split into fields: its columns hold the values as read
        assert rec["auction"] in ("9", "99999999999999999999")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("policy", ["fail", "skip", "into"])
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_column_missing_from_the_file_fails_under_every_policy(tmp_path, kind, policy, target):
    if kind == "csv":
        csv_text(tmp_path, "auction,cost,date_time", None)
    else:
        parquet_file(tmp_path, [1, 2, 3], [10, 20, 30], [_ts(0), _ts(1), _ts(2)], drop="price")
    with pytest.raises(FlowError) as e:
        run(program(tmp_path, kind, policy), target)
    msg = str(e.value)
    assert "missing column" in msg and "price" in msg


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_a_key_missing_from_jsonl_objects_is_null_not_an_error(tmp_path, policy, target):
    jsonl_text(tmp_path, None, drop_key="price")
    res = run(program(tmp_path, "jsonl", policy), target, collect=True)
    # `where price >= 0` is not true for null: no row passes, and nothing is skipped
    assert res.tables["v"].num_rows == 0 and res.sources[0].skipped == 0 and res.sources[0].rows_in == 3


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_many_bad_records_in_file_order_and_batch_independent(tmp_path, kind):
    """Every 7th record bad: the lenient readers find them all, in order, with the right numbers,
    whatever the batch size, and the good rows are exactly the others."""
    n = 1000
    bad = {i for i in range(n) if i % 7 == 3}
    if kind == "csv":
        lines = ["a,b"] + [f"{i},{'x' if i in bad else i}" for i in range(n)]
        (tmp_path / "f.csv").write_text("\n".join(lines) + "\n")
    elif kind == "jsonl":
        lines = [json.dumps({"a": i, "b": "x" if i in bad else i}) for i in range(n)]
        (tmp_path / "f.jsonl").write_text("\n".join(lines) + "\n")
    else:
        pq.write_table(pa.table({"a": list(range(n)), "b": ["x" if i in bad else str(i) for i in range(n)]}),
                       tmp_path / "f.parquet", row_group_size=64)
    schema = pa.schema([("a", pa.int64()), ("b", pa.int64())])
    for batch_size in (1, 7, 10_000):
        seen: list[pa.RecordBatch] = []
        got = pa.Table.from_batches(list(io.read_batches(kind, str(tmp_path / f"f.{kind}"), schema, batch_size,
                                                         {"on_error": seen.append})), schema)
        assert got.column("a").to_pylist() == [i for i in range(n) if i not in bad]
        errs = pa.Table.from_batches(seen, error_schema(schema))
        assert errs.column("_row").to_pylist() == [i + 1 for i in sorted(bad)]
        assert set(errs.column("_column").to_pylist()) == {"b"}


def test_error_schema_clash_is_a_compile_error(tmp_path):
    text = """
source s (_row bigint) from csv('s.csv') on_error into csv('bad.csv')
view v = s | where _row > 0
sink v into csv('out.csv')
"""
    (tmp_path / "s.csv").write_text("_row\n1\n")
    prog = to_ir(parse_text(text, str(tmp_path / "p.flow")))
    for target in TARGETS:
        with pytest.raises(FlowError, match="_row"):
            run(prog, target)


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_fail_and_skip_readers_accept_the_same_values(tmp_path, kind):
    """The fast typed reader (fail) and the lenient one (skip / into) agree on what is a good value:
    numbers with surrounding spaces, exponents, ISO timestamps with 'T' or fractions."""
    values = [(" 12", "2026-03-01T12:00:00", " 1.5"), ("3", "2026-03-01 12:00:00.25", "1e3"),
              ("-0", "2026-03-01", "-2")]
    schema = pa.schema([("a", pa.int64()), ("t", pa.timestamp("us")), ("f", pa.float64())])
    if kind == "csv":
        (tmp_path / "f.csv").write_text("a,t,f\n" + "".join(f"{a},{t},{f}\n" for a, t, f in values))
    else:
        (tmp_path / "f.jsonl").write_text("".join(json.dumps({"a": int(a), "t": t, "f": float(f)}) + "\n"
                                                  for a, t, f in values))
    path = str(tmp_path / f"f.{kind}")
    strict = io.read_table(kind, path, schema)
    seen: list = []
    lenient = io.read_table(kind, path, schema, {"on_error": seen.append})
    assert not seen and lenient.equals(strict) and strict.num_rows == 3
