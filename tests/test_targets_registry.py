"""Targets as one table (targets/registry.py): every target is a class, the table's capabilities
agree with the classes, the CLI offers exactly what each can do, and asking a target for what it
cannot do is a clear error."""

from __future__ import annotations

import importlib

import pytest
from flowc.compiler.diagnostics import FlowError
from flowc.targets import registry

from flowc import cli


@pytest.mark.parametrize("name", registry.names())
def test_each_target_is_its_class_and_states_what_the_table_says(name: str) -> None:
    module, cls = registry.TARGETS[name].split(":")
    target_cls = getattr(importlib.import_module(module), cls)
    assert issubclass(target_cls, registry.Target)
    t = registry.get(name)
    assert isinstance(t, target_cls) and t.name == name
    assert t.can == registry.CAN[name]
    for capability in registry.CAPABILITIES:
        overridden = getattr(type(t), capability) is not getattr(registry.Target, capability)
        if capability == "explain":
            continue  # the default explain is the compiled text
        assert overridden == (capability in t.can), (name, capability)


def test_the_cli_offers_what_each_target_can_do() -> None:
    parser = cli._parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    choices = {cmd: next(a for a in p._actions if a.dest == "target").choices
               for cmd, p in sub.choices.items() if cmd in ("compile", "run", "deploy")}
    assert list(choices["compile"]) == list(registry.names("compile"))
    assert list(choices["run"]) == list(registry.names("run"))
    assert list(choices["deploy"]) == list(registry.names("deploy"))
    assert "flink" in choices["run"] and "risingwave" not in choices["run"]


def test_asking_for_what_a_target_cannot_do_is_a_clear_error() -> None:
    with pytest.raises(FlowError) as info:
        registry.get("risingwave", "run")
    assert "cannot run" in info.value.first.message and "flink" in (info.value.first.hint or "")
    with pytest.raises(FlowError) as info:
        registry.get("oracle")
    assert "unknown target 'oracle'" in info.value.first.message


def test_an_option_for_another_target_is_refused(capsys) -> None:
    assert cli.main(["run", "examples/tumble/program.flow", "--target", "local", "--jobmanager", "x:1"]) == 1
    assert "--jobmanager applies to --target flink only" in capsys.readouterr().err
