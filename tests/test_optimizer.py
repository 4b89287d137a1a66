"""The optimizer's passes: what each does, that the verifier guards them, and that they keep schemas."""

import pytest
from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.optimizer import PASSES, optimize
from flowc.compiler.passes.prune_columns import prune_columns
from flowc.compiler.passes.push_filters import push_filters
from flowc.compiler.verify import verify_plan

import flowc as fc

BIDS = {"auction": "bigint", "bidder": "bigint", "price": "bigint", "channel": "string",
        "date_time": "timestamp"}


def _flow():
    flow = fc.Flow()
    flow.source("bids", fc.csv("bids.csv"), schema=BIDS, event_time="date_time", watermark="5s")
    return flow


def _view(flow, name="v"):
    program = flow.to_ir(optimize=False)
    return program, program.view(name)


def test_filter_is_pushed_below_a_projection_and_renames_are_undone():
    flow = _flow()
    flow.view(lambda bids: bids.select("auction", p=fc.col("price")).where(fc.col("p") > 10), name="v")
    _, view = _view(flow)
    assert isinstance(view.plan, ir.Filter)
    pushed = push_filters(view.plan)
    assert isinstance(pushed, ir.Project)
    inner = pushed.input
    assert isinstance(inner, ir.Filter)
    assert ir.columns_used(inner.predicate) == {"price"}
    assert pushed.schema == view.plan.schema


def test_filter_on_a_computed_column_stays_above_the_projection():
    flow = _flow()
    flow.view(lambda bids: bids.select(p=fc.col("price") * 2).where(fc.col("p") > 10), name="v")
    _, view = _view(flow)
    assert push_filters(view.plan) is view.plan  # no change returns the same object


def test_filter_on_group_keys_moves_below_the_aggregate_but_not_on_aggregates():
    flow = _flow()
    flow.view(lambda bids: bids.aggregate(n=fc.count(), by=["channel"])
              .where((fc.col("channel") == "web") & (fc.col("n") > 2)), name="v")
    _, view = _view(flow)
    out = push_filters(view.plan)
    assert isinstance(out, ir.Filter) and ir.columns_used(out.predicate) == {"n"}
    agg = out.input
    assert isinstance(agg, ir.Aggregate) and isinstance(agg.input, ir.Filter)
    assert ir.columns_used(agg.input.predicate) == {"channel"}


def test_pruning_reads_only_needed_columns_and_keeps_the_view_schema():
    flow = _flow()
    flow.view(lambda bids: bids.where(fc.col("price") > 10).window(fc.tumble("date_time", "10s"))
              .aggregate(n=fc.count(), by=["auction"]), name="v")
    _, view = _view(flow)
    pruned = prune_columns(view.plan)
    scans = [n for n in ir.walk(pruned) if isinstance(n, ir.Project) and isinstance(n.input, ir.Scan)]
    assert len(scans) == 1
    assert set(ir.schema_names(scans[0].schema)) == {"auction", "price", "date_time"}
    assert pruned.schema == view.plan.schema


def test_optimizer_is_idempotent_and_verified():
    flow = _flow()
    flow.view(lambda bids: bids.where(fc.col("price") > 1).select("auction", "price", "channel")
              .where(fc.col("channel") != "x")
              .aggregate(total=fc.sum("price"), by=["auction"]), name="v")
    program = flow.to_ir(optimize=False)
    once = optimize(program, verify=True)
    twice = optimize(once, verify=True)
    assert once == twice
    assert once.view("v").schema == program.view("v").schema


def test_every_pass_keeps_a_program_unchanged_when_there_is_nothing_to_do():
    flow = _flow()
    flow.view(lambda bids: bids, name="v")
    program = flow.to_ir(optimize=False)
    for _, run in PASSES:
        assert run(program.view("v").plan) is program.view("v").plan


def test_verifier_rejects_a_column_reference_with_the_wrong_type():
    scan = ir.Scan("s", "source", (ir.Field("a", T.BIGINT),))
    bad = ir.Filter(scan, ir.Call("gt", (ir.ColumnRef("a", T.STRING), ir.Literal(1, T.BIGINT)), T.BOOL))
    with pytest.raises(ir.IRError, match="does not match"):
        verify_plan(bad)


def test_construction_rejects_a_filter_on_a_missing_column():
    scan = ir.Scan("s", "source", (ir.Field("a", T.BIGINT),))
    with pytest.raises(ir.IRError, match="unknown column"):
        ir.Filter(scan, ir.Call("gt", (ir.ColumnRef("b", T.BIGINT), ir.Literal(1, T.BIGINT)), T.BOOL))


def test_optimizer_refuses_a_pass_that_changes_a_view_schema():
    flow = _flow()
    flow.view(lambda bids: bids.select("auction", "price"), name="v")
    program = flow.to_ir(optimize=False)

    def drop_a_column(rel):
        return ir.Project(rel, rel.columns[:1]) if isinstance(rel, ir.Project) else rel

    with pytest.raises(ir.IRError, match="changed the schema"):
        optimize(program, verify=True, passes=[("bad", drop_a_column)])
