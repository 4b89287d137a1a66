"""The kill test (issue 12): `kill -9` of `flowc run` at random points; every sink must hold the
previous complete output or the complete new one, byte for byte, never anything else.

A program with two sinks (Parquet and CSV) reads a CSV file for a second or more. Its input
switches at random between two versions, so the two complete outputs differ: after each run (killed
at a random moment, or left to finish) every sink must be exactly the output of the last run that
committed it (each sink commits alone: a kill between two sinks' renames leaves one new and one
previous, each whole), and after a final complete run no leftover of a killed run may remain.

`tests/test_atomic_outputs.py` runs it briefly on every target that writes files;
`python -m flowc.testing.kill N SEED [TARGET...]` runs N kills per target and prints a tally
(docs/TESTING.md records a long run).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROGRAM = """\
source s (k bigint, v bigint, ts timestamp) from csv('in.csv') event_time ts watermark 1h
view big = s | where v >= 0 | select k, v, ts
view per_k = s | window tumble(ts, 1min) | aggregate n = count(), total = sum(v) by k
sink big into parquet('out/big.parquet')
sink per_k into csv('out/per_k.csv')
"""
SINKS = ("big.parquet", "per_k.csv")


@dataclass
class KillTally:
    target: str
    killed: int = 0  # runs killed before they finished
    finished: int = 0  # runs that finished before the kill arrived
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.target}: {self.killed} killed, {self.finished} finished first, "
                f"{len(self.problems)} sinks not whole")


def _write_input(folder: Path, rows: int, version: int) -> None:
    rng = random.Random(version)
    lines = ["k,v,ts"] + [f"{i % 97},{rng.randint(0, 1000)},2026-03-01 12:{(i // 5000) % 60:02d}:{(i // 100) % 60:02d}"
                          for i in range(rows)]
    (folder / "in.csv").write_text("\n".join(lines) + "\n")


def _outputs(folder: Path) -> list[bytes | None]:
    return [(folder / "out" / n).read_bytes() if (folder / "out" / n).exists() else None for n in SINKS]


def run_kills(target: str, kills: int, seed: int, rows: int = 300_000, folder: Path | None = None,
              env: dict | None = None) -> KillTally:
    """Kill `kills` runs of the program on `target` at random moments; check the sinks after each."""
    rng = random.Random(seed)
    tally = KillTally(target)
    with tempfile.TemporaryDirectory(prefix="flowc-kill-") as tmp:
        where = folder or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        (where / "p.flow").write_text(PROGRAM)
        cmd = [sys.executable, "-m", "flowc", "run", "--target", target, str(where / "p.flow")]
        complete: dict[int, list[bytes | None]] = {}
        took = 0.0
        for version in (1, 0):  # the two complete outputs; version 0 is the one on disk after
            _write_input(where, rows, version)
            started = time.monotonic()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            took = max(took, time.monotonic() - started)
            complete[version] = _outputs(where)
        last = [0] * len(SINKS)  # per sink: the version of the last run that committed it
        for i in range(kills):
            version = rng.randrange(2)
            _write_input(where, rows, version)
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            time.sleep(rng.uniform(0.05, 1.1) * took)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                tally.killed += 1
            else:
                tally.finished += 1
            rc = proc.wait()
            got = _outputs(where)
            for n, (g, before) in enumerate(zip(got, last, strict=True)):
                if rc == 0 and g != complete[version][n]:
                    tally.problems.append(f"run {i}: finished, but {SINKS[n]} is not its output")
                elif g == complete[version][n]:
                    last[n] = version  # committed (a kill after the rename leaves the new file whole)
                elif g != complete[before][n]:
                    tally.problems.append(f"run {i}: killed (rc {rc}): {SINKS[n]} is neither the previous "
                                          "output nor the new one")
        last_version = last[0]
        _write_input(where, rows, last_version)
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        left = sorted(set(os.listdir(where / "out")) - set(SINKS))
        if left:
            tally.problems.append(f"left behind after a complete run: {left}")
    return tally


def main(argv: list[str]) -> int:
    kills = int(argv[0]) if argv else 20
    seed = int(argv[1]) if len(argv) > 1 else 0
    targets = argv[2:] or ["local", "datafusion", "postgres"]
    started = time.monotonic()
    bad = 0
    for t in targets:
        tally = run_kills(t, kills, seed)
        print(tally.line(), flush=True)
        for p in tally.problems:
            print("  " + p)
        bad += len(tally.problems)
    print(f"{time.monotonic() - started:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
