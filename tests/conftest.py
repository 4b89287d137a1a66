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
