"""Hypothesis settings for the project's own tests: derandomized by default, so CI is
deterministic and a failure reproduces with the printed example (and blob).

HYPOTHESIS_PROFILE=explore runs them randomized with more examples, to look for new bugs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "repo-ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repo-ci"))
