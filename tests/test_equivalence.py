"""The equivalence theorem (SEMANTICS §4), checked by hypothesis.

For drawn programs (where, select, derive, tumble/hop/session windows with offsets, the aggregates,
interval/window/regular/lookup joins inner and left, distinct, top with and without per, union,
emit final and changes, one or two sources and a table, views reading views) over drawn streams
(bounded disorder, late rows, nulls, equal times): consolidate(local at batch sizes 1, 7, 10000) ==
consolidate(DataFusion) == the reference evaluator; and, on fewer cases, PostgreSQL too (skipped
with the reason when no server is reachable at $FLOWC_TEST_PG_DSN, default the local one). Also: the
optimizer keeps results and is idempotent. The printing and builder properties are in
test_properties_compiler.py.

Profiles (tests/conftest.py): `default` for CI, `--hypothesis-profile=long` locally. docs/TESTING.md
says how to reproduce a failure.
"""

from __future__ import annotations

import os
import re

import pytest
from flowc.compiler.optimizer import optimize
from flowc.compiler.printer import format_program
from flowc.dsl.lower import lower
from flowc.dsl.parser import parse
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from flowc.testing.differential import check_case, flink_reason, postgres_reason
from flowc.testing.strategies import SECOND, cases

REGRESSIONS = os.path.join(os.path.dirname(__file__), "corpus", "regressions")

# Constructs whose bug is open in a file this suite does not own: not drawn, so the property keeps
# looking for new bugs. Each has a strict-xfail regression folder; when it is fixed, drop it here.
AVOID: frozenset[str] = frozenset()  # constructs drawn around while a bug is open
AVOIDED_BY: dict[str, str] = {}  # avoided construct -> its regression folder
# what the Flink target refuses by name (not a bug: issue 13 has not spelled them for Flink yet)
FLINK_AVOID = frozenset({"text_functions"})

# Messages of `UnsupportedFeature` a target may raise (declared gaps, SEMANTICS-conform: a compile
# error instead of a wrong answer). Anything else unsupported fails the property.
LOCAL_GAPS = (r"a windowed aggregate over a changelog", r"'distinct' over a changelog",
              r"a left join whose left side is a changelog")
# docs/semantics.md: DataFusion refuses distinct where rows have no single arrival order
DATAFUSION_GAPS = (r"^distinct over (a union|a join of two streams|an aggregate|a top|the table)",)
POSTGRES_GAPS: tuple[str, ...] = ()
# docs/flink.md, "What Flink cannot run": refused at compile time with a hint
FLINK_GAPS = (r"a session window over a changelog", r"'distinct' over a changelog",
              r"a session window over '.*', which is not an event time on Flink")
GAPS = {"local": LOCAL_GAPS, "datafusion": DATAFUSION_GAPS, "postgres": POSTGRES_GAPS, "flink": FLINK_GAPS}
# PostgreSQL per case costs about as much as local at three batch sizes; it runs on fewer cases.
PG_EXAMPLES = {"default": 120, "long": 1500}
# Flink: one job per case, about a second each on a warm cluster
FLINK_EXAMPLES = {"default": 40, "long": 1200}


# Open bugs a drawn case can still hit, recognized precisely: folder -> (target, test on the report).
KNOWN_OPEN: dict = {  # regression folder -> (target, how to recognise its failure) while a bug is open
    "flink_shifted_time_read_twice": (
        "flink", lambda report: any("Type mismatch" in f and "ROWTIME" in f for f in report.failures)),
}


def test_known_open_bugs_have_open_regressions():
    """A fixed bug must leave the lists above: its folder loses OPEN, and this fails until it does."""
    for folder in [*KNOWN_OPEN, *AVOIDED_BY.values()]:
        assert os.path.exists(os.path.join(REGRESSIONS, folder, "OPEN")), (
            f"{folder} is no longer open: remove it from KNOWN_OPEN / AVOID in {__file__}")


def _check_unsupported(report) -> None:
    for e in report.unsupported:
        gaps = GAPS.get(e.target, ())
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


def _events(case, report) -> None:
    event(f"rows in: {min(report.rows_in // 10 * 10, 40)}+")
    text = case.flow_text()
    for word in ("left join", "join", "distinct", "top", "union", "table", "emit final", "emit changes"):
        if word in text:
            event(f"has {word}")
    if report.undefined:
        event("a view the reference calls undefined (distinct without one arrival order)")


@given(cases(avoid=AVOID))
def test_targets_agree_with_the_reference(case):
    note(case.describe())
    report = check_case(case)
    _events(case, report)
    _assert_equivalent(report)


def _pg_examples() -> int:
    return PG_EXAMPLES.get(settings.default.max_examples > 1000 and "long" or "default")


@settings(max_examples=_pg_examples())
@given(cases(max_rows=30, avoid=AVOID))
def test_postgres_agrees_with_the_reference(case):
    """The third engine (issue 7): PostgreSQL, local at one batch size, and the reference."""
    reason = postgres_reason()
    if reason is not None:
        pytest.skip(reason)
    note(case.describe())
    report = check_case(case, batch_sizes=(7,), targets=("local", "postgres"))
    _events(case, report)
    _assert_equivalent(report)


def _flink_examples() -> int:
    """FLINK_EXAMPLES by profile; $FLOWC_FLINK_EXAMPLES sets it for a run of a chosen length."""
    given = os.environ.get("FLOWC_FLINK_EXAMPLES")
    return int(given) if given else FLINK_EXAMPLES.get(settings.default.max_examples > 1000 and "long" or "default")


def _flink_case(case, flink_jobmanager) -> None:
    reason = flink_reason()
    if reason is not None:
        pytest.skip(reason)
    note(case.describe())
    report = check_case(case, batch_sizes=(7,), targets=("local", "datafusion", "flink"))
    _events(case, report)
    _assert_equivalent(report)


@settings(max_examples=_flink_examples())
@given(case=cases(max_rows=30, avoid=AVOID | FLINK_AVOID, join_kinds=("window", "regular", "lookup")))
def test_flink_agrees_with_the_reference(case, flink_jobmanager):
    """The first streaming engine but ours (issue 10): Flink on a real cluster, local at one batch
    size, and the reference with Flink's named differences applied (differential.FLINK_DIFFERENCES).
    Event times start before and after the epoch; interval joins are drawn by the next property."""
    _flink_case(case, flink_jobmanager)


@settings(max_examples=_flink_examples())
@given(case=cases(max_rows=30, avoid=AVOID | FLINK_AVOID, clocks=(1_700_000_000 * SECOND,)))
def test_flink_agrees_with_the_reference_after_1970(case, flink_jobmanager):
    """Every construct, interval joins too, over event times after 1970: Flink's interval join keeps
    no row bounded before the epoch (W0919, docs/flink.md)."""
    _flink_case(case, flink_jobmanager)


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
