"""Regenerating a layout (相对稳定): keep the previous plan as far as the rules allow.

Planners redraw every year. :func:`regenerate` reads the previous assignment of buildings to grids
(written by ``gridplan plan`` or edited by hand, e.g. in QGIS), checks it, and keeps every grid that still
meets the bounds. Only grids that now break them are re-split, together with their neighbours, by the
engine's compound moves; where that fails, the whole region is searched for a layout within the bounds
(its grids keep the ids of the grids they overlap most), or proven to have none. Rebalancing then moves the
fewest households that bring grids within the tight band, and a region whose households outgrew its grid count is
planned afresh with one a first plan would choose. Grids marked ``locked``
are kept exactly and the rest is planned around them.
The result names what changed: buildings that moved, and grids created, removed or changed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from gridplan.core.alignment import point_system, previous_offset, shift_like
from gridplan.core.codes import code_history, matched_codes
from gridplan.core.coords import SYSTEM_NAMES, SYSTEM_NAMES_ZH
from gridplan.core.matching import one_to_one
from gridplan.core.results import Certificate, Plan, PlanChanges, PlanRun, PlanWarning, PreviousPlan
from gridplan.core.scene import PreparedScene, Scene, id_string
from gridplan.engine import (
    REGENERATION_TIGHT_MAX_UNITS,
    Adjacency,
    RegionGraph,
    RegionProof,
    Sizing,
    bisect,
    bounds_excess,
    exact_split,
    grid_count_options,
    join_orphans,
    least_excess,
    neighbourhood_proof,
    neighbourhood_search,
    over_radius,
    plan_region,
    proven_layout,
    resplit,
    tight_proofs,
)
from gridplan.engine.units import Units, grid_grounds
from gridplan.errors import InfeasibleError, InputError
from gridplan.prepare.validate import as_prepared
from gridplan.settings import RUN_DEFAULTS, RunOptions, Settings
from gridplan.vocabulary import (
    NEIGHBOURHOOD_CLAIMS,
    TIGHT_BAND_CLAIMS,
    BuildingChange,
    Claim,
    GridChange,
    GridKind,
    MoveReason,
    SearchStop,
    WarningCode,
    WarningReason,
)

from .audit import assign_by_overlay
from .plan import (
    balance_weight,
    divisible,
    host_grid,
    is_scrap,
    layout_from_atoms,
    nearest_grid,
    partition,
    proofs_in_scene,
    scene_units,
    special_sites,
    unit_warnings,
)
from .processes import each_apart, pool_workers
from .rebalance import move_cap, rebalance


def regenerate(
    scene: Scene | PreparedScene,
    previous: PreviousPlan,
    settings: Settings | None = None,
    *,
    options: RunOptions = RUN_DEFAULTS,
    compare_fresh: bool = False,
) -> PlanRun:
    """Re-plan a scene, keeping the previous layout where it still meets the rules.

    Parameters
    ----------
    scene
        The scene as it is now (buildings, households, boundaries may have changed), prepared
        (:func:`gridplan.pipeline.prepare_scene`), or plain (validated first).
    previous
        The previous plan (:func:`gridplan.io.store.read_previous`), possibly edited by hand; ``locked``
        grids are kept exactly.
    settings
        Target and bounds; by default those the scene was prepared with.
    options
        How it runs (:class:`~gridplan.settings.RunOptions`): its ``code_style`` for new grids (continuing grids
        keep theirs); a fixed grid count applies to a first plan only.
    compare_fresh
        Also plan the scene afresh, to set the shares kept and within the band beside a fresh plan's
        (``changes.tradeoff``); costs a first plan's time.

    Returns
    -------
    PlanRun
        The new plan and its ``changes``: every building moved, from which grid to which and why, and the
        trade-off between keeping and balancing. Continuing grids keep their ``grid_id``; a grid keeps the code
        of the previous grid that gives it the most households (one to one, largest first), and a new grid takes
        a serial never used in any version (``plan.code_history``). Its version is the previous plan's plus 1.

    Raises
    ------
    InputError
        The previous plan puts a building in two grids, a grid falls apart or spans two communities, or a
        locked grid shares a planning unit with buildings of other grids.
    InfeasibleError
        Locked grids leave households between them that fit no layout within the bounds.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import PreviousPlan, plan_scene, regenerate
    >>> plan = plan_scene(prepared).plan
    >>> run = regenerate(prepared, PreviousPlan(assignment=plan.assignment, grids=plan.grids))
    >>> run.changes.kept_share, run.plan.provenance.plan_version
    (1.0, 2)
    """
    options = options.check()
    if options.grid_count is not None:
        raise InputError(
            "a fixed grid count applies to a first plan, not to a regeneration (--previous)",
            zh="指定网格数只用于首次划分，不用于重新生成（--previous）",
        )
    prepared = as_prepared(scene, settings)
    _check_position(previous, prepared)
    units = scene_units(prepared)
    # the new plan's place among the versions, from the previous plan as it was given (before any overlay)
    version, parent, history = previous.version + 1, previous.fingerprint(), previous.history()
    drawn = previous.drawn  # a layout drawn as polygons: its buildings are placed by overlay
    if drawn:
        previous = _overlaid(previous, prepared)
    # the atoms' adjacency and balance weights, made once for every phase
    adjacency, weight = Adjacency.from_networkx(units.graph), balance_weight(units.atoms)
    state = _kept_layout(prepared, previous, units, adjacency, drawn)
    unchanged = _unchanged_grids(state, units, previous)
    # regions re-planned or searched apart, on every core by default (the same plan: each region stands alone)
    workers = options.workers or pool_workers(float(weight.sum()))
    warnings, proven = _repair(
        state, units, adjacency, weight, prepared.settings, unchanged, previous.certificates, workers
    )
    state.repaired_grid = state.atom_grid.copy()
    rebalanced, proven = _rebalance_proven(state, units, adjacency, weight, prepared.settings, proven)
    proven = _recount(state, units, adjacency, weight, prepared.settings, previous, unchanged, workers, proven)
    proven, tight = _tight_claims(state, units, adjacency, weight, prepared.settings, unchanged, workers, proven)
    plan, reasons = _new_plan(
        state,
        prepared,
        previous,
        units,
        options.code_style,
        warnings,
        proven + tight,
        version=version,
        parent=parent,
        history=history,
    )
    changes = _changes(plan, previous, prepared.scene, reasons)
    return PlanRun(
        plan=plan,
        changes=_with_tradeoff(
            changes,
            state,
            prepared,
            units,
            weight,
            plan,
            reasons,
            rebalanced,
            RunOptions(code_style=options.code_style, workers=workers) if compare_fresh else None,
        ),
    )


def editable_layout(prepared: PreparedScene, previous: PreviousPlan) -> tuple[Units, AtomLayout]:
    """A plan on the scene's atoms as a regeneration keeps it before any repair: what the editor edits.

    Parameters
    ----------
    prepared
        The scene, prepared.
    previous
        A plan of it (:func:`gridplan.io.store.read_previous`) with its building assignment.

    Returns
    -------
    units, layout
        The scene's atoms and each atom's grid; a unit now above the ceiling or a grid in pieces is separated
        as :func:`regenerate` separates them.

    Raises
    ------
    InputError
        A layout drawn as polygons only (regenerate it first), or a plan that does not fit the scene (as for
        :func:`regenerate`).
    """
    if previous.drawn:
        raise InputError(
            f"{previous.source} is a layout drawn as polygons: regenerate it first (gridplan plan --previous), "
            "then edit the plan",
            zh=f"{previous.source} 是只有多边形的手绘方案：请先重新生成（gridplan plan --previous），再编辑该方案",
        )
    _check_position(previous, prepared)
    units = scene_units(prepared)
    return units, _kept_layout(prepared, previous, units, Adjacency.from_networkx(units.graph), drawn=False)


def rebalance_rest(
    prepared: PreparedScene, units: Units, layout: AtomLayout, community_id: str, pinned: np.ndarray | None = None
) -> AtomLayout:
    """One community's grids re-planned around its locked grids and ``pinned`` units (atom positions a planner
    placed by hand, which stay in their grids), as a regeneration re-plans them: regions that break the bounds
    repaired (grids holding pinned units kept as they are), then the fewest households moved to bring grids within
    the tight band (pinned units never among them). Other communities are not touched.

    Returns
    -------
    AtomLayout
        A new layout (``layout`` is not changed); grids made new take ids ``<community>-n001``…

    Raises
    ------
    InfeasibleError
        The grids kept leave ground between them whose households fit no layout within the bounds.
    """
    adjacency, weight = Adjacency.from_networkx(units.graph), balance_weight(units.atoms)
    community = units.atoms["community_id"].to_numpy()
    fixed = np.zeros(len(community), dtype=bool) if pinned is None else np.asarray(pinned, dtype=bool)
    held = set(layout.locked) | set(np.unique(layout.atom_grid[community != community_id]).tolist())
    state = dataclasses.replace(
        layout,
        atom_grid=layout.atom_grid.copy(),
        grid_ids=list(layout.grid_ids),
        kinds=dict(layout.kinds),
        locked=held | set(np.unique(layout.atom_grid[fixed]).tolist()),
    )
    settings = prepared.settings.with_regeneration(rebalance=True)
    _repair(state, units, adjacency, weight, settings, set(), [], workers=1)
    _rebalance(state, units, weight, settings, held, fixed)
    return dataclasses.replace(state, locked=set(layout.locked), repaired_grid=None)


def plan_of_layout(
    prepared: PreparedScene,
    previous: PreviousPlan,
    units: Units,
    layout: AtomLayout,
    reasons: np.ndarray,
    *,
    code_style: str = RUN_DEFAULTS.code_style,
    journal: pd.DataFrame | None = None,
) -> PlanRun:
    """A layout edited by hand as the next version of ``previous``: its grids exactly as given, codes kept by the
    households a grid keeps; a region whose grids all stand on the ground they had keeps the claims ``previous``
    made of them (as a regeneration keeps them); other grids outside the bounds or over the radius are said to be
    not proven (the plan edited by hand, not searched again) unless a unit proves them so.

    Parameters
    ----------
    prepared, previous, units
        The scene, the plan the edits started from, and the scene's atoms (:func:`editable_layout`).
    layout
        The edited layout.
    reasons
        Why each unit was last moved (by atom position): a :class:`~gridplan.vocabulary.MoveReason` value, or
        ``""``; a building in a unit that changed with the data is moved for that.
    code_style
        The code style of grids made new.
    journal
        The edits in order, kept with the changes (``changes.journal``).
    """
    state = dataclasses.replace(layout, repaired_grid=layout.atom_grid)
    unchanged = _unchanged_grids(state, units, previous)
    carried = [
        proof
        for _, region in _free_regions(state, units)
        if unchanged.issuperset(state.atom_grid[region].tolist())
        for proof in _carried(previous.certificates, state, region)
    ]
    plan, moved = _new_plan(
        state,
        prepared,
        previous,
        units,
        code_style,
        [],
        carried,
        version=previous.version + 1,
        parent=previous.fingerprint(),
        history=previous.history(),
        reasons=_edit_reasons(units.building_atom.to_numpy(), state, np.asarray(reasons, dtype=object)),
        unproven=(WarningReason.HAND_EDITED, SearchStop.HAND_EDITED, WarningReason.HAND_EDITED),
    )
    changes = _changes(plan, previous, prepared.scene, moved)
    return PlanRun(plan=plan, changes=dataclasses.replace(changes, journal=journal))


@dataclass
class AtomLayout:
    """The layout of the atoms as regeneration's phases (or the editor) leave it: each atom's grid (``atom_grid``, a
    position in ``grid_ids``), the grids' kinds and the locked ones; the previous plan's grid of each building and
    codes; and the atoms' grids before any grid was repaired (``kept_grid``) and before rebalancing
    (``repaired_grid``)."""

    atom_grid: np.ndarray
    grid_ids: list[str]
    kinds: dict[int, str]
    locked: set[int]
    codes: pd.Series | None
    building_grid: np.ndarray
    kept_grid: np.ndarray
    repaired_grid: np.ndarray | None = None

    def ordinary(self) -> np.ndarray:
        """Whether each grid is ordinary."""
        return np.array([self.kinds.get(p, GridKind.ORDINARY) == GridKind.ORDINARY for p in range(len(self.grid_ids))])


def _overlaid(previous: PreviousPlan, prepared: PreparedScene) -> PreviousPlan:
    """A drawn layout (existing grid polygons) with each building in the grid holding most of its footprint."""
    buildings = prepared.local.buildings
    if previous.grids.crs is None:
        raise InputError(
            f"the existing grids {previous.source} have no CRS: set one (e.g. EPSG:4326)",
            zh=f"现有网格 {previous.source} 没有坐标参考系：请设定一个（如 EPSG:4326）",
        )
    drawn = previous.grids.to_crs(prepared.local_crs).reset_index(drop=True)
    assignment, _ = assign_by_overlay(buildings, drawn, drawn["grid_id"])
    if len(assignment) < len(buildings) / 2:
        raise InputError(
            f"the existing grids {previous.source} hold only {len(assignment):,} of the scene's "
            f"{len(buildings):,} buildings: are they of another area, or in another CRS?",
            zh=f"现有网格 {previous.source} 只覆盖场景 {len(buildings):,} 栋建筑中的 {len(assignment):,} 栋："
            "它们是否属于别的区域，或使用了别的坐标参考系？",
        )
    return dataclasses.replace(previous, assignment=assignment)


def _kept_layout(
    prepared: PreparedScene, previous: PreviousPlan, units: Units, adjacency: Adjacency, drawn: bool
) -> AtomLayout:
    """The previous plan on the new scene's atoms: special sites (of a ``drawn`` layout), units now above the ceiling
    and pieces of broken grids separated, as a fresh plan would make them."""
    buildings = prepared.local.buildings
    grid_ids, locked, kinds, codes = _previous_grids(previous)
    building_grid = _previous_building_grid(previous, buildings, grid_ids)
    polygons = _previous_polygons(previous, grid_ids, units.atoms.crs)
    atom_grid = _atoms_from_buildings(units, adjacency, buildings, building_grid, locked, polygons)
    if not drawn:
        _check_grids(units, buildings, building_grid, atom_grid, grid_ids, locked, polygons)
    else:
        atom_grid, grid_ids, kinds = _separate_special_sites(units, adjacency, atom_grid, grid_ids, kinds)
    # a unit now above the ceiling is a grid of its own, as a fresh plan makes it
    atom_grid, grid_ids, kinds = _separate_oversize_units(
        units, atom_grid, grid_ids, kinds, locked, prepared.settings.grid.ceiling
    )
    # a drawn layout, or units changed with the data (a compound now too big to stay whole): one grid per piece
    atom_grid, grid_ids, kinds = _split_broken(units, atom_grid, grid_ids, kinds)
    return AtomLayout(atom_grid, grid_ids, kinds, locked, codes, building_grid, kept_grid=atom_grid.copy())


def _repair(
    state: AtomLayout,
    units: Units,
    adjacency: Adjacency,
    weight: np.ndarray,
    settings: Settings,
    unchanged: set[int],
    certificates: list[Certificate],
    workers: int,
) -> tuple[list[PlanWarning], list]:
    """Each free region (atoms not in a locked, special or oversize grid) re-planned where its grids break the
    bounds (:func:`_repair_region`), unless every grid of it is ``unchanged``: then its grids and the previous
    plan's proofs about them (``certificates``) are kept. A region below the floor is settled as a first plan
    settles it (:func:`_settle_small`). The regions are re-planned apart, on ``workers``
    processes (:func:`gridplan.engine.processes.each_apart`). New grids are added to ``state``. Returns the
    warnings of regions no layout fits and the regions proven to have no layout with fewer grids outside the
    bounds."""
    sizing = Sizing.of(settings.grid)
    warnings: list[PlanWarning] = []
    proven: list[tuple[list[int], RegionProof]] = []
    repaired = []  # the regions re-planned, with their communities
    for community_id, region in _free_regions(state, units):
        total = weight[region].sum()
        if total < settings.grid.floor and (
            total == 0 or not _touching_locked(units, region, state.atom_grid, state.locked, state.grid_ids)
        ):
            _settle_small(state, units, adjacency, weight, region)
        elif not divisible(total, settings.grid):
            warnings.append(_indivisible(units, region, state, community_id, total, settings))
        elif unchanged.issuperset(state.atom_grid[region].tolist()):  # the previous plan's, ground and grids
            proven += _carried(certificates, state, region)
        else:
            repaired.append((community_id, region))
    # each region's graph made as its task runs: in this process one at a time, freed after its repair
    tasks = ((RegionGraph.of(adjacency, r, weight, units.atoms), state.atom_grid[r], sizing) for _, r in repaired)
    results = each_apart(_repair_region, tasks, workers, [len(r) for _, r in repaired])
    for (community_id, region), (labels, created, proofs) in zip(repaired, results):
        _place(state, community_id, region, labels, created)
        proven += proofs_in_scene(region, proofs, state.atom_grid)
    return warnings, proven


def _place(state: AtomLayout, community_id, region: np.ndarray, labels: np.ndarray, created: int) -> None:
    """A region's grids as its re-plan returns them (a grid position, or ``-m`` for the ``m``-th new grid) put in
    ``state``, the new grids given free ids of the community."""
    first_new = len(state.grid_ids)
    for _ in range(created):
        state.grid_ids.append(_free_id(f"{community_id}-n", state.grid_ids))
    state.atom_grid[region] = np.where(labels >= 0, labels, first_new - 1 - labels)


def _settle_small(
    state: AtomLayout, units: Units, adjacency: Adjacency, weight: np.ndarray, region: np.ndarray
) -> None:
    """A free region below the floor (a piece of a broken grid, or households gone), settled as a first plan
    settles it: it joins the fixed grid around it that is not locked (:func:`~gridplan.engine.plan.host_grid`),
    unless it holds households and its community has no other ordinary grid; slivers without households join
    the nearest grid that is not locked; else it is one grid of kind small, under the id of the grid that held
    most of its households."""
    kinds = [
        GridKind.ORDINARY if g in state.locked else state.kinds.get(g, GridKind.ORDINARY)
        for g in range(len(state.grid_ids))
    ]
    community = units.atoms["community_id"].to_numpy()
    elsewhere = (community == community[region[0]]) & state.ordinary()[state.atom_grid]
    elsewhere[region] = False
    host = host_grid(adjacency, region, state.atom_grid, kinds) if elsewhere.any() or not weight[region].any() else None
    if host is None and is_scrap(units.atoms, region):  # slivers: the nearest grid that is not locked drops them
        unlocked = np.where(np.isin(state.atom_grid, list(state.locked)), -1, state.atom_grid)
        host = nearest_grid(units.atoms, region, unlocked)
    if host is None:
        grids, inverse = np.unique(state.atom_grid[region], return_inverse=True)
        host = int(grids[np.lexsort((np.bincount(inverse), np.bincount(inverse, weight[region])))[-1]])
        state.kinds[host] = GridKind.SMALL
    state.atom_grid[region] = host


def _free_regions(state: AtomLayout, units: Units):
    """The regions regeneration plans: per community, each connected set of its atoms outside locked, special and
    oversize grids and small parts (which stay as they were), as sorted positions, with the community."""
    fixed = state.locked | {g for g, kind in state.kinds.items() if kind != GridKind.ORDINARY}
    free = np.flatnonzero(~np.isin(state.atom_grid, list(fixed)))
    community = units.atoms["community_id"].to_numpy()
    for community_id in units.atoms["community_id"].unique():
        mine = free[community[free] == community_id]
        for region in nx.connected_components(units.graph.subgraph(mine.tolist())):
            yield community_id, np.array(sorted(region))


def _tight_claims(
    state: AtomLayout,
    units: Units,
    adjacency: Adjacency,
    weight: np.ndarray,
    settings: Settings,
    unchanged: set[int],
    workers: int,
    proven: list[tuple[list[int], RegionProof]],
) -> tuple[list[tuple[list[int], RegionProof]], list[tuple[list[int], RegionProof]]]:
    """The proofs, for the layout regenerated, that a region has no layout with fewer grids outside the tight band
    (and no more outside the bounds, each at most the misfit ceiling) where its search settles it
    (:func:`gridplan.engine.tight_layout`, its programme on regions of at most ``REGENERATION_TIGHT_MAX_UNITS``
    units), else that the ground around a grid outside the band has none (:func:`gridplan.engine.tight_proofs`);
    sought in each region with grids outside the band but those the previous plan's claims still speak of (every
    grid's ground unchanged, none rebalanced), nor of grids a proof of ``proven`` (the proofs that hold now)
    speaks of about the band. When rebalancing without a cap on the households moved (``max_moved``), a ground's
    layout with fewer grids outside the band is taken as a first plan takes it (its proofs about the bounds
    holding, or made again on the ground it moved); a region's whole layout is not. ``state`` is updated; returns
    ``proven`` with the proofs about the bounds of the regions whose layout changed made again, and the proofs
    about the band."""
    sizing = Sizing.of(settings.grid)
    take = settings.regeneration.rebalance and settings.regeneration.max_moved is None
    searched = []  # the regions searched: community, atoms, labels and the proofs about their bounds (to take)
    for community_id, region in _free_regions(state, units):
        grids = state.atom_grid[region]
        carried = unchanged.issuperset(grids.tolist()) and np.array_equal(grids, state.repaired_grid[region])
        if carried or not divisible(weight[region].sum(), settings.grid):
            continue
        labels = np.unique(grids, return_inverse=True)[1]
        if not sizing.tight_window.contains(np.bincount(labels, weights=weight[region].astype(float))).all():
            searched.append(
                (community_id, region, labels, _region_bounds_proofs(proven, region, grids) if take else None)
            )
    # a region's graph made only for a search, as its task runs
    tasks = (
        (RegionGraph.of(adjacency, r, weight, units.atoms), sizing, labels, REGENERATION_TIGHT_MAX_UNITS, local)
        for _, r, labels, local in searched
    )
    found = each_apart(tight_proofs, tasks, workers, [len(r) for _, r, _, _ in searched])
    claims: list[tuple[list[int], RegionProof]] = []
    for (community_id, region, labels, _), (layout, proofs) in zip(searched, found):
        if not np.array_equal(layout, labels):  # a ground's layout taken: the proofs about the region's grids anew
            before = np.unique(state.atom_grid[region]).tolist()
            _place(state, community_id, region, *_as_positions(before, matched_labels(layout, labels), 0))
            replaced = set(before)
            proven = [p for p in proven if replaced.isdisjoint(p[0])]
            proven += proofs_in_scene(region, [p for p in proofs if not p.tight], state.atom_grid)
        covered = {g for positions, proof in proven if proof.tight for g in positions}
        tight = [p for p in proofs if p.tight]
        claims += [c for c in proofs_in_scene(region, tight, state.atom_grid) if covered.isdisjoint(c[0])]
    return proven, claims


def _region_bounds_proofs(
    proven: list[tuple[list[int], RegionProof]], region: np.ndarray, grids: np.ndarray
) -> list[RegionProof] | None:
    """The proofs about the bounds of a region's grids (``grids``, by atom of ``region``) on its atoms, as a
    region's search states them; None where one speaks of other ground (no layout of the region is then taken)."""
    here = set(grids.tolist())
    local = []
    for positions, proof in proven:
        if proof.tight or here.isdisjoint(positions):
            continue
        if proof.atoms is None:
            if set(positions) != here:
                return None
            local.append(proof)
            continue
        atoms = np.asarray(proof.atoms)
        if not np.isin(atoms, region).all():
            return None
        local.append(dataclasses.replace(proof, atoms=tuple(np.searchsorted(region, atoms).tolist())))
    return local


def _unchanged_grids(state: AtomLayout, units: Units, previous: PreviousPlan) -> set[int]:
    """The grids kept whose ground (:func:`gridplan.engine.units.grid_grounds`) is that the previous plan recorded
    for them: the same atoms, buildings, households and adjacency, so its proofs about them still hold."""
    if "ground" not in previous.grids:
        return set()
    recorded = previous.grids.assign(grid_id=previous.grids["grid_id"].astype(str)).set_index("grid_id")["ground"]
    now = grid_grounds(units, state.atom_grid, len(state.grid_ids))
    return {
        g
        for g, grid_id in enumerate(state.grid_ids)
        if now[g] and recorded.get(grid_id) is not None and str(recorded.get(grid_id)) == now[g]
    }


#: The previous plan's claims a region whose grids did not change keeps: those of whole regions, neighbourhoods and
#: the tight band (a unit's claims are made again from the units).
_CARRIED_CLAIMS = (Claim.REGION_FEWEST, Claim.NEIGHBOURHOOD_FEWEST, Claim.TIGHT_FEWEST, Claim.NEIGHBOURHOOD_TIGHT)


def _carried(certificates: list[Certificate], state: AtomLayout, region: np.ndarray) -> list:
    """The proofs of the previous plan's certificates about grids of ``region`` (all unchanged), as the engine
    states them: the grid positions each speaks of and its :class:`~gridplan.engine.RegionProof`."""
    position = {state.grid_ids[g]: g for g in np.unique(state.atom_grid[region]).tolist()}
    carried = []
    for c in certificates:
        if not c.proven or c.claim not in _CARRIED_CLAIMS or not c.grid_ids or not set(c.grid_ids) <= position.keys():
            continue
        positions = sorted(position[grid_id] for grid_id in c.grid_ids)
        tight, local = c.claim in TIGHT_BAND_CLAIMS, c.claim in NEIGHBOURHOOD_CLAIMS
        proof = RegionProof(
            fewest=c.fewest,
            cap=c.cap,
            method=c.method,
            searched=c.searched,
            atoms=tuple(region[np.isin(state.atom_grid[region], positions)].tolist()) if local else None,
            floor=c.floor if tight else 0.0,
            tight=tight,
            beyond=c.beyond if tight else 0,
            beyond_cap=c.beyond_cap if tight and c.beyond else math.inf,
        )
        carried.append((positions, proof))
    return carried


def _indivisible(
    units: Units, region: np.ndarray, state: AtomLayout, community_id, total: float, settings: Settings
) -> PlanWarning:
    """The warning of a region whose households fit no layout within the bounds; an error where locked grids
    enclose it (the planner's locks, not the data, leave no layout)."""
    touching = _touching_locked(units, region, state.atom_grid, state.locked, state.grid_ids)
    if touching:
        raise InfeasibleError(
            f"locked grids {', '.join(touching)} leave {total:.0f} households between them in community "
            f"{community_id}, which fit no layout of grids within {settings.grid.floor:.0f}–{settings.grid.ceiling:.0f}",
            zh=f"锁定网格 {'、'.join(touching)} 在社区 {community_id} 中围出 {total:.0f} 户，无法划分为每格 "
            f"{settings.grid.floor:.0f}–{settings.grid.ceiling:.0f} 户的网格",
        )
    figures = (("households", float(total)), ("floor", settings.grid.floor), ("ceiling", settings.grid.ceiling))
    return PlanWarning(
        WarningCode.OUT_OF_BOUNDS, str(community_id), reason=WarningReason.REGION_INDIVISIBLE.value, figures=figures
    )


def _rebalance(
    state: AtomLayout,
    units: Units,
    weight: np.ndarray,
    settings: Settings,
    held: set[int] | None = None,
    fixed: np.ndarray | None = None,
):
    """The fewest households moved across grid boundaries to bring grids within the tight band (when the settings
    ask for it), the grids ``held`` (by default the locked ones) and the units ``fixed`` never moved;
    ``state.atom_grid`` updated. Returns the rebalancing, or None."""
    if not settings.regeneration.rebalance:
        return None
    held = state.locked if held is None else held
    movable = state.ordinary() & ~np.isin(np.arange(len(state.grid_ids)), list(held))
    rebalanced = rebalance(units.graph, weight, state.atom_grid, movable, settings.grid, settings.regeneration, fixed)
    state.atom_grid = rebalanced.atom_grid
    return rebalanced


def _rebalance_proven(
    state: AtomLayout,
    units: Units,
    adjacency: Adjacency,
    weight: np.ndarray,
    settings: Settings,
    proven: list[tuple[list[int], RegionProof]],
):
    """The layout repaired rebalanced (:func:`_rebalance`) and its proofs about the bounds (``proven``, those of the
    layout repaired) renewed (:func:`_rebalanced_proofs`), such that no grid outside the bounds loses its proof:
    where one does, rebalancing runs again from the layout repaired with the grids of that proof held, which keeps
    its ground as it is (on Shanghai's chunky regeneration rebalancing moved the ground of a neighbourhood's proof,
    and its grid of 188 households was not proven again on its new ground). Each run holds more grids, so the runs
    end. Returns the rebalancing (or None) and the proofs."""
    held: set[int] = set()
    while True:
        state.atom_grid = state.repaired_grid.copy()
        rebalanced = _rebalance(state, units, weight, settings, held=set(state.locked) | held)
        renewed = _rebalanced_proofs(state, units, adjacency, weight, settings, proven)
        lost = _lost_proofs(state, weight, settings, proven, renewed) - held
        if not lost:
            return rebalanced, renewed
        held |= lost


def _lost_proofs(
    state: AtomLayout,
    weight: np.ndarray,
    settings: Settings,
    repaired: list[tuple[list[int], RegionProof]],
    rebalanced: list[tuple[list[int], RegionProof]],
) -> set[int]:
    """The grids of the proofs about the bounds of the layout repaired (``repaired``) on whose ground the layout
    rebalanced has a grid outside the bounds that no proof of ``rebalanced`` speaks of."""
    loads = np.bincount(state.atom_grid, weights=weight, minlength=len(state.grid_ids))
    outside = ~Sizing.of(settings.grid).bounds_window.contains(loads)
    covered = {g for positions, proof in rebalanced if not proof.tight for g in positions}
    lost: set[int] = set()
    for positions, _ in repaired:
        ground = np.isin(state.repaired_grid, positions)
        now = np.unique(state.atom_grid[ground])
        if any(outside[g] and g not in covered for g in now.tolist()):
            lost.update(positions)
    return lost


def _rebalanced_proofs(
    state: AtomLayout,
    units: Units,
    adjacency: Adjacency,
    weight: np.ndarray,
    settings: Settings,
    proven: list[tuple[list[int], RegionProof]],
) -> list[tuple[list[int], RegionProof]]:
    """The proofs about the layout repaired (``proven``) that hold for the layout rebalanced, each with the grid
    positions it speaks of now. A region's proof holds where rebalancing left the ground of its grids as it was; a
    neighbourhood's where the grids now on its ground hold exactly that ground and it covers their loads (it speaks
    of any layout of that ground). Where rebalancing moved a neighbourhood proof's ground, each grid outside the
    bounds now on it is searched again on its new ground (:func:`gridplan.engine.neighbourhood_proof`)."""
    sizing = Sizing.of(settings.grid)
    bounds = sizing.bounds_window
    loads = np.bincount(state.atom_grid, weights=weight, minlength=len(state.grid_ids))
    held, moved = [], set()
    for positions, proof in proven:
        if proof.atoms is None:
            if np.array_equal(np.isin(state.atom_grid, positions), np.isin(state.repaired_grid, positions)):
                held.append((positions, proof))
            continue
        ground = np.asarray(proof.atoms)  # a neighbourhood's
        grids = np.unique(state.atom_grid[ground])
        band = sizing.tight_window if proof.tight else bounds
        if np.isin(state.atom_grid, grids).sum() == len(ground) and proof.covers(loads[grids], band):
            held.append((grids.tolist(), proof))
        elif not proof.tight:  # the tight band's are sought again with the region's (_tight_claims)
            moved.update(grids[~bounds.contains(loads[grids])].tolist())
    covered = {g for positions, _ in held for g in positions}
    if not moved - covered:
        return held
    for _, region in _free_regions(state, units):
        here = np.unique(state.atom_grid[region])
        wanted = [g for g in here.tolist() if g in moved]
        if not wanted:
            continue
        graph, labels = (
            RegionGraph.of(adjacency, region, weight, units.atoms),
            np.searchsorted(here, state.atom_grid[region]),
        )
        for g in wanted:
            proof = None if g in covered else neighbourhood_proof(graph, labels, int(np.searchsorted(here, g)), sizing)
            if proof is not None:
                ((positions, in_scene),) = proofs_in_scene(region, [proof], state.atom_grid)
                held.append((positions, in_scene))
                covered.update(positions)
    return held


def _recount(
    state: AtomLayout,
    units: Units,
    adjacency: Adjacency,
    weight: np.ndarray,
    settings: Settings,
    previous: PreviousPlan,
    unchanged: set[int],
    workers: int,
    proven: list[tuple[list[int], RegionProof]],
) -> list[tuple[list[int], RegionProof]]:
    """Each region whose households outgrew (or shrank past) its grid count, planned afresh
    (:func:`_recounted_region`) where it has grids outside the tight band after rebalancing, its layout taken where
    it has fewer grids outside the band: rebalancing keeps the count, so this is where a regeneration adds or
    removes a grid. Outgrown: the count is not one a first plan would choose for the households now
    (:func:`gridplan.engine.grid_count_options`), but the count of the grids kept here was for what they held in
    the ``previous`` plan (where its grids record their households; a count chosen otherwise, by a first plan's
    exact re-split or by hand, stays). Only when rebalancing without a cap on the households moved
    (``max_moved``), and not of a region whose grids all stand on their previous ground. ``state`` is updated;
    returns ``proven`` (the proofs about the layout) without those about the regions re-planned, and with their
    new proofs."""
    if not settings.regeneration.rebalance or settings.regeneration.max_moved is not None:
        return proven
    sizing = Sizing.of(settings.grid)
    held = (
        pd.to_numeric(previous.grids["households"], errors="coerce")
        .groupby(previous.grids["grid_id"].astype(str))
        .sum(min_count=1)
        if "households" in previous.grids
        else pd.Series(dtype=float)
    )
    drifted = []
    for community_id, region in _free_regions(state, units):
        total = float(weight[region].sum())
        grids, labels = np.unique(state.atom_grid[region], return_inverse=True)
        kept = np.unique(state.kept_grid[region])  # the grids here before any repair
        before = held.reindex([state.grid_ids[g] for g in kept])
        if (
            divisible(total, settings.grid)
            and not unchanged.issuperset(grids.tolist())
            and len(grids) not in grid_count_options(total, sizing)
            and (before.isna().any() or len(kept) in grid_count_options(float(before.sum()), sizing))
            and not sizing.tight_window.contains(np.bincount(labels, weights=weight[region].astype(float))).all()
        ):
            drifted.append((community_id, region))
    tasks = ((RegionGraph.of(adjacency, r, weight, units.atoms), state.atom_grid[r], sizing) for _, r in drifted)
    results = each_apart(_recounted_region, tasks, workers, [len(r) for _, r in drifted])
    for (community_id, region), (labels, created, proofs) in zip(drifted, results):
        if labels is None:
            continue
        replaced = set(state.atom_grid[region].tolist())
        _place(state, community_id, region, labels, created)
        proven = [p for p in proven if replaced.isdisjoint(p[0])] + proofs_in_scene(region, proofs, state.atom_grid)
    return proven


def _recounted_region(
    region: RegionGraph, previous: np.ndarray, sizing: Sizing
) -> tuple[np.ndarray | None, int, list[RegionProof]]:
    """One region planned afresh (:func:`gridplan.engine.plan_region`, which chooses its grid count), for
    :func:`_recount`: its grids (as :func:`_repair_region` returns them, the new grids matched to the previous
    ones they share most atoms with), how many are new, and the fresh plan's proofs; or ``None`` where the fresh
    plan does not have fewer grids outside the tight band, or has more outside the bounds, lies further beyond
    them in all, or has more grids over the service radius (estimated on atoms)."""
    present = np.unique(previous)
    grid_of = np.searchsorted(present, previous)
    fresh, proofs = plan_region(region, sizing)
    tight, bounds = sizing.tight_window, sizing.bounds_window

    def figures(labels: np.ndarray) -> tuple[int, int, float, int]:
        loads = region.grid_loads(labels)
        outside = (~tight.contains(loads)).sum(), (~bounds.contains(loads)).sum()
        return (
            int(outside[0]),
            int(outside[1]),
            bounds_excess(region, labels, sizing),
            over_radius(region, labels, sizing),
        )

    new, old = figures(fresh), figures(grid_of)
    if not (new[0] < old[0] and new[1] <= old[1] and new[2] <= old[2] + 1e-9 and new[3] <= old[3]):
        return None, 0, []
    return (*_as_positions(present.tolist(), matched_labels(fresh, grid_of), 0), proofs)


def _new_plan(
    state: AtomLayout,
    prepared: PreparedScene,
    previous: PreviousPlan,
    units: Units,
    code_style: str,
    warnings: list[PlanWarning],
    proofs: list,
    *,
    version: int,
    parent: str,
    history: pd.DataFrame,
    reasons: np.ndarray | None = None,
    unproven: tuple[WarningReason, SearchStop, WarningReason] = (
        WarningReason.REGENERATION_LIMIT,
        SearchStop.REGENERATION,
        WarningReason.REGENERATION_BOUNDS_ONLY,
    ),
) -> tuple[Plan, pd.Series]:
    """The plan of the final layout (grids merged or re-planned away removed; codes kept by the households a grid
    keeps), and why each building moved (``reasons``, by building; by default from the layout's phases);
    ``proofs`` speak of the final layout (the grid positions each names); ``unproven`` says why grids outside the
    bounds or over the radius without a proof are so (:func:`gridplan.engine.plan.layout_from_atoms`)."""
    buildings = prepared.local.buildings
    settings = prepared.settings
    if reasons is None:
        reasons = _move_reasons(
            units.building_atom.to_numpy(), state.building_grid, state.kept_grid, state.repaired_grid, state.atom_grid
        )
    used = np.unique(state.atom_grid)
    kinds_list = [state.kinds.get(int(i), GridKind.ORDINARY) for i in used]
    regions = [(np.searchsorted(used, np.intersect1d(positions, used)).tolist(), proof) for positions, proof in proofs]
    kept_codes = _kept_codes(
        previous, state.codes, buildings, units, state.building_grid, state.atom_grid, state.grid_ids, used
    )
    atom_grid = np.searchsorted(used, state.atom_grid)
    layout = layout_from_atoms(
        prepared,
        units,
        atom_grid,
        kinds_list,
        grid_ids=[state.grid_ids[i] for i in used],
        code_style=code_style,
        previous_codes=kept_codes,
        used_codes=history["code"],
        regions=regions,
        otherwise=unproven[0],
        stopped=unproven[1],
        radius_otherwise=unproven[2],
    )
    grids = layout.grids
    grids.insert(
        grids.columns.get_loc(grids.geometry.name),
        "locked",
        grids["grid_id"].isin([state.grid_ids[g] for g in state.locked]),
    )
    warnings = warnings + unit_warnings(layout, units, settings.grid) + layout.claims.warnings
    plan = layout.plan(
        prepared,
        sorted(warnings, key=lambda w: str(w.community_id)),
        units,
        code_style,
        regenerated_from=previous.source,
        plan_version=version,
        parent_fingerprint=parent,
        code_history=code_history(grids, version, history),
    )
    return plan, pd.Series(reasons, index=buildings["building_id"].to_numpy())


def _with_tradeoff(
    changes: PlanChanges,
    state: AtomLayout,
    prepared: PreparedScene,
    units: Units,
    weight: np.ndarray,
    plan: Plan,
    reasons: pd.Series,
    rebalanced,
    fresh: RunOptions | None,
) -> PlanChanges:
    """The changes with the trade-off between keeping and balancing: the layout kept (before rebalancing), the
    plan, and (with ``fresh``, its options) a fresh plan of the scene, side by side."""
    buildings, settings = prepared.local.buildings, prepared.settings
    moved = _moved(reasons, buildings, None)
    shares = [
        _row(
            "keep",
            _kept(state.building_grid, state.repaired_grid[units.building_atom.to_numpy()]),
            _band_shares(state.repaired_grid, state.ordinary(), units, buildings, settings.grid),
            moved - _moved(reasons, buildings, MoveReason.REBALANCE),
        ),
        _row(
            "rebalanced" if rebalanced is not None else "regenerated",
            changes.kept_share,
            (plan.metrics.within_tight, plan.metrics.within_bounds),
            moved,
        ),
    ]
    if fresh is not None:
        afresh = partition(prepared, options=fresh)
        fresh_grid = pd.Series(np.arange(len(afresh.grids)), index=afresh.grids["grid_id"])[
            afresh.assignment["grid_id"]
        ].to_numpy()
        matched = _kept(state.building_grid, fresh_grid, match=True)
        shares.append(_row("fresh", matched, (afresh.metrics.within_tight, afresh.metrics.within_bounds), float("nan")))
    cap = move_cap(settings.regeneration.max_moved, float(weight.sum()))
    return dataclasses.replace(
        changes, tradeoff=pd.DataFrame(shares), move_cap=cap, capped=bool(rebalanced is not None and rebalanced.capped)
    )


def _free_id(prefix: str, taken: list[str]) -> str:
    """``<prefix>001``, ``<prefix>002``…: the first not among ``taken`` (a grid made new in an earlier version
    may hold ``-n001`` still)."""
    known = set(taken)
    return next(f"{prefix}{n:03d}" for n in range(1, len(known) + 2) if f"{prefix}{n:03d}" not in known)


def _kept_codes(
    previous: PreviousPlan,
    codes: pd.Series | None,
    buildings,
    units,
    building_grid: np.ndarray,
    atom_grid: np.ndarray,
    grid_ids: list[str],
    used: np.ndarray,
) -> pd.Series | None:
    """The code each new grid keeps, by grid id: the previous grid that gives it the most households, one to one
    (:func:`gridplan.core.codes.matched_codes`). A building gives the households it kept: the fewer of its count in the
    previous plan and now, so a building that grew does not carry its grid's code away from the grid that keeps
    the rest, and a demolished one carries none. A grid without buildings keeps the code of the grid of its id
    when no other grid took it."""
    if codes is None:
        return None
    ids = np.asarray(grid_ids, dtype=object)
    before = pd.Series(np.where(building_grid >= 0, ids[np.maximum(building_grid, 0)], None))
    after = pd.Series(ids[atom_grid[units.building_atom.to_numpy()]])
    households = buildings["households"].astype(float).reset_index(drop=True)
    if "households" in previous.assignment:
        counted = pd.to_numeric(previous.assignment.set_index("building_id")["households"], errors="coerce")
        counted = counted[~counted.index.duplicated()]
        before_count = buildings["building_id"].map(id_string).map(counted).reset_index(drop=True).fillna(households)
        households = np.minimum(households, before_count)
    kept = matched_codes(before, after, households, codes)
    alone = codes[
        codes.index.isin(ids[used]) & ~codes.index.isin(kept.index) & ~codes.isin(kept.to_numpy()) & codes.notna()
    ]
    return pd.concat([kept, alone])


def _row(layout: str, kept: float, within: tuple[float, float], moved: float) -> dict:
    return {
        "layout": layout,
        "kept_share": kept,
        "within_tight": within[0],
        "within_bounds": within[1],
        "households_moved": moved,
    }


def _move_reasons(building_atom, building_grid, kept_grid, repaired_grid, final_grid) -> np.ndarray:
    """Why each building is not in its previous grid: its unit changed with the data or drawn boundary
    (already elsewhere before any repair), its grid broke a bound and was repaired, or rebalancing moved it;
    empty for buildings that stayed (and new ones)."""
    before = building_grid
    kept, repaired, final = kept_grid[building_atom], repaired_grid[building_atom], final_grid[building_atom]
    moved = (before >= 0) & (final != before)
    return np.select(
        [moved & (kept != before), moved & (repaired != kept), moved],
        [MoveReason.CHANGED_BOUNDARY.value, MoveReason.BROKEN_BOUND.value, MoveReason.REBALANCE.value],
        default="",
    )


def _edit_reasons(building_atom, state: AtomLayout, atom_reasons: np.ndarray) -> np.ndarray:
    """Why each building of an edited layout is not in its previous grid: its unit changed with the data (already
    elsewhere in the layout opened), else why its unit was last moved (``atom_reasons``); empty for buildings that
    stayed (and new ones)."""
    before, kept, final = state.building_grid, state.kept_grid[building_atom], state.atom_grid[building_atom]
    moved = (before >= 0) & (final != before)
    return np.select(
        [moved & (kept != before), moved], [MoveReason.CHANGED_BOUNDARY.value, atom_reasons[building_atom]], default=""
    )


def _moved(reasons: pd.Series, buildings: gpd.GeoDataFrame, reason: MoveReason | None) -> float:
    households = buildings["households"].to_numpy(dtype=float)
    mask = reasons.to_numpy() != "" if reason is None else reasons.to_numpy() == reason.value
    return float(households[mask].sum())


def _kept(before: np.ndarray, after: np.ndarray, match: bool = False) -> float:
    """Share of the buildings of the previous plan in the same grid ``after``; with ``match``, the grids
    of ``after`` first take the labels of the previous grids they share most buildings with."""
    common = before >= 0
    if not common.any():
        return 1.0
    after = matched_labels(after[common], before[common]) if match else after[common]
    return float(np.mean(after == before[common]))


def _band_shares(atom_grid: np.ndarray, ordinary: np.ndarray, units, buildings, grid) -> tuple[float, float]:
    """Shares of the ordinary grids within the tight band and within the bounds, in households."""
    households = np.bincount(
        atom_grid[units.building_atom.to_numpy()],
        weights=buildings["households"].to_numpy(dtype=float),
        minlength=len(ordinary),
    )
    present = np.bincount(atom_grid, minlength=len(ordinary)) > 0
    hh = households[ordinary[: len(households)] & present[: len(households)]]
    if not len(hh):
        return 1.0, 1.0
    return float(np.mean(grid.tight_window.contains(hh))), float(np.mean(grid.bounds_window.contains(hh)))


def _previous_grids(previous: PreviousPlan):
    grids = previous.grids.copy()
    grids["grid_id"] = grids["grid_id"].map(id_string)
    duplicated = grids["grid_id"][grids["grid_id"].duplicated()].unique()
    if len(duplicated):
        raise InputError(
            f"previous plan: grid ids used twice: {', '.join(duplicated[:10])}",
            zh=f"上一方案：网格编号重复使用：{'、'.join(duplicated[:10])}",
        )
    known = set(grids["grid_id"])
    extra = sorted(set(previous.assignment["grid_id"].dropna().map(id_string)) - known)
    if extra:
        raise InputError(
            f"previous plan: buildings point at grids missing from the grids layer: {', '.join(extra[:10])}",
            zh=f"上一方案：建筑所属的网格不在网格图层中：{'、'.join(extra[:10])}",
        )
    ids = list(grids["grid_id"])
    locked_flags = _locked(grids) if "locked" in grids else np.zeros(len(grids), dtype=bool)
    locked = {i for i, flag in enumerate(locked_flags) if flag}
    kinds = dict(enumerate(grids["kind"])) if "kind" in grids else {}
    codes = (
        pd.Series(grids["code"].map(id_string, na_action="ignore").to_numpy(), index=grids["grid_id"])
        if "code" in grids
        else None
    )
    return ids, locked, kinds, codes


def _previous_building_grid(previous: PreviousPlan, buildings: gpd.GeoDataFrame, grid_ids: list[str]) -> np.ndarray:
    """Previous grid position of each current building (-1: new building)."""
    assignment = previous.assignment[["building_id", "grid_id"]].dropna().copy()
    assignment["building_id"] = assignment["building_id"].map(id_string)
    twice = assignment[assignment["building_id"].duplicated(keep=False)]
    if len(twice):
        listed = twice.groupby("building_id")["grid_id"].apply(lambda g: "/".join(map(str, g)))
        named = ", ".join(f"{b} ({g})" for b, g in list(listed.items())[:10])
        raise InputError(
            f"previous plan puts {len(listed)} buildings in more than one grid: {named}",
            zh=f"上一方案把 {len(listed)} 栋建筑同时划入多个网格：{named}",
        )
    position = {g: i for i, g in enumerate(grid_ids)}
    by_building = dict(zip(assignment["building_id"], assignment["grid_id"].map(id_string).map(position)))
    return buildings["building_id"].map(by_building).fillna(-1).astype(np.int64).to_numpy()


#: How a ``locked`` cell typed by hand (in QGIS, in a spreadsheet) says yes or no.
LOCK_WORDS = {
    "1": True,
    "true": True,
    "yes": True,
    "y": True,
    "t": True,
    "是": True,
    "锁定": True,
    "锁": True,
    "0": False,
    "false": False,
    "no": False,
    "n": False,
    "f": False,
    "否": False,
    "不锁定": False,
    "": False,
}


def _locked(grids: pd.DataFrame) -> np.ndarray:
    """The ``locked`` column as flags: numbers (non-zero is locked) or words; an empty cell is not locked, and a
    word that says neither is refused (``astype(bool)`` would lock a grid whose cell says "false" or "否")."""

    def flag(value) -> bool | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return False
        if isinstance(value, (bool, np.bool_, int, np.integer, float, np.floating)):
            return bool(value)
        return LOCK_WORDS.get(str(value).strip().lower())

    flags = [flag(v) for v in grids["locked"]]
    unclear = [str(grids["grid_id"].iat[i]) for i, f in enumerate(flags) if f is None]
    if unclear:
        raise InputError(
            f"previous plan: the locked column of grid {unclear[0]} says {grids['locked'].iat[flags.index(None)]!r}: "
            "use 1/0, true/false or 是/否",
            zh=f"上一方案：网格 {unclear[0]} 的 locked 列为 {grids['locked'].iat[flags.index(None)]!r}：请填 1/0、true/false 或 是/否",
        )
    return np.array(flags, dtype=bool)


def _check_position(previous: PreviousPlan, prepared: PreparedScene) -> None:
    """Refuse a previous plan that lies off the scene: its buildings, by id, systematically away from the scene's
    (another coordinate system, another survey), or its drawn grids fitting the buildings clearly better shifted
    by a GCJ-02/BD-09 offset. Regenerating from it would keep a layout of another place."""
    buildings = prepared.local.buildings
    if not len(buildings):
        return
    lonlat = gpd.GeoSeries(shapely.point_on_surface(buildings.geometry.to_numpy()), crs=buildings.crs).to_crs(4326)
    west, south, east, north = lonlat.total_bounds
    if previous.footprints is not None:
        footprints = previous.footprints[~previous.footprints.index.duplicated()]
        footprints = footprints[footprints.notna() & ~footprints.is_empty].to_crs(buildings.crs)
        current = gpd.GeoSeries(
            buildings.geometry.to_numpy(), index=buildings["building_id"].astype(str).to_numpy(), crs=buildings.crs
        )
        offset, count = previous_offset(footprints, current[~current.index.duplicated()])
        if count and offset.metres > prepared.settings.regeneration.max_offset_m:
            like = shift_like(offset, (west + east) / 2, (south + north) / 2)
            why = (
                f"as {SYSTEM_NAMES[like[0]]} read as {SYSTEM_NAMES[like[1]]} would be"
                if like
                else "another survey or place"
            )
            why_zh = (
                f"正如把 {SYSTEM_NAMES_ZH[like[0]]} 当作 {SYSTEM_NAMES_ZH[like[1]]} 读取时那样"
                if like
                else "来自另一次测绘或另一地点"
            )
            raise InputError(
                f"the previous plan {previous.source} lies {offset} off the scene (median of {count:,} buildings "
                f"with the same id; {why}): give a plan of this scene in its coordinate system",
                zh=f"上一方案 {previous.source} 与场景偏离{offset.describe('zh')}（{count:,} 栋同编号建筑的"
                f"中位数；{why_zh}）：请给出本场景在其坐标系下的方案",
            )
    elif previous.drawn and isinstance(previous.grids, gpd.GeoDataFrame) and previous.grids.crs is not None:
        grids = previous.grids.to_crs(buildings.crs).geometry
        evidence = point_system(
            lonlat.x.to_numpy(), lonlat.y.to_numpy(), grids, prepared.settings.coords, subject="the scene's buildings"
        )
        if evidence.clear and evidence.moved:
            raise InputError(
                f"the existing grids {previous.source} lie {evidence.offset} off the scene's buildings (in no "
                f"grid: {evidence.readings()}): convert them to the scene's coordinate system first",
                zh=f"现有网格 {previous.source} 与场景建筑偏离{evidence.offset.describe('zh')}（不在任何网格中的"
                f"比例：{evidence.readings('zh')}）：请先将其转换到场景的坐标系",
            )


def _previous_polygons(previous: PreviousPlan, grid_ids: list[str], crs):
    """The previous grids' polygons in the planning CRS, aligned to ``grid_ids`` (None when not given)."""
    grids = previous.grids
    if not isinstance(grids, gpd.GeoDataFrame) or grids.crs is None or grids.geometry.isna().all():
        return None
    return grids.to_crs(crs).geometry.to_numpy()


def _atoms_from_buildings(
    units, adjacency: Adjacency, buildings, building_grid: np.ndarray, locked: set[int], polygons=None
) -> np.ndarray:
    """Previous grid of each atom: the grid holding most of its households; an atom without buildings (or
    with new ones only) takes the previous grid polygon holding it, else the neighbouring grid it shares
    most boundary with (one not locked first)."""
    atom = units.building_atom.to_numpy()
    known = building_grid >= 0
    votes = pd.DataFrame(
        {
            "atom": atom[known],
            "grid": building_grid[known],
            "w": buildings["households"].to_numpy(dtype=float)[known] + 1.0,
        }
    )
    best = (
        votes.groupby(["atom", "grid"])["w"]
        .sum()
        .reset_index()
        .sort_values(["atom", "w", "grid"])
        .groupby("atom")
        .last()["grid"]
    )
    atom_grid = np.full(len(units.atoms), -1, dtype=np.int64)
    atom_grid[best.index.to_numpy()] = best.to_numpy()
    empty = np.flatnonzero(atom_grid < 0)
    if polygons is not None and len(empty):
        points = shapely.point_on_surface(units.atoms.geometry.to_numpy()[empty])
        p, g = shapely.STRtree(polygons).query(points, predicate="within")
        atom_grid[empty[p]] = g
    free = ~np.isin(np.arange(atom_grid.max() + 1), list(locked))
    joined = join_orphans(atom_grid, np.flatnonzero(atom_grid < 0), adjacency, rank=free, ties="highest")
    if (joined < 0).any():
        raise InputError(
            f"{int((joined < 0).sum())} planning units are connected to no grid of the previous plan",
            zh=f"{int((joined < 0).sum())} 个规划单元与上一方案的任何网格都不相连",
        )
    return joined


def _check_grids(units, buildings, building_grid, atom_grid, grid_ids, locked, polygons=None) -> None:
    """A hand-edited plan read back: each grid connected and in one community; locked grids whole.

    A grid whose buildings are apart counts as falling apart when its polygon is in pieces too (or no
    polygon is given); one drawn whole whose units changed with the data is split quietly afterwards."""
    problems, problems_zh = [], []
    community = buildings["community_id"].to_numpy()
    for g, grid_id in enumerate(grid_ids):
        communities = set(community[building_grid == g])
        if len(communities) > 1:
            problems.append(f"grid {grid_id} spans communities {', '.join(sorted(map(str, communities)))}")
            problems_zh.append(f"网格 {grid_id} 跨越社区 {'、'.join(sorted(map(str, communities)))}")
        atoms = np.flatnonzero(atom_grid == g)
        drawn_whole = polygons is not None and g < len(polygons) and shapely.get_num_geometries(polygons[g]) == 1
        if len(atoms) > 1 and not drawn_whole:
            pieces = nx.number_connected_components(units.graph.subgraph(atoms.tolist()))
            if pieces > 1:
                problems.append(f"grid {grid_id} falls apart into {pieces} pieces")
                problems_zh.append(f"网格 {grid_id} 分裂为 {pieces} 块")
        if g in locked:
            mixed = buildings["building_id"].to_numpy()[
                (atom_grid[units.building_atom.to_numpy()] == g) != (building_grid == g)
            ]
            if len(mixed):
                problems.append(
                    f"locked grid {grid_id} cannot be kept exactly: buildings {', '.join(mixed[:5])} share its blocks"
                )
                problems_zh.append(f"锁定网格 {grid_id} 无法原样保留：建筑 {'、'.join(mixed[:5])} 与其同在一个街块")
    if problems:
        raise InputError(
            f"the previous plan has {len(problems)} problems: " + "; ".join(problems[:10]),
            zh=f"上一方案有 {len(problems)} 个问题：" + "；".join(problems_zh[:10]),
        )


def _separate_special_sites(
    units, adjacency: Adjacency, atom_grid: np.ndarray, grid_ids: list[str], kinds: dict[int, str]
) -> tuple[np.ndarray, list[str], dict[int, str]]:
    """In a drawn layout, schools, hospitals and other special sites become grids of their own (专属网格),
    as a plan makes them: ``<id>-S1``, ``<id>-S2``… after the grid they were drawn in. Returns the new
    atom grids, grid ids and kinds."""
    atoms = units.atoms
    atom_grid, grid_ids, kinds = atom_grid.copy(), list(grid_ids), dict(kinds)
    for members in atoms.groupby("community_id").groups.values():
        for n, site in enumerate(special_sites(adjacency, atoms, np.asarray(members)), start=1):
            host = grid_ids[int(np.bincount(atom_grid[site]).argmax())]
            grid_ids.append(f"{host}-S{n}")
            atom_grid[site] = len(grid_ids) - 1
            kinds[len(grid_ids) - 1] = GridKind.SPECIAL
    return atom_grid, grid_ids, kinds


def _separate_oversize_units(
    units, atom_grid: np.ndarray, grid_ids: list[str], kinds: dict[int, str], locked: set[int], ceiling: float
) -> tuple[np.ndarray, list[str], dict[int, str]]:
    """Units whose households now exceed the ceiling, in an ordinary grid that is not locked, become grids of
    their own (kind oversize), as a first plan makes them: alone in their grid, the grid changes kind; beside
    other units, ``<id>-O1``, ``<id>-O2``… after it. Returns the new atom grids, grid ids and kinds."""
    atom_grid, grid_ids, kinds = atom_grid.copy(), list(grid_ids), dict(kinds)
    sizes = np.bincount(atom_grid, minlength=len(grid_ids))
    count: dict[int, int] = {}
    for a in np.flatnonzero(units.atoms["households"].to_numpy() > ceiling):
        g = int(atom_grid[a])
        if g in locked or kinds.get(g, GridKind.ORDINARY) != GridKind.ORDINARY:
            continue
        if sizes[g] == 1:
            kinds[g] = GridKind.OVERSIZE
            continue
        count[g] = count.get(g, 0) + 1
        grid_ids.append(f"{grid_ids[g]}-O{count[g]}")
        atom_grid[a] = len(grid_ids) - 1
        kinds[len(grid_ids) - 1] = GridKind.OVERSIZE
    return atom_grid, grid_ids, kinds


def _split_broken(
    units, atom_grid: np.ndarray, grid_ids: list[str], kinds: dict[int, str]
) -> tuple[np.ndarray, list[str], dict[int, str]]:
    """An existing grid across communities or in pieces becomes one grid per piece: the largest piece keeps
    the id, the others are ``<id>-2``, ``<id>-3``… Returns the new atom grids, grid ids and kinds."""
    community = units.atoms["community_id"].to_numpy()
    atom_grid, grid_ids, kinds = atom_grid.copy(), list(grid_ids), dict(kinds)
    for g in range(len(grid_ids)):
        atoms = np.flatnonzero(atom_grid == g)
        pieces = []
        for c in np.unique(community[atoms]):
            pieces += [
                sorted(p) for p in nx.connected_components(units.graph.subgraph(atoms[community[atoms] == c].tolist()))
            ]
        pieces.sort(key=len, reverse=True)
        for k, piece in enumerate(pieces[1:], start=2):
            grid_ids.append(f"{grid_ids[g]}-{k}")
            atom_grid[piece] = len(grid_ids) - 1
            if g in kinds:
                kinds[len(grid_ids) - 1] = kinds[g]
    return atom_grid, grid_ids, kinds


def _touching_locked(units, region, atom_grid, locked, grid_ids) -> list[str]:
    near = {atom_grid[b] for a in region for b in units.graph[a] if atom_grid[b] in locked}
    return sorted(grid_ids[g] for g in near)


def _repair_region(
    region: RegionGraph, previous: np.ndarray, sizing: Sizing
) -> tuple[np.ndarray, int, list[RegionProof]]:
    """The grids of one region repaired: split grids too heavy for the bounds, merge the lightest when the
    region has too many (or it was mostly emptied), then re-split grids outside the bounds with their
    neighbours (re-cuts, then the exact re-split); where some are still outside, what the region's misfits and
    an enumeration of its groups settle, and, where they settle nothing, plan the region afresh as a first plan
    would (its search of the whole region included), taken when it has fewer grids outside (or as many, and its
    proof does not cover the repaired layout); the constraint programme is asked of the repaired layout's count
    only where that is fewer than the fresh plan's. Grids still outside are then re-planned with their
    neighbours for the least excess.

    Parameters
    ----------
    region
        The region's atoms.
    previous
        The previous grid (position) of each of its atoms.
    sizing
        The bounds.

    Returns
    -------
    labels, created, proofs
        The grid of each atom: a previous grid's position, or ``-m`` for the ``m``-th new grid; how many new
        grids were made (some may have been merged away again); and the proofs that hold for the labels
        returned: the region has no layout with fewer grids outside the bounds, or else the ground of some
        grids has none (:func:`gridplan.engine.neighbourhood_search`).
    """
    bounds = sizing.bounds_window
    present = list(np.unique(previous))  # previous grids, then new ones as -1, -2…
    n_previous = len(present)
    grid_of = np.searchsorted(present, previous)
    loads = region.loads(grid_of, len(present))
    if bounds.contains(loads).all():
        return previous, 0, []
    total = loads.sum()
    while total / len(present) > bounds.hi or (loads > 2 * bounds.lo).any() and (loads > bounds.hi).any():
        heavy = int(np.argmax(loads))
        parts = bisect(region, np.flatnonzero(grid_of == heavy), 2, sizing)
        if len(parts) < 2:
            break
        grid_of[parts[1]] = len(present)
        present.append(n_previous - len(present) - 1)
        loads = region.loads(grid_of, len(present))
    while True:
        # merge the lightest grid into its lightest neighbour while the region has too many grids, or
        # while that grid is mostly emptied (below half the floor) and the rest can hold its households
        alive = np.flatnonzero(np.bincount(grid_of, minlength=len(present)) > 0)
        light = int(alive[np.argmin(loads[alive])])
        too_many = total / len(alive) < bounds.lo
        emptied = loads[light] < bounds.lo / 2 and len(alive) > 1 and total / (len(alive) - 1) <= bounds.hi
        neighbours = region.grid_neighbours(grid_of, [light])
        if len(alive) == 1 or not (too_many or emptied) or not neighbours:
            break
        grid_of[grid_of == light] = min(neighbours, key=lambda h: (loads[h], h))
        loads = region.loads(grid_of, len(present))
    used = np.unique(grid_of)
    compact = np.searchsorted(used, grid_of)
    compact = resplit(region, compact, len(used), sizing, windows=(bounds,))
    compact = exact_split(region, compact, len(used), sizing, worst=2)
    proof = None
    answers: dict = {}  # the neighbourhoods' programme answers: the fresh plan's asked again of the same ground
    outside = _outside(region, compact, sizing)
    if outside:  # what the misfits and the enumeration settle; the programme waits for the fresh plan below
        layout, proof = proven_layout(region, sizing, compact, programme=False)
        if layout is not compact:
            compact = matched_labels(layout, compact)
            outside = _outside(region, compact, sizing)
    if outside and proof is None:  # the bounds come before keeping grids: plan the region afresh
        fresh, fresh_proofs = plan_region(region, sizing, answers=answers)
        fresh_proof = next((p for p in fresh_proofs if p.atoms is None and not p.tight), None)  # the region's
        fewest = _outside(region, fresh, sizing)
        covered = fresh_proof is not None and fresh_proof.covers(region.grid_loads(compact), bounds)
        if fewest < outside or fresh_proof is not None and fewest == outside and not covered:
            compact = matched_labels(fresh, compact)
            covered = fresh_proof is not None
        proof = fresh_proof if covered else None  # a proof holds for a layout it covers, the fresh one's or not
        # the fresh plan's search asked whether a layout has fewer outside than it: where the repaired layout has
        # as many, that was its question too (asked again, it would run out of time again); where it has fewer,
        # its own question is asked here
        if proof is None and fewest > outside:
            layout, proof = proven_layout(region, sizing, compact)
            if layout is not compact:
                compact = matched_labels(layout, compact)
        outside = _outside(region, compact, sizing)
    proofs: list[RegionProof] = []
    if outside:  # a grid outside the bounds as near them as its ground allows, in the proof's scope
        nearer = least_excess(region, compact, sizing, cap=proof.cap if proof is not None else math.inf)
        compact = matched_labels(nearer, compact)
        if proof is not None and proof.covers(region.grid_loads(compact), bounds):
            proofs = [proof]
        else:  # no proof for the region: the grids around each grid still outside
            relabelled = np.unique(compact, return_inverse=True)[1]
            nearby, proofs = neighbourhood_search(region, relabelled, sizing, answers=answers)
            compact = matched_labels(nearby, compact)
    # grids the exact re-split added are new too
    return (*_as_positions(list(np.asarray(present)[used]), compact, len(present) - n_previous), proofs)


def _as_positions(positions: list, labels: np.ndarray, created: int) -> tuple[np.ndarray, int]:
    """A region's ``labels`` (``0 … k-1``) as grid positions: label ``i`` is ``positions[i]`` (a grid's position,
    or ``-m`` for the ``m``-th new grid, ``created`` of them so far), each label beyond them a new grid; and how
    many grids are new."""
    positions = list(positions)
    while len(positions) <= labels.max():
        created += 1
        positions.append(-created)
    return np.asarray(positions)[labels], created


def _outside(region: RegionGraph, labels: np.ndarray, sizing: Sizing) -> int:
    """Grids outside the bounds (labels that hold no atom are no grid: the re-splits leave some unused)."""
    return int((~sizing.bounds_window.contains(region.grid_loads(labels))).sum())


def matched_labels(layout: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``layout`` relabelled so that its grids take the labels of the grids they share most atoms with
    (largest overlaps first, each label once); the others get new labels."""
    pairs = pd.crosstab(layout, labels).stack().sort_values(ascending=False, kind="stable")
    pairs = pairs[pairs > 0]
    ours, theirs = pairs.index.get_level_values(0).to_numpy(), pairs.index.get_level_values(1).to_numpy()
    kept = one_to_one(ours, theirs)
    new = np.full(layout.max() + 1, -1, dtype=np.int64)
    new[ours[kept]] = theirs[kept]
    fresh = iter(range(labels.max() + 1, labels.max() + 1 + len(new)))
    new[new < 0] = [next(fresh) for _ in range(int((new < 0).sum()))]
    return new[layout]


def _changes(plan, previous: PreviousPlan, scene: Scene, reasons: pd.Series) -> PlanChanges:
    before = previous.assignment[["building_id", "grid_id"]].dropna().copy()
    before["building_id"] = before["building_id"].map(id_string)
    before["grid_id"] = before["grid_id"].map(id_string)
    after = plan.assignment[["building_id", "grid_id"]]
    both = before.merge(after, on="building_id", how="outer", suffixes=("_before", "_after"))
    change = np.select(
        [both["grid_id_before"].isna(), both["grid_id_after"].isna(), both["grid_id_before"] != both["grid_id_after"]],
        [BuildingChange.NEW.value, BuildingChange.REMOVED.value, BuildingChange.MOVED.value],
        default="",
    )
    both["change"] = change
    moved = both[both["change"] != ""].rename(
        columns={"grid_id_before": "previous_grid_id", "grid_id_after": "grid_id"}
    )
    moved["reason"] = moved["building_id"].map(reasons).fillna("").to_numpy()
    moved.loc[moved["change"] != BuildingChange.MOVED.value, "reason"] = ""
    moved["households"] = (
        moved["building_id"].map(plan.assignment.set_index("building_id")["households"]).fillna(0).astype(int)
    )
    common = both[both["grid_id_before"].notna() & both["grid_id_after"].notna()]
    kept = float((common["grid_id_before"] == common["grid_id_after"]).mean()) if len(common) else 1.0

    out_counts = moved.groupby("previous_grid_id").size()
    in_counts = moved.groupby("grid_id").size()
    old_ids, new_ids = set(before["grid_id"]), set(after["grid_id"])
    rows = []
    for grid_id in sorted(old_ids | new_ids):
        n_in, n_out = int(in_counts.get(grid_id, 0)), int(out_counts.get(grid_id, 0))
        kind = (
            GridChange.CREATED
            if grid_id not in old_ids
            else GridChange.REMOVED
            if grid_id not in new_ids
            else GridChange.CHANGED
            if n_in or n_out
            else GridChange.UNCHANGED
        )
        rows.append({"grid_id": grid_id, "change": kind.value, "buildings_in": n_in, "buildings_out": n_out})
    footprints = scene.buildings[["building_id", "geometry"]]
    building_changes = gpd.GeoDataFrame(
        moved[["building_id", "previous_grid_id", "grid_id", "change", "reason", "households"]].merge(
            footprints, on="building_id", how="left"
        ),
        geometry="geometry",
        crs=scene.crs,
    )
    return PlanChanges(
        building_changes=building_changes,
        grid_changes=pd.DataFrame(rows, columns=["grid_id", "change", "buildings_in", "buildings_out"]),
        kept_share=kept,
        previous=previous.source,
    )
