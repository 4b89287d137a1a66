"""Reading and writing files as Arrow batches: csv, jsonl, parquet, and csv text on stdout.

Readers parse whole blocks with pyarrow's native readers and re-slice them into batches of exactly
`batch_size` rows, in file order. Nothing is parsed per row in Python; only when a block fails to
parse do we re-read the file as text, column by column, to name the bad row and column
(`RecordError`), because pyarrow's own messages carry neither the row nor, for some errors, the file.
"""

from __future__ import annotations

import csv as pycsv
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from . import records
from .errors import FileFormatError, RecordError
from .values import (
    bad_value_reason,
    convert_strings,
    csv_header,
    csv_options,
    first_bad_index,
    header_only,
    jsonl_native,
    needs_text_parse,
    refuse_bad_text,
    strip_arrow,
    type_name,
    utf8_bad_indices,
    utf8_error,
    utf8_reason,
)

KINDS_READ = ("csv", "jsonl", "parquet")
KINDS_WRITE = ("csv", "jsonl", "parquet", "stdout")

# ---------------------------------------------------------------- re-batching


def rebatch(batches: Iterable[pa.RecordBatch], batch_size: int, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Cut a stream of batches into batches of exactly batch_size rows (the last may be smaller)."""
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    pending: list[pa.RecordBatch] = []
    have = 0
    for b in batches:
        if b.num_rows == 0:
            continue
        pending.append(b)
        have += b.num_rows
        if have < batch_size:
            continue
        table = pa.Table.from_batches(pending, schema)
        off = 0
        while have - off >= batch_size:
            yield _one_batch(table.slice(off, batch_size), schema)
            off += batch_size
        rest = table.slice(off)
        pending = rest.to_batches() if rest.num_rows else []
        have = rest.num_rows
    if have:
        yield _one_batch(pa.Table.from_batches(pending, schema), schema)


def _one_batch(t: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    if all(c.num_chunks == 1 for c in t.columns):
        return pa.RecordBatch.from_arrays([c.chunk(0) for c in t.columns], schema=schema)
    return t.combine_chunks().to_batches()[0]


# ---------------------------------------------------------------- readers


def read_batches(kind: str, path: str, schema: pa.Schema, batch_size: int,
                 options: dict | None = None) -> Iterator[pa.RecordBatch]:
    """Batches of exactly `batch_size` rows of `schema` (the last may be smaller), in file order.

    Raises RecordError for a record that does not fit the schema, FileNotFoundError for no file.
    options: "delimiter" (csv); "on_error": a callable receiving the bad records as batches of
    `records.error_schema(schema)`, which makes the reader leave them out instead of raising
    (`on_error skip` / `into`; see runtime/records.py). A column missing from a csv header or a
    parquet file fails the read whatever the policy.
    """
    options = options or {}
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    on_error = options.get("on_error")
    delimiter = options.get("delimiter", ",")
    if kind == "csv":
        blocks = (records.csv_lenient(path, schema, delimiter, on_error) if on_error is not None
                  else _csv_blocks(path, schema, delimiter))
    elif kind == "jsonl":
        blocks = records.jsonl_lenient(path, schema, on_error) if on_error is not None else _jsonl_blocks(path, schema)
    elif kind == "parquet":
        blocks = records.parquet_blocks(path, schema, on_error)
    else:
        raise ValueError(f"cannot read connector kind {kind!r}")
    return rebatch(_guarded(kind, path, blocks), batch_size, schema)


def _guarded(kind: str, path: str, blocks: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The blocks of a file, with a file that is not what its connector says (bytes that are not
    UTF-8 text, a file that is not Parquet, a truncated one) as a FileFormatError naming where."""
    try:
        yield from blocks
    except UnicodeDecodeError:
        raise FileFormatError(path, utf8_error(path)) from None
    except pa.ArrowInvalid as e:
        text = str(e)
        if kind == "parquet" or "Parquet" in text:
            raise FileFormatError(path, f"not a readable Parquet file ({strip_arrow(text).rstrip('.')})") from None
        if "UTF8" in text.upper() or "utf-8" in text:
            raise FileFormatError(path, utf8_error(path)) from None
        raise
    except OSError as e:  # Arrow's Parquet reader raises OSError for a damaged file ("deserialize thrift")
        if kind != "parquet" or isinstance(e, FileFormatError | FileNotFoundError | PermissionError):
            raise
        raise FileFormatError(path, f"not a readable Parquet file ({strip_arrow(str(e)).rstrip('.')})") from None


def read_table(kind: str, path: str, schema: pa.Schema, options: dict | None = None) -> pa.Table:
    """A whole file as one table of `schema`."""
    return pa.Table.from_batches(list(read_batches(kind, path, schema, 1 << 20, options)), schema)


def _csv_blocks(path: str, schema: pa.Schema, delimiter: str) -> Iterator[pa.RecordBatch]:
    header = csv_header(path, delimiter)
    for f in schema:
        if f.name not in header:
            raise RecordError(path, None, f.name, f"missing column; the header has {', '.join(header) or 'nothing'}")
    names = schema.names
    types = {f.name: (pa.string() if needs_text_parse(f.type) else f.type) for f in schema}
    invalid_rows: list = []
    read, parse, convert = csv_options(names, types, delimiter, invalid_rows)
    row = 0  # data rows delivered so far
    if header_only(path):
        return  # Arrow's reader cannot open a header without a line after it: no rows
    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        for b in reader:
            b = b.select(names)
            refuse_bad_text(path, b, schema, row)
            arrays = []
            for f, col in zip(schema, b.columns, strict=True):
                if col.type == f.type:
                    arrays.append(col)
                    continue
                bad = first_bad_index(col, f.type)
                if bad is not None:
                    raise RecordError(path, row + bad + 1, f.name, bad_value_reason(col[bad].as_py(), f.type))
                arrays.append(convert_strings(col, f.type))
            row += b.num_rows
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)
    except pa.ArrowInvalid as e:
        raise _locate_csv_error(path, schema, delimiter, invalid_rows, e) from None


def _locate_csv_error(path: str, schema: pa.Schema, delimiter: str, invalid_rows: list,
                      cause: Exception) -> RecordError:
    """Re-read the file as text to name the first bad row and column (error path only)."""
    if invalid_rows:
        bad = invalid_rows[0]
        row = _row_of_text(path, delimiter, bad.text, bad.actual_columns)
        return RecordError(path, row, None, f"expected {bad.expected_columns} fields, got {bad.actual_columns}"
                                            f" ({bad.text[:80]!r})")
    read, parse, convert = csv_options(schema.names, {f.name: pa.string() for f in schema}, delimiter)
    row = 0
    try:
        for b in pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert):
            found = []
            for f in schema:
                col = b.column(f.name)
                bad_text = utf8_bad_indices(col)
                i = first_bad_index(col, f.type)
                if bad_text and (i is None or bad_text[0] <= i):  # the earlier of the two in this column
                    found.append((bad_text[0], f, utf8_reason(col, bad_text[0])))
                elif i is not None:
                    found.append((i, f, None))
            if found:
                i, f, reason = min(found, key=lambda x: x[0])
                return RecordError(path, row + i + 1, f.name,
                                   reason or bad_value_reason(b.column(f.name)[i].as_py(), f.type))
            row += b.num_rows
    except pa.ArrowInvalid:
        pass
    return records.first_bad_csv_record(path, schema, delimiter) or \
        RecordError(path, None, None, strip_arrow(str(cause)))


def _row_of_text(path: str, delimiter: str, text: str, n_fields: int) -> int | None:
    """The data row holding a malformed line (scan with the csv module; error path only)."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        rd = pycsv.reader(f, delimiter=delimiter)
        next(rd, None)
        for i, rec in enumerate(rd, start=1):
            if len(rec) == n_fields and delimiter.join(rec) == text.rstrip("\r\n"):
                return i
    return None


def _jsonl_blocks(path: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    # Fields read natively get an explicit type; the others (timestamps, dates, decimals, bytes) are
    # left to inference and converted here, so "2026-03-01 12:00:00" and 12.5 both work.
    explicit = pa.schema([f for f in schema if jsonl_native(f.type)])
    parse = pajson.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer")
    read = pajson.ReadOptions(use_threads=False, block_size=1 << 20)
    if first_non_object_line(path) is not None:  # never given to Arrow's reader (see there); the first
        raise _locate_json_error(path, schema, ValueError("a line must hold one JSON object"))  # bad line
    row = 0
    try:
        for b in pajson.open_json(path, read_options=read, parse_options=parse):
            refuse_bad_text(path, b, schema, row)
            arrays = []
            for f in schema:
                idx = b.schema.get_field_index(f.name)
                if idx < 0:  # a key absent from every object of this block: null
                    arrays.append(pa.nulls(b.num_rows, f.type))
                    continue
                col = b.column(idx)
                if pa.types.is_string(col.type):
                    bad = first_bad_index(col, f.type)
                    if bad is not None:
                        raise RecordError(path, row + bad + 1, f.name, bad_value_reason(col[bad].as_py(), f.type))
                    arrays.append(convert_strings(col, f.type))
                elif records.numbers_for_text(pa.table([col], names=[f.name]), pa.schema([f])):
                    raise _locate_json_error(path, schema, ValueError("a number for a time"))
                else:
                    try:
                        arrays.append(col.cast(f.type))
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                        raise RecordError(path, None, f.name, f"cannot read {col.type} values as {type_name(f.type)}: "
                                                              f"{e}") from None
            row += b.num_rows
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)
    except pa.ArrowInvalid as e:
        raise _locate_json_error(path, schema, e) from None


_NOT_OBJECT = re.compile(rb"^[ \t\r]*[^{ \t\r\n]", re.MULTILINE)


def first_non_object_line(path: str) -> int | None:
    """The 1-based record number of the first non-blank line that does not start a JSON object.
    pyarrow 26's JSON reader crashes the process (SIGSEGV) on a line such as ` null}`, so such lines
    are found here, by a regex over the mapped file, before Arrow reads any of it."""
    import mmap

    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return None
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            hit = _NOT_OBJECT.search(m)
            if hit is None:
                return None
            before = m[: hit.start()]
            return sum(1 for ln in before.split(b"\n") if ln.strip()) + 1


def _locate_json_error(path: str, schema: pa.Schema, cause: Exception) -> RecordError:
    """Find the first line that is not a JSON object or has a value of the wrong JSON type."""
    row = 0
    with open(path, "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            row += 1
            line = raw.decode("utf-8", "surrogateescape")  # a byte that is not UTF-8 stays visible
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                return RecordError(path, row, None, f"not valid JSON: {e.msg}")
            if not isinstance(obj, dict):
                return RecordError(path, row, None, "a line must hold one JSON object")
            for fld in schema:
                reason = records.json_text_problem(obj.get(fld.name)) or \
                    records.json_value_problem(obj.get(fld.name), fld.type)
                if reason is not None:
                    return RecordError(path, row, fld.name, reason)
    return RecordError(path, None, None, strip_arrow(str(cause)))


# ---------------------------------------------------------------- writers


class Writer:
    """Writes batches of one schema; `rows` counts what was written. Use as a context manager or close()."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.rows = 0
        self.closed = False

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._write(batch)
            self.rows += batch.num_rows

    def _write(self, batch: pa.RecordBatch) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish: for a file, the moment it appears (or replaces the previous one) whole."""
        if not self.closed:
            self.closed = True
            self._close()

    def abort(self) -> None:
        """Give up (a failed or interrupted run): a file writer leaves the previous file untouched."""
        if not self.closed:
            self.closed = True
            self._abort()

    def _close(self) -> None:
        pass

    def _abort(self) -> None:
        self._close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


TMP_SUFFIX = ".flowc-tmp"


class AtomicFile:
    """A file written beside its destination (`.<name>.<pid>.<n>.flowc-tmp` in the same directory)
    and renamed over it only when complete, after an fsync: no reader ever sees it half-written, and
    a failed, interrupted or killed run leaves the previous file as it was. Leftovers of killed runs
    (their process gone) are removed when the next writer of the same file opens."""

    _count = 0

    def __init__(self, path: str):
        self.path = path
        directory, name = os.path.split(os.path.abspath(path))
        _remove_stale(directory, name)
        AtomicFile._count += 1
        self.tmp = os.path.join(directory, f".{name}.{os.getpid()}.{AtomicFile._count}{TMP_SUFFIX}")

    def commit(self) -> None:
        with open(self.tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(self.tmp, self.path)
        try:  # the rename itself durable
            fd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass

    def discard(self) -> None:
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


def _remove_stale(directory: str, name: str) -> None:
    prefix = f".{name}."
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for e in entries:
        if not (e.startswith(prefix) and e.endswith(TMP_SUFFIX)):
            continue
        pid = e[len(prefix):-len(TMP_SUFFIX)].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(os.path.join(directory, e))
            except OSError:
                pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def text_columns(batch: pa.RecordBatch | pa.Table) -> list[pa.Array]:
    """Columns as CSV shows them: timestamps 'YYYY-MM-DD HH:MM:SS.ffffff' (timestamptz with '+00:00'),
    intervals as integer microseconds; other types as pyarrow's CSV writer prints them."""
    out = []
    for col in batch.columns:
        t = col.type
        if pa.types.is_timestamp(t):
            s = pc.strftime(col.cast(pa.timestamp("us", t.tz)), "%Y-%m-%d %H:%M:%S")
            out.append(pc.binary_join_element_wise(s, "+00:00", "") if t.tz else s)
        elif pa.types.is_duration(t):
            out.append(col.cast(pa.duration("us")).cast(pa.int64()))
        else:
            out.append(col)
    return out


def _text_schema(schema: pa.Schema) -> pa.Schema:
    def conv(t: pa.DataType) -> pa.DataType:
        if pa.types.is_timestamp(t):
            return pa.string()
        if pa.types.is_duration(t):
            return pa.int64()
        return t
    return pa.schema([pa.field(f.name, conv(f.type)) for f in schema])


def _csv_bytes(batch: pa.RecordBatch, text_schema: pa.Schema) -> bytes:
    """CSV text of a batch without header. Values are quoted only when a batch has a string that needs
    it (a delimiter, quote, line break) or is empty (so '' stays distinct from null, an empty cell)."""
    cols = text_columns(batch)
    quote = False
    for src in batch.columns:
        if pa.types.is_string(src.type) or pa.types.is_large_string(src.type):
            if pc.any(pc.match_substring_regex(src, r'^$|[,"\r\n]')).as_py():
                quote = True
                break
        elif pa.types.is_binary(src.type):
            quote = True
            break
    buf = pa.BufferOutputStream()
    pacsv.write_csv(pa.RecordBatch.from_arrays(cols, schema=text_schema), buf,
                    write_options=pacsv.WriteOptions(include_header=False,
                                                     quoting_style="needed" if quote else "none"))
    return buf.getvalue().to_pybytes()


def _header_line(schema: pa.Schema) -> bytes:
    return (",".join(_quote_header(n) for n in schema.names) + "\n").encode("utf-8")


class CsvWriter(Writer):
    def __init__(self, path: str, schema: pa.Schema):
        super().__init__(schema)
        self._text = _text_schema(schema)
        self._atomic = AtomicFile(path)
        self._file = open(self._atomic.tmp, "wb")  # noqa: SIM115 - closed by close()
        self._file.write(_header_line(schema))  # the header goes out even if no row ever comes

    def _write(self, batch: pa.RecordBatch) -> None:
        self._file.write(_csv_bytes(batch, self._text))

    def _close(self) -> None:
        self._file.close()
        self._atomic.commit()

    def _abort(self) -> None:
        self._file.close()
        self._atomic.discard()


class StdoutWriter(Writer):
    """CSV text on sys.stdout (looked up at each write, so captured stdout works)."""

    def __init__(self, schema: pa.Schema):
        super().__init__(schema)
        self._text = _text_schema(schema)
        sys.stdout.write(_header_line(schema).decode("utf-8"))

    def _write(self, batch: pa.RecordBatch) -> None:
        sys.stdout.write(_csv_bytes(batch, self._text).decode("utf-8"))
        sys.stdout.flush()


def _quote_header(name: str) -> str:
    return '"' + name.replace('"', '""') + '"' if any(c in name for c in ',"\n\r') else name


class JsonlWriter(Writer):
    """One JSON object per line, built column-wise with Arrow string kernels."""

    def __init__(self, path: str, schema: pa.Schema):
        super().__init__(schema)
        self._atomic = AtomicFile(path)
        self._file = open(self._atomic.tmp, "wb")  # noqa: SIM115 - closed by close()
        self._keys = [json.dumps(n) + ":" for n in schema.names]

    def _write(self, batch: pa.RecordBatch) -> None:
        parts: list = []
        for i, (key, col) in enumerate(zip(self._keys, batch.columns, strict=True)):
            parts.append(("{" if i == 0 else ",") + key)
            parts.append(_json_values(col))
        parts.append("}\n")
        lines = pc.binary_join_element_wise(*parts, "")
        # the lines are contiguous in the string array's data buffer: write them in one go
        lines = lines.cast(pa.large_string()) if len(lines) else lines
        offsets = lines.buffers()[1]
        data = lines.buffers()[2]
        offs = np.frombuffer(offsets, dtype=np.int64)[lines.offset: lines.offset + len(lines) + 1]
        self._file.write(memoryview(data)[int(offs[0]): int(offs[-1])])

    def _close(self) -> None:
        self._file.close()
        self._atomic.commit()

    def _abort(self) -> None:
        self._file.close()
        self._atomic.discard()


def _json_values(col: pa.Array) -> pa.Array:
    """Each value as JSON text ('null' for nulls)."""
    t = col.type
    if pa.types.is_null(t):
        return pa.array(["null"] * len(col), pa.string())
    if pa.types.is_boolean(t):
        out = pc.if_else(col, "true", "false")
    elif pa.types.is_integer(t) or pa.types.is_decimal(t):
        out = col.cast(pa.string())
    elif pa.types.is_floating(t):
        finite = pc.is_finite(col)
        out = pc.if_else(finite, col.cast(pa.string()), pa.scalar(None, pa.string()))
    elif pa.types.is_duration(t):
        out = col.cast(pa.duration("us")).cast(pa.int64()).cast(pa.string())
    elif pa.types.is_timestamp(t) or pa.types.is_date(t):
        out = _json_string(text_columns(pa.record_batch({"x": col}))[0].cast(pa.string()))
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        out = _json_string(col.cast(pa.string()))
    else:  # bytes and anything else: per-value text (rare)
        out = pa.array([None if v is None else json.dumps(v.decode("utf-8", "backslashreplace")
                                                           if isinstance(v, bytes) else str(v))
                        for v in col.to_pylist()], pa.string())
    return out.fill_null("null")


def _json_string(s: pa.Array) -> pa.Array:
    if pc.any(pc.match_substring_regex(s, r"[\x00-\x1f\\\"]")).as_py():
        if pc.any(pc.match_substring_regex(s, r"[\x00-\x08\x0b\x0c\x0e-\x1f]")).as_py():
            return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in s.to_pylist()],
                            pa.string())
        for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            s = pc.replace_substring(s, old, new)
    return pc.binary_join_element_wise('"', s, '"', "")


class ParquetWriter(Writer):
    def __init__(self, path: str, schema: pa.Schema):
        super().__init__(schema)
        self._atomic = AtomicFile(path)
        self._w = pq.ParquetWriter(self._atomic.tmp, schema)

    def _write(self, batch: pa.RecordBatch) -> None:
        self._w.write_batch(batch)

    def _close(self) -> None:
        self._w.close()
        self._atomic.commit()

    def _abort(self) -> None:
        self._w.close()
        self._atomic.discard()


def open_writer(kind: str, path: str | None, schema: pa.Schema) -> Writer:
    """A writer for `kind` (csv | jsonl | parquet | stdout); parent directories are created."""
    if kind == "stdout":
        return StdoutWriter(schema)
    if kind not in KINDS_WRITE:
        raise ValueError(f"cannot write connector kind {kind!r}")
    if not path:
        raise ValueError(f"{kind} writer needs a path")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    if kind == "csv":
        return CsvWriter(path, schema)
    if kind == "jsonl":
        return JsonlWriter(path, schema)
    return ParquetWriter(path, schema)
