"""Re-plan benchmark: how long gridplan takes to plan one community again, in process, its units prepared.

A planner's what-if question or hand adjustment re-plans one community; the editor wants that in under a
second for a community of about 80 grids (issue #33). The units (street blocks, building cells, their
adjacency: the tessellation) are built once per case and not timed; what is timed is gridplan's planning of
the community's atoms (special sites, oversize units, regions, and each region's bisection, re-splits,
proofs and refinement: the loop of :func:`gridplan.partition.partition`, ``gridplan.engine.plan``, for that community alone), without
its grids' polygons, metrics and claims.

Cases: the four real extracts of ``partition_bench.py`` (imported with gridplan.osm) and its generated
district (20,000 buildings, 450,000 households, seed 1). Per case it prints the communities, their grids,
the median, largest and total re-plan seconds, and the share of communities of at most ``--small`` (80)
grids re-planned in under a second. ``--check`` also plans each case whole and checks that its communities'
plans are the whole plan's (each community's grids are its own: a community plans alone).

Run: ``python benchmarks/resolve_bench.py [--cases nanjing,beijing,shanghai,wuhan,district] [--check]
[--workers N]`` (``--workers 0``: each community's regions on every core, as ``partition`` by default).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# timed from nothing: no atoms kept on disk by an earlier run (gridplan.engine.unit_store)
os.environ.setdefault("GRIDPLAN_CACHE_DIR", "off")

from benchmarks.partition_bench import load_case  # noqa: E402
from gridplan.core.scene import PreparedScene  # noqa: E402
from gridplan.engine.plan import _plan_atoms, scene_units  # noqa: E402
from gridplan.engine.processes import pool_workers  # noqa: E402
from gridplan.engine.units import Units  # noqa: E402
from gridplan.prepare.validate import validate_scene  # noqa: E402
from gridplan.settings import DEFAULTS  # noqa: E402

#: A community of about this many grids or fewer should re-plan in under a second (issue #33).
SMALL_GRIDS = 80


def community_units(units: Units, members: np.ndarray) -> Units:
    """The units of one community (atoms ``members`` of ``units``, renumbered ``0 … m-1`` in their order).

    Each atom keeps its neighbours in the scene graph's order (sums of costs and ties follow that order, so
    the community plans as it does within its scene): the adjacency dicts are copied in that order, where
    ``networkx.relabel_nodes`` would rebuild them edge by edge in another.
    """
    position = {int(a): i for i, a in enumerate(members)}
    graph = nx.Graph()
    graph.add_nodes_from(range(len(members)))
    for a, i in position.items():
        graph._adj[i] = {position[b]: data for b, data in units.graph.adj[a].items() if b in position}
    atoms = units.atoms.iloc[members].reset_index(drop=True)
    return Units(atoms=atoms, graph=graph, building_atom=units.building_atom.iloc[:0])


def replan_times(units: Units, workers: int | None = 1) -> list[tuple[str, int, float, np.ndarray]]:
    """Per community: its id, its grids, the seconds its re-plan took, and each of its atoms' grid; its regions on
    ``workers`` processes (None: as ``partition`` by default, every core from ``PARALLEL_MIN_HOUSEHOLDS``)."""
    out = []
    for community_id, members in units.atoms.groupby("community_id", sort=True).indices.items():
        sub = community_units(units, np.asarray(members))
        processes = workers or pool_workers(float(sub.atoms["households"].sum()))
        start = time.perf_counter()
        atom_grid, kinds, _, _ = _plan_atoms(sub, DEFAULTS.grid, None, workers=processes)
        out.append((community_id, len(kinds), time.perf_counter() - start, atom_grid))
    return out


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labellings of the same atoms group them alike (labels may differ)."""
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def bench_case(name: str, check: bool, small: int, workers: int | None = 1) -> dict:
    scene = validate_scene(load_case(name)).raise_for_errors().scene
    prepared = PreparedScene.of(scene, DEFAULTS)
    start = time.perf_counter()
    units = scene_units(prepared)
    units_s = time.perf_counter() - start
    runs = replan_times(units, workers)
    grids = np.array([g for _, g, _, _ in runs])
    seconds = np.array([s for _, _, s, _ in runs])
    row = {
        "case": name,
        "communities": len(runs),
        "grids": int(grids.sum()),
        "units_s": units_s,
        "median_s": float(np.median(seconds)),
        "max_s": float(seconds.max()),
        "total_s": float(seconds.sum()),
        "small": int((grids <= small).sum()),
        "small_under_1s": float((seconds[grids <= small] < 1.0).mean()) if (grids <= small).any() else float("nan"),
        "largest": f"{runs[int(seconds.argmax())][0]} ({grids[seconds.argmax()]} grids)",
    }
    if check:
        whole, _, _, _ = _plan_atoms(units, DEFAULTS.grid, None)
        groups = units.atoms.groupby("community_id", sort=True).indices
        row["same_as_whole"] = all(same_partition(whole[groups[c]], labels) for c, _, _, labels in runs)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="nanjing,beijing,shanghai,wuhan,district")
    parser.add_argument(
        "--small", type=int, default=SMALL_GRIDS, help="grids of a community that should re-plan in under 1 s"
    )
    parser.add_argument("--check", action="store_true", help="also plan each case whole and compare")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes a community's regions are re-planned on (0: partition's default, every core from "
        "10,000 households; default 1)",
    )
    args = parser.parse_args(argv)
    header = (
        f"{'case':>9}  {'communities':>11}  {'grids':>6}  {'units s':>7}  {'median s':>8}  {'max s':>6}  {'total s':>7}  "
        f"{'≤' + str(args.small) + ' grids':>10}  {'of them <1 s':>12}  largest re-plan"
    )
    print(header)
    print("-" * len(header))
    for case in args.cases.split(","):
        r = bench_case(case, args.check, args.small, args.workers or None)
        check = "" if "same_as_whole" not in r else f"  same as whole plan: {r['same_as_whole']}"
        print(
            f"{r['case']:>9}  {r['communities']:>11}  {r['grids']:>6}  {r['units_s']:>7.1f}  {r['median_s']:>8.2f}  {r['max_s']:>6.2f}  "
            f"{r['total_s']:>7.1f}  {r['small']:>10}  {r['small_under_1s']:>12.0%}  {r['largest']}{check}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
