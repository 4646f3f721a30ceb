"""Communities' atoms kept between plans: the latest in memory, and every one on disk between runs.

A community's atoms depend only on what its key digests (:func:`gridplan.engine.units.community_key`: its
layers, the grid settings, ``UNITS_VERSION``), so atoms built once serve every later plan, regeneration or
verification of the same ground: in this process from memory, in another (the next ``gridplan`` command, a
worker of a pool) from the directory named by ``GRIDPLAN_CACHE_DIR`` (by default ``~/.cache/gridplan``; ``off``
keeps nothing on disk). Building the atoms is the largest part of a small plan's time (1.4 s of Nanjing's).

Each file holds one community, with the versions of what made it (``UNITS_VERSION``, shapely and GEOS, numpy):
a file of other versions, or one that cannot be read whole (a crash while writing, a full disk), is not used
and is written anew. Files are written whole and then renamed, so processes planning side by side never read
half a file. The least recently used go first when the directory holds more than ``UNITS_CACHE_BYTES``.
The files are Python pickles: the directory must be the user's own, as their home is.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path

import numpy as np
import shapely

from gridplan.core.memo import Recent
from gridplan.settings import CACHE_DIR_ENV, UNITS_CACHE_BYTES

from .units import UNITS_VERSION, CommunityUnits

#: What made a file's atoms, besides its key: another version of any of these may cut them otherwise.
MADE_BY = (UNITS_VERSION, shapely.__version__, shapely.geos_version_string, np.__version__)


def cache_directory() -> Path | None:
    """The directory communities' atoms are kept in between runs: ``GRIDPLAN_CACHE_DIR``, or ``gridplan`` in
    the user's cache directory (``XDG_CACHE_HOME``, else ``~/.cache``); None where it is ``off``."""
    named = os.environ.get(CACHE_DIR_ENV)
    if named is not None:
        return None if named.strip().lower() in ("", "off", "0", "no") else Path(named)
    try:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gridplan"
    except RuntimeError:  # no home directory to be found: nothing is kept on disk
        return None


class CommunityStore(MutableMapping[str, CommunityUnits]):
    """Communities' atoms by key: the latest ``kept`` in memory, and all of them in :func:`cache_directory`.

    Parameters
    ----------
    kept
        Communities kept in memory (the least recently used go first).
    where
        The directory they are kept in on disk, None for none, asked at each use: by default
        :func:`cache_directory`, so that a change of ``GRIDPLAN_CACHE_DIR`` holds at once.
    """

    def __init__(self, kept: int, where: Callable[[], Path | None] = cache_directory):
        self.where = where
        self._memory: Recent[CommunityUnits] = Recent(kept)

    def __getitem__(self, key: str) -> CommunityUnits:
        units = self._memory.get(key)
        if units is None:
            units = self._read(key)
            if units is None:
                raise KeyError(key)
            self._memory.put(key, units)
        return units

    def __setitem__(self, key: str, units: CommunityUnits) -> None:
        self._memory.put(key, units)
        self._write(key, units)

    def __delitem__(self, key: str) -> None:
        del self._memory[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._memory)

    def __len__(self) -> int:
        return len(self._memory)

    def _path(self, key: str) -> Path | None:
        directory = self.where()
        return None if directory is None else directory / f"{key}.units"

    def _read(self, key: str) -> CommunityUnits | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            with open(path, "rb") as file:
                made_by, stored_key, units = pickle.load(file)
        except FileNotFoundError:
            return None
        except Exception:  # cut short, not a pickle, or a directory that cannot be read: built again
            made_by = None
        if made_by != MADE_BY or stored_key != key or not isinstance(units, CommunityUnits):
            with contextlib.suppress(OSError):  # of another version or damaged: written anew when built
                path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept longest
        return units

    def _write(self, key: str, units: CommunityUnits) -> None:
        path = self._path(key)
        if path is None:
            return
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as file:
                pickle.dump((MADE_BY, key, units), file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, path)
            _prune(path.parent, UNITS_CACHE_BYTES)
        except OSError:  # a directory that cannot be written: the atoms are kept in memory only
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)


def _prune(directory: Path, most: int) -> None:
    """Remove the least recently used files of ``directory`` until it holds at most ``most`` bytes."""
    files = []
    for path in directory.glob("*.units"):
        try:
            status = path.stat()
        except FileNotFoundError:  # removed by another process meanwhile
            continue
        files.append((status.st_mtime, status.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total <= most:
            break
        path.unlink(missing_ok=True)
        total -= size
