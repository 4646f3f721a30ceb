"""A region planned: the phases in order, for each grid count worth trying, and the best layout kept."""

from __future__ import annotations

import numpy as np

from ._bisection import bisect
from ._exact import exact_split
from ._graph import RegionGraph, Sizing, labels_of
from ._proofs import bounds_layout
from ._radius import shorten_radii
from ._refine import refine, score
from ._resplit import resplit


def grid_count_options(total: float, sizing: Sizing) -> list[int]:
    """Grid counts worth trying for a region: ``round(H / target)``, one fewer when that still fits the
    tight band (chunky atoms need slack), one more when the first is above the bounds."""
    k0 = max(1, round(total / sizing.target))
    options = [k0]
    if k0 > 1 and total / (k0 - 1) <= sizing.tight_window.hi:
        options.append(k0 - 1)
    if total / k0 > sizing.bounds_window.hi:
        options.append(k0 + 1)
    return options


def plan_region(graph: RegionGraph, sizing: Sizing, count: int | None = None) -> tuple[np.ndarray, bool]:
    """Grids of one connected region.

    For each grid count tried (or ``count``): bounded bisection, re-splits with neighbours, the exact
    re-split where grids are still outside the tight band, the service-radius re-split and refinement;
    the best layout by :func:`score`. Where grids are still outside the bounds, the whole region is
    searched for a layout with fewer (:func:`bounds_layout`).

    Parameters
    ----------
    graph
        The region.
    sizing
        What a grid should hold.
    count
        The number of grids, fixed by the user; by default chosen (and changed where the exact re-split
        finds a layout with fewer grids outside the band).

    Returns
    -------
    labels, proven
        The grid of each atom (``0 … k-1``), and, when some grid is outside the bounds, whether it is proven
        that no layout of the region has fewer outside them.
    """
    options = [count] if count is not None else grid_count_options(graph.w.sum(), sizing)
    best, best_score = None, None
    for wanted in options:
        parts = bisect(graph, np.arange(graph.n), wanted, sizing)
        k = len(parts)  # fewer than wanted where no connected cut exists
        labels = resplit(graph, labels_of(parts, graph.n), k, sizing)
        if score(graph, labels, k, sizing)[1]:
            labels = np.unique(exact_split(graph, labels, k, sizing, fixed_count=count is not None), return_inverse=True)[1]
            k = int(labels.max()) + 1
        labels = refine(graph, shorten_radii(graph, labels, k, sizing), k, sizing)
        found = score(graph, labels, k, sizing)
        if best_score is None or found < best_score:
            best, best_score = labels, found
    proven = False
    if best_score[0]:  # grids outside the bounds: search the whole region for a layout with fewer
        labels, settled = bounds_layout(graph, sizing, best_score[0])
        proven = settled and labels is None
        if labels is not None and count is None:
            k = int(labels.max()) + 1
            fewest = score(graph, labels, k, sizing)[0]
            labels = np.unique(exact_split(graph, labels, k, sizing), return_inverse=True)[1]
            k = int(labels.max()) + 1
            labels = refine(graph, shorten_radii(graph, labels, k, sizing), k, sizing)
            found = score(graph, labels, k, sizing)
            if found < best_score:  # a proven fewest count stays proven while the polish keeps it
                best, proven = labels, settled and found[0] == fewest
    return best, proven
