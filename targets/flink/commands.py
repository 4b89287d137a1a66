"""`flowc flink start | stop | status`: a long-lived local standalone cluster for runs and deploys.

The cluster lives in one folder (`--home`, default $FLOWC_FLINK_HOME or ~/.cache/flowc/flink):
its config, logs, temporary files and the pids of its JVMs. `flowc run --target flink` and `flowc
deploy --target flink` use it when it runs and no --jobmanager is given (`running_address`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from flowc.compiler.diagnostics import Code, Diagnostic, FlowError

from . import cluster


def _home(args) -> Path:
    return Path(args.home).expanduser() if getattr(args, "home", None) else cluster.default_home()


def running_address(home: Path | None = None) -> str | None:
    """The REST address of the cluster `flowc flink start` started, if it runs."""
    try:
        st = cluster.status(home)
    except Exception:  # noqa: BLE001 - a broken record means no usable cluster
        return None
    return st.address if st is not None and st.running else None


def flink_command(args) -> int:
    home = _home(args)
    try:
        cluster.flink_dist()
        cluster.java()
    except cluster.FlinkUnavailable as e:
        raise FlowError(Diagnostic(Code.UNSUPPORTED, str(e), None)) from None
    if args.flink_command == "start":
        if args.taskmanagers < 1 or args.slots < 1:
            raise FlowError(Diagnostic(Code.BAD_ARGUMENT, "--taskmanagers and --slots must be at least 1", None))
        print(f"flowc flink: starting a JobManager and {args.taskmanagers} TaskManager(s) in {home} ...",
              file=sys.stderr)
        try:
            c = cluster.start(home, taskmanagers=args.taskmanagers, slots=args.slots, rest_port=args.port)
        except cluster.ClusterError as e:
            raise FlowError(Diagnostic(Code.IO, f"could not start the Flink cluster: {e}", None,
                                       f"its logs are in {home / 'log'}")) from None
        print(f"flowc flink: running at {c.address} ({c.taskmanagers} TaskManagers x {c.slots} slots); "
              f"web UI http://{c.address}/", file=sys.stderr)
        print(c.address)
        return 0
    if args.flink_command == "stop":
        stopped = cluster.stop(home)
        print("flowc flink: stopped" if stopped else f"flowc flink: no cluster runs in {home}", file=sys.stderr)
        return 0
    st = cluster.status(home)
    if st is None or not st.running:
        print(f"flowc flink: no cluster runs in {home}" + (" (its JVMs are gone; records cleared)"
                                                            if st is not None and not st.pids else ""))
        return 0 if st is None or not st.pids else 1
    print(f"running at {st.address}: {st.taskmanagers} TaskManagers, {st.slots_available}/{st.slots_total} slots "
          f"free, {st.jobs_running} jobs running")
    for role, pid in sorted(st.pids.items()):
        print(f"  {role}: pid {pid}")
    return 0


__all__ = ["flink_command", "running_address"]
