"""Every kind of check error: its code, message, location (file:line:col and caret span) and hint."""

import pytest
from flowc.compiler.diagnostics import Code, FlowError
from flowc.dsl.lower import lower
from flowc.dsl.parser import parse

HEADER = """\
source bids (
    auction   bigint,
    bidder    bigint,
    price     bigint,
    channel   string,
    date_time timestamp,
)
from csv('bids.csv')
event_time date_time watermark 5s
"""  # 9 lines: pipelines below start on line 10


def errors(text: str, file: str = "prog.flow"):
    with pytest.raises(FlowError) as info:
        lower(parse(text, file))
    return info.value.diagnostics


def one(text: str):
    diags = errors(text)
    assert len(diags) == 1, [d.render() for d in diags]
    return diags[0]


def at(d, line: int, col: int, text: str | None = None):
    assert d.span is not None
    assert (d.span.line, d.span.col) == (line, col), d.render()
    if text is not None:
        assert d.span.end_col - d.span.col == len(text), d.render()
    rendered = d.render()
    assert rendered.startswith(f"prog.flow:{line}:{col}: error[{d.code.value}]")
    assert "^" in rendered


def test_unknown_column_suggests_the_close_name_and_lists_columns():
    d = one(HEADER + "view v = bids\n    | where prise > 10\n")
    assert d.code is Code.UNKNOWN_COLUMN
    assert d.message == "unknown column 'prise' in 'where'"
    at(d, 11, 13, "prise")
    assert d.hint == "did you mean 'price'? columns of bids: auction, bidder, price, channel, date_time"
    rendered = d.render()
    assert "   11 |     | where prise > 10" in rendered
    assert "      |             ^^^^^" in rendered


def test_unknown_relation_suggests_a_declared_one():
    d = one(HEADER + "view v = bid | where price > 1\n")
    assert d.code is Code.UNKNOWN_RELATION
    assert d.message == "unknown relation 'bid'"
    at(d, 10, 10, "bid")
    assert d.hint == "did you mean 'bids'?"


def test_unknown_function_suggests_and_lists():
    d = one(HEADER + "view v = bids | select l = lowr(channel)\n")
    assert d.code is Code.UNKNOWN_FUNCTION
    assert d.message == "unknown function 'lowr'"
    at(d, 10, 28)
    assert d.hint.startswith("did you mean 'lower'?")


def test_unknown_type_in_a_source():
    d = one("source s (a bigintt) from csv('x.csv')\n")
    assert d.code is Code.UNKNOWN_TYPE
    assert d.message == "unknown type 'bigintt'"
    at(d, 1, 13, "bigintt")
    assert d.hint.startswith("did you mean 'bigint'?")


def test_unknown_connector():
    d = one("source s (a bigint) from cvs('x.csv')\n")
    assert d.code is Code.BAD_CONNECTOR
    assert d.message == "unknown connector 'cvs'"
    at(d, 1, 26)
    assert d.hint.startswith("did you mean 'csv'?")


def test_type_mismatch_in_a_comparison():
    d = one(HEADER + "view v = bids | where channel > 10\n")
    assert d.code is Code.TYPE_MISMATCH
    assert d.message == "cannot compare string with bigint in '>'"
    at(d, 10, 23, "channel > 10")


def test_where_needs_a_bool():
    d = one(HEADER + "view v = bids | where price + 1\n")
    assert d.code is Code.TYPE_MISMATCH
    assert d.message == "'where' needs a bool condition, got bigint"
    at(d, 10, 23)
    assert d.hint == "compare a value, e.g. `price > 10`"


def test_wrong_argument_count_of_a_function():
    d = one(HEADER + "view v = bids | select l = lower(channel, channel)\n")
    assert d.code is Code.ARG_COUNT
    assert d.message == "'lower' takes 1 argument, got 2"
    at(d, 10, 28)
    assert d.hint == "lower(s)"


def test_wrong_argument_count_of_an_aggregate():
    d = one(HEADER + "view v = bids | aggregate m = max(price, bidder) by channel\n")
    assert d.code is Code.ARG_COUNT
    assert d.message == "'max' takes 1 argument, got 2"
    at(d, 10, 31)


def test_wrong_argument_count_of_a_window():
    d = one(HEADER + "view v = bids | window tumble(date_time) | aggregate n = count() by auction\n")
    assert d.code is Code.ARG_COUNT
    assert d.message == "'tumble' is missing size"
    at(d, 10, 24)
    assert d.hint == "usage: window tumble(TIME_COLUMN, SIZE [, offset = D])"


def test_duplicate_declaration_names_point_at_the_second():
    d = one(HEADER + "view bids = bids | where price > 1\n")
    assert d.code is Code.DUPLICATE_NAME
    assert d.message.startswith("duplicate name 'bids': view redeclares it (first declared at prog.flow:1:")
    at(d, 10, 6, "bids")
    assert d.hint == "names of sources, tables and views are unique in a program"


def test_duplicate_column_in_a_source():
    d = one("source s (a bigint, a string) from csv('x.csv')\n")
    assert d.code is Code.DUPLICATE_NAME
    assert d.message == "duplicate column 'a' in source 's'"
    at(d, 1, 21)


def test_duplicate_output_column_in_select():
    d = one(HEADER + "view v = bids | select price, price\n")
    assert d.code is Code.DUPLICATE_NAME
    assert d.message == "column 'price' selected twice"
    at(d, 10, 31)
    assert d.hint == "rename one: `other_name = ...`"


def test_event_time_must_be_a_timestamp():
    d = one("source s (id bigint, ts string) from csv('x.csv') event_time ts watermark 1s\n")
    assert d.code is Code.EVENT_TIME_TYPE
    assert d.message == "event_time column 'ts' is string, not a timestamp"
    at(d, 1, 62, "ts")
    assert d.hint == "declare it as `ts timestamp` (or timestamptz)"


def test_event_time_must_exist():
    d = one("source s (id bigint, ts timestamp) from csv('x.csv') event_time tss watermark 1s\n")
    assert d.code is Code.UNKNOWN_COLUMN
    assert d.message == "unknown event_time column 'tss'"
    at(d, 1, 65, "tss")
    assert d.hint.startswith("did you mean 'ts'?")


def test_emit_final_of_a_non_windowed_aggregate_says_why_and_how():
    d = one(HEADER + "view v = bids\n    | aggregate n = count() by channel\n    | emit final\n")
    assert d.code is Code.EMIT_FINAL
    assert d.message == ("view 'v' cannot be emitted final: an aggregate without a window updates its "
                         "results whenever a row arrives")
    at(d, 12, 7, "emit final")
    assert d.hint == ("add `| window tumble(TIME_COLUMN, SIZE)` before `aggregate`, or use `emit changes`")


def test_emit_final_of_a_view_over_a_changelog_view():
    d = one(HEADER + "view c = bids | aggregate n = count() by channel\n"
            "view v = c | where n > 1 | emit final\n")
    assert d.code is Code.EMIT_FINAL
    assert "view 'c' is emitted as changes" in d.message
    at(d, 11, 28)


def test_all_errors_of_a_file_are_reported_in_one_run():
    diags = errors(HEADER + "view a = bids | where prise > 1\n"
                   "view b = bids | select x = lowr(channel)\n"
                   "view c = nope\n"
                   "sink zz into csv('o.csv')\n")
    assert [d.code for d in diags] == [Code.UNKNOWN_COLUMN, Code.UNKNOWN_FUNCTION, Code.UNKNOWN_RELATION,
                                       Code.UNKNOWN_RELATION]
    assert [d.span.line for d in diags] == [10, 11, 12, 13]


def test_several_bad_items_of_one_stage_are_all_reported():
    diags = errors(HEADER + "view v = bids | select a = prise, b = chanel\n")
    assert [d.message for d in diags] == ["unknown column 'prise' in 'select'", "unknown column 'chanel' in 'select'"]


def test_sink_of_a_source_explains_how_to_fix_it():
    d = one(HEADER + "sink bids into csv('o.csv')\n")
    assert d.code is Code.UNKNOWN_RELATION
    assert d.message == "'bids' is a source, and sinks take views"
    assert d.hint == "add `view bids_out = bids` and sink that"


def test_join_right_columns_need_the_alias():
    d = one(HEADER + "source a (id bigint, seller bigint, ts timestamp) from csv('a.csv') event_time ts watermark 1s\n"
            "view v = bids | join a on auction = id\n")
    assert d.code is Code.UNKNOWN_COLUMN
    assert d.hint == "'id' is a column of the right side: write 'a.id'"


def test_window_on_a_column_other_than_the_event_time_is_refused():
    text = ("source s (k bigint, t1 timestamp, t2 timestamp) from csv('x.csv') event_time t1 watermark 1s\n"
            "view v = s | window tumble(t2, 10s) | aggregate n = count() by k\n")
    d = one(text)
    assert d.code is Code.BAD_ARGUMENT
    assert d.message == "window on 't2', but this pipeline's event time is t1"
    at(d, 2, 28, "t2")


def test_join_output_name_collision_is_ambiguous():
    d = one("source l (id bigint, a_id bigint) from csv('l.csv')\n"
            "source r (id bigint) from csv('r.csv')\n"
            "view v = l | join r as a on id = a.id\n")
    assert d.code is Code.AMBIGUOUS_COLUMN
    assert d.message == "joined column 'a.id' would be named 'a_id', which the left side already has"
    at(d, 3, 14)
    assert d.hint == "rename it before the join: `join (r | select ...) as a`"


def test_join_renames_colliding_right_columns():
    from flowc.dsl.lower import lower as lower_
    program = lower_(parse("source l (id bigint, ts timestamp) from csv('l.csv')\n"
                           "source r (id bigint, ts timestamp, v string) from csv('r.csv')\n"
                           "view v = l | join r as a on id = a.id\n", "j.flow"))
    assert [f.name for f in program.view("v").schema] == ["id", "ts", "a_id", "a_ts", "v"]
