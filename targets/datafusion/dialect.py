"""Our SQL dialect for DataFusion 55: sqlglot has none, and Postgres is the closest writer.

Measured (shared/reference/datafusion.md §1.2): Postgres output runs on DataFusion for every
construct we emit (`||`, `UNNEST(RANGE(..))`, window frames, `COUNT(DISTINCT ..)`), while the generic,
DuckDB, Spark and Trino writers rewrite some of them into functions DataFusion lacks.
"""

from __future__ import annotations

from flowc.targets.sql.dialect import QuotingPostgres, parse_in, quote_ident, render_in
from sqlglot import exp


class DataFusion(QuotingPostgres):
    class Parser(QuotingPostgres.Parser):
        FUNCTIONS = {
            **QuotingPostgres.Parser.FUNCTIONS,
            # DataFusion's to_char takes chrono's strftime formats, not PostgreSQL's patterns: kept as
            # written (sqlglot's TO_CHAR node would translate them as PostgreSQL's)
            "TO_CHAR": lambda args: exp.Anonymous(this="to_char", expressions=args),
        }

    class Generator(QuotingPostgres.Generator):
        TYPE_MAPPING = {
            **QuotingPostgres.Generator.TYPE_MAPPING,
            # DataFusion spells these the short way; TEXT/VARCHAR both map to Utf8 once
            # map_string_types_to_utf8view=false, and VARCHAR is the name DataFusion prints.
            exp.DataType.Type.DOUBLE: "DOUBLE",
            exp.DataType.Type.TEXT: "VARCHAR",
        }


def render(e: exp.Expression, pretty: bool = False) -> str:
    """SQL text of a sqlglot expression in the DataFusion dialect."""
    return render_in(DataFusion, e, pretty)


def parse(sql: str) -> exp.Expression:
    """Parse SQL written in our dialect (used to check that what we print reads back)."""
    return parse_in(DataFusion, sql)


__all__ = ["DataFusion", "render", "parse", "quote_ident"]
