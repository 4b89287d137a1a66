"""Hostile and broken input files are diagnostics, never internal errors (issue 12): exit 1, the
connector's file:line:col, what is wrong and where in the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import need_postgres

FLOWC = [sys.executable, "-m", "flowc"]


def _run(tmp: Path, source: str, target: str) -> subprocess.CompletedProcess:
    (tmp / "p.flow").write_text(f"{source}\nview a = s | where k > 0\nsink a into csv('out/a.csv')\n")
    return subprocess.run([*FLOWC, "run", "--target", target, str(tmp / "p.flow")], capture_output=True, text=True)


@pytest.mark.parametrize("target", ["local", "datafusion"])
@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_a_header_that_is_not_utf8_is_named_with_its_line(tmp_path: Path, target: str, policy: str) -> None:
    (tmp_path / "in.csv").write_bytes(b"k,v\xff\n1,2\n")
    out = _run(tmp_path, f"source s (k bigint, v string) from csv('in.csv') on_error {policy}", target)
    assert out.returncode == 1, out.stderr
    assert "internal error" not in out.stderr and "Traceback" not in out.stderr
    assert "p.flow:1:36: error[F0402]" in out.stderr
    assert "not UTF-8 text: byte 0xff at line 1" in out.stderr




TEXT_FILES = {  # a record whose declared text holds a byte that is not UTF-8, in the third record
    "csv": b"k,v\n1,a\n2,b\n3,\xffz\n4,d\n",
    "jsonl": b'{"k": 1, "v": "a"}\n{"k": 2, "v": "b"}\n{"k": 3, "v": "\xffz"}\n{"k": 4, "v": "d"}\n',
}


@pytest.mark.parametrize("target", ["local", "datafusion", "postgres"])
@pytest.mark.parametrize("kind", sorted(TEXT_FILES))
def test_a_record_that_is_not_utf8_is_one_bad_record_under_every_policy(tmp_path: Path, target: str,
                                                                         kind: str) -> None:
    """Issue 12: the byte is a bad record (its number, column, the byte), never a failed file under
    skip/into nor a raw byte passed to the output: the same record under every policy."""
    if target == "postgres":
        need_postgres()
    (tmp_path / f"in.{kind}").write_bytes(TEXT_FILES[kind])
    source = f"source s (k bigint, v string) from {kind}('in.{kind}')"
    failed = _run(tmp_path, source + " on_error fail", target)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert f"in.{kind}, row 3, column 'v': not UTF-8 text: byte 0xff at byte 1 of the value" \
        in failed.stderr
    skipped = _run(tmp_path, source + " on_error skip", target)
    assert skipped.returncode == 0, skipped.stderr
    assert "3 rows in, 0 late, 1 skipped" in skipped.stderr
    assert (tmp_path / "out" / "a.csv").read_bytes() == b"k,v\n1,a\n2,b\n4,d\n"
    into = _run(tmp_path, source + " on_error into csv('out/bad.csv')", target)
    assert into.returncode == 0, into.stderr
    bad = (tmp_path / "out" / "bad.csv").read_text(encoding="utf-8").splitlines()
    assert bad == ["k,v,_row,_column,_error,_raw",
                   "3,\ufffdz,3,v,not UTF-8 text: byte 0xff at byte 1 of the value,"]


@pytest.mark.parametrize("target", ["local", "datafusion"])
@pytest.mark.parametrize("content, why", [(b"", "size is 0 bytes"), (b"not parquet at all", "magic bytes"),
                                          (b"PAR1\x00\x00\x00\x00PAR1", "")])
def test_a_file_that_is_not_parquet_is_a_diagnostic(tmp_path: Path, target: str, content: bytes, why: str) -> None:
    (tmp_path / "in.parquet").write_bytes(content)
    out = _run(tmp_path, "source s (k bigint, v string) from parquet('in.parquet')", target)
    assert out.returncode == 1, out.stderr
    assert "internal error" not in out.stderr and "Traceback" not in out.stderr
    assert "error[F0402]: cannot read" in out.stderr and "not a readable Parquet file" in out.stderr
    assert why in out.stderr


def test_a_truncated_parquet_file_is_a_diagnostic(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"k": list(range(1000)), "v": [str(i) for i in range(1000)]}), tmp_path / "in.parquet")
    data = (tmp_path / "in.parquet").read_bytes()
    (tmp_path / "in.parquet").write_bytes(data[: len(data) // 2])
    out = _run(tmp_path, "source s (k bigint, v string) from parquet('in.parquet')", "local")
    assert out.returncode == 1 and "not a readable Parquet file" in out.stderr, out.stderr


def test_a_password_in_a_connector_is_masked_in_explain_graph_and_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "p.flow").write_text(
        "source s (k bigint) from postgres(dsn = 'postgresql://u:hunter2@h/db', table = 't')\n"
        "view a = s | where k > 0\n")
    (tmp_path / "bad.flow").write_text(
        "source s (k bigint) from postgres(dsn = 'host=h password=hunter2 user=u', table = 't', bogus = 1)\n")
    runs = [subprocess.run([*FLOWC, *cmd], capture_output=True, text=True) for cmd in (
        ["explain", str(tmp_path / "p.flow")], ["graph", str(tmp_path / "p.flow")],
        ["explain", "--stage", "ast", str(tmp_path / "p.flow")], ["check", str(tmp_path / "bad.flow")])]
    for r in runs:
        assert "hunter2" not in r.stdout + r.stderr, r
    assert "postgresql://u:*******@h/db" in runs[0].stdout
    bad = runs[-1].stderr
    quoted, carets = bad.split("\n")[1:3]
    assert "password=*******" in quoted
    assert carets.index("^") == quoted.index("bogus")  # masking kept the caret under the argument


def _chain(tmp: Path, n: int, jsonl: bool = False) -> Path:
    (tmp / "s.csv").write_text("k,ts\n7,2026-01-01 00:00:00\n")
    terms = " or ".join(f"k = {i}" for i in range(n))
    sink = "jsonl('out/a.jsonl')" if jsonl else "csv('out/a.csv')"
    (tmp / "p.flow").write_text(f"source s (k bigint, ts timestamp) from csv('s.csv')\nview a = s | where {terms}\n"
                                f"sink a into {sink}\n")
    return tmp / "p.flow"


@pytest.mark.parametrize("target", ["local", "datafusion", "postgres"])
def test_a_filter_of_600_or_terms_runs(tmp_path: Path, target: str) -> None:
    from flowc.testing.differential import postgres_reason

    if target == "postgres" and postgres_reason() is not None:
        pytest.skip(postgres_reason())
    out = subprocess.run([*FLOWC, "run", "--target", target, str(_chain(tmp_path, 600))], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "a.csv").read_text().splitlines()[1].startswith("7,")


@pytest.mark.parametrize("target", ["risingwave", "flink"])
def test_a_filter_of_600_or_terms_compiles(tmp_path: Path, target: str) -> None:
    out = subprocess.run([*FLOWC, "compile", "--target", target, str(_chain(tmp_path, 600, jsonl=True))],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "k = 599" in out.stdout or "`k` = 599" in out.stdout


def test_a_chain_too_deep_for_any_stack_is_a_diagnostic(tmp_path: Path) -> None:
    out = subprocess.run([*FLOWC, "run", str(_chain(tmp_path, 20_000))], capture_output=True, text=True)
    assert out.returncode == 1 and "nests too deeply" in out.stderr and "internal error" not in out.stderr


def test_out_of_range_literals_are_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "a.flow").write_text("source s (k bigint) from csv('s.csv')\nview a = s | where k > " + "9" * 5000 + "\n")
    (tmp_path / "b.flow").write_text("source s (k bigint, ts timestamp) from csv('s.csv')\n"
                                     "event_time ts watermark 999999999999999999999999999999d\n")
    a = subprocess.run([*FLOWC, "check", str(tmp_path / "a.flow")], capture_output=True, text=True)
    b = subprocess.run([*FLOWC, "check", str(tmp_path / "b.flow")], capture_output=True, text=True)
    assert a.returncode == 1 and "a.flow:2:24: error[F0204]: integer literal of 5000 digits is out of range" in a.stderr
    assert b.returncode == 1 and "b.flow:2:25: error[F0104]: duration '999999999999999999999999999999d' is out of range" \
        in b.stderr


@pytest.mark.parametrize("code, where, what", [
    ("x = 1\ndef broken(:\n    pass\n", "p.py:2:12: error[F0101]", "Python SyntaxError: invalid syntax"),
    ("import no_such_module_xyz\n", "p.py:1:1: error[F0402]", "raised ModuleNotFoundError"),
    ("import flowc\nflowc.no_such_thing()\n", "p.py:2:1: error[F0402]", "raised AttributeError"),
    ("def f():\n    return 1 / 0\n\nf()\n", "p.py:2:12: error[F0402]", "raised ZeroDivisionError"),
])
def test_a_python_pipelines_own_errors_point_into_its_file(tmp_path: Path, code: str, where: str, what: str) -> None:
    (tmp_path / "p.py").write_text(code)
    out = subprocess.run([*FLOWC, "check", str(tmp_path / "p.py")], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    assert where in out.stderr and what in out.stderr and "internal error" not in out.stderr


@pytest.mark.parametrize("policy", ["fail", "skip", "into"])
def test_a_jsonl_record_is_bad_or_good_whatever_the_policy(tmp_path: Path, policy: str) -> None:
    """One rule for every policy (records.json_value_problem): a number where a timestamp is declared
    and an int out of range are bad records with a 1-based row, the column and the reason."""
    (tmp_path / "in.jsonl").write_text('{"k": 1, "ts": "2026-01-01 00:00:00"}\n{"k": 2, "ts": 12345}\n'
                                       '{"k": 3000000000, "ts": "2026-01-01 00:00:01"}\n')
    on_error = "into jsonl('out/bad.jsonl')" if policy == "into" else policy
    (tmp_path / "p.flow").write_text(f"source s (k int, ts timestamp) from jsonl('in.jsonl') on_error {on_error}\n"
                                     "view a = s | where k > 0\nsink a into csv('out/a.csv')\n")
    out = subprocess.run([*FLOWC, "run", str(tmp_path / "p.flow")], capture_output=True, text=True)
    if policy == "fail":
        assert out.returncode == 1
        assert "row 2, column 'ts': a number where a timestamp is declared" in out.stderr
        return
    assert out.returncode == 0, out.stderr
    assert "1 rows in, 0 late, 2 skipped" in out.stderr
    assert (tmp_path / "out" / "a.csv").read_text().splitlines()[1:] == ["1,2026-01-01 00:00:00.000000"]
    if policy == "into":
        import json

        bad = [json.loads(x) for x in (tmp_path / "out" / "bad.jsonl").read_text().splitlines()]
        assert [(b["_row"], b["_column"]) for b in bad] == [(2, "ts"), (3, "k")]
        assert bad[1]["_error"] == "3000000000 is out of range for int"


def test_state_that_grows_with_the_stream_is_warned_and_can_be_bounded(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("k,v\n" + "".join(f"{i},{i}\n" for i in range(30_000)))
    (tmp_path / "p.flow").write_text("source s (k bigint, v bigint) from csv('s.csv')\n"
                                     "view per_k = s | aggregate n = count() by k\n"
                                     "view keys = s | distinct k\n"
                                     "sink per_k into csv('out/pk.csv')\n")
    check = subprocess.run([*FLOWC, "check", str(tmp_path / "p.flow")], capture_output=True, text=True)
    assert check.returncode == 0
    assert "p.flow:2:18: warning[W0902]: view 'per_k': this aggregate keeps a row per k forever" in check.stderr
    assert "p.flow:3:17: warning[W0902]: view 'keys': this distinct remembers every k" in check.stderr
    run = subprocess.run([*FLOWC, "run", "--batch-size", "1000", "--max-state-rows", "5000", str(tmp_path / "p.flow")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "error[F0403]: stopped: the state of view" in run.stderr
    assert "over --max-state-rows 5000" in run.stderr and not (tmp_path / "out" / "pk.csv").exists()
    ok = subprocess.run([*FLOWC, "run", str(tmp_path / "p.flow")], capture_output=True, text=True)
    assert ok.returncode == 0 and "state per_k.aggregate" in ok.stderr and "peak 30000 rows" in ok.stderr


@pytest.mark.parametrize("policy", ["skip", "into"])
def test_the_postgres_target_keeps_on_error_skip_and_into(tmp_path: Path, policy: str) -> None:
    """Issue 12: it refused at run time after `check` said ok; now it reads as DataFusion does."""
    from flowc.testing.differential import postgres_reason

    if postgres_reason() is not None:
        pytest.skip(postgres_reason())
    (tmp_path / "in.csv").write_text("k,v\n1,2\nx,3\n4,5\n")
    on_error = "into csv('out/bad.csv')" if policy == "into" else "skip"
    (tmp_path / "p.flow").write_text(f"source s (k bigint, v bigint) from csv('in.csv') on_error {on_error}\n"
                                     "view a = s | where k > 0\nsink a into csv('out/a.csv')\n")
    out = subprocess.run([*FLOWC, "run", "--target", "postgres", str(tmp_path / "p.flow")], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert "2 rows in, 0 late, 1 skipped" in out.stderr
    assert (tmp_path / "out" / "a.csv").read_text() == "k,v\n1,2\n4,5\n"
    if policy == "into":
        assert (tmp_path / "out" / "bad.csv").read_text().splitlines()[1] == "x,3,2,k,cannot read 'x' as bigint,"


@pytest.mark.parametrize("target", ["local", "datafusion"])
@pytest.mark.parametrize("policy", ["fail", "skip", "into"])
def test_found_by_the_fuzzer(tmp_path: Path, target: str, policy: str) -> None:
    """A JSONL line ` null}` crashed the process (SIGSEGV in pyarrow 26's JSON reader); a CSV of its
    header alone, without a newline, was an ArrowInvalid under skip and into."""
    on_error = "into jsonl('out/bad.jsonl')" if policy == "into" else policy
    (tmp_path / "in.jsonl").write_bytes(b'{"k": 1, "v": 10}\n{"k": 3, "v": null, "ts":\n null}\n')
    (tmp_path / "in.csv").write_bytes(b"k,v,ts")
    for kind in ("jsonl", "csv"):
        (tmp_path / "p.flow").write_text(
            f"source s (k bigint, v int, ts timestamp) from {kind}('in.{kind}') on_error {on_error}\n"
            "view a = s | where k > 0\nsink a into csv('out/a.csv')\n")
        out = subprocess.run([*FLOWC, "run", "--target", target, str(tmp_path / "p.flow")],
                             capture_output=True, text=True)
        assert out.returncode in (0, 1) and "internal error" not in out.stderr, out
        if kind == "csv":
            assert out.returncode == 0 and "0 rows in" in out.stderr
        elif policy == "fail":
            assert "row 2: not valid JSON" in out.stderr
        else:
            assert out.returncode == 0 and "1 rows in, 0 late, 2 skipped" in out.stderr, out.stderr


def test_found_by_the_100k_fuzz_run(tmp_path: Path) -> None:
    """A minus before a string connector argument was a TypeError; a column named `between` made the
    RisingWave target's quoting probe raise sqlglot's ParseError."""
    (tmp_path / "a.flow").write_text("source s (k bigint) from csv(-'s.csv')\n")
    a = subprocess.run([*FLOWC, "check", str(tmp_path / "a.flow")], capture_output=True, text=True)
    assert a.returncode == 1 and "a.flow:1:30: error[F0213]: connector arguments are literals" in a.stderr
    (tmp_path / "b.flow").write_text(
        "source bids (between bigint, channel string, ts timestamp) from kafka(topic = 't', brokers = 'b:9092')\n"
        "event_time ts watermark 5s\n"
        "view p = bids | window hop(ts, size = 10s, slide = 5s) | aggregate n = sum(between) by channel\n")
    b = subprocess.run([*FLOWC, "compile", "--target", "risingwave", str(tmp_path / "b.flow")],
                       capture_output=True, text=True)
    assert b.returncode == 0, b.stderr
    assert '"between" BIGINT' in b.stdout and 'SUM("between")' in b.stdout


@pytest.mark.parametrize("target", ["local", "datafusion"])
def test_a_row_with_too_many_fields_and_a_byte_that_is_not_utf8(tmp_path: Path, target: str) -> None:
    """Found by the fuzz run: Arrow's csv reader cannot hand such a row to its invalid-row handler
    (it decodes the text first) and gave up on the file; Python's csv module reads the rest."""
    rows = b"".join(b"%d,r%d\n" % (i, i) for i in range(1, 120_001))
    (tmp_path / "in.csv").write_bytes(b"k,v\n" + rows + b"7,\xff,extra\n" + rows)
    source = "source s (k bigint, v string) from csv('in.csv')"
    failed = _run(tmp_path, source + " on_error fail", target)
    assert failed.returncode == 1 and "row 120001: expected 2 fields, got 3" in failed.stderr, failed.stderr
    assert "Exception ignored" not in failed.stderr
    into = _run(tmp_path, source + " on_error into csv('out/bad.csv')", target)
    assert into.returncode == 0, into.stderr
    assert "240000 rows in, 0 late, 1 skipped" in into.stderr and "Exception ignored" not in into.stderr
    bad = (tmp_path / "out" / "bad.csv").read_text(encoding="utf-8").splitlines()
    assert bad[1] == '"7","\ufffd",120001,,"expected 2 fields, got 3","7,\ufffd,extra"'
    assert (tmp_path / "out" / "a.csv").read_bytes() == b"k,v\n" + rows + rows


def test_found_by_the_fuzz_run_of_2026_12_06() -> None:
    """A column named `join` made the RisingWave quoting probe fail (`SELECT join FROM t` reads as a
    join): every SQL keyword is either plain or quoted, never an exception."""
    from flowc.targets.risingwave.expressions import needs_quotes

    words = ["join", "left", "right", "inner", "outer", "cross", "natural", "full", "on", "using", "select", "from",
             "where", "group", "order", "by", "having", "limit", "offset", "union", "except", "intersect", "window",
             "over", "partition", "as", "with", "values", "table", "lateral", "unnest", "filter", "like", "ilike",
             "between", "case", "when", "then", "else", "end", "not", "and", "or", "is", "null", "true", "false"]
    for w in words:
        assert isinstance(needs_quotes(w), bool), w
    assert needs_quotes("join") and needs_quotes("select")
