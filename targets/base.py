"""What every target shares: run statistics, and resolving connector paths."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from flowc.compiler import ir


@dataclass
class SourceStats:
    name: str
    rows_in: int = 0  # rows read, late ones included
    late: int = 0  # rows behind the watermark (dropped or routed by on_late)
    skipped: int = 0  # bad records skipped by on_error skip / into


@dataclass
class SinkStats:
    view: str
    connector: str  # short description, e.g. "csv out/hot_items.csv"
    rows_out: int = 0


@dataclass
class RunResult:
    """What `flowc run` reports, and what `Flow.run()` returns."""

    target: str
    sources: list[SourceStats] = field(default_factory=list)
    sinks: list[SinkStats] = field(default_factory=list)
    elapsed: float = 0.0
    # sink contents by view name (changelog sinks carry the `_op` column first), when collected
    tables: dict = field(default_factory=dict)
    # peak rows kept by each stateful operator during the run (local target), by operator name
    state: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"target {self.target}: {self.elapsed:.3f}s"]
        for s in self.sources:
            extra = f", {s.skipped} skipped" if s.skipped else ""
            lines.append(f"  source {s.name}: {s.rows_in} rows in, {s.late} late{extra}")
        for k in self.sinks:
            lines.append(f"  sink {k.view} -> {k.connector}: {k.rows_out} rows out")
        for op, rows in self.state.items():
            lines.append(f"  state {op}: peak {rows} rows")
        return "\n".join(lines)


def resolve_path(program: ir.Program, path: str) -> str:
    """Connector paths are relative to the directory of the .flow file (LANGUAGE.md)."""
    path = os.path.expanduser(path)
    if os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(program.base_dir, path))


def describe_connector(program: ir.Program, c: ir.Connector) -> str:
    path = c.get("path")
    if isinstance(path, str):
        return f"{c.kind} {path}"
    for key in ("table", "topic"):  # never the DSN: it may hold a password
        value = c.get(key)
        if isinstance(value, str):
            return f"{c.kind} {key} {value}"
    return c.kind


def resolve_env(value: object) -> object:
    """An `env('NAME')` argument becomes the variable's value at run time."""
    if isinstance(value, ir.Env):
        return os.environ.get(value.name, "")
    return value


def deploy_name(program: ir.Program) -> str:
    """A deployment's default name: the program file's stem, or its folder's name for a program.flow."""
    base = os.path.basename(program.file or "")
    stem = os.path.splitext(base)[0]
    if stem in ("", "<input>", "program"):
        # examples are all program.flow: the folder names the program better
        # (resolved: inside the folder, base_dir is "." and would name every deployment ".")
        stem = os.path.basename(os.path.abspath(program.base_dir)) or stem or "flowc"
    return stem
