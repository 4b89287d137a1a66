"""Our SQL dialect for DataFusion 55: sqlglot has none, and Postgres is the closest writer.

Measured (shared/reference/datafusion.md §1.2): Postgres output runs on DataFusion for every
construct we emit (`||`, `UNNEST(RANGE(..))`, window frames, `COUNT(DISTINCT ..)`), while the generic,
DuckDB, Spark and Trino writers rewrite some of them into functions DataFusion lacks.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel


class DataFusion(Postgres):
    class Generator(Postgres.Generator):
        TYPE_MAPPING = {
            **Postgres.Generator.TYPE_MAPPING,
            # DataFusion spells these the short way; TEXT/VARCHAR both map to Utf8 once
            # map_string_types_to_utf8view=false, and VARCHAR is the name DataFusion prints.
            exp.DataType.Type.DOUBLE: "DOUBLE",
            exp.DataType.Type.TEXT: "VARCHAR",
        }

    def generator(self, **opts):
        # Quote every identifier: DataFusion lower-cases unquoted names, and our names keep their case.
        # Refuse (rather than approximate) anything the writer cannot express.
        opts.setdefault("identify", True)
        opts.setdefault("unsupported_level", ErrorLevel.RAISE)
        return super().generator(**opts)


def render(e: exp.Expression, pretty: bool = False) -> str:
    """SQL text of a sqlglot expression in the DataFusion dialect."""
    return e.sql(dialect=DataFusion, pretty=pretty)


def parse(sql: str) -> exp.Expression:
    """Parse SQL written in our dialect (used to check that what we print reads back)."""
    import sqlglot

    return sqlglot.parse_one(sql, read=DataFusion)


def quote_ident(name: str) -> str:
    """A name as a quoted SQL identifier, for the DataFusion Python APIs that parse table names."""
    return '"' + name.replace('"', '""') + '"'
