"""Shared fixtures: the real extracts in ../shared/data (read in place, never copied), planned once per session;
and the Hypothesis profiles.

Hypothesis runs derandomized by default (see tests/support/properties.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import is_hypothesis_test, settings

from gridplan.pipeline import plan_scene, prepare_scene
from gridplan.scenarios.district import generate_district
from gridplan.settings import CACHE_DIR_ENV, RunOptions

from .support.browser import Chromium, ChromiumMissing, Page, chromium_path
from .support.properties import PROFILE
from .support.real import RealExtracts

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GRIDPLAN_SHARED_DATA", REPO.parent / "shared" / "data"))

settings.load_profile(PROFILE)


def pytest_configure(config):
    """Keep the atoms gridplan stores between runs in a directory of this session's own (every process of the
    session shares it: the workers and the ``gridplan`` commands they start), never in the user's cache, and
    never from an earlier run: a test of changed unit code must build its atoms.

    Under pytest-xdist, give each worker its share of the cores (as a batch system would): a plan's default
    is every core this process may use (:func:`gridplan.engine.processes.available_cores`), so on a share of one core it
    plans in process instead of starting a pool beside the other workers. Tests of the pool ask for it."""
    if CACHE_DIR_ENV not in os.environ:
        config.units_cache = tempfile.mkdtemp(prefix="gridplan-units-")
        os.environ[CACHE_DIR_ENV] = config.units_cache
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if worker and count and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cores[int(worker.removeprefix("gw")) % len(cores) :: int(count)] or cores)


def pytest_unconfigure(config):
    if getattr(config, "units_cache", None):
        shutil.rmtree(config.units_cache, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """Mark every Hypothesis property ``property``, so that ``make test-explore`` can run them alone."""
    for item in items:
        if is_hypothesis_test(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.property)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real extracts; CI has it beside the clone, so its absence is a failure, not a skip."""
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"real extracts not found at {SHARED_DATA}: put ../shared beside the clone or set GRIDPLAN_SHARED_DATA"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def extracts(shared_data) -> RealExtracts:
    """The real extracts' scenes, prepared scenes, plans and coverage, each made once (see tests/support/real.py).

    Shared by every test: the session fails at its end if a test changed one of them."""
    cache = os.environ.get("GRIDPLAN_TEST_CACHE", REPO / "out" / "test-cache")
    store = RealExtracts(shared_data, Path(cache) if cache else None)
    yield store
    changed = store.changed()
    assert not changed, f"a test changed shared results of the real extracts: {', '.join(changed)}"


@pytest.fixture(scope="session")
def small_district():
    """A generated district of six communities (600 buildings, 15,000 households), prepared, and its default plan;
    shared by every test that reads it."""
    prepared = prepare_scene(generate_district(600, 15000, n_communities=6))
    return prepared, plan_scene(
        prepared, options=RunOptions(workers=1)
    ).plan  # the serial plan, which every other path must give


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder for what a test keeps for people to look at (screenshots): ``$GRIDPLAN_TEST_ARTIFACTS`` or
    ``out/test-artifacts`` in the clone (ignored by git)."""
    folder = Path(os.environ.get("GRIDPLAN_TEST_ARTIFACTS", REPO / "out" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    """One headless Chromium per test module (Debian's, driven by Playwright); a clear failure, not a skip, when
    Chromium is missing."""
    try:
        executable = chromium_path()
    except ChromiumMissing as exc:
        pytest.fail(str(exc))
    with Chromium(executable) as browser:
        yield browser


@pytest.fixture
def browser(chromium: Chromium) -> Iterator[Page]:
    """A fresh page with the network off, closed after the test: its errors and requests are the test's own."""
    with chromium.page(offline=True) as page:
        yield page
