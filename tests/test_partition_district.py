"""The partition engine on the generated 450,000-household district (seed 1), as the benchmark plans it:
the hard rules, and the balance goal where the data allow it."""

from __future__ import annotations

import pytest

from gridplan.partition import partition
from gridplan.prepare.validate import validate_scene
from gridplan.scenarios.district import generate_district
from gridplan.settings import DEFAULTS

from .support.assertions import assert_hard_rules
from .support.digests import plan_digests

#: :func:`plan_digests` of the district's plan (as main plans it since the tight band's neighbourhood search asks
#: again, with no more excess, for a layout it found that took the grids outside the bounds further beyond them: the
#: layout moved, 220 grids outside ±10% and 22 of them unproven as before, the same warnings; since a grid beyond the
#: misfit ceiling stays around the ground the tight band's search re-plans, 50 such claims instead of 49; since each
#: cover of a ground the programme leaves undecided is asked for a layout, the same layout with 21 grids outside ±10%
#: unproven instead of 22; since the region's search about the bounds is solved without CP-SAT's linear relaxation
#: first, which finds other layouts with as few grids outside the bounds, 1,636 grids against 1,634, 222 outside ±10%
#: and 22 of them unproven against 220 and 21): work on the engine's speed (issue 33) must otherwise leave it as it is.
DISTRICT_PLAN = ("f5222f35b071d77a", "f0630135d70e46be")


@pytest.fixture(scope="module")
def district():
    scene = validate_scene(generate_district(20_000, 450_000, seed=1)).raise_for_errors().scene
    return scene, partition(scene)


def test_the_district_plan_is_pinned(district):
    assert plan_digests(district[1]) == DISTRICT_PLAN


def test_hard_rules_on_the_generated_district(district):
    scene, plan = district
    assert_hard_rules(scene, plan)
    assert plan.metrics.split_buildings == 0


def test_ninety_percent_within_ten_percent_where_the_data_allow(district):
    _, plan = district
    m = plan.metrics
    assert m.within_tight_feasible >= DEFAULTS.grid.tight_share
    # the grids left out are those one of their units proves unable to come within ±10%
    ordinary = plan.grids[plan.grids["kind"] == "ordinary"]
    assert m.tight_infeasible_grids == int((~ordinary["tight_possible"]).sum())
    t, tol = DEFAULTS.grid.target, DEFAULTS.grid.tight_tolerance
    assert not ordinary.loc[~ordinary["tight_possible"], "households"].between(t * (1 - tol), t * (1 + tol)).any()


def test_every_grid_outside_the_bounds_is_named_and_says_whether_it_is_proven(district):
    _, plan = district
    g = DEFAULTS.grid
    ordinary = plan.grids[plan.grids["kind"] == "ordinary"]
    out = ordinary[~ordinary["households"].between(g.floor, g.ceiling)]
    warned = {w.grid_id: w.message for w in plan.warnings if w.code == "out_of_bounds"}
    assert set(out["grid_id"]) == set(warned)
    # a grid is marked unable (by its units or by a search of its region) exactly when its warning says proven
    said = {g: m.split(": ", 1)[1] for g, m in warned.items()}
    for grid_id, possible in zip(out["grid_id"], out["bounds_possible"]):
        assert possible == said[grid_id].startswith("not proven")
        assert possible != said[grid_id].startswith("proven")
    assert plan.metrics.bounds_infeasible_grids == int((~ordinary["bounds_possible"]).sum())
    # and every one is proven: by one of its units, or by the search of its region
    assert all(m.startswith("proven") for m in said.values())


def test_no_grid_within_the_bounds_is_marked_unable_to_be(district):
    _, plan = district
    g = DEFAULTS.grid
    ordinary = plan.grids[plan.grids["kind"] == "ordinary"]
    assert ordinary.loc[~ordinary["bounds_possible"], "households"].between(g.floor, g.ceiling).sum() == 0
