"""The package as a maintainer and a new user meet it: its layers, its typed public face, its examples, its lint,
and the wheel a clean environment installs and runs."""

from __future__ import annotations

import ast
import configparser
import doctest
import inspect
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import gridplan
from gridplan.partition import partition

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gridplan"
BIN = Path(sys.executable).parent
SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg", encoding="utf-8")

#: The public verbs: every function ``gridplan`` exports, and the engine's own call.
VERBS = {name: getattr(gridplan, name) for name in gridplan.__all__ if inspect.isfunction(getattr(gridplan, name))}
VERBS["partition.partition"] = partition
#: Third-party packages a function may import where it needs them: optional extras (dask, sqlalchemy) and the
#: OpenStreetMap readers only an import needs (osmnx, pyrosm: seconds to load), scikit-learn (a second to load,
#: which every ``gridplan plan`` paid) only for generated service points, and folium-offline, whose absence is
#: told in one line.
LAZY_ALLOWED = {"dask", "sqlalchemy", "osmnx", "pyrosm", "sklearn", "offlinefolium"}


def run(*command: str | Path, **options) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, **options)


@pytest.mark.parametrize("name", sorted(VERBS))
def test_every_public_verb_has_an_example_that_runs(name):
    verb = VERBS[name]
    assert "\n    Examples\n    --------\n" in verb.__doc__, f"{name} has no numpydoc Examples section"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in doctest.DocTestFinder(recurse=False).find(verb, name, globs={}):
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    assert results.attempted >= 3 and results.failed == 0, "".join(report)


def test_the_layers_hold_and_every_module_is_in_one():
    out = run(BIN / "lint-imports", cwd=ROOT)
    assert out.returncode == 0 and "2 kept, 0 broken" in out.stdout, out.stdout[-2000:]
    layers = {
        name.strip()
        for line in SETUP["importlinter:contract:layers"]["layers"].split("\n")
        for name in line.replace(":", "|").split("|")
        if name.strip()
    }
    tops = {
        f"gridplan.{p.stem if p.is_file() else p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__")) or (p / "__init__.py").is_file()
    }
    assert tops == layers, (
        f"modules outside the layers: {sorted(tops - layers)}; layers of nothing: {sorted(layers - tops)}"
    )


def test_no_function_imports_what_it_could_import_at_the_top():
    lazy = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    lazy += [(path, node.lineno, alias.name) for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    lazy.append((path, node.lineno, "." * node.level + (node.module or "")))
    wrong = [
        f"{p.relative_to(ROOT)}:{line} {module}" for p, line, module in lazy if module.split(".")[0] not in LAZY_ALLOWED
    ]
    assert lazy and not wrong, f"function-level imports of what is no optional heavy dependency: {wrong}"


def test_ruff_finds_nothing_to_lint_or_format():
    lint = run(BIN / "ruff", "check", "gridplan", "tests", "benchmarks", cwd=ROOT)
    assert lint.returncode == 0, lint.stdout[-3000:]
    formatted = run(BIN / "ruff", "format", "--check", "gridplan", "tests", "benchmarks", cwd=ROOT)
    assert formatted.returncode == 0, formatted.stdout[-3000:]


def test_type_checkers_see_the_public_api(tmp_path):
    assert (PACKAGE / "py.typed").is_file()
    (tmp_path / "use.py").write_text(
        "import gridplan\n"
        "from gridplan import RunOptions, load_scene, plan_scene\n"
        "run = plan_scene(load_scene('scene.gpkg'), options=RunOptions(workers=2))\n"
        "reveal_type(run.plan)\n"
        "reveal_type(gridplan.partition.partition)\n"
        "reveal_type(gridplan.verify_plan)\n"
        "plan_scene(load_scene('scene.gpkg'), workers=2)\n",
        encoding="utf-8",
    )
    out = run(
        sys.executable,
        "-m",
        "mypy",
        "--follow-imports=silent",
        "--ignore-missing-imports",
        "--cache-dir",
        tmp_path / "cache",
        "use.py",
        cwd=tmp_path,
        env=os.environ | {"MYPYPATH": str(ROOT)},
    )
    revealed = [line.split("Revealed type is ", 1)[1] for line in out.stdout.splitlines() if "Revealed type is" in line]
    assert revealed[0] == '"gridplan.core.results.Plan"', out.stdout
    assert "options: gridplan.settings.RunOptions" in revealed[1] and revealed[1].endswith(
        '-> gridplan.core.results.Plan"'
    )
    assert revealed[2].endswith('-> gridplan.review.verify.Verification"')
    # a misused option is caught before the code runs: the old keyword no longer exists
    assert 'Unexpected keyword argument "workers" for "plan_scene"' in out.stdout


def test_type_checkers_see_every_exported_name_where_it_loads_from():
    """The typed import block of ``gridplan/__init__.py`` names each exported name from the module it loads from."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    typed = {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {name: f"gridplan.{where}" for name, where in gridplan._WHERE.items()} == {
        name: module for name, module in typed.items() if name != "partition"
    }


def test_old_module_paths_import_the_moved_module_with_a_deprecation_warning():
    code = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import gridplan.osm, gridplan.maps\n"
        "    from gridplan.synthetic import generate_district\n"
        "import gridplan.io.osm, gridplan.outputs.webmap, gridplan.scenarios.district\n"
        "print(gridplan.osm is gridplan.io.osm, gridplan.maps is gridplan.outputs.webmap,\n"
        "      generate_district is gridplan.scenarios.district.generate_district,\n"
        "      gridplan.io.osm.__spec__.name == 'gridplan.io.osm',\n"
        "      sorted({str(w.message).split(' ')[0] for w in caught if w.category is DeprecationWarning}))\n"
    )
    out = run(sys.executable, "-c", code, cwd=ROOT)
    assert out.stdout.strip().split(None, 4) == [
        "True",
        "True",
        "True",
        "True",
        "['gridplan.maps', 'gridplan.osm', 'gridplan.synthetic']",
    ], out.stderr


def test_version_licence_and_changelog_agree_with_setup_cfg():
    version = SETUP["metadata"]["version"]
    out = run(BIN / "gridplan", "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"gridplan {version}"
    assert SETUP["metadata"]["license"] == "MIT" and (ROOT / "LICENSE").read_text(encoding="utf-8").startswith(
        "MIT License"
    )
    assert f"## {version}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_the_wheel_and_sdist_pass_twine_and_the_wheel_runs_the_demo_in_a_venv_of_its_own(tmp_path):
    """Built without build isolation (no network): the sdist and the wheel, checked by twine; the wheel installed
    with no dependencies into a new venv that sees this one's dependencies but not its gridplan, and its own
    ``gridplan demo`` run there (the package data, the entry point and every subpackage come from the wheel)."""
    dist = tmp_path / "dist"
    built = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    files = sorted(dist.iterdir(), key=lambda p: p.suffix)  # the sdist (.gz), then the wheel
    assert [p.suffix for p in files] == [".gz", ".whl"]
    twine = run(BIN / "twine", "check", "--strict", *files)
    assert twine.returncode == 0 and twine.stdout.count("PASSED") == 2, twine.stdout
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    installed = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", files[1]
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    where = run(python, "-c", "import gridplan; print(gridplan.__file__)", cwd=tmp_path)
    assert where.stdout.strip().startswith(str(site)), where.stdout + where.stderr
    demo = run(env / "bin" / "gridplan", "demo", "--lang", "en", "--out", "out", "--map", "demo.html", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert (tmp_path / "demo.html").stat().st_size > 100_000 and (tmp_path / "out" / "plan.gpkg").is_file()
    assert "grids" in demo.stdout
    # the editor's page comes from the wheel too
    page = (
        "from importlib import resources; print(*(resources.files('gridplan.editor').joinpath('static', n)"
        ".read_text(encoding='utf-8')[:15] for n in ('index.html', 'editor.js', 'editor.css')), sep='|')"
    )
    shipped = run(python, "-c", page, cwd=tmp_path)
    assert shipped.returncode == 0 and shipped.stdout.startswith("<!DOCTYPE html>|"), shipped.stdout + shipped.stderr
