"""The service-radius re-split (README step 7): a grid beyond the maximum radius (服务半径) is cut afresh
with one neighbour where that shortens the pair's excess without moving either grid out of its band."""

from __future__ import annotations

import math

import numpy as np

from ._bisection import cut_table
from ._graph import RegionGraph, Sizing
from ._kernels import cut_excess
from ._resplit import RESPLIT_ROUNDS

#: Radius excesses this close (m) count as equal, so the cheaper cut (along streets) decides.
RADIUS_STEP_M = 25.0


def shorten_radii(graph: RegionGraph, labels: np.ndarray, k: int, sizing: Sizing) -> np.ndarray:
    """Re-split each grid beyond the maximum service radius with one neighbour, so that the pair's radius
    excess falls while neither grid leaves the band (tight, bounds) it was in.

    Parameters
    ----------
    graph, labels, k, sizing
        The region, the grid of each of its atoms, how many grids, and the radius and bands they keep.

    Returns
    -------
    numpy.ndarray
        The labels after the re-splits, the given ones unchanged.
    """
    failed: set[tuple] = set()
    for _ in range(RESPLIT_ROUNDS):
        shorter = _shorten_one(graph, labels, k, sizing, failed)
        if shorter is None:
            break
        labels = shorter
    return labels


def radii(graph: RegionGraph, labels: np.ndarray, k: int) -> np.ndarray:
    """Service radius of each grid estimated on atoms: centre distance plus the atom's reach."""
    cx, cy = graph.centres(labels, k, graph.w + 1e-6)
    far = np.hypot(graph.x - cx[labels], graph.y - cy[labels]) + graph.reach
    out = np.zeros(k)
    np.maximum.at(out, labels, far)
    return out


def over_radius(graph: RegionGraph, labels: np.ndarray, sizing: Sizing) -> int:
    """How many grids of ``labels`` (``0 … k-1``) are over the service radius, estimated on atoms (:func:`radii`)."""
    return int((radii(graph, labels, int(labels.max()) + 1) > sizing.max_radius_m).sum())


def _shorten_one(
    graph: RegionGraph, labels: np.ndarray, k: int, sizing: Sizing, failed: set[tuple]
) -> np.ndarray | None:
    """The labels after the first pair re-split that shortens a grid beyond the radius; None if none does."""
    limit = sizing.max_radius_m
    radius = radii(graph, labels, k)
    loads = graph.loads(labels, k)
    for g in np.argsort(-radius, kind="stable"):
        if radius[g] <= limit:
            break
        for h in graph.grid_neighbours(labels, [g]):
            key = (g, h, round(float(loads[g]), 6), round(float(loads[h]), 6))
            if key in failed:
                continue
            failed.add(key)
            nodes = np.flatnonzero((labels == g) | (labels == h))
            excess = max(0.0, radius[g] - limit) + max(0.0, radius[h] - limit)
            parts = _radius_cut(graph, nodes, [loads[g], loads[h]], excess, sizing)
            if parts is not None:
                out = labels.copy()
                out[parts[0]], out[parts[1]] = g, h
                return out
    return None


def _radius_cut(graph: RegionGraph, nodes: np.ndarray, loads: list[float], excess: float, sizing: Sizing):
    """The cut of a pair's atoms (both sides connected, neither grid in a worse band than before) with the
    least radius excess, if it is at least a metre below ``excess``."""
    limit = sizing.max_radius_m
    total = graph.w[nodes].sum()
    best, best_key = None, (math.inf, math.inf)
    table = cut_table(graph, nodes, 2)
    # neither side in a worse band than before (Sizing.no_worse), for every cut of every ordering at once
    worst, better = sorted(map(sizing.fit, loads))[::-1]
    a, b = sizing.fits(table.prefix), sizing.fits(total - table.prefix)
    cuts = (np.maximum(a, b) <= worst) & (np.minimum(a, b) <= better)
    cuts[:, -1] = False
    for r, order in enumerate(table.orders):
        ok = cuts[r]
        if not ok.any():
            continue
        idx = np.flatnonzero(ok & table.valid[r])
        if len(idx) == 0:
            continue
        over = _prefix_excess(graph, order, limit, idx)
        for i, e in zip(idx, over):
            if e > excess - 1.0:
                continue
            key = (RADIUS_STEP_M * math.ceil(e / RADIUS_STEP_M), float(table.base[r, i]))
            if key < best_key:
                best, best_key = (np.sort(order[: i + 1]), np.sort(order[i + 1 :])), key
    return best


def _prefix_excess(graph: RegionGraph, order: np.ndarray, limit: float, cuts: np.ndarray) -> np.ndarray:
    """Radius excess of both sides of the cuts ``cuts`` of ``order`` (cut ``i``: prefix ``order[:i+1]`` and the
    rest): each side's household-weighted centre, then its farthest atom's distance plus reach."""
    return cut_excess(graph.w[order] + 1e-6, graph.x[order], graph.y[order], graph.reach[order], limit, cuts)
