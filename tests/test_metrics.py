"""Layout metrics on layouts drawn by hand: where the internal boundary runs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from gridplan.core.geometry import points_along
from gridplan.core.memo import Recent, digest, forget_kept, geometry_bytes
from gridplan.core.metrics import (
    ALIGNMENT_DISTANCE_M,
    ALIGNMENT_STEP_M,
    boundary_breakdown,
    plan_metrics,
    street_alignment,
)
from gridplan.engine.units import street_blocks
from gridplan.pipeline import plan_scene
from gridplan.settings import DEFAULTS, RunOptions

from .support.scenes import CRS


def _frame(geoms, **columns):
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=CRS)


# A 400 × 200 m community, one street at x = 200: a west block of 400 households, an east one of 200.
COMMUNITY = _frame([box(0, 0, 400, 200)], community_id=["c1"])
STREETS = _frame([LineString([(200, 0), (200, 200)])], highway=["residential"])
BUILDINGS = _frame(
    [box(40, 40, 80, 160), box(120, 40, 160, 160), box(260, 40, 340, 160)],
    community_id="c1",
    households=[200, 200, 200],
)
# three grids: the west block cut at x = 100, the east block whole
GRIDS = [box(0, 0, 100, 200), box(100, 0, 200, 200), box(200, 0, 400, 200)]


def test_street_blocks_tile_the_community_and_hold_its_households():
    blocks = street_blocks(COMMUNITY, BUILDINGS, STREETS)
    assert sorted(blocks.area) == pytest.approx([40_000, 40_000])
    assert sorted(blocks["households"]) == [200, 400]


@pytest.mark.parametrize(
    "kinds, barrier, expected",
    [
        (["ordinary"] * 3, None, "blocks_over_ceiling"),
        (["special", "ordinary", "ordinary"], None, "special_edges"),
        (["ordinary"] * 3, LineString([(100, 0), (100, 200)]), "barriers"),
    ],
)
def test_the_boundary_off_the_street_is_named_by_what_put_it_there(kinds, barrier, expected):
    grids = _frame(GRIDS, grid_id=["a", "b", "c"], community_id="c1", kind=kinds)
    barriers = _frame([barrier], kind=["river"]) if barrier is not None else None
    blocks = street_blocks(COMMUNITY, BUILDINGS, STREETS, barriers)
    shares = boundary_breakdown(grids, COMMUNITY, STREETS, barriers, blocks, ceiling=360)
    # 200 m along the street at x = 200 and 200 m at x = 100, 100 m from it
    assert shares["length_km"] == pytest.approx(0.4 - 0.002, abs=1e-6)  # less the community's 0.5 m edge
    assert shares["streets"] == pytest.approx(0.5, abs=0.02)
    assert shares["streets"] == street_alignment(grids, COMMUNITY, STREETS, barriers)[0]
    assert shares[expected] == pytest.approx(0.5, abs=0.02)
    assert shares.drop("length_km").sum() == pytest.approx(1.0)


def test_a_cut_inside_a_block_that_fits_one_grid_is_a_choice():
    grids = _frame(GRIDS, grid_id=["a", "b", "c"], community_id="c1", kind="ordinary")
    blocks = street_blocks(COMMUNITY, BUILDINGS, STREETS)
    shares = boundary_breakdown(grids, COMMUNITY, STREETS, None, blocks, ceiling=450)
    assert shares["blocks_within"] == pytest.approx(0.5, abs=0.02)
    assert shares["blocks_over_ceiling"] == 0.0


def test_alignment_measured_community_by_community_equals_the_whole_boundary_at_once(small_district):
    """The internal boundary is drawn community by community; measured over the union of every grid's boundary at
    once (the district's six communities), the shares are the same to the last bit."""
    prepared, plan = small_district
    local = prepared.local
    grids = plan.grids.to_crs(local.crs)
    lines = shapely.union_all(shapely.boundary(grids.geometry.to_numpy()))
    outer = shapely.union_all(shapely.boundary(local.communities.geometry.to_numpy()))
    points = points_along(shapely.difference(lines, shapely.buffer(outer, 0.5)), ALIGNMENT_STEP_M)
    near = [
        np.isin(np.arange(len(points)), shapely.STRtree(layer).query(points, "dwithin", ALIGNMENT_DISTANCE_M)[0])
        for layer in (local.streets.geometry.to_numpy(), local.barriers.geometry.to_numpy())
    ]
    assert len(points) > 1000 and local.communities["community_id"].nunique() == 6
    expected = (float(near[0].mean()), float((near[0] | near[1]).mean()))
    assert street_alignment(grids, local.communities, local.streets, local.barriers) == pytest.approx(
        expected, abs=1e-12
    )


def test_recent_keeps_the_latest_used_values():
    recent = Recent(2)
    made = []
    for key in ("a", "b", "a", "c"):  # "a" used again before "c" comes: "b" is the least recently used
        recent.made(key, lambda key=key: made.append(key) or key.upper())
    assert made == ["a", "b", "c"] and "b" not in recent and recent.get("a") == "A" and len(recent) == 2
    forget_kept()
    assert len(recent) == 0


def test_geometry_bytes_tell_apart_coordinates_and_precision_grids():
    square = box(0, 0, 1, 1)
    moved = box(0, 0, 1, 1 + 1e-12)
    snapped = shapely.set_precision(square, 1e-5, mode="pointwise")
    assert shapely.equals_exact(square, snapped, 0)  # the same coordinates…
    keys = {digest(geometry_bytes(np.array([g]))) for g in (square, moved, snapped)}
    assert len(keys) == 3  # …but another precision grid, which later overlays use
    assert digest([b"ab", b"c"]) != digest([b"a", b"bc"])


def test_metrics_kept_for_unchanged_communities_are_those_measured_afresh(small_district):
    prepared, plan = small_district
    local = prepared.local
    grids = plan.grids.to_crs(local.crs)

    def measured(layout, assignment):
        return plan_metrics(
            layout, assignment, local.buildings, local.communities, local.streets, local.barriers, DEFAULTS.grid
        )

    before = measured(grids, plan.assignment)
    # two neighbouring grids of one community merged: that community's boundary and tiling change, no other's
    community = grids["community_id"].iloc[0]
    mine = np.flatnonzero((grids["community_id"] == community).to_numpy())
    first = grids.geometry.iloc[mine[0]]
    other = next(g for g in mine[1:] if grids.geometry.iloc[g].intersection(first).length > 1.0)
    merged = grids.drop(index=grids.index[other]).copy()
    merged.loc[grids.index[mine[0]], "geometry"] = shapely.union_all([first, grids.geometry.iloc[other]])
    ids = grids["grid_id"].to_numpy()
    assignment = plan.assignment.assign(grid_id=plan.assignment["grid_id"].replace(ids[other], ids[mine[0]]))
    kept = measured(merged, assignment)  # the other communities' figures as kept from `before`
    forget_kept()
    afresh = measured(merged, assignment)
    assert kept == afresh
    assert kept.street_alignment != before.street_alignment
    assert abs(kept.overlap_share) < 1e-6 and abs(kept.gap_share) < 1e-6
    # the plan made again with nothing kept: the same grids, polygon for polygon
    again = plan_scene(prepared, options=RunOptions(workers=1)).plan
    assert shapely.equals_exact(again.grids.geometry.to_numpy(), plan.grids.geometry.to_numpy(), 0).all()
    assert again.metrics == plan.metrics
