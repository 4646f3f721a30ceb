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

from gridplan.settings import LoadWindow

from ._graph import RegionGraph, Sizing
from ._kernels import cut_costs, cut_profiles_of, least_cut, shortest_steps

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
    steps = graph.steps
    distance = shortest_steps(steps.indptr, steps.indices, steps.data, nodes, seeds.astype(np.int64), graph.n)
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
        # none of the cuts nearest the target leaves both sides connected: the nearest that do, where the part is
        # more than two grids' worth (kept whole, no re-split with its neighbours could cut it into grids); a part
        # of two is kept whole, as the re-splits do better with it than with an uneven cut (the chunky variants)
        if best is None and k > 2:
            best = table.best_cut(k, LoadWindow(0.0, math.inf), total, relaxed=sizing.target, connected=True)
    if best is None:
        return None
    order, i, ka = best
    return np.sort(order[: i + 1]), np.sort(order[i + 1 :]), ka


def cut_profiles(graph: RegionGraph, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each ordering (a row of ``orders``, all of the same atoms), whether the cut after each prefix
    ``order[:i+1]`` leaves both sides connected, and the cost of that cut.

    This runs for every bisection and cost more than anything else in planning, in Python or in numpy's
    small arrays: it is a compiled kernel (:func:`._kernels.cut_profiles_of`).
    """
    adjacency = graph.adjacency
    return cut_profiles_of(adjacency.indptr, adjacency.indices, adjacency.cost, np.ascontiguousarray(orders), graph.n)


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
    spread). Windows are tried on all orderings at once."""

    def __init__(self, graph: RegionGraph, orders: list[np.ndarray], scale_cut: float):
        self.orders = np.array(orders)
        self.prefix = np.cumsum(graph.w[self.orders], axis=1)
        adjacency = graph.adjacency
        self.valid, self.base = cut_costs(
            adjacency.indptr,
            adjacency.indices,
            adjacency.cost,
            self.orders,
            graph.n,
            graph.w,
            graph.x,
            graph.y,
            self.prefix,
            scale_cut,
            CUT_WEIGHT,
            SPREAD_WEIGHT,
        )

    def best_cut(self, k: int, window: LoadWindow, total: float, relaxed: float | None = None, connected: bool = False):
        """The best cut over the orderings and the splits of ``k`` whose parts' per-grid loads lie in
        ``window`` (or, ``relaxed``, the tenth of cuts whose loads are nearest it; or, ``connected`` too, the
        tenth of those that leave both sides connected, with any split of ``k``): (order, index, grids in
        prefix), or None. Ties go to the first ordering, then the smaller split, then the earlier index."""
        splits = np.arange(1, k) if connected else np.array(sorted({k // 2, k - k // 2}))
        nearest = np.zeros((0, 0, 0), dtype=bool)
        if relaxed is not None:
            prefix, total = self.prefix, float(total)
            nearest = np.zeros((len(splits), *prefix.shape), dtype=bool)
            for s, ka in enumerate(splits):
                dev = np.abs(prefix / ka - relaxed) + np.abs((total - prefix) / (k - ka) - relaxed)
                if connected:
                    dev = np.where(self.valid, dev, np.inf)
                tenth = np.argsort(dev[:, :-1], axis=1, kind="stable")[:, : max(1, prefix.shape[1] // 10)]
                np.put_along_axis(nearest[s], tenth, True, axis=1)
        r, s, i = least_cut(
            self.prefix, self.valid, self.base, splits, k, window.lo, window.hi, float(total), EVEN_WEIGHT, nearest
        )
        if r < 0:
            return None
        return self.orders[r], int(i), int(splits[s])
