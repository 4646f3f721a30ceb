"""Grids outside the bounds brought as near them as their ground allows (README step 6, after the region
search): each one re-planned with its neighbouring grids (or alone, where they are too many atoms) by a
constraint programme whose objective is first the number of grids outside the bounds, then their total
excess (how far their loads lie from the bounds).

A unit that fits no grid within the bounds proves that some grid must be outside them, not how far: the
phases before this one judge a grid outside the bounds by its band alone, so one may gather far more
than it must (a grid of 1,222 households whose own atoms make grids of 286, 356 and 580).
"""

from __future__ import annotations

import math

import numpy as np

from ._graph import RegionGraph, Sizing, window_excess
from ._proofs import bounds_programme

#: Most atoms of the ground one re-plan takes (a grid outside the bounds with its neighbours, else the grid
#: alone): the programme over them stays far below its limit of work.
EXCESS_MAX_ATOMS = 40


def excess(loads: np.ndarray, sizing: Sizing) -> np.ndarray:
    """How far each load lies outside the bounds (0 within them)."""
    return window_excess(sizing.bounds_window, loads)


def least_excess(
    graph: RegionGraph, labels: np.ndarray, sizing: Sizing, cap: float = math.inf, fixed_count: bool = False
) -> np.ndarray:
    """Re-plan each grid outside the bounds (the farthest first) with its neighbouring grids, or alone, so
    that the ground has fewer grids outside, or as many with less excess.

    Parameters
    ----------
    graph, labels
        The region and the grid of each atom (``0 … k-1``).
    sizing
        The bounds.
    cap
        Most a grid outside the bounds may hold (the scope of a region proof that the layout must stay in);
        by default the misfit ceiling, or the most a grid outside them holds in the ground now if more.
    fixed_count
        Keep the number of grids (a count the user fixed).

    Returns
    -------
    numpy.ndarray
        The new labels, ``0 … k'-1``; ``labels`` unchanged where no ground has a better layout.
    """
    bounds = sizing.bounds_window
    k = int(labels.max()) + 1
    loads = graph.loads(labels, k)
    for g in np.argsort(-excess(loads, sizing), kind="stable"):
        if bounds.contains(loads[g]) or not (labels == g).any():
            continue
        for group in ([int(g)] + graph.grid_neighbours(labels, [int(g)]), [int(g)]):
            nodes = np.flatnonzero(np.isin(labels, group))
            if len(nodes) > EXCESS_MAX_ATOMS:
                continue
            better = _replanned(graph, nodes, loads[group], sizing, cap, len(group) if fixed_count else None)
            if better is None:
                continue
            labels = labels.copy()
            for i, part in enumerate(better):
                labels[nodes[part]] = group[i] if i < len(group) else k + i - len(group)
            k = max(k, int(labels.max()) + 1)
            loads = graph.loads(labels, k)
            break
    return np.unique(labels, return_inverse=True)[1]


def _replanned(
    graph: RegionGraph, nodes: np.ndarray, loads: np.ndarray, sizing: Sizing, cap: float, grids: int | None
) -> list[np.ndarray] | None:
    """The grids (positions in ``nodes``) of the best layout of ``nodes`` by (grids outside the bounds,
    their excess), where it beats ``loads``, the grids they make now; None where it does not."""
    bounds = sizing.bounds_window
    out = ~bounds.contains(loads)
    hi = cap if math.isfinite(cap) else max(float(loads[out].max()), sizing.misfit_ceiling)
    neighbours = graph.adjacency.among(nodes).neighbour_lists()
    w = graph.w[nodes]
    found, _ = bounds_programme(
        neighbours, w, bounds.lo, bounds.hi, budget=int(out.sum()), outside_hi=hi, excess=True, grids=grids
    )
    if found is None:
        return None
    new = np.bincount(found, weights=w)
    before = (int(out.sum()), float(excess(loads, sizing).sum()))
    after = (int((~bounds.contains(new)).sum()), float(excess(new, sizing).sum()))
    if not (after[0] < before[0] or after[0] == before[0] and after[1] < before[1] - 1e-6):
        return None
    # the parts in the order of the grids they overlap: the largest part of the ground keeps its label first
    return [np.flatnonzero(found == p) for p in np.argsort(-new, kind="stable")]
