"""One language per run: every input error gridplan raises has its Chinese, and a run in Chinese (the default)
prints it with no English left in it; a run in English prints the English line."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest

import gridplan
from gridplan.core.scene import LAYERS
from gridplan.errors import InfeasibleError, InputError
from gridplan.io.store import write_layers

from .support.cli import assert_one_line_error, run
from .support.scenes import street_grid_scene

PACKAGE = Path(gridplan.__file__).resolve().parent
ERRORS = {"InputError", "InfeasibleError"}


def constructions_without_zh(path: Path) -> list[str]:
    """``file:line`` of every call constructing an InputError or InfeasibleError without a ``zh`` keyword."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ERRORS and not any(k.arg == "zh" for k in node.keywords):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_every_input_or_infeasible_error_is_constructed_with_its_chinese():
    modules = sorted(PACKAGE.rglob("*.py"))
    scanned = sum(
        len(re.findall(r"\b(?:InputError|InfeasibleError)\(", p.read_text(encoding="utf-8"))) for p in modules
    )
    offenders = [site for path in modules for site in constructions_without_zh(path)]
    assert scanned > 100, scanned  # the scan sees the package's errors, not an empty folder
    assert not offenders, f"errors without zh= (a run in Chinese would print English): {', '.join(offenders)}"


@pytest.mark.parametrize("error", [InputError, InfeasibleError])
def test_both_messages_cross_a_worker_process(error):
    back = pickle.loads(pickle.dumps(error("locked grids leave 12 households", zh="锁定网格围出 12 户")))
    assert (type(back), str(back), back.zh) == (error, "locked grids leave 12 households", "锁定网格围出 12 户")


def english_words(err: str, argv: list) -> list[str]:
    """The English words left in a Chinese error line once what the user typed (paths, option values), options
    (``--coords``), quoted names, snake_case codes and the scene's layer names are taken out."""
    text = err.removeprefix("gridplan: 错误：")
    for typed in sorted(map(str, argv), key=len, reverse=True):
        text = text.replace(typed, " ")
    text = re.sub(r"--[\w-]+|'[^']*'|\b\w*_\w*\b", " ", text)
    return [w for w in re.findall(r"[A-Za-z]{4,}", text) if w not in LAYERS]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """A good scene, and one whose community code is 10 digits (GB/T 2260 wants 12)."""
    folder = tmp_path_factory.mktemp("messages")
    scene = street_grid_scene(400, 200, xs=[200], ys=[], households=[[300], [300]])
    write_layers(folder / "scene.gpkg", scene.layers())
    bad = scene.replace(communities=scene.communities.assign(code="3201020010"))
    write_layers(folder / "bad_code.gpkg", bad.layers())
    (folder / "empty.gpkg").write_bytes(b"")
    return folder


CASES = {
    "missing scene": (lambda f: ["validate", f / "nothing.gpkg"], "不存在", "does not exist"),
    "empty file": (lambda f: ["validate", f / "empty.gpkg"], "空文件（0 字节）", "is empty (0 bytes)"),
    "output over the input": (
        lambda f: ["plan", f / "scene.gpkg", "-o", f / "scene.gpkg"],
        "会覆盖输入",
        "would overwrite the input",
    ),
    "unknown --coords layer": (
        lambda f: ["validate", f / "scene.gpkg", "--coords", "roofs=gcj02"],
        "不是场景图层",
        "'roofs' is no scene layer",
    ),
    "bad community code": (
        lambda f: ["plan", f / "bad_code.gpkg", "-o", f / "plan.gpkg"],
        "不是 12 位",
        "not 12 digits",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_an_error_of_a_run_in_chinese_is_all_chinese_and_in_english_all_english(scenes, capsys, case):
    argv, zh, en = CASES[case]
    argv = argv(scenes)
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, "gridplan: 错误：", zh)
    assert not english_words(err, argv), err
    code, _, err = run(capsys, *argv, "--lang", "en")
    assert_one_line_error(code, err, "gridplan: error: ", en)
    assert not re.search(r"[\u4e00-\u9fff]", err), err
    assert not (scenes / "plan.gpkg").exists()
