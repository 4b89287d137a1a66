"""Duration units and their canonical spelling, shared by the parser, the formatter and the IR printer."""

from __future__ import annotations

MICROS_PER_UNIT: dict[str, int] = {
    "us": 1,
    "ms": 1_000,
    "s": 1_000_000,
    "min": 60_000_000,
    "h": 3_600_000_000,
    "d": 86_400_000_000,
}


def format_duration(micros: int) -> str:
    """The shortest exact spelling: 90_000_000 -> '90s', 5_400_000_000 -> '90min'."""
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    for unit in ("d", "h", "min", "s", "ms", "us"):
        size = MICROS_PER_UNIT[unit]
        if micros % size == 0:
            return f"{sign}{micros // size}{unit}"
    raise AssertionError("unreachable: every integer is a whole number of microseconds")
