"""Party-coverage benchmark: member–household links (党员联户) for a district of 450,000 households.

The district is gridplan.scenarios.district's (20,000 buildings, 450,000 households, seed 1), planned with
gridplan.partition; members are generated (gridplan.scenarios.party.generate_members, seeded): 7 % of residents,
the national share, and 3 %, where members are too few to link every household. ``analyse_party`` runs
in a forked child, so "peak MB" is that process's peak resident memory (it inherits the planned district:
the parent's peak is printed too). Distances are the Euclidean fallback, then the walking network.

The optimal assignment is compared, on the same branches, candidate pairs and capacities, with a greedy
baseline: pairs taken nearest first, each given as many households as the building and member have left.
Greedy ignores the 5-household minimum, so the optimum is also solved without it (``min 0``) for a like
for like comparison of total distance.

Run: ``python benchmarks/party_bench.py [--buildings 20000 --households 450000 --shares 0.07,0.03]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# timed from nothing: no atoms kept on disk by an earlier run (gridplan.engine.unit_store)
os.environ.setdefault("GRIDPLAN_CACHE_DIR", "off")

from gridplan.partition import partition  # noqa: E402
from gridplan.reach.network import WalkingNetwork  # noqa: E402
from gridplan.reach.party import PartySettings, analyse_party, building_points, link_groups, place_members  # noqa: E402
from gridplan.scenarios.district import generate_district  # noqa: E402
from gridplan.scenarios.party import generate_members  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_child(function, *args):
    """Run ``function(*args)`` in a forked process; returns (result, peak MB of that process)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def target():
        child.send((function(*args), _peak_mb()))

    process = ctx.Process(target=target)
    process.start()
    result = parent.recv()
    process.join()
    return result


def run_optimal(plan, scene, members, settings, walking=False):
    """analyse_party timed; with ``walking``, distances along the street network (network build included)."""
    start = time.perf_counter()
    distance = None
    if walking:
        distance = WalkingNetwork.from_streets(scene.streets.to_crs(plan.units.atoms.crs)).distances
    coverage = analyse_party(plan, scene, settings, distance, members=members)
    seconds = time.perf_counter() - start
    mean, worst = coverage.link_distance()
    links = coverage.member_links
    loads = links.groupby("member_id")["households"].sum()
    return {
        "time_s": seconds,
        "linked": coverage.linked_households,
        "unlinked": int(coverage.unlinked["households"].sum()),
        "unlinked_by_reason": coverage.unlinked.groupby("reason")["households"].sum().to_dict(),
        "total_km": float((links["households"] * links["distance_m"]).sum() / 1000),
        "mean_m": mean,
        "max_m": worst,
        "max_load": int(loads.max()),
        "below_min": len(members)
        - len(coverage.unplaced_members)
        - int((loads >= PartySettings().link_min_households).sum()),
        "summary": coverage.summary(),
    }


def greedy_baseline(plan, scene, members, settings, table):
    """Nearest pair first on every branch's candidate pairs; returns linked, total km, max m, below min."""
    start = time.perf_counter()
    placed, _ = place_members(members, plan.assignment, scene.buildings)
    points = building_points(scene.buildings, plan.units.atoms.crs)
    linked = 0
    total = 0.0
    worst = 0.0
    below = 0
    for g in link_groups(table, placed, plan.assignment, points, settings):
        left = g.households.astype(np.int64).copy()
        room = g.member_count * settings.link_max_households
        load = np.zeros(len(g.member_buildings), dtype=np.int64)
        for p in np.argsort(g.pair_distance, kind="stable"):
            k, b = g.pair_member[p], g.pair_building[p]
            take = min(left[b], room[k])
            if take:
                left[b] -= take
                room[k] -= take
                load[k] += take
                total += take * g.pair_distance[p]
                worst = max(worst, g.pair_distance[p])
        linked += int(g.households.sum() - left.sum())
        # members of a building share its load evenly, as in the optimum
        for n, l in zip(g.member_count, load):
            below += int(((l // n + (np.arange(n) < l % n)) < settings.link_min_households).sum())
    return {
        "time_s": time.perf_counter() - start,
        "linked": linked,
        "total_km": total / 1000,
        "mean_m": total / max(linked, 1),
        "max_m": worst,
        "below_min": below,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=20000)
    parser.add_argument("--households", type=int, default=450000)
    parser.add_argument(
        "--shares",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[0.07, 0.03],
        help="members per resident, comma-separated (default 0.07,0.03)",
    )
    args = parser.parse_args()

    start = time.perf_counter()
    scene = generate_district(args.buildings, args.households, seed=1)
    plan = partition(scene)
    print(
        f"district: {args.buildings} buildings, {int(plan.assignment['households'].sum())} households, "
        f"{len(plan.grids)} grids; generated and planned in {time.perf_counter() - start:.1f} s; "
        f"parent peak {_peak_mb():.0f} MB"
    )
    settings = PartySettings()
    for share in args.shares:
        members = generate_members(plan.assignment, share=share, settings=settings)
        print(
            f"\n=== members {share:.0%} of residents: {len(members)} generated "
            f"({(members['status'] == 'full').mean():.0%} full)"
        )
        optimal, peak = _in_child(run_optimal, plan, scene, members, settings)
        print(
            f"analyse_party (optimal links, min {settings.link_min_households}): {optimal['time_s']:.1f} s, "
            f"peak {peak:.0f} MB"
        )
        print(optimal["summary"])
        print(f"max member load {optimal['max_load']}; unlinked by reason {optimal['unlinked_by_reason']}")

        walking, walking_peak = _in_child(run_optimal, plan, scene, members, settings, True)
        print(
            f"with walking distances (gridplan.reach.network, build included): {walking['time_s']:.1f} s, peak "
            f"{walking_peak:.0f} MB; linked {walking['linked']}; mean {walking['mean_m']:.0f} m, max {walking['max_m']:.0f} m"
        )
        relaxed, _ = _in_child(run_optimal, plan, scene, members, replace(settings, link_min_households=0))
        table = analyse_party(plan, scene, settings, members=members).grid_party
        greedy = greedy_baseline(plan, scene, members, settings, table)
        print("same branches and candidate pairs ('below 5': members linking fewer than 5 households):")
        print(f"{'method':<22}{'time s':>8}{'linked':>9}{'total km':>10}{'mean m':>8}{'max m':>7}{'below 5':>9}")
        for name, row in (("optimal, min 5", optimal), ("optimal, min 0", relaxed), ("greedy nearest", greedy)):
            print(
                f"{name:<22}{row['time_s']:>8.1f}{row['linked']:>9}{row['total_km']:>10.1f}{row['mean_m']:>8.1f}"
                f"{row['max_m']:>7.0f}{row['below_min']:>9}"
            )


if __name__ == "__main__":
    main()
