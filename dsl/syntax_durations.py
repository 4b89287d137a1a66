"""Duration literals (`250ms`, `5s`, `10min`, `1h`, `1d`): their units and the errors for wrong ones.

Shared by the .flow parser (DURATION tokens) and the Python DSL (`watermark="5s"`), so both accept
exactly the same spellings and explain a wrong one the same way.
"""

from __future__ import annotations

import re
from fractions import Fraction

from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.compiler.durations import MICROS_PER_UNIT, format_duration  # noqa: F401 - re-exported
from flowc.compiler.span import Span

# Spellings users reach for, mapped to ours. `m` is deliberately absent: minutes or milliseconds?
_SYNONYMS: dict[str, str] = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "mins": "min", "minute": "min", "minutes": "min",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d",
    "msec": "ms", "msecs": "ms", "millis": "ms", "millisecond": "ms", "milliseconds": "ms",
    "usec": "us", "usecs": "us", "micros": "us", "microsecond": "us", "microseconds": "us", "µs": "us",
}

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([A-Za-zµ_][A-Za-z0-9_]*)$")

UNITS_TEXT = "us, ms, s, min, h, d"


class DurationError(ValueError):
    """A malformed duration, with a message and a hint ready for a Diagnostic."""

    def __init__(self, message: str, hint: str | None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def duration_micros(text: str) -> int:
    """Microseconds of a duration literal; raises DurationError saying what is wrong and how to fix it."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise DurationError(f"'{text}' is not a duration",
                            f"a duration is a whole number and a unit with no space, e.g. 5s; units: {UNITS_TEXT}")
    number, unit = m.group(1), m.group(2)
    if unit not in MICROS_PER_UNIT:
        if unit == "m":
            raise DurationError(
                f"ambiguous duration unit 'm' in '{text}'",
                f"write '{number}min' for minutes or '{number}ms' for milliseconds")
        if unit in _SYNONYMS:
            ours = _SYNONYMS[unit]
            raise DurationError(f"unknown duration unit '{unit}' in '{text}'", f"write '{number}{ours}'")
        if unit.lower() in MICROS_PER_UNIT:
            raise DurationError(f"unknown duration unit '{unit}' in '{text}'",
                                f"units are lower case: write '{number}{unit.lower()}'")
        if unit in ("w", "wk", "week", "weeks") and "." not in number:
            raise DurationError(f"unknown duration unit '{unit}' in '{text}'",
                                f"there is no week unit: write '{int(number) * 7}d'")
        raise DurationError(f"unknown duration unit '{unit}' in '{text}'", f"units are {UNITS_TEXT}")
    if "." in number:
        exact = Fraction(number) * MICROS_PER_UNIT[unit]
        hint = (f"write '{format_duration(int(exact))}'" if exact.denominator == 1
                else "use a smaller unit to write a whole number")
        raise DurationError(f"a duration is a whole number of a unit, found '{text}'", hint)
    if len(number) > 19 or int(number) * MICROS_PER_UNIT[unit] > MAX_MICROS:
        raise DurationError(f"duration '{text}' is out of range",
                            "durations are microseconds in 64 bits: at most about 292,000 years "
                            f"({MAX_MICROS // MICROS_PER_UNIT['d']}d)")
    return int(number) * MICROS_PER_UNIT[unit]


MAX_MICROS = 2**63 - 1


def parse_duration(text: str, span: Span | None = None) -> int:
    """Microseconds of `text` (e.g. "5s"); a bad duration raises FlowError with code BAD_DURATION."""
    try:
        return duration_micros(text)
    except DurationError as e:
        raise FlowError(Diagnostic(Code.BAD_DURATION, e.message, span, e.hint)) from None
