"""The walking network: noding, snapping, distances along streets, isochrones."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from gridplan.errors import InputError
from gridplan.reach.network import ServiceSettings, WalkingNetwork

from .support.properties import examples

CRS = "EPSG:32650"


def streets(*lines, highway="residential", **columns) -> gpd.GeoDataFrame:
    geometry = [LineString(line) for line in lines]
    return gpd.GeoDataFrame({"highway": highway, **columns}, geometry=geometry, index=range(len(geometry)), crs=CRS)


def dense(network, sources, targets, cutoff=10_000.0) -> np.ndarray:
    """Distances as a dense array with NaN where nothing is stored (a stored 0 stays 0)."""
    d = network.distances(sources, targets, cutoff).tocoo()
    out = np.full(d.shape, np.nan)
    out[d.row, d.col] = d.data
    return out


def test_distance_runs_along_the_street_plus_both_snap_legs():
    network = WalkingNetwork.from_streets(streets([(0, 0), (1200, 0)]))
    d = dense(network, [Point(100, 10), Point(300, 0)], [Point(700, -20), Point(100, 10), Point(300, 0)])
    assert d[0, 0] == pytest.approx(10 + 600 + 20)
    assert d[0, 1] == pytest.approx(20)  # to the street and back: no shortcut through the block
    assert d[1, 2] == 0.0  # the same place on the street: stored, as a zero


def test_points_snap_to_the_nearest_segment_not_the_nearest_node():
    # the nearest node to (500, 40) is 500 m away; the segment is 40 m away
    network = WalkingNetwork.from_streets(streets([(0, 0), (1000, 0)]))
    snap = network.snap([Point(500, 40)])
    assert snap["snap_m"].iat[0] == pytest.approx(40)
    assert (snap["x"].iat[0], snap["y"].iat[0]) == pytest.approx((500, 0))


def test_u_shaped_street_is_walked_round_not_crossed():
    network = WalkingNetwork.from_streets(streets([(0, 0), (0, 1000), (600, 1000), (600, 0)]))
    d = dense(network, [Point(-5, 0)], [Point(605, 0)])
    assert d[0, 0] == pytest.approx(5 + 1000 + 600 + 1000 + 5)
    assert network.distances([Point(-5, 0)], [Point(605, 0)], 1000).nnz == 0


def test_streets_crossing_without_a_shared_vertex_are_joined():
    network = WalkingNetwork.from_streets(streets([(0, 0), (100, 0)], [(50, -50), (50, 50)]))
    assert len(network.xy) == 5 and len(network.edges) == 4
    assert dense(network, [Point(0, 0)], [Point(50, 50)])[0, 0] == pytest.approx(100)


def test_a_bridge_joins_only_where_it_shares_vertices():
    lines = streets([(0, 0), (100, 0)], [(50, -50), (50, 50)], bridge=["yes", None])
    assert np.isnan(dense(lines.pipe(WalkingNetwork.from_streets), [Point(0, 0)], [Point(50, 50)])[0, 0])
    ramps = streets([(0, 0), (50, 0), (100, 0)], [(50, -50), (50, 0), (50, 50)], layer=[1, 0])
    assert dense(WalkingNetwork.from_streets(ramps), [Point(0, 0)], [Point(50, 50)])[0, 0] == pytest.approx(100)


def test_motorways_and_trunk_roads_are_not_walked():
    lines = streets([(0, 0), (0, 500), (1000, 500), (1000, 0)], [(0, 0), (1000, 0)], highway=["residential", "trunk"])
    network = WalkingNetwork.from_streets(lines)
    assert dense(network, [Point(0, 0)], [Point(1000, 0)])[0, 0] == pytest.approx(2000)


def test_points_beyond_the_snap_tolerance_have_no_distance():
    network = WalkingNetwork.from_streets(streets([(0, 0), (100, 0)]), ServiceSettings(max_snap_m=300))
    assert network.distances([Point(0, 301)], [Point(0, 0)], 10_000).nnz == 0
    distance, index = network.nearest([Point(0, 301)], [Point(0, 0)])
    assert np.isinf(distance[0]) and index[0] == -1


def test_geographic_streets_are_refused():
    with pytest.raises(InputError, match="metric CRS"):
        WalkingNetwork.from_streets(streets([(118.7, 32.0), (118.8, 32.0)]).set_crs("EPSG:4326", allow_override=True))


def test_nearest_is_the_row_minimum_of_distances():
    network = WalkingNetwork.from_streets(streets([(0, 0), (1000, 0)], [(300, 0), (300, 800)]))
    sources = [Point(10, 5), Point(310, 700), Point(990, -5)]
    targets = [Point(300, 400), Point(800, 0)]
    distance, index = network.nearest(sources, targets, cutoff=2000)
    full = dense(network, sources, targets, cutoff=2000)
    assert distance == pytest.approx(np.nanmin(full, axis=1))
    assert index.tolist() == np.nanargmin(full, axis=1).tolist()


def test_isochrone_covers_the_reachable_street_and_no_more():
    network = WalkingNetwork.from_streets(streets([(0, 0), (1000, 0)], [(500, 0), (500, 1000)]))
    polygon = network.isochrones([Point(0, 0)], [600], buffer_m=20)[0, 0]
    assert polygon.contains(Point(590, 0)) and polygon.contains(Point(500, 90))
    assert not polygon.contains(Point(630, 0)) and not polygon.contains(Point(500, 130))
    reached = shapely.intersection(polygon, shapely.MultiLineString([[(0, 0), (1000, 0)], [(500, 0), (500, 1000)]]))
    assert reached.length == pytest.approx(600 + 100 + 20 + 20, abs=1.0)  # both ends of the reach plus the band


def street_grid(xs, ys, drop, size):
    """Streets along every x and y line, with some blocks' segments left out."""
    lines = []
    for k, x in enumerate(xs):
        cuts = np.linspace(0, size, 4)
        lines += [
            [(x, a), (x, b)] for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])) if not drop[(k + i) % len(drop)]
        ]
    for y in ys:
        lines.append([(0, y), (size, y)])
    return streets(*lines)


@settings(max_examples=examples(25), deadline=None)
@given(
    xs=st.lists(st.floats(0, 1000), min_size=1, max_size=5, unique=True),
    ys=st.lists(st.floats(0, 1000), min_size=1, max_size=5, unique=True),
    drop=st.lists(st.booleans(), min_size=1, max_size=6),
    coords=st.lists(st.tuples(st.floats(-100, 1100), st.floats(-100, 1100)), min_size=2, max_size=12),
)
def test_network_distance_is_never_shorter_than_the_crow_flies(xs, ys, drop, coords):
    network = WalkingNetwork.from_streets(street_grid(xs, ys, drop, 1000.0))
    points = [Point(c) for c in coords]
    d = network.distances(points, points, cutoff=5000).tocoo()
    crow = np.hypot(*(np.array(coords)[d.row] - np.array(coords)[d.col]).T)
    assert np.all(d.data >= crow - 1e-6)
    symmetric = network.distances(points, points, cutoff=5000)
    assert abs(symmetric - symmetric.T).max() < 1e-6 if symmetric.nnz else True


def test_a_target_exactly_at_the_cutoff_is_kept():
    network = WalkingNetwork.from_streets(streets([(0, 0), (150, 0), (300, 0)]))
    d = network.distances([Point(0, 0)], [Point(300, 0), Point(300.01, 0)], 300).tocoo()
    assert d.col.tolist() == [0] and d.data == pytest.approx([300])
    assert network.nearest([Point(300, 0)], [Point(0, 0)], 300)[0] == pytest.approx([300])
