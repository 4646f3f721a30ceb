"""Folium maps of a plan: grids coloured by their deviation from the target, party organizations, service
circles, blind spots and proposals, on OpenStreetMap, 天地图 (Tianditu) or Gaode tiles, or offline.

Maps are drawn in WGS84 (EPSG:4326), whatever the plan's CRS; on Gaode tiles every layer is moved to GCJ-02
so that it lies on the tiles. Only counts per grid reach the HTML: party member ids and other personal fields
are left out unless ``show_members`` is asked for (党员信息属个人敏感信息).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.plugins import Fullscreen, MeasureControl, Search
from jinja2 import Template

from gridplan.core.codes import short_serial
from gridplan.core.coords import from_wgs84
from gridplan.core.files import atomic_path
from gridplan.core.results import Coverage, Levels, Plan, PlanRun
from gridplan.core.scene import RAIL_BARRIERS, PreparedScene
from gridplan.errors import InputError
from gridplan.settings import BASEMAPS, MAP_VIEWS, SIMPLIFY_M, GridSettings
from gridplan.style import (
    BRANCH_STATUS_COLOURS,
    DEVIATION_COLOURS,
    GRID_FILL_OPACITY,
    JOINT_BRANCH_COLOURS,
    ORG_MARKERS,
    OTHER_ORG_MARKER,
    PAPER_COLOUR,
    SEVERITY_COLOURS,
    SPECIAL_COLOUR,
    STREET_COLOUR,
    STREET_WIDTH_MINOR,
    STREET_WIDTHS,
    WATER_COLOUR,
    grid_fill,
)
from gridplan.vocabulary import (
    LANGUAGES,
    MAP_WORDS,
    GridKind,
    OrgKind,
    Rule,
    Severity,
    check_language,
    column_label,
    household_statement,
    label,
    word,
)

from .tables import data_source, grid_codes, grid_table

if TYPE_CHECKING:
    from gridplan.review.compliance import Compliance

#: Grid labels show the short serial below this zoom and the full code from it on; labels that would
#: overlap a bigger grid's label are hidden at every zoom.
FULL_CODE_ZOOM = 17
#: The switchable layers each view (:data:`gridplan.settings.MAP_VIEWS`) opens with; every other one is off until
#: switched on. Streets, water, buildings and community boundaries are always on.
VIEW_LAYERS = {
    "grids": frozenset({"grids", "areas", "party_orgs", "service_points", "proposed_sites"}),
    "party": frozenset({"party_status", "joint_branches", "party_orgs"}),
    "service": frozenset({"grids", "service_points", "isochrones", "blind_spots", "proposed_sites"}),
}
#: Building footprints are drawn from this zoom on: a district's 20,000 footprints would not pan smoothly.
BUILDING_MIN_ZOOM = 16
#: A failure zoomed to from the list is shown at most at this zoom (a small enclave is not blown up to the pixel).
FAILURE_MAX_ZOOM = 18
#: 6 decimals of a degree ≈ 0.1 m.
COORDINATE_DECIMALS = 6

#: The columns of ``grid_party`` that every map shows: counts and status, nobody's identity.
_PARTY_COUNTS = (
    "grid_id",
    "community_id",
    "full_members",
    "probationary_members",
    "members",
    "orgs",
    "households",
    "status",
    "branch_id",
)

_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
_GAODE = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
#: Stylesheets of folium's defaults that gridplan's maps never use; left out offline (icon fonts by relative URL).
_OFFLINE_UNUSED = ("awesome_markers_font_css", "glyphicons_css")


def plan_map(
    plan: Plan | PlanRun,
    prepared: PreparedScene,
    coverage: Coverage | None = None,
    *,
    lang: str = "zh",
    basemap: str = "none",
    tianditu_key: str | None = None,
    offline: bool = False,
    show_members: bool = False,
    simplify_m: float = SIMPLIFY_M,
    buildings: bool = True,
    settings: GridSettings | None = None,
    view: str = "grids",
    attribution: str | None = None,
) -> folium.Map:
    """A self-contained map of a plan: switchable layers, legend, popups, search by grid code, measure tool,
    scale bar; every script and stylesheet inlined, so the HTML opens anywhere.

    Parameters
    ----------
    plan
        The plan (or the run, whose areas and micro-grids are drawn when it has levels); grids are coloured
        by ``households / target − 1`` against the bounds the plan was made with, special and oversize apart.
    prepared
        The scene planned: community boundaries, streets, water, building footprints (from zoom
        :data:`BUILDING_MIN_ZOOM` on) and party organizations are drawn from it.
    coverage
        The plan's coverage, if analysed: a layer of grids coloured by party organization status, service
        points, walking circles and blind spots (both off until switched on), joint-branch proposals and
        proposed sites. Generated inputs are labelled so.
    lang
        ``"zh"`` (default) or ``"en"`` labels.
    basemap
        ``"none"`` (default: no tiles, the scene's streets, water and buildings are the background, and
        nothing is requested from any server), ``"osm"`` (天地图 selectable too when ``tianditu_key`` is
        given), ``"tianditu"`` or ``"gaode"`` (every layer moved to GCJ-02 to match its tiles).
    tianditu_key
        The user's 天地图 key (tk).
    offline
        No tiles (as ``basemap="none"``, the map for an intranet); a tile ``basemap`` with it is an error.
    show_members
        Keep personal fields (party member ids, names) of the coverage layers in the HTML.
    simplify_m
        Polygon simplification tolerance in metres (0 keeps every vertex).
    buildings
        Draw the building footprints.
    settings
        The target and bounds of the colour scale; by default those the plan was made with.
    view
        The layers the map opens with (:data:`VIEW_LAYERS`): ``"grids"`` (default: households against the
        target), ``"party"`` (grids by party organization status, the joint branches proposed and the party
        organizations, for the organization department) or ``"service"`` (service points, walking circles and
        blind spots); the others can be switched on.
    attribution
        Whom the scene's data is owed to, shown in the map's corner (an OpenStreetMap scene:
        ``gridplan.io.osm.OSM_ATTRIBUTION``, as the ODbL asks).

    Returns
    -------
    folium.Map
        Write it with :func:`save_map`.

    Raises
    ------
    InputError
        Unknown ``lang``, ``basemap`` or ``view``, 天地图 without a key, tiles asked for offline, or a party or
        service view without the coverage it shows.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import plan_map, plan_scene
    >>> fmap = plan_map(plan_scene(prepared), prepared, lang="en")  # offline: the scene's streets, no tiles
    >>> type(fmap).__name__
    'Map'
    """
    check_language(lang)
    check_basemap(basemap, tianditu_key, offline)
    check_view(view, coverage is not None)
    shown = VIEW_LAYERS[view]
    run = plan if isinstance(plan, PlanRun) else PlanRun(plan)
    plan = run.plan
    settings = plan.settings.grid if settings is None else settings
    text = _Text(lang, (coverage.provenance if coverage is not None else plan.provenance).generated_inputs())
    draw = _Drawer("gcj02" if basemap == "gaode" else None, simplify_m)

    table, personal = _map_table(plan, coverage, settings, show_members)
    grids = plan.grids[["grid_id", "geometry"]].merge(table, on="grid_id")
    # labels of big grids first where two would overlap on screen
    grids["label_rank"] = _area_rank(grids)
    grid_layer = draw.frame(grids, simplify=True)

    fmap = folium.Map(tiles=None)
    west, south, east, north = grid_layer.total_bounds
    fmap.fit_bounds([[south, west], [north, east]])
    _basemaps(fmap, basemap, tianditu_key, text)

    scene = prepared.scene
    _scene_background(fmap, scene, draw, text)
    grid_geojson = _grid_layer(grid_layer, settings, text, personal, show="grids" in shown).add_to(fmap)
    labels = _Labels(FULL_CODE_ZOOM)
    # the grid codes label the party status layer too: it is the same grids, coloured otherwise
    grid_label_layers = [grid_geojson]
    if coverage is not None:
        grid_label_layers.append(_party_status_layer(grid_layer, text, show="party_status" in shown).add_to(fmap))
    if run.levels is not None:
        _levels(fmap, run.levels, draw, text, show_members, shown)
    folium.GeoJson(
        draw.frame(scene.communities[["community_id", "geometry"]], simplify=True),
        name=text["communities"],
        interactive=False,
        style_function=lambda _: {"fill": False, "color": "#000000", "weight": 3},
    ).add_to(fmap)
    _party_orgs(fmap, scene.party_orgs, draw, text, show_members, show="party_orgs" in shown)
    if coverage is not None:
        joint = _coverage(fmap, coverage, draw, text, show_members, plan.grids, shown)
        if joint is not None:
            # placed first: where a joint branch's label and a grid's would overlap, the grid's gives way
            labels.add_set([joint[0]], "gp-joint-label", joint[1])
    codes, anchors = grid_codes(grid_layer), grid_layer.geometry.representative_point()
    labels.add_set(
        grid_label_layers,
        "gp-grid-label",
        _label_items(anchors.y, anchors.x, grid_layer["label_rank"], codes.map(short_serial), codes),
    )
    fmap.add_child(labels)
    if buildings:
        _footprints(fmap, scene, draw, text)
    households = household_statement(
        int(table["households"].sum()),
        int(table["households_estimated"].sum()),
        plan.settings.households.dwelling_size_m2,
        lang,
    )
    _controls(
        fmap,
        grid_geojson,
        _Legend(settings, text, scene.party_orgs is not None, coverage, households),
        text,
        shown,
        attribution,
    )
    _inline_assets(fmap)
    return fmap


def _map_table(
    plan: Plan, coverage: Coverage | None, settings: GridSettings, show_members: bool
) -> tuple[pd.DataFrame, list[str]]:
    """The grid table a map shows, and the personal columns of the party table joined to it where they are asked
    for (by default none: only counts reach the HTML)."""
    table = grid_table(plan, coverage, settings)
    personal: list[str] = []
    if show_members and coverage is not None:
        party = coverage.grid_party
        personal = [c for c in party.columns if c not in _PARTY_COUNTS]
        table = table.merge(party[["grid_id"] + personal], on="grid_id", how="left")
    return table, personal


def _footprints(fmap: folium.Map, scene, draw: _Drawer, text: _Text) -> None:
    """Building footprints, drawn from :data:`BUILDING_MIN_ZOOM` on."""
    footprints = folium.GeoJson(
        draw.frame(scene.buildings[["building_id", "geometry"]], simplify=True),
        name=text["buildings"],
        control=False,
        interactive=False,
        style_function=lambda _: {"color": "#555555", "weight": 0.5, "fillOpacity": 0.2},
    ).add_to(fmap)
    fmap.add_child(_ZoomGate(footprints, BUILDING_MIN_ZOOM))


def _controls(
    fmap: folium.Map, grid_geojson: folium.GeoJson, legend: MacroElement, text: _Text, shown, attribution
) -> None:
    """The scale, attribution, legend, full screen, measuring, grid search and layer controls."""
    fmap.add_child(_MetricScale())
    if attribution:
        fmap.add_child(_Attribution(attribution))
    fmap.add_child(legend)
    Fullscreen(title=text["fullscreen"], title_cancel=text["fullscreen_exit"]).add_to(fmap)
    MeasureControl(
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
    ).add_to(fmap)
    Search(
        layer=grid_geojson,
        search_label="search",
        geom_type="Polygon",
        placeholder=text["search"],
        collapsed=False,
        search_zoom=16,
        position="topleft",
    ).add_to(fmap)
    if "grids" not in shown:
        fmap.add_child(_Off(grid_geojson))  # the search control puts the layer it searches on the map
    folium.LayerControl(collapsed=False).add_to(fmap)


def check_basemap(basemap: str, tianditu_key: str | None = None, offline: bool = False) -> None:
    """Raise :class:`InputError` for an unknown basemap, 天地图 without a key, or tiles asked for offline."""
    if basemap not in BASEMAPS:
        raise InputError(
            f"unknown basemap {basemap!r}: use one of {', '.join(BASEMAPS)}",
            zh=f"没有底图 {basemap!r}：可选 {'、'.join(BASEMAPS)}",
        )
    if offline and basemap != "none":
        raise InputError(
            f"offline means no tiles: drop the {basemap} basemap or offline",
            zh=f"离线地图不加载瓦片：去掉底图 {basemap} 或离线选项",
        )
    if basemap == "tianditu" and not tianditu_key:
        raise InputError(
            "the 天地图 (Tianditu) basemap needs a key (--tianditu-key)",
            zh="天地图底图需要密钥：请用 --tianditu-key 提供",
        )


def check_view(view: str, coverage: bool = True) -> None:
    """Raise :class:`InputError` for an unknown view, or a party or service view of a map without coverage."""
    if view not in MAP_VIEWS:
        raise InputError(
            f"unknown map view {view!r}: use one of {', '.join(MAP_VIEWS)}",
            zh=f"未知的地图视图 {view!r}：可选 {'、'.join(MAP_VIEWS)}",
        )
    if view != "grids" and not coverage:
        raise InputError(
            f"the {view} view shows a plan's coverage: give the coverage of the plan (gridplan coverage writes it)",
            zh=f"{view} 视图显示方案的覆盖情况：请提供该方案的覆盖分析结果（由 gridplan coverage 写出）",
        )


def compliance_map(
    compliance: "Compliance",
    prepared: PreparedScene,
    *,
    lang: str = "zh",
    simplify_m: float = SIMPLIFY_M,
    attribution: str | None = None,
) -> folium.Map:
    """A self-contained map of a compliance check (合规检查): the grids checked, each failure drawn (rules in red,
    guidance in orange) with a popup saying the rule, the value, the limit and the source, and a list of every
    failure beside the map: a click zooms to it and opens its popup. No tiles (the scene's streets and water are
    the background) and every script inlined, so the HTML opens offline.

    Parameters
    ----------
    compliance
        :func:`gridplan.review.compliance.check_compliance`'s result.
    prepared
        The scene checked: its communities, streets and water are drawn.
    lang
        ``"zh"`` (default) or ``"en"``.
    simplify_m
        Simplification of the grids and the background, in metres (failures are drawn exactly).
    attribution
        Whom the scene's data is owed to (an OpenStreetMap scene: ``gridplan.io.osm.OSM_ATTRIBUTION``).
    """
    check_language(lang)
    text = _Text(lang, [])
    draw = _Drawer(None, simplify_m)
    grids = draw.frame(compliance.grids, simplify=True)
    table = compliance.table(lang)
    table["rule"] = [label(Rule(r), lang) for r in compliance.failures["rule"]]
    colours = [SEVERITY_COLOURS[s] for s in table["severity"]]
    table["severity"] = [label(Severity(s), lang) for s in table["severity"]]
    table["colour"] = colours
    failures = _Drawer(None, 0).frame(table)

    fmap = folium.Map(tiles=None)
    west, south, east, north = grids.total_bounds if len(grids) else failures.total_bounds
    fmap.fit_bounds([[south, west], [north, east]])
    _basemaps(fmap, "none", None, text)
    _scene_background(fmap, prepared.scene, draw, text)
    shown = ["grid_id", "code", "community_id", "households"]
    folium.GeoJson(
        grids,
        name=text["grids"],
        style_function=lambda _: {"fill": False, "color": "#444444", "weight": 1.5},
        popup=folium.GeoJsonPopup(fields=shown, aliases=text.aliases(shown)),
    ).add_to(fmap)
    folium.GeoJson(
        draw.frame(prepared.scene.communities[["community_id", "geometry"]], simplify=True),
        name=text["communities"],
        interactive=False,
        style_function=lambda _: {"fill": False, "color": "#000000", "weight": 3},
    ).add_to(fmap)
    fields = ["failure_id", "rule", "severity", "community_id", "grid_id", "value", "limit", "message", "source"]
    layer = folium.GeoJson(
        failures,
        name=text["failures"],
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "fillColor": f["properties"]["colour"],
            "weight": 3,
            "fillOpacity": 0.45,
        },
        popup=folium.GeoJsonPopup(fields=fields, aliases=text.aliases(fields)),
    ).add_to(fmap)
    bounds = shapely.bounds(failures.geometry.to_numpy())
    items = [
        {
            "id": r.failure_id,
            "colour": r.colour,
            "text": f"{r.failure_id} · {r.rule} · {r.grid_id or r.community_id}: {r.message}",
            "bounds": [[b[1], b[0]], [b[3], b[2]]],
        }
        for r, b in zip(failures.itertuples(), bounds.tolist())
    ]
    fmap.add_child(_FailureList(layer, items, text["failures_title"].format(n=len(items)), FAILURE_MAX_ZOOM))
    fmap.add_child(_MetricScale())
    if attribution:
        fmap.add_child(_Attribution(attribution))
    Fullscreen(title=text["fullscreen"], title_cancel=text["fullscreen_exit"]).add_to(fmap)
    folium.LayerControl(collapsed=False, position="bottomright").add_to(fmap)
    _inline_assets(fmap)
    return fmap


def save_map(fmap: folium.Map, path) -> None:
    """Write the map's HTML atomically.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import plan_map, plan_scene, save_map
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.html"
    >>> save_map(plan_map(plan_scene(prepared), prepared), path)
    >>> path.stat().st_size > 100_000  # scripts and styles inlined: it opens without a network
    True
    """
    with atomic_path(path) as tmp:
        fmap.save(str(tmp))


class _Drawer:
    """Layers to WGS84 (or GCJ-02), simplified in metres, with coordinates rounded to ~0.1 m."""

    def __init__(self, shift: str | None, simplify_m: float):
        self.shift, self.simplify_m = shift, simplify_m

    def frame(self, gdf: gpd.GeoDataFrame, simplify: bool = False) -> gpd.GeoDataFrame:
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
        if simplify and self.simplify_m > 0:
            metric = gdf.crs if gdf.crs.is_projected else gdf.estimate_utm_crs()
            simplified = gdf.geometry.to_crs(metric).simplify(self.simplify_m, preserve_topology=True)
            gdf = gdf.set_geometry(simplified.to_crs(gdf.crs))
        gdf = gdf.to_crs(4326)
        if self.shift:
            gdf = from_wgs84(gdf, self.shift)
        geometry = shapely.transform(gdf.geometry.values, lambda xy: np.round(xy, COORDINATE_DECIMALS))
        return gdf.set_geometry(geometry)


def _basemaps(fmap: folium.Map, basemap: str, key: str | None, labels: "_Text") -> None:
    # under the tiles, or alone: a plain paper colour on which the scene's streets and water read
    fmap.get_root().header.add_child(
        Element(f"<style>.leaflet-container{{background:{PAPER_COLOUR} !important}}</style>")
    )
    if basemap == "none":
        return
    osm = folium.TileLayer("OpenStreetMap", name=labels["osm"])
    tianditu = None
    if key:
        tianditu = folium.TileLayer(
            _TIANDITU.format(layer="vec", key=key, s="{s}"),
            attr="&copy; 天地图 Tianditu",
            name=labels["tianditu"],
            subdomains="01234567",
            max_zoom=18,
        )
        tianditu_notes = folium.TileLayer(
            _TIANDITU.format(layer="cva", key=key, s="{s}"),
            attr="&copy; 天地图 Tianditu",
            name=labels["tianditu_notes"],
            subdomains="01234567",
            max_zoom=18,
            overlay=True,
            control=True,
        )
    if basemap == "gaode":
        # Gaode's tiles are in GCJ-02, which no other basemap shares: it is the only one offered
        folium.TileLayer(
            _GAODE, attr="&copy; 高德地图 AutoNavi", name=labels["gaode"], subdomains="1234", max_zoom=18
        ).add_to(fmap)
        return
    for layer in [tianditu, osm] if basemap == "tianditu" else [osm, tianditu]:
        if layer is not None:
            layer.add_to(fmap)
    if tianditu is not None:
        tianditu_notes.add_to(fmap)


def _water_style(feature: dict) -> dict:
    line = not feature["geometry"]["type"].endswith("Polygon")
    return {"color": WATER_COLOUR, "weight": 4 if line else 1, "fillColor": WATER_COLOUR, "fillOpacity": 0.9}


def _scene_background(fmap: folium.Map, scene, draw: "_Drawer", text: "_Text") -> None:
    """Water, railways and streets of the scene under the grids, so that a map without tiles still shows
    the streets and rivers the grid boundaries follow (街巷定界)."""
    barriers = scene.barriers
    if barriers is not None and len(barriers):
        kinds = barriers["kind"].astype(str) if "kind" in barriers else pd.Series("", index=barriers.index)
        rail = kinds.isin(RAIL_BARRIERS).to_numpy()
        water = barriers[~rail]
        if len(water):
            folium.GeoJson(
                draw.frame(water[["geometry"]], simplify=True),
                name=text["water"],
                interactive=False,
                style_function=_water_style,
            ).add_to(fmap)
        if rail.any():
            folium.GeoJson(
                draw.frame(barriers[rail][["geometry"]]),
                name=text["rail"],
                interactive=False,
                style_function=lambda _: {"color": "#555555", "weight": 2, "dashArray": "8 4"},
            ).add_to(fmap)
    streets = scene.streets
    if streets is not None and len(streets):
        classes = streets["highway"].astype(str) if "highway" in streets else pd.Series("", index=streets.index)
        frame = draw.frame(
            gpd.GeoDataFrame(
                {"width": classes.map(STREET_WIDTHS).fillna(STREET_WIDTH_MINOR).to_numpy()},
                geometry=streets.geometry.to_numpy(),
                crs=streets.crs,
            ),
            simplify=True,
        )
        folium.GeoJson(
            frame,
            name=text["streets"],
            interactive=False,
            style_function=lambda f: {"color": STREET_COLOUR, "weight": f["properties"]["width"], "opacity": 0.95},
        ).add_to(fmap)


class _Text:
    """The words of one map, in one language: interface words, column headers and the vocabulary's labels;
    layers built on generated inputs say so in their names."""

    def __init__(self, lang: str, generated: list[str]):
        self.lang, self.generated = lang, generated
        self.words = _LABELS[lang]

    def __getitem__(self, key: str) -> str:
        return self.words[key]

    def get(self, key: str, default: str | None = None) -> str:
        return self.words.get(key, column_label(key, self.lang) if default is None else default)

    def layer(self, key: str, source: str) -> str:
        """A layer's name, marked when the input it shows (``source``) was generated."""
        return f"{self.words[key]} ({word('generated', self.lang)})" if source in self.generated else self.words[key]

    def aliases(self, fields: list[str]) -> list[str]:
        return [self.get(c) for c in fields]


def _grid_layer(
    grid_layer: gpd.GeoDataFrame, settings: GridSettings, text: _Text, personal: list[str], show: bool = True
) -> folium.GeoJson:
    fill = grid_fill(settings)
    popup = _popup_fields(grid_layer, text, personal)
    codes = grid_codes(grid_layer)
    ids = grid_layer["grid_id"].astype(str)
    data = popup.assign(
        grid_id=ids,
        label=codes,
        serial=codes.map(short_serial),
        search=ids
        + (" " + codes).where(codes != ids, "")
        + (" " + grid_layer["name"].astype(str) if "name" in grid_layer else ""),
        kind_=grid_layer["kind"].astype(str),
        deviation_=grid_layer["deviation_pct"],  # the number the colour is made of; the popup shows it with its unit
        geometry=grid_layer.geometry,
    )
    data = gpd.GeoDataFrame(data, geometry="geometry", crs=grid_layer.crs)

    def style(feature):
        props = feature["properties"]
        return {
            "fillColor": fill(props["kind_"], props["deviation_"]),
            "color": "#333333",
            "weight": 1,
            "fillOpacity": GRID_FILL_OPACITY,
        }

    shown = list(popup.columns)
    return folium.GeoJson(
        data,
        name=text["grids"],
        show=show,
        style_function=style,
        highlight_function=lambda _: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["label"], aliases=[text.get("code")]),
        popup=folium.GeoJsonPopup(fields=shown, aliases=text.aliases(shown), max_width=360),
    )


def _popup_fields(grid_layer: gpd.GeoDataFrame, text: _Text, personal: list[str]) -> pd.DataFrame:
    """The popup of a grid as display strings with their units: no ``null`` or ``nan`` on screen;
    ``personal`` fields last. The first line is the code on the grid's label."""
    g = grid_layer
    missing = text["missing"]

    def shown(values, fmt):
        return [missing if v is None or pd.isna(v) else fmt(v) for v in values]

    lang = text.lang
    single = g["buildings"].fillna(0).to_numpy() <= 1 if "buildings" in g else np.zeros(len(g), dtype=bool)
    popup = pd.DataFrame(index=g.index)
    popup["code"] = grid_codes(g)
    popup["grid_id"] = g["grid_id"].astype(str)
    popup["community_id"] = g["community_id"].astype(str)
    popup["kind"] = [label(k, lang) for k in g["kind"]]
    popup["households"] = [
        f"{h:,.0f} {text['households_unit']} ({label(source, lang)})"
        for h, source in zip(g["households"], g["households_source"])
    ]
    popup["deviation_pct"] = shown(g["deviation_pct"], lambda v: f"{v:+.1f}%")
    popup["workload"] = shown(g["workload"], lambda v: f"{v:,.0f}") if "workload" in g else missing
    popup["party_members"] = [
        missing if pd.isna(f) else f"{f:.0f} + {0 if pd.isna(p) else p:.0f} {text['people_unit']}"
        for f, p in zip(g["full_members"], g["probationary_members"])
    ]
    popup["branch_status"] = shown(g["branch_status"], lambda v: label(v, lang))
    popup["branch_id"] = shown(g["branch_id"], str)
    popup["grid_worker"] = shown(g["grid_worker"], lambda n: word("grid_worker", lang, n=n))
    radius = shown(g["service_radius_m"], lambda v: f"{v:,.0f} {text['metres_unit']}")
    popup["service_radius_m"] = [word("single_building", lang) if one else r for one, r in zip(single, radius)]
    popup["coverage_share"] = shown(g["coverage_share"], lambda v: f"{v:.0%}")
    if text.generated:
        popup["data_source"] = data_source(lang, text.generated)
    for column in personal:
        popup[column] = shown(g[column], str)
    return popup


def _party_status_layer(grid_layer: gpd.GeoDataFrame, text: _Text, show: bool) -> folium.GeoJson:
    """Grids coloured by their party organization status (own branch, joint branch, joins a neighbour's,
    too large, none), for the organization department."""
    data = gpd.GeoDataFrame(
        {
            "code": grid_codes(grid_layer),
            "status": grid_layer["branch_status"].astype(object),
            "status_label": [label(v, text.lang) for v in grid_layer["branch_status"]],
            "branch_id": [text["missing"] if pd.isna(b) else str(b) for b in grid_layer["branch_id"]],
        },
        geometry=grid_layer.geometry.to_numpy(),
        crs=grid_layer.crs,
    )
    return folium.GeoJson(
        data,
        name=text["party_status"],
        show=show,
        style_function=lambda f: {
            "fillColor": BRANCH_STATUS_COLOURS.get(f["properties"]["status"], "#bdbdbd"),
            "color": "#333333",
            "weight": 1,
            "fillOpacity": 0.75,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["code", "status_label", "branch_id"],
            aliases=[text.get("code"), text.get("branch_status"), text.get("branch_id")],
        ),
    )


def _levels(
    fmap: folium.Map, levels: Levels, draw: "_Drawer", text: _Text, show_members: bool, shown: frozenset
) -> None:
    """First-level areas (一级网格: thick outlines) and micro-grids (微网格: thin outlines, off)."""
    if levels.areas is not None and len(levels.areas):
        _shapes(
            draw.frame(levels.areas, simplify=True),
            ["area_id", "grids", "households"],
            text,
            show_members,
            text["areas"],
            {"fill": False, "color": "#08519c", "weight": 4, "opacity": 0.8},
            show="areas" in shown,
        ).add_to(fmap)
    if levels.micro_grids is not None and len(levels.micro_grids):
        _shapes(
            draw.frame(levels.micro_grids, simplify=True),
            ["micro_grid_id", "grid_id", "households"],
            text,
            show_members,
            text["micro_grids"],
            {"fill": False, "color": "#6a51a3", "weight": 1},
            show=False,
        ).add_to(fmap)


def _party_orgs(
    fmap, orgs: gpd.GeoDataFrame | None, draw: "_Drawer", text: _Text, show_members: bool, show: bool = True
) -> None:
    """The scene's party organizations, one switchable layer per kind."""
    if orgs is None or not len(orgs):
        return
    orgs = draw.frame(orgs)
    kinds = orgs["kind"].astype(str) if "kind" in orgs else pd.Series(OrgKind.BRANCH.value, index=orgs.index)
    for kind in list(ORG_MARKERS) + sorted(set(kinds) - set(ORG_MARKERS)):
        of_kind = orgs[(kinds == kind).to_numpy()]
        if len(of_kind):
            symbol, colour, size = ORG_MARKERS.get(kind, OTHER_ORG_MARKER)
            _points(
                of_kind,
                ["org_id", "kind"],
                text,
                show_members,
                f"{text.layer('party_orgs', 'party_orgs')}: {label(kind, text.lang)}",
                folium.Marker(icon=_symbol(symbol, colour, size)),
                show=show,
            ).add_to(fmap)


def _coverage(
    fmap,
    coverage: Coverage,
    draw: "_Drawer",
    text: _Text,
    show_members: bool,
    grids: gpd.GeoDataFrame,
    shown: frozenset,
) -> tuple[folium.FeatureGroup, list[dict]] | None:
    """The coverage layers, each switchable and on as the view says (``shown``), personal fields only with
    ``show_members``; returns the joint branches' layer and its labels (None when none is proposed)."""
    isochrones = coverage.isochrones
    if len(isochrones):
        # drawn over the grids but click-through, so that a click still opens the grid's popup
        folium.GeoJson(
            draw.frame(isochrones[["point_id", "radius_m", isochrones.geometry.name]], simplify=True),
            name=text.layer("isochrones", "service_points"),
            interactive=False,
            show="isochrones" in shown,
            style_function=lambda _: {"color": "#1a9850", "weight": 1, "fillColor": "#1a9850", "fillOpacity": 0.12},
        ).add_to(fmap)
    points = coverage.service_points
    if len(points):
        _points(
            draw.frame(points),
            ["point_id", "kind", "name"],
            text,
            show_members,
            text.layer("service_points", "service_points"),
            folium.CircleMarker(radius=6, color="#1a9850", fill=True, fill_color="#1a9850", fill_opacity=0.9),
            show="service_points" in shown,
        ).add_to(fmap)
    service = coverage.service_coverage
    spots = service[service["blind_spot"] & (service["households"] > 0)]
    if len(spots):
        spots = spots.set_geometry(spots.geometry.representative_point())
        _points(
            draw.frame(spots),
            ["building_id", "households", "nearest_service_m"],
            text,
            show_members,
            text.layer("blind_spots", "service_points"),
            folium.CircleMarker(radius=3, color="#d7301f", weight=1, fill=True, fill_color="#d7301f", fill_opacity=0.8),
            show="blind_spots" in shown,
        ).add_to(fmap)
    joint = None
    if len(coverage.joint_branches):
        shapes = _joint_branch_shapes(coverage.joint_branches, grids)
        group, labels = _joint_branches(
            draw.frame(shapes, simplify=True), _area_rank(shapes), text, show_members, show="joint_branches" in shown
        )
        joint = group.add_to(fmap), labels
    sites = coverage.proposed_sites
    if sites is not None and len(sites):
        _points(
            draw.frame(sites),
            ["site_id", "households_covered"],
            text,
            show_members,
            text.layer("proposed_sites", "service_points"),
            folium.Marker(icon=_symbol("✚", "#1a9850", 20)),
            show="proposed_sites" in shown,
        ).add_to(fmap)
    return joint


def _joint_branch_shapes(joint: pd.DataFrame, grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A joint branch drawn as the union of its grids (``grids``: a list of grid ids, as coverage holds it)."""
    by_id = grids.set_index("grid_id").geometry
    geometry = [shapely.union_all([by_id[g] for g in ids if g in by_id.index]) for ids in joint["grids"]]
    frame = (
        pd.DataFrame(joint)
        .drop(columns="geometry", errors="ignore")
        .assign(grids=[", ".join(ids) for ids in joint["grids"]])
    )
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=grids.crs)


def _joint_branches(
    shapes: gpd.GeoDataFrame, rank: np.ndarray, text: _Text, show_members: bool, show: bool
) -> tuple[folium.FeatureGroup, list[dict]]:
    """Each proposed joint branch as the outline of its grids in a colour of its own, and the labels (placed
    with the grid labels by :class:`_Labels`) that say what it joins: ``联合党支部 J1 · 3 个网格 · 2 名正式党员``."""
    group = folium.FeatureGroup(name=text.layer("joint_branches", "party_members"), show=show)
    shapes = shapes.reset_index(drop=True)
    colours = [JOINT_BRANCH_COLOURS[i % len(JOINT_BRANCH_COLOURS)] for i in range(len(shapes))]
    data = _public(
        shapes.assign(colour_=colours),
        ["branch_id", "grids", "full_members", "members", "colour_"],
        show_members,
        text.lang,
    )
    fields = [c for c in data.columns if c not in (data.geometry.name, "colour_")]
    folium.GeoJson(
        data,
        style_function=lambda f: {
            "color": f["properties"]["colour_"],
            "weight": 3,
            "dashArray": "6 4",
            "fillColor": f["properties"]["colour_"],
            "fillOpacity": 0.15,
        },
        popup=folium.GeoJsonPopup(fields=fields, aliases=text.aliases(fields)),
    ).add_to(group)
    full = shapes["full_members"].fillna(0) if "full_members" in shapes else pd.Series(0, index=shapes.index)
    captions = [
        text["joint_branch_label"].format(branch=branch, grids=len(ids.split(", ")), members=int(members))
        for branch, ids, members in zip(shapes["branch_id"].astype(str), shapes["grids"].astype(str), full)
    ]
    anchors = shapes.geometry.representative_point()
    return group, _label_items(anchors.y, anchors.x, rank, captions, captions, colours)


def _area_rank(shapes: gpd.GeoDataFrame) -> np.ndarray:
    """1 for the largest shape, 2 for the next…: where two labels would overlap, the larger shape's is shown."""
    metric = shapes.crs if shapes.crs.is_projected else shapes.estimate_utm_crs()
    return shapes.geometry.to_crs(metric).area.rank(ascending=False, method="first").astype(int).to_numpy()


def _label_items(lat, lon, rank, short, full, colours=None) -> list[dict]:
    """Labels for :class:`_Labels`: where (rounded to ~0.1 m), in which order, the text from afar and up close,
    and an optional colour."""
    colours = [None] * len(rank) if colours is None else colours
    return [
        {
            "lat": round(float(y), COORDINATE_DECIMALS),
            "lon": round(float(x), COORDINATE_DECIMALS),
            "rank": int(r),
            "short": str(a),
            "full": str(b),
            **({"colour": c} if c else {}),
        }
        for y, x, r, a, b, c in zip(lat, lon, rank, short, full, colours)
    ]


def _public(frame: gpd.GeoDataFrame, fields: list[str], show_members: bool, lang: str) -> gpd.GeoDataFrame:
    """Only the named non-personal fields, or every field with ``show_members``; codes shown as labels."""
    keep = [c for c in frame.columns if c != frame.geometry.name] if show_members else [c for c in fields if c in frame]
    out = frame[keep + [frame.geometry.name]].copy()
    for column in keep:
        if column == "kind":
            out[column] = [label(v, lang) for v in out[column]]
        elif pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(0)
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(str)
    return out


def _points(frame, fields, text: _Text, show_members, name, marker, show: bool = True) -> folium.GeoJson:
    data = _public(frame, fields, show_members, text.lang)
    shown = [c for c in data.columns if c != data.geometry.name]
    return folium.GeoJson(
        data, name=name, marker=marker, show=show, popup=folium.GeoJsonPopup(fields=shown, aliases=text.aliases(shown))
    )


def _shapes(frame, fields, text: _Text, show_members, name, style, show: bool = True) -> folium.GeoJson:
    data = _public(frame, fields, show_members, text.lang)
    shown = [c for c in data.columns if c != data.geometry.name]
    return folium.GeoJson(
        data,
        name=name,
        show=show,
        style_function=lambda _: style,
        popup=folium.GeoJsonPopup(fields=shown, aliases=text.aliases(shown)),
    )


def _symbol(symbol: str, colour: str, size: int) -> folium.DivIcon:
    return folium.DivIcon(
        html=f'<div style="font-size:{size}px;line-height:{size}px;color:{colour};text-shadow:0 0 2px #fff">{symbol}</div>',
        icon_size=(size, size),
        icon_anchor=(size // 2, size // 2),
        class_name="gp-symbol",
    )


class _Labels(MacroElement):
    """Every label of the map placed together, so that no two visible labels overlap at any zoom.

    Labels come in sets (:meth:`add_set`), each shown while any of its layers is on: the grid codes (the short
    serial below ``full_zoom``, the whole code from it on) and the joint branches' captions. After every zoom and
    every layer switched on or off, the labels of the sets shown are placed in order, set by set and within a
    set by rank (the largest shape first); a label that would overlap one already placed is hidden."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }}, sets = [
    {%- for set in this.sets %}
        {layers: [{% for layer in set["layers"] %}{{ layer.get_name() }}{{ ", " if not loop.last }}{% endfor %}],
         className: {{ set["class_name"]|tojson }}, items: {{ set["labels"]|tojson }}}{{ "," if not loop.last }}
    {%- endfor %}
    ];
    sets.forEach(function(set) {
        set.group = L.layerGroup();
        set.items.sort(function(a, b) { return a.rank - b.rank; });
        set.items.forEach(function(it) {
            var style = it.colour ? ' style="color:' + it.colour + ';border-color:' + it.colour + '"' : '';
            it.marker = L.marker([it.lat, it.lon], {interactive: false, keyboard: false,
                icon: L.divIcon({className: set.className, html: '<span' + style + '></span>', iconSize: [0, 0]})});
            set.group.addLayer(it.marker);
        });
    });
    function place() {
        var full = map.getZoom() >= {{ this.full_zoom }}, cell = 64, taken = {}, shown = [];
        sets.forEach(function(set) {
            if (!set.layers.some(function(l) { return map.hasLayer(l); })) { map.removeLayer(set.group); return; }
            map.addLayer(set.group);
            set.items.forEach(function(it) {
                var el = it.marker.getElement();
                el.firstChild.textContent = full ? it.full : it.short;
                el.classList.remove('gp-hidden');
                shown.push(el);
            });
        });
        var boxes = shown.map(function(el) { return el.firstChild.getBoundingClientRect(); });
        shown.forEach(function(el, i) {
            var r = boxes[i], x0 = r.left - 2, y0 = r.top - 1, x1 = r.right + 2, y1 = r.bottom + 1, keys = [], clash = false;
            for (var cx = Math.floor(x0 / cell); cx <= Math.floor(x1 / cell); cx++) {
                for (var cy = Math.floor(y0 / cell); cy <= Math.floor(y1 / cell); cy++) { keys.push(cx + ',' + cy); }
            }
            keys.forEach(function(k) {
                (taken[k] || []).forEach(function(b) { if (b[0] < x1 && x0 < b[2] && b[1] < y1 && y0 < b[3]) { clash = true; } });
            });
            if (clash) { el.classList.add('gp-hidden'); return; }
            keys.forEach(function(k) { (taken[k] = taken[k] || []).push([x0, y0, x1, y1]); });
        });
    }
    map.on('zoomend overlayadd overlayremove', place);
    place();
})();
{% endmacro %}
{% macro header(this, kwargs) %}
<style>.gp-grid-label span,.gp-joint-label span{position:absolute;white-space:nowrap;transform:translate(-50%,-50%)}
.gp-grid-label span{font:bold 12px/1.2 sans-serif;color:#111;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff}
.gp-joint-label span{font:12px/1.3 sans-serif;background:rgba(255,255,255,.9);border:2px solid;border-radius:3px;padding:1px 4px}
.gp-hidden{display:none}</style>
{% endmacro %}
""")

    def __init__(self, full_zoom: int):
        super().__init__()
        self.full_zoom = full_zoom
        self.sets: list[dict] = []

    def add_set(self, layers: list, class_name: str, items: list[dict]) -> None:
        """Labels (:func:`_label_items`) of the CSS class ``class_name``, shown while any of ``layers`` is on;
        placed after the sets added before."""
        self.sets.append({"layers": layers, "class_name": class_name, "labels": items})


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


class _Off(MacroElement):
    """A layer taken off the map (it stays in the layer control, to be switched on)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.removeLayer({{ this.layer.get_name() }});
{% endmacro %}
""")

    def __init__(self, layer):
        super().__init__()
        self.layer = layer


class _FailureList(MacroElement):
    """A list of a compliance check's failures beside the map: a click on one zooms to it and opens its popup."""

    _template = Template("""
{% macro html(this, kwargs) %}
<div class="gp-failures" style="position:fixed;top:10px;right:10px;z-index:1000;max-height:60%;overflow:auto;width:320px;
background:rgba(255,255,255,.95);padding:6px 8px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.4 sans-serif">
<b>{{ this.title|e }}</b>
{%- for item in this.items %}
<div class="gp-failure" data-failure="{{ item.id|e }}" style="cursor:pointer;border-left:4px solid {{ item.colour }};padding-left:4px;margin:3px 0">{{ item.text|e }}</div>
{%- endfor %}
</div>
{% endmacro %}
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }}, layer = {{ this.layer.get_name() }}, items = {{ this.items|tojson }};
    var bounds = {};
    items.forEach(function(it) { bounds[it.id] = it.bounds; });
    document.querySelectorAll('.gp-failure').forEach(function(el) {
        el.addEventListener('click', function() {
            var id = el.getAttribute('data-failure');
            map.fitBounds(bounds[id], {maxZoom: {{ this.max_zoom }}});
            // the popup is bound to the whole layer (folium's GeoJsonPopup), not to each feature: a click
            // passed on from the feature opens it with that feature's fields
            var centre = L.latLngBounds(bounds[id]).getCenter();
            layer.eachLayer(function(l) {
                if (l.feature.properties.failure_id === id) { l.fire('click', {latlng: centre}, true); }
            });
        });
    });
})();
{% endmacro %}
""")

    def __init__(self, layer, items: list[dict], title: str, max_zoom: int):
        super().__init__()
        self.layer, self.items, self.title, self.max_zoom = layer, items, title, max_zoom


class _MetricScale(MacroElement):
    """A scale bar in metres only."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")


class _Attribution(MacroElement):
    """Whom the drawn data is owed to, in Leaflet's attribution corner (drawn without tiles, it has no other)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
{% endmacro %}
""")

    def __init__(self, text: str):
        super().__init__()
        self.text = text


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

    def __init__(self, settings: GridSettings, text: _Text, orgs: bool, coverage: Coverage | None, households: str):
        super().__init__()
        limit = settings.tolerance * 100
        gradient = ",".join(DEVIATION_COLOURS)
        special = f"{label(GridKind.SPECIAL, text.lang)} / {label(GridKind.OVERSIZE, text.lang)}"
        rows = [
            f"<b>{html.escape(text['legend'])}</b>",
            f'<div style="height:10px;background:linear-gradient(to right,{gradient})"></div>',
            f'<div style="display:flex;justify-content:space-between"><span>−{limit:.0f}%</span><span>0</span>'
            f"<span>+{limit:.0f}%</span></div>",
            f'<div style="display:flex;justify-content:space-between"><span>{settings.floor:.0f}</span>'
            f"<span>{settings.target:.0f} {html.escape(text['households_unit'])}</span><span>{settings.ceiling:.0f}</span></div>",
            f"<div>{_swatch(SPECIAL_COLOUR)} {html.escape(special)}</div>",
            f'<div class="gp-households">{html.escape(households)}</div>',
        ]
        if orgs:
            rows += [
                f'<div><span style="color:{c}">{s}</span> {html.escape(label(k, text.lang))}</div>'
                for k, (s, c, _) in ORG_MARKERS.items()
            ]
        if coverage is not None:
            rows.append(f"<b>{html.escape(text['party_status'])}</b>")
            rows += [
                f"<div>{_swatch(c)} {html.escape(label(status, text.lang))}</div>"
                for status, c in BRANCH_STATUS_COLOURS.items()
            ]
            rows.append(
                f'<div><span style="color:#1a9850">●</span> {html.escape(text.layer("service_points", "service_points"))}</div>'
            )
            rows.append(f'<div><span style="color:#d7301f">•</span> {html.escape(text["blind_spots"])}</div>')
            if coverage.proposed_sites is not None:
                rows.append(f'<div><span style="color:#1a9850">✚</span> {html.escape(text["proposed_sites"])}</div>')
            rows.append(
                f'<div><span style="color:{JOINT_BRANCH_COLOURS[0]}">┅</span> {html.escape(text["joint_branches"])}</div>'
            )
        if text.generated:
            rows.append(
                f'<div class="gp-generated" style="margin-top:4px;color:#8a6d3b">'
                f"{html.escape(data_source(text.lang, text.generated))}</div>"
            )
        self.body = "\n".join(rows)


def _swatch(colour: str) -> str:
    return f'<span style="display:inline-block;width:12px;height:12px;background:{colour}"></span>'


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
        raise InputError(
            "offline maps need the folium-offline package (pip install folium-offline)",
            zh="离线地图需要 folium-offline 包（pip install folium-offline）",
        ) from exc
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
                    raise InputError(
                        f"no offline copy of {url} ({name}) in folium-offline",
                        zh=f"folium-offline 中没有 {url}（{name}）的离线副本",
                    )
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


#: The web map's words ( by language (the words themselves: :data:`gridplan.vocabulary.MAP_WORDS`).
_LABELS = {lang: {key: words[i] for key, words in MAP_WORDS.items()} for i, lang in enumerate(LANGUAGES)}
