"""Maps: layers, popups, privacy, basemaps and offline mode on a small hand-made plan with coverage layers."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from gridplan.errors import InputError
from gridplan.maps import plan_map
from gridplan.partition import partition

from .scenes import street_grid_scene


def small_plan():
    """Two by three blocks of 150 households: a community of 900 households, three grids of 300."""
    scene = street_grid_scene(600, 400, [200, 400], [200], [[150, 150], [150, 150], [150, 150]])
    return scene, partition(scene)


def small_coverage(scene, plan) -> dict:
    """Coverage layers as the coverage engine writes them, by hand: one of every kind."""
    crs = scene.crs
    grid_ids = list(plan.grids["grid_id"])
    x0, y0, x1, y1 = scene.communities.total_bounds
    centre = Point((x0 + x1) / 2, (y0 + y1) / 2)
    buildings = plan.assignment["building_id"].tolist()
    return {
        "grid_party": pd.DataFrame({
            "grid_id": grid_ids,
            "full_members": [5, 2, 1][: len(grid_ids)],
            "probationary_members": [1, 0, 0][: len(grid_ids)],
            "status": ["branch", "joint", "joint"][: len(grid_ids)],
            "branch_id": [None, "J1", "J1"][: len(grid_ids)],
            "member_ids": ["M-0001;M-0002", "M-0003", "M-0004"][: len(grid_ids)],
        }),
        "joint_branches": pd.DataFrame({"branch_id": ["J1"], "grids": [",".join(grid_ids[1:])], "members": [3]}),
        "party_orgs": gpd.GeoDataFrame({"org_id": ["P1", "P2", "P3"], "kind": ["committee", "branch", "joint_branch"],
                                        "secretary": ["张三", "李四", "王五"]},
                                       geometry=[centre, Point(x0 + 50, y0 + 50), Point(x1 - 50, y1 - 50)], crs=crs),
        "service_points": gpd.GeoDataFrame({"point_id": ["S1"], "kind": ["station"], "name": ["社区服务站"]},
                                           geometry=[Point(x0 + 100, y0 + 100)], crs=crs),
        "isochrones": gpd.GeoDataFrame({"point_id": ["S1"], "radius_m": [300]},
                                       geometry=[Point(x0 + 100, y0 + 100).buffer(300)], crs=crs),
        "service_coverage": pd.DataFrame({"building_id": buildings, "nearest_service_m": np.linspace(50, 700, len(buildings)),
                                          "covered": np.linspace(50, 700, len(buildings)) <= 300}),
        "proposed_sites": gpd.GeoDataFrame({"site_id": ["N1"], "households_covered": [220]},
                                           geometry=[Point(x1 - 100, y1 - 100)], crs=crs),
        "micro_grids": gpd.GeoDataFrame({"micro_grid_id": ["m1"], "grid_id": [grid_ids[0]], "households": [30]},
                                        geometry=[Point(x0 + 60, y0 + 60).buffer(40)], crs=crs),
    }
