"""Map benchmark: a whole generated district on one HTML map, opened in headless Chromium.

The district is ``generate_district(20000, 450000, seed=1)`` planned with :func:`gridplan.pipeline.plan_scene`
(about 1,600 grids). For each variant (polygons simplified by 2 m or not; with or without the 20,000 building
footprints, drawn from zoom 16 on) it reports the time to build and write the map, the HTML size, the load time
in headless Chromium until every grid is in the DOM (network off: the default map, self-contained, with the
scene's streets and water instead of tiles and the grid labels placed without overlap) and the mean time of a
pan.

    python benchmarks/map_bench.py [--out out/map_bench]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# timed from nothing: no atoms kept on disk by an earlier run (gridplan.engine.unit_store)
os.environ.setdefault("GRIDPLAN_CACHE_DIR", "off")

from gridplan.outputs.webmap import plan_map, save_map  # noqa: E402
from gridplan.pipeline import plan_scene, prepare_scene  # noqa: E402
from gridplan.scenarios.district import generate_district  # noqa: E402
from tests.support.browser import GRID_PATHS, MAP, Chromium  # noqa: E402

#: Ten pans of 300 × 150 px there and back, each until the next frame (headless Chromium: 60 frames/s, so
#: ~17 ms is the floor); a pan ends in Leaflet's redraw of every grid (drag itself only moves the SVG).
PAN = f"""(async () => {{
    const m = {MAP}, frame = () => new Promise(r => requestAnimationFrame(r));
    await frame();
    const t = performance.now();
    for (let i = 0; i < 10; i++) {{ m.panBy(i % 2 ? [-300, -150] : [300, 150], {{animate: false}}); await frame(); }}
    return (performance.now() - t) / 10;
}})()"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/map_bench", help="folder for the maps and screenshots")
    parser.add_argument("--runs", type=int, default=3, help="page loads per variant (the median is reported)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    scene = prepare_scene(generate_district(20000, 450000, seed=1))
    run = plan_scene(scene)
    plan = run.plan
    print(
        f"district: {len(scene.scene.buildings):,} buildings, {len(plan.grids):,} grids, "
        f"{scene.scene.communities.shape[0]} communities; planned in {time.perf_counter() - start:.0f} s"
    )

    print(f"{'variant':<34}{'build s':>8}{'HTML MB':>9}{'load s':>8}{'pan ms':>8}")
    with Chromium() as chromium:
        for simplify_m in (2.0, 0.0):
            for with_buildings in (False, True):
                name = f"simplify {simplify_m:g} m" + (", buildings" if with_buildings else "")
                path = out / f"district_s{simplify_m:g}{'_b' if with_buildings else ''}.html"
                t = time.perf_counter()
                fmap = plan_map(run, scene, buildings=with_buildings, simplify_m=simplify_m)
                save_map(fmap, path)
                build = time.perf_counter() - t
                loads, pans = [], []
                for attempt in range(args.runs):
                    # a fresh page (its own browser context) for each load: nothing cached from the last one
                    with chromium.page(offline=True, timeout=300) as page:
                        loads.append(page.open(path, until=f"{GRID_PATHS} >= {len(plan.grids)}"))
                        if attempt == 0:
                            page.screenshot(path.with_suffix(".png"))
                        pans.append(page.evaluate(PAN))
                        if page.errors:
                            print(f"  JavaScript errors: {page.errors[:3]}")
                print(
                    f"{name:<34}{build:>8.1f}{path.stat().st_size / 1e6:>9.1f}{sorted(loads)[len(loads) // 2]:>8.2f}"
                    f"{sorted(pans)[len(pans) // 2]:>8.1f}"
                )


if __name__ == "__main__":
    main()
