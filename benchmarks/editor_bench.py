"""Editor load benchmark: random legal moves through the editor's HTTP API, as a grid platform would send them.

The case is planned first (not timed), written to a plan file and opened by the editor (``gridplan edit``'s
application, served by uvicorn on loopback in this process's thread). A client then picks a random pair of
neighbouring units of one community in different grids and asks ``POST /api/move`` to give the one to the other's
grid, until ``--moves`` moves were made (refused ones are counted apart). First, in ``--rebalances`` communities, one
such move is made and then ``POST /api/rebalance`` re-plans the rest of the community around it (timed). It prints
the answer times (median, p95, largest) of the rebalances and of the moves made and refused; then re-opens the
plan from the journal and checks that it gives the same layout; then saves, and checks that the plan saved is the plan of the journal replayed (the same assignment).

Goals (issue #35): under 100 ms a move at p95 on the district; a community rebalance under 1 s.

Run: ``python benchmarks/editor_bench.py [--case district|nanjing|beijing|shanghai|wuhan] [--moves 1000]
[--rebalances 10] [--seed 0]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GRIDPLAN_CACHE_DIR", "off")

from benchmarks.partition_bench import load_case  # noqa: E402
from gridplan.editor.server import create_app, serve  # noqa: E402
from gridplan.editor.session import open_session  # noqa: E402
from gridplan.io.store import write_plan  # noqa: E402
from gridplan.pipeline import plan_scene, prepare_scene  # noqa: E402


def post(url: str, body: dict) -> tuple[int, dict, float]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            status, data = answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        status, data = refused.code, json.loads(refused.read())
    return status, data, time.perf_counter() - start


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=120) as answer:
        return json.loads(answer.read())


def figures(times: list[float]) -> str:
    if not times:
        return "—"
    ms = np.asarray(times) * 1000
    return f"median {np.median(ms):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  max {ms.max():7.1f} ms  (n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="district")
    parser.add_argument("--moves", type=int, default=1000)
    parser.add_argument("--rebalances", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    start = time.perf_counter()
    prepared = prepare_scene(load_case(args.case))
    run = plan_scene(prepared)
    folder = Path(tempfile.mkdtemp(prefix="gridplan-editor-bench-"))
    write_plan(run, prepared, folder / "plan.gpkg")
    print(f"{args.case}: {len(run.plan.grids):,} grids planned and written in {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    session = open_session(prepared, folder / "plan.gpkg")
    opened = time.perf_counter() - start
    app = create_app(session, output=folder / "edited.gpkg", lang="en")
    ready = threading.Event()
    address = {}

    def on_ready(url: str) -> None:
        address["url"] = url
        ready.set()

    threading.Thread(target=serve, kwargs={"app": app, "ready": on_ready}, daemon=True).start()
    ready.wait(60)
    url = address["url"]
    start = time.perf_counter()
    scene_bytes = len(urllib.request.urlopen(url + "api/scene", timeout=120).read())
    scene_seconds = time.perf_counter() - start
    print(f"session opened in {opened:.2f} s; the page's scene ({scene_bytes / 1e6:.1f} MB) in {scene_seconds:.2f} s")

    edges = np.array(list(session.graph.edges()))
    community = session.community
    edges = edges[community[edges[:, 0]] == community[edges[:, 1]]]
    unit_grid = np.asarray(get(url + "api/state")["unit_grid"], dtype=object)

    def random_move(within: str | None = None) -> tuple[int, dict, float]:
        """One random move of a unit to a neighbouring grid (of one community, if given): made or refused."""
        pool = edges if within is None else edges[community[edges[:, 0]] == within]
        while True:
            a, b = pool[rng.integers(len(pool))]
            if rng.random() < 0.5:
                a, b = b, a
            if unit_grid[a] != unit_grid[b]:
                break
        status, data, seconds = post(url + "api/move", {"to": unit_grid[b], "units": [int(a)]})
        if status == 200:
            unit_grid[a] = unit_grid[b]
        return status, data, seconds

    # a planner's rebalance: one unit moved by hand in a community, then the rest of it rebalanced around it
    communities = sorted(set(community))
    times, refusals = [], 0
    for c in rng.choice(communities, size=min(args.rebalances, len(communities)), replace=False):
        while random_move(str(c))[0] != 200:
            pass
        status, data, seconds = post(url + "api/rebalance", {"community": str(c)})
        if status == 200:
            times.append(seconds)
            for unit in data["moved"]:
                unit_grid[unit] = session.atom_grids()[unit]
        else:
            refusals += 1
    print(f"rebalances     {figures(times)}  refused: {refusals}")

    made, refused, reasons = [], [], {}
    while len(made) < args.moves:
        status, data, seconds = random_move()
        if status == 200:
            made.append(seconds)
        else:
            refused.append(seconds)
            reasons[data["error"]] = reasons.get(data["error"], 0) + 1
    print(f"moves made     {figures(made)}")
    print(f"moves refused  {figures(refused)}  {dict(sorted(reasons.items()))}")

    replayed = open_session(prepared, folder / "plan.gpkg")
    same = replayed.atom_grids() == session.atom_grids() == list(unit_grid)
    print(f"the journal replayed gives the same layout: {same} ({replayed.seq:,} edits)")
    start = time.perf_counter()
    status, data, _ = post(url + "api/save", {})
    print(f"saved (version {data.get('version')}) in {time.perf_counter() - start:.1f} s")
    replayed = open_session(prepared, folder / "plan.gpkg")  # the rebalances and moves, replayed from the journal
    again = replayed.plan_run().plan.fingerprint()
    print(f"the plan saved is the journal's replayed: {again == data.get('fingerprint')}")
    print("goals: a move under 100 ms at p95 on the district; a community rebalance under 1 s")


if __name__ == "__main__":
    main()
