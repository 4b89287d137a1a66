"""The sqlglot dialect both SQL targets start from: Postgres, quoting every identifier.

Quoting every name (rather than only reserved words) keeps the case of flowc names, which both
engines fold to lower case when unquoted, and makes a column named `order` or `we"ird` safe by
construction: sqlglot doubles quotes inside identifiers and string literals, so no name or value
is ever spliced into the text. Names are turned into identifiers with `table` (never parsed).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel


class QuotingPostgres(Postgres):
    def generator(self, **opts):
        opts.setdefault("identify", True)
        # refuse (rather than approximate) anything the writer cannot express
        opts.setdefault("unsupported_level", ErrorLevel.RAISE)
        return super().generator(**opts)


def table(name: str) -> exp.Table:
    """A table named exactly `name`. `exp.to_table` would parse the name as SQL, which fails on a
    quote (`se"lect`) and splits on a dot."""
    return exp.Table(this=exp.to_identifier(name))


def render_in(dialect: type[Postgres], e: exp.Expression, pretty: bool = False) -> str:
    return e.sql(dialect=dialect, pretty=pretty)


def parse_in(dialect: type[Postgres], sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read=dialect)


def quote_ident(name: str) -> str:
    """A name as a quoted SQL identifier, for the few statements built outside sqlglot."""
    return '"' + name.replace('"', '""') + '"'
