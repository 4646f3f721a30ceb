"""The partition engine: one connected region of atoms planned into grids, phase by phase.

Each phase is a module of functions over a :class:`RegionGraph` (the region's atoms as arrays and their
adjacency, :mod:`._graph`), sized by a :class:`Sizing` (what a grid should hold):

- :mod:`._bisection` — bounded recursive bisection along sweep and street-aware orderings (step 4);
- :mod:`._resplit` — a grid outside a window re-split with one or two neighbours (step 5);
- :mod:`._exact` — the exact re-split: connected groups enumerated, an exact cover chosen (step 5);
- :mod:`._proofs` — units that fit no grid, and the search of a whole region for a layout within the
  bounds, by enumeration or a constraint programme (steps 5 and 6);
- :mod:`._excess`, :mod:`._neighbourhood` — a grid still outside the bounds re-planned for the least
  excess, then with ring after ring of the grids around it; the same rings for a grid outside the tight band
  (step 6);
- :mod:`._radius` — the service-radius re-split (step 7);
- :mod:`._refine` — refinement by single-atom moves, and the score layouts are compared by (step 8);
- :mod:`._region` — the phases in order for one region;
- :mod:`._kernels` — the compiled inner loops (numba) of bisection and the radius re-split, each giving
  the floats of the numpy expression it replaced.

:mod:`gridplan.partition` plans communities with it; :mod:`gridplan.engine.regenerate` repairs a previous plan with
its phases; :mod:`gridplan.engine.levels` cuts grids into micro-grids and groups them into areas with it.
"""

from ._bisection import bisect, cut_profiles
from ._exact import ENUMERATION_VISITS, exact_cover, exact_split, fitting_groups
from ._excess import least_excess
from ._graph import Adjacency, RegionGraph, Sizing, join_orphans, labels_of, neighbour_arrays, shared_by_label
from ._kernels import pairwise_sum
from ._neighbourhood import bounds_excess, neighbourhood_proof, neighbourhood_search, tight_neighbourhood_search
from ._proofs import (
    PROOF_MAX_GROUPS,
    REGENERATION_TIGHT_MAX_UNITS,
    RegionProof,
    bounds_layout,
    bounds_programme,
    cover_layout,
    enumerated_layout,
    no_tighter_cover,
    proven_layout,
    proven_misfits,
    restored_labels,
    thinned_ground,
    through_empty,
    tight_layout,
    tighter_cover,
)
from ._radius import over_radius, radii, shorten_radii
from ._refine import refine, score
from ._region import grid_count_options, plan_region, tight_proofs
from ._resplit import resplit

__all__ = [
    "ENUMERATION_VISITS",
    "PROOF_MAX_GROUPS",
    "REGENERATION_TIGHT_MAX_UNITS",
    "Adjacency",
    "RegionGraph",
    "RegionProof",
    "Sizing",
    "bisect",
    "bounds_excess",
    "bounds_layout",
    "bounds_programme",
    "cover_layout",
    "cut_profiles",
    "enumerated_layout",
    "exact_cover",
    "exact_split",
    "fitting_groups",
    "grid_count_options",
    "join_orphans",
    "labels_of",
    "least_excess",
    "neighbour_arrays",
    "neighbourhood_proof",
    "neighbourhood_search",
    "no_tighter_cover",
    "over_radius",
    "pairwise_sum",
    "plan_region",
    "proven_layout",
    "proven_misfits",
    "radii",
    "refine",
    "resplit",
    "restored_labels",
    "score",
    "shared_by_label",
    "shorten_radii",
    "thinned_ground",
    "through_empty",
    "tight_layout",
    "tighter_cover",
    "tight_neighbourhood_search",
    "tight_proofs",
]
