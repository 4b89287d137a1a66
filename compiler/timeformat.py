"""PostgreSQL's `to_char` format patterns for times, as a table (PostgreSQL 15 documentation,
"Data Type Formatting Functions", Table 9.26 "Template Patterns for Date/Time Formatting"): how
flowc renders each (the local target, value by value) and how DataFusion's chrono formats spell it
(its `to_char` takes strftime-like formats: https://docs.rs/chrono/latest/chrono/format/strftime/).

A format is split into patterns, text in double quotes (copied without its quotes) and any other
character (copied). Patterns are matched longest first; the numeric ones regardless of case, the
named ones (Mon, Day, AM, ...) in the case they are written, which is the case of their output. `FM`
before a pattern drops its padding (leading zeros, the spaces after a month or day name).
"""

from __future__ import annotations

import datetime as dt

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def _dow(t: dt.datetime) -> int:
    return (t.weekday() + 1) % 7  # Sunday 0


def _hour12(t: dt.datetime) -> int:
    return t.hour % 12 or 12


def _cased(word: str, written: str) -> str:
    if written.isupper():
        return word.upper()
    if written.islower():
        return word.lower()
    return word


# pattern (as matched: upper case for the numeric ones) -> (value, width when padded, chrono spelling
# or None where chrono has none)
NUMERIC: dict[str, tuple] = {
    "YYYY": (lambda t: t.year, 4, "%Y"),
    "YY": (lambda t: t.year % 100, 2, "%y"),
    "MM": (lambda t: t.month, 2, "%m"),
    "DDD": (lambda t: t.timetuple().tm_yday, 3, "%j"),
    "DD": (lambda t: t.day, 2, "%d"),
    "D": (lambda t: _dow(t) + 1, 1, None),
    "HH24": (lambda t: t.hour, 2, "%H"),
    "HH12": (_hour12, 2, "%I"),
    "HH": (_hour12, 2, "%I"),
    "MI": (lambda t: t.minute, 2, "%M"),
    "SS": (lambda t: t.second, 2, "%S"),
    "MS": (lambda t: t.microsecond // 1000, 3, "%3f"),
    "US": (lambda t: t.microsecond, 6, "%6f"),
}
# named patterns, matched in the case written: (text, padded width, chrono spelling by written case)
NAMED: dict[str, tuple] = {
    "MONTH": (lambda t: _MONTHS[t.month - 1], 9, {"Month": None, "MONTH": None, "month": None}),
    "MON": (lambda t: _MONTHS[t.month - 1][:3], 0, {"Mon": "%b", "MON": None, "mon": None}),
    "DAY": (lambda t: _DAYS[_dow(t)], 9, {"Day": None, "DAY": None, "day": None}),
    "DY": (lambda t: _DAYS[_dow(t)][:3], 0, {"Dy": "%a", "DY": None, "dy": None}),
    "AM": (lambda t: "AM" if t.hour < 12 else "PM", 0, {"AM": "%p", "am": "%P"}),
    "PM": (lambda t: "AM" if t.hour < 12 else "PM", 0, {"PM": "%p", "pm": "%P"}),
}
_ORDER = sorted(list(NUMERIC) + list(NAMED), key=len, reverse=True)


class FormatError(ValueError):
    """A format a target cannot spell (the message names the pattern and what to write instead)."""


def tokens(fmt: str) -> list[tuple[str, str, bool]]:
    """(kind, text, fill_mode) for each piece: kind 'numeric' / 'named' (text: the pattern as written)
    or 'text' (copied)."""
    out: list[tuple[str, str, bool]] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == '"':
            end = fmt.find('"', i + 1)
            end = len(fmt) if end < 0 else end
            out.append(("text", fmt[i + 1:end], False))
            i = end + 1
            continue
        fm = fmt[i:i + 2].upper() == "FM"
        j = i + 2 if fm else i
        for p in _ORDER:
            written = fmt[j:j + len(p)]
            if written.upper() != p:
                continue
            if p in NAMED and written not in NAMED[p][2]:
                continue  # e.g. 'Am' is not a pattern
            out.append(("numeric" if p in NUMERIC else "named", written, fm))
            i = j + len(p)
            break
        else:
            out.append(("text", fmt[i], False))
            i += 1
    return out


def render(t: dt.datetime, pieces: list[tuple[str, str, bool]]) -> str:
    """t formatted as PostgreSQL's to_char formats it."""
    out = []
    for kind, text, fm in pieces:
        if kind == "text":
            out.append(text)
        elif kind == "numeric":
            value, width, _ = NUMERIC[text.upper()]
            v = value(t)
            out.append(str(v) if fm else f"{v:0{width}d}")
        else:
            value, width, _ = NAMED[text.upper()]
            word = _cased(value(t), text)
            out.append(word if fm or not width else word.ljust(width))
    return "".join(out)


def chrono(fmt: str) -> str:
    """The chrono format for DataFusion's to_char; FormatError for a pattern chrono cannot spell."""
    out = []
    for kind, text, fm in tokens(fmt):
        if kind == "text":
            out.append(text.replace("%", "%%"))
            continue
        if kind == "numeric":
            _, width, spelling = NUMERIC[text.upper()]
            if spelling is None or (fm and width > 1 and text.upper() not in ("MS", "US")):
                raise FormatError(f"to_char pattern '{'FM' if fm else ''}{text}' has no DataFusion spelling")
            out.append(spelling)
            continue
        _, width, spellings = NAMED[text.upper()]
        spelling = spellings.get(text)
        if spelling is None and fm and text in ("Month", "Day"):
            spelling = "%B" if text == "Month" else "%A"
        if spelling is None:
            raise FormatError(f"to_char pattern '{'FM' if fm else ''}{text}' has no DataFusion spelling")
        out.append(spelling)
    return "".join(out)


# Java's date patterns (Flink's DATE_FORMAT follows SimpleDateFormat): pattern -> spelling, and with FM
_JAVA_NUMERIC = {"YYYY": ("yyyy", "y"), "YY": ("yy", None), "MM": ("MM", "M"), "DDD": ("DDD", "D"),
                 "DD": ("dd", "d"), "HH24": ("HH", "H"), "HH12": ("hh", "h"), "HH": ("hh", "h"), "MI": ("mm", "m"),
                 "SS": ("ss", "s"), "MS": ("SSS", None)}
_JAVA_NAMED = {"Mon": "MMM", "Dy": "EEE", "AM": "a", "PM": "a", "FMMonth": "MMMM", "FMDay": "EEEE"}


def java(fmt: str) -> str:
    """The SimpleDateFormat pattern for Flink's DATE_FORMAT; FormatError for what Java cannot spell
    (US: SimpleDateFormat's S counts milliseconds)."""
    out = []
    for kind, text, fm in tokens(fmt):
        if kind == "text":
            out.append("'" + text.replace("'", "''") + "'" if any(c.isalpha() or c == "'" for c in text) else text)
            continue
        spelling = None
        if kind == "numeric" and text.upper() in _JAVA_NUMERIC:
            spelling = _JAVA_NUMERIC[text.upper()][1 if fm else 0]
        elif kind == "named":
            spelling = _JAVA_NAMED.get(("FM" if fm else "") + text)
        if spelling is None:
            raise FormatError(f"to_char pattern '{'FM' if fm else ''}{text}' has no Flink spelling")
        out.append(spelling)
    return "".join(out)
