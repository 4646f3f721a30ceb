"""The command line: import → validate → plan on the real extracts, exit codes, one-line errors."""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import shutil
import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest

import gridplan.cli.planning
from gridplan.cli import EXIT_INPUT, EXIT_OK, main
from gridplan.io.store import write_layers

from .support.scenes import street_grid_scene

EXTRACTS_WITH_STREETS = {
    # extract: (source file, buildings kept by the import)
    "nanjing": ("nanjing_xinjiekou_osm/nanjing_xinjiekou.osm", 1277),
    "beijing": ("beijing_xueyuanlu_osm/beijing_xueyuanlu.osm", 257),
    "shanghai": ("shanghai_bund_lujiazui_osm_tiles/data.gpkg", 1321),
    "wuhan": ("wuhan_guanggu_osm_tiles/data.gpkg", 234),
}


@pytest.mark.parametrize("name", sorted(EXTRACTS_WITH_STREETS))
def test_import_osm_then_validate_reports_counts(name, shared_data, tmp_path, capsys):
    source, buildings = EXTRACTS_WITH_STREETS[name]
    scene = tmp_path / f"{name}.gpkg"
    assert main(["import-osm", str(shared_data / source), "-o", str(scene)]) == EXIT_OK
    layers = {row[0] for row in pyogrio.list_layers(scene)}
    assert {"communities", "buildings", "streets"} <= layers
    assert pyogrio.read_info(scene, layer="buildings")["features"] == buildings
    capsys.readouterr()

    assert main(["validate", str(scene), "--lang", "en"]) == EXIT_OK
    report = capsys.readouterr().out
    assert "0 errors" in report
    row = next(line.split() for line in report.splitlines() if line.strip().startswith("buildings "))
    # in, out, excluded: every building accounted for
    assert [int(x.replace(",", "")) for x in row[1:4]] == [buildings, buildings, 0]
    assert main(["validate", str(scene)]) == EXIT_OK  # the same in Chinese, the default
    report = capsys.readouterr().out
    assert report.startswith("场景检查：错误 0 项") and "errors" not in report
    row = next(line.split() for line in report.splitlines() if line.strip().startswith("建筑 "))
    assert [int(x.replace(",", "")) for x in row[1:4]] == [buildings, buildings, 0]


@pytest.fixture(scope="module")
def beijing(shared_data, tmp_path_factory):
    """Beijing imported and planned (with its map, in English) by the command line once: the folder, the scene
    file, the plan file and what ``plan`` printed."""
    folder = tmp_path_factory.mktemp("cli")
    scene, plan = folder / "beijing.gpkg", folder / "plan.gpkg"
    assert main(["import-osm", str(shared_data / EXTRACTS_WITH_STREETS["beijing"][0]), "-o", str(scene)]) == EXIT_OK
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert (
            main(["plan", str(scene), "-o", str(plan), "--map", str(folder / "plan.html"), "--lang", "en"]) == EXIT_OK
        )
    return folder, scene, plan, out.getvalue()


def test_plan_writes_grids_and_buildings_layers(beijing, tmp_path):
    folder, scene, plan, out = beijing
    assert "within ±10%" in out
    grids = gpd.read_file(plan, layer="grids")
    buildings = gpd.read_file(plan, layer="buildings")
    assert {"grid_id", "community_id", "households"} <= set(grids.columns)
    assert len(buildings) == 257 and buildings["grid_id"].isin(grids["grid_id"]).all()
    assert grids["households"].sum() == buildings["households"].sum()
    assert (folder / "plan.html").read_text(encoding="utf-8").count("grid_id") >= 1

    assert main(["map", str(scene), str(plan), "-o", str(tmp_path / "again.html"), "--lang", "en"]) == EXIT_OK
    html = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert "Households vs target" in html and all(g in html for g in grids["grid_id"])


def test_plan_loads_no_map_library_unless_a_map_is_asked_for(tmp_path):
    """``gridplan plan`` imports what planning needs: folium, branca, jinja2, matplotlib and the spreadsheet
    reader (about 0.5 s of a run) only with ``--map`` (folium) or the commands that draw and read registers."""
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]]).layers())
    report = "print(' '.join(m for m in ('folium', 'branca', 'jinja2', 'matplotlib', 'openpyxl') if m in sys.modules))"
    loaded = {}
    for name, extra in (("plain", []), ("map", ["--map", str(tmp_path / "map.html")])):
        argv = ["plan", str(scene_path), "-o", str(tmp_path / f"{name}.gpkg"), *extra]
        code = f"import sys; from gridplan.cli import main; assert main({argv!r}) == 0; {report}"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        loaded[name] = set(out.splitlines()[-1].split())
    assert loaded["plain"] == set() and {"folium", "branca", "jinja2"} <= loaded["map"]
    assert (tmp_path / "plain.gpkg").is_file() and (tmp_path / "map.html").stat().st_size > 10_000


def test_plan_with_previous_writes_the_changes(tmp_path, capsys):
    scene_path = tmp_path / "scene.gpkg"
    scene = street_grid_scene(800, 400, xs=[200, 400, 600], ys=[200], households=[[150, 150]] * 4)
    for name, layer in scene.layers().items():
        layer.to_file(scene_path, layer=name)
    assert main(["plan", str(scene_path), "-o", str(tmp_path / "old.gpkg")]) == EXIT_OK
    assert (
        main(
            [
                "plan",
                str(scene_path),
                "-o",
                str(tmp_path / "new.gpkg"),
                "--previous",
                str(tmp_path / "old.gpkg"),
                "--lang",
                "en",
            ]
        )
        == EXIT_OK
    )
    assert "100.0% of buildings kept their grid" in capsys.readouterr().out
    changes = gpd.read_file(tmp_path / "new.gpkg", layer="grid_changes")
    assert set(changes["change"]) == {"unchanged"} and len(changes) == 4
    old = gpd.read_file(tmp_path / "old.gpkg", layer="grids").sort_values("grid_id")
    new = gpd.read_file(tmp_path / "new.gpkg", layer="grids").sort_values("grid_id")
    assert old["code"].tolist() == new["code"].tolist()


def test_plan_to_geojson_writes_one_file_per_layer(tmp_path, capsys):
    scene_path = tmp_path / "scene.gpkg"
    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]])
    for name, layer in scene.layers().items():
        layer.to_file(scene_path, layer=name)
    assert main(["plan", str(scene_path), "-o", str(tmp_path / "plan.geojson")]) == EXIT_OK
    grids = gpd.read_file(tmp_path / "plan.grids.geojson")
    assert sorted(grids["households"]) == [300, 300]


def test_plan_map_takes_the_options_of_map(tmp_path, capsys):
    scene_path = tmp_path / "scene.gpkg"
    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]])
    for name, layer in scene.layers().items():
        layer.to_file(scene_path, layer=name)
    html = tmp_path / "plan.html"
    assert (
        main(
            [
                "plan",
                str(scene_path),
                "-o",
                str(tmp_path / "plan.gpkg"),
                "--map",
                str(html),
                "--lang",
                "en",
                "--basemap",
                "gaode",
                "--simplify",
                "0",
            ]
        )
        == EXIT_OK
    )
    text = html.read_text(encoding="utf-8")
    assert "autonavi.com" in text and '"Grids"' in text and "网格" not in text
    capsys.readouterr()
    for lang, said in (("en", "gridplan: error: offline means no tiles"), ("zh", "gridplan: 错误：离线地图不加载瓦片")):
        assert (
            main(
                [
                    "plan",
                    str(scene_path),
                    "-o",
                    str(tmp_path / "plan2.gpkg"),
                    "--map",
                    str(tmp_path / "x.html"),
                    "--basemap",
                    "osm",
                    "--offline",
                    "--lang",
                    lang,
                ]
            )
            == EXIT_INPUT
        )
        err = capsys.readouterr().err
        assert said in err and ("offline" not in err.split("gridplan: ")[-1]) == (lang == "zh")
    # a plan's map has no coverage to open on: refused before the plan is made
    assert (
        main(
            [
                "plan",
                str(scene_path),
                "-o",
                str(tmp_path / "plan3.gpkg"),
                "--map",
                str(tmp_path / "x.html"),
                "--view",
                "party",
                "--lang",
                "en",
            ]
        )
        == EXIT_INPUT
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the party view shows a plan's coverage" in err
    assert not (tmp_path / "plan3.gpkg").exists()


def test_missing_scene_is_exit_2_with_one_line(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nothing.gpkg"), "--lang", "en"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err


def test_missing_layer_is_named(tmp_path, capsys):
    path = tmp_path / "scene.gpkg"
    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]])
    scene.communities.to_file(path, layer="communities")
    scene.buildings.to_file(path, layer="buildings")
    assert main(["validate", str(path)]) == EXIT_INPUT
    assert "没有 'streets' 图层" in capsys.readouterr().err


def test_layer_and_column_maps(tmp_path, capsys):
    path = tmp_path / "scene.gpkg"
    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]])
    scene.communities.to_file(path, layer="communities")
    scene.buildings.rename(columns={"building_id": "bid"}).to_file(path, layer="buildings")
    scene.streets.to_file(path, layer="roads")
    assert main(["validate", str(path), "--layer", "streets=roads", "--column", "buildings.bid=building_id"]) == EXIT_OK


def test_bad_households_fail_unless_repaired(tmp_path, capsys):
    path = tmp_path / "scene.gpkg"
    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]])
    buildings = scene.buildings.copy()
    buildings["households"] = buildings["households"].astype(float)
    buildings.loc[0, "households"] = -5
    scene.communities.to_file(path, layer="communities")
    buildings.to_file(path, layer="buildings")
    scene.streets.to_file(path, layer="streets")
    assert main(["validate", str(path)]) == EXIT_INPUT
    assert "bad_households" in capsys.readouterr().err
    assert main(["validate", str(path), "--repair-households"]) == EXIT_OK
    assert "households_repaired" in capsys.readouterr().out


@pytest.mark.parametrize("lang, words", [("zh", "已中断"), ("en", "interrupted")])
def test_ctrl_c_ends_in_one_line_and_exit_130(tmp_path, capsys, monkeypatch, lang, words):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module("gridplan.pipeline"), "partition", interrupted)
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]]).layers())
    assert main(["plan", str(scene_path), "-o", str(tmp_path / "plan.gpkg"), "--lang", lang]) == 130
    err = capsys.readouterr().err
    assert err == f"gridplan: {words}\n"
    assert not (tmp_path / "plan.gpkg").exists()


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """``gridplan validate … | head``: the pipe is closed before gridplan prints; no traceback, no error line."""
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]]).layers())
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from gridplan.cli import main; sys.exit(main())",
            "validate",
            str(scene_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141 and err == ""


def test_internal_error_is_exit_1_without_traceback(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(importlib.import_module("gridplan.pipeline"), "partition", broken)
    scene_path = tmp_path / "scene.gpkg"
    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]])
    for name, layer in scene.layers().items():
        layer.to_file(scene_path, layer=name)
    assert main(["plan", str(scene_path), "-o", str(tmp_path / "plan.gpkg"), "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "Traceback" not in err
    assert main(["plan", str(scene_path), "-o", str(tmp_path / "plan.gpkg")]) == 1
    err = capsys.readouterr().err
    assert "gridplan: 内部错误：RuntimeError: boom" in err and "Traceback" not in err


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == EXIT_INPUT
    assert "import-osm" in capsys.readouterr().out


def test_coverage_then_map_and_report_with_it(beijing, tmp_path, capsys):
    _, scene, made, _ = beijing
    plan = tmp_path / "plan.gpkg"
    shutil.copy(made, plan)
    coverage = tmp_path / "coverage.gpkg"
    assert (
        main(["coverage", str(scene), str(plan), "-o", str(coverage), "--new-service-points", "2", "--lang", "en"])
        == EXIT_OK
    )
    out = capsys.readouterr().out
    assert "GENERATED scenario data" in out and "households linked" in out
    layers = {row[0] for row in pyogrio.list_layers(coverage)}
    assert {
        "grid_party",
        "joint_branches",
        "member_links",
        "service_coverage",
        "isochrones",
        "proposed_sites",
    } <= layers
    grid_party = gpd.read_file(coverage, layer="grid_party")
    grids = gpd.read_file(plan, layer="grids")
    assert sorted(grid_party["grid_id"]) == sorted(grids["grid_id"])
    assert {"full_members", "probationary_members", "status"} <= set(grid_party.columns)
    links = gpd.read_file(coverage, layer="member_links")
    assert links.groupby("member_id")["households"].sum().max() <= 10
    assert len(gpd.read_file(coverage, layer="proposed_sites")) == 2

    html = tmp_path / "map.html"
    assert main(["plan", str(scene), "-o", str(plan), "--levels"]) == EXIT_OK  # same plan, with areas and micro-grids
    micro = gpd.read_file(plan, layer="micro_grids")
    assert (
        micro.groupby("grid_id")["households"].sum().sort_index().tolist()
        == grids.set_index("grid_id")["households"].sort_index().tolist()
    )
    assert main(["map", str(scene), str(plan), str(coverage), "-o", str(html), "--offline"]) == EXIT_OK
    assert "micro_grid_id" in html.read_text(encoding="utf-8")  # the micro-grid layer (its label is \u-escaped)
    text = html.read_text(encoding="utf-8")
    member_ids = links["member_id"].unique()[:20]
    assert not any(m in text for m in member_ids)  # privacy: members aggregated by default
    assert main(["report", str(scene), str(plan), str(coverage), "-o", str(tmp_path / "reports")]) == EXIT_OK
    table = __import__("pandas").read_csv(tmp_path / "reports" / "grids.csv")
    assert len(table) == len(grids)


def test_every_command_explains_itself_with_help(capsys):
    main([])
    commands = re.findall(r"^    ([a-z][a-z-]+)\s", capsys.readouterr().out, re.M)
    assert {"plan", "validate", "import-osm", "import-register", "map"} <= set(commands)
    assert "import-register" in commands  # a name its help spreads over two lines
    for command in commands:
        assert main([command, "--help"]) == EXIT_OK, command
        assert f"usage: gridplan {command}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "lang, words",
    [
        (
            "en",
            "settings: the previous plan records none (no provenance layer), so the defaults (target 300, ±20%: 240–360 households)",
        ),
        ("zh", "设置：上一方案未记录设置（无 provenance 图层），使用默认设置（目标 300 户，±20%：240–360 户）"),
    ],
)
def test_a_previous_plan_without_provenance_is_said_to_give_the_defaults(tmp_path, capsys, lang, words):
    """A hand-made or old plan file records no settings: the run says the defaults apply, not "the plan's"."""
    scene_path, made, old = tmp_path / "scene.gpkg", tmp_path / "plan.gpkg", tmp_path / "old.gpkg"
    write_layers(scene_path, street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]]).layers())
    assert main(["plan", str(scene_path), "-o", str(made), "--target", "250", "--tolerance", "0.1"]) == EXIT_OK
    layers = [name for name, _ in pyogrio.list_layers(made) if name != "provenance"]
    write_layers(old, {name: gpd.read_file(made, layer=name) for name in layers})
    capsys.readouterr()
    assert (
        main(["plan", str(scene_path), "--previous", str(old), "-o", str(tmp_path / "again.gpkg"), "--lang", lang])
        == EXIT_OK
    )
    assert words in capsys.readouterr().out.splitlines()
    assert (
        main(["plan", str(scene_path), "--previous", str(made), "-o", str(tmp_path / "kept.gpkg"), "--lang", lang])
        == EXIT_OK
    )
    kept = capsys.readouterr().out
    assert (
        "沿用上一方案的设置（目标 250 户，±10%：225–275 户）"
        if lang == "zh"
        else "settings: the previous plan's (target 250, ±10%: 225–275 households)"
    ) in kept
    assert (
        main(["coverage", str(scene_path), str(old), "-o", str(tmp_path / "coverage.gpkg"), "--lang", lang]) == EXIT_OK
    )
    assert (
        words.replace("上一方案", "方案").replace("the previous plan", "the plan")
        in capsys.readouterr().out.splitlines()
    )


def test_library_warnings_stay_off_a_planners_screen_and_show_with_debug(tmp_path, capsys, monkeypatch):
    import warnings

    scene_path = tmp_path / "scene.gpkg"
    for name, layer in street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]]).layers().items():
        layer.to_file(scene_path, layer=name)
    real = gridplan.cli.planning.validate_scene

    def noisy(*args, **kwargs):
        warnings.warn("a library's FutureWarning", FutureWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(gridplan.cli.planning, "validate_scene", noisy)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert main(["validate", str(scene_path)]) == EXIT_OK
    assert not [w for w in shown if issubclass(w.category, FutureWarning)]
    with pytest.warns(FutureWarning, match="a library's"):
        assert main(["--debug", "validate", str(scene_path)]) == EXIT_OK
