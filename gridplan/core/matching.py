"""One-to-one matching of old things to new by what they share, largest first: the grid a code stays with
(:mod:`gridplan.core.codes`), the grid label a re-planned grid keeps (:mod:`gridplan.engine.regenerate`)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def one_to_one(firsts: Iterable, seconds: Iterable) -> np.ndarray:
    """Positions of the pairs ``(firsts[i], seconds[i])``, given largest share first, taken while neither side
    of a pair is taken yet (a greedy matching)."""
    taken_first, taken_second, kept = set(), set(), []
    for i, (a, b) in enumerate(zip(firsts, seconds)):
        if a not in taken_first and b not in taken_second:
            taken_first.add(a)
            taken_second.add(b)
            kept.append(i)
    return np.asarray(kept, dtype=np.int64)
