"""The synthetic district generator: exact totals, a tiling of communities, buildings that fit."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridplan.errors import InputError
from gridplan.scenarios.district import CRS, MIN_SETBACK_M, RIVER_SETBACK_M, generate_district

from .support.properties import examples


def _timed(**kwargs):
    start = time.perf_counter()
    scene = generate_district(**kwargs)
    return scene, time.perf_counter() - start


@pytest.fixture(scope="module")
def district_and_time():
    return _timed()


@pytest.fixture(scope="module")
def district(district_and_time):
    return district_and_time[0]


@pytest.fixture(scope="module")
def small():
    return generate_district(n_buildings=300, households=6000, seed=7)


@pytest.fixture(params=["district", "small"])
def scene(request):
    return request.getfixturevalue(request.param)


def test_default_district_has_exact_totals(district):
    assert len(district.buildings) == 20000
    assert district.buildings["households"].sum() == 450000
    assert len(district.communities) == 112  # 450,000 / 4,000


def test_small_district_has_exact_totals(small):
    assert len(small.buildings) == 300
    assert small.buildings["households"].sum() == 6000
    assert len(small.communities) == 2


def test_generation_is_fast(district_and_time):
    assert district_and_time[1] < 30
    assert _timed(n_buildings=300, households=6000, seed=1)[1] < 1


def test_layers_are_in_utm_and_convert_to_the_origin(small):
    assert small.crs == CRS
    centre = small.to_crs(4326).communities.union_all().centroid
    assert centre.x == pytest.approx(114.30, abs=0.02)
    assert centre.y == pytest.approx(30.55, abs=0.02)


def test_identifiers_are_unique(scene):
    assert scene.buildings["building_id"].is_unique
    assert scene.communities["community_id"].is_unique
    assert scene.communities["code"].is_unique
    assert scene.compounds["compound_id"].is_unique
    assert scene.communities["community_id"].iloc[0] == "c0001"


def test_community_codes_are_twelve_digits_under_wuchang(scene):
    codes = scene.communities["code"]
    assert codes.str.fullmatch(r"420106\d{6}").all()
    assert (codes.str[6:9] != "000").all() and (codes.str[9:] != "000").all()


def test_communities_tile_the_district(scene):
    shapes = scene.communities.geometry
    union = shapes.union_all()
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gaps
    assert union.area == pytest.approx(shapes.area.sum(), rel=1e-6)  # no overlaps
    left, right = shapes.sindex.query(shapes, predicate="intersects")
    pairs = left < right
    overlap = shapely.intersection(shapes.values[left[pairs]], shapes.values[right[pairs]])
    assert shapely.area(overlap).max(initial=0) < 1e-6


def test_community_boundaries_run_along_arterial_centrelines(district):
    arterials = district.streets[district.streets["highway"].isin(["primary", "secondary"])].union_all()
    boundaries = district.communities.boundary.union_all()
    assert boundaries.difference(arterials.buffer(0.01)).length < 1e-3 * boundaries.length


def test_communities_hold_about_four_thousand_households(district):
    joined = gpd.sjoin(district.buildings, district.communities, predicate="within")
    households = joined.groupby("community_id")["households"].sum()
    assert households.median() == pytest.approx(4000, rel=0.15)
    assert households.quantile(0.05) >= 2000 and households.quantile(0.95) <= 7000


def test_every_building_lies_inside_one_community(scene):
    joined = gpd.sjoin(scene.buildings, scene.communities, predicate="within")
    assert len(joined) == len(scene.buildings)
    assert joined.index.is_unique


def test_buildings_do_not_overlap(scene):
    footprints = scene.buildings.geometry
    left, right = footprints.sindex.query(footprints, predicate="intersects")
    assert np.array_equal(left, right)


def test_buildings_keep_a_setback_from_every_street(scene):
    _, distance = scene.streets.sindex.nearest(scene.buildings.geometry, return_distance=True)
    assert distance.min() >= MIN_SETBACK_M - 1e-6


def test_buildings_stay_off_the_river(scene):
    river = scene.barriers.query("kind == 'river'")
    assert len(river) == 1 and river.area.iloc[0] > 0
    assert scene.buildings.distance(river.geometry.iloc[0]).min() >= RIVER_SETBACK_M - 1e-6
    assert scene.communities.union_all().intersects(river.geometry.iloc[0])


def test_only_non_residential_buildings_have_no_households(scene):
    buildings = scene.buildings
    residential = buildings["kind"].isin(["residential", "apartments", "house"])
    assert (buildings.loc[residential, "households"] >= 1).all()
    assert (buildings.loc[~residential, "households"] == 0).all()
    assert (~residential).any()


def test_district_has_a_huge_tower(scene):
    assert scene.buildings["households"].max() > 400


def test_district_has_every_kind_of_building(district):
    kinds = set(district.buildings["kind"])
    assert {"residential", "apartments", "house", "school", "hospital", "shop", "office"} <= kinds


def test_slabs_measure_ten_to_fifteen_by_forty_to_eighty_metres(district):
    slabs = district.buildings[district.buildings["kind"] == "residential"].geometry
    corners = shapely.get_coordinates(slabs.values).reshape(-1, 5, 2)
    sides = np.sort(np.linalg.norm(corners[:, 1:3] - corners[:, 0:2], axis=-1), axis=1)
    assert sides[:, 0].min() >= 10 - 1e-6 and sides[:, 0].max() <= 15 + 1e-6
    assert sides[:, 1].min() >= 40 - 1e-6 and sides[:, 1].max() <= 80 + 1e-6


def test_storeys_give_back_the_households(district):
    # footprint × storeys ÷ 90 m² is how gridplan estimates households where no register is at hand
    residential = district.buildings[district.buildings["households"] > 0]
    estimate = (residential.area * residential["levels"] / 90.0).sum()
    assert estimate == pytest.approx(residential["households"].sum(), rel=0.2)


def test_compounds_group_residential_buildings_and_contain_them(district):
    buildings = district.buildings.dropna(subset=["compound_id"])
    assert buildings["kind"].isin(["residential", "apartments"]).all()
    land = district.compounds.set_index("compound_id").geometry
    assert shapely.within(buildings.geometry.values, land.loc[buildings["compound_id"]].values).all()
    assert buildings.groupby("compound_id").size().median() > 1


def test_streets_have_every_class_from_arterials_to_footways(district):
    counts = district.streets["highway"].value_counts()
    assert {"primary", "secondary", "tertiary", "residential", "service", "footway"} <= set(counts.index)
    assert district.streets.geometry.is_valid.all() and (district.streets.length > 0).all()


def test_same_seed_gives_the_same_district(small):
    again = generate_district(n_buildings=300, households=6000, seed=7)
    for name, layer in small.layers().items():
        other = getattr(again, name)
        assert layer.drop(columns="geometry").equals(other.drop(columns="geometry")), name
        assert shapely.equals_exact(layer.geometry.values, other.geometry.values, tolerance=0).all(), name


def test_another_seed_gives_another_district(small):
    other = generate_district(n_buildings=300, households=6000, seed=8)
    footprints, others = small.buildings.geometry.values, other.buildings.geometry.values
    assert not shapely.equals_exact(footprints, others, tolerance=1.0).all()
    assert not np.array_equal(small.buildings["households"], other.buildings["households"])


@pytest.mark.parametrize(
    "kwargs",
    [dict(n_buildings=0), dict(n_buildings=10, households=9), dict(n_buildings=10, households=100, n_communities=0)],
)
def test_impossible_arguments_are_input_errors(kwargs):
    with pytest.raises(InputError):
        generate_district(**kwargs)


@settings(max_examples=examples(15), deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_small_districts_hold_their_invariants_for_any_seed(seed):
    scene = generate_district(n_buildings=300, households=6000, seed=seed)
    buildings = scene.buildings
    assert len(buildings) == 300 and buildings["households"].sum() == 6000
    assert buildings["households"].max() > 400
    assert len(gpd.sjoin(buildings, scene.communities, predicate="within")) == 300
    left, right = buildings.sindex.query(buildings.geometry, predicate="intersects")
    assert np.array_equal(left, right)
    union = scene.communities.union_all()
    assert union.area == pytest.approx(scene.communities.area.sum(), rel=1e-6)
