"""GCJ-02 / BD-09 ↔ WGS84: published test vectors, exact round trips, and a real GCJ-02 layer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from gridplan.core.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridplan.errors import InputError

# Test vectors of github.com/wandergis/coordtransform, test/app.js (also used by hutool's CoordinateUtilTest):
# input (116.404, 39.915) in each direction. Its gcj02towgs84 and bd09togcj02 are one-step approximations.
TIANANMEN = (116.404, 39.915)
CT_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
CT_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
CT_GCJ02_TO_WGS84_ONE_STEP = (116.39775550083061, 39.91359571849836)
CT_BD09_TO_GCJ02_ONE_STEP = (116.39762729119315, 39.90865673957631)

# github.com/googollee/eviltransform, python/test.py TESTS: (wgs lat, wgs lng, gcj lat, gcj lng).
EVILTRANSFORM_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]

DEG_1E_9 = 1e-9  # ≈ 0.1 mm
METRES_PER_DEG = 111_320.0


def metres(lon_a, lat_a, lon_b, lat_b) -> np.ndarray:
    """Small distances in metres between lon/lat points (equirectangular: exact enough below 1 km)."""
    lat = np.radians(np.asarray(lat_a))
    return np.hypot(
        (np.asarray(lon_a) - lon_b) * METRES_PER_DEG * np.cos(lat), (np.asarray(lat_a) - lat_b) * METRES_PER_DEG
    )


def test_wgs84_to_gcj02_matches_coordtransform():
    assert np.allclose(wgs84_to_gcj02(*TIANANMEN), CT_WGS84_TO_GCJ02, rtol=0, atol=DEG_1E_9)


def test_gcj02_to_bd09_matches_coordtransform():
    assert np.allclose(gcj02_to_bd09(*TIANANMEN), CT_GCJ02_TO_BD09, rtol=0, atol=DEG_1E_9)


@pytest.mark.parametrize("wgs_lat, wgs_lng, gcj_lat, gcj_lng", EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_matches_eviltransform(wgs_lat, wgs_lng, gcj_lat, gcj_lng):
    assert np.allclose(wgs84_to_gcj02(wgs_lng, wgs_lat), (gcj_lng, gcj_lat), rtol=0, atol=1e-7)


@pytest.mark.parametrize("wgs_lat, wgs_lng, gcj_lat, gcj_lng", EVILTRANSFORM_PAIRS)
def test_gcj02_to_wgs84_recovers_eviltransform_origin_within_a_centimetre(wgs_lat, wgs_lng, gcj_lat, gcj_lng):
    lon, lat = gcj02_to_wgs84(gcj_lng, gcj_lat)
    assert metres(lon, lat, wgs_lng, wgs_lat) < 0.01


def test_inverses_refine_the_one_step_approximations_of_coordtransform():
    # the one-step inverses are within a metre here; the iterated ones land exactly on the forward image
    lon, lat = gcj02_to_wgs84(*TIANANMEN)
    assert 0.01 < metres(lon, lat, *CT_GCJ02_TO_WGS84_ONE_STEP) < 1.0
    assert np.allclose(wgs84_to_gcj02(lon, lat), TIANANMEN, rtol=0, atol=DEG_1E_9)
    lon, lat = bd09_to_gcj02(*TIANANMEN)
    assert 0.01 < metres(lon, lat, *CT_BD09_TO_GCJ02_ONE_STEP) < 0.2
    assert np.allclose(gcj02_to_bd09(lon, lat), TIANANMEN, rtol=0, atol=DEG_1E_9)


@pytest.mark.parametrize(
    "forward, inverse",
    [(wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84), (gcj02_to_bd09, bd09_to_gcj02)],
)
def test_round_trips_over_china_are_exact_to_a_millimetre(forward, inverse):
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(74.0, 135.0, 10_000), rng.uniform(4.0, 53.0, 10_000)
    back_lon, back_lat = inverse(*forward(lon, lat))
    assert back_lon.shape == lon.shape
    assert metres(back_lon, back_lat, lon, lat).max() < 0.001


def test_offset_inside_china_is_hundreds_of_metres():
    lon, lat = wgs84_to_gcj02(118.78, 32.04)  # Nanjing Xinjiekou
    assert 300 < metres(lon, lat, 118.78, 32.04) < 700
    lon, lat = wgs84_to_bd09(118.78, 32.04)
    assert 1000 < metres(lon, lat, 118.78, 32.04) < 1500


@pytest.mark.parametrize("lon, lat", [(24.94, 60.17), (-0.13, 51.51), (139.69, 35.69), (100.0, 1.0)])
@pytest.mark.parametrize(
    "convert", [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84]
)
def test_points_outside_china_are_unchanged(convert, lon, lat):
    # Helsinki, London, Tokyo, Singapore strait
    assert convert(lon, lat) == (lon, lat)


def test_to_wgs84_converts_every_vertex_of_every_geometry_type():
    gcj = gpd.GeoDataFrame(
        {"name": ["p", "l", "a"]},
        geometry=[
            Point(118.78, 32.04),
            LineString([(118.78, 32.04), (118.79, 32.05)]),
            Polygon([(118.78, 32.04), (118.79, 32.04), (118.79, 32.05)]),
        ],
        crs="EPSG:4326",
    )
    wgs = to_wgs84(gcj, "gcj02")
    xy = shapely.get_coordinates(gcj.geometry.values)
    assert np.allclose(
        shapely.get_coordinates(wgs.geometry.values), np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1]))
    )
    assert list(wgs["name"]) == ["p", "l", "a"] and wgs.crs == gcj.crs
    assert shapely.get_coordinates(gcj.geometry.values).tolist() == xy.tolist()  # input untouched


def test_from_wgs84_inverts_to_wgs84_for_baidu():
    wgs = gpd.GeoDataFrame(geometry=[Polygon([(114.4, 30.5), (114.41, 30.5), (114.41, 30.51)])], crs="EPSG:4326")
    back = to_wgs84(from_wgs84(wgs, "bd09"), "bd09")
    assert back.geometry.iloc[0].equals_exact(wgs.geometry.iloc[0], tolerance=DEG_1E_9)


def test_projected_or_missing_crs_is_an_input_error():
    projected = gpd.GeoDataFrame(geometry=[Point(500_000, 3_500_000)], crs="EPSG:32650")
    with pytest.raises(InputError, match="lon/lat"):
        to_wgs84(projected, "gcj02")
    with pytest.raises(InputError, match="lon/lat"):
        from_wgs84(gpd.GeoDataFrame(geometry=[Point(118.78, 32.04)]), "gcj02")


def test_unknown_coordinate_system_is_an_input_error():
    with pytest.raises(InputError, match="unknown coordinate system"):
        to_wgs84(gpd.GeoDataFrame(geometry=[Point(118.78, 32.04)], crs="EPSG:4326"), "wgs84")


@pytest.fixture(scope="module")
def districts(shared_data):
    path = shared_data / "district_boundaries_cnmaps" / "districts.gpkg"
    gcj = gpd.read_file(path, layer="districts_gcj02")
    wgs = gpd.read_file(path, layer="districts_wgs84")
    assert list(gcj["adcode"]) == list(wgs["adcode"])
    return gcj, wgs


def _hausdorff_m(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    """Hausdorff distance of each pair of district outlines, in metres (each in its own UTM zone)."""
    out = []
    for ga, gb in zip(a, b):
        pair = gpd.GeoSeries([ga, gb], crs="EPSG:4326")
        pair = pair.to_crs(pair.estimate_utm_crs())
        out.append(pair.iloc[0].hausdorff_distance(pair.iloc[1]))
    return np.array(out)


def test_real_gcj02_districts_are_hundreds_of_metres_off_wgs84(districts):
    gcj, wgs = districts
    # measured: 483 m (汉台) to 648 m (集宁)
    assert _hausdorff_m(gcj.geometry, wgs.geometry).min() > 450


def test_real_gcj02_districts_converted_match_the_published_wgs84_layer(districts):
    gcj, wgs = districts
    distance = _hausdorff_m(to_wgs84(gcj, "gcj02").geometry, wgs.geometry)
    # measured 1.3–3.6 m: the shipped WGS84 layer used the one-step formula, whose own error this is
    assert distance.max() < 4.0
    assert np.median(distance) < 2.5


def test_real_gcj02_districts_convert_exactly(districts):
    # the shipped WGS84 layer maps back onto GCJ-02 metres off; ours lands on it to the millimetre
    gcj, wgs = districts
    original = shapely.get_coordinates(gcj.geometry.values)
    ours = shapely.get_coordinates(from_wgs84(to_wgs84(gcj, "gcj02"), "gcj02").geometry.values)
    published = shapely.get_coordinates(from_wgs84(wgs, "gcj02").geometry.values)
    assert metres(ours[:, 0], ours[:, 1], original[:, 0], original[:, 1]).max() < 0.001
    assert metres(published[:, 0], published[:, 1], original[:, 0], original[:, 1]).max() > 1.0
