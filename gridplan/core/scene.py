"""The Scene (场景): the layers gridplan plans over, read from files, in one CRS.

Layers and their columns (any other column is kept as it is):

==================  ========  ===================================================================
layer               geometry  columns
==================  ========  ===================================================================
communities (社区)  polygon   ``community_id`` (str); optional ``code`` (12 digits), ``name``
buildings           polygon   ``building_id`` (str, unique); optional ``households``, ``levels``,
                              ``height``, ``kind``, ``compound_id`` (小区)
streets             line      ``highway`` (class); optional ``name``
barriers            any       optional ``kind`` (river, rail, wall)
party_orgs          point     ``org_id``; optional ``kind`` (committee, branch, joint_branch)
party_members       none      ``member_id``, ``building_id``; optional ``status`` (full/probationary)
service_points      point     optional ``point_id``, ``kind``, ``name``
compounds           polygon   ``compound_id``; optional ``name``
pois                point     optional ``kind``, ``name`` (shops, offices, community centres)
==================  ========  ===================================================================
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.errors import InputError
from gridplan.settings import DEFAULTS, Settings

from .coords import SYSTEMS
from .households import prepare_buildings

if TYPE_CHECKING:
    from gridplan.core.findings import Validation

REQUIRED_LAYERS = ("communities", "buildings", "streets")
OPTIONAL_LAYERS = ("barriers", "party_orgs", "party_members", "service_points", "compounds", "pois")
LAYERS = REQUIRED_LAYERS + OPTIONAL_LAYERS

#: Columns a layer must have once its column map is applied.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "communities": ("community_id",),
    "buildings": ("building_id",),
    "streets": ("highway",),
    "barriers": (),
    "party_orgs": ("org_id",),
    "party_members": ("member_id", "building_id"),
    "service_points": (),
    "compounds": ("compound_id",),
    "pois": (),
}
#: Identifier columns, read as strings.
ID_COLUMNS = ("community_id", "building_id", "compound_id", "org_id", "member_id", "point_id", "code")
#: Geometry each layer must have (None: a plain table).
GEOMETRY_TYPES: dict[str, tuple[str, ...] | None] = {
    "communities": ("Polygon", "MultiPolygon"),
    "buildings": ("Polygon", "MultiPolygon"),
    "streets": ("LineString", "MultiLineString"),
    "barriers": ("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    "party_orgs": ("Point",),
    "party_members": None,
    "service_points": ("Point",),
    "compounds": ("Polygon", "MultiPolygon"),
    "pois": ("Point",),
}
FILE_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".parquet", ".geoparquet", ".fgb")
COORDINATE_SYSTEMS = SYSTEMS
SHAPEFILE_NAME_LENGTH = 10
RAIL_BARRIERS = ("rail", "light_rail", "narrow_gauge", "subway")


@dataclass(frozen=True)
class Scene:
    """What gridplan plans over: communities, buildings, streets and optional layers, in one CRS.

    Every layer is a GeoDataFrame except ``party_members``, a plain DataFrame (members are addresses:
    building ids, never points). Optional layers are ``None`` when absent.
    """

    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    barriers: gpd.GeoDataFrame | None = None
    party_orgs: gpd.GeoDataFrame | None = None
    party_members: pd.DataFrame | None = None
    service_points: gpd.GeoDataFrame | None = None
    compounds: gpd.GeoDataFrame | None = None
    pois: gpd.GeoDataFrame | None = None

    @property
    def crs(self):
        """The CRS shared by every spatial layer."""
        return self.buildings.crs

    def layers(self) -> dict[str, pd.DataFrame]:
        """The layers that are present, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def to_crs(self, crs) -> "Scene":
        """The same scene in another CRS (``party_members`` has no geometry and is unchanged)."""
        changes = {
            name: layer.to_crs(crs) for name, layer in self.layers().items() if isinstance(layer, gpd.GeoDataFrame)
        }
        return replace(self, **changes)

    def local_crs(self):
        """The metric CRS computations run in: the UTM zone of the buildings."""
        return local_crs(self.buildings)

    def replace(self, **layers) -> "Scene":
        """A copy with some layers replaced."""
        return replace(self, **layers)


#: Layers a plan depends on, and the columns of each that go into a scene's fingerprint.
FINGERPRINT_COLUMNS = {
    "communities": ("community_id",),
    "buildings": ("building_id", "households"),
    "streets": ("highway",),
    "barriers": (),
}


def scene_fingerprint(scene: Scene) -> str:
    """SHA-256 of what a plan is made of: communities, buildings (ids, households, footprints), streets and
    barriers, in the scene's CRS. A plan records it, so that a scene and a plan (or coverage) that do not
    belong together are told apart; the same file read twice gives the same fingerprint."""
    digest = hashlib.sha256(str(scene.crs.to_epsg() if scene.crs is not None else None).encode())
    for name, columns in FINGERPRINT_COLUMNS.items():
        layer = getattr(scene, name)
        if layer is None:
            digest.update(f"{name}:none".encode())
            continue
        present = [c for c in columns if c in layer]
        # households as numbers (12 and 12.0 are one count), ids and classes as text
        text = pd.DataFrame(
            {
                c: pd.to_numeric(layer[c], errors="coerce").map("{:g}".format)
                if c == "households"
                else layer[c].astype(str)
                for c in present
            }
        )
        # (a row-wise join of an empty table is a table, not a column: an empty layer has no keys to join)
        keys = text.agg("\t".join, axis=1).to_numpy() if present and len(layer) else np.full(len(layer), "")
        wkb = shapely.to_wkb(layer.geometry.to_numpy(), hex=True)
        rows = np.sort(np.char.add(np.char.add(keys.astype(str), "\t"), wkb.astype(str)))
        digest.update(f"{name}:{len(rows)}\n".encode())
        digest.update("\n".join(rows).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class PreparedScene:
    """A scene ready for every step after it (partition, coverage, maps, reports), prepared once.

    Attributes
    ----------
    scene
        The validated scene in its own CRS (the CRS of every output).
    local
        The same scene in its local metric CRS (the UTM zone of its buildings), buildings with ``community_id``,
        ``households`` (registered, else estimated and flagged ``households_estimated``) and ``workload``.
    settings
        The settings households and workloads were filled with.
    fingerprint
        :func:`scene_fingerprint` of ``scene``.
    validation
        The validation that produced ``scene`` (None when the scene was prepared as given).
    """

    scene: Scene
    local: Scene
    settings: Settings
    fingerprint: str
    validation: "Validation | None" = field(default=None, compare=False)

    @classmethod
    def of(cls, scene: Scene, settings: Settings = DEFAULTS, validation: "Validation | None" = None) -> "PreparedScene":
        """Project a scene (validated, or taken as it is) to its local CRS and fill its buildings."""
        settings.check()
        local = scene.to_crs(scene.local_crs())
        local = local.replace(buildings=prepare_buildings(local.buildings, local.communities, settings))
        return cls(
            scene=scene, local=local, settings=settings, fingerprint=scene_fingerprint(scene), validation=validation
        )

    @property
    def crs(self):
        """The scene's own CRS: outputs are written in it."""
        return self.scene.crs

    @property
    def local_crs(self):
        """The metric CRS every computation runs in."""
        return self.local.crs

    def with_settings(self, settings: Settings) -> "PreparedScene":
        """The scene prepared with ``settings``: itself where households and workloads come out the same."""
        same = (
            settings.households == self.settings.households
            and settings.grid.workload_weights == self.settings.grid.workload_weights
        )
        if same:
            return replace(self, settings=settings)
        return PreparedScene.of(self.scene, settings, self.validation)

    def generated_layers(self) -> dict[str, bool]:
        """Scene layers that say they are generated (a true ``generated`` column), e.g. a synthetic district; and
        ``households`` where a generated register gave them (``households_generated``)."""
        found = {
            name: True
            for name, layer in self.scene.layers().items()
            if "generated" in layer and layer["generated"].fillna(False).astype(bool).any()
        }
        buildings = self.scene.buildings
        if "households_generated" in buildings and buildings["households_generated"].fillna(False).astype(bool).any():
            found["households"] = True
        return found


def local_crs(gdf: gpd.GeoDataFrame):
    """The UTM zone that holds ``gdf`` (its metric CRS for distances and areas)."""
    if gdf.crs is None:
        raise InputError(
            "layer has no CRS: set one (e.g. EPSG:4326) before planning",
            zh="图层没有坐标参考系：划分前请设定一个（如 EPSG:4326）",
        )
    if gdf.crs.is_projected and gdf.crs.axis_info[0].unit_name in ("metre", "meter"):
        return gdf.crs
    return gdf.estimate_utm_crs()


def id_string(value) -> str:
    """Identifiers as text: 12.0 read from a float column becomes '12', not '12.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
