"""A `table`'s contents in SQL: the last version of each primary key (LANGUAGE.md "versioned
table", SEMANTICS §5).

A table file may list a primary key several times: each line is a new version of that row, and a
lookup join reads the current one. A batch run reads the whole file first, so the current version
of a key is its last line. Both SQL targets hold a table's lines as read in `__raw_<name>`, with
`__arrival` numbering them in file order, and read the table itself through `last_versions`, the
same rule as the local runtime's `dedupe_last`: per key, the row with the largest `__arrival`; null
key values form one key (as SQL's PARTITION BY, and the runtime's grouping, treat them). A table
without a primary key is every line.
"""

from __future__ import annotations

from flowc.compiler import ir
from sqlglot import exp

from .dialect import table
from .expressions import col, lit_int
from .names import ARRIVAL, raw_table_name


def raw_table(t: ir.Table) -> exp.Table:
    """The table holding t's lines as read, plus `__arrival`."""
    return table(raw_table_name(t.name))


def last_versions(t: ir.Table) -> exp.Select:
    """t's columns, one row per primary key value: the key's last line in `__arrival` order."""
    cols = [col(f.name) for f in t.schema]
    raw = raw_table(t)
    if not t.primary_key:
        return exp.select(*cols).from_(raw)
    newest = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in t.primary_key],
                        order=exp.Order(expressions=[exp.Ordered(this=col(ARRIVAL), desc=True)]))
    ranked = exp.select(*(c.copy() for c in cols), exp.alias_(newest, "__version")).from_(raw)
    return exp.select(*cols).from_(ranked.subquery("__versions")) \
        .where(exp.EQ(this=col("__version"), expression=lit_int(1)))


__all__ = ["raw_table", "last_versions"]
