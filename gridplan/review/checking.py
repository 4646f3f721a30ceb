"""Independent checks of what gridplan claims about layouts of units (证明复核).

A claim is about a region's *units* (atoms: street blocks, building cells), a graph whose nodes carry whole
household loads; a *group* is a connected set of units, a *layout* a partition of the units into groups. The
engine proves its claims with its own code (subset sums, exact cover, a CP-SAT programme); these checks decide
the same claims again with nothing of it: a second formulation and a second solver (a mixed-integer programme
solved by HiGHS through :func:`scipy.optimize.milp`), and exhaustive enumeration where the region is small. A
programme HiGHS leaves undecided within the time limit is given, with the same limit, to OR-Tools CP-SAT as it
is (its flows as whole numbers, which a flow of whole units always allows): the engine's solver, but this
module's formulation (flows from a root, not the engine's parents and depths), and its verdict is labelled so.
This module imports only numpy, scipy, OR-Tools and gridplan's settings and words, never :mod:`gridplan.engine`.

- :func:`check_unit_misfit`: no group containing a unit has a load within the bounds;
- :func:`check_fewest_outside`: no layout of a region has fewer groups outside the bounds than a count.

Each returns a :class:`Check`: the claim holds, is refuted (with a counter-example, itself checked here before
it is returned), or is undecided, and what was searched or why the search stopped.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
from ortools.sat.python import cp_model
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from gridplan.settings import DEFAULTS, VerifySettings
from gridplan.vocabulary import CHECKS, LANGUAGES, SEARCHED, CheckMethod, CheckStop, Verdict, check_language, label

__all__ = ["Check", "Scope", "check_unit_misfit", "check_fewest_outside", "is_connected"]


@dataclass(frozen=True)
class Check:
    """The verdict of an independent check of one claim.

    Attributes
    ----------
    verdict
        :class:`~gridplan.vocabulary.Verdict`: holds, refuted or undecided.
    method
        :class:`~gridplan.vocabulary.CheckMethod` that gave the verdict: enumeration or the programme.
    stop
        :class:`~gridplan.vocabulary.CheckStop`: what ended the search.
    counter_example
        With a refuted claim: for a unit's claim the boolean mask of a group that contradicts it, for a
        region's claim a grid label per unit of a layout that does; None otherwise.
    figures
        What was searched: ``units`` (after pruning), ``searched`` and ``what`` (enumeration), ``variables``,
        ``seconds`` and ``limit`` (programme), ``size`` of ``what`` and ``most`` (size guard), ``message`` (a solver's failure).
    """

    verdict: Verdict
    method: CheckMethod
    stop: CheckStop
    counter_example: np.ndarray | None = None
    figures: Mapping = field(default_factory=lambda: MappingProxyType({}))

    def describe(self, lang: str = "zh") -> str:
        """What was searched and why it stopped, in ``lang``: ``"… 12,345 connected groups searched …"``."""
        values = {
            "units": 0,
            "searched": 0,
            "size": 0,
            "variables": 0,
            "seconds": 0.0,
            "limit": 0.0,
            "most": 0,
            "message": "",
            **self.figures,
        }
        index = LANGUAGES.index(check_language(lang))
        values["what"] = SEARCHED[values.get("what", "groups")][index]
        return CHECKS[self.stop][index].format(method=label(self.method, lang), **values)

    @property
    def detail(self) -> str:
        """:meth:`describe` in English."""
        return self.describe("en")


class Scope(NamedTuple):
    """The layouts a claim of the fewest groups outside a band speaks of: every group outside the band holds
    ``floor`` to ``cap``, but for at most ``beyond`` groups holding up to ``beyond_cap``."""

    floor: float = 0.0
    cap: float = math.inf
    beyond: int = 0
    beyond_cap: float = math.inf

    @property
    def heaviest(self) -> float:
        """The most a group outside the band may hold."""
        return max(self.cap, self.beyond_cap) if self.beyond else self.cap

    def admits(self, outside: np.ndarray) -> bool:
        """Whether groups outside the band with these loads lie in the scope."""
        outside = np.asarray(outside, dtype=float)
        far = (outside < self.floor - 1e-9) | (outside > self.cap + 1e-9)
        return int(far.sum()) <= self.beyond and bool((outside[far] <= self.beyond_cap + 1e-9).all())


def is_connected(neighbours: Sequence[Sequence[int]], members: np.ndarray) -> bool:
    """Whether the units of the boolean mask ``members`` form one connected group (an empty mask does not)."""
    members = np.asarray(members, dtype=bool)
    start = np.flatnonzero(members)
    if not len(start):
        return False
    seen = {int(start[0])}
    stack = [int(start[0])]
    while stack:
        for v in neighbours[stack.pop()]:
            if members[v] and v not in seen:
                seen.add(v)
                stack.append(v)
    return len(seen) == len(start)


def check_unit_misfit(
    neighbours: Sequence[Sequence[int]],
    weight: np.ndarray,
    unit: int,
    lo: float,
    hi: float,
    allowed: np.ndarray | None = None,
    *,
    method: CheckMethod | str | None = None,
    settings: VerifySettings | None = None,
) -> Check:
    """Check the claim "no connected group of units containing ``unit`` has a load within [``lo``, ``hi``]".

    Only units that some path from ``unit`` reaches carrying at most ``hi`` (both ends counted) can be in a
    group of load at most ``hi``, so the search is over them alone. Enumeration lists the groups containing
    ``unit`` of load at most ``hi`` (by extension sets, each group once); past ``settings.max_groups`` a
    programme decides: ``x_i`` binary, ``x_unit = 1``, ``lo ≤ Σ w_i x_i ≤ hi``, connected by a single-commodity
    flow from ``unit`` (each unit of the group other than ``unit`` absorbs one).

    Parameters
    ----------
    neighbours
        Per unit, the units it touches (symmetric).
    weight
        Per unit, its load (households): whole non-negative numbers, else the check is undecided.
    unit
        The unit the claim is about.
    lo, hi
        The bounds.
    allowed
        Boolean mask of the units a group may hold (all by default); ``unit`` itself always may.
    method
        ``"enumeration"`` or ``"milp"`` to use only that one (undecided where it stops); by default
        enumeration, then the programme past its limit.
    settings
        Limits of the search (``DEFAULTS.verify``).

    Returns
    -------
    Check
        Refuted with the mask of a group containing ``unit`` whose load is within the bounds.
    """
    settings = settings or DEFAULTS.verify
    method = _method(method)
    w = _whole_loads(weight)
    if w is None:
        return Check(Verdict.UNDECIDED, CheckMethod.ENUMERATION, CheckStop.BAD_LOADS)
    n = len(w)
    if w[unit] > hi:  # every group holding it is above the bounds
        return Check(
            Verdict.HOLDS,
            CheckMethod.ENUMERATION,
            CheckStop.EXHAUSTED,
            figures=_frozen({"units": 1, "searched": 0, "what": "groups"}),
        )
    allowed = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).copy()
    allowed[unit] = True
    allowed &= _within_reach(neighbours, w, unit, hi, allowed)
    units = int(allowed.sum())
    if method in (None, CheckMethod.ENUMERATION):
        searched = 0
        for members, load in _groups_with(neighbours, w, unit, hi, allowed):
            searched += 1
            if load >= lo:
                mask = np.zeros(n, dtype=bool)
                mask[members] = True
                return _refuted_group(
                    neighbours,
                    w,
                    unit,
                    lo,
                    hi,
                    mask,
                    CheckMethod.ENUMERATION,
                    {"units": units, "searched": searched, "what": "groups"},
                )
            if searched >= settings.max_groups:
                break
        else:
            return Check(
                Verdict.HOLDS,
                CheckMethod.ENUMERATION,
                CheckStop.EXHAUSTED,
                figures=_frozen({"units": units, "searched": searched, "what": "groups"}),
            )
        if method is not None:
            return Check(
                Verdict.UNDECIDED,
                CheckMethod.ENUMERATION,
                CheckStop.TOO_LARGE,
                figures=_frozen({"units": units, "size": searched, "what": "groups", "most": settings.max_groups}),
            )
    return _misfit_programme(neighbours, w, unit, lo, hi, allowed, settings)


def check_fewest_outside(
    neighbours: Sequence[Sequence[int]],
    weight: np.ndarray,
    lo: float,
    hi: float,
    fewest: int,
    *,
    scope: Scope = Scope(),
    method: CheckMethod | str | None = None,
    settings: VerifySettings | None = None,
) -> Check:
    """Check the claim "no layout of all the units into connected groups has fewer than ``fewest`` groups
    whose load is outside [``lo``, ``hi``], with every group outside holding ``floor`` to ``cap`` but at most
    ``beyond`` holding up to ``beyond_cap``" (the ``scope``).

    A region of at most ``settings.exhaustive_units`` units is searched exhaustively: the group of the lowest
    unit not yet placed, every way, then the rest, cut where the groups outside already reach ``fewest``.
    Larger regions, and searches past ``settings.max_layouts``, go to a programme (HiGHS) with each group
    rooted at its lowest unit ``j``: ``x_ij`` (unit ``i`` in the group rooted at ``j``, for ``i ≥ j`` that a
    path through units ``≥ j`` reaches carrying at most ``max(hi, cap)``), ``r_j = x_jj``, ``o_j ≤ r_j`` (the
    group is outside), ``b_j ≤ o_j`` (it lies beyond the scope's window), ``lo·r_j − (lo − floor)·o_j − floor·b_j
    ≤ load_j ≤ hi·r_j + (cap − hi)·o_j + (beyond_cap − cap)·b_j``, ``Σ o_j ≤ fewest − 1``, ``Σ b_j ≤ beyond``,
    ``Σ_j x_ij = 1``, each group connected by a single-commodity flow from its root.

    Parameters
    ----------
    neighbours
        Per unit, the units it touches (symmetric).
    weight
        Per unit, its load: whole non-negative numbers, else the check is undecided.
    lo, hi
        The bounds.
    fewest
        The fewest groups outside the bounds the claim says any layout has.
    scope
        What the groups outside the bounds may hold in the layouts the claim is about (no limit by default).
    method
        ``"enumeration"`` or ``"milp"`` to use only that one; by default as above.
    settings
        Limits of the search (``DEFAULTS.verify``).

    Returns
    -------
    Check
        Refuted with the labels (0, 1, … per unit) of a layout in the scope with fewer groups outside.
    """
    settings = settings or DEFAULTS.verify
    method = _method(method)
    w = _whole_loads(weight)
    if w is None:
        return Check(Verdict.UNDECIDED, CheckMethod.ENUMERATION, CheckStop.BAD_LOADS)
    n = len(w)
    if fewest <= 0:  # no layout has fewer than none outside
        return Check(
            Verdict.HOLDS,
            CheckMethod.ENUMERATION,
            CheckStop.EXHAUSTED,
            figures=_frozen({"units": n, "searched": 0, "what": "layouts"}),
        )
    inhabited = np.flatnonzero(w > 0)
    if (
        method is None
        and n > settings.exhaustive_units
        and len(inhabited) < n
        and len(inhabited) <= settings.relaxed_units
    ):
        # empty units only join groups: every layout's inhabited units are a layout of the inhabited units alone,
        # two of them neighbours where they touch or touch one piece of empty units, with no more groups outside
        labels, searched = _fewest_search(
            _through_empty(neighbours, w), w[inhabited], (lo, hi), fewest - 1, scope, settings.max_layouts
        )
        if labels is None and searched < settings.max_layouts:
            figures = {"units": len(inhabited), "searched": searched, "what": "inhabited_layouts"}
            return Check(Verdict.HOLDS, CheckMethod.ENUMERATION, CheckStop.EXHAUSTED, figures=_frozen(figures))
    if method == CheckMethod.ENUMERATION or (method is None and n <= settings.exhaustive_units):
        labels, searched = _fewest_search(neighbours, w, (lo, hi), fewest - 1, scope, settings.max_layouts)
        figures = {"units": n, "searched": searched, "what": "layouts"}
        if labels is not None:
            return _refuted_layout(neighbours, w, (lo, hi), fewest, scope, labels, CheckMethod.ENUMERATION, figures)
        if searched < settings.max_layouts:
            return Check(Verdict.HOLDS, CheckMethod.ENUMERATION, CheckStop.EXHAUSTED, figures=_frozen(figures))
        if method is not None:
            return Check(
                Verdict.UNDECIDED,
                CheckMethod.ENUMERATION,
                CheckStop.TOO_LARGE,
                figures=_frozen({"units": n, "size": searched, "what": "layouts", "most": settings.max_layouts}),
            )
    return _fewest_programme(neighbours, w, (lo, hi), fewest, scope, settings)


def _through_empty(neighbours: Sequence[Sequence[int]], w: np.ndarray) -> list[list[int]]:
    """Per inhabited unit (numbered among the inhabited ones), the inhabited units it touches or that touch the same
    connected piece of empty units as it does."""
    inhabited = np.flatnonzero(w > 0)
    number = np.full(len(w), -1, dtype=np.int64)
    number[inhabited] = np.arange(len(inhabited))
    near = [{int(number[v]) for v in neighbours[u] if w[v] > 0} for u in inhabited]
    seen = np.zeros(len(w), dtype=bool)
    for start in np.flatnonzero(w <= 0):
        if seen[start]:
            continue
        stack, touching = [int(start)], set()
        seen[start] = True
        while stack:
            u = stack.pop()
            for v in neighbours[u]:
                if w[v] > 0:
                    touching.add(int(number[v]))
                elif not seen[v]:
                    seen[v] = True
                    stack.append(int(v))
        for a in touching:
            near[a] |= touching - {a}
    return [sorted(row) for row in near]


def _method(method: CheckMethod | str | None) -> CheckMethod | None:
    if method is not None and method not in set(CheckMethod):
        raise ValueError(f"unknown method {method!r}: use enumeration or milp")
    return None if method is None else CheckMethod(method)


def _too_large(units: int, variables: int, settings: VerifySettings) -> Check:
    return Check(
        Verdict.UNDECIDED,
        CheckMethod.MILP,
        CheckStop.TOO_LARGE,
        figures=_frozen({"units": units, "size": variables, "what": "variables", "most": settings.max_variables}),
    )


def _frozen(figures: dict) -> Mapping:
    return MappingProxyType(dict(figures))


def _whole_loads(weight: np.ndarray) -> np.ndarray | None:
    """The loads as integers, or None where one is not a whole non-negative number (no proof holds then)."""
    w = np.asarray(weight, dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w != np.round(w)):
        return None
    return w.astype(np.int64)


def _within_reach(
    neighbours: Sequence[Sequence[int]], w: np.ndarray, source: int, most: float, allowed: np.ndarray, above: int = -1
) -> np.ndarray:
    """Mask of the units of ``allowed`` (with index above ``above``) that a path from ``source`` through them
    reaches carrying at most ``most``, both ends counted: the lightest path by Dijkstra on the units' loads."""
    reach = np.zeros(len(w), dtype=bool)
    if w[source] > most:
        return reach
    best = {source: int(w[source])}
    heap = [(int(w[source]), source)]
    while heap:
        load, u = heapq.heappop(heap)
        if reach[u]:
            continue
        reach[u] = True
        for v in neighbours[u]:
            if allowed[v] and v > above and not reach[v]:
                through = load + int(w[v])
                if through <= most and through < best.get(v, math.inf):
                    best[v] = through
                    heapq.heappush(heap, (through, v))
    return reach


def _groups_with(
    neighbours: Sequence[Sequence[int]], w: np.ndarray, root: int, most: float, allowed: np.ndarray
) -> Iterator[tuple[list[int], int]]:
    """Every connected group of ``allowed`` units containing ``root`` with load at most ``most``, once each.

    By extension sets: a group, its candidates (neighbours not yet decided) and the units decided (in it,
    ruled out, or candidates). The child by candidate ``c_k`` rules out ``c_1 … c_(k-1)``, so each connected
    group arises from exactly one chain of choices. Loads are non-negative, so a candidate that makes a group
    too heavy makes every larger one too heavy.
    """
    if not allowed[root] or w[root] > most:
        return
    start = frozenset([root] + [v for v in neighbours[root] if allowed[v]])
    stack = [
        ([root], int(w[root]), tuple(v for v in dict.fromkeys(neighbours[root]) if allowed[v] and v != root), start)
    ]
    while stack:
        members, load, candidates, decided = stack.pop()
        yield members, load
        for k in range(len(candidates) - 1, -1, -1):
            c = candidates[k]
            if load + w[c] > most:
                continue
            new = [v for v in dict.fromkeys(neighbours[c]) if allowed[v] and v not in decided]
            stack.append((members + [c], load + int(w[c]), candidates[k + 1 :] + tuple(new), decided.union(new)))


def _fewest_search(
    neighbours: Sequence[Sequence[int]],
    w: np.ndarray,
    band: tuple[float, float],
    budget: int,
    scope: Scope,
    most_tried: int,
) -> tuple[np.ndarray | None, int]:
    """A layout in the ``scope`` with at most ``budget`` groups outside ``band``, by exhaustive search (the
    group of the lowest unit not yet placed, every way); and the groups tried (the search stopped when they
    reach ``most_tried``)."""
    lo, hi = band
    n = len(w)
    labels = np.full(n, -1, dtype=np.int64)
    free = np.ones(n, dtype=bool)
    tried = 0
    heaviest = max(hi, scope.heaviest)

    def place(grid: int, outside: int, far: int) -> bool:
        nonlocal tried
        left = np.flatnonzero(free)
        if not len(left):
            return True
        first = int(left[0])
        for members, load in _groups_with(neighbours, w, first, heaviest, free):
            tried += 1
            if tried >= most_tried:
                return False
            out = not (lo <= load <= hi)
            beyond = out and not (scope.floor <= load <= scope.cap)
            if out and (outside == budget or beyond and (far == scope.beyond or load > scope.beyond_cap)):
                continue
            free[members] = False
            labels[members] = grid
            if place(grid + 1, outside + out, far + beyond):
                return True
            free[members] = True
            if tried >= most_tried:
                return False
        return False

    found = place(0, 0, 0)
    return (labels if found else None), tried


class _Answer(NamedTuple):
    """A solver's answer in :func:`scipy.optimize.milp`'s terms: ``status`` 0 solved, 1 time limit, 2 infeasible."""

    status: int
    x: np.ndarray | None
    message: str


def _solve(
    c: np.ndarray,
    rows: list,
    lo_rhs: list,
    hi_rhs: list,
    shape: tuple[int, int],
    upper: np.ndarray,
    lower: np.ndarray,
    integral: np.ndarray,
    settings: VerifySettings,
):
    """HiGHS on the programme ``lo_rhs ≤ A x ≤ hi_rhs`` with A from (row, column, value) triples; where it decides
    nothing in the time limit, CP-SAT on the same programme with the same limit (:func:`_solve_cp_sat`). Returns
    the answer, the seconds (both solvers') and the method that gave it.

    An infeasible answer is a proof only once a solve without presolve, in the time left, gives it again: HiGHS's
    presolve (as scipy 1.17 bundles it) has declared a feasible programme infeasible, having found a solution it
    could not carry back (``transformNewIntegerFeasibleSolution``; a 6-unit region whose 276-household group was
    the counter-example)."""
    r, col, val = (np.concatenate(part) if part else np.zeros(0) for part in zip(*rows)) if rows else ([], [], [])
    a = sparse.csr_array((val, (r.astype(np.int64), col.astype(np.int64))), shape=shape)
    started = time.perf_counter()
    solve = partial(
        milp,
        c,
        constraints=LinearConstraint(a, np.asarray(lo_rhs, dtype=float), np.asarray(hi_rhs, dtype=float)),
        integrality=integral,
        bounds=Bounds(lower, upper),
    )
    result = solve(options={"time_limit": settings.limit_seconds, "disp": False})
    if result.status == 2:
        left = settings.limit_seconds - (time.perf_counter() - started)
        result = solve(options={"time_limit": max(left, 1e-3), "disp": False, "presolve": False})
    if result.status == 1 and result.x is None and not c.any():
        answer = _solve_cp_sat(a, lo_rhs, hi_rhs, upper, lower, settings.limit_seconds)
        if answer is not None:  # decided by CP-SAT, or by neither solver in its time
            return answer, time.perf_counter() - started, CheckMethod.MILP_CP_SAT
    return result, time.perf_counter() - started, CheckMethod.MILP


def _solve_cp_sat(
    a: sparse.csr_array, lo_rhs: list, hi_rhs: list, upper: np.ndarray, lower: np.ndarray, seconds: float
) -> _Answer | None:
    """The feasibility programme ``lo_rhs ≤ A x ≤ hi_rhs``, ``lower ≤ x ≤ upper``, every ``x`` a whole number, by
    CP-SAT (one worker, ``seconds``). Every row must have whole coefficients (its bounds are then rounded inwards,
    exactly, as its left side is whole) and every variable finite bounds: None otherwise. Continuous variables
    are solved as whole numbers: those of this module's programmes are flows of whole units over whole
    capacities, which exist as whole numbers wherever they exist at all."""
    if not (np.isfinite(upper).all() and np.isfinite(lower).all()):
        return None
    model = cp_model.CpModel()
    x = [model.new_int_var(int(math.ceil(lo)), int(math.floor(hi)), "") for lo, hi in zip(lower, upper)]
    for i in range(a.shape[0]):
        values, columns = a.data[a.indptr[i] : a.indptr[i + 1]], a.indices[a.indptr[i] : a.indptr[i + 1]]
        if not np.array_equal(values, np.rint(values)):
            return None
        expression = sum(int(v) * x[j] for v, j in zip(values, columns))
        if math.isfinite(lo_rhs[i]):
            model.add(expression >= math.ceil(lo_rhs[i] - 1e-9))
        if math.isfinite(hi_rhs[i]):
            model.add(expression <= math.floor(hi_rhs[i] + 1e-9))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = seconds
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return _Answer(2, None, "infeasible")
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _Answer(0, np.array([solver.value(v) for v in x], dtype=float), "solved")
    return _Answer(1, None, solver.status_name(status))


def _verdict_of(result, seconds: float, figures: dict, settings: VerifySettings, method: CheckMethod) -> Check | None:
    """The check a programme without a solution gives (None where it found one): infeasible is a proof."""
    figures = {**figures, "seconds": seconds, "limit": settings.limit_seconds}
    if result.status == 2:
        return Check(Verdict.HOLDS, method, CheckStop.INFEASIBLE, figures=_frozen(figures))
    if result.x is not None:
        return None
    if result.status == 1:
        return Check(Verdict.UNDECIDED, method, CheckStop.TIME_LIMIT, figures=_frozen(figures))
    return Check(
        Verdict.UNDECIDED, method, CheckStop.SOLVER_FAILED, figures=_frozen({**figures, "message": str(result.message)})
    )


def _arcs(neighbours: Sequence[Sequence[int]], among: np.ndarray) -> np.ndarray:
    """Directed arcs (u, v) between units of the mask ``among``, each edge both ways, shape (k, 2)."""
    arcs = {(u, v) for u in np.flatnonzero(among) for v in neighbours[u] if among[v] and v != u}
    return np.array(sorted(arcs), dtype=np.int64).reshape(-1, 2)


def _misfit_programme(neighbours, w, unit, lo, hi, allowed, settings) -> Check:
    units = np.flatnonzero(allowed)
    n = len(units)
    index = np.full(len(w), -1, dtype=np.int64)
    index[units] = np.arange(n)
    arcs = index[_arcs(neighbours, allowed)]
    arcs = arcs[arcs[:, 1] != index[unit]]  # nothing flows into the source
    m = len(arcs)
    variables = n + m
    figures = {"units": n, "variables": variables}
    if variables > settings.max_variables:
        return _too_large(n, variables, settings)
    big = max(n - 1, 1)
    flow = n + np.arange(m)
    rows, lo_rhs, hi_rhs = [], [], []
    # the load within the bounds
    rows.append((np.zeros(n), np.arange(n), w[units].astype(float)))
    lo_rhs.append(lo)
    hi_rhs.append(hi)
    # a flow only between units of the group: f_uv ≤ big·x_u and f_uv ≤ big·x_v
    for end in (0, 1):
        row = len(lo_rhs) + np.arange(m)
        rows.append((np.r_[row, row], np.r_[flow, arcs[:, end]], np.r_[np.ones(m), -big * np.ones(m)]))
        lo_rhs += [-np.inf] * m
        hi_rhs += [0.0] * m
    # every unit of the group but the source absorbs one unit of flow: inflow − outflow − x_i = 0
    sinks = np.setdiff1d(np.arange(n), [index[unit]])
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[sinks] = len(lo_rhs) + np.arange(len(sinks))
    into, out_of = row_of[arcs[:, 1]], row_of[arcs[:, 0]]
    rows.append((into[into >= 0], flow[into >= 0], np.ones(int((into >= 0).sum()))))
    rows.append((out_of[out_of >= 0], flow[out_of >= 0], -np.ones(int((out_of >= 0).sum()))))
    rows.append((row_of[sinks], sinks, -np.ones(len(sinks))))
    lo_rhs += [0.0] * len(sinks)
    hi_rhs += [0.0] * len(sinks)
    lower = np.zeros(variables)
    lower[index[unit]] = 1.0
    upper = np.r_[np.ones(n), np.full(m, float(big))]
    integral = np.r_[np.ones(n), np.zeros(m)]
    result, seconds, method = _solve(
        np.zeros(variables), rows, lo_rhs, hi_rhs, (len(lo_rhs), variables), upper, lower, integral, settings
    )
    decided = _verdict_of(result, seconds, figures, settings, method)
    if decided is not None:
        return decided
    mask = np.zeros(len(w), dtype=bool)
    mask[units[np.round(result.x[:n]) == 1]] = True
    return _refuted_group(neighbours, w, unit, lo, hi, mask, method, {**figures, "seconds": seconds})


# One function though long: a programme's variables and constraints read together, as the model they are.
# One function though long: the programme's variables and rows read together, as the model they are.
def _fewest_programme(neighbours, w, band, fewest, scope: Scope, settings) -> Check:
    lo, hi = band
    floor, cap = scope.floor, scope.cap
    n = len(w)
    everything = np.ones(n, dtype=bool)
    heaviest = max(hi, scope.heaviest)
    # candidates of each root j: units ≥ j reached from j through units ≥ j carrying at most the heaviest group
    members = [np.flatnonzero(_within_reach(neighbours, w, j, heaviest, everything, above=j - 1)) for j in range(n)]
    arcs = [_arcs(neighbours, np.isin(np.arange(n), c)) for c in members]
    arcs = [a[a[:, 1] != j] for j, a in enumerate(arcs)]
    x_count = sum(len(c) for c in members)
    f_count = sum(len(a) for a in arcs)
    variables = x_count + 2 * n + f_count
    figures = {"units": n, "variables": variables}
    if variables > settings.max_variables:
        return _too_large(n, variables, settings)
    x_start = np.cumsum([0] + [len(c) for c in members])
    o_start = x_count
    b_start = o_start + n  # b_j: the group rooted at j lies beyond the scope's window
    f_start = b_start + n + np.cumsum([0] + [len(a) for a in arcs])
    rows, lo_rhs, hi_rhs = [], [], []
    upper = np.ones(variables)
    if not scope.beyond:
        upper[b_start : b_start + n] = 0

    def add(cols: np.ndarray, values: np.ndarray, low: float, high: float) -> None:
        rows.append((np.full(len(cols), len(lo_rhs)), cols, values))
        lo_rhs.append(low)
        hi_rhs.append(high)

    # each unit in exactly one group
    unit_of = np.concatenate(members)
    rows.append((unit_of + len(lo_rhs), np.arange(x_count), np.ones(x_count)))
    lo_rhs += [1.0] * n
    hi_rhs += [1.0] * n
    add(o_start + np.arange(n), np.ones(n), -np.inf, fewest - 1)
    add(b_start + np.arange(n), np.ones(n), -np.inf, scope.beyond)
    for j, c in enumerate(members):
        if not len(c):  # the unit alone is heavier than any group may be: no layout places it
            continue
        cols = x_start[j] + np.arange(len(c))
        root = x_start[j] + int(np.searchsorted(c, j))
        o = o_start + j
        loads = w[c].astype(float)
        # a unit only in a group that exists: x_ij ≤ r_j
        others = cols[cols != root]
        if len(others):
            row = len(lo_rhs) + np.arange(len(others))
            rows.append(
                (
                    np.r_[row, row],
                    np.r_[others, np.full(len(others), root)],
                    np.r_[np.ones(len(others)), -np.ones(len(others))],
                )
            )
            lo_rhs += [-np.inf] * len(others)
            hi_rhs += [0.0] * len(others)
        b = b_start + j
        add(np.array([o, root]), np.array([1.0, -1.0]), -np.inf, 0.0)  # o_j ≤ r_j
        add(np.array([b, o]), np.array([1.0, -1.0]), -np.inf, 0.0)  # b_j ≤ o_j
        # load ≥ lo·r_j − (lo − floor)·o_j − floor·b_j, load ≤ hi·r_j + (cap − hi)·o_j + (beyond_cap − cap)·b_j
        # (the group's whole load where no cap)
        add(np.r_[cols, root, o, b], np.r_[loads, -lo, lo - floor, floor], 0.0, np.inf)
        whole = loads.sum()
        over = min(cap, whole) - hi
        further = max(min(scope.beyond_cap, whole) - min(cap, whole), 0.0)
        add(np.r_[cols, root, o, b], np.r_[loads, -hi, -over, -further], -np.inf, 0.0)
        if len(arcs[j]):
            _connected_group(rows, lo_rhs, hi_rhs, upper, c, arcs[j], cols, f_start[j], j, loads, heaviest)
    integral = np.r_[np.ones(x_count + 2 * n), np.zeros(f_count)]
    result, seconds, method = _solve(
        np.zeros(variables),
        rows,
        lo_rhs,
        hi_rhs,
        (len(lo_rhs), variables),
        upper,
        np.zeros(variables),
        integral,
        settings,
    )
    decided = _verdict_of(result, seconds, figures, settings, method)
    if decided is not None:
        return decided
    labels = _group_labels(np.round(result.x[:x_count]) == 1, members)
    return _refuted_layout(neighbours, w, band, fewest, scope, labels, method, {**figures, "seconds": seconds})


def _group_labels(chosen: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """The group (0, 1, …) of each unit from the programme's ``x_ij`` (``chosen``, root by root over
    ``members``)."""
    labels = np.full(len(members), -1, dtype=np.int64)
    roots = np.repeat(np.arange(len(members)), [len(c) for c in members])
    labels[np.concatenate(members)[chosen]] = roots[chosen]
    return np.unique(labels, return_inverse=True)[1].reshape(-1)


def _connected_group(
    rows: list,
    lo_rhs: list,
    hi_rhs: list,
    upper: np.ndarray,
    c: np.ndarray,
    a: np.ndarray,
    cols: np.ndarray,
    first_flow: int,
    j: int,
    loads: np.ndarray,
    heaviest: float,
) -> None:
    """The rows that keep root ``j``'s group connected, appended: a flow from the root along the arcs ``a`` among its
    candidates ``c`` (their columns ``cols``, the flows' from ``first_flow``) reaching every unit of the group, and the
    valid cuts that tighten the relaxation."""
    local = np.searchsorted(c, a)  # arcs as positions among the candidates
    flow = first_flow + np.arange(len(a))
    # an arc carries at most the units below it: fewer than the most units a group of at most the
    # heaviest load holds (the lightest ones)
    fits = (
        int(np.searchsorted(np.cumsum(np.sort(loads)), heaviest, side="right")) if math.isfinite(heaviest) else len(c)
    )
    big = float(max(min(fits, len(c)) - 1, 1))
    upper[flow] = big
    for end in (0, 1):
        row = len(lo_rhs) + np.arange(len(a))
        rows.append((np.r_[row, row], np.r_[flow, cols[local[:, end]]], np.r_[np.ones(len(a)), -big * np.ones(len(a))]))
        lo_rhs += [-np.inf] * len(a)
        hi_rhs += [0.0] * len(a)
    sinks = np.flatnonzero(c != j)
    row_of = np.full(len(c), -1, dtype=np.int64)
    row_of[sinks] = len(lo_rhs) + np.arange(len(sinks))
    into, out_of = row_of[local[:, 1]], row_of[local[:, 0]]
    rows.append((into[into >= 0], flow[into >= 0], np.ones(int((into >= 0).sum()))))
    rows.append((out_of[out_of >= 0], flow[out_of >= 0], -np.ones(int((out_of >= 0).sum()))))
    rows.append((row_of[sinks], cols[sinks], -np.ones(len(sinks))))
    lo_rhs += [0.0] * len(sinks)
    hi_rhs += [0.0] * len(sinks)
    # valid cuts that tighten the relaxation: a unit of the group (not its root) has a neighbour in it
    row_of[sinks] = len(lo_rhs) + np.arange(len(sinks))
    into = row_of[local[:, 1]]
    rows.append((row_of[sinks], cols[sinks], np.ones(len(sinks))))
    rows.append((into[into >= 0], cols[local[into >= 0, 0]], -np.ones(int((into >= 0).sum()))))
    lo_rhs += [-np.inf] * len(sinks)
    hi_rhs += [0.0] * len(sinks)


def _refuted_group(neighbours, w, unit, lo, hi, mask, method, figures) -> Check:
    """Refuted with ``mask`` once it is checked here: a connected group holding ``unit``, its load in bounds."""
    if mask[unit] and is_connected(neighbours, mask) and lo <= w[mask].sum() <= hi:
        return Check(Verdict.REFUTED, method, CheckStop.FOUND, mask, _frozen(figures))
    return Check(
        Verdict.UNDECIDED,
        method,
        CheckStop.SOLVER_FAILED,
        figures=_frozen({**figures, "message": "its group does not contradict the claim"}),
    )


def _refuted_layout(neighbours, w, band, fewest, scope: Scope, labels, method, figures) -> Check:
    """Refuted with ``labels`` once they are checked here: every unit placed, every group connected, fewer
    than ``fewest`` outside ``band``, in the ``scope``."""
    lo, hi = band
    if len(labels) and labels.min() < 0:
        labels = labels[:0]
    loads = np.bincount(labels, weights=w)
    outside = (loads < lo) | (loads > hi)
    if (
        len(labels) == len(w)
        and outside.sum() < fewest
        and scope.admits(loads[outside])
        and all(is_connected(neighbours, labels == g) for g in range(len(loads)))
    ):
        return Check(Verdict.REFUTED, method, CheckStop.FOUND, labels, _frozen(figures))
    return Check(
        Verdict.UNDECIDED,
        method,
        CheckStop.SOLVER_FAILED,
        figures=_frozen({**figures, "message": "its layout does not contradict the claim"}),
    )
