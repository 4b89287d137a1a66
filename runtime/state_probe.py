"""How many rows each stateful operator keeps, sampled while a plan runs, and the peak of each.

A StateProbe hangs last off every source: a source pushes a batch (then its watermark) depth-first
through everything downstream before the probe hears of it, so the probe samples each operator's
state right after it has taken the batch in (the high point) and again after the watermark has
let old state go. Each operator counts its own state (`Operator.state_rows`).
"""

from __future__ import annotations

import pyarrow as pa

from .errors import StateLimitExceeded
from .operators import Operator


class StateProbe(Operator):
    """Samples the state of `operators` after every batch and watermark of the sources it hangs off.
    Only operators that keep state are watched (and reported, even if their peak is 0)."""

    def __init__(self, operators: list[Operator], limit: int | None = None):
        super().__init__("state probe", pa.schema([]))
        self.watched = [op for op in operators if op.keeps_state]
        self.peak: dict[str, int] = {op.name: 0 for op in self.watched}
        self.limit = limit  # rows any one operator may keep; more stops the run (StateLimitExceeded)

    def sample(self) -> None:
        for op in self.watched:
            n = op.state_rows()
            if n > self.peak[op.name]:
                self.peak[op.name] = n
                if self.limit is not None and n > self.limit:
                    raise StateLimitExceeded(op.name, n, self.limit)

    def on_batch(self, port: int, batch: pa.RecordBatch) -> None:
        self.sample()

    def on_watermark(self, port: int, ts: int) -> None:
        self.sample()


def attach_state_probe(sources: list[Operator], operators: list[Operator], limit: int | None = None) -> StateProbe:
    """A probe of `operators`, connected as the last output of every source."""
    probe = StateProbe(operators, limit)
    for s in sources:
        s.connect(probe)
    return probe
