"""How many rows each stateful operator keeps, sampled while a plan runs, and the peak of each.

A StateProbe hangs last off every source: a source pushes a batch (then its watermark) depth-first
through everything downstream before the probe hears of it, so the probe samples each operator's
state right after it has taken the batch in (the high point) and again after the watermark has
let old state go.
"""

from __future__ import annotations

import pyarrow as pa

from .aggregate import GlobalAggregateOp, WindowAggregateOp
from .operators import Operator
from .session import SessionAggregateOp


def state_rows(op: Operator) -> int | None:
    """Rows (or groups, for running aggregates) an operator keeps now; None if it keeps none."""
    own = getattr(op, "state_rows", None)
    if callable(own):
        return int(own())
    if isinstance(op, WindowAggregateOp):
        if op.mode == "final":
            return (sum(b.num_rows for part in op.panes.values() for b in part)
                    + sum(b.num_rows for b in op.null_rows))
        return sum(len(st.index) for st in op.states.values())
    if isinstance(op, SessionAggregateOp):
        return sum(b.num_rows for b in op._rows)
    if isinstance(op, GlobalAggregateOp):
        return len(op.state.index)
    return None


class StateProbe(Operator):
    """Samples the state of `operators` after every batch and watermark of the sources it hangs off."""

    def __init__(self, operators: list[Operator]):
        super().__init__("state probe", pa.schema([]))
        self.watched = [op for op in operators if state_rows(op) is not None]
        self.peak: dict[str, int] = {op.name: 0 for op in self.watched}

    def sample(self) -> None:
        for op in self.watched:
            n = state_rows(op)
            if n is not None and n > self.peak[op.name]:
                self.peak[op.name] = n

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        self.sample()

    def on_watermark(self, port: int, ts: int) -> None:
        self.sample()


def attach_state_probe(sources: list[Operator], operators: list[Operator]) -> StateProbe:
    """A probe of `operators`, connected as the last output of every source."""
    probe = StateProbe(operators)
    for s in sources:
        s.connect(probe)
    return probe
