"""A grid still outside the bounds re-planned with the grids around it, ring by ring (README step 6, after
the least-excess re-plan): a constraint programme over the grid and its neighbours, then their neighbours,
seeks a layout of that ground with fewer grids outside the bounds. One found is taken; where the programme
proves there is none, the proof is kept, with its scope: these grids' units, the grids around them as they
are. It says that re-drawing the grids nearby cannot help, not that no layout of the region can.
"""

from __future__ import annotations

import numpy as np

from ._graph import RegionGraph, Sizing
from ._proofs import RegionProof, bounds_programme, proven_misfits

#: Rings of neighbouring grids a grid outside the bounds is re-planned with, at most.
NEIGHBOURHOOD_RINGS = 3
#: Most atoms one re-plan takes: the programme over them stays within its limit of work (about 2–3 s at
#: 150–200 atoms on this project's machine, where it often decides nothing).
NEIGHBOURHOOD_MAX_ATOMS = 120


def neighbourhood_search(
    graph: RegionGraph, labels: np.ndarray, sizing: Sizing, fixed_count: bool = False
) -> tuple[np.ndarray, list[RegionProof]]:
    """Each grid outside the bounds that none of its units proves so, re-planned with ring after ring of
    the grids around it while they hold at most ``NEIGHBOURHOOD_MAX_ATOMS`` atoms.

    Parameters
    ----------
    graph, labels
        The region and the grid of each atom (``0 … k-1``).
    sizing
        The bounds and the misfit ceiling (the most a grid outside them may hold in the layouts sought).
    fixed_count
        Keep the number of grids of each ground re-planned (a count the user fixed). The searches then speak of
        layouts of that many grids only, so they prove nothing: no proof is returned.

    Returns
    -------
    labels, proofs
        The new labels (``0 … k'-1``), and the proofs that the ground of a grid still outside has no layout
        with fewer outside; each speaks of its ``atoms`` and still holds for the labels returned.
    """
    bounds = sizing.bounds_window
    labels = labels.copy()
    k = int(labels.max()) + 1
    loads = graph.loads(labels, k)
    candidates = np.flatnonzero(~bounds.contains(loads)[labels] & (graph.w > 0))
    misfit = candidates[
        proven_misfits(
            graph.adjacency,
            graph.w,
            np.ones(graph.n, dtype=bool),
            np.zeros(graph.n, dtype=np.int64),
            candidates,
            bounds.lo,
            bounds.hi,
        )
    ]
    settled = set(labels[misfit].tolist())  # a unit proves these outside: nothing to seek
    proofs: list[RegionProof] = []
    for g in np.argsort(-np.abs(loads - (bounds.lo + bounds.hi) / 2), kind="stable"):
        if bounds.contains(loads[g]) or int(g) in settled or not (labels == g).any():
            continue
        group, proof = [int(g)], None
        for _ in range(NEIGHBOURHOOD_RINGS):
            grown = sorted(set(group) | set(graph.grid_neighbours(labels, group)))
            nodes = np.flatnonzero(np.isin(labels, grown))
            if len(grown) == len(group) or len(nodes) > NEIGHBOURHOOD_MAX_ATOMS:
                break
            group = grown
            out = int((~bounds.contains(loads[group])).sum())
            found, proven = bounds_programme(
                graph.adjacency.among(nodes).neighbour_lists(),
                graph.w[nodes],
                bounds.lo,
                bounds.hi,
                budget=out - 1,
                outside_hi=sizing.misfit_ceiling,
                grids=len(group) if fixed_count else None,
            )
            if found is not None:  # fewer grids outside: taken (the largest part keeps the first label)
                parts = np.bincount(found, weights=graph.w[nodes])
                for i, part in enumerate(np.argsort(-parts, kind="stable")):
                    labels[nodes[found == part]] = group[i] if i < len(group) else k + i - len(group)
                # grids merged away keep their label, empty: the loop's order still names them
                k = max(k, int(labels.max()) + 1)
                loads = graph.loads(labels, k)
                proof = None
                break
            if not proven or fixed_count:  # a proof over layouts of this many grids only: no claim of all layouts
                break
            cap = sizing.misfit_ceiling if out > 1 else np.inf
            proof = RegionProof(
                out, float(cap), "cp_sat", f"{len(group)} grids, {len(nodes)} units", tuple(nodes.tolist())
            )
        if proof is not None:
            proofs.append(proof)
    compact = np.unique(labels, return_inverse=True)[1]
    return compact, [p for p in proofs if proof_holds(graph, compact, p, bounds)]


def proof_holds(graph: RegionGraph, labels: np.ndarray, proof: RegionProof, bounds) -> bool:
    """Whether ``proof`` still speaks of whole grids of ``labels`` that it covers (later re-plans may have
    moved its ground)."""
    atoms = np.asarray(proof.atoms)
    grids = np.unique(labels[atoms])
    if np.isin(labels, grids).sum() != len(atoms):
        return False
    loads = np.array([graph.w[labels == g].sum() for g in grids])
    return proof.covers(loads, bounds)
