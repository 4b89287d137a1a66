"""`flowc deploy --target flink`: the program as detached jobs on a Flink cluster, one per sink.

Each sink (and each `on_late into`) is its own job, so a re-deploy replaces exactly the jobs whose
SQL changed and leaves the others running. A job carries its deployment, its sink and a digest of
everything it runs in its name:

    flowc:<deployment>:<sink table>:<digest>

so the cluster itself is the catalog: the plan compares the program's jobs with the jobs the
JobManager lists under `flowc:<deployment>:` (REST /jobs/overview). A job whose digest is listed
as running, or finished (bounded inputs end), is unchanged and kept; one with another digest is
replaced (the old one cancelled first); a listed job the program no longer has is cancelled; a
job that failed or was cancelled is submitted again. `--dry-run` prints the plan and stops.

Every job is submitted with the whole program's tables and views (they are catalog entries in a
fresh session, free) and its one INSERT, and is watched for a few seconds: a job that fails at
once (a bad record, a missing file) stops the deploy with Flink's reason.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.targets.base import deploy_name
from sqlglot import exp

from . import cluster as clusters
from . import rest
from .client import FlinkError, Session
from .commands import running_address
from .dialect import to_sql
from .runner import DEFAULT_PARALLELISM, JOBMANAGER_ENV, unavailable
from .sqlgen import FlinkPlan, compile_flink

PREFIX = "flowc"
LIVE = ("CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING", "FINISHED")
WATCH_SECONDS = 5.0


@dataclass(frozen=True)
class Job:
    """One job the program wants: the sink table it writes, the INSERT, and its digest."""

    sink: str
    insert: str
    digest: str

    def name(self, deployment: str) -> str:
        return f"{PREFIX}:{deployment}:{self.sink}:{self.digest}"


@dataclass
class Step:
    action: str  # submit | replace | keep | cancel | resubmit
    sink: str
    reason: str
    job: Job | None = None
    cancel: str | None = None  # job id to cancel first


@dataclass
class DeployPlan:
    deployment: str
    jobmanager: str | None
    steps: list[Step] = field(default_factory=list)

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.action != "keep"]

    def render(self) -> str:
        where = self.jobmanager or "a cluster with no flowc jobs (no --jobmanager: planned as for an empty one)"
        lines = [f"-- flowc deploy '{self.deployment}' to Flink at {where}"]
        if not self.changes:
            lines.append("-- nothing to do: every job runs (or ran) as the program says")
        for s in self.steps:
            lines.append(f"-- {s.action} {s.sink}: {s.reason}")
            if s.job is not None and s.action in ("submit", "replace", "resubmit"):
                lines.append(s.job.insert + ";")
        return "\n".join(lines) + "\n"


def _statement_name(stmt: exp.Expression) -> str:
    return stmt.this.this.name if isinstance(stmt.this, exp.Schema) else stmt.this.name


def _reads(e: exp.Expression) -> set[str]:
    return {t.name for t in e.find_all(exp.Table)}


def program_jobs(plan: FlinkPlan) -> list[Job]:
    """One job per INSERT of the program's statement set. A job's digest covers its INSERT and the
    statements it reads, transitively (its sink's table, the views, the sources' tables), so a
    change elsewhere in the program leaves it alone."""
    by_name = {_statement_name(s): (s, sql) for s, sql in zip(plan.statements, plan.ddl_sql(), strict=True)}
    jobs = []
    for ins in plan.inserts:
        sink = ins.this.name
        text = to_sql(ins, pretty=False)
        needed: list[str] = []
        todo = sorted(_reads(ins))
        while todo:
            name = todo.pop()
            if name in needed or name not in by_name:
                continue
            needed.append(name)
            todo += sorted(_reads(by_name[name][0]) - set(needed))
        ddl = "\n".join(by_name[n][1] for n in sorted(needed))
        digest = hashlib.sha256(f"{ddl}\n{text}".encode()).hexdigest()[:12]
        jobs.append(Job(sink, text, digest))
    return jobs


def _listed(jobmanager: str, deployment: str) -> dict[str, list[dict]]:
    """The cluster's jobs of this deployment by sink table, newest first."""
    out: dict[str, list[dict]] = {}
    for j in rest.jobs(jobmanager):
        parts = str(j.get("name", "")).split(":")
        if len(parts) == 4 and parts[0] == PREFIX and parts[1] == deployment:
            out.setdefault(parts[2], []).append(j)
    for js in out.values():
        js.sort(key=lambda j: -int(j.get("start-time", 0)))
    return out


def plan_deploy(deployment: str, jobs: list[Job], listed: dict[str, list[dict]],
                jobmanager: str | None) -> DeployPlan:
    plan = DeployPlan(deployment, jobmanager)
    for job in jobs:
        history = listed.get(job.sink, [])
        live = [j for j in history if j.get("state") in LIVE]
        same = [j for j in live if str(j.get("name", "")).endswith(f":{job.digest}")]
        if same:
            plan.steps.append(Step("keep", job.sink, f"unchanged ({same[0].get('state', '').lower()}, "
                                                     f"job {same[0].get('jid')})", job))
        elif live:
            running = [j for j in live if j.get("state") != "FINISHED"]
            old = running[0] if running else None
            plan.steps.append(Step("replace", job.sink, "its SQL changed"
                                   + (f": cancel job {old.get('jid')}, then submit" if old else ": submit again"),
                                   job, old.get("jid") if old else None))
        elif history:
            plan.steps.append(Step("resubmit", job.sink, f"its last job {history[0].get('state', '').lower()}", job))
        else:
            plan.steps.append(Step("submit", job.sink, "new", job))
    wanted = {j.sink for j in jobs}
    for sink, history in sorted(listed.items()):
        if sink in wanted:
            continue
        for j in history:
            if j.get("state") in LIVE and j.get("state") != "FINISHED":
                plan.steps.append(Step("cancel", sink, f"no longer in the program (job {j.get('jid')})",
                                       cancel=j.get("jid")))
    return plan


def resolve_jobmanager(jobmanager: str | None) -> str | None:
    return jobmanager or os.environ.get(JOBMANAGER_ENV) or running_address()


def deploy(program: ir.Program, jobmanager: str | None = None, dry_run: bool = False, name: str | None = None,
           parallelism: int | None = None, out=None, log=None) -> DeployPlan:
    out = out or sys.stdout
    log = log or sys.stderr
    deployment = name or deploy_name(program)
    if ":" in deployment:
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"deployment name '{deployment}' contains ':'", None,
                                   "flowc names Flink jobs flowc:<deployment>:<sink>:<digest>; choose another --name"))
    plan = compile_flink(program)
    jobs = program_jobs(plan)
    address = resolve_jobmanager(jobmanager)
    if address is None and not dry_run:
        raise FlowError(Diagnostic(Code.IO, "no Flink cluster to deploy to", None,
                                   f"start one with `flowc flink start`, or name one with --jobmanager HOST:PORT or "
                                   f"${JOBMANAGER_ENV}"))
    listed: dict[str, list[dict]] = {}
    if address is not None:
        try:
            listed = _listed(address, deployment)
        except rest.RestError as e:
            raise FlowError(Diagnostic(Code.IO, f"cannot reach the Flink cluster at {address}: {e}", None,
                                       "is it running? `flowc flink status`")) from None
    steps = plan_deploy(deployment, jobs, listed, address)
    out.write(steps.render())
    if dry_run or not steps.changes:
        return steps
    assert address is not None
    try:
        clusters.flink_dist()
        clusters.java()
    except clusters.FlinkUnavailable as e:
        raise unavailable(e) from None
    done: list[str] = []
    for i, step in enumerate(steps.changes, 1):
        what = f"{step.action} {step.sink}"
        try:
            if step.cancel:
                rest.cancel(address, step.cancel)
                rest.wait_for(address, step.cancel, timeout=60)
            if step.job is not None:
                session = Session(address, parallelism or DEFAULT_PARALLELISM, step.job.name(deployment))
                for stmt, sql in zip(plan.statements, plan.ddl_sql(), strict=True):
                    if str(stmt.args.get("kind", "")).lower() == "view":
                        session.create_view(stmt.this.name, to_sql(stmt.expression, pretty=False))
                    else:
                        session.execute(sql)
                jid = session.run([step.job.insert], wait=False)
                _watch(address, jid, what)
                what += f" (job {jid})"
        except (FlinkError, rest.RestError) as e:
            message = e.message if isinstance(e, FlinkError) else str(e)
            raise FlowError(Diagnostic(Code.IO, f"deploy stopped at {what}: {message}", None,
                                       "fix the cause and deploy again: the jobs already changed are listed "
                                       "under their names on the cluster, so the next deploy continues from there",
                                       notes=("already done: " + ("; ".join(done) or "nothing"),))) from None
        done.append(what)
        log.write(f"flowc deploy: [{i}/{len(steps.changes)}] {what}: ok\n")
    log.write(f"flowc deploy: '{deployment}' deployed to Flink at {address} ({len(done)} changes)\n")
    return steps


def _watch(address: str, jid: str, what: str) -> None:
    """Wait until the job runs steadily or finishes; a job that fails at once is an error."""
    deadline = time.monotonic() + WATCH_SECONDS
    while time.monotonic() < deadline:
        state = rest.state(address, jid)
        if state == "FAILED":
            raise FlinkError(rest.root_cause(address, jid) or "the job failed")
        if state in ("FINISHED", "CANCELED"):
            return
        time.sleep(0.25)


__all__ = ["deploy", "plan_deploy", "program_jobs", "DeployPlan", "Step", "Job"]
