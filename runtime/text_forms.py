"""One text form per type: values cast to text as PostgreSQL prints them (issue 13), shared by the
local target and, as a registered function, the DataFusion target.

A double prints its shortest text that reads back to the same value (PostgreSQL 12 and later,
`float8out` with `extra_float_digits = 1`), in positional notation when its decimal exponent is
from -4 to 14 and as `d.ddde+XX` otherwise: `1e+15`, `123456789012345.6`, `0.0001`, `1e-05`, `-0`,
`NaN`, `Infinity`. Arrow, DataFusion and Java each switch notation elsewhere (`1e20`, `1.0E20`).
"""

from __future__ import annotations

import decimal
import math

import pyarrow as pa


def float8_text(v: float) -> str:
    """A double as PostgreSQL's float8out prints it."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    sign, digits, exp = decimal.Decimal(repr(v)).as_tuple()  # repr: the shortest round-trip digits
    text = "".join(map(str, digits))
    power = len(text) + exp - 1  # the decimal exponent of the first digit
    text = text.rstrip("0") or "0"
    if -4 <= power < 15:
        if power >= 0:
            whole, frac = text[: power + 1].ljust(power + 1, "0"), text[power + 1:]
            out = whole + ("." + frac if frac else "")
        else:
            out = "0." + "0" * (-power - 1) + text
    else:
        out = text[0] + ("." + text[1:] if len(text) > 1 else "") + f"e{'+' if power >= 0 else '-'}{abs(power):02d}"
    return ("-" if sign else "") + out


def float8_texts(arr: pa.Array) -> pa.Array:
    """float8_text over an Arrow array of doubles (nulls stay null)."""
    return pa.array([None if v is None else float8_text(v) for v in arr.to_pylist()], pa.string())
