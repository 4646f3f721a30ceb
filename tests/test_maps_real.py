"""The default map of each real extract, as a user makes it, in headless Chromium with the network off:
self-contained (no request leaves the machine), Leaflet, grids and the scene's streets drawn, no console error,
and no two visible grid labels overlapping at the default zoom or closer. A screenshot of each is kept.

The organization department's map (``--view party``) of a real extract with many joint branches: it opens on the
party status of the grids, and no joint-branch label overlaps another or a grid label at any zoom."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from gridplan.cli import EXIT_OK, main
from gridplan.coverage import analyse_coverage
from gridplan.io.store import read_plan, write_coverage, write_layers, write_plan
from gridplan.outputs.webmap import FULL_CODE_ZOOM, plan_map, save_map
from gridplan.style import BRANCH_STATUS_COLOURS, JOINT_BRANCH_COLOURS

from .support.browser import MAP
from .support.real import EXTRACTS

LEAFLET = "typeof L === 'object' && L.version"
FEATURES = f"Object.values({MAP}._layers).filter(l => l.feature && l._path && l._path.getAttribute('d'))"
VISIBLE_LABELS = (
    "Array.from(document.querySelectorAll('.gp-grid-label:not(.gp-hidden) span')).map(e => {"
    " const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; })"
)


def overlaps(boxes) -> list[tuple[str, str]]:
    """Pairs of labels whose rectangles share more than a point."""
    return [
        (a[4], b[4])
        for a, b in itertools.combinations(boxes, 2)
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]


@pytest.fixture(scope="module", params=sorted(EXTRACTS))
def real_map(request, extracts, tmp_path_factory):
    """The map a user gets by default of a real extract: ``gridplan plan --map`` (Wuhan, through the command
    line) or the library's ``plan_map`` of the session's plan, with its coverage (Beijing) or without it."""
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    path = folder / f"{name}.html"
    prepared = extracts.prepared(name)
    if name == "wuhan":
        assert main(["plan", str(extracts.path(name)), "-o", str(folder / "plan.gpkg"), "--map", str(path)]) == EXIT_OK
        run = read_plan(folder / "plan.gpkg")
    else:
        run = extracts.run(name)
        coverage = extracts.coverage(name) if name == "beijing" else None
        save_map(plan_map(run, prepared, coverage), path)
    return name, path, prepared, run


def test_the_default_map_of_a_real_extract_opens_with_the_network_off(browser, real_map, artifacts):
    name, path, prepared, run = real_map
    browser.open(path, until="document.querySelectorAll('.gp-grid-label').length > 0")
    browser.settle(0.5)
    assert browser.evaluate(LEAFLET) == "1.9.3"
    assert [
        url for url in browser.requests if not url.startswith(("file:", "data:"))
    ] == []  # nothing leaves the machine
    assert browser.errors == []
    drawn = browser.evaluate(
        f"{FEATURES}.map(l => Object.keys(l.feature.properties).includes('label') ? 'grid' :"
        " Object.keys(l.feature.properties).includes('width') ? 'street' : 'other')"
    )
    assert drawn.count("grid") == len(run.plan.grids)
    streets = prepared.scene.streets
    assert drawn.count("street") == len(streets[streets.geometry.notna() & ~streets.geometry.is_empty]) > 0
    browser.screenshot(artifacts / f"map_{name}.png")


def test_no_two_visible_grid_labels_overlap_at_the_default_zoom_or_closer(browser, real_map):
    name, path, _, run = real_map
    browser.open(path, until="document.querySelectorAll('.gp-grid-label').length > 0")
    start = browser.evaluate(f"{MAP}.getZoom()")
    shown = {}
    for zoom in range(start, FULL_CODE_ZOOM + 2):
        browser.evaluate(f"void {MAP}.setZoom({zoom}, {{animate: false}})")
        browser.settle(0.1)
        boxes = browser.evaluate(VISIBLE_LABELS)
        assert overlaps(boxes) == [], (name, zoom)
        shown[zoom] = len(boxes)
    print(name, "labels shown by zoom:", shown, "of", len(run.plan.grids))
    grids = len(run.plan.grids)
    # the labels of most grids fit at the default zoom, and nearly all up close (two grids whose labels
    # would fall within a few metres of each other show one)
    assert shown[start] >= 0.5 * grids and shown[FULL_CODE_ZOOM + 1] >= 0.95 * grids, shown
    assert browser.errors == []


#: Party members as a share of residents in the sparse scenario: a community where most members belong to their
#: workplace's organization, so that many grids have fewer than 3 full members and need a joint branch.
SPARSE_MEMBER_SHARE = 0.002
JOINT_LABELS = (
    "Array.from(document.querySelectorAll('.gp-joint-label:not(.gp-hidden) span')).map(e => {"
    " const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; })"
)
#: The features drawn, by layer: a grid of the party status layer, of the grid layer, or another.
LAYER_OF = (
    f"{FEATURES}.map(l => 'status_label' in l.feature.properties ? 'party' :"
    " 'search' in l.feature.properties ? 'grid' : 'other')"
)
#: The fill colours of the party status layer's grids drawn.
STATUS_FILLS = f"{FEATURES}.filter(l => 'status_label' in l.feature.properties).map(l => l.options.fillColor)"


@pytest.fixture(scope="module")
def party_maps(extracts, tmp_path_factory):
    """Nanjing 新街口 with sparse generated party members (15 joint branches in one community), written to files and
    mapped through the command line: once with ``--view party``, once by default."""
    prepared, run = extracts.prepared("nanjing"), extracts.run("nanjing")
    settings = run.plan.settings
    coverage = analyse_coverage(
        run.plan,
        prepared,
        settings=dataclasses.replace(
            settings, party=dataclasses.replace(settings.party, member_share=SPARSE_MEMBER_SHARE)
        ),
    )
    folder = tmp_path_factory.mktemp("party")
    scene, plan, covered = folder / "scene.gpkg", folder / "plan.gpkg", folder / "coverage.gpkg"
    write_layers(scene, prepared.scene.layers())
    write_plan(run, prepared, plan)
    write_coverage(coverage, covered, run=run)
    maps = {}
    for view in ("party", None):
        maps[view] = folder / f"{view or 'default'}.html"
        options = ["--view", view] if view else []
        assert main(["map", str(scene), str(plan), str(covered), "-o", str(maps[view]), *options]) == EXIT_OK
    return coverage, run, maps


def test_the_party_view_opens_on_the_party_status_of_the_grids_and_the_default_does_not(browser, party_maps):
    coverage, run, maps = party_maps
    grids, joint = len(run.plan.grids), len(coverage.joint_branches)
    browser.open(maps["party"], until="document.querySelectorAll('.gp-grid-label').length > 0")
    drawn = browser.evaluate(LAYER_OF)
    # every grid drawn in the colour of its status, the grids coloured by households off
    assert drawn.count("party") == grids and drawn.count("grid") == 0
    statuses = coverage.grid_party["status"].astype(str)
    assert sorted(browser.evaluate(STATUS_FILLS)) == sorted(statuses.map(BRANCH_STATUS_COLOURS))
    assert len(set(statuses)) >= 3  # a mix of statuses, not one colour
    assert not set(JOINT_BRANCH_COLOURS) & set(BRANCH_STATUS_COLOURS.values())  # outlines drawn over them read apart
    assert len(browser.evaluate(JOINT_LABELS)) > 0 and len(browser.evaluate(VISIBLE_LABELS)) > 0
    assert browser.errors == []

    browser.open(maps[None], until="document.querySelectorAll('.gp-grid-label').length > 0")
    drawn = browser.evaluate(LAYER_OF)
    assert drawn.count("party") == 0 and drawn.count("grid") == grids
    assert browser.evaluate("document.querySelectorAll('.gp-joint-label').length") == 0
    assert joint >= 10 and browser.errors == []


def test_no_joint_branch_label_overlaps_another_or_a_grid_label_at_any_zoom(browser, party_maps):
    coverage, _, maps = party_maps
    joint = len(coverage.joint_branches)
    browser.open(maps["party"], until="document.querySelectorAll('.gp-joint-label').length > 0")
    start = browser.evaluate(f"{MAP}.getZoom()")
    assert browser.evaluate("document.querySelectorAll('.gp-joint-label').length") == joint
    shown = {}
    for zoom in range(start, FULL_CODE_ZOOM + 3):
        browser.evaluate(f"void {MAP}.setZoom({zoom}, {{animate: false}})")
        browser.settle(0.1)
        labels, grid_labels = browser.evaluate(JOINT_LABELS), browser.evaluate(VISIBLE_LABELS)
        assert overlaps(labels) == [] and overlaps(labels + grid_labels) == [], zoom
        shown[zoom] = (len(labels), len(grid_labels))
    print("joint-branch and grid labels shown by zoom:", shown, "of", joint, "joint branches")
    # up close every joint branch's label has room
    assert shown[FULL_CODE_ZOOM + 2][0] == joint, shown
    assert browser.errors == []
