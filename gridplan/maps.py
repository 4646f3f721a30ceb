"""Folium maps of a plan: grids coloured by their deviation from the target, party organizations, service
circles, blind spots and proposals, on OpenStreetMap, 天地图 (Tianditu) or Gaode tiles, or offline.

Maps are drawn in WGS84 (EPSG:4326), whatever the plan's CRS; on Gaode tiles every layer is moved to GCJ-02
so that it lies on the tiles. Only counts per grid reach the HTML: party member ids and other personal fields
are left out unless ``show_members`` is asked for (党员信息属个人敏感信息).
"""

from __future__ import annotations

import html
import re

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.plugins import Fullscreen, MeasureControl, Search
from jinja2 import Template

from .coords import from_wgs84
from .errors import InputError
from .report import blind_spots, coverage_layers, grid_table
from .settings import DEFAULTS, GridSettings

#: Diverging scale: under target (blue) → on target (white) → over target (red), ±tolerance at the ends.
DEVIATION_COLOURS = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")
SPECIAL_COLOUR = "#7b3294"
BASEMAPS = ("osm", "tianditu", "gaode")
#: Grid codes are drawn from this zoom on (fewer labels than pixels below it).
LABEL_MIN_ZOOM = 15
#: Building footprints are drawn from this zoom on: a district's 20,000 footprints would not pan smoothly.
BUILDING_MIN_ZOOM = 16
#: Default simplification of polygons in metres: invisible at street zoom, halves a district's HTML.
SIMPLIFY_M = 2.0
#: 6 decimals of a degree ≈ 0.1 m.
COORDINATE_DECIMALS = 6

#: The columns of ``grid_party`` that every map shows: counts and status, nobody's identity.
_PARTY_COUNTS = ("grid_id", "full_members", "probationary_members", "status", "branch_id")
#: Marker of each party organization kind: symbol and colour (no icon font, so it also works offline).
ORG_MARKERS = {"committee": ("★", "#c00000", 22), "branch": ("●", "#e03c31", 16), "joint_branch": ("▲", "#f08c00", 16)}
OTHER_ORG_MARKER = ("◆", "#8c2d04", 14)

_TIANDITU = "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}" \
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
_GAODE = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
#: Stylesheets of folium's defaults that gridplan's maps never use; left out offline (icon fonts by relative URL).
_OFFLINE_UNUSED = ("awesome_markers_font_css", "glyphicons_css")


def plan_map(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    settings: GridSettings = DEFAULTS.grid,
    *,
    lang: str = "zh",
    coverage=None,
    assignment: pd.DataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    basemap: str = "osm",
    tianditu_key: str | None = None,
    offline: bool = False,
    show_members: bool = False,
    simplify_m: float = SIMPLIFY_M,
) -> folium.Map:
    """A map of a plan: switchable layers, legend, popups, search by grid code, measure tool, scale bar.

    Parameters
    ----------
    communities
        Community boundaries (社区边界), any CRS.
    grids
        A plan's grids (``Plan.grids`` or the ``grids`` layer of a plan file); coloured by
        ``households / target − 1``, special and oversize grids apart; optional ``name`` and ``grid_worker``.
    settings
        The target and tolerance of the colour scale.
    lang
        ``"zh"`` (default) or ``"en"`` labels.
    coverage
        Optional coverage layers, a dict of frames or an object with one attribute per layer (see
        :data:`gridplan.report.COVERAGE_LAYERS`): party counts per grid, party organizations, service
        points and isochrones, blind spots, joint-branch proposals, proposed sites, micro-grids.
    assignment
        ``building_id`` → ``grid_id``, ``households``: with ``service_coverage``, the coverage share per grid.
    buildings
        Building footprints (``building_id``): drawn from zoom :data:`BUILDING_MIN_ZOOM` on, and used to
        place blind spots when ``service_coverage`` has no geometry.
    basemap
        ``"osm"`` (default; 天地图 selectable too when ``tianditu_key`` is given), ``"tianditu"`` or
        ``"gaode"`` (every layer moved to GCJ-02 to match its tiles).
    tianditu_key
        The user's 天地图 key (tk).
    offline
        No remote tiles (a plain background) and every script and stylesheet inlined from the installed
        ``folium-offline`` package: the HTML works on an intranet with no internet.
    show_members
        Keep personal fields (party member ids, names) of the coverage layers in the HTML.
    simplify_m
        Polygon simplification tolerance in metres (0 keeps every vertex).

    Returns
    -------
    folium.Map
        Write it with :func:`save_map`.

    Raises
    ------
    InputError
        Unknown ``lang`` or ``basemap``, or 天地图 without a key.
    """
    if lang not in _LABELS:
        raise InputError(f"unknown language {lang!r}: use zh or en")
    if basemap not in BASEMAPS:
        raise InputError(f"unknown basemap {basemap!r}: use one of {', '.join(BASEMAPS)}")
    if basemap == "tianditu" and not tianditu_key and not offline:
        raise InputError("the 天地图 (Tianditu) basemap needs a key: pass tianditu_key (--tianditu-key)")
    labels = _LABELS[lang]
    shift = "gcj02" if basemap == "gaode" and not offline else None
    draw = _Drawer(shift, simplify_m)
    layers = coverage_layers(coverage)

    table = grid_table(grids, coverage, assignment, settings)
    personal = []
    if show_members and layers["grid_party"] is not None:
        party = pd.DataFrame(layers["grid_party"]).drop(columns="geometry", errors="ignore")
        personal = [c for c in party.columns if c not in _PARTY_COUNTS]
        table = table.merge(party[["grid_id"] + personal], on="grid_id", how="left")
    grid_layer = draw.frame(grids[["grid_id", "geometry"]].merge(table, on="grid_id"), polygons=True)
    label_points = grid_layer.geometry.representative_point()
    grid_layer["label_lat"], grid_layer["label_lon"] = label_points.y.round(COORDINATE_DECIMALS), label_points.x.round(COORDINATE_DECIMALS)

    fmap = folium.Map(tiles=None)
    west, south, east, north = grid_layer.total_bounds
    fmap.fit_bounds([[south, west], [north, east]])
    _basemaps(fmap, basemap, tianditu_key, offline, labels)

    folium.GeoJson(
        draw.frame(communities[["community_id", "geometry"]], polygons=True),
        name=labels["communities"],
        style_function=lambda _: {"fill": False, "color": "#000000", "weight": 3},
    ).add_to(fmap)
    grid_geojson = _grid_layer(grid_layer, settings, labels, personal).add_to(fmap)
    fmap.add_child(_GridLabels(grid_geojson, LABEL_MIN_ZOOM))
    _coverage(fmap, layers, draw, labels, show_members, buildings, coverage, grids)
    if buildings is not None:
        footprints = folium.GeoJson(
            draw.frame(buildings[["building_id", "geometry"]], polygons=True), name=labels["buildings"], control=False,
            interactive=False,
            style_function=lambda _: {"color": "#555555", "weight": 0.5, "fillOpacity": 0.2},
        ).add_to(fmap)
        fmap.add_child(_ZoomGate(footprints, BUILDING_MIN_ZOOM))

    fmap.add_child(_MetricScale())
    fmap.add_child(_Legend(settings, labels, layers))
    Fullscreen(title=labels["fullscreen"], title_cancel=labels["fullscreen_exit"]).add_to(fmap)
    MeasureControl(primary_length_unit="meters", secondary_length_unit="kilometers", primary_area_unit="sqmeters",
                   secondary_area_unit="hectares").add_to(fmap)
    Search(layer=grid_geojson, search_label="search", geom_type="Polygon", placeholder=labels["search"],
           collapsed=False, search_zoom=16, position="topleft").add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if offline:
        _inline_assets(fmap)
    return fmap


def save_map(fmap: folium.Map, path) -> None:
    """Write the map's HTML atomically."""
    from .store import atomic_path

    with atomic_path(path) as tmp:
        fmap.save(str(tmp))


class _Drawer:
    """Layers to WGS84 (or GCJ-02), simplified in metres, with coordinates rounded to ~0.1 m."""

    def __init__(self, shift: str | None, simplify_m: float):
        self.shift, self.simplify_m = shift, simplify_m

    def frame(self, gdf: gpd.GeoDataFrame, polygons: bool = False) -> gpd.GeoDataFrame:
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
        if polygons and self.simplify_m > 0:
            metric = gdf.crs if gdf.crs.is_projected else gdf.estimate_utm_crs()
            simplified = gdf.geometry.to_crs(metric).simplify(self.simplify_m, preserve_topology=True)
            gdf = gdf.set_geometry(simplified.to_crs(gdf.crs))
        gdf = gdf.to_crs(4326)
        if self.shift:
            gdf = from_wgs84(gdf, self.shift)
        geometry = shapely.transform(gdf.geometry.values, lambda xy: np.round(xy, COORDINATE_DECIMALS))
        return gdf.set_geometry(geometry)


def _basemaps(fmap: folium.Map, basemap: str, key: str | None, offline: bool, labels: dict) -> None:
    if offline:
        # a plain background instead of tiles that cannot load
        fmap.get_root().header.add_child(Element("<style>.leaflet-container{background:#f2efe9 !important}</style>"))
        return
    osm = folium.TileLayer("OpenStreetMap", name=labels["osm"])
    tianditu = None
    if key:
        tianditu = folium.TileLayer(_TIANDITU.format(layer="vec", key=key, s="{s}"), attr="&copy; 天地图 Tianditu",
                                    name=labels["tianditu"], subdomains="01234567", max_zoom=18)
        tianditu_notes = folium.TileLayer(_TIANDITU.format(layer="cva", key=key, s="{s}"), attr="&copy; 天地图 Tianditu",
                                          name=labels["tianditu_notes"], subdomains="01234567", max_zoom=18,
                                          overlay=True, control=True)
    if basemap == "gaode":
        # Gaode's tiles are in GCJ-02, which no other basemap shares: it is the only one offered
        folium.TileLayer(_GAODE, attr="&copy; 高德地图 AutoNavi", name=labels["gaode"], subdomains="1234",
                         max_zoom=18).add_to(fmap)
        return
    for layer in ([tianditu, osm] if basemap == "tianditu" else [osm, tianditu]):
        if layer is not None:
            layer.add_to(fmap)
    if tianditu is not None:
        tianditu_notes.add_to(fmap)


def _grid_layer(grid_layer: gpd.GeoDataFrame, settings: GridSettings, labels: dict, personal: list[str]) -> folium.GeoJson:
    limit = settings.tolerance * 100
    scale = cm.LinearColormap(DEVIATION_COLOURS, vmin=-limit, vmax=limit)
    popup = _popup_fields(grid_layer, labels, personal)
    codes = grid_layer["code"].fillna(grid_layer["grid_id"]).astype(str) if "code" in grid_layer else grid_layer["grid_id"].astype(str)
    data = popup.assign(
        grid_id=grid_layer["grid_id"].astype(str),
        label=codes,  # the grid code (网格编码) where the community has a code, else the grid id
        search=(grid_layer["grid_id"].astype(str) + (" " + codes).where(codes != grid_layer["grid_id"].astype(str), "")
                + (" " + grid_layer["name"].astype(str) if "name" in grid_layer else "")),
        kind_=grid_layer["kind"].astype(str),
        deviation_pct=grid_layer["deviation_pct"],
        label_lat=grid_layer["label_lat"],
        label_lon=grid_layer["label_lon"],
        geometry=grid_layer.geometry,
    )
    data = gpd.GeoDataFrame(data, geometry="geometry", crs=grid_layer.crs)

    def style(feature):
        props = feature["properties"]
        ordinary = props["kind_"] == "ordinary"
        fill = scale(max(-limit, min(limit, props["deviation_pct"]))) if ordinary else SPECIAL_COLOUR
        return {"fillColor": fill, "color": "#333333", "weight": 1, "fillOpacity": 0.6}

    shown = list(popup.columns)
    aliases = [labels.get(c, c) for c in shown]
    return folium.GeoJson(
        data,
        name=labels["grids"],
        style_function=style,
        highlight_function=lambda _: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["grid_id"], aliases=[labels["grid_id"]]),
        popup=folium.GeoJsonPopup(fields=shown, aliases=aliases, max_width=360),
    )


def _popup_fields(grid_layer: gpd.GeoDataFrame, labels: dict, personal: list[str]) -> pd.DataFrame:
    """The popup of a grid as display strings: no ``null`` or ``nan`` on screen; ``personal`` fields last."""
    g = grid_layer

    def text(values, fmt):
        return [labels["missing"] if pd.isna(v) else fmt(v) for v in values]

    estimated = g["households_estimated"].fillna(0) if "households_estimated" in g else pd.Series(0, index=g.index)
    popup = pd.DataFrame(index=g.index)
    popup["grid_id"] = g["grid_id"].astype(str)
    popup["community_id"] = g["community_id"].astype(str)
    popup["kind"] = [labels.get(f"kind_{k}", k) for k in g["kind"]]
    popup["households"] = [
        f"{h:,.0f} ({labels['estimated'] if e > 0 else labels['registered']})" for h, e in zip(g["households"], estimated)
    ]
    popup["deviation_pct"] = text(g["deviation_pct"], lambda v: f"{v:+.1f}%")
    popup["workload"] = text(g["workload"], lambda v: f"{v:,.0f}") if "workload" in g else labels["missing"]
    popup["party_members"] = [
        labels["missing"] if pd.isna(f) else f"{f:.0f} + {0 if pd.isna(p) else p:.0f}"
        for f, p in zip(g["full_members"], g["probationary_members"])
    ]
    popup["branch_status"] = [labels["missing"] if s is None or pd.isna(s) else labels.get(f"status_{s}", str(s))
                              for s in g["branch_status"]]
    popup["branch_id"] = [labels["missing"] if b is None or pd.isna(b) else str(b) for b in g["branch_id"]]
    popup["grid_worker"] = [labels["missing"] if w is None or pd.isna(w) else str(w)
                            for w in (g["grid_worker"] if "grid_worker" in g else [None] * len(g))]
    popup["service_radius_m"] = text(g["service_radius_m"], lambda v: f"{v:,.0f}")
    popup["coverage_share"] = text(g["coverage_share"], lambda v: f"{v:.0%}")
    for column in personal:
        popup[column] = text(g[column], str)
    return popup


def _coverage(fmap, layers: dict, draw: _Drawer, labels: dict, show_members: bool, buildings, coverage, grids) -> None:
    """The coverage layers that exist, each switchable; personal fields only with ``show_members``."""
    orgs = layers["party_orgs"]
    if orgs is not None and len(orgs):
        orgs = draw.frame(orgs)
        kinds = list(ORG_MARKERS) + sorted(set(orgs["kind"].astype(str)) - set(ORG_MARKERS))
        for kind in kinds:
            of_kind = orgs[orgs["kind"].astype(str) == kind]
            if len(of_kind):
                symbol, colour, size = ORG_MARKERS.get(kind, OTHER_ORG_MARKER)
                _points(of_kind, ["org_id", "kind"], labels, show_members,
                        f"{labels['party_orgs']}: {labels.get(f'org_{kind}', kind)}",
                        folium.Marker(icon=_symbol(symbol, colour, size))).add_to(fmap)
    isochrones = layers["isochrones"]
    if isochrones is not None and len(isochrones):
        # drawn over the grids but click-through, so that a click still opens the grid's popup
        folium.GeoJson(draw.frame(isochrones[["point_id", "radius_m", isochrones.geometry.name]], polygons=True),
                       name=labels["isochrones"], interactive=False,
                       style_function=lambda _: {"color": "#1a9850", "weight": 1, "fillColor": "#1a9850",
                                                 "fillOpacity": 0.12}).add_to(fmap)
    points = layers["service_points"]
    if points is not None and len(points):
        _points(draw.frame(points), ["point_id", "kind", "name"], labels, show_members, labels["service_points"],
                folium.CircleMarker(radius=6, color="#1a9850", fill=True, fill_color="#1a9850", fill_opacity=0.9)).add_to(fmap)
    spots = blind_spots(coverage, buildings)
    if spots is not None and len(spots):
        spots = spots.set_geometry(spots.geometry.representative_point())
        _points(draw.frame(spots), ["building_id", "households", "nearest_service_m"], labels, show_members,
                labels["blind_spots"], folium.CircleMarker(radius=3, color="#d7301f", weight=1, fill=True,
                                                             fill_color="#d7301f", fill_opacity=0.8)).add_to(fmap)
    joint = layers["joint_branches"]
    if joint is not None and len(joint):
        _shapes(draw.frame(_joint_branch_shapes(joint, grids), polygons=True), ["branch_id", "grids", "members"], labels,
                show_members, labels["joint_branches"],
                {"fill": False, "color": "#f08c00", "weight": 3, "dashArray": "6 4"}).add_to(fmap)
    sites = layers["proposed_sites"]
    if sites is not None and len(sites):
        _points(draw.frame(sites), ["site_id", "households_covered"], labels, show_members, labels["proposed_sites"],
                folium.Marker(icon=_symbol("✚", "#1a9850", 20))).add_to(fmap)
    micro = layers["micro_grids"]
    if micro is not None and len(micro):
        _shapes(draw.frame(micro, polygons=True), ["micro_grid_id", "grid_id", "households"], labels, show_members,
                labels["micro_grids"], {"fill": False, "color": "#6a51a3", "weight": 1}, show=False).add_to(fmap)


def _joint_branch_shapes(joint: pd.DataFrame, grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A joint branch drawn as the union of its grids."""
    if isinstance(joint, gpd.GeoDataFrame) and joint.geometry.notna().all():
        return joint
    by_id = grids.set_index("grid_id").geometry
    geometry = [shapely.union_all([by_id[g] for g in str(ids).split(",") if g in by_id.index]) for ids in joint["grids"]]
    return gpd.GeoDataFrame(pd.DataFrame(joint).drop(columns="geometry", errors="ignore"), geometry=geometry, crs=grids.crs)


def _public(frame: gpd.GeoDataFrame, fields: list[str], show_members: bool) -> gpd.GeoDataFrame:
    """Only the named non-personal fields, or every field with ``show_members``."""
    keep = [c for c in frame.columns if c != frame.geometry.name] if show_members else [c for c in fields if c in frame]
    out = frame[keep + [frame.geometry.name]].copy()
    for column in keep:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(str)
    return out


def _points(frame, fields, labels, show_members, name, marker) -> folium.GeoJson:
    data = _public(frame, fields, show_members)
    shown = [c for c in data.columns if c != data.geometry.name]
    return folium.GeoJson(data, name=name, marker=marker,
                          popup=folium.GeoJsonPopup(fields=shown, aliases=[labels.get(c, c) for c in shown]))


def _shapes(frame, fields, labels, show_members, name, style, show: bool = True) -> folium.GeoJson:
    data = _public(frame, fields, show_members)
    shown = [c for c in data.columns if c != data.geometry.name]
    return folium.GeoJson(data, name=name, show=show, style_function=lambda _: style,
                          popup=folium.GeoJsonPopup(fields=shown, aliases=[labels.get(c, c) for c in shown]))


def _symbol(symbol: str, colour: str, size: int) -> folium.DivIcon:
    return folium.DivIcon(
        html=f'<div style="font-size:{size}px;line-height:{size}px;color:{colour};text-shadow:0 0 2px #fff">{symbol}</div>',
        icon_size=(size, size), icon_anchor=(size // 2, size // 2), class_name="gp-symbol",
    )


class _GridLabels(MacroElement):
    """Grid codes at each grid's representative point, shown from ``min_zoom`` on while the grids are."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }}, grids = {{ this.layer.get_name() }}, labels = L.layerGroup();
    grids.eachLayer(function(l) {
        var p = l.feature.properties;
        labels.addLayer(L.marker([p.label_lat, p.label_lon], {interactive: false, keyboard: false,
            icon: L.divIcon({className: 'gp-grid-label', html: p.label, iconSize: null})}));
    });
    function update() {
        if (map.getZoom() >= {{ this.min_zoom }} && map.hasLayer(grids)) { map.addLayer(labels); }
        else { map.removeLayer(labels); }
    }
    map.on('zoomend overlayadd overlayremove', update);
    update();
})();
{% endmacro %}
{% macro header(this, kwargs) %}
<style>.gp-grid-label{font:11px/1.2 sans-serif;color:#111;text-shadow:0 0 3px #fff,0 0 3px #fff;white-space:nowrap;
transform:translate(-50%,-50%)}</style>
{% endmacro %}
""")

    def __init__(self, layer, min_zoom: int):
        super().__init__()
        self.layer, self.min_zoom = layer, min_zoom


class _ZoomGate(MacroElement):
    """A layer shown only from ``min_zoom`` on."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }}, layer = {{ this.layer.get_name() }};
    function update() { if (map.getZoom() >= {{ this.min_zoom }}) { map.addLayer(layer); } else { map.removeLayer(layer); } }
    map.on('zoomend', update);
    update();
})();
{% endmacro %}
""")

    def __init__(self, layer, min_zoom: int):
        super().__init__()
        self.layer, self.min_zoom = layer, min_zoom


class _MetricScale(MacroElement):
    """A scale bar in metres only."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")


class _Legend(MacroElement):
    """The deviation scale and the symbols of the coverage layers, as plain HTML (no script, works offline)."""

    _template = Template("""
{% macro html(this, kwargs) %}
<div class="gp-legend" style="position:fixed;bottom:28px;right:10px;z-index:1000;background:rgba(255,255,255,.92);
padding:8px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.5 sans-serif;width:200px">
{{ this.body }}
</div>
{% endmacro %}
""")

    def __init__(self, settings: GridSettings, labels: dict, layers: dict):
        super().__init__()
        limit = settings.tolerance * 100
        gradient = ",".join(DEVIATION_COLOURS)
        rows = [
            f"<b>{html.escape(labels['legend'])}</b>",
            f'<div style="height:10px;background:linear-gradient(to right,{gradient})"></div>',
            f'<div style="display:flex;justify-content:space-between"><span>−{limit:.0f}%</span><span>0</span>'
            f"<span>+{limit:.0f}%</span></div>",
            f'<div style="display:flex;justify-content:space-between"><span>{settings.floor:.0f}</span>'
            f"<span>{settings.target:.0f} {html.escape(labels['households_unit'])}</span><span>{settings.ceiling:.0f}</span></div>",
            f'<div><span style="display:inline-block;width:12px;height:12px;background:{SPECIAL_COLOUR}"></span> '
            f"{html.escape(labels['kind_special'])}</div>",
        ]
        if layers["party_orgs"] is not None:
            rows += [f'<div><span style="color:{c}">{s}</span> {html.escape(labels[f"org_{k}"])}</div>'
                     for k, (s, c, _) in ORG_MARKERS.items()]
        if layers["service_points"] is not None:
            rows.append(f'<div><span style="color:#1a9850">●</span> {html.escape(labels["service_points"])}</div>')
        if layers["service_coverage"] is not None:
            rows.append(f'<div><span style="color:#d7301f">•</span> {html.escape(labels["blind_spots"])}</div>')
        if layers["proposed_sites"] is not None:
            rows.append(f'<div><span style="color:#1a9850">✚</span> {html.escape(labels["proposed_sites"])}</div>')
        if layers["joint_branches"] is not None:
            rows.append(f'<div><span style="color:#f08c00">┅</span> {html.escape(labels["joint_branches"])}</div>')
        self.body = "\n".join(rows)


def _inline_assets(fmap: folium.Map) -> None:
    """Every script and stylesheet of the map's elements inlined from ``folium-offline``'s copies.

    Raises
    ------
    InputError
        An element needs a file that ``folium-offline`` does not ship (the map would not work offline).
    """
    try:
        from offlinefolium.elements import _res as assets
    except ImportError as exc:
        raise InputError("offline maps need the folium-offline package (pip install folium-offline)") from exc
    header = fmap.get_root().header
    seen: set[str] = set()
    for element in _walk(fmap):
        for kind in ("default_js", "default_css"):
            links = getattr(element, kind, None)
            if not links:
                continue
            for name, url in links:
                if name in seen or name in _OFFLINE_UNUSED:
                    continue
                seen.add(name)
                text = assets.get(url)  # keyed by the URLs folium 0.20 links (leaflet 1.9.3, ...)
                if text is None:
                    raise InputError(f"no offline copy of {url} ({name}) in folium-offline")
                if kind == "default_js":
                    header.add_child(Element(f"<script>{text}</script>"), name=name)
                else:
                    # relative images (a spinner) would be looked for beside the HTML file
                    header.add_child(Element(f"<style>{_RELATIVE_URL.sub('none', text)}</style>"), name=name)
            setattr(element, kind, [])


_RELATIVE_URL = re.compile(r"url\((?!\s*['\"]?data:)[^)]*\)")


def _walk(element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


_LABELS = {
    "zh": {
        "grids": "网格", "communities": "社区边界", "buildings": "楼栋", "legend": "户数偏离目标 (%)",
        "households_unit": "户", "grid_id": "网格编号", "community_id": "社区", "kind": "类型", "households": "户数",
        "registered": "登记", "estimated": "含估算", "deviation_pct": "偏离目标", "workload": "工作量",
        "party_members": "党员 (正式 + 预备)", "branch_status": "党支部", "branch_id": "联合党支部",
        "grid_worker": "网格员", "service_radius_m": "服务半径 (米)", "coverage_share": "服务覆盖户数占比",
        "missing": "—", "kind_ordinary": "综合网格", "kind_special": "专属网格 / 超规模", "kind_oversize": "超规模网格",
        "kind_small": "小网格", "status_branch": "独立党支部", "status_joint": "联合党支部",
        "status_joint_branch": "联合党支部", "status_none": "无党组织", "status_missing": "无党组织",
        "party_orgs": "党组织", "org_committee": "社区党委", "org_branch": "网格党支部", "org_joint_branch": "联合党支部",
        "service_points": "服务站点", "isochrones": "步行服务圈", "blind_spots": "服务盲区", "joint_branches": "联合党支部建议",
        "proposed_sites": "建议新增站点", "micro_grids": "微网格", "search": "按网格编号或名称搜索",
        "fullscreen": "全屏", "fullscreen_exit": "退出全屏", "osm": "OpenStreetMap", "tianditu": "天地图",
        "tianditu_notes": "天地图注记", "gaode": "高德地图",
        "org_id": "编号", "point_id": "编号", "name": "名称", "radius_m": "步行距离 (米)", "building_id": "楼栋",
        "nearest_service_m": "最近站点 (米)", "members": "党员数", "site_id": "编号",
        "households_covered": "可覆盖户数", "micro_grid_id": "微网格",
    },
    "en": {
        "grids": "Grids", "communities": "Community boundaries", "buildings": "Buildings",
        "legend": "Households vs target (%)", "households_unit": "households", "grid_id": "Grid",
        "community_id": "Community", "kind": "Kind", "households": "Households", "registered": "registered",
        "estimated": "partly estimated", "deviation_pct": "Deviation", "workload": "Workload",
        "party_members": "Party members (full + probationary)", "branch_status": "Party branch",
        "branch_id": "Joint branch", "grid_worker": "Grid worker", "service_radius_m": "Service radius (m)",
        "coverage_share": "Households within a service circle", "missing": "—", "kind_ordinary": "ordinary",
        "kind_special": "special / oversize", "kind_oversize": "oversize", "kind_small": "small",
        "status_branch": "own branch", "status_joint": "joint branch", "status_joint_branch": "joint branch",
        "status_none": "no party organization", "status_missing": "no party organization",
        "party_orgs": "Party organizations", "org_committee": "Community committee", "org_branch": "Grid branch",
        "org_joint_branch": "Joint branch", "service_points": "Service points", "isochrones": "Walking circles",
        "blind_spots": "Blind spots", "joint_branches": "Proposed joint branches", "proposed_sites": "Proposed sites",
        "micro_grids": "Micro-grids", "search": "Search grid code or name", "fullscreen": "Full screen",
        "fullscreen_exit": "Exit full screen", "osm": "OpenStreetMap", "tianditu": "Tianditu",
        "tianditu_notes": "Tianditu labels", "gaode": "Gaode",
        "org_id": "Id", "point_id": "Id", "name": "Name", "radius_m": "Walking distance (m)", "building_id": "Building",
        "nearest_service_m": "Nearest service point (m)", "members": "Members", "site_id": "Id",
        "households_covered": "Households covered", "micro_grid_id": "Micro-grid",
    },
}
