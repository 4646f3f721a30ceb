"""Audit of existing layouts and their repair, on hand-made and real data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from gridplan.cli import EXIT_OK, main
from gridplan.core.results import PreviousPlan
from gridplan.engine.audit import audit_grids
from gridplan.engine.regenerate import regenerate
from gridplan.io.store import read_layers, write_layers
from gridplan.partition import partition

from .support.assertions import assert_hard_rules
from .support.scenes import CRS, street_grid_scene

OX, OY = 600_000.0, 3_500_000.0


def _scene():
    return street_grid_scene(600, 200, xs=[200, 400], ys=[], households=[[300], [300], [300]], per_block=3)


def test_audit_assigns_by_overlay_and_reports_splits_gaps_and_overlaps():
    scene = _scene()
    # drawn "by compound": one grid over the first two blocks, one that cuts a building of block 3 and
    # overlaps the first, and the east end left out
    existing = gpd.GeoDataFrame(
        {"name": ["A", "B"]}, geometry=[box(OX, OY, OX + 420, OY + 200), box(OX + 400, OY, OX + 500, OY + 200)], crs=CRS
    )
    audit = audit_grids(scene, existing, lang="en")
    by_id = audit.grids.set_index("grid_id")
    assert by_id.loc["A", "households"] == 600 and by_id.loc["A", "problems"].startswith("above the ceiling")
    # block 3's buildings: x 411–469, 471–529, 531–589; A's edge at x = 420 cuts the first between A and B
    assert audit.split_buildings["building_id"].tolist() == ["b2-0-0"]
    assert audit.split_buildings["other_share"].iat[0] == round(9 / 58, 3)
    assert audit.unassigned == ["b2-0-2"]
    assert audit.overlaps[["grid_id", "other_grid_id"]].values.tolist() == [["A", "B"]]
    assert audit.overlaps["area_m2"].iat[0] == 4000.0
    assert audit.metrics.gap_share > 0.15  # x 500–600 is in no grid
    assert audit.grids["grid_id"].iat[0] == "A"  # worst first


def test_existing_layout_is_repaired_with_the_rules():
    scene = _scene()
    existing = gpd.GeoDataFrame(
        {"grid_id": ["A", "B"]},
        geometry=[box(OX, OY, OX + 420, OY + 200), box(OX + 400, OY, OX + 500, OY + 200)],
        crs=CRS,
    )
    result = regenerate(scene, PreviousPlan(assignment=None, grids=existing))
    assert_hard_rules(scene, result.plan)
    assert sorted(result.plan.grids["households"]) == [300, 300, 300]


def test_audit_command_on_a_plan_of_its_own_finds_it_sound(tmp_path, capsys):
    scene = _scene()
    path = tmp_path / "scene.gpkg"
    for name, layer in scene.layers().items():
        layer.to_file(path, layer=name)
    plan = partition(scene)
    plan.grids.to_file(tmp_path / "existing.gpkg")
    assert (
        main(["audit", str(path), str(tmp_path / "existing.gpkg"), "-o", str(tmp_path / "audit.gpkg"), "--lang", "en"])
        == EXIT_OK
    )
    out = capsys.readouterr().out
    assert "within ±20% (240–360): 100.0%" in out and "0 split buildings" in out and "0 buildings in no grid" in out


def test_staffing_has_one_worker_per_grid_with_workload_index():
    plan = partition(street_grid_scene(800, 400, xs=[200, 400, 600], ys=[200], households=np.full((4, 2), 150)))
    staff = plan.staffing()
    assert len(staff) == len(plan.grids) and staff["grid_worker"].is_unique
    assert staff["workload_index"].mean() == 1.0


def test_repairing_a_drawn_layout_gives_special_sites_their_own_grid():
    scene = _scene()
    buildings = scene.buildings.copy()
    buildings.loc[buildings["building_id"].str.startswith("b1-"), "kind"] = "school"
    scene = scene.replace(buildings=buildings)
    existing = gpd.GeoDataFrame({"grid_id": ["A"]}, geometry=[box(OX, OY, OX + 600, OY + 200)], crs=CRS)
    result = regenerate(scene, PreviousPlan(assignment=None, grids=existing))
    special = result.plan.grids[result.plan.grids["kind"] == "special"]
    assert len(special) == 1 and special["grid_id"].iat[0] == "A-S1"
    school = result.plan.assignment[result.plan.assignment["building_id"].str.startswith("b1-")]
    assert set(school["grid_id"]) == {"A-S1"}


def test_audit_speaks_the_language_of_its_run_in_summary_and_problems(extracts, tmp_path, capsys):
    prepared = extracts.prepared("beijing")
    write_layers(tmp_path / "scene.gpkg", prepared.scene.layers())
    grids = extracts.run("beijing").plan.grids
    # one grid of two: a layout that breaks the bounds, so that problems are written
    merged = grids.dissolve().assign(grid_id="all")[["grid_id", "geometry"]]
    merged.to_file(tmp_path / "existing.gpkg")
    for lang, head, problem in (
        ("zh", "网格评估：现有网格 1 个", "超过上限 360 户"),
        ("en", "audit: 1 existing grids", "above the ceiling 360"),
    ):
        out_path = tmp_path / f"audit_{lang}.gpkg"
        assert (
            main(
                [
                    "audit",
                    str(tmp_path / "scene.gpkg"),
                    str(tmp_path / "existing.gpkg"),
                    "-o",
                    str(out_path),
                    "--lang",
                    lang,
                ]
            )
            == EXIT_OK
        )
        out = capsys.readouterr().out
        assert out.startswith(head) and problem in out
        assert read_layers(out_path)["grids"]["problems"].iat[0].startswith(problem)
        assert ("households" in out) == (lang == "en") and ("户" in out) == (lang == "zh")
