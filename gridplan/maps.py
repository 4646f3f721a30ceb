"""Folium maps of a plan: communities and grids coloured by their deviation from the target.

Maps are drawn in WGS84 (EPSG:4326), whatever the plan's CRS.
"""

from __future__ import annotations

import branca.colormap as cm
import folium

import geopandas as gpd

from .settings import DEFAULTS, GridSettings

#: Diverging scale: under target (blue) → on target (white) → over target (red), ±tolerance at the ends.
DEVIATION_COLOURS = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")
SPECIAL_COLOUR = "#7b3294"


def plan_map(
    communities: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, settings: GridSettings = DEFAULTS.grid, *, lang: str = "zh"
) -> folium.Map:
    """A map of communities and grids, with a layer control and a legend.

    Parameters
    ----------
    communities
        Community boundaries (社区边界), any CRS.
    grids
        A plan's grids (``Plan.grids`` or the ``grids`` layer of a plan file); coloured by
        ``households / target − 1``, special and oversize grids apart.
    settings
        The target and tolerance of the colour scale.
    lang
        ``"zh"`` (default) or ``"en"`` labels.
    """
    target, tolerance = settings.target, settings.tolerance
    grids = grids.to_crs(4326).copy()
    grids["deviation_pct"] = ((grids["households"] / target - 1) * 100).round(1)
    communities = communities.to_crs(4326)
    labels = _LABELS[lang]

    west, south, east, north = grids.total_bounds
    fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
    fmap.fit_bounds([[south, west], [north, east]])
    scale = cm.LinearColormap(DEVIATION_COLOURS, vmin=-tolerance * 100, vmax=tolerance * 100, caption=labels["legend"])

    def style(feature):
        props = feature["properties"]
        fill = SPECIAL_COLOUR if props["kind"] != "ordinary" else scale(max(-tolerance * 100, min(tolerance * 100, props["deviation_pct"])))
        return {"fillColor": fill, "color": "#333333", "weight": 1, "fillOpacity": 0.6}

    fields = ["grid_id", "kind", "households", "households_estimated", "deviation_pct", "service_radius_m"]
    folium.GeoJson(
        grids[fields + ["geometry"]],
        name=labels["grids"],
        style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels[f] for f in fields]),
    ).add_to(fmap)
    folium.GeoJson(
        communities[["community_id", "geometry"]],
        name=labels["communities"],
        style_function=lambda _: {"fill": False, "color": "#000000", "weight": 3},
    ).add_to(fmap)
    scale.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


_LABELS = {
    "zh": {
        "grids": "网格",
        "communities": "社区边界",
        "legend": "户数偏离目标 (%)",
        "grid_id": "网格编号",
        "kind": "类型",
        "households": "户数",
        "households_estimated": "估算户数的楼栋",
        "deviation_pct": "偏离 (%)",
        "service_radius_m": "服务半径 (米)",
    },
    "en": {
        "grids": "Grids",
        "communities": "Community boundaries",
        "legend": "Households vs target (%)",
        "grid_id": "Grid",
        "kind": "Kind",
        "households": "Households",
        "households_estimated": "Buildings with estimated households",
        "deviation_pct": "Deviation (%)",
        "service_radius_m": "Service radius (m)",
    },
}


def save_map(fmap: folium.Map, path) -> None:
    """Write the map's HTML atomically."""
    from .store import atomic_path

    with atomic_path(path) as tmp:
        fmap.save(str(tmp))

