"""Regeneration benchmark: after 5% of buildings' households change, how many buildings keep their grid?

The generated district (gridplan.synthetic, seed 1) is planned; then 5% of its buildings, drawn at random
(seed 2), get their households multiplied by a factor drawn uniformly from [0.5, 1.5] (rounded). The changed
scene is regenerated from the first plan and, for comparison, planned from scratch. "kept" is the share of
buildings whose grid is the same as before; for the fresh plan each new grid is matched to the previous grid
it shares most buildings with. Goal (issue): at least 90% kept, every bound held (where the data allow).

Run: ``python benchmarks/regeneration_bench.py [--buildings 20000 --households 450000]``.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridplan.partition import partition  # noqa: E402
from gridplan.regenerate import regenerate  # noqa: E402
from gridplan.results import PreviousPlan  # noqa: E402
from gridplan.settings import DEFAULTS  # noqa: E402
from gridplan.synthetic import generate_district  # noqa: E402
from gridplan.validate import validate_scene  # noqa: E402


def changed_households(scene, share: float, seed: int):
    rng = np.random.default_rng(seed)
    buildings = scene.buildings.copy()
    chosen = rng.choice(len(buildings), size=int(round(share * len(buildings))), replace=False)
    factor = rng.uniform(0.5, 1.5, size=len(chosen))
    column = buildings.columns.get_loc("households")
    buildings.iloc[chosen, column] = np.round(buildings["households"].to_numpy()[chosen] * factor).astype(np.int64)
    return scene.replace(buildings=buildings), len(chosen)


def kept_share(before: pd.DataFrame, after: pd.DataFrame, match: bool) -> float:
    both = before.merge(after, on="building_id", suffixes=("_before", "_after"))
    if match:
        pairs = both.groupby(["grid_id_after", "grid_id_before"]).size().reset_index(name="n")
        best = pairs.sort_values("n").groupby("grid_id_after").last()["grid_id_before"]
        both["grid_id_after"] = both["grid_id_after"].map(best)
    return float((both["grid_id_before"] == both["grid_id_after"]).mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=20_000)
    parser.add_argument("--households", type=int, default=450_000)
    parser.add_argument("--share", type=float, default=0.05)
    args = parser.parse_args(argv)

    scene = validate_scene(generate_district(args.buildings, args.households, seed=1)).raise_for_errors().scene
    first = partition(scene)
    changed, n_changed = changed_households(scene, args.share, seed=2)
    previous = PreviousPlan(assignment=first.assignment[["building_id", "grid_id"]], grids=first.grids)

    start = time.perf_counter()
    result = regenerate(changed, previous)
    regen_s = time.perf_counter() - start
    start = time.perf_counter()
    fresh = partition(changed)
    fresh_s = time.perf_counter() - start

    before = first.assignment[["building_id", "grid_id"]]
    rows = [
        ("first plan", math.nan, math.nan, first.metrics),
        ("regenerate", regen_s, result.changes.kept_share, result.plan.metrics),
        ("plan from scratch", fresh_s, kept_share(before, fresh.assignment[["building_id", "grid_id"]], match=True), fresh.metrics),
    ]
    counts = result.changes.grid_changes["change"].value_counts()
    print(f"district: {len(scene.buildings):,} buildings, {int(scene.buildings['households'].sum()):,} households; "
          f"{n_changed:,} buildings' households changed")
    print("±20% feas. and ±10% feas.: shares of the grids not proven unable to come within the band")
    print(f"{'method':>18}  {'time s':>7}  {'kept':>6}  {'±20%':>6}  {'±20% feas.':>10}  {'±10%':>6}  {'±10% feas.':>10}")
    for name, seconds, kept, m in rows:
        print(f"{name:>18}  {seconds:7.1f}  {kept:6.3f}  {m.within_bounds:6.3f}  {m.within_bounds_feasible:10.3f}  "
              f"{m.within_tight:6.3f}  {m.within_tight_feasible:10.3f}")
    print("regenerated grids: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("unchanged", "changed", "created", "removed")))
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
