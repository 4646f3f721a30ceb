"""Regeneration benchmark: keep-only, rebalanced and fresh plans after households change.

Cases: the generated district (gridplan.scenarios.district, seed 1; 450,000 households) with 5%, 10% and 20% of its
buildings changed, and each real extract in ../shared/data with 5% changed (households there are gridplan's
estimates from footprints, the base being generated too); the changed buildings drawn anywhere ("scattered"), and,
at 5%, the buildings nearest one drawn ("local": a new estate, a neighbourhood surveyed again). A change multiplies
a building's households by a factor drawn uniformly from [0.5, 1.6] (seed 2, rounded). Each changed scene is
regenerated from the first plan (``PreviousPlan.of``: its grids' ground and its claims) without rebalancing
(keep-only), with it (the default), and planned afresh. "kept" is the share of buildings
whose grid is the same as before (for the fresh plan, each new grid matched to the previous grid it shares most
buildings with); ±10% and ±20% are shares of ordinary grids; "moved" the households that changed grid;
"units_s" the time to build the changed scene's units before the three (only its changed communities: the others are
taken from the first plan's), "time_s" each layout's time after it, and "x_fresh" that time over the fresh plan's in
the same run. The three run in one process; where the scene has communities enough for a pool (the district),
"rebalanced ×N" is the regeneration as ``gridplan plan --previous`` makes it, its regions on every core (the same
plan), over a fresh plan on every core (``plan_communities``, as ``gridplan plan`` makes it).
Goals (issues 24, 33): at 5% change, ±10% within 2 points of the fresh plan's, at least 90% kept, in under a tenth
of the fresh plan's time.

Run: ``python benchmarks/regeneration_bench.py [--cases district,nanjing,beijing,shanghai,wuhan] [--shares 0.05,0.1,0.2]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# timed from nothing: no atoms kept on disk by an earlier run (gridplan.engine.unit_store)
os.environ.setdefault("GRIDPLAN_CACHE_DIR", "off")

from gridplan.core.results import PreviousPlan  # noqa: E402
from gridplan.engine.parallel import default_workers, plan_communities  # noqa: E402
from gridplan.engine.processes import pool_workers  # noqa: E402
from gridplan.engine.regenerate import regenerate  # noqa: E402
from gridplan.io.osm import import_osm  # noqa: E402
from gridplan.partition import partition, scene_units  # noqa: E402
from gridplan.pipeline import prepare_scene  # noqa: E402
from gridplan.prepare.validate import validate_scene  # noqa: E402
from gridplan.scenarios.district import generate_district  # noqa: E402
from gridplan.settings import DEFAULTS, RunOptions  # noqa: E402

#: The three layouts compared run in this process, as ``partition`` plans the fresh one.
SERIAL = RunOptions(workers=1)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
EXTRACTS = {
    "nanjing": SHARED / "nanjing_xinjiekou_osm" / "nanjing_xinjiekou.osm",
    "beijing": SHARED / "beijing_xueyuanlu_osm" / "beijing_xueyuanlu.osm",
    "shanghai": SHARED / "shanghai_bund_lujiazui_osm_tiles" / "data.gpkg",
    "wuhan": SHARED / "wuhan_guanggu_osm_tiles" / "data.gpkg",
}


def base_scene(name: str):
    """The scene with households on every building (the district's own; an extract's estimates)."""
    if name == "district":
        return validate_scene(generate_district(20_000, 450_000, seed=1)).raise_for_errors().scene
    scene = validate_scene(import_osm(EXTRACTS[name])[0]).raise_for_errors().scene
    estimates = prepare_scene(scene).local.buildings["households"].to_numpy()
    return scene.replace(buildings=scene.buildings.assign(households=estimates))


def changed_households(scene, share: float, seed: int, where: str = "scattered"):
    """The scene with ``share`` of its buildings' households changed: buildings drawn anywhere (``scattered``), or
    the buildings nearest one drawn at random (``local``: a new estate, a neighbourhood re-surveyed)."""
    rng = np.random.default_rng(seed)
    buildings = scene.buildings.copy()
    size = max(1, int(round(share * len(buildings))))
    if where == "local":
        centres = shapely.get_coordinates(shapely.centroid(buildings.geometry.to_numpy()))
        distance = np.hypot(*(centres - centres[rng.integers(len(buildings))]).T)
        chosen = np.argsort(distance, kind="stable")[:size]
    else:
        chosen = rng.choice(len(buildings), size=size, replace=False)
    households = buildings["households"].to_numpy().astype(np.int64)
    households[chosen] = np.round(households[chosen] * rng.uniform(0.5, 1.6, size=len(chosen))).astype(np.int64)
    return scene.replace(buildings=buildings.assign(households=households))


def bench(name: str, changes: list[tuple[float, str]]) -> list[dict]:
    scene = base_scene(name)
    first = partition(scene)
    previous = PreviousPlan.of(first)
    rows = []
    for share, where in changes:
        changed = prepare_scene(changed_households(scene, share, seed=2, where=where))
        start = time.perf_counter()
        scene_units(changed)  # the changed communities' units (the others' are the first plan's), shared by all three
        units_s = time.perf_counter() - start
        timings, runs = {}, {}
        for layout, settings in (("keep-only", DEFAULTS.with_regeneration(rebalance=False)), ("rebalanced", DEFAULTS)):
            start = time.perf_counter()
            runs[layout] = regenerate(changed, previous, settings, options=SERIAL)
            timings[layout] = time.perf_counter() - start
        start = time.perf_counter()
        fresh = regenerate(
            changed, previous, DEFAULTS.with_regeneration(rebalance=False), options=SERIAL, compare_fresh=True
        )
        timings["fresh"] = time.perf_counter() - start - timings["keep-only"]
        layouts = ["keep-only", "rebalanced", "fresh"]
        workers = pool_workers(float(changed.local.buildings["households"].sum()))
        if workers > 1:  # as `gridplan plan` runs both by default: the regions, or the communities, on every core
            pooled = f"rebalanced ×{workers}"
            start = time.perf_counter()
            runs[pooled] = regenerate(changed, previous, DEFAULTS, options=RunOptions(workers=workers))
            timings[pooled] = time.perf_counter() - start
            start = time.perf_counter()
            if default_workers(changed) > 1:
                plan_communities(changed, options=RunOptions(workers=default_workers(changed)))
            else:  # one community: its regions on every core
                partition(changed, options=RunOptions(workers=workers))
            timings[f"fresh ×{workers}"] = time.perf_counter() - start
            layouts.append(pooled)
        tradeoff = fresh.changes.tradeoff.set_index("layout")
        for layout in layouts:
            if layout == "fresh":
                figures = tradeoff.loc["fresh"]
                moved = np.nan
            else:
                changes = runs[layout].changes
                figures = changes.tradeoff.set_index("layout").iloc[-1]
                moved = changes.building_changes.loc[changes.building_changes["change"] == "moved", "households"].sum()
            against = f"fresh ×{workers}" if "×" in layout else "fresh"
            rows.append(
                {
                    "case": name,
                    "changed": f"{share:.0%} {where}",
                    "layout": layout,
                    "grids": len(runs["rebalanced"].plan.grids),
                    "kept": figures["kept_share"],
                    "within_10": figures["within_tight"],
                    "within_20": figures["within_bounds"],
                    "households_moved": moved,
                    "units_s": units_s,
                    "time_s": timings[layout],
                    "x_fresh": timings[layout] / timings[against],  # the goal: under 0.1 at 5% changed
                }
            )
        print(format_table(rows[-len(layouts) :]), flush=True)
    return rows


def format_table(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    for column in ("kept", "within_10", "within_20"):
        frame[column] = frame[column].map("{:.1%}".format)
    frame["households_moved"] = frame["households_moved"].map(lambda v: "—" if pd.isna(v) else f"{v:,.0f}")
    frame["time_s"] = frame["time_s"].map("{:.1f}".format)
    frame["units_s"] = frame["units_s"].map("{:.2f}".format)
    frame["x_fresh"] = frame["x_fresh"].map("{:.2f}×".format)
    return frame.to_string(index=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="district,nanjing,beijing,shanghai,wuhan")
    parser.add_argument("--shares", default="0.05,0.1,0.2", help="shares of the district's buildings changed")
    args = parser.parse_args(argv)
    rows = []
    for name in args.cases.split(","):
        shares = [float(s) for s in args.shares.split(",")] if name == "district" else [0.05]
        rows += bench(name, [(share, "scattered") for share in shares] + [(0.05, "local")])
    print("\nall cases\n" + format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
