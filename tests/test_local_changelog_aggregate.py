"""Non-windowed aggregates over a changelog on the local runtime (runtime/changelog_aggregate.py).

End to end: programs aggregating a left regular join's changelog and an `emit changes` aggregate,
keyed and keyless, run on local (batch sizes 1, 7, 10000), DataFusion, PostgreSQL when reachable,
and the reference evaluator (SEMANTICS §4: the consolidated output is the aggregate of the
consolidated input). Operator level: random changelogs against the batch kernel, exact float sums,
weights other than +/-1, `emit final`, and a retraction arriving before its insertion.
"""

from __future__ import annotations

import decimal
import math
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from flowc.compiler.diagnostics import UnsupportedFeature
from flowc.runtime.aggregate import AggSpec, GlobalAggregateOp, group_aggregate
from flowc.runtime.changelog_aggregate import ChangelogGroupState
from flowc.runtime.operators import WEIGHT
from flowc.runtime.testing import TestStream
from flowc.targets.local import compile_local, explain_local, run_local
from relational_support import consolidate, local_view, program, write_csv

from flowc.testing.differential import check_directory, postgres_reason

TARGETS = ("local", "datafusion") + (("postgres",) if postgres_reason() is None else ())

SOURCES = """
source orders (id bigint, cust bigint, amount bigint, price double, note string, ts timestamp)
from csv('orders.csv')

source payments (order_id bigint, method string, paid decimal(10, 2), ts timestamp)
from csv('payments.csv')

view joined = orders | left join payments as p on id = p.order_id
"""

# over the left join's changelog: orders get payments later (or never), so padded rows are retracted
OVER_A_JOIN = SOURCES + """
view by_cust = joined
    | aggregate n = count(), paid_n = count(method), total = sum(amount), mean = avg(amount),
                fsum = sum(price), favg = avg(price), dsum = sum(paid), davg = avg(paid),
                lo = min(method), hi = max(method), first_paid = min(p_ts), last_paid = max(p_ts),
                cheapest = min(price), methods = count_distinct(method), notes = count_distinct(note)
      by cust

view by_method = joined
    | aggregate n = count(), total = sum(amount), lo = min(amount), hi = max(amount), twice = sum(amount * 2),
                longest = max(length(note)) by method

view unpaid = joined | where method is null
    | aggregate n = count(), lo = min(amount), hi = max(amount), lo_note = min(note), spend = sum(price) by cust

view overall = joined
    | aggregate n = count(), paid_n = count(method), dsum = sum(paid), lo = min(amount), hi = max(p_ts),
                methods = count_distinct(method), mean = avg(price)

view unpaid_overall = joined | where method is null
    | aggregate n = count(), total = sum(amount), lo = min(amount), hi = max(note), kinds = count_distinct(note)
"""

# over an `emit changes` aggregate: a customer's row is retracted each time it changes
OVER_AN_AGGREGATE = SOURCES + """
view per_cust = orders | aggregate n = count(), total = sum(amount), lo = min(price) by cust | emit changes

view histogram = per_cust
    | aggregate customers = count(), spend = sum(total), smallest = min(total), largest = max(total),
                cheapest = min(lo), totals = count_distinct(total), mean = avg(total), mean_lo = avg(lo)
      by n

view summary = per_cust
    | aggregate customers = count(), most = max(n), spend = sum(total), least = min(total), mean = avg(lo)

view two_steps = orders | aggregate n = count() by cust | aggregate customers = count(), lo = min(cust) by n

view per_join_key = joined | aggregate n = count() by id | aggregate orders = count(), most = max(n) by n
"""


def orders_and_payments(folder: Path, seed: int, n_orders: int = 60, paid_share: float = 0.8,
                        null_methods: float = 0.05) -> None:
    """Orders of a few customers (null customers, amounts, prices and notes among them) and payments
    arriving for `paid_share` of them, some twice, some for unknown orders, some with a null method."""
    rng = np.random.default_rng(seed)
    orders = []
    for i in range(n_orders):
        orders.append([i, None if rng.random() < 0.08 else int(rng.integers(0, 6)),
                       None if rng.random() < 0.1 else int(rng.integers(-20, 100)),
                       None if rng.random() < 0.1 else float(rng.integers(-400, 400)) / 4,
                       None if rng.random() < 0.15 else ["red", "green", "blue", "gold"][int(rng.integers(0, 4))],
                       f"2024-01-01 00:{i // 60:02d}:{i % 60:02d}"])
    payments = []
    for i in rng.permutation(n_orders + 5):
        if i < n_orders and rng.random() > paid_share:
            continue
        for _ in range(1 + int(rng.random() < 0.2)):
            method = None if rng.random() < null_methods else ["card", "cash", "wire"][int(rng.integers(0, 3))]
            paid = None if rng.random() < 0.1 else f"{rng.integers(-1000, 100000) / 100:.2f}"
            payments.append([int(i), method, paid, f"2024-01-02 00:{len(payments) // 60 % 60:02d}:"
                                                   f"{len(payments) % 60:02d}"])
    write_csv(folder / "orders.csv", ["id", "cust", "amount", "price", "note", "ts"], orders)
    write_csv(folder / "payments.csv", ["order_id", "method", "paid", "ts"], payments)


@pytest.mark.parametrize("case", ["join", "aggregate"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_targets_agree_with_the_reference(tmp_path, case, seed):
    """local at batch sizes 1, 7 and 10000, DataFusion (and PostgreSQL) against the reference."""
    orders_and_payments(tmp_path, seed, paid_share=1.0 if seed == 3 else 0.8)  # seed 3: every order is paid
    (tmp_path / "program.flow").write_text(OVER_A_JOIN if case == "join" else OVER_AN_AGGREGATE)
    report = check_directory(str(tmp_path), targets=TARGETS)
    assert not report.unsupported, report.unsupported
    report.assert_ok()


def test_the_users_example(tmp_path):
    """`view a = s | left join t as b on k = b.k` then `aggregate n = count() by k`, by hand."""
    write_csv(tmp_path / "s.csv", ["k", "v"], [[1, 10], [2, 20], [1, 11], [None, 5], [3, 7]])
    write_csv(tmp_path / "t.csv", ["k", "name"], [[1, "x"], [1, "y"], [2, "z"], [9, "w"]])
    text = """
source s (k bigint, v bigint) from csv('s.csv')
source t (k bigint, name string) from csv('t.csv')
view a = s | left join t as b on k = b.k
view c = a | aggregate n = count(), names = count(name), lo = min(name), total = sum(v) by k
view g = a | aggregate n = count(), lo = min(name), hi = max(name), names = count_distinct(name)
"""
    prog = program(tmp_path, text)
    for batch_size in (1, 2, 7, 10_000):
        c = local_view(prog, "c", batch_size)
        assert _rows(c) == {(1, 4, 4, "x", 42): 1, (2, 1, 1, "z", 20): 1, (None, 1, 0, None, 5): 1,
                            (3, 1, 0, None, 7): 1}, batch_size
        assert _rows(local_view(prog, "g", batch_size)) == {(7, "x", "z", 3): 1}
    (tmp_path / "program.flow").write_text(text)
    check_directory(str(tmp_path), targets=TARGETS).assert_ok()


def _rows(table) -> Counter:
    """Consolidated rows as tuples in column order."""
    names = [n for n in table.column_names if n != "_op"]
    return Counter({tuple(dict(k)[n] for n in names): w for k, w in consolidate(table).items()})


def test_a_group_emptied_by_retractions_is_retracted(tmp_path):
    """Every order gets paid: the customers' rows of `unpaid` all end retracted, and its keyless
    twin ends as the empty aggregate (count 0, others null)."""
    orders_and_payments(tmp_path, seed=5, n_orders=20, paid_share=1.0, null_methods=0)
    prog = program(tmp_path, OVER_A_JOIN)
    for batch_size in (1, 7, 10_000):
        unpaid = run_local(prog, batch_size=batch_size, collect=True).tables
        assert unpaid["unpaid"].num_rows > 0 and not consolidate(unpaid["unpaid"])
        assert _rows(unpaid["unpaid_overall"]) == {(0, None, None, None, 0): 1}


def test_windowed_aggregates_over_a_changelog_stay_compile_errors(tmp_path):
    for window in ("tumble(ts, 10s)", "hop(ts, size = 10s, slide = 5s)", "session(ts, gap = 10s)"):
        text = SOURCES + f"view w = joined | window {window} | aggregate n = count() by cust\n"
        with pytest.raises(UnsupportedFeature, match="a windowed aggregate over a changelog"):
            compile_local(program(tmp_path, text), 10)


def test_explained_and_state_reported(tmp_path):
    orders_and_payments(tmp_path, seed=1)
    prog = program(tmp_path, SOURCES + "view c = joined | aggregate n = count() by cust\n")
    assert "GlobalAggregate c.aggregate" in explain_local(prog)
    result = run_local(prog, batch_size=7)
    (peak,) = [n for op, n in result.state.items() if "aggregate" in op]
    assert 1 <= peak <= 7  # the customers, null included


# ---------------------------------------------------------------- the operator state


SCHEMA = pa.schema([("k", pa.int64()), ("x", pa.int64()), ("y", pa.float64()), ("s", pa.string()),
                    ("d", pa.decimal128(12, 2)), ("ts", pa.timestamp("us")), (WEIGHT, pa.int64())])
AGGS = [AggSpec("n", "count", None, pa.int64()), AggSpec("nx", "count", "x", pa.int64()),
        AggSpec("sx", "sum", "x", pa.int64()), AggSpec("ax", "avg", "x", pa.float64()),
        AggSpec("sy", "sum", "y", pa.float64()), AggSpec("ay", "avg", "y", pa.float64()),
        AggSpec("sd", "sum", "d", pa.decimal128(12, 2)), AggSpec("ad", "avg", "d", pa.decimal128(12, 2)),
        AggSpec("lx", "min", "x", pa.int64()), AggSpec("hx", "max", "x", pa.int64()),
        AggSpec("ls", "min", "s", pa.string()), AggSpec("hs", "max", "s", pa.string()),
        AggSpec("lt", "min", "ts", pa.timestamp("us")), AggSpec("ht", "max", "ts", pa.timestamp("us")),
        AggSpec("ld", "min", "d", pa.decimal128(12, 2)), AggSpec("hy", "max", "y", pa.float64()),
        AggSpec("cs", "count_distinct", "s", pa.int64()), AggSpec("cx", "count_distinct", "x", pa.int64())]


def _random_row(rng: random.Random) -> tuple:
    def maybe(v):
        return None if rng.random() < 0.15 else v
    return (maybe(rng.randrange(4)), maybe(rng.randrange(-5, 6)), maybe(rng.randrange(-40, 40) / 4),
            maybe(rng.choice("abcde")), maybe(decimal.Decimal(rng.randrange(-999, 999)) / 100),
            maybe(rng.randrange(0, 50) * 1_000_000))


def random_changelog(seed: int, steps: int = 400) -> list[list[tuple]]:
    """Batches of (row..., weight): inserts, retractions of rows present, weights of 2 now and then;
    the last batch retracts every row of key 0 (its group must go)."""
    rng = random.Random(seed)
    present: list[tuple] = []
    batches, batch = [], []
    for _ in range(steps):
        if present and rng.random() < 0.45:
            row = present.pop(rng.randrange(len(present)))
            batch.append((*row, -1))
        else:
            row = _random_row(rng)
            present.append(row)
            if rng.random() < 0.1:
                present.append(row)
                batch.append((*row, 2))
            else:
                batch.append((*row, 1))
        if rng.random() < 0.2:
            batches.append(batch)
            batch = []
    return batches + [batch, [(*row, -1) for row in present if row[0] == 0]]


def _table(rows: list[tuple]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in SCHEMA]
    return pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(cols, SCHEMA, strict=True)], schema=SCHEMA)


def _consolidated_input(batches: list[list[tuple]]) -> pa.Table:
    weights: Counter = Counter()
    for b in batches:
        for *row, w in b:
            weights[tuple(row)] += w
    assert all(w >= 0 for w in weights.values())
    return _table([(*row, 1) for row, w in weights.items() for _ in range(w)]).drop_columns([WEIGHT])


def _as_multiset(table: pa.Table, names: list[str]) -> Counter:
    """Rows as tuples (floats rounded: the state's float sums are exact, the batch kernel's are not)."""
    w = table.column(WEIGHT).to_pylist() if WEIGHT in table.column_names else [1] * table.num_rows
    out: Counter = Counter()
    for r, weight in zip(table.select(names).to_pylist(), w, strict=True):
        out[tuple(round(v, 9) if isinstance(v, float) else v for v in r.values())] += weight
    assert all(v >= 0 for v in out.values()), "retracted a row never inserted"
    return +out


@pytest.mark.parametrize("keys", [["k"], []])
@pytest.mark.parametrize("seed", range(6))
def test_random_changelogs_consolidate_to_the_aggregate_of_the_consolidated_input(keys, seed):
    batches = random_changelog(seed)
    st = ChangelogGroupState(keys, SCHEMA, AGGS)
    names = keys + [a.name for a in AGGS]
    log, shown = [], Counter()
    for b in batches:
        changes = st.update(_table(b))
        assert set(changes.column(WEIGHT).to_pylist()) <= {-1, 1}
        log.append(changes)
        # each group has at most one row in the output at any time
        for key, w in zip(changes.select(keys).to_pylist(), changes.column(WEIGHT).to_pylist(), strict=True):
            shown[tuple(key.values())] += w
            assert shown[tuple(key.values())] in (0, 1)
    want = group_aggregate(_consolidated_input(batches), keys, AGGS)
    if not keys and not want.num_rows:
        want = st.empty_result()
    got = _as_multiset(pa.concat_tables(log), names)
    assert got == _as_multiset(want, names)
    assert _as_multiset(st.contents(), names) == got


def test_float_sums_are_exact_after_retractions():
    aggs = [AggSpec("s", "sum", "y", pa.float64()), AggSpec("a", "avg", "y", pa.float64())]
    st = ChangelogGroupState([], SCHEMA, aggs)
    row = (1, 1, 0.0, "a", None, 0)
    st.update(_table([(*row[:2], 1e20, *row[3:], 1), (*row[:2], 0.1, *row[3:], 1), (*row[:2], 5e-324, *row[3:], 1)]))
    st.update(_table([(*row[:2], 1e20, *row[3:], -1)]))
    (res,) = st.contents().to_pylist()
    assert res == {"s": 0.1, "a": 0.05}  # 0.1 + 5e-324 rounds to 0.1; a naive float sum gives 0.0
    st.update(_table([(*row[:2], math.inf, *row[3:], 1), (*row[:2], -math.inf, *row[3:], 1)]))
    assert math.isnan(st.contents().column("s")[0].as_py())
    st.update(_table([(*row[:2], -math.inf, *row[3:], -1)]))
    assert st.contents().column("s")[0].as_py() == math.inf
    st.update(_table([(*row[:2], math.inf, *row[3:], -1), (*row[:2], 1.7e308, *row[3:], 1),
                      (*row[:2], 1.7e308, *row[3:], 1)]))
    # the sum is past the largest double, the average is not (a float sum would make it inf)
    assert st.contents().to_pylist() == [{"s": math.inf, "a": 1.7e308 / 2}]


def test_a_weight_of_k_is_k_rows():
    double = ChangelogGroupState(["k"], SCHEMA, AGGS)
    single = ChangelogGroupState(["k"], SCHEMA, AGGS)
    rows = [(1, 3, 1.5, "a", decimal.Decimal("1.25"), 7)]
    names = ["k"] + [a.name for a in AGGS]
    double.update(_table([(*rows[0], 2)]))
    single.update(_table([(*rows[0], 1), (*rows[0], 1)]))
    assert _as_multiset(double.contents(), names) == _as_multiset(single.contents(), names)
    double.update(_table([(*rows[0], -2)]))
    assert double.contents().num_rows == 0


def test_min_and_max_follow_retractions_of_the_current_extreme():
    aggs = [AggSpec("lo", "min", "x", pa.int64()), AggSpec("hi", "max", "s", pa.string())]
    st = ChangelogGroupState(["k"], SCHEMA, aggs)

    def row(x, s, w):
        return (1, x, None, s, None, None, w)
    st.update(_table([row(v, s, 1) for v, s in [(5, "m"), (1, "z"), (3, "a"), (1, "z")]]))
    assert st.contents().to_pylist() == [{"k": 1, "lo": 1, "hi": "z"}]
    st.update(_table([row(1, "z", -1)]))
    assert st.contents().to_pylist() == [{"k": 1, "lo": 1, "hi": "z"}]  # one copy of each is left
    st.update(_table([row(1, "z", -1)]))
    assert st.contents().to_pylist() == [{"k": 1, "lo": 3, "hi": "m"}]
    st.update(_table([row(3, "a", -1), row(None, None, 1)]))
    assert st.contents().to_pylist() == [{"k": 1, "lo": 5, "hi": "m"}]
    st.update(_table([row(5, "m", -1)]))
    assert st.contents().to_pylist() == [{"k": 1, "lo": None, "hi": None}]  # the null row is left
    for i in range(100):  # many retractions below the top: the heap is compacted, the result stays right
        st.update(_table([row(100 + i, "b", 1), row(100 + i, "b", -1)]))
    st.update(_table([row(7, "q", 1)]))
    assert st.contents().to_pylist() == [{"k": 1, "lo": 7, "hi": "q"}]
    assert len(st.states[0].heaps[0]) < 40


def test_a_retraction_before_its_insertion_ends_consistent():
    """A changelog may reach the aggregate with a group's count below 0 for a while."""
    op = GlobalAggregateOp("agg", SCHEMA, ["k"], AGGS[:4], mode="changes")
    stream = TestStream(op, SCHEMA)
    row = (1, 4, None, None, None, None)
    assert stream.add(_table([(*row, -1)])) == []
    assert stream.add(_table([(*row, 1), (2, 1, None, None, None, None, 1)])) == [
        {"k": 2, "n": 1, "nx": 1, "sx": 1, "ax": 1.0, "_op": "+"}]
    assert stream.add(_table([(*row, 1)])) == [{"k": 1, "n": 1, "nx": 1, "sx": 4, "ax": 4.0, "_op": "+"}]


@pytest.mark.parametrize("keys", [["k"], []])
def test_emit_final_gives_the_contents_at_end_of_input(keys):
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("lo", "min", "x", pa.int64()),
            AggSpec("cd", "count_distinct", "s", pa.int64())]
    op = GlobalAggregateOp("agg", SCHEMA, keys, aggs, mode="final")
    stream = TestStream(op, SCHEMA)
    assert stream.add(_table([(1, 5, None, "a", None, None, 1), (2, 3, None, "b", None, None, 1)])) == []
    assert stream.add(_table([(2, 3, None, "b", None, None, -1), (1, 2, None, "a", None, None, 1)])) == []
    want = [{"k": 1, "n": 2, "lo": 2, "cd": 1}] if keys else [{"n": 2, "lo": 2, "cd": 1}]
    assert stream.end() == want


def test_keyless_emit_final_of_rows_all_retracted_is_the_empty_aggregate():
    aggs = [AggSpec("n", "count", None, pa.int64()), AggSpec("s", "sum", "x", pa.int64()),
            AggSpec("cd", "count_distinct", "s", pa.int64())]
    for batches in ([], [[(1, 5, None, "a", None, None, 1)], [(1, 5, None, "a", None, None, -1)]]):
        op = GlobalAggregateOp("agg", SCHEMA, [], aggs, mode="final")
        stream = TestStream(op, SCHEMA)
        for b in batches:
            stream.add(_table(b))
        assert stream.end() == [{"n": 0, "s": None, "cd": 0}]


def test_nan_is_skipped_by_min_and_max_and_counted_once_as_a_distinct_value():
    aggs = [AggSpec("lo", "min", "y", pa.float64()), AggSpec("hi", "max", "y", pa.float64()),
            AggSpec("cd", "count_distinct", "y", pa.int64())]
    st = ChangelogGroupState([], SCHEMA, aggs)

    def row(y, w):
        return (None, None, y, None, None, None, w)
    st.update(_table([row(math.nan, 1), row(2.0, 1), row(math.nan, 1)]))
    assert st.contents().to_pylist() == [{"lo": 2.0, "hi": 2.0, "cd": 2}]  # as Arrow's min and max
    st.update(_table([row(2.0, -1)]))
    (res,) = st.contents().to_pylist()
    assert math.isnan(res["lo"]) and math.isnan(res["hi"]) and res["cd"] == 1
