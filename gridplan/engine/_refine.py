"""Refinement (README step 8): single boundary atoms move between neighbouring grids while the move lowers
the balance penalty, the cut cost and the spread, never disconnecting a grid nor moving one into a worse
band; and the score by which layouts are compared."""

from __future__ import annotations

import math

import numpy as np

from ._bisection import CUT_WEIGHT, SPREAD_WEIGHT
from ._exact import RADIUS_WEIGHT
from ._graph import RegionGraph, Sizing

#: Refinement passes over the boundary atoms.
REFINE_PASSES = 12


def penalty(load: float, sizing: Sizing) -> float:
    """Balance penalty of a grid's load: small inside the tight band, steep outside the bounds."""
    t = sizing.target
    dev = abs(load - t) / t
    p = dev * dev
    if dev > sizing.tight_tolerance:
        p += 4.0 * (dev - sizing.tight_tolerance)
    if dev > sizing.tolerance:
        p += 100.0 * (dev - sizing.tolerance)
    return p


def score(graph: RegionGraph, labels: np.ndarray, k: int, sizing: Sizing) -> tuple[int, int, float]:
    """Grids outside the bounds, grids outside the tight band, and penalty plus cut cost: the lower the
    better, compared in that order."""
    loads = graph.loads(labels, k)
    outside = int(np.sum(~sizing.bounds_window.contains(loads)))
    loose = int(np.sum(~sizing.tight_window.contains(loads)))
    return outside, loose, sum(penalty(load, sizing) for load in loads) + graph.cut_cost(labels) / math.sqrt(graph.area)


def refine(graph: RegionGraph, labels: np.ndarray, k: int, sizing: Sizing) -> np.ndarray:
    """Move boundary atoms between neighbouring grids while it lowers balance penalty, cut and spread.

    Parameters
    ----------
    graph, labels, k
        The region, its atoms' grids and their count.
    sizing
        The bands no move may leave, and the radius beyond which every metre counts.

    Returns
    -------
    numpy.ndarray
        Each atom's grid after the moves.
    """
    labels = labels.copy()
    w, links = graph.w, graph.links
    loads = graph.loads(labels, k).astype(float)
    members = [set(np.flatnonzero(labels == g).tolist()) for g in range(k)]
    scale = graph.side(graph.n, k)
    cx, cy = graph.centres(labels, k, w + 1e-9)
    for _ in range(REFINE_PASSES):
        moved = 0
        for i in range(graph.n):
            g = labels[i]
            if len(members[g]) == 1:
                continue
            targets = {labels[j] for j, _ in links[i] if labels[j] != g}
            if not targets:
                continue
            best_gain, best_h = 1e-9, None
            for h in targets:
                if not sizing.no_worse((loads[g], loads[h]), (loads[g] - w[i], loads[h] + w[i])):
                    continue
                gain = _move_gain(graph, i, g, h, labels, loads, cx, cy, scale, sizing)
                if gain > best_gain:
                    best_gain, best_h = gain, h
            if best_h is None or not graph.stays_connected(i, members[g]):
                continue
            labels[i] = best_h
            members[g].discard(i)
            members[best_h].add(i)
            loads[g] -= w[i]
            loads[best_h] += w[i]
            moved += 1
        if not moved:
            break
        cx, cy = graph.centres(labels, k, w + 1e-9)
    return labels


def _move_gain(graph: RegionGraph, i, g, h, labels, loads, cx, cy, scale, sizing: Sizing) -> float:
    w = graph.w[i]
    balance = (
        penalty(loads[g], sizing)
        + penalty(loads[h], sizing)
        - penalty(loads[g] - w, sizing)
        - penalty(loads[h] + w, sizing)
    )
    cut = 0.0
    for j, c in graph.links[i]:
        if labels[j] == g:
            cut -= c
        elif labels[j] == h:
            cut += c
    from_g = math.hypot(graph.x[i] - cx[g], graph.y[i] - cy[g])
    from_h = math.hypot(graph.x[i] - cx[h], graph.y[i] - cy[h])
    spread = w * (from_g**2 - from_h**2) / (sizing.target * scale * scale)
    # beyond the maximum service radius, every metre counts (服务半径), for inhabited atoms
    radius = sizing.max_radius_m
    beyond = (max(0.0, from_g - radius) - max(0.0, from_h - radius)) / radius if w > 0 else 0.0
    return balance * 10.0 + CUT_WEIGHT * cut / scale + SPREAD_WEIGHT * spread + RADIUS_WEIGHT * beyond
