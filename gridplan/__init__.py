"""gridplan: community management grids (社区网格) of about 300 households, and party-building coverage.

The public API, by step (each name is imported from its module on first use, so that ``import gridplan``
stays light and the result types never pull in the partition engine)::

    from gridplan import load_scene, prepare_scene, plan_scene, analyse_coverage, write_plan, plan_map

- read and prepare: :func:`load_scene`, :func:`prepare_scene` (:class:`PreparedScene`), :func:`validate_scene`;
- plan: :func:`plan_scene` (:class:`PlanRun`, how it runs: :class:`RunOptions`), :func:`regenerate`,
  :func:`plan_levels`, :func:`plan_communities`, :func:`audit_grids`; the engine's single call is
  :func:`gridplan.partition.partition`;
- check a plan: :func:`verify_plan` (every claim checked again, :class:`Verification`), :func:`check_compliance`
  (every rule with its source, :class:`Compliance`);
- compare two plans: :func:`compare_plans` (:class:`PlanComparison`), :func:`write_approval` (the approval package);
- coverage: :func:`analyse_coverage` (:class:`Coverage`);
- results: :class:`Plan`, :class:`PlanWarning`, :class:`Certificate`, :class:`Provenance`, :class:`PreviousPlan`,
  :class:`PlanChanges`, :class:`Levels`;
- write, read and draw: :func:`write_plan`, :func:`read_plan`, :func:`read_previous`, :func:`write_coverage`,
  :func:`read_coverage`, :func:`plan_map`, :func:`save_map`, :func:`write_report`, :func:`wall_maps`,
  :func:`write_wall_maps`;
- settings and words: :class:`Settings`, :data:`DEFAULTS`, :mod:`gridplan.vocabulary`.

The package is in layers, each importing only those below it (checked by ``tests/test_package.py``)::

    cli → pipeline → outputs → review → partition | coverage → reach → scenarios → engine → prepare → io → core
        → style → settings | vocabulary → errors
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("gridplan")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:  # what type checkers see; at run time each name loads on first use (__getattr__ below)
    from gridplan import partition
    from gridplan.core.results import (
        Certificate,
        Coverage,
        Levels,
        Plan,
        PlanChanges,
        PlanRun,
        PlanWarning,
        PreviousPlan,
        Provenance,
    )
    from gridplan.core.scene import PreparedScene, Scene
    from gridplan.coverage import analyse_coverage
    from gridplan.engine.audit import audit_grids
    from gridplan.engine.levels import plan_levels
    from gridplan.engine.parallel import plan_communities
    from gridplan.engine.regenerate import regenerate
    from gridplan.errors import GridplanError, InfeasibleError, InputError
    from gridplan.io.scene_files import read_scene
    from gridplan.io.store import read_coverage, read_plan, read_previous, write_coverage, write_plan
    from gridplan.outputs.approval import write_approval
    from gridplan.outputs.report import write_report
    from gridplan.outputs.tables import grid_table
    from gridplan.outputs.wallmap import wall_maps, write_wall_maps
    from gridplan.outputs.webmap import plan_map, save_map
    from gridplan.pipeline import add_levels, check_belongs, load_scene, plan_scene, prepare_scene
    from gridplan.prepare.validate import validate_scene
    from gridplan.review.compare import PlanComparison, compare_plans
    from gridplan.review.compliance import Compliance, check_compliance
    from gridplan.review.verify import Verification, verify_plan
    from gridplan.settings import DEFAULTS, RunOptions, Settings

_WHERE = {
    "load_scene": "pipeline",
    "prepare_scene": "pipeline",
    "plan_scene": "pipeline",
    "add_levels": "pipeline",
    "check_belongs": "pipeline",
    "analyse_coverage": "coverage",
    "PreparedScene": "core.scene",
    "Scene": "core.scene",
    "read_scene": "io.scene_files",
    "validate_scene": "prepare.validate",
    "regenerate": "engine.regenerate",
    "plan_levels": "engine.levels",
    "plan_communities": "engine.parallel",
    "audit_grids": "engine.audit",
    "verify_plan": "review.verify",
    "Verification": "review.verify",
    "check_compliance": "review.compliance",
    "Compliance": "review.compliance",
    "compare_plans": "review.compare",
    "PlanComparison": "review.compare",
    "write_approval": "outputs.approval",
    "Plan": "core.results",
    "PlanWarning": "core.results",
    "Certificate": "core.results",
    "Provenance": "core.results",
    "PreviousPlan": "core.results",
    "PlanChanges": "core.results",
    "PlanRun": "core.results",
    "Levels": "core.results",
    "Coverage": "core.results",
    "write_plan": "io.store",
    "read_plan": "io.store",
    "read_previous": "io.store",
    "write_coverage": "io.store",
    "read_coverage": "io.store",
    "plan_map": "outputs.webmap",
    "save_map": "outputs.webmap",
    "write_report": "outputs.report",
    "grid_table": "outputs.tables",
    "wall_maps": "outputs.wallmap",
    "write_wall_maps": "outputs.wallmap",
    "Settings": "settings",
    "DEFAULTS": "settings",
    "RunOptions": "settings",
    "GridplanError": "errors",
    "InputError": "errors",
    "InfeasibleError": "errors",
}
__all__ = sorted(_WHERE)

#: Modules that moved into the layers in 0.2: the old path → the new one. The old path still imports, with a
#: DeprecationWarning, until 0.3.
MOVED = {
    "_files": "core.files",
    "_geometry": "core.geometry",
    "_hanzi": "core.hanzi",
    "_matching": "core.matching",
    "coords": "core.coords",
    "alignment": "core.alignment",
    "scene": "core.scene",
    "results": "core.results",
    "metrics": "core.metrics",
    "codes": "core.codes",
    "households": "core.households",
    "osm": "io.osm",
    "store": "io.store",
    "postgis": "io.postgis",
    "qgis_styles": "io.qgis_styles",
    "register": "prepare.register",
    "addresses": "prepare.addresses",
    "validate": "prepare.validate",
    "boundaries": "prepare.boundaries",
    "units": "engine.units",
    "regenerate": "engine.regenerate",
    "rebalance": "engine.rebalance",
    "levels": "engine.levels",
    "audit": "engine.audit",
    "parallel": "engine.parallel",
    "claims": "engine.claims",
    "network": "reach.network",
    "service": "reach.service",
    "party": "reach.party",
    "synthetic": "scenarios.district",
    "scenarios": "scenarios.registers",
    "verify": "review.verify",
    "checking": "review.checking",
    "compare": "review.compare",
    "compliance": "review.compliance",
    "maps": "outputs.webmap",
    "wallmap": "outputs.wallmap",
    "report": "outputs.report",
    "approval": "outputs.approval",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    if name == "partition":  # the module, callable for one more release (see gridplan.partition)
        return importlib.import_module(f"{__name__}.partition")
    raise AttributeError(f"module 'gridplan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``gridplan.<old path>`` as the module it moved to, with a DeprecationWarning naming the new path."""

    def __init__(self) -> None:
        self.specs: dict[str, importlib.machinery.ModuleSpec] = {}  # each moved module's own spec, by its new name

    def find_spec(self, fullname, path=None, target=None):
        package, _, old = fullname.partition(".")
        if package == __name__ and old in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = f"{__name__}.{MOVED[spec.name.partition('.')[2]]}"
        warnings.warn(
            f"{spec.name} moved to {new}: the old path stops working in gridplan 0.3", DeprecationWarning, stacklevel=2
        )
        module = importlib.import_module(new)
        self.specs[new] = module.__spec__
        return module

    def exec_module(self, module) -> None:
        """Nothing to run (the module was imported under its new name); it keeps its own spec, which the import
        system replaced with the old path's."""
        module.__spec__ = self.specs[module.__name__]


sys.meta_path.append(_MovedModules())
