"""Diagnostics: error codes, messages with spans and hints, and their rendering.

Every user-facing error goes through here so that all of them look alike:

    hot.flow:12:13: error[F0203]: unknown column 'prise' in 'where'
       12 |     | where prise > 10
          |             ^^^^^
       hint: did you mean 'price'? columns of bids: auction, bidder, price, channel, date_time
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from .span import SOURCES, Span


class Code(str, Enum):
    """Stable error codes. The first two digits give the stage."""

    # F01xx: lexical and syntax errors
    SYNTAX = "F0101"
    UNEXPECTED_CHAR = "F0102"
    UNTERMINATED_STRING = "F0103"
    BAD_DURATION = "F0104"
    # F02xx: names, types, declarations
    UNKNOWN_RELATION = "F0201"
    DUPLICATE_NAME = "F0202"
    UNKNOWN_COLUMN = "F0203"
    TYPE_MISMATCH = "F0204"
    ARG_COUNT = "F0205"
    UNKNOWN_FUNCTION = "F0206"
    EVENT_TIME_TYPE = "F0207"
    EMIT_FINAL = "F0208"
    BAD_CONNECTOR = "F0209"
    UNKNOWN_TYPE = "F0210"
    BAD_STAGE = "F0211"
    AMBIGUOUS_COLUMN = "F0212"
    BAD_ARGUMENT = "F0213"
    # F03xx: targets
    UNSUPPORTED = "F0301"
    CONNECTOR_TARGET = "F0302"
    # F031x: what RisingWave's planner would refuse (targets/risingwave/rules.py, docs/risingwave.md)
    RW_NEXMARK_SCHEMA = "F0310"  # a nexmark source declares all of its table's columns, in order
    RW_EOWC_WATERMARK = "F0311"  # EMIT ON WINDOW CLOSE without a watermark column where it needs one
    RW_SESSION = "F0312"  # SESSION frames: EOWC only, ordered by a timestamp, no DISTINCT
    RW_JOIN = "F0313"  # streaming joins: an equality, watermarks for time bounds, same windows
    RW_TEMPORAL_JOIN = "F0314"  # FOR SYSTEM_TIME AS OF: a table, its primary key, inner or left
    # F04xx: run time
    BAD_RECORD = "F0401"
    IO = "F0402"
    STATE_LIMIT = "F0403"  # an operator's state passed --max-state-rows
    # F09xx: warnings
    TARGET_DIFFERENCE = "W0901"
    UNBOUNDED_STATE = "W0902"
    # W091x: the named differences of the Flink target (docs/flink.md lists each with a test)
    FLINK_MILLISECONDS = "W0910"  # event times and intervals have millisecond precision
    FLINK_NULL_EVENT_TIME = "W0911"  # a null event time is late even before the first watermark
    FLINK_FILE_FORMAT = "W0912"  # csv: no header line, null and '' alike
    FLINK_FILE_SINK = "W0913"  # part files in a directory; a changelog as Debezium JSON
    FLINK_CONNECTOR_JAR = "W0914"  # a connector whose jar the wheel does not ship
    FLINK_LOOKUP_JOIN = "W0915"  # a lookup join run as a regular join
    FLINK_ARBITRARY_DISTINCT = "W0916"  # distinct without one arrival order keeps some row
    FLINK_FINAL_ONLY = "W0917"  # a windowed view emitted as changes gets each window once, at its end
    FLINK_BAD_RECORDS = "W0918"  # on_error into receives nothing; on_error skip skips silently
    FLINK_BEFORE_1970 = "W0919"  # no watermark before the epoch: nothing late, interval joins lose rows
    # W092x: RisingWave (targets/risingwave/rules.py)
    RW_LOCAL_FS = "W0920"  # posix_fs / fs need frontend.unsafe_enable_local_fs_connector
    RW_WINDOWS_NEVER_CLOSE = "W0921"  # a file's last windows never close under EOWC


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s'\"]*:)([^@\s'\"]+)(@)")
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)([^\s'\"]+)", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """Passwords in connection strings (`scheme://user:PASSWORD@host`, `password=PASSWORD`) as
    asterisks of the same length, so that quoted source lines keep their carets aligned."""
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
    return _KV_PASSWORD.sub(lambda m: m.group(1) + "*" * len(m.group(2)), text)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: Code
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    notes: tuple[str, ...] = field(default=())

    def render(self) -> str:
        where = f"{self.span}: " if self.span else ""
        out = [f"{where}{self.severity.value}[{self.code.value}]: {self.message}"]
        if self.span is not None:
            text = SOURCES.line(self.span.file, self.span.line)
            if text is not None:
                num = str(self.span.line)
                pad = " " * len(num)
                start = max(self.span.col, 1)
                if self.span.end_line == self.span.line:
                    width = max(self.span.end_col - self.span.col, 1)
                else:
                    width = max(len(text) - start + 1, 1)
                text = mask_secrets(text.expandtabs(1))
                out.append(f"   {num} | {text}")
                out.append(f"   {pad} | {' ' * (start - 1)}{'^' * width}")
        for note in self.notes:
            out.append(f"   note: {note}")
        if self.hint:
            out.append(f"   hint: {self.hint}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()


class FlowError(Exception):
    """A user error: one or more diagnostics. The CLI prints them and exits 1."""

    def __init__(self, diagnostics: Diagnostic | Sequence[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))

    @property
    def first(self) -> Diagnostic:
        return self.diagnostics[0]


class UnsupportedFeature(FlowError):
    """A target cannot express an IR construct (or a connector). Raised by targets."""

    def __init__(self, what: str, target: str, span: Span | None = None, hint: str | None = None,
                 code: Code = Code.UNSUPPORTED):
        self.what = what
        self.target = target
        super().__init__(Diagnostic(code, f"{what} is not supported on target '{target}'", span, hint))


class Collector:
    """Collects diagnostics so a stage can report all of them, not just the first."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, code: Code, message: str, span: Span | None, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, message, span, hint))

    def warn(self, code: Code, message: str, span: Span | None, hint: str | None = None) -> None:
        self.items.append(Diagnostic(code, message, span, hint, Severity.WARNING))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise FlowError(self.errors)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelled name, if any is close enough."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
