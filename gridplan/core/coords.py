"""Chinese map coordinate systems: GCJ-02 (火星坐标; Gaode/Amap, Tencent) and BD-09 (Baidu) to WGS84 and back.

Data digitised on Gaode, Tencent or Baidu maps is shifted by an obfuscation formula (GCJ-02, plus a further
rotation for BD-09): hundreds of metres off OpenStreetMap, Tianditu or surveyed CGCS2000 data. The forward
formulas (WGS84 → GCJ-02 → BD-09) are the published ones (e.g. github.com/wandergis/coordtransform); they have
no closed-form inverse, so the way back is solved by fixed-point iteration, exact to far below a centimetre.

Outside China's bounding box the formulas do not apply and coordinates pass through unchanged.
"""

from __future__ import annotations

from typing import Callable

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike
from pyproj import CRS, Transformer

from gridplan.errors import InputError

#: Semi-major axis and eccentricity² of the Krasovsky 1940 ellipsoid, which GCJ-02 is defined on.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
#: (west, south, east, north): the usual test for "in China" of the published formulas.
CHINA_BBOX = (73.66, 3.86, 135.05, 53.55)
#: The iterative inverses stop when a step moves less than this (degrees, ≈ 0.01 mm).
_TOLERANCE_DEG = 1e-10
_MAX_ITERATIONS = 20

Transform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: The coordinate systems Chinese data comes in: WGS84 (also CGCS2000, to well under a metre), GCJ-02, BD-09.
SYSTEMS = ("wgs84", "gcj02", "bd09")
#: How each system is named to a user.
SYSTEM_NAMES = {"wgs84": "WGS84/CGCS2000", "gcj02": "GCJ-02 (Gaode/Tencent)", "bd09": "BD-09 (Baidu)"}
#: The same, to a user reading Chinese.
SYSTEM_NAMES_ZH = {"wgs84": "WGS84/CGCS2000", "gcj02": "GCJ-02（高德/腾讯）", "bd09": "BD-09（百度）"}


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Whether each point lies outside China's bounding box, where no offset applies."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    west, south, east, north = CHINA_BBOX
    return ~((lon > west) & (lon < east) & (lat > south) & (lat < north))


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to GCJ-02 (the published forward formula).

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees (scalars or arrays of one shape).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitudes and latitudes; points outside China unchanged.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _gcj02_offset(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to WGS84, by iterating the forward formula to its fixed point.

    The common one-step approximation (subtract the offset found at the GCJ-02 point) is off by about
    0.6 m (median over China; up to ~5 m); iterating makes ``wgs84_to_gcj02(*gcj02_to_wgs84(x, y))``
    return ``(x, y)`` to ~1e-10°.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitudes and latitudes; points outside China unchanged.
    """
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to BD-09 (Baidu's published forward formula).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitudes and latitudes; points outside China unchanged.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    outside = out_of_china(lon, lat)
    return (np.where(outside, lon, z * np.cos(theta) + 0.0065), np.where(outside, lat, z * np.sin(theta) + 0.006))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to GCJ-02, by iterating the forward formula to its fixed point.

    Parameters
    ----------
    lon, lat
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitudes and latitudes; points outside China unchanged.
    """
    return _invert(gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat
        WGS84 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitudes and latitudes; points outside China unchanged.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS84 (through GCJ-02).

    Parameters
    ----------
    lon, lat
        BD-09 longitudes and latitudes in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitudes and latitudes; points outside China unchanged.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84: dict[str, Transform] = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84: dict[str, Transform] = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def convert_lonlat(lon: ArrayLike, lat: ArrayLike, source: str, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes in ``source`` expressed in ``target`` (any two of :data:`SYSTEMS`).

    Parameters
    ----------
    lon, lat
        Degrees, in ``source``.
    source, target
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    tuple of numpy.ndarray
        The same places in ``target``; points outside China unchanged.
    """
    for system in (source, target):
        if system not in SYSTEMS:
            raise InputError(
                f"unknown coordinate system {system!r}: use one of {', '.join(SYSTEMS)}",
                zh=f"未知的坐标系 {system!r}：可选 {'、'.join(SYSTEMS)}",
            )
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if source == target:
        return lon.copy(), lat.copy()
    if source != "wgs84":
        lon, lat = _TO_WGS84[source](lon, lat)
    if target != "wgs84":
        lon, lat = _FROM_WGS84[target](lon, lat)
    return lon, lat


def convert_geometries(geometries: ArrayLike, crs, source: str, target: str) -> np.ndarray:
    """Geometries in any CRS whose lon/lat were digitised in ``source``, moved to ``target``.

    A projected layer (a Gaode export in Web Mercator, a CGCS2000 Gauss–Krüger sheet) goes to lon/lat, is
    converted there and comes back to its own CRS.

    Parameters
    ----------
    geometries
        Shapely geometries.
    crs
        Their CRS (required: the formulas are on lon/lat).
    source, target
        Systems of :data:`SYSTEMS`.

    Returns
    -------
    numpy.ndarray
        The moved geometries, in ``crs``.
    """
    if crs is None:
        raise InputError(
            "a layer without a CRS cannot be moved between coordinate systems: set its CRS first",
            zh="没有坐标参考系的图层无法在坐标系之间转换：请先设定其坐标参考系",
        )
    crs = CRS.from_user_input(crs)
    geographic = crs.is_geographic
    forward = None if geographic else Transformer.from_crs(crs, 4326, always_xy=True)
    back = None if geographic else Transformer.from_crs(4326, crs, always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = (xy[:, 0], xy[:, 1]) if geographic else forward.transform(xy[:, 0], xy[:, 1])
        lon, lat = convert_lonlat(lon, lat, source, target)
        return np.column_stack((lon, lat) if geographic else back.transform(lon, lat))

    return shapely.transform(np.asarray(geometries, dtype=object), move)


def to_wgs84(gdf: gpd.GeoDataFrame, coords: str) -> gpd.GeoDataFrame:
    """Geometries digitised in GCJ-02 or BD-09, moved to WGS84.

    Parameters
    ----------
    gdf
        Layer whose lon/lat are in ``coords`` but whose CRS says geographic (EPSG:4326, CGCS2000…): the
        Chinese systems have no EPSG code, so such data is always labelled as plain lon/lat.
    coords
        ``"gcj02"`` (Gaode/Amap, Tencent) or ``"bd09"`` (Baidu).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with every vertex converted; same CRS and columns.

    Raises
    ------
    InputError
        ``coords`` is unknown, or the layer's CRS is missing or not geographic.
    """
    return _convert(gdf, coords, _TO_WGS84)


def from_wgs84(gdf: gpd.GeoDataFrame, coords: str) -> gpd.GeoDataFrame:
    """WGS84 geometries moved to GCJ-02 or BD-09, e.g. to overlay them on Gaode or Baidu tiles.

    Parameters
    ----------
    gdf
        Layer in a geographic CRS (lon/lat).
    coords
        ``"gcj02"`` (Gaode/Amap, Tencent) or ``"bd09"`` (Baidu).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with every vertex converted; the CRS label is unchanged (see :func:`to_wgs84`).

    Raises
    ------
    InputError
        ``coords`` is unknown, or the layer's CRS is missing or not geographic.
    """
    return _convert(gdf, coords, _FROM_WGS84)


def _convert(gdf: gpd.GeoDataFrame, coords: str, table: dict[str, Transform]) -> gpd.GeoDataFrame:
    if coords not in table:
        raise InputError(
            f"unknown coordinate system {coords!r}: use one of {', '.join(table)}",
            zh=f"未知的坐标系 {coords!r}：可选 {'、'.join(table)}",
        )
    if gdf.crs is None or not gdf.crs.is_geographic:
        raise InputError(
            f"{coords} conversion needs lon/lat coordinates, but the layer's CRS is {gdf.crs}: "
            "set it to EPSG:4326 (the lon/lat as digitised), not a projected CRS",
            zh=f"{coords} 转换需要经纬度坐标，但该图层的坐标参考系是 {gdf.crs}："
            "请设为 EPSG:4326（采集时的经纬度），而不是投影坐标系",
        )
    transform = table[coords]

    def convert(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transform(xy[:, 0], xy[:, 1]))

    out = gdf.copy()
    out.geometry = shapely.transform(gdf.geometry.values, convert)
    return out


def _gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 at a WGS84 point, in degrees (the published polynomial-and-sine formula)."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    # metres on the Krasovsky ellipsoid to degrees
    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _invert(forward: Transform, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x, y) == (lon, lat)`` for (x, y).

    The forward maps are the identity plus a small, slowly varying offset, so the fixed-point step
    ``p ← p − (forward(p) − target)`` contracts fast: two or three steps reach 1e-10°.
    """
    target_lon, target_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = target_lon.copy(), target_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        step_x, step_y = fx - target_lon, fy - target_lat
        x, y = x - step_x, y - step_y
        if max(np.max(np.abs(step_x), initial=0.0), np.max(np.abs(step_y), initial=0.0)) < _TOLERANCE_DEG:
            break
    # the "in China" test applies to the input, as in the forward direction
    outside = out_of_china(target_lon, target_lat)
    return np.where(outside, target_lon, x), np.where(outside, target_lat, y)
