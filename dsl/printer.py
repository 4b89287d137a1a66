"""A tree dump of the AST (`flowc explain --stage ast`)."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from . import ast


def format_ast(program: ast.Program) -> str:
    lines: list[str] = []
    for d in program.decls:
        _node(d, 0, lines, None)
    return "\n".join(lines)


def _node(node: object, depth: int, lines: list[str], label: str | None) -> None:
    pad = "  " * depth
    prefix = f"{label}: " if label else ""
    if is_dataclass(node):
        simple, nested = [], []
        for f in fields(node):
            if not f.compare:
                continue
            value = getattr(node, f.name)
            if is_dataclass(value) or (isinstance(value, tuple) and value and any(
                    is_dataclass(x) or isinstance(x, tuple) for x in value)):
                nested.append((f.name, value))
            else:
                simple.append(f"{f.name}={value!r}")
        where = f"  @{node.span.line}:{node.span.col}" if getattr(node, "span", None) else ""
        lines.append(f"{pad}{prefix}{type(node).__name__}({', '.join(simple)}){where}")
        for name, value in nested:
            _node(value, depth + 1, lines, name)
    elif isinstance(node, tuple):
        lines.append(f"{pad}{prefix}[")
        for x in node:
            _node(x, depth + 1, lines, None)
        lines.append(f"{pad}]")
    else:
        lines.append(f"{pad}{prefix}{node!r}")
