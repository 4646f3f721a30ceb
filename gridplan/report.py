"""Plan outputs as tables and text: the layers written to files and the summary printed by the CLI."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from .partition import Plan
from .scene import Scene


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
