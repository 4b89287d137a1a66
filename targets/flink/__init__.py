"""The Flink target: IR -> Flink SQL (sqlglot nodes printed by our Flink dialect), run as one job on
a real Flink cluster (py4j drives the JVM with the apache-flink-libraries jars), deployed as
detached jobs. Module map in ARCHITECTURE.md; semantics and differences in docs/flink.md.

Nothing here imports py4j or starts a JVM: `flowc compile --target flink` works without the extra.
"""
