"""The Python front end builds the same program as the .flow text (LANGUAGE.md, "The same program in Python")."""

import pytest
from support import EXAMPLES

import flowc as fc

BIDS = {"auction": "bigint", "bidder": "bigint", "price": "bigint", "channel": "string", "date_time": "timestamp"}


def test_tumble_example_in_python_equals_the_flow_file():
    flow = fc.Flow()
    flow.source("bids", fc.csv("bids.csv"), schema=BIDS, event_time="date_time", watermark="5s",
                on_late=fc.csv("out/late_bids.csv"))

    @flow.view(emit="final")
    def hot_items(bids):
        return (bids.where(fc.col("price") > 10)
                .window(fc.tumble("date_time", "10s"))
                .aggregate(bids=fc.count(), top_price=fc.max("price"), by=["auction"]))

    flow.sink(hot_items, fc.csv("out/hot_items.csv"))
    parsed = fc.load(str(EXAMPLES / "tumble" / "program.flow"))
    assert flow == parsed
    assert flow.to_ir() == parsed.to_ir()


def test_filter_project_example_in_python_equals_the_flow_file():
    flow = fc.Flow()
    flow.source("bids", fc.csv("bids.csv"), schema=BIDS)

    @flow.view
    def big(bids):
        return (bids.where((fc.col("price") > 30) & (fc.col("channel") != "partner"))
                .select("auction", "bidder", (fc.col("price") * 100).alias("price_cents"), "date_time"))

    flow.sink(big, fc.csv("out/big.csv"))
    assert flow == fc.load(str(EXAMPLES / "filter_project" / "program.flow"))


def test_changes_example_in_python_equals_the_flow_file():
    flow = fc.Flow()
    flow.source("bids", fc.csv("bids.csv"), schema=BIDS, event_time="date_time", watermark="5s")

    @flow.view(emit="changes")
    def by_channel(bids):
        return bids.aggregate(bids=fc.count(), top=fc.max("price"), low=fc.min("price"), by=["channel"])

    flow.sink(by_channel, fc.csv("out/by_channel.csv"))
    assert flow == fc.load(str(EXAMPLES / "changes" / "program.flow"))


def test_string_expressions_use_flow_syntax():
    a = fc.Flow()
    a.source("bids", fc.csv("b.csv"), schema=BIDS)
    a.view(lambda bids: bids.where("price > 10 and channel in ('web', 'app')"), name="v")
    b = fc.Flow()
    b.source("bids", fc.csv("b.csv"), schema=BIDS)
    b.view(lambda bids: bids.where((fc.col("price") > 10) & fc.col("channel").isin(["web", "app"])), name="v")
    assert a == b


def test_a_different_program_is_not_equal():
    a = fc.Flow()
    a.source("bids", fc.csv("b.csv"), schema=BIDS)
    b = fc.Flow()
    b.source("bids", fc.csv("c.csv"), schema=BIDS)
    assert a != b


def test_errors_in_python_programs_point_at_the_python_line():
    flow = fc.Flow()
    flow.source("bids", fc.csv("b.csv"), schema=BIDS)
    flow.view(lambda bids: bids.where(fc.col("prise") > 1), name="v")  # the line errors should name
    with pytest.raises(fc.FlowError) as info:
        flow.to_ir()
    d = info.value.first
    assert d.message == "unknown column 'prise' in 'where'"
    assert d.span.file == __file__
    with open(__file__) as f:
        assert "the line errors should name" in f.read().splitlines()[d.span.line - 1]


def test_python_truthiness_of_an_expression_is_an_error():
    with pytest.raises(TypeError, match="no truth value"):
        bool(fc.col("a") > 1)


def test_flow_compiles_and_runs_from_python(tmp_path):
    (tmp_path / "b.csv").write_text("auction,bidder,price,channel,date_time\n1,1,50,web,2026-03-01 12:00:00\n"
                                   "2,1,5,web,2026-03-01 12:00:01\n")
    flow = fc.Flow(base_dir=str(tmp_path))
    flow.source("bids", fc.csv("b.csv"), schema=BIDS)
    big = flow.view(lambda bids: bids.where(fc.col("price") > 10).select("auction", "price"), name="big")
    flow.sink(big, fc.jsonl("out/big.jsonl"))
    tables = flow.run()
    assert tables["big"].to_pylist() == [{"auction": 1, "price": 50}]
    assert (tmp_path / "out" / "big.jsonl").read_text().strip() == '{"auction":1,"price":50}'
    assert flow.run(target="datafusion")["big"].to_pylist() == [{"auction": 1, "price": 50}]
    assert "CREATE MATERIALIZED VIEW" in flow.compile("risingwave")
