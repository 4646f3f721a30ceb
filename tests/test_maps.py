"""Maps: layers, popups, privacy, basemaps and offline mode on a small hand-made plan with coverage layers."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gridplan.coverage import analyse_coverage
from gridplan.errors import InputError
from gridplan.outputs.tables import grid_table
from gridplan.outputs.webmap import plan_map, save_map
from gridplan.pipeline import load_scene, plan_scene, prepare_scene

from .support.browser import GRID_PATHS, MAP
from .support.scenes import street_grid_scene
from .support.small import small_coverage, small_plan


@pytest.fixture(scope="module")
def planned():
    prepared, run = small_plan()
    recorded, coverage = small_coverage(prepared, run)
    return recorded, run, coverage


def html_of(fmap) -> str:
    """The map's HTML with JSON's \\uXXXX escapes decoded, so that Chinese text can be searched."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), fmap.get_root().render())


def test_every_coverage_layer_is_a_switchable_layer(planned):
    scene, run, coverage = planned
    page = html_of(plan_map(run, scene, coverage, lang="en"))
    for name in (
        "Community boundaries",
        "Grids",
        "Party organizations: Community committee",
        "Party organizations: Grid branch",
        "Party organizations: Joint branch",
        "Walking circles",
        "Service points",
        "Blind spots",
        "Proposed joint branches",
        "Proposed sites",
        "Micro-grids",
    ):
        assert f'"{name}"' in page, name
    assert "L.control.layers" in page and "L.control.fullscreen" in page and "L.Control.Measure" in page
    assert "L.control.search" in page.replace("new L.Control.Search", "L.control.search") and "L.control.scale" in page


def test_grid_popup_shows_households_party_and_coverage(planned):
    scene, run, coverage = planned
    page = html_of(plan_map(run, scene, coverage))
    first = run.plan.grids["grid_id"].iloc[0]
    # 5 full + 1 probationary members, own branch; households registered, not estimated
    assert '"party_members": "5 + 1 人"' in page and '"branch_status": "独立党支部"' in page
    assert '"branch_status": "建联合党支部"' in page
    code = run.plan.grids["code"].iloc[0] if run.plan.grids["code"].notna().iloc[0] else first
    # the popup shows the code on the grid's label (its first line: see the browser test); values carry units
    assert (
        f'"code": "{code}"' in page
        and f'"grid_id": "{first}"' in page
        and "300 户 (登记)" in page
        and "网格员 0001" in page
    )
    assert re.search(r'"deviation_pct": "[+-]\d+\.\d%"', page) and re.search(r'"service_radius_m": "\d+ 米"', page)
    for alias in ("网格编码", "户数", "工作量", "党组织状态", "网格员", "服务半径（米）", "服务圈覆盖户数占比"):
        assert alias in page


def test_a_grid_of_one_building_says_so_instead_of_a_radius_of_0():
    # two blocks split by a street: the west one a single building of 300 households, the east one four of 310
    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [310]])
    buildings = scene.buildings[~scene.buildings["building_id"].isin(["b0-0-1", "b0-0-2", "b0-0-3"])]
    buildings = buildings.assign(households=buildings["households"].where(buildings["building_id"] != "b0-0-0", 300))
    prepared = prepare_scene(scene.replace(buildings=buildings))
    run = plan_scene(prepared)
    assert sorted(run.plan.grids["buildings"]) == [1, 4]
    fmap = plan_map(run, prepared, lang="en")
    layer = next(c for c in fmap._children.values() if getattr(c, "layer_name", "") == "Grids")
    popups = pd.DataFrame([f["properties"] for f in layer.data["features"]]).sort_values("households")
    assert popups["service_radius_m"].iloc[0] == "one building, no radius"
    assert re.fullmatch(r"\d+ m", popups["service_radius_m"].iloc[1])
    assert popups["deviation_pct"].tolist() == ["+0.0%", "+3.3%"]
    assert popups["households"].tolist() == ["300 households (registered)", "310 households (registered)"]


def test_coverage_share_counts_households_within_a_circle(planned):

    scene, run, coverage = planned
    plan = run.plan
    table = grid_table(plan, coverage)
    service = coverage.service_coverage.drop(columns=["grid_id", "households"])
    covered = service.merge(plan.assignment, on="building_id")
    expected = (
        covered[covered["covered"]].groupby("grid_id")["households"].sum()
        / covered.groupby("grid_id")["households"].sum()
    )
    got = table.set_index("grid_id")["coverage_share"]
    assert np.allclose(got.sort_index(), expected.reindex(got.index).fillna(0).sort_index().round(3))
    assert table["blind_spot_buildings"].sum() == (~service["covered"]).sum() > 0


def test_member_ids_and_names_stay_out_unless_asked(planned):
    scene, run, coverage = planned
    hidden = html_of(plan_map(run, scene, coverage))
    assert "M-0001" not in hidden and "张三" not in hidden
    shown = html_of(plan_map(run, scene, coverage, show_members=True))
    assert "张三" in shown


def test_gaode_basemap_moves_grids_to_gcj02(planned):
    scene, run, _ = planned
    wgs = plan_map(run, scene)
    gcj = plan_map(run, scene, basemap="gaode")
    (s1, w1), _ = _bounds(wgs)
    (s2, w2), _ = _bounds(gcj)
    # the GCJ-02 offset: a few hundred metres
    shift_m = np.hypot((s2 - s1) * 111_000, (w2 - w1) * 111_000 * np.cos(np.radians(s1)))
    assert 200 < shift_m < 1000
    assert "autonavi.com" in html_of(gcj) and "openstreetmap" not in html_of(gcj).lower().split("attribution")[0]


def _bounds(fmap):
    call = next(c for c in fmap._children.values() if type(c).__name__ == "FitBounds")
    return call.bounds


def test_tianditu_needs_a_key_and_uses_it(planned):
    scene, run, _ = planned
    with pytest.raises(InputError, match="key"):
        plan_map(run, scene, basemap="tianditu")
    page = html_of(plan_map(run, scene, basemap="tianditu", tianditu_key="abc123"))
    assert "tianditu.gov.cn/vec_w" in page and "tk=abc123" in page and "OpenStreetMap" in page


@pytest.mark.parametrize("options", [{}, {"offline": True}, {"basemap": "osm"}, {"basemap": "gaode"}])
def test_every_map_inlines_its_scripts_and_only_a_tile_basemap_loads_tiles(planned, options):
    scene, run, coverage = planned
    page = html_of(plan_map(run, scene, coverage, **options))
    assert not re.search(r'<script[^>]+src="https?:', page)
    assert not re.search(r'<link[^>]+href="https?:', page)
    assert "L.Control.Measure" in page and "Control.FullScreen" in page
    tiles = options.get("basemap", "none") != "none"
    assert ("L.tileLayer" in page) == tiles


def test_offline_refuses_a_tile_basemap(planned):
    scene, run, _ = planned
    with pytest.raises(InputError, match="offline means no tiles"):
        plan_map(run, scene, basemap="osm", offline=True)


def test_simplification_keeps_grid_areas(planned):
    scene, run, _ = planned
    fmap = plan_map(run, scene, simplify_m=5)
    layer = next(c for c in fmap._children.values() if getattr(c, "layer_name", "") == "网格")
    drawn = gpd.GeoDataFrame.from_features(layer.data["features"], crs=4326).to_crs(scene.crs)
    assert np.allclose(drawn.area.sum(), run.plan.grids.area.sum(), rtol=0.01)


# In real headless Chromium (Debian's chromium package, one for the module, a fresh page for each test): the
# offline map, with the network switched off.


@pytest.fixture(scope="module")
def offline_html(planned, tmp_path_factory):

    scene, run, coverage = planned
    path = tmp_path_factory.mktemp("maps") / "offline.html"
    save_map(plan_map(run, scene, coverage, offline=True), path)
    return path


def test_offline_map_renders_grids_with_the_network_off_and_no_errors(browser, offline_html, planned):
    plan = planned[1].plan
    browser.open(offline_html, until=f"{GRID_PATHS} > 0")
    browser.settle(0.5)
    assert browser.errors == []
    assert browser.evaluate(f"{MAP}.getZoom()") >= 15
    layers = browser.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).map(l => l.textContent.trim())"
    )
    assert layers == [
        "街巷",
        "网格",
        "网格党组织状态",
        "一级网格（片区）",
        "微网格",
        "社区边界",
        "党组织: 社区党委",
        "党组织: 网格党支部",
        "党组织: 联合党支部",
        "步行服务圈",
        "服务站点",
        "服务盲区",
        "联合党支部建议",
        "建议新增站点",
    ]
    checked = browser.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).filter(l => l.querySelector('input').checked)"
        ".map(l => l.textContent.trim())"
    )
    # the grids view: the party status and joint branches (the party view), the walking circles and blind spots
    # (the service view) and the micro-grids wait to be switched on
    assert set(layers) - set(checked) == {"网格党组织状态", "联合党支部建议", "微网格", "步行服务圈", "服务盲区"}
    browser.evaluate(f"void {MAP}.setZoom(15, {{animate: false}})")
    browser.settle(0.2)
    labels = browser.evaluate("Array.from(document.querySelectorAll('.gp-grid-label span')).map(l => l.textContent)")
    assert sorted(labels) == sorted(c[-3:] for c in plan.grids["code"])  # short serials from afar
    browser.evaluate(f"void {MAP}.setZoom(18, {{animate: false}})")
    browser.settle(0.2)
    labels = browser.evaluate("Array.from(document.querySelectorAll('.gp-grid-label span')).map(l => l.textContent)")
    assert sorted(labels) == sorted(plan.grids["code"])  # the whole code (网格编码) up close
    assert browser.evaluate("!!document.querySelector('.leaflet-control-search input')")
    assert browser.evaluate("!!document.querySelector('.leaflet-control-measure')")
    assert browser.evaluate("!!document.querySelector('.leaflet-control-scale')")


def test_clicking_a_grid_opens_its_popup(browser, offline_html, planned, tmp_path):
    plan = planned[1].plan
    browser.open(offline_html, until=f"{GRID_PATHS} > 0")
    grid = plan.grids["grid_id"].iloc[0]
    inside = plan.grids.geometry.iloc[[0]].to_crs(4326).representative_point().iloc[0]
    x, y = browser.evaluate(
        f"(() => {{ const m = {MAP}, c = m.latLngToContainerPoint([{inside.y}, {inside.x}]),"
        " r = m.getContainer().getBoundingClientRect(); return [c.x + r.left, c.y + r.top]; })()"
    )
    browser.click(x, y)
    browser.wait("document.querySelector('.leaflet-popup-content')")
    popup = browser.evaluate("document.querySelector('.leaflet-popup-content').innerText")
    assert grid in popup and "户数" in popup and "服务圈覆盖户数占比" in popup
    assert popup.index("网格编码") < popup.index(grid)
    shot = browser.screenshot(tmp_path / "grid_popup.png")
    assert shot.stat().st_size > 10_000
    assert browser.errors == []


def test_a_tile_basemap_is_the_only_thing_that_asks_the_network(browser, planned, tmp_path):
    """The control for the default map's test: OpenStreetMap tiles fail with the network off, nothing else does."""

    scene, run, _ = planned
    save_map(plan_map(run, scene, basemap="osm"), tmp_path / "tiles.html")
    browser.open(tmp_path / "tiles.html", until=f"{GRID_PATHS} > 0")
    browser.settle(0.3)
    remote = [url for url in browser.requests if not url.startswith(("file:", "data:"))]
    assert remote and all("tile.openstreetmap.org" in url for url in remote)
    # each tile failed for want of the network, nothing local failed, and the failures reached the errors that
    # the other tests find empty: the network was really off and the errors are really collected
    assert {url for url, _ in browser.failed} == set(remote)
    assert {reason for _, reason in browser.failed} == {"net::ERR_INTERNET_DISCONNECTED"}
    assert browser.errors and all(
        "ERR_INTERNET_DISCONNECTED" in e and "tile.openstreetmap.org" in e for e in browser.errors
    )
    assert browser.evaluate(f"{GRID_PATHS}") > 0  # the grids are drawn even so


def test_search_box_finds_grids_by_code(browser, offline_html, planned):
    plan = planned[1].plan
    browser.open(offline_html, until=f"{GRID_PATHS} > 0")
    prefix = plan.grids["grid_id"].iloc[0][:-1]
    browser.evaluate(
        "(() => { const i = document.querySelector('.leaflet-control-search input'); i.focus();"
        f" i.value = '{prefix}'; i.dispatchEvent(new KeyboardEvent('keyup', {{key: 'x', bubbles: true}})); }})()"
    )
    browser.wait("document.querySelector('.search-tip')")
    tips = browser.evaluate("Array.from(document.querySelectorAll('.search-tip')).map(t => t.textContent)")
    expected = [f"{g} {c}" for g, c in zip(plan.grids["grid_id"], plan.grids["code"]) if g.startswith(prefix)]
    assert sorted(tips) == sorted(expected)  # each tip names the grid and its code
    browser.settle(0.3)
    assert browser.errors == []


def test_party_organizations_of_other_kinds_get_a_layer_of_their_own(planned):
    scene, run, _ = planned
    orgs = scene.scene.party_orgs.assign(kind=["committee", "branch", "general_branch"])
    page = html_of(plan_map(run, prepare_scene(scene.scene.replace(party_orgs=orgs))))
    assert '"党组织: general_branch"' in page and '"党组织: 社区党委"' in page and '"党组织: 联合党支部"' not in page


def test_map_of_real_coverage_opens_in_chromium_without_errors(browser, shared_data, tmp_path):
    """The coverage engine's own output (Beijing extract, generated members and service points) on the map."""

    scene = prepare_scene(load_scene(shared_data / "beijing_xueyuanlu_osm" / "beijing_xueyuanlu.osm"))
    run = plan_scene(scene)
    coverage = analyse_coverage(run.plan, scene, new_service_points=2)
    path = tmp_path / "coverage.html"
    save_map(plan_map(run, scene, coverage, offline=True), path)
    browser.open(path, until=f"{GRID_PATHS} > 0")
    browser.settle(0.5)
    assert browser.errors == []
    layers = browser.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).map(l => l.textContent.trim())"
    )
    assert {"网格", "步行服务圈 (生成的模拟数据)", "服务站点 (生成的模拟数据)", "建议新增站点 (生成的模拟数据)"} <= set(
        layers
    )
    assert browser.screenshot(tmp_path / "coverage.png").stat().st_size > 10_000


def test_grids_are_labelled_and_searched_by_their_15_digit_code(tmp_path):

    scene = prepare_scene(street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]]))
    run = plan_scene(scene)
    plan = run.plan
    assert sorted(plan.grids["code"]) == ["320102001001001", "320102001001002"]
    path = tmp_path / "codes.html"
    save_map(plan_map(run, scene), path)
    html = path.read_text(encoding="utf-8")
    for grid_id, code in zip(plan.grids["grid_id"], plan.grids["code"]):
        assert f'"label": "{code}"' in html and f'"search": "{grid_id} {code}"' in html
