"""Partition benchmark: gridplan against METIS, max-p and k-means, on the same atoms and households.

Cases: every extract in ../shared/data with streets (imported with gridplan.io.osm) and a generated district
of 20,000 buildings and 450,000 households (gridplan.scenarios.district, seed 1, about the size of Wuchang), and a
generated community of 3,500 buildings (150,000 households, about 500 grids).

gridplan is timed end to end (atoms, planning, grids, metrics) on the validated scene. The baselines are
timed on their partitioning step alone, on gridplan's atoms: they get the atoms gridplan plans freely
(special sites and oversize units are given to every method as the same fixed grids) and, per community,
the same number of grids as gridplan's plan (METIS, k-means) or the target as threshold (max-p). k-means
labels buildings; an atom takes the label holding most of its households. Every layout is measured by
gridplan.core.metrics. Each method runs in a forked child process, so "peak MB" is that process's peak
resident memory (including the scene it inherited). "gridplan" is the serial plan (``partition`` on one process); where a scene has
enough households, "gridplan ×N" is the same plan made as ``gridplan plan`` makes it by default, its communities
(``plan_communities``), or one community's regions, on N processes (every available core); its peak MB is the most memory its processes held at once: the sum of
their proportional set sizes (PSS: each shared page counted once among the processes sharing it, the libraries a
forked worker shares with the main process among them), sampled every ``PSS_EVERY_S`` in a second, untimed run
(sampling slows the processes it reads); the run also prints the
main process's peak resident memory plus N times the largest worker's (a bound: they need not peak at once, and
each counts the pages they share), and whether the plan is the serial one.

A second table splits each layout's internal boundary by where it runs: along streets (the alignment), or
off them along barriers, along special sites' edges, inside street blocks holding more than a grid, inside
other blocks. The first three off-street parts are put there by the rules or the data, not by the method.

Run: ``python benchmarks/partition_bench.py`` (``--quick`` skips the generated scenes;
``--cases nanjing,beijing`` picks cases; ``--before DIR`` adds a row "gridplan (before)" per case: the same
benchmark of the gridplan in source tree DIR, e.g. a ``git worktree`` of an earlier commit, run in a process of
its own, so that a change is measured against what it changes in one run).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

#: The source tree benchmarked: this one, or another one's (``--before``) in the child that measures it.
sys.path.insert(0, os.environ.get("GRIDPLAN_BENCH_TREE") or str(Path(__file__).resolve().parents[1]))
# timed from nothing: no atoms kept on disk by an earlier run (gridplan.engine.unit_store)
os.environ.setdefault("GRIDPLAN_CACHE_DIR", "off")

from benchmarks.baselines import kmeans_baseline, maxp_baseline, metis_baseline  # noqa: E402
from gridplan.core.metrics import boundary_breakdown  # noqa: E402
from gridplan.core.scene import PreparedScene  # noqa: E402
from gridplan.engine import Adjacency  # noqa: E402
from gridplan.engine.parallel import default_workers, plan_communities  # noqa: E402
from gridplan.engine.plan import _community_parts  # noqa: E402
from gridplan.engine.processes import pool_workers  # noqa: E402
from gridplan.engine.units import street_blocks  # noqa: E402
from gridplan.io.osm import import_osm  # noqa: E402
from gridplan.partition import balance_weight, layout_from_atoms, partition, scene_units  # noqa: E402
from gridplan.prepare.validate import validate_scene  # noqa: E402
from gridplan.scenarios.district import generate_district  # noqa: E402
from gridplan.settings import DEFAULTS, RunOptions  # noqa: E402

SHARED = Path(os.environ.get("GRIDPLAN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
EXTRACTS = {
    "nanjing": SHARED / "nanjing_xinjiekou_osm" / "nanjing_xinjiekou.osm",
    "beijing": SHARED / "beijing_xueyuanlu_osm" / "beijing_xueyuanlu.osm",
    "shanghai": SHARED / "shanghai_bund_lujiazui_osm_tiles" / "data.gpkg",
    "wuhan": SHARED / "wuhan_guanggu_osm_tiles" / "data.gpkg",
}
COLUMNS = [
    ("time_s", "time s", "{:.1f}"),
    ("peak_mb", "peak MB", "{:.0f}"),
    ("grids", "grids", "{:.0f}"),
    ("within_tight", "±10%", "{:.2f}"),
    ("within_tight_feasible", "±10% feas.", "{:.2f}"),
    ("within_bounds", "±20%", "{:.2f}"),
    ("within_bounds_feasible", "±20% feas.", "{:.2f}"),
    ("worst_deviation", "worst dev", "{:.2f}"),
    ("households_cv", "CV", "{:.3f}"),
    ("street_alignment", "street align", "{:.2f}"),
    ("boundary_alignment", "+rivers", "{:.2f}"),
    ("household_distance_mean", "hh dist m", "{:.0f}"),
    ("service_radius_mean", "radius m", "{:.0f}"),
    ("service_radius_p95", "radius p95", "{:.0f}"),
    ("polsby_popper_mean", "PP", "{:.2f}"),
    ("noncontiguous_grids", "noncontig", "{:.0f}"),
    ("split_buildings", "split bldg", "{:.0f}"),
    ("barrier_crossing_grids", "barrier x", "{:.0f}"),
    ("gap_share", "gaps", "{:.0e}"),
]
#: Along streets, or off them: along barriers (rule 3 keeps them), special sites' edges (rule 7), inside
#: blocks above the ceiling (any layout cuts them), inside other blocks (cut for balance), elsewhere.
WHERE_COLUMNS = [
    ("streets", "streets", "{:.3f}"),
    ("barriers", "barriers", "{:.3f}"),
    ("special_edges", "special edges", "{:.3f}"),
    ("blocks_over_ceiling", "blocks > ceiling", "{:.3f}"),
    ("blocks_within", "other blocks", "{:.3f}"),
    ("other", "other", "{:.3f}"),
    ("length_km", "length km", "{:.1f}"),
]


#: The generated scenes (``--quick`` skips them): the district, and one community of 3,500 buildings and 150,000
#: households (about 500 grids), which issue 33 wants planned in under 15 s.
GENERATED = {
    "district": lambda: generate_district(20_000, 450_000, seed=1),
    "community3500": lambda: generate_district(3_500, 150_000, n_communities=1),
}


def load_case(name: str):
    if name in GENERATED:
        return GENERATED[name]()
    scene, _ = import_osm(EXTRACTS[name])
    return scene


#: How often the memory of a plan's processes is sampled (seconds).
PSS_EVERY_S = 0.05


def _sampled_pss(pid: int, stop: threading.Event, out: list[float]) -> None:
    """The most proportional set size (MB) process ``pid`` and its descendants held at once, sampled every
    ``PSS_EVERY_S`` until ``stop``, appended to ``out``."""
    peak = 0
    while not stop.is_set():
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        total = 0
        for process in processes:
            try:
                total += process.memory_full_info().pss
            except psutil.Error:  # ended between the listing and the reading
                pass
        peak = max(peak, total)
        stop.wait(PSS_EVERY_S)
    out.append(peak / 2**20)


def _in_child(function, *args, with_children: bool = False, sampled: bool = False):
    """Run ``function(*args)`` in a forked process; returns (result, seconds, peak MB of that process), and
    ``with_children``, the peaks of that process and of the largest process it started; ``sampled``, the most the
    process and its descendants held at once (:func:`_sampled_pss`) instead. Reading a process's proportional set
    size walks its page tables, which slowed the district's pooled plan by about a quarter (34–35 s against 27–28 s
    at 20 samples a second): a sampled run is not timed."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def target():
        try:
            start = time.perf_counter()
            result = function(*args)
            seconds = time.perf_counter() - start
            peaks = [
                resource.getrusage(who).ru_maxrss / 1024 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
            ]
            child.send((result, seconds, peaks[0]) if not with_children else (result, seconds, tuple(peaks)))
        except BaseException:
            child.send(RuntimeError(traceback.format_exc()))

    process = ctx.Process(target=target)
    process.start()
    stop, held = threading.Event(), []
    sampler = threading.Thread(target=_sampled_pss, args=(process.pid, stop, held)) if sampled else None
    if sampler is not None:
        sampler.start()
    result = parent.recv()
    if sampler is not None:
        stop.set()
        sampler.join()
    process.join()
    if isinstance(result, Exception):
        raise result
    if sampler is not None:
        value, seconds, _ = result
        return value, seconds, held[0]
    return result


def run_gridplan(scene):
    plan = partition(scene, options=RunOptions(workers=1))
    return (
        plan.metrics,
        plan.atom_grid.copy(),
        plan.grids["kind"].tolist(),
        plan.grids["community_id"].to_numpy()[plan.atom_grid],
    )


def default_processes(scene) -> int:
    """The processes ``gridplan plan`` takes by default: its communities' (:func:`~gridplan.engine.parallel.default_workers`),
    else, for one community, its regions' (:func:`~gridplan.engine.processes.pool_workers`, at most one per region
    planned: a community of one region plans in this process)."""
    prepared = PreparedScene.of(scene, DEFAULTS)
    if len(prepared.local.communities) > 1:
        return default_workers(prepared)
    units = scene_units(prepared)
    atoms, adjacency = units.atoms, Adjacency.from_networkx(units.graph)
    weight = balance_weight(atoms)
    members = (atoms["community_id"].iloc[0], np.arange(len(atoms)))
    parts = _community_parts(adjacency, atoms, members, weight, DEFAULTS.grid, None)
    planned = sum(weight[r].sum() >= DEFAULTS.grid.floor for r in parts.regions)
    return min(pool_workers(float(prepared.local.buildings["households"].sum())), planned)


def run_gridplan_default(scene):
    """The plan as ``gridplan plan`` makes it by default (:func:`default_processes`): communities on every
    available core (:func:`~gridplan.engine.parallel.plan_communities`), or one community's regions on them
    (``partition``), the same work as the serial plan (without the claims' checks ``gridplan plan`` adds to both);
    its metrics, layout and how many processes it used."""
    prepared = PreparedScene.of(scene, DEFAULTS)
    workers = default_workers(prepared)
    plan = plan_communities(prepared) if workers > 1 else partition(prepared)
    return plan.metrics, plan.atom_grid.copy(), default_processes(scene)


def run_baseline(method: str, units, buildings, free: np.ndarray, counts: dict[str, int]):
    """Labels of the free atoms, partitioned community by community."""
    atoms = units.atoms
    labels = np.full(len(atoms), -1, dtype=np.int64)
    offset = 0
    for community_id, k in counts.items():
        members = free[atoms["community_id"].to_numpy()[free] == community_id]
        if len(members) == 0:
            continue
        sub_atoms = atoms.iloc[members].reset_index(drop=True)
        sub_graph = units.graph.subgraph(members.tolist())
        sub_graph = _relabel(sub_graph, members)
        if method == "metis":
            local = metis_baseline(sub_atoms, sub_graph, max(k, 1))
        elif method == "maxp":
            local = maxp_baseline(sub_atoms, sub_graph, DEFAULTS.grid.target)
        else:
            local = _kmeans_atoms(units, buildings, members, max(k, 1))
        labels[members] = offset + local
        offset += int(local.max()) + 1
    return labels


def _relabel(graph, members):
    import networkx as nx

    return nx.relabel_nodes(graph, {int(a): i for i, a in enumerate(members)}, copy=True)


def _kmeans_atoms(units, buildings, members, k):
    on = np.isin(units.building_atom.to_numpy(), members)
    chosen = buildings[on]
    inhabited = int((chosen["households"] > 0).sum())
    building_labels = kmeans_baseline(chosen, min(k, inhabited)) if inhabited else np.zeros(len(chosen), int)
    atom_of = units.building_atom.to_numpy()[on]
    votes = pd.DataFrame({"atom": atom_of, "label": building_labels, "w": chosen["households"].to_numpy() + 1e-6})
    best = votes.groupby(["atom", "label"])["w"].sum().reset_index().sort_values("w").groupby("atom").last()["label"]
    position = {int(a): i for i, a in enumerate(members)}
    local = np.zeros(len(members), dtype=np.int64)
    for atom, label in best.items():
        local[position[int(atom)]] = label
    # atoms without buildings follow a neighbour that has a label
    has = np.isin(members, best.index.to_numpy())
    for i in np.flatnonzero(~has):
        neighbours = [position[b] for b in units.graph[int(members[i])] if b in position and has[position[b]]]
        local[i] = local[neighbours[0]] if neighbours else 0
    return np.unique(local, return_inverse=True)[1]


def bench_case(name: str, methods: list[str]) -> tuple[list[dict], list[dict]]:
    """One row of metrics per method, and one of where its internal boundary runs."""
    scene = validate_scene(load_case(name)).raise_for_errors().scene
    (metrics, atom_grid, grid_kinds, atom_community), seconds, peak = _in_child(run_gridplan, scene)
    households = int(metrics.households_total)
    rows = [{"case": name, "method": "gridplan", "time_s": seconds, "peak_mb": peak, **metrics.as_dict()}]
    if default_processes(scene) > 1:  # the default on more than one core: also timed
        (pooled, pooled_grid, workers), pooled_s, (main_peak, worker_peak) = _in_child(
            run_gridplan_default, scene, with_children=True
        )
        _, _, held = _in_child(run_gridplan_default, scene, sampled=True)  # its memory, in a run not timed
        rows.append(
            {"case": name, "method": f"gridplan ×{workers}", "time_s": pooled_s, "peak_mb": held, **pooled.as_dict()}
        )
        same = np.array_equal(pooled_grid, atom_grid) and pooled == metrics
        print(f"{name}: the plan of {workers} processes is the serial one: {'yes' if same else 'NO'}", file=sys.stderr)
        print(
            f"{name}: {workers} processes held at most {held:.0f} MB at once (PSS, sampled every {PSS_EVERY_S} s); "
            f"their peaks' sum {main_peak + workers * worker_peak:.0f} MB (resident, shared pages counted in each)",
            file=sys.stderr,
        )

    # the same atoms for the baselines (deterministic, so equal to the child's)
    prepared = PreparedScene.of(scene, DEFAULTS)
    local, buildings = prepared.local, prepared.local.buildings
    units = scene_units(prepared)
    blocks = street_blocks(local.communities, buildings, local.streets, local.barriers)
    layouts = {"gridplan": layout_from_atoms(prepared, units, atom_grid, grid_kinds).grids}
    atom_kind = np.asarray(grid_kinds)[atom_grid]
    free = np.flatnonzero(atom_kind == "ordinary")
    fixed = np.flatnonzero(atom_kind != "ordinary")
    counts = pd.Series(atom_grid[free]).groupby(atom_community[free]).nunique().to_dict()
    for method in methods:
        labels, seconds, peak = _in_child(run_baseline, method, units, buildings, free, counts)
        atom_labels = np.empty(len(atom_grid), dtype=np.int64)
        atom_labels[free] = labels[free]
        fixed_ids = np.unique(atom_grid[fixed], return_inverse=True)[1] if len(fixed) else np.zeros(0, int)
        atom_labels[fixed] = labels.max() + 1 + fixed_ids
        kinds = ["ordinary"] * (int(labels.max()) + 1)
        kinds += [atom_kind[fixed][fixed_ids == i][0] for i in range(int(fixed_ids.max()) + 1)] if len(fixed) else []
        plan = layout_from_atoms(prepared, units, atom_labels, kinds)
        rows.append({"case": name, "method": method, "time_s": seconds, "peak_mb": peak, **plan.metrics.as_dict()})
        layouts[method] = plan.grids
    for row in rows:
        row["households"] = households
    where = [
        {
            "case": name,
            "method": method,
            **boundary_breakdown(
                grids, local.communities, local.streets, local.barriers, blocks, DEFAULTS.grid.ceiling
            ).to_dict(),
        }
        for method, grids in layouts.items()
    ]
    return rows, where


def run_before(tree: str, name: str) -> dict:
    """The gridplan row of ``name`` benchmarked with the gridplan of source tree ``tree``."""
    env = {**os.environ, "GRIDPLAN_BENCH_TREE": str(Path(tree).resolve())}
    # the tree's own benchmark: its gridplan's modules may be laid out otherwise than this one's
    script = Path(tree) / "benchmarks" / "partition_bench.py"
    done = subprocess.run(
        [sys.executable, script if script.is_file() else __file__, "--cases", name, "--methods", "", "--gridplan-json"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"--before {tree}, case {name}:\n{done.stderr[-3000:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return {**row, "method": "gridplan (before)"}


def ratio_lines(rows: list[dict]) -> str:
    """Per case, the time of gridplan (serial, and on every core where it ran so) over each other method's (max-p,
    METIS, k-means, gridplan before)."""
    lines = []
    for case in dict.fromkeys(r["case"] for r in rows):
        times = {r["method"]: r["time_s"] for r in rows if r["case"] == case}
        for ours in [m for m in times if m == "gridplan" or m.startswith("gridplan ×")]:
            parts = [f"{times[ours] / t:.2f}× {m}" for m, t in times.items() if m != ours and t > 0]
            lines.append(f"  {case}: {ours} = " + ", ".join(parts))
    return "\n".join(lines)


def format_table(rows: list[dict], columns=COLUMNS) -> str:
    header = ["case", "method"] + [label for _, label, _ in columns]
    body = [[r["case"], r["method"]] + [fmt.format(r[key]) for key, _, fmt in columns] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(b) for b in body])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="nanjing,beijing,shanghai,wuhan,district,community3500")
    parser.add_argument("--methods", default="metis,maxp,kmeans")
    parser.add_argument("--quick", action="store_true", help="skip the generated scenes (district, community3500)")
    parser.add_argument("--before", metavar="DIR", help="also benchmark the gridplan of this source tree, per case")
    parser.add_argument("--gridplan-json", action="store_true", help=argparse.SUPPRESS)  # the child of --before
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if not (args.quick and c in GENERATED)]
    methods = [m for m in args.methods.split(",") if m]
    rows, where = [], []
    for case in cases:
        case_rows, case_where = bench_case(case, methods)
        if args.gridplan_json:
            print(json.dumps(case_rows[0], default=float))
            return 0
        if args.before:
            case_rows.insert(1, run_before(args.before, case))
        rows += case_rows
        where += case_where
        print(f"{case}: {rows[-1]['households']:,} households", file=sys.stderr, flush=True)
    print(format_table(rows))
    print("\nTime ratios (machine-independent: the same run, the same machine):")
    print(ratio_lines(rows))
    print("\nWhere the internal boundary runs (shares of its length; gridplan.core.metrics.boundary_breakdown):")
    print(format_table(where, WHERE_COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
