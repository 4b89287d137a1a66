"""Every folder of tests/corpus/regressions: local at batch sizes 1, 7, 10000, DataFusion, PostgreSQL
(when a server is reachable at $FLOWC_TEST_PG_DSN, default the local one) and the reference evaluator
agree (SEMANTICS §4); and, on Flink, local and the reference (with Flink's named differences). A
folder named `postgres_*` is about PostgreSQL alone and skips without one; `flink_*` folders are what
the Flink property found.

A folder holds program.flow, the CSV files its sources read, and README.md saying what should
happen. A folder with an OPEN file is a known open bug (the file says which; `flink: ...` when it is
Flink's alone): it is a strict xfail, so the day it is fixed the test fails until OPEN is deleted.
"""

from __future__ import annotations

import os
import re

import pytest

from flowc.testing.differential import check_directory, flink_reason, postgres_reason

ROOT = os.path.join(os.path.dirname(__file__), "corpus", "regressions")
FOLDERS = sorted(d for d in os.listdir(ROOT) if os.path.isfile(os.path.join(ROOT, d, "program.flow")))


def _param(name: str, test: str = "engines"):
    """An OPEN file whose text starts `flink:` is open on Flink only (test_regression_on_flink)."""
    open_file = os.path.join(ROOT, name, "OPEN")
    if os.path.exists(open_file):
        with open(open_file, encoding="utf-8") as f:
            reason = f.read().strip()
        if (test == "flink") == reason.startswith("flink:"):
            return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=reason), id=name)
    return pytest.param(name, id=name)


@pytest.mark.parametrize("name", [_param(n) for n in FOLDERS])
def test_regression(name):
    reason = postgres_reason()
    if reason is not None and name.startswith("postgres_"):
        pytest.skip(reason)
    targets = ("local", "datafusion") + (("postgres",) if reason is None else ())
    check_directory(os.path.join(ROOT, name), batch_sizes=(1, 7, 10_000), targets=targets).assert_ok()


@pytest.mark.parametrize("name", [_param(n, "flink") for n in FOLDERS if not n.startswith("postgres_")])
def test_regression_on_flink(name, flink_jobmanager):
    """Every folder on Flink too (a `flink_*` folder is what the Flink property found), compared with
    the reference as Flink is documented to differ; a Flink refusal must be a declared gap."""
    from test_equivalence import FLINK_GAPS

    reason = flink_reason()
    if reason is not None:
        pytest.skip(reason)
    report = check_directory(os.path.join(ROOT, name), batch_sizes=(7,), targets=("local", "flink"))
    for e in report.unsupported:
        if e.target == "flink":
            assert any(re.search(g, e.what) for g in FLINK_GAPS), f"undeclared unsupported feature on flink: {e}"
    report.assert_ok()


def test_every_folder_says_what_should_happen():
    assert FOLDERS, "the regression corpus is empty"
    for name in FOLDERS:
        assert os.path.isfile(os.path.join(ROOT, name, "README.md")), f"{name} has no README.md"
