"""Plan outputs as tables and text: the layers written to files and the summary printed by the CLI."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from .partition import Plan
from .scene import Scene
from .settings import DEFAULTS, GridSettings


def plan_layers(plan: Plan, scene: Scene) -> dict[str, pd.DataFrame]:
    """The layers of a plan file: ``grids``, ``buildings`` (with their grid), ``warnings``, ``metrics``.

    ``buildings`` keeps the scene's footprints (in its CRS) so a plan file opens on its own in QGIS.
    """
    buildings = scene.buildings[["building_id", "geometry"]].merge(plan.assignment, on="building_id", how="left")
    buildings = gpd.GeoDataFrame(buildings, geometry="geometry", crs=scene.crs)
    warnings = pd.DataFrame(
        [{"code": w.code, "community_id": w.community_id, "grid_id": w.grid_id, "message": w.message} for w in plan.warnings],
        columns=["code", "community_id", "grid_id", "message"],
    )
    metrics = pd.DataFrame({"metric": list(plan.metrics.as_dict()), "value": [float(v) for v in plan.metrics.as_dict().values()]})
    return {"grids": plan.grids, "buildings": buildings, "warnings": warnings, "metrics": metrics}


def plan_summary(plan: Plan) -> str:
    """A few lines for the command line: grids, balance, alignment, radius, hard rules, warnings."""
    m = plan.metrics
    g = plan.settings.grid
    estimated = f", {m.households_estimated_share:.0%} of them estimated (footprint × floors ÷ {plan.settings.households.dwelling_size_m2:.0f} m²)" if m.households_estimated_share else ""
    lines = [
        f"plan: {m.grids} grids ({m.ordinary_grids} ordinary) over {plan.grids['community_id'].nunique()} communities, "
        f"{m.households_total:,} households{estimated}",
        f"  households per ordinary grid: min {m.households_min:.0f}, mean {m.households_mean:.0f}, max {m.households_max:.0f}, "
        f"CV {m.households_cv:.3f}",
        f"  within ±{g.tight_tolerance:.0%}: {m.within_tight:.1%} ({m.within_tight_feasible:.1%} of the "
        f"{m.ordinary_grids - m.tight_infeasible_grids} grids where no single unit exceeds it)   within ±{g.tolerance:.0%} "
        f"({g.floor:.0f}–{g.ceiling:.0f}): {m.within_bounds:.1%}   worst deviation {m.worst_deviation:.1%}",
        f"  street alignment {m.street_alignment:.1%} (with rivers and rail {m.boundary_alignment:.1%})   Polsby–Popper {m.polsby_popper_mean:.2f}   service radius mean "
        f"{m.service_radius_mean:.0f} m, p95 {m.service_radius_p95:.0f} m, max {m.service_radius_max:.0f} m "
        f"({m.grids_over_radius} grids beyond {g.max_service_radius_m:.0f} m)",
        f"  hard rules: gaps {m.gap_share:.1e}, overlaps {m.overlap_share:.1e}, outside {m.outside_share:.1e} of the area; "
        f"{m.noncontiguous_grids} non-contiguous grids; {m.split_buildings} split buildings",
    ]
    if plan.warnings:
        lines.append(f"  {len(plan.warnings)} warnings:")
        lines += [f"    [{w.code}] {w.grid_id or w.community_id}: {w.message}" for w in plan.warnings[:10]]
        if len(plan.warnings) > 10:
            lines.append(f"    … and {len(plan.warnings) - 10} more (layer 'warnings' in the plan file)")
    return "\n".join(lines)


#: The coverage layers a map or report can draw (the coverage GeoPackage's layers; every one optional).
COVERAGE_LAYERS = (
    "grid_party",  # grid_id, full_members, probationary_members, status, branch_id
    "joint_branches",  # branch_id, grids (comma-joined ids), members
    "party_orgs",  # org_id, kind (committee, branch, joint_branch), point
    "service_points",  # point_id, kind, name, point
    "isochrones",  # point_id, radius_m, polygon
    "service_coverage",  # building_id, nearest_service_m, covered
    "proposed_sites",  # site_id, households_covered, point
    "micro_grids",  # micro_grid_id, grid_id, households, polygon
)


def coverage_layers(coverage) -> dict[str, pd.DataFrame | None]:
    """The coverage layers of ``coverage``: a dict of frames, an object with one attribute per layer, or None.

    Missing layers are None, so callers draw or tabulate what exists.
    """
    if coverage is None:
        return dict.fromkeys(COVERAGE_LAYERS)
    get = coverage.get if isinstance(coverage, dict) else lambda name: getattr(coverage, name, None)
    return {name: get(name) for name in COVERAGE_LAYERS}


def blind_spots(coverage, buildings: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame | None:
    """Buildings outside every service circle (盲区): ``service_coverage`` rows with ``covered`` false.

    Their geometry is the coverage layer's own, or else the matching ``buildings`` footprint; None when
    there is no ``service_coverage`` layer or no geometry to place the buildings.
    """
    service = coverage_layers(coverage)["service_coverage"]
    if service is None:
        return None
    uncovered = service[~service["covered"].astype(bool)]
    if isinstance(uncovered, gpd.GeoDataFrame) and uncovered.geometry.notna().all():
        return uncovered
    if buildings is None:
        return None
    columns = [c for c in ("building_id", "households", "grid_id", "geometry") if c in buildings.columns]
    spots = buildings[columns].merge(uncovered[["building_id", "nearest_service_m"]], on="building_id")
    return gpd.GeoDataFrame(spots, geometry="geometry", crs=buildings.crs)


def grid_table(
    grids: pd.DataFrame,
    coverage=None,
    assignment: pd.DataFrame | None = None,
    settings: GridSettings = DEFAULTS.grid,
) -> pd.DataFrame:
    """One row per grid: size against the bounds, party organization and service coverage (网格台账).

    Parameters
    ----------
    grids
        A plan's grids (``grid_id``, ``community_id``, ``kind``, ``households``, ``households_estimated``,
        ``workload``, ``service_radius_m``; optional ``name``, ``grid_worker``).
    coverage
        Optional coverage layers (see :func:`coverage_layers`): ``grid_party`` gives members and branch
        status, ``service_coverage`` with ``assignment`` gives the share of households covered.
    assignment
        ``building_id`` → ``grid_id``, ``households`` (``Plan.assignment`` or a plan file's buildings).
    settings
        Target and tolerance of the bounds.

    Returns
    -------
    pandas.DataFrame
        The grid attributes above plus ``deviation_pct``, ``within_bounds``, ``full_members``,
        ``probationary_members``, ``branch_status``, ``branch_id``, ``coverage_share``,
        ``blind_spot_buildings`` and ``blind_spot_households`` (NaN/None where the data are missing).
    """
    keep = [c for c in ("grid_id", "community_id", "name", "kind", "households", "households_estimated", "workload",
                        "buildings", "service_radius_m", "grid_worker") if c in grids.columns]
    table = pd.DataFrame(grids[keep]).reset_index(drop=True)
    table["deviation_pct"] = ((table["households"] / settings.target - 1) * 100).round(1)
    table["within_bounds"] = table["households"].between(settings.floor, settings.ceiling) | (table["kind"] != "ordinary")
    layers = coverage_layers(coverage)
    party = layers["grid_party"]
    party_columns = {"full_members": "full_members", "probationary_members": "probationary_members",
                     "status": "branch_status", "branch_id": "branch_id"}
    if party is not None:
        party = pd.DataFrame(party)[["grid_id"] + [c for c in party_columns if c in party.columns]]
        table = table.merge(party.rename(columns=party_columns), on="grid_id", how="left")
    for column in party_columns.values():
        if column not in table:
            table[column] = None
    service = layers["service_coverage"]
    if service is not None and assignment is not None:
        joined = pd.DataFrame(assignment)[["building_id", "grid_id", "households"]].merge(
            pd.DataFrame(service)[["building_id", "covered"]], on="building_id", how="left")
        joined["covered"] = joined["covered"].fillna(False).astype(bool)
        joined["covered_households"] = joined["households"].where(joined["covered"], 0)
        joined["blind"] = ~joined["covered"]
        joined["blind_households"] = joined["households"].where(joined["blind"], 0)
        per_grid = joined.groupby("grid_id").agg(
            households_=("households", "sum"), covered_=("covered_households", "sum"),
            blind_spot_buildings=("blind", "sum"), blind_spot_households=("blind_households", "sum"))
        per_grid["coverage_share"] = (per_grid["covered_"] / per_grid["households_"].where(per_grid["households_"] > 0)).round(3)
        table = table.merge(per_grid[["coverage_share", "blind_spot_buildings", "blind_spot_households"]],
                            left_on="grid_id", right_index=True, how="left")
    else:
        table["coverage_share"] = float("nan")
        table["blind_spot_buildings"] = float("nan")
        table["blind_spot_households"] = float("nan")
    return table
