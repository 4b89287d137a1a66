"""`flowc run --target flink`: run a program as one Flink job on a real cluster, and write its sinks
exactly as the other targets do.

    read inputs (flowc's readers) -> stage them as JSON lines -> compile with staging (sqlgen.py)
    -> a cluster (--jobmanager, $FLOWC_FLINK_JOBMANAGER, the one `flowc flink start` started, or a
       local one started for this run and stopped after it)
    -> one job (EXECUTE STATEMENT SET) -> read the staged outputs -> write late rows and sinks

Everything that decides which rows come out runs in Flink: lateness, windows, joins, aggregates.
flowc only moves rows in and out, so a sink's file has the same format on every target (a header,
`_op` for changelogs) and appears only when the job has succeeded.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import ExitStack

import pyarrow as pa
from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.targets.base import RunResult, SinkStats, SourceStats, describe_connector
from flowc.targets.sql.connectors import bad_record_schema, read_input, write_output
from sqlglot import exp

from . import cluster as clusters
from . import rest
from .client import FlinkError, Session
from .commands import running_address
from .dialect import to_sql
from .expressions import TARGET
from .sqlgen import FlinkPlan, Staging, compile_flink
from .staging import read_output, write_jsonl

JOBMANAGER_ENV = "FLOWC_FLINK_JOBMANAGER"
KEEP_ENV = "FLOWC_FLINK_KEEP_STAGING"
DEFAULT_PARALLELISM = 2


def unavailable(e: clusters.FlinkUnavailable) -> FlowError:
    return FlowError(Diagnostic(Code.UNSUPPORTED, str(e), None,
                                "or run on another target: --target local | datafusion | postgres"))


def run_flink(program: ir.Program, jobmanager: str | None = None, parallelism: int | None = None,
              collect: bool = False) -> RunResult:
    started = time.perf_counter()
    from flowc.runtime import io

    try:
        clusters.flink_dist()
        clusters.java()
    except clusters.FlinkUnavailable as e:
        raise unavailable(e) from None
    jobmanager = jobmanager or os.environ.get(JOBMANAGER_ENV) or running_address() or None
    with ExitStack() as stack:
        # a cluster for this run starts while the inputs are read and the job is planned
        starter = _ClusterStarter() if jobmanager is None else None
        if starter is not None:
            stack.callback(starter.stop)
        work = tempfile.mkdtemp(prefix="flowc-flink-run-")
        if os.environ.get(KEEP_ENV):  # for debugging: the staged inputs and Flink's part files stay
            print(f"flowc: staging in {work} (kept: ${KEEP_ENV} is set)", file=sys.stderr)
        else:
            stack.callback(shutil.rmtree, work, True)
        bad: dict[str, list[pa.RecordBatch]] = {s.name: [] for s in program.sources}
        rows_in: dict[str, int] = {}
        inputs: dict[str, str] = {}
        for what in (*program.sources, *program.tables):
            data = read_input(program, io, what, bad.get(what.name))
            rows_in[what.name] = data.num_rows
            path = os.path.join(work, f"in_{len(inputs)}.jsonl")
            write_jsonl(data, what.schema, path, getattr(what, "event_time", None))
            inputs[what.name] = path
        views = tuple(v.name for v in program.views) if collect else tuple(dict.fromkeys(k.view for k in program.sinks))
        plan = compile_flink(program, Staging(inputs, os.path.join(work, "out"), views))
        address = jobmanager if jobmanager is not None else starter.address()  # type: ignore[union-attr]
        if jobmanager is not None and not rest.reachable(address):
            raise FlowError(Diagnostic(Code.IO, f"no Flink cluster answers at {address}", None,
                                       "check --jobmanager / $FLOWC_FLINK_JOBMANAGER (the REST address, HOST:PORT), "
                                       "start one with `flowc flink start`, or name none and flowc starts one "
                                       "for the run"))
        run_plan(plan, address, parallelism or DEFAULT_PARALLELISM, job_name=_job_name(program))
        result = _collect(program, plan, rows_in, bad, collect)
    result.elapsed = time.perf_counter() - started
    return result


def _job_name(program: ir.Program) -> str:
    return f"flowc run {os.path.basename(program.file)}"


def run_plan(plan: FlinkPlan, jobmanager: str, parallelism: int, job_name: str = "flowc") -> str:
    """Create the plan's tables and views in a fresh session and run its INSERTs as one job, waiting
    for it to end. A refused statement or a failed job is a FlowError with Flink's reason."""
    what = "the job"
    try:
        session = Session(jobmanager, parallelism, job_name)
        for stmt, sql in zip(plan.statements, plan.ddl_sql(), strict=True):
            kind = str(stmt.args.get("kind", "")).lower()
            name = stmt.this.this.name if isinstance(stmt.this, exp.Schema) else stmt.this.name
            what = f"{kind} {name}"
            if kind == "view":
                session.create_view(name, to_sql(stmt.expression, pretty=False))
            else:
                session.execute(sql)
        what = "the job"
        jid = session.run(plan.insert_sql(), wait=False)
    except FlinkError as e:
        raise _flink_failed(e, jobmanager, what) from None
    except clusters.FlinkUnavailable as e:
        raise unavailable(e) from None
    except ConnectionError as e:
        raise FlowError(Diagnostic(Code.IO, f"cannot reach the Flink cluster at {jobmanager}: {e}", None,
                                   "start one with `flowc flink start`, or leave out --jobmanager to run on a "
                                   "cluster flowc starts for the run")) from None
    _wait(jobmanager, jid)
    return jid


def _wait(jobmanager: str, jid: str) -> None:
    """Until the job ends (all sinks committed); a failed job is a FlowError with its root cause.
    Interrupted (Ctrl-C), the job is cancelled: a named cluster does not keep a run's job."""
    pause = 0.05
    try:
        while True:
            state = rest.state(jobmanager, jid)
            if state == "FINISHED":
                return
            if state in ("FAILED", "CANCELED", "CANCELLING", "FAILING"):
                if state in ("CANCELLING", "FAILING"):
                    state = rest.wait_for(jobmanager, jid, timeout=60)
                cause = rest.root_cause(jobmanager, jid) if state == "FAILED" else "the job was cancelled"
                raise FlowError(Diagnostic(Code.BAD_RECORD, f"the Flink job failed: {cause or state.lower()}", None,
                                           f"the JobManager at {jobmanager} has the job's log and exceptions "
                                           f"(job {jid})"))
            time.sleep(pause)
            pause = min(pause * 1.5, 0.5)
    except KeyboardInterrupt:
        try:
            rest.cancel(jobmanager, jid)
        except rest.RestError:
            pass
        raise
    except rest.RestError as e:
        raise FlowError(Diagnostic(Code.IO, f"lost the Flink cluster at {jobmanager} while job {jid} ran: {e}",
                                   None)) from None


def _flink_failed(e: FlinkError, jobmanager: str, what: str) -> FlowError:
    planning = e.statement is not None and e.detail is not None and "JobExecutionException" not in (e.detail or "") \
        and "Job failed" not in (e.detail or "")
    if planning:
        return FlowError(Diagnostic(Code.UNSUPPORTED, f"Flink refused {what}: {e.message}", None,
                                    "this is a gap of flowc's Flink target: `flowc compile --target flink` shows the "
                                    "SQL; run on another target meanwhile"))
    return FlowError(Diagnostic(Code.BAD_RECORD, f"the Flink job failed: {e.message}", None,
                                f"the JobManager at {jobmanager} has the job's log and exceptions"))


class _ClusterStarter:
    """A local cluster for one run, started in a thread (about 8 s) while flowc reads and plans."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._cluster: clusters.Cluster | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="flowc-flink-cluster", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self._cluster = self._stack.enter_context(clusters.temporary_cluster(taskmanagers=2, slots=2))
        except BaseException as e:  # noqa: BLE001 - re-raised in address()
            self._error = e

    def address(self) -> str:
        self._thread.join()
        if self._error is not None:
            if isinstance(self._error, clusters.FlinkUnavailable):
                raise unavailable(self._error)
            raise FlowError(Diagnostic(Code.IO, f"could not start a local Flink cluster: {self._error}", None,
                                       "start one with `flowc flink start` and pass --jobmanager, or see its log"))
        assert self._cluster is not None
        return self._cluster.address

    def stop(self) -> None:
        self._thread.join()
        self._stack.close()


def _collect(program: ir.Program, plan: FlinkPlan, rows_in: dict[str, int], bad: dict, collect: bool) -> RunResult:
    from flowc.runtime import io

    result = RunResult(TARGET)
    late: dict[str, pa.Table] = {}
    outputs: dict[str, pa.Table] = {}
    for out in plan.outputs:
        if out.kind == "late":
            late[out.of] = read_output(out.folder, out.schema, False, with_op=False)
        else:
            v = program.view(out.of)
            assert v is not None
            outputs[out.of] = read_output(out.folder, out.schema, out.changelog, with_op=v.emit == "changes")
    for s in program.sources:
        late_rows = late.get(s.name)
        n_late = late_rows.num_rows if late_rows is not None else 0
        skipped = sum(b.num_rows for b in bad[s.name])
        result.sources.append(SourceStats(s.name, rows_in=rows_in[s.name], late=n_late, skipped=skipped))
        if isinstance(s.on_late, ir.Connector) and late_rows is not None:
            write_output(program, io, s.on_late, late_rows)
        if isinstance(s.on_error, ir.Connector):
            write_output(program, io, s.on_error, pa.Table.from_batches(bad[s.name], bad_record_schema(s)))
    for k in program.sinks:
        table = outputs[k.view]
        write_output(program, io, k.connector, table)
        result.sinks.append(SinkStats(k.view, describe_connector(program, k.connector), table.num_rows))
    if collect:
        result.tables = outputs
    return result


__all__ = ["run_flink", "run_plan", "JOBMANAGER_ENV"]
