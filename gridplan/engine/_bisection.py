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
# math's, not numpy's, cosines: the two may differ in the last bit, and that would reorder ties
SWEEP_COS = np.array([math.cos(math.radians(a)) for a in SWEEP_ANGLES])
SWEEP_SIN = np.array([math.sin(math.radians(a)) for a in SWEEP_ANGLES])
#: Weights of the bisection score: cut cost, spread (compactness), evenness of the two parts.
CUT_WEIGHT, SPREAD_WEIGHT, EVEN_WEIGHT = 1.0, 1.0, 4.0
#: Regions with at most this many atoms try geodesic growth from every atom.
ALL_SEEDS_BELOW = 60
#: How far (share of the target) a part's per-grid load may stray from its parent's, narrowest first:
#: keeping each part's average close to the parent's leaves the later cuts the slack they need.
WINDOW_SPREADS = (0.02, 0.05)
#: Cut tables remembered per region (the latest), and the most atoms of one remembered: memory stays small.
TABLES_KEPT, TABLE_MAX_ATOMS = 512, 400


def bisect(
    graph: RegionGraph, nodes: np.ndarray, k: int, sizing: Sizing, within: LoadWindow | None = None
) -> list[np.ndarray]:
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


def _windows(
    graph: RegionGraph, nodes: np.ndarray, k: int, sizing: Sizing, within: LoadWindow | None
) -> list[LoadWindow]:
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
    # each row sorted by its key, ties by atom (lexsort sorts every row of 2-D keys on its own)
    projected = x * SWEEP_COS[:, None] + y * SWEEP_SIN[:, None]
    orders = list(nodes[np.lexsort((np.broadcast_to(nodes, projected.shape), projected))])
    if len(nodes) <= ALL_SEEDS_BELOW:
        seeds = np.arange(len(nodes))
    else:
        cx, cy = x - x.mean(), y - y.mean()
        seeds = np.unique([np.argmin(cx), np.argmax(cx), np.argmin(cy), np.argmax(cy)])
    # the steps are symmetric (a boundary is as long both ways): a directed search needs no transposed copy
    distance = np.atleast_2d(dijkstra(csr_among(graph.steps, nodes), directed=True, indices=seeds))
    orders += list(nodes[np.lexsort((np.broadcast_to(nodes, distance.shape), distance))])
    return orders


def _best_cut(graph: RegionGraph, nodes: np.ndarray, k: int, sizing: Sizing, within: LoadWindow | None):
    total = graph.w[nodes].sum()
    table = cut_table(graph, nodes, k)
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


def cut_profiles(graph: RegionGraph, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each ordering (a row of ``orders``, all of the same atoms), whether the cut after each prefix
    ``order[:i+1]`` leaves both sides connected, and the cost of that cut.

    All orderings at once, in arrays: this runs for every bisection, and a Python loop per ordering cost
    more than anything else in planning. The cost is a running sum over each atom's neighbours in the
    order of the adjacency (``numpy.cumsum`` adds one value after another, so it rounds as that loop
    did). Connectivity: :func:`_connected_prefixes` of each ordering and of it reversed.
    """
    rows, n = orders.shape
    adjacency = graph.adjacency
    position = np.full((rows, graph.n), -1, dtype=np.int64)
    np.put_along_axis(position, orders, np.arange(n)[None, :].repeat(rows, axis=0), axis=1)
    entries, at = adjacency.rows(orders.ravel())  # every ordering holds the same atoms: as many entries each
    entries, at = entries.reshape(rows, -1), at.reshape(rows, -1)
    t = at % n
    u = np.take_along_axis(position, adjacency.indices[entries], axis=1)
    inside = u >= 0
    cut = np.cumsum(np.where(inside, np.where(u < t, -adjacency.cost[entries], adjacency.cost[entries]), 0.0), axis=1)
    ends = np.cumsum(np.diff(adjacency.indptr)[orders], axis=1) - 1  # each atom's last entry
    if cut.shape[1] == 0:  # atoms without a neighbour anywhere: no cut crosses an edge
        cut = np.zeros((rows, n))
    else:
        cut = np.where(ends >= 0, np.take_along_axis(cut, np.maximum(ends, 0), axis=1), 0.0)
    # both sides connected: the prefixes of each ordering, and those of it reversed (its suffixes)
    connected = _connected_prefixes(
        np.concatenate([t, n - 1 - t]), np.concatenate([np.where(inside, u, -1), np.where(inside, n - 1 - u, -1)]), n
    )
    prefix_ok, suffix_ok = connected[:rows], connected[rows:, ::-1]
    return prefix_ok & np.column_stack([suffix_ok[:, 1:], np.zeros(rows, dtype=bool)]), cut


def _connected_prefixes(at: np.ndarray, near: np.ndarray, n: int) -> np.ndarray:
    """Per ordering (a row of entries: the position ``at`` of an atom and ``near`` of its neighbour, -1 where
    the neighbour is not ordered), whether its first ``t + 1`` atoms are connected, for every ``t``.

    They are when each of them reaches the first atom through atoms no later than ``t``: the least "latest
    position" of a path from the first atom to each atom (a bottleneck path, found by relaxing all edges at
    once until nothing changes) is then at most ``t`` for all of them.
    """
    rows = len(at)
    keep = near >= 0
    row = np.broadcast_to(np.arange(rows)[:, None], at.shape)[keep]
    source, target = row * n + at[keep], row * n + near[keep]  # entries come atom by atom
    latest = np.full(rows * n, rows * n, dtype=np.int64)  # unreached
    latest[::n] = 0
    if len(source):
        starts = np.flatnonzero(np.concatenate(([True], source[1:] != source[:-1])))
        atoms = source[starts]
        own, reached = atoms % n, latest[atoms]
        while True:
            relaxed = np.minimum(reached, np.maximum(np.minimum.reduceat(latest[target], starts), own))
            if not (relaxed < reached).any():  # relaxing never raises one
                break
            latest[atoms] = reached = relaxed
    latest = latest.reshape(rows, n)
    return np.maximum.accumulate(latest, axis=1) <= np.arange(n)


def cut_table(graph: RegionGraph, nodes: np.ndarray, k: int) -> CutTable:
    """The :class:`CutTable` of ``nodes`` (ascending) cut for ``k`` grids, remembered on the graph: re-splits
    cut the same grids again under another window (and the radius re-split the same pairs), and a table does
    not depend on the window. The last ``TABLES_KEPT`` tables of at most ``TABLE_MAX_ATOMS`` atoms are kept."""
    key = (np.asarray(nodes, dtype=np.int64).tobytes(), k)
    table = graph.tables.get(key)
    if table is None:
        table = CutTable(graph, orderings(graph, nodes), graph.side(len(nodes), k))
        if len(nodes) <= TABLE_MAX_ATOMS:
            graph.tables[key] = table
            if len(graph.tables) > TABLES_KEPT:
                del graph.tables[next(iter(graph.tables))]  # the oldest
    return table


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
        graph = self.graph
        self.valid[rows], cut_cost = cut_profiles(graph, self.orders[rows])
        # Spread (weighted sum of squared distances to the centre) of prefix and suffix, incrementally, for
        # all the orderings at once.
        orders = self.orders[rows]
        w, x, y = graph.w[orders], graph.x[orders], graph.y[orders]
        sw, sx, sy, sq = (
            self.prefix[rows],
            np.cumsum(w * x, axis=1),
            np.cumsum(w * y, axis=1),
            np.cumsum(w * (x * x + y * y), axis=1),
        )
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
                ok = (
                    (prefix >= ka * lo)
                    & (prefix <= ka * hi)
                    & (total - prefix >= kb * lo)
                    & (total - prefix <= kb * hi)
                )
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
