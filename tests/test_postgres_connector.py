"""The `postgres(...)` connector on the local runtime and on DataFusion, against a real PostgreSQL.

Needs a server: FLOWC_TEST_PG_DSN, default the local one; every test skips with the reason when
none is reachable. All tables live in a schema unique to the run, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from flowc.compiler.diagnostics import FlowError
from flowc.runtime import postgres_io as pgio
from support import EXAMPLES, read_rows, run_flowc

from flowc import pipeline

pytestmark = pytest.mark.postgres

PG_DSN = os.environ.get("FLOWC_TEST_PG_DSN", "host=127.0.0.1 port=5432 dbname=postgres")
BIDS_COLUMNS = ("auction", "bidder", "price", "channel", "date_time")


@pytest.fixture(scope="module")
def pg():
    """(dsn, schema): a fresh schema for this run, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3)
    except psycopg.Error as e:
        pytest.skip(f"no PostgreSQL reachable at FLOWC_TEST_PG_DSN ({PG_DSN.split('password')[0]}): "
                    f"{str(e).strip().splitlines()[0] if str(e).strip() else e}")
    schema = f"flowc_conn_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PG_DSN, schema, conn
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


@pytest.fixture(autouse=True)
def _pg_dsn_env(monkeypatch):
    # programs below say `dsn = env('PG_DSN')`
    monkeypatch.setenv("PG_DSN", PG_DSN)


def load_bids(conn, schema: str, example: str, table: str = "bids") -> str:
    """The example's bids.csv as a table with an identity column `id` numbering rows in file order."""
    conn.execute(f'CREATE TABLE "{schema}"."{table}" (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, '
                 "auction BIGINT, bidder BIGINT, price BIGINT, channel TEXT, date_time TIMESTAMP)")
    with conn.cursor() as cur, cur.copy(f'COPY "{schema}"."{table}" ({", ".join(BIDS_COLUMNS)}) '
                                        "FROM STDIN (FORMAT csv, HEADER true)") as copy:
        copy.write((EXAMPLES / example / "bids.csv").read_bytes())
    return f"{schema}.{table}"


def program(example: str, tmp_path: Path, replace: dict[str, str]):
    text = (EXAMPLES / example / "program.flow").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "program.flow"
    path.write_text(text)
    return pipeline.to_ir(pipeline.load_program(str(path)))


def rows(table: pa.Table) -> Counter:
    out: Counter = Counter()
    for r in table.to_pylist():
        sign = -1 if r.pop("_op", "+") == "-" else 1
        out[tuple(r.values())] += sign
    return Counter({k: n for k, n in out.items() if n > 0})


def server_rows(conn, table: str, columns: list[str]) -> Counter:
    schema, name = table.split(".", 1)
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    got = conn.execute(f'SELECT {quoted} FROM "{schema}"."' + name.replace('"', '""') + '"').fetchall()
    return Counter(tuple(r) for r in got)


def file_rows(path: Path, columns: list[str]) -> Counter:
    """A CSV file's consolidated rows, values typed as the server returns them."""
    want, _ = read_rows(path, columns)
    return want


# ---------------------------------------------------------------- source


@pytest.mark.parametrize("batch_size", [1, 7, 10_000])
def test_source_in_order_matches_csv(pg, tmp_path, batch_size):
    dsn, schema, conn = pg
    table = f"bids_{batch_size}"
    load_bids(conn, schema, "tumble", table)
    csv_prog = program("tumble", tmp_path, {})
    (tmp_path / "bids.csv").write_bytes((EXAMPLES / "tumble" / "bids.csv").read_bytes())
    want = pipeline.run(csv_prog, "local", batch_size=batch_size, collect=True)
    pg_prog = program("tumble", tmp_path, {
        "from csv('bids.csv')": f"from postgres(table = '{schema}.{table}', order_by = 'id', dsn = env('PG_DSN'))"})
    got = pipeline.run(pg_prog, "local", batch_size=batch_size, collect=True)
    assert rows(got.tables["hot_items"]) == rows(want.tables["hot_items"])
    assert rows(got.tables["hot_items"])  # the example does produce windows
    # lateness is decided over the arrival order: the same rows are late
    assert [s.late for s in got.sources] == [s.late for s in want.sources] and want.sources[0].late > 0
    assert got.sources[0].rows_in == 60
    late = tmp_path / "out" / "late_bids.csv"
    assert file_rows(late, list(BIDS_COLUMNS)) == file_rows(EXAMPLES / "tumble" / "expected" / "late_bids.csv",
                                                            list(BIDS_COLUMNS))


def test_source_batches_are_exact_and_ordered(pg):
    dsn, schema, conn = pg
    table = load_bids(conn, schema, "tumble", "bids_exact")
    arrow = pa.schema([("auction", pa.int64()), ("price", pa.int64()), ("date_time", pa.timestamp("us"))])
    batches = list(pgio.read_batches(lambda: __import__("psycopg").connect(dsn), arrow, 7, table=table))
    assert [b.num_rows for b in batches] == [7] * 8 + [4]
    # no order_by: the single-column primary key `id` is the arrival order (= file order)
    from flowc.runtime import io

    csv = io.read_table("csv", str(EXAMPLES / "tumble" / "bids.csv"),
                        pa.schema([(f.name, f.type) for f in arrow]))
    assert pa.Table.from_batches(batches).equals(csv)


def test_query_source_and_order_by(pg, tmp_path):
    dsn, schema, conn = pg
    table = load_bids(conn, schema, "tumble", "bids_q")
    prog = program("tumble", tmp_path, {
        "from csv('bids.csv')": f"from postgres(query = 'SELECT * FROM {table} WHERE price > 0', order_by = 'id')"})
    got = pipeline.run(prog, "local", collect=True)
    want = [r for r in (EXAMPLES / "tumble" / "expected" / "hot_items.csv").read_text().splitlines()[1:] if r]
    assert got.tables["hot_items"].num_rows == len(want)


def test_table_without_order_needs_order_by(pg, tmp_path):
    dsn, schema, conn = pg
    conn.execute(f'CREATE TABLE "{schema}".nokey (auction BIGINT, bidder BIGINT, price BIGINT, channel TEXT, '
                 "date_time TIMESTAMP)")
    prog = program("tumble", tmp_path, {"from csv('bids.csv')": f"from postgres(table = '{schema}.nokey')"})
    with pytest.raises(FlowError) as e:
        pipeline.run(prog, "local")
    assert "order_by" in str(e.value) and "no primary key" in str(e.value)


def test_datafusion_reads_postgres(pg, tmp_path):
    dsn, schema, conn = pg
    table = load_bids(conn, schema, "tumble", "bids_df")
    prog = program("tumble", tmp_path, {"from csv('bids.csv')": f"from postgres(table = '{table}')"})
    got = pipeline.run(prog, "datafusion", collect=True)
    local = pipeline.run(prog, "local", collect=True)
    assert rows(got.tables["hot_items"]) == rows(local.tables["hot_items"])
    assert [s.late for s in got.sources] == [s.late for s in local.sources]


# ---------------------------------------------------------------- sinks


@pytest.mark.parametrize("target,batch_size", [("local", 1), ("local", 10_000), ("datafusion", 10_000)])
def test_changelog_sink_upserts_to_consolidated_contents(pg, tmp_path, target, batch_size):
    dsn, schema, conn = pg
    out = f"{schema}.by_channel_{target}_{batch_size}"
    (tmp_path / "bids.csv").write_bytes((EXAMPLES / "changes" / "bids.csv").read_bytes())
    prog = program("changes", tmp_path, {
        "into csv('out/by_channel.csv')": f"into postgres(table = '{out}', key = 'channel', dsn = env('PG_DSN'))"})
    result = pipeline.run(prog, target, batch_size=batch_size)
    cols = ["channel", "bids", "top", "low"]
    want = Counter({tuple(v[1] for v in k): n for k, n in
                    file_rows(EXAMPLES / "changes" / "expected" / "by_channel.csv", cols).items()})
    assert server_rows(conn, out, cols) == want
    if target == "local" and batch_size == 1:
        assert result.sinks[0].rows_out > len(want)  # the changelog did retract and replace rows
    # the sink created the table with the key as primary key
    pk = pgio.primary_key(conn, out)
    assert pk == ["channel"]


def test_upsert_order_within_a_batch_does_not_matter(pg):
    dsn, schema, conn = pg
    import psycopg

    arrow = pa.schema([("_op", pa.string()), ("k", pa.string()), ("v", pa.int64())])
    w = pgio.PostgresWriter(lambda: psycopg.connect(dsn), f"{schema}.kv", arrow, key=["k"])
    with w:
        w.write(pa.record_batch([["+", "+", "+"], ["a", "b", "c"], [1, 2, 3]], schema=arrow))
        # a replacement before its retraction, a row inserted and retracted, a plain retraction
        w.write(pa.record_batch([["+", "-", "+", "-", "-"], ["a", "a", "d", "d", "c"], [10, 1, 4, 4, 3]],
                                schema=arrow))
    assert server_rows(conn, f"{schema}.kv", ["k", "v"]) == Counter({("a", 10): 1, ("b", 2): 1})


def test_append_sink(pg, tmp_path):
    dsn, schema, conn = pg
    (tmp_path / "bids.csv").write_bytes((EXAMPLES / "tumble" / "bids.csv").read_bytes())
    out = f"{schema}.hot_items"
    prog = program("tumble", tmp_path, {"into csv('out/hot_items.csv')": f"into postgres(table = '{out}')"})
    pipeline.run(prog, "local", batch_size=7)
    expected = EXAMPLES / "tumble" / "expected" / "hot_items.csv"
    header = expected.read_text().splitlines()[0].split(",")
    got = server_rows(conn, out, header)
    assert sum(got.values()) == sum(1 for line in expected.read_text().splitlines()[1:] if line)
    # timestamps and numbers by value
    want = Counter()
    for k, n in file_rows(expected, header).items():
        want[tuple(v[1] for v in k)] += n
    assert Counter({tuple(str(v) if hasattr(v, "isoformat") else v for v in k): n for k, n in got.items()}) == \
        Counter({tuple(str(v).replace("T", " ") if hasattr(v, "isoformat") else v for v in k): n
                 for k, n in want.items()})
    # appending again adds the rows again (append, not replace)
    pipeline.run(prog, "local")
    assert sum(server_rows(conn, out, header).values()) == 2 * sum(got.values())


def test_append_sink_rejects_retractions(pg, tmp_path):
    dsn, schema, conn = pg
    (tmp_path / "bids.csv").write_bytes((EXAMPLES / "changes" / "bids.csv").read_bytes())
    prog = program("changes", tmp_path, {
        "into csv('out/by_channel.csv')": f"into postgres(table = '{schema}.appended')"})
    with pytest.raises(FlowError) as e:
        pipeline.run(prog, "local", batch_size=1)
    assert "key" in str(e.value) and "retraction" in str(e.value)


@pytest.mark.parametrize("target", ["local", "datafusion"])
def test_a_failed_run_leaves_a_postgres_sink_as_it_was(pg, tmp_path, target):
    """Issue 12: a sink table gets all of a run's rows or none: a bad record at row 250,001 (on
    local, read after the first megabyte's batches were written) rolls the whole run back; a
    complete run commits them at once."""
    dsn, schema, conn = pg
    out = f"{schema}.kept_{target}"
    lines = ["k,v"] + [f"{i % 7},{i}" for i in range(300_000)]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    path = tmp_path / "p.flow"
    path.write_text("source s (k bigint, v bigint) from csv('in.csv')\n"
                    f"view big = s | where v >= 0\nsink big into postgres(table = '{out}')\n")
    pipeline.run(pipeline.to_ir(pipeline.load_program(str(path))), target, batch_size=1000)
    assert conn.execute(f'SELECT count(*) FROM "{schema}"."kept_{target}"').fetchone() == (300_000,)
    lines[250_001] = "3,x"
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(FlowError) as e:
        pipeline.run(pipeline.to_ir(pipeline.load_program(str(path))), target, batch_size=1000)
    assert "row 250001" in str(e.value), str(e.value)
    assert conn.execute(f'SELECT count(*) FROM "{schema}"."kept_{target}"').fetchone() == (300_000,)


def test_a_postgres_sink_commits_on_close_and_rolls_back_on_abort(pg):
    dsn, schema, conn = pg
    import psycopg

    batch = pa.record_batch({"k": pa.array([1, 2, 3], pa.int64())})
    table = f"{schema}.atomic"
    w = pgio.PostgresWriter(lambda: psycopg.connect(dsn), table, batch.schema)
    w.write(batch)
    w.write(batch)
    assert conn.execute(f'SELECT to_regclass(\'"{schema}".atomic\')').fetchone() == (None,)  # not yet visible
    w.close()
    assert conn.execute(f'SELECT count(*) FROM "{schema}".atomic').fetchone() == (6,)
    w = pgio.PostgresWriter(lambda: psycopg.connect(dsn), table, batch.schema)
    w.write(batch)
    w.abort()
    assert conn.execute(f'SELECT count(*) FROM "{schema}".atomic').fetchone() == (6,)


QUOTING = """
source `order` (`order` bigint, `we"ird` string, ts timestamp)
from postgres(table = '{schema}.or"der', order_by = 'order')
event_time ts watermark 1s

view `select` = `order`
    | aggregate n = count(), total = sum(`order`) by `we"ird`
    | emit changes

sink `select` into postgres(table = '{schema}.se"lect', key = 'we"ird')
"""


@pytest.mark.parametrize("target", ["local", "datafusion"])
def test_odd_names_are_quoted(pg, tmp_path, target):
    dsn, schema, conn = pg
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}"."or""der" ("order" BIGINT, "we""ird" TEXT, ts TIMESTAMP)')
    conn.execute(f'TRUNCATE "{schema}"."or""der"')
    conn.execute(f'DROP TABLE IF EXISTS "{schema}"."se""lect"')
    conn.execute(f'INSERT INTO "{schema}"."or""der" VALUES (3, \'it\'\'s\', \'2024-01-01 00:00:02\'), '
                 f'(1, \'a,"b\', \'2024-01-01 00:00:00\'), (2, \'it\'\'s\', \'2024-01-01 00:00:01\'), '
                 f'(4, \'\', \'2024-01-01 00:00:03\'), (5, \'a,"b\', \'2024-01-01 00:00:04\')')
    path = tmp_path / "q.flow"
    path.write_text(QUOTING.replace("{schema}", schema))
    prog = pipeline.to_ir(pipeline.load_program(str(path)))
    pipeline.run(prog, target, batch_size=2)
    got = server_rows(conn, f'{schema}.se"lect', ['we"ird', "n", "total"])
    assert got == Counter({("it's", 2, 5): 1, ('a,"b', 2, 6): 1, ("", 1, 4): 1})
    assert pgio.primary_key(conn, f'{schema}.se"lect') == ['we"ird']


def test_identifiers_are_never_spliced():
    q = pgio.source_query(pa.schema([('a"; DROP TABLE x; --', pa.int64())]), table='s.t"; DROP TABLE y; --',
                          order_by=["o\"rder"])
    text = q.as_string(None)
    assert '"a""; DROP TABLE x; --"' in text and '"t""; DROP TABLE y; --"' in text and '"o""rder"' in text


# ---------------------------------------------------------------- secrets and arguments


def test_bad_dsn_error_hides_the_password(pg, tmp_path, monkeypatch):
    secret = "s3cr3t-Pa55"
    monkeypatch.setenv("PG_DSN", f"postgresql://nobody:{secret}@127.0.0.1:1/nowhere")
    (tmp_path / "bids.csv").write_bytes((EXAMPLES / "tumble" / "bids.csv").read_bytes())
    prog = program("tumble", tmp_path, {
        "from csv('bids.csv')": "from postgres(table = 'bids', order_by = 'id', dsn = env('PG_DSN'))"})
    with pytest.raises(FlowError) as e:
        pipeline.run(prog, "local")
    text = str(e.value) + "".join(str(d) for d in e.value.diagnostics)
    assert "cannot connect" in text and secret not in text and "***" in text
    # through the CLI too: nothing printed carries the password
    (tmp_path / "p2.flow").write_text((tmp_path / "program.flow").read_text().replace(
        "dsn = env('PG_DSN')", f"dsn = 'host=127.0.0.1 port=1 user=nobody password={secret}'"))
    r = run_flowc("run", str(tmp_path / "p2.flow"), cwd=tmp_path)
    assert r.returncode == 1 and "cannot connect" in r.stderr
    assert secret not in r.stderr + r.stdout


def test_sink_error_hides_the_password(pg, tmp_path, monkeypatch):
    dsn, schema, conn = pg
    secret = "an0ther-s3cret"
    # a reachable server (trust auth ignores the password) and a schema that does not exist
    monkeypatch.setenv("PG_DSN", f"{dsn} password={secret}")
    (tmp_path / "bids.csv").write_bytes((EXAMPLES / "tumble" / "bids.csv").read_bytes())
    prog = program("tumble", tmp_path, {
        "into csv('out/hot_items.csv')": "into postgres(table = 'no_such_schema.t', dsn = env('PG_DSN'))"})
    with pytest.raises(FlowError) as e:
        pipeline.run(prog, "local")
    text = "".join(str(d) for d in e.value.diagnostics)
    assert "no_such_schema" in text and secret not in text


@pytest.mark.parametrize("args,message", [
    ("table = 't', query = 'SELECT 1'", "exactly one of table"),
    ("order_by = 'id'", "exactly one of table"),
    ("table = 't', key = 'id'", "takes no 'key'"),
    ("table = 't', dsn = env('FLOWC_SURELY_UNSET_VAR')", "not set"),
])
def test_bad_source_arguments(tmp_path, args, message, monkeypatch):
    monkeypatch.delenv("FLOWC_SURELY_UNSET_VAR", raising=False)
    prog = program("tumble", tmp_path, {"from csv('bids.csv')": f"from postgres({args})"})
    with pytest.raises(FlowError) as e:
        pipeline.run(prog, "local")
    assert message in str(e.value) + "".join(str(d) for d in e.value.diagnostics)


def test_sink_needs_a_table(tmp_path):
    prog = program("tumble", tmp_path, {"into csv('out/hot_items.csv')": "into postgres(key = 'auction')"})
    with pytest.raises(FlowError) as e:
        pipeline.run(prog, "local")
    assert "needs table" in "".join(str(d) for d in e.value.diagnostics)


LOOKUP = """
source bids (auction bigint, bidder bigint, price bigint, channel string, date_time timestamp)
from csv('bids.csv')

table channels (channel string, owner string, primary key (channel)) from postgres(table = '{schema}.channels')

view v = bids | join channels as c on channel = c.channel | select auction, owner
sink v into csv('out/v.csv')
"""


@pytest.mark.parametrize("target", ["local", "datafusion"])
def test_table_from_postgres_for_lookups(pg, tmp_path, target):
    dsn, schema, conn = pg
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".channels (channel TEXT, owner TEXT)')  # no key: any order
    conn.execute(f'TRUNCATE "{schema}".channels')
    conn.execute(f"INSERT INTO \"{schema}\".channels VALUES ('app', 'ann'), ('web', 'wes')")
    (tmp_path / "bids.csv").write_bytes((EXAMPLES / "tumble" / "bids.csv").read_bytes())
    path = tmp_path / "l.flow"
    path.write_text(LOOKUP.replace("{schema}", schema))
    got = pipeline.run(pipeline.to_ir(pipeline.load_program(str(path))), target, collect=True)
    owners = Counter(r["owner"] for r in got.tables["v"].to_pylist())
    channels = Counter(line.split(",")[3] for line in (EXAMPLES / "tumble" / "bids.csv").read_text().splitlines()[1:])
    assert owners == Counter({"ann": channels["app"], "wes": channels["web"]})
