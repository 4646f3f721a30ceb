"""Shared fixtures: the real extracts in ../shared/data (read in place, never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("GRIDPLAN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real extracts; CI has it beside the clone, so its absence is a failure, not a skip."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real extracts not found at {SHARED_DATA}: put ../shared beside the clone or set GRIDPLAN_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder for what a test keeps for people to look at (screenshots): ``$GRIDPLAN_TEST_ARTIFACTS`` or
    ``out/test-artifacts`` in the clone (ignored by git)."""
    folder = Path(os.environ.get("GRIDPLAN_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "out" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
