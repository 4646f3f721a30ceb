"""A small hand-made plan with coverage, for the map and report tests: two by three blocks of 150 households,
with party records and a service point, analysed by the coverage engine itself."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from gridplan.coverage import analyse_coverage
from gridplan.pipeline import plan_scene, prepare_scene
from gridplan.settings import DEFAULTS

from .scenes import street_grid_scene

#: Circles small enough for blind spots in a 600 × 400 m community.
SMALL_CIRCLES = DEFAULTS.with_service(radii_m=(100.0, 200.0, 300.0), coverage_radius_m=300.0)


def small_plan():
    """Two by three blocks of 150 households: a community of 900 households, three grids of 300; with
    levels (micro-grids), the plan made with small walking circles."""
    scene = street_grid_scene(600, 400, [200, 400], [200], [[150, 150], [150, 150], [150, 150]])
    prepared = prepare_scene(scene, SMALL_CIRCLES)
    return prepared, plan_scene(prepared, levels=True)


def small_coverage(prepared, run):
    """Coverage made by the coverage engine from party records and service points added to the scene: the
    first grid has 5 full and 1 probationary members (its own branch), the others 2 and 1 full members (a
    joint branch); party organizations of each kind carry a secretary's name (personal)."""
    plan = run.plan
    grid_ids = list(plan.grids["grid_id"])
    first = plan.assignment.loc[plan.assignment["grid_id"] == grid_ids[0], "building_id"].iloc[0]
    second = plan.assignment.loc[plan.assignment["grid_id"] == grid_ids[1], "building_id"].iloc[0]
    third = plan.assignment.loc[plan.assignment["grid_id"] == grid_ids[2], "building_id"].iloc[0]
    homes = [first] * 6 + [second] * 2 + [third]
    members = pd.DataFrame(
        {
            "member_id": [f"M-{i:04d}" for i in range(1, 10)],
            "building_id": homes,
            "status": ["正式"] * 5 + ["预备"] + ["正式"] * 3,
        }
    )
    scene = prepared.scene
    x0, y0, x1, y1 = scene.communities.total_bounds
    orgs = gpd.GeoDataFrame(
        {
            "org_id": ["P1", "P2", "P3"],
            "kind": ["committee", "branch", "joint_branch"],
            "secretary": ["张三", "李四", "王五"],
        },
        geometry=[Point((x0 + x1) / 2, (y0 + y1) / 2), Point(x0 + 50, y0 + 50), Point(x1 - 50, y1 - 50)],
        crs=scene.crs,
    )
    points = gpd.GeoDataFrame(
        {"point_id": ["S1"], "kind": ["station"], "name": ["社区服务站"]},
        geometry=[Point(x0 + 100, y0 + 100)],
        crs=scene.crs,
    )
    recorded = prepare_scene(
        scene.replace(party_members=members, party_orgs=orgs, service_points=points), SMALL_CIRCLES
    )
    return recorded, analyse_coverage(plan, recorded, new_service_points=1)
