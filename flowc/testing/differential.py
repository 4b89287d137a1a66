"""Differential runs: one (program, input) on every target and on the reference, compared per
SEMANTICS §4.

    check_case(case, batch_sizes, optimize)     -> Report   (a drawn strategies.Case)
    check_directory(path, batch_sizes)          -> Report   (a folder with program.flow and its CSVs)
    check_program(program, base_dir, rows, ...) -> Report   (an AST program whose files exist)
    consolidate(rows, changes)                  -> (multiset rows, problems)
    diff_multisets(expected, got)               -> text of the difference, or None

For each view: consolidate(local at each batch size) == consolidate(DataFusion)
[== consolidate(PostgreSQL)] == reference, as multisets; floats with relative tolerance 1e-9 (and 1e-12 absolute, for sums that cancel to about
zero in a different order), integers and decimals by value, timestamps to the microsecond. The late
row count of every source is compared too.

A target that declares a construct unsupported (`UnsupportedFeature`) is not compared; the report
lists the error so the test can check it is a known, declared gap rather than skip silently. A view
the reference calls undefined (distinct without one arrival order) is not compared either, and
DataFusion must refuse it (docs/semantics.md, "flowc choices").

PostgreSQL is a third engine (`targets=(..., "postgres")`): `postgres_reason()` says why it cannot
run (no server at $FLOWC_TEST_PG_DSN, default the local one), or None. Flink (`"flink"`) runs on the
cluster at $FLOWC_FLINK_JOBMANAGER (tests/conftest.py starts one for the session); `flink_reason()`
says why it cannot run. Flink is compared with the reference as Flink is documented to differ
(`FLINK_DIFFERENCES`, the named warnings of docs/flink.md the reference can apply).
"""

from __future__ import annotations

import dataclasses
import decimal
import math
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from flowc.compiler import ir
from flowc.compiler import types as T
from flowc.compiler.diagnostics import FlowError, UnsupportedFeature
from flowc.dsl import ast

from . import reference
from .strategies import Case, format_timestamp

DEFAULT_BATCH_SIZES = (1, 7, 10_000)
PG_DSN_ENV = "FLOWC_TEST_PG_DSN"
FLINK_ENV = "FLOWC_FLINK_JOBMANAGER"
FLINK_DIFFERENCES = frozenset({"W0911", "W0916", "W0919"})
LOCAL_PG_DSN = "host=127.0.0.1 port=5432 dbname=postgres"
REL_TOL = 1e-9
ABS_TOL = 1e-12


@dataclass
class Report:
    """What one differential run found. `failures` empty means every target agreed with the reference."""

    description: str = ""
    failures: list[str] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)  # the targets that disagreed ("local", "datafusion", "postgres")
    unsupported: list[UnsupportedFeature] = field(default_factory=list)
    rows_in: int = 0
    program: ir.Program | None = None  # the IR that ran (optimized if asked, sinks removed)
    undefined: dict[str, str] = field(default_factory=dict)  # views the reference cannot define, and why

    @property
    def ok(self) -> bool:
        return not self.failures

    def text(self) -> str:
        return "\n\n".join(self.failures + [self.description])

    def assert_ok(self) -> None:
        if self.failures:
            raise AssertionError("targets disagree with the reference (SEMANTICS §4):\n\n" + self.text())


# ---------------------------------------------------------------- normalizing and comparing


def table_rows(table: pa.Table) -> list[tuple]:
    """Rows of an Arrow table as tuples of comparable Python values (timestamps as int micros)."""
    cols = []
    for col in table.columns:
        t = col.type
        if pa.types.is_timestamp(t) or pa.types.is_duration(t):
            col = col.cast(pa.int64()) if not pa.types.is_timestamp(t) else col.cast(pa.timestamp("us", t.tz)).cast(
                pa.int64())
        elif pa.types.is_date32(t):
            col = col.cast(pa.int32())
        cols.append(col.to_pylist())
    return list(zip(*cols, strict=True)) if cols else []


def consolidate(rows: list[tuple], changes: bool) -> tuple[list[tuple], list[str]]:
    """A changelog's contents: weights summed per distinct row, rows with positive weight kept
    (SEMANTICS §3). Rows whose weight ends negative are reported as a problem: a changelog retracted
    what it never inserted."""
    if not changes:
        return list(rows), []
    weights: Counter = Counter()
    for r in rows:
        op, rest = r[0], tuple(r[1:])
        if op not in ("+", "-"):
            return [], [f"bad _op value {op!r}"]
        weights[rest] += 1 if op == "+" else -1
    out, problems = [], []
    for r, w in weights.items():
        if w < 0:
            problems.append(f"row retracted {-w} more time(s) than inserted: {_show_row(r)}")
        out += [r] * max(w, 0)
    return out, problems


def _bucket(v):
    """The exact part of a value (floats compared with tolerance share one bucket)."""
    if isinstance(v, float):
        return "<float>"
    if isinstance(v, bool):
        return ("bool", v)
    return v


def values_equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float | decimal.Decimal) or not isinstance(b, int | float | decimal.Decimal):
            return False
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def rows_equal(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))


def diff_multisets(expected: list[tuple], got: list[tuple]) -> str | None:
    """None when equal as multisets (with the float tolerance), else the missing and extra rows."""
    buckets: dict[tuple, list[tuple]] = {}
    for r in got:
        buckets.setdefault(tuple(_bucket(v) for v in r), []).append(r)
    missing = []
    for r in expected:
        pool = buckets.get(tuple(_bucket(v) for v in r), [])
        for i, cand in enumerate(pool):
            if rows_equal(r, cand):
                pool.pop(i)
                break
        else:
            missing.append(r)
    extra = [r for pool in buckets.values() for r in pool]
    if not missing and not extra:
        return None
    lines = [f"expected {len(expected)} rows, got {len(got)}"]
    lines += [f"  missing: {_show_row(r)}" for r in sorted(missing, key=_sort_key)[:20]]
    lines += [f"  extra:   {_show_row(r)}" for r in sorted(extra, key=_sort_key)[:20]]
    return "\n".join(lines)


def _sort_key(r: tuple):
    return tuple((v is not None, str(type(v)), str(v)) for v in r)


def _show_row(r: tuple) -> str:
    return "(" + ", ".join(repr(v) for v in r) + ")"


def show_rows(rows: list[tuple], schema: ir.Schema) -> str:
    """Rows for a human: timestamps as text."""
    out = []
    for r in sorted(rows, key=_sort_key):
        vals = []
        for v, f in zip(r, schema, strict=False):
            vals.append(format_timestamp(v) if v is not None and f.type.is_time_point else repr(v))
        out.append("  (" + ", ".join(vals) + ")")
    return "\n".join(out) or "  (no rows)"


# ---------------------------------------------------------------- running


def _lower(program: ast.Program, optimize: bool) -> ir.Program:
    from flowc.compiler.optimizer import optimize as run_passes
    from flowc.dsl.lower import lower

    lowered = lower(program)
    lowered = run_passes(lowered, verify=True) if optimize else lowered
    # the comparison collects every view; sinks and late-row files would only write files
    sources = tuple(dataclasses.replace(s, on_late="drop") for s in lowered.sources)
    return dataclasses.replace(lowered, sources=sources, sinks=())


def _run_local(program: ir.Program, batch_size: int):
    from flowc.targets.local import run_local

    return run_local(program, batch_size=batch_size, collect=True)


def _run_datafusion(program: ir.Program):
    from flowc.targets.datafusion import run_datafusion

    return run_datafusion(program, collect=True)


def pg_dsn() -> str:
    return os.environ.get(PG_DSN_ENV) or LOCAL_PG_DSN


_PG_REASON: list[str | None] = []


def postgres_reason() -> str | None:
    """Why PostgreSQL cannot be a third engine here (None: it can). Asked once per process."""
    if not _PG_REASON:
        try:
            import psycopg

            with psycopg.connect(pg_dsn(), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _PG_REASON.append(None)
        except Exception as e:  # no driver, no server, refused: all mean "skip, and say why"
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            _PG_REASON.append(f"no PostgreSQL reachable at ${PG_DSN_ENV} (default the local server): {first}")
    return _PG_REASON[0]


def _run_postgres(program: ir.Program):
    from flowc.targets.postgres import run_postgres

    return run_postgres(program, pg_dsn(), collect=True)


def flink_reason() -> str | None:
    """Why Flink cannot be an engine here (None: it can): no flink extra, no Java, or no cluster
    named by $FLOWC_FLINK_JOBMANAGER."""
    try:
        from flowc.targets.flink import cluster, rest

        cluster.flink_dist()
        cluster.java()
    except ImportError as e:
        return f"the Flink target cannot load: {e}"
    except Exception as e:  # FlinkUnavailable: says what to install
        return str(e)
    address = os.environ.get(FLINK_ENV)
    if not address:
        return f"no Flink cluster: set ${FLINK_ENV} (tests/conftest.py's flink_jobmanager fixture starts one)"
    if not rest.reachable(address):
        return f"no Flink cluster answers at ${FLINK_ENV}={address}"
    return None


def _run_flink(program: ir.Program):
    from flowc.targets.flink.runner import run_flink

    return run_flink(program, jobmanager=os.environ[FLINK_ENV], collect=True)


def check_program(program: ast.Program, base_dir: str, rows: dict[str, list[dict]],
                  batch_sizes=DEFAULT_BATCH_SIZES, optimize: bool = True, description: str = "",
                  targets=("local", "datafusion")) -> Report:
    """Run an AST program whose input files are under base_dir; `rows` are the same inputs as
    Python values, for the reference."""
    report = Report(description=description, rows_in=sum(len(r) for r in rows.values()))
    p = _lower(dataclasses.replace(program, base_dir=base_dir), optimize)
    report.program = p
    try:
        ref = reference.evaluate(p, rows)
    except reference.ReferenceError_ as e:
        report.failures.append(f"the reference cannot evaluate this program: {e}")
        return report
    report.undefined = dict(ref.undefined)
    runs = []
    if "local" in targets:
        runs += [(f"local (batch size {b})", lambda b=b: _run_local(p, b)) for b in batch_sizes]
    if "datafusion" in targets:
        runs.append(("datafusion", lambda: _run_datafusion(p)))
    if "postgres" in targets:
        runs.append(("postgres", lambda: _run_postgres(p)))
    refs = {"": ref}
    if "flink" in targets:
        runs.append(("flink", lambda: _run_flink(p)))
        refs["flink"] = reference.evaluate(p, rows, FLINK_DIFFERENCES)
    for label, run in runs:
        try:
            result = run()
        except UnsupportedFeature as e:
            report.unsupported.append(e)
            continue
        except FlowError as e:
            report.failures.append(f"{label} failed: {e}")
        except Exception as e:  # an internal error escaping a target is a bug of that target
            report.failures.append(f"{label} crashed: {type(e).__name__}: {e}")
        else:
            before = len(report.failures)
            _compare(p, refs.get(label.split(" ")[0], ref), result, label, report)
            if label == "datafusion" and ref.undefined:
                report.failures.append(
                    "datafusion ran views whose distinct has no single arrival order instead of refusing them "
                    f"(docs/semantics.md): {', '.join(sorted(ref.undefined))}")
            if len(report.failures) == before:
                continue
        report.failed.add(label.split(" ")[0])
    if report.failures:
        report.failures.append("reference (expected) contents:\n" + "\n".join(
            f"view {v.name}:\n{show_rows(ref.views[v.name], v.schema)}" if v.name in ref.views
            else f"view {v.name}: undefined ({ref.undefined.get(v.name)})" for v in p.views))
    return report


def _compare(p: ir.Program, ref: reference.Reference, result, label: str, report: Report) -> None:
    for s in result.sources:
        if s.late != ref.late.get(s.name):
            report.failures.append(f"{label}: source {s.name} has {s.late} late rows, the reference "
                                   f"{ref.late.get(s.name)} (SEMANTICS §1)")
    for v in p.views:
        if v.name in ref.undefined:
            continue
        table = result.tables.get(v.name)
        if table is None:
            report.failures.append(f"{label}: no output for view {v.name}")
            continue
        changes = v.emit == "changes"
        got, problems = consolidate(table_rows(table), changes)
        for problem in problems:
            report.failures.append(f"{label}: view {v.name} (emit changes): {problem}")
        diff = diff_multisets(ref.views[v.name], got)
        if diff is not None:
            report.failures.append(f"{label}: view {v.name} (emit {v.emit}) differs from the reference:\n{diff}")


def check_case(case: Case, batch_sizes=DEFAULT_BATCH_SIZES, optimize: bool = True,
               targets=("local", "datafusion")) -> Report:
    """Write the case's CSV files to a temporary folder and run check_program there."""
    with tempfile.TemporaryDirectory(prefix="flowc-diff-") as d:
        for path, text in case.csv_files().items():
            with open(os.path.join(d, path), "w", encoding="utf-8") as f:
                f.write(text)
        return check_program(case.program, d, case.inputs, batch_sizes, optimize, case.describe(), targets)


def write_case(case: Case, folder: str, note: str) -> None:
    """Save a case as a regression folder: program.flow (with a sink per view into out/), its
    CSV inputs, and a README line saying what should happen."""
    from flowc.dsl.formatter import format_program

    os.makedirs(folder, exist_ok=True)
    decls = case.program.decls + tuple(
        ast.SinkDecl(d.name, ast.Connector("csv", (ast.Arg(ast.Literal(f"out/{d.name}.csv", "string")),)))
        for d in case.program.decls if isinstance(d, ast.ViewDecl))
    with open(os.path.join(folder, "program.flow"), "w", encoding="utf-8") as f:
        f.write(format_program(dataclasses.replace(case.program, decls=decls)))
    for path, text in case.csv_files().items():
        with open(os.path.join(folder, path), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write(note.rstrip() + "\n")


# ---------------------------------------------------------------- regression folders


def read_csv_rows(path: str, schema: ir.Schema) -> list[dict]:
    """The reference's own reading of an input CSV (independent of the runtime's reader): an empty
    unquoted cell is null, a quoted one is a string, timestamps are ISO text read as UTC."""
    from flowc.dsl.lower_expr import parse_time_literal

    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n").rstrip("\r") for line in f if line.strip()]
    header = [c for c, _ in _split_csv_line(lines[0])]
    types = {fd.name: fd.type for fd in schema}
    rows = []
    for line in lines[1:]:
        cells = _split_csv_line(line)
        row = {}
        for name, (text, quoted) in zip(header, cells, strict=True):
            if name not in types:
                continue
            row[name] = _parse_cell(text, quoted, types[name], parse_time_literal)
        rows.append(row)
    return rows


def _split_csv_line(line: str) -> list[tuple[str, bool]]:
    cells, i = [], 0
    while True:
        if i < len(line) and line[i] == '"':
            j, buf = i + 1, []
            while True:
                if line[j] == '"':
                    if j + 1 < len(line) and line[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(line[j])
                j += 1
            cells.append(("".join(buf), True))
            i = j + 1
        else:
            j = line.find(",", i)
            j = len(line) if j < 0 else j
            cells.append((line[i:j], False))
            i = j
        if i >= len(line):
            return cells
        i += 1  # the comma
        if i == len(line):
            cells.append(("", False))
            return cells


def _parse_cell(text: str, quoted: bool, t: T.Type, parse_time):
    if text == "" and not quoted:
        return None
    if t == T.STRING:
        return text
    if t.is_integer:
        return int(text)
    if t == T.DOUBLE:
        return float(text)
    if t.name == "decimal":
        return decimal.Decimal(text)
    if t == T.BOOL:
        return text.strip().lower() in ("true", "t", "1")
    if t.is_time_point or t == T.DATE:
        return parse_time(text, t)
    raise ValueError(f"no CSV reading for {t}")


def check_directory(folder: str, batch_sizes=DEFAULT_BATCH_SIZES, optimize: bool = True,
                    targets=("local", "datafusion")) -> Report:
    """A regression folder: program.flow and the CSV files its sources and tables read."""
    from flowc.dsl.lower import lower
    from flowc.dsl.parser import parse
    from flowc.targets.base import resolve_path

    path = os.path.join(folder, "program.flow")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    program = dataclasses.replace(parse(text, path), base_dir=folder)
    lowered = lower(program)
    rows = {s.name: read_csv_rows(resolve_path(lowered, str(s.connector.get("path"))), s.schema)
            for s in (*lowered.sources, *lowered.tables)}
    return check_program(program, folder, rows, batch_sizes, optimize, f"{path}\n{text}", targets)
