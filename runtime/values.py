"""Text in files -> typed values: the pieces the strict readers (runtime/io.py) and the lenient
bad-record readers (runtime/records.py) share, so that one rule decides what a value means and why
it is bad, whatever the policy. Imports nothing of flowc's but runtime/errors.py."""

from __future__ import annotations

import csv as pycsv
import io as pyio
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import FileFormatError, RecordError

# a timestamptz text without an explicit zone is read as UTC
_ZONE_SUFFIX = r"(Z|z|[+-]\d\d(:?\d\d)?)$"


def needs_text_parse(t: pa.DataType) -> bool:
    """Types pyarrow's CSV reader cannot produce directly with our meaning."""
    return (pa.types.is_timestamp(t) and t.tz is not None) or pa.types.is_duration(t)


def convert_strings(arr: pa.Array, t: pa.DataType) -> pa.Array:
    """Parse a string array (nulls stay null) into type t; raises pa.ArrowInvalid on a bad value."""
    if arr.type == t:
        return arr
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), t)
    if pa.types.is_timestamp(t) and t.tz is not None:
        text = arr.cast(pa.string())
        has_zone = pc.match_substring_regex(text, _ZONE_SUFFIX)
        text = pc.if_else(has_zone, text, pc.binary_join_element_wise(text, "Z", ""))
        return text.cast(pa.timestamp(t.unit, "UTC")).cast(t)
    if pa.types.is_duration(t):
        # intervals in text files are integer microseconds
        return arr.cast(pa.int64()).cast(t)
    if pa.types.is_binary(t):
        return arr.cast(pa.string()).cast(t)
    if pa.types.is_string(arr.type) and (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
                                         or pa.types.is_date(t)):
        # as pyarrow's CSV reader does for numbers and dates, so the lenient readers accept what it accepts
        return pc.utf8_trim_whitespace(arr).cast(t)
    return arr.cast(t)


def first_bad_index(arr: pa.Array, t: pa.DataType) -> int | None:
    """The smallest index whose value does not parse as t (bisection over prefixes: log n vector casts)."""
    try:
        convert_strings(arr, t)
        return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        pass
    lo, hi = 0, len(arr) - 1  # the prefix [0, hi] fails
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            convert_strings(arr.slice(0, mid + 1), t)
            lo = mid + 1
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
            hi = mid
    return lo


def bad_value_reason(value: object, t: pa.DataType) -> str:
    return f"cannot read {value!r} as {type_name(t)}"


def type_name(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp ('YYYY-MM-DD HH:MM:SS[.ffffff]')"
    if pa.types.is_date32(t):
        return "date ('YYYY-MM-DD')"
    names = {pa.int32(): "int", pa.int64(): "bigint", pa.float64(): "double", pa.string(): "string",
             pa.binary(): "bytes", pa.bool_(): "bool"}
    if pa.types.is_decimal(t):
        return f"decimal({t.precision}, {t.scale})"
    return names.get(t, str(t))


def header_only(path: str) -> bool:
    """The file holds at most its header line (maybe without a newline): no data rows."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
        end = head.find(b"\n")
        if end < 0:
            return len(head) < (1 << 16)
        rest = head[end + 1:]
        if rest.strip():
            return False
        return not f.read(1 << 16).strip() if len(head) == 1 << 16 else True


def csv_header(path: str, delimiter: str) -> list[str]:
    """The header's fields. A header that is not UTF-8 is a file that does not fit (FileFormatError);
    a bad byte further down is a bad record, found later: only the header is judged here."""
    with open(path, "rb") as raw, pyio.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape",
                                                     newline="") as f:
        header = next(pycsv.reader(f, delimiter=delimiter), [])
    try:
        "".join(header).encode("utf-8")
    except UnicodeEncodeError:
        raise FileFormatError(path, utf8_error(path)) from None
    return header


def utf8_error(path: str) -> str:
    """Where the first byte that is not UTF-8 text is (line and byte offset), read in chunks."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = line = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                at = offset + e.start
                line += chunk.count(b"\n", 0, e.start)
                return (f"not UTF-8 text: byte 0x{chunk[e.start]:02x} at line {line + 1} (byte offset {at}); "
                        "flowc reads text files as UTF-8")
            offset += len(chunk)
            line += chunk.count(b"\n")
    return "not UTF-8 text"


def csv_options(names: list[str], types: dict, delimiter: str, invalid_rows: list | None = None):
    def on_invalid(row) -> str:
        if invalid_rows is not None:
            invalid_rows.append(row)
        return "error"

    read = pacsv.ReadOptions(block_size=1 << 20, use_threads=False)
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid)
    # only an empty cell is null: "NA" or "null" in a string column is that text, and "" quoted is ''
    # check_utf8 off: a cell that is not UTF-8 is one bad record (utf8_bad_indices), not a failed file
    convert = pacsv.ConvertOptions(column_types=types, include_columns=names, null_values=[""],
                                   strings_can_be_null=True, quoted_strings_can_be_null=False, check_utf8=False)
    return read, parse, convert


def strip_arrow(msg: str) -> str:
    return msg.replace("CSV parse error: ", "").replace("JSON parse error: ", "")


def jsonl_native(t: pa.DataType) -> bool:
    """Types the JSON reader produces exactly from JSON values."""
    return t in (pa.bool_(), pa.int32(), pa.int64(), pa.float64(), pa.string())


# ---------------------------------------------------------------- text that is not UTF-8
#
# pyarrow decodes a malformed csv row's text before it calls the invalid-row handler; text that is not
# UTF-8 makes that decoding raise inside Arrow's callback, which Python reports as "Exception ignored"
# on stderr before the reader fails (and the readers fall back to Python's csv module). The report
# is noise to a user: the hook below drops exactly that case and passes everything else on.


def _quiet_arrow_row_handler(unraisable, _previous=sys.unraisablehook) -> None:
    if isinstance(unraisable.exc_value, UnicodeDecodeError) and \
            getattr(unraisable.object, "__name__", "") == "on_invalid":
        return
    _previous(unraisable)


sys.unraisablehook = _quiet_arrow_row_handler
#
# A record whose declared text holds bytes that are not UTF-8 is a bad record (its number, the
# column, the byte), the same under every policy: Arrow's CSV reader runs with check_utf8 off and
# its JSON and Parquet readers let such bytes through, so every reader checks its string columns
# here, one vector validation per column and block when all is well.


def utf8_bad_indices(arr: pa.Array) -> list[int]:
    """Indices of the values of a string array that are not UTF-8, in increasing order (a failing
    range is halved until single values remain)."""
    if not pa.types.is_string(arr.type) or not _invalid_utf8(arr):
        return []
    out: list[int] = []
    stack = [(0, len(arr))]
    while stack:
        lo, hi = stack.pop()
        if hi <= lo or not _invalid_utf8(arr.slice(lo, hi - lo)):
            continue
        if hi - lo == 1:
            out.append(lo)
            continue
        mid = (lo + hi) // 2
        stack.append((mid, hi))
        stack.append((lo, mid))
    return out


def _invalid_utf8(arr: pa.Array) -> bool:
    try:
        arr.validate(full=True)
        return False
    except pa.ArrowInvalid:
        return True


def utf8_reason(arr: pa.Array, i: int) -> str:
    """Why value i of a string array is not text: the first byte that is not UTF-8 and where."""
    raw = arr.cast(pa.binary())[i].as_py()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 text: byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the value"
    return "not UTF-8 text"


def as_valid_text(arr: pa.Array) -> pa.Array:
    """A string array with every value that is not UTF-8 decoded with U+FFFD for the bad bytes
    (the text a bad record is reported with)."""
    if not pa.types.is_string(arr.type) or not _invalid_utf8(arr):
        return arr
    values = arr.cast(pa.binary()).to_pylist()
    return pa.array([None if v is None else v.decode("utf-8", "replace") for v in values], pa.string())


def refuse_bad_text(path: str, b: pa.RecordBatch | pa.Table, schema: pa.Schema, row: int) -> None:
    """Fail on the first record (1-based, after `row` records) whose declared text is not UTF-8."""
    found = []
    for f in schema:
        idx = b.schema.get_field_index(f.name)
        col = b.column(idx) if idx >= 0 else None
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        bad = utf8_bad_indices(col) if col is not None else []
        if bad:
            found.append((bad[0], f.name, utf8_reason(col, bad[0])))
    if found:
        i, name, reason = min(found, key=lambda x: x[0])
        raise RecordError(path, row + i + 1, name, reason)
