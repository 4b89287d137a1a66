"""A Flink SQL client in this process: the JVM driven through py4j, a TableEnvironment per job.

PyFlink is not used: it pins pyarrow < 21 and pandas < 2.3, which would fight flowc's own pins.
Its libraries wheel (`apache-flink-libraries`, the whole Flink distribution as jars) and py4j are
all we need: py4j starts a JVM with those jars on the classpath and lets Python call
`TableEnvironment.create(...)`, `executeSql`, `createStatementSet` directly, as PyFlink does
underneath. One JVM serves every job of this process (starting it costs about a second; creating
the first TableEnvironment two more); each run gets a fresh TableEnvironment, so the temporary
tables and views of one program never meet another's.

Jobs are submitted to a cluster's REST endpoint (`execution.target: remote`), so they run on the
real JobManager and TaskManagers. The settings that keep SEMANTICS.md (`JOB_CONFIG`) are set on
every TableEnvironment, whatever the cluster's own defaults.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass

from . import cluster

# Flink settings every flowc job runs with, and why.
JOB_CONFIG = {
    "execution.runtime-mode": "streaming",
    # A watermark after every row (the default emits one every 200 ms of event time): with it,
    # CURRENT_WATERMARK on row i is max(ts of rows before i) - delay, which is how each source's
    # rows are split into on-time and late exactly as SEMANTICS §1 says (docs/flink.md).
    "pipeline.auto-watermark-interval": "0",
    # Times are UTC everywhere in flowc (TIMESTAMP_LTZ values, CAST to string, PROCTIME()).
    "table.local-time-zone": "UTC",
    # Every sink of a program in one job sharing its sources; Flink's default, kept explicit.
    "table.optimizer.reuse-sub-plan-enabled": "true",
    # A failed job fails the run with its cause instead of restarting forever.
    "restart-strategy.type": "none",
}

_LOG4J = """\
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FileAppender
appender.file.name = FileAppender
appender.file.type = File
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{yyyy-MM-dd HH:mm:ss,SSS}} %-5p %-60c %x - %m%n
"""


class FlinkError(Exception):
    """Flink refused a statement or a job failed; `message` is the root cause in Flink's words."""

    def __init__(self, message: str, statement: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.statement = statement
        self.detail = detail


@dataclass
class JobOutcome:
    job_id: str
    name: str


class Gateway:
    """The one JVM of this process, with Flink's jars; started on first use, stopped at exit."""

    _lock = threading.Lock()
    _instance: Gateway | None = None

    def __init__(self) -> None:
        from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway

        self.tmp = tempfile.mkdtemp(prefix="flowc-flink-client-")
        log4j = os.path.join(self.tmp, "log4j.properties")
        with open(log4j, "w", encoding="utf-8") as f:
            f.write(_LOG4J.format(log=os.path.join(self.tmp, "client.log")))
        opts = cluster.java_options() + [f"-Djava.io.tmpdir={self.tmp}", f"-Dlog4j.configurationFile=file:{log4j}",
                                         "-Xmx768m", "-XX:+UseSerialGC"]
        self._stderr = open(os.path.join(self.tmp, "client.out"), "w", encoding="utf-8")  # noqa: SIM115
        port, self.proc = launch_gateway(classpath=os.pathsep.join(cluster.classpath()), javaopts=opts,
                                         die_on_exit=True, java_path=cluster.java(), return_proc=True,
                                         redirect_stdout=self._stderr, redirect_stderr=self._stderr)
        self.gateway = JavaGateway(gateway_parameters=GatewayParameters(port=port, auto_convert=True,
                                                                        auto_close=True))
        self.jvm = self.gateway.jvm

    @classmethod
    def get(cls) -> Gateway:
        with cls._lock:
            if cls._instance is None or cls._instance.proc.poll() is not None:
                cls._instance = Gateway()
                atexit.register(cls._instance.close)
            return cls._instance

    def close(self) -> None:
        try:
            self.gateway.shutdown()
        except Exception:  # noqa: BLE001 - the JVM may be gone already
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - it was killed; the OS reaps it
            pass
        self._stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if Gateway._instance is self:
            Gateway._instance = None


def _address(jobmanager: str) -> tuple[str, int]:
    host, _, port = jobmanager.rpartition(":")
    if not host or not port.isdigit():
        raise FlinkError(f"'{jobmanager}' is not HOST:PORT of a Flink REST endpoint")
    return host, int(port)


class Session:
    """A TableEnvironment bound to one cluster: run DDL, then one statement set as one job."""

    def __init__(self, jobmanager: str, parallelism: int = 2, job_name: str = "flowc",
                 extra: dict[str, str] | None = None):
        self.jobmanager = jobmanager
        gw = Gateway.get()
        self.jvm = gw.jvm
        host, port = _address(jobmanager)
        conf = self.jvm.org.apache.flink.configuration.Configuration()
        settings = {**JOB_CONFIG, "execution.target": "remote", "rest.address": host, "rest.port": str(port),
                    "parallelism.default": str(parallelism), "pipeline.name": job_name, **(extra or {})}
        for k, v in settings.items():
            conf.setString(k, v)
        env_settings = (self.jvm.org.apache.flink.table.api.EnvironmentSettings.newInstance()
                        .inStreamingMode().withConfiguration(conf).build())
        self.tenv = self.jvm.org.apache.flink.table.api.TableEnvironment.create(env_settings)

    def execute(self, statement: str) -> None:
        """A DDL statement (CREATE TABLE / CREATE TEMPORARY VIEW)."""
        self._call(lambda: self.tenv.executeSql(statement), statement)

    def create_view(self, name: str, query: str) -> None:
        """A temporary view of a query, made through the Table API: Flink keeps the planned query,
        where `CREATE TEMPORARY VIEW` keeps its expanded SQL text and parses it again on every use,
        which loses the parentheses of a window function's `PARTITION BY (a, b)` (Flink 2.3)."""
        self._call(lambda: self.tenv.createTemporaryView(name, self.tenv.sqlQuery(query)), query)

    def explain(self, inserts: list[str], changelog: bool = True) -> str:
        """Flink's plans of the INSERTs as one job (with each operator's changelog mode)."""
        def plan():
            ss = self.tenv.createStatementSet()
            for sql in inserts:
                ss.addInsertSql(sql)
            detail = self.jvm.org.apache.flink.table.api.ExplainDetail
            details = Gateway.get().gateway.new_array(detail, 1 if changelog else 0)
            if changelog:
                details[0] = detail.CHANGELOG_MODE
            return ss.explain(self.jvm.org.apache.flink.table.api.ExplainFormat.TEXT, details)
        return self._call(plan, "\n".join(inserts))

    def run(self, inserts: list[str], wait: bool = True) -> str:
        """Submit the INSERTs as one job; with `wait`, block until it ends (FlinkError if it fails).
        Returns the job id."""
        def submit():
            ss = self.tenv.createStatementSet()
            for sql in inserts:
                ss.addInsertSql(sql)
            return ss.execute()

        result = self._call(submit, "\n".join(inserts))
        job_id = result.getJobClient().get().getJobID().toString()
        if wait:
            self._call(lambda: getattr(result, "await")(), None, job_id)
        return job_id

    def _call(self, fn, statement: str | None, job_id: str | None = None):
        from py4j.protocol import Py4JJavaError

        try:
            return fn()
        except Py4JJavaError as e:
            message, detail = _root_cause(e.java_exception)
            if job_id is not None:
                from . import rest

                try:
                    message = rest.root_cause(self.jobmanager, job_id) or message
                except Exception:  # noqa: BLE001 - the job's cause from the exception chain will do
                    pass
            raise FlinkError(message, statement, detail) from None


def _root_cause(throwable) -> tuple[str, str]:
    """The innermost cause's message (Flink wraps a planner error several times), and the chain."""
    chain = []
    t = throwable
    last = None
    while t is not None and len(chain) < 20:
        chain.append(f"{t.getClass().getName()}: {t.getMessage()}")
        last = t
        t = t.getCause()
    if last is not None:  # where the innermost cause was thrown, for reports of Flink's own bugs
        chain += [f"  at {frame.toString()}" for frame in list(last.getStackTrace())[:12]]
    causes = [c for c in chain if not c.startswith("  at ")]
    innermost = causes[-1].split(": ", 1)
    message = innermost[1] if len(innermost) == 2 and innermost[1] != "None" else causes[-1]
    return message.strip(), "\n".join(chain)


__all__ = ["Gateway", "Session", "FlinkError", "JOB_CONFIG", "JobOutcome"]
