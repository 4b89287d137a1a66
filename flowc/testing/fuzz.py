"""Fuzzing flowc (issue 12): mutated programs through parse, check and every target's compile, and
damaged input files through every reader and policy. The property: a diagnostic (FlowError) or
success, never another exception; and a run that succeeds accounts for every record
(rows in + skipped = the records of the file).

`tests/test_fuzz.py` runs it in the suite; `python -m flowc.testing.fuzz N` runs N mutations of each
kind and prints a tally (docs/TESTING.md records a long run).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from flowc.compiler.diagnostics import FlowError

ROOT = Path(__file__).resolve().parent.parent.parent
COMPILE_TARGETS = ("datafusion", "postgres", "risingwave", "flink")

# pieces a mutation splices in: the language's own words and the characters users mistype
TOKENS = ["|", "where", "select", "derive", "aggregate", "window", "tumble(ts, 1s)", "hop(ts, size = 2s, slide = 1s)",
          "session(ts, gap = 1s)", "join", "left join", "on", "and", "or", "not", "distinct", "top", "union", "by",
          "emit final", "emit changes", "count()", "sum(", "max(", "(", ")", ",", "=", "<", ">", "+", "-", "*", "/",
          "%", "'", "''", "\"", "1s", "999999999999999999999d", "0s", "-1s", "1.5s", "null", "true", "cast(", "as",
          "bigint", "string", "timestamp", "decimal(10, 2)", "int", "99999999999999999999", "0", "-0", "1e309",
          "\\", "\n", "\t", " ", "#", "view", "source", "table", "sink", "into", "csv(", "jsonl(", "from",
          "event_time", "watermark", "on_late", "on_error", "skip", "fail", "primary key", "env('X')", "\ufeff",
          "é", "\x00", "k", "ts", "a.k", "window_start", "window_end", "_op", "case when", "then", "else", "end",
          "coalesce(", "lower(", "round(", "in (", "between", "is null", "like"]


@dataclass
class Tally:
    inputs: int = 0
    ok: int = 0
    diagnostics: int = 0
    internal: list[str] = field(default_factory=list)  # what must never happen: exception and input

    def line(self) -> str:
        return (f"{self.inputs} inputs: {self.ok} ok, {self.diagnostics} diagnostics, "
                f"{len(self.internal)} internal errors")


def seeds() -> list[tuple[str, str]]:
    """The programs mutations start from: every example and Nexmark query (name, text)."""
    out = []
    for p in sorted((ROOT / "examples").glob("*/program.flow")):
        out.append((p.parent.name, p.read_text()))
    for p in sorted((ROOT / "benchmarks" / "nexmark").glob("q*.flow")):
        out.append((p.stem, p.read_text()))
    return out


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        i = rng.randrange(len(text) + 1)
        j = min(len(text), i + rng.randint(1, 12))
        if op < 0.3:
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif op < 0.5:
            text = text[:i] + text[j:]
        elif op < 0.7:
            text = text[:i] + rng.choice(TOKENS) + text[j:]
        elif op < 0.85:  # duplicate a line (names declared twice, repeated stages)
            lines = text.split("\n")
            k = rng.randrange(len(lines))
            lines.insert(k, lines[rng.randrange(len(lines))])
            text = "\n".join(lines)
        else:  # swap two lines (use before declaration)
            lines = text.split("\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


def check_program_text(text: str, base_dir: str, tally: Tally, targets=COMPILE_TARGETS) -> None:
    """Parse, lower, optimize and compile for every target: each step a FlowError or success."""
    from flowc import pipeline

    tally.inputs += 1
    try:
        program = pipeline.to_ir(pipeline.parse_text(text, os.path.join(base_dir, "fuzz.flow")))
        for t in targets:
            try:
                pipeline.check_target(program, t)
                pipeline.compile_target(program, t)
            except FlowError:
                pass
        tally.ok += 1
    except FlowError:
        tally.diagnostics += 1
    except RecursionError:
        tally.diagnostics += 1  # the CLI turns it into a diagnostic (cli._deep); not an internal error
    except Exception as e:  # noqa: BLE001 - what the fuzzer looks for
        tally.internal.append(f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}\n--- input:\n{text}")


# ---------------------------------------------------------------- damaged files

GOOD_ROWS = [("1", "10", "2026-03-01 12:00:00"), ("2", "-3", "2026-03-01 12:00:01"), ("3", "", "")]


def damaged_csv(rng: random.Random) -> bytes:
    lines = [b"k,v,ts"] + [",".join(r).encode() for r in GOOD_ROWS * rng.randint(1, 3)]
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(lines))
        junk = rng.choice([b"\xff\xfe", b"x", b",,,,", b'"', b'"a""b', b"1,2", b"9" * 30, b"\x00", b"\r", b"1e400",
                           b"2026-13-45 99:99:99", b"true", b" ", b"\xe2\x82", b"-", b"0x10"])
        pos = rng.randrange(len(lines[k]) + 1)
        lines[k] = lines[k][:pos] + junk + lines[k][pos:]
    if rng.random() < 0.1:
        lines = lines[:1]
    return b"\n".join(lines) + (b"\n" if rng.random() < 0.8 else b"")


def damaged_jsonl(rng: random.Random) -> bytes:
    import json

    lines = [json.dumps({"k": int(r[0]), "v": int(r[1]) if r[1] else None, "ts": r[2] or None}).encode()
             for r in GOOD_ROWS * rng.randint(1, 3)]
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(lines))
        pos = rng.randrange(len(lines[k]) + 1)
        junk = rng.choice([b"\xff", b"}", b"{", b'"', b"null", b"[1]", b'"k": "x",', b"12345", b"1e400", b"true",
                           b'"ts": 5,', b"99999999999999999999", b"\\u0000", b"\n"])
        lines[k] = lines[k][:pos] + junk + lines[k][pos:]
    return b"\n".join(lines) + b"\n"


def check_file(kind: str, data: bytes, policy: str, target: str, tally: Tally) -> None:
    """Run a filter over a damaged file under a policy: a diagnostic or success, and on success every
    record accounted for (the run's rows in + skipped = the file's records)."""
    from flowc import pipeline

    tally.inputs += 1
    with tempfile.TemporaryDirectory() as d:
        Path(d, f"in.{kind}").write_bytes(data)
        on_error = "into jsonl('bad.jsonl')" if policy == "into" else policy
        text = (f"source s (k bigint, v int, ts timestamp) from {kind}('in.{kind}') on_error {on_error}\n"
                "view a = s | where v is null or v > -100\nsink a into csv('out.csv')\n")
        try:
            program = pipeline.to_ir(pipeline.parse_text(text, os.path.join(d, "p.flow")))
            result = pipeline.run(program, target)
            src = result.sources[0]
            records = _records(kind, data)
            if records is not None and src.rows_in + src.skipped != records and policy != "fail":
                tally.internal.append(f"{kind} {policy} {target}: {src.rows_in} in + {src.skipped} skipped != "
                                      f"{records} records\n--- input:\n{data!r}")
                return
            tally.ok += 1
        except FlowError:
            tally.diagnostics += 1
        except Exception as e:  # noqa: BLE001
            tally.internal.append(f"{kind} {policy} {target}: {type(e).__name__}: {e}\n"
                                  f"{traceback.format_exc(limit=-3)}\n--- input:\n{data!r}")


def _records(kind: str, data: bytes) -> int | None:
    """How many records the file holds, when that is plain from its bytes (no quotes, no stray CR)."""
    if b'"' in data or b"\r" in data:
        return None
    lines = [ln for ln in data.split(b"\n") if ln.strip()]
    return max(len(lines) - 1, 0) if kind == "csv" else len(lines)


def run(n: int, seed: int = 0, targets=("local", "datafusion")) -> tuple[Tally, Tally]:
    rng = random.Random(seed)
    programs, files = Tally(), Tally()
    base = seeds()
    with tempfile.TemporaryDirectory() as d:
        for _ in range(n):
            name, text = rng.choice(base)
            check_program_text(mutate(text, rng), d, programs)
    for _ in range(max(n // 20, 1)):
        kind = rng.choice(["csv", "jsonl"])
        data = damaged_csv(rng) if kind == "csv" else damaged_jsonl(rng)
        for policy in ("fail", "skip", "into"):
            for target in targets:
                check_file(kind, data, policy, target, files)
    return programs, files


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 1000
    seed = int(argv[1]) if len(argv) > 1 else int(time.time())
    start = time.perf_counter()
    programs, files = run(n, seed)
    print(f"seed {seed}, {time.perf_counter() - start:.0f} s")
    print(f"programs: {programs.line()}")
    print(f"files: {files.line()}")
    for e in (programs.internal + files.internal)[:20]:
        print("----\n" + e)
    return 1 if programs.internal or files.internal else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
