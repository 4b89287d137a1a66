"""The equivalence theorem (SEMANTICS §4), checked by hypothesis.

For drawn programs (where, select, derive, tumble/hop/session windows with offsets, the aggregates,
emit final and changes, views reading views) over drawn streams (bounded disorder, late rows, nulls,
equal times): consolidate(local at batch sizes 1, 7, 10000) == consolidate(DataFusion) == the
reference evaluator. And compiler properties: the optimizer keeps results and is idempotent; a drawn
program printed as .flow text lowers to the same IR.

Profiles (tests/conftest.py): `default` for CI, `--hypothesis-profile=long` locally. docs/TESTING.md
says how to reproduce a failure.
"""

from __future__ import annotations

import os
import re

import pytest
from flowc.compiler import ir
from flowc.compiler.optimizer import optimize
from flowc.compiler.printer import format_program
from flowc.dsl.lower import lower
from flowc.dsl.parser import parse
from hypothesis import event, given, note
from hypothesis import strategies as st

from flowc.testing.differential import check_case
from flowc.testing.strategies import cases

REGRESSIONS = os.path.join(os.path.dirname(__file__), "corpus", "regressions")

# Constructs whose bug is open in a file this suite does not own: not drawn, so the property keeps
# looking for new bugs. Each has a strict-xfail regression folder; when it is fixed, drop it here.
AVOID = frozenset({"integer_to_decimal", "decimal_sum"})
AVOIDED_BY = {"integer_to_decimal": "local_cast_bigint_to_decimal", "decimal_sum": "local_sum_decimal_changes"}

# Messages of `UnsupportedFeature` the local target may raise today (declared gaps, SEMANTICS-conform:
# a compile error instead of a wrong answer). Anything else unsupported fails the property.
LOCAL_GAPS = (r"an aggregate over a changelog", r"'join'", r"'distinct'", r"'top'", r"'union'")
DATAFUSION_GAPS: tuple[str, ...] = ()


def _filter_above_global_aggregate(program: ir.Program) -> bool:
    """A Filter with a keyless, windowless Aggregate below it (in its view or an upstream view)."""
    views = {v.name: v for v in program.views}

    def has_global(rel: ir.Rel) -> bool:
        for n in ir.walk(rel):
            if isinstance(n, ir.Aggregate) and not n.keys and n.window is None:
                return True
            if isinstance(n, ir.Scan) and n.kind == "view" and has_global(views[n.name].plan):
                return True
        return False

    return any(isinstance(n, ir.Filter) and has_global(n.input) for v in program.views for n in ir.walk(v.plan))


# Open bugs a drawn case can still hit, recognized precisely: folder -> (target, test on the report).
KNOWN_OPEN = {
    "datafusion_count_constant_and_count_rows":
        ("datafusion", lambda r: "duplicate unqualified field name" in r.text()),
    "datafusion_constant_filter_over_global_aggregate":
        ("datafusion", lambda r: r.program is not None and _filter_above_global_aggregate(r.program)
         and "crashed" not in r.text()),
}


def test_known_open_bugs_have_open_regressions():
    """A fixed bug must leave the lists above: its folder loses OPEN, and this fails until it does."""
    for folder in list(KNOWN_OPEN) + list(AVOIDED_BY.values()):
        assert os.path.exists(os.path.join(REGRESSIONS, folder, "OPEN")), (
            f"{folder} is no longer open: remove it from KNOWN_OPEN / AVOID in {__file__}")


def _check_unsupported(report) -> None:
    for e in report.unsupported:
        gaps = LOCAL_GAPS if e.target == "local" else DATAFUSION_GAPS
        assert any(re.search(g, e.what) for g in gaps), f"undeclared unsupported feature on {e.target}: {e}"
        assert e.first.message and e.first.code is not None
        event(f"unsupported on {e.target}: {e.what}")


def _known_open(report) -> str | None:
    for folder, (target, matches) in KNOWN_OPEN.items():
        if report.failed == {target} and matches(report):
            return folder
    return None


def _assert_equivalent(report) -> None:
    _check_unsupported(report)
    if report.ok:
        return
    folder = _known_open(report)
    if folder is not None:
        event(f"known open bug: {folder}")
        return
    report.assert_ok()


@given(cases(avoid=AVOID))
def test_targets_agree_with_the_reference(case):
    note(case.describe())
    report = check_case(case)
    event(f"rows in: {min(report.rows_in // 10 * 10, 40)}+")
    _assert_equivalent(report)


@given(cases(max_rows=12, max_views=2, avoid=AVOID))
def test_optimizer_keeps_results(case):
    """The same comparison on the unoptimized program (the main property runs the optimized one):
    both equal the reference, so they equal each other."""
    note(case.describe())
    _assert_equivalent(check_case(case, batch_sizes=(7,), optimize=False))


@given(cases(max_rows=0))
def test_optimizer_is_idempotent(case):
    once = optimize(lower(case.program), verify=True)
    twice = optimize(once, verify=True)
    note(f"once:\n{format_program(once)}\ntwice:\n{format_program(twice)}")
    assert twice == once


def test_optimizer_is_idempotent_on_nested_conjunctions():
    """Found by hypothesis: merge_filters and pushdown chained conjunctions differently, so a second
    run turned `a and (b and c)` into `(a and b) and c`. Both now build the same left-chained form."""
    p = lower(parse("source s (k bigint, a bigint, ts timestamp) from csv('s.csv')\n"
                    "view v1 = s | where k > 1 and (k > 2 and k > 3) | select ts\n"))
    once = optimize(p, verify=True)
    assert optimize(once, verify=True) == once


@given(cases(max_rows=0))
def test_printed_program_lowers_to_the_same_ir(case):
    text = case.flow_text()
    note(text)
    assert lower(parse(text)) == lower(case.program)


@given(st.data())
def test_strategies_refuse_unknown_avoid_names(data):
    with pytest.raises(ValueError, match="unknown constructs"):
        data.draw(cases(avoid=frozenset({"no_such_thing"})))


def test_optimizer_is_idempotent_on_pruning_after_a_filter():
    """Found by hypothesis: pruning put a projection under a filter that the next run's pushdown
    moved; the optimizer now runs its pass list until a round changes nothing."""
    p = lower(parse("source s (k bigint, a bigint, b bigint, d bool, ts timestamp) from csv('s.csv')\n"
                    "view v1 = s | where d | window session(ts, gap = 1s) | aggregate n = count() by k, a\n"))
    once = optimize(p, verify=True)
    assert optimize(once, verify=True) == once
