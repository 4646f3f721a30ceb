"""Whether a region's units can make grids within the household bounds: proofs, and layouts that meet them.

Two tools, from cheap to complete:

- :func:`proven_misfits`, a proof per unit: the unit fits no connected group of units within the bounds
  (its neighbours' loads cannot make up the difference).
- :func:`bounds_programme`, an integer programme over a whole region (HiGHS through
  :func:`scipy.optimize.milp`): a layout in which every grid is within the bounds, or the proof that none
  exists. Where some units are proven misfits (no such layout exists, trivially), it asks instead for a
  layout with every grid within the bounds but at most so many holding misfits.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

#: Branch-and-bound nodes the programme may explore beyond the root (presolve, cuts, heuristics): a limit
#: of work, so the result is the same on every machine; past it nothing is found or proven. The root alone
#: settles the district's one region in 0.1 s and 15 of the generated city's 66 regions in 10 s in all;
#: 5 nodes settle 34 but take 200 s.
PROGRAMME_NODES = 0
#: Seconds after which HiGHS stops regardless: a safety net only, 12 times the slowest root above (1.6 s).
PROGRAMME_SECONDS = 20.0
#: Largest programme (variables) attempted; beyond it the region stays unsettled.
PROGRAMME_MAX_VARIABLES = 150_000


def proven_misfits(graph, weight: np.ndarray, allowed: np.ndarray, community: np.ndarray,
                   candidates: Iterable[int], lo: int, hi: int) -> np.ndarray:
    """Which ``candidates`` (atom positions) no grid with a load within ``lo``–``hi`` can hold: a proof.

    A grid holding atom ``a`` is a connected group of ``allowed`` atoms of ``a``'s community. Every such
    group with a load of at most ``hi`` lies among the atoms that paths from ``a`` reach while carrying at
    most ``hi - weight[a]`` on the way (a Dijkstra over atom loads). When no subset of those atoms' loads
    brings ``weight[a]`` into the band (subset sums, as the bits of one integer), no such grid exists. The
    converse does not hold: an atom not proven may still fit no grid. Loads must be whole numbers;
    with fractional ones (scaled workloads) nothing is proven. ``graph[u]`` iterates over ``u``'s
    neighbours (a networkx graph, or a list of neighbour lists).

    Returns
    -------
    numpy.ndarray
        One bool per candidate, True where proven.
    """
    candidates = list(candidates)
    w = np.asarray(weight, dtype=float)
    if not np.allclose(w, np.rint(w)):
        return np.zeros(len(candidates), dtype=bool)
    w = np.rint(w).astype(np.int64)
    lo, hi = max(int(math.ceil(lo - 1e-9)), 0), int(math.floor(hi + 1e-9))
    within_hi = (1 << (hi + 1)) - 1
    band = within_hi ^ ((1 << lo) - 1)
    proven = np.zeros(len(candidates), dtype=bool)
    for i, a in enumerate(candidates):
        if not allowed[a] or w[a] > hi:
            proven[i] = True
            continue
        carried = _carried(graph, w, a, hi, lambda v: allowed[v] and community[v] == community[a])
        sums = 1 << int(w[a])
        for v in carried:
            if v != a and w[v] > 0:
                sums = (sums | sums << int(w[v])) & within_hi
        proven[i] = not sums & band
    return proven


def bounds_programme(neighbours: Sequence[Sequence[int]], weight: np.ndarray, lo: float, hi: float,
                     free: Sequence[int] = (), budget: int = 0, free_hi: float = math.inf) -> tuple[np.ndarray | None, bool]:
    """A layout of a region whose grids are all within ``lo``–``hi``, or the proof that none exists; with
    ``free`` units, every grid within them but at most ``budget`` grids holding free units, which need
    only hold at most ``free_hi``.

    A feasibility integer programme, each grid rooted at its first unit, the ``free`` units first and
    then by number (which breaks the symmetry between grids): unit ``i`` may join the grid rooted at
    ``j`` only when a path from ``j`` reaches ``i`` through units after ``j`` while carrying at most
    ``hi`` (``free_hi`` if ``j`` is free; no grid holds more), and each grid is connected by a flow from
    its root that only its units carry. A grid holding a free unit is rooted at one. Every such layout
    is a solution, so an infeasible programme proves none exists.

    Parameters
    ----------
    neighbours
        Per unit, the units it touches.
    weight
        Per unit, its load (households or workload).
    lo, hi
        The bounds.
    free
        Units whose grids need not meet the bounds (units that fit no grid within them).
    budget
        How many grids may hold free units.
    free_hi
        Most load a grid holding free units may carry.

    Returns
    -------
    labels, proven
        Grid label per unit (None when none found), and whether no such layout exists (HiGHS proved the
        programme infeasible). Past its limits (``PROGRAMME_NODES``, ``PROGRAMME_SECONDS``,
        ``PROGRAMME_MAX_VARIABLES``): (None, False).
    """
    n = len(weight)
    w = np.asarray(weight, dtype=float)
    first = list(free)
    rank = np.empty(n, dtype=np.int64)
    rank[first + sorted(set(range(n)) - set(first))] = np.arange(n)
    loose = set(first)
    model = _Model()
    member = [{i: model.variable() for i in _reach(neighbours, w, rank, j, free_hi if j in loose else hi)} for j in range(n)]
    if model.size > PROGRAMME_MAX_VARIABLES:
        return None, False
    if model.size == 0:  # every unit above hi
        return None, True
    for i in range(n):
        model.constrain([(member[j][i], 1.0) for j in range(n) if i in member[j]], 1, 1)
    if first:
        model.constrain([(member[j][j], 1.0) for j in first], 0, budget)
    for j in (j for j in range(n) if member[j]):
        root = member[j][j]
        for i, x in member[j].items():
            if i != j:
                model.constrain([(x, 1.0), (root, -1.0)], -np.inf, 0)
        bounds = ((free_hi, -np.inf, 0.0),) if j in loose else ((hi, -np.inf, 0.0), (lo, 0.0, np.inf))
        for bound, lower, upper in bounds:  # load within lo–hi (at most free_hi) when the grid exists
            model.constrain([(x, w[i] - (bound if i == j else 0.0)) for i, x in member[j].items()], lower, upper)
        capacity = float(len(member[j]) - 1)
        inflow: dict[int, list] = {i: [] for i in member[j]}
        outflow: dict[int, list] = {i: [] for i in member[j]}
        for u, x in member[j].items():
            for v in neighbours[u]:
                if v != j and v in member[j]:
                    f = model.variable(upper=capacity, integer=False)
                    model.constrain([(f, 1.0), (x, -capacity)], -np.inf, 0)
                    outflow[u].append(f)
                    inflow[v].append(f)
        for v, x in member[j].items():
            if v != j:  # each member receives one unit of flow more than it passes on
                model.constrain([(f, 1.0) for f in inflow[v]] + [(f, -1.0) for f in outflow[v]] + [(x, -1.0)], 0, 0)
    result = model.solve()
    if result.status == 2:  # infeasible
        return None, True
    if result.x is None:
        return None, False
    labels = np.full(n, -1, dtype=np.int64)
    for j in range(n):
        for i, x in member[j].items():
            if result.x[x] > 0.5:
                labels[i] = j
    return np.unique(labels, return_inverse=True)[1], False


def misfits_apart(neighbours: Sequence[Sequence[int]], weight: np.ndarray, misfits: Sequence[int], hi: float) -> int:
    """How many of ``misfits`` no two of which one connected group carrying at most ``hi`` can hold (a
    greedy pick, in order): a lower bound on the number of grids holding them."""
    w = np.asarray(weight, dtype=float)
    apart: list[int] = []
    for m in misfits:
        together = _carried(neighbours, w, m, hi, lambda v: True)
        if not any(a in together for a in apart):
            apart.append(m)
    return len(apart)


def _reach(neighbours, w: np.ndarray, rank: np.ndarray, j: int, hi: float) -> list[int]:
    """Units a grid rooted at ``j`` may hold: reached from ``j`` through units ranked after it while
    carrying at most ``hi``."""
    return sorted(_carried(neighbours, w, j, hi, lambda v: rank[v] > rank[j])) if w[j] <= hi + 1e-9 else []


def _carried(neighbours, w: np.ndarray, start: int, hi: float, admits) -> dict[int, float]:
    """The least load a path from ``start`` (its load included) carries to each unit it reaches through
    units that ``admits``, carrying at most ``hi`` (a Dijkstra over unit loads)."""
    best = {start: w[start]}
    heap = [(w[start], start)]
    while heap:
        load, u = heapq.heappop(heap)
        if load > best[u]:
            continue
        for v in neighbours[u]:
            carried = load + w[v]
            if carried <= hi + 1e-9 and carried < best.get(v, math.inf) and admits(v):
                best[v] = carried
                heapq.heappush(heap, (carried, v))
    return best


class _Model:
    """A sparse mixed-integer programme built row by row, solved by HiGHS."""

    def __init__(self):
        self.upper: list[float] = []
        self.integer: list[int] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lower_rows: list[float] = []
        self.upper_rows: list[float] = []

    @property
    def size(self) -> int:
        return len(self.upper)

    def variable(self, upper: float = 1.0, integer: bool = True) -> int:
        self.upper.append(upper)
        self.integer.append(int(integer))
        return len(self.upper) - 1

    def constrain(self, terms: list[tuple[int, float]], lower: float, upper: float) -> None:
        row = len(self.lower_rows)
        for v, c in terms:
            self.rows.append(row)
            self.cols.append(v)
            self.vals.append(c)
        self.lower_rows.append(lower)
        self.upper_rows.append(upper)

    def solve(self):
        a = csr_matrix((self.vals, (self.rows, self.cols)), shape=(len(self.lower_rows), self.size))
        return milp(np.zeros(self.size), constraints=LinearConstraint(a, self.lower_rows, self.upper_rows),
                    integrality=np.array(self.integer), bounds=Bounds(np.zeros(self.size), np.array(self.upper)),
                    options={"node_limit": PROGRAMME_NODES, "time_limit": PROGRAMME_SECONDS, "disp": False})
