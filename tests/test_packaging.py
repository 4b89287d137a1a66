"""The wheel contains every module and the grammar; an installed wheel imports all of them."""

import os
import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _source_modules() -> set[str]:
    mapping = {"flowc": "flowc", "dsl": "flowc.dsl", "compiler": "flowc.compiler", "targets": "flowc.targets",
               "runtime": "flowc.runtime", "grammar": "flowc.grammar"}
    out = set()
    for folder, package in mapping.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out.add(".".join([package, *parts]))
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    wheels = list(out.glob("flowc-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contains_every_module_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {n[:-3].replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py")}
    missing = _source_modules() - modules
    assert not missing, f"modules missing from the wheel: {sorted(missing)}"
    assert "flowc/grammar/flow.lark" in names
    assert "flowc/examples/tumble/program.flow" in names
    assert "flowc/examples/tumble/expected/hot_items.csv" in names


def test_installed_wheel_imports_every_module(wheel, tmp_path):
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    modules = sorted(_source_modules() - {"flowc.__main__"})  # __main__ runs the CLI
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\nprint('ok')"
    env = dict(os.environ, PYTHONPATH=str(target))
    proc = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # and the modules came from the extracted wheel, not the source tree
    where = subprocess.run([sys.executable, "-c", "import flowc.dsl; print(flowc.dsl.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    assert str(target) in where


def test_every_module_is_listed():
    # pkgutil walk of the installed package finds what the source tree has
    import flowc

    walked = {m.name for m in pkgutil.walk_packages(flowc.__path__, "flowc.")}
    assert {"flowc.cli", "flowc.api"} <= walked
