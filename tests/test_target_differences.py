"""Every documented difference between targets (docs/risingwave.md "Known differences", SEMANTICS.md §6)
is shown by `flowc check --target T` as a named warning or a compile error, and each has a test here."""

import pytest
from flowc.compiler.diagnostics import Code, FlowError, Severity
from flowc.compiler.optimizer import optimize
from flowc.dsl.lower import lower
from flowc.dsl.parser import parse
from flowc.targets.risingwave import compile_risingwave_with_warnings

BIDS = """\
source bids (auction bigint, bidder bigint, price bigint, date_time timestamp)
from csv('bids.csv')
event_time date_time watermark 5s
"""


def program(text: str):
    return optimize(lower(parse(text, "d.flow")))


RW_CODES = {Code.TARGET_DIFFERENCE, Code.UNBOUNDED_STATE, Code.RW_LOCAL_FS, Code.RW_WINDOWS_NEVER_CLOSE}


def rw_warnings(text: str) -> list[str]:
    _, warnings = compile_risingwave_with_warnings(program(text))
    assert all(w.severity is Severity.WARNING and w.code in RW_CODES for w in warnings)
    return [w.message for w in warnings]


def has(warnings: list[str], *needles: str) -> bool:
    return any(all(n in w for n in needles) for w in warnings)


def test_watermark_per_chunk():
    assert has(rw_warnings(BIDS), "advances the watermark once per chunk")


def test_late_rows_are_dropped_silently():
    text = BIDS + "on_late into jsonl('late.jsonl')\n"
    assert has(rw_warnings(text), "drops late rows silently", "on_late into jsonl")


def test_undecodable_records_are_skipped_whatever_on_error_says():
    assert has(rw_warnings(BIDS), "skips records it cannot decode", "on_error fail")
    assert not has(rw_warnings(BIDS + "on_error skip\n"), "skips records it cannot decode")


def test_posix_fs_reads_each_nodes_local_disk():
    assert has(rw_warnings(BIDS), "posix_fs reads the file from each compute node's local disk")


def test_file_sinks_write_a_directory_of_files():
    text = BIDS + "view v = bids | where price > 1\nsink v into jsonl('out/v.jsonl')\n"
    assert has(rw_warnings(text), "several JSON files inside the directory")


def test_changes_sink_has_no_op_column_when_rows_are_only_inserted():
    text = BIDS + "view v = bids | where price > 1 | emit changes\nsink v into jsonl('out/v.jsonl')\n"
    assert has(rw_warnings(text), "without the _op column")


def test_nexmark_generator_differs():
    text = ("source bid (auction bigint, bidder bigint, price bigint, channel string, url string, date_time timestamp, "
            "extra string) from nexmark(table = 'bid') "
            "event_time date_time watermark 4s\n")
    assert has(rw_warnings(text), "Nexmark generator")


def test_distinct_over_a_union_keeps_an_arbitrary_row():
    text = BIDS + "view v = bids | union bids | distinct auction\n"
    assert has(rw_warnings(text), "distinct auction keeps an arbitrary row")


def test_last_session_per_key_stays_open():
    text = BIDS + "view v = bids | window session(date_time, gap = 3s) | aggregate n = count() by bidder\n"
    assert has(rw_warnings(text), "session")


def test_regular_join_state_grows_without_bound():
    text = BIDS + ("source auctions (id bigint, date_time timestamp) from csv('a.csv') "
                   "event_time date_time watermark 5s\n"
                   "view j = bids | join auctions as a on auction = a.id\n")
    assert has(rw_warnings(text), "grows without bound")


def test_emit_final_needs_a_window_column_in_the_output():
    text = BIDS + ("view v = bids | window tumble(date_time, 10s) | aggregate n = count() by auction "
                   "| select auction, n\n")
    with pytest.raises(FlowError, match="without window_start or window_end"):
        compile_risingwave_with_warnings(program(text))


def test_csv_sink_cannot_be_written_by_risingwave():
    text = BIDS + "view v = bids | where price > 1\nsink v into csv('out/v.csv')\n"
    with pytest.raises(FlowError) as info:
        compile_risingwave_with_warnings(program(text))
    assert info.value.first.code is Code.CONNECTOR_TARGET
    assert "connector 'csv'" in info.value.first.message and "risingwave" in info.value.first.message


def test_datafusion_refuses_distinct_without_a_single_arrival_order():
    from flowc.targets.datafusion import compile_datafusion

    text = BIDS + "view v = bids | union bids | distinct auction\n"
    with pytest.raises(FlowError, match="distinct"):
        compile_datafusion(program(text))


def test_an_unset_env_argument_is_left_out_of_the_ddl(monkeypatch):
    from flowc.targets.risingwave import risingwave_sql

    text = ("source bid (auction bigint, bidder bigint, price bigint, channel string, url string, date_time timestamp, "
            "extra string) from nexmark(table = 'bid', events = env('N_EVENTS')) "
            "event_time date_time watermark 4s\n")
    monkeypatch.delenv("N_EVENTS", raising=False)
    assert "nexmark.event.num" not in risingwave_sql(program(text))
    monkeypatch.setenv("N_EVENTS", "1000")
    assert "nexmark.event.num = '1000'" in risingwave_sql(program(text))
