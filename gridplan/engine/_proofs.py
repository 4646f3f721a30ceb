"""Whether a region's units can make grids within the bounds: proofs, and layouts that meet them (README
steps 5 and 6).

From cheap to complete:

- :func:`proven_misfits`, a proof per unit: the unit fits no connected group of units within the bounds
  (its neighbours' loads cannot make up the difference).
- :func:`bounds_layout`, the search of a whole region: an exact cover of every connected group that fits
  (enumerated as in the exact re-split), then, past its limits, :func:`bounds_programme`, a constraint
  programme (OR-Tools CP-SAT): the layout with the fewest grids outside the bounds, or the proof that none
  has at most so many.
- :func:`proven_layout`, that search's proof as a :class:`RegionProof` (its exact statement and scope),
  with a layout of the region that the proof covers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from ._exact import exact_cover, fitting_groups, group_loads
from ._graph import Adjacency, RegionGraph, Sizing, join_orphans, neighbour_arrays, window_excess
from ._kernels import reached_within

#: Work the programme may do (CP-SAT's deterministic time, about a second on this project's machine): a
#: limit of work, not of time, so the result is the same on every machine; past it nothing is proven. At 2
#: it decides every region of the generated district; at 5 the city's 65 all-fit regions take 59 s
#: instead of 32 s for 3 more decided (51 against 48; HiGHS at its root node decided 15 in 10 s).
PROGRAMME_WORK = 2.0
#: Work the tight band's search of a region may do. On the generated district (88 searches) 0.1 proves 17
#: regions' fewest and 0.3 proves 19, for about twice the time; at 2 the searches took 80 s in all.
TIGHT_WORK = 0.1
#: Most units a region's programme for the tight band is run on: on the generated district none of the 28
#: regions above 80 settled anything within ``TIGHT_WORK`` (6.8 s of the searches' 13.8 s).
TIGHT_MAX_UNITS = 80
#: The same for the proof a regeneration seeks of the regions it changed (where a planner iterates): on the
#: generated district with 5% of its buildings changed, its 20 regions of up to 40 units gave 9 of the 11 proofs in
#: 1.2 s, the 37 of 40–80 units 2 in 5.6 s.
REGENERATION_TIGHT_MAX_UNITS = 40
#: Steps of the exact cover that seeks a layout with fewer grids outside the tight band before the programme:
#: on the generated district the covers it settles take at most a few thousand.
TIGHT_SEARCH_NODES = 20_000
#: Covers of a ground's inhabited units by groups within the bounds that :func:`tighter_cover` asks for a
#: layout, at most; the work each programme of :func:`cover_layout`'s rounds of cuts may do, the rounds, and the
#: work of its flows after them. On 84 covers of Shanghai's chunky plan 10 rounds then the flows decided 83 in 2.0 s,
#: 40 rounds alone 79 in 1.7 s, the flows alone 83 in 5.4 s; one of its grounds has 386 covers, none a layout.
COVER_CHECKS, COVER_WORK, COVER_ROUNDS, COVER_FLOW_WORK = 400, 0.05, 10, 0.2
#: Covers asked for a layout, at most, of a ground with more than ``COVER_CHECKS`` (where no proof is within reach):
#: asking all 400 of every such ground doubled the time of Shanghai's chunky regeneration.
COVER_TRIES = 100
#: Seconds after which CP-SAT stops regardless: a safety net only.
PROGRAMME_SECONDS = 30.0
#: Largest programme (variables) attempted; beyond it the region stays unsettled.
PROGRAMME_MAX_VARIABLES = 150_000
#: Largest programme (a unit's place in a grid rooted at another: variables) the search of a whole region for
#: fewer grids outside the bounds is run on. Of the programmes of regions measured (the generated district, the
#: four extracts and their chunky variants, a generated community of 3,500 buildings), those decided within
#: ``PROGRAMME_WORK`` had at most 3,700 variables in all, those left undecided 47,000–138,000, which took
#: 6–11 s each (the model alone up to 3.7 s). Beyond this the region is left to its neighbourhoods' searches.
REGION_PROGRAMME_MAX_VARIABLES = 20_000
#: Limits of the enumeration that proves a region's units fit no layout within the bounds: groups
#: enumerated and search steps (beyond them the warning says no layout was found, not that none exists).
PROOF_MAX_GROUPS, PROOF_SEARCH_NODES = 20_000, 200_000


@dataclass(frozen=True)
class RegionProof:
    """What a search of a whole region proved: no layout of it in which every grid outside the bounds
    holds at most ``cap`` has fewer than ``fewest`` grids outside them (``cap`` infinite: no layout at all).
    With ``tight``, the same of the tight band: no layout of it with every grid within the bounds (``floor``
    to ``cap``) but at most ``beyond`` (each at most ``beyond_cap``) has fewer than ``fewest`` grids outside
    the tight band.

    Attributes
    ----------
    fewest
        The fewest grids outside the bounds.
    cap
        The scope: the most a grid outside the bounds holds in the layouts the proof speaks of.
    method
        ``"enumeration"`` (an exact cover of every connected group, run to its end), ``"cp_sat"`` (a
        constraint programme solved to optimality or infeasibility) or ``"misfits_apart"`` (units that fit
        no grid within the bounds, no two of which one grid of at most ``cap`` can hold).
    searched
        What was searched, in words.
    atoms
        The atoms (region positions) the proof speaks of, the grids around them kept as they are; None: the
        whole region.
    floor
        The scope's other end: the least a grid outside the band holds in the layouts the proof speaks of.
    tight
        Whether the band is the tight band (else the bounds).
    beyond, beyond_cap
        How many grids outside the band may lie beyond ``floor``–``cap`` in the layouts the proof speaks of,
        and the most each holds.
    """

    fewest: int
    cap: float
    method: str
    searched: str
    atoms: tuple[int, ...] | None = None
    floor: float = 0.0
    tight: bool = False
    beyond: int = 0
    beyond_cap: float = math.inf

    def covers(self, loads: np.ndarray, band) -> bool:
        """Whether a layout with grid ``loads`` is one the proof speaks of and as good as it allows: exactly
        ``fewest`` grids outside ``band`` (the proof's), each holding ``floor`` to ``cap`` but at most
        ``beyond`` (holding at most ``beyond_cap``)."""
        loads = np.asarray(loads, dtype=float)
        outside = loads[~band.contains(loads)]
        far = (outside < self.floor - 1e-9) | (outside > self.cap + 1e-9)
        return (
            len(outside) == self.fewest
            and int(far.sum()) <= self.beyond
            and bool((outside[far] <= self.beyond_cap + 1e-9).all())
        )


def proven_layout(
    graph: RegionGraph, sizing: Sizing, labels: np.ndarray, programme: bool = True
) -> tuple[np.ndarray, RegionProof | None]:
    """The search of :func:`bounds_layout` from the layout ``labels``, with its proof and a layout it covers.

    A proof that no layout has fewer grids outside the bounds than ``f`` speaks, when ``f`` is 2 or more,
    of layouts whose grids outside hold at most ``misfit_ceiling`` (two misfits may share a bigger grid);
    a layout with a bigger grid outside is not covered by it. So where ``labels`` has such a grid, a
    layout with exactly ``f`` grids outside, each of at most ``misfit_ceiling`` and together as little
    beyond the bounds as the programme finds (:func:`bounds_programme` with ``excess``), takes its place;
    where none is found, nothing is proven.

    Parameters
    ----------
    graph
        The region.
    sizing
        The bounds and the misfit ceiling.
    labels
        The grid of each atom now (``0 … k-1``), some outside the bounds.
    programme
        Whether the constraint programme is run where the misfits and the enumeration settle nothing (the
        search's costly part; a regeneration runs it after a fresh plan of the region, which may need fewer).

    Returns
    -------
    labels, proof
        The layout to keep: ``labels`` itself, one with fewer grids outside, or one the proof covers;
        and the proof (None where nothing is proven), which covers the layout returned.
    """
    bounds = sizing.bounds_window
    loads = graph.grid_loads(labels)
    outside = int((~bounds.contains(loads)).sum())
    found, proven, method, misfits = _bounds_search(graph, sizing, outside, programme)
    if found is not None:
        count = int((~bounds.contains(graph.grid_loads(found))).sum())
        return found, (_proof(graph, sizing, count, method, misfits) if proven and count else None)
    if not proven:
        return labels, None
    proof = _proof(graph, sizing, outside, method, misfits)
    if method == "misfits_apart" and misfits_apart(graph.adjacency, graph.w, misfits, sizing.misfit_ceiling) > outside:
        return labels, None  # a grid above the cap holds misfits apart: fewer outside than any layout in scope
    if proof.covers(loads, bounds):
        return labels, proof
    within, _ = bounds_programme(
        graph.neighbour_lists(),
        graph.w,
        bounds.lo,
        bounds.hi,
        budget=outside,
        outside_hi=proof.cap,
        misfits=misfits,
        excess=True,
    )
    if within is not None and proof.covers(graph.grid_loads(within), bounds):
        return within, proof
    return labels, None


def tight_layout(
    graph: RegionGraph, sizing: Sizing, labels: np.ndarray, max_units: int = TIGHT_MAX_UNITS
) -> tuple[np.ndarray | None, RegionProof | None]:
    """Where some grids of ``labels`` are outside the tight band: a layout of the whole region with fewer
    outside it, with no more grids outside the bounds than now, each at most ``misfit_ceiling``
    (:func:`bounds_programme`, within ``TIGHT_WORK``); and the proof of the fewest where the programme
    settles it, on regions of at most ``max_units`` units. An exact cover of the region's groups
    (:func:`no_tighter_cover`) may prove first that none has fewer.
    Nothing is sought where a grid outside the bounds now holds more than the ceiling.

    Parameters
    ----------
    graph
        The region.
    sizing
        The tight band and the bounds.
    labels
        The grid of each atom now (``0 … k-1``).
    max_units
        The most units the programme is run on (``TIGHT_MAX_UNITS``; a regeneration's
        ``REGENERATION_TIGHT_MAX_UNITS``).

    Returns
    -------
    labels, proof
        A layout with fewer grids outside the tight band (None where none is found), and the proof (None
        where nothing is proven) that no layout in that scope has fewer than the layout returned has (or
        than ``labels`` has, where none is returned).
    """
    tight, bounds = sizing.tight_window, sizing.bounds_window
    loads = graph.grid_loads(labels)
    loose = int((~tight.contains(loads)).sum())
    far = loads[~bounds.contains(loads)]
    if not loose or (far > sizing.misfit_ceiling + 1e-9).any():
        return None, None
    neighbours = graph.neighbour_lists()
    everywhere = np.ones(graph.n, dtype=bool)
    # a unit that fits no group within the band lies in a grid outside it now
    candidates = np.flatnonzero(~tight.contains(loads)[labels])
    misfits = candidates[
        proven_misfits(graph.adjacency, graph.w, everywhere, np.zeros(graph.n, np.int64), candidates, *tight)
    ]
    shared = sizing.misfit_ceiling if len(far) else bounds.hi  # the most one grid holding misfits may carry
    if len(misfits) and misfits_apart(graph.adjacency, graph.w, misfits, shared) >= loose:
        return None, None  # units that fit no grid within the band need every grid outside it now
    scope = f"every grid within {bounds.lo:.0f}–{bounds.hi:.0f}" + (
        f" but at most {len(far)}, each of at most {sizing.misfit_ceiling:.0f}" if len(far) else ""
    )
    beyond = {"beyond": len(far), "beyond_cap": sizing.misfit_ceiling} if len(far) else {}
    if no_tighter_cover(graph, sizing, loose, len(far)):
        searched = f"an exact cover of every connected group of the region's {graph.n} units, {scope}, run to its end"
        return None, RegionProof(loose, bounds.hi, "enumeration", searched, floor=bounds.lo, tight=True, **beyond)
    if graph.n > max_units:
        return None, None
    found, proven = bounds_programme(
        neighbours,
        graph.w,
        tight.lo,
        tight.hi,
        budget=loose - 1,
        outside_hi=bounds.hi,
        outside_lo=bounds.lo,
        beyond=len(far),
        beyond_hi=sizing.misfit_ceiling,
        misfits=misfits,
        work=TIGHT_WORK,
    )
    if not proven:
        return found, None
    fewest = loose if found is None else int((~tight.contains(graph.grid_loads(found))).sum())
    searched = f"a constraint programme (CP-SAT) over the region's {graph.n} units, {scope}, solved to the end"
    return found, RegionProof(fewest, bounds.hi, "cp_sat", searched, floor=bounds.lo, tight=True, **beyond)


def tighter_cover(
    graph: RegionGraph,
    sizing: Sizing,
    loose: int,
    far: int,
    ground: np.ndarray | None = None,
    checks: int = COVER_CHECKS,
) -> tuple[np.ndarray | None, bool]:
    """:func:`no_tighter_cover`, each cover it meets checked for a layout: the groups of a cover lean on empty
    units only to connect, and two of them may lean on the same one. Each cover is asked of a constraint
    programme that places the empty units (:func:`cover_layout`): a layout found is returned; a cover proven to
    have none is passed over, and the search goes on. Where the search runs to its end, every cover passed over,
    no layout of the ground has fewer than ``loose`` grids outside the tight band. At most ``checks`` covers are
    asked (beyond them, or where a programme decides nothing, nothing is proven): the covers are met first, and
    a ground with more (or more than the search's steps reach) has only its first ``COVER_TRIES`` asked, for a
    layout alone. On Shanghai's chunky ground of 22 inhabited units among 83 the one cover had no layout. With
    ``loose`` above the count of inhabited units, the question is of the bounds alone: a layout with at most
    ``far`` grids outside them (each at most the ceiling).

    Returns
    -------
    labels, proven
        A layout of ``ground`` with fewer grids outside the band (grid per unit of ``ground``, None where none is
        found), and whether it is proven that none has.
    """
    ground = np.arange(graph.n) if ground is None else np.asarray(ground)
    inhabited = ground[graph.w[ground] > 0]
    if not np.allclose(graph.w[ground], np.rint(graph.w[ground])):
        return None, False
    groups = fitting_groups(
        graph,
        inhabited,
        sizing,
        max_empty=0,
        max_groups=PROOF_MAX_GROUPS,
        adjacent=through_empty(graph, inhabited, ground),
        loads=(0.0, sizing.misfit_ceiling) if far else None,
    )
    if groups is None:
        return None, False
    thinned = thinned_ground(graph.adjacency.among(ground).neighbour_lists(), graph.w[ground]) if checks else None
    if thinned is None:  # a part of the ground holds nothing: no cover is asked for a layout (none is decided)
        checks = 0
    fits = [sizing.fit(load) for load in group_loads(graph.w, groups)]
    met: list[list[np.ndarray]] = []  # the covers, in the search's order, up to one more than ``checks``

    def meet(cover: list[np.ndarray]) -> bool:  # True stops the search
        met.append(cover)
        return len(met) > checks

    _, exhausted = exact_cover(
        inhabited,
        graph.w,
        groups,
        fits,
        np.zeros(len(groups)),
        [loose - 1],
        sizing,
        steps=TIGHT_SEARCH_NODES,
        prune=not far,
        far=far,
        accept=meet,
    )
    # every cover met, to the search's end: each asked, a proof if none has a layout; else its first ones, for a
    # layout alone
    provable = exhausted and len(met) <= checks
    for cover in met[: checks if provable else min(checks, COVER_TRIES)]:
        labels, decided = cover_layout(graph, ground, cover, thinned=thinned)
        if labels is not None or not decided:
            return labels, False
    return None, provable


def cover_layout(
    graph: RegionGraph,
    ground: np.ndarray,
    cover: Sequence[np.ndarray],
    rounds: int = COVER_ROUNDS,
    thinned: tuple | None = None,
) -> tuple[np.ndarray | None, bool]:
    """A layout of ``ground`` whose grids hold the inhabited units as ``cover`` groups them, the empty units of
    the ground placed so that each grid is connected; or the proof that none exists.

    On the thinned ground (:func:`thinned_ground`), a constraint programme (CP-SAT) places empty units in
    grids, at most one each, under cuts added round by round: where a grid's units placed so far fall apart, the
    part ``C`` holding some of its inhabited units but not all touches the rest only through its neighbours
    ``N(C)``, so any layout puts some empty unit of ``N(C)`` in that grid (units of other grids cannot be), one of
    those through which the grid reaches its other inhabited units (:func:`_separating`). Every
    cut holds of every layout, so an infeasible programme proves there is none; a placement without a part
    apart is a layout (the empty units left over join a grid they touch). At most ``rounds`` rounds,
    each within ``COVER_WORK``; on a Shanghai ground of 12 inhabited units among 71 the depths of
    :func:`bounds_programme` needed 2.2 s to prove what these cuts prove in a few rounds. Where the rounds end
    undecided, a programme of flows decides (:func:`_flow_layout`).

    An empty unit is placed only in a grid whose inhabited units touch the empty units it lies among: elsewhere
    it could not join the grid's units.

    Parameters
    ----------
    graph, ground
        The region and the units of the ground (positions).
    cover
        The inhabited units of each grid (positions).
    rounds
        Rounds of cuts before the flows.
    thinned
        ``thinned_ground`` of the ground, where the caller has it (one ground, many covers).

    Returns
    -------
    labels, decided
        The grid (index in ``cover``) of each unit of ``ground`` (None where none is found), and whether it was
        decided: a layout, or the proof that there is none.
    """
    ground = np.asarray(ground)
    if thinned is None:
        thinned = thinned_ground(graph.adjacency.among(ground).neighbour_lists(), graph.w[ground])
    if thinned is None:
        return None, False
    kept, rows, steps = thinned
    position = np.full(graph.n, -1, dtype=np.int64)
    position[ground[kept]] = np.arange(len(kept))
    fixed = np.full(len(kept), -1, dtype=np.int64)  # the grid of each inhabited unit (thinning keeps them all)
    for g, members in enumerate(cover):
        fixed[position[np.asarray(members)]] = g
    labels, decided = _placed_layout(rows, fixed, rounds)
    return (None if labels is None else restored_labels(labels, kept, steps, len(ground))), decided


def _open_grids(rows: list[list[int]], fixed: np.ndarray) -> dict[int, list[int]]:
    """Per empty unit (``fixed`` below 0), the grids whose inhabited units touch the empty units it lies among."""
    part = np.full(len(fixed), -1, dtype=np.int64)
    touching: list[set[int]] = []
    for start in np.flatnonzero(fixed < 0).tolist():
        if part[start] >= 0:
            continue
        part[start], stack, grids = len(touching), [start], set()
        while stack:
            for v in rows[stack.pop()]:
                if fixed[v] >= 0:
                    grids.add(int(fixed[v]))
                elif part[v] < 0:
                    part[v] = len(touching)
                    stack.append(v)
        touching.append(grids)
    return {e: sorted(touching[part[e]]) for e in np.flatnonzero(fixed < 0).tolist()}


def _placed_layout(rows: list[list[int]], fixed: np.ndarray, rounds: int) -> tuple[np.ndarray | None, bool]:
    """:func:`cover_layout` on the thinned ground: the rounds of cuts, then the flows."""
    model = cp_model.CpModel()
    open_grids = _open_grids(rows, fixed)
    placed = _placements(model, open_grids)
    for _ in range(rounds):
        labels, decided = _placement_found(model, COVER_WORK, placed, fixed)
        if labels is None:
            return None, decided
        cuts = _connectivity_cuts(rows, fixed, labels, open_grids)
        if not cuts:
            return _joined(rows, fixed, labels), True
        for g, boundary in cuts:
            if not boundary:
                return None, True  # a part no empty unit can join to the rest of its grid
            model.add_bool_or([placed[e, g] for e in boundary])
    return _flow_layout(rows, fixed, open_grids)  # the cuts come slowly: the flows decide at once


def _flow_layout(
    rows: list[list[int]], fixed: np.ndarray, open_grids: dict[int, list[int]]
) -> tuple[np.ndarray | None, bool]:
    """:func:`cover_layout`'s question as one programme (CP-SAT, within ``COVER_FLOW_WORK``): each grid's first
    inhabited unit sends one unit of flow to each of its other inhabited units, through units of that grid
    only (an empty unit in at most one grid). Exact: the grids' units connect their inhabited units exactly where
    such flows exist. Returns the layout over the units of ``rows`` (None where none is found) and whether it
    was decided."""
    n = len(fixed)
    model = cp_model.CpModel()
    grids = range(int(fixed.max()) + 1)
    placed = _placements(model, open_grids)

    def open_to(u: int, g: int):  # whether unit u may carry grid g's flow: known, or where it is placed
        return placed.get((u, g), False) if fixed[u] < 0 else bool(fixed[u] == g)

    for g in grids:
        members = np.flatnonzero(fixed == g)
        sent = len(members) - 1
        if not sent:
            continue
        root = int(members[0])
        inflow: list[list] = [[] for _ in range(n)]
        outflow: list[list] = [[] for _ in range(n)]
        for u in range(n):
            if open_to(u, g) is False:
                continue
            for v in rows[u]:
                if v == root or open_to(v, g) is False:
                    continue
                f = model.new_int_var(0, sent, "")
                for end in (u, v):
                    if fixed[end] < 0:
                        model.add(f <= sent * placed[end, g])
                outflow[u].append(f)
                inflow[v].append(f)
        for u in range(n):
            if u == root:
                model.add(sum(outflow[u]) == sent)
            elif open_to(u, g) is not False:
                model.add(sum(inflow[u]) - sum(outflow[u]) == int(fixed[u] == g))
    labels, decided = _placement_found(model, COVER_FLOW_WORK, placed, fixed)
    return (None if labels is None else _joined(rows, fixed, labels)), decided


def _placements(model: cp_model.CpModel, open_grids: dict[int, list[int]]) -> dict[tuple[int, int], cp_model.IntVar]:
    """Whether each empty unit lies in each grid open to it (:func:`_open_grids`): at most one each."""
    placed = {(e, g): model.new_bool_var("") for e, grids in open_grids.items() for g in grids}
    for e, grids in open_grids.items():
        model.add_at_most_one(placed[e, g] for g in grids)
    return placed


def _placement_found(
    model: cp_model.CpModel, work: float, placed: dict, fixed: np.ndarray
) -> tuple[np.ndarray | None, bool]:
    """CP-SAT's placement within ``work``: the grid of each unit (-1: an empty unit placed in none), None where none
    is found; and whether it decided (a placement, or the proof that there is none)."""
    status, solver = _solved(model, work)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, status == cp_model.INFEASIBLE
    labels = fixed.copy()
    for (e, g), x in placed.items():
        if solver.boolean_value(x):
            labels[e] = g
    return labels, True


def _connectivity_cuts(
    rows: list[list[int]], fixed: np.ndarray, labels: np.ndarray, open_grids: dict[int, list[int]]
) -> list[tuple[int, list[int]]]:
    """Per grid whose inhabited units the placement ``labels`` leaves apart, per part holding some of them: the
    grid and the empty units around that part through which the grid reaches its other inhabited units
    (:func:`_separating`; one of which any layout puts in the grid)."""
    cuts = []
    for g in np.unique(fixed[fixed >= 0]).tolist():
        mine = labels == g
        seen = np.zeros(len(labels), dtype=bool)
        parts = []
        for start in np.flatnonzero(fixed == g).tolist():
            if seen[start]:
                continue
            part, stack = [start], [start]
            seen[start] = True
            while stack:
                for v in rows[stack.pop()]:
                    if mine[v] and not seen[v]:
                        seen[v] = True
                        part.append(v)
                        stack.append(v)
            parts.append(part)
        if len(parts) > 1:
            for part in parts:
                inside = set(part)
                around = {v for u in part for v in rows[u] if v not in inside and fixed[v] < 0}
                cuts.append((g, sorted(_separating(rows, fixed, open_grids, g, inside, around))))
    return cuts


def _separating(
    rows: list[list[int]],
    fixed: np.ndarray,
    open_grids: dict[int, list[int]],
    g: int,
    inside: set[int],
    around: set[int],
) -> set[int]:
    """The units of ``around`` (the empty units around a part ``inside`` of grid ``g``) that touch the units the
    grid's other inhabited units reach without passing through ``around`` or ``inside``. A path within the grid
    from the part to another of its inhabited units leaves ``around`` for the last time at one of them, so any
    layout puts one of them in the grid: a cut stronger than ``around`` itself (a minimal separator). On three
    covers of Shanghai's chunky plan the rounds of cuts left undecided, these cuts decided two within 10 rounds."""
    start = [u for u in np.flatnonzero(fixed == g).tolist() if u not in inside]
    seen, stack = set(start), list(start)
    while stack:
        for v in rows[stack.pop()]:
            if v in seen or v in around or v in inside:
                continue
            if fixed[v] == g or (fixed[v] < 0 and g in open_grids.get(v, ())):
                seen.add(v)
                stack.append(v)
    return {b for b in around if any(v in seen for v in rows[b])}


def _joined(rows: list[list[int]], fixed: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A placement whose grids hold their inhabited units together made a layout: empty units placed apart from
    their grid's inhabited units are taken out, then every empty unit left joins a grid it touches (the ground is
    connected), nearest first."""
    out = np.full(len(labels), -1, dtype=np.int64)
    queue = deque(np.flatnonzero(fixed >= 0).tolist())
    out[queue] = fixed[queue]
    while queue:  # the grids as placed, from their inhabited units
        u = queue.popleft()
        for v in rows[u]:
            if out[v] < 0 and labels[v] == out[u]:
                out[v] = out[u]
                queue.append(v)
    queue = deque(np.flatnonzero(out >= 0).tolist())
    while queue:  # the rest joins a neighbour's grid
        u = queue.popleft()
        for v in rows[u]:
            if out[v] < 0:
                out[v] = out[u]
                queue.append(v)
    return out


def no_tighter_cover(
    graph: RegionGraph, sizing: Sizing, loose: int, far: int, ground: np.ndarray | None = None
) -> bool:
    """Whether enumeration proves that no layout of the region (or of the atoms ``ground``, whole grids of
    it) with every grid within the bounds but at most ``far`` (each at most ``misfit_ceiling``) has fewer than
    ``loose`` grids outside the tight band: every connected group of inhabited units within the bounds (or,
    with ``far``, of at most the ceiling; empty units only connect, :func:`through_empty`), and no exact cover
    of the inhabited units by them with fewer loose groups and at most ``far`` outside the bounds, the search
    run to its end (within ``PROOF_MAX_GROUPS`` groups, ``TIGHT_SEARCH_NODES`` steps). Loads must be whole
    numbers."""
    return tighter_cover(graph, sizing, loose, far, ground, checks=0)[1]


def _proof(graph: RegionGraph, sizing: Sizing, fewest: int, method: str, misfits: np.ndarray) -> RegionProof:
    """The proof that no layout has fewer than ``fewest`` grids outside the bounds, scoped: with one, no
    layout has none (whatever its grids hold)."""
    cap = math.inf if fewest <= 1 else sizing.misfit_ceiling
    searched = {
        "enumeration": f"an exact cover of every connected group of the region's {graph.n} units, run to its end",
        "cp_sat": f"a constraint programme (CP-SAT) over the region's {graph.n} units, solved to the end",
        "misfits_apart": f"{len(misfits)} units that fit no grid within the bounds, no {fewest} of which "
        f"fewer grids of at most {sizing.misfit_ceiling:.0f} can hold",
    }[method]
    return RegionProof(fewest, cap, method, searched)


def bounds_layout(graph: RegionGraph, sizing: Sizing, outside: int) -> tuple[np.ndarray | None, bool]:
    """A layout of the whole region with fewer groups outside the bounds than ``outside`` (those outside
    them now), each of at most ``misfit_ceiling``, or the proof that none exists.

    First by enumeration (:func:`enumerated_layout`): a layout with every group within the bounds but
    those holding units that fit no group (:func:`proven_misfits`), fewer of them than ``outside``. Its
    proof settles the count where every layout with fewer groups outside would have only misfits' groups
    outside: without misfits, where one group is outside now; with them, where the misfits need at least
    ``outside - 1`` groups (:func:`misfits_apart`). Elsewhere, and where the enumeration runs past its
    limits, the programme of :func:`bounds_programme` seeks the layout with the fewest groups outside.

    Parameters
    ----------
    graph
        The region.
    sizing
        The bounds and the misfit ceiling.
    outside
        Groups outside the bounds now.

    Returns
    -------
    labels, proven
        The labels of a layout found (None if none), and the proof: with labels, that no layout has fewer
        groups outside than they have; without, that none has fewer than ``outside``.
    """
    labels, proven, _, _ = _bounds_search(graph, sizing, outside)
    return labels, proven


def _bounds_search(
    graph: RegionGraph, sizing: Sizing, outside: int, programme: bool = True
) -> tuple[np.ndarray | None, bool, str, np.ndarray]:
    """:func:`bounds_layout` (without its constraint programme unless ``programme``), and which method settled
    it, and the region's misfits."""
    bounds = sizing.bounds_window
    neighbours = graph.neighbour_lists()
    misfits = np.flatnonzero(
        proven_misfits(
            graph.adjacency,
            graph.w,
            np.ones(graph.n, dtype=bool),
            np.zeros(graph.n, dtype=np.int64),
            range(graph.n),
            bounds.lo,
            bounds.hi,
        )
    )
    apart = misfits_apart(graph.adjacency, graph.w, misfits, sizing.misfit_ceiling) if len(misfits) else 0
    if apart >= outside:  # the misfits need every group outside now: that is the fewest
        return None, True, "misfits_apart", misfits
    labels, proven = enumerated_layout(graph, sizing, misfits, outside - 1 if len(misfits) else 0)
    if labels is not None:  # its groups outside the bounds hold misfits, each proven by its unit
        return labels, False, "enumeration", misfits
    if proven and outside - 1 <= apart:
        return None, True, "enumeration", misfits
    if not programme:
        return None, False, "cp_sat", misfits
    labels, proven = bounds_programme(
        neighbours,
        graph.w,
        bounds.lo,
        bounds.hi,
        budget=outside - 1,
        outside_hi=sizing.misfit_ceiling,
        misfits=misfits,
        max_variables=REGION_PROGRAMME_MAX_VARIABLES,
        relaxations=(False, True),
    )
    return labels, proven, "cp_sat", misfits


def enumerated_layout(
    graph: RegionGraph, sizing: Sizing, misfits: np.ndarray, budget: int
) -> tuple[np.ndarray | None, bool]:
    """:func:`bounds_layout` by enumerating groups: (None, False) when its limits are reached.

    The groups are every connected group of atoms within the bounds (with any number of empty atoms) and,
    with ``misfits``, every connected group holding one of at most ``misfit_ceiling``, at most ``budget`` of
    those in a layout; an exact-cover search runs to its end. Before it, a relaxed search that can only
    prove: empty atoms only connect, so groups are enumerated over the inhabited atoms alone, two of them
    neighbours when they touch or when empty atoms join them (:func:`through_empty`; two groups may lean
    on the same empty atoms). When no such groups cover the inhabited atoms, no layout exists (an empty
    misfit would leave its group out of that cover, so then it is skipped). Limits: ``PROOF_MAX_GROUPS``
    groups, ``PROOF_SEARCH_NODES`` steps.
    """
    inhabited = np.flatnonzero(graph.w > 0)
    if (graph.w[misfits] > 0).all():
        cover, exhausted = _cover(
            graph, inhabited, sizing, misfits, budget, max_empty=0, adjacent=through_empty(graph, inhabited)
        )
        if cover is None and exhausted:
            return None, True
    cover, exhausted = _cover(graph, np.arange(graph.n), sizing, misfits, budget, max_empty=math.inf)
    if not cover:
        return None, cover is None and exhausted
    labels = np.full(graph.n, -1, dtype=np.int64)
    for g, c in enumerate(cover):
        labels[c] = g
    joined = join_orphans(labels, np.flatnonzero(labels < 0), graph.adjacency)
    if (joined < 0).any():
        raise RuntimeError(f"atoms {np.flatnonzero(joined < 0)[:5].tolist()} are connected to no grid")
    return joined, False


def _cover(graph: RegionGraph, nodes: np.ndarray, sizing: Sizing, misfits: np.ndarray, budget: int, **enumeration):
    """The exact cover of :func:`enumerated_layout` over ``nodes``: (cover or None, whether the search ran
    to its end); (None, False) past the enumeration's limits. The groups within the bounds come first
    (tight ones first where there are no misfits), then those around misfits nearest the bounds."""
    bounds = sizing.bounds_window
    fitting = fitting_groups(graph, nodes, sizing, max_groups=PROOF_MAX_GROUPS, **enumeration)
    free = (
        fitting_groups(
            graph,
            nodes,
            sizing,
            max_groups=PROOF_MAX_GROUPS,
            loads=(0.0, sizing.misfit_ceiling),
            roots=misfits,
            **enumeration,
        )
        if len(misfits)
        else []
    )
    if fitting is None or free is None:
        return None, False
    loads = group_loads(graph.w, free)
    distance = np.maximum(bounds.lo - loads, loads - bounds.hi)
    if len(misfits):  # the budget is on the groups around misfits only
        fits, budgets = [0] * len(fitting) + [2] * len(free), [budget]
    else:
        fits, budgets = sizing.fits(group_loads(graph.w, fitting)).tolist(), [graph.n]
    return exact_cover(
        nodes,
        graph.w,
        fitting + free,
        fits,
        [0.0] * len(fitting) + distance.tolist(),
        budgets=budgets,
        sizing=sizing,
        steps=PROOF_SEARCH_NODES,
        prune=not len(misfits),
    )


def through_empty(graph: RegionGraph, inhabited: np.ndarray, ground: np.ndarray | None = None) -> dict[int, set[int]]:
    """Neighbours of each inhabited atom among the inhabited ones: those it touches, and those that touch
    the same connected piece of empty atoms (of ``ground`` alone where given: a neighbourhood's atoms)."""
    w, links = graph.w, graph.links
    inside = np.ones(graph.n, dtype=bool) if ground is None else np.isin(np.arange(graph.n), ground)
    adjacent = {int(v): {j for j, _ in links[v] if w[j] > 0 and inside[j]} for v in inhabited}
    empty = set(np.flatnonzero((w <= 0) & inside).tolist())
    while empty:
        piece = graph.reach_from(empty.pop(), empty)
        empty -= piece
        touching = {j for a in piece for j, _ in links[a] if w[j] > 0 and inside[j]}
        for u in touching:
            adjacent[u] |= touching - {u}
    return adjacent


def proven_misfits(
    graph, weight: np.ndarray, allowed: np.ndarray, community: np.ndarray, candidates: Iterable[int], lo: int, hi: int
) -> np.ndarray:
    """Which ``candidates`` (atom positions) no grid with a load within ``lo``–``hi`` can hold: a proof.

    A grid holding atom ``a`` is a connected group of ``allowed`` atoms of ``a``'s community. Every such
    group with a load of at most ``hi`` lies among the atoms that paths from ``a`` reach while carrying at
    most ``hi - weight[a]`` on the way (a Dijkstra over atom loads). When no subset of those atoms' loads
    brings ``weight[a]`` into the band (subset sums, as the bits of one integer), no such grid exists. The
    converse does not hold: an atom not proven may still fit no grid. Loads must be whole numbers;
    with fractional ones (scaled workloads) nothing is proven. ``graph`` is anything
    :func:`._graph.neighbour_arrays` takes (callers asking many times make its arrays once), ``community`` whole
    numbers (one per community). The paths are a compiled kernel (:func:`._kernels.reached_within`).

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
    proven = np.array([not allowed[a] or w[a] > hi for a in candidates], dtype=bool)
    starts = np.array([a for a, p in zip(candidates, proven) if not p], dtype=np.int64)
    group = np.where(allowed, community, -1)  # a grid is one community's
    indptr, indices = neighbour_arrays(graph)
    ptr, reached = reached_within(
        indptr, indices, w.astype(float), starts, float(hi), group, np.zeros(len(w), dtype=np.int64), False
    )
    for r, (i, a) in enumerate(zip(np.flatnonzero(~proven), starts.tolist())):
        sums = 1 << int(w[a])
        for v in reached[ptr[r] : ptr[r + 1]].tolist():
            if v != a and w[v] > 0:
                sums = (sums | sums << int(w[v])) & within_hi
        proven[i] = not sums & band
    return proven


def within_all(total: int, floor_: int, ceiling: int, grids: int | None) -> tuple[int, int] | None:
    """The least and most one grid may hold in a layout of ``total`` with every grid within
    ``floor_``–``ceiling`` (of ``grids`` grids where given): with ``k`` grids, one holds what the other
    ``k - 1`` leave, at least ``total - (k - 1) × ceiling`` and at most ``total - (k - 1) × floor_``. None
    where no count of grids holds ``total``."""
    counts = [grids] if grids is not None else range(-(-total // max(ceiling, 1)), total // max(floor_, 1) + 1)
    fitting = [k for k in counts if k >= 1 and k * floor_ <= total <= k * ceiling]
    if not fitting:
        return None
    return max(floor_, total - (max(fitting) - 1) * ceiling), min(ceiling, total - (min(fitting) - 1) * floor_)


# One function though long: a programme's variables and constraints read together, as the model they are.
def bounds_programme(
    neighbours: Sequence[Sequence[int]],
    weight: np.ndarray,
    lo: float,
    hi: float,
    budget: int = 0,
    outside_hi: float = math.inf,
    outside_lo: float = 0.0,
    beyond: int = 0,
    beyond_hi: float = math.inf,
    far_excess: float = math.inf,
    misfits: Sequence[int] = (),
    excess: bool = False,
    grids: int | None = None,
    work: float = PROGRAMME_WORK,
    max_variables: int = PROGRAMME_MAX_VARIABLES,
    relaxations: Sequence[bool] = (True,),
) -> tuple[np.ndarray | None, bool]:
    """A layout of a region with the fewest grids outside ``lo``–``hi``, at most ``budget`` of them, each
    carrying ``outside_lo`` to ``outside_hi`` but for at most ``beyond`` carrying up to ``beyond_hi``; or the
    proof that no layout has at most ``budget`` outside.

    A constraint programme (CP-SAT), each grid rooted at its first unit, the ``misfits`` first and then by
    number (which breaks the symmetry between grids): unit ``i`` may join the grid rooted at ``j`` only
    when a path from ``j`` reaches ``i`` through units after ``j`` while carrying at most what a grid may
    hold. A grid is connected because each of its units but the root has a parent among its neighbours in
    the same grid, one step nearer the root (a depth that falls along parents). A grid holding a misfit is
    rooted at one and counts as outside. Every layout is a solution, so an infeasible programme, or an
    optimum, is a proof. Loads must be whole numbers for a proof; fractional ones (scaled workloads) are
    rounded to hundredths, and then only layouts checked against the true loads come back. With no grid
    outside (``budget`` 0) and whole loads, each grid holds at most what the fewest others leave, and at
    least what the most others cannot hold (:func:`within_all`): 812 households in 270–330 make three grids
    of 270–272. The programme then reaches less far from each root (on a ground of Beijing's, CP-SAT found
    such a layout in 2 s that it did not find in 30 s without).

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
    outside_hi, outside_lo
        Most and least load a grid outside the bounds may carry (the tight band's search keeps grids within
        the bounds).
    beyond, beyond_hi
        How many grids outside the bounds may lie beyond ``outside_lo``–``outside_hi`` (the grids outside
        the bounds, where the tight band's search keeps their number), and the most each may carry.
    far_excess
        How far those grids may lie beyond ``outside_lo``–``outside_hi`` in all (the tight band's search asks
        for a layout that takes the grids outside the bounds no further beyond them; a programme with it proves
        nothing of the layouts without it).
    misfits
        Units proven to fit no grid within the bounds (:func:`proven_misfits`).
    excess
        Then (among layouts with the fewest grids outside) the least total excess: how far the loads of the
        grids outside lie from the bounds. An optimum then proves both.
    grids
        Exactly this many grids (by default any number).
    work
        The limit of work (CP-SAT's deterministic time).
    max_variables
        The most places of a unit in a grid rooted at another the programme is built with; beyond it nothing
        is sought.
    relaxations
        How the programme is solved, each time within ``work``: with CP-SAT's linear relaxation (True) or without
        it (False, ``linearization_level`` 0), in turn while a solve settles nothing, keeping what a later solve
        settles (or the layout it finds where none was found before). The programmes that settle are those that
        settle one of those ways; which comes first decides the time and which of the layouts with the fewest
        grids outside is found. The neighbourhoods' searches about the bounds solve with it, then without: on a
        generated community of 3,500 buildings a ground of 53 units left undecided in 2.0 of work then had a layout
        with every grid within the bounds (found in 1.1), so that no grid outside them is left unproven there;
        solved without it first, the same grounds settle in 9.4 s instead of 13.6 s, but other layouts are found and
        Shanghai's chunky plan leaves 7 grids outside ±10% unproven instead of 5 (twenty-first session). The
        region's search (:func:`proven_layout`) solves without it, then with it: the district's five region
        searches settled as before, in 2.5 s instead of 7.5 s.

    Returns
    -------
    labels, proven
        Grid label per unit (None when none found), and the proof: with labels, that no layout has fewer
        grids outside than they have; without, that none has at most ``budget``. Past the programme's
        limits (``work``, ``PROGRAMME_SECONDS``, ``max_variables``) it proves
        nothing, and may return a layout that is not the best.
    """
    n = len(weight)
    neighbours = [sorted(row) for row in neighbours]  # the same model, so the same answer, in any order
    w = np.asarray(weight, dtype=float)
    whole = bool(np.allclose(w, np.rint(w)))
    scale = 1 if whole else 100
    units = np.rint(w * scale).astype(np.int64)
    cap = (beyond_hi if beyond else outside_hi) if budget > 0 else hi
    floor_, ceiling = int(math.ceil(lo * scale - 1e-9)), int(math.floor(hi * scale + 1e-9))
    if budget == 0 and whole:  # every grid within the bounds: each holds what the others, within them, leave
        window = within_all(int(units.sum()), floor_, ceiling, grids)
        if window is None:
            return None, whole  # no count of grids within the bounds holds the region's load
        floor_, ceiling = window
        cap = ceiling / scale
    top = int(math.floor(min(cap * scale, units.sum()) + 1e-9))
    rank = np.empty(n, dtype=np.int64)
    rank[list(misfits) + sorted(set(range(n)) - set(misfits))] = np.arange(n)
    indptr, indices = neighbour_arrays(neighbours)
    # units a grid rooted at j may hold: reached from j through units ranked after it, carrying at most cap
    ptr, held = reached_within(indptr, indices, w, np.arange(n), float(cap), np.zeros(n, np.int64), rank, True)
    reach = [held[ptr[j] : ptr[j + 1]].tolist() if w[j] <= cap + 1e-9 else [] for j in range(n)]
    if sum(map(len, reach)) > max_variables:
        return None, False
    model = cp_model.CpModel()
    member = [{i: model.new_bool_var("") for i in reach[j]} for j in range(n)]
    roots_of = [[j for j in range(n) if i in member[j]] for i in range(n)]
    if not all(roots_of):  # a unit no grid may hold
        return None, whole
    for i, roots in enumerate(roots_of):
        model.add_exactly_one(member[j][i] for j in roots)
    outside, beyond_excess, fars, far_overs = [], [], [], []
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
            usual = [root]  # a grid outside the band within outside_lo–outside_hi unless it lies beyond them
            if beyond:
                far = model.new_bool_var("")
                model.add_implication(far, out)
                model.add(load <= int(math.floor(outside_hi * scale + 1e-9))).only_enforce_if(~far)
                usual.append(~far)
                fars.append(far)
                if math.isfinite(far_excess):  # how far it lies above outside_hi or below outside_lo
                    over = model.new_int_var(0, top, "")
                    model.add(over >= load - int(math.floor(outside_hi * scale + 1e-9))).only_enforce_if(far)
                    model.add(over >= int(math.ceil(outside_lo * scale - 1e-9)) - load).only_enforce_if(far)
                    far_overs.append(over)
            if outside_lo > 0:
                model.add(load >= int(math.ceil(outside_lo * scale - 1e-9))).only_enforce_if(usual)
            outside.append(out)
            if excess:  # how far an outside grid lies below the floor or above the ceiling
                over = model.new_int_var(0, max(top, floor_), "")
                model.add(over >= load - ceiling).only_enforce_if(out)
                model.add(over >= floor_ - load).only_enforce_if(out)
                model.add(over == 0).only_enforce_if(~out)
                beyond_excess.append(over)
        else:
            model.add(load >= floor_ * root)
    if grids is not None:
        model.add(sum(member[j][j] for j in range(n) if member[j]) == grids)
    if budget > 0:
        model.add(sum(outside) <= budget)
        if fars:
            model.add(sum(fars) <= beyond)
        if far_overs:
            model.add(sum(far_overs) <= int(math.floor(far_excess * scale + 1e-9)))
        model.minimize(sum(outside) * (top + 1) * n + sum(beyond_excess) if excess else sum(outside))
    else:  # as many grids as the region's load allows (implied, but it guides the search)
        total = int(units.sum())
        model.add_linear_constraint(
            sum(member[j][j] for j in range(n) if member[j]), -(-total // ceiling), total // max(floor_, 1)
        )
    for i in range(n):  # every unit but a root has a parent: a neighbour in its grid, nearer the root
        parents = []
        for k in neighbours[i]:
            parent = model.new_bool_var("")
            for j in roots_of[i]:
                model.add_bool_or([~parent, ~member[j][i]] + ([member[j][k]] if k in member[j] else []))
            model.add(depth[k] < depth[i]).only_enforce_if(parent)
            parents.append(parent)
        model.add_exactly_one(parents + ([member[i][i]] if i in member[i] else []))
    status, solver = _solved(model, work, relaxations[0])
    for relaxed in relaxations[1:]:
        if status in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            break
        again, other = _solved(model, work, relaxed)
        if again in (cp_model.OPTIMAL, cp_model.INFEASIBLE) or status != cp_model.FEASIBLE:
            status, solver = again, other
    proves = whole and not math.isfinite(far_excess)  # a limit of excess narrows the layouts: no claim of all
    if status == cp_model.INFEASIBLE:
        return None, proves
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    labels = np.full(n, -1, dtype=np.int64)
    for j in range(n):
        for i, x in member[j].items():
            if solver.boolean_value(x):
                labels[i] = j
    labels = np.unique(labels, return_inverse=True)[1]
    loads = np.bincount(labels, weights=w)
    if (
        ((loads < lo - 1e-9) | (loads > hi + 1e-9)).sum() > budget
        or (loads > cap + 1e-9).any()
        or ((loads < outside_lo - 1e-9) | (loads > outside_hi + 1e-9)).sum() > beyond
        or window_excess((outside_lo, outside_hi), loads).sum() > far_excess + 1e-9
    ):
        return None, False  # rounded loads let through a layout the true ones do not
    return labels, proves and status == cp_model.OPTIMAL


def inhabited_everywhere(neighbours, weight: np.ndarray) -> bool:
    """Whether every connected part of a ground (``neighbours``: lists or CSR arrays) holds a unit of some
    ``weight``."""
    indptr, indices = neighbour_arrays(neighbours)
    none = np.zeros(len(indices))  # no costs or lengths: only the components are asked
    w = np.asarray(weight)
    return all((w[part] > 0).any() for part in Adjacency(indptr, indices, none, none).components())


def thinned_ground(
    neighbours: Sequence[Iterable[int]], weight: np.ndarray
) -> tuple[np.ndarray, list[list[int]], list[tuple[int, tuple[int, ...]]]] | None:
    """A ground without the empty units that only link their neighbours: any layout of the ground whose grids
    all hold households is, those units left out, a layout of the thinned ground with the same loads, and any
    layout of the thinned ground, those units put back, one of the ground. An empty unit touching at most three others is left
    out and its neighbours made to touch each other instead: a grid that went through it now goes from one
    neighbour to the next, and since at most one grid holds two of three units, the unit joins that one when
    put back (:func:`restored_labels`); a grid of that unit alone held nothing. Repeated while such units are
    left: grounds of chunky estates (Shanghai's extract, every building's households × 6 × U(0.5, 1.6)) of
    176, 197 and 247 units (20, 20 and 26 of them inhabited) kept 62, 110 and 149.

    Parameters
    ----------
    neighbours
        Per unit, the units it touches.
    weight
        Per unit, its load.

    Returns
    -------
    kept, rows, steps
        The units kept (ascending), their neighbour lists among them (positions in ``kept``), and the units
        left out in order, each with the units it touched then; None where some part of the ground holds
        nothing (its units could then make only empty grids).
    """
    w = np.asarray(weight, dtype=float)
    n = len(w)
    if not inhabited_everywhere(list(map(list, neighbours)), w):
        return None
    rows = [set(row) - {i} for i, row in enumerate(neighbours)]
    alive = np.ones(n, dtype=bool)
    steps: list[tuple[int, tuple[int, ...]]] = []
    queue = deque(i for i in range(n) if w[i] == 0 and len(rows[i]) <= 3)
    while queue:
        i = queue.popleft()
        if not alive[i] or len(rows[i]) > 3:
            continue
        around = tuple(sorted(rows[i]))
        alive[i] = False
        steps.append((i, around))
        for a in around:
            rows[a].discard(i)
            rows[a].update(b for b in around if b != a)
        queue.extend(a for a in around if w[a] == 0 and len(rows[a]) <= 3)
    kept = np.flatnonzero(alive)
    position = np.full(n, -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    return kept, [sorted(int(position[b]) for b in rows[i]) for i in kept], steps


def restored_labels(
    labels: np.ndarray, kept: np.ndarray, steps: Sequence[tuple[int, tuple[int, ...]]], n: int
) -> np.ndarray:
    """A layout of a thinned ground (:func:`thinned_ground`) on the whole ground of ``n`` units: each unit
    left out, the last first, joins the grid holding two of the units it touched (a grid that went through
    it), else that of the first."""
    out = np.full(n, -1, dtype=np.int64)
    out[kept] = labels
    for i, around in reversed(steps):
        grids = out[list(around)]
        values, counts = np.unique(grids, return_counts=True)
        out[i] = values[counts >= 2][0] if (counts >= 2).any() else grids[0]
    return out


def _solved(model: cp_model.CpModel, work: float, relaxed: bool = True) -> tuple[int, cp_model.CpSolver]:
    """CP-SAT's status on ``model`` within ``work`` (its deterministic time) on one worker, and the solver
    holding its solution; without ``relaxed``, without its linear relaxation (``linearization_level`` 0)."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # one worker and a limit of work: the same answer on every machine
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = work
    solver.parameters.max_time_in_seconds = PROGRAMME_SECONDS
    if not relaxed:
        solver.parameters.linearization_level = 0
    return solver.solve(model), solver


def misfits_apart(neighbours, weight: np.ndarray, misfits: Sequence[int], hi: float) -> int:
    """How many of ``misfits`` no two of which one connected group carrying at most ``hi`` can hold (a
    greedy pick, in order): a lower bound on the number of grids holding them."""
    w = np.asarray(weight, dtype=float)
    indptr, indices = neighbour_arrays(neighbours)
    none = np.zeros(len(w), dtype=np.int64)
    ptr, together = reached_within(
        indptr, indices, w, np.asarray(misfits, dtype=np.int64), float(hi), none, none, False
    )
    apart: list[int] = []
    for r, m in enumerate(misfits):
        held = set(together[ptr[r] : ptr[r + 1]].tolist())
        if not any(a in held for a in apart):
            apart.append(m)
    return len(apart)
