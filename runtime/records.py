"""Bad records (`on_error skip` / `on_error into`): lenient readers for csv, jsonl and parquet that
leave out the records that do not fit the declared schema and hand them over as Arrow batches.

A bad record is described in the *error schema* (`error_schema`), the same for every format and
target (docs/semantics.md, "flowc choices"):

    <each declared column as string>   the record's value of that column as read (csv: the cell
                                       text; jsonl: the JSON string, or the JSON text of any other
                                       value; parquet: the value cast to text); null if absent
    _row     bigint   1-based record number in the file (csv: header excluded; jsonl: blank lines
                      not counted; parquet: row index + 1)
    _column  string   the first column (in declared order) whose value is bad; null when the record
                      as a whole is bad (a csv row with the wrong number of fields, a jsonl line that
                      is not a JSON object)
    _error   string   the reason
    _raw     string   the record's text when it could not be split into fields, else null

A column missing from a file's header (csv) or schema (parquet) is not a bad record but a file that
does not fit the program: it fails under every policy. A key absent from a jsonl object is null.

Good records are parsed in bulk; bad values are located by splitting the failing range in halves
(O(bad * log n) vector casts), so the cost is in the bad records only, never a per-row Python loop
over the good ones.
"""

from __future__ import annotations

import csv as pycsv
import io as pyio
import json
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from .errors import RecordError
from .values import (
    as_valid_text,
    bad_value_reason,
    convert_strings,
    csv_header,
    csv_options,
    header_only,
    jsonl_native,
    refuse_bad_text,
    type_name,
    utf8_bad_indices,
    utf8_reason,
)

ROW, COLUMN, ERROR, RAW = "_row", "_column", "_error", "_raw"
META = (ROW, COLUMN, ERROR, RAW)

# receives the bad records of one block, in file order, as a batch of error_schema(schema)
OnError = Callable[[pa.RecordBatch], None]
Convert = Callable[[pa.Array, pa.DataType], pa.Array]

_CAST_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError, OverflowError)


def error_schema(schema: pa.Schema) -> pa.Schema:
    """The schema bad records of a source with `schema` are written in."""
    clash = [n for n in schema.names if n in META]
    if clash:
        raise ValueError(f"column {clash[0]!r} clashes with the bad-record column of the same name")
    return pa.schema([pa.field(n, pa.string()) for n in schema.names]
                     + [pa.field(ROW, pa.int64()), pa.field(COLUMN, pa.string()), pa.field(ERROR, pa.string()),
                        pa.field(RAW, pa.string())])


def bad_indices(arr: pa.Array, t: pa.DataType, convert: Convert) -> list[int]:
    """Indices of the values of `arr` that `convert(., t)` rejects, in increasing order. A failing
    range is halved until single values remain: good stretches cost one cast each."""
    out: list[int] = []
    stack = [(0, len(arr))]
    while stack:
        lo, hi = stack.pop()
        if hi <= lo:
            continue
        try:
            convert(arr.slice(lo, hi - lo), t)
            continue
        except _CAST_ERRORS:
            pass
        if hi - lo == 1:
            out.append(lo)
            continue
        mid = (lo + hi) // 2
        stack.append((mid, hi))  # popped after the left half: indices come out in order
        stack.append((lo, mid))
    return out


class _Errors:
    """Bad records of one block, gathered and then emitted as one batch sorted by record number."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.out = error_schema(schema)
        self.parts: list[pa.Table] = []

    def add_cells(self, texts: list[pa.Array], rows: np.ndarray, columns: list[str | None], reasons: list[str],
                  raw: list[str | None] | None = None) -> None:
        """Records given as their columns' text (`texts`, one array per declared column)."""
        n = len(rows)
        if not n:
            return
        arrays = [as_valid_text(t.cast(pa.string())) for t in texts]
        arrays += [pa.array(rows, pa.int64()), pa.array(columns, pa.string()), pa.array(reasons, pa.string()),
                   pa.array(raw if raw is not None else [None] * n, pa.string())]
        self.parts.append(pa.Table.from_arrays(arrays, schema=self.out))

    def add_values(self, values: list[dict | None], rows: list[int], columns: list[str | None], reasons: list[str],
                   raw: list[str | None]) -> None:
        """Records given as Python dicts of their fields' text (error path only: a few records)."""
        texts = [pa.array([None if v is None else v.get(n) for v in values], pa.string()) for n in self.schema.names]
        self.add_cells(texts, np.array(rows, np.int64), columns, reasons, raw)

    def flush(self, on_error: OnError) -> None:
        if not self.parts:
            return
        t = pa.concat_tables(self.parts).sort_by(ROW).combine_chunks()
        self.parts = []
        for b in t.to_batches():
            on_error(b)


def _reason(value: object, t: pa.DataType) -> str:
    return bad_value_reason(value, t)


def convert_block(cols: list[pa.Array], schema: pa.Schema, convert: Convert,
                  texts: Callable[[], list[pa.Array]], rows: np.ndarray, errors: _Errors) -> pa.RecordBatch | None:
    """Convert a block's columns to `schema`; records with a bad value go to `errors` (with their
    text, `texts()`, computed only then, and record numbers `rows`) and are left out. None when no
    record is left."""
    n = len(rows)
    first_bad: dict[int, str] = {}  # row index -> first bad column (declared order)
    not_text: dict[int, str] = {}  # row index -> why its value is not UTF-8 text
    for f, col in zip(schema, cols, strict=True):
        for i in utf8_bad_indices(col):
            if i not in first_bad:
                first_bad[i] = f.name
                not_text[i] = utf8_reason(col, i)
        if col.type == f.type:
            continue
        for i in bad_indices(col, f.type, convert):
            first_bad.setdefault(i, f.name)
    if first_bad:
        idx = np.array(sorted(first_bad), dtype=np.int64)
        take = pa.array(idx)
        names = [first_bad[i] for i in idx.tolist()]
        reasons = [not_text.get(i) or _reason(cols[schema.get_field_index(c)][i].as_py(), schema.field(c).type)
                   for i, c in zip(idx.tolist(), names, strict=True)]
        errors.add_cells([t.take(take) for t in texts()], rows[idx], names, reasons)
        keep = np.ones(n, dtype=bool)
        keep[idx] = False
        if not keep.any():
            return None
        mask = pa.array(keep)
        cols = [c.filter(mask) for c in cols]
    arrays = [c if c.type == f.type else convert(c, f.type) for f, c in zip(schema, cols, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _as_text(col: pa.Array) -> pa.Array:
    """A column's values as text, for the error schema (nested or odd types: their Python repr)."""
    if pa.types.is_string(col.type):
        return col
    try:
        return col.cast(pa.string())
    except _CAST_ERRORS:
        return pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())


# ---------------------------------------------------------------- csv


def csv_lenient(path: str, schema: pa.Schema, delimiter: str, on_error: OnError) -> Iterator[pa.RecordBatch]:

    header = csv_header(path, delimiter)
    for f in schema:
        if f.name not in header:
            raise RecordError(path, None, f.name, f"missing column; the header has {', '.join(header) or 'nothing'}")
    position = {n: header.index(n) for n in schema.names}
    invalid: list[tuple[int, str, int, int]] = []  # (data row, text, expected, actual), in file order

    def on_invalid(row) -> str:
        invalid.append((row.number - 1 if row.number is not None else -1, row.text, row.expected_columns,
                        row.actual_columns))
        return "skip"

    read, _, convert_opts = csv_options(schema.names, {f.name: pa.string() for f in schema}, delimiter)
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid)
    errors = _Errors(schema)
    done = 0  # the record number of the last record accounted for
    used = 0  # invalid records accounted for

    if header_only(path):
        return
    try:
        blocks = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert_opts)
    except pa.ArrowInvalid:
        yield from csv_python(path, schema, delimiter, on_error, header, after=0)
        return
    while True:
        try:
            b = next(blocks, None)
        except pa.ArrowInvalid:
            # a record Arrow cannot hand over (a wrong field count in text that is not UTF-8: its
            # handler never sees the row): the rest of the file is read by Python's csv module
            yield from csv_python(path, schema, delimiter, on_error, header, after=done)
            return
        if b is None:
            break
        # the block's good records are the next b.num_rows record numbers not taken by invalid rows
        inv_rows = np.array([r for r, *_ in invalid], dtype=np.int64)
        last = done + b.num_rows
        while True:
            extra = int(np.count_nonzero((inv_rows > done) & (inv_rows <= last)))
            if done + b.num_rows + extra == last:
                break
            last = done + b.num_rows + extra
        span = np.arange(done + 1, last + 1, dtype=np.int64)
        rows = np.setdiff1d(span, inv_rows, assume_unique=False)
        ours = [r for r in invalid[used:] if r[0] <= last]
        used += len(ours)
        done = last
        _add_invalid(errors, ours, position, delimiter)
        cols = [b.column(f.name) for f in schema]
        good = convert_block(cols, schema, convert_strings, lambda cols=cols: cols, rows, errors)
        errors.flush(on_error)
        if good is not None:
            yield good
    _add_invalid(errors, invalid[used:], position, delimiter)
    errors.flush(on_error)


def csv_python(path: str, schema: pa.Schema, delimiter: str, on_error: OnError, header: list[str],
               after: int = 0) -> Iterator[pa.RecordBatch]:
    """The lenient csv reader in Python, for the records after record number `after`: the fallback
    where Arrow's reader gives up on the file (slow, but only ever for a damaged file). Bytes that
    are not UTF-8 are kept (surrogateescape) so that the same rules judge them."""
    position = {n: header.index(n) for n in schema.names}
    with open(path, "rb") as f:
        text = f.read().decode("utf-8-sig", "surrogateescape")
    reader = pycsv.reader(pyio.StringIO(text, newline=""), delimiter=delimiter)
    next(reader, None)
    errors = _Errors(schema)
    rows: list[int] = []
    cells: list[list[str | None]] = [[] for _ in schema]

    def block() -> Iterator[pa.RecordBatch]:
        if rows:
            cols = [pa.array([None if v in (None, "") else v.encode("utf-8", "surrogateescape") for v in c],
                             pa.binary()).view(pa.string()) for c in cells]
            good = convert_block(cols, schema, convert_strings, lambda: cols, np.array(rows, np.int64), errors)
            rows.clear()
            for c in cells:
                c.clear()
            if good is not None:
                yield good
        errors.flush(on_error)

    number = 0
    for rec in reader:
        if not rec:  # a blank line: no record (as Arrow's reader)
            continue
        number += 1
        if number <= after:
            continue
        if len(rec) != len(header):
            values = {n: _clean(rec[i]) if i < len(rec) else None for n, i in position.items()}
            errors.add_values([values], [number], [None], [f"expected {len(header)} fields, got {len(rec)}"],
                              [_clean(delimiter.join(rec))])
            continue
        rows.append(number)
        for c, n in zip(cells, schema.names, strict=True):
            c.append(rec[position[n]])
        if len(rows) >= _LINES_PER_BLOCK:
            yield from block()
    yield from block()


def first_bad_csv_record(path: str, schema: pa.Schema, delimiter: str) -> RecordError | None:
    """The first bad record of a csv file as the lenient reader judges it (the strict reader's error
    path when Arrow's own reader gave up)."""
    found: list[pa.RecordBatch] = []
    for _ in csv_python(path, schema, delimiter, found.append, csv_header(path, delimiter)):
        if found:
            break
    if not found:
        return None
    r = found[0].to_pylist()[0]
    return RecordError(path, r[ROW], r[COLUMN], r[ERROR])


def _clean(s: str) -> str:
    """Text read with surrogateescape, with each byte that is not UTF-8 as U+FFFD."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _add_invalid(errors: _Errors, rows: list, position: dict[str, int], delimiter: str) -> None:
    """CSV records with the wrong number of fields: their fields by header position, and the text."""
    if not rows:
        return
    values = []
    for _, text, _, _ in rows:
        fields = next(pycsv.reader([text], delimiter=delimiter), [])
        values.append({n: fields[i] if i < len(fields) else None for n, i in position.items()})
    errors.add_values(values, [r for r, *_ in rows], [None] * len(rows),
                      [f"expected {e} fields, got {a}" for _, _, e, a in rows], [t for _, t, _, _ in rows])


# ---------------------------------------------------------------- jsonl

_LINES_PER_BLOCK = 1 << 16


def jsonl_lenient(path: str, schema: pa.Schema, on_error: OnError) -> Iterator[pa.RecordBatch]:
    """Lines are parsed in blocks by pyarrow's JSON reader; a block that fails is halved until the
    failing lines stand alone (a line that is not a JSON object, or a value of the wrong JSON type)."""

    with open(path, "rb") as f:
        data = f.read()
    lines = [ln for ln in data.split(b"\n") if ln.strip()]
    errors = _Errors(schema)
    for start in range(0, len(lines), _LINES_PER_BLOCK):
        block = lines[start: start + _LINES_PER_BLOCK]
        for lo, hi, parsed in _parse_json_ranges(block, schema):
            if parsed is None:
                _add_bad_json_line(errors, schema, block[lo], start + lo + 1)
                continue
            cols = [_json_column(parsed, f) for f in schema]
            rows = np.arange(start + lo + 1, start + hi + 1, dtype=np.int64)
            good = convert_block(cols, schema, convert_strings, lambda cols=cols: [_as_text(c) for c in cols],
                                 rows, errors)
            if good is not None:
                yield good
        errors.flush(on_error)


def _json_parse_options(schema: pa.Schema) -> pajson.ParseOptions:
    explicit = pa.schema([f for f in schema if jsonl_native(f.type)])
    return pajson.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer")


def _parse_json_ranges(lines: list[bytes], schema: pa.Schema) -> Iterator[tuple[int, int, pa.Table | None]]:
    """(lo, hi, table) for the ranges of lines that parse, and (i, i + 1, None) for each line that
    does not, in line order. A range that fails is halved until the failing lines stand alone. A
    line that starts no JSON object never reaches Arrow (pyarrow 26's reader crashes the process on
    ` null}`); numbers for times are judged line by line (json_value_problem refuses them)."""
    opts = _json_parse_options(schema)
    objects = [ln.lstrip()[:1] == b"{" for ln in lines]

    def parsed(lo: int, hi: int) -> pa.Table | None:
        if not all(objects[lo:hi]):
            return None
        try:
            table = pajson.read_json(pyio.BytesIO(b"\n".join(lines[lo:hi])), parse_options=opts,
                                     read_options=pajson.ReadOptions(use_threads=False))
        except pa.ArrowInvalid:
            return None
        # a row count that differs is never expected: be safe rather than misnumber records
        return table if table.num_rows == hi - lo and not numbers_for_text(table, schema) else None

    stack = [(0, len(lines))]
    while stack:
        lo, hi = stack.pop()
        if hi <= lo:
            continue
        table = parsed(lo, hi)
        if table is not None:
            yield lo, hi, table.combine_chunks()
        elif hi - lo == 1:
            yield lo, hi, None
        else:
            mid = (lo + hi) // 2
            stack.append((mid, hi))
            stack.append((lo, mid))


def _json_column(table: pa.Table, f: pa.Field) -> pa.Array:
    idx = table.schema.get_field_index(f.name)
    if idx < 0:  # a key absent from every object of the range: null
        return pa.nulls(table.num_rows, f.type)
    col = table.column(idx)
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _add_bad_json_line(errors: _Errors, schema: pa.Schema, line: bytes, row: int) -> None:
    text = line.decode("utf-8", "replace").rstrip("\r")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        errors.add_values([None], [row], [None], [f"not valid JSON: {e.msg}"], [text])
        return
    if not isinstance(obj, dict):
        errors.add_values([None], [row], [None], ["a line must hold one JSON object"], [text])
        return
    values = {n: None if obj.get(n) is None else (obj[n] if isinstance(obj[n], str) else json.dumps(obj[n]))
              for n in schema.names}
    column, reason = _json_type_problem(obj, schema)
    errors.add_values([values], [row], [column], [reason], [None])


def _json_type_problem(obj: dict, schema: pa.Schema) -> tuple[str | None, str]:
    for f in schema:
        reason = json_value_problem(obj.get(f.name), f.type)
        if reason is not None:
            return f.name, reason
    return None, "the line does not parse with the lines around it (mixed value types)"


_INT_BOUNDS = {pa.int8(): 7, pa.int16(): 15, pa.int32(): 31, pa.int64(): 63}


def json_text_problem(v: object) -> str | None:
    """A JSON string holding bytes that are not UTF-8 (read with surrogateescape): the first one."""
    if not isinstance(v, str):
        return None
    try:
        v.encode("utf-8")
        return None
    except UnicodeEncodeError as e:
        byte = ord(v[e.start]) - 0xDC00
        at = len(v[: e.start].encode("utf-8", "surrogateescape")) + 1
        return f"not UTF-8 text: byte 0x{byte:02x} at byte {at} of the value"


def json_value_problem(v: object, t: pa.DataType) -> str | None:
    """Why a JSON value cannot be read as `t` (None if it can): one rule for every policy. Times and
    dates are written as text; a number there is refused, not taken for microseconds."""

    if v is None:
        return None
    if isinstance(v, dict | list):
        return bad_value_reason(v, t)
    if t == pa.bool_():
        return None if isinstance(v, bool) else bad_value_reason(v, t)
    if t in _INT_BOUNDS:
        if not isinstance(v, int) or isinstance(v, bool):
            return bad_value_reason(v, t)
        bits = _INT_BOUNDS[t]
        return None if -(2**bits) <= v < 2**bits else f"{v} is out of range for {type_name(t)}"
    if pa.types.is_floating(t):
        return None if isinstance(v, int | float) and not isinstance(v, bool) else bad_value_reason(v, t)
    if pa.types.is_string(t):
        return None if isinstance(v, str) else bad_value_reason(v, t)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if isinstance(v, str):
            return None
        return (f"a number where a {type_name(t).split(' ')[0]} is declared: write it as text, "
                f"e.g. \"2026-03-01 12:00:00\"" if isinstance(v, int | float) and not isinstance(v, bool)
                else bad_value_reason(v, t))
    return None


def numbers_for_text(table: pa.Table, schema: pa.Schema) -> bool:
    """A range the JSON reader parsed gave numbers (or booleans) for a time or date column: its lines
    must be judged one by one (json_value_problem refuses those values)."""
    for f in schema:
        if not (pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)):
            continue
        idx = table.schema.get_field_index(f.name)
        got = table.schema.field(idx).type if idx >= 0 else None
        if got is not None and (pa.types.is_integer(got) or pa.types.is_floating(got) or pa.types.is_boolean(got)):
            return True
    return False


# ---------------------------------------------------------------- parquet


def _cast(col: pa.Array, t: pa.DataType) -> pa.Array:
    return col.cast(t)


def parquet_blocks(path: str, schema: pa.Schema, on_error: OnError | None) -> Iterator[pa.RecordBatch]:
    """Parquet columns cast to the declared types; a value that does not cast (a string that is no
    number, an integer out of range) is a bad record: it fails the read, or goes to `on_error`."""
    pf = pq.ParquetFile(path)
    have = pf.schema_arrow
    for f in schema:
        if have.get_field_index(f.name) < 0:
            raise RecordError(path, None, f.name, f"missing column; the file has {', '.join(have.names)}")
    errors = _Errors(schema)
    row = 0
    for b in pf.iter_batches(batch_size=1 << 16, columns=schema.names, use_threads=False):
        cols = [b.column(f.name) for f in schema]
        rows = np.arange(row + 1, row + b.num_rows + 1, dtype=np.int64)
        row += b.num_rows
        if on_error is None:
            refuse_bad_text(path, b, schema, row - b.num_rows)
            for f, c in zip(schema, cols, strict=True):
                if c.type != f.type:
                    bad = bad_indices(c, f.type, _cast)
                    if bad:
                        raise RecordError(path, int(rows[bad[0]]), f.name, _reason(c[bad[0]].as_py(), f.type))
            yield pa.RecordBatch.from_arrays([c if c.type == f.type else c.cast(f.type)
                                              for f, c in zip(schema, cols, strict=True)], schema=schema)
            continue
        good = convert_block(cols, schema, _cast, lambda cols=cols: [_as_text(c) for c in cols], rows, errors)
        errors.flush(on_error)
        if good is not None:
            yield good
