"""Event time as int64 microseconds, and the per-row lateness rule of SEMANTICS.md section 1.

Watermarks are plain ints (microseconds since the epoch). NO_WATERMARK stands for -infinity (no
row with an event time seen yet) and END_OF_INPUT for +infinity (a bounded input has ended).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

NO_WATERMARK = -(2**63)
END_OF_INPUT = 2**63 - 1


def micros(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(values, valid) of a timestamp or date column as int64 microseconds; null slots hold 0."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_date(t):
        arr = arr.cast(pa.timestamp("us"))
    elif pa.types.is_timestamp(t) and t.unit != "us":
        arr = arr.cast(pa.timestamp("us", t.tz))
    elif not (pa.types.is_timestamp(t) or pa.types.is_integer(t)):
        raise TypeError(f"event time column has type {t}")
    ints = arr.view(pa.int64()) if pa.types.is_timestamp(arr.type) else arr.cast(pa.int64())
    if ints.null_count == 0:
        return ints.to_numpy(zero_copy_only=False), np.ones(len(ints), dtype=bool)
    valid = ints.is_valid().to_numpy(zero_copy_only=False)
    return ints.fill_null(0).to_numpy(zero_copy_only=False), valid


@dataclass
class LatenessTracker:
    """Decides lateness per row, in arrival order, whatever the batch cuts (SEMANTICS.md section 1).

    W_i = max(ts_1..ts_i) - delay, W_0 = -infinity; row i is late iff ts_i < W_{i-1}; a row with a
    null event time is late once any watermark exists.
    """

    delay: int
    max_ts: int = NO_WATERMARK  # the largest event time seen so far

    @property
    def watermark(self) -> int:
        return NO_WATERMARK if self.max_ts == NO_WATERMARK else self.max_ts - self.delay

    def split(self, ts: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """The late mask of the next rows (in order); advances the watermark past them."""
        n = len(ts)
        if n == 0:
            return np.zeros(0, dtype=bool)
        if self.max_ts != NO_WATERMARK and valid.all():
            return self._split_valid(ts)
        filled = np.where(valid, ts, NO_WATERMARK)
        running = np.maximum.accumulate(filled)
        before = np.empty(n, dtype=np.int64)  # max(ts_1 .. ts_{i-1}), carried across batches
        before[0] = self.max_ts
        np.maximum(running[:-1], self.max_ts, out=before[1:])
        has_wm = before != NO_WATERMARK
        # W_{i-1}; where there is none yet, a value no timestamp is below
        wm_prev = np.where(has_wm, before, NO_WATERMARK + self.delay) - self.delay
        late = np.where(valid, has_wm & (ts < wm_prev), has_wm)
        self.max_ts = max(self.max_ts, int(running[-1]))
        return late

    def _split_valid(self, ts: np.ndarray) -> np.ndarray:
        """split() once a watermark exists and every row has a time (the common case), without a
        running maximum over every row. Rows go in blocks of _BLOCK; within block b the maximum
        before row i lies between P_b (the maximum before the block) and Q_b = max(P_b, the block's
        maximum). A row below P_b - delay is late, one at or above Q_b - delay on time, whatever its
        place in the block; only blocks with a row in between get the exact running maximum. In
        order or mildly disordered input (most streams) no block needs it, and all rows on time is
        one comparison pass."""
        n = len(ts)
        nb = n // _BLOCK
        if nb < 2:
            return self._split_exact(ts)
        body = ts[: nb * _BLOCK].reshape(nb, _BLOCK)
        block_max = body.max(axis=1)
        p = np.empty(nb, dtype=np.int64)  # P_b
        p[0] = self.max_ts
        np.maximum(np.maximum.accumulate(block_max[:-1]), self.max_ts, out=p[1:])
        q = np.maximum(p, block_max)  # Q_b
        below_q = body < (q - self.delay)[:, None]
        if below_q.any():
            late = body < (p - self.delay)[:, None]
            unsure = np.flatnonzero((below_q & ~late).any(axis=1))
            for b in unsure.tolist():
                late[b] = self._exact_late(body[b], int(p[b]))
            late = late.reshape(-1)
        else:
            late = np.zeros(nb * _BLOCK, dtype=bool)
        self.max_ts = max(self.max_ts, int(q[-1]))
        if nb * _BLOCK == n:
            return late
        return np.concatenate([late, self._split_exact(ts[nb * _BLOCK:])])

    def _split_exact(self, ts: np.ndarray) -> np.ndarray:
        late = self._exact_late(ts, self.max_ts)
        self.max_ts = max(self.max_ts, int(ts.max()))
        return late

    def _exact_late(self, ts: np.ndarray, before: int) -> np.ndarray:
        """Late mask of rows that all have a time, the maximum before them being `before` (not
        NO_WATERMARK), with the running maximum over every row."""
        running = np.maximum.accumulate(ts)
        np.maximum(running, before, out=running)
        late = np.empty(len(ts), dtype=bool)
        late[0] = ts[0] < before - self.delay
        running[:-1] -= self.delay  # W_{i-1} for row i
        np.less(ts[1:], running[:-1], out=late[1:])
        return late


_BLOCK = 512  # rows per block in LatenessTracker._split_valid
