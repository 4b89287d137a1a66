"""The acceptance examples, end to end through `run_datafusion` (files in, files out), compared with
their expected/ CSVs the way shared/tools/check_examples.py compares them (multiset of rows, `_op`
consolidated, timestamps by value).

The IR is built by hand as the lowering documents it (notes/common.md); once the .flow parser
exists, `test_flow_text_end_to_end` also runs the same examples from their program.flow.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.targets.datafusion import run_datafusion

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CHECKER = Path("/work/shared/tools/check_examples.py")

F = ir.Field
BIDS = (F("auction", T.BIGINT), F("bidder", T.BIGINT), F("price", T.BIGINT), F("channel", T.STRING),
        F("date_time", T.TIMESTAMP))


def _checker():
    if CHECKER.exists():
        spec = importlib.util.spec_from_file_location("check_examples", CHECKER)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
        return mod.read
    pytest.skip("shared/tools/check_examples.py not available")


def csv(path: str) -> ir.Connector:
    return ir.Connector("csv", (("path", path),))


def c(name: str) -> ir.ColumnRef:
    return ir.ColumnRef(name, dict((f.name, f.type) for f in BIDS)[name])


def lit(v, t=T.BIGINT) -> ir.Literal:
    return ir.Literal(v, t)


def bids_source(event_time: bool, on_late=None) -> ir.Source:
    return ir.Source("bids", BIDS, csv("bids.csv"), event_time="date_time" if event_time else None,
                     watermark=5_000_000 if event_time else None, on_late=on_late or "drop")


def filter_project() -> ir.Program:
    pred = ir.Call("and", (ir.Call("gt", (c("price"), lit(30)), T.BOOL),
                           ir.Call("ne", (c("channel"), lit("partner", T.STRING)), T.BOOL)), T.BOOL)
    plan = ir.Project(ir.Filter(ir.Scan("bids", "source", BIDS), pred),
                      (("auction", c("auction")), ("bidder", c("bidder")),
                       ("price_cents", ir.Call("mul", (c("price"), lit(100)), T.BIGINT)), ("date_time", c("date_time"))))
    return ir.Program(sources=(bids_source(False),), views=(ir.View("big", plan, "final"),),
                      sinks=(ir.Sink("big", csv("out/big.csv")),))


def tumble() -> ir.Program:
    plan = ir.Aggregate(ir.Filter(ir.Scan("bids", "source", BIDS), ir.Call("gt", (c("price"), lit(10)), T.BOOL)),
                        keys=("auction",),
                        aggs=(ir.AggCall("bids", "count", None, T.BIGINT),
                              ir.AggCall("top_price", "max", c("price"), T.BIGINT)),
                        window=ir.WindowSpec("tumble", "date_time", size=10_000_000))
    return ir.Program(sources=(bids_source(True, csv("out/late_bids.csv")),),
                      views=(ir.View("hot_items", plan, "final"),),
                      sinks=(ir.Sink("hot_items", csv("out/hot_items.csv")),))


def changes() -> ir.Program:
    plan = ir.Aggregate(ir.Scan("bids", "source", BIDS), keys=("channel",),
                        aggs=(ir.AggCall("bids", "count", None, T.BIGINT),
                              ir.AggCall("top", "max", c("price"), T.BIGINT),
                              ir.AggCall("low", "min", c("price"), T.BIGINT)))
    return ir.Program(sources=(bids_source(True),), views=(ir.View("by_channel", plan, "changes"),),
                      sinks=(ir.Sink("by_channel", csv("out/by_channel.csv")),))


def hop() -> ir.Program:
    plan = ir.Aggregate(ir.Scan("bids", "source", BIDS), keys=("channel",),
                        aggs=(ir.AggCall("n", "count", None, T.BIGINT), ir.AggCall("total", "sum", c("price"), T.BIGINT)),
                        window=ir.WindowSpec("hop", "date_time", size=10_000_000, slide=5_000_000))
    return ir.Program(sources=(bids_source(True),), views=(ir.View("per_channel", plan, "final"),),
                      sinks=(ir.Sink("per_channel", csv("out/per_channel.csv")),))


def session() -> ir.Program:
    plan = ir.Aggregate(ir.Scan("bids", "source", BIDS), keys=("bidder",),
                        aggs=(ir.AggCall("bids", "count", None, T.BIGINT),
                              ir.AggCall("spent", "sum", c("price"), T.BIGINT)),
                        window=ir.WindowSpec("session", "date_time", gap=3_000_000))
    return ir.Program(sources=(bids_source(True),), views=(ir.View("visits", plan, "final"),),
                      sinks=(ir.Sink("visits", csv("out/visits.csv")),))


AUCTIONS = (F("id", T.BIGINT), F("seller", T.BIGINT), F("category", T.STRING), F("date_time", T.TIMESTAMP))


def interval_join() -> ir.Program:
    ts = T.TIMESTAMP
    a_ts = ir.ColumnRef("a_date_time", ts)
    cond = ir.Call("and", (
        ir.Call("eq", (c("auction"), ir.ColumnRef("id", T.BIGINT)), T.BOOL),
        ir.Call("and", (ir.Call("ge", (c("date_time"), a_ts), T.BOOL),
                        ir.Call("le", (c("date_time"), ir.Call("add", (a_ts, lit(10_000_000, T.INTERVAL)), ts)),
                                T.BOOL)), T.BOOL)), T.BOOL)
    plan = ir.Join(ir.Scan("bids", "source", BIDS), ir.Scan("auctions", "source", AUCTIONS), "inner", cond, "a",
                   ("id", "seller", "category", "a_date_time"))
    auctions = ir.Source("auctions", AUCTIONS, csv("auctions.csv"), event_time="date_time", watermark=5_000_000)
    return ir.Program(sources=(bids_source(True), auctions), views=(ir.View("bids_in_auction", plan, "final"),),
                      sinks=(ir.Sink("bids_in_auction", csv("out/bids_in_auction.csv")),))


CASES = {"interval_join": interval_join, "filter_project": filter_project, "tumble": tumble, "changes": changes, "hop": hop, "session": session}


def _copy(case: str, tmp_path: Path) -> Path:
    work = tmp_path / case
    shutil.copytree(EXAMPLES / case, work, ignore=shutil.ignore_patterns("expected", "out"))
    return work


def _compare(case: str, work: Path) -> None:
    read = _checker()
    expected = sorted((EXAMPLES / case / "expected").glob("*.csv"))
    assert expected
    for exp_file in expected:
        got_file = work / "out" / exp_file.name
        assert got_file.exists(), f"{exp_file.name} not written"
        want, cols = read(exp_file)
        got, _ = read(got_file, cols)
        assert got == want, f"{case}/{exp_file.name}: missing {want - got}, unexpected {got - want}"


@pytest.mark.parametrize("optimized", [False, True], ids=["plain", "optimized"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_example_end_to_end(case, optimized, tmp_path):
    work = _copy(case, tmp_path)
    program = CASES[case]()
    if optimized:  # the optimizer adds pruning projects and pushes filters down: any shape must run
        from flowc.compiler.optimizer import optimize
        program = optimize(program)
    program = ir.Program(program.sources, program.tables, program.views, program.sinks, base_dir=str(work))
    result = run_datafusion(program, collect=True)
    _compare(case, work)
    assert result.target == "datafusion"
    assert result.sources[0].rows_in == 60
    assert {k.view for k in result.sinks} == set(result.tables)


def test_tumble_stats_and_changes_header(tmp_path):
    work = _copy("tumble", tmp_path)
    p = tumble()
    res = run_datafusion(ir.Program(p.sources, p.tables, p.views, p.sinks, base_dir=str(work)))
    assert (res.sources[0].rows_in, res.sources[0].late) == (60, 3)
    assert res.sinks[0].rows_out == 24 and res.sinks[0].connector == "csv out/hot_items.csv"
    assert res.tables == {}
    work = _copy("changes", tmp_path)
    p = changes()
    run_datafusion(ir.Program(p.sources, p.tables, p.views, p.sinks, base_dir=str(work)))
    assert (work / "out" / "by_channel.csv").read_text().splitlines()[0] == "_op,channel,bids,top,low"


def test_flow_text_end_to_end(tmp_path):
    parser = pytest.importorskip("flowc.dsl.parser")
    from flowc.dsl.lower import lower

    for case in sorted(CASES):
        work = _copy(case, tmp_path)
        text = (work / "program.flow").read_text()
        program = lower(parser.parse(text, str(work / "program.flow")))
        program = ir.Program(program.sources, program.tables, program.views, program.sinks,
                             file=str(work / "program.flow"), base_dir=str(work))
        run_datafusion(program)
        _compare(case, work)
