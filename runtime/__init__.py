"""The local streaming runtime: Arrow record batches pushed through operators, with per-row lateness,
watermarks, windows and state. It imports nothing of flowc (only pyarrow, numpy and the stdlib); the
local target (`flowc.targets.local`) compiles the IR into a `Plan` of these operators.

Public pieces:
- io: read_batches, read_table, open_writer, Writer, convert_strings
- records: error_schema (bad records of on_error skip / into), the lenient readers
- errors: RecordError, EvaluationError, RuntimeFault
- eventtime: LatenessTracker, micros, NO_WATERMARK, END_OF_INPUT
- windows: WindowDef
- operators: Operator, FilterOp, ProjectOp, WindowAssignOp, SinkOp, WEIGHT
- aggregate: AggSpec, group_aggregate, GroupState, GlobalAggregateOp, WindowAggregateOp
- changelog_aggregate: ChangelogGroupState (GlobalAggregateOp's state over a changelog)
- session: SessionAggregateOp (session windows)
- executor: SourceNode, Plan, RunStats
- testing: TestStream, Rows, Watermark, End, check_steps (step tests, like Beam's TestStream)
"""
