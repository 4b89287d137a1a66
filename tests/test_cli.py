"""The command line as users meet it: exit codes, messages without tracebacks, every subcommand."""

from support import EXAMPLES, copy_example, run_flowc


def test_check_ok_prints_a_summary():
    proc = run_flowc("check", str(EXAMPLES / "tumble" / "program.flow"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok (1 sources, 0 tables, 1 views, 1 sinks)")


def test_check_reports_every_error_with_location_and_exits_1(tmp_path):
    bad = tmp_path / "bad.flow"
    bad.write_text((EXAMPLES / "tumble" / "program.flow").read_text()
                   .replace("where price > 10", "where prise > 10")
                   .replace("max(price)", "maxx(price)"))
    proc = run_flowc("check", str(bad))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{bad}:13:13: error[F0203]: unknown column 'prise' in 'where'" in proc.stderr
    assert "hint: did you mean 'price'?" in proc.stderr
    assert "error[F0211]: 'aggregate' items must be aggregate calls" in proc.stderr
    assert "2 errors" in proc.stderr


def test_syntax_error_exit_1_with_caret(tmp_path):
    bad = tmp_path / "bad.flow"
    bad.write_text("sourc bids (a bigint) from csv('x.csv')\n")
    proc = run_flowc("check", str(bad))
    assert proc.returncode == 1
    assert f"{bad}:1:1: error[F0101]" in proc.stderr
    assert "^^^^^" in proc.stderr
    assert "did you mean 'source'?" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_is_a_user_error():
    proc = run_flowc("check", "does/not/exist.flow")
    assert proc.returncode == 1
    assert "no such file: does/not/exist.flow" in proc.stderr


def test_bad_record_at_run_time_names_the_row_and_is_not_a_traceback(tmp_path):
    work = copy_example("filter_project", tmp_path)
    data = (work / "bids.csv").read_text().splitlines()
    data[3] = "4,100,fifty-three,partner,2026-03-01 12:00:01.739000"
    (work / "bids.csv").write_text("\n".join(data) + "\n")
    for target in ("local", "datafusion"):
        proc = run_flowc("run", str(work / "program.flow"), "--target", target, cwd=tmp_path)
        assert proc.returncode == 1, (target, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert "error[F0401]" in proc.stderr
        assert "price" in proc.stderr and "fifty-three" in proc.stderr, proc.stderr


def test_run_prints_rows_in_late_and_out(tmp_path):
    work = copy_example("tumble", tmp_path)
    proc = run_flowc("run", str(work / "program.flow"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "source bids: 60 rows in, 3 late" in proc.stderr
    assert "sink hot_items -> csv out/hot_items.csv: 24 rows out" in proc.stderr


def _jsonl_variant(name, tmp_path):
    """The example with its csv sinks switched to jsonl, which RisingWave's file sinks can write."""
    work = copy_example(name, tmp_path)
    program = work / "program.flow"
    program.write_text(program.read_text().replace(".csv')", ".jsonl')").replace("into csv(", "into jsonl(")
                       .replace("from csv('bids.jsonl')", "from csv('bids.csv')"))
    return program


def test_compile_risingwave_to_a_file(tmp_path):
    out = tmp_path / "ddl.sql"
    proc = run_flowc("compile", str(_jsonl_variant("tumble", tmp_path)), "--target", "risingwave", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "CREATE SOURCE bids" in text and "CREATE MATERIALIZED VIEW hot_items" in text
    assert "EMIT ON WINDOW CLOSE" in text and "CREATE SINK" in text


def test_compile_risingwave_names_a_sink_connector_it_cannot_express():
    proc = run_flowc("compile", str(EXAMPLES / "tumble" / "program.flow"), "--target", "risingwave")
    assert proc.returncode == 1
    assert "error[F0302]: connector 'csv' is not supported on target 'risingwave'" in proc.stderr
    assert "hint:" in proc.stderr and "Traceback" not in proc.stderr


def test_compile_datafusion_prints_sql():
    proc = run_flowc("compile", str(EXAMPLES / "tumble" / "program.flow"), "--target", "datafusion")
    assert proc.returncode == 0, proc.stderr
    assert "SELECT" in proc.stdout


def test_explain_every_stage(tmp_path):
    path = str(_jsonl_variant("tumble", tmp_path))
    expectations = {"ast": "SourceDecl", "ir": "Aggregate by [auction] window tumble(date_time, 10s)",
                    "optimized": "Project auction, price, date_time", "local": "hot_items",
                    "datafusion": "SELECT", "risingwave": "EMIT ON WINDOW CLOSE"}
    for stage, needle in expectations.items():
        proc = run_flowc("explain", path, "--stage", stage)
        assert proc.returncode == 0, (stage, proc.stderr)
        assert needle in proc.stdout, (stage, proc.stdout)


def test_graph_mermaid_and_dot():
    path = str(EXAMPLES / "tumble" / "program.flow")
    mermaid = run_flowc("graph", path).stdout
    assert mermaid.startswith("flowchart LR") and "src_bids --> view_hot_items" in mermaid
    dot = run_flowc("graph", path, "--format", "dot").stdout
    assert dot.startswith("digraph flow {") and "src_bids -> view_hot_items;" in dot


def test_python_module_entry_point_and_version():
    proc = run_flowc("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("flowc ")


def test_demo_copies_and_runs_the_bundled_example(tmp_path):
    proc = run_flowc("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "demo" / "tumble" / "out" / "hot_items.csv").exists()
    assert "rows in" in proc.stdout


def test_python_program_file_runs(tmp_path):
    work = copy_example("filter_project", tmp_path)
    (work / "pipeline.py").write_text(
        "import flowc as fc\n"
        "flow = fc.Flow()\n"
        "bids = flow.source('bids', fc.csv('bids.csv'), schema={'auction': 'bigint', 'bidder': 'bigint',\n"
        "    'price': 'bigint', 'channel': 'string', 'date_time': 'timestamp'})\n"
        "big = flow.view(lambda bids: bids.where('price > 30 and channel <> \\'partner\\'')\n"
        "    .select('auction', 'bidder', (fc.col('price') * 100).alias('price_cents'), 'date_time'), name='big')\n"
        "flow.sink(big, fc.csv('out/big.csv'))\n")
    proc = run_flowc("run", str(work / "pipeline.py"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    from support import compare_outputs
    assert compare_outputs(EXAMPLES / "filter_project" / "expected", work / "out") == []
