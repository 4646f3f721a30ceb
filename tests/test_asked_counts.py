"""Counts the user asks for (``--grids N``, ``--new-service-points N``, ``--target``) are reported as reached,
with why, on a real extract: never a silent shortfall, an empty ordinary grid, or a share of zero grids."""

from __future__ import annotations

import contextlib
import io
import json

import geopandas as gpd
import pytest

from gridplan.cli import EXIT_OK, main
from gridplan.io.store import read_plan, write_layers
from gridplan.vocabulary import GridKind, WarningCode, WarningReason

from .support.cli import run

#: Far more grids than Beijing Xueyuanlu's 6,807 households in its ~200 units with households can hold.
ASKED_GRIDS = 500
#: Far more service points than the blind spots need: a few already cover every household a site can reach.
ASKED_POINTS = 1000


@pytest.fixture(scope="module")
def beijing(extracts, tmp_path_factory):
    """Beijing's scene as a GeoPackage (read fast by every command below), and a plan of it with
    ``--grids ASKED_GRIDS`` in English: (scene, plan file, standard output)."""
    folder = tmp_path_factory.mktemp("asked")
    scene = folder / "scene.gpkg"
    write_layers(scene, extracts.scene("beijing").layers())
    plan = folder / "plan.gpkg"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([str(a) for a in ("plan", scene, "-o", plan, "--grids", ASKED_GRIDS, "--lang", "en")])
    assert code == EXIT_OK
    return scene, plan, out.getvalue()


def test_asking_more_grids_than_units_reports_the_count_reached_and_why(beijing):
    _, plan_file, out = beijing
    plan = read_plan(plan_file).plan
    ordinary = plan.grids[plan.grids["kind"] == GridKind.ORDINARY]
    [count] = [w for w in plan.warnings if w.code == WarningCode.GRID_COUNT]
    figures = dict(count.figures)
    assert (figures["asked"], figures["reached"]) == (ASKED_GRIDS, len(ordinary))
    assert count.reason == WarningReason.FEW_UNITS
    # an ordinary grid is whole units and holds households: no more of them than units with households
    assert len(ordinary) <= figures["most"] < ASKED_GRIDS
    assert f"asked {ASKED_GRIDS:,} grids; {len(ordinary):,} reached" in out
    assert f"at most {figures['most']:,} grids can hold households" in out
    assert f"要求 {ASKED_GRIDS:,} 个网格，实际 {len(ordinary):,} 个" in plan.summary("zh")
    assert f"最多只能划出 {figures['most']:,} 个有住户的网格" in plan.summary("zh")


def test_a_fixed_count_makes_no_ordinary_grid_without_households(beijing):
    grids = gpd.read_file(beijing[1], layer="grids")
    ordinary = grids[grids["kind"] == GridKind.ORDINARY]
    assert len(ordinary) > 50  # many small grids, so the check below has cases
    assert (ordinary["households"] > 0).all(), ordinary.loc[ordinary["households"] == 0, "grid_id"].tolist()


def test_grids_outside_the_bounds_by_a_fixed_count_are_said_to_be_so(beijing):
    warnings = gpd.read_file(beijing[1], layer="warnings")
    bounds = warnings[warnings["code"] == WarningCode.OUT_OF_BOUNDS]
    assert len(bounds) > 20
    # small grids the user asked for are not blamed on coarse units
    assert not (bounds["reason"] == WarningReason.UNITS_TOO_COARSE).any()
    assert (bounds["reason"] == WarningReason.FIXED_COUNT).sum() > 20
    assert "the number of grids of its community was fixed by the user" in beijing[2]


def test_asking_more_service_points_than_useful_reports_how_many_were_placed_and_why(beijing, tmp_path, capsys):
    scene, plan, _ = beijing
    for lang, asked, placed, why in [
        ("en", "asked {:,}", "placed {:,}", "more would cover no one more"),
        ("zh", "要求 {:,} 个", "选定 {:,} 个", "再多也不能多覆盖一户"),
    ]:
        coverage = tmp_path / f"coverage_{lang}.gpkg"
        code, out, err = run(
            capsys, "coverage", scene, plan, "-o", coverage, "--new-service-points", ASKED_POINTS, "--lang", lang
        )
        assert code == EXIT_OK, err
        sites = gpd.read_file(coverage, layer="proposed_sites")
        siting = gpd.read_file(coverage, layer="siting").iloc[0]
        assert 0 < len(sites) < ASKED_POINTS
        # fewer are placed only because they already cover every household a candidate site reaches
        assert siting["households_covered"] == pytest.approx(siting["households_reachable"])
        line = next(line for line in out.splitlines() if asked.format(ASKED_POINTS) in line)
        assert placed.format(len(sites)) in line and why in line, line


def test_a_target_no_community_reaches_is_said_plainly(beijing, tmp_path, capsys):
    scene = beijing[0]
    for lang, plainly in [
        ("en", "no community reaches the floor of one grid, 800,000 households"),
        ("zh", "没有一个社区达到一个网格的户数下限 800,000 户"),
    ]:
        plan = tmp_path / f"plan_{lang}.gpkg"
        code, out, err = run(capsys, "plan", scene, "-o", plan, "--target", 1_000_000, "--lang", lang)
        assert code == EXIT_OK, err
        assert plainly in out and "of the 0 grids" not in out and "0 个网格中" not in out, out
        grids = gpd.read_file(plan, layer="grids")
        assert not (grids["kind"] == GridKind.ORDINARY).any()
        # the households are in grids of their own, not hidden in a school's or hospital's grid
        special = grids[grids["kind"] == GridKind.SPECIAL]
        assert special["households"].sum() < grids["households"].sum() / 2
        warnings = gpd.read_file(plan, layer="warnings")
        small = warnings[warnings["code"] == WarningCode.BELOW_FLOOR]
        assert max(json.loads(f).get("households", 0) for f in small["figures"]) > 1000
