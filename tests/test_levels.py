"""Areas above grids and micro-grids below them: exact nesting, contiguity, sizes."""

from __future__ import annotations

import numpy as np
import shapely

from gridplan.engine.levels import bounds_possible, connected_groups, contact_graph, plan_levels, settle
from gridplan.partition import partition
from gridplan.settings import LevelSettings

from .support.scenes import street_grid_scene


def _planned():
    households = np.full((6, 4), 150)
    scene = street_grid_scene(
        1200, 800, xs=[200, 400, 600, 800, 1000], ys=[200, 400, 600], households=households, per_block=6
    )
    return scene, partition(scene)


def test_areas_are_contiguous_unions_of_whole_grids():
    scene, plan = _planned()
    levels = plan_levels(plan, scene, areas_per_street=3)
    assert len(levels.areas) == 3
    assert (levels.areas.geom_type == "Polygon").all()
    assert levels.grid_area.index.is_unique and set(levels.grid_area.index) == set(plan.grids["grid_id"])
    assert levels.areas["grids"].sum() == len(plan.grids)
    assert levels.areas["households"].sum() == plan.grids["households"].sum()
    metric = plan.units.atoms.crs
    grids = plan.grids.to_crs(metric).set_index("grid_id")
    for area_id, area in zip(levels.areas["area_id"], levels.areas.to_crs(metric).geometry):
        members = levels.grid_area.index[levels.grid_area == area_id]
        assert abs(shapely.union_all(grids.loc[members].geometry.to_numpy()).area - area.area) < 1e-6 * area.area
    # 24 blocks of 150 = 3,600 households in three areas of about 1,200
    assert levels.areas["households"].between(900, 1500).all()


def test_micro_grids_tile_their_grid_with_10_to_30_households():
    scene, plan = _planned()
    levels = plan_levels(plan, scene)
    micro = levels.micro_grids.to_crs(plan.units.atoms.crs)
    grids = plan.grids.to_crs(plan.units.atoms.crs)
    assert (
        micro.groupby("grid_id")["households"].sum().sort_index().tolist()
        == grids.set_index("grid_id")["households"].sort_index().tolist()
    )
    for grid_id, polygon in zip(grids["grid_id"], grids.geometry):
        mine = micro[micro["grid_id"] == grid_id].geometry.to_numpy()
        assert abs(shapely.union_all(mine).area - polygon.area) < 1e-6 * polygon.area
        assert shapely.area(shapely.intersection(shapely.union_all(mine), polygon)) > (1 - 1e-6) * polygon.area
    assert (micro.geom_type == "Polygon").all()
    # buildings of 25 households: micro-grids of one building each, all within 10–30
    assert micro["households"].between(10, 30).all()
    assert levels.oversize == []


def test_a_piece_cut_off_by_a_big_building_joins_its_neighbour():
    # cells in a row: 12 households | a building of 50 (a micro-grid of its own) | open ground | 14 households;
    # the bisection put the open ground with the first cell, across the big building
    cells = np.array(
        [shapely.box(0, 0, 20, 20), shapely.box(20, 0, 40, 10), shapely.box(40, 0, 60, 20), shapely.box(60, 0, 80, 20)],
        dtype=object,
    )
    weight = np.array([12.0, 50.0, 0.0, 14.0])
    groups = connected_groups(cells, weight, [np.array([1]), np.array([0, 2]), np.array([3])], contact_graph(cells))
    assert sorted(g.tolist() for g in groups) == [
        [0],
        [1],
        [2, 3],
    ]  # open ground to its longest shared edge (20 m, against 10 m)
    for g in groups:
        assert shapely.union_all(cells[g]).geom_type == "Polygon"


def test_a_group_without_households_joins_its_neighbour():
    # 12 households | open ground | 14 households, each a group: the open ground joins the 14, along 20 m
    cells = np.array([shapely.box(0, 0, 20, 10), shapely.box(20, 0, 40, 20), shapely.box(40, 0, 60, 20)], dtype=object)
    weight = np.array([12.0, 0.0, 14.0])
    groups = connected_groups(cells, weight, [np.array([0]), np.array([1]), np.array([2])], contact_graph(cells))
    assert sorted(g.tolist() for g in groups) == [[0], [1, 2]]


def test_micro_grids_outside_the_bounds_are_proven_unavoidable_where_they_are():
    # a row of cells: 5 households sealed between buildings of 50 and 40 fits no group of 10–30; the 8 at
    # the end can join the 12 beside it
    cells = np.array([shapely.box(20 * i, 0, 20 * (i + 1), 20) for i in range(5)], dtype=object)
    weight = np.array([50.0, 5.0, 40.0, 12.0, 8.0])
    groups = [np.array([0]), np.array([1]), np.array([2]), np.array([3]), np.array([4])]
    contacts = contact_graph(cells)
    none = np.zeros(0, dtype=np.int64)
    assert bounds_possible(contacts, weight, groups, none, LevelSettings()) == [False, False, False, True, True]
    assert bounds_possible(contacts, weight, groups[:3] + [np.array([3, 4])], none, LevelSettings()) == [
        False,
        False,
        False,
        True,
    ]


def test_a_piece_with_a_micro_grid_outside_the_bounds_is_replanned_or_proven():
    row = lambda n: np.array([shapely.box(20 * i, 0, 20 * (i + 1), 20) for i in range(n)], dtype=object)  # noqa: E731
    # 8 | 24 | 8 | 22 | 7 | 26: the first 8 fits no group of 10–30 (with the 24 it is 32); grouped
    # 8, 24, 8+22, 7, 26 two are outside; with the misfit's group taking 24 + 8 (40, the most a group
    # holding a misfit may hold) only that one is
    cells, weight = row(6), np.array([8.0, 24.0, 8.0, 22.0, 7.0, 26.0])
    groups = [np.array([0]), np.array([1]), np.array([2, 3]), np.array([4]), np.array([5])]
    settled, proven = settle(cells, contact_graph(cells), weight, groups, np.arange(6), LevelSettings())
    assert sorted(g.tolist() for g in settled) == [[0, 1, 2], [3, 4], [5]] and len(proven) == 0
    # 6 | 20 | 6: each fits a group (6 + 20), both cannot: proven, and the group left outside says so
    cells, weight = row(3), np.array([6.0, 20.0, 6.0])
    groups = [np.array([0, 1]), np.array([2])]
    contacts = contact_graph(cells)
    settled, proven = settle(cells, contacts, weight, groups, np.arange(3), LevelSettings())
    assert sorted(g.tolist() for g in settled) == [[0, 1], [2]] and sorted(proven.tolist()) == [0, 1, 2]
    assert bounds_possible(contacts, weight, settled, proven, LevelSettings()) == [True, False]
