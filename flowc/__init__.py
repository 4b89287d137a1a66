"""flowc: write a streaming pipeline once; run it locally, backfill it on DataFusion, deploy it to RisingWave."""

__version__ = "0.1.0"
