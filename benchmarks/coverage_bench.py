"""Service-circle benchmark: walking distances at district scale, and siting new service points (MCLP).

Cases:

- ``district``: a generated district of 50,000 buildings and 1,100,000 households (gridplan.scenarios.district, seed 1).
  Distances from every building's representative point to 500 service points (buildings drawn at random,
  seed 0), cut off at 1,000 m: the goal is under 30 s including building the walking network. Then the
  generated service points (gridplan.scenarios.service_points.generate_service_points, one per ~3,000 households), and
  new sites for the 500 m circle (the 1,000 m circle already reaches every household there) chosen among
  every 25th building (2,000 candidates), then among all 50,000 buildings (the default candidates).
- ``nanjing``: the Xinjiekou OSM extract, validated and partitioned, with generated service points; new sites
  for the 1,000 m circle among every building and POI (the default candidates).

Each task runs in a forked child process (as in partition_bench), so "peak MB" is that process's peak
resident memory, including the scene it inherited. MCLP rows give the solve time of each method alone
(``exact``: HiGHS through scipy.optimize.milp; ``greedy``); the coverage matrix both share is timed in its own
row.

Run: ``python benchmarks/coverage_bench.py`` (``--quick`` skips the generated district).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# timed from nothing: no atoms kept on disk by an earlier run (gridplan.engine.unit_store)
os.environ.setdefault("GRIDPLAN_CACHE_DIR", "off")

from benchmarks.partition_bench import EXTRACTS, _in_child  # noqa: E402
from gridplan.io.osm import import_osm  # noqa: E402
from gridplan.partition import partition  # noqa: E402
from gridplan.prepare.validate import validate_scene  # noqa: E402
from gridplan.reach.network import WalkingNetwork  # noqa: E402
from gridplan.reach.service import analyse_service, site_service_points  # noqa: E402
from gridplan.scenarios.district import generate_district  # noqa: E402
from gridplan.scenarios.service_points import generate_service_points  # noqa: E402

DISTANCE_GOAL_S = 30.0
SERVICE_POINTS = 500
CUTOFF_M = 1000.0
PS = (1, 3, 5)
COLUMNS = ("case", "task", "time s", "peak MB", "households covered", "note")


def network_distances(streets, buildings, points):
    """Build the walking network, then every building → service point distance within the cutoff."""
    start = time.perf_counter()
    network = WalkingNetwork.from_streets(streets)
    built = time.perf_counter() - start
    matrix = network.distances(buildings, points, CUTOFF_M)
    return built, len(network.xy), len(network.edges), matrix.nnz


def nearest_only(streets, buildings, points):
    network = WalkingNetwork.from_streets(streets)
    distance, _ = network.nearest(buildings, points, CUTOFF_M)
    return int(np.isfinite(distance).sum())


def siting(coverage, candidates, p, radius):
    start = time.perf_counter()
    result = site_service_points(coverage, candidates, p=p, radius=radius)
    return result, time.perf_counter() - start - result.exact_seconds - result.greedy_seconds


def distance_rows(scene) -> list[tuple]:
    buildings = scene.buildings.representative_point().to_numpy()
    rng = np.random.default_rng(0)
    points = buildings[rng.choice(len(buildings), SERVICE_POINTS, replace=False)]
    (built, nodes, edges, pairs), seconds, peak = _in_child(network_distances, scene.streets, buildings, points)
    size = f"{len(buildings):,} × {SERVICE_POINTS}"
    goal = "met" if seconds < DISTANCE_GOAL_S else "NOT met"
    rows = [
        ("district", "network build", built, np.nan, "", f"{nodes:,} nodes, {edges:,} edges"),
        (
            "district",
            f"distances {size}",
            seconds,
            peak,
            "",
            f"build + distances; {pairs:,} pairs ≤ {CUTOFF_M:g} m; goal {DISTANCE_GOAL_S:g} s {goal}",
        ),
    ]
    reached, seconds, peak = _in_child(nearest_only, scene.streets, buildings, points)
    rows.append(
        (
            "district",
            f"nearest {size}",
            seconds,
            peak,
            "",
            f"build + nearest; {reached:,} buildings within {CUTOFF_M:g} m",
        )
    )
    return rows


def siting_rows(case, coverage, candidates, radius) -> list[tuple]:
    rows = []
    for p in PS:
        (result, matrix_s), _, peak = _in_child(siting, coverage, candidates, p, radius)
        uncovered = f"of {result.households_uncovered:,.0f} outside {radius:g} m"
        if p == PS[0]:
            rows.append((case, f"MCLP coverage matrix ({len(candidates):,} sites)", matrix_s, peak, "", uncovered))
        gap = result.households_covered - result.greedy_households
        status = "optimal" if result.optimal else f"time limit, bound {result.upper_bound:,.0f}"
        rows.append(
            (
                case,
                f"MCLP p={p} exact",
                result.exact_seconds,
                peak,
                f"{result.households_covered:,.0f}",
                f"{status}; +{gap:,.0f} over greedy",
            )
        )
        rows.append((case, f"MCLP p={p} greedy", result.greedy_seconds, peak, f"{result.greedy_households:,.0f}", ""))
    return rows


def district_rows() -> list[tuple]:
    scene = generate_district(50_000, 1_100_000, seed=1)
    rows = distance_rows(scene)
    scene = scene.replace(service_points=generate_service_points(scene, seed=1))
    coverage = analyse_service(None, scene)
    rows += siting_rows("district", coverage, coverage.candidates.iloc[::25], 500.0)
    return rows + siting_rows("district", coverage, coverage.candidates, 500.0)


def nanjing_rows() -> list[tuple]:
    scene = validate_scene(import_osm(EXTRACTS["nanjing"])[0]).raise_for_errors().scene
    scene = scene.replace(service_points=generate_service_points(scene, seed=1))
    coverage = analyse_service(partition(scene), scene)
    return siting_rows("nanjing", coverage, coverage.candidates, 1000.0)


def format_table(rows: list[tuple]) -> str:
    def cell(value):
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.2f}" if value < 10 else f"{value:.1f}"
        return str(value)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(COLUMNS, *body)]
    line = lambda cells: "  ".join(
        str(c).ljust(w) if i in (1, 5) else str(c).rjust(w)  # noqa: E731
        for i, (c, w) in enumerate(zip(cells, widths))
    )
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths])] + [line(b) for b in body])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the generated 50,000-building district")
    args = parser.parse_args(argv)
    rows = ([] if args.quick else district_rows()) + nanjing_rows()
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
