"""Targets: IR to engines (local runtime plan, DataFusion SQL, RisingWave DDL)."""
