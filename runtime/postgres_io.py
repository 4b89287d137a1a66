"""PostgreSQL as a source and a sink of Arrow batches (the `postgres(...)` connector).

Source: the rows of a table or a query, in arrival order (`ORDER BY` the `order_by` columns; a
table without `order_by` is read in the order of its single-column primary key), in batches of
exactly `batch_size` rows, typed to the declared Arrow schema. Each column is CAST to the declared
PostgreSQL type on the server (so `numeric` is rounded to the declared scale, `int` widened to
`bigint`, ...) and read through a server-side cursor with binary results, fetched in blocks of
`FETCH_ROWS` rows and turned into Arrow arrays column by column. That is the fastest path we
measured with psycopg: `COPY ... TO STDOUT` sends one message per row, which psycopg hands to
Python one row at a time (1M rows of 5 columns: cursor 1.1s, COPY csv parsed by Arrow 1.6-1.9s,
COPY binary with psycopg's row parser 2.6s). Intervals come over as integer microseconds.

Sink: rows go in as CSV written by Arrow, through `COPY ... FROM STDIN`, all in one transaction that
commits when the writer closes (the run completes): a failed, interrupted or killed run leaves the
table as it was, as a file sink keeps its previous file. (Checkpointed runs will commit per checkpoint.)
Without a key the sink appends (a '-' row is an error: the view retracts rows, give a key). With a
key, the batch is staged in a temporary table and applied as: rows consolidated by weight ('+' is
+1, '-' is -1, per whole row, so the order of a retraction and its replacement inside a batch does
not matter); keys of rows with a negative net weight are deleted, then rows with a positive net
weight are upserted (`INSERT ... ON CONFLICT (key) DO UPDATE`). The sink creates its table if it
does not exist (`CREATE TABLE IF NOT EXISTS`, columns of the declared types, PRIMARY KEY (key) when
there is a key); it never creates a schema.

Identifiers are always quoted by psycopg.sql, never spliced. The caller connects (so passwords
and DSN rules live in one place) and passes `redact`, applied to every server message we raise.
This module imports psycopg and pyarrow only (and the runtime's re-batching).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql

from .io import Writer, rebatch

FETCH_ROWS = 10_000  # rows per round trip of the source cursor (the fastest block size we measured)
OP = "_op"
_STAGE = "__flowc_stage"
_ORD = "__flowc_ord"
_WEIGHT = "__flowc_w"

Connect = Callable[[], object]  # returns an open psycopg.Connection (autocommit off)


class PostgresIOError(Exception):
    """A failure talking to PostgreSQL; the message is already redacted and has one line."""


def _no_redact(text: str) -> str:
    return text


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# ---------------------------------------------------------------- names and types


def table_name(name: str) -> sql.Identifier:
    """'t' or 'schema.t' (split at the first dot; a table whose name contains a dot cannot be named)."""
    parts = name.split(".", 1)
    if not all(parts):
        raise PostgresIOError(f"bad table name {name!r}: write 'table' or 'schema.table'")
    return sql.Identifier(*parts)


def column_list(text: str | Sequence[str]) -> list[str]:
    """'a, b' -> ['a', 'b'] (order_by and key arguments)."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else [str(n) for n in text]
    if not names or not all(names):
        raise PostgresIOError(f"bad column list {text!r}: write 'a' or 'a,b'")
    return names


def pg_type(t: pa.DataType) -> str:
    """The PostgreSQL type holding an Arrow type exactly (the IR's type mapping)."""
    if pa.types.is_decimal(t):
        return f"NUMERIC({t.precision}, {t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_duration(t):
        return "INTERVAL"
    simple = {pa.bool_(): "BOOLEAN", pa.int32(): "INT", pa.int64(): "BIGINT", pa.float64(): "DOUBLE PRECISION",
              pa.string(): "TEXT", pa.binary(): "BYTEA", pa.date32(): "DATE"}
    if t in simple:
        return simple[t]
    raise PostgresIOError(f"no PostgreSQL type for Arrow type {t}")


# ---------------------------------------------------------------- source


def primary_key(conn, table: str) -> list[str] | None:
    """The primary key columns of `table` (None: no such table), in key order."""
    regclass = table_name(table).as_string(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)::oid", (regclass,))
        oid = cur.fetchone()[0]
        if oid is None:
            return None
        cur.execute("SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(n, pos)"
                    " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n"
                    " WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.pos", (oid,))
        return [r[0] for r in cur.fetchall()]


def source_query(schema: pa.Schema, table: str | None = None, query: str | None = None,
                 order_by: Sequence[str] | None = None) -> sql.Composed:
    """SELECT the schema's columns, cast to their declared types, from the table or the query, ORDER
    BY `order_by` (a query without order_by keeps its own order)."""
    if (table is None) == (query is None):
        raise PostgresIOError("give exactly one of table or query")
    cols = []
    for f in schema:
        c = sql.Identifier(f.name)
        if pa.types.is_duration(f.type):
            # interval -> integer microseconds (months count 30 days, as EXTRACT does)
            e = sql.SQL("CAST(EXTRACT(EPOCH FROM CAST({} AS INTERVAL)) * 1000000 AS BIGINT)").format(c)
        else:
            e = sql.SQL("CAST({} AS {})").format(c, sql.SQL(pg_type(f.type)))
        cols.append(sql.SQL("{} AS {}").format(e, c))
    if table is not None:
        rel = table_name(table)
    else:
        rel = sql.SQL("({}) AS {}").format(sql.SQL(query.strip().rstrip(";")), sql.Identifier("__flowc_q"))
    q = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(cols), rel)
    if order_by:
        q = sql.SQL("{} ORDER BY {}").format(q, sql.SQL(", ").join(sql.Identifier(n) for n in order_by))
    return q


def read_batches(connect: Connect, schema: pa.Schema, batch_size: int, table: str | None = None,
                 query: str | None = None, order_by: Sequence[str] | None = None,
                 redact: Callable[[str], str] = _no_redact, ordered: bool = True) -> Iterator[pa.RecordBatch]:
    """Batches of exactly `batch_size` rows (the last may be smaller) of `schema`, in arrival order.

    A table without `order_by` is read in primary-key order when its primary key has one column;
    otherwise `order_by` is required (PostgreSQL has no stable row order of its own), unless
    `ordered` is False (a lookup table, whose order does not matter): then it comes in any order.
    Raises PostgresIOError (redacted) for anything the server or the conversion rejects.
    """
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    return rebatch(_fetch(connect, schema, table, query, order_by, redact, ordered), batch_size, schema)


def _fetch(connect: Connect, schema: pa.Schema, table, query, order_by, redact,
           ordered: bool) -> Iterator[pa.RecordBatch]:
    import psycopg

    conn = connect()
    try:
        with conn.transaction():
            conn.execute("SET LOCAL TIME ZONE 'UTC'")  # timestamptz values arrive as UTC
            if table is not None and not order_by:
                order_by = _default_order(conn, table, ordered)
            q = source_query(schema, table, query, order_by)
            # a named (server-side) cursor streams: the client holds FETCH_ROWS rows at a time
            with conn.cursor(name="__flowc_source", binary=True) as cur:
                cur.itersize = FETCH_ROWS
                cur.execute(q)
                while True:
                    rows = cur.fetchmany(FETCH_ROWS)
                    if not rows:
                        break
                    yield _to_batch(rows, schema)
    except psycopg.Error as e:
        what = f"table {table}" if table is not None else "the query"
        raise PostgresIOError(redact(f"reading {what}: {_first_line(e)}")) from None
    finally:
        conn.close()


def _default_order(conn, table: str, ordered: bool = True) -> list[str]:
    pk = primary_key(conn, table)
    if pk is None:
        raise PostgresIOError(f"table {table} does not exist")
    if not ordered:
        return pk
    if len(pk) != 1:
        why = "has no primary key" if not pk else f"has a primary key of {len(pk)} columns"
        raise PostgresIOError(f"table {table} {why}: give order_by = 'column' (the arrival order)")
    return pk


def _to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    arrays = []
    for f, values in zip(schema, columns, strict=True):
        try:
            if pa.types.is_duration(f.type):
                arrays.append(pa.array(values, pa.int64()).cast(f.type))
            else:
                arrays.append(pa.array(values, f.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
            raise PostgresIOError(f"column {f.name}: cannot convert to {f.type}: {_first_line(e)}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# ---------------------------------------------------------------- sink


def copy_text(batch: pa.RecordBatch | pa.Table) -> bytes:
    """CSV (no header) as COPY (FORMAT csv) reads it: strings always quoted, so '' is not NULL (an
    unquoted empty field); times as ISO text, intervals as 'N microseconds', bytes as hex."""
    cols = []
    for c in batch.columns:
        t = c.type
        if pa.types.is_timestamp(t):
            s = pc.strftime(c.cast(pa.timestamp("us", t.tz)), "%Y-%m-%d %H:%M:%S")
            c = pc.binary_join_element_wise(s, "+00:00", "") if t.tz else s
        elif pa.types.is_duration(t):
            c = pc.binary_join_element_wise(c.cast(pa.duration("us")).cast(pa.int64()).cast(pa.string()),
                                            " microseconds", "")
        elif pa.types.is_binary(t):
            # bytea's hex input; rare enough for per-value Python
            c = pa.array([None if v is None else "\\x" + v.hex() for v in c.to_pylist()], pa.string())
        cols.append(c)
    buf = pa.BufferOutputStream()
    names = [f"c{i}" for i in range(len(cols))]
    pacsv.write_csv(pa.table(cols, names=names), buf,
                    pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buf.getvalue().to_pybytes()


class PostgresWriter(Writer):
    """Writes batches into a PostgreSQL table, in one transaction: close() commits, abort() rolls back.

    `schema` may start with `_op` ('+' / '-'), as sinks of `emit changes` views do. Without `key`,
    rows are appended (a '-' row raises: the view retracts, so the sink needs a key); with `key`,
    the table is maintained as the view's current contents (upsert by key, delete on retraction).
    """

    def __init__(self, connect: Connect, table: str, schema: pa.Schema, key: Sequence[str] | None = None,
                 redact: Callable[[str], str] = _no_redact, create: bool = True):
        super().__init__(schema)
        import psycopg

        self.table = table
        self.key = list(key) if key else None
        self.redact = redact
        self.has_op = len(schema) > 0 and schema.field(0).name == OP
        self.data = pa.schema([f for f in schema if f.name != OP]) if self.has_op else schema
        missing = [k for k in self.key or [] if k not in self.data.names]
        if missing:
            raise PostgresIOError(f"key column {', '.join(missing)} is not a column of the view "
                                  f"({', '.join(self.data.names)})")
        self._ident = table_name(table)
        self._conn = connect()  # autocommit off: everything from here on is one transaction
        self._failed = False
        try:
            if create:
                self._conn.execute(self._create_sql())
            if self.key:
                self._conn.execute(self._stage_sql())
        except psycopg.Error as e:
            self._conn.rollback()
            self._conn.close()
            raise PostgresIOError(redact(f"preparing table {table}: {_first_line(e)}")) from None

    # -- SQL
    def _columns(self, extra: Sequence[sql.Composable] = ()) -> sql.Composed:
        defs = list(extra) + [sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(pg_type(f.type)))
                              for f in self.data]
        return sql.SQL(", ").join(defs)

    def _create_sql(self) -> sql.Composed:
        extra = []
        if self.key:
            extra = [sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(sql.Identifier(k) for k in self.key))]
        body = sql.SQL(", ").join([self._columns(), *extra])
        return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(self._ident, body)

    def _stage_sql(self) -> sql.Composed:
        extra = [sql.SQL("{} BIGINT").format(sql.Identifier(_ORD)), sql.SQL("{} INT").format(sql.Identifier(_WEIGHT))]
        return sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(_STAGE), self._columns(extra))

    def _apply_sql(self) -> tuple[sql.Composed, sql.Composed]:
        cols = [sql.Identifier(n) for n in self.data.names]
        col_list = sql.SQL(", ").join(cols)
        net = sql.SQL("SELECT {cols}, sum({w}) AS {w}, max({o}) AS {o} FROM {stage} GROUP BY {cols}").format(
            cols=col_list, w=sql.Identifier(_WEIGHT), o=sql.Identifier(_ORD), stage=sql.Identifier(_STAGE))
        n = sql.Identifier("__flowc_net")
        match = sql.SQL(" AND ").join(sql.SQL("{t}.{k} = {n}.{k}").format(t=self._ident, k=sql.Identifier(k), n=n)
                                      for k in self.key)
        delete = sql.SQL("DELETE FROM {t} USING ({net}) AS {n} WHERE {n}.{w} < 0 AND {match}").format(
            t=self._ident, net=net, n=n, w=sql.Identifier(_WEIGHT), match=match)
        keys = sql.SQL(", ").join(sql.Identifier(k) for k in self.key)
        others = [c for c in self.data.names if c not in self.key]
        on_conflict = (sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in others)) if others
            else sql.SQL("DO NOTHING"))
        # two '+' rows for one key in a batch (a malformed changelog) would make ON CONFLICT fail:
        # the later one wins
        upsert = sql.SQL("INSERT INTO {t} ({cols}) SELECT DISTINCT ON ({keys}) {cols} FROM ({net}) AS {n} "
                         "WHERE {n}.{w} > 0 ORDER BY {keys}, {n}.{o} DESC ON CONFLICT ({keys}) {conflict}").format(
            t=self._ident, cols=col_list, keys=keys, net=net, n=n, w=sql.Identifier(_WEIGHT),
            o=sql.Identifier(_ORD), conflict=on_conflict)
        return delete, upsert

    # -- writing
    def _write(self, batch: pa.RecordBatch) -> None:
        import psycopg

        data = batch.select(self.data.names) if self.has_op else batch
        try:
            with self._conn.cursor() as cur:
                if self.key is None:
                    if self.has_op and pc.any(pc.equal(batch.column(OP), "-")).as_py():
                        raise PostgresIOError(f"a retraction ('-' row) reached table {self.table}, which is "
                                              "appended to: give key = 'column[,column]' to keep the view's "
                                              "current contents instead")
                    self._copy(cur, self._ident, self.data.names, data)
                    return
                sign = (pc.if_else(pc.equal(batch.column(OP), "-"), -1, 1).cast(pa.int32()) if self.has_op
                        else pa.array([1] * batch.num_rows, pa.int32()))
                ordinal = pa.array(range(self.rows, self.rows + batch.num_rows), pa.int64())
                staged = pa.RecordBatch.from_arrays([ordinal, sign, *data.columns],
                                                    names=[_ORD, _WEIGHT, *self.data.names])
                self._copy(cur, sql.Identifier(_STAGE), staged.schema.names, staged)
                delete, upsert = self._apply_sql()
                cur.execute(delete)
                cur.execute(upsert)
                cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(_STAGE)))
        except PostgresIOError:
            self._failed = True
            raise
        except psycopg.Error as e:
            self._failed = True
            hint = ""
            if self.key and "ON CONFLICT" in str(e):
                hint = f" (the table needs a primary key or unique index on ({', '.join(self.key)}))"
            raise PostgresIOError(self.redact(f"writing table {self.table}: {_first_line(e)}{hint}")) from None

    @staticmethod
    def _copy(cur, target: sql.Composable, names: Sequence[str], data: pa.RecordBatch) -> None:
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            target, sql.SQL(", ").join(sql.Identifier(n) for n in names))
        with cur.copy(stmt) as copy:
            copy.write(copy_text(data))

    def _close(self) -> None:
        """Commit: the moment the run's rows appear in the table (all of them, or, after a failed
        write, none)."""
        import psycopg

        try:
            if self._failed:
                self._conn.rollback()
            else:
                self._conn.commit()
        except psycopg.Error as e:
            raise PostgresIOError(self.redact(f"committing table {self.table}: {_first_line(e)}")) from None
        finally:
            self._conn.close()

    def _abort(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._conn.close()


__all__ = ["read_batches", "source_query", "primary_key", "PostgresWriter", "PostgresIOError", "copy_text",
           "pg_type", "table_name", "column_list", "FETCH_ROWS"]
