"""Independent tasks on the cores of this machine: the regions of a plan or of a regeneration, which stand
alone once their graphs are built, on a local process pool (the communities of a scene are
:mod:`gridplan.engine.parallel`'s, which builds on this)."""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

import numpy as np

from gridplan.settings import PARALLEL_MIN_HOUSEHOLDS


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity (as ``taskset``, a container or a batch system
    set it), not every core of the machine."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13
    if counted is not None:
        return counted() or 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        return os.cpu_count() or 1


def pool_workers(households: float) -> int:
    """The processes independent tasks of ``households`` in all run on by default: every available core
    (:func:`available_cores`); one (in this process, no pool) below ``PARALLEL_MIN_HOUSEHOLDS`` households (the
    pool would cost more than it gains), or when this process is itself a pool's worker (its workers cannot
    start processes of their own)."""
    if households < PARALLEL_MIN_HOUSEHOLDS or multiprocessing.current_process().daemon:
        return 1
    return max(1, available_cores())


@contextmanager
def forked_pool_heap() -> Iterator[None]:
    """While a pool forked from this process runs: this process's objects kept out of the garbage collector's
    passes (``gc.freeze``), so that a worker's collector does not write to the pages it shares with this process
    and copy them. On the district (20,000 buildings, two workers) the processes then held 573 MB at once instead
    of 628 MB (PSS). Objects made meanwhile are collected as usual; those frozen are collected again after."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def each_apart(
    function: Callable,
    tasks: Iterable[tuple],
    workers: int,
    sizes: Sequence[float] | None = None,
    done: Callable[[], object] | None = None,
) -> list:
    """``function(*task)`` of every task, in order: on a pool of ``workers`` processes (the largest of ``sizes``
    first, so that a large task does not start last), or in this process where ``workers`` is 1 or there is one
    task; ``done()`` is called as each task ends (a progress bar). ``tasks`` may be an iterator: in this process
    each task is then made as it runs, and what it holds is freed before the next. Tasks must stand alone (the
    regions of a plan): the results are then the same either way. A pool whose worker is lost (killed, out of
    memory) is given up and the tasks are run here, as they are where no pool can be made; any other error is raised
    as it was raised in the worker."""
    done = done or (lambda: None)
    if workers < 2:
        return _here(function, tasks, done)
    tasks = list(tasks)
    if len(tasks) < 2:
        return _here(function, tasks, done)
    order = np.argsort(-np.asarray(sizes, dtype=float), kind="stable") if sizes is not None else range(len(tasks))
    try:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)))
    except OSError:  # no processes or semaphores here (a sandbox without /dev/shm): the tasks run in this one
        return _here(function, tasks, done)
    try:
        with forked_pool_heap(), pool:
            futures = {int(i): pool.submit(function, *tasks[i]) for i in order}
            for future in futures.values():
                future.add_done_callback(lambda _: done())
            return [futures[i].result() for i in range(len(tasks))]
    except BrokenProcessPool:
        return _here(function, tasks, done)


def _here(function: Callable, tasks: Iterable[tuple], done: Callable[[], object]) -> list:
    """:func:`each_apart` in this process: each task made, run and let go in turn."""
    results = []
    for task in tasks:
        results.append(function(*task))
        done()
    return results
