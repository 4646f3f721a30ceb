"""A grid still outside the bounds re-planned with the grids around it, ring by ring (README step 6, after
the least-excess re-plan): a constraint programme over the grid and its neighbours, then their neighbours,
seeks a layout of that ground with fewer grids outside the bounds. One found is taken; where the programme
proves there is none, the proof is kept, with its scope: these grids' units, the grids around them as they
are. It says that re-drawing the grids nearby cannot help, not that no layout of the region can. A grid
outside the tight band is searched the same way, after the region's own search for the band
(:func:`tight_neighbourhood_search`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._graph import RegionGraph, Sizing, window_excess
from ._proofs import PROGRAMME_WORK, RegionProof, bounds_programme, proven_misfits, tighter_cover, within_all
from ._radius import over_radius, shorten_radii

#: Rings of neighbouring grids a grid outside the bounds is re-planned with, at most.
NEIGHBOURHOOD_RINGS = 3
#: Most atoms one re-plan takes: the programme over them stays within its limit of work (about 2–3 s at
#: 150–200 atoms on this project's machine, where it often decides nothing).
NEIGHBOURHOOD_MAX_ATOMS = 120
#: Work the tight band's programme may do on one neighbourhood (CP-SAT's deterministic time). On the generated
#: district (the widest ring proven kept, then) 0.03 left as many grids outside ±10% unproven as 0.1 (36), its
#: programmes taking 7 s instead of 13 s; 0.01 left 40.
NEIGHBOURHOOD_TIGHT_WORK = 0.03
#: Most inhabited atoms of a ground whose groups are enumerated for an exact cover where the programme decides
#: nothing or the ground is too large for it (:func:`~._proofs.tighter_cover`): it may find or prove there what
#: the programme could not.
NEIGHBOURHOOD_COVER_MAX_ATOMS = 80
#: Work the tight band's programme may do on a ground of at most ``NEIGHBOURHOOD_RETRY_MAX_ATOMS`` atoms where
#: neither its first run nor the cover decided anything. On the generated district 0.3 leaves 22 grids outside ±10%
#: unproven (31 without it), 0.2 leaves 26 and 1.0 no fewer than 0.3; on grounds of at most 40 atoms 23, its
#: programmes taking 5.4 s instead of 9.0 s (most of the larger grounds stay undecided).
NEIGHBOURHOOD_TIGHT_RETRY_WORK = 0.3
NEIGHBOURHOOD_RETRY_MAX_ATOMS = 40
#: Work the tight band's programme may do, past the others, on a ground of any size where every grid within the band
#: would hold a load within ``NEIGHBOURHOOD_NARROW_SLACK`` households of the others' (812 households in 270–330: three
#: grids of 270–272). The programme's reach from each root is then short: on such a Beijing ground of 68 units it
#: found a layout in 2 s that 0.3 did not (nor 30 without the narrow window); no ground of the generated district
#: is this narrow.
NEIGHBOURHOOD_NARROW_WORK = 3.0
NEIGHBOURHOOD_NARROW_SLACK = 10


def neighbourhood_search(
    graph: RegionGraph,
    labels: np.ndarray,
    sizing: Sizing,
    fixed_count: bool = False,
    proofs: Sequence[RegionProof] = (),
    answers: dict | None = None,
) -> tuple[np.ndarray, list[RegionProof]]:
    """Each grid outside the bounds that none of its units proves so, re-planned with ring after ring of
    the grids around it while they hold at most ``NEIGHBOURHOOD_MAX_ATOMS`` atoms.

    A layout found for one grid's ground may take atoms from the ground an earlier grid's proof speaks of,
    and that proof then no longer holds: the grids left without one are searched again, from the new layout,
    until a pass finds no layout (each layout taken has fewer grids outside, so the passes end).

    Parameters
    ----------
    graph, labels
        The region and the grid of each atom (``0 … k-1``).
    sizing
        The bounds and the misfit ceiling (the most a grid outside them may hold in the layouts sought).
    fixed_count
        Keep the number of grids of each ground re-planned (a count the user fixed). The searches then speak of
        layouts of that many grids only, so they prove nothing: no proof is returned.
    proofs
        Neighbourhood proofs already made for ``labels`` (an earlier search's): kept while they hold, and the
        grids they speak of not searched again.
    answers
        The programme's answers by ground, kept from an earlier search of the same region and added to: a
        question asked again of the same ground is not solved again (on a generated community of 3,500
        buildings a ground of 53 units, undecided in 4 s, was asked by both searches of its region).

    Returns
    -------
    labels, proofs
        The new labels (``0 … k'-1``), and the proofs that the ground of a grid still outside has no layout
        with fewer outside; each speaks of its ``atoms`` and holds for the labels returned.
    """
    return _search(graph, labels, sizing, fixed_count, proofs, lambda old, new: new, answers=answers)


def tight_neighbourhood_search(
    graph: RegionGraph,
    labels: np.ndarray,
    sizing: Sizing,
    bounds_proofs: Sequence[RegionProof] = (),
    proofs: Sequence[RegionProof] = (),
    take: bool = True,
    max_atoms: int = NEIGHBOURHOOD_MAX_ATOMS,
    answers: dict | None = None,
) -> tuple[np.ndarray, list[RegionProof]]:
    """:func:`neighbourhood_search` for the tight band: each grid outside it that none of its units proves so,
    re-planned with ring after ring of the grids around it (a programme, an exact cover, a second programme:
    :func:`_settle`) until a ring is proven, for a layout of that ground with fewer grids outside the band and
    none outside the bounds but as many as now there, each at most the misfit ceiling. One found is taken where
    the grids outside the bounds lie no further beyond them in all, no more grids are over the service radius
    (estimated on atoms; where it puts more over it, once each is re-split with a neighbour as a plan's radius
    step does, :func:`~._radius.shorten_radii`) and every proof of ``bounds_proofs`` still holds, or the grids
    outside the bounds on the ground of a neighbourhood's proof it moves are proven again on their new ground (on
    Nanjing's chunky variant the layouts turned away for moving one left 11 grids outside ±10% unproven, 5 now);
    where the ground is proven to have none, the proof is kept with its scope (these grids' units, the grids
    around them as they are).

    Parameters
    ----------
    graph, labels
        The region and the grid of each atom (``0 … k-1``).
    sizing
        The tight band, the bounds and the misfit ceiling.
    bounds_proofs
        The proofs about the bounds that hold for ``labels``: a layout that breaks one is taken only where they
        are proven again.
    proofs
        Proofs about the tight band already made for ``labels``: kept while they hold.
    take
        Whether a layout found is taken (a regeneration, which keeps grids, seeks the proofs alone).
    max_atoms
        The most atoms of a ground re-planned (a regeneration's ``REGENERATION_TIGHT_MAX_UNITS``); a larger
        ground of at most ``NEIGHBOURHOOD_COVER_MAX_ATOMS`` inhabited atoms may still be proven by an exact cover.
    answers
        The programme's answers by ground, as for :func:`neighbourhood_search` (the region's plan passes the dict
        its searches about the bounds filled: a layout taken here may move a proof about the bounds, whose grids
        are proven again on their new ground, often a ground those searches asked already).

    Returns
    -------
    labels, proofs
        The new labels (``0 … k'-1``) and the proofs that hold for them: those about the bounds
        (``bounds_proofs``, renewed where a layout taken moved one), then those about the tight band.
    """
    held, answers = list(bounds_proofs), {} if answers is None else answers

    def keeps(old: np.ndarray, new: np.ndarray) -> np.ndarray | None:
        if not take:
            return None
        radius_before = over_radius(graph, old, sizing)
        if over_radius(graph, new, sizing) > radius_before:
            # a grid more over the radius: each re-split with a neighbour where that shortens it, no grid leaving
            # its band (Beijing's chunky regeneration left two grids outside ±10% unproven for want of it)
            new = shorten_radii(graph, new, int(new.max()) + 1, sizing)
        further = bounds_excess(graph, new, sizing) > bounds_excess(graph, old, sizing) + 1e-9
        if further or over_radius(graph, new, sizing) > radius_before:
            return None
        renewed = _renewed(graph, new, held, sizing, answers)
        if renewed is None:
            return None
        held[:] = renewed
        return new

    labels, tight = _search(graph, labels, sizing, False, proofs, keeps, True, max_atoms, answers)
    return labels, [*held, *tight]


def _renewed(
    graph: RegionGraph, labels: np.ndarray, proofs: Sequence[RegionProof], sizing: Sizing, answers: dict
) -> list[RegionProof] | None:
    """The proofs about the bounds for ``labels``: ``proofs`` that still hold, and for each neighbourhood's
    that a layout moved, the grids outside the bounds now on its ground proven again on their new ground
    (:func:`neighbourhood_proof`); None where one is not (or a region's proof no longer holds)."""
    holds = [proof_still_holds(graph, labels, p, sizing) for p in proofs]
    kept = [p for p, held in zip(proofs, holds) if held]
    broken = [p for p, held in zip(proofs, holds) if not held]
    if not broken:
        return kept
    if any(p.atoms is None for p in broken):
        return None
    k = int(labels.max()) + 1
    outside = ~sizing.bounds_window.contains(graph.loads(labels, k))
    # the grids a proof that holds speaks of: every grid for a region's, the grids of its ground for a neighbourhood's
    covered = {int(g) for p in kept for g in (range(k) if p.atoms is None else labels[np.asarray(p.atoms)])}
    for g in np.unique(labels[np.concatenate([np.asarray(p.atoms) for p in broken])]).tolist():
        if not outside[g] or g in covered:
            continue
        proof = neighbourhood_proof(graph, labels, g, sizing, answers)
        if proof is None:
            return None
        kept.append(proof)
        covered.update(labels[np.asarray(proof.atoms)].tolist())
    return kept


def _search(
    graph: RegionGraph,
    labels: np.ndarray,
    sizing: Sizing,
    fixed_count: bool,
    proofs: Sequence[RegionProof],
    keeps,
    tight: bool = False,
    max_atoms: int = NEIGHBOURHOOD_MAX_ATOMS,
    answers: dict | None = None,
) -> tuple[np.ndarray, list[RegionProof]]:
    """The passes of :func:`neighbourhood_search` (of :func:`tight_neighbourhood_search` with ``tight``, its
    grounds of at most ``max_atoms``); a layout found is taken as ``keeps`` returns the labels it makes (from the
    labels before it; None turns it away). ``answers`` keeps the programme's answers by ground (a new dict by
    default)."""
    band = sizing.tight_window if tight else sizing.bounds_window
    labels = labels.copy()
    k = int(labels.max()) + 1
    loads = graph.loads(labels, k)
    misfit: dict[int, bool] = {}  # whether a unit fits no grid within the band (a unit proves its grid outside)
    proofs = [p for p in proofs if proof_holds(graph, labels, p, band)]
    answers = {} if answers is None else answers  # questions asked again
    changed = True
    while changed:
        changed = False
        # grids a proof already speaks of, or a unit proves outside: nothing to seek
        skip = {int(g) for p in proofs for g in labels[np.asarray(p.atoms)]}
        skip |= _settled(graph, labels, loads, band, misfit)
        for g in np.argsort(-np.abs(loads - (band.lo + band.hi) / 2), kind="stable"):
            if band.contains(loads[g]) or int(g) in skip or not (labels == g).any():
                continue
            found, nodes, group, proof = _around(
                graph, labels, loads, int(g), sizing, fixed_count, answers, tight, max_atoms
            )
            if found is not None:  # fewer grids outside: taken (the largest part keeps the first label)
                new = labels.copy()
                parts = np.bincount(found, weights=graph.w[nodes])
                for i, part in enumerate(np.argsort(-parts, kind="stable")):
                    new[nodes[found == part]] = group[i] if i < len(group) else k + i - len(group)
                new = keeps(labels, new)
                if new is None:
                    continue
                # grids merged away keep their label, empty: the loop's order still names them
                labels = new
                k = max(k, int(labels.max()) + 1)
                loads = graph.loads(labels, k)
                changed = True
            elif proof is not None:
                proofs.append(proof)
        proofs = [p for p in proofs if proof_holds(graph, labels, p, band)]
    compact = np.unique(labels, return_inverse=True)[1]
    return compact, proofs


def _settled(graph: RegionGraph, labels: np.ndarray, loads: np.ndarray, bounds, misfit: dict[int, bool]) -> set[int]:
    """The grids outside the window ``bounds`` that one of their units proves so (:func:`proven_misfits`, each
    unit asked once: ``misfit`` keeps the answers)."""
    candidates = np.flatnonzero(~bounds.contains(loads)[labels] & (graph.w > 0))
    new = [int(a) for a in candidates if int(a) not in misfit]
    if new:
        everywhere, one = np.ones(graph.n, dtype=bool), np.zeros(graph.n, dtype=np.int64)
        misfit.update(zip(new, proven_misfits(graph.adjacency, graph.w, everywhere, one, new, bounds.lo, bounds.hi)))
    return {int(labels[a]) for a in candidates if misfit[int(a)]}


def neighbourhood_proof(
    graph: RegionGraph, labels: np.ndarray, grid: int, sizing: Sizing, answers: dict | None = None
) -> RegionProof | None:
    """The proof that the ground of ``grid`` (outside the bounds) with ring after ring of the grids around it has
    no layout with fewer grids outside, for the layout ``labels`` as it is (as :func:`neighbourhood_search` seeks
    it, without taking a layout it finds); None where a layout with fewer is found or nothing is decided.
    ``answers`` as for :func:`neighbourhood_search`."""
    loads = graph.loads(labels, int(labels.max()) + 1)
    found, _, _, proof = _around(graph, labels, loads, grid, sizing, False, {} if answers is None else answers)
    return proof if found is None else None


def _around(
    graph: RegionGraph,
    labels: np.ndarray,
    loads: np.ndarray,
    g: int,
    sizing: Sizing,
    fixed_count: bool,
    answers: dict,
    tight: bool = False,
    max_atoms: int = NEIGHBOURHOOD_MAX_ATOMS,
) -> tuple[np.ndarray | None, np.ndarray, list[int], RegionProof | None]:
    """Grid ``g`` re-planned with ring after ring of the grids around it: the first layout of such ground with
    fewer grids outside the bounds (its labels over ``nodes``, the ground's atoms, and ``group``, its grids), or
    else the proof of the widest ground where the programme settles that none has and whose scope covers the
    grids outside it now (None where it settles nothing). The layouts sought hold each grid outside the bounds
    at most the misfit ceiling, so a grid around ``g`` beyond it stays as it is, out of the rings. Where the
    programme decides nothing, an exact cover of the ground's inhabited units, each cover asked for a layout,
    may (:func:`_settle`). ``answers`` keeps the programme's answers by ground.

    With ``tight``, the same of the tight band (:func:`tight_neighbourhood_search`): layouts with fewer grids
    outside it and none outside the bounds but as many as now on that ground; the first ring proven is the proof
    (the narrowest ground)."""
    band, bounds, ceiling = (
        (sizing.tight_window if tight else sizing.bounds_window),
        sizing.bounds_window,
        sizing.misfit_ceiling,
    )
    group, nodes, proof = [g], np.flatnonzero(labels == g), None
    if tight and loads[g] > ceiling + 1e-9:
        return None, nodes, group, None  # no layout of its ground is one the tight band's search speaks of
    for _ in range(NEIGHBOURHOOD_RINGS):
        grown = sorted(set(group) | set(graph.grid_neighbours(labels, group)))
        # a grid beyond the ceiling around it stays as it is, around the ground: no layout in a proof's scope holds
        # it (Shanghai's chunky regeneration left a grid of 363 households unproven beside one of 421)
        grown = [h for h in grown if h == g or loads[h] <= ceiling + 1e-9]
        wider = np.flatnonzero(np.isin(labels, grown))
        coverable = tight and (graph.w[wider] > 0).sum() <= NEIGHBOURHOOD_COVER_MAX_ATOMS
        if len(grown) == len(group) or (len(wider) > max_atoms and not coverable):
            break
        group, nodes = grown, wider
        out = int((~band.contains(loads[group])).sum())
        far = int((~bounds.contains(loads[group])).sum()) if tight else 0
        solve = len(nodes) <= max_atoms
        # how far the grids outside the bounds lie beyond them (the tight band's search takes no layout with more)
        excess = float(window_excess(bounds, loads[group]).sum()) if far else 0.0
        key = (nodes.tobytes(), out, far, excess, len(group) if fixed_count else 0, tight, solve)  # the same question
        if key not in answers:
            grids = len(group) if fixed_count else None
            answers[key] = _settle(graph, nodes, sizing, band, (out, far, excess), grids, tight, solve)
        found, proven, method = answers[key]
        if found is not None and (~band.contains(np.bincount(found, weights=graph.w[nodes]))).sum() < out:
            return found, nodes, group, None  # fewer outside (so the search's passes end)
        if not proven or fixed_count:  # a proof over layouts of this many grids only: no claim of all layouts
            break
        searched = f"{len(group)} grids, {len(nodes)} units"
        if out == 1:  # no layout of this ground has every grid within the band, whatever its grids hold
            candidate = RegionProof(1, np.inf, method, searched, tuple(nodes.tolist()), tight=tight)
        elif tight:
            scope = {"beyond": far, "beyond_cap": ceiling} if far else {}
            candidate = RegionProof(
                out, bounds.hi, method, searched, tuple(nodes.tolist()), floor=bounds.lo, tight=True, **scope
            )
        else:
            candidate = RegionProof(out, ceiling, method, searched, tuple(nodes.tolist()))
        if not candidate.covers(loads[group], band):  # a grid outside beyond its scope: the narrower proof holds
            break
        proof = candidate
        if tight:  # the narrowest ground proven: on the generated district 31 grids are left unproven instead of 36
            break  # (a wider proof's ground is moved more often by a layout taken later), and checked in 76 s, not 100
    return None, nodes, group, proof


def _settle(
    graph: RegionGraph,
    nodes: np.ndarray,
    sizing: Sizing,
    band,
    outside: tuple[int, int, float],
    grids: int | None,
    tight: bool,
    solve: bool,
) -> tuple[np.ndarray | None, bool, str]:
    """The answer for the ground ``nodes`` of :func:`_around` (a layout with fewer than ``out`` grids outside
    ``band``, or the proof that none has), and how it was settled; ``outside`` holds the grids outside the band on
    the ground now, those of them outside the bounds (the tight band's search) and how far beyond the bounds
    those lie in all. The programme of the bounds runs within ``PROGRAMME_WORK``, that of the tight band within
    ``NEIGHBOURHOOD_TIGHT_WORK``; where it decides nothing (or is not run: ``solve`` False, a ground too large
    for it), an exact cover of the ground's groups (:func:`~._proofs.tighter_cover`, on at most
    ``NEIGHBOURHOOD_COVER_MAX_ATOMS`` inhabited atoms, empty ones only joining them), each cover asked for a
    layout that places the empty units, may find a layout or prove there is none; for the tight band, else the
    programme runs again within ``NEIGHBOURHOOD_TIGHT_RETRY_WORK`` (on at most ``NEIGHBOURHOOD_RETRY_MAX_ATOMS``
    atoms), or within ``NEIGHBOURHOOD_NARROW_WORK`` where every grid within the band would hold within
    ``NEIGHBOURHOOD_NARROW_SLACK`` households of the others' (:func:`_narrow`). A layout it finds that takes the
    grids outside the bounds further beyond them in all (which the search does not take) is sought again with no
    more excess than now, within ``NEIGHBOURHOOD_TIGHT_RETRY_WORK``: Shanghai's chunky regeneration turned 8 such
    layouts away, Nanjing's chunky plan 6; taking the nearer ones left grids outside ±10% unproven 8 → 4 and 5 → 3."""
    bounds, ceiling = sizing.bounds_window, sizing.misfit_ceiling
    out, far, excess = outside

    def programme(work: float, far_excess: float = math.inf) -> tuple[np.ndarray | None, bool, str]:
        return *bounds_programme(
            graph.adjacency.among(nodes).neighbour_lists(),
            graph.w[nodes],
            band.lo,
            band.hi,
            budget=out - 1,
            outside_hi=bounds.hi if tight else ceiling,
            outside_lo=bounds.lo if tight else 0.0,
            beyond=far,
            beyond_hi=ceiling,
            far_excess=far_excess,
            grids=grids,
            work=work,
            relaxations=(True,) if tight else (True, False),
        ), "cp_sat"

    inhabited = int((graph.w[nodes] > 0).sum())
    if not tight:
        answer = programme(PROGRAMME_WORK)
        if answer[0] is not None or answer[1] or grids is not None or inhabited > NEIGHBOURHOOD_COVER_MAX_ATOMS:
            return answer
        # undecided: the covers by groups of at most the ceiling with fewer outside the bounds, each asked for a
        # layout (Shanghai's chunky regeneration left a grid of 363 households unproven on a ground of 12 inhabited
        # units among 71, whose programme decided nothing in 4 s)
        found, proven = tighter_cover(graph, sizing, inhabited + 1, out - 1, nodes)
        return (found, proven, "enumeration") if found is not None or proven else answer

    def no_further(answer: tuple[np.ndarray | None, bool, str]) -> tuple[np.ndarray | None, bool, str]:
        found = answer[0]
        if found is None or window_excess(bounds, np.bincount(found, weights=graph.w[nodes])).sum() <= excess + 1e-9:
            return answer
        nearer = programme(NEIGHBOURHOOD_TIGHT_RETRY_WORK, excess)[0]  # a layout no further beyond, if any
        return (nearer, False, answer[2]) if nearer is not None else answer

    if solve:
        found, proven, method = no_further(programme(NEIGHBOURHOOD_TIGHT_WORK))
        if found is not None or proven:
            return found, proven, method
    if inhabited <= NEIGHBOURHOOD_COVER_MAX_ATOMS:
        found, proven = tighter_cover(graph, sizing, out, far, nodes)
        if proven:
            return None, True, "enumeration"
        if found is not None:
            return no_further((found, False, "enumeration"))
    if solve and len(nodes) <= NEIGHBOURHOOD_RETRY_MAX_ATOMS:
        return no_further(programme(NEIGHBOURHOOD_TIGHT_RETRY_WORK))
    if solve and out == 1 and not far and _narrow(graph.w[nodes], band, grids):
        return programme(NEIGHBOURHOOD_NARROW_WORK)
    return None, False, "cp_sat"


def _narrow(weight: np.ndarray, band, grids: int | None) -> bool:
    """Whether every layout of a ground (its units' ``weight``, whole numbers) with every grid within ``band``
    holds each grid within ``NEIGHBOURHOOD_NARROW_SLACK`` households (:func:`~._proofs.within_all`)."""
    if not np.allclose(weight, np.rint(weight)):
        return False
    window = within_all(int(np.rint(weight).sum()), int(np.ceil(band.lo)), int(np.floor(band.hi)), grids)
    return window is not None and window[1] - window[0] <= NEIGHBOURHOOD_NARROW_SLACK


def proof_holds(graph: RegionGraph, labels: np.ndarray, proof: RegionProof, bounds) -> bool:
    """Whether ``proof`` still speaks of whole grids of ``labels`` that it covers (later re-plans may have
    moved its ground)."""
    atoms = np.asarray(proof.atoms)
    grids = np.unique(labels[atoms])
    if np.isin(labels, grids).sum() != len(atoms):
        return False
    loads = np.array([graph.w[labels == g].sum() for g in grids])
    return proof.covers(loads, bounds)


def bounds_excess(graph: RegionGraph, labels: np.ndarray, sizing: Sizing) -> float:
    """How far the grids outside the bounds lie beyond them, in all."""
    return float(window_excess(sizing.bounds_window, graph.grid_loads(labels)).sum())


def proof_still_holds(graph: RegionGraph, labels: np.ndarray, proof: RegionProof, sizing: Sizing) -> bool:
    """Whether a proof holds for ``labels``: a region's covers them, a neighbourhood's still speaks of whole
    grids it covers (in its band: the tight band's or the bounds)."""
    band = sizing.tight_window if proof.tight else sizing.bounds_window
    if proof.atoms is None:
        return proof.covers(graph.grid_loads(labels), band)
    return proof_holds(graph, labels, proof, band)
