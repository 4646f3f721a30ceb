"""Two plans compared (网格调整比对) on Beijing's real extract: a regeneration of a changed scene, a hand edit and a
plan of another grid count, every building accounted for; and the approval package written by ``gridplan compare``."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import numpy as np
import openpyxl
import pytest

from gridplan.core.results import PreviousPlan
from gridplan.coverage import analyse_coverage
from gridplan.io.store import read_layers, write_coverage, write_plan
from gridplan.pipeline import plan_scene, prepare_scene
from gridplan.review.compare import COVERAGE_FIGURES, FIGURES, compare_plans
from gridplan.settings import RunOptions
from gridplan.vocabulary import GridMatch, MoveReason, is_chinese

from .support.cli import assert_one_line_error, run
from .support.styles import assert_styles_fit

#: Buildings whose households change (×1.6) in the regenerated scene, and buildings removed from it.
CHANGED_SHARE, REMOVED = 0.05, 3


def assert_accounted(comparison, old, new):
    """kept + moved + new + removed is every building of both plans; the households moved are the realignment
    list's; each side's grids are all classified once."""
    both = set(old.assignment["building_id"]) | set(new.assignment["building_id"])
    assert comparison.buildings_total == len(both)
    listed = comparison.realignment
    assert comparison.buildings_kept == len(both) - len(listed)
    assert comparison.households_moved == listed.loc[listed["change"] == "moved", "households"].sum()
    assert sum(comparison.grid_counts("old").values()) == len(old.grids)
    assert sum(comparison.grid_counts("new").values()) == len(new.grids)


@pytest.fixture(scope="module")
def beijing(extracts):
    return extracts.prepared("beijing"), extracts.run("beijing").plan


@pytest.fixture(scope="module")
def regenerated(beijing):
    """Beijing with 5% of its buildings' households ×1.6 and three buildings gone, regenerated from the default plan."""
    prepared, plan = beijing
    buildings = prepared.scene.buildings.copy()
    households = prepared.local.buildings.set_index("building_id")["households"]
    buildings["households"] = buildings["building_id"].map(households).to_numpy()
    rng = np.random.default_rng(34)
    picked = rng.choice(len(buildings), size=round(CHANGED_SHARE * len(buildings)), replace=False)
    buildings.loc[buildings.index[picked], "households"] = (buildings["households"].iloc[picked] * 1.6).round()
    kept = np.setdiff1d(
        np.arange(len(buildings)), rng.choice(np.setdiff1d(np.arange(len(buildings)), picked), REMOVED, replace=False)
    )
    changed = prepare_scene(prepared.scene.replace(buildings=buildings.iloc[kept].reset_index(drop=True)))
    previous = PreviousPlan(assignment=plan.assignment[["building_id", "grid_id"]], grids=plan.grids)
    return changed, plan_scene(changed, previous=previous)


@pytest.fixture(scope="module")
def hand_edit(beijing):
    """The default plan with one building of an ordinary grid moved by hand into the neighbouring grid it is nearest."""
    prepared, plan = beijing
    grids = plan.grids[plan.grids["kind"] == "ordinary"].to_crs(prepared.local.crs).set_index("grid_id")
    a = plan.assignment
    donor = a[a["grid_id"].isin(grids.index)].groupby("grid_id")["building_id"].size().idxmax()
    footprints = prepared.local.buildings.set_index("building_id").geometry
    mine = a.loc[a["grid_id"] == donor, "building_id"]
    others = grids.drop(index=donor)
    gaps = [
        (footprints[b].distance(others.geometry).min(), b, others.geometry.distance(footprints[b]).idxmin())
        for b in mine
    ]
    _, building, receiver = min(gaps)
    edited = a.copy()
    edited.loc[edited["building_id"] == building, "grid_id"] = receiver
    return dataclasses.replace(plan, assignment=edited), building, donor, receiver


def test_a_regeneration_of_a_changed_scene_accounts_for_every_building(beijing, regenerated):
    _, plan = beijing
    changed, run_ = regenerated
    comparison = compare_plans(plan, run_, changed)
    assert_accounted(comparison, plan, run_.plan)
    assert comparison.buildings_total == len(plan.assignment) == 257
    assert comparison.buildings_removed == REMOVED and comparison.buildings_new == 0
    # the regeneration repairs the grids the new households broke: boundaries change, no grid splits or merges
    old, new = comparison.grid_counts("old"), comparison.grid_counts("new")
    assert old["split"] == old["merged"] == new["split"] == new["merged"] == 0
    assert 0 < old["boundary_changed"] <= 12 and old["unchanged"] >= 25
    assert 0 < comparison.buildings_moved <= 25 and comparison.households_moved > 0
    # moves take the regeneration's own reasons where it records one
    recorded = run_.changes.building_changes.set_index("building_id")["reason"]
    moved = comparison.realignment[comparison.realignment["change"] == "moved"].set_index("building_id")
    known = moved.index.intersection(recorded[recorded != ""].index)
    assert len(known) and (moved.loc[known, "reason"] == recorded[known]).all()
    assert set(moved["reason"]) <= {r.value for r in MoveReason}
    # the same plans the other way round: the removed buildings are new
    back = compare_plans(run_, plan)
    assert back.buildings_new == REMOVED and back.buildings_removed == 0
    assert back.buildings_moved == comparison.buildings_moved and back.households_moved >= 0


def test_a_hand_edit_moves_exactly_the_building_moved(beijing, hand_edit):
    prepared, plan = beijing
    edited, building, donor, receiver = hand_edit
    comparison = compare_plans(plan, edited, prepared)
    assert_accounted(comparison, plan, edited)
    households = int(plan.assignment.set_index("building_id").loc[building, "households"])
    assert (comparison.buildings_moved, comparison.households_moved, comparison.buildings_kept) == (1, households, 256)
    row = comparison.realignment.iloc[0]
    assert (row["building_id"], row["old_code"], row["new_code"], row["reason"]) == (
        building,
        donor,
        receiver,
        "adjusted",
    )
    for side in ("old", "new"):
        counts = comparison.grid_counts(side)
        assert counts["boundary_changed"] == 2 and counts["unchanged"] == len(plan.grids) - 2
    changed = comparison.grids[comparison.grids["change"] == GridMatch.BOUNDARY_CHANGED]
    assert set(changed["grid_id"]) == {donor, receiver}
    figures = comparison.figures.set_index("figure")
    assert figures.loc["grids", "old"] == figures.loc["grids", "new"] == len(plan.grids)
    assert figures.loc["households", "old"] == figures.loc["households", "new"] == plan.assignment["households"].sum()
    assert figures.loc["households_moved", "new"] == households
    # the plan's own figures for the old plan, measured again per community from the scene
    assert figures.loc["street_alignment", "old"] == pytest.approx(plan.metrics.street_alignment, abs=1e-9)
    assert figures.loc["service_radius_max", "old"] == pytest.approx(plan.metrics.service_radius_max, abs=0.1)


def test_plans_of_different_grid_counts_split_and_merge(beijing):
    prepared, plan = beijing
    ordinary = int((plan.grids["kind"] == "ordinary").sum())
    more = plan_scene(prepared, options=RunOptions(grid_count=ordinary + 2)).plan
    comparison = compare_plans(plan, more, prepared)
    assert_accounted(comparison, plan, more)
    assert comparison.buildings_new == comparison.buildings_removed == 0
    figures = comparison.figures.set_index("figure")
    assert (figures.loc["ordinary_grids", "old"], figures.loc["ordinary_grids", "new"]) == (ordinary, ordinary + 2)
    old, new = comparison.grid_counts("old"), comparison.grid_counts("new")
    # two more grids: some old grid is the main source of several new ones
    assert old["split"] >= 1 and new["split"] >= 2
    assert len(more.grids) - len(plan.grids) == 2
    # a split grid persists as one of its parts, the others are listed as moved from it
    split = comparison.grids[(comparison.grids["side"] == "old") & (comparison.grids["change"] == "split")]
    moved_from = set(comparison.realignment["old_grid_id"])
    assert set(split["grid_id"]) <= moved_from
    assert comparison.households_moved > 0
    assert "split" in comparison.summary("en") and "拆分" in comparison.summary("zh")


def test_a_plan_compared_with_itself_is_all_unchanged(beijing):
    prepared, plan = beijing
    renamed = plan.grids.assign(grid_id=plan.grids["grid_id"].map(lambda g: f"x{g}"), code=None)
    relabelled = dataclasses.replace(
        plan,
        grids=renamed,
        assignment=plan.assignment.assign(grid_id=plan.assignment["grid_id"].map(lambda g: f"x{g}")),
    )
    comparison = compare_plans(plan, relabelled)
    assert comparison.grid_counts("old")["unchanged"] == comparison.grid_counts("new")["unchanged"] == len(plan.grids)
    assert comparison.buildings_kept == len(plan.assignment) and comparison.realignment.empty
    # grids are matched by households, never by their ids: every new grid continues the old one of the same households
    new = comparison.grids[comparison.grids["side"] == "new"]
    assert (new["continues"] == new["grid_id"].str[1:]).all()


def test_gridplan_compare_writes_the_approval_package(beijing, hand_edit, extracts, tmp_path, capsys):
    prepared, plan = beijing
    edited, building, donor, receiver = hand_edit
    old_path, new_path = tmp_path / "old.gpkg", tmp_path / "edited.gpkg"
    run_ = extracts.run("beijing")
    write_plan(run_, prepared, old_path)
    write_plan(dataclasses.replace(run_, plan=edited), prepared, new_path)
    code, out, err = run(capsys, "compare", extracts.path("beijing"), old_path, new_path, "-o", tmp_path / "out")
    assert code == 0, err
    assert "调整网格 1（" in out

    book = openpyxl.load_workbook(tmp_path / "out" / "comparison.xlsx")
    assert book.sheetnames == ["社区汇总", "网格变化", "调整明细"]
    moves = list(book["调整明细"].values)
    assert len(moves) == 2 and moves[0][0] == "楼栋编号"
    assert moves[1][0] == building and {donor, receiver} <= set(moves[1]) and "调整" in moves[1]
    assert book["网格变化"].max_row == 1 + 2 * len(plan.grids)
    assert book["社区汇总"].max_row == 1 + len(set(plan.grids["community_id"])) * len(FIGURES)

    pdf = tmp_path / "out" / "approval-1.pdf"
    pages = int(
        re.search(
            r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        )[1]
    )
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # a title page, the two grid tables of 38 grids each, the one move and the signatures: three A4 pages
    assert pages == 3
    assert "网格调整审批表" in text and building in text and f"{donor} → {receiver}" in text

    html = (tmp_path / "out" / "changes.html").read_text(encoding="utf-8")
    escaped = lambda text: json.dumps(text)[1:-1]  # noqa: E731  (folium writes names and popups as JSON)
    assert escaped("原网格边界（虚线）") in html and '"dashArray": "6 4"' in html
    assert escaped(f"{donor.rsplit('-', 1)[1]} → {receiver.rsplit('-', 1)[1]}") in html
    assert "unpkg.com" not in html and "cdn.jsdelivr" not in html  # offline: every asset inlined

    # the same as GIS layers, styled for QGIS: the new grids by change, the old ones dashed, the move labelled
    layers = read_layers(tmp_path / "out" / "comparison.gpkg")
    changes, old_grids, moves = layers["grid_changes"], layers["old_grids"], layers["realignment"]
    assert len(changes) == len(old_grids) == len(plan.grids)
    assert changes.set_index("grid_id").loc[[donor, receiver], "change"].eq("boundary_changed").all()
    assert (changes["change"] == "unchanged").sum() == len(plan.grids) - 2
    assert (
        changes.set_index("grid_id").loc[receiver, "continues"],
        old_grids.set_index("grid_id").loc[donor, "continues"],
    ) == (receiver, donor)
    metric = prepared.local.crs
    assert changes.to_crs(metric).area.sum() == pytest.approx(old_grids.to_crs(metric).area.sum(), rel=1e-9)
    assert (
        list(moves["building_id"]) == [building]
        and moves["move"].iat[0] == f"{donor.rsplit('-', 1)[1]} → {receiver.rsplit('-', 1)[1]}"
    )
    footprint = prepared.scene.buildings.set_index("building_id").geometry.to_crs(moves.crs)[building]
    assert moves.geometry.iat[0].equals_exact(footprint, 1e-9)
    styles = assert_styles_fit(tmp_path / "out" / "comparison.gpkg", ["grid_changes", "old_grids", "realignment"])
    assert {r.get("label") for r in styles["grid_changes"].iter("rule")} >= {"边界调整", "未变"}
    assert styles["old_grids"].find(".//Option[@name='outline_style']").get("value") == "dash"
    assert styles["realignment"].find(".//text-style").get("fieldName") == '"move"'


def test_a_comparison_speaks_english(beijing, hand_edit):
    prepared, plan = beijing
    comparison = compare_plans(plan, hand_edit[0], prepared)
    assert not is_chinese(comparison.summary("en"))
    assert "boundary changed 2" in comparison.summary("en") and "边界调整 2" in comparison.summary("zh")


def party_and_circle(plan, coverage):
    """The coverage figures of a plan of one community, counted here from the coverage's layers: grids with
    their own branch, grids in a branch of any kind, households within the service circle."""
    status = coverage.grid_party.set_index("grid_id")["status"].reindex(plan.grids["grid_id"])
    homes = coverage.service_coverage
    return (
        status.isin(["own_branch", "too_large"]).mean(),
        (status.notna() & status.ne("no_branch")).mean(),
        homes.loc[homes["covered"], "households"].sum() / homes["households"].sum(),
    )


@pytest.fixture(scope="module")
def edited_coverage(beijing, hand_edit):
    prepared, _ = beijing
    return analyse_coverage(hand_edit[0], prepared)


def test_party_coverage_and_the_service_circle_are_compared_side_by_side(beijing, hand_edit, edited_coverage, extracts):
    prepared, plan = beijing
    coverage = extracts.coverage("beijing")
    same = compare_plans(plan, plan, prepared, coverage, coverage).figures.set_index("figure")
    assert list(same.index) == [*FIGURES, *COVERAGE_FIGURES]
    expected = party_and_circle(plan, coverage)
    for figure, value in zip(COVERAGE_FIGURES, expected):
        assert same.loc[figure, "old"] == same.loc[figure, "new"] == pytest.approx(value, abs=1e-12)
    assert 0 < expected[0] <= expected[1] <= 1 and 0 < expected[2] <= 1

    edited = compare_plans(plan, hand_edit[0], prepared, coverage, edited_coverage).figures.set_index("figure")
    for figure, value in zip(COVERAGE_FIGURES, party_and_circle(hand_edit[0], edited_coverage)):
        assert edited.loc[figure, "new"] == pytest.approx(value, abs=1e-12)
        assert edited.loc[figure, "old"] == same.loc[figure, "old"]
    # the walk to a service point does not depend on the grid a building is in
    assert edited.loc["households_in_circle", "new"] == pytest.approx(
        same.loc["households_in_circle", "old"], abs=1e-12
    )

    one_side = compare_plans(plan, hand_edit[0], prepared, old_coverage=coverage).figures.set_index("figure")
    assert (
        one_side.loc[list(COVERAGE_FIGURES), "new"].isna().all()
        and one_side.loc[list(COVERAGE_FIGURES), "old"].notna().all()
    )
    assert "grids_own_branch" not in set(compare_plans(plan, hand_edit[0], prepared).figures["figure"])


def test_gridplan_compare_takes_each_plans_coverage(beijing, hand_edit, edited_coverage, extracts, tmp_path, capsys):
    prepared, plan = beijing
    edited = hand_edit[0]
    run_ = extracts.run("beijing")
    old_path, new_path = tmp_path / "old.gpkg", tmp_path / "edited.gpkg"
    write_plan(run_, prepared, old_path)
    write_plan(dataclasses.replace(run_, plan=edited), prepared, new_path)
    write_coverage(extracts.coverage("beijing"), tmp_path / "old-coverage.gpkg")
    write_coverage(edited_coverage, tmp_path / "new-coverage.gpkg")
    code, out, err = run(
        capsys,
        "compare",
        extracts.path("beijing"),
        old_path,
        new_path,
        "--old-coverage",
        tmp_path / "old-coverage.gpkg",
        "--new-coverage",
        tmp_path / "new-coverage.gpkg",
        "-o",
        tmp_path / "out",
        "--lang",
        "en",
    )
    assert code == 0, err
    summary = {
        row[1]: row[2:] for row in openpyxl.load_workbook(tmp_path / "out" / "comparison.xlsx")["Summary"].values
    }
    old_share, _, circle = party_and_circle(plan, extracts.coverage("beijing"))
    assert summary["Grids with their own party branch"][0] == pytest.approx(old_share, abs=1e-9)
    assert summary["Households within the 15-minute circle"][1] == pytest.approx(circle, abs=1e-9)
    # each coverage must be of its own plan
    code, _, err = run(
        capsys,
        "compare",
        extracts.path("beijing"),
        old_path,
        new_path,
        "--old-coverage",
        tmp_path / "new-coverage.gpkg",
        "-o",
        tmp_path / "wrong",
    )
    assert_one_line_error(code, err)
    assert "覆盖分析属于另一个方案" in err
