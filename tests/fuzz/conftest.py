"""Hypothesis profiles: `ci` (default: derandomized, few examples, seconds) and `long`
(HVD_FUZZ_PROFILE=long, see tools/fuzz/README.md)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", derandomize=False, max_examples=20_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HVD_FUZZ_PROFILE", "ci"))
