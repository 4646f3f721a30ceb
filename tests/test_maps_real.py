"""The default map of each real extract, as a user makes it, in headless Chromium with the network off:
self-contained (no request leaves the machine), Leaflet, grids and the scene's streets drawn, no console error,
and no two visible grid labels overlapping at the default zoom or closer. A screenshot of each is kept."""

from __future__ import annotations

import itertools

import pytest

from gridplan.cli import EXIT_OK, main
from gridplan.maps import FULL_CODE_ZOOM, plan_map, save_map
from gridplan.store import read_plan

from .support.browser import MAP
from .support.real import EXTRACTS

LEAFLET = "typeof L === 'object' && L.version"
FEATURES = f"Object.values({MAP}._layers).filter(l => l.feature && l._path && l._path.getAttribute('d'))"
VISIBLE_LABELS = ("Array.from(document.querySelectorAll('.gp-grid-label:not(.gp-hidden) span')).map(e => {"
                  " const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; })")


def overlaps(boxes) -> list[tuple[str, str]]:
    """Pairs of labels whose rectangles share more than a point."""
    return [(a[4], b[4]) for a, b in itertools.combinations(boxes, 2)
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]


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
    assert [url for url in browser.requests if not url.startswith(("file:", "data:"))] == []  # nothing leaves the machine
    assert browser.errors == []
    drawn = browser.evaluate(f"{FEATURES}.map(l => Object.keys(l.feature.properties).includes('label') ? 'grid' :"
                             " Object.keys(l.feature.properties).includes('width') ? 'street' : 'other')")
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
