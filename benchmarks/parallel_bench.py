"""Parallel planning benchmark: a generated city planned serially and on worker processes.

The city: ``generate_district(45000 buildings, 1,000,000 households, 1,000 communities, seed 1)``. Each mode
runs in a fresh child process (so its peak memory is its own) and plans the validated scene:

- ``serial``: :func:`gridplan.partition.partition`, all communities in one process;
- ``pool``: :func:`gridplan.engine.parallel.plan_communities` on a local process pool of ``--workers`` processes;
- ``dask``: the same on a ``dask.distributed.LocalCluster`` of ``--workers`` single-threaded processes.

"peak MB" is the resident memory peak of the planning process (``ru_maxrss``); "worker peak MB" is the
largest resident memory each worker process reached, sampled every 0.1 s with psutil. Every mode's
building assignment is compared with the serial one.

Run: ``python benchmarks/parallel_bench.py [--workers 2] [--modes serial,pool,dask] [--buildings 45000
--households 1000000 --communities 1000]``. On a real cluster: start ``dask scheduler`` on one host and
``dask worker tcp://HOST:8786 --nworkers N --nthreads 1`` on each machine (gridplan installed on every one),
then ``python benchmarks/parallel_bench.py --modes dask --scheduler tcp://HOST:8786``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# timed from nothing: no atoms kept on disk by an earlier run (gridplan.engine.unit_store)
os.environ.setdefault("GRIDPLAN_CACHE_DIR", "off")

import psutil  # noqa: E402

from gridplan.engine.parallel import plan_communities  # noqa: E402
from gridplan.partition import partition  # noqa: E402
from gridplan.prepare.validate import validate_scene  # noqa: E402
from gridplan.scenarios.district import generate_district  # noqa: E402
from gridplan.settings import RunOptions  # noqa: E402


class WorkerMemory:
    """Peak resident memory of every descendant process, sampled in a background thread."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.peaks, self._stop = interval, {}, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                self.peaks[child.pid] = max(self.peaks.get(child.pid, 0), rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_mode(mode: str, args) -> dict:
    """Plan the city in this process with ``mode``; return time, memory and the assignment's digest."""
    scene = (
        validate_scene(generate_district(args.buildings, args.households, n_communities=args.communities, seed=1))
        .raise_for_errors()
        .scene
    )
    start = time.perf_counter()
    with WorkerMemory() as memory:
        if mode == "serial":
            plan = partition(scene, options=RunOptions(workers=1))
        elif mode == "pool":
            plan = plan_communities(scene, options=RunOptions(workers=args.workers))
        else:
            from dask.distributed import Client, LocalCluster

            if args.scheduler:
                plan = plan_communities(scene, options=RunOptions(scheduler=args.scheduler))
            else:
                with (
                    LocalCluster(
                        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
                    ) as cluster,
                    Client(cluster) as client,
                ):
                    plan = plan_communities(scene, options=RunOptions(scheduler=client))
    seconds = time.perf_counter() - start
    # worker processes only: the resource tracker and other helpers stay below 100 MB
    workers = sorted((rss / 2**20 for rss in memory.peaks.values() if rss > 100 * 2**20), reverse=True)
    digest = hashlib.sha256(plan.assignment[["building_id", "grid_id"]].to_csv(index=False).encode()).hexdigest()[:12]
    return {
        "mode": mode,
        "time_s": round(seconds, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "worker_peak_mb": [round(w) for w in workers],
        "grids": len(plan.grids),
        "households": int(plan.grids["households"].sum()),
        "assignment": digest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="serial,pool")
    parser.add_argument("--buildings", type=int, default=45000)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=1000)
    parser.add_argument("--scheduler", help="address of a running Dask scheduler for mode 'dask'")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_mode(args.child, args)))
        return
    print(
        f"city: {args.buildings:,} buildings, {args.households:,} households, {args.communities:,} communities; "
        f"{args.workers} workers; {psutil.cpu_count()} CPUs"
    )
    rows = []
    for mode in args.modes.split(","):
        command = [sys.executable, __file__, "--child", mode] + [a for a in sys.argv[1:] if a != "--child"]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    serial = next((r for r in rows if r["mode"] == "serial"), rows[0])
    print(f"{'mode':<8}{'time s':>8}{'speed-up':>10}{'peak MB':>9}  {'worker peak MB':<18}{'grids':>7}  same plan")
    for r in rows:
        workers = ", ".join(map(str, r["worker_peak_mb"])) or "—"
        print(
            f"{r['mode']:<8}{r['time_s']:>8.1f}{serial['time_s'] / r['time_s']:>9.2f}×{r['peak_mb']:>9}  {workers:<18}"
            f"{r['grids']:>7}  {'yes' if r['assignment'] == serial['assignment'] else 'NO'}"
        )


if __name__ == "__main__":
    main()
