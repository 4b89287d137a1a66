"""The layering of DESIGN.md, checked on the source: every import points down.

            flowc            (public API, CLI)
      dsl          targets   (front ends -> IR;  IR -> engines)
  compiler        runtime    (IR, passes, diagnostics;  the streaming engine)
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "compiler": {"compiler"},
    "runtime": {"runtime"},
    "dsl": {"dsl", "compiler", "grammar"},
    "targets": {"targets", "compiler", "runtime"},
    "grammar": {"grammar"},
    "flowc": {"flowc", "dsl", "targets", "compiler", "runtime", "grammar", "examples"},
}


def _flowc_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for n in names:
            parts = n.split(".")
            if parts[0] == "flowc":
                found.add(parts[1] if len(parts) > 1 and parts[1] in ALLOWED else "flowc")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for target in _flowc_imports(path) - ALLOWED[package]:
            bad.append(f"{path.relative_to(ROOT)} imports flowc.{target}")
    assert not bad, "layering broken:\n" + "\n".join(bad)


def test_runtime_imports_nothing_of_flowc():
    for path in (ROOT / "runtime").rglob("*.py"):
        assert not _flowc_imports(path), f"{path} imports flowc"
