"""validate_scene: bad input gets a clear error or a reported repair, and every row is accounted for."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import GeometryCollection, LineString, Polygon, box

from gridplan.core.households import estimate_households
from gridplan.core.results import as_list
from gridplan.core.scene import Scene
from gridplan.errors import InputError
from gridplan.io.store import read_layers, write_layers
from gridplan.prepare.boundaries import merge_slivers
from gridplan.prepare.validate import Finding, Validation, validate_scene
from gridplan.settings import DEFAULTS

from .support.properties import examples

UTM = "EPSG:32650"  # Nanjing/Suzhou longitudes; coordinates below are metres from a corner near Suzhou
X0, Y0 = 300_000.0, 3_460_000.0
EXCLUSION_CODES = {"empty_geometry", "building_outside_communities"}


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A box in metres from the corner (X0, Y0)."""
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def bowtie(x0: float, y0: float, size: float) -> Polygon:
    """A self-intersecting square: two triangles of size²/4 each once repaired."""
    return Polygon(
        [(X0 + x0, Y0 + y0), (X0 + x0 + size, Y0 + y0 + size), (X0 + x0 + size, Y0 + y0), (X0 + x0, Y0 + y0 + size)]
    )


def street(x0: float, y0: float, x1: float, y1: float) -> LineString:
    return LineString([(X0 + x0, Y0 + y0), (X0 + x1, Y0 + y1)])


def communities(**boxes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"community_id": list(boxes)}, geometry=[rect(*b) for b in boxes.values()], crs=UTM)


def buildings(geometries: dict, households=None, **columns) -> gpd.GeoDataFrame:
    data = {"building_id": list(geometries), **columns}
    if households is not None:
        data["households"] = households
    return gpd.GeoDataFrame(data, geometry=list(geometries.values()), crs=UTM)


def streets(*lines: LineString) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=list(lines), crs=UTM)


TWO_COMMUNITIES = dict(c1=(0, 0, 100, 100), c2=(100, 0, 200, 100))
BOTH_STREETS = (street(0, 50, 200, 50),)


def make_scene(bldgs: gpd.GeoDataFrame, comms: gpd.GeoDataFrame | None = None, lines=BOTH_STREETS, **optional) -> Scene:
    comms = communities(**TWO_COMMUNITIES) if comms is None else comms
    return Scene(communities=comms, buildings=bldgs, streets=streets(*lines), **optional)


def only(v: Validation, code: str) -> Finding:
    found = [f for f in v.findings if f.code == code]
    assert len(found) == 1, f"expected one {code!r} finding, got {[str(f) for f in v.findings]}"
    return found[0]


def codes(v: Validation) -> set[str]:
    return {f.code for f in v.findings}


def assert_accounted(v: Validation, scene: Scene) -> None:
    """Counts match the scene out and the findings: in == out + excluded, each exclusion named once."""
    for layer, frame in (("buildings", scene.buildings), ("party_members", scene.party_members)):
        if frame is None:
            continue
        c = v.counts[layer]
        out = getattr(v.scene, layer)
        assert c["in"] == len(frame) and c["out"] == len(out)
        assert c["in"] == c["out"] + c["excluded"]
        named = [i for f in v.findings if f.layer == layer and _excludes(f) for i in f.ids]
        assert len(named) == c["excluded"]
        kept_ids = set(frame[_key(layer)].astype(str)) - set(named)
        assert set(out[_key(layer)].astype(str)) == kept_ids
    h = v.counts["households"]
    assert h["in"] == h["out"] + h["excluded"]


def _key(layer: str) -> str:
    return {"buildings": "building_id", "party_members": "member_id"}[layer]


def _excludes(f: Finding) -> bool:
    return f.code in EXCLUSION_CODES or f.code.startswith("member_")


# --- a clean scene -------------------------------------------------------------------------------------------


def test_clean_scene_has_no_findings_and_every_building_gets_its_community():
    scene = make_scene(
        buildings({"b1": rect(10, 10, 30, 30), "b2": rect(120, 10, 150, 40), "b3": rect(60, 60, 99, 99)}, [10, 20, 30])
    )
    v = validate_scene(scene)
    assert v.findings == [] and v.ok
    assert v.counts["buildings"] == {"in": 3, "out": 3, "excluded": 0}
    assert v.counts["households"] == {"in": 60, "out": 60, "excluded": 0}
    out = v.scene.buildings
    assert list(out["community_id"]) == ["c1", "c2", "c1"]
    assert np.allclose(out["community_share"], 1.0)
    assert out["households"].dtype == np.int64 and list(out["households"]) == [10, 20, 30]
    assert not out["households_estimated"].any()
    assert v.scene.crs == UTM
    assert_accounted(v, scene)


# --- CRS -----------------------------------------------------------------------------------------------------


def test_missing_crs_is_an_error_and_metric_checks_are_skipped():
    bldgs = buildings({"b1": rect(10, 10, 30, 30), "far": rect(500, 500, 510, 510)}).set_crs(None, allow_override=True)
    scene = make_scene(bldgs)
    v = validate_scene(scene)
    f = only(v, "missing_crs")
    assert (f.level, f.layer, f.count) == ("error", "buildings", 2)
    assert "no CRS" in f.message and "EPSG:4326" in f.message
    assert codes(v) == {"missing_crs"}  # the building outside is not judged without coordinates in metres
    assert v.counts["buildings"] == {"in": 2, "out": 2, "excluded": 0}
    assert "community_id" not in v.scene.buildings
    assert not v.ok
    assert_accounted(v, scene)


def test_missing_crs_leaves_bad_households_unrepaired_even_with_repair():
    bldgs = buildings({"b1": rect(10, 10, 30, 30), "b2": rect(40, 10, 60, 30)}, [2.5, np.nan]).set_crs(
        None, allow_override=True
    )
    v = validate_scene(make_scene(bldgs), repair_households=True)
    bad = [f for f in v.findings if f.code == "bad_households"]
    assert [f.ids for f in bad] == [("b2",), ("b1",)]
    assert all("no CRS" in f.message for f in bad)
    assert "households_repaired" not in codes(v)
    assert v.scene.buildings["households"].tolist()[0] == 2.5


def test_layers_in_another_crs_are_reprojected_to_the_buildings_crs():
    scene = Scene(
        communities=communities(**TWO_COMMUNITIES).to_crs(4326),
        buildings=buildings({"b1": rect(10, 10, 30, 30), "b2": rect(120, 10, 150, 40)}),
        streets=streets(*BOTH_STREETS).to_crs(4326),
    )
    v = validate_scene(scene)
    repairs = [f for f in v.findings if f.code == "crs_mismatch"]
    assert [(f.level, f.layer, f.count) for f in repairs] == [("repair", "communities", 2), ("repair", "streets", 1)]
    assert "EPSG:4326" in repairs[0].message and "EPSG:32650" in repairs[0].message
    assert v.scene.communities.crs == UTM and v.scene.streets.crs == UTM
    assert list(v.scene.buildings["community_id"]) == ["c1", "c2"]
    assert v.ok


def test_geographic_scene_is_checked_in_metres_and_returned_in_its_crs():
    bldgs = buildings({"b1": rect(10, 10, 30, 30), "b2": rect(90, 10, 120, 20)})
    scene = make_scene(bldgs).to_crs(4326)
    v = validate_scene(scene)
    assert v.scene.crs == "EPSG:4326"
    fitted = only(v, "community_fitted_to_building")
    assert fitted.ids == ("b2",)
    assert v.scene.buildings["community_share"].round(3).tolist() == [1.0, 0.667]


# --- geometry ------------------------------------------------------------------------------------------------


def test_invalid_geometry_is_repaired_with_make_valid_and_counted():
    scene = make_scene(buildings({"b1": rect(10, 10, 30, 30), "bow": bowtie(40, 40, 10)}))
    v = validate_scene(scene)
    f = only(v, "invalid_geometry_repaired")
    assert (f.level, f.layer, f.ids, f.count) == ("repair", "buildings", ("bow",), 1)
    assert "make_valid" in f.message and "bow" in f.message
    repaired = v.scene.buildings.set_index("building_id").geometry["bow"]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(50.0)  # two triangles of 25 m²
    assert v.counts["buildings"] == {"in": 2, "out": 2, "excluded": 0}
    assert_accounted(v, scene)


def test_rows_left_without_geometry_are_excluded_and_listed():
    flat = Polygon([(X0 + 10, Y0 + 10), (X0 + 20, Y0 + 10), (X0 + 30, Y0 + 10)])  # valid nowhere: collapses to a line
    scene = make_scene(
        buildings({"b1": rect(10, 10, 30, 30), "flat": flat, "none": None, "empty": Polygon()}, [5, 6, 7, 8])
    )
    v = validate_scene(scene)
    f = only(v, "empty_geometry")
    assert (f.level, f.ids, f.count) == ("warning", ("flat", "none", "empty"), 3)
    assert "left out" in f.message
    assert only(v, "invalid_geometry_repaired").ids == ("flat",)
    assert v.counts["buildings"] == {"in": 4, "out": 1, "excluded": 3}
    assert v.counts["households"] == {"in": 26, "out": 5, "excluded": 21}
    assert_accounted(v, scene)


def test_parts_of_the_wrong_type_are_dropped_and_reported():
    mixed = GeometryCollection([rect(10, 10, 20, 20), street(0, 0, 50, 50)])
    scene = make_scene(buildings({"mixed": mixed, "line": street(30, 30, 40, 40)}))
    v = validate_scene(scene)
    wrong = only(v, "wrong_geometry_type")
    assert (wrong.level, wrong.ids) == ("repair", ("mixed",))
    assert "polygonal" in wrong.message
    assert only(v, "empty_geometry").ids == ("line",)
    assert v.scene.buildings.geometry.iloc[0].area == pytest.approx(100.0)
    assert_accounted(v, scene)


# --- identifiers ---------------------------------------------------------------------------------------------


def test_duplicate_ids_are_errors_naming_them():
    geoms = {i: rect(10 * k, 10, 10 * k + 5, 15) for k, i in enumerate(["b1", "b2", "b3", "b4", "b5"])}
    bldgs = buildings(geoms)
    bldgs["building_id"] = ["b1", "b2", "b1", "b2", "b2"]
    members = pd.DataFrame({"member_id": ["m1", "m1", "m2"], "building_id": ["b1", "b1", "b2"]})
    v = validate_scene(make_scene(bldgs, party_members=members))
    dup = [f for f in v.findings if f.code == "duplicate_id"]
    assert [(f.level, f.layer, f.ids, f.count) for f in dup] == [
        ("error", "buildings", ("b1", "b2"), 5),
        ("error", "party_members", ("m1",), 2),
    ]
    assert "b1 (×2)" in dup[0].message and "b2 (×3)" in dup[0].message and "building_id" in dup[0].message
    with pytest.raises(InputError, match=r"duplicate_id.*b1 \(×2\)"):
        v.raise_for_errors()


def test_rows_without_an_id_are_errors_naming_their_row():
    bldgs = buildings({"b1": rect(10, 10, 20, 20), "b2": rect(30, 10, 40, 20), "b3": rect(50, 10, 60, 20)})
    bldgs.loc[1, "building_id"] = None
    bldgs.loc[2, "building_id"] = " "
    f = only(validate_scene(make_scene(bldgs)), "missing_id")
    assert (f.level, f.ids, f.count) == ("error", ("#1", "#2"), 2)
    assert "without building_id" in f.message


# --- households ----------------------------------------------------------------------------------------------


BAD_HOUSEHOLDS = pd.Series([10, np.nan, -3, 2.5, "abc", 3.5], dtype=object)
BAD_GEOMS = {f"b{i}": rect(10 + 15 * i, 10, 20 + 15 * i, 20) for i in range(1, 7)}


def test_bad_households_are_errors_without_repair_and_left_as_given():
    scene = make_scene(buildings(BAD_GEOMS, BAD_HOUSEHOLDS))
    v = validate_scene(scene)
    bad = {f.message.split(" households")[0]: f for f in v.findings if f.code == "bad_households"}
    assert set(bad) == {"missing", "not a number", "negative", "fractional"}
    assert all(f.level == "error" for f in bad.values())
    assert bad["missing"].ids == ("b2",) and bad["negative"].ids == ("b3",) and bad["not a number"].ids == ("b5",)
    assert (bad["fractional"].ids, bad["fractional"].count) == (("b4", "b6"), 2)
    assert "--repair-households rounds" in bad["fractional"].message
    assert "--repair-households estimates" in bad["negative"].message and "=True" not in bad["negative"].message
    assert list(v.scene.buildings["households"]) == list(BAD_HOUSEHOLDS)
    assert v.counts["households"] == {"in": 10, "out": 10, "excluded": 0}  # only usable counts are summed
    assert not v.ok


def test_households_repair_estimates_unknown_and_negative_and_rounds_fractional_half_up():
    scene = make_scene(buildings(BAD_GEOMS, BAD_HOUSEHOLDS, levels=[6] * 6, kind=["residential"] * 6))
    v = validate_scene(scene, repair_households=True)
    assert v.ok
    repaired = [f for f in v.findings if f.code == "households_repaired"]
    assert [(f.level, f.ids) for f in repaired] == [
        ("repair", ("b2",)),
        ("repair", ("b5",)),
        ("repair", ("b3",)),
        ("repair", ("b4", "b6")),
    ]
    assert "b4 (2.5 → 3), b6 (3.5 → 4)" in repaired[3].message
    assert "estimated" in repaired[0].message
    out = v.scene.buildings.set_index("building_id")
    estimate = int(estimate_households(scene.buildings.iloc[[1]]).iloc[0])  # 100 m² × 6 floors ÷ 90 m² → 7
    assert estimate == 7
    assert out["households"].to_dict() == {"b1": 10, "b2": 7, "b3": 7, "b4": 3, "b5": 7, "b6": 4}
    assert out["households"].dtype == np.int64
    assert out["households_estimated"].to_dict() == {
        "b1": False,
        "b2": True,
        "b3": True,
        "b4": False,
        "b5": True,
        "b6": False,
    }
    assert_accounted(v, scene)


def test_households_column_is_optional():
    scene = make_scene(buildings({"b1": rect(10, 10, 30, 30)}))
    v = validate_scene(scene, repair_households=True)
    assert v.findings == []
    assert "households" not in v.scene.buildings
    assert v.counts["households"] == {"in": 0, "out": 0, "excluded": 0}


# --- buildings and communities -------------------------------------------------------------------------------


def test_buildings_outside_every_community_are_excluded_and_listed():
    scene = make_scene(
        buildings(
            {"in": rect(10, 10, 30, 30), "out1": rect(300, 0, 310, 10), "out2": rect(0, 200, 10, 210)}, [40, 5, 6]
        )
    )
    v = validate_scene(scene)
    f = only(v, "building_outside_communities")
    assert (f.level, f.ids, f.count) == ("warning", ("out1", "out2"), 2)
    assert "outside every community" in f.message and "out1, out2" in f.message
    assert list(v.scene.buildings["building_id"]) == ["in"]
    assert v.counts["buildings"] == {"in": 3, "out": 1, "excluded": 2}
    assert v.counts["households"] == {"in": 51, "out": 40, "excluded": 11}
    assert_accounted(v, scene)


def test_a_building_a_boundary_cuts_goes_whole_to_its_larger_share_and_the_boundary_moves_round_it():
    scene = make_scene(buildings({"b1": rect(10, 10, 30, 30), "across": rect(90, 10, 120, 20)}, households=[10, 40]))
    v = validate_scene(scene)
    f = only(v, "community_fitted_to_building")
    assert (f.level, f.ids, f.count) == ("repair", ("across",), 1)
    assert "100.0 m² to c2 from c1 (across)" in f.message and "40 registered households" in f.message
    out = v.scene.buildings.set_index("building_id")
    assert out.loc["across", "community_id"] == "c2"
    assert out.loc["across", "community_share"] == pytest.approx(2 / 3)  # as the boundary was delivered
    c1, c2 = v.scene.communities.geometry
    assert c2.contains(rect(90, 10, 120, 20)) and c1.intersection(rect(90, 10, 120, 20)).area == 0
    assert c1.area + c2.area == pytest.approx(200 * 100)  # the communities still tile the same area
    assert v.counts["buildings"] == {"in": 2, "out": 2, "excluded": 0}


def test_a_building_touching_a_community_edge_does_not_straddle():
    scene = make_scene(buildings({"edge": rect(80, 10, 100, 20)}))  # its east side lies on the c1/c2 boundary
    v = validate_scene(scene)
    assert v.findings == []
    assert v.scene.buildings["community_id"].tolist() == ["c1"]


def test_a_building_partly_outside_is_kept_and_its_community_reaches_round_it():
    v = validate_scene(make_scene(buildings({"half": rect(-10, 10, 10, 20)})))
    f = only(v, "community_fitted_to_building")
    assert (f.level, f.ids) == ("repair", ("half",))
    assert "100.0 m² to c1 (half)" in f.message
    assert v.scene.buildings["community_id"].tolist() == ["c1"]
    assert v.scene.communities.geometry.iat[0].contains(rect(-10, 10, 10, 20))


def test_a_narrow_gap_between_communities_is_closed_and_its_buildings_kept():
    # drawn a metre apart, with a building in the gap and one across it
    comms = communities(c1=(0, 0, 99.5, 100), c2=(100.5, 0, 200, 100))
    bldgs = buildings(
        {"b1": rect(10, 10, 30, 30), "gap": rect(99.7, 40, 100.3, 41), "across": rect(90, 60, 120, 70)},
        households=[10, 1, 30],
    )
    v = validate_scene(make_scene(bldgs, comms))
    assert v.ok and v.counts["buildings"] == {"in": 3, "out": 3, "excluded": 0}
    gap = only(v, "community_gap_closed")
    assert gap.level == "repair" and "100.0 m² in all" in gap.message and "gap" in gap.ids
    c1, c2 = v.scene.communities.geometry
    assert c1.union(c2).area == pytest.approx(200 * 100) and c1.intersection(c2).area == pytest.approx(0, abs=1e-6)
    assert only(v, "community_fitted_to_building").ids == ("across",)


def test_a_narrow_overlap_is_kept_by_one_community_and_a_wide_one_is_an_error():
    narrow = communities(c1=(0, 0, 100.5, 100), c2=(99.5, 0, 200, 100))
    v = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)}), narrow))
    f = only(v, "community_overlap_resolved")
    assert v.ok and "100.0 m² to c1 from c2" in f.message
    c1, c2 = v.scene.communities.geometry
    assert c1.intersection(c2).area == pytest.approx(0, abs=1e-6) and c1.area == pytest.approx(100.5 * 100)
    wide = communities(c1=(0, 0, 110, 100), c2=(90, 0, 200, 100))
    assert "community_overlap" in codes(validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)}), wide)))


def test_a_sliver_of_a_community_goes_to_its_neighbour():
    # c1 has a detached 2 × 2 m part inside c2 (a digitising leftover); c2 has the hole it fills
    island = rect(150, 50, 152, 52)
    comms = gpd.GeoDataFrame(
        {"community_id": ["c1", "c2"]},
        geometry=[shapely.union(rect(0, 0, 100, 100), island), rect(100, 0, 200, 100).difference(island)],
        crs=UTM,
    )
    v = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)}), comms))
    f = only(v, "community_sliver_merged")
    assert v.ok and "4.0 m² to c2 from c1" in f.message
    c1, c2 = v.scene.communities.geometry
    assert c1.geom_type == "Polygon" and c1.area == pytest.approx(100 * 100) and c2.area == pytest.approx(100 * 100)


def test_a_sliver_beside_a_building_it_does_not_hold_goes_to_its_neighbour():
    # a 0.1 m wide strip of c1 touching c1 only at a corner and lying along c2, whose building it only touches:
    # what a boundary moved round a building leaves behind
    strip = Polygon([(X0 + 100, Y0 + 100), (X0 + 100, Y0 + 110), (X0 + 99.9, Y0 + 110)])
    c1, c2 = shapely.union(rect(0, 0, 100, 100), strip), rect(100, 100, 200, 200)
    building = rect(100, 102, 110, 108)
    (one, two), repairs = merge_slivers(
        np.array([c1, c2], dtype=object), DEFAULTS.validation.sliver_m2, np.array([building])
    )
    assert [(r.kind, r.community, r.other) for r in repairs] == [("sliver_merged", 1, (0,))]
    assert one.geom_type == "Polygon" and one.area == pytest.approx(100 * 100)
    assert two.geom_type == "Polygon" and two.area == pytest.approx(100 * 100 + strip.area)


def test_a_given_community_id_that_disagrees_with_the_map_is_replaced_and_listed():
    bldgs = buildings({"b1": rect(10, 10, 30, 30), "b2": rect(120, 10, 150, 40)}, community_id=["c1", "c1"])
    f = only(validate_scene(make_scene(bldgs)), "building_community_changed")
    assert (f.level, f.ids) == ("warning", ("b2",))
    assert "b2 (c1 → c2)" in f.message


def test_overlapping_communities_are_an_error():
    comms = communities(c1=(0, 0, 100, 100), c2=(50, 0, 150, 100), c3=(150, 0, 250, 100))
    assert not shapely.is_empty(rect(50, 0, 100, 100).buffer(-1))  # 50 m wide: no digitising noise
    v = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)}), comms))
    f = only(v, "community_overlap")
    assert (f.level, f.layer, f.ids, f.count) == ("error", "communities", ("c1", "c2"), 2)
    assert "c1 & c2 (5,000 m²)" in f.message
    assert not v.ok


def test_communities_without_streets_are_a_warning():
    # the street ends on c2's edge: touching at a point is not running through or along c2
    scene = make_scene(buildings({"b1": rect(10, 10, 30, 30)}), lines=(street(0, 50, 100, 50),))
    v = validate_scene(scene)
    f = only(v, "community_without_streets")
    assert (f.level, f.layer, f.ids, f.count) == ("warning", "communities", ("c2",), 1)
    assert "without any street" in f.message
    assert v.ok


def test_a_street_along_a_community_boundary_serves_both_sides():
    v = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)}), lines=(street(100, 0, 100, 100),)))
    assert "community_without_streets" not in codes(v)


# --- party members -------------------------------------------------------------------------------------------


def test_members_at_unknown_or_excluded_buildings_are_listed_and_kept_out():
    bldgs = buildings({"b1": rect(10, 10, 30, 30), "far": rect(500, 500, 510, 510)})
    members = pd.DataFrame({"member_id": ["m1", "m2", "m3", "m4"], "building_id": ["b1", "nowhere", "far", None]})
    scene = make_scene(bldgs, party_members=members)
    v = validate_scene(scene)
    unknown = only(v, "member_unknown_building")
    assert (unknown.level, unknown.ids, unknown.count) == ("warning", ("m2", "m4"), 2)
    assert "no building has" in unknown.message
    excluded = only(v, "member_building_excluded")
    assert excluded.ids == ("m3",) and "left out" in excluded.message
    assert list(v.scene.party_members["member_id"]) == ["m1"]
    assert v.counts["party_members"] == {"in": 4, "out": 1, "excluded": 3}
    assert_accounted(v, scene)


def test_member_building_ids_match_however_they_were_typed():
    bldgs = buildings({"12": rect(10, 10, 30, 30)})
    members = pd.DataFrame({"member_id": ["m1"], "building_id": [12.0]})  # a float column read from a spreadsheet
    v = validate_scene(make_scene(bldgs, party_members=members))
    assert v.counts["party_members"] == {"in": 1, "out": 1, "excluded": 0}


# --- empty layers --------------------------------------------------------------------------------------------


def test_empty_streets_are_a_warning_and_empty_buildings_an_error():
    v = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)}), lines=()))
    f = only(v, "empty_layer")
    assert (f.level, f.layer, f.message) == ("warning", "streets", "streets is empty")
    assert only(v, "community_without_streets").ids == ("c1", "c2")

    v = validate_scene(make_scene(buildings({})))
    f = only(v, "empty_layer")
    assert (f.level, f.layer) == ("error", "buildings")
    assert v.counts["buildings"] == {"in": 0, "out": 0, "excluded": 0}


def test_a_layer_emptied_by_exclusions_says_so():
    v = validate_scene(make_scene(buildings({"far": rect(500, 500, 510, 510)})))
    f = only(v, "empty_layer")
    assert (f.level, f.message) == ("error", "buildings is empty once 1 row left out")


# --- the report ----------------------------------------------------------------------------------------------


def test_messages_name_ten_ids_then_how_many_more():
    far = {f"far{i:02d}": rect(500 + 20 * i, 500, 510 + 20 * i, 510) for i in range(15)}
    f = only(validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30), **far}))), "building_outside_communities")
    assert f.count == 15 and len(f.ids) == 15
    assert f.message.endswith("far08, far09 and 5 more")
    assert "far10" not in f.message


def test_raise_for_errors_names_every_error_in_one_line_and_returns_the_validation_when_ok():
    bldgs = buildings({"b1": rect(10, 10, 30, 30), "b2": rect(40, 10, 60, 30)}, [np.nan, -1])
    v = validate_scene(make_scene(bldgs))
    with pytest.raises(InputError) as raised:
        v.raise_for_errors()
    assert str(raised.value) == "the scene has 2 errors: " + "; ".join(map(str, v.errors))
    assert "\n" not in str(raised.value)
    fine = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)})))
    assert fine.raise_for_errors() is fine


def test_summary_reports_counts_and_findings_by_level():
    scene = make_scene(
        buildings({"b1": rect(10, 10, 30, 30), "far": rect(500, 500, 510, 510), "bow": bowtie(40, 40, 10)}, [10, 5, 1])
    )
    text = validate_scene(scene, accept_outside=True).summary("en")
    assert text.splitlines()[0] == "scene check (场景检查): 0 errors, 1 warning, 1 repair"
    assert "buildings" in text and "warnings:" in text and "repairs:" in text and "errors:" not in text
    row = next(line for line in text.splitlines() if line.strip().startswith("households"))
    assert row.split()[1:] == ["16", "11", "5"]
    assert "[building_outside_communities] buildings:" in text


def test_findings_and_validation_are_frozen():
    v = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)})))
    with pytest.raises(AttributeError):
        v.scene = None
    with pytest.raises(AttributeError):
        Finding("error", "x", "buildings", "m").count = 3


# --- property: nothing is lost --------------------------------------------------------------------------------

household_values = st.one_of(
    st.integers(0, 400),
    st.just(np.nan),
    st.integers(-50, -1),
    st.floats(0, 400).filter(lambda x: not float(x).is_integer()),
    st.just("abc"),
)
building_specs = st.tuples(
    st.integers(-60, 240),  # x: some left of, inside, between and right of the communities
    st.integers(-60, 140),
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from(["box", "box", "box", "bowtie", "flat", "none"]),
    household_values,
)


def _footprint(x, y, w, h, kind):
    if kind == "bowtie":
        return bowtie(x, y, w)
    if kind == "flat":
        return rect(x, y, x + w, y)
    if kind == "none":
        return None
    return rect(x, y, x + w, y + h)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(building_specs, min_size=0, max_size=25),
    member_refs=st.lists(st.integers(-3, 30), max_size=15),
    repair=st.booleans(),
)
def test_every_building_household_and_member_is_accounted_for(specs, member_refs, repair):
    ids = [f"b{i}" for i in range(len(specs))]
    bldgs = gpd.GeoDataFrame(
        {"building_id": ids, "households": pd.Series([s[5] for s in specs], dtype=object)},
        geometry=[_footprint(*s[:5]) for s in specs],
        crs=UTM,
    )
    members = pd.DataFrame(
        {"member_id": [f"m{i}" for i in range(len(member_refs))], "building_id": [f"b{r}" for r in member_refs]}
    )
    scene = make_scene(bldgs, party_members=members)
    v = validate_scene(scene, repair_households=repair)

    assert_accounted(v, scene)
    excluded = {i for f in v.findings if f.layer == "buildings" and f.code in EXCLUSION_CODES for i in f.ids}
    out = v.scene.buildings
    assert set(out["building_id"]) | excluded == set(ids) and not set(out["building_id"]) & excluded

    usable = {
        i: int(n)
        for i, n in zip(ids, pd.to_numeric(bldgs["households"], errors="coerce"))
        if math.isfinite(n) and n >= 0 and float(n).is_integer()
    }
    h = v.counts["households"]
    assert h["in"] == sum(usable.values())
    assert h["out"] == sum(n for i, n in usable.items() if i in set(out["building_id"]))
    assert h["excluded"] == sum(n for i, n in usable.items() if i in excluded)

    assert out["community_id"].isin(["c1", "c2"]).all()
    assert shapely.is_valid(out.geometry.to_numpy()).all()
    bad = {i for f in v.findings if f.code in ("bad_households", "households_repaired") for i in f.ids}
    assert bad == set(out["building_id"]) - set(usable)
    if repair and len(out):
        assert out["households"].dtype == np.int64 and (out["households"] >= 0).all()
    # more than 1% of the buildings or households outside every community is an error, not a quiet loss
    outside = {i for f in v.findings if f.code == "building_outside_communities" for i in f.ids}
    placed = set(out["building_id"]) | outside
    lost = sum(usable.get(i, 0) for i in outside) / max(sum(usable.get(i, 0) for i in placed), 1)
    too_many = bool(placed) and max(len(outside) / len(placed), lost) > DEFAULTS.validation.max_outside_share
    assert any(f.code == "buildings_outside_share" for f in v.errors) == too_many
    # every finding also says itself in Chinese, for a run in Chinese
    assert all(f.zh and f.describe("zh") != str(f) for f in v.findings)
    assert v.ok == (len(out) > 0 and (repair or not bad) and not too_many)


# --- real data -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gusu(shared_data) -> gpd.GeoDataFrame:
    """Suzhou Gusu footprints (3,076, Baidu style, CRS84) with ids and floors as ``levels``."""
    frame = gpd.read_file(shared_data / "suzhou_gusu_buildings_floors" / "buildings.gpkg")
    frame["building_id"] = frame.index.astype(str)
    return frame.rename(columns={"Floor": "levels"})


def no_streets(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"highway": pd.Series(dtype=str)}, geometry=[], crs=crs)


def test_real_buildings_in_one_community_without_streets(gusu):
    hull = gpd.GeoDataFrame({"community_id": ["gusu"]}, geometry=[gusu.union_all().convex_hull], crs=gusu.crs)
    scene = Scene(communities=hull, buildings=gusu, streets=no_streets(gusu.crs))
    v = validate_scene(scene)
    assert v.ok
    assert v.counts["buildings"] == {"in": 3076, "out": 3076, "excluded": 0}
    assert v.counts["households"] == {"in": 0, "out": 0, "excluded": 0}
    f = only(v, "community_without_streets")
    assert (f.level, f.ids) == ("warning", ("gusu",))
    assert codes(v) == {"community_without_streets", "empty_layer"}
    out = v.scene.buildings
    assert v.scene.crs == gusu.crs
    assert (out["community_id"] == "gusu").all()
    assert out["community_share"].min() == pytest.approx(1.0)
    assert_accounted(v, scene)


def test_real_buildings_across_a_community_boundary_are_the_straddlers(gusu):
    bounds = gusu.geometry.bounds
    split = float(((bounds.minx + bounds.maxx) / 2).median())
    hull = gusu.union_all().convex_hull
    west, east = shapely.clip_by_rect(hull, -180, -90, split, 90), shapely.clip_by_rect(hull, split, -90, 180, 90)
    comms = gpd.GeoDataFrame({"community_id": ["west", "east"]}, geometry=[west, east], crs=gusu.crs)
    scene = Scene(communities=comms, buildings=gusu, streets=no_streets(gusu.crs))
    v = validate_scene(scene)
    crossing = set(gusu["building_id"][(bounds.minx < split) & (bounds.maxx > split)])
    f = only(v, "community_fitted_to_building")
    assert set(f.ids) == crossing and f.count == len(crossing) == 35
    west_m, east_m = v.scene.communities.to_crs(v.scene.buildings.estimate_utm_crs()).geometry
    footprints = v.scene.buildings.to_crs(v.scene.buildings.estimate_utm_crs()).set_index("building_id")
    for building in crossing:  # each now wholly in the community it was given
        home = west_m if footprints.loc[building, "community_id"] == "west" else east_m
        assert home.buffer(1e-6).contains(footprints.loc[building, "geometry"])
    assert "community_overlap" not in codes(v)
    assert v.counts["buildings"] == {"in": 3076, "out": 3076, "excluded": 0}
    out = v.scene.buildings.set_index("building_id")
    whole = ~gusu["building_id"].isin(crossing)
    side = np.where(bounds.maxx <= split, "west", "east")[whole.to_numpy()]
    assert (out.loc[gusu["building_id"][whole], "community_id"].to_numpy() == side).all()
    assert_accounted(v, scene)


def test_household_counts_no_building_could_hold_are_named():
    # 20 × 20 m footprints: 6 floors hold 240 households at 10 m² each; floors unknown count as 40 (1,600)
    bldgs = buildings(
        {"ok": rect(10, 10, 30, 30), "six": rect(40, 10, 60, 30), "huge": rect(10, 40, 30, 60)},
        [200, 50_000, 1_000_000_000],
        levels=[6, 6, None],
    )
    v = validate_scene(make_scene(bldgs))
    f = only(v, "implausible_households")
    assert (f.level, f.ids) == ("warning", ("six", "huge"))
    assert (
        "six (50,000 households, room for 240)" in f.message
        and "huge (1,000,000,000 households, room for 1,600)" in f.message
    )
    assert v.ok  # flagged, not refused: the register may be right and the footprint wrong
    looser = validate_scene(make_scene(bldgs), settings=DEFAULTS.with_validation(min_m2_per_household=1e-6))
    assert "implausible_households" not in codes(looser)


def test_a_community_code_that_is_not_12_digits_is_an_error_before_planning():
    comms = communities(**TWO_COMMUNITIES).assign(code=["320102001001", "32010200100X"])
    v = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30)}), comms))
    f = only(v, "bad_community_code")
    assert (f.level, f.ids) == ("error", ("c2",)) and "'32010200100X'" in f.message


def test_findings_keep_ids_with_commas_whole_and_speak_the_plans_language(tmp_path):

    far = {"楼,1号": rect(500, 500, 510, 510), "b,2": rect(600, 600, 610, 610)}
    v = validate_scene(make_scene(buildings({"b1": rect(10, 10, 30, 30), **far})), accept_outside=True)
    for lang, word in (("zh", "不在任何社区内"), ("en", "outside every community")):
        write_layers(tmp_path / f"{lang}.gpkg", {"scene_findings": v.table(lang)})
        table = read_layers(tmp_path / f"{lang}.gpkg")["scene_findings"].set_index("code")
        assert sorted(as_list(table.loc["building_outside_communities", "ids"])) == sorted(far)
        assert word in table.loc["building_outside_communities", "message"]
