"""Names of the helper columns and tables the generated SQL adds to a program's own."""

ARRIVAL = "__arrival"  # a source row's position in arrival order; lateness and distinct order by it
ON_TIME = "__on_time"  # the on-time flag of a source row (lateness.py)
PREV_MAX = "__prev_max"  # the largest event time among the rows that arrived before
OP = "_op"  # the change column a sink of an `emit changes` view receives


def raw_table_name(source: str) -> str:
    """The table holding a source's rows as read, before the lateness split."""
    return f"__raw_{source}"
