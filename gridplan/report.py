"""Plan outputs as tables and text: the layers written to files, the summary printed by the CLI, and the
per-grid report (CSV, XLSX and a one-page HTML summary with inline SVG charts)."""

from __future__ import annotations

import html
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .partition import Plan
from .scene import Scene
from .settings import DEFAULTS, GridSettings


def staffing_table(plan: Plan) -> pd.DataFrame:
    """One grid worker (专职网格员) per grid, the grid leader (网格长: by default the community's party
    secretary) and each worker's workload index (the grid's workload ÷ the mean of ordinary grids)."""
    grids = plan.grids
    mean = grids.loc[grids["kind"] == "ordinary", "workload"].mean() if (grids["kind"] == "ordinary").any() else grids["workload"].mean()
    return pd.DataFrame({
        "grid_id": grids["grid_id"],
        "code": grids["code"] if "code" in grids else None,
        "community_id": grids["community_id"],
        "grid_worker": [f"网格员 {i + 1:04d}" for i in range(len(grids))],
        "grid_leader": "社区党组织书记 " + grids["community_id"].astype(str),
        "households": grids["households"],
        "workload_index": (grids["workload"] / mean).round(3) if mean else 0.0,
    })


def plan_layers(plan: Plan, scene: Scene) -> dict[str, pd.DataFrame]:
    """The layers of a plan file: ``grids``, ``buildings`` (with their grid), ``staffing``, ``warnings``, ``metrics``.

    ``buildings`` keeps the scene's footprints (in its CRS) so a plan file opens on its own in QGIS.
    """
    buildings = scene.buildings[["building_id", "geometry"]].merge(plan.assignment, on="building_id", how="left")
    buildings = gpd.GeoDataFrame(buildings, geometry="geometry", crs=scene.crs)
    warnings = pd.DataFrame(
        [{"code": w.code, "community_id": w.community_id, "grid_id": w.grid_id, "message": w.message} for w in plan.warnings],
        columns=["code", "community_id", "grid_id", "message"],
    )
    metrics = pd.DataFrame({"metric": list(plan.metrics.as_dict()), "value": [float(v) for v in plan.metrics.as_dict().values()]})
    return {"grids": plan.grids, "buildings": buildings, "staffing": staffing_table(plan), "warnings": warnings, "metrics": metrics}


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
        f"{m.ordinary_grids - m.tight_infeasible_grids} grids not proven unable to)   within ±{g.tolerance:.0%} "
        f"({g.floor:.0f}–{g.ceiling:.0f}): {m.within_bounds:.1%} ({m.within_bounds_feasible:.1%} of the "
        f"{m.ordinary_grids - m.bounds_infeasible_grids} grids not proven unable to)   worst deviation {m.worst_deviation:.1%}",
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
        ``workload``, ``service_radius_m``; optional ``code``, ``area_id``, ``name``, ``grid_worker``).
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
    keep = [c for c in ("grid_id", "code", "community_id", "area_id", "name", "kind", "households", "households_estimated",
                        "workload", "buildings", "service_radius_m", "grid_worker") if c in grids.columns]
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


def write_report(table: pd.DataFrame, out_dir, settings: GridSettings = DEFAULTS.grid, *, lang: str = "zh",
                 title: str | None = None) -> list[Path]:
    """The per-grid table as ``grids.csv`` and ``grids.xlsx``, and a one-page ``summary.html`` with charts.

    Parameters
    ----------
    table
        :func:`grid_table`'s result.
    out_dir
        Folder to write (created if missing).
    settings
        The bounds drawn on the households chart.
    lang
        ``"zh"`` (default) or ``"en"`` headings.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from .store import atomic_path

    labels = _REPORT_LABELS[lang]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "grids.csv", out / "grids.xlsx", out / "summary.html"]
    # utf-8-sig: Excel opens the CSV with its Chinese headers intact
    with atomic_path(paths[0]) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8-sig")
    with atomic_path(paths[1]) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            table.to_excel(writer, sheet_name=labels["sheet"], index=False)
    with atomic_path(paths[2]) as tmp:
        Path(tmp).write_text(summary_html(table, settings, lang=lang, title=title), encoding="utf-8")
    return paths


def summary_html(table: pd.DataFrame, settings: GridSettings = DEFAULTS.grid, *, lang: str = "zh",
                 title: str | None = None) -> str:
    """A one-page HTML summary with inline SVG charts (no script, no network): households per grid against
    the bounds, coverage by grid, branch status counts and blind spots."""
    labels = _REPORT_LABELS[lang]
    ordinary = table[table["kind"] == "ordinary"]
    within = ordinary["households"].between(settings.floor, settings.ceiling).mean() if len(ordinary) else float("nan")
    step = 10.0
    top = max(settings.ceiling * 1.5, float(ordinary["households"].max()) if len(ordinary) else 0)
    households = _histogram(ordinary["households"].clip(upper=top), np.arange(0, top + step, step),
                            band=(settings.floor, settings.ceiling), marks=[settings.target], unit=labels["households_axis"])
    cards = [
        (labels["grids"], f"{len(table):,}"),
        (labels["households"], f"{table['households'].sum():,.0f}"),
        (labels["within_bounds"].format(floor=settings.floor, ceiling=settings.ceiling), _percent(within)),
    ]
    sections = [f"<h2>{labels['households_chart']}</h2>{households}"]
    coverage = table["coverage_share"].dropna()
    if len(coverage):
        cards.append((labels["coverage_mean"], _percent(
            (table["coverage_share"] * table["households"]).sum() / table.loc[coverage.index, "households"].sum())))
        sections.append(f"<h2>{labels['coverage_chart']}</h2>"
                        + _histogram(coverage * 100, np.arange(0, 110, 10), unit=labels["coverage_axis"], ticks=11))
    status = table["branch_status"].dropna()
    if len(status):
        counts = status.astype(str).value_counts()
        sections.append(f"<h2>{labels['status_chart']}</h2>"
                        + _bars([(labels.get(f"status_{k}", k), v) for k, v in counts.items()]))
    blind = table["blind_spot_households"].dropna()
    if len(blind):
        cards.append((labels["blind_households"], f"{blind.sum():,.0f}"))
        worst = table.nlargest(10, "blind_spot_households")
        worst = worst[worst["blind_spot_households"] > 0]
        sections.append(f"<h2>{labels['blind_chart']}</h2>" + (
            _bars([(g, v) for g, v in zip(worst["grid_id"], worst["blind_spot_households"])]) if len(worst)
            else f"<p>{labels['no_blind']}</p>"))
    card_html = "".join(f'<div class="card"><div class="v">{html.escape(v)}</div><div>{html.escape(k)}</div></div>'
                        for k, v in cards)
    heading = html.escape(title or labels["title"])
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{heading}</title>
<style>body{{font:14px/1.5 sans-serif;margin:24px auto;max-width:960px;color:#222}}
.cards{{display:flex;gap:12px;flex-wrap:wrap}}.card{{border:1px solid #ddd;border-radius:6px;padding:8px 14px}}
.card .v{{font-size:22px;font-weight:bold}}h2{{font-size:16px;margin:20px 0 4px}}svg{{font:11px sans-serif}}</style>
</head><body><h1>{heading}</h1><div class="cards">{card_html}</div>
{''.join(sections)}
</body></html>
"""


def _percent(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.1%}"


def _histogram(values: pd.Series, edges: np.ndarray, band=None, marks=(), unit: str = "", ticks: int = 7,
               width: int = 900, height: int = 220) -> str:
    """A histogram as inline SVG, with an optional shaded band (the bounds) and vertical marks (the target)."""
    counts, _ = np.histogram(values, bins=edges)
    left, bottom, top = 40, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    x = lambda v: left + (v - edges[0]) / (edges[-1] - edges[0]) * plot_w  # noqa: E731
    peak = max(int(counts.max()), 1)
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    if band:
        parts.append(f'<rect x="{x(band[0]):.1f}" y="{top}" width="{x(band[1]) - x(band[0]):.1f}" height="{plot_h}" '
                     'fill="#d9f0d3"/>')
    for count, a, b in zip(counts, edges[:-1], edges[1:]):
        h = count / peak * plot_h
        parts.append(f'<rect x="{x(a) + 0.5:.1f}" y="{top + plot_h - h:.1f}" width="{max(x(b) - x(a) - 1, 0.5):.1f}" '
                     f'height="{h:.1f}" fill="#4575b4"><title>{a:.0f}–{b:.0f}: {count}</title></rect>')
    for mark in marks:
        parts.append(f'<line x1="{x(mark):.1f}" x2="{x(mark):.1f}" y1="{top}" y2="{top + plot_h}" stroke="#d73027" '
                     'stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#333"/>')
    for tick in np.linspace(edges[0], edges[-1], ticks):
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 14}" text-anchor="middle">{tick:.0f}</text>')
    parts.append(f'<text x="{left + plot_w}" y="{height - 2}" text-anchor="end">{html.escape(unit)}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>'
                 f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text></svg>')
    return "".join(parts)


def _bars(items: list[tuple[str, float]], width: int = 900) -> str:
    """Horizontal bars with their values, as inline SVG."""
    row, label_w = 22, 220
    peak = max([v for _, v in items] + [1])
    parts = [f'<svg width="{width}" height="{row * len(items) + 4}" role="img">']
    for i, (label, value) in enumerate(items):
        w = value / peak * (width - label_w - 80)
        y = i * row + 2
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{html.escape(str(label))}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="#4575b4"/>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{value:,.0f}</text>')
    return "".join(parts) + "</svg>"


_REPORT_LABELS = {
    "zh": {
        "title": "网格划分与党建覆盖摘要", "sheet": "网格台账", "grids": "网格数", "households": "总户数",
        "within_bounds": "综合网格户数在 {floor:.0f}–{ceiling:.0f} 之间", "coverage_mean": "服务圈覆盖户数占比",
        "blind_households": "盲区户数", "households_chart": "每个综合网格的户数（绿色：允许范围；红线：目标）",
        "households_axis": "户数", "coverage_chart": "各网格服务圈覆盖户数占比", "coverage_axis": "覆盖占比 (%)",
        "status_chart": "网格党组织状态", "blind_chart": "盲区户数最多的网格", "no_blind": "无服务盲区。",
        "status_branch": "独立党支部", "status_joint": "联合党支部", "status_joint_branch": "联合党支部",
        "status_none": "无党组织", "status_missing": "无党组织",
    },
    "en": {
        "title": "Grid plan and party-building coverage", "sheet": "grids", "grids": "Grids", "households": "Households",
        "within_bounds": "Ordinary grids with {floor:.0f}–{ceiling:.0f} households",
        "coverage_mean": "Households within a service circle", "blind_households": "Households in blind spots",
        "households_chart": "Households per ordinary grid (green: the bounds; red: the target)",
        "households_axis": "households", "coverage_chart": "Share of households covered, by grid",
        "coverage_axis": "covered (%)", "status_chart": "Party organization of the grids",
        "blind_chart": "Grids with the most households in blind spots", "no_blind": "No blind spots.",
        "status_branch": "own branch", "status_joint": "joint branch", "status_joint_branch": "joint branch",
        "status_none": "no party organization", "status_missing": "no party organization",
    },
}
