"""The 15-minute service circle: coverage by circle, blind spots, siting new service points (MCLP)."""

from __future__ import annotations

from itertools import combinations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from gridplan.core.scene import Scene
from gridplan.errors import InputError
from gridplan.reach.service import analyse_service, site_service_points
from gridplan.scenarios.service_points import generate_service_points

CRS = "EPSG:32650"


def line_scene(lines, buildings, service_points, households=None) -> Scene:
    """Streets, square 10 m buildings centred on ``buildings`` and service points, in metres."""
    households = households or [10] * len(buildings)
    footprints = [box(x - 5, y - 5, x + 5, y + 5) for x, y in buildings]
    return Scene(
        communities=gpd.GeoDataFrame(
            {"community_id": ["c1"]}, geometry=[shapely.union_all(footprints).envelope.buffer(2000)], crs=CRS
        ),
        buildings=gpd.GeoDataFrame(
            {"building_id": [f"b{i}" for i in range(len(buildings))], "households": households},
            geometry=footprints,
            crs=CRS,
        ),
        streets=gpd.GeoDataFrame(
            {"highway": ["residential"] * len(lines)}, geometry=[LineString(l) for l in lines], crs=CRS
        ),
        service_points=gpd.GeoDataFrame(
            {"point_id": [f"s{i}" for i in range(len(service_points))]},
            geometry=[Point(p) for p in service_points],
            crs=CRS,
        ),
    )


def test_circles_on_a_straight_street_are_exact():
    # buildings 10 m off the street at 250 / 450 / 900 / 1,100 m along it from the service point
    scene = line_scene([[(0, 0), (1500, 0)]], [(250, 10), (450, 10), (900, 10), (1100, 10)], [(0, 0)])
    b = analyse_service(None, scene).buildings.set_index("building_id")
    # the true walk, however far: beyond the largest circle too
    assert b["nearest_service_m"].tolist() == pytest.approx([260, 460, 910, 1110])
    assert (b["network_reach"] == "on_network").all()
    assert b["covered_300m"].tolist() == [True, False, False, False]
    assert b["covered_500m"].tolist() == [True, True, False, False]
    assert b["covered_1000m"].tolist() == [True, True, True, False]
    assert b["covered"].tolist() == b["covered_1000m"].tolist()
    assert b["blind_spot"].tolist() == [False, False, False, True]


def test_a_building_600_m_away_round_a_u_shaped_street_is_a_blind_spot():
    scene = line_scene([[(0, 0), (0, 1000), (600, 1000), (600, 0)]], [(612, 0)], [(0, 0)])
    coverage = analyse_service(None, scene)
    assert scene.buildings.geometry.iat[0].centroid.distance(Point(0, 0)) == pytest.approx(612)
    assert coverage.buildings["blind_spot"].tolist() == [True]
    assert coverage.blind_spots["building_id"].tolist() == ["b0"]
    assert coverage.summary()["households_blind"].iat[0] == 10


def test_isochrones_grow_with_the_circle_and_hold_their_point():
    scene = line_scene([[(0, 0), (1500, 0)], [(700, -800), (700, 800)]], [(250, 10)], [(600, 0)])
    iso = analyse_service(None, scene).isochrones
    assert iso["radius_m"].tolist() == [300, 500, 1000]
    areas = iso.geometry.area.to_numpy()
    assert np.all(np.diff(areas) > 0)
    assert all(g.contains(Point(600, 0)) for g in iso.geometry)
    assert iso.geometry.iat[0].within(iso.geometry.iat[1].buffer(1e-6))


def test_a_scene_without_service_points_is_refused():
    scene = line_scene([[(0, 0), (100, 0)]], [(50, 10)], [(0, 0)]).replace(service_points=None)
    with pytest.raises(InputError, match="generate_service_points"):
        analyse_service(None, scene)


def greedy_trap() -> tuple[Scene, gpd.GeoSeries]:
    """Three candidates on a street, radius 100 m: the middle one covers most alone (7 households), the outer
    two together cover everything (12)."""
    xs, hh = [0, 150, 250, 400, 200], [3, 3, 3, 3, 1]
    scene = line_scene([[(-100, 0), (2100, 0)]], [(x, 5) for x in xs], [(2000, 0)], households=hh)
    return scene, gpd.GeoSeries([Point(75, 0), Point(200, 0), Point(325, 0)], crs=CRS)


def brute_force(coverage, candidates, p, radius) -> float:
    """The most households newly covered by any ``p`` of the candidates."""
    d = coverage.network.distances(
        coverage.buildings.geometry.representative_point().to_numpy(), candidates.to_numpy(), radius
    ).tocoo()
    reach = np.zeros(d.shape, dtype=bool)
    reach[d.row, d.col] = True
    b = coverage.buildings
    h = b["households"].to_numpy() * ~(b["nearest_service_m"].to_numpy() <= radius)
    return max(h[reach[:, list(s)].any(axis=1)].sum() for s in combinations(range(len(candidates)), p))


def test_exact_siting_beats_greedy_where_greedy_is_trapped():
    scene, candidates = greedy_trap()
    coverage = analyse_service(None, scene)
    result = site_service_points(coverage, candidates, p=2, radius=100)
    assert result.greedy_households == 10
    assert result.households_covered == 12 == brute_force(coverage, candidates, 2, 100)
    assert result.optimal and result.upper_bound == pytest.approx(12)
    assert sorted(result.proposed_sites["site_id"]) == ["site1", "site3"]
    assert result.proposed_sites["households_covered"].tolist() == [6, 6]


@pytest.mark.parametrize("seed", range(4))
def test_exact_siting_equals_brute_force_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    houses = rng.uniform(0, 1200, size=(25, 2))
    lines = [[(0, y), (1200, y)] for y in (0, 400, 800, 1200)] + [[(x, 0), (x, 1200)] for x in (0, 300, 700, 1200)]
    scene = line_scene(lines, houses.tolist(), [(0, 0)], households=rng.integers(1, 50, 25).tolist())
    coverage = analyse_service(None, scene)
    candidates = gpd.GeoSeries([Point(xy) for xy in rng.uniform(0, 1200, size=(8, 2))], crs=CRS)
    result = site_service_points(coverage, candidates, p=3, radius=300)
    assert result.households_covered >= result.greedy_households
    assert result.households_covered == brute_force(coverage, candidates, 3, 300)


@pytest.fixture(scope="module")
def nanjing(extracts):
    scene = extracts.prepared("nanjing").scene
    scene = scene.replace(service_points=generate_service_points(scene, seed=1))
    plan = extracts.run("nanjing").plan  # service points do not change a plan
    return scene, plan, analyse_service(plan, scene)


def test_generated_service_points_are_labelled_and_use_community_centres(nanjing):
    scene, _, coverage = nanjing
    points = scene.service_points
    assert points["generated"].all() and points["point_id"].is_unique
    households = coverage.buildings["households"].sum()
    assert len(points) == max(1, round(households / 3000))
    townhalls = scene.pois[scene.pois["kind"] == "townhall"]
    assert sorted(points.loc[points["kind"] == "townhall", "name"]) == sorted(townhalls["name"])


def test_every_nanjing_building_has_a_distance_or_is_a_blind_spot(nanjing):
    scene, plan, coverage = nanjing
    b = coverage.buildings
    assert len(b) == len(plan.assignment)
    d = b["nearest_service_m"].to_numpy()
    assert np.all((d <= 1000) | b["blind_spot"].to_numpy())
    # a distance wherever a walk reaches a service point, however far; none where none does
    assert np.all(np.isnan(d) == (b["network_reach"] != "on_network").to_numpy())
    assert np.all(np.isnan(d) <= b["blind_spot"].to_numpy())
    assert np.all(b["covered_300m"] <= b["covered_500m"]) and np.all(b["covered_500m"] <= b["covered_1000m"])
    # along the streets, never shorter than the crow flies
    local = b.to_crs(coverage.local_crs).representative_point()
    nearest = coverage.service_points.set_index("point_id").to_crs(coverage.local_crs).geometry
    finite = np.isfinite(d)
    crow = shapely.distance(local[finite].to_numpy(), nearest.loc[b.loc[finite, "nearest_point_id"]].to_numpy())
    assert np.all(d[finite] >= crow - 1e-6)


def test_nanjing_households_covered_plus_blind_make_the_total(nanjing):
    _, plan, coverage = nanjing
    summary = coverage.summary().set_index("radius_m")
    total = plan.assignment["households"].sum()
    assert summary.loc[1000.0, "households_covered"] + summary.loc[1000.0, "households_blind"] == total
    assert coverage.blind_spots["households"].sum() == summary.loc[1000.0, "households_blind"]
    assert (
        0
        < summary.loc[300.0, "share_covered"]
        < summary.loc[500.0, "share_covered"]
        < summary.loc[1000.0, "share_covered"]
        <= 1
    )


def test_nanjing_grid_shares_are_shares(nanjing):
    _, plan, coverage = nanjing
    grids = coverage.grids
    assert grids["grid_id"].tolist() == plan.grids["grid_id"].tolist()
    for radius in (300, 500, 1000):
        share = grids[f"share_covered_{radius}m"].dropna()
        assert share.between(0, 1).all()
        assert (
            grids[f"households_covered_{radius}m"].sum()
            == coverage.buildings.loc[coverage.buildings[f"covered_{radius}m"], "households"].sum()
        )
    assert grids["share_covered_1000m"].isna().sum() == (plan.grids["households"] == 0).sum()


@pytest.mark.parametrize("p", [1, 3])
def test_nanjing_sites_cover_what_they_promise(nanjing, p):
    scene, _, coverage = nanjing
    result = site_service_points(coverage, p=p)
    assert result.optimal and result.households_covered >= result.greedy_households > 0
    assert len(result.proposed_sites) == p
    # measured again with the proposed sites added, the blind households fall by what the MIP promised
    crs = coverage.local_crs
    everything = np.concatenate(
        [coverage.service_points.to_crs(crs).geometry.to_numpy(), result.proposed_sites.to_crs(crs).geometry.to_numpy()]
    )
    distance, _ = coverage.network.nearest(
        coverage.buildings.to_crs(crs).representative_point().to_numpy(), everything, 1000
    )
    covered = coverage.buildings["households"].to_numpy()[distance <= 1000].sum()
    assert covered == pytest.approx(
        coverage.buildings.loc[coverage.buildings["covered"], "households"].sum() + result.households_covered
    )


def test_each_service_point_counts_the_households_within_each_circle():
    """Two points on a straight street, buildings along it: counts per point and circle, overlaps at both."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    crs = "EPSG:32650"
    x0, y0 = 500_000.0, 3_500_000.0
    street = gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[LineString([(x0, y0), (x0 + 3000, y0)])], crs=crs)
    at = [100, 400, 900, 1500, 2400]  # along the street, 10 m off it
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"b{x}" for x in at], "households": [10, 20, 30, 40, 50]},
        geometry=[box(x0 + x - 5, y0 + 10, x0 + x + 5, y0 + 20) for x in at],
        crs=crs,
    )
    points = gpd.GeoDataFrame({"point_id": ["p0", "p1"]}, geometry=[Point(x0, y0), Point(x0 + 2000, y0)], crs=crs)
    community = gpd.GeoDataFrame(
        {"community_id": ["c"]}, geometry=[box(x0 - 100, y0 - 100, x0 + 3100, y0 + 100)], crs=crs
    )
    scene = Scene(communities=community, buildings=buildings, streets=street, service_points=points)
    result = analyse_service(None, scene)
    counts = result.service_points.set_index("point_id")
    # distances along the street plus the snap leg (the building's centre 15 m off the street)
    assert counts.loc["p0", ["households_300m", "households_500m", "households_1000m"]].tolist() == [10, 30, 60]
    # from p1 (2,000 m): 2,400 is 415 m away, 1,500 is 515 m (just outside 500 m), 900 is 1,115 m
    assert counts.loc["p1", ["households_300m", "households_500m", "households_1000m"]].tolist() == [0, 50, 90]
