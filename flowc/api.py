"""The public Python API: `Flow`, `parse`, `load`.

A `Flow` is the program as the front ends see it (the AST); two Flows are equal when they declare
the same program, whichever front end built them.
"""

from __future__ import annotations

from flowc.compiler import ir
from flowc.dsl import ast
from flowc.dsl.builder import FlowBuilder


class Flow(FlowBuilder):
    @classmethod
    def from_program(cls, program: ast.Program) -> Flow:
        flow = cls.__new__(cls)
        flow.file = program.file
        flow.base_dir = program.base_dir
        flow._decls = list(program.decls)
        return flow

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FlowBuilder):
            return NotImplemented
        return self.program == other.program

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Flow({len(self._decls)} declarations from {self.file})"

    def to_ir(self, optimize: bool = True) -> ir.Program:
        from flowc import pipeline

        return pipeline.to_ir(self.program, optimize=optimize)

    def compile(self, target: str = "risingwave") -> str:
        """The program for a target: RisingWave DDL, or DataFusion SQL."""
        from flowc import pipeline

        return pipeline.compile_target(self.to_ir(), target)

    def run(self, target: str = "local", batch_size: int = 10_000) -> dict:
        """Run over the inputs, write the sinks, and return each sunk view's rows as an Arrow table."""
        from flowc import pipeline

        return pipeline.run(self.to_ir(), target, batch_size, collect=True).tables

    def to_flow(self) -> str:
        """The program as canonical .flow text; `fc.parse(flow.to_flow()) == flow`."""
        from flowc.dsl.formatter import format_program

        return format_program(self.program)

    def explain(self, stage: str = "optimized") -> str:
        from flowc import pipeline

        return pipeline.explain(self.program, stage)


def parse(text: str, file: str = "<input>") -> Flow:
    """Parse .flow text into a Flow."""
    from flowc import pipeline

    return Flow.from_program(pipeline.parse_text(text, file))


def load(path: str) -> Flow:
    """Load a .flow file (or a Python file defining a Flow)."""
    from flowc import pipeline

    return Flow.from_program(pipeline.load_program(path))
