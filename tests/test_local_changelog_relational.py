"""`top` and lookup joins over a changelog on the local runtime (runtime/relational.py TopNOp,
runtime/joins.py LookupJoinOp).

End to end: top over a left regular join's changelog and over `emit changes` aggregates (a histogram
whose counts go up and down, so top rows are displaced and come back), asc and desc, with and
without `per`, ties and nulls in the order expression; inner and left lookup joins of a changelog;
run on local (batch sizes 1, 7, 10000), DataFusion, PostgreSQL when reachable, and the reference
evaluator (SEMANTICS §4: the consolidated output is the batch meaning over the consolidated input).
Operator level: random changelogs (weights of 2, retractions ahead of their insertions) against a
brute-force top n.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from flowc.runtime.operators import WEIGHT
from flowc.runtime.relational import TopNOp, _PresentRows
from flowc.runtime.testing import TestStream
from flowc.targets.local import explain_local, run_local
from relational_support import consolidate, negative_weights, program, write_csv
from test_local_changelog_aggregate import SOURCES as ORDERS_AND_PAYMENTS
from test_local_changelog_aggregate import orders_and_payments

from flowc.testing.differential import check_directory, postgres_reason

TARGETS = ("local", "datafusion") + (("postgres",) if postgres_reason() is None else ())

# orders, payments and `view joined = orders | left join payments ...`, and a table to look up
SOURCES = ORDERS_AND_PAYMENTS + """
table customers (cust bigint, name string, tier bigint, primary key (cust)) from csv('customers.csv')
"""

# over the left join's changelog: an order's null-padded row is retracted when its payment arrives
TOP_OVER_A_JOIN = SOURCES + """
view biggest = joined | top 3 by amount per cust
view biggest_tens = joined | top 3 by amount / 25 per cust
view smallest_paid = joined | top 2 by paid asc per method
view latest_paid = joined | top 4 by p_ts
view cheapest = joined | top 5 by price asc
view unpaid_first = joined | top 3 by method is null per note
view by_expr = joined | top 2 by amount * 2 - coalesce(order_id, 0) asc per cust
"""

# over `emit changes` aggregates: a customer's row is retracted each time it changes
TOP_OVER_AN_AGGREGATE = SOURCES + """
view per_cust = orders | aggregate n = count(), total = sum(amount), lo = min(price) by cust | emit changes
view per_cust_note = orders | aggregate n = count(), total = sum(amount) by cust, note | emit changes

view histogram = per_cust | aggregate customers = count() by n
view common = histogram | top 2 by customers
view rare = histogram | top 2 by customers asc
view common_inline = per_cust | aggregate customers = count(), spend = sum(total) by n | top 1 by spend

view big_spenders = per_cust | top 2 by total
view thrifty = per_cust | top 3 by lo asc
view best_note = per_cust_note | top 1 by total per cust
view worst_note = per_cust_note | top 2 by total asc per cust
view busiest_note = per_cust_note | top 2 by n per note
"""

# lookup joins whose stream side is a changelog, and top over them
LOOKUP_OF_A_CHANGELOG = SOURCES + """
view per_cust = orders | aggregate n = count(), total = sum(amount) by cust | emit changes

view named = per_cust | join customers as c on cust = c.cust
view named_left = per_cust | left join customers as c on cust = c.cust
view gold_left = per_cust | left join customers as c on cust = c.cust and c.tier >= 2
view joined_named = joined | join customers as c on cust = c.cust
view joined_named_left = joined | left join customers as c on cust = c.cust and c.tier < 3
view per_tier = per_cust | left join customers as c on cust = c.cust | aggregate n = count(), total = sum(total) by tier
view best_per_tier = named_left | top 1 by total per tier
"""

CASES = {"top_join": TOP_OVER_A_JOIN, "top_aggregate": TOP_OVER_AN_AGGREGATE, "lookup": LOOKUP_OF_A_CHANGELOG}


def orders_payments_customers(folder: Path, seed: int, paid_share: float = 0.8) -> None:
    """The aggregate tests' orders and payments (nulls among customers, amounts, prices, notes,
    methods and amounts paid; payments arriving later, some twice, some for unknown orders), and a
    customer table that misses some customers and lists one twice."""
    orders_and_payments(folder, seed, n_orders=80, paid_share=paid_share)
    rng = np.random.default_rng(seed)
    customers = [[c, f"c{c}", int(rng.integers(1, 4))] for c in range(6) if rng.random() < 0.8]
    customers.append([customers[0][0], "renamed", 3])  # a second version of a key: the last one holds
    write_csv(folder / "customers.csv", ["cust", "name", "tier"], customers)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_targets_agree_with_the_reference(tmp_path, case, seed):
    """local at batch sizes 1, 7 and 10000, DataFusion (and PostgreSQL) against the reference."""
    orders_payments_customers(tmp_path, seed, paid_share=1.0 if seed == 3 else 0.8)  # seed 3: every order is paid
    (tmp_path / "program.flow").write_text(CASES[case])
    report = check_directory(str(tmp_path), targets=TARGETS)
    assert not report.unsupported, report.unsupported
    report.assert_ok()


def test_changelogs_are_well_formed_and_tops_are_displaced(tmp_path):
    """No row is retracted more often than inserted, and the tops really move: rows are retracted
    and some row comes back after it left (the case the append-only path never meets)."""
    orders_payments_customers(tmp_path, seed=4)
    tables = {}
    for text in (TOP_OVER_A_JOIN, TOP_OVER_AN_AGGREGATE, LOOKUP_OF_A_CHANGELOG):
        tables.update(run_local(program(tmp_path, text), batch_size=1, collect=True).tables)
    for name, table in tables.items():
        assert not negative_weights(table), name
    for name in ("common", "big_spenders", "biggest", "named_left", "joined_named_left"):
        assert "-" in tables[name].column("_op").to_pylist(), name
    assert any(_came_back(tables[name]) for name in ("common", "rare", "best_note", "worst_note")), name


def _came_back(table: pa.Table) -> bool:
    """Some row was inserted, retracted, and inserted again."""
    seen: dict[tuple, list[str]] = {}
    for r in table.to_pylist():
        op = r.pop("_op")
        seen.setdefault(tuple(r.values()), []).append(op)
    return any("".join(ops).find("+-+") >= 0 for ops in seen.values())


def test_a_lookup_join_of_a_changelog_by_hand(tmp_path):
    write_csv(tmp_path / "s.csv", ["k", "v"], [[1, 10], [2, 20], [1, 11], [None, 5], [3, 7], [3, 1]])
    write_csv(tmp_path / "t.csv", ["k", "name"], [[1, "x"], [2, "z"], [9, "w"], [2, "y"]])
    text = """
source s (k bigint, v bigint) from csv('s.csv')
table t (k bigint, name string, primary key (k)) from csv('t.csv')
view c = s | aggregate n = count(), total = sum(v) by k | emit changes
view inner_ = c | join t as b on k = b.k
view left_ = c | left join t as b on k = b.k
"""
    prog = program(tmp_path, text)
    for batch_size in (1, 2, 7, 10_000):
        tables = run_local(prog, batch_size=batch_size, collect=True).tables
        assert _rows(tables["inner_"]) == {(1, 2, 21, 1, "x"): 1, (2, 1, 20, 2, "y"): 1}, batch_size
        assert _rows(tables["left_"]) == {(1, 2, 21, 1, "x"): 1, (2, 1, 20, 2, "y"): 1, (None, 1, 5, None, None): 1,
                                          (3, 2, 8, None, None): 1}, batch_size
        if batch_size == 1:  # the first counts are retracted, padded rows too
            assert (1, 1, 10, 1, "x") in _ops(tables["inner_"], "-")
            assert (3, 1, 7, None, None) in _ops(tables["left_"], "-")
    (tmp_path / "program.flow").write_text(text)
    check_directory(str(tmp_path), targets=TARGETS).assert_ok()


def _rows(table: pa.Table) -> Counter:
    """Consolidated rows as tuples in column order."""
    names = [n for n in table.column_names if n != "_op"]
    return Counter({tuple(dict(k)[n] for n in names): w for k, w in consolidate(table).items()})


def _ops(table: pa.Table, op: str) -> list[tuple]:
    return [tuple(v for k, v in r.items() if k != "_op") for r in table.to_pylist() if r["_op"] == op]


def test_explained_and_state_reported(tmp_path):
    orders_payments_customers(tmp_path, seed=1)
    prog = program(tmp_path, SOURCES + "view t = joined | top 2 by amount per cust\n"
                   + "view l = joined | left join customers as c on cust = c.cust\n")
    text = explain_local(prog)
    assert "state: every row present in every group, counted" in text
    (lookup,) = {line.strip() for line in text.splitlines() if line.strip().startswith("LookupJoin")}
    assert lookup.endswith("tier [changelog]")
    result = run_local(prog, batch_size=7)
    (top,) = [n for op, n in result.state.items() if "top" in op]
    consolidated = consolidate(run_local(prog, batch_size=7, collect=True).tables["joined"])
    assert top == len(consolidated)  # the join's distinct rows present (ids make every row distinct)


# ---------------------------------------------------------------- the operator


SCHEMA = pa.schema([("k", pa.int64()), ("x", pa.int64()), ("y", pa.float64()), ("s", pa.string()),
                    (WEIGHT, pa.int64())])


def _brute_top(present: Counter, n: int, descending: bool, per: bool) -> Counter:
    """The top n of the consolidated rows: x in the given direction, nulls last, then every column
    ascending, nulls last (docs/semantics.md, "flowc choices")."""
    def nulls_last(v, flip=False):
        return (v is None, 0 if v is None else (-v if flip else v))
    groups: dict = {}
    for row, count in present.items():
        groups.setdefault(row[0] if per else (), []).extend([row] * count)
    out: Counter = Counter()
    for rows in groups.values():
        rows.sort(key=lambda r: (nulls_last(r[1], descending), *(nulls_last(v) for v in r)))
        out.update(rows[:n])
    return out


def _random_row(rng: random.Random) -> tuple:
    def maybe(v):
        return None if rng.random() < 0.15 else v
    return maybe(rng.randrange(3)), maybe(rng.randrange(-3, 4)), maybe(rng.randrange(-4, 4) / 2), maybe(rng.choice("abc"))


def _random_batches(rng: random.Random) -> list[list[tuple]]:
    """Inserts, retractions of rows present, weights of 2 now and then; a batch's rows shuffled, so
    a retraction may come ahead of the insertion it takes back (one batch later at most)."""
    present: list[tuple] = []
    batches = []
    for _ in range(rng.randrange(1, 40)):
        batch = []
        for _ in range(rng.randrange(0, 6)):
            if present and rng.random() < 0.45:
                batch.append((*present.pop(rng.randrange(len(present))), -1))
            else:
                row, w = _random_row(rng), 2 if rng.random() < 0.1 else 1
                present += [row] * w
                batch.append((*row, w))
        batches.append(batch)
    for a, b in zip(batches, batches[1:], strict=False):  # swap some retractions ahead of their insertions
        if rng.random() < 0.2:
            moved = [r for r in b if r[-1] < 0]
            a[:0] = moved
            b[:] = [r for r in b if r[-1] > 0]
    return batches


@pytest.mark.parametrize("seed", range(40))
def test_random_changelogs_consolidate_to_the_top_of_the_consolidated_input(seed):
    _check_random_changelog(seed)


@pytest.mark.parametrize("seed", range(40, 50))
def test_the_same_when_the_kept_rows_are_compacted_after_every_batch(seed, monkeypatch):
    monkeypatch.setattr(_PresentRows, "_MAX_CHUNKS", 0)
    _check_random_changelog(seed)


def _check_random_changelog(seed: int) -> None:
    rng = random.Random(seed)
    n, descending, per = rng.randrange(1, 4), rng.random() < 0.5, rng.random() < 0.5
    op = TopNOp("top", SCHEMA, n, lambda b: b.column("x"), pa.int64(), descending, ["k"] if per else [])
    stream = TestStream(op, SCHEMA)
    present, shown = Counter(), Counter()
    for batch in _random_batches(rng):
        for *row, w in batch:
            present[tuple(row)] += w
        table = pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in batch], schema=SCHEMA)
        for out in stream.add(table):
            shown[tuple(v for k, v in out.items() if k != "_op")] += 1 if out["_op"] == "+" else -1
        assert all(v >= 0 for v in shown.values()), "retracted a row never inserted"
        if all(v >= 0 for v in present.values()):  # between a swapped retraction and its insertion: no check
            assert +shown == _brute_top(+present, n, descending, per)
    assert op.state_rows() == len(+present)


def test_a_retracted_top_row_lets_the_next_best_back():
    op = TopNOp("top", SCHEMA, 2, lambda b: b.column("x"), pa.int64(), True, [])
    stream = TestStream(op, SCHEMA)

    def rows(*xs_and_weights):
        return pa.Table.from_pylist([{"k": 0, "x": x, "y": None, "s": "a", WEIGHT: w} for x, w in xs_and_weights],
                                    schema=SCHEMA)

    def xs(out):
        return Counter((r["x"], r["_op"]) for r in out)
    assert xs(stream.add(rows((5, 1), (3, 1), (1, 1), (None, 1)))) == {(3, "+"): 1, (5, "+"): 1}
    assert xs(stream.add(rows((5, -1)))) == {(1, "+"): 1, (5, "-"): 1}
    assert xs(stream.add(rows((3, -1), (1, -1)))) == {(1, "-"): 1, (3, "-"): 1, (None, "+"): 1}  # a null ranks last
    assert xs(stream.add(rows((7, 2)))) == {(7, "+"): 2, (None, "-"): 1}  # two copies fill the top 2
    assert xs(stream.add(rows((7, -1), (9, 1), (9, -1)))) == {(7, "-"): 1, (None, "+"): 1}
    assert op.state_rows() == 2  # 7 once, null once
