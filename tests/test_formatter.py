"""`flowc fmt` and `Flow.to_flow()`: canonical text that parses back to the same program, comments kept."""

import pytest
from flowc.dsl.formatter import expr, format_program, format_source
from flowc.dsl.parser import parse, parse_expression
from support import EXAMPLES

import flowc as fc

CASES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "program.flow").exists())


@pytest.mark.parametrize("name", CASES)
def test_examples_round_trip_and_are_stable(name):
    text = (EXAMPLES / name / "program.flow").read_text()
    program = parse(text, "p.flow")
    out = format_source(program, text)
    assert parse(out, "q.flow") == program
    assert format_source(parse(out, "q.flow"), out) == out  # formatting is idempotent


def test_the_acceptance_examples_are_already_canonical():
    text = (EXAMPLES / "tumble" / "program.flow").read_text()
    assert format_source(parse(text, "p.flow"), text) == text


@pytest.mark.parametrize("source", [
    "a or b and not c",
    "(a or b) and c",
    "not (a = b)",
    "-x * y",
    "-(x * y)",
    "a - (b - c)",
    "(a - b) - c",
    "a / (b * c)",
    "x between 1 and 2 and y",
    "(x between 1 and 2) = true",
    "a || b || 'c''d'",
    "case when a > 1 then 'big' else 'small' end",
    "cast(price as decimal(10, 2)) + 1.5",
    "x not in (1, 2, -3) or y is not null",
    "ts + 10min > ts - -5s",
    "- -x",
    "- 5",
    "`order id` + `select`",
    "lower(a.`b c`) = upper(null)",
    "coalesce(a, 1e20, 2.5)",
])
def test_expressions_round_trip(source):
    tree = parse_expression(source)
    assert parse_expression(expr(tree)) == tree


def test_comments_are_kept():
    text = ("# header comment\nsource s (a bigint) from csv('x.csv')  # trailing\n\n"
            "# about v\nview v = s\n    # inside\n    | where a > 1\n# the end\n")
    out = format_source(parse(text, "c.flow"), text)
    for comment in ("# header comment", "# trailing", "# about v", "# inside", "# the end"):
        assert comment in out
    assert parse(out, "d.flow") == parse(text, "c.flow")


def test_a_hash_inside_a_string_is_not_a_comment():
    text = "source s (\n    a bigint,\n)\nfrom csv('x#1.csv')\n"
    assert format_source(parse(text, "c.flow"), text) == text


def test_python_flow_prints_flow_text_that_parses_to_the_same_program():
    flow = fc.Flow()
    flow.source("bids", fc.csv("b.csv"), schema={"price": "bigint", "ts": "timestamp"}, event_time="ts",
                watermark="90min", on_late="drop", on_error="skip")
    v = flow.view(lambda bids: bids.where(fc.col("price") > 10).window(fc.hop("ts", "10s", "5s"))
                  .aggregate(n=fc.count(), by=[]), name="v")
    flow.sink(v, fc.stdout())
    text = flow.to_flow()
    assert "watermark 90min" in text and "on_error skip" in text
    assert fc.parse(text) == flow
    assert format_program(fc.parse(text).program) == text


def test_fmt_command_rewrites_checks_and_converts_python(tmp_path):
    from support import run_flowc

    messy = tmp_path / "p.flow"
    messy.write_text("# keep me\nsource s (a bigint,b   string) from csv('x.csv')\n"
                     "view v = s|where a>1|select a,   b\n")
    assert run_flowc("fmt", str(messy), "--check").returncode == 1
    proc = run_flowc("fmt", str(messy))
    assert proc.returncode == 0 and "reformatted" in proc.stderr
    text = messy.read_text()
    assert text.startswith("# keep me\nsource s (\n    a bigint,\n    b string,\n)")
    assert "    | where a > 1\n    | select a, b\n" in text
    assert run_flowc("fmt", str(messy), "--check").returncode == 0
    script = tmp_path / "p.py"
    script.write_text("import flowc as fc\nflow = fc.Flow()\n"
                      "flow.source('s', fc.csv('x.csv'), schema={'a': 'bigint', 'b': 'string'})\n"
                      "flow.view(lambda s: s.where(fc.col('a') > 1).select('a', 'b'), name='v')\n")
    printed = run_flowc("fmt", str(script))
    assert printed.returncode == 0, printed.stderr
    assert fc.parse(printed.stdout) == fc.parse(text)
