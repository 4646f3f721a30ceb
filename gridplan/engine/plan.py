"""Partition communities into household grids (网格划分).

The engine works on the atoms of :mod:`gridplan.engine.units` (street blocks and building cells); steps 3–6
run region by region in :mod:`gridplan.engine`, one module per phase:

1. **Fixed grids.** Special sites (专属网格: schools, hospitals…) and atoms above the ceiling become grids
   of their own; zero-household water is planned like land but never joins the two banks of a barrier
   when a layout without crossing exists.
2. **Grid count.** Each connected region gets ``k`` grids with ``households / k`` inside the bounds,
   trying ``round(H / target)`` and one fewer (chunky atoms need slack).
3. **Recursive bisection.** A region for ``k`` grids is cut in two parts for ``⌊k/2⌋`` and ``⌈k/2⌉``
   grids whose weights keep every later grid inside the tight band (±10 %), choosing among sweep
   orderings (straight lines at several angles, and street-aware geodesic growth from the region's
   extremes) the cut that keeps both parts connected and costs least: cheap along higher street
   classes, dear between building cells, with compactness and evenness as tie-breakers.
4. **Compound moves.** A grid outside the bounds, then one outside the tight band, is re-cut with one
   or two neighbours by the same orderings; where atoms are chunky (a grid is two or three of them),
   the grid and all its neighbours are re-planned exactly: every connected group of their atoms that
   fits the bounds is enumerated and an exact-cover search picks the layout with the fewest grids
   outside the tight band (the count may change unless the user fixed it).
5. **Service radius.** A grid beyond the maximum radius is re-cut with a neighbour where that
   shortens it without moving either grid out of its band; grids still beyond it are named in warnings.
6. **Refinement.** A local search moves boundary atoms between neighbouring grids while it lowers
   cut cost and spread, never disconnecting a grid nor moving one into a worse band.

Everything is deterministic: the same scene and settings give the same plan (相对稳定).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.cluster.hierarchy import DisjointSet
from tqdm.auto import tqdm

from gridplan.core.codes import assign_codes, serial_order
from gridplan.core.geometry import GRID_PRECISION_M, SLIVER_M2, heal
from gridplan.core.households import grid_households
from gridplan.core.memo import Recent, digest, geometry_bytes
from gridplan.core.metrics import PlanMetrics, plan_metrics, with_grid_figures
from gridplan.core.results import Plan, PlanWarning, Provenance
from gridplan.core.scene import PreparedScene, Scene
from gridplan.engine import (
    Adjacency,
    RegionGraph,
    RegionProof,
    Sizing,
    join_orphans,
    plan_region,
    proven_misfits,
    shared_by_label,
)
from gridplan.prepare.validate import as_prepared
from gridplan.settings import RUN_DEFAULTS, GridSettings, LoadWindow, RunOptions, Settings
from gridplan.vocabulary import GridKind, SearchStop, UnitKind, WarningCode, WarningReason

from .claims import Claims, RegionClaim, plan_claims
from .processes import each_apart, pool_workers
from .unit_store import CommunityStore
from .units import Units, build_units, grid_grounds


def partition(
    scene: Scene | PreparedScene, settings: Settings | None = None, *, options: RunOptions = RUN_DEFAULTS
) -> Plan:
    """Divide every community of a scene into grids of about ``settings.grid.target`` households.

    Parameters
    ----------
    scene
        A :class:`~gridplan.core.scene.PreparedScene` (:func:`gridplan.pipeline.prepare_scene`), or a plain
        scene (communities, buildings, optional ``households``, ``kind``, ``compound_id``, streets, optional
        barriers) that is validated and prepared here (:class:`~gridplan.errors.InputError` on errors).
    settings
        Target, tolerance, street preferences, special kinds, workload weights; by default those the scene
        was prepared with (or :data:`~gridplan.settings.DEFAULTS`).
    options
        How it runs (:class:`~gridplan.settings.RunOptions`): a fixed ``grid_count`` (one number for every
        community, or by ``community_id``; by default chosen to fit the bounds), the ``code_style`` and a
        ``progress`` bar over communities. Workers and schedulers are :func:`gridplan.plan_scene`'s.

    Returns
    -------
    Plan
        Grids in the scene's CRS, the building assignment, warnings, metrics and provenance.

    Examples
    --------
    >>> from gridplan.partition import partition
    >>> from gridplan.scenarios.example import example_prepared
    >>> from gridplan.settings import RunOptions
    >>> plan = partition(example_prepared(), options=RunOptions(grid_count=9))
    >>> int((plan.grids["kind"] == "ordinary").sum()), plan.metrics.households_total
    (18, 4500)
    """
    options = options.check()
    prepared = as_prepared(scene, settings)
    settings = prepared.settings
    units = scene_units(prepared)
    workers = options.workers or pool_workers(float(units.atoms["households"].sum()))
    atom_grid, kinds, regions, asked = _plan_atoms(units, settings.grid, options.grid_count, options.progress, workers)
    layout = layout_from_atoms(
        prepared, units, atom_grid, kinds, code_style=options.code_style, regions=regions, fixed=set(asked)
    )
    warnings = count_warnings(layout, asked) + unit_warnings(layout, units, settings.grid) + layout.claims.warnings
    return layout.plan(prepared, sorted(warnings, key=lambda w: str(w.community_id)), units, options.code_style)


@dataclass(frozen=True)
class CountAsked:
    """A community's grid count fixed by the user, and what its atoms allow.

    Attributes
    ----------
    asked
        Ordinary grids the user asked for.
    most
        The most ordinary grids that can hold households: an ordinary grid is whole atoms (street blocks,
        building cells, compounds), so no more grids than atoms with households in the parts planned.
    parts
        The parts of the community planned apart (split by barriers or special sites, each at least one
        grid), among which the asked count is shared by households.
    """

    asked: int
    most: int
    parts: int


def count_warnings(layout: Layout, asked: dict[str, CountAsked]) -> list[PlanWarning]:
    """Per community whose grid count the user fixed, the count asked, the count reached and why they differ."""
    ordinary = layout.grids.loc[layout.grids["kind"] == GridKind.ORDINARY, "community_id"].value_counts()
    out = []
    for community_id, count in sorted(asked.items()):
        reached = int(ordinary.get(community_id, 0))
        if reached == count.asked:
            continue
        why = (
            WarningReason.FEW_UNITS
            if count.asked > count.most
            else WarningReason.PARTS
            if reached > count.asked
            else WarningReason.NO_CONNECTED_CUT
        )
        figures = (("asked", count.asked), ("reached", reached), ("most", count.most), ("parts", count.parts))
        out.append(PlanWarning(WarningCode.GRID_COUNT, str(community_id), "", why.value, figures))
    return out


#: Units of the scenes planned last in this process (:func:`units_key` → units), the latest last: a regeneration,
#: a verification or a fresh plan beside a regeneration of a scene already planned builds no units again (they
#: are three quarters of a regeneration's time on Nanjing). Units are never changed once built. ``UNITS_KEPT``
#: scenes are kept (a district's take about 200 MB).
UNITS_KEPT = 2
_UNITS: Recent[Units] = Recent(UNITS_KEPT)
#: Communities built before (:func:`gridplan.engine.units.community_key` → their atoms): the latest
#: ``COMMUNITIES_KEPT`` in this process's memory, all of them on disk between runs
#: (:mod:`gridplan.engine.unit_store`): a scene changed in some communities builds only those again.
COMMUNITIES_KEPT = 1_000
_COMMUNITIES = CommunityStore(COMMUNITIES_KEPT)
#: Grids' polygons by what their atoms are (:func:`_grid_polygons`): the grids a regeneration or a re-plan keeps
#: are not unioned again (a district's 1,600 take 1.2 s).
GRID_POLYGONS_KEPT = 20_000
_GRID_POLYGONS: Recent = Recent(GRID_POLYGONS_KEPT)


def scene_units(prepared: PreparedScene) -> Units:
    """The atoms of a prepared scene: street blocks and building cells, and their adjacency; built once per
    process for the same layers and grid settings (:data:`UNITS_KEPT` scenes are kept), and for a scene changed
    in some communities, only those built again, in this process or from the atoms kept on disk by an earlier
    one (:data:`_COMMUNITIES`)."""
    local = prepared.local
    return _UNITS.made(
        units_key(prepared),
        lambda: build_units(
            local.communities,
            local.buildings,
            local.streets,
            local.barriers,
            prepared.settings.grid,
            built=_COMMUNITIES,
        ),
    )


def units_key(prepared: PreparedScene) -> str:
    """A digest of everything a scene's units could be made of: the grid settings, and each local layer units are
    built from (communities, buildings, streets, barriers) whole: its CRS, order, geometries and every column."""
    digest = hashlib.sha256(repr(prepared.settings.grid).encode())
    for name in ("communities", "buildings", "streets", "barriers"):
        layer = getattr(prepared.local, name)
        if layer is None:
            digest.update(f"{name}:none".encode())
            continue
        digest.update(f"{name}:{len(layer)}:{layer.crs}".encode())
        for column in sorted(c for c in layer.columns if c != layer.geometry.name):
            values = pd.util.hash_pandas_object(layer[column].astype(str), index=False).to_numpy()
            digest.update(str(column).encode() + values.tobytes())
        digest.update(b"".join(w or b"-" for w in shapely.to_wkb(layer.geometry.to_numpy())))
    return digest.hexdigest()


class Layout:
    """A labelling of the atoms turned into grids: polygons, building assignment and metrics, in the local
    metric CRS; ``atom_grid`` is each atom's grid position in the order of ``grids``."""

    def __init__(
        self,
        grids: gpd.GeoDataFrame,
        assignment: pd.DataFrame,
        metrics: PlanMetrics,
        atom_grid: np.ndarray,
        claims: Claims,
    ):
        self.grids, self.assignment, self.metrics, self.atom_grid, self.claims = (
            grids,
            assignment,
            metrics,
            atom_grid,
            claims,
        )

    def plan(
        self,
        prepared: PreparedScene,
        warnings: list[PlanWarning],
        units: Units,
        code_style: str,
        regenerated_from: str = "",
        *,
        plan_version: int = 1,
        parent_fingerprint: str = "",
        code_history: pd.DataFrame | None = None,
    ) -> Plan:
        """The plan, with grids in the scene's CRS and its provenance: its version and parent plan, and the
        history of its codes (by default started from its own codes)."""
        provenance = Provenance(
            settings=prepared.settings,
            scene_fingerprint=prepared.fingerprint,
            generated=prepared.generated_layers(),
            code_style=code_style,
            regenerated_from=regenerated_from,
            plan_version=plan_version,
            parent_fingerprint=parent_fingerprint,
        )
        return Plan(
            grids=self.grids.to_crs(prepared.crs),
            assignment=self.assignment,
            warnings=warnings,
            metrics=self.metrics,
            provenance=provenance,
            units=units,
            atom_grid=self.atom_grid,
            certificates=self.claims.certificates,
            code_history=code_history,
        )


def unit_warnings(layout: Layout, units: Units, settings: GridSettings) -> list[PlanWarning]:
    """Grids the data fix: a unit above the ceiling that must stay whole (a grid of its own), an isolated
    part below the floor, and a part (or a community) without households."""
    grids = layout.grids
    atoms = units.atoms
    first_atom = pd.Series(np.arange(len(layout.atom_grid))).groupby(layout.atom_grid).first()
    out = []
    for g, row in enumerate(grids.itertuples()):
        if row.kind == GridKind.OVERSIZE:
            a = int(first_atom[g])
            figures = (
                ("unit", str(atoms["kind"].iat[a])),
                ("households", float(atoms["households"].iat[a])),
                ("ceiling", settings.ceiling),
            )
            out.append(PlanWarning(WarningCode.OVERSIZE_UNIT, row.community_id, row.grid_id, figures=figures))
        elif row.kind == GridKind.SMALL and row.households > 0:
            figures = (("households", float(row.households)), ("floor", settings.floor))
            out.append(PlanWarning(WarningCode.BELOW_FLOOR, row.community_id, row.grid_id, figures=figures))
        elif row.kind == GridKind.SMALL:
            figures = (("area_m2", float(row.geometry.area)),)
            out.append(
                PlanWarning(
                    WarningCode.BELOW_FLOOR, row.community_id, row.grid_id, WarningReason.NO_HOUSEHOLDS.value, figures
                )
            )
    return out


def layout_from_atoms(
    prepared: PreparedScene,
    units: Units,
    atom_grid: np.ndarray,
    kinds: list[str],
    *,
    grid_ids: list[str] | None = None,
    code_style: str = "gb15",
    previous_codes: pd.Series | None = None,
    used_codes: Iterable[str] = (),
    regions: Iterable[tuple[Sequence[int], RegionProof]] = (),
    fixed: Iterable[str] = (),
    otherwise: WarningReason = WarningReason.UNITS_TOO_COARSE,
    stopped: SearchStop = SearchStop.LIMITS,
    radius_otherwise: WarningReason = WarningReason.NO_SHORTER_SPLIT,
) -> Layout:
    """Grids, assignment and metrics from any labelling of the atoms — gridplan's or a baseline's.

    Parameters
    ----------
    prepared
        The scene, prepared (its ``local`` layers are in the CRS of ``units``).
    units
        The atoms.
    atom_grid
        Grid position (0..n-1) of every atom (not changed: the layout holds the positions renumbered to
        the order of its grids).
    kinds
        Kind of each grid position (a :class:`~gridplan.vocabulary.GridKind`).
    grid_ids
        Identifier of each grid position (kept across regeneration); by default
        ``<community_id>-<serial>`` in reading order.
    code_style, previous_codes, used_codes
        Grid codes (:func:`gridplan.core.codes.assign_codes`): style, codes to keep by ``grid_id``, and codes used
        in earlier versions, never given to a new grid.
    regions
        The region proofs of the engine: the grid positions of each region proven, and its proof.
    fixed, otherwise, stopped, radius_otherwise
        What :func:`gridplan.engine.claims.plan_claims` says of grids outside the bounds or over the radius without
        a proof: communities whose grid count the user fixed, and the reasons.

    Returns
    -------
    Layout
        In the metric CRS, with the claims (warnings and certificates) of its grids outside the bounds or
        over the radius; ``bounds_possible`` is False where such a claim is proven.
    """
    local, settings = prepared.local, prepared.settings
    original = atom_grid
    grids, assignment, atom_grid = _grids_from_atoms(units, atom_grid, kinds, local.buildings, grid_ids)
    rules = settings.grid
    grids.insert(
        grids.columns.get_loc("largest_unit") + 1,
        "tight_possible",
        _window_possible(units, atom_grid, grids, rules.tight_window),
    )
    grids.insert(grids.columns.get_loc("tight_possible") + 1, "bounds_possible", True)
    grids.insert(
        1, "code", assign_codes(grids, local.communities, style=code_style, previous=previous_codes, used=used_codes)
    )
    grids = with_grid_figures(grids, assignment, local.buildings)
    ids = grids["grid_id"].to_numpy()
    region_claims = []
    for positions, proof in regions:
        ground = np.isin(original, list(positions))
        if proof.atoms is not None and ground.sum() != len(proof.atoms):
            continue  # its grids no longer hold exactly the ground it speaks of
        region_claims.append(RegionClaim(tuple(ids[np.unique(atom_grid[ground])].tolist()), proof))
    claims = plan_claims(
        grids,
        atom_grid,
        local.buildings["building_id"].to_numpy(),
        units,
        balance_weight(units.atoms),
        rules,
        region_claims,
        fixed,
        otherwise,
        stopped,
        radius_otherwise,
    )
    # proven unable to meet the bounds: a claim's grids, and one unit above the ceiling
    grids["bounds_possible"] = ~grids["grid_id"].isin(claims.bounds_proven) & (grids["kind"] != GridKind.OVERSIZE)
    grids.loc[(grids["kind"] == GridKind.OVERSIZE).to_numpy(), "tight_possible"] = False
    # what the grid stands on: a regeneration keeps the grids and claims of ground that did not change
    grids.insert(grids.columns.get_loc(grids.geometry.name), "ground", grid_grounds(units, atom_grid, len(grids)))
    metrics = plan_metrics(
        grids, assignment, local.buildings, local.communities, local.streets, local.barriers, settings.grid
    )
    return Layout(grids, assignment, metrics, atom_grid, claims)


# --------------------------------------------------------------------------------------------------
# Planning on the atom graph


@dataclass(frozen=True)
class _Parts:
    """A community cut for planning: its fixed grids (special sites, then atoms above the ceiling), the
    regions planned apart, and the grid count the user fixed (None: chosen)."""

    community_id: str
    sites: list[np.ndarray]
    oversize: list[int]
    regions: list[np.ndarray]
    wanted: int | None


def _plan_atoms(
    units: Units, settings: GridSettings, grid_count, progress: bool = False, workers: int = 1
) -> tuple[np.ndarray, list[str], dict[int, RegionProof], dict[str, CountAsked]]:
    """Grid position of every atom, the kind of each grid, the grids of regions where an exhaustive
    search proved that no layout has fewer grids outside the bounds (each with its region's proof, which
    covers the layout kept), and the communities whose count was fixed. The regions of every community
    stand alone: they are planned on ``workers`` processes (:func:`~gridplan.engine.processes.each_apart`),
    then numbered in community and region order, so every count gives the same grids."""
    atoms = units.atoms
    adjacency = Adjacency.from_networkx(units.graph)
    sizing = Sizing.of(settings)
    weight = balance_weight(atoms)
    households = atoms["households"].to_numpy()
    atom_grid = np.full(len(atoms), -1, dtype=np.int64)
    kinds: list[str] = []
    regions_proven: list[tuple[list[int], RegionProof]] = []
    asked: dict[str, CountAsked] = {}

    def new_grid(nodes, kind: str) -> int:
        atom_grid[nodes] = len(kinds)
        kinds.append(kind)
        return len(kinds) - 1

    cut = [
        _community_parts(adjacency, atoms, members, weight, settings, grid_count)
        for members in atoms.groupby("community_id", sort=True).indices.items()
    ]
    tasks = []  # each region that reaches the floor, with its share of a grid count the user fixed
    for parts in cut:
        total = sum(weight[r].sum() for r in parts.regions)
        for region in parts.regions:
            if weight[region].sum() >= settings.floor:
                k = None if parts.wanted is None else max(1, round(parts.wanted * weight[region].sum() / total))
                tasks.append((region, k))
    with tqdm(total=len(tasks), desc="planning regions", unit="region", disable=not progress) as bar:
        planned = iter(
            each_apart(
                plan_region,
                # made one at a time in this process: a region's graph (and what its search keeps) is freed after it
                ((RegionGraph.of(adjacency, region, weight, atoms), sizing, k) for region, k in tasks),
                workers,
                [len(region) for region, _ in tasks],
                done=bar.update,
            )
        )
    scraps = []  # regions of neither households nor ground: slivers a boundary repair cut off, not grids
    for parts in cut:
        for site in parts.sites:
            new_grid(site, GridKind.SPECIAL)
        for a in parts.oversize:
            new_grid([a], GridKind.OVERSIZE)
        inhabited = [r for r in parts.regions if weight[r].sum() >= settings.floor]
        if parts.wanted is not None:
            most = int(sum((households[r] > 0).sum() for r in inhabited))
            asked[parts.community_id] = CountAsked(parts.wanted, most, len(inhabited))
        for region in parts.regions:
            if weight[region].sum() < settings.floor:
                # a small part joins a fixed grid around it; where no part reaches the floor, the households
                # stay in grids of their own rather than vanish into a school's or a hospital's grid
                host = host_grid(adjacency, region, atom_grid, kinds) if inhabited else None
                if host is not None:
                    atom_grid[region] = host
                elif is_scrap(atoms, region):
                    scraps.append(region)
                else:
                    new_grid(region, GridKind.SMALL)
                continue
            labels, proofs = next(planned)
            labels = _without_empty(adjacency, region, labels, households)
            for g in range(labels.max() + 1):
                new_grid(region[labels == g], GridKind.ORDINARY)
            regions_proven += proofs_in_scene(region, proofs, atom_grid)
    for region in scraps:
        host = nearest_grid(atoms, region, atom_grid)
        if host is None:  # a community of nothing but slivers keeps one grid, empty
            new_grid(region, GridKind.SMALL)
        else:
            atom_grid[region] = host
    # atoms no region took (none expected) join the grid they share most boundary with
    atom_grid = join_orphans(atom_grid, np.flatnonzero(atom_grid < 0), adjacency)
    if (atom_grid < 0).any():
        raise RuntimeError(f"atoms {np.flatnonzero(atom_grid < 0)[:5].tolist()} are connected to no grid")
    return atom_grid, kinds, regions_proven, asked


def _community_parts(
    adjacency: Adjacency,
    atoms: gpd.GeoDataFrame,
    community: tuple,
    weight: np.ndarray,
    settings: GridSettings,
    grid_count,
) -> _Parts:
    """One community's fixed grids and regions (``community``: its id and atom positions)."""
    community_id, members = community
    members = np.asarray(members)
    fixed = np.zeros(len(atoms), dtype=bool)
    sites = special_sites(adjacency, atoms, members)
    for site in sites:
        fixed[site] = True
    households = atoms["households"].to_numpy()
    oversize = members[~fixed[members] & (households[members] > settings.ceiling)].tolist()
    fixed[oversize] = True
    regions = _regions(adjacency, members[~fixed[members]], weight, settings)
    return _Parts(community_id, sites, oversize, regions, _wanted_count(grid_count, community_id))


def proofs_in_scene(
    region: np.ndarray, proofs: list[RegionProof], atom_grid: np.ndarray
) -> list[tuple[list[int], RegionProof]]:
    """The proofs of a region planned (its atoms ``region``, their grids in ``atom_grid``) with the grid
    positions each speaks of: all the region's for the region's proof, the grids of its atoms for a
    neighbourhood's (whose atoms become the scene's positions)."""
    out = []
    for proof in proofs:
        ground = region if proof.atoms is None else region[list(proof.atoms)]
        scene_atoms = None if proof.atoms is None else tuple(ground.tolist())
        out.append((sorted(set(atom_grid[ground].tolist())), dataclasses.replace(proof, atoms=scene_atoms)))
    return out


def _without_empty(adjacency: Adjacency, region: np.ndarray, labels: np.ndarray, households: np.ndarray) -> np.ndarray:
    """A region's grid labels with each grid that holds no household joined to the neighbouring grid it shares
    most boundary with (an ordinary grid is made for households and has a grid worker), renumbered ``0 … k-1``."""
    held = np.bincount(labels, weights=households[region])
    empty = held[labels] == 0
    if not empty.any() or empty.all():
        return labels
    joined = join_orphans(labels, np.flatnonzero(empty), adjacency.among(region))
    return np.unique(joined, return_inverse=True)[1]


def special_sites(adjacency: Adjacency, atoms: gpd.GeoDataFrame, members: np.ndarray) -> list[np.ndarray]:
    """Special atoms of ``members`` grouped into sites: touching atoms of the same kind (a campus) form one grid."""
    nodes = members[atoms["kind"].to_numpy()[members] == UnitKind.SPECIAL]
    special = atoms["special"].to_numpy()[nodes]
    among = adjacency.among(nodes)
    return [nodes[c] for c in among.components(keep=special[among.sources] == special[among.indices])]


def balance_weight(atoms: gpd.GeoDataFrame) -> np.ndarray:
    """What is balanced: workload scaled to households community by community, so the bounds stay in
    households and a community's weights depend on its own buildings alone (planned with others or not)."""
    households = atoms["households"].to_numpy(dtype=float)
    workload = atoms["workload"].to_numpy(dtype=float)
    weight = households.copy()
    for members in atoms.groupby("community_id", sort=False).indices.values():
        h, w = households[members], workload[members]
        total_w, total_h = w.sum(), h.sum()
        if total_w > 0 and total_h > 0 and not np.allclose(w, h):
            weight[members] = w * (total_h / total_w)
    return weight


def _wanted_count(grid_count, community_id):
    if grid_count is None or isinstance(grid_count, int):
        return grid_count
    return grid_count.get(community_id)


def _regions(adjacency: Adjacency, free: np.ndarray, weight: np.ndarray, settings: GridSettings) -> list[np.ndarray]:
    """Connected regions of the atoms ``free`` (ascending) to plan, not joined across barriers unless a
    region's households fit no layout of whole grids."""
    land = adjacency.among(free)
    rows = land.sources
    apart = land.components(keep=~land.barrier)
    component = np.empty(len(free), dtype=np.int64)
    for i, c in enumerate(apart):
        component[c] = i
    loads = [weight[free[c]].sum() for c in apart]
    joined = DisjointSet(range(len(apart)))
    # A component whose households fit no layout of whole grids rejoins its neighbour across the
    # barrier (smallest first): crossing is allowed only where no layout without it exists.
    for i in sorted(range(len(apart)), key=lambda i: loads[i]):
        if divisible(sum(loads[j] for j in sorted(joined.subset(i))), settings):
            continue
        crossing = land.barrier & (component[rows] == i) & (component[land.indices] != i)
        if crossing.any():
            joined.merge(i, max(zip(land.length[crossing].tolist(), component[land.indices[crossing]].tolist()))[1])
    return sorted(
        (np.sort(free[np.concatenate([apart[j] for j in group])]) for group in joined.subsets()), key=lambda r: r[0]
    )


def divisible(households: float, settings: GridSettings) -> bool:
    """Whether ``households`` can be cut into whole grids within the bounds (k·floor ≤ H ≤ k·ceiling)."""
    k = math.ceil(households / settings.ceiling)
    return households == 0 or k * settings.floor <= households


def host_grid(adjacency: Adjacency, region: np.ndarray, atom_grid: np.ndarray, kinds: list[str]) -> int | None:
    """A fixed grid (oversize first, then special) that a too-small enclosed region can join: the one it
    shares most boundary with (None where it touches none)."""
    if not kinds:
        return None
    fixed = np.isin(np.asarray(kinds, dtype=object), [GridKind.OVERSIZE, GridKind.SPECIAL])
    hosts = np.where((atom_grid >= 0) & fixed[np.maximum(atom_grid, 0)], atom_grid, -1)
    shared = shared_by_label(adjacency, region, hosts, len(kinds))
    if not shared.any():
        return None
    oversize = np.asarray(kinds, dtype=object) == GridKind.OVERSIZE
    return int(np.lexsort((-np.arange(len(kinds)), shared, oversize & (shared > 0)))[-1])


def is_scrap(atoms: gpd.GeoDataFrame, region: np.ndarray) -> bool:
    """Whether ``region`` holds neither households nor ground (less than ``SLIVER_M2`` in all): slivers that a
    boundary repair cut off, not a grid."""
    households = atoms["households"].to_numpy()[region].sum()
    return households == 0 and shapely.area(atoms.geometry.to_numpy()[region]).sum() < SLIVER_M2


def nearest_grid(atoms: gpd.GeoDataFrame, region: np.ndarray, atom_grid: np.ndarray) -> int | None:
    """The grid of the community's atom nearest to ``region`` among those with a grid (``>= 0``; None where
    there is none): a scrap (:func:`is_scrap`) joins it, and the grid's polygon drops it as a detached sliver
    (the gap metric counts it)."""
    community = atoms["community_id"].to_numpy()
    others = np.flatnonzero((community == community[region[0]]) & (atom_grid >= 0))
    others = others[~np.isin(others, region)]
    if not len(others):
        return None
    geoms = atoms.geometry.to_numpy()
    distance = shapely.distance(geoms[others], shapely.union_all(geoms[region]))
    return int(atom_grid[others[np.argmin(distance)]])


# --------------------------------------------------------------------------------------------------
# From atoms to grids


def _grids_from_atoms(
    units: Units, atom_grid: np.ndarray, kinds: list[str], buildings: gpd.GeoDataFrame, grid_ids=None
):
    atoms = units.atoms
    n_grids = len(kinds)
    geoms = atoms.geometry.to_numpy()
    order = np.argsort(atom_grid, kind="stable")
    bounds = np.searchsorted(atom_grid[order], np.arange(n_grids + 1))
    polygons = _grid_polygons(geoms, [order[bounds[g] : bounds[g + 1]] for g in range(n_grids)])
    community = [atoms["community_id"].iat[order[bounds[g]]] for g in range(n_grids)]

    building_grid = atom_grid[units.building_atom.to_numpy()]
    households = np.bincount(building_grid, weights=buildings["households"].to_numpy(dtype=float), minlength=n_grids)
    workload = np.bincount(building_grid, weights=buildings["workload"].to_numpy(dtype=float), minlength=n_grids)
    sources = grid_households(building_grid, buildings["households"], buildings["households_estimated"], range(n_grids))
    count = np.bincount(building_grid, minlength=n_grids)
    largest_unit = (
        pd.Series(atoms["households"].to_numpy()).groupby(atom_grid).max().reindex(range(n_grids), fill_value=0)
    )

    grids = gpd.GeoDataFrame(
        {
            "community_id": community,
            "kind": [str(k) for k in kinds],
            "households": np.round(households).astype(np.int64),
            "workload": workload,
            "households_estimated": sources["households_estimated"].to_numpy(),
            "households_source": sources["households_source"].to_numpy(),
            "buildings": count,
            "largest_unit": largest_unit.to_numpy(),
        },
        geometry=polygons,
        crs=atoms.crs,
    )
    # Grids in reading order within each community (rows north → south, west → east), as codes run.
    grids["_serial"] = serial_order(grids)
    grids = grids.sort_values(["community_id", "_serial"], kind="stable")
    if grid_ids is None:
        grids["grid_id"] = grids["community_id"].astype(str) + "-" + grids["_serial"].map("{:03d}".format)
    else:
        grids["grid_id"] = np.asarray(grid_ids, dtype=object)[grids.index.to_numpy()]
    renumber = np.empty(n_grids, dtype=np.int64)
    renumber[grids.index.to_numpy()] = np.arange(n_grids)
    grids = grids.drop(columns=["_serial"]).reset_index(drop=True)
    grids = grids[["grid_id"] + [c for c in grids.columns if c != "grid_id"]]

    assignment = pd.DataFrame(
        {
            "building_id": buildings["building_id"].to_numpy(),
            "grid_id": grids["grid_id"].to_numpy()[renumber[building_grid]],
            "community_id": buildings["community_id"].to_numpy(),
            "households": buildings["households"].to_numpy(),
            "households_estimated": buildings["households_estimated"].to_numpy(),
            "workload": buildings["workload"].to_numpy(),
        }
    )
    return grids, assignment, renumber[atom_grid]


def _grid_polygons(geoms: np.ndarray, members: list[np.ndarray]) -> list:
    """Each grid's polygon, the union of its atoms ``geoms[members[g]]``, snapped to ``GRID_PRECISION_M`` (vertices
    nanometres apart would cross once projected to longitude/latitude) and healed; a grid made of the same atoms as
    one before (a regeneration, a re-plan of a neighbouring grid) takes that polygon from ``_GRID_POLYGONS``."""
    atom_bytes = geometry_bytes(geoms)

    def polygon(atoms: np.ndarray):
        return heal(shapely.set_precision(shapely.union_all(geoms[atoms], grid_size=None), GRID_PRECISION_M))

    return [_GRID_POLYGONS.made(digest([atom_bytes[a] for a in atoms]), partial(polygon, atoms)) for atoms in members]


def _window_possible(units: Units, atom_grid: np.ndarray, grids: gpd.GeoDataFrame, window: LoadWindow) -> np.ndarray:
    """Per grid: False where no layout can bring it within ``window``, proven by one of its units (see
    :func:`gridplan.engine.proven_misfits`). Proofs need households to be what is balanced."""
    atoms = units.atoms
    possible = np.ones(len(grids), dtype=bool)
    out = np.flatnonzero(
        (grids["kind"] == GridKind.ORDINARY).to_numpy() & ~window.contains(grids["households"].to_numpy())
    )
    weight = balance_weight(atoms)
    community = atoms["community_id"].to_numpy()
    # communities whose balanced load is their households (a proof looks at one community's atoms only)
    plain = (
        pd.Series(np.isclose(weight, atoms["households"].to_numpy()))
        .groupby(community)
        .transform("all")
        .to_numpy(dtype=bool)
    )
    candidates = np.flatnonzero(np.isin(atom_grid, out) & plain)
    if not len(candidates):
        return possible
    allowed = atoms["kind"].to_numpy() != GridKind.SPECIAL
    codes = pd.factorize(community)[0]
    proven = proven_misfits(units.graph, np.where(plain, weight, 0.0), allowed, codes, candidates, *window)
    possible[np.unique(atom_grid[candidates[proven]])] = False
    return possible
