"""What every plan must satisfy, asserted the same way by every test that plans."""

from __future__ import annotations

import shapely


def assert_hard_rules(scene, plan):
    """Every building once, households conserved, grids tile each community, one polygon each."""
    buildings = scene.buildings
    assert sorted(plan.assignment["building_id"]) == sorted(buildings["building_id"])
    assert plan.assignment["grid_id"].isin(plan.grids["grid_id"]).all()
    # registered counts where the scene has them; otherwise the estimates the plan made, once per building
    total = int(buildings["households"].sum()) if "households" in buildings else int(plan.assignment["households"].sum())
    assert int(plan.grids["households"].sum()) == total
    by_grid = plan.assignment.groupby("grid_id")["households"].sum()
    assert (by_grid.reindex(plan.grids["grid_id"]).fillna(0).to_numpy() == plan.grids["households"].to_numpy()).all()
    m = plan.metrics
    assert m.gap_share < 1e-6 and m.overlap_share < 1e-6 and m.outside_share < 1e-6
    assert m.noncontiguous_grids == 0
    assert (plan.grids.geom_type == "Polygon").all()
    metric = plan.units.atoms.crs  # compare in metres: a straight UTM edge bends in longitude/latitude
    grids = plan.grids.to_crs(metric)
    for community_id, geometry in zip(scene.communities["community_id"], scene.communities.to_crs(metric).geometry):
        mine = grids[grids["community_id"] == community_id].geometry
        assert abs(shapely.union_all(mine.to_numpy()).area - geometry.area) < 1e-6 * geometry.area
