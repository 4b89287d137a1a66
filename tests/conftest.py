import os
import sys

# tests import their helpers as plain modules (`from support import ...`)
sys.path.insert(0, os.path.dirname(__file__))

# Hypothesis profiles for the property tests (docs/TESTING.md): `default` fits CI, `long` runs deeper
# locally (`pytest tests/test_equivalence.py --hypothesis-profile=long`).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("default", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=5000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
