"""The .flow parser: every example parses, the AST has the right shape, spans point at the text."""

from __future__ import annotations

import glob
import os

import pytest
from flowc.compiler.span import Span
from flowc.dsl import ast
from flowc.dsl.parser import parse, parse_expression, parse_file
from flowc.dsl.syntax_durations import duration_micros, format_duration

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
EXAMPLE_FILES = sorted(glob.glob(os.path.join(EXAMPLES, "*", "program.flow")))


def N(*parts: str) -> ast.Name:
    return ast.Name(tuple(parts))


def lit(v, kind=None):
    kinds = {bool: "bool", int: "int", float: "float", str: "string", type(None): "null"}
    return ast.Literal(v, kind or kinds[type(v)])


def col(name: str, type_name: str) -> ast.ColumnDef:
    return ast.ColumnDef(name, ast.TypeName(type_name))


def csv(path: str) -> ast.Connector:
    return ast.Connector("csv", (ast.Arg(lit(path)),))


def stages(text: str) -> tuple:
    return parse("view v = r\n" + text).decls[0].pipeline.stages


# ---------------------------------------------------------------- examples


def test_examples_exist():
    assert len(EXAMPLE_FILES) >= 6


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_every_example_parses(path):
    program = parse_file(path)
    assert program.file == path
    assert program.base_dir == os.path.dirname(path)
    kinds = {type(d) for d in program.decls}
    assert ast.SourceDecl in kinds and ast.ViewDecl in kinds and ast.SinkDecl in kinds


def test_tumble_example_ast():
    bids_cols = (col("auction", "bigint"), col("bidder", "bigint"), col("price", "bigint"),
                 col("channel", "string"), col("date_time", "timestamp"))
    expected = ast.Program((
        ast.SourceDecl("bids", bids_cols, csv("bids.csv"), event_time="date_time",
                       watermark=ast.Duration(5_000_000), on_late=csv("out/late_bids.csv")),
        ast.ViewDecl("hot_items", ast.Pipeline(ast.RelationRef("bids"), (
            ast.Where(ast.Binary(">", N("price"), lit(10))),
            ast.Window(ast.Call("tumble", (ast.Arg(N("date_time")), ast.Arg(ast.Duration(10_000_000))))),
            ast.Aggregate((ast.Item(ast.Call("count"), "bids"),
                           ast.Item(ast.Call("max", (ast.Arg(N("price")),)), "top_price")),
                          by=(N("auction"),)),
            ast.Emit("final"),
        ))),
        ast.SinkDecl("hot_items", csv("out/hot_items.csv")),
    ))
    assert parse_file(os.path.join(EXAMPLES, "tumble", "program.flow")) == expected


def test_base_dir_defaults_to_dot():
    program = parse("sink v into stdout()")
    assert program.file == "<input>" and program.base_dir == "."
    assert parse("sink v into stdout()", "prog.flow").base_dir == "."


def test_empty_program_and_comments_only():
    assert parse("").decls == ()
    assert parse("# nothing here\n\n  # still nothing\n").decls == ()


# ---------------------------------------------------------------- spans


def test_spans_of_names_and_declarations():
    text = ("source bids (price bigint, ts timestamp)\n"
            "from csv('b.csv')\n"
            "event_time ts watermark 5s\n"
            "view hot = bids\n"
            "    | where price > 10\n"
            "sink hot into csv('o.csv')\n")
    src, view, sink = parse(text, "hot.flow").decls
    assert src.span == Span("hot.flow", 1, 1, 3, 27)
    assert src.name_span == Span("hot.flow", 1, 8, 1, 12)
    assert src.event_time_span == Span("hot.flow", 3, 12, 3, 14)
    assert src.columns[0].span == Span("hot.flow", 1, 14, 1, 26)
    assert src.columns[0].type.span == Span("hot.flow", 1, 20, 1, 26)
    assert src.connector.span == Span("hot.flow", 2, 6, 2, 18)
    assert src.watermark.span == Span("hot.flow", 3, 25, 3, 27)
    assert view.name_span == Span("hot.flow", 4, 6, 4, 9)
    where = view.pipeline.stages[0]
    assert where.span == Span("hot.flow", 5, 7, 5, 23)
    assert where.predicate.left.span == Span("hot.flow", 5, 13, 5, 18)  # the column ref `price`
    assert where.predicate.right.span == Span("hot.flow", 5, 21, 5, 23)
    assert view.pipeline.start.span == Span("hot.flow", 4, 12, 4, 16)
    assert sink.view_span == Span("hot.flow", 6, 6, 6, 9)
    assert sink.connector.span == Span("hot.flow", 6, 15, 6, 27)


def test_span_of_qualified_name_and_call():
    e = parse_expression("f(x) + a.id", "e")
    assert e.left.span == Span("e", 1, 1, 1, 5)
    assert e.left.args[0].span == Span("e", 1, 3, 1, 4)
    assert e.right.span == Span("e", 1, 8, 1, 12)
    assert e.span == Span("e", 1, 1, 1, 12)


def test_spans_do_not_affect_equality():
    assert parse_expression("a + 1") == parse_expression("  a   +   1  ")


# ---------------------------------------------------------------- precedence


@pytest.mark.parametrize("text, expected", [
    ("a or b and not c",
     ast.Binary("or", N("a"), ast.Binary("and", N("b"), ast.Unary("not", N("c"))))),
    ("-x * y", ast.Binary("*", ast.Unary("-", N("x")), N("y"))),
    ("a + b * c", ast.Binary("+", N("a"), ast.Binary("*", N("b"), N("c")))),
    ("a - b - c", ast.Binary("-", ast.Binary("-", N("a"), N("b")), N("c"))),
    ("x between 1 and 2 and y",
     ast.Binary("and", ast.Between(N("x"), lit(1), lit(2)), N("y"))),
    ("not a = b", ast.Unary("not", ast.Binary("=", N("a"), N("b")))),
    ("a || b + c", ast.Binary("||", N("a"), ast.Binary("+", N("b"), N("c")))),
    ("a = b || c", ast.Binary("=", N("a"), ast.Binary("||", N("b"), N("c")))),
    ("a + b > c * 2 or d", ast.Binary("or", ast.Binary(">", ast.Binary("+", N("a"), N("b")),
                                                        ast.Binary("*", N("c"), lit(2))), N("d"))),
    ("(a or b) and c", ast.Binary("and", ast.Binary("or", N("a"), N("b")), N("c"))),
    ("a % b / c", ast.Binary("/", ast.Binary("%", N("a"), N("b")), N("c"))),
    ("x is not null and y is null",
     ast.Binary("and", ast.IsNull(N("x"), True), ast.IsNull(N("y")))),
    ("ts between a.ts and a.ts + 1h",
     ast.Between(N("ts"), N("a", "ts"), ast.Binary("+", N("a", "ts"), ast.Duration(3_600_000_000)))),
])
def test_precedence(text, expected):
    assert parse_expression(text) == expected


# ---------------------------------------------------------------- expression forms


@pytest.mark.parametrize("text, expected", [
    ("42", lit(42)),
    ("-42", lit(-42)),
    ("2.5", lit(2.5)),
    ("1e3", lit(1000.0)),
    ("'it''s'", lit("it's")),
    ("''", lit("")),
    ("true", lit(True)),
    ("false", lit(False)),
    ("null", lit(None)),
    ("`order id`", N("order id")),
    ("`a``b`", N("a`b")),
    ("a.id", N("a", "id")),
    ("count()", ast.Call("count")),
    ("count(x)", ast.Call("count", (ast.Arg(N("x")),))),
    ("f(a, b = 2,)", ast.Call("f", (ast.Arg(N("a")), ast.Arg(lit(2), "b")))),
    ("x in (1, 2,)", ast.InList(N("x"), (lit(1), lit(2)))),
    ("x not in ('a')", ast.InList(N("x"), (lit("a"),), negated=True)),
    ("x not between 1 and 2", ast.Between(N("x"), lit(1), lit(2), negated=True)),
    ("case when a then 1 when b then 2 else 3 end",
     ast.Case(((N("a"), lit(1)), (N("b"), lit(2))), lit(3))),
    ("case when a then 1 end", ast.Case(((N("a"), lit(1)),))),
    ("cast(x as decimal(10, 2))", ast.Cast(N("x"), ast.TypeName("decimal", (10, 2)))),
    ("cast(x as bigint)", ast.Cast(N("x"), ast.TypeName("bigint"))),
    ("a == b", ast.Binary("=", N("a"), N("b"))),
    ("a != b", ast.Binary("<>", N("a"), N("b"))),
    ("a <= b", ast.Binary("<=", N("a"), N("b"))),
    ("a >= b", ast.Binary(">=", N("a"), N("b"))),
    ("date_time + 1h", ast.Binary("+", N("date_time"), ast.Duration(3_600_000_000))),
    ("x  # a comment\n + 1", ast.Binary("+", N("x"), lit(1))),
])
def test_expression_forms(text, expected):
    assert parse_expression(text) == expected


@pytest.mark.parametrize("text, micros", [
    ("250ms", 250_000), ("5s", 5_000_000), ("10min", 600_000_000), ("1h", 3_600_000_000),
    ("1d", 86_400_000_000), ("7us", 7), ("0s", 0),
])
def test_durations(text, micros):
    d = parse_expression(text)
    assert isinstance(d, ast.Duration) and d.micros == micros and d.text == text
    assert duration_micros(text) == micros


def test_format_duration_round_trips():
    for micros in (0, 7, 250_000, 90_000_000, 5_400_000_000, 86_400_000_000):
        assert duration_micros(format_duration(micros)) == micros
    assert format_duration(5_400_000_000) == "90min"


def test_keywords_are_names_where_no_keyword_fits():
    # `top` is a stage keyword, but a column name in an aggregate item (examples/changes)
    agg = stages("| aggregate top = max(price), window = min(x) by `by`")[0]
    assert [i.name for i in agg.items] == ["top", "window"]
    assert agg.by == (N("by"),)
    assert parse_expression("top + select") == ast.Binary("+", N("top"), N("select"))


# ---------------------------------------------------------------- stages


def test_where_select_derive():
    where, select, derive = stages("| where a > 1 | select a, b2 = b * 2, | derive c = a, d = 1")
    assert where == ast.Where(ast.Binary(">", N("a"), lit(1)))
    assert select == ast.Select((ast.Item(N("a")), ast.Item(ast.Binary("*", N("b"), lit(2)), "b2")))
    assert derive == ast.Derive((ast.Item(N("a"), "c"), ast.Item(lit(1), "d")))


def test_select_named_item_versus_comparison():
    select = stages("| select x = a, (a = b)")[0]
    assert select.items == (ast.Item(N("a"), "x"), ast.Item(ast.Binary("=", N("a"), N("b"))))


def test_windows():
    tumble, hop, session = stages("| window tumble(ts, 10s, offset = 2s)"
                                  "| window hop(ts, size = 10s, slide = 5s)"
                                  "| window session(ts, gap = 3s)")
    assert tumble == ast.Window(ast.Call("tumble", (ast.Arg(N("ts")), ast.Arg(ast.Duration(10_000_000)),
                                                    ast.Arg(ast.Duration(2_000_000), "offset"))))
    assert hop.call.name == "hop" and [a.name for a in hop.call.args] == [None, "size", "slide"]
    assert session.call == ast.Call("session", (ast.Arg(N("ts")), ast.Arg(ast.Duration(3_000_000), "gap")))


def test_aggregate_with_and_without_keys():
    with_keys, without = stages("| aggregate n = count(), sum(x) by a, b, | aggregate total = sum(x)")
    assert with_keys == ast.Aggregate((ast.Item(ast.Call("count"), "n"),
                                       ast.Item(ast.Call("sum", (ast.Arg(N("x")),)))), (N("a"), N("b")))
    assert without.by == ()


def test_joins():
    inner, left, bare = stages("| join auctions as a on auction = a.id"
                               "| left join (people | where x) as p on id = p.id"
                               "| join t on k = t.k")
    assert inner == ast.Join(ast.RelationRef("auctions"), ast.Binary("=", N("auction"), N("a", "id")), "a")
    assert left.kind == "left" and left.alias == "p"
    assert left.relation == ast.Pipeline(ast.RelationRef("people"), (ast.Where(N("x")),))
    assert bare.alias is None and bare.kind == "inner"


def test_distinct_top_union_emit():
    distinct, top, top_asc, top_global, union, emit = stages(
        "| distinct a, b | top 3 by price per auction | top 1 by x asc per a, b, | top 5 by x desc"
        "| union other | emit changes")
    assert distinct == ast.Distinct((N("a"), N("b")))
    assert top == ast.Top(3, N("price"), True, (N("auction"),))  # descending by default
    assert top_asc == ast.Top(1, N("x"), False, (N("a"), N("b")))
    assert top_global == ast.Top(5, N("x"), True, ())
    assert union == ast.Union_(ast.RelationRef("other"))
    assert emit == ast.Emit("changes")
    assert stages("| emit final") == (ast.Emit("final"),)


def test_parenthesized_pipeline_as_start():
    view = parse("view v = (a | where x) | select y").decls[0]
    assert view.pipeline == ast.Pipeline(ast.Pipeline(ast.RelationRef("a"), (ast.Where(N("x")),)),
                                         (ast.Select((ast.Item(N("y")),)),))


def test_view_without_stages():
    assert parse("view v = bids").decls[0].pipeline == ast.Pipeline(ast.RelationRef("bids"))


# ---------------------------------------------------------------- declarations


def test_source_options_in_any_order():
    a = parse("source s (x bigint, ts timestamp,) from csv('s.csv')\n"
              "on_error skip on_late drop event_time ts watermark 1s").decls[0]
    b = parse("source s (x bigint, ts timestamp) from csv('s.csv') "
              "event_time ts watermark 1s on_late drop on_error skip").decls[0]
    assert a == b
    assert (a.event_time, a.watermark.micros, a.on_late, a.on_error) == ("ts", 1_000_000, "drop", "skip")


def test_source_defaults_and_connector_targets():
    s = parse("source s (x bigint) from jsonl('s.jsonl') on_error into csv('bad.csv')").decls[0]
    assert s.event_time is None and s.watermark is None and s.on_late is None
    assert s.on_error == csv("bad.csv")
    assert parse("source s (x bigint) from csv('a') on_error fail").decls[0].on_error == "fail"


def test_connector_arguments():
    src = parse("source s (x bigint) from nexmark(table = 'bid', events = 1000000, rate = 0,)\n"
                "source p (x bigint) from postgres(table = 't', dsn = env('PG_DSN'))").decls
    assert src[0].connector == ast.Connector("nexmark", (ast.Arg(lit("bid"), "table"),
                                                         ast.Arg(lit(1_000_000), "events"),
                                                         ast.Arg(lit(0), "rate")))
    dsn = src[1].connector.args[1]
    assert dsn == ast.Arg(ast.Call("env", (ast.Arg(lit("PG_DSN")),)), "dsn")
    assert parse("sink v into stdout()").decls[0].connector == ast.Connector("stdout")


def test_table_with_primary_key():
    t = parse("table people (\n  id bigint,\n  name string,\n  primary key (id),\n) from csv('p.csv')").decls[0]
    assert t == ast.TableDecl("people", (col("id", "bigint"), col("name", "string")), ("id",), csv("p.csv"))
    t2 = parse("table t (a int, b int, primary key (a, b,)) from csv('t')").decls[0]
    assert t2.primary_key == ("a", "b")


def test_column_types():
    cols = parse("source s (a decimal(10, 2), b bool, c timestamptz, `d e` interval) from csv('s')").decls[0].columns
    assert [c.type for c in cols] == [ast.TypeName("decimal", (10, 2)), ast.TypeName("bool"),
                                      ast.TypeName("timestamptz"), ast.TypeName("interval")]
    assert cols[3].name == "d e"
