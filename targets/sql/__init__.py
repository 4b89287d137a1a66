"""What the SQL targets (DataFusion, PostgreSQL) share: IR -> sqlglot with the batch meaning of
SEMANTICS §4. Each target supplies the dialect details as hooks on small classes:

    dialect.py      a Postgres-derived sqlglot dialect that quotes every name; render/parse
    names.py        the helper columns and tables the generated SQL uses (`__arrival`, ...)
    expressions.py  IR expressions and aggregates (hooks: casts, literals, a few functions); the
                    text of time literals, which RisingWave spells the same way
    timeaxis.py     how a target compares times and adds durations (integer µs or native times)
    lateness.py     the on-time flag of each source row (SEMANTICS §1), computed in SQL
    relations.py    IR relations -> one SELECT each (hooks: windows, distinct, top); what a sink
                    of a view receives (query and Arrow schema)
    connectors.py   which connectors a target runs over; reading and writing files for a run
"""
