"""A region planned: the phases in order, for each grid count worth trying, and the best layout kept."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._bisection import bisect
from ._exact import exact_split
from ._excess import least_excess
from ._graph import RegionGraph, Sizing, labels_of
from ._neighbourhood import (
    NEIGHBOURHOOD_MAX_ATOMS,
    bounds_excess,
    neighbourhood_search,
    proof_still_holds,
    tight_neighbourhood_search,
)
from ._proofs import RegionProof, proven_layout, tight_layout
from ._radius import shorten_radii
from ._refine import refine, score
from ._resplit import resplit


def grid_count_options(total: float, sizing: Sizing) -> list[int]:
    """Grid counts worth trying for a region: ``round(H / target)``, one fewer when that still fits the
    tight band (chunky atoms need slack), one more when the first is above the bounds."""
    k0 = max(1, round(total / sizing.target))
    options = [k0]
    if k0 > 1 and total / (k0 - 1) <= sizing.tight_window.hi:
        options.append(k0 - 1)
    if total / k0 > sizing.bounds_window.hi:
        options.append(k0 + 1)
    return options


def plan_region(
    graph: RegionGraph, sizing: Sizing, count: int | None = None, answers: dict | None = None
) -> tuple[np.ndarray, list[RegionProof]]:
    """Grids of one connected region.

    For each grid count tried (or ``count``): bounded bisection, re-splits with neighbours, the exact
    re-split where grids are still outside the tight band, the service-radius re-split and refinement;
    the best layout by :func:`score`. Where grids are still outside the bounds, each is re-planned with the
    rings of grids around it (:func:`neighbourhood_search`) — first where the region is larger than such a
    neighbourhood, as the whole region's search then costs the most — and the whole region is searched for
    a layout with fewer (:func:`proven_layout`); then each grid still outside is re-planned with its
    neighbours for the least excess (:func:`least_excess`). Last, where grids are outside the tight band,
    the whole region is searched for a layout with fewer and no more outside the bounds (:func:`_tightened`).

    Parameters
    ----------
    graph
        The region.
    sizing
        What a grid should hold.
    count
        The number of grids, fixed by the user; by default chosen (and changed where the exact re-split
        finds a layout with fewer grids outside the band).
    answers
        The neighbourhoods' programme answers by ground (:func:`neighbourhood_search`), added to: a caller that
        searches the same region's neighbourhoods again passes the same dict (a regeneration's repair).

    Returns
    -------
    labels, proofs
        The grid of each atom (``0 … k-1``), and the proofs about its grids outside the bounds that hold
        for these labels: that no layout of the region has fewer outside (``atoms`` None), or else that none
        of the ground of some grids has (their ``atoms``), the grids around kept; and that no layout with no
        more grids outside the bounds has fewer outside the tight band (``tight``).
    """
    answers = {} if answers is None else answers
    labels, proofs = _bounded(graph, sizing, count, answers)
    if count is None and score(graph, labels, int(labels.max()) + 1, sizing)[1]:
        return _tightened(graph, labels, proofs, sizing, answers)
    return labels, proofs


def _bounded(
    graph: RegionGraph, sizing: Sizing, count: int | None, answers: dict
) -> tuple[np.ndarray, list[RegionProof]]:
    """:func:`plan_region` but for the tight band's search: its layout, and its proofs about the bounds
    (``answers`` shared by its two neighbourhood searches)."""
    options = [count] if count is not None else grid_count_options(graph.w.sum(), sizing)
    best, best_score = None, None
    for wanted in options:
        parts = bisect(graph, np.arange(graph.n), wanted, sizing)
        k = len(parts)  # fewer than wanted where no connected cut exists
        labels = resplit(graph, labels_of(parts, graph.n), k, sizing)
        if score(graph, labels, k, sizing)[1]:
            labels = np.unique(
                exact_split(graph, labels, k, sizing, fixed_count=count is not None), return_inverse=True
            )[1]
            k = int(labels.max()) + 1
        labels = refine(graph, shorten_radii(graph, labels, k, sizing), k, sizing)
        found = score(graph, labels, k, sizing)
        if best_score is None or found < best_score:
            best, best_score = labels, found
    if not best_score[0]:
        return best, []
    local: list[RegionProof] = []
    if graph.n > NEIGHBOURHOOD_MAX_ATOMS:  # the grids around each grid outside first: far cheaper than the region
        best, local = neighbourhood_search(graph, best, sizing, fixed_count=count is not None, answers=answers)
        best_score = score(graph, best, int(best.max()) + 1, sizing)
        if not best_score[0]:
            return best, []
    # grids outside the bounds: search the whole region for a layout with fewer, or prove there is none
    found, proof = proven_layout(graph, sizing, best)
    if found is not best:
        if count is not None and int(found.max()) + 1 != count:
            proof = None  # a layout of another count: the proof does not speak of the one kept
        else:
            polished = _polished(graph, found, sizing, fixed_count=count is not None)
            if proof is not None:  # the proof's layout is kept, polished while the proof still covers it
                best = polished if proof.covers(graph.grid_loads(polished), sizing.bounds_window) else found
            elif score(graph, polished, int(polished.max()) + 1, sizing) < best_score:
                best = polished
    best = least_excess(
        graph, best, sizing, cap=proof.cap if proof is not None else math.inf, fixed_count=count is not None
    )
    if proof is not None and proof.covers(graph.grid_loads(best), sizing.bounds_window):
        return best, [proof]
    # no proof for the region: the grids around each grid still outside (again where the layout moved since)
    return neighbourhood_search(graph, best, sizing, fixed_count=count is not None, proofs=local, answers=answers)


def _polished(graph: RegionGraph, labels: np.ndarray, sizing: Sizing, fixed_count: bool) -> np.ndarray:
    """A layout after the exact re-split, the service-radius re-split and refinement."""
    k = int(labels.max()) + 1
    labels = np.unique(exact_split(graph, labels, k, sizing, fixed_count=fixed_count), return_inverse=True)[1]
    k = int(labels.max()) + 1
    return refine(graph, shorten_radii(graph, labels, k, sizing), k, sizing)


def _tightened(
    graph: RegionGraph, labels: np.ndarray, proofs: list[RegionProof], sizing: Sizing, answers: dict
) -> tuple[np.ndarray, list[RegionProof]]:
    """A layout with some grids outside the tight band, replaced by one with fewer (and no more outside the
    bounds, and no further beyond them) where the region's search finds one that the ``proofs`` about the
    bounds still hold for (polished while they hold and it keeps as few outside); with the proof of the
    fewest where the search settles it and the layout kept has that many (``answers``, the neighbourhoods', shared
    with :func:`_bounded`)."""
    found, proof = tight_layout(graph, sizing, labels)
    excess = bounds_excess(graph, labels, sizing)
    if found is not None:
        polished = _polished(graph, found, sizing, fixed_count=False)
        better = score(graph, polished, int(polished.max()) + 1, sizing)[:2]
        for candidate in (
            (polished, found) if better <= score(graph, found, int(found.max()) + 1, sizing)[:2] else (found,)
        ):
            if bounds_excess(graph, candidate, sizing) <= excess + 1e-9 and all(
                proof_still_holds(graph, candidate, p, sizing) for p in proofs
            ):
                labels = candidate
                break
    if proof is not None and proof.covers(graph.grid_loads(labels), sizing.tight_window):
        return labels, [*proofs, proof]
    # no proof for the region: the grids around each grid still outside the band
    return tight_neighbourhood_search(graph, labels, sizing, bounds_proofs=proofs, answers=answers)


def tight_proofs(
    graph: RegionGraph,
    sizing: Sizing,
    labels: np.ndarray,
    max_units: int,
    bounds_proofs: Sequence[RegionProof] | None = None,
) -> tuple[np.ndarray, list[RegionProof]]:
    """The proofs about the tight band of the layout ``labels``: the region's (:func:`tight_layout`, its
    programme on at most ``max_units`` units) where it covers the layout, else those of the grounds around its
    grids outside the band (:func:`tight_neighbourhood_search`, on grounds of at most ``NEIGHBOURHOOD_MAX_ATOMS``
    units). Without ``bounds_proofs`` the layout stays as it is; with them (the proofs about the bounds that hold
    for ``labels``), a ground's layout with fewer grids outside the band is taken as a first plan takes it, the
    region's layout is not.

    Returns
    -------
    labels, proofs
        The layout (``labels`` itself without ``bounds_proofs``) and the proofs that hold for it: ``bounds_proofs``
        (renewed where a layout taken moved one), then those about the tight band.
    """
    kept = list(bounds_proofs or ())
    _, proof = tight_layout(graph, sizing, labels, max_units)
    if proof is not None and proof.covers(graph.grid_loads(labels), sizing.tight_window):
        return labels, [*kept, proof]
    if bounds_proofs is None:
        return labels, tight_neighbourhood_search(graph, labels, sizing, take=False)[1]
    return tight_neighbourhood_search(graph, labels, sizing, bounds_proofs=kept)
