"""Nexmark on the local runtime and on DataFusion, side by side, over the same generated events.

    .venv/bin/python benchmarks/run.py --events 1000000 --queries q0,q5,q7 --batch-size 65536

For each query (`benchmarks/nexmark/qN.flow`), two worker subprocesses run it, one per engine, so each
peak RSS is that engine's own. Both generate the same events (`nexmark(...)` with the same events
and seed): the local worker streams them and times every pull from the generator separately; the
DataFusion worker materializes them first (timed: that is the "gen" column). Processing time
excludes generation and compilation. The outputs (changelogs consolidated to multisets) are then
compared in this process.

events/s counts Nexmark events of all kinds (the `events` argument), as the Nexmark harnesses do: a
bid-only query reads 46 of every 50 of them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HERE = os.path.dirname(os.path.abspath(__file__))
QUERIES_DIR = os.path.join(HERE, "nexmark")
ALL_QUERIES = ("q0", "q1", "q2", "q3", "q5", "q7", "q8", "q10", "q14", "q15", "q22")


# ---------------------------------------------------------------- workers (run in a subprocess)


def _program(query: str):
    from flowc.pipeline import load_program, to_ir

    return to_ir(load_program(os.path.join(QUERIES_DIR, f"{query}.flow")))


def _rss_mib() -> float:
    """This process's peak RSS. VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from
    the parent at fork, so a worker would report the driver's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _TimedIterator:
    """Wraps a source's batch iterator and adds the time spent generating to a shared counter."""

    def __init__(self, it, clock: list[float]):
        self.it, self.clock = it, clock

    def __iter__(self):
        return self

    def __next__(self):
        t = time.perf_counter()
        try:
            return next(self.it)
        finally:
            self.clock[0] += time.perf_counter() - t


def worker_local(query: str, batch_size: int, out: str, profile: str | None, state: bool) -> dict:
    from flowc.runtime.state_probe import attach_state_probe
    from flowc.targets.local import compile_local

    _warm_up(query, batch_size)
    program = _program(query)
    base_rss = _rss_mib()
    lp = compile_local(program, batch_size, collect=True)
    for view, op in lp.collectors.items():
        op.collect = view == query  # keep only the query's own output
    gen_clock = [0.0]
    for node in lp.sources.values():
        opener = node.open
        node.open = lambda n, opener=opener: _TimedIterator(opener(n), gen_clock)
    probe = attach_state_probe(lp.plan.sources, lp.plan.operators) if state else None
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    started = time.perf_counter()
    lp.plan.run()
    total = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        with open(profile, "w") as f:
            f.write(profiler.output_text(unicode=False, color=False, show_all=False))
    peak_rss = _rss_mib()
    table = lp.collectors[query].table()
    rows_in = {name: node.rows_in for name, node in lp.sources.items()}
    late = sum(node.late for node in lp.sources.values())
    _write(table, out)
    return {"gen_s": gen_clock[0], "proc_s": total - gen_clock[0], "rows_in": rows_in, "late": late,
            "rows_out": table.num_rows, "peak_rss_mib": peak_rss, "base_rss_mib": base_rss,
            "state": dict(probe.peak) if probe is not None else {}}


def _warm_up(query: str, batch_size: int) -> None:
    """Runs the query once over a few events before the measured run. DataFusion's core time is
    measured after its target run in the same process, so both engines are measured warm: first-call
    costs (Arrow's compute kernels initialize lazily, 15-30 ms on the first filter) are not per-event
    costs, and counting them on one side only would skew the ratio at a few million events."""
    from flowc.targets.local import compile_local

    events = os.environ["NEXMARK_EVENTS"]
    os.environ["NEXMARK_EVENTS"] = "50000"
    try:
        compile_local(_program(query), batch_size, collect=False).plan.run()
    finally:
        os.environ["NEXMARK_EVENTS"] = events


def worker_datafusion(query: str, out: str) -> dict:
    from flowc.targets import nexmark
    from flowc.targets.datafusion.runner import execute

    program = _program(query)
    base_rss = _rss_mib()
    t = time.perf_counter()
    inputs = {s.name: nexmark.read_table(s) for s in program.sources}
    gen = time.perf_counter() - t
    t = time.perf_counter()
    ex = execute(program, inputs, views={query})
    proc = time.perf_counter() - t
    peak_rss = _rss_mib()
    table = ex.outputs[query]
    core = _views_only(program, inputs, query) if not any(v.num_rows for v in ex.late.values()) else None
    _write(table, out)
    return {"gen_s": gen, "proc_s": proc, "core_s": core, "rows_in": {k: v.num_rows for k, v in inputs.items()},
            "late": sum(v.num_rows for v in ex.late.values()), "rows_out": table.num_rows,
            "peak_rss_mib": peak_rss, "base_rss_mib": base_rss, "state": {}}


def _views_only(program, inputs: dict, query: str) -> float:
    """DataFusion on the views' SQL alone, the inputs registered as the on-time rows (valid when no
    row is late): the batch engine's speed without the target's lateness split, i.e. the
    "physical limit" the issue compares against."""
    from flowc.targets.datafusion.dialect import quote_ident
    from flowc.targets.datafusion.runner import register_table, session
    from flowc.targets.datafusion.sqlgen import compile_datafusion

    plan = compile_datafusion(program)
    ctx = session()
    t = time.perf_counter()
    for s in program.sources:
        register_table(ctx, s.name, inputs[s.name])
    for v, vp in zip(program.views, plan.views, strict=True):
        ctx.register_view(quote_ident(v.name), ctx.sql(vp.sql))
    vp = next(vp for v, vp in zip(program.views, plan.views, strict=True) if v.name == query)
    ctx.sql(vp.output_sql).to_arrow_table()
    return time.perf_counter() - t


def _write(table: pa.Table, path: str) -> None:
    with pa.OSFile(path, "wb") as f, pa.ipc.new_file(f, table.schema) as w:
        w.write_table(table)


# ---------------------------------------------------------------- comparing outputs


def consolidate(table: pa.Table) -> pa.Table:
    """A changelog (`_op` first) or a plain table as a multiset: one row per distinct row with its
    net count, rows netting to zero dropped, sorted by every column."""
    weight = np.ones(table.num_rows, dtype=np.int64)
    if "_op" in table.column_names:
        weight = np.where(pc.equal(table.column("_op"), "-").to_numpy(zero_copy_only=False), -1, 1)
        table = table.drop_columns(["_op"])
    cols = table.column_names
    t = table.append_column("__w", pa.array(weight))
    g = t.group_by(cols, use_threads=False).aggregate([("__w", "sum")])
    g = g.filter(pc.not_equal(g.column("__w_sum"), 0))
    return g.select(cols + ["__w_sum"]).sort_by([(c, "ascending") for c in cols + ["__w_sum"]])


def same_results(a: pa.Table, b: pa.Table) -> tuple[bool, str]:
    ca, cb = consolidate(a), consolidate(b)
    if ca.num_rows != cb.num_rows:
        return False, f"{ca.num_rows} distinct rows vs {cb.num_rows}"
    if ca.equals(cb):
        return True, "equal"
    for name in ca.column_names:  # floats: relative 1e-9, as check_examples compares
        x, y = ca.column(name), cb.column(name)
        if pa.types.is_floating(x.type):
            if not np.allclose(x.to_numpy(), y.to_numpy(), rtol=1e-9, atol=0, equal_nan=True):
                return False, f"column {name} differs"
        elif not x.equals(y):
            return False, f"column {name} differs"
    return True, "equal (floats within 1e-9)"


# ---------------------------------------------------------------- the driver


def _spawn(args: list[str], env: dict) -> dict:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), *args], env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_query(query: str, events: int, seed: int, batch_size: int, tmp: str, profile_dir: str | None,
              state: bool) -> dict:
    env = dict(os.environ, NEXMARK_EVENTS=str(events), NEXMARK_SEED=str(seed))
    out_l, out_d = os.path.join(tmp, f"{query}.local.arrow"), os.path.join(tmp, f"{query}.df.arrow")
    largs = ["--worker", "local", "--query", query, "--batch-size", str(batch_size), "--out", out_l]
    if profile_dir:
        largs += ["--profile", os.path.join(profile_dir, f"{query}.local.txt")]
    if state:
        largs += ["--state"]
    local = _spawn(largs, env)
    df = _spawn(["--worker", "datafusion", "--query", query, "--out", out_d], env)
    result = {"query": query, "events": events, "local": local, "datafusion": df}
    if "error" not in local and "error" not in df:
        ok, why = same_results(pa.ipc.open_file(out_l).read_all(), pa.ipc.open_file(out_d).read_all())
        result["agree"], result["why"] = ok, why
    for p in (out_l, out_d):
        if os.path.exists(p):
            os.remove(p)
    return result


def _rate(events: int, seconds: float) -> str:
    return f"{events / seconds / 1e6:7.2f}" if seconds > 0 else "    inf"


def report_line(r: dict) -> str:
    n = r["events"]
    loc, df = r["local"], r["datafusion"]
    name = r["query"]
    if "error" in loc or "error" in df:
        what = "; ".join(f"{k}: {v['error']}" for k, v in (("local", loc), ("datafusion", df)) if "error" in v)
        return f"{name:4} ERROR {what}"
    state = sum(loc["state"].values()) if loc["state"] else None
    ratio = df["proc_s"] / loc["proc_s"] if loc["proc_s"] > 0 else float("inf")
    core = df.get("core_s")
    core_ratio = f"{core / loc['proc_s']:6.2f}" if core and loc["proc_s"] > 0 else "     -"
    return (f"{name:4} {_rate(n, df['gen_s'])} | {_rate(n, loc['proc_s'])} {loc['proc_s']:7.2f} "
            f"{loc['peak_rss_mib']:7.0f} {state if state is not None else '-':>10} | "
            f"{_rate(n, df['proc_s'])} {df['proc_s']:7.2f} {_rate(n, core) if core else '      -'} "
            f"{df['peak_rss_mib']:7.0f} | {ratio:6.2f} {core_ratio} | "
            f"{loc['rows_out']:>9} {'yes' if r.get('agree') else 'NO: ' + r.get('why', '?')}")


HEADER = ("      gen   |                 local runtime          |             DataFusion           |  local/DF     |\n"
          "qry  M ev/s |  M ev/s       s  RSS MiB  state rows |  M ev/s       s  core M/s RSS MiB | target  core  |"
          "  rows out agree")


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    return (f"{platform.node()}: {os.cpu_count()} cpus, {cpu}, {mem:.1f} GiB; python {platform.python_version()}, "
            f"pyarrow {pa.__version__}; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="Nexmark events (all kinds) per query")
    ap.add_argument("--queries", default=",".join(ALL_QUERIES), help="comma-separated, e.g. q0,q5")
    ap.add_argument("--batch-size", type=int, default=65_536, help="local runtime batch size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--state", action="store_true",
                    help="sample the local state rows after every batch (peak state rows; costs time)")
    ap.add_argument("--profile", metavar="DIR", help="write a pyinstrument profile of each local run to DIR")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    # worker mode (internal)
    ap.add_argument("--worker", choices=("local", "datafusion"), help=argparse.SUPPRESS)
    ap.add_argument("--query", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker == "local":
        print(json.dumps(worker_local(a.query, a.batch_size, a.out, a.profile, a.state)))
        return 0
    if a.worker == "datafusion":
        print(json.dumps(worker_datafusion(a.query, a.out)))
        return 0

    queries = [q.strip() for q in a.queries.split(",") if q.strip()]
    unknown = [q for q in queries if not os.path.exists(os.path.join(QUERIES_DIR, f"{q}.flow"))]
    if unknown:
        ap.error(f"no query {', '.join(unknown)}; queries: {', '.join(ALL_QUERIES)}")
    if a.profile:
        os.makedirs(a.profile, exist_ok=True)
    print(machine())
    print(f"events {a.events}, seed {a.seed}, local batch size {a.batch_size}, "
          f"date {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(HEADER, flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="flowc-bench-") as tmp:
        for q in queries:
            r = run_query(q, a.events, a.seed, a.batch_size, tmp, a.profile, a.state)
            results.append(r)
            print(report_line(r), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": machine(), "results": results}, f, indent=1)
    failed = [r["query"] for r in results if "error" in r["local"] or "error" in r["datafusion"]
              or not r.get("agree")]
    if failed:
        print(f"not run or disagreeing: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
