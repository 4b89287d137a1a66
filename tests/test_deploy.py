"""`flowc deploy`: the planner (pure), golden RisingWave plans, secrets, and end to end on PostgreSQL.

Golden plans live in tests/golden/deploy/; regenerate with FLOWC_UPDATE_GOLDEN=1 after checking the
diff. Tests marked `postgres` run against a fresh database created for this module (and dropped
after), from FLOWC_TEST_PG_DSN (default the local server); they skip with the reason when there is
no server or no right to create a database. A live RisingWave test runs only when
FLOWC_RISINGWAVE_DSN is set.
"""

from __future__ import annotations

import dataclasses
import io
import os
import uuid
from pathlib import Path

import pytest
from flowc.compiler.diagnostics import FlowError
from flowc.targets.postgres.deploy import (
    CATALOG,
    Deployed,
    DeployObject,
    deploy,
    deploy_objects,
    plan_deploy,
)
from support import EXAMPLES, compare_outputs, run_flowc

from flowc import pipeline

GOLDEN = Path(__file__).parent / "golden" / "deploy"
UPDATE = os.environ.get("FLOWC_UPDATE_GOLDEN") == "1"
PG_DSN = os.environ.get("FLOWC_TEST_PG_DSN", "host=127.0.0.1 port=5432 dbname=postgres")
CASES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "program.flow").exists())


def load(text: str, tmp_path: Path, base_dir: str | None = None, name: str = "p.flow"):
    path = tmp_path / name
    path.write_text(text)
    program = pipeline.to_ir(pipeline.load_program(str(path)))
    return dataclasses.replace(program, base_dir=base_dir) if base_dir else program


def as_deployed(objects: list[DeployObject]) -> dict[str, Deployed]:
    return {o.name: Deployed(o.name, o.kind, o.digest, o.depends_on, i) for i, o in enumerate(objects, 1)}


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if not UPDATE:
            pytest.fail(f"wrote new golden file {path}; check it and rerun")
    assert text == path.read_text(), f"{name} differs from its golden file (FLOWC_UPDATE_GOLDEN=1 to accept)"


# ---------------------------------------------------------------- the planner (pure)


def obj(name, statement, *deps, kind="view"):
    return DeployObject(name, kind, statement, tuple(deps))


BASE = [obj("src", "CREATE TABLE src (x INT)", kind="table"), obj("a", "SELECT 1", "src"),
        obj("b", "SELECT a", "a"), obj("c", "SELECT b", "b"), obj("other", "SELECT src", "src")]


def test_fresh_database_creates_everything_in_order():
    plan = plan_deploy("p", "postgres", BASE, {})
    assert [(s.action, s.name) for s in plan.steps] == [("create", o.name) for o in BASE]
    assert all(s.reason == "new" for s in plan.steps)


def test_unchanged_program_does_nothing():
    plan = plan_deploy("p", "postgres", BASE, as_deployed(BASE))
    assert plan.empty and plan.unchanged == [o.name for o in BASE]
    assert "nothing to do" in plan.render()


def test_a_changed_view_is_dropped_and_recreated_with_its_dependents():
    changed = [o if o.name != "a" else obj("a", "SELECT 2", "src") for o in BASE]
    plan = plan_deploy("p", "postgres", changed, as_deployed(BASE))
    assert [(s.action, s.name) for s in plan.steps] == [
        ("drop", "c"), ("drop", "b"), ("drop", "a"), ("create", "a"), ("create", "b"), ("create", "c")]
    assert plan.unchanged == ["src", "other"]
    reasons = {(s.action, s.name): s.reason for s in plan.steps}
    assert reasons[("drop", "a")] == "changed" and reasons[("drop", "b")] == "reads a, which is dropped"
    assert reasons[("create", "c")] == "recreated: reads b, which is dropped"
    assert plan.steps[0].sql == 'DROP VIEW IF EXISTS "c"'


def test_a_removed_view_is_dropped_with_what_reads_it():
    kept = [o for o in BASE if o.name not in ("b",)]
    kept = [o if o.name != "c" else obj("c", "SELECT a", "a") for o in kept]
    plan = plan_deploy("p", "postgres", kept, as_deployed(BASE))
    assert [(s.action, s.name, s.reason) for s in plan.steps] == [
        ("drop", "c", "changed"), ("drop", "b", "removed from the program"), ("create", "c", "changed")]


def test_drop_statements_quote_names():
    objs = [obj('we"ird', "SELECT 1"), obj("order", "SELECT 1", kind="materialized view")]
    plan = plan_deploy("p", "risingwave", [], as_deployed(objs))
    assert [s.sql for s in plan.steps] == ['DROP MATERIALIZED VIEW IF EXISTS "order"',
                                           'DROP VIEW IF EXISTS "we""ird"']


# ---------------------------------------------------------------- golden RisingWave plans


def risingwave_program(name: str, tmp_path: Path):
    """An example with its file sinks as jsonl (RisingWave has no CSV file sink) and a fixed
    base directory, so the plan does not depend on where the tests run."""
    text = (EXAMPLES / name / "program.flow").read_text()
    # a changelog cannot go to a RisingWave file sink: send it to kafka (Debezium JSON)
    sink = "kafka(topic = 'flowc', brokers = 'kafka:9092', format = 'json')" if "emit changes" in text else None
    lines = []
    for ln in text.splitlines():
        if ln.startswith("sink") and sink:
            ln = ln[:ln.index(" into ") + 6] + sink
        elif ln.startswith(("sink", "on_late")):
            ln = ln.replace("csv('out/", "jsonl('out/").replace(".csv')", ".jsonl')")
        lines.append(ln)
    return load("\n".join(lines) + "\n", tmp_path, base_dir=f"/data/{name}")


def _risingwave_plan(program, deployed=None) -> str:
    objects, notes = deploy_objects(program, "risingwave")
    return plan_deploy("demo", "risingwave", objects, deployed or {}, notes, schema="demo").render()


@pytest.mark.parametrize("name", CASES)
def test_risingwave_deploy_plan_golden(name, tmp_path):
    program = risingwave_program(name, tmp_path)
    try:
        text = _risingwave_plan(program)
    except FlowError as e:
        # a program RisingWave cannot express: the error is the golden output
        text = "-- not deployable on risingwave\n" + "\n".join(d.message for d in e.diagnostics) + "\n"
    check_golden(f"{name}.risingwave.sql", text)


def test_risingwave_change_plan_golden(tmp_path):
    before = risingwave_program("tumble", tmp_path)
    deployed = as_deployed(deploy_objects(before, "risingwave")[0])
    text = (EXAMPLES / "tumble" / "program.flow").read_text().replace("price > 10", "price > 20")
    text = text.replace("csv('out/hot_items.csv')", "jsonl('out/hot_items.jsonl')")
    text = text.replace("on_late into csv('out/late_bids.csv')", "on_late into jsonl('out/late_bids.jsonl')")
    after = load(text, tmp_path, base_dir="/data/tumble", name="changed.flow")
    plan = _risingwave_plan(after, deployed)
    # the sink reads the changed view: it goes first and comes back last; the source stays
    assert "drop sink hot_items_sink" in plan and "create source bids" not in plan
    check_golden("tumble_change.risingwave.sql", plan)


def test_cli_dry_run_without_a_server_prints_the_plan(tmp_path):
    program_text = (EXAMPLES / "filter_project" / "program.flow").read_text()
    (tmp_path / "fp.flow").write_text(program_text)
    (tmp_path / "bids.csv").write_text((EXAMPLES / "filter_project" / "bids.csv").read_text())
    env_free = {k: v for k, v in os.environ.items() if k not in ("FLOWC_PG_DSN",)}
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "flowc", "deploy", str(tmp_path / "fp.flow"), "--target", "postgres",
                           "--dry-run"], capture_output=True, text=True, env=env_free, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "-- flowc deploy plan: 'fp' on postgres" in proc.stdout
    assert 'CREATE VIEW "big"' in proc.stdout and "planned as for an empty database" in proc.stdout


def test_secret_connector_values_never_appear_in_plans(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKA_PASSWORD", "s3cr3t-broker-pw")
    program = load("""
source b (x bigint) from kafka(topic = 't', brokers = env('KAFKA_PASSWORD'), format = 'json')
view v = b | where x > 1
sink v into kafka(topic = 'out', brokers = 'h:9092', format = 'json')
""", tmp_path)
    out = io.StringIO()
    deploy(program, "risingwave", None, dry_run=True, out=out)
    assert "s3cr3t-broker-pw" not in out.getvalue() and "***" in out.getvalue()


# ---------------------------------------------------------------- on PostgreSQL


@pytest.fixture(scope="module")
def pg_db():
    """A fresh database for this module: deploys write the shared flowc_catalog schema."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    try:
        admin = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3)
    except psycopg.Error as e:
        pytest.skip(f"no PostgreSQL reachable at FLOWC_TEST_PG_DSN: {str(e).strip().splitlines()[0]}")
    name = f"flowc_test_{uuid.uuid4().hex[:12]}"
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as e:
        admin.close()
        pytest.skip(f"cannot create a test database on FLOWC_TEST_PG_DSN: {str(e).strip().splitlines()[0]}")
    try:
        yield make_conninfo(PG_DSN, dbname=name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _query(dsn: str, sql: str, params=(), schema: str | None = None):
    """Run one statement; with `schema`, in that deployment's schema."""
    import psycopg

    with psycopg.connect(dsn, **({"options": f"-c search_path={schema}"} if schema else {})) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _deploy_cli(path: Path, dsn: str, *extra: str):
    return run_flowc("deploy", str(path), "--target", "postgres", "--dsn", dsn, *extra)


@pytest.mark.postgres
def test_deploy_apply_noop_change_on_postgres(pg_db, tmp_path):
    import psycopg
    from flowc.runtime.io import read_table
    from flowc.targets.arrow_types import arrow_schema
    from flowc.targets.postgres.connect import Secrets
    from flowc.targets.postgres.runner import copy_in, copy_out

    text = (EXAMPLES / "tumble" / "program.flow").read_text() + \
        "\nview busy = hot_items | where bids > 1 | select auction, window_start, bids\n"
    path = tmp_path / "shop.flow"
    path.write_text(text)

    # dry run against the server: the plan, and nothing created
    proc = _deploy_cli(path, pg_db, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "5 to create" in proc.stdout and _query(pg_db, "SELECT to_regclass('hot_items')") == [(None,)]

    # apply
    proc = _deploy_cli(path, pg_db)
    assert proc.returncode == 0, proc.stderr
    rows = _query(pg_db, f"SELECT name, kind FROM {CATALOG}.objects WHERE deployment = 'shop' ORDER BY position")
    assert rows == [("__raw_bids", "table"), ("bids", "view"), ("__late_bids", "view"), ("hot_items", "view"),
                    ("busy", "view")]
    assert _query(pg_db, f"SELECT count(*) FROM {CATALOG}.deployments WHERE deployment = 'shop'") == [(1,)]

    # the deployed views are the real thing: load the example's rows and read the view
    program = pipeline.to_ir(pipeline.load_program(str(EXAMPLES / "tumble" / "program.flow")))
    bids = read_table("csv", str(EXAMPLES / "tumble" / "bids.csv"), arrow_schema(program.sources[0].schema))
    view = program.views[0]
    assert _query(pg_db, "SELECT to_regclass('hot_items')") == [(None,)]  # not in public: in schema shop
    with psycopg.connect(pg_db, options="-c search_path=shop") as conn:
        cur = conn.cursor()
        copy_in(cur, "__raw_bids", bids, Secrets())
        cur.execute("SET TIME ZONE 'UTC'")
        got = copy_out(cur, 'SELECT * FROM "hot_items"', arrow_schema(view.schema), "hot_items", Secrets())
        conn.commit()
    out = tmp_path / "out"
    out.mkdir()
    from flowc.runtime.io import open_writer

    with open_writer("csv", str(out / "hot_items.csv"), got.schema) as w:
        for batch in got.to_batches():
            w.write(batch)
    problems = [p for p in compare_outputs(EXAMPLES / "tumble" / "expected", out) if p.startswith("hot_items")]
    assert not problems, problems

    # re-deploying the unchanged program does nothing
    proc = _deploy_cli(path, pg_db)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do" in proc.stdout
    assert _query(pg_db, f"SELECT count(*) FROM {CATALOG}.deployments WHERE deployment = 'shop'") == [(1,)]

    # a changed view: it and its dependent are dropped (dependent first) and created again; the
    # source table and its rows stay
    path.write_text(text.replace("price > 10", "price > 20"))
    proc = _deploy_cli(path, pg_db)
    assert proc.returncode == 0, proc.stderr
    steps = [ln for ln in proc.stdout.splitlines() if ln.startswith("-- [")]
    assert [s.split(":")[0] for s in steps] == [
        "-- [1/4] drop view busy", "-- [2/4] drop view hot_items", "-- [3/4] create view hot_items",
        "-- [4/4] create view busy"]
    assert _query(pg_db, 'SELECT count(*) FROM shop."__raw_bids"') == [(60,)]
    assert _query(pg_db, 'SELECT min("top_price") FROM shop."hot_items"')[0][0] > 20
    assert _query(pg_db, f"SELECT count(*) FROM {CATALOG}.deployments WHERE deployment = 'shop'") == [(2,)]


@pytest.mark.postgres
def test_deploy_failure_reports_statement_server_message_and_applied_steps(pg_db, tmp_path, monkeypatch):
    from psycopg.conninfo import make_conninfo

    _query(pg_db, 'CREATE SCHEMA fails; CREATE TABLE IF NOT EXISTS fails."clash" (x INT)')
    path = tmp_path / "fails.flow"
    path.write_text("source b (x bigint) from csv('b.csv')\nview ok = b | select x\nview clash = ok | where x > 1\n")
    # trust authentication ignores the password, which is exactly what must not leak
    dsn = make_conninfo(pg_db, password="hunter2-in-dsn")
    monkeypatch.setenv("PGPASSWORD", "hunter2-in-env")
    proc = run_flowc("deploy", str(path), "--target", "postgres", "--dsn", dsn)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert "deploy stopped at create view clash" in err
    assert 'statement: CREATE VIEW "clash"' in err
    assert 'server: relation "clash" already exists' in err
    assert "already applied: create table __raw_b; create view b; create view ok" in err
    everything = proc.stdout + proc.stderr
    assert "hunter2-in-dsn" not in everything and "hunter2-in-env" not in everything
    assert _query(pg_db, f"SELECT name FROM {CATALOG}.objects WHERE deployment = 'fails' ORDER BY position") == [
        ("__raw_b",), ("b",), ("ok",)]

    # fix the cause: the next deploy continues with what is left
    _query(pg_db, 'DROP TABLE fails."clash"')
    proc = run_flowc("deploy", str(path), "--target", "postgres", "--dsn", dsn)
    assert proc.returncode == 0, proc.stderr
    assert "0 to drop, 1 to create, 3 unchanged" in proc.stdout
    assert "hunter2" not in proc.stdout + proc.stderr
    assert "password=***" in proc.stderr


@pytest.mark.postgres
def test_two_deployments_share_a_database(pg_db, tmp_path):
    a = tmp_path / "first.flow"
    a.write_text("source s1 (x bigint) from csv('a.csv')\nview v1 = s1 | select x\n")
    b = tmp_path / "second.flow"
    b.write_text("source s2 (x bigint) from csv('b.csv')\nview v2 = s2 | select x\n")
    assert _deploy_cli(a, pg_db).returncode == 0
    proc = _deploy_cli(b, pg_db)
    assert proc.returncode == 0, proc.stderr
    assert "0 to drop, 3 to create" in proc.stdout  # nothing of 'first' is touched


# ---------------------------------------------------------------- live RisingWave (opt-in)


@pytest.mark.skipif(not os.environ.get("FLOWC_RISINGWAVE_DSN"), reason="FLOWC_RISINGWAVE_DSN is not set")
@pytest.mark.parametrize("name", CASES)
def test_deploy_every_example_on_risingwave(name, tmp_path):
    import psycopg

    dsn = os.environ["FLOWC_RISINGWAVE_DSN"]
    program = risingwave_program(name, tmp_path)
    program = dataclasses.replace(program, base_dir=str(EXAMPLES / name))
    try:
        objects, _ = deploy_objects(program, "risingwave")
    except FlowError as e:
        pytest.skip(f"{name} is not deployable on RisingWave: {e.first.message}")
    deploy(program, "risingwave", dsn, name=f"test_{name}", out=io.StringIO(), log=io.StringIO())
    with psycopg.connect(dsn, autocommit=True) as conn:
        for o in objects:
            if o.kind == "materialized view":
                conn.execute(f'SELECT count(*) FROM "{o.name}"').fetchone()
        redeploy = io.StringIO()
        deploy(program, "risingwave", dsn, name=f"test_{name}", out=redeploy, log=io.StringIO())
        assert "nothing to do" in redeploy.getvalue()
        for o in reversed(objects):
            conn.execute(f'DROP {o.kind.upper()} IF EXISTS "{o.name}"')
        conn.execute(f"DELETE FROM {CATALOG}.objects WHERE deployment = %s", (f"test_{name}",))


def test_dsn_display_and_redaction_hide_passwords(monkeypatch):
    from flowc.targets.postgres.connect import Secrets, display_dsn

    monkeypatch.setenv("PGPASSWORD", "env-pw")
    uri = "postgresql://alice:p%40ss@db.example:6543/prod"
    shown = display_dsn(uri)
    assert "p@ss" not in shown and "p%40ss" not in shown and "password=***" in shown and "host=db.example" in shown
    s = Secrets.of(uri)
    assert s.redact(f"failed for {uri} with p@ss and env-pw") == "failed for postgresql://alice:***@db.example:6543/prod " \
                                                                 "with *** and ***"
    assert "secret" not in display_dsn("host=h password=secret dbname=d")


@pytest.mark.postgres
def test_a_plan_that_drops_loaded_rows_needs_allow_data_loss(pg_db, tmp_path):
    """Issue 12: changing a source's columns drops its table and the rows loaded into it; the plan
    says so in words and deploy refuses to apply it without --allow-data-loss."""
    import psycopg

    text = (EXAMPLES / "tumble" / "program.flow").read_text()
    path = tmp_path / "shop.flow"
    path.write_text(text)
    assert _deploy_cli(path, pg_db).returncode == 0
    with psycopg.connect(pg_db) as conn:
        conn.execute('INSERT INTO shop."__raw_bids" (auction) VALUES (1), (2)')
    loaded = _query(pg_db, 'SELECT count(*) FROM shop."__raw_bids"')
    changed = text.replace("    price     bigint,", "    price     bigint,\n    extra     string,", 1)
    assert changed != text
    path.write_text(changed)
    plan = _deploy_cli(path, pg_db, "--dry-run")
    assert plan.returncode == 0 and "-- DATA LOSS: dropping table __raw_bids (changed)" in plan.stdout
    refused = _deploy_cli(path, pg_db)
    assert refused.returncode == 1 and "drops table __raw_bids and the rows loaded into it" in refused.stderr
    assert "--allow-data-loss" in refused.stderr
    assert _query(pg_db, 'SELECT count(*) FROM shop."__raw_bids"') == loaded  # nothing applied
    accepted = _deploy_cli(path, pg_db, "--allow-data-loss")
    assert accepted.returncode == 0, accepted.stderr
    assert _query(pg_db, 'SELECT count(*) FROM shop."__raw_bids"') < loaded  # the rows inserted by hand are gone
    flink = run_flowc("deploy", str(path), "--target", "flink", "--dry-run", "--allow-data-loss")
    assert flink.returncode == 1 and "--allow-data-loss applies to --target postgres or risingwave" in flink.stderr


@pytest.mark.postgres
def test_two_deployments_never_share_an_object(pg_db, tmp_path):
    """Issue 12: two programs with a view of the same name live in schemas of their own; put into one
    schema on purpose, the second is refused, naming the owner."""
    a = tmp_path / "alpha.flow"
    a.write_text("source a1 (x bigint) from csv('a.csv')\nview v = a1 | select x\n")
    b = tmp_path / "beta.flow"
    b.write_text("source b1 (x bigint) from csv('b.csv')\nview v = b1 | select x\n")
    assert _deploy_cli(a, pg_db).returncode == 0
    assert _deploy_cli(b, pg_db).returncode == 0
    assert _query(pg_db, "SELECT to_regclass('alpha.v') IS NOT NULL, to_regclass('beta.v') IS NOT NULL") == [
        (True, True)]
    c = tmp_path / "gamma.flow"
    c.write_text("source c1 (x bigint) from csv('c.csv')\nview v = c1 | select x\n")
    proc = _deploy_cli(c, pg_db, "--schema", "alpha")
    assert proc.returncode == 1
    assert "'v' is deployment 'alpha''s: nothing was applied" in proc.stderr and "--name alpha" in proc.stderr
    assert _query(pg_db, f"SELECT count(*) FROM {CATALOG}.objects WHERE deployment = 'gamma'") == [(0,)]


@pytest.mark.postgres
def test_a_deployment_stays_in_its_schema(pg_db, tmp_path):
    """Issue 12: `--schema` places a deployment; later deploys find it there without the option, a
    different --schema is refused (moving it would drop its loaded rows), and deployments made
    before schemas existed stay in public."""
    path = tmp_path / "store.flow"
    path.write_text("source s (x bigint) from csv('a.csv')\nview v = s | select x\n")
    first = _deploy_cli(path, pg_db, "--schema", "Sales Team")
    assert first.returncode == 0, first.stderr
    assert "in schema Sales Team" in first.stdout and 'SET search_path TO "Sales Team";' in first.stdout
    assert _query(pg_db, """SELECT to_regclass('"Sales Team".v') IS NOT NULL""") == [(True,)]
    path.write_text("source s (x bigint) from csv('a.csv')\nview v = s | select x = x + 1\n")
    again = _deploy_cli(path, pg_db)
    assert again.returncode == 0, again.stderr
    assert "in schema Sales Team" in again.stdout and "1 to drop, 1 to create" in again.stdout
    moved = _deploy_cli(path, pg_db, "--schema", "elsewhere")
    assert moved.returncode == 1
    assert "deployment 'store' lives in schema 'Sales Team', not 'elsewhere': nothing was applied" in moved.stderr
    bad = _deploy_cli(path, pg_db, "--schema", "pg_mine")
    assert bad.returncode == 1 and "reserves" in bad.stderr
    # a deployment recorded before schemas: objects in public, no schemas row
    _query(pg_db, f"DELETE FROM {CATALOG}.schemas WHERE deployment = 'store'")
    legacy = _deploy_cli(path, pg_db, "--dry-run")
    assert legacy.returncode == 0 and "in schema public" in legacy.stdout


def test_deploy_from_inside_the_program_folder_is_named_by_the_folder(tmp_path):
    """Issue 12: `flowc deploy program.flow` inside its folder was the deployment '.', shared by every
    program deployed that way; the name comes from the resolved folder."""
    import subprocess
    import sys

    for name in ("shop", "ads"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "program.flow").write_text((EXAMPLES / "tumble" / "program.flow").read_text())
        env = {k: v for k, v in os.environ.items() if k != "FLOWC_PG_DSN"}
        proc = subprocess.run([sys.executable, "-m", "flowc", "deploy", "program.flow", "--target", "postgres",
                               "--dry-run"], capture_output=True, text=True, cwd=folder, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert f"-- flowc deploy plan: '{name}' on postgres in schema {name}," in proc.stdout
