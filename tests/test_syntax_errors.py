"""Syntax errors: code, position, a message in user terms, a hint, and all errors of a file at once."""

from __future__ import annotations

import pytest
from flowc.compiler.diagnostics import Code, FlowError
from flowc.dsl.parser import parse, parse_expression
from flowc.dsl.syntax_durations import parse_duration

SOURCE_OK = "source bids (price bigint, ts timestamp) from csv('b.csv')\n"


def errors(text: str, file: str = "t.flow"):
    with pytest.raises(FlowError) as info:
        parse(text, file)
    return info.value.diagnostics


def one_error(text: str, file: str = "t.flow"):
    diags = errors(text, file)
    assert len(diags) == 1, [d.render() for d in diags]
    return diags[0]


def at(diag) -> tuple[int, int]:
    return diag.span.line, diag.span.col


def test_missing_column_type():
    d = one_error("source bids (\n    price,\n    ts timestamp,\n) from csv('b.csv')\n")
    assert d.code is Code.SYNTAX
    assert d.message == "expected a column type after 'price', found ','"
    assert at(d) == (2, 10)
    assert "bigint" in d.hint and "timestamp" in d.hint
    rendered = d.render()
    assert rendered.splitlines() == [
        "t.flow:2:10: error[F0101]: expected a column type after 'price', found ','",
        "   2 |     price,",
        "     |          ^",
        "   hint: " + d.hint,
    ]


def test_misspelled_declaration_keyword():
    d = one_error("sourc bids (price bigint) from csv('b.csv')\n")
    assert d.code is Code.SYNTAX and at(d) == (1, 1)
    assert "found name 'sourc'" in d.message and "declaration" in d.message
    assert d.hint == "did you mean 'source'?"
    assert (d.span.end_line, d.span.end_col) == (1, 6)


def test_misspelled_emit_mode():
    d = one_error(SOURCE_OK + "view v = bids | emit finel\n")
    assert at(d) == (2, 22)
    assert d.message == "expected 'changes' or 'final' after 'emit', found name 'finel'"
    assert d.hint == "did you mean 'final'?"


def test_misspelled_stage():
    d = one_error("view v = bids\n    | selct price\n")
    assert at(d) == (2, 7)
    assert d.message.startswith("expected a pipeline stage")
    assert d.hint == "did you mean 'select'?"


def test_upper_case_keyword():
    d = one_error("VIEW v = bids\n")
    assert d.hint == "keywords are lower case: write 'view'"


def test_double_quoted_string():
    d = one_error('source bids (price bigint) from csv("b.csv")\n')
    assert d.code is Code.UNEXPECTED_CHAR
    assert at(d) == (1, 37) and d.span.end_col == 44
    assert d.message == "unexpected character '\"'"
    assert d.hint.startswith("strings use single quotes: 'b.csv'")


def test_unterminated_string():
    d = one_error("view v = bids | where channel = 'web\n")
    assert d.code is Code.UNTERMINATED_STRING
    assert at(d) == (1, 33) and d.span.end_col == 37
    assert d.message == "unterminated string"
    assert "''" in d.hint


def test_unexpected_character():
    d = one_error("view v = bids | where price > 10;\n")
    assert d.code is Code.UNEXPECTED_CHAR and at(d) == (1, 33)
    assert d.message == "unexpected character ';'"
    assert d.hint is not None


@pytest.mark.parametrize("duration, hint", [
    ("10m", "write '10min' for minutes or '10ms' for milliseconds"),
    ("5sec", "write '5s'"),
    ("2hours", "write '2h'"),
    ("1.5h", "write '90min'"),
    ("3x", "units are us, ms, s, min, h, d"),
    ("5S", "units are lower case: write '5s'"),
])
def test_bad_duration(duration, hint):
    d = one_error(f"source bids (price bigint, ts timestamp) from csv('b')\nevent_time ts watermark {duration}\n")
    assert d.code is Code.BAD_DURATION
    assert at(d) == (2, 25) and d.span.end_col == 25 + len(duration)
    assert duration in d.message
    assert d.hint == hint


def test_bad_duration_in_expression_and_python_helper():
    with pytest.raises(FlowError) as info:
        parse_expression("ts + 10m")
    assert info.value.first.code is Code.BAD_DURATION
    with pytest.raises(FlowError) as info:
        parse_duration("10m")
    assert info.value.first.code is Code.BAD_DURATION
    assert parse_duration("10min") == 600_000_000


def test_duration_with_a_space():
    d = one_error("source s (ts timestamp) from csv('s')\nevent_time ts watermark 5 s\n")
    assert at(d) == (2, 25)
    assert d.message == "expected a duration such as 5s after 'watermark', found number 5"
    assert "no space" in d.hint


def test_double_equals_is_accepted():
    assert parse_expression("a == 1") == parse_expression("a = 1")


def test_expression_error_names_the_end():
    with pytest.raises(FlowError) as info:
        parse_expression("price >", "<where>")
    d = info.value.first
    assert d.code is Code.SYNTAX
    assert d.message == "expected an expression after '>', found the end of the expression"
    assert str(d.span) == "<where>:1:8"


def test_missing_separator_hint():
    d = one_error("view v = bids | select a b\n")
    assert at(d) == (1, 26)
    assert d.hint == "separate list items with ','"


def test_no_lark_terminal_names_in_messages():
    texts = ["source s (a bigint from csv('x')", "view v = (bids | where a", "sink v csv('x')",
             "view v = bids | top by x", "view v = bids | join x on", "table t (a int, primary (a)) from csv('t')"]
    for text in texts:
        for d in errors(text):
            for word in ("RPAR", "LPAR", "COMMA", "__ANON", "VBAR", "$END", "NAME", "_"):
                assert word not in d.message.replace("'", " ").split(), d.message
            assert "expected" in d.message


def test_two_broken_declarations_both_reported():
    text = (SOURCE_OK +
            "view a = bids\n"
            "    | where price >\n"
            "\n"
            "view b = bids | select price\n"
            "\n"
            "view c = bids | emit finel\n"
            "sink b into csv('b.csv')\n")
    diags = errors(text)
    assert [at(d) for d in diags] == [(5, 1), (7, 22)]
    assert diags[0].message == "expected an expression after '>', found 'view'"
    assert diags[1].hint == "did you mean 'final'?"


def test_syntax_and_duration_errors_together():
    text = ("source s (ts timestamp) from csv('s')\nevent_time ts watermark 10m\n"
            "view v = s | where\n"
            "sink v into csv('o')\n")
    diags = errors(text)
    assert [(d.code, at(d)) for d in diags] == [(Code.BAD_DURATION, (2, 25)), (Code.SYNTAX, (4, 1))]


def test_misspelled_declaration_after_a_good_one_still_checks_the_rest():
    text = SOURCE_OK + "veiw v = bids\nsink v into csv(\"o.csv\")\n"
    diags = errors(text)
    assert [at(d) for d in diags] == [(2, 1), (3, 17)]
    assert diags[0].hint == "did you mean 'view'?"
    assert diags[1].code is Code.UNEXPECTED_CHAR


def test_declaration_checks():
    d = one_error("table t (a bigint) from csv('t')")
    assert d.message == "table 't' has no primary key" and at(d) == (1, 7)
    d = one_error("table t (a bigint, primary key (a), primary key (a)) from csv('t')")
    assert "more than one primary key" in d.message
    d = one_error("source s (a bigint) from csv('s') on_late drop\non_late into csv('l')")
    assert d.message == "'on_late' is given twice in source 's'" and at(d) == (2, 1)


def test_event_time_needs_a_watermark():
    d = one_error("source s (ts timestamp) from csv('s') event_time ts\n")
    assert d.message == "expected 'watermark' after 'ts', found the end of the file"
    assert at(d) == (1, 52)


def test_error_positions_with_tabs_and_comments():
    d = one_error("# header\n\nview v = bids\n\t| where a >> 1\n")
    assert at(d) == (4, 13)
