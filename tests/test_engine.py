"""The engine's plans, pinned, on scenes that tell an importer change from an engine change.

- The imported real extracts are pinned by their scene fingerprint: a change of the OpenStreetMap importer (or of
  the osmnx it reads with) fails there.
- Their default plans (the session's shared plans) are pinned by their assignment and warnings: a change that
  moves a single building to another grid, or changes a warning, fails there.
- Generated scenes, made by gridplan's own generators and never imported, are pinned by their plans: they fail
  only when the engine changes.

Update the pins only for a change meant to change scenes or plans, and say so in the commit. The plan pins were
first computed with the engine before it was split into phases (``gridplan/regions.py``, commit 5f28ead).
"""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

from gridplan.engine import Adjacency, RegionGraph, Sizing, join_orphans
from gridplan.io.osm import HELSINKI_CENTRE_BBOX, helsinki_extract, import_osm
from gridplan.pipeline import plan_scene, prepare_scene
from gridplan.settings import DEFAULTS, LoadWindow

from .support.digests import plan_digests
from .support.real import EXTRACTS
from .support.scenes import random_scene

#: The osmnx the import pins were taken with: its graph simplification decides the streets of an import.
PINNED_WITH_OSMNX = "2.1.1"
#: First 16 hex digits of each imported scene's fingerprint (:func:`gridplan.core.scene.scene_fingerprint`).
IMPORTED = {
    "nanjing": "52b6798879ef694e",
    "beijing": "e3c4811c5ee79b23",
    "shanghai": "b8913bc8c24aaa3e",
    "wuhan": "b3b6657a00e3353c",
    "helsinki": "7c2a40bea0e4d66c",
}
#: First 16 hex digits of the SHA-256 of the sorted ``building_id<TAB>grid_id`` lines, and of the warnings
#: (code, community, grid, reason, figures), per case.
PINNED = {
    "nanjing": ("63dd2d211589441b", "312a3bc1d9e56379"),
    "beijing": ("ab4c43a77ba0776c", "862dbacee576a2b9"),
    "shanghai": ("330367cc82eba4ff", "a3107523c679f671"),
    "wuhan": ("5311de6a026b9c02", "6550dc07df1dae59"),
    "helsinki": ("93db32eb7ff530ba", "e3b0c44298fc1c14"),
    "district": ("05100cd2ebbec8ed", "3b483c14fcab9c47"),  # the session's small_district
    "random-3": ("c348ede7e5898962", "0e8b2951291c3977"),
    "random-11": ("c26cf663dfa03466", "d566688e1b5acf5b"),
}


@pytest.fixture(scope="module")
def helsinki():
    """The Helsinki centre, from the extract gridplan ships, prepared."""
    return prepare_scene(import_osm(helsinki_extract(), boundary=HELSINKI_CENTRE_BBOX)[0])


def imported(case, extracts, helsinki):
    return helsinki if case == "helsinki" else extracts.prepared(case)


@pytest.mark.parametrize("case", [*sorted(EXTRACTS), "helsinki"])
def test_imported_scenes_are_pinned(case, extracts, helsinki):
    osmnx = importlib.metadata.version("osmnx")
    assert imported(case, extracts, helsinki).fingerprint[:16] == IMPORTED[case], (
        f"the import of {case} changed: its pin was taken with osmnx {PINNED_WITH_OSMNX}, this is osmnx {osmnx}"
    )


@pytest.mark.parametrize("case", [*sorted(EXTRACTS), "helsinki"])
def test_plans_of_the_real_extracts_are_pinned(case, extracts, helsinki):
    plan = plan_scene(helsinki).plan if case == "helsinki" else extracts.run(case).plan
    assert plan_digests(plan) == PINNED[case]


@pytest.mark.parametrize("case", ["district", "random-3", "random-11"])
def test_plans_of_generated_scenes_are_pinned(case, small_district):
    if case == "district":
        plan = small_district[1]
    else:
        plan = plan_scene(prepare_scene(random_scene(np.random.default_rng(int(case.split("-")[1])), hole=True))).plan
    assert plan_digests(plan) == PINNED[case]


def test_a_sizing_of_grids_has_the_settings_windows():
    sizing = Sizing.of(DEFAULTS.grid)
    assert (sizing.bounds_window, sizing.tight_window) == (DEFAULTS.grid.bounds_window, DEFAULTS.grid.tight_window)
    assert tuple(sizing.bounds_window) == (240.0, 360.0) and tuple(sizing.tight_window) == (270.0, 330.0)
    assert sizing.misfit_ceiling == DEFAULTS.grid.misfit_ceiling == 420.0
    assert [sizing.fit(load) for load in (270, 330, 331, 240, 239, 361)] == [0, 0, 1, 1, 2, 2]


def test_a_micro_grid_sizing_is_centred_in_its_window():
    sizing = Sizing.within(LoadWindow(10.0, 30.0))
    assert (sizing.target, tuple(sizing.bounds_window), tuple(sizing.tight_window)) == (
        20.0,
        (10.0, 30.0),
        (15.0, 25.0),
    )


def test_a_load_window_checks_numbers_and_arrays_alike():
    window = LoadWindow(240.0, 360.0)
    assert window.contains(240.0) and window.contains(360.0) and not window.contains(360.5)
    assert window.contains(np.array([100.0, 300.0, 400.0])).tolist() == [False, True, False]


def test_an_adjacency_keeps_each_atoms_neighbours_in_the_order_of_its_edges():
    # edges 0–2, 1–2, 0–1: atom 2 meets 0 before 1, atom 0 meets 2 before 1, as networkx would list them
    adjacency = Adjacency.from_edges(3, np.array([0, 1, 0]), np.array([2, 2, 1]), np.ones(3), np.array([5.0, 6.0, 7.0]))
    assert adjacency.neighbour_lists() == [[2, 1], [2, 0], [0, 1]]
    among = adjacency.among(np.array([2, 0]))
    assert among.neighbour_lists() == [[1], [0]] and among.length.tolist() == [5.0, 5.0]


def test_orphans_join_the_neighbour_they_share_most_boundary_with_without_changing_the_labels_given():
    # a row 0–1–2–3: 1 and 2 have no grid; 1 shares 9 m with 0 and 4 m with 2, 2 shares 2 m with 3
    adjacency = Adjacency.from_edges(4, np.array([0, 1, 2]), np.array([1, 2, 3]), np.ones(3), np.array([9.0, 4.0, 2.0]))
    labels = np.array([0, -1, -1, 1])
    joined = join_orphans(labels, np.array([1, 2]), adjacency)
    # 1 joins 0 first, then 2 follows 1 (4 m) rather than 3 (2 m)
    assert joined.tolist() == [0, 0, 0, 1] and labels.tolist() == [0, -1, -1, 1]


def test_a_region_graph_checks_connectivity_on_its_own_atoms():
    adjacency = Adjacency.from_edges(4, np.array([0, 1, 2]), np.array([1, 2, 3]), np.ones(3), np.ones(3))
    region = RegionGraph(adjacency, np.full(4, 100.0), np.arange(4.0), np.zeros(4), np.zeros(4))
    assert region.connected(np.array([0, 1, 2])) and not region.connected(np.array([0, 2]))
    assert not region.stays_connected(1, {0, 1, 2}) and region.stays_connected(2, {0, 1, 2})
