"""PostgreSQL SQL text from sqlglot nodes: the stock Postgres writer, quoting every identifier.

Quoting every name (rather than only reserved words) keeps the case of flowc names, which
PostgreSQL would fold to lower case, and makes a column named `order` or `we"ird` safe by
construction: sqlglot doubles quotes inside identifiers and inside string literals, so no name or
value is ever spliced into the text.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel


class PostgresFlow(Postgres):
    def generator(self, **opts):
        opts.setdefault("identify", True)
        # refuse (rather than approximate) anything the writer cannot express
        opts.setdefault("unsupported_level", ErrorLevel.RAISE)
        return super().generator(**opts)


def render(e: exp.Expression, pretty: bool = False) -> str:
    """SQL text of a sqlglot expression for PostgreSQL."""
    return e.sql(dialect=PostgresFlow, pretty=pretty)


def parse(sql: str) -> exp.Expression:
    """Parse PostgreSQL text (tests use it to check that what we print reads back)."""
    return sqlglot.parse_one(sql, read=PostgresFlow)


def quote_ident(name: str) -> str:
    """A name as a quoted SQL identifier, for the few statements built outside sqlglot (COPY)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str | None, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)
