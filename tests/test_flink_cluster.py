"""The local Flink cluster manager (targets/flink/cluster.py) against real JVMs.

Everything here starts real JobManagers/TaskManagers on free loopback ports (never 8081, which a
long-lived cluster may hold) and checks the effects in /proc, because the point of the manager is how it
treats real processes: that stop() leaves nothing behind, and that it never signals a process that is not
the cluster's own even when a pid file says so. The module is skipped when Flink or Java is missing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from flowc.targets.flink import cluster, rest


def _require_flink() -> None:
    try:
        cluster.flink_dist()
        cluster.java()
    except cluster.FlinkUnavailable as e:
        pytest.skip(f"Flink cluster tests need Flink and Java: {e}", allow_module_level=True)


_require_flink()

pytestmark = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="the checks read /proc")


def _jvms_of(home: Path) -> list[int]:
    """Pids of live (non-zombie) java processes started with `home`'s conf dir, read from /proc directly
    rather than through the module under test."""
    conf = str(Path(home).resolve() / "conf")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:
            continue
        args = [os.fsdecode(a) for a in argv]
        if args and Path(args[0]).name == "java" and any(
                a == "--configDir" and b == conf for a, b in zip(args, args[1:], strict=False)):
            found.append(int(entry.name))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_temporary_cluster_with_one_taskmanager(tmp_path: Path) -> None:
    with cluster.temporary_cluster(taskmanagers=1) as c:
        home = c.home
        assert home.name.startswith("flowc-flink-")
        assert c.address == f"127.0.0.1:{c.rest_port}" and c.taskmanagers == 1 and c.slots == 2

        st = cluster.status(home)
        assert st is not None and st.running and st.address == c.address
        assert (st.taskmanagers, st.slots_total, st.slots_available, st.jobs_running) == (1, 2, 2, 0)
        assert set(st.pids) == {"jobmanager", "taskmanager-1"}
        assert sorted(st.pids.values()) == _jvms_of(home)

        overview = rest.overview(c.address)
        assert overview["taskmanagers"] == 1 and overview["flink-version"] == cluster.FLINK_VERSION
        assert rest.jobs(c.address) == [] and rest.reachable(c.address)
        info = json.loads((home / "cluster.json").read_text())
        assert info["rest_port"] == c.rest_port and info["rpc_port"] == c.rpc_port
        assert info["pids"] == st.pids and info["flink_version"] == "2.3.0"
        assert int((home / "jobmanager.pid").read_text()) == st.pids["jobmanager"]
        assert (c.log_dir / "jobmanager.log").stat().st_size > 0

        # a second start in the same home is refused and starts nothing
        with pytest.raises(cluster.ClusterError, match="already running"):
            cluster.start(home, taskmanagers=1)
        assert _jvms_of(home) == sorted(st.pids.values())

        # a pid file elsewhere naming this cluster's JobManager (a java process, but of another home)
        # must not make stop() of that other home touch it
        other = tmp_path / "other"
        other.mkdir()
        (other / "jobmanager.pid").write_text(f"{st.pids['jobmanager']}\n")
        assert cluster.stop(other) is False
        assert _alive(st.pids["jobmanager"]) and rest.reachable(c.address)
        assert not (other / "jobmanager.pid").exists()

    assert not home.exists()
    assert _jvms_of(home) == []
    assert not rest.reachable(c.address)


def test_jvm_dying_during_start_is_reported_with_its_log(tmp_path: Path) -> None:
    home = tmp_path / "dies"
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            cluster.start(home, taskmanagers=1, rest_port=_free_port(), timeout=60)
        except BaseException as e:  # noqa: B036 - handed to the test thread
            outcome["error"] = e

    starter = threading.Thread(target=run)
    starter.start()
    pid_file = home / "jobmanager.pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    jm = int(pid_file.read_text())
    assert jm in _jvms_of(home)
    os.kill(jm, signal.SIGKILL)
    starter.join(60)

    assert not starter.is_alive()
    error = outcome.get("error")
    assert isinstance(error, cluster.ClusterError), error
    assert "jobmanager exited during startup" in str(error) and str(home / "log") in str(error)
    assert _jvms_of(home) == []  # the TaskManager it had started is gone too
    assert not pid_file.exists() and not (home / "cluster.json").exists()
    assert cluster.status(home) is None


def test_start_status_stop_with_two_taskmanagers(tmp_path: Path) -> None:
    home = tmp_path / "flink"
    port = _free_port()
    c = cluster.start(home, taskmanagers=2, slots=1, rest_port=port, timeout=90)
    try:
        assert (c.rest_port, c.taskmanagers, c.slots) == (port, 2, 1)
        overview = rest.overview(c.address)
        assert overview["taskmanagers"] == 2 and overview["slots-total"] == 2
        st = cluster.status(home)
        assert st is not None and st.running and st.taskmanagers == 2 and st.slots_total == 2
        assert set(st.pids) == {"jobmanager", "taskmanager-1", "taskmanager-2"}
        assert _jvms_of(home) == sorted(st.pids.values())
        assert {p.name for p in home.glob("*.pid")} == {"jobmanager.pid", "taskmanager-1.pid",
                                                        "taskmanager-2.pid"}
        config = rest.jobmanager_config(c.address)
        assert config["rest.bind-address"] == "127.0.0.1" and config["parallelism.default"] == "2"
    finally:
        stopped = cluster.stop(home)
    assert stopped is True
    assert _jvms_of(home) == []
    assert not list(home.glob("*.pid")) and not (home / "cluster.json").exists()
    assert (home / "log" / "taskmanager-2.log").exists()  # logs stay for post-mortems
    assert not rest.reachable(c.address)
    assert cluster.stop(home) is False
    assert cluster.status(home) is None


def test_stop_and_status_of_an_unknown_home_do_nothing(tmp_path: Path) -> None:
    home = tmp_path / "never-used"
    assert cluster.stop(home) is False
    assert cluster.status(home) is None
    assert not home.exists()


def test_stale_records_are_reported_stopped_and_cleared(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    record = {"rest_port": _free_port(), "pids": {"jobmanager": dead.pid}}
    (tmp_path / "cluster.json").write_text(json.dumps(record))
    (tmp_path / "jobmanager.pid").write_text(f"{dead.pid}\n")

    st = cluster.status(tmp_path)
    assert st is not None and not st.running and st.pids == {} and st.taskmanagers == 0
    assert not (tmp_path / "cluster.json").exists() and not (tmp_path / "jobmanager.pid").exists()
    assert cluster.status(tmp_path) is None
    assert cluster.stop(tmp_path) is False


def test_pid_files_naming_unrelated_processes_are_not_killed(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "jobmanager.pid").write_text(f"{os.getpid()}\n")  # this pytest process
        (tmp_path / "taskmanager-1.pid").write_text(f"{sleeper.pid}\n")
        (tmp_path / "cluster.json").write_text(json.dumps(
            {"rest_port": _free_port(), "pids": {"jobmanager": os.getpid(), "taskmanager-1": sleeper.pid}}))

        assert cluster.stop(tmp_path, timeout=2) is False
        assert sleeper.poll() is None and _alive(sleeper.pid) and _alive(os.getpid())
        assert not list(tmp_path.glob("*.pid"))
    finally:
        sleeper.kill()
        sleeper.wait()


def test_taken_rest_port_is_refused_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(cluster.ClusterError, match=f"port {port} .* already in use"):
            cluster.start(tmp_path, taskmanagers=1, rest_port=port)
    assert _jvms_of(tmp_path) == [] and not (tmp_path / "cluster.json").exists()


def test_rest_errors_and_root_cause_parsing() -> None:
    closed = f"127.0.0.1:{_free_port()}"
    assert not rest.reachable(closed, timeout=1)
    with pytest.raises(rest.RestError, match="cannot reach"):
        rest.get(closed, "/overview", timeout=1)

    trace = ("org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy\n"
             "\tat org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler.fail(X.java:1)\n"
             "Caused by: java.lang.RuntimeException: wrapper\n"
             "\tat a.b.C.d(C.java:2)\n"
             "\tSuppressed: java.io.IOException: not this one\n"
             "\t\tat a.b.C.e(C.java:3)\n"
             "Caused by: java.lang.ArithmeticException: / by zero\n"
             "\tat a.b.C.f(C.java:4)\n"
             "\t... 12 more\n")
    assert rest._innermost_cause(trace) == "java.lang.ArithmeticException: / by zero"
    assert rest._innermost_cause("java.lang.IllegalStateException: only line\n") == (
        "java.lang.IllegalStateException: only line")


def test_flink_and_java_are_located() -> None:
    dist = cluster.flink_dist()
    assert (dist / "lib").is_dir() and any(Path(j).name.startswith("flink-dist") for j in cluster.classpath())
    assert cluster.classpath() == sorted(cluster.classpath())
    assert any(o.startswith("--add-opens=java.base/java.lang=") for o in cluster.java_options())
    assert Path(cluster.java()).name == "java"
