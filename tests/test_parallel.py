"""Planning communities as parallel tasks: the same plan as planning the scene at once, serial, pool or Dask."""

from __future__ import annotations

import gc
import multiprocessing
import os

import numpy as np
import pandas as pd
import pytest
import shapely

from gridplan import pipeline
from gridplan.cli import EXIT_INPUT, EXIT_OK, main
from gridplan.core.memo import forget_kept
from gridplan.core.metrics import measured_communities
from gridplan.core.results import PreviousPlan
from gridplan.core.scene import PreparedScene
from gridplan.engine import parallel, processes
from gridplan.engine import plan as planning
from gridplan.engine.levels import plan_levels
from gridplan.engine.parallel import SharedLayers, TasksFailedError, community_tasks, plan_communities
from gridplan.engine.regenerate import regenerate
from gridplan.io.store import write_layers
from gridplan.partition import balance_weight, partition, scene_units
from gridplan.pipeline import plan_scene, prepare_scene
from gridplan.prepare.validate import validate_scene
from gridplan.settings import DEFAULTS, PARALLEL_MIN_HOUSEHOLDS, RunOptions

from .support.real_scenes import real_communities_scene
from .support.scenes import street_grid_scene


@pytest.fixture(scope="module")
def scene(small_district):
    return small_district[0].scene


@pytest.fixture(scope="module")
def whole(small_district):
    return small_district[1]


@pytest.fixture(scope="module")
def cluster():
    """One local Dask cluster for the module's Dask tests (2 worker processes of 1 thread, no dashboard): its
    workers start once, not once per test."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def assert_same_plan(plan, expected):
    pd.testing.assert_frame_equal(plan.assignment, expected.assignment)
    pd.testing.assert_frame_equal(plan.grids.drop(columns="geometry"), expected.grids.drop(columns="geometry"))
    assert shapely.equals_exact(plan.grids.geometry.to_numpy(), expected.grids.geometry.to_numpy(), 0).all()
    assert plan.grids.crs == expected.grids.crs
    assert plan.metrics == expected.metrics
    assert plan.warnings == expected.warnings


def test_tasks_hold_every_building_once_in_its_community(scene):
    tasks = community_tasks(scene, batch=4)
    assert [t.community_ids for t in tasks] == [("c0001", "c0002", "c0003", "c0004"), ("c0005", "c0006")]
    ids = pd.concat([t.buildings["building_id"] for t in tasks])
    assert ids.is_unique and set(ids) == set(scene.buildings["building_id"])
    assert all(t.buildings["community_id"].isin(t.community_ids).all() for t in tasks)
    assert [len(t.communities) for t in tasks] == [4, 2]
    singles = tasks[1].singles()
    assert [s.community_ids for s in singles] == [("c0005",), ("c0006",)]
    assert sum(len(s.buildings) for s in singles) == len(tasks[1].buildings)


@pytest.mark.parametrize("batch", [1, 4])
def test_batches_of_communities_give_the_plan_of_the_whole_scene(scene, whole, batch):
    assert_same_plan(plan_communities(scene, batch=batch), whole)


def test_two_processes_give_the_serial_plan(scene, whole):
    forget_kept()
    assert_same_plan(plan_communities(scene, options=RunOptions(workers=2)), whole)
    # the workers' figures of each community (tiling, street alignment) came back with their plans
    assert len(measured_communities()) == 2 * len(scene.communities)
    assert_same_plan(plan_communities(scene, options=RunOptions(workers=2), batch=1), whole)
    assert len(whole.grids) > 6


def test_dask_cluster_gives_the_serial_plan(scene, whole, cluster):
    from dask.distributed import Client

    with Client(cluster) as client:
        assert_same_plan(plan_communities(scene, options=RunOptions(scheduler=client)), whole)
        assert_same_plan(plan_communities(scene, options=RunOptions(scheduler=cluster.scheduler_address)), whole)


def test_merged_plan_keeps_the_atoms_levels_need(scene, whole):
    plan = plan_communities(scene)
    assert len(plan.units.atoms) == len(whole.units.atoms)
    assert (plan.units.building_atom.to_numpy() >= 0).all()
    # every building's atom lies in its grid
    grid_of_atom = plan.grids["grid_id"].to_numpy()[plan.atom_grid]
    assert (grid_of_atom[plan.units.building_atom.to_numpy()] == plan.assignment["grid_id"].to_numpy()).all()
    levels = plan_levels(plan, scene)
    assert levels.micro_grids["households"].sum() == plan.grids["households"].sum()


def _dies(marker, community, once=True):
    """A stand-in for ``partition`` whose worker process dies when it plans ``community``, the first time only
    when ``once`` (the pool's processes are forked, so they inherit it; ``marker`` records a death)."""
    import os

    def plan(piece, *args, **kwargs):
        if community in set(piece.scene.communities["community_id"]) and not (once and marker.exists()):
            marker.touch()
            os._exit(1)
        return partition(piece, *args, **kwargs)

    return plan


def test_a_community_whose_worker_is_lost_is_retried_on_a_fresh_pool(scene, whole, monkeypatch, tmp_path):
    monkeypatch.setattr(parallel, "partition", _dies(tmp_path / "died", "c0002"))
    assert_same_plan(plan_communities(scene, options=RunOptions(workers=2, retries=1), batch=1), whole)
    assert (tmp_path / "died").exists()


def test_a_worker_lost_past_every_retry_names_its_communities(scene, monkeypatch, tmp_path):
    monkeypatch.setattr(parallel, "partition", _dies(tmp_path / "died", "c0002", once=False))
    with pytest.raises(TasksFailedError, match="BrokenProcessPool") as failed:
        plan_communities(scene, options=RunOptions(workers=2, retries=1), batch=3)
    # a lost worker takes its pool down: the communities tried beside it may be named too
    assert "c0002" in failed.value.failures and "communities failed to plan" in str(failed.value)


@pytest.mark.parametrize("workers", [1, 2])
def test_an_error_in_a_community_is_raised_as_it_was_raised_and_not_retried(scene, monkeypatch, tmp_path, workers):
    """An input error, an infeasible layout or a bug fails the same way again: the first, in community order,
    is raised with its kind (and the worker's traceback as its cause), after one try."""
    tries = tmp_path / "tries"

    def broken(piece, *args, **kwargs):
        community_id = piece.scene.communities["community_id"].iat[0]
        with open(tries, "a") as f:  # the pool's processes share no memory with the test
            f.write(community_id + "\n")
        if community_id in ("c0003", "c0005"):
            raise TypeError(f"a bug met in {community_id}")
        return partition(piece, *args, **kwargs)

    monkeypatch.setattr(parallel, "partition", broken)
    with pytest.raises(TypeError, match="a bug met in c0003") as raised:
        plan_communities(scene, options=RunOptions(workers=workers, retries=2), batch=1)
    assert tries.read_text().split().count("c0003") == 1
    if workers > 1:
        assert "a bug met in c0003" in str(raised.value.__cause__) and "Traceback" in str(raised.value.__cause__)


def test_cli_plans_on_a_pool_and_on_a_dask_scheduler_like_serially(scene, whole, cluster, tmp_path):
    import geopandas as gpd

    write_layers(tmp_path / "scene.gpkg", scene.layers())
    for name, options in (
        ("pool", ["--workers", "2", "--levels"]),
        ("dask", ["--scheduler", cluster.scheduler_address]),
    ):
        assert main(["plan", str(tmp_path / "scene.gpkg"), "-o", str(tmp_path / f"{name}.gpkg"), *options]) == EXIT_OK
        buildings = gpd.read_file(tmp_path / f"{name}.gpkg", layer="buildings")
        assert buildings["grid_id"].tolist() == whole.assignment["grid_id"].tolist()
    assert len(gpd.read_file(tmp_path / "pool.gpkg", layer="micro_grids")) > len(whole.grids)


# Real communities side by side: Nanjing cut in four by boundaries through buildings, Beijing, Wuhan.


@pytest.fixture(scope="module")
def real_scene(shared_data):
    validation = validate_scene(real_communities_scene(shared_data)).raise_for_errors()
    fitted = [f for f in validation.findings if f.code == "community_fitted_to_building"]
    assert fitted and fitted[0].count >= 20  # the boundaries ran through buildings, and were moved round them
    return validation.scene


def test_a_real_community_is_cut_into_the_same_atoms_planned_alone_or_among_its_neighbours(real_scene):
    # blocks, the order of neighbours in the graph and the balanced loads (workload scaled to households)
    # depend on the community's own data only: a street through a neighbour's building that reaches into
    # the community still cuts it, in the whole scene as in a task of its own
    settings = DEFAULTS.with_grid(workload_weights={"office": 20.0, "commercial": 20.0, "retail": 10.0, "hotel": 20.0})
    prepared = PreparedScene.of(real_scene, settings)
    local, whole = prepared.local, scene_units(prepared)
    # every atom one polygon (water shared out only where it joins its bank along a line), tiling the communities
    assert (shapely.get_num_geometries(whole.atoms.geometry.to_numpy()) == 1).all()
    assert whole.atoms.area.sum() == pytest.approx(local.communities.area.sum(), rel=1e-9)
    weight = balance_weight(whole.atoms)
    shared = SharedLayers(local.streets, local.barriers)
    tasks = community_tasks(local, batch=1)
    assert len(tasks) == 6 and len({len(t.buildings) for t in tasks}) == 6
    for task in tasks:
        alone = scene_units(shared.scene(task, settings))
        mine = np.flatnonzero((whole.atoms["community_id"] == task.community_ids[0]).to_numpy())
        assert len(mine) == len(alone.atoms), task.community_ids
        assert shapely.equals_exact(whole.atoms.geometry.to_numpy()[mine], alone.atoms.geometry.to_numpy(), 0).all()
        assert [[(b - mine[0], d) for b, d in whole.graph[a].items()] for a in mine] == [
            list(alone.graph[a].items()) for a in range(len(mine))
        ]
        np.testing.assert_array_equal(weight[mine], balance_weight(alone.atoms))


def test_by_default_real_communities_are_planned_on_every_core_into_the_serial_plan(real_scene, monkeypatch):
    prepared = prepare_scene(real_scene)
    serial = plan_scene(prepared, options=RunOptions(workers=1)).plan
    monkeypatch.setattr(processes, "available_cores", lambda: 2)  # whatever share of the cores this test has
    pools = []
    monkeypatch.setattr(
        pipeline, "plan_communities", lambda *a, **k: pools.append(k["options"].workers) or plan_communities(*a, **k)
    )
    assert parallel.default_workers(prepared) == 2
    assert_same_plan(plan_scene(prepared).plan, serial)
    assert pools == [2]


def test_by_default_the_regions_of_one_real_community_are_planned_on_every_core_into_the_serial_plan(
    extracts, monkeypatch
):
    prepared = extracts.prepared("shanghai")  # one community, two regions apart across the Huangpu
    serial = extracts.run("shanghai").plan  # made (or read) before the cores are counted as two
    monkeypatch.setattr(processes, "available_cores", lambda: 2)
    pools, each_apart = [], planning.each_apart
    monkeypatch.setattr(
        planning,
        "each_apart",
        lambda function, tasks, workers, sizes, **k: (
            pools.append((workers, len(sizes))) or each_apart(function, tasks, workers, sizes, **k)
        ),
    )
    assert parallel.default_workers(prepared) == 1  # no pool of communities: the regions get the cores
    assert_same_plan(plan_scene(prepared).plan, serial)
    assert pools == [(2, 2)]
    # workers asked for go to the regions too, not to a pool of one community's task
    monkeypatch.setattr(pipeline, "plan_communities", None)
    assert_same_plan(plan_scene(prepared, options=RunOptions(workers=3)).plan, serial)
    assert pools == [(2, 2), (3, 2)]


def test_regions_apart_on_a_pool_are_numbered_in_the_serial_order(small_district):
    # six communities in one process, their regions on two: the grids come back in community and region order
    serial, pooled = (partition(small_district[0], options=RunOptions(workers=w)) for w in (1, 2))
    assert_same_plan(pooled, serial)
    assert_same_plan(pooled, small_district[1])


def test_the_default_is_one_process_where_a_pool_cannot_gain(real_scene, small_district, extracts, monkeypatch):
    monkeypatch.setattr(processes, "available_cores", lambda: 64)
    assert parallel.default_workers(small_district[0]) == 6  # a process per community, no more
    assert parallel.default_workers(extracts.prepared("nanjing")) == 1  # one community
    few = prepare_scene(real_scene.replace(buildings=real_scene.buildings.assign(households=1)))
    assert len(few.local.communities) == 6 and few.local.buildings["households"].sum() < PARALLEL_MIN_HOUSEHOLDS
    assert parallel.default_workers(few) == 1
    with multiprocessing.get_context("fork").Pool(1) as pool:  # a pool's worker cannot start a pool of its own
        assert pool.apply(parallel.default_workers, (small_district[0],)) == 1
        assert pool.apply(processes.pool_workers, (1e6,)) == 1
    assert processes.pool_workers(PARALLEL_MIN_HOUSEHOLDS) == 64  # regions: every core, from this many households
    assert processes.pool_workers(PARALLEL_MIN_HOUSEHOLDS - 1) == 1


def test_real_communities_give_the_plan_of_the_whole_scene_serially_on_a_pool_and_on_dask(real_scene, cluster):
    from dask.distributed import Client

    whole = partition(real_scene)
    assert len(whole.grids) > 100 and whole.grids["community_id"].nunique() == 6
    assert_same_plan(plan_communities(real_scene, batch=1), whole)
    assert_same_plan(plan_communities(real_scene, options=RunOptions(workers=2)), whole)
    with Client(cluster) as client:
        assert_same_plan(plan_communities(real_scene, options=RunOptions(scheduler=client)), whole)


@pytest.fixture(scope="module")
def too_many_for_gbt14(tmp_path_factory):
    """A scene whose first community needs 100 grids, one more than a 14-digit code's 2-digit serial allows: an
    input error met inside the per-community work, after validation."""

    streets = list(range(100, 1000, 100))
    big = street_grid_scene(1000, 1000, streets, streets, [[300] * 10] * 10, per_block=1)
    small = street_grid_scene(400, 200, [200], [], [[300], [300]], community_id="c2", origin=(601_100.0, 3_500_000.0))
    scene = big.replace(
        communities=pd.concat([big.communities, small.communities.assign(code="320102001002")], ignore_index=True),
        buildings=pd.concat(
            [big.buildings, small.buildings.assign(building_id="s" + small.buildings["building_id"])], ignore_index=True
        ),
        streets=pd.concat([big.streets, small.streets], ignore_index=True),
    )
    path = tmp_path_factory.mktemp("gbt14") / "scene.gpkg"
    write_layers(path, scene.layers())
    return path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_input_error_in_a_worker_ends_as_serially_in_exit_2_and_one_line(
    too_many_for_gbt14, tmp_path, capsys, workers
):

    code = main(
        [
            "plan",
            str(too_many_for_gbt14),
            "-o",
            str(tmp_path / "plan.gpkg"),
            "--code-style",
            "gbt14",
            "--workers",
            workers,
        ]
    )
    said = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("gridplan:")
    ]  # not the progress bar
    assert code == EXIT_INPUT
    # the Chinese message crosses back from the worker with the English one
    assert said == ["gridplan: 错误：社区 c1 需要 100 个网格：超过 2 位序号所能容纳的 99 个"]


def test_a_regeneration_on_two_processes_gives_the_serial_plan(small_district):
    # every fifth building's households × 0.5–1.6: regions to repair in every community, apart on a pool
    prepared, whole = small_district
    buildings = prepared.scene.buildings
    factor = np.where(np.arange(len(buildings)) % 5 == 0, np.random.default_rng(2).uniform(0.5, 1.6, len(buildings)), 1)
    changed = prepare_scene(
        prepared.scene.replace(buildings=buildings.assign(households=np.round(buildings["households"] * factor)))
    )
    previous = PreviousPlan.of(whole)
    serial = regenerate(changed, previous, options=RunOptions(workers=1))
    pooled = regenerate(changed, previous, options=RunOptions(workers=2))
    assert serial.changes.kept_share < 1  # grids were repaired
    assert_same_plan(pooled.plan, serial.plan)
    assert repr(pooled.plan.certificates) == repr(serial.plan.certificates)  # NaN fields: compared as written


def _square_or_die(x: int, parent: int) -> int:
    """x², but a pool's worker holding 3 dies (as one killed or out of memory)."""
    if x == 3 and os.getpid() != parent:
        os._exit(1)
    return x * x


def _fail_on(x: int, bad: int) -> int:
    if x == bad:
        raise ValueError(f"bad task {x}")
    return x


def test_tasks_apart_come_back_in_order_whatever_runs_them(monkeypatch):
    tasks = [(x, os.getpid()) for x in range(6)]
    ended = []
    assert processes.each_apart(_square_or_die, tasks[:3], 2, sizes=[1, 5, 3], done=lambda: ended.append(1)) == [
        0,
        1,
        4,
    ]
    assert len(ended) == 3
    # a worker lost: the tasks run in this process, and nothing is lost or reordered
    assert processes.each_apart(_square_or_die, tasks, 2, sizes=range(6)) == [x * x for x in range(6)]
    with pytest.raises(ValueError, match="bad task 4"):  # an error of a task is raised as it was raised
        processes.each_apart(_fail_on, [(x, 4) for x in range(6)], 2)

    made, seen = [], []

    def tasks():  # in one process each task is made as it runs: a region's graph is freed before the next is made
        for x in range(3):
            made.append(x)
            yield (x,)

    assert processes.each_apart(lambda x: seen.append(len(made)) or x, tasks(), 1, sizes=[3, 2, 1]) == [0, 1, 2]
    assert seen == [1, 2, 3]

    def no_pool(*args, **kwargs):
        raise PermissionError("no semaphores here")

    monkeypatch.setattr(processes, "ProcessPoolExecutor", no_pool)
    ended.clear()
    assert processes.each_apart(_fail_on, [(x, -1) for x in range(4)], 2, done=lambda: ended.append(1)) == [0, 1, 2, 3]
    assert len(ended) == 4


def test_a_pool_runs_with_the_heap_of_its_parent_frozen_and_the_heap_is_collected_again_after():
    # the workers' collectors then leave the pages they share with this process alone; objects made meanwhile
    # are collected as usual, and the frozen ones again once the pool is done, also when it fails
    assert gc.get_freeze_count() == 0
    with processes.forked_pool_heap():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError, match="a task failed"), processes.forked_pool_heap():
        raise RuntimeError("a task failed")
    assert gc.get_freeze_count() == 0
    assert processes.each_apart(divmod, [(7, 2), (9, 4), (5, 5)], workers=2, sizes=[1, 3, 2]) == [
        (3, 1),
        (2, 1),
        (1, 0),
    ]
    assert gc.get_freeze_count() == 0
