"""The Scene (场景): the layers gridplan plans over, read from files, in one CRS; what checking it found
(:class:`Validation`, made by :func:`gridplan.prepare.validate.validate_scene`); and the scene prepared for planning.

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
import unicodedata
from dataclasses import dataclass, field, fields, replace
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.errors import InputError
from gridplan.settings import DEFAULTS, Settings
from gridplan.vocabulary import LAYER_NAMES_ZH, word

from .coords import SYSTEMS
from .households import prepare_buildings

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
        keys = np.full(len(layer), "", dtype=object)
        if present and len(layer):  # each row's values joined by tabs
            keys = text[present[0]].str.cat([text[c] for c in present[1:]], sep="\t").to_numpy(dtype=object)
        wkb = shapely.to_wkb(layer.geometry.to_numpy(), hex=True)
        rows = np.sort(np.char.add(np.char.add(keys.astype(str), "\t"), wkb.astype(str)))
        digest.update(f"{name}:{len(rows)}\n".encode())
        digest.update("\n".join(rows).encode())
    return digest.hexdigest()


# What checking a scene found (场景检查): each finding, and the outcome of the check, which a prepared scene keeps.

Level = Literal["error", "warning", "repair"]


@dataclass(frozen=True)
class Finding:
    """One thing the check found.

    Attributes
    ----------
    level
        ``"error"`` (planning must not go on), ``"warning"`` (planning goes on; look at it) or
        ``"repair"`` (the data were changed as the message says).
    code
        Stable machine-readable kind, e.g. ``"duplicate_id"``.
    layer
        The scene layer concerned (``"buildings"``, ...).
    message
        One human-readable line, naming up to ten ids and then "and N more".
    ids
        Every id concerned (for ``duplicate_id``: each repeated id once); rows without an id as ``#<index>``.
    count
        How many rows the finding concerns.
    zh
        The message in Chinese (a run in Chinese prints it).
    """

    level: Level
    code: str
    layer: str
    message: str
    ids: tuple[str, ...] = ()
    count: int = 0
    zh: str = ""

    def __str__(self) -> str:
        return f"[{self.code}] {self.layer}: {self.message}"

    def describe(self, lang: str = "zh") -> str:
        """``[code] layer: message`` in ``lang`` (``"zh"`` or ``"en"``)."""
        if lang == "zh" and self.zh:
            return f"[{self.code}] {LAYER_NAMES_ZH.get(self.layer, self.layer)}：{self.zh}"
        return str(self)


@dataclass(frozen=True)
class Validation:
    """The outcome of :func:`validate_scene`.

    Attributes
    ----------
    scene
        The checked scene, in the input CRS (of the buildings): geometries repaired, excluded rows left out,
        buildings with ``community_id`` and ``community_share`` (share of the footprint inside it, as the
        boundaries were delivered; they are then fitted round every building) where the
        CRS allowed the assignment.
    findings
        Errors, warnings and repairs, in the order they were found.
    counts
        Per layer ``{"in": n, "out": n, "excluded": n}`` with ``in == out + excluded``; always has
        ``buildings``, ``households`` (sum of valid registered counts) and ``party_members``.
    """

    scene: Scene
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        """Findings that stop planning."""
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings to look at; planning goes on."""
        return [f for f in self.findings if f.level == "warning"]

    @property
    def repairs(self) -> list[Finding]:
        """Changes made to the data."""
        return [f for f in self.findings if f.level == "repair"]

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def raise_for_errors(self) -> "Validation":
        """Raise :class:`~gridplan.errors.InputError` naming the errors (in one line); else return ``self``."""
        errors = self.errors
        if errors:
            raise InputError(
                f"the scene has {plural(len(errors), 'error', 'errors')}: " + "; ".join(map(str, errors)),
                zh=f"场景有 {len(errors)} 项错误：" + "；".join(f.describe("zh") for f in errors),
            )
        return self

    def table(self, lang: str = "zh") -> pd.DataFrame:
        """The findings as a table (``level``, ``code``, ``layer``, ``message`` in ``lang``, ``ids`` as a list,
        ``count``), as a plan file keeps them (the ids as JSON text, so that an id holding a comma stays one)."""
        return pd.DataFrame(
            [
                {
                    "level": f.level,
                    "code": f.code,
                    "layer": f.layer,
                    "message": f.zh if lang == "zh" and f.zh else f.message,
                    "ids": [str(i) for i in f.ids],
                    "count": f.count,
                }
                for f in self.findings
            ],
            columns=["level", "code", "layer", "message", "ids", "count"],
        )

    def headline(self, lang: str = "zh") -> str:
        """One line: how many errors, warnings and repairs."""
        return word("validation_headline", lang, **self._counted())

    def _counted(self) -> dict:
        """The errors, warnings and repairs counted, as the summaries' words take them."""
        e, w, r = len(self.errors), len(self.warnings), len(self.repairs)
        return {
            "e": e,
            "w": w,
            "r": r,
            "errors": plural(e, "error", "errors"),
            "warnings": plural(w, "warning", "warnings"),
            "repairs": plural(r, "repair", "repairs"),
        }

    def summary(self, lang: str = "zh") -> str:
        """A plain-text report (场景检查) for the command line: counts, then findings by level.

        ``lang`` (``"zh"`` or ``"en"``) words the headings, counts and findings (``code`` is the stable key)."""
        zh = lang == "zh"
        head = word("validation_head", lang, **self._counted())
        names = {name: (LAYER_NAMES_ZH.get(name, name) if zh else name) for name in self.counts}
        width = max(_width(n) for n in names.values()) if names else 0
        columns = [word(key, lang) for key in ("counts_in", "counts_out", "counts_excluded")]
        rows = ["  " + " " * width + "  " + " ".join(_pad(c, 9) for c in columns)] + [
            "  "
            + names[name]
            + " " * (width - _width(names[name]))
            + f"  {c['in']:>9,} {c['out']:>9,} {c['excluded']:>9,}"
            for name, c in self.counts.items()
        ]
        sections = [head, *rows]
        for key, found in (("errors", self.errors), ("warnings", self.warnings), ("repairs", self.repairs)):
            if found:
                sections += [word(key, lang) + word("colon", lang).rstrip(), *(f"  {f.describe(lang)}" for f in found)]
        return "\n".join(sections)


def _width(text: str) -> int:
    """Columns a text takes in a terminal: a Chinese character two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return " " * max(width - _width(text), 0) + text


def plural(n: int, one: str, many: str) -> str:
    """``n`` and the noun, singular or plural: ``1 error``, ``2 errors``."""
    return f"{n:,} {one if n == 1 else many}"


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
    validation: Validation | None = field(default=None, compare=False)

    @classmethod
    def of(cls, scene: Scene, settings: Settings = DEFAULTS, validation: Validation | None = None) -> PreparedScene:
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
