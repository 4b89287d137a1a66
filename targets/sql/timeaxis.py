"""How a SQL target compares times and adds durations: the one thing lateness, windows and
sessions need to know about a target's time arithmetic.

Two axes are in use: integer microseconds since the epoch (DataFusion: its intervals cannot be
multiplied and `date_bin` works in nanoseconds, which overflows outside 1677-2262) and the native
time types (PostgreSQL: exact microsecond timestamps and intervals).
"""

from __future__ import annotations

from flowc.compiler import types as T
from sqlglot import exp


class TimeAxis:
    # True when axis values are integer microseconds already, so sessions need no second column
    # to compare gaps in microseconds.
    counts_micros = False

    def value(self, e: exp.Expression, t: T.Type) -> exp.Expression:
        """The axis value of a time e (timestamp, timestamptz or date)."""
        raise NotImplementedError

    def duration(self, micros: int) -> exp.Expression:
        """A duration to add to or subtract from an axis value."""
        raise NotImplementedError

    def to_time(self, e: exp.Expression, t: T.Type) -> exp.Expression:
        """An axis value as IR time type t (window bounds)."""
        raise NotImplementedError

    def micros(self, e: exp.Expression) -> exp.Expression:
        """An axis value as integer microseconds since the epoch."""
        raise NotImplementedError
