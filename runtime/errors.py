"""Errors the runtime raises. The runtime knows nothing of flowc's diagnostics; the local target
turns these into FlowErrors with codes and hints."""

from __future__ import annotations


class RuntimeFault(Exception):
    """Something went wrong while running a plan (not a compiler bug): bad data, I/O."""


class RecordError(RuntimeFault):
    """A record of an input file cannot be read as the declared schema.

    `row` is the 1-based data row (the header excluded) when it can be determined, else None.
    """

    def __init__(self, file: str, row: int | None, column: str | None, reason: str):
        self.file = file
        self.row = row
        self.column = column
        self.reason = reason
        super().__init__(self.describe())

    def describe(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.reason}"


class StateLimitExceeded(RuntimeFault):
    """An operator's state passed the run's limit (`flowc run --max-state-rows N`)."""

    def __init__(self, operator: str, rows: int, limit: int):
        self.operator = operator
        self.rows = rows
        self.limit = limit
        super().__init__(f"the state of {operator} reached {rows} rows, over the limit of {limit}")


class EvaluationError(RuntimeFault):
    """An expression failed on some rows (division by zero, overflow, a failing cast)."""

    def __init__(self, where: str, reason: str):
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class FileFormatError(OSError):
    """An input file is not what its connector reads (not UTF-8 text, not Parquet, truncated)."""

    def __init__(self, file: str, reason: str):
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"
