"""The test suite's own rules: tests share code through tests/support, never through each other, and test
gridplan through the names it makes public."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MODULES = sorted(TESTS.rglob("*.py"))


def imports(path: Path) -> list[tuple[str, str]]:
    """Every (module, name) a file imports; name is "" for ``import module``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found += [(module, alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_no_test_imports_another_test_module(path):
    other = [
        m
        for m, name in imports(path)
        if any(part.startswith("test_") for part in m.lstrip(".").split(".")) or name.startswith("test_")
    ]
    assert not other, f"{path.name} imports {other}: move what they share into tests/support"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_no_test_imports_a_private_name_of_gridplan(path):
    private = [
        f"{m}.{name}".rstrip(".")
        for m, name in imports(path)
        if m.startswith("gridplan") and (any(part.startswith("_") for part in m.split(".")) or name.startswith("_"))
    ]
    assert not private, f"{path.name} imports private names {private}: test through the public name"


def test_the_support_package_holds_no_tests():
    support = [
        p
        for p in (TESTS / "support").glob("*.py")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]
    assert not support
