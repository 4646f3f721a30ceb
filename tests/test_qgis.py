"""QGIS: a plan's GeoPackage opens styled, and the Processing provider plans through the gridplan command.

QGIS runs as Debian packages it (``qgis``, ``python3-qgis``: QGIS 3.22, scripts/test-services.sh installs
them), headless, in the system's Python: PyQGIS is not in the venv and gridplan never imports it. One PyQGIS
worker per module opens the GeoPackages (tests/support/headless_qgis.py); each ``qgis_process`` run is a command
of its own, as users run it.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gridplan.io.qgis_styles import STYLE_NAME, layer_styles, write_layer_styles
from gridplan.io.store import LAYER_STYLES, plan_layers, read_layers, read_plan, write_plan
from gridplan.settings import DEFAULTS, GridSettings
from gridplan.style import DEVIATION_COLOURS, SPECIAL_COLOUR
from gridplan.vocabulary import GridKind

from .support.assertions import assert_same_run
from .support.headless_qgis import QgisWorker, qgis_env

#: Debian's /usr/bin/qgis_process wrapper passes the GUI's --noversioncheck, which qgis_process 3.22 refuses
#: ("Command --noversioncheck not known!", qgis/QGIS#57683): the executable itself, as the wrapper would run it.
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
REPO = Path(__file__).resolve().parents[1]
STYLED = ("grids", "areas", "micro_grids", "buildings")


@pytest.fixture(scope="module")
def beijing(extracts, tmp_path_factory):
    """The Beijing extract planned with levels (the session's plan) and written to a GeoPackage: prepared
    scene, run, file."""
    prepared, run = extracts.prepared("beijing"), extracts.run("beijing", levels=True)
    path = tmp_path_factory.mktemp("qgis") / "plan.gpkg"
    write_plan(run, prepared, path, lang="en")
    return prepared, run, path


@pytest.fixture(scope="module")
def qgis(tmp_path_factory) -> Iterator[QgisWorker]:
    """The module's headless QGIS, started once: every test's look at a GeoPackage is a request to it."""
    with QgisWorker(tmp_path_factory.mktemp("qgis_worker")) as worker:
        yield worker


def colour_share(png: Path, colour: str) -> float:
    """Share of the image's pixels within 2 levels per channel of ``colour``."""
    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(pixels - rgb).max(axis=2) <= 2).mean())


def class_colour(kind: str, households: float, grid) -> str:
    """The colour a grid should have: its class of households against the bounds, or the special colour."""
    if kind != GridKind.ORDINARY:
        return SPECIAL_COLOUR
    low, high = grid.tight_window
    edges = [households < grid.floor, households < low, households <= high, households <= grid.ceiling, True]
    return DEVIATION_COLOURS[edges.index(True)]


def test_the_layer_styles_table_holds_a_default_style_per_layer_with_the_plans_bounds(beijing):
    _, run, path = beijing
    with sqlite3.connect(path) as db:
        rows = db.execute(
            f"SELECT f_table_name, f_geometry_column, styleName, useAsDefault, styleQML FROM {LAYER_STYLES}"
        ).fetchall()
        registered = db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = ?", (LAYER_STYLES,)).fetchall()
    assert sorted(r[0] for r in rows) == sorted([*STYLED, "warnings"])
    assert all(r[1] == ("" if r[0] == "warnings" else "geom") and r[2] == STYLE_NAME and r[3] == 1 for r in rows)
    assert registered == [("attributes",)]
    g = run.plan.settings.grid
    assert (g.target, g.tolerance, g.floor, g.ceiling) == (300, 0.2, 240, 360)
    filters, legend = rules(next(r[4] for r in rows if r[0] == "grids"))
    assert filters[1:] == [
        f"\"kind\" = 'ordinary' AND {f}"
        for f in (
            '"households" < 240',
            '"households" >= 240 AND "households" < 270',
            '"households" >= 270 AND "households" <= 330',
            '"households" > 330 AND "households" <= 360',
            '"households" > 360',
        )
    ]
    assert legend[3] == "270–330 households (target 300 ±10%)"


def test_the_styles_follow_the_plans_own_target(beijing):
    prepared, run, _ = beijing
    grid = GridSettings(target=250, tolerance=0.1, tight_tolerance=0.05)
    filters, legend = rules(layer_styles(plan_layers(run, prepared, "zh"), grid, "zh")["grids"])
    assert filters[1].endswith('"households" < 225') and filters[-1].endswith('"households" > 275')
    assert legend[3] == "237.5–262.5 户（目标 250 户 ±5%）"


def rules(qml: str) -> tuple[list[str], list[str]]:
    """The filters and legend labels of a rule-based style."""
    found = ET.fromstring(qml).findall("./renderer-v2/rules/rule")
    return [r.get("filter") for r in found], [r.get("label") for r in found]


def test_a_styled_plan_reads_back_the_same(beijing):
    _, run, path = beijing
    assert LAYER_STYLES not in read_layers(path)
    assert_same_run(read_plan(path), run)


def test_restyling_replaces_gridplans_style_and_keeps_the_planners_own(beijing, tmp_path):
    prepared, run, path = beijing
    copy = tmp_path / "plan.gpkg"
    copy.write_bytes(path.read_bytes())
    with sqlite3.connect(copy) as db:
        db.execute(
            f"INSERT INTO {LAYER_STYLES} (f_table_name, styleName, styleQML, useAsDefault) VALUES ('grids', 'mine', '<qgis/>', 1)"
        )
    write_layer_styles(copy, {"grids": layer_styles(plan_layers(run, prepared), DEFAULTS.grid)["grids"]})
    with sqlite3.connect(copy) as db:
        rows = db.execute(
            f"SELECT styleName, useAsDefault FROM {LAYER_STYLES} WHERE f_table_name = 'grids' ORDER BY id"
        ).fetchall()
        count = db.execute(
            "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?", (LAYER_STYLES,)
        ).fetchone()
    assert rows == [("mine", 0), (STYLE_NAME, 1)]
    assert count == (len(STYLED) + 2,)  # the planner's style beside gridplan's, and the warnings table's


def test_qgis_opens_each_layer_with_its_stored_style(qgis, beijing):
    _, _, path = beijing
    seen = qgis.open(path, [*STYLED, "warnings"])
    assert all(seen[name]["valid"] for name in seen)
    grids = seen["grids"]
    assert grids["features"] == len(beijing[1].plan.grids)
    assert grids["renderer"] == "RuleRenderer"
    assert grids["colours"] == [SPECIAL_COLOUR, *DEVIATION_COLOURS]
    assert grids["rules"][0] == "\"kind\" <> 'ordinary'" and '"households" < 240' in grids["rules"][1]
    assert grids["legend"][3] == "270–330 households (target 300 ±10%)"
    assert grids["labels"] == 'coalesce("code", "grid_id")'
    assert seen["areas"]["renderer"] == "singleSymbol" and seen["areas"]["labels"] == '"area_id"'
    assert seen["areas"]["fills"] == [False] and seen["micro_grids"]["fills"] == [False]
    assert seen["buildings"]["colours"] == ["#e0e0e0"] and seen["buildings"]["features"] == 257
    warnings = seen["warnings"]
    assert warnings["renderer"] is None  # a table: nothing to draw; its columns named in the plan's language
    assert warnings["features"] == len(beijing[1].plan.warnings) > 0
    assert warnings["aliases"] == {
        "code": "Warning",
        "community_id": "Community",
        "grid_id": "Grid",
        "reason": "Reason",
        "figures": "Figures (JSON)",
        "message": "Message",
    }


def test_qgis_draws_each_grid_in_the_colour_of_its_class(qgis, beijing, tmp_path):
    _, run, path = beijing
    png = tmp_path / "grids.png"
    qgis.open(path, ["grids"], draw=png)
    grids = run.plan.grids
    expected = {class_colour(k, h, run.plan.settings.grid) for k, h in zip(grids["kind"], grids["households"])}
    assert expected == {SPECIAL_COLOUR, DEVIATION_COLOURS[2]}  # every ordinary grid of Beijing is within ±10%
    for colour in [SPECIAL_COLOUR, *DEVIATION_COLOURS]:
        share = colour_share(png, colour)
        assert (share > 0.01) if colour in expected else (share == 0), (colour, share)


def test_qgis_draws_the_five_classes_when_the_bounds_are_narrower(qgis, beijing, tmp_path):
    """The same grids against ±5% (tight ±2%) fall into every class: each colour is drawn."""
    prepared, run, path = beijing
    narrow = GridSettings(target=300, tolerance=0.05, tight_tolerance=0.02)
    copy = tmp_path / "plan.gpkg"
    copy.write_bytes(path.read_bytes())
    write_layer_styles(copy, {"grids": layer_styles(plan_layers(run, prepared), narrow)["grids"]})
    png = tmp_path / "grids.png"
    qgis.open(copy, ["grids"], draw=png)
    grids = run.plan.grids
    expected = {class_colour(k, h, narrow) for k, h in zip(grids["kind"], grids["households"])}
    assert expected == {SPECIAL_COLOUR, *DEVIATION_COLOURS}
    for colour in expected:
        assert colour_share(png, colour) > 0.005, colour


def test_the_packages_test_services_names_hold_qgis_process_pyqgis_and_processing():
    """Checked by what the packages install (dpkg -L), not by a green run on a machine that may have had them."""
    text = (REPO / "scripts" / "test-services.sh").read_text()
    named = text.split('QGIS_PACKAGES="', 1)[1].split('"', 1)[0].split()
    files = set()
    for package in named:
        listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
        assert listed.returncode == 0, f"{package} is not installed: {listed.stderr.strip()}"
        files |= set(listed.stdout.split())
    assert {
        "/usr/bin/qgis_process",
        "/usr/lib/python3/dist-packages/qgis/core/__init__.py",
        "/usr/share/qgis/python/plugins/processing/core/Processing.py",
    } <= files


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory) -> Path:
    """The plugin as `make qgis-plugin` packages it."""
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        ["make", "-C", str(REPO), "qgis-plugin", f"DIST={dist}", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return dist / "gridplan_processing.zip"


@pytest.fixture(scope="module")
def qgis_with_plugin(plugin_zip, tmp_path_factory):
    """Run qgis_process with the plugin installed from its zip (as Plugins → Install from ZIP does) and enabled,
    calling this checkout's gridplan: ``run(arguments, **env)`` → the completed process."""
    home = tmp_path_factory.mktemp("qgis_home")
    with zipfile.ZipFile(plugin_zip) as z:
        z.extractall(home / "plugins")
    env = qgis_env(home) | {
        "QGIS_PLUGINPATH": str(home / "plugins"),
        "GRIDPLAN_EXECUTABLE": shlex.join([sys.executable, "-m", "gridplan.cli"]),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }

    def run(arguments, **changes):
        return subprocess.run(
            [QGIS_PROCESS, *arguments], env=env | changes, capture_output=True, text=True, timeout=600
        )

    enabled = run(["plugins", "enable", "gridplan_processing"])
    assert enabled.returncode == 0, enabled.stderr
    return run


def test_the_plugin_zip_holds_the_plugin_folder_at_its_root(plugin_zip):
    names = zipfile.ZipFile(plugin_zip).namelist()
    assert {"gridplan_processing/metadata.txt", "gridplan_processing/__init__.py"} <= set(names)
    assert all(n.startswith("gridplan_processing/") and "__pycache__" not in n for n in names)
    metadata = zipfile.ZipFile(plugin_zip).read("gridplan_processing/metadata.txt").decode()
    assert "hasProcessingProvider=yes" in metadata and "qgisMinimumVersion=3.22" in metadata


def test_the_toolbox_offers_plan_regenerate_audit_and_coverage(qgis_with_plugin):
    listed = qgis_with_plugin(["list"])
    assert listed.returncode == 0, listed.stderr
    ids = {line.split()[0] for line in listed.stdout.splitlines() if line.strip().startswith("gridplan:")}
    assert ids == {"gridplan:plan", "gridplan:regenerate", "gridplan:audit", "gridplan:coverage"}


def run_algorithm(qgis_process, algorithm: str, **parameters) -> dict:
    done = qgis_process(["--json", "run", algorithm, "--", *(f"{k}={v}" for k, v in parameters.items())])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout)


def test_the_plan_algorithm_plans_a_real_extract_through_the_gridplan_command(
    qgis_with_plugin, qgis, beijing, shared_data, tmp_path
):
    _, run, _ = beijing
    output = tmp_path / "plan.gpkg"
    result = run_algorithm(
        qgis_with_plugin,
        "gridplan:plan",
        LANG=1,
        LEVELS=1,
        OUTPUT=output,
        SCENE=shared_data / "beijing_xueyuanlu_osm/beijing_xueyuanlu.osm",
    )
    assert any("-m gridplan.cli plan" in line for line in result["log"]["info"])
    assert result["results"] == {
        "OUTPUT": str(output),
        **{name.upper(): f"{output}|layername={name}" for name in STYLED},
    }
    planned = read_plan(output)
    assert len(planned.plan.grids) == len(run.plan.grids) and len(planned.plan.assignment) == 257
    assert planned.plan.grids["households"].sum() == run.plan.grids["households"].sum()
    seen = qgis.open(output, STYLED)
    assert seen["grids"]["renderer"] == "RuleRenderer" and seen["buildings"]["features"] == 257


def test_regenerate_takes_the_plan_algorithms_output_as_its_previous_plan(
    qgis_with_plugin, beijing, shared_data, tmp_path
):
    _, run, path = beijing
    output = tmp_path / "again.gpkg"
    result = run_algorithm(
        qgis_with_plugin,
        "gridplan:regenerate",
        LANG=1,
        PREVIOUS=path,
        OUTPUT=output,
        SCENE=shared_data / "beijing_xueyuanlu_osm/beijing_xueyuanlu.osm",
    )
    assert result["results"]["BUILDING_CHANGES"] == f"{output}|layername=building_changes"
    again = read_plan(output)
    assert again.changes is not None and again.changes.kept_share == 1.0  # nothing changed: every building stays
    assert sorted(again.plan.grids["grid_id"]) == sorted(run.plan.grids["grid_id"])


def test_without_the_gridplan_command_the_algorithm_fails_saying_where_to_set_it(
    qgis_with_plugin, shared_data, tmp_path
):
    done = qgis_with_plugin(
        [
            "run",
            "gridplan:plan",
            "--",
            f"SCENE={shared_data / 'beijing_xueyuanlu_osm/beijing_xueyuanlu.osm'}",
            f"OUTPUT={tmp_path / 'plan.gpkg'}",
        ],
        GRIDPLAN_EXECUTABLE="",
        PATH="/usr/bin:/bin",
    )
    assert done.returncode != 0
    assert "GRIDPLAN_EXECUTABLE" in done.stdout + done.stderr
    assert not (tmp_path / "plan.gpkg").exists()


def test_the_audit_algorithm_writes_the_audited_grids_styled_against_the_bounds(
    qgis_with_plugin, qgis, beijing, shared_data, tmp_path
):
    _, run, path = beijing
    output = tmp_path / "audit.gpkg"
    result = run_algorithm(
        qgis_with_plugin,
        "gridplan:audit",
        LANG=1,
        EXISTING=path,
        OUTPUT=output,
        TOLERANCE=0.1,
        SCENE=shared_data / "beijing_xueyuanlu_osm/beijing_xueyuanlu.osm",
    )
    assert result["results"]["GRIDS"] == f"{output}|layername=grids"
    seen = qgis.open(output, ["grids"])["grids"]
    assert seen["features"] == len(run.plan.grids)
    # against ±10%, whose tight band is the bounds themselves: no class between them and the target's
    assert seen["colours"] == [SPECIAL_COLOUR, DEVIATION_COLOURS[0], DEVIATION_COLOURS[2], DEVIATION_COLOURS[4]]
    assert seen["rules"][1].endswith('"households" < 270') and seen["rules"][-1].endswith('"households" > 330')
