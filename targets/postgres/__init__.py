"""The PostgreSQL target: IR -> SQL views over tables (sqlglot, Postgres writer), run on a real
server with the batch meaning of SEMANTICS §4; and `flowc deploy` over the Postgres wire."""

from .dialect import PostgresFlow, quote_ident, render
from .runner import run_postgres
from .sqlgen import PgObject, PostgresPlan, compile_postgres, postgres_sql

__all__ = ["PostgresFlow", "render", "quote_ident", "compile_postgres", "postgres_sql", "PostgresPlan",
           "PgObject", "run_postgres"]
