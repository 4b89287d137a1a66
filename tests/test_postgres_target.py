"""The PostgreSQL target: SQL generation (no server needed) and runs on a real PostgreSQL.

Tests marked `postgres` need a server: FLOWC_TEST_PG_DSN, default the local one; they skip with the
reason when none is reachable. Each run works in its own schema inside a rolled-back transaction,
so parallel test runs cannot collide.
"""

from __future__ import annotations

import math
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from flowc.compiler.diagnostics import FlowError
from flowc.targets.postgres import compile_postgres, postgres_sql
from flowc.targets.postgres.dialect import parse
from support import EXAMPLES, compare_outputs, copy_example, run_flowc

from flowc import pipeline

PG_DSN = os.environ.get("FLOWC_TEST_PG_DSN", "host=127.0.0.1 port=5432 dbname=postgres")
CASES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "program.flow").exists())


@pytest.fixture(scope="module")
def pg() -> str:
    import psycopg

    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        pytest.skip(f"no PostgreSQL reachable at FLOWC_TEST_PG_DSN ({PG_DSN.split('password')[0]}): "
                    f"{str(e).strip().splitlines()[0] if str(e).strip() else e}")
    return PG_DSN


def program_of(text: str, tmp_path: Path, files: dict[str, str] | None = None):
    for name, content in (files or {}).items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "p.flow"
    path.write_text(text)
    return pipeline.to_ir(pipeline.load_program(str(path)))


def multiset(table) -> Counter:
    """Rows as a consolidated multiset (`_op` rows weigh +1/-1), floats to 9 significant digits."""
    def norm(v):
        if isinstance(v, float) and not math.isnan(v) and not math.isinf(v):
            return round(v, 9 - int(math.floor(math.log10(abs(v)))) if v else 9)
        return v
    out: Counter = Counter()
    for row in table.to_pylist():
        sign = -1 if row.pop("_op", "+") == "-" else 1
        out[tuple(norm(v) for v in row.values())] += sign
    return Counter({k: n for k, n in out.items() if n > 0})


# ---------------------------------------------------------------- SQL generation (no server)


QUOTING = """
source `order` (`order` bigint, `we"ird` string, Mixed bigint, ts timestamp)
from csv('o.csv')
event_time ts watermark 1s

view `select` = `order`
    | where `we"ird` <> 'it''s'
    | select `order`, Mixed, tag = 'x"y' || `we"ird`

sink `select` into csv('out/select.csv')
"""

QUOTING_CSV = 'order,we"ird,Mixed,ts\n1,it\'s,5,2024-01-01 00:00:00\n2,"a,""b",6,2024-01-01 00:00:01\n'


def _quoting_program(tmp_path: Path):
    try:
        return program_of(QUOTING, tmp_path, {"o.csv": QUOTING_CSV})
    except FlowError as e:  # the grammar may not take quoted names: build the same IR by hand
        pytest.skip(f"quoted names in .flow: {e}")


def test_names_and_literals_are_quoted_not_spliced(tmp_path):
    program = _quoting_program(tmp_path)
    sql = postgres_sql(program)
    assert '"order"' in sql and '"we""ird"' in sql and '"Mixed"' in sql and '"select"' in sql
    assert "'it''s'" in sql and "'x\"y'" in sql
    # every statement reads back as one statement
    for o in compile_postgres(program, check_connectors=False).objects:
        assert parse(o.sql).sql(dialect="postgres")


def test_compile_cli_prints_the_ddl(tmp_path):
    work = copy_example("tumble", tmp_path)
    proc = run_flowc("compile", str(work / "program.flow"), "--target", "postgres")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert 'CREATE TABLE "__raw_bids"' in out and 'GENERATED ALWAYS AS IDENTITY' in out
    assert 'CREATE VIEW "bids"' in out and 'CREATE VIEW "__late_bids"' in out and 'CREATE VIEW "hot_items"' in out
    assert "DATE_BIN" in out.upper()
    assert "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING" in out


def test_hop_uses_date_bin_and_generate_series(tmp_path):
    work = copy_example("hop", tmp_path)
    sql = pipeline.compile_target(pipeline.to_ir(pipeline.load_program(str(work / "program.flow"))), "postgres")
    assert "GENERATE_SERIES(0, 1)" in sql.upper() and "DATE_BIN" in sql.upper()


def test_a_connector_postgres_cannot_run_is_an_error_naming_it(tmp_path):
    program = program_of("source b (x bigint) from nexmark(table = 'bid')\nview v = b\nsink v into csv('o.csv')\n",
                         tmp_path)
    with pytest.raises(FlowError) as e:
        compile_postgres(program)
    assert "nexmark" in str(e.value) and "postgres" in str(e.value)


# ---------------------------------------------------------------- on a server


@pytest.mark.postgres
@pytest.mark.parametrize("name", CASES)
def test_example_gives_expected_output_through_the_cli(name, tmp_path, pg):
    work = copy_example(name, tmp_path)
    proc = run_flowc("run", str(work / "program.flow"), "--target", "postgres", "--dsn", pg, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    problems = compare_outputs(EXAMPLES / name / "expected", work / "out")
    assert not problems, "\n".join(problems)
    assert "rows in" in proc.stderr


@pytest.mark.postgres
def test_dsn_from_the_environment(tmp_path, pg):
    work = copy_example("filter_project", tmp_path)
    env_before = os.environ.get("FLOWC_PG_DSN")
    os.environ["FLOWC_PG_DSN"] = pg
    try:
        result = pipeline.run(pipeline.to_ir(pipeline.load_program(str(work / "program.flow"))), "postgres",
                              collect=True)
    finally:
        if env_before is None:
            del os.environ["FLOWC_PG_DSN"]
        else:
            os.environ["FLOWC_PG_DSN"] = env_before
    assert result.target == "postgres" and result.tables["big"].num_rows == 21


@pytest.mark.postgres
def test_quoted_names_and_values_round_trip(tmp_path, pg):
    program = _quoting_program(tmp_path)
    result = pipeline.run(program, "postgres", collect=True, dsn=pg)
    assert result.tables["select"].to_pylist() == [{"order": 2, "Mixed": 6, "tag": 'x"ya,"b'}]


DIFF_CSV = """k,v,x,s,ts
1,10,1.5,a,1969-12-31 23:59:55
2,20,2.5,,1969-12-31 23:59:58.5
1,,-3.25,"it's",1970-01-01 00:00:04
3,40,0.5,b,
2,50,2.5,c,1970-01-01 00:00:12
1,60,-0.5,a,1970-01-01 00:00:01
3,70,4.5,d,1970-01-01 00:00:21
2,80,,e,1970-01-01 00:00:13.25
1,90,7.5,f,1970-01-01 00:00:30
2,25,1.25,"",1970-01-01 00:00:29
"""

DIFF = """
source ev (k bigint, v bigint, x double, s string, ts timestamp)
from csv('ev.csv')
event_time ts watermark 2s
on_late into csv('out/late.csv')

view w = ev
    | window tumble(ts, 10s, offset = 3s)
    | aggregate n = count(), total = sum(v), avg_x = avg(x), nd = count_distinct(s) by k
view h = ev | window hop(ts, size = 6s, slide = 2s) | select k, v, window_start, window_end
view hagg = ev | window hop(ts, size = 6s, slide = 2s) | aggregate n = count() by k
view sess = ev | window session(ts, gap = 4s) | aggregate n = count(), mx = max(x) by k
view u = (ev | select k, v) | union (ev | where v > 40 | select k, v)
view e = ev
    | select k, r = round(x), r1 = round(x * 1.05, 1), f = floor(x), m = v % 7, dm = x % 2.0, l = length(s),
      c = coalesce(s, 'none') || '!', q = v / 3, big = v in (10, 20, 90),
      cs = case when v > 50 then 'hi' else 'lo' end, later = ts + 90s
view j = ev | left join (ev | select k, v) as o on k = o.k and v < o.v
view agg_all = ev | aggregate n = count(), s = sum(v), mn = min(ts), mx = max(ts)
view by_w = w | where n > 0 | aggregate windows = count() by k
"""

DIFF_ONLY_BATCH = """
view d = ev | distinct k
view t = ev | top 2 by v desc per k
"""


@pytest.mark.postgres
def test_postgres_agrees_with_datafusion_and_local(tmp_path, pg):
    """Windows before the epoch and with an offset, nulls, late rows, every scalar function family,
    union, left join, views over views: PostgreSQL must agree with the other engines."""
    program = program_of(DIFF, tmp_path, {"ev.csv": DIFF_CSV})
    got = pipeline.run(program, "postgres", collect=True, dsn=pg)
    assert [(s.rows_in, s.late) for s in got.sources] == [(10, 3)]
    for other in ("datafusion", "local"):
        try:
            want = pipeline.run(program, other, collect=True)
        except FlowError:
            continue  # the other engine cannot run some view yet
        for name in want.tables:
            assert multiset(got.tables[name]) == multiset(want.tables[name]), f"{name} differs from {other}"
            assert got.tables[name].schema.remove_metadata() == want.tables[name].schema.remove_metadata() \
                or other == "local", name


@pytest.mark.postgres
def test_distinct_and_top_follow_arrival_order(tmp_path, pg):
    program = program_of(DIFF + DIFF_ONLY_BATCH, tmp_path, {"ev.csv": DIFF_CSV})
    got = pipeline.run(program, "postgres", collect=True, dsn=pg).tables
    firsts = {r["k"]: r["v"] for r in got["d"].to_pylist()}
    assert firsts == {1: 10, 2: 20, 3: 70}  # k=3's first row (v=40) has a null time: late
    tops = sorted((r["k"], r["v"]) for r in got["t"].to_pylist())
    assert tops == [(1, 10), (1, 90), (2, 25), (2, 50), (3, 70)]


ODD_NAMES = """
source `s"rc` (k bigint, v bigint, ts timestamp)
from csv('s.csv')
event_time ts watermark 0s

view `se"lect` = `s"rc` | distinct k
view `a.b` = `se"lect` | where v > 0

sink `a.b` into csv('out/ab.csv')
"""


def test_names_with_quotes_and_dots_compile(tmp_path):
    # names become identifiers, never parsed as SQL (which failed on `se"lect` and split `a.b`)
    program = program_of(ODD_NAMES, tmp_path, {"s.csv": "k,v,ts\n1,10,2024-01-01 00:00:00\n"})
    sql = postgres_sql(program)
    assert 'CREATE VIEW "se""lect"' in sql and 'CREATE VIEW "a.b"' in sql and 'FROM "se""lect"' in sql


@pytest.mark.postgres
def test_names_with_quotes_and_dots_run(tmp_path, pg):
    csv = "k,v,ts\n1,10,2024-01-01 00:00:00\n1,20,2024-01-01 00:00:01\n2,30,2024-01-01 00:00:02\n"
    program = program_of(ODD_NAMES, tmp_path, {"s.csv": csv})
    got = pipeline.run(program, "postgres", collect=True, dsn=pg).tables
    assert sorted((r["k"], r["v"]) for r in got["a.b"].to_pylist()) == [(1, 10), (2, 30)]


@pytest.mark.postgres
def test_the_run_schema_is_dropped_on_success_and_failure(tmp_path, pg, monkeypatch):
    import psycopg
    from flowc.targets.postgres import runner

    names = iter(["flowc_run_test_ok_" + os.urandom(4).hex(), "flowc_run_test_fail_" + os.urandom(4).hex()])
    used = []

    def fixed():
        used.append(next(names))
        return used[-1]

    monkeypatch.setattr(runner, "run_schema_name", fixed)
    ok = program_of("source b (x bigint) from csv('b.csv')\nview v = b | select y = x + 1\n", tmp_path,
                    {"b.csv": "x\n1\n0\n"})
    assert pipeline.run(ok, "postgres", collect=True, dsn=pg).tables["v"].to_pylist() == [{"y": 2}, {"y": 1}]
    bad = program_of("source b (x bigint) from csv('b.csv')\nview v = b | select y = 10 / x\n", tmp_path)
    with pytest.raises(FlowError) as e:
        pipeline.run(bad, "postgres", collect=True, dsn=pg)
    assert "division by zero" in str(e.value) and "view 'v'" in str(e.value)
    with psycopg.connect(pg) as conn:
        left = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (used,)).fetchall()
    assert len(used) == 2 and left == []


@pytest.mark.postgres
def test_unreachable_server_is_a_user_error_without_the_password(tmp_path):
    work = copy_example("filter_project", tmp_path)
    proc = run_flowc("run", str(work / "program.flow"), "--target", "postgres",
                     "--dsn", "postgresql://flowc:hunter2secret@127.0.0.1:1/nodb?connect_timeout=2", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "cannot connect" in proc.stderr and "hunter2secret" not in proc.stderr + proc.stdout
    assert "password=***" in proc.stderr


def test_check_examples_tool_passes_on_postgres(pg, tmp_path):
    """The acceptance tool users run: every example on --target postgres."""
    import subprocess
    import sys

    tool = Path("/work/shared/tools/check_examples.py")
    flowc = shutil.which("flowc") or str(Path(sys.executable).parent / "flowc")
    if not tool.exists() or not Path(flowc).exists():
        pytest.skip("check_examples.py or the flowc script is not available here")
    env = dict(os.environ, FLOWC_PG_DSN=pg)
    proc = subprocess.run([sys.executable, str(tool), flowc, "postgres"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(CASES)}/{len(CASES)} cases pass on postgres" in proc.stdout


test_check_examples_tool_passes_on_postgres = pytest.mark.postgres(test_check_examples_tool_passes_on_postgres)
