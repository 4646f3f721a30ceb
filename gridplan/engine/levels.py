"""Levels above and below the household grid.

- **Areas** (一级网格): contiguous groups of grids, a settable number per street office (街道), as
  Nanjing Xianlin's 7 first-level areas over 136 grids.
- **Micro-grids** (微网格, 楼栋 groups): inside each grid, contiguous groups of buildings of 10–30
  households, for party groups and member–household links. A building holding more than the maximum is
  a micro-grid of its own (listed in ``oversize``); a micro-grid outside 10–30 that no layout could bring
  within them (its buildings' neighbours cannot make up a group of 10–30) has ``bounds_possible`` False.

Both levels nest exactly: every micro-grid lies in one grid and the micro-grids tile it; every grid is
in one area and the areas are unions of whole grids. Both are cut by the partition engine's bisection,
on the graph of grids or of building cells.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.core.geometry import GRID_PRECISION_M, heal, shared_boundaries, shared_length
from gridplan.core.results import Levels, Plan
from gridplan.core.scene import PreparedScene, Scene
from gridplan.engine import (
    Adjacency,
    RegionGraph,
    Sizing,
    bisect,
    bounds_layout,
    exact_split,
    labels_of,
    proven_misfits,
    resplit,
    shared_by_label,
)
from gridplan.prepare.validate import as_prepared
from gridplan.settings import LevelSettings

from .units import tessellate

#: Cells of one grid come from one tessellation, so neighbours share their edges to within this (m);
#: pieces farther apart would make a micro-grid of two polygons.
CONTACT_M = 1e-3
#: How far a first-level area may stray from its street office's average (its bounds; its tight band is
#: half as wide): areas count grids, which are coarse.
AREA_TOLERANCE = 0.5


def plan_levels(plan: Plan, scene: Scene | PreparedScene, *, areas_per_street: int | None = None) -> Levels:
    """Areas above and micro-grids below the grids of a plan, sized by the plan's ``settings.levels``.

    Parameters
    ----------
    plan
        A plan (its grids and assignment).
    scene
        The scene planned, prepared, or plain (validated first; buildings' footprints; communities' 12-digit codes name the
        street office).
    areas_per_street
        First-level areas per street office; by default one per ``grids_per_area`` grids.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import plan_levels, plan_scene
    >>> levels = plan_levels(plan_scene(prepared).plan, prepared)
    >>> len(levels.areas) >= 1
    True
    """
    settings = plan.settings.levels
    local = as_prepared(scene, plan.settings).local
    grids = plan.grids.to_crs(local.crs)
    areas, grid_area = _areas(grids, local.communities, areas_per_street, settings)
    micro, oversize = _micro_grids(grids, plan.assignment, local.buildings, settings)
    return Levels(
        areas=areas.to_crs(plan.grids.crs),
        grid_area=grid_area,
        micro_grids=micro.to_crs(plan.grids.crs),
        oversize=oversize,
    )


def _cut(geoms: np.ndarray, weights: np.ndarray, nodes: np.ndarray, k: int, sizing: Sizing) -> list[np.ndarray]:
    """Cut the polygons ``nodes`` into ``k`` contiguous groups of about ``sizing.target`` weight each,
    within its bounds where they can be."""
    left, right, _, length = shared_boundaries(geoms[nodes])
    adjacency = Adjacency.from_edges(len(nodes), left, right, length, length)
    centres = shapely.get_coordinates(shapely.point_on_surface(geoms[nodes]))
    frame = pd.DataFrame({"x": centres[:, 0], "y": centres[:, 1]})
    weight = weights[nodes].astype(float)
    parts: list[np.ndarray] = []
    components = adjacency.components()
    total = weight.sum()
    inhabited = [c for c in components if weight[c].sum() > 0]
    empty = [c for c in components if weight[c].sum() == 0] if inhabited else components[1:]
    for component in (c for c in components if not any(c is e for e in empty)):
        share = weight[component].sum() / total if total > 0 else len(component) / len(nodes)
        count = max(1, round(k * share)) if len(components) > 1 else k
        region = RegionGraph.of(adjacency, component, weight, frame)
        cut = bisect(region, np.arange(len(component)), min(count, len(component)), sizing)
        # groups outside the bounds are re-cut with their neighbours, then re-planned exactly
        labels = resplit(region, labels_of(cut, len(component)), len(cut), sizing, windows=(sizing.bounds_window,))
        labels = exact_split(region, labels, len(cut), sizing, worst=2)
        parts += [component[labels == g] for g in np.unique(labels)]
    # slivers without households join the part they touch most (a part on its own would hold nobody)
    unions = np.array([shapely.union_all(geoms[nodes][p]) for p in parts] if empty else [], dtype=object)
    for component in empty:
        sliver = shapely.union_all(geoms[nodes][component])
        host = int(np.argmax(shared_length(sliver, unions, tolerance=0.05)))
        parts[host] = np.concatenate([parts[host], component])
        unions[host] = shapely.union(unions[host], sliver)
    return [nodes[p] for p in parts]


def _areas(grids: gpd.GeoDataFrame, communities, areas_per_street, settings: LevelSettings):
    street = _street_office(grids, communities)
    geoms = grids.geometry.to_numpy()
    households = grids["households"].to_numpy(dtype=float)
    area_of = np.full(len(grids), -1, dtype=np.int64)
    rows = []
    for office in sorted(street.unique()):
        nodes = np.flatnonzero(street.to_numpy() == office)
        k = areas_per_street or max(1, round(len(nodes) / settings.grids_per_area))
        sizing = Sizing(households[nodes].sum() / k, AREA_TOLERANCE, AREA_TOLERANCE / 2)
        for n, part in enumerate(_cut(geoms, households, nodes, min(k, len(nodes)), sizing), 1):
            area_of[part] = len(rows)
            serial = f"A{n:02d}"
            # an id is a code, in no language: the office's code where it is known, else the serial alone
            rows.append(
                {
                    "area_id": f"{office}-{serial}" if office else serial,
                    "street": office or None,
                    "grids": len(part),
                    "households": int(households[part].sum()),
                    "geometry": shapely.union_all(geoms[part]),
                }
            )
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs=grids.crs)
    grid_area = pd.Series(areas["area_id"].to_numpy()[area_of], index=grids["grid_id"].to_numpy(), name="area_id")
    return areas, grid_area


def _street_office(grids: gpd.GeoDataFrame, communities) -> pd.Series:
    """Street office (街道) of each grid: the first 9 digits of its community's code, else "" (one office,
    unnamed)."""
    codes = dict(zip(communities["community_id"], communities["code"])) if "code" in communities else {}
    office = grids["community_id"].map(
        lambda c: str(codes.get(c))[:9] if codes.get(c) is not None and str(codes.get(c)).isdigit() else ""
    )
    return office


def _micro_grids(
    grids: gpd.GeoDataFrame, assignment: pd.DataFrame, buildings: gpd.GeoDataFrame, settings: LevelSettings
):
    footprints = buildings.set_index("building_id").geometry
    households = assignment.set_index("building_id")["households"]
    rows, oversize = [], []
    sizing = Sizing.within(settings.micro_window)
    for grid_id, polygon in zip(grids["grid_id"], grids.geometry):
        ids = assignment.loc[assignment["grid_id"] == grid_id, "building_id"].to_numpy()
        if len(ids) == 0:
            rows.append(
                {
                    "micro_grid_id": f"{grid_id}-M01",
                    "grid_id": grid_id,
                    "households": 0,
                    "buildings": 0,
                    "bounds_possible": settings.micro_min <= 0,
                    "geometry": polygon,
                }
            )
            continue
        fps = footprints.loc[ids].to_numpy()
        points = shapely.point_on_surface(fps)
        cells, cell_of = tessellate(polygon, fps, points) if len(ids) > 1 else ([polygon], np.zeros(1, dtype=np.int64))
        cells = np.array(cells, dtype=object)
        weight = np.bincount(cell_of, weights=households.loc[ids].to_numpy(dtype=float), minlength=len(cells))
        count = np.bincount(cell_of, minlength=len(cells))
        big = np.flatnonzero(weight > settings.micro_max)
        oversize += list(ids[np.isin(cell_of, big)])
        rest = np.setdiff1d(np.arange(len(cells)), big)
        k = max(1, round(weight[rest].sum() / sizing.target)) if len(rest) else 0
        groups = [np.array([b]) for b in big] + (
            _cut(cells, weight, rest, min(k, len(rest)), sizing) if len(rest) else []
        )
        contacts = contact_graph(cells)
        groups = connected_groups(cells, weight, groups, contacts)
        groups, settled = settle(cells, contacts, weight, groups, rest, settings)
        possible = bounds_possible(contacts, weight, groups, settled, settings)
        for n, (group, fits) in enumerate(zip(groups, possible), start=1):
            rows.append(
                {
                    "micro_grid_id": f"{grid_id}-M{n:02d}",
                    "grid_id": grid_id,
                    "households": int(weight[group].sum()),
                    "buildings": int(count[group].sum()),
                    "bounds_possible": fits,
                    "geometry": heal(shapely.set_precision(shapely.union_all(cells[group]), GRID_PRECISION_M)),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=grids.crs), oversize


def contact_graph(cells: np.ndarray) -> Adjacency:
    """Cells that touch along at least 1 cm (within ``CONTACT_M``), so that their union is one polygon,
    with the length they share (as the cost of cutting there too)."""
    left, right, _, length = shared_boundaries(cells, tolerance=CONTACT_M, min_length=10 * CONTACT_M)
    return Adjacency.from_edges(len(cells), left, right, length, length)


def settle(
    cells: np.ndarray,
    contacts: Adjacency,
    weight: np.ndarray,
    groups: list[np.ndarray],
    rest: np.ndarray,
    settings: LevelSettings,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Each piece of the grid (cells below the maximum, connected by contact) holding a group outside the
    bounds is re-planned as a whole (:func:`gridplan.engine.bounds_layout`): a layout with fewer groups
    outside them replaces its groups; where the search proves that no layout has fewer, the proof is kept.
    Returns the groups and the cells of the pieces so proven."""
    window = settings.micro_window
    sizing = Sizing.within(window)
    group_of = np.full(len(weight), -1, dtype=np.int64)
    for g, group in enumerate(groups):
        group_of[group] = g
    inside = np.array([window.contains(weight[group].sum()) for group in groups])
    centres = shapely.get_coordinates(shapely.point_on_surface(cells))
    centres = pd.DataFrame({"x": centres[:, 0], "y": centres[:, 1]})
    proven: list[np.ndarray] = []
    for piece in (rest[c] for c in contacts.among(rest).components()):
        outside = int((~inside[np.unique(group_of[piece])]).sum())
        if not outside:
            continue
        layout, none = bounds_layout(RegionGraph.of(contacts, piece, weight, centres), sizing, outside)
        if none:
            proven.append(piece)
        if layout is not None:
            group_of[piece] = len(groups) + layout
    settled = [np.flatnonzero(group_of == g) for g in np.unique(group_of)]
    return settled, np.concatenate(proven) if proven else np.zeros(0, dtype=np.int64)


def bounds_possible(
    contacts: Adjacency, weight: np.ndarray, groups: list[np.ndarray], settled: np.ndarray, settings: LevelSettings
) -> list[bool]:
    """Per group: False where no micro-grid within the bounds can hold one of its cells (a building above
    the maximum, or one whose neighbours, short of buildings above it, cannot bring it within them), or
    where the whole piece of the grid holding it has no layout within them (``settled``)."""
    window = settings.micro_window
    out = [i for i, group in enumerate(groups) if not window.contains(weight[group].sum())]
    possible = [True] * len(groups)
    for i in out:
        possible[i] = not np.isin(groups[i], settled).any()
    if not out:
        return possible
    candidates = np.concatenate([groups[i] for i in out])
    owner = np.concatenate([[i] * len(groups[i]) for i in out])
    proven = proven_misfits(
        contacts, weight, weight <= window.hi, np.zeros(len(weight), dtype=np.int64), candidates, *window
    )
    for i in np.unique(owner[proven]):
        possible[i] = False
    return possible


def connected_groups(
    cells: np.ndarray, weight: np.ndarray, groups: list[np.ndarray], contacts: Adjacency
) -> list[np.ndarray]:
    """Groups of cells made contiguous: a piece of a group cut off from its main part (by a building above
    the maximum taken out as its own micro-grid, or a piece without households placed by elimination)
    joins the neighbouring group it shares most boundary with (in ``contacts``), or becomes a group of its
    own. A group without households joins its neighbours so too: a micro-grid holds households."""
    group_of = np.empty(len(cells), dtype=np.int64)
    for g, group in enumerate(groups):
        group_of[group] = g
    extra = len(groups)
    for g in range(len(groups)):
        members = np.flatnonzero(group_of == g)
        pieces = sorted(
            (members[c] for c in contacts.among(members).components()),
            key=lambda c: (-weight[c].sum(), -shapely.area(cells[c]).sum(), c[0]),
        )
        for piece in pieces[0 if weight[groups[g]].sum() <= 0 else 1 :]:
            shared = shared_by_label(contacts, piece, np.where(group_of != g, group_of, -1), extra)
            if shared.any():
                group_of[piece] = int(np.argmax(shared))
            else:
                group_of[piece] = extra
                extra += 1
    return [np.flatnonzero(group_of == g) for g in range(extra) if (group_of == g).any()]
