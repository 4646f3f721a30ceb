"""Planning many communities at once (批量规划): a district, city or province as per-community tasks.

Communities plan independently: :func:`gridplan.partition.partition` cuts each community along its own
streets and barriers and numbers its grids ``<community_id>-<serial>`` in its own reading order. So a
scene is split into tasks of consecutive communities (with their buildings; streets and barriers are sent
to each worker once), each task is planned on a worker — a local process pool or a Dask distributed
cluster — and the plans are merged: grids and assignment concatenated in community order, metrics measured once over
the whole. The merged plan is the plan :func:`partition` gives for the whole scene.
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from gridplan.core.geometry import GRID_PRECISION_M
from gridplan.core.households import community_of
from gridplan.core.metrics import keep_measured, measured_communities, plan_metrics
from gridplan.core.results import Plan, Provenance
from gridplan.core.scene import PreparedScene, Scene
from gridplan.errors import GridplanError
from gridplan.prepare.validate import as_prepared
from gridplan.settings import RUN_DEFAULTS, RunOptions, Settings

from .claims import merged_claims
from .plan import partition
from .processes import forked_pool_heap, pool_workers
from .units import Units

#: Tasks per worker when communities are batched: enough to balance uneven communities.
TASKS_PER_WORKER = 8


class TasksFailedError(GridplanError):
    """Communities whose workers were lost on every try; ``failures`` maps community_id → error text."""

    def __init__(self, failures: dict[str, str]):
        self.failures = dict(failures)
        listed = "; ".join(f"{c}: {e}" for c, e in sorted(self.failures.items())[:5])
        more = f" (+{len(failures) - 5} more)" if len(failures) > 5 else ""
        super().__init__(f"{len(failures)} communities failed to plan: {listed}{more}")


@dataclass(frozen=True)
class CommunityTask:
    """A batch of consecutive communities and their buildings, in the scene's metric CRS: what a worker plans."""

    community_ids: tuple
    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame

    def singles(self) -> list["CommunityTask"]:
        """One task per community of the batch (to find which of them fails)."""
        return [
            CommunityTask(
                (c,),
                self.communities[self.communities["community_id"] == c],
                self.buildings[self.buildings["community_id"] == c],
            )
            for c in self.community_ids
        ]


@dataclass(frozen=True)
class SharedLayers:
    """Streets and barriers, sent to each worker once and shared by its tasks.

    A community is cut along the streets its STRtree query finds; the order they come back in depends on
    the whole layer's tree and decides floating-point details of the blocks, so each community is planned
    against the whole layer to give exactly the grids of an all-at-once plan.
    """

    streets: gpd.GeoDataFrame
    barriers: gpd.GeoDataFrame | None

    def scene(self, task: CommunityTask, settings: Settings) -> PreparedScene:
        """The task's communities as a scene already prepared (in the metric CRS, buildings filled)."""
        scene = Scene(
            communities=task.communities, buildings=task.buildings, streets=self.streets, barriers=self.barriers
        )
        return PreparedScene(scene=scene, local=scene, settings=settings, fingerprint="")


def default_workers(prepared: PreparedScene) -> int:
    """The processes a plan's communities are planned on by default: those of
    :func:`~gridplan.engine.processes.pool_workers` (every available core where a pool gains), at most one per
    community; one for a scene of one community (whose regions :func:`~gridplan.partition.partition` plans on
    every core instead). Every count gives the same plan.

    Parameters
    ----------
    prepared
        The scene to plan.

    Returns
    -------
    int
    """
    communities = len(prepared.local.communities)
    if communities < 2:
        return 1
    return min(pool_workers(float(prepared.local.buildings["households"].sum())), communities)


def community_tasks(scene: Scene, batch: int = 1) -> list[CommunityTask]:
    """Split a scene, already in a metric CRS, into tasks of ``batch`` communities in ``community_id`` order.

    Buildings go to their ``community_id`` (set by validation), else to the community holding their
    representative point.
    """
    communities = scene.communities.sort_values("community_id", kind="stable").reset_index(drop=True)
    buildings = scene.buildings
    if "community_id" not in buildings:
        buildings = buildings.assign(community_id=community_of(buildings, communities))
    position = pd.Series(np.arange(len(communities)), index=communities["community_id"].to_numpy())
    building_task = position.reindex(buildings["community_id"].to_numpy()).to_numpy() // batch
    members = pd.Series(np.arange(len(buildings))).groupby(building_task).indices
    tasks = []
    for i, first in enumerate(range(0, len(communities), batch)):
        rows = communities.iloc[first : first + batch]
        tasks.append(CommunityTask(tuple(rows["community_id"]), rows, buildings.iloc[members.get(i, [])]))
    return tasks


def plan_community(
    task: CommunityTask, shared: SharedLayers, settings: Settings, options: RunOptions
) -> tuple[Plan, dict]:
    """Plan one task's communities (a top-level function, so process pools and Dask can pickle it); with the
    figures of its communities measured for the plan's metrics (:func:`gridplan.core.metrics.measured_communities`),
    which the merge takes instead of measuring them again."""
    before = set(measured_communities())
    plan = partition(shared.scene(task, settings), options=options)
    return plan, {key: value for key, value in measured_communities().items() if key not in before}


_WORKER_SHARED: SharedLayers | None = None


def _init_worker(shared: SharedLayers) -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = shared


def _plan_in_worker(task: CommunityTask, settings: Settings, options: RunOptions) -> tuple[Plan, dict]:
    """Plan one task in a pool process against the layers its initializer received."""
    return plan_community(task, _WORKER_SHARED, settings, options)


def plan_communities(
    scene: Scene | PreparedScene,
    settings: Settings | None = None,
    *,
    options: RunOptions = RUN_DEFAULTS,
    batch: int | None = None,
) -> Plan:
    """Plan every community of a scene as independent tasks, in parallel, into one plan.

    Parameters
    ----------
    scene
        As for :func:`gridplan.partition.partition`: prepared, or plain (validated first).
    settings
        As for :func:`gridplan.partition.partition`.
    options
        How it runs (:class:`~gridplan.settings.RunOptions`): ``grid_count`` and ``code_style`` as for
        :func:`gridplan.partition.partition`; ``workers`` processes of the local pool (1: in this process; by
        default :func:`default_workers`), or a
        Dask distributed ``scheduler`` (an address such as ``tcp://host:8786``, or a ``dask.distributed.Client``;
        ``workers`` is then ignored); ``retries``, the times a task whose worker was lost (killed, out of memory,
        gone from the cluster) is tried again: a batch lost every time is tried community by community, so the
        failures name the communities that fail. Any other error (an :class:`~gridplan.errors.InputError`, an
        :class:`~gridplan.errors.InfeasibleError`, a bug) fails the same way again: it is raised as it was
        raised in the worker, with the worker's traceback as its cause, as planning the scene serially raises it.
        ``progress``: a bar over planned communities (on standard error).
    batch
        Communities per task; by default enough for about ``TASKS_PER_WORKER`` tasks per worker (a task
        has a fixed cost: trees over the streets, a plan's metrics).

    Returns
    -------
    Plan
        The same grids, assignment, codes, warnings and metrics as ``partition(scene, ...)``, metrics measured
        over the whole; ``units`` the tasks' atoms side by side (no adjacency between tasks).

    Raises
    ------
    TasksFailedError
        Communities whose workers were still lost after ``retries`` more tries, each with its error.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import RunOptions, plan_communities
    >>> from gridplan.partition import partition
    >>> plan = plan_communities(prepared, options=RunOptions(workers=2))
    >>> plan.assignment["grid_id"].tolist() == partition(prepared).assignment["grid_id"].tolist()
    True
    """
    options = options.check()
    prepared = as_prepared(scene, settings)
    settings, local = prepared.settings, prepared.local
    shared = SharedLayers(local.streets, local.barriers)
    # the workers plan without bars of their own: the bar here counts their communities
    # a task's regions stay in its process: the tasks are what runs apart
    args = (settings, RunOptions(grid_count=options.grid_count, code_style=options.code_style, workers=1))
    scheduler, client = options.scheduler, None
    if scheduler is not None:
        from dask.distributed import Client

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        workers = options.workers or default_workers(prepared)
        slots = sum(client.nthreads().values()) if client is not None else workers
        n = len(local.communities)
        tasks = community_tasks(local, batch or max(1, math.ceil(n / (TASKS_PER_WORKER * max(slots, 1)))))
        with tqdm(total=n, desc="planning communities", unit="community", disable=not options.progress) as bar:
            if client is not None:
                run = partial(_run_dask, client=client, shared=shared, args=args, bar=bar)
            elif workers > 1:
                run = partial(_run_pool, workers=workers, shared=shared, args=args, bar=bar)
            else:
                run = partial(_run_serial, shared=shared, args=args, bar=bar)
            plans, errors = _run_with_retries(run, tasks, options.retries, bar)
    finally:
        if client is not None and client is not scheduler:
            client.close()
    if errors:
        raise TasksFailedError({ids[0]: _error(e) for ids, e in errors.items()}) from next(iter(errors.values()))
    ordered = [plan for _, plan in sorted(plans.items(), key=lambda item: item[0])]
    for _, measured in ordered:
        keep_measured(measured)
    return merge_plans([plan for plan, _ in ordered], prepared, options.code_style)


def _run_with_retries(run, tasks: list[CommunityTask], retries: int, bar) -> tuple[dict, dict]:
    """Plans and errors by task: ``run`` with ``retries``, then each community of a batch lost every time alone.
    An error of the data or of the code is raised as it was raised (:func:`_first_error`)."""
    plans, errors = run(tasks, retries=retries)
    first = _first_error(errors)
    if first is not None:
        raise first
    failed = [t for t in tasks if t.community_ids in errors]
    singles = [single for t in failed if len(t.community_ids) > 1 for single in t.singles()]
    if singles:
        bar.update(-len(singles))
        found, single_errors = run(singles, retries=0)
        plans.update(found)
        errors = {ids: e for ids, e in errors.items() if len(ids) == 1} | single_errors
        first = _first_error(errors)
        if first is not None:
            raise first
    return plans, errors


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


#: Plans (with their communities' figures: :func:`plan_community`), and errors as raised (kind and traceback
#: kept), by the community ids of their task.
Results = tuple[dict[tuple, tuple[Plan, dict]], dict[tuple, BaseException]]


def _lost(exc: BaseException) -> bool:
    """Whether ``exc`` says a worker was lost (killed, out of memory, gone from the cluster): the one failure
    another try can mend. An input error, an infeasible layout or a bug fails again the same way."""
    if isinstance(exc, BrokenProcessPool):
        return True
    killed = getattr(sys.modules.get("distributed"), "KilledWorker", None)
    return killed is not None and isinstance(exc, killed)


def _first_error(errors: dict[tuple, BaseException]) -> BaseException | None:
    """The error of the first task, in community order, that failed for a reason other than a lost worker:
    the error a serial run raises."""
    kept = sorted((ids, e) for ids, e in errors.items() if not _lost(e))
    return kept[0][1] if kept else None


def _run_serial(tasks, *, retries: int, shared, args, bar) -> Results:
    # no worker to lose in this process: an error is raised as it is, as planning the whole scene raises it
    plans = {}
    for task in tasks:
        plans[task.community_ids] = plan_community(task, shared, *args)
        bar.update(len(task.community_ids))
    return plans, {}


def _run_pool(tasks, *, retries: int, workers: int, shared, args, bar) -> Results:
    plans, errors = {}, {}
    todo = list(tasks)
    for _ in range(retries + 1):
        lost = []
        # a lost worker breaks its whole pool: the tasks it took down go to a fresh one
        with (
            forked_pool_heap(),
            ProcessPoolExecutor(
                max_workers=min(workers, len(todo)), initializer=_init_worker, initargs=(shared,)
            ) as pool,
        ):
            # the most households first, so that a large task does not start last (the plans are kept by task)
            largest_first = sorted(todo, key=lambda t: -float(t.buildings["households"].sum()))
            futures = {pool.submit(_plan_in_worker, t, *args): t for t in largest_first}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    plans[task.community_ids] = future.result()
                    errors.pop(task.community_ids, None)
                except Exception as exc:  # kept, with the worker's traceback as its cause, and raised in order
                    errors[task.community_ids] = exc
                    if _lost(exc):
                        lost.append(task)
                        continue
                bar.update(len(task.community_ids))
        todo = lost
        if not todo or _first_error(errors) is not None:
            break
    return plans, errors


def _run_dask(tasks, *, retries: int, client, shared, args, bar) -> Results:
    from dask.distributed import as_completed as completed

    shared = client.scatter(shared, broadcast=True)
    futures = {client.submit(plan_community, t, shared, *args, pure=False): (t, 0) for t in tasks}
    plans, errors = {}, {}
    running = completed(futures)
    for future in running:
        task, attempt = futures[future]
        if future.status == "error":
            exc = future.exception().with_traceback(future.traceback())
            if _lost(exc) and attempt < retries:
                again = client.submit(plan_community, task, shared, *args, pure=False)
                futures[again] = (task, attempt + 1)
                running.add(again)
                continue
            errors[task.community_ids] = exc
        else:
            plans[task.community_ids] = future.result()
        bar.update(len(task.community_ids))
    return plans, errors


def merge_plans(plans: list[Plan], prepared: PreparedScene, code_style: str = "gb15") -> Plan:
    """One plan from per-community plans (in community order, grids in the metric CRS): grids, assignment and
    warnings concatenated, atoms side by side, metrics measured over the whole scene, grids in its CRS."""
    local, settings = prepared.local, prepared.settings
    grids = gpd.GeoDataFrame(pd.concat([p.grids.to_crs(local.crs) for p in plans], ignore_index=True), crs=local.crs)
    # Pickling keeps coordinates but drops the precision grid partition set on them, which overlays (gap, overlap) use.
    grids.geometry = shapely.set_precision(grids.geometry.to_numpy(), GRID_PRECISION_M, mode="pointwise")
    buildings = local.buildings
    assignment = pd.concat([p.assignment for p in plans], ignore_index=True)
    assignment = assignment.set_index("building_id").loc[buildings["building_id"]].reset_index()
    units, atom_grid = _merge_units(plans, buildings)
    metrics = plan_metrics(
        grids, assignment, buildings, local.communities, local.streets, local.barriers, settings.grid
    )
    warnings, certificates = merged_claims(plans)
    provenance = Provenance(
        settings=settings,
        scene_fingerprint=prepared.fingerprint,
        generated=prepared.generated_layers(),
        code_style=code_style,
    )
    return Plan(
        grids=grids.to_crs(prepared.crs),
        assignment=assignment,
        warnings=warnings,
        metrics=metrics,
        provenance=provenance,
        units=units,
        atom_grid=atom_grid,
        certificates=certificates,
    )


def _merge_units(plans: list[Plan], buildings: gpd.GeoDataFrame) -> tuple[Units, np.ndarray]:
    """The plans' atoms as one set (positions offset plan by plan) and their grid positions."""
    atoms, graphs, building_atom, atom_grid = [], [], [], []
    atom_offset = grid_offset = 0
    for p in plans:
        atoms.append(p.units.atoms.assign(atom_id=p.units.atoms["atom_id"] + atom_offset))
        graphs.append(nx.relabel_nodes(p.units.graph, lambda a, o=atom_offset: a + o))
        building_atom.append(
            pd.Series(p.units.building_atom.to_numpy() + atom_offset, index=p.assignment["building_id"].to_numpy())
        )
        atom_grid.append(p.atom_grid + grid_offset)
        atom_offset += len(p.units.atoms)
        grid_offset += len(p.grids)
    merged = gpd.GeoDataFrame(pd.concat(atoms, ignore_index=True), geometry="geometry", crs=buildings.crs)
    by_building = pd.concat(building_atom)
    units = Units(
        atoms=merged,
        graph=nx.union_all(graphs) if graphs else nx.Graph(),
        building_atom=pd.Series(
            by_building.loc[buildings["building_id"]].to_numpy(), index=buildings.index, name="atom"
        ),
    )
    return units, np.concatenate(atom_grid) if atom_grid else np.zeros(0, dtype=np.int64)
