"""Flink target, live: every example on a real Flink cluster (two TaskManagers, parallelism 2), the
semantic traps of ../shared/reference/flink.md kept as SEMANTICS.md says, each named difference of
docs/flink.md shown happening, the run's outputs and errors, `flowc flink`, and deploy.

The cluster is the session's (tests/conftest.py `flink_jobmanager`); without the flink extra or Java
these tests skip and say which is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from flowc.compiler.diagnostics import FlowError
from flowc.targets.flink import rest

from flowc import pipeline
from flowc.testing.differential import consolidate, table_rows

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["filter_project", "tumble", "changes", "hop", "interval_join", "session"]
S = 1_000_000
BASE = 1_772_366_400 * S  # 2026-03-01 12:00:00 UTC, after the epoch (W0919)


def run(text: str, files: dict[str, str], tmp_path: Path, jobmanager: str, **kw):
    """Run .flow text on Flink over files written to tmp_path; the result with every view collected."""
    for name, content in files.items():
        (tmp_path / name).write_text(textwrap.dedent(content).lstrip())
    path = tmp_path / "program.flow"
    path.write_text(textwrap.dedent(text))
    return pipeline.run(pipeline.to_ir(pipeline.load_program(str(path))), "flink", collect=True,
                        jobmanager=jobmanager, **kw)


def rows(result, view: str) -> list[tuple]:
    """A view's rows, a changelog (`_op` first) consolidated."""
    table = result.tables[view]
    got = table_rows(table)
    if table.schema.names[:1] == ["_op"]:
        got, problems = consolidate(got, changes=True)
        assert not problems, problems
    return sorted(got, key=repr)


def ts(seconds: float) -> int:
    return BASE + int(seconds * S)


# ---------------------------------------------------------------- the examples


def _copy_example(name: str, tmp_path: Path) -> Path:
    work = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, work, ignore=shutil.ignore_patterns("expected", "out"))
    return work


def _csv_rows(path: Path) -> dict[tuple, int]:
    """A CSV output consolidated (`_op` weights summed), as text tuples: the check the acceptance
    tool (../shared/tools/check_examples.py) makes, here in-process."""
    import csv

    with path.open(newline="") as f:
        reader = list(csv.DictReader(f))
    out: dict[tuple, int] = {}
    for r in reader:
        w = -1 if r.pop("_op", "+") == "-" else 1
        key = tuple(sorted((k, _norm(v)) for k, v in r.items()))
        out[key] = out.get(key, 0) + w
    return {k: w for k, w in out.items() if w}


def _norm(v: str):
    import datetime as dt

    for parse in (int, float, dt.datetime.fromisoformat):
        try:
            return parse(v)
        except ValueError:
            continue
    return v


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_on_flink(name: str, tmp_path: Path, flink_jobmanager: str) -> None:
    work = _copy_example(name, tmp_path)
    result = pipeline.run(pipeline.to_ir(pipeline.load_program(str(work / "program.flow"))), "flink",
                          jobmanager=flink_jobmanager)
    assert result.target == "flink"
    for expected in sorted((ROOT / "examples" / name / "expected").glob("*.csv")):
        got = work / "out" / expected.name
        assert got.exists(), f"{expected.name} not written"
        assert _csv_rows(got) == _csv_rows(expected), expected.name


def test_run_without_a_cluster_starts_and_stops_one(tmp_path: Path) -> None:
    """`flowc run --target flink` with no cluster named and none running: a local one for the run."""
    from flowc.targets.flink import cluster

    try:
        cluster.flink_dist()
        cluster.java()
    except cluster.FlinkUnavailable as e:
        pytest.skip(str(e))
    work = _copy_example("tumble", tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "FLOWC_FLINK_JOBMANAGER"}
    env["FLOWC_FLINK_HOME"] = str(tmp_path / "no-cluster-here")
    before = {p for p in _java_pids()}
    proc = subprocess.run([sys.executable, "-m", "flowc", "run", str(work / "program.flow"), "--target", "flink"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "target flink" in proc.stderr and "24 rows out" in proc.stderr
    assert _csv_rows(work / "out" / "hot_items.csv") == _csv_rows(ROOT / "examples" / "tumble" / "expected" /
                                                                   "hot_items.csv")
    assert {p for p in _java_pids()} - before == set(), "the run's cluster is still running"


def _java_pids() -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # a cluster's JVMs (the client's JVM of a run is no cluster)
            if cmd and cmd[0].endswith(b"java") and b"--configDir" in cmd and any(b"flowc-flink-" in c for c in cmd):
                out.append(int(p.name))
    return out


# ---------------------------------------------------------------- SEMANTICS.md kept on Flink


BIDS = """
source bids (k bigint, price bigint, ts timestamp)
from csv('bids.csv')
event_time ts watermark 2s
"""


def _bids(*rows_: tuple) -> str:
    lines = ["k,price,ts"]
    for k, p, t in rows_:
        when = "" if t is None else (pa.scalar(ts(t), pa.timestamp("us")).as_py().isoformat(sep=" "))
        lines.append(f"{k},{p},{when}")
    return "\n".join(lines) + "\n"


def test_lateness_is_per_row_not_per_window(tmp_path: Path, flink_jobmanager: str) -> None:
    """Flink drops a row only when its window has fired; flowc's rule is per row. A row 3 s behind
    the max with a 2 s delay is late although its 10 s window is still open."""
    data = _bids((1, 10, 0), (1, 20, 8), (1, 30, 5))  # W = 8 - 2 = 6 when the third row arrives: 5 < 6
    result = run(BIDS + "view v = bids | window tumble(ts, 10s) | aggregate n = count(), s = sum(price) by k\n",
                 {"bids.csv": data}, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(1, ts(0), ts(10), 2, 30)]
    assert result.sources[0].late == 1


def test_a_row_at_the_watermark_is_on_time_and_in_its_window(tmp_path: Path, flink_jobmanager: str) -> None:
    """W = 12 - 2 = 10 s: a row at 9.999 s is late, one at 10 s is on time (equal is on time), and
    window [0, 10) is closed exactly when W reaches 10 (Flink fires at end - 1 ms: flowc's watermark is
    declared 1 ms lower)."""
    data = _bids((1, 1, 1), (1, 2, 12), (1, 3, 9.999), (1, 4, 10))
    result = run(BIDS + "view v = bids | window tumble(ts, 10s) | aggregate n = count() by k\n",
                 {"bids.csv": data}, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(1, ts(0), ts(10), 1), (1, ts(10), ts(20), 2)]
    assert result.sources[0].late == 1


def test_sessions_split_at_exactly_the_gap(tmp_path: Path, flink_jobmanager: str) -> None:
    """Rows 5 s apart with gap 5 s are two sessions in flowc (and RisingWave); Flink alone merges them."""
    data = _bids((1, 1, 20), (1, 2, 25), (1, 3, 29.5))
    result = run(BIDS + "view v = bids | window session(ts, gap = 5s) | aggregate n = count() by k\n",
                 {"bids.csv": data}, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(1, ts(20), ts(25), 1), (1, ts(25), ts(34.5), 2)]


def test_integer_sum_and_average_have_the_ir_types(tmp_path: Path, flink_jobmanager: str) -> None:
    """SUM(INT) wraps and AVG(INT) truncates on Flink; flowc's sum is BIGINT and avg DOUBLE."""
    data = "k,v,ts\n1,2000000000,2026-03-01 12:00:00\n1,2000000000,2026-03-01 12:00:01\n1,1,2026-03-01 12:00:02\n"
    text = ("source s (k bigint, v int, ts timestamp) from csv('s.csv') event_time ts watermark 1s\n"
            "view v = s | aggregate total = sum(v), mean = avg(v) by k\n")
    result = run(text, {"s.csv": data}, tmp_path, flink_jobmanager)
    (k, total, mean), = rows(result, "v")
    assert total == 4_000_000_001 and mean == pytest.approx(4_000_000_001 / 3)


def test_null_and_empty_string_stay_apart(tmp_path: Path, flink_jobmanager: str) -> None:
    """Flink's csv format reads both as one empty field; `flowc run` stages rows as JSON, so a quoted
    empty string stays '' and an empty cell stays null."""
    data = 'k,name,ts\n1,"",2026-03-01 12:00:00\n2,,2026-03-01 12:00:01\n'
    text = ("source s (k bigint, name string, ts timestamp) from csv('s.csv') event_time ts watermark 1s\n"
            "view v = s | select k, name, empty = name = ''\n")
    result = run(text, {"s.csv": data}, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(1, "", True), (2, None, None)]


def test_an_updating_view_reaches_a_csv_sink_as_a_changelog(tmp_path: Path, flink_jobmanager: str) -> None:
    """Flink's file sinks take no retractions; the run reads Flink's Debezium JSON and writes the
    sink with `_op` as every target does."""
    data = _bids((1, 10, 0), (1, 20, 1), (2, 5, 2))
    result = run(BIDS + "view v = bids | aggregate n = count() by k\nsink v into csv('out/v.csv')\n",
                 {"bids.csv": data}, tmp_path, flink_jobmanager)
    text = (tmp_path / "out" / "v.csv").read_text().splitlines()
    assert text[0] == "_op,k,n"
    assert sorted(text[1:]) == sorted(["+,1,1", "-,1,1", "+,1,2", "+,2,1"])
    assert result.sinks[0].rows_out == 4


def test_a_lookup_join_meets_the_last_version_of_the_table(tmp_path: Path, flink_jobmanager: str) -> None:
    files = {"bids.csv": _bids((1, 10, 0), (2, 20, 1), (3, 30, 2)),
             "sellers.csv": "id,name\n1,ann\n2,bob\n1,amy\n"}
    text = BIDS + ("table sellers (id bigint, name string, primary key (id)) from csv('sellers.csv')\n"
                   "view v = bids | left join sellers as s on k = s.id | select k, name\n")
    result = run(text, files, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(1, "amy"), (2, "bob"), (3, None)]


def test_top_one_with_ties_broken_by_every_column(tmp_path: Path, flink_jobmanager: str) -> None:
    """A top-1 over a several-column order: Flink 2.1+ plans it insert-only and never retracts a
    displaced row (docs/flink.md); the Flink target reads distinct rows so Flink retracts."""
    data = _bids((0, 5, 4), (2, 7, 4), (1, 9, 4))
    result = run(BIDS + "view v = bids | top 1 by k per ts | emit changes\n", {"bids.csv": data}, tmp_path,
                 flink_jobmanager)
    weights: dict[tuple, int] = {}
    for op, *r in table_rows(result.tables["v"]):
        weights[tuple(r)] = weights.get(tuple(r), 0) + (1 if op == "+" else -1)
    assert {r: w for r, w in weights.items() if w} == {(2, 7, ts(4)): 1}


# ---------------------------------------------------------------- the named differences, shown


def test_w0910_event_times_have_milliseconds(tmp_path: Path, flink_jobmanager: str) -> None:
    data = "k,price,ts\n1,1,2026-03-01 12:00:00.123456\n"
    result = run(BIDS + "view v = bids | select k, ts\n", {"bids.csv": data}, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(1, BASE + 123_000)]


def test_w0911_a_null_event_time_is_late_before_any_watermark(tmp_path: Path, flink_jobmanager: str) -> None:
    data = _bids((1, 1, None), (2, 2, 0), (3, 3, None))
    result = run(BIDS + "view v = bids | select k\n", {"bids.csv": data}, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(2,)]  # flowc keeps k = 1 too (no watermark yet when it arrives)
    assert result.sources[0].late == 2


def test_w0919_no_row_is_late_before_1970(tmp_path: Path, flink_jobmanager: str) -> None:
    data = "k,price,ts\n1,1,1969-12-31 23:59:50\n2,2,1969-12-31 23:59:40\n"  # 10 s behind, delay 2 s
    result = run(BIDS + "view v = bids | select k\n", {"bids.csv": data}, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(1,), (2,)]  # flowc drops k = 2
    assert result.sources[0].late == 0


def test_w0917_a_windowed_changelog_has_each_window_once(tmp_path: Path, flink_jobmanager: str) -> None:
    data = _bids((1, 1, 0), (1, 2, 1), (1, 3, 12))
    result = run(BIDS + "view v = bids | window tumble(ts, 10s) | aggregate n = count() by k | emit changes\n",
                 {"bids.csv": data}, tmp_path, flink_jobmanager)
    got = sorted(table_rows(result.tables["v"]), key=repr)
    assert got == [("+", 1, ts(0), ts(10), 2), ("+", 1, ts(10), ts(20), 1)]  # no (+1, -1, +2) updates


def test_w0916_distinct_after_a_distinct_keeps_one_row_per_key(tmp_path: Path, flink_jobmanager: str) -> None:
    data = _bids((1, 1, 0), (2, 1, 1), (3, 2, 2), (4, 2, 3))
    result = run(BIDS + "view v = bids | distinct k | distinct price\n", {"bids.csv": data}, tmp_path,
                 flink_jobmanager)
    got = rows(result, "v")
    assert sorted(p for _, p, _ in got) == [1, 2]  # one row per price; which one is Flink's to pick


# ---------------------------------------------------------------- outputs and errors


def test_a_failed_job_is_a_user_error_with_flinks_reason(tmp_path: Path, flink_jobmanager: str) -> None:
    data = "k,price,ts\n1,0,2026-03-01 12:00:00\n"
    with pytest.raises(FlowError) as info:
        run(BIDS + "view v = bids | select q = k / price\n", {"bids.csv": data}, tmp_path, flink_jobmanager)
    d = info.value.first
    assert "Flink" in d.message and ("zero" in d.message.lower() or "divide" in d.message.lower()), d.message


def test_a_bad_record_is_reported_before_flink_runs(tmp_path: Path, flink_jobmanager: str) -> None:
    data = "k,price,ts\n1,x,2026-03-01 12:00:00\n"
    with pytest.raises(FlowError) as info:
        run(BIDS + "view v = bids\n", {"bids.csv": data}, tmp_path, flink_jobmanager)
    assert "bad record" in info.value.first.message and "'x'" in info.value.first.message


def test_on_error_skip_and_late_rows_into_a_file(tmp_path: Path, flink_jobmanager: str) -> None:
    data = "k,price,ts\n1,1,2026-03-01 12:00:10\n2,x,2026-03-01 12:00:11\n3,3,2026-03-01 12:00:00\n"
    text = ("source bids (k bigint, price bigint, ts timestamp) from csv('bids.csv') event_time ts watermark 2s\n"
            "on_late into jsonl('out/late.jsonl') on_error skip\nview v = bids | select k\n")
    result = run(text, {"bids.csv": data}, tmp_path, flink_jobmanager)
    assert rows(result, "v") == [(1,)]
    assert (result.sources[0].late, result.sources[0].skipped) == (1, 1)
    late = [json.loads(line) for line in (tmp_path / "out" / "late.jsonl").read_text().splitlines()]
    assert [r["k"] for r in late] == [3]


def test_an_unreachable_jobmanager_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FlowError) as info:
        run(BIDS + "view v = bids\n", {"bids.csv": _bids((1, 1, 0))}, tmp_path, "127.0.0.1:1")
    assert "127.0.0.1:1" in info.value.first.render()


def test_the_cli_without_java_says_what_to_install(tmp_path: Path) -> None:
    work = _copy_example("tumble", tmp_path)
    env = {**os.environ, "PATH": "/nonexistent", "JAVA_HOME": "/nonexistent"}
    env.pop("FLOWC_FLINK_JOBMANAGER", None)
    proc = subprocess.run([sys.executable, "-m", "flowc", "run", str(work / "program.flow"), "--target", "flink"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "Java" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- flowc flink, deploy


def test_flowc_flink_start_status_stop(tmp_path: Path) -> None:
    from flowc.targets.flink import cluster

    try:
        cluster.flink_dist()
        cluster.java()
    except cluster.FlinkUnavailable as e:
        pytest.skip(str(e))
    home = tmp_path / "cluster"
    base = [sys.executable, "-m", "flowc", "flink"]

    def flink(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*base, *args, "--home", str(home)], capture_output=True, text=True, timeout=180)

    started = flink("start", "--taskmanagers", "1", "--slots", "1")
    try:
        assert started.returncode == 0, started.stderr
        address = started.stdout.strip()
        assert rest.overview(address)["taskmanagers"] == 1
        status = flink("status")
        assert status.returncode == 0 and f"running at {address}" in status.stdout
        again = flink("start")
        assert again.returncode == 1 and "already" in again.stderr
    finally:
        stopped = flink("stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stderr
    assert "no cluster runs" in flink("status").stdout


DEPLOYED = """
source bids (auction bigint, price bigint, date_time timestamp)
from jsonl('bids.jsonl')
event_time date_time watermark 2s

view counts = bids
    | window tumble(date_time, 10s)
    | aggregate n = count() by auction

view big = bids | where price > LIMIT

sink counts into jsonl('out/counts.jsonl')
sink big into jsonl('out/big.jsonl')
"""


def test_deploy_submits_one_job_per_sink_and_replaces_only_what_changed(tmp_path: Path,
                                                                          flink_jobmanager: str) -> None:
    from flowc.targets.flink.deploy import deploy

    (tmp_path / "bids.jsonl").write_text(
        '{"auction": 1, "price": 10, "date_time": "2026-03-01 12:00:01"}\n'
        '{"auction": 2, "price": 20, "date_time": "2026-03-01 12:00:03"}\n'
        '{"auction": 1, "price": 5, "date_time": "2026-03-01 12:00:12"}\n')
    path = tmp_path / "program.flow"
    name = f"test{os.getpid()}"

    def deployed(limit: int, dry_run: bool = False):
        path.write_text(DEPLOYED.replace("LIMIT", str(limit)))
        program = pipeline.to_ir(pipeline.load_program(str(path)))
        return deploy(program, jobmanager=flink_jobmanager, name=name, dry_run=dry_run, out=open(os.devnull, "w"),
                      log=open(os.devnull, "w"))

    first = deployed(10)
    assert [(s.action, s.sink) for s in first.steps] == [("submit", "counts__sink"), ("submit", "big__sink")]
    jobs = [j for j in rest.jobs(flink_jobmanager) if j["name"].startswith(f"flowc:{name}:")]
    assert len(jobs) == 2
    for j in jobs:
        assert rest.wait_for(flink_jobmanager, j["jid"], timeout=60) == "FINISHED"
    big = [json.loads(line) for p in (tmp_path / "out" / "big").iterdir() if not p.name.startswith(".")
           for line in p.read_text().splitlines()]
    assert [r["auction"] for r in big] == [2]
    assert all(s.action == "keep" for s in deployed(10).steps)
    plan = deployed(15, dry_run=True)
    assert [(s.action, s.sink) for s in plan.steps] == [("keep", "counts__sink"), ("replace", "big__sink")]
    assert "INSERT INTO `big__sink`" in plan.render() and "INSERT INTO `counts__sink`" not in plan.render()


# ---------------------------------------------------------------- Nexmark


NEXMARK = sorted(p.stem for p in (ROOT / "benchmarks" / "nexmark").glob("q*.flow"))


@pytest.mark.parametrize("query", NEXMARK)
def test_nexmark_on_flink_equals_local(query: str, flink_jobmanager: str, monkeypatch) -> None:
    """Every Nexmark query of benchmarks/nexmark over the same generated events: Flink's rows are
    the local runtime's (each view consolidated)."""
    import dataclasses

    from flowc.testing.differential import diff_multisets

    monkeypatch.setenv("NEXMARK_EVENTS", "4000")
    monkeypatch.setenv("NEXMARK_SEED", "11")
    program = pipeline.to_ir(pipeline.load_program(str(ROOT / "benchmarks" / "nexmark" / f"{query}.flow")))
    program = dataclasses.replace(program, sinks=())
    local = pipeline.run(program, "local", collect=True).tables
    flink = pipeline.run(program, "flink", collect=True, jobmanager=flink_jobmanager).tables
    for v in program.views:
        want, _ = consolidate(table_rows(local[v.name]), v.emit == "changes")
        got, problems = consolidate(table_rows(flink[v.name]), v.emit == "changes")
        assert not problems
        assert diff_multisets(want, got) is None, (v.name, diff_multisets(want, got))


def test_a_jobs_parallel_tasks_run_on_both_taskmanagers(tmp_path: Path, flink_jobmanager: str) -> None:
    """Parallelism 2 over two TaskManagers (`taskmanager.load-balance.mode: SLOTS` in the cluster's
    config): every keyed exchange of a job crosses processes, as on a real cluster."""
    if rest.overview(flink_jobmanager).get("taskmanagers", 0) < 2:
        pytest.skip("the cluster named by $FLOWC_FLINK_JOBMANAGER has fewer than two TaskManagers")
    name = f"placement{os.getpid()}"
    text = BIDS + "view v = bids | window tumble(ts, 10s) | aggregate n = count() by k\n"
    (tmp_path / "bids.csv").write_text(_bids((1, 1, 0), (2, 2, 1), (3, 3, 12)))
    (tmp_path / "program.flow").write_text(text)
    program = pipeline.to_ir(pipeline.load_program(str(tmp_path / "program.flow")))
    from flowc.runtime import io
    from flowc.targets.flink.runner import run_plan
    from flowc.targets.flink.sqlgen import Staging, compile_flink
    from flowc.targets.flink.staging import write_jsonl
    from flowc.targets.sql.connectors import read_input

    data = read_input(program, io, program.sources[0])
    write_jsonl(data, program.sources[0].schema, str(tmp_path / "in.jsonl"), "ts")
    plan = compile_flink(program, Staging({"bids": str(tmp_path / "in.jsonl")}, str(tmp_path / "out"), ("v",)))
    jid = run_plan(plan, flink_jobmanager, 2, job_name=name)
    spread = []
    for v in rest.get(flink_jobmanager, f"/jobs/{jid}")["vertices"]:
        if v["parallelism"] == 2:
            tms = rest.get(flink_jobmanager, f"/jobs/{jid}/vertices/{v['id']}/taskmanagers")["taskmanagers"]
            spread.append(len({tm["taskmanager-id"] for tm in tms}))
    assert spread and all(n == 2 for n in spread), spread


def test_lateness_over_a_long_disordered_stream_equals_local(tmp_path: Path, flink_jobmanager: str) -> None:
    """50,000 rows with bounded disorder and late rows throughout: Flink splits them into on-time
    and late exactly as the local runtime does (the per-row filter runs after the watermark
    assigner of the one reader of the file, whatever the network buffers do downstream)."""
    import random

    rng = random.Random(5)
    lines = ["k,price,ts"]
    clock = 0  # milliseconds (Flink's precision, W0911)
    for i in range(50_000):
        clock += rng.choice([0, 1, 2, 10])
        t = clock - rng.choice([0, 0, 0, 500, 1500, 2500, 4000])  # delay 2 s: 2.5 and 4 s behind are late
        stamp = pa.scalar(BASE + t * 1000, pa.timestamp("us")).as_py().isoformat(sep=" ")
        lines.append(f"{i % 7},{i},{stamp}")
    (tmp_path / "bids.csv").write_text("\n".join(lines) + "\n")
    text = BIDS + ("on_late into csv('out/late.csv')\n"
                   "view v = bids | window tumble(ts, 1s) | aggregate n = count(), s = sum(price) by k\n")
    (tmp_path / "program.flow").write_text(text)
    program = pipeline.to_ir(pipeline.load_program(str(tmp_path / "program.flow")))
    local = pipeline.run(program, "local", collect=True)
    local_late = (tmp_path / "out" / "late.csv").read_text()
    flink = pipeline.run(program, "flink", collect=True, jobmanager=flink_jobmanager)
    assert flink.sources[0].late == local.sources[0].late > 1000
    assert (tmp_path / "out" / "late.csv").read_text() == local_late  # the same rows, in arrival order
    assert sorted(table_rows(flink.tables["v"])) == sorted(table_rows(local.tables["v"]))
