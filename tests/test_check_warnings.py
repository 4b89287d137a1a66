"""Named warnings of `flowc check`: state that grows without bound."""

from flowc.compiler.diagnostics import Code, Severity
from flowc.dsl.lower import lower_with_warnings
from flowc.dsl.parser import parse

SOURCES = """\
source bids (auction bigint, price bigint, ts timestamp) from csv('b.csv') event_time ts watermark 1s
source auctions (id bigint, seller bigint, ts timestamp) from csv('a.csv') event_time ts watermark 1s
"""


def warnings_of(text):
    _, warnings = lower_with_warnings(parse(SOURCES + text, "w.flow"))
    return warnings


def test_a_regular_join_warns_and_names_the_state_that_grows():
    [w] = warnings_of("view j = bids | join auctions as a on auction = a.id\n")
    assert w.code is Code.UNBOUNDED_STATE and w.severity is Severity.WARNING
    assert w.message == "view 'j': this join keeps every row of both sides (bids and auctions) forever"
    assert (w.span.line, w.span.col) == (3, 17)
    assert "interval join" in w.hint


def test_an_interval_join_does_not_warn():
    assert warnings_of("view j = bids | join auctions as a on auction = a.id and ts between a.ts and a.ts + 10s\n") == []
