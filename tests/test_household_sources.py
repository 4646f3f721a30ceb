"""Every output says truthfully which households are registered and which estimated (households, not
buildings), and the bounds column holds for the bounds the plan was made with: through the command line on
real extracts (an OpenStreetMap extract has no households column, so all its households are estimated; a
generated register of half the households gives a mixed scene)."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pytest

from gridplan.cli import EXIT_OK, main
from gridplan.io.store import read_layers, write_layers, write_plan
from gridplan.scenarios.registers import generate_records
from gridplan.vocabulary import HouseholdSource, column_label, label

SOURCE, ESTIMATED, HOUSEHOLDS = (
    column_label("data_source"),
    column_label("households_estimated"),
    column_label("households"),
)


def expected_per_grid(plan_path) -> pd.DataFrame:
    """Per grid, from the plan file's buildings layer: households, the estimated ones, and buildings."""
    buildings = read_layers(plan_path)["buildings"].dropna(subset=["grid_id"])
    flags = buildings["households_estimated"].astype(bool)
    return (
        pd.DataFrame(
            {
                "households": buildings["households"],
                "estimated": buildings["households"].where(flags, 0),
                "buildings": 1,
                "grid_id": buildings["grid_id"],
            }
        )
        .groupby("grid_id")
        .sum()
    )


def source_of(row) -> str:
    """What 数据来源 must say of a grid, worked out from its buildings."""
    if row.buildings == 0:
        return label(HouseholdSource.NO_BUILDINGS)
    if row.estimated == 0:
        return label(HouseholdSource.REGISTERED)
    return label(HouseholdSource.ESTIMATED if row.estimated == row.households else HouseholdSource.PARTLY_ESTIMATED)


@pytest.fixture(scope="module")
def estimated(extracts, tmp_path_factory):
    """Beijing (every household estimated): its default plan written, and `gridplan report` of it in zh and en,
    and against bounds of ±5% given on the command line."""
    out = tmp_path_factory.mktemp("estimated")
    write_plan(extracts.run("beijing"), extracts.prepared("beijing"), out / "plan.gpkg")
    scene = extracts.path("beijing")
    for name, options in (("zh", []), ("en", ["--lang", "en"]), ("tight", ["--tolerance", "0.05"])):
        assert main([str(a) for a in ("report", scene, out / "plan.gpkg", "-o", out / name, *options)]) == EXIT_OK
    return out


def test_an_all_estimated_scene_says_estimated_and_counts_households_not_buildings(estimated):
    csv = pd.read_csv(estimated / "zh" / "grids.csv", encoding="utf-8-sig")
    xlsx = pd.read_excel(estimated / "zh" / "grids.xlsx")
    truth = expected_per_grid(estimated / "plan.gpkg")
    total = int(truth["households"].sum())
    for table in (csv, xlsx):
        assert table[ESTIMATED].sum() == table[HOUSEHOLDS].sum() == total == 6807
        assert table[ESTIMATED].sum() != table[column_label("buildings")].sum()
        # every grid with buildings is estimated; the one grid without any says so, never 登记
        assert table[SOURCE].value_counts().to_dict() == {"估算": len(table) - 1, "无楼栋": 1}
    grids = gpd.read_file(estimated / "plan.gpkg", layer="grids")
    assert grids["households_estimated"].tolist() == grids["households"].tolist()
    assert set(grids["households_source"]) == {"estimated", "no_buildings"}


def test_the_summary_says_how_many_households_are_estimated(estimated):
    zh = (estimated / "zh" / "summary.html").read_text(encoding="utf-8")
    assert '<p class="estimated">户数全部为估算（占地面积 × 层数 ÷ 90 平方米）</p>' in zh
    assert '<div class="v">6,807</div><div>估算户数</div>' in zh
    en = (estimated / "en" / "summary.html").read_text(encoding="utf-8")
    assert (
        "households all estimated (footprint × floors ÷ 90 m²)" in en and ">6,807</div><div>Households estimated<" in en
    )
    assert pd.read_csv(estimated / "en" / "grids.csv")["Data source"].value_counts()["estimated"] == 37


@pytest.mark.parametrize("folder, floor, ceiling", [("zh", 240, 360), ("tight", 285, 315)])
def test_the_bounds_column_is_false_exactly_outside_the_bounds_and_silent_for_special_grids(
    estimated, folder, floor, ceiling
):
    column = f"户数在 {floor}–{ceiling} 之间"  # the header names the bounds the column is true for
    csv = pd.read_csv(estimated / folder / "grids.csv", encoding="utf-8-sig", dtype={column: str})
    special = csv[column_label("kind")] == "专属网格"
    assert special.sum() == 14 and (csv.loc[special, column] == "专属网格，不设户数范围").all()
    said = csv.loc[~special, column].astype(str)
    outside = ~csv.loc[~special, HOUSEHOLDS].between(floor, ceiling)
    assert (said == outside.map({True: "False", False: "True"})).all()
    # the grid without households is outside any bounds; ±5% puts ordinary grids outside too
    assert outside.sum() == (1 if folder == "zh" else 1 + 10)


@pytest.fixture(scope="module")
def mixed(extracts, tmp_path_factory):
    """Wuhan with half of a generated register imported (the rest estimated), planned with levels and reported,
    all through the command line."""
    out = tmp_path_factory.mktemp("mixed")
    records = generate_records(extracts.prepared("wuhan"), seed=7)
    write_layers(out / "scene.gpkg", records.scene.layers())
    records.households.iloc[: len(records.households) // 2].to_csv(out / "register.csv", index=False)
    for argv in (
        ("import-register", out / "scene.gpkg", out / "register.csv", "-o", out / "registered.gpkg"),
        ("plan", out / "registered.gpkg", "-o", out / "plan.gpkg", "--levels", "--areas", "2"),
        ("report", out / "registered.gpkg", out / "plan.gpkg", "-o", out / "report"),
    ):
        assert main([str(a) for a in argv]) == EXIT_OK, argv
    return out


def test_a_half_registered_scene_says_per_grid_registered_estimated_or_partly(mixed):
    csv = pd.read_csv(mixed / "report" / "grids.csv", encoding="utf-8-sig").set_index(column_label("grid_id"))
    truth = expected_per_grid(mixed / "plan.gpkg").reindex(csv.index, fill_value=0)
    assert (csv[ESTIMATED] == truth["estimated"]).all() and (csv[HOUSEHOLDS] == truth["households"]).all()
    expected = [f"{source_of(row)}；生成的模拟数据: 户数" for row in truth.itertuples()]
    assert csv[SOURCE].tolist() == expected
    said = set(csv[SOURCE].str.split("；").str[0])
    assert {"登记", "部分估算"} <= said  # half a register: grids of both kinds at least
    scene = read_layers(mixed / "registered.gpkg")["buildings"]
    total, estimated = (
        int(scene["households"].sum()),
        int(scene["households"].where(scene["households_estimated"].astype(bool), 0).sum()),
    )
    assert 0 < estimated < total and csv[ESTIMATED].sum() == estimated
    page = (mixed / "report" / "summary.html").read_text(encoding="utf-8")
    share = f"{estimated / csv[HOUSEHOLDS].sum():.0%}"
    assert (
        f"{estimated:,} 户为估算（占 {share}，占地面积 × 层数 ÷ 90 平方米），{csv[HOUSEHOLDS].sum() - estimated:,} 户为登记"
        in page
    )


def test_area_ids_hold_no_english_word(mixed):
    areas = read_layers(mixed / "plan.gpkg")["areas"]
    assert len(areas) == 2
    assert all(re.fullmatch(r"(\d{9}-)?A\d{2}", a) for a in areas["area_id"]), areas["area_id"].tolist()
