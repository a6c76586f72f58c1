"""Hypothesis profiles for the suite: `ci` (reproducible, bounded) and `thorough`."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

PROFILES = ("ci", "thorough")

# Servers answer over a network: wall-clock deadlines and "too slow" checks would report the
# transport, not the target, so both are off.
_NETWORK_SAFE = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}

settings.register_profile(
    "ci",
    derandomize=True,  # same examples every run: a CI gate must not flake
    max_examples=30,
    stateful_step_count=20,
    database=None,  # derandomized runs gain nothing from the example database
    **_NETWORK_SAFE,
)
settings.register_profile(
    "thorough",
    max_examples=300,
    stateful_step_count=50,
    phases=list(Phase),
    **_NETWORK_SAFE,
)


def load(name: str) -> None:
    if name not in PROFILES:
        raise ValueError(
            f"unknown hypothesis profile {name!r}; choose one of {', '.join(PROFILES)}"
        )
    settings.load_profile(name)
