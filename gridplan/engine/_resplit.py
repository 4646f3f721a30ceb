"""Re-splits with neighbours (README step 5, compound moves): a grid outside a load window is cut afresh
together with one or two neighbouring grids, along the bisection's orderings.

Single-atom moves get stuck where atoms hold 100–250 households; cutting the union of two or three
neighbouring grids afresh frees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from gridplan.settings import LoadWindow

from ._bisection import bisect
from ._graph import RegionGraph, Sizing

#: Re-splits tried at most per region and window (each brings at least one grid into it).
RESPLIT_ROUNDS = 200


def resplit(
    graph: RegionGraph, labels: np.ndarray, k: int, sizing: Sizing, windows: tuple[LoadWindow, ...] | None = None
) -> np.ndarray:
    """Re-split each grid outside a window with one or two neighbours, window after window.

    A re-split is kept only when fewer grids of the group are outside the window and none leaves the
    bounds.

    Parameters
    ----------
    graph
        The region whose grids are re-split.
    labels, k
        Which grid each atom is in, and how many grids there are.
    sizing
        The bounds no re-split may leave, and the target (the worst grids are re-split first).
    windows
        The windows, in turn; by default the bounds, then the tight band (regeneration uses the bounds
        alone, to move as little as it can).

    Returns
    -------
    numpy.ndarray
        The new labels (the same ``k`` grids).
    """
    for window in windows or (sizing.bounds_window, sizing.tight_window):
        failed: set[tuple] = set()
        for _ in range(RESPLIT_ROUNDS):
            better = _improve_one(graph, labels, graph.loads(labels, k), window, sizing, failed)
            if better is None:
                break
            labels = better
    return labels


def _improve_one(
    graph: RegionGraph, labels: np.ndarray, loads: np.ndarray, window: LoadWindow, sizing: Sizing, failed: set[tuple]
) -> np.ndarray | None:
    """The labels after the first re-split that brings a grid outside ``window`` back in; None if none does.
    Groups that failed are skipped until one of their grids changes (``failed`` holds their loads)."""
    bounds = sizing.bounds_window
    bad = [g for g in np.argsort(-np.abs(loads - sizing.target), kind="stable") if not window.contains(loads[g])]
    for g in bad:
        for group in untried(neighbour_groups(graph, labels, g), loads, failed):
            nodes = np.flatnonzero(np.isin(labels, group))
            parts = bisect(graph, nodes, len(group), sizing, within=window)
            if len(parts) != len(group):
                continue
            part_loads = [graph.w[p].sum() for p in parts]
            before = sum(not window.contains(loads[h]) for h in group)
            after = sum(not window.contains(load) for load in part_loads)
            inside = all(bounds.contains(load) for load in part_loads) or window.lo == bounds.lo
            if after < before and inside and all(graph.connected(p) for p in parts):
                out = labels.copy()
                for h, p in zip(group, parts):
                    out[p] = h
                return out
    return None


def neighbour_groups(graph: RegionGraph, labels: np.ndarray, g: int) -> list[list[int]]:
    """Grid ``g`` with each neighbour, then with each pair of neighbours along a chain."""
    near = graph.grid_neighbours(labels, [g])
    groups = [[g, h] for h in near]
    for h in near:
        for i in graph.grid_neighbours(labels, [g, h]):
            if i > h or i not in near:
                groups.append(sorted({g, h, i}))
    seen, out = set(), []
    for group in groups:
        key = tuple(sorted(group))
        if key not in seen:
            seen.add(key)
            out.append(list(key))
    return out


def untried(groups: Iterable[list[int]], loads: np.ndarray, failed: set[tuple]) -> Iterator[list[int]]:
    """The ``groups`` of grids not tried yet with their present loads, each marked as tried in ``failed`` when
    it is given: a group whose re-split failed is tried again only once one of its grids has changed."""
    for group in groups:
        key = tuple((h, round(float(loads[h]), 6)) for h in group)
        if key not in failed:
            failed.add(key)
            yield group
