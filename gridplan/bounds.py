"""Whether a region's units can make grids within the household bounds: proofs, and layouts that meet them.

Two tools, from cheap to complete:

- :func:`proven_misfits`, a proof per unit: the unit fits no connected group of units within the bounds
  (its neighbours' loads cannot make up the difference).
- :func:`bounds_programme`, a constraint programme over a whole region (OR-Tools CP-SAT): the layout with
  the fewest grids outside the bounds, or the proof that none has at most so many.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence

import numpy as np
from ortools.sat.python import cp_model

#: Work the programme may do (CP-SAT's deterministic time, about a second on this project's machine): a
#: limit of work, not of time, so the result is the same on every machine; past it nothing is proven. At 2
#: it decides every region of the generated district; at 5 the city's 65 all-fit regions take 59 s
#: instead of 32 s for 3 more decided (51 against 48; HiGHS at its root node decided 15 in 10 s).
PROGRAMME_WORK = 2.0
#: Seconds after which CP-SAT stops regardless: a safety net only.
PROGRAMME_SECONDS = 30.0
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
                     budget: int = 0, outside_hi: float = math.inf, misfits: Sequence[int] = ()) -> tuple[np.ndarray | None, bool]:
    """A layout of a region with the fewest grids outside ``lo``–``hi``, at most ``budget`` of them, each
    carrying at most ``outside_hi``; or the proof that no layout has at most ``budget`` outside.

    A constraint programme (CP-SAT), each grid rooted at its first unit, the ``misfits`` first and then by
    number (which breaks the symmetry between grids): unit ``i`` may join the grid rooted at ``j`` only
    when a path from ``j`` reaches ``i`` through units after ``j`` while carrying at most what a grid may
    hold. A grid is connected because each of its units but the root has a parent among its neighbours in
    the same grid, one step nearer the root (a depth that falls along parents). A grid holding a misfit is
    rooted at one and counts as outside. Every layout is a solution, so an infeasible programme, or an
    optimum, is a proof. Loads must be whole numbers for a proof; fractional ones (scaled workloads) are
    rounded to hundredths, and then only layouts checked against the true loads come back.

    Parameters
    ----------
    neighbours
        Per unit, the units it touches.
    weight
        Per unit, its load (households or workload).
    lo, hi
        The bounds.
    budget
        How many grids may be outside the bounds.
    outside_hi
        Most load a grid outside the bounds may carry.
    misfits
        Units proven to fit no grid within the bounds (:func:`proven_misfits`).

    Returns
    -------
    labels, proven
        Grid label per unit (None when none found), and the proof: with labels, that no layout has fewer
        grids outside than they have; without, that none has at most ``budget``. Past the programme's
        limits (``PROGRAMME_WORK``, ``PROGRAMME_SECONDS``, ``PROGRAMME_MAX_VARIABLES``) it proves
        nothing, and may return a layout that is not the best.
    """
    n = len(weight)
    neighbours = [sorted(row) for row in neighbours]  # the same model, so the same answer, in any order
    w = np.asarray(weight, dtype=float)
    whole = bool(np.allclose(w, np.rint(w)))
    scale = 1 if whole else 100
    units = np.rint(w * scale).astype(np.int64)
    cap = outside_hi if budget > 0 else hi
    floor_, ceiling = int(math.ceil(lo * scale - 1e-9)), int(math.floor(hi * scale + 1e-9))
    top = int(math.floor(min(cap * scale, units.sum()) + 1e-9))
    rank = np.empty(n, dtype=np.int64)
    rank[list(misfits) + sorted(set(range(n)) - set(misfits))] = np.arange(n)
    reach = [_reach(neighbours, w, rank, j, cap) for j in range(n)]
    if sum(map(len, reach)) > PROGRAMME_MAX_VARIABLES:
        return None, False
    model = cp_model.CpModel()
    member = [{i: model.new_bool_var("") for i in reach[j]} for j in range(n)]
    roots_of = [[j for j in range(n) if i in member[j]] for i in range(n)]
    if not all(roots_of):  # a unit no grid may hold
        return None, whole
    for i, roots in enumerate(roots_of):
        model.add_exactly_one(member[j][i] for j in roots)
    outside = []
    misfit_set = set(misfits)
    depth = [model.new_int_var(0, n - 1, "") for _ in range(n)]
    for j in (j for j in range(n) if member[j]):
        root = member[j][j]
        for i, x in member[j].items():
            if i != j:
                model.add_implication(x, root)
        load = sum(int(units[i]) * x for i, x in member[j].items())
        model.add(depth[j] == 0).only_enforce_if(root)
        model.add(load <= top * root)
        if budget > 0:
            out = root if j in misfit_set else model.new_bool_var("")
            model.add_implication(out, root)
            model.add(load <= ceiling).only_enforce_if(~out)
            model.add(load >= floor_).only_enforce_if([root, ~out])
            outside.append(out)
        else:
            model.add(load >= floor_ * root)
    if budget > 0:
        model.add(sum(outside) <= budget)
        model.minimize(sum(outside))
    else:  # as many grids as the region's load allows (implied, but it guides the search)
        total = int(units.sum())
        model.add_linear_constraint(sum(member[j][j] for j in range(n) if member[j]), -(-total // ceiling), total // max(floor_, 1))
    for i in range(n):  # every unit but a root has a parent: a neighbour in its grid, nearer the root
        parents = []
        for k in neighbours[i]:
            parent = model.new_bool_var("")
            for j in roots_of[i]:
                model.add_bool_or([~parent, ~member[j][i]] + ([member[j][k]] if k in member[j] else []))
            model.add(depth[k] < depth[i]).only_enforce_if(parent)
            parents.append(parent)
        model.add_exactly_one(parents + ([member[i][i]] if i in member[i] else []))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # one worker and a limit of work: the same answer on every machine
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = PROGRAMME_WORK
    solver.parameters.max_time_in_seconds = PROGRAMME_SECONDS
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return None, whole
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    labels = np.full(n, -1, dtype=np.int64)
    for j in range(n):
        for i, x in member[j].items():
            if solver.boolean_value(x):
                labels[i] = j
    labels = np.unique(labels, return_inverse=True)[1]
    loads = np.bincount(labels, weights=w)
    if ((loads < lo - 1e-9) | (loads > hi + 1e-9)).sum() > budget or (loads > cap + 1e-9).any():
        return None, False  # rounded loads let through a layout the true ones do not
    return labels, whole and status == cp_model.OPTIMAL


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
