"""Audit of existing grid layouts (现有网格评估).

Most communities already have grids, often drawn by hand "simply by compound", with heavy workloads and large
service radii. :func:`audit_grids` takes such polygons as they are, assigns buildings by overlay, and
measures them as gridplan measures its own plans. A building split between grids goes to the grid holding
its largest share and is listed.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.core.metrics import SPLIT_SHARE, PlanMetrics, plan_metrics, with_grid_figures
from gridplan.core.scene import PreparedScene, Scene
from gridplan.io.store import grid_ids_of
from gridplan.prepare.validate import as_prepared
from gridplan.settings import DEFAULTS, Settings
from gridplan.vocabulary import GridKind, summary_lines, word


@dataclass
class Audit:
    """An existing layout measured.

    Attributes
    ----------
    grids
        The existing grids with ``grid_id``, ``community_id`` (largest overlap), ``households``,
        ``service_radius_m``, ``polsby_popper``, ``communities_spanned``, ``deviation`` (households against
        the target), ``problems`` (text), sorted worst first; in the scene's CRS.
    assignment
        ``building_id`` → ``grid_id`` (largest share), ``share`` of the footprint in that grid.
    split_buildings
        Buildings with more than 5% of their footprint in a second grid: ``building_id``, ``grid_id``,
        ``other_grid_id``, ``other_share``.
    unassigned
        Buildings in no existing grid (gaps).
    overlaps
        Pairs of existing grids that overlap: ``grid_id``, ``other_grid_id``, ``area_m2``.
    metrics
        The same figures as a plan's.
    settings
        The target and bounds measured against.
    """

    grids: gpd.GeoDataFrame
    assignment: pd.DataFrame
    split_buildings: pd.DataFrame
    unassigned: list[str]
    overlaps: pd.DataFrame
    metrics: PlanMetrics
    settings: Settings = DEFAULTS

    def summary(self, lang: str = "zh") -> str:
        """The audit in a few lines, in ``lang`` (``"zh"`` or ``"en"``): the figures, then the five worst grids."""
        m, g = self.metrics, self.settings.grid
        worst = self.grids.head(5)
        lines = summary_lines(
            "audit",
            lang,
            grids=len(self.grids),
            m=m,
            g=g,
            overlaps=len(self.overlaps),
            split=len(self.split_buildings),
            unassigned=len(self.unassigned),
        )
        lines += [
            word(
                "audit_worst",
                lang,
                grid=r.grid_id,
                households=r.households,
                deviation=r.deviation,
                radius=r.service_radius_m,
            )
            + (word("semicolon", lang) + r.problems if r.problems else "")
            for r in worst.itertuples()
        ]
        return "\n".join(lines)


def assign_by_overlay(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, grid_ids: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each building to the grid holding the largest share of its footprint, and the split buildings.

    Both layers in one metric CRS. Returns ``(assignment, split)``; buildings in no grid are absent from
    the assignment.
    """
    footprints = buildings.geometry.to_numpy()
    polygons = grids.geometry.to_numpy()
    b, g = shapely.STRtree(polygons).query(footprints, predicate="intersects")
    share = shapely.area(shapely.intersection(footprints[b], polygons[g])) / np.maximum(
        shapely.area(footprints[b]), 1e-9
    )
    pairs = pd.DataFrame({"b": b, "g": g, "share": share}).sort_values(["b", "share"], ascending=[True, False])
    first = pairs.groupby("b").head(1)
    second = pairs.groupby("b").nth(1)
    ids = buildings["building_id"].to_numpy()
    assignment = pd.DataFrame(
        {"building_id": ids[first["b"]], "grid_id": grid_ids.to_numpy()[first["g"]], "share": first["share"].to_numpy()}
    )
    second = second[second["share"] > SPLIT_SHARE]
    owner = dict(zip(first["b"], first["g"]))
    split = pd.DataFrame(
        {
            "building_id": ids[second["b"]],
            "grid_id": grid_ids.to_numpy()[[owner[x] for x in second["b"]]],
            "other_grid_id": grid_ids.to_numpy()[second["g"]],
            "other_share": second["share"].round(3).to_numpy(),
        }
    )
    return assignment, split


def audit_grids(
    scene: Scene | PreparedScene, existing: gpd.GeoDataFrame, settings: Settings | None = None, lang: str = "zh"
) -> Audit:
    """Measure an existing layout of grid polygons against the rules.

    Parameters
    ----------
    scene
        The scene, prepared (:func:`gridplan.pipeline.prepare_scene`), or plain (validated first).
    existing
        Grid polygons as they are, any attributes (identifier from ``grid_id``, ``code``, ``id`` or ``name``).
    settings
        Target and bounds; by default those the scene was prepared with.
    lang
        Language of the ``problems`` column (``"zh"`` or ``"en"``).

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import audit_grids, plan_scene
    >>> audit = audit_grids(prepared, plan_scene(prepared).plan.grids)
    >>> int(audit.grids["households"].sum()), len(audit.split_buildings)
    (4500, 0)
    """
    prepared = as_prepared(scene, settings)
    settings, local = prepared.settings, prepared.local
    crs = local.crs
    buildings = local.buildings
    grids = existing.to_crs(crs).reset_index(drop=True)
    grids = grids[grids.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index(drop=True)
    grid_ids = grid_ids_of(grids)

    assignment, split = assign_by_overlay(buildings, grids, grid_ids)
    placed = buildings["building_id"].isin(assignment["building_id"])
    unassigned = buildings.loc[~placed, "building_id"].tolist()
    buildings_in = buildings[placed.to_numpy()]
    full = buildings_in[["building_id", "households", "households_estimated", "workload"]].merge(
        assignment, on="building_id"
    )

    spans, main = communities_of(grids, local.communities)
    totals = full.groupby("grid_id")[["households", "workload"]].sum()
    out = gpd.GeoDataFrame(
        {
            "grid_id": grid_ids.to_numpy(),
            "community_id": main,
            "kind": GridKind.ORDINARY.value,
            "households": totals["households"].reindex(grid_ids).fillna(0).astype(np.int64).to_numpy(),
            "workload": totals["workload"].reindex(grid_ids).fillna(0).to_numpy(),
            "communities_spanned": spans,
        },
        geometry=grids.geometry.to_numpy(),
        crs=crs,
    )
    assignment_in = full.set_index("building_id").loc[buildings_in["building_id"]].reset_index()
    out = with_grid_figures(out, assignment_in, buildings_in)
    metrics = plan_metrics(
        out, assignment_in, buildings_in, local.communities, local.streets, local.barriers, settings.grid
    )
    out["deviation"] = out["households"] / settings.grid.target - 1
    out["problems"] = _problems(out, split, settings, lang)
    order = (
        (out["deviation"].abs() - settings.grid.tolerance).clip(lower=0) * 10
        + out["deviation"].abs()
        + out["service_radius_m"] / 10_000
    )
    out = out.iloc[np.argsort(-order.to_numpy(), kind="stable")].reset_index(drop=True)
    overlaps = overlapping_pairs(grids, grid_ids).drop(columns="overlap")
    return Audit(
        grids=out.to_crs(prepared.crs),
        assignment=assignment,
        split_buildings=split,
        unassigned=unassigned,
        overlaps=overlaps,
        metrics=metrics,
        settings=settings,
    )


def communities_of(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """How many communities each grid reaches into (beyond 1% of its area), and the one it overlaps most
    (both layers in one metric CRS; NaN for a grid in no community)."""
    polygons, areas = grids.geometry.to_numpy(), grids.geometry.area.to_numpy()
    g, c = shapely.STRtree(communities.geometry.to_numpy()).query(polygons, predicate="intersects")
    share = shapely.area(shapely.intersection(polygons[g], communities.geometry.to_numpy()[c])) / np.maximum(
        areas[g], 1e-9
    )
    frame = pd.DataFrame({"g": g, "c": communities["community_id"].to_numpy()[c], "share": share})
    spans = frame[frame["share"] > 0.01].groupby("g").size().reindex(range(len(grids)), fill_value=0).to_numpy()
    main = frame.sort_values("share").groupby("g").last()["c"].reindex(range(len(grids))).to_numpy()
    return spans, main


def overlapping_pairs(grids: gpd.GeoDataFrame, grid_ids: pd.Series, min_area_m2: float = 1.0) -> pd.DataFrame:
    """Pairs of grids overlapping by more than ``min_area_m2`` (metric CRS): ``grid_id``, ``other_grid_id``,
    ``area_m2``, and the ``overlap`` polygon."""
    polygons = grids.geometry.to_numpy()
    a, b = shapely.STRtree(polygons).query(polygons, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.intersection(polygons[a], polygons[b])
    area = shapely.area(shared)
    big = area > min_area_m2
    return pd.DataFrame(
        {
            "grid_id": grid_ids.to_numpy()[a[big]],
            "other_grid_id": grid_ids.to_numpy()[b[big]],
            "area_m2": area[big].round(1),
            "overlap": shared[big],
        }
    )


def _problems(grids: gpd.GeoDataFrame, split: pd.DataFrame, settings: Settings, lang: str) -> list[str]:
    g = settings.grid
    splits = split.groupby("grid_id").size()
    out = []
    for row in grids.itertuples():
        found = []
        if not g.bounds_window.contains(row.households):
            if row.households > g.ceiling:
                found.append(word("audit_above_ceiling", lang, ceiling=g.ceiling))
            else:
                found.append(word("audit_below_floor", lang, floor=g.floor))
        if row.service_radius_m > g.max_service_radius_m:
            found.append(word("service_radius", lang, metres=row.service_radius_m))
        pieces = shapely.get_num_geometries(row.geometry)
        if pieces > 1:
            found.append(word("pieces", lang, n=pieces))
        if row.communities_spanned > 1:
            found.append(word("spans_communities", lang, n=row.communities_spanned))
        if splits.get(row.grid_id, 0):
            found.append(word("split_buildings", lang, n=splits[row.grid_id]))
        out.append(word("semicolon", lang).join(found))
    return out
