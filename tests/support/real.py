"""The real extracts of ../shared/data read, prepared, planned and analysed once per test session.

Tests that need the default plan of Beijing all read the same object: :class:`RealExtracts` computes each
result once and keeps it on disk (``out/test-cache`` in the clone, or ``$GRIDPLAN_TEST_CACHE``), keyed by a
digest of gridplan's own source, the versions of the libraries that decide a plan, the extract's bytes and the
step asked for. A change to any of them computes anew, so a stale result is never read; parallel test workers
share the work through a lock per result. Results are shared, so a test must not change them: the session
fixture checks at its end that every result handed out is as it was computed.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.metadata
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import shapely

import gridplan
from gridplan.core.results import Coverage, PlanRun
from gridplan.core.scene import PreparedScene, Scene
from gridplan.coverage import analyse_coverage
from gridplan.pipeline import add_levels, load_scene, plan_scene, prepare_scene

#: The four real extracts the tests plan, by name.
EXTRACTS = {
    "beijing": "beijing_xueyuanlu_osm/beijing_xueyuanlu.osm",
    "nanjing": "nanjing_xinjiekou_osm/nanjing_xinjiekou.osm",
    "shanghai": "shanghai_bund_lujiazui_osm_tiles/data.gpkg",
    "wuhan": "wuhan_guanggu_osm_tiles/data.gpkg",
}
#: Libraries whose version can change an imported scene or a plan.
DECIDING = (
    "osmnx",
    "pyrosm",
    "shapely",
    "geopandas",
    "pyogrio",
    "pyproj",
    "numpy",
    "pandas",
    "scipy",
    "ortools",
    "networkx",
    "scikit-learn",
)


def code_digest() -> str:
    """SHA-256 of gridplan's source files and of the deciding libraries' versions."""
    digest = hashlib.sha256()
    package = Path(gridplan.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for name in DECIDING:
        digest.update(f"{name}={importlib.metadata.version(name)}".encode())
    digest.update(shapely.geos_version_string.encode())
    return digest.hexdigest()


def frame_digest(frame: pd.DataFrame | None) -> str:
    """A digest of a table's values and geometry, to tell whether a shared result was changed."""
    if frame is None:
        return "none"
    geometry = getattr(frame, "_geometry_column_name", None)
    values = frame.drop(columns=[geometry]) if geometry in frame else frame
    hashed = pd.util.hash_pandas_object(values.astype(str), index=True).to_numpy().tobytes()
    wkb = b"".join(shapely.to_wkb(frame[geometry].to_numpy())) if geometry in frame else b""
    return hashlib.sha256(hashed + wkb + str(list(frame.columns)).encode()).hexdigest()


def result_digest(result) -> str:
    """A digest of every table a scene, prepared scene, run or coverage holds."""
    tables: list[pd.DataFrame | None] = []
    if isinstance(result, Scene):
        tables = list(result.layers().values())
    elif isinstance(result, PreparedScene):
        tables = [*result.scene.layers().values(), *result.local.layers().values()]
    elif isinstance(result, PlanRun):
        tables = [result.plan.grids, result.plan.assignment]
        if result.levels is not None:
            tables += [result.levels.areas, result.levels.micro_grids]
    elif isinstance(result, Coverage):
        tables = [
            getattr(result, name)
            for name in (
                "grid_party",
                "joint_branches",
                "member_links",
                "service_coverage",
                "grid_service",
                "proposed_sites",
            )
        ]
    return hashlib.sha256("".join(frame_digest(t) for t in tables).encode()).hexdigest()


@dataclass
class RealExtracts:
    """Each real extract's scene, prepared scene, default run, run with levels and coverage, made once.

    Parameters
    ----------
    shared_data
        The folder of real extracts.
    cache
        The folder results are kept in between sessions (None: kept in memory only).
    """

    shared_data: Path
    cache: Path | None = None
    _made: dict = field(default_factory=dict)
    _digests: dict = field(default_factory=dict)
    _code: str = field(default_factory=code_digest)

    def path(self, name: str) -> Path:
        """The extract's file."""
        return self.shared_data / EXTRACTS[name]

    def scene(self, name: str) -> Scene:
        """The extract as :func:`gridplan.pipeline.load_scene` reads it (imported from OpenStreetMap)."""
        return self._once(name, "scene", lambda: load_scene(self.path(name)))

    def prepared(self, name: str) -> PreparedScene:
        """The scene validated and prepared with the default settings."""
        return self._once(name, "prepared", lambda: prepare_scene(self.scene(name)))

    def run(self, name: str, *, levels: bool = False) -> PlanRun:
        """The default plan (``plan_scene``), with areas and micro-grids when ``levels``."""
        if levels:
            return self._once(name, "run+levels", lambda: add_levels(self.run(name), self.prepared(name)))
        return self._once(name, "run", lambda: plan_scene(self.prepared(name)))

    def coverage(self, name: str) -> Coverage:
        """The coverage of the plan with levels, generated members and one proposed service point."""
        return self._once(
            name,
            "coverage",
            lambda: analyse_coverage(self.run(name, levels=True).plan, self.prepared(name), new_service_points=1),
        )

    def changed(self) -> list[str]:
        """The results handed out that are no longer as they were made."""
        return [
            f"{name} {step}"
            for (name, step), result in self._made.items()
            if result_digest(result) != self._digests[name, step]
        ]

    def _once(self, name: str, step: str, make: Callable):
        if (name, step) not in self._made:
            result = self._load_or_make(name, step, make)
            self._made[name, step] = result
            self._digests[name, step] = result_digest(result)
        return self._made[name, step]

    def _load_or_make(self, name: str, step: str, make: Callable):
        if self.cache is None:
            return make()
        key = hashlib.sha256(f"{self._code}\0{_file_digest(self.path(name))}\0{step}".encode()).hexdigest()[:24]
        self.cache.mkdir(parents=True, exist_ok=True)
        stored = self.cache / f"{name}-{step}-{key}.pickle"
        with open(self.cache / f"{name}-{step}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another worker making the same result: wait and read it
            if stored.exists():
                return pickle.loads(stored.read_bytes())
            result = make()
            partial = stored.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            partial.replace(stored)
            for old in self.cache.glob(f"{name}-{step}-*.pickle"):
                if old != stored:
                    old.unlink(missing_ok=True)
            return result


@functools.cache
def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
