"""gridplan's workflow, in one place: read → validate → prepare → plan → coverage, each step a function
whose result the next one takes. The command line, ``gridplan demo``, the notebooks and library users all
call these, so every path gives the same answer::

    prepared = prepare_scene(load_scene("scene.gpkg"))      # validated, in its metric CRS, households filled
    run = plan_scene(prepared, levels=True, options=RunOptions(workers=2))       # PlanRun: plan, levels, changes
    coverage = analyse_coverage(run.plan, prepared)          # Coverage
    write_plan(run, prepared, "plan.gpkg"); write_coverage(coverage, "coverage.gpkg")

Writing (:mod:`gridplan.io.store`) and drawing (:mod:`gridplan.outputs.webmap`, :mod:`gridplan.outputs.report`) are separate
steps over these results.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import date
from pathlib import Path
from typing import Mapping

import pandas as pd
import pyogrio

from gridplan.core.results import Coverage, Plan, PlanRun, PreviousPlan, parse_effective_date
from gridplan.core.scene import PreparedScene, Scene
from gridplan.coverage import analyse_coverage
from gridplan.engine.levels import plan_levels
from gridplan.engine.parallel import default_workers, plan_communities
from gridplan.engine.plan import partition
from gridplan.engine.regenerate import regenerate
from gridplan.errors import InputError
from gridplan.io.osm import import_osm, is_osm_xml
from gridplan.io.scene_files import FILE_ERRORS, read_scene
from gridplan.io.store import read_previous
from gridplan.prepare.validate import as_prepared, prepare_scene
from gridplan.review.verify import checked_plan
from gridplan.settings import RUN_DEFAULTS, RunOptions, Settings

__all__ = ["load_scene", "prepare_scene", "plan_scene", "add_levels", "analyse_coverage", "check_belongs"]


def load_scene(
    source: str | os.PathLike | Mapping[str, str | os.PathLike],
    *,
    layers: Mapping[str, str] | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    coords: str | Mapping[str, str] = "wgs84",
) -> Scene:
    """A scene from a GeoPackage, a folder of layer files, a mapping of layer to file, or an OpenStreetMap
    extract (``.osm``, ``.osm.bz2``, ``.osm.pbf``, or an OSM-derived GeoPackage without a ``communities`` layer: imported
    with :func:`gridplan.io.osm.import_osm`, its extent one community).

    ``layers``, ``columns`` and ``coords`` are those of :func:`gridplan.io.scene_files.read_scene`.

    Examples
    --------
    >>> from gridplan import load_scene
    >>> from gridplan.io.osm import default_extract
    >>> scene = load_scene(default_extract())  # the OpenStreetMap extract shipped with gridplan
    >>> len(scene.communities), len(scene.buildings) > 200
    (1, True)
    """
    if not isinstance(source, Mapping) and _is_osm(Path(source), layers):
        return import_osm(Path(source))[0]
    return read_scene(source, layers=layers, columns=columns, coords=coords)


def _is_osm(path: Path, layers: Mapping[str, str] | None) -> bool:
    if is_osm_xml(path) or path.suffix.lower() == ".pbf":
        return True
    if path.suffix.lower() != ".gpkg" or layers or not path.is_file():
        return False
    try:
        present = {row[0] for row in pyogrio.list_layers(path)}
    except FILE_ERRORS:  # not readable: read_scene says why
        return False
    return "communities" not in present and "buildings" in present


def plan_scene(
    scene: PreparedScene | Scene,
    settings: Settings | None = None,
    *,
    previous: PreviousPlan | str | os.PathLike | None = None,
    levels: bool = False,
    areas: int | None = None,
    options: RunOptions = RUN_DEFAULTS,
    compare_fresh: bool = False,
    effective_date: str | date | None = None,
    author: str = "",
    note: str = "",
) -> PlanRun:
    """Plan a scene: a first plan, or a regeneration from a previous one; with levels where asked.

    Parameters
    ----------
    scene
        The prepared scene (:func:`prepare_scene`); a plain scene is validated first (:class:`~gridplan.errors.InputError` on errors).
    settings
        The settings to plan with. By default: the previous plan's own (when regenerating from a plan that
        records them), else those the scene was prepared with.
    previous
        A previous plan (file, ``postgresql://`` URL or :class:`~gridplan.core.results.PreviousPlan`): keep its
        grids where they still meet the rules (``locked`` grids exactly).
    levels, areas
        Also plan first-level areas (``areas`` per street office; by default one per
        ``settings.levels.grids_per_area`` grids) and micro-grids.
    options
        How it runs (:class:`~gridplan.settings.RunOptions`): a fixed ``grid_count`` (a first plan only), the
        ``code_style``, communities on ``workers`` local processes (by default every available core, one process
        for one community or a small scene: :func:`~gridplan.engine.parallel.default_workers`; a scene of one
        community, and a regeneration, plan their regions on every core instead) or a Dask ``scheduler`` (a community whose
        worker is lost is retried ``retries`` times; any other error is raised as a serial run raises it; every
        path gives the same plan), ``progress`` bars on standard error.
    compare_fresh
        When regenerating, also plan afresh to show the trade-off between keeping and balancing
        (``changes.tradeoff``).
    effective_date, author, note
        The date the plan takes effect (生效日期, ``YYYY-MM-DD`` or a :class:`datetime.date`), who made it and
        why: kept in its provenance beside its version (1 for a first plan, the previous plan's plus 1 when
        regenerating) and its parent plan's fingerprint.

    Returns
    -------
    PlanRun
        Its plan's proven claims checked independently (:func:`gridplan.review.verify.checked_plan`).

    Raises
    ------
    InputError
        Bad workers, retries, grid counts or areas, an effective date not written ``YYYY-MM-DD``, or a
        previous plan of another scene.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import RunOptions, plan_scene
    >>> run = plan_scene(prepared, options=RunOptions(workers=1))
    >>> int(run.plan.grids["households"].sum()), run.plan.metrics.within_bounds
    (4500, 1.0)
    """
    options = options.check()
    _check_areas(areas)
    effective = parse_effective_date(effective_date)
    if previous is not None and not isinstance(previous, PreviousPlan):
        previous = read_previous(previous)
    if settings is None and previous is not None and previous.provenance is not None:
        settings = previous.provenance.settings
    prepared = as_prepared(scene, settings)
    workers = options.workers or default_workers(prepared)
    if previous is not None:
        if not previous.drawn:
            check_same_buildings(
                prepared,
                previous.assignment,
                f"the previous plan {previous.source}".rstrip(),
                f"上一方案 {previous.source}".rstrip(),
            )
        run = regenerate(prepared, previous, options=options, compare_fresh=compare_fresh)
    elif options.scheduler is not None or workers > 1 and len(prepared.local.communities) > 1:
        run = PlanRun(plan_communities(prepared, options=dataclasses.replace(options, workers=workers)))
    else:  # one community (its regions on the workers asked for, by default every core), or one process
        run = PlanRun(partition(prepared, options=options))
    # the plan's proofs checked independently as it is made: one refuted is withdrawn, not stated
    run = dataclasses.replace(run, plan=checked_plan(prepared, run.plan))
    provenance = dataclasses.replace(
        run.plan.provenance, effective_date=effective, author=str(author or ""), note=str(note or "")
    )
    run = dataclasses.replace(run, plan=dataclasses.replace(run.plan, provenance=provenance))
    return add_levels(run, prepared, areas=areas) if levels else run


def add_levels(run: PlanRun, prepared: PreparedScene, *, areas: int | None = None) -> PlanRun:
    """The run with first-level areas (片区) and micro-grids (微网格) planned over its grids.

    Parameters
    ----------
    run
        A run without levels (:func:`plan_scene`).
    prepared
        The scene the run was planned from.
    areas
        Areas per street office; by default one per ``settings.levels.grids_per_area`` grids.

    Returns
    -------
    PlanRun
        A new run: the same plan, its grids with ``area_id``, and its :class:`~gridplan.core.results.Levels`.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import add_levels, plan_scene
    >>> run = add_levels(plan_scene(prepared), prepared)
    >>> "area_id" in run.plan.grids, len(run.levels.micro_grids) > len(run.plan.grids)
    (True, True)
    """
    if run.levels is not None:
        raise InputError("the run already has levels", zh="该次运行已划分层级")
    _check_areas(areas)
    found = plan_levels(run.plan, prepared, areas_per_street=areas)
    grids = run.plan.grids.copy()
    grids.insert(
        grids.columns.get_loc(grids.geometry.name), "area_id", grids["grid_id"].map(found.grid_area).to_numpy()
    )
    return dataclasses.replace(run, plan=dataclasses.replace(run.plan, grids=grids), levels=found)


def _check_areas(areas: int | None) -> None:
    if areas is not None and (not isinstance(areas, int) or areas < 1):
        raise InputError(
            f"areas per street office must be a whole number of at least 1, got {areas!r}",
            zh=f"每个街道的片区数须为不小于 1 的整数，实为 {areas!r}",
        )


#: Below this share of a plan's buildings found in a scene, the plan is not of that scene.
SAME_SCENE_SHARE = 0.5


def check_belongs(prepared: PreparedScene, plan, coverage=None) -> None:
    """Raise an :class:`~gridplan.errors.InputError` unless the plan was made of this scene and the coverage
    (if any) of this plan: by the fingerprints their provenance records, or, for results without one (written
    by an older gridplan or assembled by hand), by their buildings and grids.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import check_belongs, plan_scene
    >>> check_belongs(prepared, plan_scene(prepared).plan)  # silent: they belong together (an InputError if not)
    """
    made_of = plan.provenance.scene_fingerprint
    if made_of and made_of != prepared.fingerprint:
        raise InputError(
            "the plan was made of another scene (its communities, buildings, households or streets "
            "differ): give the scene it was made of, or plan this one with 'gridplan plan'",
            zh="该方案由另一个场景生成（社区、建筑、户数或道路不同）：请给出生成它的场景，"
            "或用 'gridplan plan' 为本场景生成方案",
        )
    if not made_of:
        check_same_buildings(prepared, plan.assignment, "the plan", "该方案")
    if coverage is not None:
        check_covers(plan, coverage)


def check_covers(plan: Plan, coverage: Coverage) -> None:
    """Raise an :class:`~gridplan.errors.InputError` unless the coverage is of this plan: by the plan fingerprint
    its provenance records, or, without one, by its grids."""
    covers = coverage.provenance.plan_fingerprint
    if covers and covers != plan.fingerprint():
        raise InputError(
            "the coverage is of another plan (its buildings are in other grids): analyse this plan "
            "with 'gridplan coverage'",
            zh="该覆盖分析属于另一个方案（其建筑在别的网格中）：请用 'gridplan coverage' 分析本方案",
        )
    if not covers and not set(coverage.grid_party["grid_id"]) <= set(plan.grids["grid_id"]):
        raise InputError(
            "the coverage is of another plan (its grids are not this plan's): analyse this plan "
            "with 'gridplan coverage'",
            zh="该覆盖分析属于另一个方案（其网格不是本方案的）：请用 'gridplan coverage' 分析本方案",
        )


def check_same_buildings(prepared: PreparedScene, assignment, what: str, what_zh: str | None = None) -> None:
    """Raise an :class:`~gridplan.errors.InputError` when fewer than half of the buildings ``assignment`` places
    are buildings of the scene: ``what`` (in Chinese ``what_zh``) was made of another scene, or its ids were
    renumbered."""
    placed = pd.Index(assignment["building_id"].dropna().astype(str).unique())
    ids = prepared.scene.buildings["building_id"].astype(str)
    found = placed.isin(ids).sum()
    if len(placed) and found < SAME_SCENE_SHARE * len(placed):
        theirs = ", ".join(placed[~placed.isin(ids)][:3])
        ours = ", ".join(ids.iloc[:3])
        raise InputError(
            f"{what} is not of this scene: {found:,} of its {len(placed):,} buildings are in it (its ids "
            f"look like {theirs}; the scene's like {ours}): give the scene it was made of, or check that "
            "building ids were not renumbered",
            zh=f"{what_zh or what}不属于本场景：其 {len(placed):,} 栋建筑中只有 {found:,} 栋在本场景中（其编号形如 "
            f"{theirs}，本场景的形如 {ours}）：请给出生成它的场景，或检查建筑编号是否被重新编排",
        )
