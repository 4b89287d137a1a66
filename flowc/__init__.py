"""flowc: write a streaming pipeline once; run it locally, backfill it on DataFusion, deploy it to RisingWave.

    import flowc as fc
    flow = fc.load("program.flow")          # or build one in Python with fc.Flow()
    print(flow.compile("risingwave"))
    tables = flow.run()                      # local streaming runtime; {view: pyarrow.Table}
"""

from flowc.api import Flow, load, parse
from flowc.compiler.diagnostics import FlowError
from flowc.dsl.builder import (
    Expr,
    avg,
    case,
    col,
    count,
    count_distinct,
    csv,
    duration,
    env,
    expr,
    func,
    hop,
    jsonl,
    lit,
    max_,
    min_,
    parquet,
    session,
    stdout,
    sum_,
    tumble,
)

__version__ = "0.1.0"

# `fc.max("price")` reads as in the language; inside this module the builtins stay untouched.
max = max_  # noqa: A001
min = min_  # noqa: A001
sum = sum_  # noqa: A001

__all__ = ["Flow", "FlowError", "Expr", "parse", "load", "col", "lit", "expr", "func", "case", "count",
           "count_distinct", "sum", "min", "max", "avg", "tumble", "hop", "session", "csv", "jsonl", "parquet",
           "stdout", "env", "duration", "__version__"]
