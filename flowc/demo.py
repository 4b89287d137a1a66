"""`flowc demo`: copy a bundled example into a folder and run it on the local runtime."""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path

from flowc.compiler.diagnostics import Code, Diagnostic, FlowError


def bundled_examples() -> dict[str, Path]:
    root = Path(str(resources.files("flowc.examples")))
    return {p.name: p for p in sorted(root.iterdir()) if (p / "program.flow").exists()}


def run_demo(name: str, folder: str) -> int:
    from flowc import pipeline

    examples = bundled_examples()
    if name not in examples:
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"no bundled example '{name}'", None,
                                   f"examples: {', '.join(examples)}"))
    target = Path(folder) / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(examples[name], target, ignore=shutil.ignore_patterns("expected", "out", "__pycache__"))
    program_file = target / "program.flow"
    print(f"== {program_file}\n")
    print(program_file.read_text())
    result = pipeline.run(pipeline.to_ir(pipeline.load_program(str(program_file))), "local")
    print(result.summary())
    for out in sorted((target / "out").glob("*")):
        lines = out.read_text().splitlines()
        print(f"\n== {out} ({len(lines) - 1} rows)")
        print("\n".join(lines[:8] + (["..."] if len(lines) > 8 else [])))
    print(f"\nnext: flowc run {program_file} --target datafusion   (the same rows, in batch)\n"
          f"      flowc check {program_file} --target risingwave  (what RisingWave would do differently)",
          file=sys.stderr)
    return 0
