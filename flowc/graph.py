"""The dataflow graph of a program as Mermaid or Graphviz dot text (`flowc graph`)."""

from __future__ import annotations

from flowc.compiler import ir
from flowc.compiler.printer import format_connector


def _edges(program: ir.Program) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    nodes: list[tuple[str, str, str]] = []  # id, label, shape
    edges: list[tuple[str, str]] = []
    for s in program.sources:
        label = f"source {s.name}" + (f"\\nevent_time {s.event_time}" if s.event_time else "")
        nodes.append((f"src_{s.name}", label, "source"))
        if not isinstance(s.on_late, str):
            nodes.append((f"late_{s.name}", f"late rows\\n{format_connector(s.on_late)}", "sink"))
            edges.append((f"src_{s.name}", f"late_{s.name}"))
    for t in program.tables:
        nodes.append((f"tbl_{t.name}", f"table {t.name}", "source"))
    for v in program.views:
        nodes.append((f"view_{v.name}", f"view {v.name}\\nemit {v.emit}", "view"))
        for node in ir.walk(v.plan):
            if isinstance(node, ir.Scan):
                prefix = {"source": "src", "table": "tbl", "view": "view"}[node.kind]
                edge = (f"{prefix}_{node.name}", f"view_{v.name}")
                if edge not in edges:
                    edges.append(edge)
    for i, k in enumerate(program.sinks):
        nodes.append((f"sink_{i}", f"sink\\n{format_connector(k.connector)}", "sink"))
        edges.append((f"view_{k.view}", f"sink_{i}"))
    return nodes, edges


def to_mermaid(program: ir.Program) -> str:
    nodes, edges = _edges(program)
    shapes = {"source": ('[("', '")]'), "view": ('["', '"]'), "sink": ('[/"', '"/]')}
    out = ["flowchart LR"]
    for nid, label, shape in nodes:
        left, right = shapes[shape]
        out.append(f"    {nid}{left}{label.replace(chr(92) + 'n', '<br/>')}{right}")
    out += [f"    {a} --> {b}" for a, b in edges]
    return "\n".join(out)


def to_dot(program: ir.Program) -> str:
    nodes, edges = _edges(program)
    shapes = {"source": "cylinder", "view": "box", "sink": "parallelogram"}
    out = ["digraph flow {", "    rankdir=LR;"]
    for nid, label, shape in nodes:
        out.append(f'    {nid} [label="{label}", shape={shapes[shape]}];')
    out += [f"    {a} -> {b};" for a, b in edges]
    out.append("}")
    return "\n".join(out)
