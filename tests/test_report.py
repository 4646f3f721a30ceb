"""The per-grid report: CSV, XLSX and the one-page HTML summary; the `map` and `report` commands."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from gridplan.cli import EXIT_OK, main
from gridplan.io.store import write_coverage, write_layers, write_plan
from gridplan.outputs.report import summary_html, write_report
from gridplan.outputs.tables import grid_table
from gridplan.vocabulary import column_label

from .support.small import small_coverage, small_plan


@pytest.fixture(scope="module")
def planned():
    prepared, run = small_plan()
    recorded, coverage = small_coverage(prepared, run)
    return recorded, run, coverage


def test_grid_table_has_one_row_per_grid_with_party_and_coverage(planned):
    _, run, coverage = planned
    plan = run.plan
    table = grid_table(plan, coverage)
    assert len(table) == len(plan.grids) and table["grid_id"].is_unique
    first = table.iloc[0]
    assert (first["full_members"], first["probationary_members"], first["branch_status"]) == (5, 1, "own_branch")
    assert set(table["branch_status"].iloc[1:]) == {"needs_joint_branch"}
    assert table["households"].sum() == plan.assignment["households"].sum()
    assert table["within_bounds"].all() and table["deviation_pct"].abs().max() <= 20
    assert table["coverage_share"].between(0, 1).all()


def test_grid_table_without_coverage_leaves_party_fields_empty(planned):
    _, run, _ = planned
    table = grid_table(run.plan)
    assert table["branch_status"].isna().all() and table["coverage_share"].isna().all()


def test_report_writes_csv_xlsx_and_summary_with_charts(planned, tmp_path):
    _, run, coverage = planned
    table = grid_table(run.plan, coverage)
    paths = write_report(run.plan, tmp_path / "reports", coverage)
    assert [p.name for p in paths] == ["grids.csv", "grids.xlsx", "summary.html"]
    csv = pd.read_csv(paths[0], encoding="utf-8-sig")
    xlsx = pd.read_excel(paths[1])
    grid, households = column_label("grid_id"), column_label("households")
    assert list(csv[grid]) == list(xlsx[grid]) == list(table["grid_id"])
    assert csv[households].sum() == xlsx[households].sum() == table["households"].sum()
    assert list(csv[column_label("branch_status")]) == ["独立党支部", "建联合党支部", "建联合党支部"]
    page = paths[2].read_text(encoding="utf-8")
    # four charts: households against the bounds, coverage, branch status, blind spots; nothing remote
    assert page.count("<svg") == 4 and "http" not in page and "<script" not in page
    assert "建联合党支部" in page and "盲区户数" in page


def test_summary_draws_the_bounds_and_target(planned):
    _, run, _ = planned
    page = summary_html(grid_table(run.plan), run.plan.settings.grid, lang="en")
    assert "Ordinary grids with 240–360 households" in page and 'fill="#d9f0d3"' in page and "100.0%" in page


def test_map_and_report_commands_read_a_coverage_geopackage(planned, tmp_path, capsys):
    scene, run, coverage = planned
    scene_path, plan_path, coverage_path = tmp_path / "scene.gpkg", tmp_path / "plan.gpkg", tmp_path / "coverage.gpkg"
    write_layers(scene_path, scene.scene.layers())
    write_plan(run, scene, plan_path)
    write_coverage(coverage, coverage_path)

    html = tmp_path / "maps" / "district.html"
    assert main(["map", str(scene_path), str(plan_path), str(coverage_path), "-o", str(html), "--offline"]) == EXIT_OK
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html.read_text(encoding="utf-8"))
    assert 'src="http' not in page and "M-0001" not in page and "联合党支部建议" in page and "网格员 0001" in page

    assert (
        main(["report", str(scene_path), str(plan_path), str(coverage_path), "-o", str(tmp_path / "reports")])
        == EXIT_OK
    )
    table = pd.read_csv(tmp_path / "reports" / "grids.csv", encoding="utf-8-sig")
    assert table[column_label("coverage_share")].notna().all()
    assert table[column_label("grid_worker")].str.startswith("网格员").all()
