"""The state every phase shares: a region's atoms as arrays, their adjacency, and what a grid should hold.

:class:`RegionGraph` holds one connected region (loads, household-weighted centres, reach, the adjacency
as CSR arrays with cut costs and shared lengths, and the street-aware step lengths of the geodesic
orderings); the phases are functions over it. :class:`Sizing` is what a group of atoms should hold: a
grid's 240–360 households, a micro-grid's 10–30, a first-level area's share of its street office.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from gridplan.core.geometry import weighted_centres
from gridplan.settings import GridSettings, LoadWindow, Tolerances

from ._kernels import labels_touching

#: How much longer a step across a street is than one along a block, per unit of street preference
#: (geodesic orderings).
STREET_CROSSING_FACTOR = 1.0


@dataclass(frozen=True)
class Sizing(Tolerances):
    """What a group of atoms should hold: a target load, the tight band (±``tight_tolerance``) and the
    bounds (±``tolerance``) around it (their windows as in :class:`~gridplan.settings.Tolerances`); and the
    service radius beyond which a grid is too long.

    Grids take theirs from :class:`~gridplan.settings.GridSettings` (:meth:`of`); micro-grids, first-level
    areas and the pieces of the exact re-split are sized here too.
    """

    target: float
    tolerance: float
    tight_tolerance: float
    max_radius_m: float = GridSettings.max_service_radius_m

    @classmethod
    def of(cls, settings: GridSettings) -> Sizing:
        """The sizing of household grids."""
        return cls(settings.target, settings.tolerance, settings.tight_tolerance, settings.max_service_radius_m)

    @classmethod
    def within(cls, window: LoadWindow) -> Sizing:
        """A sizing whose bounds are ``window`` (target in its middle), its tight band half as wide."""
        target = (window.lo + window.hi) / 2
        tolerance = (window.hi - window.lo) / (2 * target)
        return cls(target, tolerance, tolerance / 2)

    def __post_init__(self):
        # fit() runs for every move refinement weighs: its windows are worked out once
        object.__setattr__(self, "_windows", (self.tight_window, self.bounds_window))

    def fit(self, load: float) -> int:
        """0 within the tight band, 1 within the bounds, 2 outside them."""
        tight, bounds = self._windows
        return 0 if tight.contains(load) else 1 if bounds.contains(load) else 2

    def fits(self, loads: np.ndarray) -> np.ndarray:
        """:meth:`fit` of each of ``loads``."""
        tight, bounds = self._windows
        return np.where(tight.contains(loads), 0, np.where(bounds.contains(loads), 1, 2))

    def no_worse(self, before: Sequence[float], after: Sequence[float]) -> bool:
        """Whether groups with loads ``after`` fit, one by one from the best, no worse than with ``before``."""
        return all(a <= b for a, b in zip(sorted(map(self.fit, after)), sorted(map(self.fit, before))))


@dataclass(frozen=True)
class Adjacency:
    """Neighbours of each atom as CSR arrays (``indices[indptr[a]:indptr[a + 1]]``), with the cost of cutting
    each shared boundary and its length. Each atom's neighbours keep the order of the graph they come from:
    floating-point sums and ties follow it."""

    indptr: np.ndarray
    indices: np.ndarray
    cost: np.ndarray
    length: np.ndarray
    barrier: np.ndarray | None = None

    @classmethod
    def from_networkx(cls, graph: nx.Graph) -> Adjacency:
        """The adjacency of a graph whose nodes are ``0 … n-1``; edges carry ``cost``, ``length`` and
        optionally ``barrier`` (the shared boundary is a river, rail or wall)."""
        rows = [graph.adj[a] for a in range(graph.number_of_nodes())]
        indptr = np.concatenate([[0], np.cumsum([len(row) for row in rows])]).astype(np.int64)
        edges = [(b, d["cost"], d["length"], d.get("barrier", False)) for row in rows for b, d in row.items()]
        indices, cost, length, barrier = (np.array(column) for column in zip(*edges)) if edges else (np.zeros(0),) * 4
        return cls(indptr, indices.astype(np.int64), cost.astype(float), length.astype(float), barrier.astype(bool))

    @classmethod
    def from_edges(cls, n: int, left: np.ndarray, right: np.ndarray, cost: np.ndarray, length: np.ndarray) -> Adjacency:
        """The adjacency of ``n`` atoms joined by the edges ``left``–``right`` (each once), each atom's
        neighbours in the order of its edges, as networkx adds them."""
        rows = np.column_stack([left, right]).ravel()
        cols = np.column_stack([right, left]).ravel()
        order = np.argsort(rows, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
        return cls(
            indptr,
            cols[order].astype(np.int64),
            np.repeat(cost, 2)[order].astype(float),
            np.repeat(length, 2)[order].astype(float),
        )

    def rows(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The entries of ``nodes``' rows, row after row, and the position in ``nodes`` of each one's row."""
        return row_entries(self.indptr, nodes)

    def among(self, nodes: np.ndarray) -> Adjacency:
        """The adjacency among ``nodes``, renumbered in their order."""
        entries, indptr, columns = _among(self.indptr, self.indices, nodes)
        barrier = self.barrier[entries] if self.barrier is not None else None
        return Adjacency(indptr, columns, self.cost[entries], self.length[entries], barrier)

    @property
    def sources(self) -> np.ndarray:
        """The atom each entry is a neighbour of."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))

    def neighbour_lists(self) -> list[list[int]]:
        indices = self.indices.tolist()
        return [indices[s:e] for s, e in zip(self.indptr[:-1].tolist(), self.indptr[1:].tolist())]

    def components(self, keep: np.ndarray | None = None) -> list[np.ndarray]:
        """Connected components (through the entries ``keep``, by default all): each one's atoms ascending,
        components by their first atom."""
        n = len(self.indptr) - 1
        if n == 0:
            return []
        rows = self.sources
        keep = np.ones(len(rows), dtype=bool) if keep is None else keep
        _, label = connected_components(
            csr_matrix((np.ones(keep.sum()), (rows[keep], self.indices[keep])), shape=(n, n)), directed=False
        )
        order = np.lexsort((np.arange(n), label))
        return sorted(np.split(order, np.flatnonzero(np.diff(label[order])) + 1), key=lambda c: c[0])

    def matrix(self, data: np.ndarray) -> csr_matrix:
        """``data`` (one value per entry) as a sparse matrix, its rows' columns sorted."""
        n = len(self.indptr) - 1
        return csr_matrix((data, (self.sources, self.indices)), shape=(n, n))


def row_entries(indptr: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries of the CSR rows ``nodes``, row after row, and the position in ``nodes`` of each one's row."""
    starts, counts = indptr[nodes], np.diff(indptr)[nodes]
    entries = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return entries, np.repeat(np.arange(len(nodes)), counts)


def neighbour_arrays(graph) -> tuple[np.ndarray, np.ndarray]:
    """The neighbours of each unit as CSR arrays (``indptr``, ``indices``): those arrays themselves, those of
    an :class:`Adjacency`, or those of a networkx graph whose nodes are ``0 … n-1`` or of a list of
    neighbour lists."""
    if isinstance(graph, tuple):
        return graph
    if isinstance(graph, Adjacency):
        return graph.indptr, graph.indices
    rows = [graph.adj[u] for u in range(graph.number_of_nodes())] if hasattr(graph, "adj") else graph
    indptr = np.concatenate([[0], np.cumsum([len(row) for row in rows])]).astype(np.int64)
    return indptr, np.fromiter((v for row in rows for v in row), dtype=np.int64, count=int(indptr[-1]))


def _among(indptr: np.ndarray, indices: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries among ``nodes`` of a CSR structure (sliced from its arrays directly: scipy's fancy
    indexing costs more on the small sets the phases cut), its new ``indptr`` and the columns renumbered in
    the order of ``nodes``."""
    position = np.full(len(indptr) - 1, -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    entries, rows = row_entries(indptr, nodes)
    columns = position[indices[entries]]
    keep = columns >= 0
    new_indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=len(nodes)))]).astype(np.int64)
    return entries[keep], new_indptr, columns[keep]


@dataclass
class RegionGraph:
    """A connected region's atoms as arrays, and their adjacency.

    Attributes
    ----------
    adjacency
        Neighbours among the region's atoms (positions ``0 … n-1``), with cut costs and shared lengths.
    w, x, y
        Load and household-weighted centre of each atom.
    reach
        How far each atom's buildings reach from its centre (``-inf``: no buildings, no radius).
    links
        Per atom, ``(neighbour, cut cost)`` pairs as plain lists: the loops of bisection and refinement
        run over them.
    steps, costs
        Street-aware step lengths of the geodesic orderings, and cut costs, as CSR matrices.
    area
        The region's bounding box (m²), from which a grid's side is estimated.
    pieces
        Grids cut into pieces by the exact re-split, by their atoms and piece count (a grid is cut the same
        way in every neighbourhood it is part of).
    tables
        The bisection's latest cut tables, by atoms and grid count (:func:`._bisection.cut_table`).
    crowded
        Per sizing, the atom sets (bits of an integer) found to have too many connected groups to enumerate
        (:func:`._exact.fitting_groups`): a set holding one of them has too.
    """

    adjacency: Adjacency
    w: np.ndarray
    x: np.ndarray
    y: np.ndarray
    reach: np.ndarray
    pieces: dict = field(default_factory=dict, repr=False)
    tables: dict = field(default_factory=dict, repr=False)
    crowded: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        a = self.adjacency
        self.n = len(self.w)
        rows = a.sources
        targets, costs = a.indices.tolist(), a.cost.tolist()
        self.links = [
            list(zip(targets[s:e], costs[s:e])) for s, e in zip(a.indptr[:-1].tolist(), a.indptr[1:].tolist())
        ]
        self.area = max((self.x.max() - self.x.min()) * (self.y.max() - self.y.min()), 1.0)
        preference = np.where(a.cost > 0, a.length / np.where(a.cost > 0, a.cost, 1.0), 1.0)
        # math.hypot, not numpy's: the two differ in the last bit for about 1 pair in 200, which would reorder ties
        span = np.fromiter(
            map(math.hypot, (self.x[rows] - self.x[a.indices]).tolist(), (self.y[rows] - self.y[a.indices]).tolist()),
            dtype=float,
            count=len(rows),
        )
        self.steps = a.matrix(span * (1.0 + STREET_CROSSING_FACTOR * preference) + 1e-6)
        self.costs = a.matrix(a.cost)

    @classmethod
    def of(cls, adjacency: Adjacency, region: np.ndarray, weight: np.ndarray, atoms: pd.DataFrame) -> RegionGraph:
        """The atoms ``region`` (positions in ``adjacency``) with their loads ``weight[region]``, and ``x``,
        ``y``, optional ``reach_m`` and ``buildings`` from ``atoms`` (atoms without buildings have no reach)."""
        reach = atoms["reach_m"].to_numpy()[region] if "reach_m" in atoms else np.zeros(len(region))
        inhabited = (
            atoms["buildings"].to_numpy()[region] > 0 if "buildings" in atoms else np.ones(len(region), dtype=bool)
        )
        return cls(
            adjacency.among(region),
            weight[region].astype(float),
            atoms["x"].to_numpy()[region],
            atoms["y"].to_numpy()[region],
            np.where(inhabited, reach, -np.inf),
        )

    def side(self, atoms: int, grids: int) -> float:
        """A grid's side (m) where ``atoms`` of the region make ``grids`` grids."""
        return math.sqrt(self.area / max(self.n, 1) * atoms / max(grids, 1))

    def loads(self, labels: np.ndarray, k: int) -> np.ndarray:
        return np.bincount(labels, weights=self.w, minlength=k)

    def grid_loads(self, labels: np.ndarray) -> np.ndarray:
        """The load of each label that some atom has (labels re-planned away hold none and make no grid)."""
        return np.bincount(labels, weights=self.w)[np.bincount(labels) > 0]

    def centres(self, labels: np.ndarray, k: int, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre of each label's atoms weighted by ``weight`` (:func:`weighted_centres`)."""
        return weighted_centres(labels, self.x, self.y, weight, k)[:2]

    def cut_cost(self, labels: np.ndarray) -> float:
        """Cost of the boundaries between differently labelled atoms, each counted once, summed in order."""
        a = self.adjacency
        rows = a.sources
        cut = (a.indices > rows) & (labels[rows] != labels[a.indices])
        return in_order_sum(a.cost[cut])

    def grid_neighbours(self, labels: np.ndarray, group: list[int]) -> list[int]:
        """Labels of the atoms touching the atoms labelled ``group``, outside it (ascending)."""
        a = self.adjacency
        return labels_touching(a.indptr, a.indices, labels, np.asarray(group, dtype=np.int64)).tolist()

    def reach_from(self, start: int, members: set[int]) -> set[int]:
        """The atoms of ``members`` that ``start`` reaches through them."""
        seen = {start}
        stack = [start]
        links = self.links
        while stack:
            a = stack.pop()
            for b, _ in links[a]:
                if b in members and b not in seen:
                    seen.add(b)
                    stack.append(b)
        return seen

    def connected(self, nodes: np.ndarray) -> bool:
        members = set(nodes.tolist())
        return len(self.reach_from(next(iter(members)), members)) == len(members)

    def stays_connected(self, i: int, group: set[int]) -> bool:
        """Whether ``group`` without ``i`` is still connected."""
        rest = group - {i}
        start = next((j for j, _ in self.links[i] if j in rest), None)
        return start is not None and len(self.reach_from(start, rest)) == len(rest)

    def neighbour_lists(self) -> list[list[int]]:
        return self.adjacency.neighbour_lists()


def window_excess(window: LoadWindow | tuple[float, float], loads) -> np.ndarray:
    """How far each of ``loads`` lies outside ``window`` (``lo, hi``; 0 within it)."""
    (lo, hi), loads = window, np.asarray(loads, dtype=float)
    return np.maximum(0.0, np.maximum(lo - loads, loads - hi))


def labels_of(parts: list[np.ndarray], n: int) -> np.ndarray:
    """Label ``i`` for the atoms of ``parts[i]``, for ``n`` atoms all in some part."""
    labels = np.empty(n, dtype=np.int64)
    labels[np.concatenate(parts)] = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    return labels


def in_order_sum(values: np.ndarray) -> float:
    """The sum of ``values`` added one after another (not pairwise, as ``numpy.sum`` does), so that it
    rounds as a loop over them would."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def join_orphans(
    labels: np.ndarray,
    orphans: np.ndarray,
    adjacency: Adjacency,
    *,
    rank: np.ndarray | None = None,
    ties: str = "lowest",
) -> np.ndarray:
    """``labels`` with each of ``orphans`` given the label of the neighbour it shares the longest boundary
    with (one after another, so an orphan may follow one labelled before it; then again for those whose
    neighbours had no label yet). Labels are ``>= 0``.

    Parameters
    ----------
    labels
        Label of each atom of ``adjacency`` (orphans' are ignored).
    orphans
        The atoms to label.
    rank
        Per label, a preference before length (regeneration prefers grids that are not locked).
    ties
        Which label of equally long boundaries wins: ``"lowest"`` or ``"highest"``.

    Raises
    ------
    ValueError
        Some orphans touch no labelled atom, however many are labelled.
    """
    out = labels.copy()
    out[orphans] = -1
    sign = -1 if ties == "lowest" else 1
    indptr, indices, length = adjacency.indptr, adjacency.indices.tolist(), adjacency.length.tolist()
    todo = list(orphans)
    while todo:
        rest = []
        for a in todo:
            options = [
                ((rank[g] if rank is not None else 0), length[e], sign * g)
                for e in range(indptr[a], indptr[a + 1])
                if (g := out[indices[e]]) >= 0
            ]
            if options:
                out[a] = sign * max(options)[2]
            else:
                rest.append(a)
        if len(rest) == len(todo):
            raise ValueError(f"atoms {rest[:5]} are connected to no labelled atom")
        todo = rest
    return out


def shared_by_label(adjacency: Adjacency, nodes: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Boundary length ``nodes`` share with the atoms of each label ``0 … k-1`` outside them (atoms labelled
    below 0 count for none)."""
    entries, _ = adjacency.rows(nodes)
    near = adjacency.indices[entries]
    outside = ~np.isin(near, nodes) & (labels[near] >= 0)
    return np.bincount(labels[near[outside]], weights=adjacency.length[entries][outside], minlength=k)
