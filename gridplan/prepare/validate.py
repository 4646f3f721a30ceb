"""Checking a scene before planning (数据检查): every problem is an error or a reported repair, never a silent loss.

:func:`validate_scene` returns a :class:`Validation`: the checked scene, ready for planning, its
:class:`Finding` s, and counts per layer that account for every row (``in == out + excluded``); every
excluded row is named in a finding.

Checks, in order:

- required id columns; missing ids (error ``missing_id``) and duplicates (error ``duplicate_id``);
- geometries: invalid ones repaired with :func:`shapely.make_valid` (repair ``invalid_geometry_repaired``),
  wrong parts dropped (repair ``wrong_geometry_type``: a polygon layer keeps its polygonal part, streets
  their lines), and rows left without geometry excluded (warning ``empty_geometry``);
- coordinate systems (:mod:`gridplan.core.alignment`): buildings, streets and communities measured against each
  other; a layer off the others by a GCJ-02 or BD-09 offset is moved onto them where the evidence is clear
  (repair ``layer_coords_converted``), two layers that disagree with nothing to tell which is off are an
  error (``layers_disagree``, naming the offset and ``--coords``);
- CRS: a spatial layer without one is an error (``missing_crs``) and every check that needs coordinates
  in metres is skipped; layers in another CRS than the buildings are reprojected (repair ``crs_mismatch``);
- community boundaries (:mod:`gridplan.prepare.boundaries`): gaps and overlaps between neighbours narrower than
  ``settings.validation.boundary_snap_m`` closed, slivers merged (repairs ``community_gap_closed``,
  ``community_overlap_resolved``, ``community_sliver_merged``, ``community_sliver_dropped``, each with its
  area and the buildings it concerns); wider overlaps are an error (``community_overlap``);
- buildings assigned to the community (社区) holding the largest part of their footprint: those outside
  every community are excluded (warning ``building_outside_communities``; an error,
  ``buildings_outside_share``, when they are more than ``settings.validation.max_outside_share`` of the
  buildings or households, unless ``accept_outside``), a given ``community_id`` that
  disagrees listed (warning ``building_community_changed``); a building that a boundary cuts (straddling
  two communities, or partly outside) is given whole to its community and the boundary moved round it
  (repair ``community_fitted_to_building``, with the area moved);
- implausible household counts for a building's floor area (warning ``implausible_households``);
- community codes that are not 12 digits (error ``bad_community_code``);
- communities that no street reaches (warning ``community_without_streets``);
- households (see :func:`validate_scene` for the policy): errors ``bad_households`` or repairs
  ``households_repaired``;
- party members whose building is unknown or was excluded (warnings ``member_unknown_building``,
  ``member_building_excluded``): they are kept out of the scene's members;
- empty layers (``empty_layer``: an error for communities and buildings, nothing can be planned without
  them; a warning otherwise).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.core.alignment import align_layers
from gridplan.core.households import building_floors, estimate_households
from gridplan.core.scene import (
    GEOMETRY_TYPES,
    REQUIRED_COLUMNS,
    Finding,
    PreparedScene,
    Scene,
    Validation,
    id_string,
    local_crs,
    plural,
)
from gridplan.settings import DEFAULTS, Settings
from gridplan.vocabulary import BAD_VALUES_ZH, LAYER_NAMES_ZH, REPAIRS_ZH, word

from .boundaries import BoundaryRepair, close_gaps_and_overlaps, fit_to_buildings, merge_slivers

#: The column that identifies a row of each layer (its key, unique within the layer).
KEY_COLUMNS: dict[str, str] = {
    "communities": "community_id",
    "buildings": "building_id",
    "party_orgs": "org_id",
    "party_members": "member_id",
    "compounds": "compound_id",
    "service_points": "point_id",
}
#: Ids shown in a message before "and N more".
MESSAGE_IDS = 10
#: Overlaps below this share of the smaller footprint are digitising noise along shared edges, not overlaps.
SLIVER_SHARE = 1e-3
#: Boundary repairs of less than this (m²), concerning no building, are rounding, not reported.
REPORTED_REPAIR_M2 = 1.0

_NOUNS = {
    "communities": ("community", "communities"),
    "buildings": ("building", "buildings"),
    "streets": ("street", "streets"),
    "barriers": ("barrier", "barriers"),
    "party_orgs": ("party organization", "party organizations"),
    "party_members": ("party member", "party members"),
    "service_points": ("service point", "service points"),
    "compounds": ("compound", "compounds"),
    "pois": ("POI", "POIs"),
}
_POLYGONAL = {"Polygon", "MultiPolygon"}
_LINEAL = {"LineString", "MultiLineString"}


def validate_scene(
    scene: Scene, *, repair_households: bool = False, accept_outside: bool = False, settings: Settings = DEFAULTS
) -> Validation:
    """Check a scene before planning; repair what can be repaired and report everything.

    Parameters
    ----------
    scene
        The scene as read (:func:`gridplan.io.scene_files.read_scene`).
    repair_households
        Repair unusable household counts instead of reporting them as errors (policy below).
    accept_outside
        Leave out buildings outside every community with a warning however many they are; by default more
        than ``settings.validation.max_outside_share`` of the buildings or households is an error (a
        boundary in another coordinate system or of another place loses them silently otherwise).
    settings
        How households are estimated where a repair calls for it (:func:`gridplan.core.households.estimate_households`),
        and how community boundaries are repaired and household counts judged (``settings.validation``).

    Returns
    -------
    Validation
        The checked scene, the findings and the counts; ``Validation.ok`` is False when there are errors.

    Notes
    -----
    Households policy. A ``households`` column is optional: without one, households are estimated later
    by :func:`gridplan.core.households.fill_households`, and that is no finding. Where the column exists, a value
    is usable when it is a finite, non-negative whole number. The others are errors (``bad_households``,
    one finding per kind) unless ``repair_households`` is set, when they are repaired so:

    - missing (NaN, None, blank) or not a number ("abc", inf): estimated from footprint and floors;
    - negative: estimated too, since a negative count says nothing about the real one;
    - fractional (12.5): rounded half up (13).

    Each repair is a ``households_repaired`` finding naming the buildings, and estimated buildings have
    ``households_estimated`` True. An estimate needs footprints in metres: in a scene without a CRS nothing
    is repaired and every unusable value is an error. When no error is left, ``households`` becomes an
    integer column. ``counts["households"]`` sums the usable registered values only, so that in, out and
    excluded are about the same buildings.

    Examples
    --------
    >>> from gridplan import validate_scene
    >>> from gridplan.scenarios.example import example_scene
    >>> validation = validate_scene(example_scene())
    >>> validation.ok
    True
    """
    layers = scene.layers()
    labels = {name: _labels(name, frame) for name, frame in layers.items()}
    findings: list[Finding] = []
    for name, frame in layers.items():
        findings += _check_keys(name, frame, labels[name])

    # kept[name]: which input rows are still in, by position, so that every exclusion is counted once
    kept = {name: np.ones(len(frame), dtype=bool) for name, frame in layers.items()}
    cleaned: dict[str, pd.DataFrame] = dict(layers)
    for name, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            cleaned[name], kept[name], found = _repair_geometries(name, frame, labels[name])
            findings += found

    spatial = {name: f for name, f in cleaned.items() if isinstance(f, gpd.GeoDataFrame)}
    no_crs = [name for name, f in spatial.items() if f.crs is None and len(layers[name])]
    findings += [
        Finding(
            "error",
            "missing_crs",
            name,
            f"{name} has no CRS: set one (e.g. EPSG:4326 for longitude/latitude); checks in metres were skipped",
            (),
            len(layers[name]),
            "没有坐标参考系：请设置（经纬度为 EPSG:4326）；以米计的检查已跳过",
        )
        for name in no_crs
    ]
    metric = None
    if not no_crs:
        spatial, found = _align_crs(spatial)
        findings += found
        metric = _metric_crs(spatial)
        if metric is not None:
            spatial, found = _align_systems(spatial, metric, settings)
            findings += found
        cleaned.update(spatial)

    buildings, buildings_m = cleaned["buildings"], None
    if metric is not None:
        buildings, buildings_m, found = _place_in_communities(cleaned, kept, labels, metric, settings, accept_outside)
        findings += found
    findings += _bad_codes(cleaned["communities"], labels["communities"][kept["communities"]])

    if "households" in buildings:
        buildings, found = _check_households(
            buildings, buildings_m, labels["buildings"][kept["buildings"]], repair_households, settings
        )
        findings += found
    cleaned["buildings"] = buildings

    if "party_members" in layers:
        kept["party_members"], found = _check_members(
            layers["party_members"], labels["party_members"], layers["buildings"], buildings
        )
        cleaned["party_members"] = layers["party_members"][kept["party_members"]]
        findings += found

    findings += _empty_layers(layers, cleaned)
    households = _usable_households(layers["buildings"])
    counts = {name: _in_out(len(layers[name]), int(kept[name].sum())) for name in ("communities", "buildings")}
    counts["households"] = _in_out(int(households.sum()), int(households[kept["buildings"]].sum()))
    counts["party_members"] = _in_out(0, 0)
    counts.update({name: _in_out(len(layers[name]), int(keep.sum())) for name, keep in kept.items()})
    return Validation(scene=scene.replace(**cleaned), findings=findings, counts=counts)


def _place_in_communities(
    cleaned: dict, kept: dict, labels: dict, metric, settings: Settings, accept_outside: bool
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[Finding]]:
    """Community boundaries repaired (gaps, overlaps, slivers, boundaries cut through buildings) and each building
    placed in its community, in ``metric``; ``cleaned`` and ``kept`` updated. Returns the buildings, those inside a
    community in ``metric``, and the findings."""
    findings: list[Finding] = []
    buildings = cleaned["buildings"]
    communities = cleaned["communities"]
    communities_m = communities.geometry.to_crs(metric).to_numpy()
    community_ids = labels["communities"][kept["communities"]]
    buildings_m = buildings.to_crs(metric)
    footprints = buildings_m.geometry.to_numpy()
    building_labels = labels["buildings"][kept["buildings"]]
    households = _usable_households(buildings)
    communities_m, repairs = close_gaps_and_overlaps(
        communities_m,
        np.argsort(np.argsort(community_ids)),
        settings.validation.boundary_snap_m,
        settings.validation.sliver_m2,
        footprints,
    )
    findings += _community_overlaps(communities_m, community_ids)
    buildings, inside, assigned, found = _assign_communities(
        buildings, footprints, communities_m, community_ids, building_labels
    )
    findings += found
    if not accept_outside:
        findings += _outside_share(inside, households, settings.validation.max_outside_share)
    communities_m, fitted = fit_to_buildings(communities_m, footprints, assigned)
    if fitted:  # moving a boundary round a building can cut a sliver off its community
        communities_m, merged = merge_slivers(communities_m, settings.validation.sliver_m2, footprints)
        fitted += merged
    findings += _boundary_findings(repairs + fitted, community_ids, building_labels, households)
    if repairs or fitted:
        back = gpd.GeoSeries(communities_m, index=communities.index, crs=metric).to_crs(communities.crs).to_numpy()
        # a near-degenerate spike can fold over once projected back: keep the polygonal part of its repair
        invalid = ~shapely.is_valid(back)
        back[invalid] = _keep_parts(shapely.make_valid(back[invalid]), "Polygon")
        cleaned["communities"] = communities.set_geometry(back, crs=communities.crs)
    buildings_m = buildings_m[inside]
    kept["buildings"][np.flatnonzero(kept["buildings"])[~inside]] = False
    findings += _communities_without_streets(cleaned["communities"], cleaned["streets"], community_ids)
    return buildings, buildings_m, findings


def _labels(name: str, frame: pd.DataFrame) -> np.ndarray:
    """Each row's id as text, by position; ``#<index>`` where the layer has no key column or the row no id."""
    fallback = ("#" + frame.index.astype(str)).to_numpy(dtype=object)
    key = KEY_COLUMNS.get(name)
    if key not in frame:
        return fallback
    ids = _id_strings(frame, key).to_numpy()
    return np.where(_present(frame[key]).to_numpy(), ids, fallback)


def _id_strings(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column of ids as text, the way :func:`gridplan.io.scene_files.read_scene` reads them (12.0 → "12").

    Missing ids, and every id of a frame without the column, are missing.
    """
    if column not in frame:
        return pd.Series(None, index=frame.index, dtype=object)
    return frame[column].astype(object).map(id_string, na_action="ignore")


def _present(values: pd.Series) -> pd.Series:
    """Ids that are there: not missing and not blank."""
    return values.notna() & (values.astype(object).astype(str).str.strip() != "")


def _check_keys(name: str, frame: pd.DataFrame, labels: np.ndarray) -> list[Finding]:
    """Required columns present; key ids present and unique."""
    missing_columns = [c for c in REQUIRED_COLUMNS[name] if c not in frame]
    findings = [
        Finding("error", "missing_column", name, f"{name} has no column {c!r}", (), len(frame), f"缺少列 {c!r}")
        for c in missing_columns
    ]
    key = KEY_COLUMNS.get(name)
    if key not in frame:
        return findings
    present = _present(frame[key]).to_numpy()
    if not present.all():
        ids = tuple(labels[~present])
        message = f"{plural(len(ids), *_NOUNS[name])} without {key}: rows {_name_ids(ids)}"
        findings.append(
            Finding(
                "error",
                "missing_id",
                name,
                message,
                ids,
                len(ids),
                f"{len(ids):,} 行缺少 {key}：第 {_name_ids(ids, lang='zh')} 行",
            )
        )
    keys = pd.Series(labels[present])
    repeated = keys[keys.duplicated(keep=False)]
    if len(repeated):
        times = repeated.value_counts(sort=False)
        shown = [f"{i} (×{n})" for i, n in times.items()]
        message = (
            f"{plural(len(repeated), *_NOUNS[name])} sharing {plural(len(times), key, key + 's')}: {_name_ids(shown)}"
        )
        findings.append(
            Finding(
                "error",
                "duplicate_id",
                name,
                message,
                tuple(times.index),
                len(repeated),
                f"{len(repeated):,} 行共用 {len(times):,} 个 {key}：{_name_ids(shown, lang='zh')}",
            )
        )
    return findings


def _repair_geometries(
    name: str, frame: gpd.GeoDataFrame, labels: np.ndarray
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[Finding]]:
    """Invalid geometries made valid, wrong parts dropped, rows left without geometry excluded.

    Returns the rows kept, the mask of those rows, and the findings.
    """
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    invalid = ~missing & ~shapely.is_valid(geoms)
    repaired = geoms.copy()
    repaired[invalid] = shapely.make_valid(geoms[invalid])
    allowed = set(GEOMETRY_TYPES[name] or ())
    family = (
        "Polygon" if allowed and allowed <= _POLYGONAL else "LineString" if allowed and allowed <= _LINEAL else None
    )
    wrong = ~missing & ~np.isin(shapely.get_type_id(repaired), [shapely.GeometryType[t.upper()] for t in allowed])
    if family is not None and wrong.any():
        repaired[wrong] = _keep_parts(repaired[wrong], family)
    empty = shapely.is_missing(repaired) | shapely.is_empty(repaired)
    kind = "polygonal" if family == "Polygon" else "lineal"
    findings = []
    if invalid.any():
        ids = tuple(labels[invalid])
        message = f"invalid geometry in {plural(len(ids), *_NOUNS[name])}, repaired with make_valid: {_name_ids(ids)}"
        findings.append(
            Finding(
                "repair",
                "invalid_geometry_repaired",
                name,
                message,
                ids,
                len(ids),
                f"{len(ids):,} 个几何无效，已用 make_valid 修复：{_name_ids(ids, lang='zh')}",
            )
        )
    wrong_input = wrong & ~invalid & ~empty
    if family is not None and wrong_input.any():
        ids = tuple(labels[wrong_input])
        message = f"parts that are not {kind} dropped from {plural(len(ids), *_NOUNS[name])}: {_name_ids(ids)}"
        findings.append(
            Finding(
                "repair",
                "wrong_geometry_type",
                name,
                message,
                ids,
                len(ids),
                f"{len(ids):,} 个要素中去掉了非{'面' if kind == 'polygonal' else '线'}部分：{_name_ids(ids, lang='zh')}",
            )
        )
    if empty.any():
        ids = tuple(labels[empty])
        message = (
            f"no geometry (empty, or nothing {kind if family else 'valid'} after repair) in "
            f"{plural(len(ids), *_NOUNS[name])}, left out: {_name_ids(ids)}"
        )
        findings.append(
            Finding(
                "warning",
                "empty_geometry",
                name,
                message,
                ids,
                len(ids),
                f"{len(ids):,} 个要素没有几何（为空或修复后无可用部分），已排除：{_name_ids(ids, lang='zh')}",
            )
        )
    out = frame.copy()
    out[out.geometry.name] = gpd.GeoSeries(repaired, index=frame.index, crs=frame.crs)
    return out[~empty], ~empty, findings


def _keep_parts(geoms: np.ndarray, family: str) -> np.ndarray:
    """The polygonal (``"Polygon"``) or lineal (``"LineString"``) part of each geometry, as a multi-geometry."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    parts, inner = shapely.get_parts(parts, return_index=True)  # flattens multi-geometries inside collections
    index = index[inner]
    keep = shapely.get_type_id(parts) == shapely.GeometryType[family.upper()]
    make = shapely.multipolygons if family == "Polygon" else shapely.multilinestrings
    out = np.full(len(geoms), shapely.from_wkt(f"MULTI{family.upper()} EMPTY"), dtype=object)
    if keep.any():
        make(parts[keep], indices=index[keep], out=out)
    return out


def _align_crs(spatial: dict[str, gpd.GeoDataFrame]) -> tuple[dict[str, gpd.GeoDataFrame], list[Finding]]:
    """Every spatial layer in the buildings' CRS (or the first layer's with one, when there are no buildings)."""
    order = ["buildings", *spatial]
    target = next((spatial[name].crs for name in order if spatial[name].crs is not None), None)
    aligned, findings = {}, []
    for name, frame in spatial.items():
        if target is None or frame.crs is not None and frame.crs.equals(target, ignore_axis_order=True):
            continue
        if frame.crs is None:  # an empty layer: nothing to reproject
            aligned[name] = frame.set_crs(target)
            continue
        aligned[name] = frame.to_crs(target)
        message = f"{name} was in {frame.crs.to_string()}, reprojected to {target.to_string()} (the buildings' CRS)"
        findings.append(
            Finding(
                "repair",
                "crs_mismatch",
                name,
                message,
                (),
                len(frame),
                f"原为 {frame.crs.to_string()}，已转换为建筑图层的 {target.to_string()}",
            )
        )
    return {**spatial, **aligned}, findings


def _align_systems(
    spatial: dict[str, gpd.GeoDataFrame], metric, settings: Settings
) -> tuple[dict[str, gpd.GeoDataFrame], list[Finding]]:
    """Buildings, streets and communities in one coordinate system (see :func:`gridplan.core.alignment.align_layers`)."""
    alignment = align_layers(spatial, metric, settings.coords)
    findings = [
        Finding(
            "repair",
            "layer_coords_converted",
            name,
            evidence.describe("en"),
            (),
            len(spatial[name]),
            evidence.describe("zh"),
        )
        for name, evidence in alignment.moved.items()
    ]
    for evidence in alignment.disagreements[:1]:
        options = " ".join(_alignment_options(evidence))
        message = (
            f"{evidence.subject} and {evidence.reference} disagree by {evidence.offset} (a coordinate system "
            f"offset; {evidence.measure}: {evidence.readings()}), and no third layer tells which is off: "
            f"give the system of the layer that is off ({options} if the others are WGS84)"
        )
        zh = (
            f"{LAYER_NAMES_ZH.get(evidence.subject, evidence.subject)}与{LAYER_NAMES_ZH.get(evidence.reference, evidence.reference)}"
            f"相差 {evidence.offset.metres:.0f} 米（坐标系偏移；{evidence.readings('zh')}），没有第三个图层可判断哪个有偏移："
            f"请给出有偏移图层的坐标系（{options}，若其余图层为 WGS84）"
        )
        findings.append(Finding("error", "layers_disagree", evidence.subject, message, (), evidence.count, zh))
    return dict(alignment.layers), findings


def _alignment_options(evidence) -> list[str]:
    """The ``--coords LAYER=SYSTEM`` options of the two layers of ``evidence`` that are not WGS84."""
    source, target = evidence.shift
    return [
        f"--coords {layer}={system}"
        for layer, system in ((evidence.subject, source), (evidence.reference, target))
        if system != "wgs84" and layer in GEOMETRY_TYPES
    ]


def _outside_share(inside: np.ndarray, households: np.ndarray, limit: float) -> list[Finding]:
    """An error when more than ``limit`` of the buildings or of the households fall outside every community."""
    if not len(inside):
        return []
    buildings = float((~inside).mean())
    total = float(households.sum())
    lost = float(households[~inside].sum()) / total if total > 0 else 0.0
    if max(buildings, lost) <= limit:
        return []
    message = (
        f"{int((~inside).sum()):,} buildings ({buildings:.1%}) and {lost:.1%} of the households lie outside every "
        f"community, more than {limit:.0%}: check that the communities and buildings are of one place and one "
        f"coordinate system (--coords LAYER=SYSTEM), or accept leaving them out (--accept-outside)"
    )
    zh = (
        f"{int((~inside).sum()):,} 栋建筑（{buildings:.1%}）和 {lost:.1%} 的户数不在任何社区内，超过 {limit:.0%}：请检查社区与建筑"
        f"是否为同一地点、同一坐标系（--coords 图层=坐标系），或接受排除它们（--accept-outside）"
    )
    return [Finding("error", "buildings_outside_share", "buildings", message, (), int((~inside).sum()), zh)]


def _metric_crs(spatial: dict[str, gpd.GeoDataFrame]):
    """The metric CRS of the first non-empty layer, buildings first; None when every layer is empty."""
    for name in ("buildings", "communities", *spatial):
        frame = spatial.get(name)
        if frame is not None and len(frame) and frame.crs is not None:
            return local_crs(frame)
    return None


def _overlap_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i in left, j in right) whose interiors may overlap, with the area of their intersection."""
    i, j = shapely.STRtree(right).query(left, predicate="intersects")
    return i, j, shapely.area(shapely.intersection(left[i], right[j]))


def _community_overlaps(communities: np.ndarray, ids: np.ndarray) -> list[Finding]:
    """Communities overlapping each other: an error, since a building would belong to two."""
    a, b, area = _overlap_pairs(communities, communities)
    smaller = np.minimum(shapely.area(communities[a]), shapely.area(communities[b]))
    overlap = (a < b) & (area >= SLIVER_SHARE * smaller)
    if not overlap.any():
        return []
    a, b, area = a[overlap], b[overlap], area[overlap]
    involved = tuple(pd.unique(ids[np.concatenate([a, b])]))
    shown = [
        f"{ids[x]} & {ids[y]} ({m:,.0f} m²)" for x, y, m in zip(a[:MESSAGE_IDS], b[:MESSAGE_IDS], area[:MESSAGE_IDS])
    ]
    message = f"{plural(len(a), 'pair', 'pairs')} of communities overlap: {_name_ids(shown, total=len(a))}"
    return [
        Finding(
            "error",
            "community_overlap",
            "communities",
            message,
            involved,
            len(involved),
            f"{len(a):,} 对社区相互重叠：{_name_ids(shown, total=len(a), lang='zh')}",
        )
    ]


def _assign_communities(
    buildings: gpd.GeoDataFrame,
    footprints: np.ndarray,
    communities: np.ndarray,
    community_ids: np.ndarray,
    labels: np.ndarray,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, list[Finding]]:
    """Each building to the community holding the largest part of its footprint (areas in metres).

    Returns the buildings that lie in a community (with ``community_id`` and ``community_share``), the mask
    of those kept, the position of each building's community (-1: none) and the findings (buildings that a
    boundary cuts are reported by :func:`_boundary_findings` once the boundaries are fitted round them).
    """
    b, c, area = _overlap_pairs(footprints, communities)
    share = area / shapely.area(footprints)[b]
    real = share >= SLIVER_SHARE
    b, c, share = b[real], c[real], share[real]
    order = np.lexsort((-share, b))  # by building, largest share first
    b, c, share = b[order], c[order], share[order]
    first = np.r_[True, b[1:] != b[:-1]] if len(b) else np.zeros(0, dtype=bool)
    n = len(buildings)
    assigned = np.full(n, -1)
    assigned[b[first]] = c[first]
    own_share = np.zeros(n)
    own_share[b[first]] = share[first]
    inside = assigned >= 0

    findings = []
    if (~inside).any():
        ids = tuple(labels[~inside])
        message = f"{plural(len(ids), 'building', 'buildings')} outside every community, left out: {_name_ids(ids)}"
        findings.append(
            Finding(
                "warning",
                "building_outside_communities",
                "buildings",
                message,
                ids,
                len(ids),
                f"{len(ids):,} 栋建筑不在任何社区内，已排除：{_name_ids(ids, lang='zh')}",
            )
        )
    out = buildings.copy()
    spatial_ids = np.full(n, None, dtype=object)
    spatial_ids[inside] = community_ids[assigned[inside]]
    if "community_id" in out:
        given = _id_strings(out, "community_id").to_numpy()
        changed = inside & _present(out["community_id"]).to_numpy() & (given != spatial_ids)
        if changed.any():
            ids = tuple(labels[changed])
            shown = [f"{labels[i]} ({given[i]} → {spatial_ids[i]})" for i in np.flatnonzero(changed)[:MESSAGE_IDS]]
            message = (
                f"community_id replaced by the community holding the footprint in {plural(len(ids), 'building', 'buildings')}: "
                f"{_name_ids(shown, total=len(ids))}"
            )
            findings.append(
                Finding(
                    "warning",
                    "building_community_changed",
                    "buildings",
                    message,
                    ids,
                    len(ids),
                    f"{len(ids):,} 栋建筑的 community_id 改为轮廓所在的社区：{_name_ids(shown, total=len(ids), lang='zh')}",
                )
            )
    out["community_id"] = spatial_ids
    out["community_share"] = own_share  # as delivered: the boundaries are then fitted round every building
    return out[inside], inside, assigned, findings


_REPAIRS = {
    "overlap_resolved": "overlaps between communities narrower than the snap distance, each kept by one of the two",
    "gap_closed": "gaps between communities narrower than the snap distance, each given to the neighbour it shares most boundary with",
    "sliver_merged": "slivers of communities without buildings, each given to the neighbour it touches most",
    "sliver_dropped": "slivers of communities without buildings or neighbours, dropped",
    "fitted_to_building": "buildings cut by a community boundary, each given whole to the community holding most of it (the boundary moved round it)",
}


def _boundary_findings(
    repairs: list[BoundaryRepair], community_ids: np.ndarray, building_labels: np.ndarray, households: np.ndarray
) -> list[Finding]:
    """One repair finding per kind of boundary repair: how many, the area moved, the buildings and registered
    households concerned, each named."""
    findings = []
    # shapes that meet within rounding (boundaries drawn on one line, then projected) are closed silently
    repairs = [r for r in repairs if r.buildings or r.area_m2 >= REPORTED_REPAIR_M2]
    for kind, text in _REPAIRS.items():
        done = [r for r in repairs if r.kind == kind]
        if not done:
            continue
        area = sum(r.area_m2 for r in done)
        buildings = sorted({b for r in done for b in r.buildings})
        shown = [
            f"{r.area_m2:,.1f} m² to {community_ids[r.community]}"
            + (f" from {'/'.join(community_ids[list(r.other)])}" if r.other else "")
            + (f" ({', '.join(building_labels[list(r.buildings)][:3])})" if r.buildings else "")
            for r in done[:MESSAGE_IDS]
        ]
        moved = (
            f"; {plural(len(buildings), 'building', 'buildings')} with {int(households[buildings].sum()):,} "
            "registered households concerned"
            if buildings
            else ""
        )
        message = f"{text} ({len(done):,}): {area:,.1f} m² in all{moved}: {_name_ids(shown, total=len(done))}"
        ids = (
            tuple(building_labels[buildings])
            if buildings
            else tuple(pd.unique(community_ids[[r.community for r in done]]))
        )
        moved_zh = (
            f"；涉及 {len(buildings):,} 栋建筑、{int(households[buildings].sum()):,} 户登记户" if buildings else ""
        )
        zh = f"{REPAIRS_ZH[kind]}（{len(done):,} 处）：共 {area:,.1f} 平方米{moved_zh}：{_name_ids(shown, total=len(done), lang='zh')}"
        findings.append(Finding("repair", f"community_{kind}", "communities", message, ids, len(done), zh))
    return findings


def _communities_without_streets(
    communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, ids: np.ndarray
) -> list[Finding]:
    """Communities that no street runs through or along: planning tiles them along their boundary only.

    A street that only touches a community at a point (a dead end at the boundary) does not count.
    """
    reached = np.zeros(len(communities), dtype=bool)
    if len(streets):
        areas, lines = communities.geometry.to_numpy(), streets.geometry.to_numpy()
        c, s = shapely.STRtree(lines).query(areas, predicate="intersects")
        reached[c[shapely.length(shapely.intersection(areas[c], lines[s])) > 0]] = True
    if reached.all():
        return []
    missed = tuple(ids[~reached])
    message = (
        f"{plural(len(missed), 'community', 'communities')} without any street through or along it; grids "
        f"there follow the community boundary only: {_name_ids(missed)}"
    )
    return [
        Finding(
            "warning",
            "community_without_streets",
            "communities",
            message,
            missed,
            len(missed),
            f"{len(missed):,} 个社区内部和边上都没有道路，网格只能沿社区边界划分：{_name_ids(missed, lang='zh')}",
        )
    ]


def _bad_codes(communities: gpd.GeoDataFrame, ids: np.ndarray) -> list[Finding]:
    """Community codes that cannot prefix grid codes: not 12 digits (GB/T 2260 county 6 + street 3 + community 3).
    Missing codes are no finding: those communities' grids get no code."""
    if "code" not in communities:
        return []
    codes = communities["code"].map(
        lambda c: None if c is None or (isinstance(c, float) and np.isnan(c)) else id_string(c)
    )
    bad = codes.notna() & ~codes.fillna("").str.fullmatch(r"\d{12}")
    if not bad.any():
        return []
    shown = [f"{i} ({c!r})" for i, c in zip(ids[bad.to_numpy()][:MESSAGE_IDS], codes[bad][:MESSAGE_IDS])]
    message = (
        f"{plural(int(bad.sum()), 'community code is', 'community codes are')} not 12 digits (county 6 + street 3 + "
        f"community 3), so grid codes cannot be made: correct them or leave them empty: {_name_ids(shown, total=int(bad.sum()))}"
    )
    zh = (
        f"{int(bad.sum()):,} 个社区代码不是 12 位（区县 6 位 + 街道 3 位 + 社区 3 位），无法生成网格编码：请更正或留空："
        f"{_name_ids(shown, total=int(bad.sum()), lang='zh')}"
    )
    return [
        Finding("error", "bad_community_code", "communities", message, tuple(ids[bad.to_numpy()]), int(bad.sum()), zh)
    ]


def _household_kinds(values: pd.Series) -> dict[str, np.ndarray]:
    """Masks of the unusable household values by kind; ``usable`` for the rest."""
    number = pd.to_numeric(values.astype(object), errors="coerce").to_numpy(dtype=float)
    missing = ~_present(values).to_numpy()
    not_number = ~missing & ~np.isfinite(number)
    finite = np.isfinite(number)
    negative = finite & (number < 0)
    fractional = finite & (number >= 0) & (number != np.floor(number))
    usable = finite & (number >= 0) & ~fractional
    return {
        "missing": missing,
        "not a number": not_number,
        "negative": negative,
        "fractional": fractional,
        "usable": usable,
    }


def _usable_households(buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Registered households that are usable counts (finite, non-negative, whole), by position; 0 elsewhere."""
    if "households" not in buildings:
        return np.zeros(len(buildings), dtype=np.int64)
    usable = _household_kinds(buildings["households"])["usable"]
    number = pd.to_numeric(buildings["households"].astype(object), errors="coerce").to_numpy(dtype=float)
    return np.where(usable, number, 0).astype(np.int64)


def _check_households(
    buildings: gpd.GeoDataFrame,
    buildings_m: gpd.GeoDataFrame | None,
    labels: np.ndarray,
    repair: bool,
    settings: Settings,
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Apply the households policy of :func:`validate_scene` to the buildings kept."""
    kinds = _household_kinds(buildings["households"])
    number = pd.to_numeric(buildings["households"].astype(object), errors="coerce").to_numpy(dtype=float)
    # estimates need footprints in metres; without them nothing is repaired, so the column stays as given
    repair = repair and buildings_m is not None
    findings = []
    unknown = np.zeros(len(buildings), dtype=bool)
    for kind in ("missing", "not a number", "negative", "fractional"):
        mask = kinds[kind]
        if not mask.any():
            continue
        ids = tuple(labels[mask])
        noun = plural(len(ids), "building", "buildings")
        if kind == "fractional" and repair:
            shown = [
                f"{i} ({v:g} → {np.floor(v + 0.5):g})" for i, v in zip(ids[:MESSAGE_IDS], number[mask][:MESSAGE_IDS])
            ]
            message = f"fractional households in {noun}, rounded half up: {_name_ids(shown, total=len(ids))}"
            findings.append(
                Finding(
                    "repair",
                    "households_repaired",
                    "buildings",
                    message,
                    ids,
                    len(ids),
                    f"{len(ids):,} 栋建筑的户数为小数，已四舍五入：{_name_ids(shown, total=len(ids), lang='zh')}",
                )
            )
        elif repair:
            unknown |= mask
            message = f"{kind} households in {noun}, estimated from footprint and floors instead: {_name_ids(ids)}"
            findings.append(
                Finding(
                    "repair",
                    "households_repaired",
                    "buildings",
                    message,
                    ids,
                    len(ids),
                    f"{len(ids):,} 栋建筑的户数{BAD_VALUES_ZH[kind]}，改按占地面积和层数估算：{_name_ids(ids, lang='zh')}",
                )
            )
        else:
            if buildings_m is None:
                advice = "not repaired: the scene has no CRS to estimate households in"
            else:
                advice = f"--repair-households {'rounds' if kind == 'fractional' else 'estimates'} them"
            message = f"{kind} households in {noun} ({advice}): {_name_ids(ids)}"
            advice_zh = (
                "未修复：场景没有坐标参考系，无法估算户数"
                if buildings_m is None
                else f"--repair-households 会{'四舍五入' if kind == 'fractional' else '估算'}"
            )
            zh = f"{len(ids):,} 栋建筑的户数{BAD_VALUES_ZH[kind]}（{advice_zh}）：{_name_ids(ids, lang='zh')}"
            findings.append(Finding("error", "bad_households", "buildings", message, ids, len(ids), zh))
    if any(f.code == "bad_households" for f in findings):
        return buildings, findings
    households = np.floor(np.where(unknown, 0, number) + 0.5)
    if unknown.any():
        households[unknown] = estimate_households(buildings_m[unknown], settings.households).to_numpy()
    out = buildings.copy()
    out["households"] = households.astype(np.int64)
    given = (
        out["households_estimated"].fillna(False).astype(bool).to_numpy() if "households_estimated" in out else False
    )
    out["households_estimated"] = unknown | given
    if buildings_m is not None:
        findings += _implausible_households(out, buildings_m, labels, settings)
    return out, findings


def _implausible_households(
    buildings: gpd.GeoDataFrame, buildings_m: gpd.GeoDataFrame, labels: np.ndarray, settings: Settings
) -> list[Finding]:
    """Registered counts no building of that footprint and height could hold: less floor area per household
    than ``settings.validation.min_m2_per_household`` (floors from ``levels`` or ``height``; unknown floors
    counted generously, as ``settings.validation.unknown_floors``)."""
    v = settings.validation
    known = pd.Series(False, index=buildings_m.index)
    for column in ("levels", "height"):
        if column in buildings_m:
            known |= pd.to_numeric(buildings_m[column], errors="coerce").fillna(0).gt(0)
    floors = np.where(known.to_numpy(), building_floors(buildings_m, settings.households).to_numpy(), v.unknown_floors)
    capacity = shapely.area(buildings_m.geometry.to_numpy()) * floors / v.min_m2_per_household
    households = buildings["households"].to_numpy(dtype=float)
    bad = households > np.maximum(capacity, 1)
    if not bad.any():
        return []
    ids = tuple(labels[bad])
    shown = [
        f"{i} ({h:,.0f} households, room for {c:,.0f})"
        for i, h, c in zip(ids[:MESSAGE_IDS], households[bad], capacity[bad])
    ]
    message = (
        f"{plural(len(ids), 'building', 'buildings')} with more households than {v.min_m2_per_household:g} m² of floor "
        f"each allows (check the register or the footprint): {_name_ids(shown, total=len(ids))}"
    )
    shown_zh = [
        f"{i}（{h:,.0f} 户，可容 {c:,.0f} 户）" for i, h, c in zip(ids[:MESSAGE_IDS], households[bad], capacity[bad])
    ]
    zh = (
        f"{len(ids):,} 栋建筑的户数超过按每户 {v.min_m2_per_household:g} 平方米可容纳的数量（请核对登记或轮廓）："
        f"{_name_ids(shown_zh, total=len(ids), lang='zh')}"
    )
    return [Finding("warning", "implausible_households", "buildings", message, ids, len(ids), zh)]


def _check_members(
    members: pd.DataFrame, labels: np.ndarray, buildings_in: gpd.GeoDataFrame, buildings_out: gpd.GeoDataFrame
) -> tuple[np.ndarray, list[Finding]]:
    """Party members whose building is unknown, or was left out, are kept out of the scene and listed.

    Returns the mask of members kept and the findings.
    """
    address = _id_strings(members, "building_id")
    known = address.isin(set(_id_strings(buildings_in, "building_id").dropna())).to_numpy()
    kept = address.isin(set(_id_strings(buildings_out, "building_id").dropna())).to_numpy()
    findings = []
    for mask, code, what, what_zh in (
        (~known, "member_unknown_building", "with a building_id that no building has", "的 building_id 不属于任何建筑"),
        (known & ~kept, "member_building_excluded", "in buildings left out of the scene", "所在建筑已被排除"),
    ):
        if mask.any():
            ids = tuple(labels[mask])
            message = f"{plural(len(ids), 'party member', 'party members')} {what}, placed in no grid: {_name_ids(ids)}"
            zh = f"{len(ids):,} 名党员{what_zh}，未编入网格：{_name_ids(ids, lang='zh')}"
            findings.append(Finding("warning", code, "party_members", message, ids, len(ids), zh))
    return kept, findings


def _empty_layers(layers: dict[str, pd.DataFrame], cleaned: dict[str, pd.DataFrame]) -> list[Finding]:
    """Layers with no rows left: nothing can be planned without communities or buildings."""
    findings = []
    for name, frame in cleaned.items():
        if len(frame):
            continue
        left_out = len(layers[name])
        message = f"{name} is empty" + (f" once {plural(left_out, 'row', 'rows')} left out" if left_out else "")
        zh = "图层为空" + (f"（排除 {left_out:,} 行之后）" if left_out else "")
        level = "error" if name in ("communities", "buildings") else "warning"
        findings.append(Finding(level, "empty_layer", name, message, (), 0, zh))
    return findings


def _in_out(n_in: int, n_out: int) -> dict[str, int]:
    return {"in": n_in, "out": n_out, "excluded": n_in - n_out}


def _name_ids(ids, total: int | None = None, lang: str = "en") -> str:
    """Up to :data:`MESSAGE_IDS` ids, then "and N more" (``等，另有 N 个``)."""
    ids = list(ids)
    total = len(ids) if total is None else total
    shown = word("list_separator", lang).join(map(str, ids[:MESSAGE_IDS]))
    return shown + (word("and_more", lang, n=total - MESSAGE_IDS) if total > MESSAGE_IDS else "")


def prepare_scene(
    scene: Scene, settings: Settings = DEFAULTS, *, repair_households: bool = False, accept_outside: bool = False
) -> PreparedScene:
    """Validate a scene and prepare it once for every later step.

    Parameters
    ----------
    scene
        The scene as read (:func:`load_scene`).
    settings
        Household estimation (also for repairs) and workload weights.
    repair_households
        Repair unusable household counts instead of failing (see :func:`gridplan.prepare.validate.validate_scene`).
    accept_outside
        Leave out any number of buildings outside every community with a warning, instead of failing when
        they are more than ``settings.validation.max_outside_share``.

    Returns
    -------
    PreparedScene
        The validated scene, the same in its local metric CRS with households filled, its fingerprint and
        the validation (``prepared.validation.summary()`` says what was found and repaired).

    Raises
    ------
    InputError
        The scene has errors (the message lists them).

    Examples
    --------
    >>> from gridplan import prepare_scene
    >>> from gridplan.scenarios.example import example_scene
    >>> prepared = prepare_scene(example_scene())
    >>> prepared.local.crs.is_projected, int(prepared.local.buildings["households"].sum())
    (True, 4500)
    """
    validation = validate_scene(
        scene, repair_households=repair_households, accept_outside=accept_outside, settings=settings
    )
    validation.raise_for_errors()
    return PreparedScene.of(validation.scene, settings, validation)


def as_prepared(scene: Scene | PreparedScene, settings: Settings | None = None) -> PreparedScene:
    """``scene`` prepared with ``settings``: a prepared scene is reused (with its own settings when ``settings``
    is None); a plain scene is validated and prepared first (:func:`prepare_scene`), so that no step plans
    over a scene nobody checked.

    Raises
    ------
    InputError
        A plain scene with errors (duplicate building ids, a building in two communities…).
    """
    if isinstance(scene, PreparedScene):
        return scene if settings is None else scene.with_settings(settings)
    return prepare_scene(scene, DEFAULTS if settings is None else settings)
