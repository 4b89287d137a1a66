"""Smoke test of the Nexmark benchmark suite (benchmarks/): every query runs on a small event count
on the local runtime and on DataFusion, and their results agree. No timing is asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 20_000


def _runner():
    spec = importlib.util.spec_from_file_location("flowc_bench_run", ROOT / "benchmarks" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


run = _runner()


def _read(path) -> pa.Table:
    return pa.ipc.open_file(str(path)).read_all()


@pytest.mark.parametrize("query", run.ALL_QUERIES)
def test_query_agrees_between_local_and_datafusion(query, tmp_path, monkeypatch):
    monkeypatch.setenv("NEXMARK_EVENTS", str(EVENTS))
    monkeypatch.setenv("NEXMARK_SEED", "11")
    loc = run.worker_local(query, 4096, str(tmp_path / "l.arrow"), None, state=True)
    df = run.worker_datafusion(query, str(tmp_path / "d.arrow"))
    assert loc["rows_in"] == df["rows_in"] and sum(loc["rows_in"].values()) > 0
    assert loc["late"] == df["late"] == 0  # max_delay 1s under a 2s watermark: nothing is late
    ok, why = run.same_results(_read(tmp_path / "l.arrow"), _read(tmp_path / "d.arrow"))
    assert ok, why
    assert loc["rows_out"] > 0, "the query should produce rows even on a small event count"


def test_local_results_do_not_depend_on_batch_size(tmp_path, monkeypatch):
    monkeypatch.setenv("NEXMARK_EVENTS", str(EVENTS))
    run.worker_local("q5", 333, str(tmp_path / "a.arrow"), None, state=False)
    run.worker_local("q5", 10_000, str(tmp_path / "b.arrow"), None, state=False)
    ok, why = run.same_results(_read(tmp_path / "a.arrow"), _read(tmp_path / "b.arrow"))
    assert ok, why


def test_consolidation_nets_out_retractions():
    t = pa.table({"_op": ["+", "+", "-", "+"], "x": [1, 2, 1, 3]})
    assert run.consolidate(t).column("x").to_pylist() == [2, 3]
    ok, _ = run.same_results(t, pa.table({"x": [3, 2]}))
    assert ok
    bad, _ = run.same_results(t, pa.table({"x": [3, 1]}))
    assert not bad


def test_runner_command_line_prints_one_line_per_query(tmp_path):
    import subprocess

    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--events", "5000",
                          "--queries", "q2,q7", "--batch-size", "1000"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("q2 ") and line.rstrip().endswith("yes") for line in lines), out.stdout
    assert any(line.startswith("q7 ") and line.rstrip().endswith("yes") for line in lines), out.stdout
