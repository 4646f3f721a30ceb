"""Quality of a grid layout, measured the same way for gridplan's plans and for any baseline.

Balance (households against the bounds), street alignment (街巷定界), compactness and service radius,
and the hard rules (tiling, one polygon per grid, no building split, no grid across a community).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.settings import GridSettings
from gridplan.vocabulary import GridKind

from .geometry import points_along, positions_along, weighted_centres
from .memo import Recent, digest, geometry_bytes

#: A grid boundary within this distance (m) of a street centreline runs along the street.
ALIGNMENT_DISTANCE_M = 15.0
#: Spacing (m) of the sample points along grid boundaries used to measure alignment.
ALIGNMENT_STEP_M = 5.0
#: Points of the boundary made and measured at a time by :func:`street_alignment`.
ALIGNMENT_CHUNK = 20_000
#: A building with more than this share of its footprint in another grid counts as split.
SPLIT_SHARE = 0.05
#: A piece of a grid cut off by a barrier counts (as land on another side) above this share of its area.
CROSSING_MIN_SHARE = 0.02
#: A boundary point this close (m) to an edge lies on it; farther inside a block, it cuts the block.
EDGE_SNAP_M = 1.0
#: Communities' tiling areas and alignment counts kept for the same grids (:mod:`gridplan.core.memo`): a
#: regeneration or a re-plan measures again only the communities whose grids changed (a district's 80 take 3 s).
COMMUNITY_FIGURES_KEPT = 5_000
_COMMUNITY_FIGURES: Recent = Recent(COMMUNITY_FIGURES_KEPT)


@dataclass(frozen=True)
class PlanMetrics:
    """Figures of a layout. Balance figures are over ordinary grids (special and oversize grids excluded).

    ``within_tight_feasible`` leaves out the ``tight_infeasible_grids``: grids proven unable to come within
    the tight band in any layout (``tight_possible`` False: they hold a unit, a building or a compound that
    stays whole, that no connected group of units within the band can hold; without that column, a unit
    alone above the band's top). ``within_bounds_feasible`` and ``bounds_infeasible_grids`` are the same
    for the bounds. Distances in metres, areas as a share of the community area.
    """

    grids: int
    ordinary_grids: int
    households_total: int
    households_estimated_share: float
    households_min: float
    households_max: float
    households_mean: float
    households_cv: float
    within_tight: float
    within_tight_feasible: float
    tight_infeasible_grids: int
    within_bounds: float
    within_bounds_feasible: float
    bounds_infeasible_grids: int
    worst_deviation: float
    street_alignment: float
    boundary_alignment: float
    polsby_popper_mean: float
    service_radius_mean: float
    service_radius_p95: float
    service_radius_max: float
    grids_over_radius: int
    household_distance_mean: float
    gap_share: float
    overlap_share: float
    outside_share: float
    noncontiguous_grids: int
    split_buildings: int
    barrier_crossing_grids: int

    def as_dict(self) -> dict:
        return asdict(self)


def grid_geometry_metrics(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per grid: ``polsby_popper`` (4πA/P², 1 for a disc) and ``parts`` (1 for a contiguous grid)."""
    geoms = grids.geometry.to_numpy()
    perimeter = shapely.length(geoms)
    area = shapely.area(geoms)
    pp = np.where(perimeter > 0, 4 * np.pi * area / np.maximum(perimeter, 1e-12) ** 2, 0.0)
    return pd.DataFrame({"polsby_popper": pp, "parts": shapely.get_num_geometries(geoms)}, index=grids.index)


def service_radius(
    grids: gpd.GeoDataFrame, assignment: pd.DataFrame, buildings: gpd.GeoDataFrame
) -> tuple[pd.Series, np.ndarray]:
    """Service radius of each grid (farthest building from its household-weighted centre, 服务半径) and
    each building's distance to its grid's centre."""
    grid_pos = pd.Series(np.arange(len(grids)), index=grids["grid_id"].to_numpy())
    g = grid_pos.reindex(assignment["grid_id"].to_numpy()).to_numpy()
    xy = shapely.get_coordinates(shapely.centroid(buildings.geometry.to_numpy()))
    w = np.maximum(buildings["households"].to_numpy(dtype=float), 1e-6)
    n = len(grids)
    cx, cy, _ = weighted_centres(g, xy[:, 0], xy[:, 1], w, n)
    distance = np.hypot(xy[:, 0] - cx[g], xy[:, 1] - cy[g])
    radius = pd.Series(distance).groupby(g).max().reindex(range(n), fill_value=0.0)
    return pd.Series(radius.to_numpy(), index=grids.index, name="service_radius_m"), distance


def grid_figures(grids: gpd.GeoDataFrame, assignment: pd.DataFrame, buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per grid, aligned to ``grids``: ``service_radius_m`` (see :func:`service_radius`) and ``polsby_popper``
    (both in the metric CRS of the layers)."""
    radius, _ = service_radius(grids, assignment, buildings)
    return pd.DataFrame(
        {"service_radius_m": radius.round(1), "polsby_popper": grid_geometry_metrics(grids)["polsby_popper"].round(4)},
        index=grids.index,
    )


def with_grid_figures(
    grids: gpd.GeoDataFrame, assignment: pd.DataFrame, buildings: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """``grids`` with :func:`grid_figures` as columns (replaced where present), geometry last."""
    figures = grid_figures(grids, assignment, buildings)
    out = grids.drop(columns=[c for c in figures.columns if c in grids.columns]).join(figures)
    return out[[c for c in out.columns if c != out.geometry.name] + [out.geometry.name]]


def plan_metrics(
    grids: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None,
    settings: GridSettings,
) -> PlanMetrics:
    """Measure a layout.

    Parameters
    ----------
    grids
        ``grid_id``, ``community_id``, ``households``, optional ``kind``; polygons in a metric CRS (not
        changed: :func:`with_grid_figures` adds the per-grid figures).
    assignment
        ``building_id`` → ``grid_id``, aligned to ``buildings``.
    buildings, communities, streets, barriers
        The scene layers in the same metric CRS (buildings with ``households``).
    settings
        The target and the bounds.
    """
    shape = grid_geometry_metrics(grids)
    radius, distance = service_radius(grids, assignment, buildings)

    kind = grids["kind"] if "kind" in grids else pd.Series("ordinary", index=grids.index)
    ordinary = (kind == GridKind.ORDINARY).to_numpy()
    hh = grids["households"].to_numpy(dtype=float)[ordinary]
    t = settings.target
    dev = np.abs(hh - t) / t if len(hh) else np.zeros(0)
    unit = grids["largest_unit"].to_numpy(dtype=float)[ordinary] if "largest_unit" in grids else np.zeros(len(hh))
    infeasible = (
        ~grids["tight_possible"].to_numpy(bool)[ordinary]
        if "tight_possible" in grids
        else unit > settings.tight_window.hi
    )
    out_of_reach = (
        ~grids["bounds_possible"].to_numpy(bool)[ordinary] if "bounds_possible" in grids else unit > settings.ceiling
    )
    tight = settings.tight_window.contains(hh)
    bounded = settings.bounds_window.contains(hh)
    weights = buildings["households"].to_numpy(dtype=float)
    estimated = (
        buildings["households_estimated"].to_numpy(dtype=bool)
        if "households_estimated" in buildings
        else np.zeros(len(buildings), bool)
    )
    gap, overlap, outside = _tiling(grids, communities)
    on_street, on_boundary = street_alignment(grids, communities, streets, barriers)

    return PlanMetrics(
        grids=len(grids),
        ordinary_grids=int(ordinary.sum()),
        households_total=int(weights.sum()),
        households_estimated_share=float(weights[estimated].sum() / max(weights.sum(), 1)),
        households_min=float(hh.min()) if len(hh) else 0.0,
        households_max=float(hh.max()) if len(hh) else 0.0,
        households_mean=float(hh.mean()) if len(hh) else 0.0,
        households_cv=float(hh.std() / hh.mean()) if len(hh) and hh.mean() > 0 else 0.0,
        within_tight=float(np.mean(tight)) if len(hh) else 1.0,
        within_tight_feasible=float(np.mean(tight[~infeasible])) if (~infeasible).any() else 1.0,
        tight_infeasible_grids=int(infeasible.sum()),
        within_bounds=float(np.mean(bounded)) if len(hh) else 1.0,
        within_bounds_feasible=float(np.mean(bounded[~out_of_reach])) if (~out_of_reach).any() else 1.0,
        bounds_infeasible_grids=int(out_of_reach.sum()),
        worst_deviation=float(dev.max()) if len(hh) else 0.0,
        street_alignment=on_street,
        boundary_alignment=on_boundary,
        polsby_popper_mean=float(shape["polsby_popper"][ordinary].mean()) if ordinary.any() else 0.0,
        service_radius_mean=float(radius[ordinary].mean()) if ordinary.any() else 0.0,
        service_radius_p95=float(np.percentile(radius[ordinary], 95)) if ordinary.any() else 0.0,
        service_radius_max=float(radius[ordinary].max()) if ordinary.any() else 0.0,
        grids_over_radius=int((radius[ordinary] > settings.max_service_radius_m).sum()),
        household_distance_mean=float(np.average(distance, weights=weights)) if weights.sum() > 0 else 0.0,
        gap_share=gap,
        overlap_share=overlap,
        outside_share=outside,
        noncontiguous_grids=int((shape["parts"] > 1).sum()),
        split_buildings=split_buildings(grids, assignment, buildings),
        barrier_crossing_grids=barrier_crossings(grids, barriers),
    )


def internal_boundaries(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame):
    """Grid boundaries inside communities (the lines planners draw), without community boundaries; with the
    grids' ``community_id``, community by community (no grid crosses one), which keeps each overlay small: one
    union of a district's 1,600 grid boundaries took about 80 MB more."""
    grid_geoms = grids.geometry.to_numpy()
    if "community_id" not in grids:
        return _inside(grid_geoms, communities.geometry.to_numpy())
    community_of = grids["community_id"].astype(str).to_numpy()
    pieces = [
        _inside(grid_geoms[community_of == community_id], np.array([geometry]))
        for community_id, geometry in zip(communities["community_id"].astype(str), communities.geometry)
    ]
    lines = shapely.get_parts(np.array(pieces, dtype=object)) if pieces else np.empty(0, dtype=object)
    return shapely.MultiLineString(list(lines[(shapely.get_type_id(lines) == 1) & ~shapely.is_empty(lines)]))


def _inside(grid_geoms: np.ndarray, community_geoms: np.ndarray):
    """The grids' boundaries farther than half a metre from the communities' boundaries."""
    lines = shapely.union_all(shapely.boundary(grid_geoms))
    outer = shapely.union_all(shapely.boundary(community_geoms))
    return shapely.difference(lines, shapely.buffer(outer, 0.5))


def street_alignment(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None = None,
) -> tuple[float, float]:
    """Shares of internal grid boundary length within ``ALIGNMENT_DISTANCE_M`` of a street centreline
    (街巷定界), and of a street, river or rail line (``barriers``: the other boundaries the rule allows).

    The boundary is sampled every ``ALIGNMENT_STEP_M``, community by community (a community's counts are kept
    for the same grids, community and lines near it: :data:`_COMMUNITY_FIGURES`), ``ALIGNMENT_CHUNK`` points at a
    time (a district's 800 km of boundary are 160,000 points: made at once, they and their neighbours near the
    streets took about 100 MB)."""
    street_geoms = streets.geometry.to_numpy()
    barrier_geoms = barriers.geometry.to_numpy() if barriers is not None else np.empty(0, dtype=object)
    trees = shapely.STRtree(street_geoms), shapely.STRtree(barrier_geoms)
    counts = np.zeros(3, dtype=np.int64)  # points, near a street, near a street or a barrier
    for grid_geoms, community_geoms in _by_community(grids, communities):
        near = [
            geoms[tree.query(_reach_box(community_geoms))] for geoms, tree in zip((street_geoms, barrier_geoms), trees)
        ]
        key = digest(b"alignment", *(geometry_bytes(g) for g in (community_geoms, grid_geoms, *near)))
        counts += _COMMUNITY_FIGURES.made(key, lambda: _alignment_counts(grid_geoms, community_geoms, trees))
    if not counts[0]:  # no internal boundary
        return 1.0, 1.0
    return int(counts[1]) / int(counts[0]), int(counts[2]) / int(counts[0])


def measured_communities() -> dict:
    """The communities' figures this process has measured and keeps (tiling areas, alignment counts), by the
    digest of what each was measured on: what a worker hands back with its plan (:func:`keep_measured`)."""
    return dict(_COMMUNITY_FIGURES.items())


def keep_measured(figures: dict) -> None:
    """Keep communities' figures measured elsewhere (:func:`measured_communities` of a worker): measuring the same
    grids and community here takes them instead of measuring them again."""
    for key, value in figures.items():
        _COMMUNITY_FIGURES.put(key, value)


def _by_community(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame):
    """Each community's grid polygons and its own polygon (as a one-element array); all grids and communities as
    one where the grids name no ``community_id``."""
    grid_geoms = grids.geometry.to_numpy()
    if "community_id" not in grids:
        yield grid_geoms, communities.geometry.to_numpy()
        return
    community_of = grids["community_id"].astype(str).to_numpy()
    for community_id, geometry in zip(communities["community_id"].astype(str), communities.geometry):
        yield grid_geoms[community_of == community_id], np.array([geometry], dtype=object)


def _reach_box(community_geoms: np.ndarray):
    """The box within ``ALIGNMENT_DISTANCE_M`` (and a metre) of the communities: the lines their grids' boundary
    points can be near."""
    x0, y0, x1, y1 = shapely.total_bounds(community_geoms)
    margin = ALIGNMENT_DISTANCE_M + 1.0
    return shapely.box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)


def _alignment_counts(
    grid_geoms: np.ndarray, community_geoms: np.ndarray, trees: tuple[shapely.STRtree, shapely.STRtree]
) -> np.ndarray:
    """Points along the grids' internal boundary, those near a street and those near a street or a barrier."""
    lines = shapely.get_parts(_inside(grid_geoms, community_geoms))
    lines = lines[(shapely.get_type_id(lines) == 1) & ~shapely.is_empty(lines)]
    counts = np.zeros(3, dtype=np.int64)
    if not len(lines) or shapely.length(lines).sum() <= 0:
        return counts
    parts, owner, distance = positions_along(shapely.MultiLineString(list(lines)), ALIGNMENT_STEP_M)
    for start in range(0, len(owner), ALIGNMENT_CHUNK):
        points = shapely.line_interpolate_point(
            parts[owner[start : start + ALIGNMENT_CHUNK]], distance[start : start + ALIGNMENT_CHUNK]
        )
        street, barrier = (_near(points, tree) for tree in trees)
        counts += (len(points), int(street.sum()), int((street | barrier).sum()))
    return counts


def boundary_breakdown(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None,
    blocks: gpd.GeoDataFrame,
    ceiling: float,
) -> pd.Series:
    """Where the internal grid boundary runs: shares of its length, the first that applies (街巷定界).

    ``streets``: within ``ALIGNMENT_DISTANCE_M`` of a street centreline (:func:`street_alignment`). Off
    the streets: ``barriers``, along a river, rail line or wall, which grids may not cross; ``special_edges``,
    along the edge of a grid that is not ``ordinary`` (``kind``: special sites, 专属网格, and units above the
    ceiling); ``blocks_over_ceiling``, inside a street block holding more households than ``ceiling``, which
    any layout within the bounds must cut; ``blocks_within``, inside any other block, a cut made for balance;
    ``other``, the rest (block edges away from streets). ``length_km`` is the boundary's length.

    Parameters
    ----------
    grids
        The layout, with ``kind``.
    communities, streets, barriers
        As for :func:`street_alignment`.
    blocks
        Street blocks with ``households`` (:func:`gridplan.engine.units.street_blocks`).
    ceiling
        Most households a grid may hold.

    Returns
    -------
    pandas.Series
    """
    inner, points, on_street, on_barrier = _boundary_samples(grids, communities, streets, barriers)
    edges = shapely.boundary(grids.geometry.to_numpy()[(grids["kind"] != "ordinary").to_numpy()])
    on_edge = np.zeros(len(points), dtype=bool)
    if len(edges):
        on_edge[shapely.STRtree(edges).query(points, predicate="dwithin", distance=EDGE_SNAP_M)[0]] = True
    block_geoms = blocks.geometry.to_numpy()
    p, b = shapely.STRtree(block_geoms).query(points, predicate="within")
    deep = shapely.distance(points[p], shapely.boundary(block_geoms[b])) > EDGE_SNAP_M
    in_block = np.full(len(points), -1, dtype=np.int64)
    in_block[p[deep]] = b[deep]
    inside = in_block >= 0
    over = np.zeros(len(points), dtype=bool)
    over[inside] = blocks["households"].to_numpy()[in_block[inside]] > ceiling
    off, rest = ~on_street, ~on_street & ~on_barrier & ~on_edge
    shares = {
        "streets": on_street,
        "barriers": off & on_barrier,
        "special_edges": off & ~on_barrier & on_edge,
        "blocks_over_ceiling": rest & over,
        "blocks_within": rest & inside & ~over,
        "other": rest & ~inside,
    }
    out = pd.Series({name: float(mask.mean()) if len(points) else 0.0 for name, mask in shares.items()})
    out["length_km"] = inner.length / 1000
    return out


def _boundary_samples(grids, communities, streets, barriers):
    """The internal boundary, points every ``ALIGNMENT_STEP_M`` along it (none where it has no length),
    and which of them lie near a street and near a barrier."""
    inner = internal_boundaries(grids, communities)
    points = points_along(inner, ALIGNMENT_STEP_M) if inner.length > 0 else np.empty(0, dtype=object)
    on_street = _near(points, shapely.STRtree(streets.geometry.to_numpy()))
    on_barrier = (
        _near(points, shapely.STRtree(barriers.geometry.to_numpy()))
        if barriers is not None
        else np.zeros(len(points), dtype=bool)
    )
    return inner, points, on_street, on_barrier


def _near(points: np.ndarray, lines: shapely.STRtree) -> np.ndarray:
    """Which ``points`` lie within ``ALIGNMENT_DISTANCE_M`` of one of the lines of the tree ``lines``."""
    near = np.zeros(len(points), dtype=bool)
    if len(lines):
        near[lines.query(points, predicate="dwithin", distance=ALIGNMENT_DISTANCE_M)[0]] = True
    return near


def _tiling(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> tuple[float, float, float]:
    """Gap, overlap and outside area as shares of the communities' area (a community's areas are kept for the same
    grids and community: :data:`_COMMUNITY_FIGURES`)."""
    total = communities.geometry.area.sum()
    gap = overlap = outside = 0.0
    for mine, community_geoms in _by_community(grids, communities):
        key = digest(b"tiling", geometry_bytes(community_geoms), geometry_bytes(mine))
        areas = _COMMUNITY_FIGURES.made(key, lambda: _tiling_areas(mine, shapely.union_all(community_geoms)))
        gap, outside, overlap = gap + areas[0], outside + areas[1], overlap + areas[2]
    return float(max(gap, 0.0) / total), float(max(overlap, 0.0) / total), float(max(outside, 0.0) / total)


def _tiling_areas(mine: np.ndarray, community) -> tuple[float, float, float]:
    """The area of ``community`` no grid covers, of the grids outside it, and covered twice."""
    union = shapely.union_all(mine)
    covered = shapely.intersection(union, community).area
    return community.area - covered, union.area - covered, shapely.area(mine).sum() - union.area


def split_buildings(grids: gpd.GeoDataFrame, assignment: pd.DataFrame, buildings: gpd.GeoDataFrame) -> int:
    """Buildings with more than ``SPLIT_SHARE`` of their footprint inside another grid than their own."""
    geoms = buildings.geometry.to_numpy()
    grid_geoms = grids.geometry.to_numpy()
    b, g = shapely.STRtree(grid_geoms).query(geoms, predicate="intersects")
    own = grids["grid_id"].to_numpy()[g] == assignment["grid_id"].to_numpy()[b]
    b, g = b[~own], g[~own]
    if len(b) == 0:
        return 0
    share = shapely.area(shapely.intersection(geoms[b], grid_geoms[g])) / np.maximum(shapely.area(geoms[b]), 1e-9)
    return int(len(np.unique(b[share > SPLIT_SHARE])))


def barrier_crossings(grids: gpd.GeoDataFrame, barriers: gpd.GeoDataFrame | None) -> int:
    """Grids whose land lies on both sides of a barrier: the grid minus rivers, rail and walls falls apart
    into pieces of more than ``CROSSING_MIN_SHARE`` of its area each. Water inside one bank's grid is no crossing."""
    if barriers is None or barriers.empty:
        return 0
    geoms = barriers.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    cut = shapely.union_all(np.concatenate([geoms[polygonal], shapely.buffer(geoms[~polygonal], 1.0)]))
    grid_geoms = grids.geometry.to_numpy()
    hit = np.unique(shapely.STRtree(grid_geoms).query(cut, predicate="intersects"))
    crossing = 0
    for g in hit:
        land = shapely.get_parts(shapely.difference(grid_geoms[g], cut))
        crossing += int((shapely.area(land) > CROSSING_MIN_SHARE * grid_geoms[g].area).sum() > 1)
    return crossing
