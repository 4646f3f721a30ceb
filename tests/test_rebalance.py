"""Rebalancing after regeneration: the fewest moves back within ±10%, the cap, the hard rules, the report."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gridplan.cli import EXIT_OK, main
from gridplan.core.results import PreviousPlan
from gridplan.engine.rebalance import move_cap, rebalance
from gridplan.engine.regenerate import regenerate
from gridplan.io.store import read_layers, read_plan, write_layers
from gridplan.partition import partition
from gridplan.settings import DEFAULTS, RegenerationSettings
from gridplan.vocabulary import MoveReason

from .support.cli import assert_one_line_error, run
from .support.properties import examples
from .support.scenes import street_grid_scene

GRID = DEFAULTS.grid  # band 270–330, bounds 240–360


def _row(weights: list[float], street_after: int | None = None) -> nx.Graph:
    """Atoms in a row, each touching the next; the edge after ``street_after`` runs along a street (cheap to cut)."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(weights)))
    for a in range(len(weights) - 1):
        graph.add_edge(a, a + 1, length=10.0, cost=10.0 / (5.0 if a == street_after else 0.25), barrier=False)
    return graph


def _loads(atom_grid, weights):
    return np.bincount(atom_grid, weights=np.asarray(weights, dtype=float))


def test_one_move_restores_the_balance_and_it_is_the_one_found():
    # grid 0: 150 + 150 + 40 = 340 (over the band); grid 1: 90 + 100 + 70 = 260 (under it); grid 2 = 300
    weights = [150, 150, 40, 90, 100, 70, 150, 150]
    atom_grid = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    done = rebalance(_row(weights), np.array(weights, float), atom_grid, np.ones(3, bool), GRID)
    assert done.moves[["atom", "from_grid", "to_grid", "households"]].values.tolist() == [[2, 0, 1, 40.0]]
    assert _loads(done.atom_grid, weights).tolist() == [300, 300, 300]
    assert atom_grid.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]  # the caller's labels are not changed
    assert not done.capped and done.unfixed == ()


def test_a_chain_of_shifts_where_no_single_move_helps():
    # grid 0 (340) does not touch grid 2 (260): it hands 40 to grid 1, which hands 40 on
    weights = [150, 150, 40, 40, 220, 40, 40, 90, 90, 40]
    atom_grid = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    done = rebalance(_row(weights), np.array(weights, float), atom_grid, np.ones(3, bool), GRID)
    assert _loads(done.atom_grid, weights).tolist() == [300, 300, 300]
    assert sorted((m.from_grid, m.to_grid) for m in done.moves.itertuples()) == [(0, 1), (1, 2)]
    assert done.households_moved == 80


def test_of_two_equal_moves_the_one_along_a_street_wins():
    # grid 1 (340) can hand 40 to grid 0 or to grid 2, both under; the street runs between grids 0 and 1
    weights = [130, 130, 40, 260, 40, 130, 130]
    atom_grid = np.array([0, 0, 1, 1, 1, 2, 2])
    street = _row(weights, street_after=1)  # between atoms 1 and 2: moving atom 2 would put the boundary off it
    done = rebalance(street, np.array(weights, float), atom_grid, np.ones(3, bool), GRID)
    assert done.moves["atom"].tolist() == [4]  # the boundary between grids 0 and 1 stays on the street
    plain = rebalance(_row(weights), np.array(weights, float), atom_grid, np.ones(3, bool), GRID)
    assert plain.households_moved == done.households_moved == 40


def test_the_cap_forbids_the_move_and_says_so():
    weights = [150, 150, 40, 90, 100, 70]
    atom_grid = np.array([0, 0, 0, 1, 1, 1])
    capped = rebalance(
        _row(weights), np.array(weights, float), atom_grid, np.ones(2, bool), GRID, RegenerationSettings(max_moved=39)
    )
    assert capped.capped and capped.moves.empty and capped.unfixed == (0, 1)
    assert (capped.atom_grid == atom_grid).all()
    allowed = rebalance(
        _row(weights), np.array(weights, float), atom_grid, np.ones(2, bool), GRID, RegenerationSettings(max_moved=40)
    )
    assert not allowed.capped and allowed.households_moved == 40
    assert move_cap(0.05, 1000) == 50 and move_cap(500, 1000) == 500 and move_cap(None, 1000) == np.inf


def test_locked_grids_are_never_touched():
    weights = [150, 150, 40, 90, 100, 70]
    atom_grid = np.array([0, 0, 0, 1, 1, 1])
    done = rebalance(_row(weights), np.array(weights, float), atom_grid, np.array([True, False]), GRID)
    assert done.moves.empty and done.unfixed == (0,)


@st.composite
def lattices(draw):
    """A lattice of atoms cut into vertical stripes (the grids), with loads around 300 a stripe."""
    rows, cols = draw(st.integers(3, 5)), draw(st.integers(6, 10))
    stripes = draw(st.integers(2, 4))
    weights = draw(st.lists(st.integers(0, 40), min_size=rows * cols, max_size=rows * cols))
    barriers = draw(st.sets(st.integers(0, rows * cols * 2), max_size=4))
    locked = draw(st.lists(st.booleans(), min_size=stripes, max_size=stripes))
    max_moved = draw(st.one_of(st.none(), st.floats(0.0, 0.3), st.integers(0, 200)))
    return rows, cols, stripes, weights, barriers, locked, max_moved


@hsettings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lattices())
def test_rebalancing_keeps_the_hard_rules(case):
    rows, cols, stripes, weights, barriers, locked, max_moved = case
    graph = nx.grid_2d_graph(rows, cols)
    graph = nx.convert_node_labels_to_integers(graph, ordering="sorted")  # atom r * cols + c
    for i, (a, b) in enumerate(sorted(graph.edges)):
        graph.edges[a, b].update(length=10.0, cost=10.0, barrier=i in barriers)
    w = np.array(weights, dtype=float) * (300 * stripes / max(sum(weights), 1))  # about 300 a stripe
    atom_grid = np.array([min(c * stripes // cols, stripes - 1) for r in range(rows) for c in range(cols)])
    movable = ~np.array(locked)
    settings = RegenerationSettings(max_moved=max_moved)
    done = rebalance(graph, w, atom_grid, movable, GRID, settings)

    before, after = _loads(atom_grid, w), _loads(done.atom_grid, w)
    assert after.sum() == pytest.approx(before.sum())  # households conserved
    assert done.households_moved <= move_cap(max_moved, w.sum()) + 1e-6
    for g in range(stripes):
        members = np.flatnonzero(done.atom_grid == g)
        assert len(members) and nx.is_connected(graph.subgraph(members.tolist()))  # every grid one piece
        if not movable[g]:
            assert (members == np.flatnonzero(atom_grid == g)).all()  # locked grids exactly kept
        lo, hi = GRID.floor, GRID.ceiling
        if lo <= before[g] <= hi:
            assert lo - 1e-6 <= after[g] <= hi + 1e-6  # no grid leaves the bounds
    band = lambda x: (x >= GRID.tight_window.lo - 1e-6) & (x <= GRID.tight_window.hi + 1e-6)  # noqa: E731
    assert band(after).sum() >= band(before).sum()  # never fewer grids within ±10%
    for m in done.moves.itertuples():  # across a shared boundary, never across a barrier
        assert any(not graph.edges[m.atom, b]["barrier"] for b in graph[m.atom])
    assert sorted(done.unfixed) == [g for g in range(stripes) if movable[g] and not band(after[g])]


# --------------------------------------------------------------------------------------------------
# On a real extract, end to end through the command line


def test_regenerating_a_changed_real_scene_rebalances_and_reports_every_move(extracts, tmp_path, capsys):
    prepared = extracts.prepared("wuhan")
    scene = prepared.scene
    buildings = scene.buildings.assign(households=prepared.local.buildings["households"].to_numpy())
    write_layers(tmp_path / "before.gpkg", scene.replace(buildings=buildings).layers())
    assert main(["plan", str(tmp_path / "before.gpkg"), "-o", str(tmp_path / "plan.gpkg")]) == EXIT_OK
    rng = np.random.default_rng(7)
    changed = rng.choice(len(buildings), max(1, len(buildings) // 20), replace=False)
    households = buildings["households"].to_numpy().copy()
    households[changed] = np.round(households[changed] * rng.uniform(0.5, 1.6, len(changed)))
    write_layers(tmp_path / "after.gpkg", scene.replace(buildings=buildings.assign(households=households)).layers())
    capsys.readouterr()
    code = main(
        [
            "plan",
            str(tmp_path / "after.gpkg"),
            "--previous",
            str(tmp_path / "plan.gpkg"),
            "-o",
            str(tmp_path / "again.gpkg"),
            "--lang",
            "en",
        ]
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK and "trade-off" in out and "rebalanced" in out and "fresh plan" in out

    run = read_plan(tmp_path / "again.gpkg")
    tradeoff = run.changes.tradeoff.set_index("layout")
    keep, rebalanced, fresh = tradeoff.loc["keep"], tradeoff.loc["rebalanced"], tradeoff.loc["fresh"]
    assert rebalanced["within_tight"] >= keep["within_tight"] and rebalanced["within_bounds"] >= keep["within_bounds"]
    assert rebalanced["within_tight"] == pytest.approx(run.plan.metrics.within_tight)
    assert rebalanced["kept_share"] == pytest.approx(run.changes.kept_share) and run.changes.kept_share >= 0.9
    assert 0 <= fresh["kept_share"] <= 1 and fresh["within_tight"] >= 0.9
    moves = read_layers(tmp_path / "again.gpkg")["building_changes"]
    moved = moves[moves["change"] == "moved"]
    # every building that moved is listed, with its households and why
    assert set(moved["reason"]) <= {r.value for r in MoveReason} and (moved["reason"] != "").all()
    assert moved["households"].sum() == pytest.approx(rebalanced["households_moved"])
    before = read_plan(tmp_path / "plan.gpkg").plan.assignment.set_index("building_id")["grid_id"]
    after = run.plan.assignment.set_index("building_id")["grid_id"]
    assert set(moved["building_id"]) == set(after.index[after != before.reindex(after.index)])
    m = run.plan.metrics
    assert m.noncontiguous_grids == 0 and m.gap_share < 1e-6 and m.overlap_share < 1e-6
    assert run.plan.assignment["households"].sum() == households.sum()


def test_rebalance_options_need_a_previous_plan(tmp_path, capsys):
    write_layers(tmp_path / "s.gpkg", street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]]).layers())
    assert_one_line_error(
        *run(capsys, "plan", tmp_path / "s.gpkg", "-o", tmp_path / "p.gpkg", "--max-moved", "0.1")[::2], "--previous"
    )
    code, _, err = run(capsys, "plan", tmp_path / "s.gpkg", "-o", tmp_path / "p.gpkg", "--max-moved", "-1")
    assert code == 2 and "-1" in err


def test_a_regeneration_capped_below_the_one_move_says_so():

    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]], per_block=10)
    first = partition(scene)
    assert len(first.grids) == 2
    previous = PreviousPlan(assignment=first.assignment[["building_id", "grid_id"]], grids=first.grids, source="first")
    west = scene.buildings["building_id"].str.startswith("b0-")
    changed = scene.replace(buildings=scene.buildings.assign(households=np.where(west, 34, 26)))  # 340 and 260
    capped = regenerate(changed, previous, DEFAULTS.with_regeneration(max_moved=20)).changes
    assert capped.capped and capped.kept_share == 1.0 and "stopped at the cap of 20 households" in capped.summary("en")
    assert "再平衡达到调整上限（20 户）" in capped.summary("zh")
    done = regenerate(changed, previous)
    moved = done.changes.building_changes
    assert moved[["previous_grid_id", "households", "reason"]].values.tolist() == [
        [first.grids["grid_id"].iat[0], 34, "rebalance"]
    ]
    assert sorted(done.plan.grids["households"]) == [294, 306] and not done.changes.capped
    assert done.changes.tradeoff.set_index("layout").loc["rebalanced", "within_tight"] == 1.0
