"""The DataFusion target: IR -> SQL (sqlglot, our Postgres-derived dialect) -> DataFusion, batch,
with lateness computed in the plan so results equal the streaming runtime's (SEMANTICS §4)."""

from .dialect import DataFusion, render
from .runner import Execution, datafusion_sql, execute, explain_datafusion, run_datafusion
from .sqlgen import DataFusionPlan, SourcePlan, ViewPlan, compile_datafusion

__all__ = ["DataFusion", "render", "compile_datafusion", "DataFusionPlan", "SourcePlan", "ViewPlan",
           "run_datafusion", "explain_datafusion", "datafusion_sql", "execute", "Execution"]
