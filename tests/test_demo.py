"""``gridplan demo`` plans the Chinese neighbourhood shipped inside the package (Xueyuan Road, Beijing), with its
OpenStreetMap attribution, on a machine without ../shared; Helsinki stays a named choice."""

from __future__ import annotations

import configparser
import contextlib
import fnmatch
import importlib.resources
import io
from pathlib import Path

import geopandas as gpd
import pytest

from gridplan.cli import EXIT_OK, main
from gridplan.io.osm import DEMO_EXTRACTS, OSM_ATTRIBUTION, default_extract
from gridplan.io.store import read_plan
from gridplan.vocabulary import GridKind

from .support.assertions import assert_hard_rules

ROOT = Path(__file__).resolve().parents[1]
#: Xueyuan Road's extract, as its ATTRIBUTION.md gives its bounds (west, south, east, north).
XUEYUANLU = (116.34403, 39.99767, 116.35974, 40.00888)
#: The embedded extract stays small: it ships in every install (measured 69,946 bytes).
MAX_EXTRACT_BYTES = 150_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``gridplan demo`` with its defaults, written to a temporary folder: (folder, standard output)."""
    folder = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["demo", "--out", str(folder / "out"), "--map", str(folder / "demo.html")])
    assert code == EXIT_OK
    return folder, out.getvalue()


def test_the_demo_plans_the_embedded_beijing_extract(demo):
    folder, out = demo
    assert f"示例数据：{default_extract().name}" in out
    grids = gpd.read_file(folder / "out" / "plan.gpkg", layer="grids").to_crs(4326)
    assert (grids["kind"] == GridKind.ORDINARY).sum() > 15  # 6,807 estimated households at ~300 a grid
    west, south, east, north = XUEYUANLU
    x, y = grids.union_all().centroid.coords[0]
    assert west < x < east and south < y < north, (x, y)


def test_the_demo_plan_is_the_plan_of_the_shared_beijing_extract_and_keeps_the_hard_rules(demo, extracts):
    """The embedded file is the shared one less transit routes and editors' metadata: the same scene, the same
    plan; that plan keeps every hard rule."""
    plan = read_plan(demo[0] / "out" / "plan.gpkg").plan
    shared = extracts.run("beijing").plan
    mine = plan.assignment.set_index("building_id")["grid_id"].sort_index()
    theirs = shared.assignment.set_index("building_id")["grid_id"].sort_index()
    assert mine.equals(theirs)
    assert_hard_rules(extracts.scene("beijing"), shared)


def test_the_map_and_the_report_say_whose_data_it_is(demo):
    folder, _ = demo
    # the map sets the text from a JSON string (© escaped); the report writes it as it is
    assert "OpenStreetMap contributors (ODbL 1.0)" in (folder / "demo.html").read_text(encoding="utf-8")
    assert OSM_ATTRIBUTION in (folder / "out" / "reports" / "summary.html").read_text(encoding="utf-8")


def test_the_extract_ships_small_with_its_odbl_attribution_as_package_data():
    data = importlib.resources.files("gridplan") / "data"
    attribution = (data / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in attribution and "ODbL" in attribution
    assert "Source:" in attribution and "2026-03-22" in attribution
    assert default_extract().stat().st_size < MAX_EXTRACT_BYTES
    # setup.cfg's package data takes both files into a wheel (checked by hand in a built wheel as well)
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["gridplan"].split(",")]
    for name in (default_extract().name, "ATTRIBUTION.md"):
        assert any(fnmatch.fnmatch(f"data/{name}", p) for p in patterns), (name, patterns)


def test_helsinki_stays_a_named_demo_source():
    path, boundary = DEMO_EXTRACTS["helsinki"]
    assert path().name == "Helsinki.osm.pbf" and path().is_file()
    assert boundary is not None and 24 < boundary[0] < 25
    assert DEMO_EXTRACTS["beijing"][0]() == default_extract()
