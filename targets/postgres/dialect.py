"""PostgreSQL SQL text from sqlglot nodes: the stock Postgres writer, quoting every identifier
(`flowc.targets.sql.dialect` says why)."""

from __future__ import annotations

from flowc.targets.sql.dialect import QuotingPostgres, parse_in, quote_ident, render_in
from sqlglot import exp


class PostgresFlow(QuotingPostgres):
    pass


def render(e: exp.Expression, pretty: bool = False) -> str:
    """SQL text of a sqlglot expression for PostgreSQL."""
    return render_in(PostgresFlow, e, pretty)


def parse(sql: str) -> exp.Expression:
    """Parse PostgreSQL text (tests use it to check that what we print reads back)."""
    return parse_in(PostgresFlow, sql)


__all__ = ["PostgresFlow", "render", "parse", "quote_ident"]
