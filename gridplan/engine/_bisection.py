"""Bounded recursive bisection (README step 4): a region for ``k`` grids cut into parts for ``⌊k/2⌋`` and
``⌈k/2⌉`` grids, again and again.

Candidate cuts are the prefixes of several orderings of the atoms (:func:`orderings`): straight sweeps at
several angles, and street-aware geodesic growth from the region's extremes. :class:`CutTable` holds, for
every prefix of every ordering, its load, whether both sides are connected and the cost of the cut; the
cut chosen keeps both parts connected, their per-grid loads within a window, and costs least.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse.csgraph import dijkstra

from gridplan.settings import LoadWindow

from ._graph import RegionGraph, Sizing, csr_among

#: Sweep directions (degrees) tried at each bisection.
SWEEP_ANGLES = tuple(range(0, 180, 20))
#: Weights of the bisection score: cut cost, spread (compactness), evenness of the two parts.
CUT_WEIGHT, SPREAD_WEIGHT, EVEN_WEIGHT = 1.0, 1.0, 4.0
#: Regions with at most this many atoms try geodesic growth from every atom.
ALL_SEEDS_BELOW = 60
#: How far (share of the target) a part's per-grid load may stray from its parent's, narrowest first:
#: keeping each part's average close to the parent's leaves the later cuts the slack they need.
WINDOW_SPREADS = (0.02, 0.05)


def bisect(graph: RegionGraph, nodes: np.ndarray, k: int, sizing: Sizing, within: LoadWindow | None = None) -> list[np.ndarray]:
    """Cut ``nodes`` recursively into ``k`` connected parts.

    Parameters
    ----------
    graph
        The region.
    nodes
        Its atoms to cut (positions, ascending).
    k
        Parts wanted.
    sizing
        What a part should hold: each part's load is kept within the tight band, else the bounds, else as
        near the target as a connected cut allows.
    within
        Keep every part within this window instead, or leave ``nodes`` whole.

    Returns
    -------
    list of numpy.ndarray
        The parts' atoms; fewer than ``k`` where no connected cut exists (a part is kept whole rather than
        broken).
    """
    if k <= 1 or len(nodes) <= 1:
        return [nodes]
    cut = _best_cut(graph, nodes, k, sizing, within)
    if cut is None:
        return [nodes]
    a, b, ka = cut
    return bisect(graph, a, ka, sizing, within) + bisect(graph, b, k - ka, sizing, within)


def _windows(graph: RegionGraph, nodes: np.ndarray, k: int, sizing: Sizing, within: LoadWindow | None) -> list[LoadWindow]:
    """Per-grid load windows to try, narrowest first: around the parent's average (``WINDOW_SPREADS``),
    then the tight band (or ``within``), then the bounds (unless ``within``)."""
    t = sizing.target
    outer = within or sizing.tight_window
    average = graph.w[nodes].sum() / k
    windows = []
    for spread in WINDOW_SPREADS:
        window = LoadWindow(max(average - spread * t, outer.lo), min(average + spread * t, outer.hi))
        if window.lo < window.hi and (k > 2 or spread == WINDOW_SPREADS[-1]):
            windows.append(window)
    windows.append(outer)
    if within is None:
        windows.append(sizing.bounds_window)
    return windows


def orderings(graph: RegionGraph, nodes: np.ndarray) -> list[np.ndarray]:
    """Sweeps at several angles, and street-aware growth from the extremes (from every atom when the region
    is small: the last cuts are where chunky atoms need the most choice)."""
    x, y = graph.x[nodes], graph.y[nodes]
    orders = []
    for angle in SWEEP_ANGLES:
        t = math.radians(angle)
        orders.append(nodes[np.lexsort((nodes, x * math.cos(t) + y * math.sin(t)))])
    if len(nodes) <= ALL_SEEDS_BELOW:
        seeds = np.arange(len(nodes))
    else:
        cx, cy = x - x.mean(), y - y.mean()
        seeds = np.unique([np.argmin(cx), np.argmax(cx), np.argmin(cy), np.argmax(cy)])
    distance = dijkstra(csr_among(graph.steps, nodes), directed=False, indices=seeds)
    orders += [nodes[np.lexsort((nodes, row))] for row in np.atleast_2d(distance)]
    return orders


def _best_cut(graph: RegionGraph, nodes: np.ndarray, k: int, sizing: Sizing, within: LoadWindow | None):
    total = graph.w[nodes].sum()
    table = CutTable(graph, orderings(graph, nodes), graph.side(len(nodes), k))
    best = None
    for window in _windows(graph, nodes, k, sizing, within):
        best = table.best_cut(k, window, total)
        if best is not None:
            break
    if best is None and within is None:
        best = table.best_cut(k, LoadWindow(0.0, math.inf), total, relaxed=sizing.target)
    if best is None:
        return None
    order, i, ka = best
    return np.sort(order[: i + 1]), np.sort(order[i + 1 :]), ka


def cut_profile(graph: RegionGraph, order: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether each prefix ``order[:i+1]`` is connected, whether each suffix ``order[i:]`` is, and the cost
    of the cut after each prefix.

    A running cost and union-find over the positions in ``order``, in plain lists: this runs for every
    ordering of every bisection, where a call into scipy per ordering costs more than the whole loop. Each
    atom's neighbours in the ordering are looked up once, for both sides.
    """
    atoms = order.tolist()
    n = len(atoms)
    at = {a: t for t, a in enumerate(atoms)}
    links = graph.links
    cut = [0.0] * n
    earlier: list[list[int]] = [[] for _ in range(n)]
    later: list[list[int]] = [[] for _ in range(n)]
    cost = 0.0
    for t, a in enumerate(atoms):
        for b, c in links[a]:
            u = at.get(b)
            if u is None:
                continue
            if u < t:
                cost -= c
                earlier[t].append(u)
            else:
                cost += c
                later[t].append(u)
        cut[t] = cost
    prefix = _connected_growth(range(n), earlier)
    suffix = _connected_growth(range(n - 1, -1, -1), later)
    return np.array(prefix), np.array(suffix), np.array(cut)


def _connected_growth(steps: range, joins: list[list[int]]) -> list[bool]:
    """Positions added one per step, each joined to its ``joins`` (added before it): whether those added
    so far are connected, at each position (union-find with path halving)."""
    parent = list(range(len(joins)))
    connected = [False] * len(joins)
    components = 0
    for t in steps:
        components += 1
        for u in joins[t]:
            ra = t
            while parent[ra] != ra:
                parent[ra] = parent[parent[ra]]
                ra = parent[ra]
            while parent[u] != u:
                parent[u] = parent[parent[u]]
                u = parent[u]
            if ra != u:
                parent[ra] = u
                components -= 1
        connected[t] = components == 1
    return connected


class CutTable:
    """Everything about the prefixes of some orderings of the same atoms (one row each) that does not
    depend on the load window: loads, connectivity of both sides and the cost of each cut (cut length,
    spread). Windows are tried on all orderings at once; costs are computed for an ordering only when a
    window first has candidates in it."""

    def __init__(self, graph: RegionGraph, orders: list[np.ndarray], scale_cut: float):
        self.graph = graph
        self.orders = np.array(orders)
        self.scale_cut = scale_cut
        self.prefix = np.cumsum(graph.w[self.orders], axis=1)
        self.base = np.zeros(self.orders.shape)
        self.valid = np.zeros(self.orders.shape, dtype=bool)
        self.costed = np.zeros(len(self.orders), dtype=bool)

    def costs(self, rows: np.ndarray) -> None:
        """Connectivity and cost of every cut of the orderings ``rows`` not costed yet."""
        rows = rows[~self.costed[rows]]
        if not len(rows):
            return
        graph, n = self.graph, self.orders.shape[1]
        cut_cost = np.empty((len(rows), n))
        for i, r in enumerate(rows):
            prefix_ok, suffix_ok, cut_cost[i] = cut_profile(graph, self.orders[r])
            # a cut after position i is valid when both sides are connected
            self.valid[r] = prefix_ok & np.append(suffix_ok[1:n], False)
        # Spread (weighted sum of squared distances to the centre) of prefix and suffix, incrementally, for
        # all the orderings at once.
        orders = self.orders[rows]
        w, x, y = graph.w[orders], graph.x[orders], graph.y[orders]
        sw, sx, sy, sq = self.prefix[rows], np.cumsum(w * x, axis=1), np.cumsum(w * y, axis=1), np.cumsum(w * (x * x + y * y), axis=1)
        tw, tx, ty, tq = sw[:, -1:], sx[:, -1:], sy[:, -1:], sq[:, -1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            spread_a = sq - (sx * sx + sy * sy) / np.where(sw > 0, sw, 1)
            rw = tw - sw
            spread_b = (tq - sq) - ((tx - sx) ** 2 + (ty - sy) ** 2) / np.where(rw > 0, rw, 1)
        spread = (spread_a + spread_b) / np.maximum(tw, 1.0) / (self.scale_cut * self.scale_cut)
        self.base[rows] = CUT_WEIGHT * cut_cost / self.scale_cut + SPREAD_WEIGHT * spread
        self.costed[rows] = True

    def best_cut(self, k: int, window: LoadWindow, total: float, relaxed: float | None = None):
        """The best cut over the orderings and the splits of ``k`` whose parts' per-grid loads lie in
        ``window`` (or, ``relaxed``, the tenth of cuts whose loads are nearest it): (order, index, grids in
        prefix), or None. Ties go to the first ordering, then the smaller split, then the earlier index."""
        prefix = self.prefix
        lo, hi = window
        splits = sorted({k // 2, k - k // 2})
        scores = np.full((len(prefix), len(splits), prefix.shape[1]), np.inf)
        for s, ka in enumerate(splits):
            kb = k - ka
            if relaxed is None:
                ok = (prefix >= ka * lo) & (prefix <= ka * hi) & (total - prefix >= kb * lo) & (total - prefix <= kb * hi)
            else:
                dev = np.abs(prefix / ka - relaxed) + np.abs((total - prefix) / kb - relaxed)
                nearest = np.argsort(dev[:, :-1], axis=1, kind="stable")[:, : max(1, prefix.shape[1] // 10)]
                ok = np.zeros(prefix.shape, dtype=bool)
                np.put_along_axis(ok, nearest, True, axis=1)
            ok[:, -1] = False
            rows = np.flatnonzero(ok.any(axis=1))
            if len(rows) == 0:
                continue
            self.costs(rows)
            ok &= self.valid
            r, i = np.nonzero(ok)
            even = ((prefix[r, i] / ka - (total - prefix[r, i]) / kb) / max(total / k, 1e-9)) ** 2
            scores[r, s, i] = self.base[r, i] + EVEN_WEIGHT * even
        flat = int(np.argmin(scores))
        r, s, i = np.unravel_index(flat, scores.shape)
        if not np.isfinite(scores[r, s, i]):
            return None
        return self.orders[r], int(i), splits[s]
