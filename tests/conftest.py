"""Hypothesis profiles: deterministic by default; OPTVERIFY_HYPOTHESIS=random explores anew."""

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None, deadline=None,
                          max_examples=25)
settings.register_profile("random", deadline=None, max_examples=100)
settings.load_profile(
    "random" if os.environ.get("OPTVERIFY_HYPOTHESIS") == "random" else "deterministic"
)
