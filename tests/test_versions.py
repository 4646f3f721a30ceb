"""Plan versions (方案版本) and stable grid codes: a plan records its version, parent, effective date, author and
note; a grid that persists keeps its code, a new grid takes a serial never used, and every code's life is kept
in the plan's ``code_history``."""

from __future__ import annotations

import dataclasses
import uuid

import pandas as pd
import pytest

from gridplan.cli import main
from gridplan.io.store import read_plan, read_previous, write_layers, write_plan
from gridplan.pipeline import load_scene, plan_scene, prepare_scene

from .support.cli import assert_one_line_error, run
from .support.postgis import database_url, drop_plan

#: Beijing's one community, given a code (GB/T 2260 Haidian 110108 + street 001 + community 001).
COMMUNITY_CODE = "110108001001"


def _gridplan(*argv) -> None:
    assert main([str(a) for a in argv]) == 0


def _scene_file(scene, households: pd.Series, path) -> str:
    write_layers(path, scene.replace(buildings=scene.buildings.assign(households=households.to_numpy())).layers())
    return str(path)


@pytest.fixture(scope="module")
def versions(extracts, tmp_path_factory):
    """Three versions of Beijing's plan through the command line: a first plan; the households of one grid's
    buildings gone (demolished) and the plan regenerated; then the largest grid's households doubled and the
    plan regenerated again (the second version written as GeoJSON, read back as the third's previous plan)."""
    folder = tmp_path_factory.mktemp("versions")
    scene = extracts.scene("beijing")
    scene = scene.replace(communities=scene.communities.assign(code=COMMUNITY_CODE))
    estimated = extracts.prepared("beijing").local.buildings.set_index("building_id")["households"]
    households = scene.buildings["building_id"].map(estimated)
    first = _scene_file(scene, households, folder / "scene1.gpkg")
    _gridplan(
        "plan",
        first,
        "-o",
        folder / "v1.gpkg",
        "--effective-date",
        "2025-01-01",
        "--author",
        "学院路街道",
        "--note",
        "首次划分",
        "--lang",
        "en",
    )
    v1 = read_plan(folder / "v1.gpkg").plan
    ordinary = v1.grids[v1.grids["kind"] == "ordinary"]
    buildings = v1.assignment.groupby("grid_id").size()[ordinary["grid_id"]]
    emptied = buildings.sort_values(kind="stable").index[0]
    gone = households.where(
        ~scene.buildings["building_id"].isin(v1.assignment.loc[v1.assignment["grid_id"] == emptied, "building_id"]), 0
    )
    second = _scene_file(scene, gone, folder / "scene2.gpkg")
    _gridplan(
        "plan",
        second,
        "--previous",
        folder / "v1.gpkg",
        "-o",
        folder / "v2.geojson",
        "--no-compare-fresh",
        "--effective-date",
        "2026-01-01",
        "--author",
        "李四",
        "--lang",
        "en",
    )
    v2 = read_plan(folder / "v2.geojson").plan
    largest = v2.grids.loc[v2.grids["kind"] == "ordinary"].sort_values("households")["grid_id"].iloc[-1]
    doubled = scene.buildings["building_id"].isin(v2.assignment.loc[v2.assignment["grid_id"] == largest, "building_id"])
    third = _scene_file(scene, gone.where(~doubled, gone * 2), folder / "scene3.gpkg")
    _gridplan(
        "plan",
        third,
        "--previous",
        folder / "v2.geojson",
        "-o",
        folder / "v3.gpkg",
        "--no-compare-fresh",
        "--note",
        "户数变化后调整",
        "--lang",
        "en",
    )
    v3 = read_plan(folder / "v3.gpkg").plan
    changed = int((gone != households).sum() + doubled.sum())
    return {
        "plans": (v1, v2, v3),
        "emptied": v1.grids.set_index("grid_id").at[emptied, "code"],
        "changed": changed,
        "buildings": len(scene.buildings),
        "folder": folder,
    }


def test_versions_are_numbered_and_chained_to_their_parents(versions):
    v1, v2, v3 = versions["plans"]
    assert [p.provenance.plan_version for p in (v1, v2, v3)] == [1, 2, 3]
    assert v1.provenance.parent_fingerprint == ""
    assert v2.provenance.parent_fingerprint == v1.fingerprint() and v3.provenance.parent_fingerprint == v2.fingerprint()
    assert v2.fingerprint() != v1.fingerprint() != v3.fingerprint()


def test_effective_date_author_and_note_round_trip_and_show_in_the_summary(versions):
    v1, v2, v3 = versions["plans"]
    assert (v1.provenance.effective_date, v1.provenance.author, v1.provenance.note) == (
        "2025-01-01",
        "学院路街道",
        "首次划分",
    )
    assert (v2.provenance.effective_date, v2.provenance.author, v2.provenance.note) == (
        "2026-01-01",
        "李四",
        "",
    )  # GeoJSON
    assert (v3.provenance.effective_date, v3.provenance.note) == ("", "户数变化后调整")
    line = [x for x in v2.summary("zh").splitlines() if "版本" in x]
    assert line == [f"  版本 2（上一版 {v1.fingerprint()[:12]}…，生效日期 2026-01-01，编制 李四）"]
    assert f"plan version 3 (after plan {v2.fingerprint()[:12]}…, note: 户数变化后调整)" in v3.summary("en")


def test_codes_persist_across_three_versions_and_a_retired_code_is_never_reused(versions):
    v1, v2, v3 = versions["plans"]
    retired = versions["emptied"]
    assert 0.03 < versions["changed"] / versions["buildings"] < 0.15  # about 5% of the buildings changed households
    codes = [set(p.grids["code"]) for p in (v1, v2, v3)]
    assert all(
        p.grids["code"].is_unique and p.grids["code"].str.fullmatch(rf"{COMMUNITY_CODE}\d{{3}}").all()
        for p in (v1, v2, v3)
    )
    assert codes[1] == codes[0] - {retired}  # the emptied grid merged away: its code retired, every other kept
    new = codes[2] - codes[1]
    assert codes[1] <= codes[2] and len(new) == 1 and retired not in codes[2]
    assert int(new.pop()[-3:]) == len(v1.grids) + 1  # the next serial never used, not the retired one
    for before, after in ((v1, v2), (v2, v3)):
        # a new grid and the previous grid each giving the other the most households kept (the fewer of a
        # building's households before and after) are one grid that persists: it keeps its code
        shared = before.assignment.merge(after.assignment, on="building_id", suffixes=("_before", "_after"))
        shared["kept"] = shared[["households_before", "households_after"]].min(axis=1)
        most = (
            shared.groupby(["grid_id_after", "grid_id_before"])["kept"]
            .sum()
            .sort_values()
            .reset_index()
            .drop_duplicates("grid_id_after", keep="last")
        )
        most = most[most.groupby("grid_id_before")["kept"].transform("max") == most["kept"]]
        code_before = before.grids.set_index("grid_id")["code"]
        code_after = after.grids.set_index("grid_id")["code"]
        assert len(most) >= len(before.grids) - 2
        assert (most["grid_id_after"].map(code_after) == most["grid_id_before"].map(code_before)).all()


def test_the_code_history_records_when_each_code_started_and_ended(versions):
    v1, v2, v3 = versions["plans"]
    history = v3.code_history.set_index("code")
    assert set(history.index) == set(v1.grids["code"]) | set(v3.grids["code"])
    retired, new = versions["emptied"], (set(v3.grids["code"]) - set(v2.grids["code"])).pop()
    assert history.at[retired, "end_version"] == 1 and history.at[retired, "start_version"] == 1
    assert history.at[new, "start_version"] == 3 and pd.isna(history.at[new, "end_version"])
    in_use = history.drop(index=[retired, new])
    assert (in_use["start_version"] == 1).all() and in_use["end_version"].isna().all()
    assert history.loc[list(v3.grids["code"]), "grid_id"].tolist() == v3.grids["grid_id"].tolist()
    assert v2.code_history.set_index("code").at[retired, "end_version"] == 1  # read back from GeoJSON


def test_a_hand_edited_plan_without_a_history_keeps_its_codes_where_its_grids_persist(versions, extracts):
    # a planner renamed two grids in QGIS and the file lost its history and provenance: the grids keep their codes,
    # the history starts from the codes at version 1, and the new plan is version 2
    v1 = versions["plans"][0]
    previous = read_previous(versions["folder"] / "v1.gpkg")
    renamed = dict(zip(v1.grids["grid_id"].iloc[:2], ["东区一", "东区二"]))
    edited = dataclasses.replace(
        previous,
        grids=previous.grids.replace({"grid_id": renamed}),
        assignment=previous.assignment.replace({"grid_id": renamed}),
        provenance=None,
        code_history=None,
    )
    scene = extracts.scene("beijing")
    prepared = prepare_scene(scene.replace(communities=scene.communities.assign(code=COMMUNITY_CODE)))
    run = plan_scene(prepared, previous=edited, effective_date="2025-06-30")
    grids = run.plan.grids.set_index("grid_id")
    before = v1.grids.set_index("grid_id")["code"]
    assert [grids.at[new, "code"] for new in renamed.values()] == [before[old] for old in renamed]
    assert run.plan.provenance.plan_version == 2 and run.plan.provenance.effective_date == "2025-06-30"
    assert (run.plan.code_history["start_version"] == 1).all()


@pytest.mark.parametrize("date", ["2025-02-30", "1/7/2025", "20250701"])
def test_a_bad_effective_date_is_refused_in_one_line(capsys, tmp_path, date):
    code, _, err = run(
        capsys, "plan", tmp_path / "missing.gpkg", "-o", tmp_path / "plan.gpkg", "--effective-date", date
    )
    assert_one_line_error(code, err, date, "YYYY-MM-DD")
    assert not (tmp_path / "plan.gpkg").exists()


def test_versions_and_the_code_history_round_trip_through_postgis(versions):
    v3 = read_plan(versions["folder"] / "v3.gpkg")
    prepared = prepare_scene(load_scene(versions["folder"] / "scene3.gpkg"))
    dsn, name = database_url(), f"versions_{uuid.uuid4().hex[:8]}"
    try:
        write_plan(v3, prepared, f"{dsn}#{name}")
        back = read_plan(f"{dsn}#{name}").plan
    finally:
        drop_plan(dsn, name)
    fields = ("plan_version", "parent_fingerprint", "effective_date", "author", "note")
    assert [getattr(back.provenance, f) for f in fields] == [getattr(v3.plan.provenance, f) for f in fields]
    assert back.code_history.equals(v3.plan.code_history) and back.code_history["end_version"].notna().sum() == 1
