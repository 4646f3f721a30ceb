"""Claims checked again: every certificate a plan states is re-checked by other means (``gridplan verify``),
and a forged or wrong claim is refuted with its counter-example."""

from __future__ import annotations

import dataclasses
import json

import networkx as nx
import numpy as np
import pytest

from benchmarks.baselines import maxp_baseline, metis_baseline
from gridplan.cli import EXIT_OK, review
from gridplan.core.results import Certificate, PlanRun, PreviousPlan, certificates_table
from gridplan.engine.regenerate import regenerate
from gridplan.io.store import read_layers, read_plan, write_layers, write_plan
from gridplan.partition import partition
from gridplan.pipeline import plan_scene, prepare_scene
from gridplan.review.verify import checked_plan, verify_plan
from gridplan.settings import DEFAULTS

from .support.assertions import assert_hard_rules
from .support.cli import assert_one_line_error, run
from .support.scenes import street_grid_scene


def row(households: list[int]):
    """Blocks in a row, 200 m wide, one building each."""
    n = len(households)
    return street_grid_scene(
        200 * n, 200, xs=[200 * i for i in range(1, n)], ys=[], households=[[h] for h in households], per_block=1
    )


@pytest.fixture(scope="module")
def misfits():
    """Three blocks of 200: each fits no grid of 240–360 (200 alone, 400 with a neighbour)."""
    scene = row([200, 200, 200])
    return scene, prepare_scene(scene), partition(scene)


def test_every_claim_of_a_plan_of_misfits_holds_when_checked_by_enumeration(misfits):
    scene, prepared, plan = misfits
    assert_hard_rules(scene, plan)
    proven = [c for c in plan.certificates if c.proven]
    assert proven and all(c.claim == "unit_misfit" for c in proven)
    result = verify_plan(prepared, plan)
    assert [c.verdict for c in result.checks] == ["holds"] * len(proven)
    assert {c.method for c in result.checks} <= {"enumeration", "milp"}
    assert not result.refuted and "0 refuted" in result.summary("en")


def test_a_claim_nearer_than_the_units_allow_is_refuted_with_a_connected_group(misfits):
    _, prepared, plan = misfits
    c = next(c for c in plan.certificates if c.proven)
    # "every group holding the unit has at most 200 or at least 401": two blocks make 400
    forged = dataclasses.replace(plan, certificates=[dataclasses.replace(c, above=401.0, covers_excess=False)])
    (check,) = verify_plan(prepared, forged, fresh=False).checks
    assert check.verdict == "refuted"
    assert check.counter_example["households"].tolist() == [400.0]
    assert check.counter_example.geometry.iat[0].geom_type == "Polygon"  # one connected group


def region_plan(households: list[int], previous: list[int]):
    """A row planned, its grids then forced to ``previous`` (the grid of each block): a layout by hand."""
    scene = row(households)
    plan = partition(scene)
    ids = [f"g{g}" for g in previous]
    assignment = plan.assignment.assign(grid_id=ids)
    loads = assignment.groupby("grid_id")["households"].sum()
    grids = plan.grids.iloc[: len(loads)].assign(grid_id=loads.index, households=loads.to_numpy())
    return scene, dataclasses.replace(plan, assignment=assignment, grids=grids, units=None, atom_grid=None)


def test_a_forged_region_claim_is_refuted_by_exhaustive_search_and_by_a_fresh_plan():
    # six blocks of 150 laid out 300 + 600 by hand; forged claim: no layout has fewer than 1 outside
    scene, plan = region_plan([150] * 6, [0, 0, 1, 1, 1, 1])
    prepared = prepare_scene(scene)
    forged = Certificate(
        "C001", "region_fewest", "proven", "c1", ("g0", "g1"), lo=240.0, hi=360.0, cap=float("inf"), fewest=1
    )
    plan = dataclasses.replace(plan, certificates=[forged])
    (alone,) = verify_plan(prepared, plan, fresh=False).checks
    assert (alone.verdict, alone.method) == ("refuted", "enumeration")
    assert sorted(alone.counter_example["households"]) == [300.0, 300.0, 300.0]
    (fresh,) = verify_plan(prepared, plan).checks
    assert (fresh.verdict, fresh.method) == ("refuted", "fresh_plan")
    (known,) = verify_plan(prepared, plan, fresh=False, against=[partition(scene)]).checks  # e.g. a regeneration
    assert (known.verdict, known.method) == ("refuted", "known_layout")
    assert sorted(known.counter_example["households"]) == [300.0, 300.0, 300.0]


def test_a_tight_band_claim_holds_and_the_same_claim_of_a_wider_scope_is_refuted_by_a_layout_in_it():
    # 175 90 117 123 123 152 in a row: within 240–360 only with two grids outside 270–330 (265 | 240 | 275)
    scene = row([175, 90, 117, 123, 123, 152])
    prepared = prepare_scene(scene)
    plan = plan_scene(prepared).plan  # its claims checked as it is made
    assert_hard_rules(scene, plan)
    (c,) = [c for c in plan.certificates if c.claim == "tight_fewest"]
    assert (c.lo, c.hi, c.floor, c.cap, c.fewest, c.beyond) == (270, 330, 240, 360, 2, 0) and c.checked == "holds"
    assert [check.verdict for check in verify_plan(prepared, plan).checks] == ["holds"]
    # with grids of any load in scope the claim is false: 175 | 330 | 275 has one grid outside the band
    wider = dataclasses.replace(plan, certificates=[dataclasses.replace(c, floor=0.0)])
    (check,) = verify_plan(prepared, wider, fresh=False).checks
    assert (check.verdict, check.method) == ("refuted", "enumeration")
    assert sorted(check.counter_example["households"]) == [175, 275, 330]


def test_a_regenerated_regions_proof_holds_independently():
    # five buildings of 150 in a row: no row of grids of 240–360 holds 750 with fewer than one outside
    plan = regenerate(
        row([150] * 5),
        PreviousPlan(
            assignment=partition(row([300] * 5)).assignment[["building_id", "grid_id"]],
            grids=partition(row([300] * 5)).grids,
        ),
    ).plan
    region = [c for c in plan.certificates if c.claim == "region_fewest"]
    assert region and region[0].proven and region[0].fewest == 1
    result = verify_plan(prepare_scene(row([150] * 5)), plan)
    assert [(c.claim, c.verdict) for c in result.checks if c.claim == "region_fewest"] == [("region_fewest", "holds")]


def test_verify_from_the_command_line_passes_and_a_tampered_plan_file_is_exit_2_with_its_counter_example(
    misfits, tmp_path, capsys
):
    scene, prepared, plan = misfits
    scene_path, plan_path = tmp_path / "scene.gpkg", tmp_path / "plan.gpkg"
    write_layers(scene_path, scene.layers())
    write_plan(PlanRun(plan=plan), prepared, plan_path)
    # the layer reads back as written (NaN where a figure does not apply)
    assert certificates_table(read_plan(plan_path).plan.certificates).equals(certificates_table(plan.certificates))
    code, out, err = run(capsys, "verify", scene_path, plan_path, "--lang", "en", "--against", plan_path)
    assert code == EXIT_OK, err
    proven = sum(c.proven for c in plan.certificates)
    assert f"{proven} proven claims, {proven} hold, 0 refuted" in out
    layers = read_layers(plan_path)
    certificates = layers["certificates"]
    certificates.loc[0, "above"] = 401.0
    certificates.loc[0, "covers_excess"] = False
    write_layers(plan_path, layers)
    code, out, err = run(
        capsys, "verify", scene_path, plan_path, "--lang", "en", "--no-fresh", "-o", tmp_path / "checks.gpkg"
    )
    assert_one_line_error(code, err, "refuted", certificates.loc[0, "certificate_id"], "400 households")
    written = read_layers(tmp_path / "checks.gpkg")
    assert written["counter_examples"]["households"].tolist() == [400.0]
    assert json.loads(certificates.loc[0, "grid_ids"])[0] in written["checks"]["grid_ids"].iat[0]
    assert np.isin(["holds", "refuted"], written["checks"]["verdict"]).all()


def test_verify_gives_its_programmes_the_time_asked_for(misfits, tmp_path, capsys, monkeypatch):
    scene, prepared, plan = misfits
    scene_path, plan_path = tmp_path / "scene.gpkg", tmp_path / "plan.gpkg"
    write_layers(scene_path, scene.layers())
    write_plan(PlanRun(plan=plan), prepared, plan_path)
    asked = []
    monkeypatch.setattr(review, "verify_plan", lambda *a, **k: asked.append(k["settings"]) or verify_plan(*a, **k))
    for limit in ([], ["--time-limit", "7.5"]):
        code, out, err = run(capsys, "verify", scene_path, plan_path, "--lang", "en", "--no-fresh", *limit)
        assert code == EXIT_OK, err
    # the plan's own settings unless asked: only the time changes
    assert asked == [plan.settings.verify, dataclasses.replace(plan.settings.verify, limit_seconds=7.5)]
    for bad in ("0", "-1", "nan"):
        code, _, err = run(capsys, "verify", scene_path, plan_path, "--time-limit", bad)
        assert_one_line_error(code, err, "--time-limit")


def test_a_plan_withdraws_a_claim_its_own_check_refutes_and_records_what_held(misfits):
    _, prepared, plan = misfits
    c = next(c for c in plan.certificates if c.proven)
    forged = dataclasses.replace(
        plan,
        certificates=[dataclasses.replace(c, above=401.0, covers_excess=False)]
        + [x for x in plan.certificates if x is not c],
    )
    checked = checked_plan(prepared, forged)
    by_id = {x.certificate_id: x for x in checked.certificates}
    assert (by_id[c.certificate_id].status, by_id[c.certificate_id].stopped, by_id[c.certificate_id].checked) == (
        "not_proven",
        "proof_refuted",
        "refuted",
    )
    assert all(x.checked == "holds" for x in checked.certificates if x.proven)
    (warning,) = [w for w in checked.warnings if dict(w.figures).get("certificate") == c.certificate_id]
    assert warning.reason == "units_too_coarse" and "refuted by an independent check" in warning.message
    assert warning.message.split(": ", 1)[1].startswith("not proven")
    assert checked.grids.set_index("grid_id").loc[list(c.grid_ids), "bounds_possible"].all()
    assert "claims: " in checked.summary("en") and "证明：" in checked.summary("zh")


def baseline_layout(method: str, units, counts: dict[str, int]) -> np.ndarray:
    """A baseline's layout of the units, community by community (METIS with the plan's grid counts, max-p
    regions of at least the target); special units each a group of their own."""
    atoms = units.atoms
    labels = np.arange(len(atoms)) + len(atoms)  # special units apart
    offset = 0
    for community_id, k in counts.items():
        members = np.flatnonzero(
            (atoms["community_id"] == community_id).to_numpy() & (atoms["kind"] != "special").to_numpy()
        )
        sub = nx.relabel_nodes(units.graph.subgraph(members.tolist()), {int(a): i for i, a in enumerate(members)})
        local = (
            metis_baseline(atoms.iloc[members].reset_index(drop=True), sub, k)
            if method == "metis"
            else maxp_baseline(atoms.iloc[members].reset_index(drop=True), sub, DEFAULTS.grid.target)
        )
        labels[members] = offset + local
        offset += int(local.max()) + 1
    return labels


def test_no_claim_on_a_real_extract_of_chunky_buildings_is_contradicted_by_a_fresh_plan_metis_or_max_p(extracts):
    # Beijing with every building's households × 6 × U(0.5, 1.6) (seed 3): buildings of 100–600 households
    scene = extracts.scene("beijing")
    households = extracts.prepared("beijing").local.buildings.set_index("building_id")["households"]
    rng = np.random.default_rng(3)
    factor = 6 * rng.uniform(0.5, 1.6, len(scene.buildings))
    chunky = scene.replace(
        buildings=scene.buildings.assign(
            households=np.round(households.reindex(scene.buildings["building_id"]).to_numpy() * factor)
        )
    )
    prepared = prepare_scene(chunky)
    plan = plan_scene(prepared).plan
    assert_hard_rules(chunky, plan)
    proven = [c for c in plan.certificates if c.proven and c.claim != "unit_spans"]
    assert len(proven) >= 2 and all(c.checked in ("holds", "undecided") for c in proven)
    units = plan.units
    ordinary = plan.grids[plan.grids["kind"] == "ordinary"]
    counts = ordinary.groupby("community_id").size().to_dict()
    layouts = {m: baseline_layout(m, units, counts) for m in ("metis", "maxp")}
    result = verify_plan(prepared, plan, layouts=layouts)
    assert not result.refuted, result.summary("en")
    assert len(result.checks) == sum(c.proven for c in plan.certificates)
    assert sum(c.verdict == "holds" for c in result.checks) >= len(proven) // 2


def test_a_misfit_claim_under_bounds_that_are_not_whole_numbers_states_whole_loads_that_hold():
    # bounds 212.5–287.5 (target 250 ± 15%): units of 200 fit no group (200 alone, 400 with a neighbour); the
    # grid of 200 is as near as any layout allows, and the claim says 200, not 199.5 (a load no grid can hold)
    scene = row([200, 200, 200])
    settings = DEFAULTS.with_grid(target=250, tolerance=0.15, tight_tolerance=0.1)
    prepared = prepare_scene(scene, settings)
    plan = partition(prepared)
    c = next(
        c
        for c in plan.certificates
        if c.claim == "unit_misfit" and c.grid_ids[0] in set(plan.grids.loc[plan.grids["households"] == 200, "grid_id"])
    )
    assert (c.below, c.covers_excess) == (200.0, True) and c.above == int(c.above)
    assert all(check.verdict == "holds" for check in verify_plan(prepared, plan).checks)
