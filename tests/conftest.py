import os
import sys

# tests import their helpers as plain modules (`from support import ...`)
sys.path.insert(0, os.path.dirname(__file__))

# Hypothesis profiles for the property tests (docs/TESTING.md): `default` fits CI and is derandomized,
# so a CI run draws the same cases as the run before it and main goes red only when the code changes;
# `random` draws as many fresh cases per run, and `long` runs deeper (both for local exploration:
# `pytest tests/test_equivalence.py --hypothesis-profile=long`).
from hypothesis import HealthCheck, settings  # noqa: E402

_PROPERTY_SETTINGS = dict(deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("default", max_examples=300, derandomize=True, **_PROPERTY_SETTINGS)
settings.register_profile("random", max_examples=300, **_PROPERTY_SETTINGS)
settings.register_profile("long", max_examples=5000, **_PROPERTY_SETTINGS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# A Flink cluster for the whole session, started on first use by the tests that need one (the
# property suite's Flink engine, the Flink target's tests): two TaskManagers with two slots each, so
# a job's shuffle crosses processes. $FLOWC_FLINK_JOBMANAGER names a running cluster to use instead.
# Without the flink extra or Java the tests that need it skip, saying which is missing.
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def flink_jobmanager():
    from flowc.targets.flink import cluster

    given = os.environ.get("FLOWC_FLINK_JOBMANAGER")
    if given:
        yield given
        return
    try:
        cluster.flink_dist()
        cluster.java()
    except cluster.FlinkUnavailable as e:
        pytest.skip(str(e))
    with cluster.temporary_cluster(taskmanagers=2, slots=2) as c:
        os.environ["FLOWC_FLINK_JOBMANAGER"] = c.address
        try:
            yield c.address
        finally:
            os.environ.pop("FLOWC_FLINK_JOBMANAGER", None)
