"""Hypothesis profiles: derandomized in every ordinary run, many new random examples in ``make test-explore``.

``ci`` (the default) seeds each property from its own name, so every run draws the same examples and a landing
never fails on an example drawn for the first time. ``explore`` draws new random examples, :data:`EXPLORE_FACTOR`
times as many as a property names; a failure it finds is pinned with ``@example`` beside the property.
"""

from __future__ import annotations

import os

from hypothesis import settings

#: The profile in force: ``$HYPOTHESIS_PROFILE``, ``ci`` by default.
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
#: How many more examples a property draws when exploring.
EXPLORE_FACTOR = 10

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)


def examples(count: int) -> int:
    """The examples a property that names ``count`` draws under the profile in force."""
    return count * EXPLORE_FACTOR if PROFILE == "explore" else count
