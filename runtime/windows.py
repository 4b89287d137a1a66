"""Window assignment on int64 microseconds (SEMANTICS.md section 2): half-open [start, end),
aligned to the epoch plus an offset, floor modulo so negative times work."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowDef:
    """A tumble (slide == size) or hop window; all in microseconds."""

    size: int
    slide: int
    offset: int = 0

    def __post_init__(self) -> None:
        if self.size <= 0 or self.slide <= 0 or self.size % self.slide:
            raise ValueError("window size must be a positive multiple of the slide")

    @staticmethod
    def tumble(size: int, offset: int = 0) -> WindowDef:
        return WindowDef(size, size, offset)

    @staticmethod
    def hop(size: int, slide: int, offset: int = 0) -> WindowDef:
        return WindowDef(size, slide, offset)

    @property
    def per_row(self) -> int:
        """How many windows each row belongs to."""
        return self.size // self.slide

    def pane_start(self, ts: np.ndarray) -> np.ndarray:
        """Start of the slide-sized pane holding ts: the latest window start <= ts."""
        return ts - np.mod(ts - self.offset, self.slide)

    def pane_of(self, t: int) -> int:
        """pane_start of one time (Python's % is a floor modulo too)."""
        return t - (t - self.offset) % self.slide

    def assign(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row index, window start) for every window of every row; a row's windows in increasing start."""
        last = self.pane_start(ts)
        k = self.per_row
        if k == 1:
            return np.arange(len(ts)), last
        rows = np.repeat(np.arange(len(ts)), k)
        back = np.tile(np.arange(k - 1, -1, -1, dtype=np.int64), len(ts)) * self.slide
        return rows, np.repeat(last, k) - back

    def windows_of_pane(self, pane: int) -> range:
        """Starts of the windows that contain the pane starting at `pane`."""
        return range(pane - self.size + self.slide, pane + 1, self.slide)
