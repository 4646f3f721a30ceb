"""What every plan must satisfy (the hard rules), and what a plan read back from a file or a database must equal:
the run that was written."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import shapely

from gridplan.core.results import PlanRun, certificates_table
from gridplan.core.scene import PreparedScene
from gridplan.pipeline import prepare_scene
from gridplan.review.verify import verify_plan
from gridplan.settings import DEFAULTS
from gridplan.vocabulary import TIGHT_BAND_CLAIMS, GridKind

#: Limits of the independent checks run on every plan the suite makes (an undecided check is no failure).
QUICK_CHECKS = dataclasses.replace(DEFAULTS.verify, limit_seconds=2.0)


def assert_same_frame(read, made, name):
    """A layer read back equals the one made: same rows, values and geometry (dtypes may widen)."""
    assert list(read.columns) == list(made.columns), name
    assert len(read) == len(made), name
    for column in made.columns:
        a, b = read[column], made[column]
        if column == getattr(made, "_geometry_column_name", None):
            assert shapely.equals_exact(a.to_crs(b.crs).to_numpy(), b.to_numpy(), 1e-6).all(), name
        elif pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            assert np.allclose(a.to_numpy(dtype=float), b.to_numpy(dtype=float), equal_nan=True), (name, column)
        else:
            left = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in a.tolist()]
            right = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in b.tolist()]
            assert left == right, (name, column)


def assert_same_run(read: PlanRun, made: PlanRun):
    """A run with levels read back equals the one written: grids, assignment, warnings, metrics, provenance,
    levels and both summaries."""
    assert_same_frame(read.plan.grids, made.plan.grids, "grids")
    assert_same_frame(read.plan.assignment, made.plan.assignment, "assignment")
    assert read.plan.warnings == made.plan.warnings
    assert certificates_table(read.plan.certificates).equals(certificates_table(made.plan.certificates))
    assert read.plan.metrics == made.plan.metrics
    assert read.plan.provenance == made.plan.provenance
    assert read.plan.fingerprint() == made.plan.fingerprint()
    assert_same_frame(read.levels.micro_grids, made.levels.micro_grids, "micro_grids")
    assert_same_frame(read.levels.areas, made.levels.areas, "areas")
    assert read.levels.oversize == made.levels.oversize
    assert read.summary() == made.summary() and read.summary("zh") == made.summary("zh")


def assert_hard_rules(scene, plan):
    """Every building once, households conserved, grids tile each community, one polygon each."""
    buildings = scene.buildings
    assert sorted(plan.assignment["building_id"]) == sorted(buildings["building_id"])
    assert plan.assignment["grid_id"].isin(plan.grids["grid_id"]).all()
    # registered counts where the scene has them; otherwise the estimates the plan made, once per building
    total = (
        int(buildings["households"].sum()) if "households" in buildings else int(plan.assignment["households"].sum())
    )
    assert int(plan.grids["households"].sum()) == total
    by_grid = plan.assignment.groupby("grid_id")["households"].sum()
    assert (by_grid.reindex(plan.grids["grid_id"]).fillna(0).to_numpy() == plan.grids["households"].to_numpy()).all()
    m = plan.metrics
    assert m.gap_share < 1e-6 and m.overlap_share < 1e-6 and m.outside_share < 1e-6
    assert m.noncontiguous_grids == 0
    assert (plan.grids.geom_type == "Polygon").all() and not plan.grids.geometry.is_empty.any()
    metric = plan.units.atoms.crs  # compare in metres: a straight UTM edge bends in longitude/latitude
    grids = plan.grids.to_crs(metric)
    for community_id, geometry in zip(scene.communities["community_id"], scene.communities.to_crs(metric).geometry):
        mine = grids[grids["community_id"] == community_id].geometry
        assert abs(shapely.union_all(mine.to_numpy()).area - geometry.area) < 1e-6 * geometry.area
    assert_claims_hold(scene, plan)


def assert_claims_hold(scene, plan):
    """Every ordinary grid outside the bounds has exactly one claim, and no proven claim of the plan is refuted
    by the independent checks (:func:`gridplan.review.verify.verify_plan`, without a fresh plan)."""
    grids = plan.grids[plan.grids["kind"] == GridKind.ORDINARY]
    bounds = plan.settings.grid.bounds_window
    outside = set(grids.loc[~bounds.contains(grids["households"].to_numpy()), "grid_id"])
    # a radius claim has no floor; a tight band's claim speaks of the band, not of the grids outside the bounds
    bounds_claims = [c for c in plan.certificates if not np.isnan(c.lo) and c.claim not in TIGHT_BAND_CLAIMS]
    assert {g for c in bounds_claims for g in c.grid_ids} & outside == outside, (outside, plan.certificates)
    proven = {
        g for c in plan.certificates if c.proven and c.claim in ("unit_misfit", "region_fewest") for g in c.grid_ids
    }
    assert not grids.loc[grids["grid_id"].isin(proven & outside), "bounds_possible"].any()
    if any(c.proven for c in plan.certificates):
        prepared = scene if isinstance(scene, PreparedScene) else prepare_scene(scene, plan.settings)
        result = verify_plan(prepared, plan, fresh=False, settings=QUICK_CHECKS)
        assert not result.refuted, result.summary("en")
