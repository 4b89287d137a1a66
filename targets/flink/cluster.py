"""Local standalone Apache Flink clusters: one JobManager and N TaskManagers on loopback.

The Flink target runs its jobs on a real Flink session cluster, and the `apache-flink-libraries` wheel is
the only Flink most users have: it carries the jars (pyflink/lib, pyflink/opt, pyflink/bin/
bash-java-utils.jar) but none of Flink's shell scripts and no conf/ folder. So this module does what
`bin/start-cluster.sh` would do, directly:

* the JVM options Flink needs on Java 17 come from the `config.yaml` bundled in flink-dist's jar;
* each cluster gets its own *home* folder with conf/config.yaml, conf/log4j.properties, log/ and tmp/,
  so clusters never share ports, temp files or logs;
* memory flags are computed by Flink's own `BashJavaUtils` (what the scripts call), so the JVMs get
  exactly the heap/direct/metaspace split Flink derives from the process sizes;
* the JVMs are started in their own session (they outlive the command that started them), their pids
  are recorded in the home, and `stop` only signals a recorded pid whose command line is a java process
  with *this* home's conf dir, because pids are reused and a stale pid file must never kill a stranger.

Only the standard library is used: this module is imported by the CLI and the test suite on machines
without Flink, where `FlinkUnavailable` says what to install.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import importlib.util
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import rest

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FLINK_VERSION = "2.3.0"  # the version the flink extra pins (and this module was written for)
FLINK_EXTRA_HINT = ("the Flink target needs the flink extra: pip install 'flowc[flink]' "
                    f"(apache-flink-libraries {FLINK_VERSION})")
JAVA_HINT = ("the Flink target needs Java 11 or newer (17 recommended): install a JDK or JRE "
             "(e.g. apt-get install openjdk-17-jre-headless, brew install openjdk@17) and put `java` on PATH "
             "or set JAVA_HOME")
MIN_JAVA = 11

LOOPBACK = "127.0.0.1"
DEFAULT_REST_PORT = 8081  # Flink's usual port, used by the long-lived cluster when it is free
JOBMANAGER_MEMORY = "1024m"
TASKMANAGER_MEMORY = "1536m"

JOBMANAGER_CLASS = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
TASKMANAGER_CLASS = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"
BASH_JAVA_UTILS_CLASS = "org.apache.flink.runtime.util.bash.BashJavaUtils"
_EXEC_RESULT = "BASH_JAVA_UTILS_EXEC_RESULT:"

# Flink's stock conf/log4j.properties, reduced: one file per JVM named by -Dlog.file (the web UI reads the
# same property to show the logs), rolled by size only; `start` moves the previous run's logs aside itself,
# so that a JVM dying before log4j is up is never blamed on a stale log.
LOG4J_PROPERTIES = """\
# written by flowc on every cluster start (targets/flink/cluster.py)
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender

logger.pekko.name = org.apache.pekko
logger.pekko.level = INFO
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = WARN
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = INFO
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = OFF

appender.main.name = MainAppender
appender.main.type = RollingFile
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.filePattern = ${sys:log.file}.%i
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
appender.main.policies.type = Policies
appender.main.policies.size.type = SizeBasedTriggeringPolicy
appender.main.policies.size.size = 100MB
appender.main.strategy.type = DefaultRolloverStrategy
appender.main.strategy.max = 3
"""


class FlinkUnavailable(Exception):
    """Flink cannot run here: the Flink libraries or a suitable Java are missing (the message says which
    and how to install it)."""


class ClusterError(Exception):
    """A cluster could not be started or used, for a reason the user can act on (a port is taken, a JVM
    died: the message then carries the last lines of its log)."""


@dataclass
class Cluster:
    """A started cluster: where it lives and how to reach it."""

    home: Path
    rest_port: int
    rpc_port: int
    taskmanagers: int
    slots: int

    @property
    def address(self) -> str:
        """host:port of the REST API (what `flink run`, the SQL gateway and `rest` talk to)."""
        return f"{LOOPBACK}:{self.rest_port}"

    @property
    def conf_dir(self) -> Path:
        return _Layout(self.home).conf

    @property
    def log_dir(self) -> Path:
        return _Layout(self.home).log


@dataclass
class ClusterStatus:
    """What `status` found: `running` means the REST API answers; `pids` are the JVMs of this home alive."""

    running: bool
    address: str
    taskmanagers: int
    slots_total: int
    slots_available: int
    jobs_running: int
    pids: dict[str, int]


# --------------------------------------------------------------------------- locating Flink and Java


@functools.cache
def flink_dist() -> Path:
    """The installed pyflink folder (the one with lib/flink-dist-*.jar), found without importing pyflink
    (its import is slow and pulls in py4j)."""
    try:
        spec = importlib.util.find_spec("pyflink")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location)
        if any((folder / "lib").glob("flink-dist*.jar")):
            if importlib.util.find_spec("py4j") is None:  # the client's bridge to the JVM, same extra
                raise FlinkUnavailable(FLINK_EXTRA_HINT + "; py4j is missing")
            return folder
    raise FlinkUnavailable(FLINK_EXTRA_HINT)


def flink_version() -> str:
    """The version of the installed Flink jars (from flink-dist-<version>.jar), e.g. "2.3.0"."""
    for jar in sorted((flink_dist() / "lib").glob("flink-dist*.jar")):
        m = re.match(r"flink-dist(?:_[\d.]+)?-(.+)\.jar$", jar.name)
        if m:
            return m.group(1)
    return FLINK_VERSION


def _java_version(path: str) -> int | None:
    """The feature version of a java binary (8 for "1.8.0_392", 17 for "17.0.15"), None if unknown."""
    try:
        out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


@functools.cache
def java() -> str:
    """The `java` to run Flink with: $JAVA_HOME/bin/java, else the one on PATH; it must be Java 11+."""
    candidates: list[str] = []
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            candidates.append(str(candidate))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    if not candidates:
        raise FlinkUnavailable(JAVA_HINT)
    path = candidates[0]
    version = _java_version(path)
    if version is None or version < MIN_JAVA:
        found = f"Java {version}" if version is not None else "a java whose version could not be read"
        raise FlinkUnavailable(f"{JAVA_HINT} (found {found} at {path})")
    return path


def classpath() -> list[str]:
    """The Flink jars (pyflink/lib/*.jar), sorted."""
    return sorted(str(p) for p in (flink_dist() / "lib").glob("*.jar"))


def _launch_classpath() -> str:
    """The JVM classpath in the order Flink's config.sh builds it: the other jars sorted, flink-dist last
    (so connector and format jars win over classes flink-dist also bundles)."""
    jars = classpath()
    dist = [j for j in jars if Path(j).name.startswith("flink-dist")]
    return os.pathsep.join([j for j in jars if j not in dist] + dist)


def _yaml_value(text: str, wanted: str) -> str | None:
    """The value of dotted key `wanted` in a Flink config.yaml, nested or flat. Just enough YAML for
    Flink's bundled file (block mappings of scalars), so that no YAML library is needed."""
    stack: list[tuple[int, str]] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = re.match(r"^(\s*)([^:#\s][^:]*):(?:\s+(.*))?$", raw)
        if not m:
            continue
        indent, key, value = len(m.group(1)), m.group(2).strip(), (m.group(3) or "").strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if ".".join(k for _, k in stack) == wanted and value:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            return value
    return None


@functools.cache
def _java_options() -> tuple[str, ...]:
    dist_jars = sorted((flink_dist() / "lib").glob("flink-dist*.jar"))
    try:
        with zipfile.ZipFile(dist_jars[0]) as jar:
            text = jar.read("config.yaml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, IndexError) as e:
        log.warning("no config.yaml in flink-dist (%s); starting the JVMs without env.java.opts.all", e)
        return ()
    return tuple(shlex.split(_yaml_value(text, "env.java.opts.all") or ""))


def java_options() -> list[str]:
    """The JVM options Flink ships for Java 17 (`env.java.opts.all` of flink-dist's config.yaml: the
    --add-opens/--add-exports its serializers and Pekko RPC need)."""
    return list(_java_options())


def default_home() -> Path:
    """Where the long-lived cluster lives: $FLOWC_FLINK_HOME, else ~/.cache/flowc/flink."""
    configured = os.environ.get("FLOWC_FLINK_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "flowc" / "flink"


# --------------------------------------------------------------------------- a cluster's home


class _Layout:
    """The files of one cluster home (one place that knows the names)."""

    def __init__(self, home: Path):
        self.home = Path(home).expanduser().resolve()
        self.conf = self.home / "conf"
        self.log = self.home / "log"
        self.tmp = self.home / "tmp"
        self.config = self.conf / "config.yaml"
        self.log4j = self.conf / "log4j.properties"
        self.info = self.home / "cluster.json"

    def pid_file(self, role: str) -> Path:
        return self.home / f"{role}.pid"

    def pid_files(self) -> list[Path]:
        return sorted([self.pid_file("jobmanager"), *self.home.glob("taskmanager-*.pid")])

    def log_file(self, role: str) -> Path:
        return self.log / f"{role}.log"

    def out_file(self, role: str) -> Path:
        return self.log / f"{role}.out"


def _read_info(layout: _Layout) -> dict:
    try:
        data = json.loads(layout.info.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and rename, so a concurrent `status` never reads half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _recorded_pids(layout: _Layout) -> dict[str, int]:
    """role -> pid from the pid files and cluster.json (either may survive alone after a crash)."""
    pids: dict[str, int] = {}
    for role, pid in (_read_info(layout).get("pids") or {}).items():
        with contextlib.suppress(TypeError, ValueError):
            pids[str(role)] = int(pid)
    for path in layout.pid_files():
        try:
            pids[path.stem] = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _clear_records(layout: _Layout) -> None:
    """Forget the cluster (pid files, cluster.json); conf/ and log/ stay for post-mortems."""
    for path in [*layout.pid_files(), layout.info]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _configured_rest_port(layout: _Layout) -> int | None:
    port = _read_info(layout).get("rest_port")
    if isinstance(port, int):
        return port
    try:
        m = re.search(r"^rest\.port:\s*(\d+)", layout.config.read_text(), re.M)
    except OSError:
        return None
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------- processes

# Popen objects of the JVMs this Python process started: kept so they can be reaped (no zombies, no
# "subprocess is still running" ResourceWarning when they would be garbage-collected while running)
_CHILDREN: dict[int, subprocess.Popen] = {}
_CHILDREN_LOCK = threading.Lock()
_HAVE_PROC = Path("/proc/self/cmdline").exists()


def _reap() -> None:
    with _CHILDREN_LOCK:
        for pid, proc in list(_CHILDREN.items()):
            if proc.poll() is not None:
                del _CHILDREN[pid]


def _argv(pid: int) -> list[str] | None:
    """A process's command line; None when it is gone, a zombie, or not ours to read."""
    if _HAVE_PROC:
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return [os.fsdecode(a) for a in raw.rstrip(b"\0").split(b"\0")] if raw else None
    try:  # macOS and other systems without /proc: ps gives the joined command line
        out = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = out.stdout.strip()
    return line.split(" ") if out.returncode == 0 and line and "<defunct>" not in line else None


def _belongs(argv: list[str] | None, conf: Path) -> bool:
    """Is this command line a java process run with this home's conf dir?"""
    if not argv or not Path(argv[0]).name.startswith("java"):
        return False
    if _HAVE_PROC:
        return any(a == "--configDir" and b == str(conf) for a, b in zip(argv, argv[1:], strict=False))
    return f"--configDir {conf}" in " ".join(argv)


def _owned(pid: int, conf: Path) -> bool:
    return pid > 0 and _belongs(_argv(pid), conf)


def _role_of(argv: list[str]) -> str:
    return "jobmanager" if JOBMANAGER_CLASS in argv else "taskmanager"


def _live_pids(layout: _Layout) -> dict[str, int]:
    """role -> pid of this home's JVMs that are alive: the recorded ones that pass the ownership check,
    plus (on Linux) any unrecorded java process with this conf dir, e.g. one whose pid file a crash lost."""
    _reap()
    live = {role: pid for role, pid in _recorded_pids(layout).items() if _owned(pid, layout.conf)}
    if _HAVE_PROC:
        known = set(live.values())
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in known:
                continue
            argv = _argv(int(entry.name))
            if _belongs(argv, layout.conf):
                live[f"{_role_of(argv or [])}@{entry.name}"] = int(entry.name)
    return live


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _terminate(targets: dict[str, int], conf: Path, timeout: float) -> None:
    """SIGTERM the targets (those still owned), wait up to `timeout`, then SIGKILL whatever is left.
    Interrupting the wait (Ctrl-C) kills the rest at once instead of leaving JVMs behind."""
    pending = {role: pid for role, pid in targets.items() if _owned(pid, conf)}
    for pid in pending.values():
        _signal(pid, signal.SIGTERM)
    try:
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            time.sleep(0.1)
            _reap()
            pending = {role: pid for role, pid in pending.items() if _owned(pid, conf)}
    except KeyboardInterrupt:
        for pid in pending.values():
            if _owned(pid, conf):
                _signal(pid, signal.SIGKILL)
        raise
    if pending:
        log.warning("Flink %s did not stop within %g s; killing", ", ".join(pending), timeout)
        for pid in pending.values():
            if _owned(pid, conf):
                _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline:
            time.sleep(0.05)
            _reap()
            pending = {role: pid for role, pid in pending.items() if _owned(pid, conf)}


def _read_end(path: Path, size: int = 64 * 1024) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _last_cause(layout: _Layout, role: str) -> str | None:
    """The innermost "Caused by:" a JVM logged last (e.g. "java.net.BindException: Could not start rest
    endpoint on any port ..."): the one line worth putting first in an error message."""
    for path in (layout.log_file(role), layout.out_file(role)):
        causes = [ln for ln in _read_end(path).splitlines() if ln.startswith("Caused by:")]
        if causes:
            return causes[-1][len("Caused by:"):].strip()
    return None


def _log_tail(layout: _Layout, role: str, lines: int = 20) -> str:
    """The end of a JVM's stdout/stderr and log file, without stack frames (they push the message out)."""
    parts = []
    for path in (layout.out_file(role), layout.log_file(role)):
        text = _read_end(path)
        kept = [ln.rstrip() for ln in text.splitlines()
                if ln.strip() and not ln.lstrip().startswith(("at ", "... "))]
        tail = kept[-lines:]
        # the line that explains a failure is often an ERROR followed by a long shutdown: keep it in view
        errors = [ln for ln in kept[:-lines] if " ERROR " in ln]
        if errors:
            tail = [errors[-1], "[...]", *tail[2:]]
        if tail:
            parts.append(f"--- {path}\n" + "\n".join(tail))
    return "\n".join(parts) if parts else f"(nothing logged yet in {layout.log})"


def _set_previous_logs_aside(layout: _Layout) -> None:
    """Move the last run's logs to log/previous/ (replacing the run before it): log/ then holds only this
    run's files, which is what error messages quote, while the last run stays readable for comparison."""
    current = [p for p in layout.log.iterdir() if p.is_file()]
    if not current:
        return
    previous = layout.log / "previous"
    shutil.rmtree(previous, ignore_errors=True)
    previous.mkdir()
    for path in current:
        os.replace(path, previous / path.name)


# Ports for a cluster come from below the kernel's ephemeral range (32768-60999 on Linux): a port the
# kernel hands out to any outgoing connection (py4j, REST clients, other tests) between the moment
# flowc finds it free and the moment a slowly starting JVM binds it is a lost race (seen under load).
PORT_RANGE = (20000, 32000)


def _free_ports(count: int, exclude: Collection[int] = ()) -> list[int]:
    """`count` distinct ports free on loopback right now, picked at random from PORT_RANGE."""
    import random

    ports: list[int] = []
    for _ in range(2000):
        if len(ports) == count:
            break
        port = random.randint(*PORT_RANGE)
        if port not in exclude and port not in ports and _port_free(port):
            ports.append(port)
    if len(ports) < count:
        raise ClusterError(f"no free ports between {PORT_RANGE[0]} and {PORT_RANGE[1]} on {LOOPBACK}")
    return ports


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR as Java sets it: a port lingering in TIME_WAIT is usable, a listener is not
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _jvm_env(layout: _Layout) -> dict[str, str]:
    """The environment Flink's config.sh exports: plugins (metric reporters, ...) are found through
    FLINK_PLUGINS_DIR, which otherwise defaults to ./plugins."""
    dist = flink_dist()
    env = dict(os.environ)
    env.update(FLINK_HOME=str(dist), FLINK_CONF_DIR=str(layout.conf), FLINK_LIB_DIR=str(dist / "lib"),
               FLINK_OPT_DIR=str(dist / "opt"), FLINK_PLUGINS_DIR=str(dist / "plugins"),
               FLINK_BIN_DIR=str(dist / "bin"), FLINK_LOG_DIR=str(layout.log))
    return env


# BashJavaUtils answers depend only on the memory sizes and the slot count (not on ports or paths), and
# cost 0.5-2 s of JVM time per start: computed once per process for each combination
_RESOURCE_CACHE: dict[tuple, dict[str, tuple[list[str], list[str]]]] = {}


def _resource_params(layout: _Layout, slots: int) -> dict[str, tuple[list[str], list[str]]]:
    """{"jobmanager"|"taskmanager": (JVM memory flags, dynamic -D properties)} from BashJavaUtils, which
    derives them from config.yaml exactly as Flink's start scripts do. Both run at once (~0.5 s each)."""
    key = (java(), str(flink_dist()), JOBMANAGER_MEMORY, TASKMANAGER_MEMORY, slots)
    if key not in _RESOURCE_CACHE:
        _RESOURCE_CACHE[key] = _run_bash_java_utils(layout)
    return {role: (list(jvm), list(dynamic)) for role, (jvm, dynamic) in _RESOURCE_CACHE[key].items()}


def _run_bash_java_utils(layout: _Layout) -> dict[str, tuple[list[str], list[str]]]:
    dist = flink_dist()
    cp = os.pathsep.join([str(dist / "bin" / "bash-java-utils.jar"), _launch_classpath()])
    commands = {"jobmanager": "GET_JM_RESOURCE_PARAMS", "taskmanager": "GET_TM_RESOURCE_PARAMS"}
    procs = {role: subprocess.Popen([java(), f"-Djava.io.tmpdir={layout.tmp}", "-cp", cp,
                                     BASH_JAVA_UTILS_CLASS, command, "--configDir", str(layout.conf)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, cwd=layout.home, env=_jvm_env(layout))
             for role, command in commands.items()}
    results: dict[str, tuple[list[str], list[str]]] = {}
    try:
        for role, proc in procs.items():
            try:
                out, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            text = out.decode("utf-8", "replace")
            values = [ln[len(_EXEC_RESULT):].strip() for ln in text.splitlines()
                      if ln.startswith(_EXEC_RESULT)]
            if proc.returncode != 0 or len(values) < 2:
                tail = "\n".join([ln for ln in text.splitlines() if ln.strip()][-15:])
                raise ClusterError(f"Flink could not compute the {role} memory settings from {layout.config} "
                                   f"(BashJavaUtils {commands[role]} exited with {proc.returncode}):\n{tail}")
            results[role] = (shlex.split(values[-2]), shlex.split(values[-1]))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def _config_text(layout: _Layout, rest_port: int, rpc_port: int, blob_port: int, taskmanagers: int,
                 slots: int) -> str:
    settings: dict[str, str | int] = {
        "env.log.dir": str(layout.log),
        "env.pid.dir": str(layout.home),  # also how `start` recognises its own JobManager over REST
        "io.tmp.dirs": str(layout.tmp),
        "web.tmpdir": str(layout.tmp),
        "jobmanager.bind-host": LOOPBACK,
        "jobmanager.rpc.address": LOOPBACK,
        "jobmanager.rpc.port": rpc_port,
        "taskmanager.bind-host": LOOPBACK,
        "taskmanager.host": LOOPBACK,
        "rest.address": LOOPBACK,
        "rest.bind-address": LOOPBACK,
        "rest.port": rest_port,
        "blob.server.port": blob_port,
        "jobmanager.memory.process.size": JOBMANAGER_MEMORY,
        "taskmanager.memory.process.size": TASKMANAGER_MEMORY,
        "taskmanager.numberOfTaskSlots": slots,
        # 2, or fewer when the whole cluster has fewer slots (a job asking for more would never start)
        "parallelism.default": min(2, taskmanagers * slots),
        # a TaskManager that asks before the ResourceManager is up retries after this delay; Flink's 10 s
        # default (meant for remote hosts) made a 2-TaskManager start take ~25 s instead of ~12 s
        "cluster.registration.error-delay": "1 s",
        # a job's parallel tasks on different TaskManagers (Flink fills one first by default), so a
        # keyed exchange between them crosses processes, as on a real cluster
        "taskmanager.load-balance.mode": "SLOTS",
        # finished jobs kept for 10 minutes, at most 200 (a long property run submits thousands)
        "jobstore.expiration-time": 600,  # seconds
        "jobstore.max-capacity": 200,
    }
    lines = ["# written by flowc on every cluster start (targets/flink/cluster.py); edits are overwritten"]
    # strings JSON-quoted (valid YAML), so paths with spaces or colons stay one value
    lines += [f"{key}: {value if isinstance(value, int) else json.dumps(value)}"
              for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _launch(layout: _Layout, role: str, main_class: str, jvm_params: list[str], dynamic: list[str],
            env: dict[str, str]) -> subprocess.Popen:
    """Start one JVM detached (own session: Ctrl-C in the terminal that started it does not reach it),
    stdout/stderr in log/<role>.out, and record its pid at once so `stop` can find it even mid-start."""
    command = [java(), *java_options(), f"-Djava.io.tmpdir={layout.tmp}", *jvm_params,
               f"-Dlog.file={layout.log_file(role)}", f"-Dlog4j.configurationFile=file:{layout.log4j}",
               "-cp", _launch_classpath(), main_class, "--configDir", str(layout.conf), *dynamic]
    with layout.out_file(role).open("wb") as out:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=layout.home, env=env, start_new_session=True, close_fds=True)
    with _CHILDREN_LOCK:
        _CHILDREN[proc.pid] = proc
    _write_atomic(layout.pid_file(role), f"{proc.pid}\n")
    return proc


def _wait_ready(layout: _Layout, procs: dict[str, subprocess.Popen], address: str, taskmanagers: int,
                slots_each: int, timeout: float) -> None:
    """Until /overview of *our* JobManager shows all TaskManagers and their slots; ClusterError when a
    JVM exits first or time runs out, with the log of the role to blame."""
    deadline = time.monotonic() + timeout
    ours = False
    progress = "the REST API did not answer"
    while True:
        for role, proc in procs.items():
            code = proc.poll()
            if code is not None:
                cause = _last_cause(layout, role)
                raise ClusterError(f"the Flink {role} exited during startup (exit code {code})"
                                   + (f": {cause}" if cause else "")
                                   + f"; last lines of its log:\n{_log_tail(layout, role)}")
        try:
            if not ours:
                # the port was free when chosen, but make sure it is this cluster that answers on it
                seen = rest.jobmanager_config(address).get("env.pid.dir")
                if seen != str(layout.home):
                    raise ClusterError(f"another Flink cluster (home {seen}) answers on {address}")
                ours = True
            summary = rest.overview(address)
            registered, slots = int(summary.get("taskmanagers", 0)), int(summary.get("slots-total", 0))
            # a TaskManager registers first and reports its slots a moment later: wait for both, or a
            # job submitted right away could find too few slots
            if registered >= taskmanagers and slots >= taskmanagers * slots_each:
                return
            progress = f"{registered} of {taskmanagers} TaskManagers registered, {slots} slots"
        except rest.RestError as e:
            progress = str(e)
        if time.monotonic() >= deadline:
            blame = ["jobmanager"] if not ours else [r for r in procs if r != "jobmanager"]
            tails = "\n".join(_log_tail(layout, role, lines=10 if len(blame) > 1 else 20) for role in blame)
            raise ClusterError(f"the Flink cluster in {layout.home} was not ready after {timeout:g} s "
                               f"({progress}); last lines of the logs:\n{tails}")
        time.sleep(0.25)


# --------------------------------------------------------------------------- the API


def start(home: Path | None = None, taskmanagers: int = 2, slots: int = 2, rest_port: int | None = None,
          timeout: float = 120.0) -> Cluster:
    """Start a cluster in `home` (default_home() by default) and return once every TaskManager has
    registered. The REST port defaults to 8081 when free, else any free port; the RPC and blob ports are
    always free ones. Refuses when a cluster recorded in `home` still runs; on failure everything started
    is stopped again and ClusterError carries the failing JVM's log tail."""
    if taskmanagers < 1 or slots < 1:
        raise ValueError(f"a Flink cluster needs at least one TaskManager and one slot "
                         f"(got taskmanagers={taskmanagers}, slots={slots})")
    flink_dist()
    java()
    layout = _Layout(home if home is not None else default_home())
    layout.home.mkdir(parents=True, exist_ok=True)
    with _start_lock(layout):
        return _start_locked(layout, taskmanagers, slots, rest_port, timeout)


@contextlib.contextmanager
def _start_lock(layout: _Layout) -> Iterator[None]:
    """Serialise starts in one home (two terminals, or test workers sharing the default cluster): the
    second waits, then finds the first one's cluster running and is refused instead of racing it."""
    with open(layout.home / ".start.lock", "a+b") as lock:
        if fcntl is None:  # not on Unix: no lock
            yield
            return
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _start_locked(layout: _Layout, taskmanagers: int, slots: int, rest_port: int | None,
                  timeout: float) -> Cluster:
    running = _live_pids(layout)
    if running:
        port = _configured_rest_port(layout)
        where = f" (REST {LOOPBACK}:{port})" if port else ""
        raise ClusterError(f"a Flink cluster is already running in {layout.home}{where}, pids "
                           f"{', '.join(f'{r}={p}' for r, p in running.items())}; stop it first")
    _clear_records(layout)  # stale records of a cluster that is gone

    if rest_port is None:
        rest_port = DEFAULT_REST_PORT if _port_free(DEFAULT_REST_PORT) else _free_ports(1)[0]
    elif not _port_free(rest_port):
        raise ClusterError(f"port {rest_port} on {LOOPBACK} is already in use, so the Flink REST API cannot "
                           f"listen there; choose another port or stop what uses it")
    rpc_port, blob_port = _free_ports(2, exclude={rest_port})

    for folder in (layout.conf, layout.log, layout.tmp):
        folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(layout.config, _config_text(layout, rest_port, rpc_port, blob_port, taskmanagers, slots))
    _write_atomic(layout.log4j, LOG4J_PROPERTIES)
    _set_previous_logs_aside(layout)

    began = time.monotonic()
    params = _resource_params(layout, slots)
    env = _jvm_env(layout)
    cluster = Cluster(home=layout.home, rest_port=rest_port, rpc_port=rpc_port, taskmanagers=taskmanagers,
                      slots=slots)
    procs: dict[str, subprocess.Popen] = {}
    try:
        procs["jobmanager"] = _launch(layout, "jobmanager", JOBMANAGER_CLASS, *params["jobmanager"], env)
        for i in range(1, taskmanagers + 1):
            procs[f"taskmanager-{i}"] = _launch(layout, f"taskmanager-{i}", TASKMANAGER_CLASS,
                                                *params["taskmanager"], env)
        info = {
            "flink_version": flink_version(),
            "home": str(layout.home),
            "rest_address": LOOPBACK,
            "rest_port": rest_port,
            "rpc_port": rpc_port,
            "blob_port": blob_port,
            "taskmanagers": taskmanagers,
            "slots": slots,
            "pids": {role: proc.pid for role, proc in procs.items()},
            "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "java": java(),
        }
        _write_atomic(layout.info, json.dumps(info, indent=2) + "\n")
        _wait_ready(layout, procs, cluster.address, taskmanagers, slots, timeout)
        info["ready_after_s"] = round(time.monotonic() - began, 1)
        _write_atomic(layout.info, json.dumps(info, indent=2) + "\n")
    except BaseException:
        _terminate({role: proc.pid for role, proc in procs.items()}, layout.conf, timeout=5.0)
        _clear_records(layout)
        raise
    log.info("started Flink %s in %s: REST %s, %d TaskManager(s) x %d slot(s), ready after %.1f s",
             flink_version(), layout.home, cluster.address, taskmanagers, slots, time.monotonic() - began)
    return cluster


def stop(home: Path | None = None, timeout: float = 30.0) -> bool:
    """Stop the cluster of `home`: SIGTERM its JVMs (only processes proven to be this home's java, never
    whatever a stale pid file now names), SIGKILL what is left after `timeout`, forget the pids. True when
    something was stopped; a home with nothing running (or never used) is a no-op returning False."""
    layout = _Layout(home if home is not None else default_home())
    targets = _live_pids(layout)
    if targets:
        _terminate(targets, layout.conf, timeout)
        log.info("stopped the Flink cluster in %s: %s", layout.home,
                 ", ".join(f"{role} (pid {pid})" for role, pid in targets.items()))
    _clear_records(layout)
    return bool(targets)


def status(home: Path | None = None) -> ClusterStatus | None:
    """What runs in `home`: None when no cluster is recorded there. A recorded cluster whose JVMs are all
    gone is reported once as stopped (running=False, no pids) and its records are cleared. `running` is
    True when the REST API answers; JVMs alive but no answer (starting, or a JobManager that died) give
    running=False with the live pids."""
    layout = _Layout(home if home is not None else default_home())
    recorded = bool(_recorded_pids(layout)) or layout.info.exists()
    live = _live_pids(layout)
    if not recorded and not live:
        return None
    port = _configured_rest_port(layout)
    address = f"{LOOPBACK}:{port}" if port else ""
    if not live:
        _clear_records(layout)
        return ClusterStatus(running=False, address=address, taskmanagers=0, slots_total=0, slots_available=0,
                             jobs_running=0, pids={})
    summary: dict = {}
    if address:
        with contextlib.suppress(rest.RestError):
            summary = rest.overview(address)
    return ClusterStatus(running=bool(summary), address=address,
                         taskmanagers=int(summary.get("taskmanagers", 0)),
                         slots_total=int(summary.get("slots-total", 0)),
                         slots_available=int(summary.get("slots-available", 0)),
                         jobs_running=int(summary.get("jobs-running", 0)), pids=live)


@contextlib.contextmanager
def temporary_cluster(taskmanagers: int = 2, slots: int = 2) -> Iterator[Cluster]:
    """A throwaway cluster (tests, one-off runs): a fresh home under the temp dir, free ports, stopped and
    deleted on exit, Ctrl-C included. If it fails to start, only its log/ folder is kept, since the
    ClusterError points there."""
    flink_dist()  # FlinkUnavailable before anything is created
    java()
    home = Path(tempfile.mkdtemp(prefix="flowc-flink-"))
    try:
        for attempt in range(3):
            try:
                cluster = start(home, taskmanagers=taskmanagers, slots=slots, rest_port=_free_ports(1)[0])
                break
            except ClusterError as e:  # another process took a port in the meantime: other ports
                if attempt == 2 or "BindException" not in str(e):
                    raise
                log.info("a port was taken while the cluster started; starting again on other ports")
    except BaseException:
        for entry in home.iterdir():
            if entry.name != "log":
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        raise
    try:
        yield cluster
    finally:
        try:
            stop(home)
        finally:
            shutil.rmtree(home, ignore_errors=True)
