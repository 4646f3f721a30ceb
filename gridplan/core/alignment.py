"""Which coordinate system each input is in (坐标系识别), measured against the others.

Chinese data mixes coordinate systems as a rule and rarely says which: Gaode and Tencent exports are GCJ-02,
Baidu's BD-09, OpenStreetMap and surveys WGS84/CGCS2000. Read as the wrong one, a layer sits 300–700 m
(GCJ-02) or about a kilometre (BD-09) off the others, and buildings fall outside their community or join the
wrong register rows without any error. The offsets are large and systematic, so they can be measured:

- register points against footprints: the share of points that land in no footprint, for each reading
  (:func:`point_system`);
- layers against each other (:func:`align_layers`): footprints against street centrelines (a building a
  street runs through is misplaced), footprints against community boundaries (a building outside every
  community), community boundaries against streets (boundaries run along streets); then places (service
  points, party organizations, POIs) against the footprints (a place far from every building);
- a previous plan's buildings against the scene's, by id (:func:`previous_offset`).

A reading is taken only when the evidence is clear (:class:`gridplan.settings.CoordinateSettings`); otherwise
the caller refuses with what was measured and the option that decides. Everything is relative to the scene:
"GCJ-02" means "GCJ-02 if the scene's layers are WGS84".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import geopandas as gpd
import numpy as np
import shapely

from gridplan.settings import DEFAULTS, CoordinateSettings
from gridplan.vocabulary import ALIGNMENT_WORDS_ZH, COMPASS_ZH, word

from .coords import SYSTEM_NAMES, SYSTEM_NAMES_ZH, SYSTEMS, convert_geometries, convert_lonlat

#: A reading of one layer against another: (system it is in, system the others are in); equal for "as is".
Shift = tuple[str, str]
AS_IS: Shift = ("wgs84", "wgs84")
#: Every way two layers can disagree: one in a system, the other in another.
SHIFTS: tuple[Shift, ...] = (AS_IS, *((a, b) for a in SYSTEMS for b in SYSTEMS if a != b))
_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


@dataclass(frozen=True)
class Offset:
    """How far and which way one reading of a place lies from another, at the data's centre."""

    metres: float
    bearing: str

    def __str__(self) -> str:
        return f"{self.metres:.0f} m {self.bearing}"

    def describe(self, lang: str = "zh") -> str:
        """How far and which way, in ``lang``: ``412 m north-east`` or ``向东北 412 米``."""
        bearing = COMPASS_ZH[self.bearing] if lang == "zh" else self.bearing
        return word("offset", lang, bearing=bearing, metres=self.metres)


@dataclass(frozen=True)
class SystemEvidence:
    """What the coordinate check measured for one input, and what it decided.

    Attributes
    ----------
    subject
        What was read (``"register points"``, ``"buildings"``).
    reference
        What it was measured against (``"footprints"``, ``"streets and communities"``).
    shift
        The reading taken: (the system the subject is in, the system of the reference); equal when as read.
    misses
        For each reading tried, the share of the subject that does not fit the reference (lower is better).
    measure
        What a miss is (``"in no footprint"``).
    count
        How many features were measured.
    offset
        How far the reading taken moved the subject.
    clear
        Whether the best reading is clearly better than every other (:class:`CoordinateSettings`).
    """

    subject: str
    reference: str
    shift: Shift
    misses: Mapping[Shift, float]
    measure: str
    count: int
    offset: Offset
    clear: bool

    @property
    def moved(self) -> bool:
        """Whether the subject was found in another system than the reference's."""
        return self.shift[0] != self.shift[1]

    def readings(self, lang: str = "en") -> str:
        """Every reading with its share of misses, best first: ``GCJ-02→WGS84 2%, as read 71%, …``."""
        ranked = sorted(self.misses.items(), key=lambda item: item[1])
        return word("comma", lang).join(f"{_shift_name(s, lang)} {m:.0%}" for s, m in ranked)

    def describe(self, lang: str = "zh") -> str:
        """One line, in ``lang`` (``"zh"`` or ``"en"``): what was found, how far it moved, on what evidence."""
        said = _zh if lang == "zh" else str
        evidence = word("evidence", lang, count=self.count, measure=said(self.measure), readings=self.readings(lang))
        if not self.moved:
            return word(
                "in_the_system", lang, subject=said(self.subject), reference=said(self.reference), evidence=evidence
            )
        system = (SYSTEM_NAMES_ZH if lang == "zh" else SYSTEM_NAMES)[self.shift[0]]
        return word(
            "moved_onto",
            lang,
            subject=said(self.subject),
            system=system,
            offset=self.offset.describe(lang),
            reference=said(self.reference),
            evidence=evidence,
        )


def _zh(text: str) -> str:
    if text in ALIGNMENT_WORDS_ZH:
        return ALIGNMENT_WORDS_ZH[text]
    if text.startswith("farther than "):
        return "离建筑超过 " + text.split(" ")[2] + " 米"
    for english, chinese in ALIGNMENT_WORDS_ZH.items():
        text = text.replace(english, chinese)
    return text


def point_system(
    lon: np.ndarray,
    lat: np.ndarray,
    footprints: gpd.GeoSeries,
    settings: CoordinateSettings = DEFAULTS.coords,
    *,
    subject: str = "register points",
) -> SystemEvidence:
    """The system points (a register's coordinates) are in, by the share that lands in a footprint.

    Parameters
    ----------
    lon, lat
        The points, degrees, finite and in China.
    footprints
        The scene's buildings, in a metric CRS.
    settings
        The sample size and what "clear" means.
    subject
        How the points are named in the evidence.

    Returns
    -------
    SystemEvidence
        The reading (system, ``"wgs84"``) with the fewest points in no footprint; ``clear`` says whether it
        is clearly better than the others.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    sample = _sample(len(lon), settings.sample)
    lon, lat = lon[sample], lat[sample]
    tree = shapely.STRtree(footprints.to_numpy())
    misses = {}
    for system in SYSTEMS:
        x, y = convert_lonlat(lon, lat, system, "wgs84")
        points = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=4326).to_crs(footprints.crs).to_numpy()
        hit = np.unique(tree.query(points, predicate="within")[0])
        misses[(system, "wgs84")] = 1.0 - len(hit) / max(len(points), 1)
    return _decide(
        subject,
        "footprints",
        misses,
        "in no footprint",
        len(lon),
        settings,
        lambda shift: _offset(np.median(lon), np.median(lat), shift) if len(lon) else Offset(0.0, "north"),
    )


@dataclass(frozen=True)
class LayerAlignment:
    """The layers of a scene checked against each other.

    Attributes
    ----------
    layers
        The layers, each moved where the evidence was clear (same CRS as given).
    moved
        The evidence for each layer moved, by layer name.
    disagreements
        Evidence of layers that disagree but could not be told apart (which one is off), for a refusal.
    measured
        The evidence of every pair measured.
    """

    layers: Mapping[str, gpd.GeoDataFrame]
    moved: Mapping[str, SystemEvidence]
    disagreements: tuple[SystemEvidence, ...]
    measured: tuple[SystemEvidence, ...]


#: The pairs measured: (subject, reference, what a miss is).
PAIRS = (
    ("buildings", "streets", "crossed by a street or far from every street"),
    ("buildings", "communities", "outside every community"),
    ("communities", "streets", "boundary farther than the clearance from a street"),
)


#: Layers of places measured against the buildings, once buildings, streets and communities agree.
PLACE_LAYERS = ("service_points", "party_orgs", "pois")


def align_layers(
    layers: Mapping[str, gpd.GeoDataFrame], metric_crs, settings: CoordinateSettings = DEFAULTS.coords
) -> LayerAlignment:
    """Buildings, streets and communities measured against each other; a layer that disagrees with the
    others by a GCJ-02 or BD-09 offset, where the evidence is clear, moved onto them.

    A layer is moved when every pair it is in that can tell readings apart says it is off by the same shift,
    and the other layers agree among themselves. Two layers that disagree with no third to tell which is off
    are a disagreement, not a guess.

    Parameters
    ----------
    layers
        ``buildings``, ``streets`` and ``communities`` (others are passed through), each with a CRS.
    metric_crs
        The metric CRS distances are measured in.
    settings
        Sample sizes, the street clearance and what "clear" means.

    Returns
    -------
    LayerAlignment
    """
    present = {name: layers.get(name) for name in ("buildings", "streets", "communities")}
    if any(layer is None or layer.crs is None for layer in present.values()):
        return LayerAlignment(dict(layers), {}, (), ())
    if len(present["buildings"]) < settings.min_features:
        return LayerAlignment(dict(layers), {}, (), ())
    measured = {
        (subject, reference): _measure_pair(subject, reference, measure, present, metric_crs, settings)
        for subject, reference, measure in PAIRS
    }
    informative = {pair: e for pair, e in measured.items() if _informative(e, settings)}

    supported: list[tuple[str, Shift]] = []
    for name in present:
        pairs = [(pair, e) for pair, e in informative.items() if name in pair]
        for shift in SHIFTS[1:]:
            # the shift as it would apply to this layer: a pair measured the other way round sees its inverse
            fits = [
                _clearly_better(e, shift if pair[0] == name else (shift[1], shift[0]), settings) for pair, e in pairs
            ]
            others_agree = all(e.shift == AS_IS for pair, e in informative.items() if name not in pair)
            if pairs and all(fits) and others_agree:
                supported.append((name, shift))
    moved: dict[str, SystemEvidence] = {}
    out = dict(layers)
    if len(supported) == 1:
        name, shift = supported[0]
        pair, first = next((pair, e) for pair, e in informative.items() if name in pair)
        misses = first.misses if pair[0] == name else {(b, a): m for (a, b), m in first.misses.items()}
        layer = present[name]
        moved[name] = SystemEvidence(
            name,
            _others(name, informative),
            shift,
            misses,
            first.measure,
            first.count,
            _layer_offset(layer, shift),
            True,
        )
        out[name] = layer.set_geometry(convert_geometries(layer.geometry.to_numpy(), layer.crs, *shift), crs=layer.crs)
    disagreements = ()
    if not moved:
        disagreements = tuple(e for e in informative.values() if e.moved and e.clear)
    extra = []
    if not disagreements:  # places (service points, party organizations, POIs) sit at the buildings once these agree
        for name in PLACE_LAYERS:
            layer = layers.get(name)
            if layer is None or layer.crs is None or len(layer) < settings.min_features:
                continue
            evidence = _measure_pair(
                name,
                "buildings",
                f"farther than {settings.place_reach_m:g} m from every building",
                {**out, name: layer},
                metric_crs,
                settings,
            )
            extra.append(evidence)
            if evidence.clear and evidence.moved:
                moved[name] = evidence
                out[name] = layer.set_geometry(
                    convert_geometries(layer.geometry.to_numpy(), layer.crs, *evidence.shift), crs=layer.crs
                )
    return LayerAlignment(out, moved, disagreements, (*measured.values(), *extra))


def previous_offset(previous: gpd.GeoSeries, current: gpd.GeoSeries) -> tuple[Offset, int]:
    """The systematic offset of a previous plan's buildings from the scene's, by id.

    Parameters
    ----------
    previous, current
        Building footprints (or points) indexed by building id, in one metric CRS.

    Returns
    -------
    Offset, int
        The median displacement of the buildings both have (from the scene's to the previous plan's), and how
        many were compared.
    """
    shared = previous.index.intersection(current.index)
    if not len(shared):
        return Offset(0.0, "north"), 0
    a = shapely.get_coordinates(shapely.centroid(current.loc[shared].to_numpy()))
    b = shapely.get_coordinates(shapely.centroid(previous.loc[shared].to_numpy()))
    dx, dy = np.median(b[:, 0] - a[:, 0]), np.median(b[:, 1] - a[:, 1])
    return Offset(float(np.hypot(dx, dy)), _bearing(dx, dy)), len(shared)


def boundary_system(
    communities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    metric_crs,
    settings: CoordinateSettings = DEFAULTS.coords,
) -> SystemEvidence:
    """The system community boundaries are in, against buildings and streets known to be WGS84 (OpenStreetMap):
    a boundary runs along streets and between buildings, so a point of it inside a footprint or far from every
    street misses.

    Parameters
    ----------
    communities
        The boundary polygons, as given.
    buildings, streets
        The OpenStreetMap layers around them (a margin wider than the offsets).
    metric_crs
        Where distances are measured.
    settings
        Sample sizes, the street clearance and what "clear" means.

    Returns
    -------
    SystemEvidence
        The reading (the boundaries' system, ``"wgs84"``) with the fewest misses; ``clear`` as for the others.
    """
    points = _boundary_points(communities.geometry.to_numpy(), communities.crs, metric_crs, settings)
    points = points[_sample(len(points), settings.sample)]
    footprints = shapely.STRtree(buildings.to_crs(metric_crs).geometry.to_numpy())
    lines = shapely.STRtree(streets.to_crs(metric_crs).geometry.to_numpy())
    misses = {}
    for shift in (AS_IS, ("gcj02", "wgs84"), ("bd09", "wgs84")):
        moved = points if shift == AS_IS else convert_geometries(points, communities.crs, *shift)
        local = gpd.GeoSeries(moved, crs=communities.crs).to_crs(metric_crs).to_numpy()
        inside = np.unique(footprints.query(local, predicate="within")[0])
        near = np.unique(lines.query(local, predicate="dwithin", distance=settings.street_clearance_m)[0])
        misses[shift] = 1.0 - len(np.setdiff1d(near, inside)) / max(len(local), 1)
    return _decide(
        "the community boundaries",
        "the OpenStreetMap buildings and streets",
        misses,
        "inside a building or far from every street",
        len(points),
        settings,
        lambda shift: _layer_offset(communities, shift),
    )


def shift_like(offset: Offset, lon: float, lat: float, tolerance: float = 0.15) -> Shift | None:
    """The GCJ-02/BD-09 shift an offset measured at (lon, lat) looks like (same bearing, length within
    ``tolerance``), or None."""
    for shift in SHIFTS[1:]:
        known = _offset(lon, lat, shift)
        if known.bearing == offset.bearing and abs(known.metres - offset.metres) <= tolerance * known.metres:
            return shift
    return None


def _measure_pair(
    subject: str,
    reference: str,
    measure: str,
    layers: Mapping[str, gpd.GeoDataFrame],
    metric_crs,
    settings: CoordinateSettings,
) -> SystemEvidence:
    """The share of misses of ``subject`` against ``reference`` under every shift of ``subject``."""
    geometries = layers[subject].geometry.to_numpy()
    crs = layers[subject].crs
    if subject == "communities":
        geometries = _boundary_points(geometries, crs, metric_crs, settings)
        crs = metric_crs
    geometries = geometries[_sample(len(geometries), settings.sample)]
    target = layers[reference].to_crs(metric_crs).geometry.to_numpy()
    tree = shapely.STRtree(target)
    misses = {}
    for shift in SHIFTS:
        moved = geometries if shift == AS_IS else convert_geometries(geometries, crs, *shift)
        local = gpd.GeoSeries(moved, crs=crs).to_crs(metric_crs).to_numpy()
        if reference == "streets" and subject == "buildings":
            # a building a street runs through is misplaced; so is one with no street near (off the extract)
            crossed = np.unique(tree.query(local, predicate="intersects")[0])
            near = np.unique(tree.query(local, predicate="dwithin", distance=settings.street_reach_m)[0])
            misses[shift] = 1.0 - len(np.setdiff1d(near, crossed)) / max(len(local), 1)
        elif reference == "communities":
            hit = np.unique(tree.query(shapely.point_on_surface(local), predicate="within")[0])
            misses[shift] = 1.0 - len(hit) / max(len(local), 1)
        elif reference == "buildings":
            points = shapely.point_on_surface(local)
            hit = np.unique(tree.query(points, predicate="dwithin", distance=settings.place_reach_m)[0])
            misses[shift] = 1.0 - len(hit) / max(len(local), 1)
        else:
            hit = np.unique(tree.query(local, predicate="dwithin", distance=settings.street_clearance_m)[0])
            misses[shift] = 1.0 - len(hit) / max(len(local), 1)
    geometries_wgs = gpd.GeoSeries(geometries, crs=crs)
    return _decide(
        subject,
        reference,
        misses,
        measure,
        len(geometries),
        settings,
        lambda shift: _layer_offset(geometries_wgs, shift),
    )


def _boundary_points(polygons: np.ndarray, crs, metric_crs, settings: CoordinateSettings) -> np.ndarray:
    """Points along the community boundaries every ``boundary_step_m``, in ``crs``."""
    local = gpd.GeoSeries(polygons, crs=crs).to_crs(metric_crs).to_numpy()
    lines = shapely.boundary(local)
    lengths = shapely.length(lines)
    points = [
        shapely.line_interpolate_point(line, np.arange(0.0, length, settings.boundary_step_m))
        for line, length in zip(lines, lengths)
        if length > 0
    ]
    flat = np.concatenate(points) if points else np.empty(0, dtype=object)
    return gpd.GeoSeries(flat, crs=metric_crs).to_crs(crs).to_numpy()


def _decide(
    subject: str,
    reference: str,
    misses: dict[Shift, float],
    measure: str,
    count: int,
    settings: CoordinateSettings,
    offset_of,
) -> SystemEvidence:
    ranked = sorted(misses, key=lambda s: (misses[s], s != AS_IS and s[0] != s[1], s))
    best = ranked[0]
    runner = misses[ranked[1]] if len(ranked) > 1 else 1.0
    clear = misses[best] <= runner * settings.clear_ratio and runner - misses[best] >= settings.clear_margin
    return SystemEvidence(subject, reference, best, misses, measure, count, offset_of(best), bool(clear))


def _informative(evidence: SystemEvidence, settings: CoordinateSettings) -> bool:
    """Whether the readings of a pair differ enough to tell shifts apart (a scene of one large community
    keeps its buildings inside it under every shift, and says nothing)."""
    values = list(evidence.misses.values())
    return evidence.count >= settings.min_features and max(values) - min(values) >= settings.clear_margin


def _clearly_better(evidence: SystemEvidence, shift: Shift, settings: CoordinateSettings) -> bool:
    """Whether ``shift`` of the pair's subject fits clearly better than every other reading."""
    mine = evidence.misses[shift]
    others = [m for s, m in evidence.misses.items() if s != shift]
    runner = min(others)
    return mine <= runner * settings.clear_ratio and runner - mine >= settings.clear_margin


def _others(name: str, pairs: Mapping[tuple[str, str], SystemEvidence]) -> str:
    names = sorted({n for pair in pairs for n in pair if n != name})
    return " and ".join(names)


def _sample(n: int, size: int) -> np.ndarray:
    """A fixed, evenly spread sample of ``size`` positions of ``n`` (all when fewer)."""
    if n <= size:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, size).round().astype(int))


def _layer_offset(geometries: gpd.GeoSeries | gpd.GeoDataFrame, shift: Shift) -> Offset:
    centre = gpd.GeoSeries([shapely.box(*geometries.total_bounds).centroid], crs=geometries.crs).to_crs(4326).iat[0]
    return _offset(centre.x, centre.y, shift)


def _offset(lon: float, lat: float, shift: Shift) -> Offset:
    """How far and which way reading (lon, lat) as ``shift[0]`` instead of ``shift[1]`` moves it."""
    x, y = convert_lonlat(np.array([lon]), np.array([lat]), *shift)
    dx = (x[0] - lon) * 111_320.0 * np.cos(np.radians(lat))
    dy = (y[0] - lat) * 110_540.0
    return Offset(float(np.hypot(dx, dy)), _bearing(dx, dy))


def _bearing(dx: float, dy: float) -> str:
    angle = (np.degrees(np.arctan2(dx, dy)) + 360.0) % 360.0
    return _COMPASS[int((angle + 22.5) // 45) % 8]


def _shift_name(shift: Shift, lang: str = "en") -> str:
    if shift[0] == shift[1]:
        return word("as_read", lang)
    names = SYSTEM_NAMES_ZH if lang == "zh" else SYSTEM_NAMES
    return f"{names[shift[0]].split(' ')[0].split('（')[0]}→{names[shift[1]].split(' ')[0].split('（')[0]}"
