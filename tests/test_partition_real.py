"""The partition engine on the real extracts in ../shared/data: balance and street alignment against METIS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.baselines import metis_baseline
from gridplan.core.scene import PreparedScene
from gridplan.partition import layout_from_atoms
from gridplan.settings import DEFAULTS, LevelSettings

from .support.assertions import assert_hard_rules
from .support.real import EXTRACTS


@pytest.fixture(params=sorted(EXTRACTS))
def planned(request, extracts):
    """An extract's validated scene and its default plan, the session's shared one."""
    return request.param, extracts.prepared(request.param).scene, extracts.run(request.param).plan


def metis_on_the_same_atoms(scene, plan):
    """METIS with contiguity on gridplan's free atoms, as many grids per community, the same fixed grids."""
    kinds = plan.grids["kind"].to_numpy()
    free = np.flatnonzero(kinds[plan.atom_grid] == "ordinary")
    labels = plan.atom_grid.copy()
    sub = plan.units.graph.subgraph(free.tolist())
    import networkx as nx

    sub = nx.relabel_nodes(sub, {int(a): i for i, a in enumerate(free)})
    k = int((kinds == "ordinary").sum())
    labels[free] = len(kinds) + metis_baseline(plan.units.atoms.iloc[free].reset_index(drop=True), sub, k)
    labels = np.unique(labels, return_inverse=True)[1]
    grid_kinds = [kinds[plan.atom_grid[np.flatnonzero(labels == g)[0]]] for g in range(labels.max() + 1)]
    return layout_from_atoms(PreparedScene.of(scene, DEFAULTS), plan.units, labels, grid_kinds)


def test_hard_rules_on_real_extracts(planned):
    name, scene, plan = planned
    assert_hard_rules(scene, plan)
    # a building is split only where its own footprint crosses another (OSM drawing): at most 0.5 %
    assert plan.metrics.split_buildings <= 0.005 * len(scene.buildings)


def test_balance_on_real_extracts(planned):
    name, scene, plan = planned
    m = plan.metrics
    assert m.within_tight_feasible >= DEFAULTS.grid.tight_share, name
    assert m.within_bounds >= 0.98, name
    out = plan.grids[
        (plan.grids["kind"] == "ordinary")
        & ~plan.grids["households"].between(DEFAULTS.grid.floor, DEFAULTS.grid.ceiling)
    ]
    assert set(out["grid_id"]) <= {w.grid_id for w in plan.warnings}


@pytest.mark.parametrize("name", sorted(EXTRACTS))
def test_micro_grids_are_one_polygon_each_and_nest_in_their_grid(name, extracts):
    run = extracts.run(name, levels=True)
    plan, micro = run.plan, run.levels.micro_grids
    assert (micro.geom_type == "Polygon").all(), micro.loc[micro.geom_type != "Polygon", "micro_grid_id"].tolist()
    assert (
        micro.groupby("grid_id")["households"].sum().sort_index().tolist()
        == plan.grids.set_index("grid_id")["households"].sort_index().tolist()
    )
    # outside 10–30 only where proven unavoidable (a building above 30, or buildings whose neighbours
    # cannot make up a group within 10–30), but for at most 0.5 % of the micro-grids
    lv = LevelSettings()
    outside = ~micro["households"].between(lv.micro_min, lv.micro_max)
    assert (~micro["bounds_possible"][micro["buildings"].eq(1) & micro["households"].gt(lv.micro_max)]).all()
    assert (outside & micro["bounds_possible"]).sum() <= 0.005 * len(micro), name


def test_every_grid_beyond_the_service_radius_is_named(planned):
    name, scene, plan = planned
    limit = DEFAULTS.grid.max_service_radius_m
    over = plan.grids[(plan.grids["kind"] == "ordinary") & (plan.grids["service_radius_m"] > limit)]
    warned = {w.grid_id: w.message for w in plan.warnings if w.code == "over_radius"}
    assert set(over["grid_id"]) == set(warned), name
    # a unit named as spanning more than the radius does: no layout can bring its grid within it
    span = pd.Series(plan.units.atoms["half_span_m"].to_numpy()).groupby(plan.atom_grid).max()
    for g, grid_id in zip(over.index, over["grid_id"]):
        assert ("alone spans" in warned[grid_id]) == (span[g] > limit), grid_id


def test_better_than_metis_on_the_same_atoms(planned):
    """Against METIS with contiguity on the same atoms and grid count: more grids in the tight band, shorter
    distances to the grid centre and service radii, no more barrier crossings, and boundaries at least as often on streets,
    rivers or rail. (The issue's goal of +0.10 street alignment is measured by the benchmark; it is not met,
    see the README.)"""
    name, scene, plan = planned
    ours, metis = plan.metrics, metis_on_the_same_atoms(scene, plan).metrics
    assert ours.within_tight_feasible > metis.within_tight_feasible, name
    assert ours.household_distance_mean <= metis.household_distance_mean, name
    assert ours.service_radius_p95 <= metis.service_radius_p95, name
    assert ours.barrier_crossing_grids <= metis.barrier_crossing_grids, name
    assert ours.boundary_alignment >= metis.boundary_alignment, name
