"""One pipeline: what the library returns is what the files and PostGIS hold, and every output follows the
settings the plan was made with, in one language, saying which inputs were generated."""

from __future__ import annotations

import dataclasses
import re
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gridplan import audit_grids, plan_communities, plan_levels, regenerate
from gridplan.cli import EXIT_OK, main
from gridplan.core.results import COVERAGE_LAYERS, Plan, PreviousPlan
from gridplan.coverage import analyse_coverage
from gridplan.errors import InputError
from gridplan.io.store import read_coverage, read_layers, read_plan, write_coverage, write_layers, write_plan
from gridplan.outputs.report import write_report
from gridplan.outputs.tables import grid_table
from gridplan.outputs.webmap import plan_map
from gridplan.partition import partition
from gridplan.pipeline import plan_scene, prepare_scene
from gridplan.reach.network import WalkingNetwork
from gridplan.settings import DEFAULTS
from gridplan.vocabulary import BranchStatus, GridKind, NetworkReach, WarningCode, is_chinese, label

from .support.assertions import assert_same_frame, assert_same_run
from .support.postgis import database_url, drop_plan
from .support.scenes import street_grid_scene

#: Codes a table could hold: none of them may reach a Chinese table, map or report.
CODES = {v.value for enum in (GridKind, BranchStatus, WarningCode) for v in enum}


@pytest.fixture(scope="module", params=["beijing", "wuhan"])
def pipeline(request, extracts):
    """A real extract through the whole pipeline: prepared, planned with levels, coverage with a new site."""
    name = request.param
    return name, extracts.prepared(name), extracts.run(name, levels=True), extracts.coverage(name)


def assert_same_coverage(read, made):
    for name in COVERAGE_LAYERS:
        assert (getattr(read, name) is None) == (getattr(made, name) is None), name
        if getattr(made, name) is not None:
            assert_same_frame(getattr(read, name), getattr(made, name), name)
    assert read.provenance == made.provenance
    assert read.summary() == made.summary() and read.summary("zh") == made.summary("zh")


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet"])
def test_a_plan_and_its_coverage_read_back_from_every_format_are_the_ones_written(pipeline, tmp_path, suffix):
    _, prepared, run, coverage = pipeline
    write_plan(run, prepared, tmp_path / f"plan{suffix}")
    write_coverage(coverage, tmp_path / f"coverage{suffix}")
    assert_same_run(read_plan(tmp_path / f"plan{suffix}"), run)
    assert_same_coverage(read_coverage(tmp_path / f"coverage{suffix}"), coverage)


def test_a_plan_and_its_coverage_read_back_from_postgis_are_the_ones_written(pipeline):
    dsn = database_url()
    _, prepared, run, coverage = pipeline
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    try:
        write_coverage(coverage, f"{dsn}#{name}", run=run, prepared=prepared)
        assert_same_run(read_plan(f"{dsn}#{name}"), run)
        assert_same_coverage(read_coverage(f"{dsn}#{name}"), coverage)
    finally:
        drop_plan(dsn, name)


def test_the_plan_records_the_settings_scene_and_generated_inputs(pipeline):
    _, prepared, run, coverage = pipeline
    assert run.plan.provenance.settings == prepared.settings == DEFAULTS
    assert run.plan.provenance.scene_fingerprint == prepared.fingerprint and len(prepared.fingerprint) == 64
    assert coverage.provenance.plan_fingerprint == run.plan.fingerprint()
    # OpenStreetMap has no party members or service points: both are a generated scenario, and say so
    assert coverage.generated == {"party_members": True, "service_points": True}


def html_text(page: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def popup_values(page: str, field: str) -> set[str]:
    return set(re.findall(rf'"{field}": "([^"]*)"', page))


def test_the_chinese_outputs_hold_no_raw_code_and_the_english_ones_no_chinese_label(pipeline, tmp_path):

    _, prepared, run, coverage = pipeline
    zh = html_text(plan_map(run, prepared, coverage).get_root().render())
    english_map = plan_map(run, prepared, coverage, lang="en")
    en = html_text(english_map.get_root().render())
    for field in ("kind", "branch_status", "grid_worker", "households", "data_source"):
        assert popup_values(zh, field) and not popup_values(zh, field) & CODES, field
        assert not any(is_chinese(v) for v in popup_values(en, field)), field
    layer_names = [c.layer_name for c in english_map._children.values() if getattr(c, "layer_name", None)]
    assert len(layer_names) > 5 and not any(is_chinese(n) for n in layer_names)

    paths = write_report(run.plan, tmp_path / "zh", coverage)
    table = pd.read_csv(paths[0], encoding="utf-8-sig", dtype=str)
    assert not set(table.columns) & {"grid_id", "kind", "branch_status", "households"}
    assert not set(table.stack()) & CODES
    english = pd.read_csv(write_report(run.plan, tmp_path / "en", coverage, lang="en")[0], dtype=str)
    assert not any(is_chinese(c) for c in english.columns)
    assert not any(
        is_chinese(v)
        for column in ("Kind", "Party organization", "Grid worker", "Data source")
        for v in english[column].dropna()
    )
    summary = paths[2].read_text(encoding="utf-8")
    assert not [code for code in CODES if f">{code}<" in summary]


def test_generated_inputs_are_labelled_in_every_output_a_person_reads(pipeline, tmp_path):

    _, prepared, run, coverage = pipeline
    page = html_text(plan_map(run, prepared, coverage).get_root().render())
    assert '"服务站点 (生成的模拟数据)"' in page and '"服务盲区 (生成的模拟数据)"' in page
    assert "生成的模拟数据: 党员名册、服务站点" in page  # legend and popups
    csv, _, summary = write_report(run.plan, tmp_path / "reports", coverage)
    sources = [label(s) + "；生成的模拟数据: 党员名册、服务站点" for s in grid_table(run.plan)["households_source"]]
    assert pd.read_csv(csv, encoding="utf-8-sig")["数据来源"].tolist() == sources
    assert 'class="generated">生成的模拟数据' in summary.read_text(encoding="utf-8")
    assert "GENERATED scenario data (seeded), not records: party member roll, service points" in coverage.summary("en")
    assert "生成的模拟数据（非登记记录）：党员名册、服务站点" in coverage.summary("zh")


def test_joint_branches_are_drawn_as_the_union_of_their_grids(tmp_path):
    """In memory a joint branch's grids are a list; read back they are the same list (the map once got text)."""
    scene = street_grid_scene(600, 400, [200, 400], [200], [[150, 150], [150, 150], [150, 150]])
    run = plan_scene(prepare_scene(scene))
    plan = run.plan
    homes = plan.assignment.groupby("grid_id")["building_id"].first()
    members = pd.DataFrame(
        {"member_id": ["a", "b", "c"], "building_id": homes.iloc[[0, 1, 2]].to_numpy(), "status": "full"}
    )
    recorded = prepare_scene(scene.replace(party_members=members))
    made = analyse_coverage(plan, recorded)
    assert made.joint_branches["grids"].map(len).tolist() == [3]
    write_coverage(made, tmp_path / "coverage.gpkg")
    for coverage in (made, read_coverage(tmp_path / "coverage.gpkg")):
        fmap = plan_map(run, recorded, coverage, lang="en")
        group = next(
            c for c in fmap._children.values() if getattr(c, "layer_name", "").startswith("Proposed joint branches")
        )
        layer = next(c for c in group._children.values() if hasattr(c, "data"))
        drawn = gpd.GeoDataFrame.from_features(layer.data["features"], crs=4326).to_crs(plan.grids.crs)
        assert np.isclose(drawn.area.sum(), plan.grids.area.sum(), rtol=0.01)


def test_nearest_service_is_the_true_walk_however_far(pipeline):

    _, prepared, _, coverage = pipeline
    service = coverage.service_coverage
    on = service["network_reach"] == NetworkReach.ON_NETWORK
    assert service.loc[on, "nearest_service_m"].notna().all()
    assert service.loc[~on, "nearest_service_m"].isna().all()
    far = service[on & (service["nearest_service_m"] > max(DEFAULTS.service.radii_m))]
    assert len(far) > 0 and far["blind_spot"].all()
    # the same distances from a search with no cutoff at all, point by point
    network = WalkingNetwork.from_streets(prepared.local.streets, DEFAULTS.service)
    points = coverage.service_points.to_crs(prepared.local_crs).geometry.to_numpy()
    at = far.to_crs(prepared.local_crs).geometry.representative_point().to_numpy()[:50]
    walk = network.distances(at, points, cutoff=1e9).toarray()
    walk[walk == 0] = np.inf
    assert np.allclose(walk.min(axis=1), far["nearest_service_m"].to_numpy()[:50])


def test_a_plan_made_with_another_target_is_reported_mapped_and_regenerated_against_its_own_bounds(tmp_path, capsys):
    scene = street_grid_scene(
        1500, 400, xs=[300, 600, 900, 1200], ys=[200], households=np.full((5, 2), 125), per_block=3
    )
    path = tmp_path / "scene.gpkg"
    write_layers(path, scene.layers())
    plan = tmp_path / "plan.gpkg"
    assert (
        main(["plan", str(path), "-o", str(plan), "--target", "250", "--tolerance", "0.1", "--lang", "en"]) == EXIT_OK
    )
    assert "within ±10% (225–275)" in capsys.readouterr().out

    assert main(["report", str(path), str(plan), "-o", str(tmp_path / "reports"), "--lang", "en"]) == EXIT_OK
    assert "the plan's (target 250, ±10%: 225–275 households)" in capsys.readouterr().out
    summary = (tmp_path / "reports" / "summary.html").read_text(encoding="utf-8")
    assert "Ordinary grids with 225–275 households" in summary
    assert main(["map", str(path), str(plan), "-o", str(tmp_path / "map.html"), "--lang", "en"]) == EXIT_OK
    legend = html_text((tmp_path / "map.html").read_text(encoding="utf-8")).split('class="gp-legend"')[1]
    assert "<span>225</span><span>250 households</span><span>275</span>" in legend
    assert (
        main(["plan", str(path), "-o", str(tmp_path / "again.gpkg"), "--previous", str(plan), "--lang", "en"])
        == EXIT_OK
    )
    out = capsys.readouterr().out
    assert "the previous plan's (target 250, ±10%: 225–275 households)" in out and "within ±10% (225–275)" in out
    assert read_plan(tmp_path / "again.gpkg").plan.settings.grid.target == 250
    # told otherwise, and it says so
    assert (
        main(["report", str(path), str(plan), "-o", str(tmp_path / "r300"), "--target", "300", "--lang", "en"])
        == EXIT_OK
    )
    assert "given on the command line (target 300" in capsys.readouterr().out


def test_a_scene_and_a_plan_that_do_not_belong_together_are_refused(tmp_path, capsys):
    scene = street_grid_scene(600, 200, xs=[200, 400], ys=[], households=[[300], [300], [300]])
    other = street_grid_scene(600, 200, xs=[200, 400], ys=[], households=[[300], [280], [300]])
    write_layers(tmp_path / "scene.gpkg", scene.layers())
    write_layers(tmp_path / "other.gpkg", other.layers())
    assert main(["plan", str(tmp_path / "scene.gpkg"), "-o", str(tmp_path / "plan.gpkg")]) == EXIT_OK
    assert main(["report", str(tmp_path / "other.gpkg"), str(tmp_path / "plan.gpkg"), "-o", str(tmp_path / "r")]) == 2
    assert "该方案由另一个场景生成" in capsys.readouterr().err


def test_regenerating_an_unchanged_scene_keeps_its_warnings():
    # a tower of 500 households is a grid of its own, named in a warning; it still is after regeneration
    scene = street_grid_scene(800, 200, xs=[200, 400, 600], ys=[], households=[[500], [300], [300], [300]], per_block=1)
    prepared = prepare_scene(scene)
    first = plan_scene(prepared).plan
    assert [w.code for w in first.warnings] == [WarningCode.OVERSIZE_UNIT]

    again = plan_scene(prepared, previous=PreviousPlan(first.assignment, first.grids, first.provenance)).plan
    assert again.warnings == first.warnings


# --------------------------------------------------------------------------------------------------
# Every settings group changes what it names


def test_household_settings_change_the_estimated_households(extracts):
    default = extracts.prepared("beijing")
    smaller = prepare_scene(extracts.scene("beijing"), DEFAULTS.with_households(dwelling_size_m2=60.0))
    total = default.local.buildings["households"].sum()
    assert smaller.local.buildings["households"].sum() == pytest.approx(total * 1.5, rel=0.02)


def test_grid_settings_change_the_grids():
    scene = prepare_scene(
        street_grid_scene(1500, 400, xs=[300, 600, 900, 1200], ys=[200], households=np.full((5, 2), 150))
    )
    assert len(plan_scene(scene).plan.grids) == 5
    assert len(plan_scene(scene, DEFAULTS.with_grid(target=150)).plan.grids) == 10


def test_party_settings_change_the_branches(extracts):
    prepared, plan = extracts.prepared("beijing"), extracts.run("beijing").plan
    default = analyse_coverage(plan, prepared).grid_party
    # ~16 generated members a grid (settings.PartySettings.member_share): above a maximum of 10, below the default 50
    stricter = analyse_coverage(plan, prepared, settings=DEFAULTS.with_party(max_branch_members=10)).grid_party
    assert (stricter["status"] == BranchStatus.TOO_LARGE).sum() > (default["status"] == BranchStatus.TOO_LARGE).sum()


def test_service_settings_reach_the_walking_network(extracts):
    prepared, plan = extracts.prepared("beijing"), extracts.run("beijing").plan
    default = analyse_coverage(plan, prepared).service_coverage
    near = analyse_coverage(plan, prepared, settings=DEFAULTS.with_service(max_snap_m=5.0)).service_coverage
    assert (near["network_reach"] == "off_network").sum() > (default["network_reach"] == "off_network").sum()
    wide = analyse_coverage(plan, prepared, settings=DEFAULTS.with_service(isochrone_buffer_m=100.0)).isochrones
    assert (
        wide.to_crs(prepared.local_crs).area.sum()
        > analyse_coverage(plan, prepared).isochrones.to_crs(prepared.local_crs).area.sum()
    )


def test_level_settings_change_the_micro_grids():
    scene = prepare_scene(street_grid_scene(600, 400, [200, 400], [200], [[150, 150]] * 3, per_block=6))
    default = plan_scene(scene, levels=True).levels.micro_grids
    larger = plan_scene(scene, DEFAULTS.with_levels(micro_min=40.0, micro_max=80.0), levels=True).levels.micro_grids
    assert len(larger) < len(default)


def test_the_seed_changes_the_generated_scenario(extracts):
    prepared, plan = extracts.prepared("beijing"), extracts.run("beijing").plan
    one = analyse_coverage(plan, prepared)
    other = analyse_coverage(plan, prepared, settings=dataclasses.replace(DEFAULTS, seed=7))
    assert one.grid_party["members"].tolist() != other.grid_party["members"].tolist()
    assert analyse_coverage(plan, prepared).grid_party.equals(one.grid_party)


def test_plan_objects_are_built_once():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Plan.__setattr__(
            plan_scene(prepare_scene(street_grid_scene(400, 200, [200], [], [[300], [300]]))).plan, "warnings", []
        )


def test_results_storage_maps_and_reports_import_without_the_engine():
    import subprocess
    import sys

    code = (
        "import sys, gridplan, gridplan.core.results, gridplan.io.store, gridplan.outputs.webmap, gridplan.outputs.report; "
        "print(sorted(m for m in ('ortools', 'gridplan.partition', 'gridplan.engine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_warnings_are_read_in_the_language_of_the_run(tmp_path):
    scene = street_grid_scene(800, 200, xs=[200, 400, 600], ys=[], households=[[500], [300], [300], [300]], per_block=1)
    prepared = prepare_scene(scene)
    run = plan_scene(prepared)
    (warning,) = run.plan.warnings
    assert (
        warning.text("en")
        == "block of 500 households exceeds the ceiling 360 and must stay whole: it is a grid of its own"
    )
    assert warning.text("zh") == "街区有 500 户，超过上限 360 户且不可分割：单独成为一个网格"
    assert "街区有 500 户" in run.summary("zh") and not is_chinese(run.summary("en"))
    write_plan(run, prepared, tmp_path / "plan.gpkg", lang="zh")

    assert read_layers(tmp_path / "plan.gpkg")["warnings"]["message"].tolist() == [warning.text("zh")]
    assert read_plan(tmp_path / "plan.gpkg").plan.warnings == run.plan.warnings


def test_map_and_report_take_the_layer_and_column_maps_the_plan_needed(tmp_path, capsys):
    scene = street_grid_scene(600, 200, xs=[200, 400], ys=[], households=[[300], [300], [300]])
    path = tmp_path / "scene.gpkg"
    write_layers(
        path,
        {
            "communities": scene.communities,
            "buildings": scene.buildings.rename(columns={"building_id": "bid"}),
            "roads": scene.streets,
        },
    )
    maps = ["--layer", "streets=roads", "--column", "buildings.bid=building_id"]
    assert main(["plan", str(path), "-o", str(tmp_path / "plan.gpkg"), *maps]) == EXIT_OK
    assert main(["map", str(path), str(tmp_path / "plan.gpkg"), "-o", str(tmp_path / "map.html"), *maps]) == EXIT_OK
    assert main(["report", str(path), str(tmp_path / "plan.gpkg"), "-o", str(tmp_path / "reports"), *maps]) == EXIT_OK
    assert len(pd.read_csv(tmp_path / "reports" / "grids.csv", encoding="utf-8-sig")) == 3


@pytest.mark.parametrize(
    "first",
    [
        "import gridplan.partition, gridplan.engine.regenerate",
        "from gridplan.partition import partition; from gridplan.engine.regenerate import regenerate",
        "import gridplan; gridplan.plan_scene(gridplan.prepare_scene(scene))",
        "from gridplan import partition, regenerate",
    ],
)
def test_no_exported_name_means_two_things_whatever_was_imported_first(first):
    """``gridplan.partition`` is the module, its function ``gridplan.partition.partition``; ``gridplan.regenerate`` the
    function (its module is ``gridplan.engine.regenerate``); calling the module, as before 0.2, plans with a warning."""
    import subprocess
    import sys

    code = (
        "import importlib, inspect, sys, warnings\n"
        "sys.path.insert(0, '.')\n"
        "from tests.support.scenes import street_grid_scene\n"
        "scene = street_grid_scene(400, 200, [200], [], [[300], [300]])\n"
        f"{first}\n"
        "import gridplan\n"
        "from gridplan import partition, regenerate\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    plan = gridplan.partition(gridplan.prepare_scene(scene))\n"
        "print(partition is importlib.import_module('gridplan.partition'), inspect.isfunction(partition.partition),\n"
        "      inspect.isfunction(regenerate), regenerate is sys.modules['gridplan.engine.regenerate'].regenerate,\n"
        "      len(plan.grids), [w.category.__name__ for w in caught])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "True", "2", "['DeprecationWarning']"]


@pytest.fixture(scope="module")
def small_plain():
    """A plain scene of two communities, its prepared twin and a plan of it; and a copy whose buildings 0 and 1
    share an id."""
    left = street_grid_scene(400, 200, [200], [], [[300], [300]])
    right = street_grid_scene(400, 200, [200], [], [[250], [350]], community_id="c2", origin=(600_400.0, 3_500_000.0))
    buildings = pd.concat(
        [left.buildings, right.buildings.assign(building_id="r" + right.buildings["building_id"])], ignore_index=True
    )
    scene = left.replace(
        communities=pd.concat([left.communities, right.communities], ignore_index=True), buildings=buildings
    )
    prepared = prepare_scene(scene)
    duplicated = buildings.copy()
    duplicated.loc[1, "building_id"] = duplicated.loc[0, "building_id"]
    return scene, prepared, plan_scene(prepared).plan, scene.replace(buildings=duplicated)


def _public_steps(plan):
    """Each public step that takes a scene, called on ``scene``."""

    previous = PreviousPlan(assignment=plan.assignment[["building_id", "grid_id"]], grids=plan.grids)
    return {
        "partition": lambda scene: partition(scene),
        "plan_scene": lambda scene: plan_scene(scene),
        "plan_communities": lambda scene: plan_communities(scene),
        "regenerate": lambda scene: regenerate(scene, previous),
        "analyse_coverage": lambda scene: analyse_coverage(plan, scene),
        "plan_levels": lambda scene: plan_levels(plan, scene),
        "audit_grids": lambda scene: audit_grids(scene, plan.grids),
    }


@pytest.mark.parametrize(
    "step",
    ["partition", "plan_scene", "plan_communities", "regenerate", "analyse_coverage", "plan_levels", "audit_grids"],
)
def test_a_plain_scene_with_errors_is_refused_by_every_public_step(small_plain, step):
    _, _, plan, duplicated = small_plain
    with pytest.raises(InputError, match="duplicate") as error:
        _public_steps(plan)[step](duplicated)
    assert "\n" not in str(error.value).strip()


def test_a_clean_plain_scene_plans_as_the_prepared_one(small_plain):
    scene, prepared, plan, _ = small_plain
    steps = _public_steps(plan)
    plain, made = steps["partition"](scene), steps["partition"](prepared)
    assert len(plain.grids) == len(made.grids) == 4
    assert_same_frame(plain.grids, made.grids, "grids")
    assert_same_frame(plain.assignment, made.assignment, "assignment")
    assert (
        dataclasses.replace(plain.provenance, created=made.provenance.created) == made.provenance
    )  # made a second apart
    assert steps["analyse_coverage"](scene).grid_party.equals(steps["analyse_coverage"](prepared).grid_party)


#: Ids a list column must keep whole: commas, quotes, brackets and Chinese punctuation.
ODD_IDS = ["和平里,一社区", 'the "old" one', "东城区，和平里；甲（北）、乙", "[c1]", "a\\b"]


def _with_odd_ids(coverage):
    """The coverage with three joint branches (联合党支部) whose grid and community ids hold odd characters."""
    odd = pd.DataFrame(
        {
            "branch_id": ["j1", "j2", "j3"],
            "communities": [[ODD_IDS[i], ODD_IDS[(i + 2) % 5]] for i in range(3)],
            "grids": [[ODD_IDS[i + 1], "g,2", ODD_IDS[(i + 3) % 5]] for i in range(3)],
            "full_members": [3, 4, 5],
            "members": [4, 5, 6],
        }
    )
    return dataclasses.replace(coverage, joint_branches=odd[list(coverage.joint_branches.columns)])


@pytest.mark.parametrize("target", ["gpkg", "postgis"])
def test_list_columns_keep_ids_with_commas_quotes_and_chinese_punctuation(extracts, tmp_path, target):
    made = _with_odd_ids(extracts.coverage("beijing"))
    if target == "gpkg":
        write_coverage(made, tmp_path / "coverage.gpkg")
        read = read_coverage(tmp_path / "coverage.gpkg")
    else:
        dsn, name = database_url(), f"odd_{uuid.uuid4().hex[:8]}"
        try:
            write_coverage(
                made, f"{dsn}#{name}", run=extracts.run("beijing", levels=True), prepared=extracts.prepared("beijing")
            )
            read = read_coverage(f"{dsn}#{name}")
        finally:
            drop_plan(dsn, name)
    for column in ("communities", "grids"):
        assert read.joint_branches[column].tolist() == made.joint_branches[column].tolist()


def test_list_columns_written_comma_joined_by_older_versions_are_still_read(extracts, tmp_path):
    layers = _with_odd_ids(extracts.coverage("beijing")).layers()
    joint = layers["joint_branches"].assign(grids=[["1-001", "1-002"], ["2-001"], ["3-001", "3-002", "3-003"]])
    layers["joint_branches"] = joint.assign(**{c: joint[c].map(",".join) for c in ("communities", "grids")})
    write_layers(tmp_path / "old.gpkg", layers)
    assert read_coverage(tmp_path / "old.gpkg").joint_branches["grids"].tolist() == joint["grids"].tolist()
