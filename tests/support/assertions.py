"""What a plan read back from a file or a database must equal: the run that was written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridplan.results import PlanRun


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
    assert read.plan.metrics == made.plan.metrics
    assert read.plan.provenance == made.plan.provenance
    assert read.plan.fingerprint() == made.plan.fingerprint()
    assert_same_frame(read.levels.micro_grids, made.levels.micro_grids, "micro_grids")
    assert_same_frame(read.levels.areas, made.levels.areas, "areas")
    assert read.levels.oversize == made.levels.oversize
    assert read.summary() == made.summary() and read.summary("zh") == made.summary("zh")
