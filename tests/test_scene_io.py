"""Reading scenes from every supported format, coordinates on input, atomic writes, household estimates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from gridplan.core.coords import wgs84_to_gcj02
from gridplan.core.households import estimate_households, fill_households
from gridplan.errors import InputError
from gridplan.io.scene_files import read_scene
from gridplan.io.store import write_layers
from gridplan.settings import HouseholdSettings

from .support.scenes import street_grid_scene


def _scene():
    return street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]])


@pytest.mark.parametrize("suffix", [".geojson", ".shp", ".parquet", ".gpkg"])
def test_scene_from_a_folder_of_files(tmp_path, suffix):
    scene = _scene()
    for name, layer in scene.layers().items():
        path = tmp_path / f"{name}{suffix}"
        layer.to_parquet(path) if suffix == ".parquet" else layer.to_file(path)
    read = read_scene(tmp_path)
    assert len(read.buildings) == len(scene.buildings)
    assert read.buildings["households"].sum() == 600
    assert read.buildings["building_id"].tolist() == scene.buildings["building_id"].tolist()
    assert read.crs.to_epsg() == 32650


def test_scene_from_a_mapping_and_ids_as_text(tmp_path):
    scene = _scene()
    communities = scene.communities.assign(community_id=[7])
    communities.to_file(tmp_path / "c.geojson")
    scene.buildings.to_file(tmp_path / "b.geojson")
    scene.streets.to_file(tmp_path / "s.geojson")
    read = read_scene(
        {"communities": tmp_path / "c.geojson", "buildings": tmp_path / "b.geojson", "streets": tmp_path / "s.geojson"}
    )
    assert read.communities["community_id"].tolist() == ["7"]


def test_missing_column_is_named(tmp_path):
    scene = _scene()
    scene.communities.to_file(tmp_path / "scene.gpkg", layer="communities")
    scene.buildings.drop(columns="building_id").to_file(tmp_path / "scene.gpkg", layer="buildings")
    scene.streets.to_file(tmp_path / "scene.gpkg", layer="streets")
    with pytest.raises(InputError, match="layer 'buildings' has no column 'building_id'"):
        read_scene(tmp_path / "scene.gpkg")


def test_gcj02_input_is_converted_to_wgs84(tmp_path):
    scene = _scene().to_crs(4326)
    shifted = {}
    for name, layer in scene.layers().items():

        def to_gcj(xy):
            lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return np.column_stack([lon, lat])

        shifted[name] = layer.set_geometry(shapely.transform(layer.geometry.values, to_gcj))
        shifted[name].to_file(tmp_path / "scene.gpkg", layer=name)
    raw = read_scene(tmp_path / "scene.gpkg")
    back = read_scene(tmp_path / "scene.gpkg", coords="gcj02")
    metric = scene.local_crs()
    truth = scene.buildings.to_crs(metric).geometry
    # GCJ-02 is hundreds of metres off; converted back it lands within centimetres
    assert raw.buildings.to_crs(metric).geometry.distance(truth).min() > 100
    assert back.buildings.to_crs(metric).geometry.centroid.distance(truth.centroid).max() < 0.05


def test_write_replaces_atomically_and_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    scene = _scene()
    target = tmp_path / "plan.gpkg"
    write_layers(target, {"grids": scene.communities})
    before = target.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt("interrupted")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", broken)
    with pytest.raises(KeyboardInterrupt):
        write_layers(target, {"grids": scene.buildings})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["plan.gpkg"]  # no temporary file left behind


def test_write_tables_and_lists(tmp_path):
    table = pd.DataFrame({"metric": ["a"], "members": [["g1", "g2"]]})
    write_layers(tmp_path / "x.gpkg", {"metrics": table})
    # stored as JSON text, so that any id round-trips, commas included
    assert gpd.read_file(tmp_path / "x.gpkg", layer="metrics")["members"].tolist() == ['["g1", "g2"]']


def test_household_estimate_from_footprint_floors_and_share():
    buildings = gpd.GeoDataFrame(
        {
            "kind": ["residential", "residential", "yes", "school", "residential"],
            "levels": [6, None, 10, 4, None],
            "height": [None, 30.0, None, None, None],
        },
        geometry=[box(0, 0, 30, 15)] * 5,
        crs="EPSG:32650",
    )
    estimated = estimate_households(buildings, HouseholdSettings())
    # 450 m² × 6 ÷ 90 = 30; height 30 m ÷ 3 m = 10 floors → 50; mixed use 450 × 10 × 0.5 ÷ 90 = 25;
    # a school holds no dwellings; no levels: 6 storeys by default for residential → 30
    assert estimated.tolist() == [30, 50, 25, 0, 30]


def test_registered_households_are_kept_and_estimates_marked():
    buildings = gpd.GeoDataFrame(
        {"kind": ["residential", "residential"], "levels": [6, 6], "households": [12, np.nan]},
        geometry=[box(0, 0, 30, 15)] * 2,
        crs="EPSG:32650",
    )
    filled = fill_households(buildings)
    assert filled["households"].tolist() == [12, 30]
    assert filled["households_estimated"].tolist() == [False, True]
