"""Regeneration (相对稳定), locks, hand-edited plans and grid codes."""

from __future__ import annotations

import dataclasses
import importlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from gridplan.core.codes import assign_codes
from gridplan.core.results import PlanRun, PreviousPlan
from gridplan.core.scene import PreparedScene
from gridplan.engine import Sizing, grid_count_options
from gridplan.engine.regenerate import matched_labels, regenerate
from gridplan.errors import InfeasibleError, InputError
from gridplan.io.store import read_previous, write_plan
from gridplan.partition import partition
from gridplan.pipeline import plan_scene, prepare_scene
from gridplan.settings import DEFAULTS, RunOptions

from .support.assertions import assert_claims_hold, assert_hard_rules
from .support.scenes import street_grid_scene


def _scene(households=None):
    households = np.full((6, 3), 100) if households is None else households
    return street_grid_scene(
        1200, 600, xs=[200, 400, 600, 800, 1000], ys=[200, 400], households=households, per_block=3
    )


def _previous(plan, locked=()):
    grids = plan.grids.assign(locked=plan.grids["grid_id"].isin(locked))
    return PreviousPlan(assignment=plan.assignment[["building_id", "grid_id"]], grids=grids)


def test_unchanged_scene_keeps_every_grid_and_code():
    scene = _scene()
    plan = partition(scene)
    again = regenerate(scene, _previous(plan))
    assert again.changes.kept_share == 1.0
    assert len(again.changes.building_changes) == 0
    assert set(again.changes.grid_changes["change"]) == {"unchanged"}
    merged = plan.grids[["grid_id", "code"]].merge(again.plan.grids[["grid_id", "code"]], on="grid_id")
    assert len(merged) == len(plan.grids) and (merged["code_x"] == merged["code_y"]).all()


def test_a_grid_pushed_over_the_ceiling_is_repaired_locally():
    scene = _scene()
    plan = partition(scene)
    buildings = scene.buildings.copy()
    victim = plan.grids["grid_id"].iat[0]
    inside = plan.assignment["grid_id"].eq(victim).to_numpy()
    buildings.loc[inside, "households"] = buildings.loc[inside, "households"] * 2  # 300 → 600
    changed = scene.replace(buildings=buildings)
    result = regenerate(changed, _previous(plan))
    assert_hard_rules(changed, result.plan)
    ordinary = result.plan.grids[result.plan.grids["kind"] == "ordinary"]
    assert ordinary["households"].between(DEFAULTS.grid.floor, DEFAULTS.grid.ceiling).all()
    # only the broken grid and its neighbours moved; most buildings kept their grid
    assert result.changes.kept_share >= 0.6
    assert (result.changes.grid_changes["change"] == "created").sum() >= 1
    untouched = result.changes.grid_changes[result.changes.grid_changes["change"] == "unchanged"]
    assert len(untouched) >= 1


def test_locked_grid_is_kept_exactly():
    scene = _scene()
    plan = partition(scene)
    locked = plan.grids["grid_id"].iat[1]
    buildings = scene.buildings.copy()
    buildings["households"] = buildings["households"] + 20  # every grid grows by 180: most break the ceiling
    result = regenerate(scene.replace(buildings=buildings), _previous(plan, locked=[locked]))
    before = set(plan.assignment.loc[plan.assignment["grid_id"] == locked, "building_id"])
    after = set(result.plan.assignment.loc[result.plan.assignment["grid_id"] == locked, "building_id"])
    assert before == after
    assert result.plan.grids.loc[result.plan.grids["grid_id"] == locked, "locked"].all()


def test_lock_that_leaves_an_infeasible_rest_is_a_clear_error():
    # three blocks of 200 in a row: locking the middle and the left leaves 200 on the right, below the floor
    scene = street_grid_scene(600, 200, xs=[200, 400], ys=[], households=[[200], [200], [200]], per_block=2)
    plan = partition(scene, options=RunOptions(grid_count=2))
    # hand-edit: each block its own grid, lock the first two
    atoms = plan.assignment["building_id"].str.slice(0, 2)
    grid_of = {"b0": "g1", "b1": "g2", "b2": "g3"}
    assignment = pd.DataFrame({"building_id": plan.assignment["building_id"], "grid_id": atoms.map(grid_of)})
    grids = pd.DataFrame({"grid_id": ["g1", "g2", "g3"], "locked": [True, True, False]})
    with pytest.raises(InfeasibleError, match="locked grids g2 leave 200 households"):
        regenerate(scene, PreviousPlan(assignment=assignment, grids=grids))


def test_ground_whose_households_left_is_settled_as_a_first_plan_settles_it_not_kept_as_an_empty_grid():
    # three blocks of 300 in a row, a grid each, the middle one locked; then the right block's households leave
    scene = street_grid_scene(600, 200, xs=[200, 400], ys=[], households=[[300], [300], [300]], per_block=2)
    plan = partition(scene, options=RunOptions(grid_count=3))
    grid_of = {"b0": "g1", "b1": "g2", "b2": "g3"}
    assignment = pd.DataFrame(
        {
            "building_id": plan.assignment["building_id"],
            "grid_id": plan.assignment["building_id"].str.slice(0, 2).map(grid_of),
        }
    )
    grids = pd.DataFrame({"grid_id": ["g1", "g2", "g3"], "locked": [False, True, False]})
    buildings = scene.buildings.copy()
    buildings.loc[buildings["building_id"].str.startswith("b2"), "households"] = 0
    changed = scene.replace(buildings=buildings)
    again = regenerate(changed, PreviousPlan(assignment=assignment, grids=grids)).plan
    kinds = again.grids.set_index("grid_id")["kind"]
    # the right block is cut off by the locked grid: a small grid without households, as a first plan makes it,
    # not an ordinary grid outside the bounds with a claim that regeneration found nothing better
    assert kinds.to_dict() == {"g1": "ordinary", "g2": "ordinary", "g3": "small"}
    assert not [c for c in again.certificates if "g3" in c.grid_ids]
    assert [(w.code, w.reason) for w in again.warnings if w.grid_id == "g3"] == [("below_floor", "no_households")]
    assert_hard_rules(changed, again)


def test_hand_edited_plan_errors_name_the_grids():
    scene = _scene()
    plan = partition(scene)
    twice = pd.concat(
        [
            plan.assignment[["building_id", "grid_id"]],
            plan.assignment[["building_id", "grid_id"]].head(1).assign(grid_id=plan.grids["grid_id"].iat[-1]),
        ]
    )
    with pytest.raises(InputError, match="more than one grid"):
        regenerate(scene, PreviousPlan(assignment=twice, grids=plan.grids.drop(columns="geometry")))
    # a grid made of the two far ends of the community falls apart
    assignment = plan.assignment[["building_id", "grid_id"]].copy()
    far = assignment["building_id"].str.startswith("b5-0")
    assignment.loc[far, "grid_id"] = assignment.loc[assignment["building_id"].str.startswith("b0-0"), "grid_id"].iat[0]
    with pytest.raises(InputError, match="falls apart into 2 pieces"):
        regenerate(scene, PreviousPlan(assignment=assignment, grids=plan.grids.drop(columns="geometry")))
    # a grid across two communities
    two = scene.communities.copy()
    left, right = box(600_000, 3_500_000, 600_600, 3_500_600), box(600_600, 3_500_000, 601_200, 3_500_600)
    two = gpd.GeoDataFrame(
        {"community_id": ["w", "e"], "code": ["320102001001", "320102001002"]}, geometry=[left, right], crs=two.crs
    )
    buildings = scene.buildings.drop(columns=[c for c in ("community_id",) if c in scene.buildings])
    wide = plan.assignment[["building_id", "grid_id"]].assign(grid_id="one")
    with pytest.raises(InputError, match="grid one spans communities e, w"):
        regenerate(
            scene.replace(communities=two, buildings=buildings),
            PreviousPlan(assignment=wide, grids=pd.DataFrame({"grid_id": ["one"]})),
        )


def test_previous_plan_read_back_from_file(tmp_path):
    scene = _scene()
    plan = partition(scene)
    write_plan(PlanRun(plan), PreparedScene.of(scene), tmp_path / "plan.gpkg")
    again = regenerate(scene, read_previous(tmp_path / "plan.gpkg"))
    assert again.changes.kept_share == 1.0


def test_codes_are_15_digits_in_reading_order_and_14_on_request():
    scene = street_grid_scene(400, 400, xs=[200], ys=[200], households=np.full((2, 2), 300), per_block=2)
    plan = partition(scene)
    codes = plan.grids.set_index("code").sort_index()
    assert [len(c) for c in codes.index] == [15] * 4
    centres = codes.geometry.to_crs(32650).representative_point()
    # 001 north-west, 002 north-east, 003 south-west, 004 south-east
    assert (
        centres.iat[0].x < centres.iat[1].x
        and centres.iat[0].y > centres.iat[2].y
        and centres.iat[2].x < centres.iat[3].x
    )
    short = partition(scene, options=RunOptions(code_style="gbt14"))
    assert sorted(short.grids["code"]) == [f"320102001001{i:02d}" for i in range(1, 5)]


def test_more_than_999_grids_is_an_error():
    grids = gpd.GeoDataFrame(
        {"grid_id": [str(i) for i in range(1000)], "community_id": "c1"},
        geometry=[box(i, 0, i + 1, 1) for i in range(1000)],
        crs=32650,
    )
    with pytest.raises(InputError, match="more than the 999"):
        assign_codes(grids, pd.DataFrame({"community_id": ["c1"], "code": ["320102001001"]}))


def test_new_grids_take_free_serials_and_old_ones_keep_theirs():
    grids = gpd.GeoDataFrame(
        {"grid_id": ["a", "b", "c"], "community_id": "c1"},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs=32650,
    )
    codes = assign_codes(
        grids,
        pd.DataFrame({"community_id": ["c1"], "code": ["320102001001"]}),
        previous=pd.Series({"c": "320102001001001"}),
    )
    assert codes.tolist() == ["320102001001002", "320102001001003", "320102001001001"]


def test_a_grid_without_a_point_to_read_it_at_takes_the_last_serial():
    # atoms of no area snapped to nothing have no point on their surface (GEOS gives an empty point, whose x it
    # refuses): such a grid reads last, not an internal error
    grids = gpd.GeoDataFrame(
        {"grid_id": ["a", "nothing", "b", "c"], "community_id": "c1"},
        geometry=[box(0, 1, 1, 2), shapely.Polygon(), box(1, 1, 2, 2), box(0, 0, 1, 1)],
        crs=32650,
    )
    assert shapely.is_empty(shapely.point_on_surface(grids.geometry.to_numpy()[1]))
    codes = assign_codes(grids, pd.DataFrame({"community_id": ["c1"], "code": ["320102001001"]}))
    assert [c[-3:] for c in codes] == ["001", "004", "002", "003"]


def test_grids_still_out_of_bounds_after_regeneration_are_named():
    scene = _scene()
    plan = partition(scene)
    buildings = scene.buildings.copy()
    first = plan.assignment["grid_id"].eq(plan.grids["grid_id"].iat[0]).to_numpy()
    buildings.loc[first, "households"] = 1  # one grid's households all but vanish
    result = regenerate(scene.replace(buildings=buildings), _previous(plan))
    grids = result.plan.grids
    out = grids[
        (grids["kind"] == "ordinary") & ~grids["households"].between(DEFAULTS.grid.floor, DEFAULTS.grid.ceiling)
    ]
    assert set(out["grid_id"]) <= {w.grid_id for w in result.plan.warnings}


def test_a_grid_whose_households_left_is_merged_away_and_reported_removed():
    scene = _scene()  # 18 blocks of 100 households: six grids of 300
    plan = partition(scene)
    buildings = scene.buildings.copy()
    first = plan.assignment["grid_id"].eq(plan.grids["grid_id"].iat[0]).to_numpy()
    buildings.loc[first, "households"] = 0  # a grid's buildings emptied (demolition, relocation)
    changed = scene.replace(buildings=buildings)
    result = regenerate(changed, _previous(plan))
    assert_hard_rules(changed, result.plan)
    grids = result.plan.grids
    assert len(grids) == len(plan.grids) - 1 and (grids["households"] > 0).all()
    assert grids["households"].between(DEFAULTS.grid.floor, DEFAULTS.grid.ceiling).all()
    assert (result.changes.grid_changes["change"] == "removed").sum() == 1


def test_regeneration_proves_when_a_region_has_no_layout_within_the_bounds():
    # five blocks in a row, one building each: 300 apiece is five grids; at 150 apiece every building
    # still fits a grid of two (300), but five of them make no row of grids of 240–360
    row = lambda households: street_grid_scene(
        1000, 200, xs=[200, 400, 600, 800], ys=[], households=[[households]] * 5, per_block=1
    )  # noqa: E731
    plan = partition(row(300))
    result = regenerate(row(150), _previous(plan))
    assert_hard_rules(row(150), result.plan)
    out = [w for w in result.plan.warnings if w.code == "out_of_bounds"]
    assert out and all(proven_fewest(result.plan, w) for w in out)
    assert not result.plan.grids.set_index("grid_id").loc[[w.grid_id for w in out], "bounds_possible"].any()


def proven_fewest(plan, warning) -> bool:
    """Whether ``warning`` says its grid is in a region proven to have no layout with fewer grids outside the
    bounds, and names a certificate of the plan that states so for its grids (one outside: 750 fits no row)."""
    certificate = {c.certificate_id: c for c in plan.certificates}[dict(warning.figures)["certificate"]]
    return (
        warning.message.split(": ", 1)[1].startswith("proven")
        and certificate.claim == "region_fewest"
        and certificate.proven
        and warning.grid_id in certificate.grid_ids
        and certificate.fewest == 1
    )


def test_a_layout_found_anew_keeps_the_labels_of_the_grids_it_overlaps_most():
    layout = np.array([0, 0, 1, 1, 2, 2])
    labels = np.array([5, 5, 5, 7, 7, 7])
    # grids 0 and 2 take labels 5 and 7 (two atoms each); grid 1, half in each, gets a new label
    assert matched_labels(layout, labels).tolist() == [5, 5, 8, 8, 7, 7]


def _stuck_repair(monkeypatch):
    """The repair's re-cuts, exact re-split and region search find nothing and prove nothing (as CP-SAT
    past its work limit on a large region); a fresh plan still has them all."""
    module = importlib.import_module("gridplan.engine.regenerate")  # gridplan.engine.regenerate is the function
    monkeypatch.setattr(module, "resplit", lambda region, labels, *args, **kwargs: labels)
    monkeypatch.setattr(module, "exact_split", lambda region, labels, *args, **kwargs: labels)
    monkeypatch.setattr(module, "proven_layout", lambda region, sizing, labels, **kwargs: (labels, None))


def test_a_region_the_repair_cannot_settle_is_planned_afresh(monkeypatch):
    # the bounds come first, so the region is planned afresh (the first plan's split is not stuck)
    _stuck_repair(monkeypatch)
    scene = _scene()
    plan = partition(scene)
    buildings = scene.buildings.copy()
    victim = plan.assignment["grid_id"].eq(plan.grids["grid_id"].iat[0]).to_numpy()
    buildings.loc[victim, "households"] = np.ceil(buildings.loc[victim, "households"] * 1.3)  # 300 → about 390
    changed = scene.replace(buildings=buildings)
    assert not plan.grids["households"].iat[0] * 1.3 <= DEFAULTS.grid.ceiling
    result = regenerate(changed, _previous(plan))
    assert_hard_rules(changed, result.plan)
    assert result.plan.grids["households"].between(DEFAULTS.grid.floor, DEFAULTS.grid.ceiling).all()
    assert not [w for w in result.plan.warnings if w.code == "out_of_bounds"]
    # the fresh layout keeps the ids of the grids it overlaps most
    assert len(set(result.plan.grids["grid_id"]) & set(plan.grids["grid_id"])) >= len(plan.grids) // 2


def test_the_fresh_plans_proof_covers_a_kept_layout_with_as_many_grids_outside(monkeypatch):
    # five buildings of 150 in a row make no row of grids within 240–360: the repair proves nothing here,
    # the fresh plan proves it, and that proof holds for the kept layout too
    _stuck_repair(monkeypatch)
    row = lambda households: street_grid_scene(
        1000, 200, xs=[200, 400, 600, 800], ys=[], households=[[households]] * 5, per_block=1
    )  # noqa: E731
    result = regenerate(row(150), _previous(partition(row(300))))
    out = [w for w in result.plan.warnings if w.code == "out_of_bounds"]
    assert out and all(proven_fewest(result.plan, w) for w in out)


@pytest.mark.parametrize("yes, no", [("1", "0"), ("是", "否"), ("TRUE", "false"), (1.0, 0.0)])
def test_a_lock_typed_by_hand_locks_what_it_says_and_an_unclear_one_is_refused(yes, no):
    scene = _scene()
    plan = partition(scene)
    locked = plan.grids["grid_id"].iat[1]
    typed = plan.grids.assign(locked=[(yes if g == locked else no) for g in plan.grids["grid_id"]])
    result = regenerate(scene, PreviousPlan(assignment=plan.assignment[["building_id", "grid_id"]], grids=typed))
    assert result.plan.grids.set_index("grid_id")["locked"].astype(bool).to_dict() == {
        g: g == locked for g in plan.grids["grid_id"]
    }
    unclear = plan.grids.assign(locked=[("maybe" if g == locked else no) for g in plan.grids["grid_id"]])
    with pytest.raises(InputError, match=f"locked column of grid {locked} says 'maybe'"):
        regenerate(scene, PreviousPlan(assignment=plan.assignment[["building_id", "grid_id"]], grids=unclear))


def test_grids_merged_by_hand_on_a_real_extract_are_split_again_and_no_proof_is_claimed(extracts):
    # two neighbouring grids of Beijing's plan merged by hand (about 600 households): regeneration repairs
    # the merged grid (every ordinary grid within the bounds again), reports it changed, and proves nothing
    plan, prepared = extracts.run("beijing").plan, extracts.prepared("beijing")
    ordinary = plan.grids[plan.grids["kind"] == "ordinary"].reset_index(drop=True)
    metric = ordinary.to_crs(prepared.local.crs).geometry  # neighbours: sharing more than 50 m of boundary
    pairs = [
        (a, b)
        for a, b in zip(*np.triu_indices(len(ordinary), 1))
        if metric.iat[a].intersection(metric.iat[b]).length > 50
    ][:3]
    assert len(pairs) == 3
    for a, b in pairs:
        keep, gone = ordinary["grid_id"].iat[a], ordinary["grid_id"].iat[b]
        grids = plan.grids[plan.grids["grid_id"] != gone].copy()
        grids.loc[grids["grid_id"] == keep, "geometry"] = ordinary.geometry.iat[a].union(ordinary.geometry.iat[b])
        assignment = plan.assignment[["building_id", "grid_id"]].replace({"grid_id": {gone: keep}})
        result = regenerate(prepared, PreviousPlan(assignment=assignment, grids=grids))
        new = result.plan.grids
        assert (
            new.loc[new["kind"] == "ordinary", "households"].between(DEFAULTS.grid.floor, DEFAULTS.grid.ceiling).all()
        )
        assert result.changes.grid_changes.set_index("grid_id").loc[keep, "change"] != "unchanged"
        assert not [c for c in result.plan.certificates if c.claim in ("unit_misfit", "region_fewest")]


def test_a_unit_grown_above_the_ceiling_becomes_a_grid_of_its_own_as_in_a_fresh_plan():
    scene = _scene()
    plan = partition(scene)
    buildings = scene.buildings.copy()
    tower = buildings["building_id"].iat[4]
    buildings.loc[buildings["building_id"] == tower, "households"] = 500  # above the ceiling (360)
    changed = scene.replace(buildings=buildings)
    result = regenerate(changed, _previous(plan))
    assert_hard_rules(changed, result.plan)
    grids = result.plan.grids.set_index("grid_id")
    own = result.plan.assignment.set_index("building_id").loc[tower, "grid_id"]
    assert grids.loc[own, "kind"] == "oversize" and grids.loc[own, "households"] == 500
    assert (result.plan.assignment["grid_id"] == own).sum() == 1
    fresh = partition(changed)
    assert (fresh.grids["kind"] == "oversize").sum() == (grids["kind"] == "oversize").sum() == 1
    assert (
        grids.loc[grids["kind"] == "ordinary", "households"].between(DEFAULTS.grid.floor, DEFAULTS.grid.ceiling).all()
    )
    assert [w.code for w in result.plan.warnings] == ["oversize_unit"]


def _rows_scene(rows: dict[str, list[int]]):
    """Communities side by side, each a row of 200 m blocks with one building each (households as given)."""
    parts = [
        street_grid_scene(
            200 * len(households),
            200,
            xs=[200 * i for i in range(1, len(households))],
            ys=[],
            households=[[h] for h in households],
            per_block=1,
            community_id=community_id,
            origin=(600_000.0, 3_500_000.0 + 400 * k),
        )
        for k, (community_id, households) in enumerate(rows.items())
    ]
    return parts[0].replace(
        communities=pd.concat(
            [p.communities.assign(code=f"32010200100{k + 1}") for k, p in enumerate(parts)], ignore_index=True
        ),
        buildings=pd.concat(
            [p.buildings.assign(building_id=cid + "-" + p.buildings["building_id"]) for cid, p in zip(rows, parts)],
            ignore_index=True,
        ),
        streets=pd.concat([p.streets for p in parts], ignore_index=True),
    )


@pytest.mark.parametrize("through_file", [False, True])
def test_communities_whose_ground_did_not_change_keep_their_grids_and_proofs(tmp_path, through_file):
    # a: two grids outside 270–330 at best (a tight band's proof); b: 750 in a row of 150s, one grid outside
    # 240–360 at best (a region's proof); c: 4 × 300, then 200 100 300 300 (two grids outside the bounds)
    rows = {"a": [175, 90, 117, 123, 123, 152], "b": [150] * 5, "c": [300] * 4}
    scene = _rows_scene(rows)
    first = partition(scene)
    proofs = {(c.claim, c.grid_ids, c.fewest, c.floor, c.cap) for c in first.certificates if c.proven}
    assert {claim for claim, *_ in proofs} == {"tight_fewest", "region_fewest"}
    previous = PreviousPlan.of(first)
    if through_file:
        prepared = prepare_scene(scene)
        write_plan(PlanRun(plan=first), prepared, tmp_path / "plan.gpkg")
        previous = read_previous(tmp_path / "plan.gpkg")
    grown = scene.buildings.assign(
        households=scene.buildings["building_id"]
        .map({"c-b0-0-0": 200, "c-b1-0-0": 100})
        .fillna(scene.buildings["households"])
    )
    changed = scene.replace(buildings=grown)
    plan = regenerate(changed, previous).plan

    def grids_of(p, communities):
        a = p.assignment[p.assignment["community_id"].isin(communities)]
        return {g: frozenset(b) for g, b in a.groupby("grid_id")["building_id"]}

    assert grids_of(plan, ["a", "b"]) == grids_of(first, ["a", "b"])  # kept exactly
    assert {(c.claim, c.grid_ids, c.fewest, c.floor, c.cap) for c in plan.certificates if c.proven} == proofs
    c_grids = plan.grids[plan.grids["community_id"] == "c"]
    assert c_grids["households"].between(DEFAULTS.grid.floor, DEFAULTS.grid.ceiling).all()  # c repaired
    assert set(plan.grids["ground"]) >= set(first.grids.loc[first.grids["community_id"] != "c", "ground"])
    assert_claims_hold(changed, plan)


def test_a_forged_claim_of_an_unchanged_community_is_checked_and_withdrawn():
    # the previous plan's tight band claim about community a, widened by hand to grids of any load (floor 0):
    # kept with a's grids, then refuted by the independent check (175 | 330 | 275 has one grid outside 270–330)
    scene = _rows_scene({"a": [175, 90, 117, 123, 123, 152], "c": [300] * 4})
    first = partition(scene)
    forged = [dataclasses.replace(c, floor=0.0) if c.claim == "tight_fewest" else c for c in first.certificates]
    previous = dataclasses.replace(PreviousPlan.of(first), certificates=forged)
    plan = plan_scene(prepare_scene(scene), previous=previous).plan
    (tight,) = [c for c in plan.certificates if c.grid_ids == ("a-001", "a-002", "a-003")]
    assert (tight.status, tight.checked) == ("not_proven", "refuted")


def test_a_previous_plan_without_grounds_is_repaired_whole_and_its_claims_made_anew():
    # a plan written before grids recorded their ground: nothing counts as unchanged, every region is repaired as
    # before, and the region's proof is found again by the repair's own search
    scene = _rows_scene({"b": [150] * 5, "c": [300] * 4})
    first = partition(scene)
    previous = dataclasses.replace(PreviousPlan.of(first), grids=first.grids.drop(columns="ground"), certificates=[])
    changed = scene.replace(
        buildings=scene.buildings.assign(
            households=scene.buildings["building_id"]
            .map({"c-b0-0-0": 200, "c-b1-0-0": 100})
            .fillna(scene.buildings["households"])
        )
    )
    plan = regenerate(changed, previous).plan
    assert plan.grids.loc[plan.grids["community_id"] == "c", "households"].between(240, 360).all()
    # the region's proof about the bounds, and (its grids repaired) the tight band's, sought again
    region, tight = sorted((c for c in plan.certificates if c.proven), key=lambda c: c.claim)
    assert (region.claim, region.fewest) == ("region_fewest", 1) and all(g.startswith("b-") for g in region.grid_ids)
    assert (tight.claim, tight.fewest, tight.beyond) == ("tight_fewest", 1, 1) and tight.grid_ids == region.grid_ids
    assert_claims_hold(changed, plan)


def test_a_regenerated_region_outside_the_tight_band_is_proven_so_unless_a_better_layout_exists():
    # a: eight 75s (300 | 300), then eight 60s: every layout within 240–360 is 240 | 240, both outside 270–330, though
    # each unit fits some group within the band (no unit proves it: the region's search must); d: 150 100 50 | 300,
    # then 170 130 40 | 260 (340 | 260, both outside the band), kept as they are without rebalancing, though
    # 300 | 300 exists: nothing may be claimed of d
    scene = _rows_scene({"a": [75] * 8, "d": [150, 100, 50, 300]})
    first = partition(scene)
    now = {f"a-b{i}-0-0": 60 for i in range(8)} | {"d-b0-0-0": 170, "d-b1-0-0": 130, "d-b2-0-0": 40, "d-b3-0-0": 260}
    changed = scene.replace(
        buildings=scene.buildings.assign(households=scene.buildings["building_id"].map(now).astype(float))
    )
    plan = regenerate(changed, PreviousPlan.of(first), DEFAULTS.with_regeneration(rebalance=False)).plan
    households = plan.grids.set_index("grid_id")["households"]
    a = households.index.str.startswith("a-")
    assert sorted(households[a]) == [240, 240] and sorted(households[~a]) == [260, 340]
    assert plan.grids["tight_possible"].all()  # no unit proves a grid unable to reach the band
    (tight,) = [c for c in plan.certificates if c.proven]
    assert (tight.claim, tight.fewest, tight.beyond) == ("tight_fewest", 2, 0)
    assert sorted(tight.grid_ids) == sorted(households.index[a])
    assert_claims_hold(changed, plan)
    # rebalanced, d's grids come within the band and a's claim stands
    rebalanced = regenerate(changed, PreviousPlan.of(first)).plan
    assert sorted(rebalanced.grids["households"]) == [240, 240, 300, 300]
    assert [c.claim for c in rebalanced.certificates if c.proven] == ["tight_fewest"]


def test_households_grown_past_the_grids_kept_make_a_grid_more_when_rebalancing():
    # six grids of 300 (18 blocks of 100); every block grown to 117: 2,106 households. Six grids of 351 are within
    # 240–360, but none can be within 270–330 (their mean is 351) and a first plan would choose seven. Rebalancing
    # keeps the count, so the region is planned afresh: seven grids, all within the band, the six keeping their ids
    scene = _scene()
    plan = partition(scene)
    changed = _scene(np.full((6, 3), 117))
    run = regenerate(changed, _previous(plan))
    grids = run.plan.grids
    assert len(grids) == 7 and grids["households"].sum() == 2106
    assert DEFAULTS.grid.tight_window.contains(grids["households"].to_numpy()).all()
    assert set(plan.grids["grid_id"]) < set(grids["grid_id"])
    assert (run.changes.grid_changes["change"] == "created").sum() == 1
    moved = run.changes.building_changes
    assert len(moved) > 0 and set(moved["reason"]) == {"rebalance"}
    assert_hard_rules(changed, run.plan)
    assert_claims_hold(changed, run.plan)
    # keep-only, or rebalancing within a cap on the households moved, keeps the six
    for settings in (DEFAULTS.with_regeneration(rebalance=False), DEFAULTS.with_regeneration(max_moved=0.5)):
        assert regenerate(changed, _previous(plan), settings).plan.grids["households"].tolist() == [351] * 6


def test_a_grid_count_chosen_otherwise_is_kept_where_the_households_did_not_outgrow_it():
    # seven grids asked for on 1,746 households (242–291, six outside 270–330, where a first plan makes six of
    # 291); three buildings gain a household. Seven is not a count a first plan would choose for 1,749 either, but
    # the households did not outgrow it: the seven grids are kept (only rebalanced), not re-planned as six
    scene = street_grid_scene(
        1200, 600, xs=[200, 400, 600, 800, 1000], ys=[200, 400], households=np.full((6, 3), 97), per_block=6
    )
    seven = partition(scene, options=RunOptions(grid_count=7))
    assert len(seven.grids) == 7 and DEFAULTS.grid.bounds_window.contains(seven.grids["households"].to_numpy()).all()
    grown = scene.buildings["households"].to_numpy() + (np.arange(len(scene.buildings)) < 3)
    changed = scene.replace(buildings=scene.buildings.assign(households=grown))
    plan = regenerate(changed, _previous(seven)).plan
    assert set(plan.grids["grid_id"]) == set(seven.grids["grid_id"]) and plan.grids["households"].sum() == 1749


@pytest.mark.parametrize("case", ["wuhan", "beijing"])
def test_a_real_community_whose_households_changed_is_regenerated_with_the_count_and_layout_it_needs(case, extracts):
    # 40 buildings' households × U(0.5, 1.6) (seed 2; the claims benchmark's households× variant). Wuhan: a unit
    # grows over the ceiling and leaves its grid as a grid of its own, and the ordinary grids kept hold too many
    # households for the band; before a regeneration could add a grid, 5 of its 22 grids stayed outside 270–330
    # without a proof. Beijing: rebalancing leaves a grid of 252 beside two of 270 and 290, whose 812 households
    # only three grids of 270–272 hold; before the regeneration took such a ground's layout (and searched longer
    # where the band leaves so little room), 1 of its 23 grids stayed outside without a proof. Now the count is
    # one a first plan would choose and at most 2% are unproven
    households = extracts.prepared(case).local.buildings.set_index("building_id")["households"]
    scene = extracts.scene(case)
    base = scene.replace(
        buildings=scene.buildings.assign(households=households.reindex(scene.buildings["building_id"]).to_numpy())
    )
    rng = np.random.default_rng(2)
    chosen = rng.choice(len(base.buildings), size=40, replace=False)
    grown = base.buildings["households"].to_numpy().astype(np.int64)
    grown[chosen] = np.round(grown[chosen] * rng.uniform(0.5, 1.6, size=40)).astype(np.int64)
    changed = prepare_scene(base.replace(buildings=base.buildings.assign(households=grown)))
    previous = PreviousPlan.of(partition(prepare_scene(base)))
    plan = regenerate(changed, previous).plan
    assert_hard_rules(changed.scene, plan)
    assert_claims_hold(changed, plan)
    tight = plan.settings.grid.tight_window
    for _, grids in plan.grids[plan.grids["kind"] == "ordinary"].groupby("community_id"):
        assert len(grids) in grid_count_options(grids["households"].sum(), Sizing.of(plan.settings.grid))
    ordinary = plan.grids[plan.grids["kind"] == "ordinary"]
    covered = {
        g
        for c in plan.certificates
        if c.proven and c.claim in ("tight_fewest", "neighbourhood_tight")
        for g in c.grid_ids
    }
    loose = ordinary[~tight.contains(ordinary["households"].to_numpy())]
    unproven = loose[loose["tight_possible"].astype(bool) & ~loose["grid_id"].isin(covered)]
    assert len(unproven) <= 0.02 * len(ordinary), unproven[["grid_id", "households"]]


def test_every_grid_outside_the_bounds_of_a_chunky_real_extract_has_a_proof_fresh_and_regenerated(extracts):
    # Shanghai with every building's households × 6 × U(0.5, 1.6) (seed 3; the claims benchmark's chunky variant):
    # buildings of 100–600 households make grids no layout brings within the bounds. Each ordinary grid outside
    # them is proven so by a unit, by its region, or by its neighbourhood (the grids around it re-planned by a
    # programme that found no layout with fewer outside), in a fresh plan and in a regeneration from the
    # unchanged plan. A grid whose neighbourhood proof a later layout made for another grid had moved, or a wider
    # ring's proof that did not cover it, or (in the regeneration) whose ground rebalancing moved, was said to be
    # not proven: 1 grid in the fresh plan, 3 in the regeneration
    scene, plan = extracts.scene("shanghai"), extracts.run("shanghai").plan
    households = extracts.prepared("shanghai").local.buildings.set_index("building_id")["households"]
    factor = 6 * np.random.default_rng(3).uniform(0.5, 1.6, len(scene.buildings))
    chunky = scene.replace(
        buildings=scene.buildings.assign(
            households=np.round(households.reindex(scene.buildings["building_id"]).to_numpy() * factor)
        )
    )
    prepared = prepare_scene(chunky)
    previous = PreviousPlan(assignment=plan.assignment[["building_id", "grid_id"]], grids=plan.grids)
    for made in (partition(prepared), regenerate(prepared, previous).plan):
        assert_hard_rules(chunky, made)
        assert_claims_hold(prepared, made)
        grids = made.grids[made.grids["kind"] == "ordinary"]
        outside = set(grids.loc[~made.settings.grid.bounds_window.contains(grids["households"].to_numpy()), "grid_id"])
        proven = {
            g
            for c in made.certificates
            if c.proven and c.claim in ("unit_misfit", "region_fewest", "neighbourhood_fewest")
            for g in c.grid_ids
        }
        assert len(outside) >= 5 and outside <= proven, sorted(outside - proven)
        # grids outside the tight band in regions too large for the region's search: proven around them, each claim
        # speaking of whole grids with exactly its fewest outside the band (and verified above)
        loads = grids.set_index("grid_id")["households"]
        nearby = [c for c in made.certificates if c.proven and c.claim == "neighbourhood_tight"]
        assert nearby
        for c in nearby:
            held = loads.reindex(list(c.grid_ids)).to_numpy()
            assert (~made.settings.grid.tight_window.contains(held)).sum() == c.fewest
