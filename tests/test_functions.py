"""The text functions, greatest/least/nullif and mod() (issue 13, first part): PostgreSQL's meaning on
local, DataFusion and PostgreSQL, value for value over edge inputs (empty and null strings,
non-ASCII text, positions before 1, negative counts and fields); compiled for RisingWave (re-parsed);
refused by name on Flink until its spellings are written.

The expected values are PostgreSQL's, from its documentation of each function
(https://www.postgresql.org/docs/current/functions-string.html) and checked there by this test.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
from support import need_postgres, run_flowc

INPUT = "s,n,m\nhello,2,3\n,1,1\n  pad me  ,0,-1\nh\u00e9llo w\u00f6rld,-2,10\na;b;;c,3,0\n"
PROGRAM = """\
source t (s string, n bigint, m bigint) from csv('in.csv')
view v = t | select s,
    a = substr(s, n, 3), b = substr(s, n), c = replace(s, 'l', 'L'), d = split_part(s, ';', n + 1),
    e = strpos(s, 'l'), f = trim(s), g = ltrim(s), h = rtrim(s), i = starts_with(s, 'h'),
    j = lpad(s, m + 4, 'xy'), k = rpad(s, 6), l = left(s, n), r = right(s, n),
    cc = concat(s, '|', null, 'z'), gr = greatest(n, m, null), le = least(n, m), ni = nullif(n, 1),
    md = mod(n, 2), emp = replace(s, '', 'x'), sp0 = split_part('', ';', 1)
sink v into csv('out/v.csv')
"""
COLUMNS = ["s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "r", "cc", "gr", "le", "ni", "md",
           "emp", "sp0"]
EXPECTED = [
    ["hello", "ell", "ello", "heLLo", "", "3", "hello", "hello", "hello", "true", "xyhello", "hello ", "he",
     "lo", "hello|z", "3", "2", "2", "0", "hello", ""],
    ["", "", "", "", "", "", "", "", "", "", "", "", "", "", "|z", "1", "1", "", "1", "", ""],
    ["  pad me  ", "  ", "  pad me  ", "  pad me  ", "  pad me  ", "0", "pad me", "pad me  ", "  pad me", "false",
     "  p", "  pad ", "", "", "  pad me  |z", "0", "-1", "0", "0", "  pad me  ", ""],
    ["h\u00e9llo w\u00f6rld", "", "h\u00e9llo w\u00f6rld", "h\u00e9LLo w\u00f6rLd", "h\u00e9llo w\u00f6rld", "3",
     "h\u00e9llo w\u00f6rld", "h\u00e9llo w\u00f6rld", "h\u00e9llo w\u00f6rld", "true", "xyxh\u00e9llo w\u00f6rld",
     "h\u00e9llo ", "h\u00e9llo w\u00f6r", "llo w\u00f6rld", "h\u00e9llo w\u00f6rld|z", "10", "-2", "-2", "0",
     "h\u00e9llo w\u00f6rld", ""],
    ["a;b;;c", "b;;", "b;;c", "a;b;;c", "c", "0", "a;b;;c", "a;b;;c", "a;b;;c", "false", "a;b;", "a;b;;c", "a;b",
     ";;c", "a;b;;c|z", "3", "0", "3", "1", "a;b;;c", ""],
]




@pytest.mark.parametrize("target", ["local", "datafusion", "postgres"])
def test_text_functions_mean_what_postgresql_means(tmp_path: Path, target: str) -> None:
    if target == "postgres":
        need_postgres()
    (tmp_path / "in.csv").write_text(INPUT, encoding="utf-8")
    (tmp_path / "p.flow").write_text(PROGRAM, encoding="utf-8")
    proc = run_flowc("run", str(tmp_path / "p.flow"), "--target", target)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out" / "v.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == COLUMNS
    for got, want in zip(rows[1:], EXPECTED, strict=True):
        assert dict(zip(COLUMNS, got, strict=True)) == dict(zip(COLUMNS, want, strict=True))


@pytest.mark.parametrize("target", ["local", "datafusion"])
@pytest.mark.parametrize("expr, messages", [
    ("substr(s, 1, n - 5)", ("negative substring length", "negative count not allowed")),
    ("split_part(s, ';', n - 2)", ("field position must not be zero", "field position must not be zero"))])
def test_what_postgresql_refuses_fails_the_run(tmp_path: Path, target: str, expr: str, messages: tuple) -> None:
    """An error in PostgreSQL is an error on every target (each engine words it its own way)."""
    (tmp_path / "in.csv").write_text("s,n\nabc,2\n")
    (tmp_path / "p.flow").write_text(f"source t (s string, n bigint) from csv('in.csv')\n"
                                     f"view v = t | select x = {expr}\nsink v into csv('out/v.csv')\n")
    proc = run_flowc("run", str(tmp_path / "p.flow"), "--target", target)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert any(m in proc.stderr.lower() for m in messages), proc.stderr
    assert not (tmp_path / "out" / "v.csv").exists()


def test_functions_compile_for_risingwave_and_reparse(tmp_path: Path) -> None:
    from flowc.targets.risingwave import compile_risingwave, parse_statement, to_sql
    from sqlglot import exp

    from flowc import pipeline

    (tmp_path / "p.flow").write_text(PROGRAM.replace("csv('out/v.csv')", "jsonl('out/v.jsonl')"))
    program = pipeline.to_ir(pipeline.load_program(str(tmp_path / "p.flow")))
    stmts = compile_risingwave(program)
    text = "\n".join(to_sql(s) for s in stmts)
    for name in ("SUBSTRING(s FROM CAST(n AS INT) FOR CAST(3 AS INT))", "TRIM(s)", "SPLIT_PART(", "POSITION(", "LPAD(",
                 "CONCAT(s, '|', NULL, 'z')", "GREATEST(", "NULLIF("):
        assert name.lower() in text.lower(), name
    for s in stmts:
        again = parse_statement(to_sql(s))
        assert not isinstance(again, exp.Command)
        assert to_sql(again) == to_sql(s)


def test_flink_refuses_them_by_name(tmp_path: Path) -> None:
    (tmp_path / "p.flow").write_text(PROGRAM)
    proc = run_flowc("check", str(tmp_path / "p.flow"), "--target", "flink")
    assert proc.returncode == 1
    assert "function 'substr' is not supported on target 'flink'" in proc.stderr


def test_unknown_function_lists_the_new_ones(tmp_path: Path) -> None:
    (tmp_path / "p.flow").write_text("source t (s string) from csv('in.csv')\nview v = t | select x = substring(s)\n")
    proc = run_flowc("check", str(tmp_path / "p.flow"))
    assert proc.returncode == 1 and "unknown function 'substring'" in proc.stderr
    assert "did you mean" in proc.stderr and "split_part" in proc.stderr


def test_the_language_reference_lists_every_function() -> None:
    from flowc.compiler.functions import function_table

    doc = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text()
    assert function_table() in doc, "docs/language.md's function table differs from function_table()"


LIKE_INPUT = "s,p\na%b,a%\naxb,a_b\na_b,a\\\\_b\nA%B,%b\n,x\nab,\nline\nbreak,l%\n"
LIKE_PROGRAM = r"""source t (s string, p string) from csv('in.csv')
view v = t | select s, p, a = s like 'a%b', b = s not like 'a\_b', c = s ilike 'A%', d = s like p,
    e = s not ilike p
sink v into csv('out/v.csv')
"""
LIKE_EXPECTED = [  # PostgreSQL's answers (a backslash escapes; % and _ match newlines too)
    ["a%b", "a%", "true", "true", "true", "true", "false"],
    ["axb", "a_b", "true", "true", "true", "true", "false"],
    ["a_b", "a\\\\_b", "true", "false", "true", "false", "true"],
    ["A%B", "%b", "false", "true", "true", "false", "false"],
    ["", "x", "", "", "", "", ""],
    ["ab", "", "true", "true", "true", "", ""],
    ["line\nbreak", "l%", "false", "true", "false", "true", "false"],
]


@pytest.mark.parametrize("target", ["local", "datafusion", "postgres"])
def test_like_and_ilike_mean_what_postgresql_means(tmp_path: Path, target: str) -> None:
    if target == "postgres":
        need_postgres()
    (tmp_path / "in.csv").write_text(LIKE_INPUT.replace("line\nbreak", '"line\nbreak"'), encoding="utf-8")
    (tmp_path / "p.flow").write_text(LIKE_PROGRAM, encoding="utf-8")
    proc = run_flowc("run", str(tmp_path / "p.flow"), "--target", target)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out" / "v.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[1:] == LIKE_EXPECTED


def test_like_formats_builds_and_compiles(tmp_path: Path) -> None:
    from flowc.dsl.formatter import format_program
    from flowc.targets.risingwave import risingwave_sql

    import flowc as fc
    from flowc import pipeline

    (tmp_path / "p.flow").write_text(LIKE_PROGRAM)
    program = pipeline.load_program(str(tmp_path / "p.flow"))
    text = format_program(program)
    assert "s not like 'a\\_b'" in text and "s not ilike p" in text
    (tmp_path / "q.flow").write_text(text)
    assert format_program(pipeline.load_program(str(tmp_path / "q.flow"))) == text  # a fixed point
    assert type(fc.col("s").not_ilike("x%").node).__name__ == "Like"
    rw = risingwave_sql(dataclasses.replace(pipeline.to_ir(program), sinks=()))
    assert "NOT s ILIKE p AS e" in rw and "s LIKE 'a%b' AS a" in rw


@pytest.mark.parametrize("text, message", [
    ("aggregate m = max(*)", "'max(*)': only count takes *"),
    ("select x = lower(s) filter (where true)", "filter (where ...) applies to aggregates only, not to 'lower'"),
    ("aggregate n = count() filter (where s)", "needs a bool condition"),
])
def test_filter_and_star_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "p.flow").write_text(f"source t (s string, n bigint) from csv('in.csv')\nview v = t | {text}\n")
    proc = run_flowc("check", str(tmp_path / "p.flow"))
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_filter_and_count_star_format_as_written(tmp_path: Path) -> None:
    from flowc.dsl.formatter import format_program

    from flowc import pipeline

    (tmp_path / "p.flow").write_text("source t (s string, n bigint) from csv('in.csv')\n"
                                     "view v = t | aggregate a = count(*), b = sum(n) filter (where s like 'x%') by s\n")
    text = format_program(pipeline.load_program(str(tmp_path / "p.flow")))
    assert "a = count(*), b = sum(n) filter (where s like 'x%') by s" in text


def test_python_builder_filters_aggregates() -> None:
    from flowc.dsl.formatter import expr

    import flowc as fc

    e = fc.sum("price").filter(fc.col("channel") == "web")
    assert expr(e.node) == "sum(price) filter (where channel = 'web')"
    with pytest.raises(TypeError):
        fc.col("price").filter(True)


# what PostgreSQL 15 prints for each double cast to text (select x::text ...)
FLOAT8_TEXTS = [(1e14, "100000000000000"), (1e15, "1e+15"), (123456789012345.6, "123456789012345.6"),
                (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e300, "1.5e+300"), (12345678901234567.0, "1.2345678901234568e+16"),
                (-2.5, "-2.5"), (0.30000000000000004, "0.30000000000000004"), (1.0, "1"), (-0.0, "-0"),
                (float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity"), (5e-324, "5e-324"),
                (1.7976931348623157e308, "1.7976931348623157e+308"), (100.0, "100"), (0.1, "0.1"), (1e16, "1e+16"),
                (9999999999999998.0, "9.999999999999998e+15"), (0.001, "0.001")]


def test_double_text_is_postgresqls() -> None:
    from flowc.runtime.text_forms import float8_text

    assert [float8_text(v) for v, _ in FLOAT8_TEXTS] == [t for _, t in FLOAT8_TEXTS]


@pytest.mark.parametrize("target", ["local", "datafusion", "postgres"])
def test_a_double_cast_to_string_prints_as_postgresql_prints_it(tmp_path: Path, target: str) -> None:
    """Issue 13: it was `1e20` on DataFusion, `1.234567890123456e+14` on local, `1e+20` on PostgreSQL."""
    if target == "postgres":
        need_postgres()
    values = [(v, t) for v, t in FLOAT8_TEXTS if v == v and abs(v) != float("inf")]  # csv has no NaN, inf
    (tmp_path / "in.csv").write_text("x\n" + "".join(f"{v!r}\n" for v, _ in values))
    (tmp_path / "p.flow").write_text("source t (x double) from csv('in.csv')\n"
                                     "view v = t | select s = cast(x as string)\nsink v into csv('out/v.csv')\n")
    proc = run_flowc("run", str(tmp_path / "p.flow"), "--target", target)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out" / "v.csv").open(newline="") as f:
        got = [r[0] for r in list(csv.reader(f))[1:]]
    assert got == [t for _, t in values]


MATH_INPUT = "x,y,n\n4,0.5,3\n-8,3,-1\n-8,0.5,0\n0,-1,4\n0,0,1\n10,400,2\n-1000,2,5\n1000,1,1\n2.5,-2,7\n,,\n"
MATH_PROGRAM = """\
source t (x double, y double, n bigint) from csv('in.csv')
view v = t | select x, y, s = sqrt(x), l = ln(x), e = exp(x), p = power(x, y), pn = power(n, 2), sn = sqrt(n)
sink v into csv('out/v.csv')
"""
MATH_EXPECTED = [  # PostgreSQL's values; where PostgreSQL raises an error (sqrt(-8), ln(0), exp(1000),
    # power(0, -1), power(-8, 0.5), power(10, 400), exp(-1000): underflow) flowc's choice is null
    "4,0.5,2,1.3862943611198906,54.598150033144236,2,9,1.7320508075688772",
    "-8,3,,,0.00033546262790251185,-512,1,",
    "-8,0.5,,,0.00033546262790251185,,0,0",
    "0,-1,0,,1,,16,2",
    "0,0,0,,1,1,1,1",
    "10,400,3.1622776601683795,2.302585092994046,22026.465794806718,,4,1.4142135623730951",
    "-1000,2,,,,1000000,25,2.23606797749979",
    "1000,1,31.622776601683793,6.907755278982137,,1000,1,1",
    "2.5,-2,1.5811388300841898,0.9162907318741551,12.182493960703473,0.16,49,2.6457513110645907",
    ",,,,,,,",
]


@pytest.mark.parametrize("target", ["local", "datafusion", "postgres", "flink"])
def test_math_functions_agree_and_give_null_where_postgresql_errs(tmp_path: Path, target: str, request) -> None:
    extra: list[str] = []
    if target == "postgres":
        need_postgres()
    if target == "flink":
        extra = ["--jobmanager", request.getfixturevalue("flink_jobmanager")]
    (tmp_path / "in.csv").write_text(MATH_INPUT)
    (tmp_path / "p.flow").write_text(MATH_PROGRAM)
    proc = run_flowc("run", str(tmp_path / "p.flow"), "--target", target, *extra, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out" / "v.csv").open(newline="") as f:
        rows = [",".join(r) for r in list(csv.reader(f))[1:]]
    assert sorted(rows) == sorted(MATH_EXPECTED)


def test_math_functions_compile_for_risingwave_and_reparse(tmp_path: Path) -> None:
    from flowc.targets.risingwave import compile_risingwave, parse_statement, to_sql
    from sqlglot import exp

    from flowc import pipeline

    (tmp_path / "p.flow").write_text(MATH_PROGRAM.replace("csv('out/v.csv')", "jsonl('out/v.jsonl')"))
    stmts = compile_risingwave(pipeline.to_ir(pipeline.load_program(str(tmp_path / "p.flow"))))
    text = "\n".join(to_sql(s) for s in stmts)
    assert "SQRT(" in text and "POWER(" in text and "CAST(709.782712893384 AS DOUBLE PRECISION)" in text
    for s in stmts:
        again = parse_statement(to_sql(s))
        assert not isinstance(again, exp.Command)
        assert to_sql(again) == to_sql(s)
