"""The RisingWave target: IR -> ordered DDL (sqlglot nodes printed by our dialect subclass)."""

from .ddl import (
    compile_risingwave,
    compile_risingwave_with_warnings,
    risingwave_sql,
    risingwave_warnings,
)
from .dialect import RisingWave, parse_statement, to_sql

__all__ = ["RisingWave", "compile_risingwave", "compile_risingwave_with_warnings", "parse_statement",
           "risingwave_sql", "risingwave_warnings", "to_sql"]
