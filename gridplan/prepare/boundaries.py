"""Community boundaries as civil affairs deliver them (社区边界), repaired so that communities tile their area
and no boundary cuts a building.

Real boundary files come with gaps and overlaps of a metre or two between neighbours (drawn apart or over each
other), slivers, and boundaries that run through buildings. Left as they are, a building in a gap belongs to no
community, a strip two communities share would put its buildings in two, and a building cut by a boundary is
split between two grids. The repairs, each reported with its area:

1. :func:`close_gaps_and_overlaps`: a gap between neighbouring communities narrower than the snap distance is
   given to the neighbour it shares most boundary with; an overlap narrower than it is kept by one of the two
   (the first by id); a part of a community smaller than the sliver area goes to the neighbour it touches most.
   Wider overlaps are left for validation to report as errors (they are real disagreements).
2. :func:`fit_to_buildings`: a building that a boundary cuts is given whole to the community holding most of it,
   and the boundary moves around it; :func:`merge_slivers` then merges the slivers that moving it cut off.

All geometry is in a metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from gridplan.core.geometry import shared_length

#: Geometries within this distance (m) touch: pieces cut from one another meet within rounding.
TOUCH_M = 1e-6
#: Areas below this (m²) are floating-point dust, not territory.
DUST_M2 = 1e-6


@dataclass(frozen=True)
class BoundaryRepair:
    """One change to a community's polygon.

    Attributes
    ----------
    kind
        ``gap_closed``, ``overlap_resolved``, ``sliver_merged``, ``sliver_dropped`` or ``fitted_to_building``.
    community
        Position of the community that received the area (that lost it, for ``sliver_dropped``).
    other
        Positions of the communities it came from or lay between.
    area_m2
        The area moved.
    buildings
        Positions of the buildings the repair concerns (those inside a closed gap, or the building fitted).
    """

    kind: str
    community: int
    other: tuple[int, ...]
    area_m2: float
    buildings: tuple[int, ...] = ()


def close_gaps_and_overlaps(
    geoms: np.ndarray, order: np.ndarray, snap_m: float, sliver_m2: float, footprints: np.ndarray
) -> tuple[np.ndarray, list[BoundaryRepair]]:
    """Communities with the narrow gaps and overlaps between them closed, and slivers merged.

    Parameters
    ----------
    geoms
        Community polygons (metric).
    order
        Rank of each community (e.g. of its id): an overlap is kept by the lower rank.
    snap_m
        Gaps and overlaps narrower than this are repaired.
    sliver_m2
        Parts of a community smaller than this, holding no building, are slivers.
    footprints
        Building footprints: a gap's buildings are named in its repair; a part holding one is no sliver.

    Returns
    -------
    geoms, repairs
        The repaired polygons (the input is not changed) and what was done.
    """
    geoms = np.array(geoms, dtype=object)
    repairs: list[BoundaryRepair] = []
    if snap_m <= 0 or len(geoms) == 0:
        return geoms, repairs
    tree = shapely.STRtree(footprints) if len(footprints) else None

    # overlaps narrower than the snap distance: the lower rank keeps them
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    for i, j in zip(a[a < b].tolist(), b[a < b].tolist()):
        shared = shapely.intersection(geoms[i], geoms[j])
        area = shapely.area(shared)
        if area <= DUST_M2 or not _narrow(shared, snap_m):
            continue
        keep, lose = (i, j) if order[i] <= order[j] else (j, i)
        geoms[lose] = _polygonal(shapely.difference(geoms[lose], shared))
        repairs.append(BoundaryRepair("overlap_resolved", keep, (lose,), float(area)))

    # gaps between two or more communities narrower than the snap distance: each side takes the half nearer it
    union = shapely.union_all(geoms)
    closed = shapely.buffer(shapely.buffer(union, snap_m / 2, join_style="mitre"), -snap_m / 2, join_style="mitre")
    gaps = shapely.get_parts(shapely.difference(closed, union))
    gaps = gaps[shapely.area(gaps) > DUST_M2]
    near = shapely.STRtree(geoms)
    for gap in gaps:
        touching = near.query(gap, predicate="dwithin", distance=TOUCH_M)
        if len(touching) < 2:
            continue  # a notch in one community's outline, not a gap between communities
        rest = gap
        for i in sorted(touching.tolist(), key=lambda i: order[i]):
            take = _polygonal(
                shapely.intersection(rest, shapely.buffer(geoms[i], snap_m / 2 + TOUCH_M, join_style="mitre"))
            )
            if shapely.area(take) <= DUST_M2:
                continue
            rest = _polygonal(shapely.difference(rest, take))
            geoms[i] = _polygonal(shapely.union(geoms[i], take))
            repairs.append(
                BoundaryRepair(
                    "gap_closed",
                    i,
                    tuple(int(t) for t in touching if t != i),
                    float(take.area),
                    _mostly_inside(tree, footprints, take),
                )
            )
        if shapely.area(rest) > DUST_M2:  # beyond half the snap distance from every side (a wide junction)
            shared = shared_length(rest, geoms[touching], tolerance=TOUCH_M)
            host = int(touching[np.lexsort((order[touching], -shared))[0]])
            geoms[host] = _polygonal(shapely.union(geoms[host], rest))
            repairs.append(
                BoundaryRepair(
                    "gap_closed",
                    host,
                    tuple(int(t) for t in touching if t != host),
                    float(rest.area),
                    _mostly_inside(tree, footprints, rest),
                )
            )

    geoms, merged = merge_slivers(geoms, sliver_m2, footprints)
    return geoms, repairs + merged


def merge_slivers(
    geoms: np.ndarray, sliver_m2: float, footprints: np.ndarray
) -> tuple[np.ndarray, list[BoundaryRepair]]:
    """Communities without slivers: a part of a community smaller than ``sliver_m2`` and holding no building goes
    to the neighbour it shares most boundary with (dropped where it touches none).

    Run after every repair that can leave one: a boundary moved round a building can cut off a strip of its
    community that touches the rest only at a point, and no grid of that community could then be one polygon.

    Returns
    -------
    geoms, repairs
        The repaired polygons (the input is not changed) and a ``sliver_merged`` or ``sliver_dropped`` repair
        per sliver.
    """
    geoms = np.array(geoms, dtype=object)
    repairs: list[BoundaryRepair] = []
    if len(geoms) == 0:
        return geoms, repairs
    tree = shapely.STRtree(footprints) if len(footprints) else None
    near = shapely.STRtree(geoms)
    for i in range(len(geoms)):
        parts = shapely.get_parts(geoms[i])
        if len(parts) < 2:
            continue
        small = (shapely.area(parts) < sliver_m2) & (shapely.area(parts) < shapely.area(parts).max())
        for part in parts[small]:
            if _holds_building(tree, footprints, part):
                continue
            others = np.setdiff1d(near.query(part, predicate="dwithin", distance=TOUCH_M), [i])
            geoms[i] = _polygonal(shapely.difference(geoms[i], part))
            if len(others):
                shared = shared_length(part, geoms[others], tolerance=TOUCH_M)
                host = int(others[np.argmax(shared)])
                geoms[host] = _polygonal(shapely.union(geoms[host], part))
                repairs.append(BoundaryRepair("sliver_merged", host, (i,), float(part.area)))
            else:
                repairs.append(BoundaryRepair("sliver_dropped", i, (), float(part.area)))
    return geoms, repairs


def fit_to_buildings(
    geoms: np.ndarray, footprints: np.ndarray, assigned: np.ndarray
) -> tuple[np.ndarray, list[BoundaryRepair]]:
    """Communities whose boundaries go round their buildings: a building is given whole to its community.

    Parameters
    ----------
    geoms
        Community polygons (metric).
    footprints
        Building footprints (metric).
    assigned
        Position of each building's community (``-1``: in none, left as it is).

    Returns
    -------
    geoms, repairs
        The repaired polygons (the input is not changed) and one ``fitted_to_building`` repair per building
        that a boundary cut.
    """
    geoms = np.array(geoms, dtype=object)
    repairs: list[BoundaryRepair] = []
    placed = np.flatnonzero(assigned >= 0)
    if not len(placed):
        return geoms, repairs
    outside = shapely.area(shapely.difference(footprints[placed], geoms[assigned[placed]]))
    cut = placed[outside > DUST_M2]
    if not len(cut):
        return geoms, repairs
    b, c = shapely.STRtree(geoms).query(footprints[cut], predicate="intersects")
    for k, building in enumerate(cut.tolist()):
        footprint, home = footprints[building], int(assigned[building])
        others = [int(x) for x in c[b == k] if x != home]
        moved = float(shapely.area(shapely.difference(footprint, geoms[home])))
        for other in others:
            geoms[other] = _polygonal(shapely.difference(geoms[other], footprint))
        geoms[home] = _polygonal(shapely.union(geoms[home], footprint))
        repairs.append(BoundaryRepair("fitted_to_building", home, tuple(others), moved, (building,)))
    return geoms, repairs


def _holds_building(tree, footprints: np.ndarray, area) -> bool:
    """Whether some building's footprint lies partly inside ``area`` (one that only touches it does not)."""
    if tree is None:
        return False
    hit = tree.query(area, predicate="intersects")
    return bool((shapely.area(shapely.intersection(footprints[hit], area)) > DUST_M2).any())


def _mostly_inside(tree, footprints: np.ndarray, area) -> tuple[int, ...]:
    """Buildings at least half of whose footprint lies in ``area``: those it brings into a community."""
    if tree is None:
        return ()
    hit = tree.query(area, predicate="intersects")
    share = shapely.area(shapely.intersection(footprints[hit], area)) / np.maximum(
        shapely.area(footprints[hit]), DUST_M2
    )
    return tuple(int(b) for b in hit[share >= 0.5])


def _narrow(geometry, width_m: float) -> bool:
    """Whether no part of ``geometry`` is as wide as ``width_m``."""
    return bool(shapely.is_empty(shapely.buffer(geometry, -width_m / 2)))


def _polygonal(geometry):
    """The polygonal part of an overlay's result (points and lines where polygons touch are dropped)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = shapely.get_parts(geometry)
    return shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
