"""Nothing half-written (issue 12): a sink's file appears or is replaced only when the run completes;
a failed, interrupted or killed run leaves the previous output as it was (runtime/io.py AtomicFile)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

FLOWC = [sys.executable, "-m", "flowc"]


def _program(tmp: Path, kind: str, rows: int = 20_000, bad_at: int | None = None) -> Path:
    lines = ["k,v"] + [f"{i % 7},{'x' if i == bad_at else i}" for i in range(rows)]
    (tmp / "in.csv").write_text("\n".join(lines) + "\n")
    ext = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[kind]
    (tmp / "p.flow").write_text(
        "source s (k bigint, v bigint) from csv('in.csv') on_error fail\n"
        "view big = s | where v >= 0\n"
        f"sink big into {kind}('out/big.{ext}')\n")
    return tmp / "out" / f"big.{ext}"


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_a_failed_run_leaves_the_previous_output_untouched(tmp_path: Path, kind: str) -> None:
    out = _program(tmp_path, kind)
    subprocess.run([*FLOWC, "run", str(tmp_path / "p.flow")], check=True, capture_output=True)
    good = out.read_bytes()
    _program(tmp_path, kind, bad_at=15_000)  # a bad record at row 15,000 with on_error fail
    failed = subprocess.run([*FLOWC, "run", str(tmp_path / "p.flow")], capture_output=True, text=True)
    assert failed.returncode == 1 and "bad record" in failed.stderr and "Traceback" not in failed.stderr
    assert out.read_bytes() == good
    assert sorted(os.listdir(out.parent)) == [out.name]  # no temporary file left behind


def test_a_first_run_that_fails_writes_no_file(tmp_path: Path) -> None:
    out = _program(tmp_path, "csv", bad_at=15_000)
    failed = subprocess.run([*FLOWC, "run", str(tmp_path / "p.flow")], capture_output=True, text=True)
    assert failed.returncode == 1
    assert not out.exists() and os.listdir(out.parent) == []


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_kill_9_at_random_points_never_leaves_a_half_written_sink(tmp_path: Path, kind: str) -> None:
    """A paced generator makes the run last seconds; SIGKILL at random points: the sink is always
    the previous complete output (readable, byte for byte), and the next run cleans up."""
    ext = "csv" if kind == "csv" else "parquet"
    (tmp_path / "p.flow").write_text(
        "source bid (auction bigint, bidder bigint, price bigint, channel string, url string,\n"
        "            date_time timestamp, extra string)\n"
        "from nexmark(table = 'bid', events = env('N'), rate = 20000, seed = 3)\n"
        "view q = bid | where price > 0 | select auction, price\n"
        f"sink q into {kind}('out/q.{ext}')\n")
    out = tmp_path / "out" / f"q.{ext}"
    env = dict(os.environ, N="2000")
    subprocess.run([*FLOWC, "run", str(tmp_path / "p.flow")], check=True, capture_output=True, env=env)
    good = out.read_bytes()
    rng = random.Random(7)
    env["N"] = "60000"  # about 3 s at 20,000 events/s
    for _ in range(4):
        proc = subprocess.Popen([*FLOWC, "run", str(tmp_path / "p.flow")], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert out.read_bytes() == good
        if kind == "parquet":
            assert pq.read_table(out).num_rows > 0
    env["N"] = "2000"
    subprocess.run([*FLOWC, "run", str(tmp_path / "p.flow")], check=True, capture_output=True, env=env)
    assert out.read_bytes() == good  # the same program, the same rows
    assert sorted(os.listdir(out.parent)) == [out.name]  # the killed runs' leftovers removed


@pytest.mark.parametrize("target", ["local", "datafusion", "postgres"])
def test_kill_9_of_a_file_run_on_every_target_keeps_every_sink_whole(target: str) -> None:
    """Issue 12, on each target that writes files (flowc/testing/kill.py; its long run is in
    docs/TESTING.md): two sinks over a file read for a second or more, inputs alternating between two
    versions; after each SIGKILL at a random moment both sinks are exactly the last complete output."""
    if target == "postgres":
        from support import need_postgres

        need_postgres()
    from flowc.testing.kill import run_kills

    tally = run_kills(target, kills=4, seed=12)
    assert not tally.problems, tally.problems
    assert tally.killed + tally.finished == 4


def test_ctrl_c_keeps_the_previous_output(tmp_path: Path) -> None:
    (tmp_path / "p.flow").write_text(
        "source bid (auction bigint, bidder bigint, price bigint, channel string, url string,\n"
        "            date_time timestamp, extra string)\n"
        "from nexmark(table = 'bid', events = env('N'), rate = 20000, seed = 3)\n"
        "view q = bid | select auction, price\n"
        "sink q into jsonl('out/q.jsonl')\n")
    out = tmp_path / "out" / "q.jsonl"
    env = dict(os.environ, N="1000")
    subprocess.run([*FLOWC, "run", str(tmp_path / "p.flow")], check=True, capture_output=True, env=env)
    good = out.read_bytes()
    env["N"] = "60000"
    proc = subprocess.Popen([*FLOWC, "run", str(tmp_path / "p.flow")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err
    assert out.read_bytes() == good
    assert sorted(os.listdir(out.parent)) == [out.name]


def test_two_sinks_into_one_file_or_into_an_input_are_compile_errors(tmp_path: Path) -> None:
    (tmp_path / "p.flow").write_text(
        "source s (k bigint, v bigint) from csv('in.csv')\n"
        "view a = s | where v > 0\nview b = s | where v < 0\n"
        "sink a into csv('out/x.csv')\nsink b into csv('./out/x.csv')\nsink a into csv('in.csv')\n")
    out = subprocess.run([*FLOWC, "check", str(tmp_path / "p.flow")], capture_output=True, text=True)
    assert out.returncode == 1
    assert "p.flow:5:13: error[F0209]: the sink of 'b' and the sink of 'a' write the same file" in out.stderr
    assert "p.flow:6:13: error[F0209]: the sink of 'a' writes 'in.csv', which 's' reads" in out.stderr


def test_a_byte_order_mark_starts_a_program(tmp_path: Path) -> None:
    (tmp_path / "p.flow").write_bytes(b"\xef\xbb\xbfsource s (k bigint) from csv('in.csv')\n")
    out = subprocess.run([*FLOWC, "check", str(tmp_path / "p.flow")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
