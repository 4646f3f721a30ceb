"""Planning one connected region of atoms into grids: the engine behind :func:`gridplan.partition.partition`.

:class:`RegionGraph` holds a region's atoms as arrays (weights, centres, adjacency with cut costs) and
does the work described in :mod:`gridplan.partition`: bounded recursive bisection along sweep and
street-aware orderings, compound moves (re-cuts with neighbours, the exact re-split by exact cover, the
proof that no layout within the bounds exists), the service-radius re-split and the refinement. Areas
and micro-grids (:mod:`gridplan.levels`) and regeneration (:mod:`gridplan.regenerate`) reuse it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .bounds import bounds_programme, misfits_apart, proven_misfits
from .settings import GridSettings

#: Sweep directions (degrees) tried at each bisection.
SWEEP_ANGLES = tuple(range(0, 180, 20))
#: Weights of the bisection score: cut cost, spread (compactness), evenness of the two parts.
CUT_WEIGHT, SPREAD_WEIGHT, EVEN_WEIGHT = 1.0, 1.0, 4.0
#: Weight, in refinement, of each service-radius length a building lies beyond the maximum radius.
RADIUS_WEIGHT = 2.0
#: Radius excesses this close (m) count as equal when re-splitting for the service radius, so the
#: cheaper cut (along streets) decides.
RADIUS_STEP_M = 25.0
#: How much longer a step across a street is than one along a block, per unit of street preference
#: (geodesic orderings).
STREET_CROSSING_FACTOR = 1.0
#: Refinement passes over the boundary atoms.
REFINE_PASSES = 12
#: Regions with at most this many atoms try geodesic growth from every atom.
ALL_SEEDS_BELOW = 60
#: Compound moves tried at most per region (each fixes at least one grid outside the tight band).
REBALANCE_ROUNDS = 200
#: Connected atom groups enumerated at most per re-planned neighbourhood in the exact re-split; one with
#: more (fine-grained atoms) is re-planned on pieces instead.
EXACT_MAX_GROUPS = 5_000
#: Groups visited per group recorded before an enumeration gives up (those too light to record count
#: too): on the generated district no enumeration that finished visited more than 4.7 per group allowed.
ENUMERATION_VISITS = 5
#: Atoms of a neighbourhood beyond which its groups are not enumerated but its pieces are: on the
#: generated district, enumerations of more atoms than this nearly always ran past ``EXACT_MAX_GROUPS``.
EXACT_MAX_ATOMS = 64
#: Load of the pieces a neighbourhood of fine atoms is cut into for the exact re-split, as a share of
#: the target (60 households of 300).
COARSE_PIECE_SHARE = 0.2
#: Atoms without households one enumerated group may hold (empty blocks that join inhabited ones).
EXACT_MAX_EMPTY = 2
#: Search steps per budget of loose grids in the exact re-split: a step limit, unlike a time limit, gives
#: the same plan on every machine.
EXACT_SEARCH_NODES = 2_000
#: Limits of the proof that a region's units fit no layout within the bounds: groups enumerated and
#: search steps (beyond them the warning says no layout was found, not that none exists).
PROOF_MAX_GROUPS, PROOF_SEARCH_NODES = 20_000, 200_000
#: Windows (share of the target) around the parent's per-grid average that a cut's parts must keep.
BAND_SPREADS = (0.02, 0.05)


class RegionGraph:
    """A connected region's atoms as arrays: positions, weights, adjacency with cut costs."""

    def __init__(self, graph: nx.Graph, region: np.ndarray, weight: np.ndarray, atoms: gpd.GeoDataFrame):
        index = {int(a): i for i, a in enumerate(region)}
        self.n = len(region)
        self.w = weight[region].astype(float)
        self.x = atoms["x"].to_numpy()[region]
        self.y = atoms["y"].to_numpy()[region]
        # how far an atom's buildings reach from its centre; atoms without buildings have no radius
        reach = atoms["reach_m"].to_numpy()[region] if "reach_m" in atoms else np.zeros(self.n)
        inhabited = atoms["buildings"].to_numpy()[region] > 0 if "buildings" in atoms else np.ones(self.n, dtype=bool)
        self.reach = np.where(inhabited, reach, -np.inf)
        self.nbrs: list[list[tuple[int, float, float]]] = [[] for _ in range(self.n)]
        for a in region:
            i = index[int(a)]
            for b, d in graph[a].items():
                j = index.get(int(b))
                if j is not None:
                    self.nbrs[i].append((j, d["cost"], d["length"]))
        self.area = max((self.x.max() - self.x.min()) * (self.y.max() - self.y.min()), 1.0)
        # street-aware step lengths for the geodesic orderings: crossing a street counts as a longer step
        rows, cols, steps = [], [], []
        for i, row in enumerate(self.nbrs):
            for j, cost, length in row:
                preference = length / cost if cost > 0 else 1.0
                rows.append(i)
                cols.append(j)
                steps.append(math.hypot(self.x[i] - self.x[j], self.y[i] - self.y[j]) * (1.0 + STREET_CROSSING_FACTOR * preference) + 1e-6)
        self.steps = csr_matrix((steps, (rows, cols)), shape=(self.n, self.n))
        self.costs = csr_matrix(([c for row in self.nbrs for _, c, _ in row], (rows, cols)), shape=(self.n, self.n))
        self._pieces: dict[tuple[bytes, int], list[np.ndarray]] = {}  # grids cut into pieces, by their atoms

    # ---- bisection ----------------------------------------------------------------------------

    def bisect(self, nodes: np.ndarray, k: int, settings: GridSettings, strict: bool = False) -> list[np.ndarray]:
        """Cut ``nodes`` recursively into ``k`` connected parts; ``strict`` keeps to the tight band."""
        if k <= 1 or len(nodes) <= 1:
            return [nodes]
        cut = self._best_cut(nodes, k, settings, strict)
        if cut is None:
            # No connected cut within the bands: keep it whole rather than break contiguity.
            return [nodes]
        a, b, ka = cut
        return self.bisect(a, ka, settings, strict) + self.bisect(b, k - ka, settings, strict)

    def _bands(self, nodes: np.ndarray, k: int, settings: GridSettings, strict: bool) -> list[tuple[float, float]]:
        """Per-grid load windows to try, narrowest first: keeping each part's average close to the
        parent's leaves the later cuts the slack they need."""
        t = settings.target
        tight = settings.tight_band
        average = self.w[nodes].sum() / k
        bands = []
        for spread in BAND_SPREADS:
            lo, hi = max(average - spread * t, tight[0]), min(average + spread * t, tight[1])
            if lo < hi and (k > 2 or spread == BAND_SPREADS[-1]):
                bands.append((lo, hi))
        bands.append(tight)
        if not strict:
            bands.append((settings.floor, settings.ceiling))
        return bands

    def _orderings(self, nodes: np.ndarray) -> list[np.ndarray]:
        """Sweeps at several angles, and street-aware growth from the extremes (from every atom when
        the region is small: the last cuts are where chunky atoms need the most choice)."""
        x, y = self.x[nodes], self.y[nodes]
        orders = []
        for angle in SWEEP_ANGLES:
            t = math.radians(angle)
            orders.append(nodes[np.lexsort((nodes, x * math.cos(t) + y * math.sin(t)))])
        if len(nodes) <= ALL_SEEDS_BELOW:
            seeds = np.arange(len(nodes))
        else:
            cx, cy = x - x.mean(), y - y.mean()
            seeds = np.unique([np.argmin(cx), np.argmax(cx), np.argmin(cy), np.argmax(cy)])
        distance = dijkstra(self._steps_among(nodes), directed=False, indices=seeds)
        orders += [nodes[np.lexsort((nodes, row))] for row in np.atleast_2d(distance)]
        return orders

    def _steps_among(self, nodes: np.ndarray) -> csr_matrix:
        """The step lengths among ``nodes`` (rows and columns in their order), sliced from the CSR arrays
        directly: scipy's fancy indexing costs more than the Dijkstra on the small sets bisection cuts."""
        steps = self.steps
        position = np.full(self.n, -1, dtype=np.int64)
        position[nodes] = np.arange(len(nodes))
        starts, counts = steps.indptr[nodes], np.diff(steps.indptr)[nodes]
        entries = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        columns = position[steps.indices[entries]]
        keep = columns >= 0
        rows = np.repeat(np.arange(len(nodes)), counts)[keep]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(nodes)))])
        return csr_matrix((steps.data[entries][keep], columns[keep], indptr), shape=(len(nodes), len(nodes)))

    def _best_cut(self, nodes: np.ndarray, k: int, settings: GridSettings, strict: bool):
        total = self.w[nodes].sum()
        scale_cut = math.sqrt(self.area / max(len(self.x), 1) * len(nodes) / k)  # a grid's side, m
        table = _CutTable(self, self._orderings(nodes), scale_cut)
        best = None
        for lo, hi in self._bands(nodes, k, settings, strict):
            best = table.best_cut(k, lo, hi, total)
            if best is not None:
                break
        if best is None and not strict:
            best = table.best_cut(k, 0.0, math.inf, total, relaxed=settings.target)
        if best is None:
            return None
        order, i, ka = best
        return np.sort(order[: i + 1]), np.sort(order[i + 1 :]), ka

    def _prefix_connectivity(self, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each prefix order[:i+1] is connected, and the cost of its cut (union-find over the
        positions in ``order``; plain lists, as this runs for every ordering of every bisection)."""
        atoms = order.tolist()
        n = len(atoms)
        at = {a: t for t, a in enumerate(atoms)}
        parent = list(range(n))
        connected = [False] * n
        cut = [0.0] * n
        components = 0
        cost = 0.0
        nbrs = self.nbrs
        for t, a in enumerate(atoms):
            components += 1
            for b, c, _ in nbrs[a]:
                u = at.get(b)
                if u is None:
                    continue
                if u < t:
                    cost -= c
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
                else:
                    cost += c
            connected[t] = components == 1
            cut[t] = cost
        return np.array(connected), np.array(cut)

    # ---- compound moves: re-split neighbouring grids --------------------------------------------

    def rebalance(self, labels: np.ndarray, k: int, settings: GridSettings, bands: tuple[str, ...] = ("bounds", "tight")) -> np.ndarray:
        """Re-split a grid outside the bounds, then one outside the tight band, with one or two neighbours.

        Single-atom moves get stuck where atoms hold 100–250 households; cutting the union of two or
        three neighbouring grids afresh (the bisection's orderings) frees them. A re-split is kept only
        when fewer grids of the group are outside the band and none leaves the bounds. ``bands`` picks the
        phases (regeneration runs only ``"bounds"``, to move as little as it can).
        """
        t = settings.target
        bounds = (settings.floor, settings.ceiling)
        tight = settings.tight_band
        labels = labels.copy()
        for lo, hi in [{"bounds": bounds, "tight": tight}[band] for band in bands]:
            band_settings = replace(settings, tight_tolerance=(hi - lo) / (2 * t))
            failed: set[tuple] = set()
            for _ in range(REBALANCE_ROUNDS):
                loads = np.bincount(labels, weights=self.w, minlength=k)
                if not self._improve_one(labels, loads, lo, hi, bounds, band_settings, failed):
                    break
        return labels

    def _improve_one(self, labels, loads, lo, hi, bounds, settings, failed: set[tuple]) -> bool:
        """Apply the first re-split that brings a grid outside [lo, hi] back in; False if none does.
        Groups that failed are skipped until one of their grids changes (``failed`` holds their loads)."""
        bad = [g for g in np.argsort(-np.abs(loads - settings.target), kind="stable") if not lo <= loads[g] <= hi]
        for g in bad:
            for group in self._neighbour_groups(labels, g):
                key = tuple((h, round(float(loads[h]), 6)) for h in group)
                if key in failed:
                    continue
                failed.add(key)
                nodes = np.flatnonzero(np.isin(labels, group))
                parts = self.bisect(nodes, len(group), settings, strict=True)
                if len(parts) != len(group):
                    continue
                part_loads = [self.w[p].sum() for p in parts]
                before = sum(not lo <= loads[h] <= hi for h in group)
                after = sum(not lo <= l <= hi for l in part_loads)
                inside = all(bounds[0] <= l <= bounds[1] for l in part_loads) or lo == bounds[0]
                if after < before and inside and all(self._connected(p) for p in parts):
                    for h, p in zip(group, parts):
                        labels[p] = h
                    return True
        return False

    def _neighbour_groups(self, labels: np.ndarray, g: int) -> list[list[int]]:
        """Grid ``g`` with each neighbour, then with each pair of neighbours along a chain."""
        near = self._grid_neighbours(labels, [g])
        groups = [[g, h] for h in near]
        for h in near:
            for i in self._grid_neighbours(labels, [g, h]):
                if i > h or i not in near:
                    groups.append(sorted({g, h, i}))
        seen, out = set(), []
        for group in groups:
            key = tuple(sorted(group))
            if key not in seen:
                seen.add(key)
                out.append(list(key))
        return out

    def _grid_neighbours(self, labels: np.ndarray, group: list[int]) -> list[int]:
        inside = np.isin(labels, group)
        near = {int(labels[j]) for i in np.flatnonzero(inside) for j, _, _ in self.nbrs[i] if not inside[j]}
        return sorted(near)

    def _connected(self, nodes: np.ndarray) -> bool:
        members = set(nodes.tolist())
        return len(self._reach(next(iter(members)), members)) == len(members)

    def _reach(self, start: int, members: set[int]) -> set[int]:
        seen = {start}
        stack = [start]
        while stack:
            a = stack.pop()
            for b, _, _ in self.nbrs[a]:
                if b in members and b not in seen:
                    seen.add(b)
                    stack.append(b)
        return seen

    # ---- exact re-split: exact cover by the groups of atoms that fit a grid ---------------------

    def exact_split(self, labels: np.ndarray, k: int, settings: GridSettings, fixed_count: bool = False, worst: int = 1) -> np.ndarray:
        """Re-plan each grid outside the tight band (``worst=1``; outside the bounds: ``worst=2``) together
        with all its neighbours (and, where that finds nothing, theirs too), choosing the grids among every
        connected group of their atoms whose load fits the bounds, so that fewer are outside the band
        (:func:`_exact_cover`); the count may change.

        Where atoms hold 100–250 households a grid is two or three of them and single-atom moves and
        bisections get stuck; the groups are few there and the search small. Where atoms are too fine to
        enumerate the groups (``EXACT_MAX_GROUPS``), the grids are cut into pieces first. ``fixed_count``
        keeps the number of grids (a count the user fixed). Returns the labels: grids re-planned away
        leave their label unused, new grids are numbered from ``k`` on.
        """
        labels = labels.copy()
        failed: set[tuple] = set()
        for _ in range(REBALANCE_ROUNDS):
            loads = np.bincount(labels, weights=self.w, minlength=k)
            alive = np.bincount(labels, minlength=k) > 0  # labels re-planned away hold no atom
            bad = [g for g in np.argsort(-np.abs(loads - settings.target), kind="stable") if alive[g] and _band(loads[g], settings) >= worst]
            for g in bad:
                grids = None
                for group in self._neighbourhoods(labels, int(g), rings=2):
                    key = tuple((h, round(float(loads[h]), 6)) for h in group)
                    if key in failed:
                        continue
                    failed.add(key)
                    grids = self._exact_grids(labels, group, settings, fixed_count)
                    if grids is not None:
                        break
                if grids is not None:
                    for h, nodes in zip(group + list(range(k, k + len(grids))), grids):
                        labels[nodes] = h
                    k = max(k, int(labels.max()) + 1)
                    break
            else:
                break
        return labels

    def _neighbourhoods(self, labels: np.ndarray, g: int, rings: int) -> Iterable[list[int]]:
        """Grid ``g`` with its neighbours, then (``rings=2``) with their neighbours too: its fix may need a
        chain of shifts through the grids beyond."""
        group = [g]
        for _ in range(rings):
            group = group + sorted(set(self._grid_neighbours(labels, group)) - set(group))
            yield group

    def _exact_grids(self, labels: np.ndarray, group: list[int], settings: GridSettings, fixed_count: bool,
                     coarsen: bool = True) -> list[np.ndarray] | None:
        """A layout of the atoms of ``group``'s grids (as many grids if ``fixed_count``) with none outside
        the bounds and fewer outside the tight band than now (or, if some are outside the bounds now, any
        within them); None if none is found."""
        current = [np.flatnonzero(labels == h) for h in group]
        bands = [_band(self.w[c].sum(), settings) for c in current]
        outside, loose = sum(b == 2 for b in bands), sum(b >= 1 for b in bands)
        nodes = np.concatenate(current)
        columns = self._fitting_groups(nodes, settings) if len(nodes) <= EXACT_MAX_ATOMS else None
        if columns is None:
            return self._coarse_exact_grids(current, settings, fixed_count) if coarsen else None
        scale = math.sqrt(self.area / max(self.n, 1) * len(nodes) / len(group))
        chosen, _ = _exact_cover(nodes, self.w, columns, [_band(load, settings) for load in _group_loads(self.w, columns)],
                              self._shapes(columns, scale, settings),
                              budgets=range(len(group) + 2 if outside else loose), settings=settings,
                              count=len(group) if fixed_count else None)
        if not chosen:  # none found, or no households to place
            return None
        local = np.full(self.n, -1, dtype=np.int64)
        local[nodes] = -2  # the group's atoms, not yet in a chosen grid
        for i, c in enumerate(chosen):
            local[c] = i
        self._attach_leftovers(local)
        grids = [np.flatnonzero(local == i) for i in range(len(chosen))]
        return grids if all(self._connected(c) for c in grids) else None

    def _coarse_exact_grids(self, current: list[np.ndarray], settings: GridSettings, fixed_count: bool) -> list[np.ndarray] | None:
        """The exact re-split on pieces, where the atoms are too fine to enumerate: each grid of the
        neighbourhood is cut into connected pieces of about ``COARSE_PIECE_SHARE`` of the target (chunky
        atoms stay whole) and the pieces are re-split exactly."""
        pieces: list[np.ndarray] = []
        owner: list[int] = []
        for i, grid in enumerate(current):
            k = max(1, math.ceil(self.w[grid].sum() / (COARSE_PIECE_SHARE * settings.target)))
            key = (grid.tobytes(), k)
            if key not in self._pieces:  # a grid is cut the same way in every neighbourhood it is part of
                band = replace(settings, target=max(self.w[grid].sum() / k, 1.0), tolerance=0.5, tight_tolerance=0.25)
                self._pieces[key] = self.bisect(grid, k, band)
            parts = self._pieces[key]
            pieces += parts
            owner += [i] * len(parts)
        piece_of = np.full(self.n, -1, dtype=np.int64)
        for i, p in enumerate(pieces):
            piece_of[p] = i
        graph = nx.Graph()
        graph.add_nodes_from(range(len(pieces)))
        for i, p in enumerate(pieces):
            for a in p:
                for b, cost, length in self.nbrs[a]:
                    j = int(piece_of[b])
                    if j > i:
                        d = graph.get_edge_data(i, j, {"cost": 0.0, "length": 0.0})
                        graph.add_edge(i, j, cost=d["cost"] + cost, length=d["length"] + length)
        w = np.array([self.w[p].sum() for p in pieces])
        x = np.array([np.average(self.x[p], weights=self.w[p] + 1e-6) for p in pieces])
        y = np.array([np.average(self.y[p], weights=self.w[p] + 1e-6) for p in pieces])
        reach = np.array([np.max(np.hypot(self.x[p] - x[i], self.y[p] - y[i]) + self.reach[p]) for i, p in enumerate(pieces)])
        inhabited = np.isfinite(reach)
        frame = pd.DataFrame({"x": x, "y": y, "reach_m": np.where(inhabited, reach, 0.0), "buildings": inhabited.astype(int)})
        coarse = RegionGraph(graph, np.arange(len(pieces)), w, frame)
        grids = coarse._exact_grids(np.array(owner), list(range(len(current))), settings, fixed_count, coarsen=False)
        if grids is None:
            return None
        return [np.sort(np.concatenate([pieces[i] for i in g])) for g in grids]

    def bounds_layout(self, settings: GridSettings, outside: int) -> tuple[np.ndarray | None, bool]:
        """A layout of the whole region with fewer grids outside the bounds than ``outside`` (those outside
        them now), each of at most ``misfit_ceiling``, or the proof that none exists.

        First by enumeration (:meth:`_enumerated_layout`): a layout with every grid within the bounds but
        those holding units that fit no grid (:func:`gridplan.bounds.proven_misfits`), fewer of them than
        ``outside``. Its proof settles the count where every layout with fewer grids outside would have
        only misfits' grids outside: without misfits, where one grid is outside now; with them, where the
        misfits need at least ``outside - 1`` grids (:func:`gridplan.bounds.misfits_apart`). Elsewhere, and
        where the enumeration runs past its limits, the programme of
        :func:`gridplan.bounds.bounds_programme` seeks the layout with the fewest grids outside, any of them.

        Returns the labels of a layout found (None if none), and the proof: with labels, that no layout
        has fewer grids outside than they have; without, that none has fewer than ``outside``.
        """
        neighbours = [[j for j, _, _ in row] for row in self.nbrs]
        misfits = np.flatnonzero(proven_misfits(neighbours, self.w, np.ones(self.n, dtype=bool), np.zeros(self.n, dtype=np.int64),
                                                range(self.n), settings.floor, settings.ceiling))
        apart = misfits_apart(neighbours, self.w, misfits, settings.misfit_ceiling) if len(misfits) else 0
        if apart >= outside:  # the misfits need every grid outside now: that is the fewest
            return None, True
        labels, proven = self._enumerated_layout(settings, misfits, outside - 1 if len(misfits) else 0)
        if labels is not None:  # its grids outside the bounds hold misfits, each proven by its unit
            return labels, False
        if proven and outside - 1 <= apart:
            return None, True
        return bounds_programme(neighbours, self.w, settings.floor, settings.ceiling, budget=outside - 1,
                                outside_hi=settings.misfit_ceiling, misfits=misfits)

    def _enumerated_layout(self, settings: GridSettings, misfits: np.ndarray, budget: int) -> tuple[np.ndarray | None, bool]:
        """:meth:`bounds_layout` by enumerating groups: (None, False) when its limits are reached.

        The groups are every connected group of atoms within the bounds (with any number of empty atoms)
        and, with ``misfits``, every connected group holding one of at most ``misfit_ceiling``, at most
        ``budget`` of those in a layout; an exact-cover search runs to its end. Before it, a relaxed search
        that can only prove: empty atoms only connect, so groups are enumerated over the inhabited atoms
        alone, two of them neighbours when they touch or when empty atoms join them (:meth:`_through_empty`;
        two groups may lean on the same empty atoms). When no such groups cover the inhabited atoms, no
        layout exists (an empty misfit would leave its grid out of that cover, so then it is skipped).
        Limits: ``PROOF_MAX_GROUPS`` groups, ``PROOF_SEARCH_NODES`` steps.
        """
        inhabited = np.flatnonzero(self.w > 0)
        if (self.w[misfits] > 0).all():
            cover, exhausted = self._cover(inhabited, settings, misfits, budget, max_empty=0, adjacent=self._through_empty(inhabited))
            if cover is None and exhausted:
                return None, True
        cover, exhausted = self._cover(np.arange(self.n), settings, misfits, budget, max_empty=math.inf)
        if not cover:
            return None, cover is None and exhausted
        labels = np.full(self.n, -2, dtype=np.int64)
        for g, c in enumerate(cover):
            labels[c] = g
        self._attach_leftovers(labels)
        return labels, False

    def _cover(self, nodes: np.ndarray, settings: GridSettings, misfits: np.ndarray, budget: int, **enumeration):
        """The exact cover of :meth:`_enumerated_layout` over ``nodes``: (cover or None, whether the search
        ran to its end); (None, False) past the enumeration's limits. The groups within the bounds come
        first (tight ones first where there are no misfits), then those around misfits nearest the bounds."""
        fitting = self._fitting_groups(nodes, settings, max_groups=PROOF_MAX_GROUPS, **enumeration)
        free = self._fitting_groups(nodes, settings, max_groups=PROOF_MAX_GROUPS, loads=(0.0, settings.misfit_ceiling),
                                    roots=misfits, **enumeration) if len(misfits) else []
        if fitting is None or free is None:
            return None, False
        loads = _group_loads(self.w, free)
        distance = np.maximum(settings.floor - loads, loads - settings.ceiling)
        if len(misfits):  # the budget is on the groups around misfits only
            bands, budgets = [0] * len(fitting) + [2] * len(free), [budget]
        else:
            bands, budgets = [_band(load, settings) for load in _group_loads(self.w, fitting)], [self.n]
        return _exact_cover(nodes, self.w, fitting + free, bands, [0.0] * len(fitting) + distance.tolist(), budgets=budgets,
                            settings=settings, steps=PROOF_SEARCH_NODES, prune=not len(misfits))

    def _through_empty(self, inhabited: np.ndarray) -> dict[int, set[int]]:
        """Neighbours of each inhabited atom among the inhabited ones: those it touches, and those that
        touch the same connected piece of empty atoms."""
        w = self.w
        adjacent = {int(v): {j for j, _, _ in self.nbrs[v] if w[j] > 0} for v in inhabited}
        empty = set(np.flatnonzero(w <= 0).tolist())
        while empty:
            piece = self._reach(empty.pop(), empty)
            empty -= piece
            touching = {j for a in piece for j, _, _ in self.nbrs[a] if w[j] > 0}
            for u in touching:
                adjacent[u] |= touching - {u}
        return adjacent

    def _fitting_groups(self, nodes: np.ndarray, settings: GridSettings, max_empty: float = EXACT_MAX_EMPTY,
                        max_groups: int = EXACT_MAX_GROUPS, adjacent: dict[int, set[int]] | None = None,
                        loads: tuple[float, float] | None = None, roots: np.ndarray | None = None) -> list[np.ndarray] | None:
        """Every connected group of ``nodes`` with a load within the bounds (or ``loads``) and at most
        ``max_empty`` empty atoms (ESU enumeration, each group once), connected in the graph's adjacency or
        in ``adjacent``; only groups holding one of ``roots`` if given. None beyond ``max_groups`` groups,
        or ``ENUMERATION_VISITS`` times as many visited."""
        lo, hi = loads or (settings.floor, settings.ceiling)
        member = set(nodes.tolist())
        # each group is found once, from its first atom in this order (the roots first); groups and their
        # neighbourhoods are sets of ranks held as the bits of an integer
        first = [int(v) for v in roots] if roots is not None else []
        order = first + sorted(member - set(first))
        rank = {v: r for r, v in enumerate(order)}
        if adjacent is None:
            adjacent = {v: {j for j, _, _ in self.nbrs[v] if j in member} for v in member}
        bits = [sum(1 << rank[j] for j in adjacent[v] if j in rank) for v in order]
        w = self.w[order].tolist()
        empty = [int(x <= 0) for x in w]
        out: list[list[int]] = []
        visits = [max_groups * ENUMERATION_VISITS]  # groups too light to record count too

        def extend(group, load, empties, extension, closed, later) -> bool:
            visits[0] -= 1
            if visits[0] < 0:
                return False
            if load >= lo:
                out.append(group)
                if len(out) > max_groups:
                    return False
            while extension:
                lowest = extension & -extension
                extension ^= lowest
                u = lowest.bit_length() - 1
                if load + w[u] > hi or empties + empty[u] > max_empty:
                    continue
                if not extend(group + [u], load + w[u], empties + empty[u], extension | bits[u] & later & ~closed, closed | bits[u], later):
                    return False
            return True

        for v in range(len(first) if roots is not None else len(order)):
            if w[v] > hi:
                continue
            later = ~((2 << v) - 1)  # ranks after v
            if not extend([v], w[v], empty[v], bits[v] & later, bits[v] | 1 << v, later):
                return None
        node = np.asarray(order, dtype=np.int64)
        return [np.sort(node[group]) for group in out]

    def _shapes(self, columns: list[np.ndarray], scale: float, settings: GridSettings) -> np.ndarray:
        """Cut cost, spread and radius excess of each group, in the units of the refinement's move gains
        (all groups at once, with a sparse membership matrix)."""
        if not columns:
            return np.zeros(0)
        sizes = np.array([len(c) for c in columns], dtype=np.int64)
        rows = np.repeat(np.arange(len(columns)), sizes)
        cols = np.concatenate(columns)
        member = csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(columns), self.n))
        cut = member @ np.asarray(self.costs.sum(axis=1)).ravel() - np.asarray((member @ self.costs).multiply(member).sum(axis=1)).ravel()
        w = self.w + 1e-6
        x, y = self.x - self.x.mean(), self.y - self.y.mean()  # centred: sums of squares stay exact
        sw, sx, sy = member @ w, member @ (w * x), member @ (w * y)
        spread = (member @ (w * (x * x + y * y)) - (sx * sx + sy * sy) / sw) / (settings.target * scale * scale)
        cx, cy = sx / sw, sy / sw
        far = np.hypot(x[cols] - cx[rows], y[cols] - cy[rows]) + self.reach[cols]
        radius = np.maximum.reduceat(far, np.concatenate([[0], np.cumsum(sizes)[:-1]]))
        limit = settings.max_service_radius_m
        excess = np.maximum(0.0, radius - limit) / limit
        return CUT_WEIGHT * cut / scale + SPREAD_WEIGHT * np.maximum(spread, 0.0) + RADIUS_WEIGHT * excess

    def _attach_leftovers(self, labels: np.ndarray) -> None:
        """Atoms labelled -2 (in no grid) join the neighbouring grid they share most boundary with (in place)."""
        attach_to_neighbours(np.flatnonzero(labels == -2), lambda a: ((b, length) for b, _, length in self.nbrs[a]), labels)

    # ---- service radius: re-split pairs of grids -----------------------------------------------

    def shorten_radii(self, labels: np.ndarray, k: int, settings: GridSettings) -> np.ndarray:
        """Re-split each grid beyond the maximum service radius with one neighbour, so that the pair's
        radius excess falls while neither grid leaves the band (tight, bounds) it was in (服务半径)."""
        labels = labels.copy()
        failed: set[tuple] = set()
        for _ in range(REBALANCE_ROUNDS):
            if not self._shorten_one(labels, k, settings, failed):
                break
        return labels

    def radii(self, labels: np.ndarray, k: int) -> np.ndarray:
        """Service radius of each grid estimated on atoms: centre distance plus the atom's reach."""
        w = self.w + 1e-6
        sw = np.bincount(labels, weights=w, minlength=k)
        cx = np.bincount(labels, weights=w * self.x, minlength=k) / sw
        cy = np.bincount(labels, weights=w * self.y, minlength=k) / sw
        far = np.hypot(self.x - cx[labels], self.y - cy[labels]) + self.reach
        out = np.zeros(k)
        np.maximum.at(out, labels, far)
        return out

    def _shorten_one(self, labels, k, settings, failed: set[tuple]) -> bool:
        limit = settings.max_service_radius_m
        radii = self.radii(labels, k)
        loads = np.bincount(labels, weights=self.w, minlength=k)
        for g in np.argsort(-radii, kind="stable"):
            if radii[g] <= limit:
                break
            for h in self._grid_neighbours(labels, [g]):
                key = (g, h, round(float(loads[g]), 6), round(float(loads[h]), 6))
                if key in failed:
                    continue
                failed.add(key)
                nodes = np.flatnonzero((labels == g) | (labels == h))
                excess = max(0.0, radii[g] - limit) + max(0.0, radii[h] - limit)
                parts = self._radius_cut(nodes, [loads[g], loads[h]], excess, settings)
                if parts is not None:
                    labels[parts[0]], labels[parts[1]] = g, h
                    return True
        return False

    def _radius_cut(self, nodes: np.ndarray, loads: list[float], excess: float, settings: GridSettings):
        """The cut of a pair's atoms (both sides connected, neither grid in a worse band than before)
        with the least radius excess, if it is at least a metre below ``excess``."""
        limit = settings.max_service_radius_m
        total = self.w[nodes].sum()
        scale_cut = math.sqrt(self.area / max(len(self.x), 1) * len(nodes) / 2)
        best, best_key = None, (math.inf, math.inf)
        table = _CutTable(self, self._orderings(nodes), scale_cut)
        for r, order in enumerate(table.orders):
            ok = np.array([_no_worse(loads, (a, total - a), settings) for a in table.prefix[r, :-1]] + [False])
            if not ok.any():
                continue
            table.costs(np.array([r]))
            idx = np.flatnonzero(ok & table.valid[r])
            if len(idx) == 0:
                continue
            over = self._prefix_excess(order, limit)[idx]
            for i, e in zip(idx, over):
                if e > excess - 1.0:
                    continue
                key = (RADIUS_STEP_M * math.ceil(e / RADIUS_STEP_M), float(table.base[r, i]))
                if key < best_key:
                    best, best_key = (np.sort(order[: i + 1]), np.sort(order[i + 1 :])), key
        return best

    def _prefix_excess(self, order: np.ndarray, limit: float) -> np.ndarray:
        """Radius excess of both sides of every cut of ``order`` (prefix ``order[:i+1]`` and the rest)."""
        w = self.w[order] + 1e-6
        x, y, reach = self.x[order], self.y[order], self.reach[order]
        n = len(order)
        inside = np.tri(n, dtype=bool)  # row i: members of the prefix ending at i
        excess = np.zeros(n)
        for mask in (inside, ~inside):
            sw = (mask * w).sum(1)
            sw = np.where(sw > 0, sw, 1.0)
            cx, cy = (mask * (w * x)).sum(1) / sw, (mask * (w * y)).sum(1) / sw
            far = np.hypot(x[None, :] - cx[:, None], y[None, :] - cy[:, None]) + reach[None, :]
            radius = np.where(mask, far, -np.inf).max(1)
            excess += np.maximum(0.0, radius - limit)
        return excess

    # ---- refinement ---------------------------------------------------------------------------

    def _penalty(self, load: float, settings: GridSettings) -> float:
        """Balance penalty of a grid's load: small inside the tight band, steep outside the bounds."""
        t = settings.target
        dev = abs(load - t) / t
        p = dev * dev
        if dev > settings.tight_tolerance:
            p += 4.0 * (dev - settings.tight_tolerance)
        if dev > settings.tolerance:
            p += 100.0 * (dev - settings.tolerance)
        return p

    def score(self, labels: np.ndarray, k: int, settings: GridSettings) -> tuple:
        loads = np.bincount(labels, weights=self.w, minlength=k)
        t = settings.target
        outside = int(np.sum(np.abs(loads - t) > settings.tolerance * t + 1e-9))
        loose = int(np.sum(np.abs(loads - t) > settings.tight_tolerance * t + 1e-9))
        cut = sum(c for i in range(self.n) for j, c, _ in self.nbrs[i] if j > i and labels[i] != labels[j])
        return (outside, loose, sum(self._penalty(l, settings) for l in loads) + cut / math.sqrt(self.area))

    def refine(self, labels: np.ndarray, k: int, settings: GridSettings) -> np.ndarray:
        """Move boundary atoms between neighbouring grids while it lowers balance penalty, cut and spread."""
        labels = labels.copy()
        loads = np.bincount(labels, weights=self.w, minlength=k).astype(float)
        members = [set(np.flatnonzero(labels == g).tolist()) for g in range(k)]
        scale = math.sqrt(self.area / max(self.n, 1) * self.n / max(k, 1))
        cx = np.array([np.average(self.x[list(m)], weights=self.w[list(m)] + 1e-9) for m in members])
        cy = np.array([np.average(self.y[list(m)], weights=self.w[list(m)] + 1e-9) for m in members])
        for _ in range(REFINE_PASSES):
            moved = 0
            for i in range(self.n):
                g = labels[i]
                if len(members[g]) == 1:
                    continue
                targets = {labels[j] for j, _, _ in self.nbrs[i] if labels[j] != g}
                if not targets:
                    continue
                best_gain, best_h = 1e-9, None
                for h in targets:
                    if not _no_worse((loads[g], loads[h]), (loads[g] - self.w[i], loads[h] + self.w[i]), settings):
                        continue
                    gain = self._move_gain(i, g, h, labels, loads, cx, cy, scale, settings)
                    if gain > best_gain:
                        best_gain, best_h = gain, h
                if best_h is None or not self._stays_connected(i, members[g]):
                    continue
                labels[i] = best_h
                members[g].discard(i)
                members[best_h].add(i)
                loads[g] -= self.w[i]
                loads[best_h] += self.w[i]
                moved += 1
            if not moved:
                break
            for g in range(k):
                m = list(members[g])
                cx[g] = np.average(self.x[m], weights=self.w[m] + 1e-9)
                cy[g] = np.average(self.y[m], weights=self.w[m] + 1e-9)
        return labels

    def _move_gain(self, i, g, h, labels, loads, cx, cy, scale, settings) -> float:
        w = self.w[i]
        balance = (
            self._penalty(loads[g], settings) + self._penalty(loads[h], settings)
            - self._penalty(loads[g] - w, settings) - self._penalty(loads[h] + w, settings)
        )
        cut = 0.0
        for j, c, _ in self.nbrs[i]:
            if labels[j] == g:
                cut -= c
            elif labels[j] == h:
                cut += c
        from_g = math.hypot(self.x[i] - cx[g], self.y[i] - cy[g])
        from_h = math.hypot(self.x[i] - cx[h], self.y[i] - cy[h])
        spread = w * (from_g**2 - from_h**2) / (settings.target * scale * scale)
        # beyond the maximum service radius, every metre counts (服务半径), for inhabited atoms
        radius = settings.max_service_radius_m
        beyond = (max(0.0, from_g - radius) - max(0.0, from_h - radius)) / radius if w > 0 else 0.0
        return balance * 10.0 + CUT_WEIGHT * cut / scale + SPREAD_WEIGHT * spread + RADIUS_WEIGHT * beyond

    def _stays_connected(self, i: int, group: set[int]) -> bool:
        """Whether ``group`` without ``i`` is still connected (BFS among i's neighbours' grid)."""
        rest = group - {i}
        start = next((j for j, _, _ in self.nbrs[i] if j in rest), None)
        return start is not None and len(self._reach(start, rest)) == len(rest)


def attach_to_neighbours(todo, neighbours, labels: np.ndarray) -> None:
    """Give each atom of ``todo`` the label (≥ 0) of the neighbour it shares most boundary with, in place,
    repeating for atoms whose neighbours have none yet. ``neighbours(a)`` yields ``(atom, shared length)``."""
    todo = list(todo)
    while todo:
        rest = []
        for a in todo:
            options = [(length, -labels[b]) for b, length in neighbours(a) if labels[b] >= 0]
            if options:
                labels[a] = -max(options)[1]
            else:
                rest.append(a)
        if len(rest) == len(todo):
            raise RuntimeError(f"atoms {rest[:5]} are connected to no grid")
        todo = rest


def _exact_cover(nodes, weight, columns, bands, shapes, budgets: Iterable[int], settings: GridSettings,
                 count: int | None = None, steps: int = EXACT_SEARCH_NODES, prune: bool = True) -> tuple[list[np.ndarray] | None, bool]:
    """Columns (atom groups) covering every inhabited atom of ``nodes`` exactly once and every empty
    one at most once, with as few loose columns (band 1) as possible: each of ``budgets`` (the loose
    columns allowed) is tried in turn; exactly ``count`` columns when given. Returns the cover (None if
    none found) and whether the last search ran to its end (so that None proves no cover exists).

    Depth-first search (exact cover, as in Knuth's algorithm X) under rising budgets of loose columns: it
    always extends the first uncovered inhabited atom (fewest candidate groups first), tries the compact
    groups first and, if ``prune`` (every column within the bounds), prunes where the households left fit
    no count of grids. At most ``steps`` steps per budget, so the result is the same on every machine.
    """
    position = np.full(len(weight), -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    member = np.zeros((len(columns), len(nodes)), dtype=bool)  # column × atom of nodes
    if columns:
        member[np.repeat(np.arange(len(columns)), [len(c) for c in columns]), position[np.concatenate(columns)]] = True
    masks = [int.from_bytes(row.tobytes(), "little") for row in np.packbits(member, axis=1, bitorder="little")]
    inhabited = [i for i, a in enumerate(nodes) if weight[a] > 0]
    preferred = np.lexsort((np.asarray(shapes, dtype=float), np.asarray(bands)))  # by band, then shape (stable)
    options = {i: preferred[member[preferred, i]].tolist() for i in inhabited}
    order = sorted(inhabited, key=lambda i: (len(options[i]), i))
    column_load = _group_loads(weight, columns).tolist()
    tight = settings.tight_band

    def fits(load: float, loose: int, grids_left: int | None) -> bool:
        """Whether ``load`` households can make some number of grids (``grids_left`` if given) with at
        most ``loose`` loose ones."""
        counts = [grids_left] if grids_left is not None else range(max(1, math.floor(load / settings.ceiling)), math.ceil(load / tight[0]) + 2)
        for m in counts:
            j = min(loose, m)
            if (m - j) * tight[0] + j * settings.floor - 1e-9 <= load <= (m - j) * tight[1] + j * settings.ceiling + 1e-9:
                return True
        return False

    left_steps = [0]
    for budget in budgets:
        left_steps[0] = steps
        found: list[int] = []

        def search(covered: int, left: float, loose: int) -> bool:
            left_steps[0] -= 1
            if left_steps[0] < 0:
                return False
            a = next((i for i in order if not covered >> i & 1), None)
            grids_left = None if count is None else count - len(found)
            if a is None:
                return not grids_left
            if prune and not fits(left, budget - loose, grids_left):
                return False
            for c in options[a]:
                if masks[c] & covered or (bands[c] and loose == budget):
                    continue
                found.append(c)
                if search(covered | masks[c], left - column_load[c], loose + (bands[c] > 0)):
                    return True
                found.pop()
            return False

        if search(0, float(weight[nodes].sum()), 0):
            return [columns[c] for c in found], True
    return None, left_steps[0] >= 0


def _group_loads(weight: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """The load of each group (non-empty arrays of atom positions), summed all at once."""
    if not groups:
        return np.zeros(0)
    sizes = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
    return np.add.reduceat(weight[np.concatenate(groups)], np.cumsum(sizes) - sizes)


def _band(load: float, settings: GridSettings) -> int:
    """0 inside the tight band, 1 inside the bounds, 2 outside."""
    dev = abs(load - settings.target) / settings.target
    return 0 if dev <= settings.tight_tolerance + 1e-9 else (1 if dev <= settings.tolerance + 1e-9 else 2)


def _no_worse(before, after, settings: GridSettings) -> bool:
    """Whether grids with loads ``after`` are, band by band, no worse than with ``before`` (sorted)."""
    old = sorted(_band(l, settings) for l in before)
    new = sorted(_band(l, settings) for l in after)
    return all(a <= b for a, b in zip(new, old))


class _CutTable:
    """Everything about the prefixes of some orderings of the same atoms (one row each) that does not
    depend on the load window: weights, connectivity of both sides and the cost of each cut (cut length,
    spread). Windows are tried on all orderings at once; costs are computed for an ordering only when a
    window first has candidates in it."""

    def __init__(self, region: RegionGraph, orders: list[np.ndarray], scale_cut: float):
        self.region = region
        self.orders = np.array(orders)
        self.scale_cut = scale_cut
        self.prefix = np.cumsum(region.w[self.orders], axis=1)
        self.base = np.zeros(self.orders.shape)
        self.valid = np.zeros(self.orders.shape, dtype=bool)
        self.costed = np.zeros(len(self.orders), dtype=bool)

    def costs(self, rows: np.ndarray) -> None:
        """Connectivity and cost of every cut of the orderings ``rows`` not costed yet."""
        region, n = self.region, self.orders.shape[1]
        for r in rows[~self.costed[rows]]:
            order = self.orders[r]
            forward_ok, cut_cost = region._prefix_connectivity(order)
            # a suffix of the ordering is a prefix of the reversed one
            backward_ok = region._prefix_connectivity(order[::-1])[0][::-1]
            # Spread (weighted sum of squared distances to the centre) of prefix and suffix, incrementally.
            w, x, y = region.w[order], region.x[order], region.y[order]
            sw, sx, sy, sq = self.prefix[r], np.cumsum(w * x), np.cumsum(w * y), np.cumsum(w * (x * x + y * y))
            tw, tx, ty, tq = sw[-1], sx[-1], sy[-1], sq[-1]
            with np.errstate(divide="ignore", invalid="ignore"):
                spread_a = sq - (sx * sx + sy * sy) / np.where(sw > 0, sw, 1)
                rw = tw - sw
                spread_b = (tq - sq) - ((tx - sx) ** 2 + (ty - sy) ** 2) / np.where(rw > 0, rw, 1)
            spread = (spread_a + spread_b) / max(tw, 1.0) / (self.scale_cut * self.scale_cut)
            self.base[r] = CUT_WEIGHT * cut_cost / self.scale_cut + SPREAD_WEIGHT * spread
            # a cut after position i is valid when both sides are connected
            self.valid[r] = forward_ok & np.append(backward_ok[1:n], False)
            self.costed[r] = True

    def best_cut(self, k: int, lo: float, hi: float, total: float, relaxed: float | None = None):
        """The best cut over the orderings and the splits of ``k`` whose parts' per-grid loads lie in
        [lo, hi] (or, ``relaxed``, the tenth of cuts whose loads are nearest it): (order, index, grids in
        prefix), or None. Ties go to the first ordering, then the smaller split, then the earlier index."""
        prefix = self.prefix
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
