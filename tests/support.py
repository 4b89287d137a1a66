"""Shared test helpers: run the CLI as users do, and compare sink files with expected outputs.

Comparison follows examples/README.md: rows as a multiset, columns by name, `_op` consolidated
(+1/-1 per distinct row), timestamps by value to the microsecond, integers by value, floats with
relative tolerance 1e-9 (rounded to 9 significant digits).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_flowc(*args: str, cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def _value(text: str):
    text = text.strip()
    if text == "":
        return None
    try:
        return ("n", int(text))
    except ValueError:
        pass
    try:
        f = float(text)
    except ValueError:
        pass
    else:
        if f.is_integer():
            return ("n", int(f))
        digits = 9 - int(math.floor(math.log10(abs(f)))) if f else 9
        return ("f", round(f, digits))
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if t.tzinfo is not None:
            t = t.astimezone(dt.UTC).replace(tzinfo=None)
        return ("t", t)
    except ValueError:
        return ("s", text)


def read_rows(path: Path, columns: list[str] | None = None) -> tuple[Counter, list[str]]:
    """The consolidated multiset of rows of a CSV file, and its value columns."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        header = [c for c in (reader.fieldnames or []) if c != "_op"]
        rows = list(reader)
    cols = columns if columns is not None else header
    missing = [c for c in cols if c not in header]
    assert not missing, f"{path.name}: missing columns {missing}; has {header}"
    weights: Counter = Counter()
    for r in rows:
        key = tuple(_value(r[c]) for c in cols)
        weights[key] += -1 if (r.get("_op") or "+").strip() == "-" else 1
    return Counter({k: w for k, w in weights.items() if w > 0}), cols


def compare_outputs(expected_dir: Path, out_dir: Path) -> list[str]:
    problems = []
    for exp in sorted(expected_dir.glob("*.csv")):
        got = out_dir / exp.name
        if not got.exists():
            problems.append(f"{exp.name} not written")
            continue
        want, cols = read_rows(exp)
        have, _ = read_rows(got, cols)
        if want != have:
            problems.append(f"{exp.name}: missing {sorted(want - have)[:5]}, unexpected {sorted(have - want)[:5]}")
    return problems


def copy_example(name: str, dest: Path) -> Path:
    work = dest / name
    shutil.copytree(EXAMPLES / name, work, ignore=shutil.ignore_patterns("expected", "out", "__pycache__"))
    return work


def need_postgres() -> None:
    """Skip, with the reason, when no PostgreSQL answers at $FLOWC_PG_DSN (default the local one)."""
    import os

    import psycopg
    import pytest

    dsn = os.environ.get("FLOWC_PG_DSN", "host=127.0.0.1 port=5432 dbname=postgres")
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        pytest.skip(f"no PostgreSQL reachable at FLOWC_PG_DSN: {str(e).strip().splitlines()[0]}")
