"""gridplan: community management grids (社区网格) of about 300 households, and party-building coverage.

The public API, by step (each name is imported from its module on first use, so that ``import gridplan``
stays light and the result types never pull in the partition engine)::

    from gridplan import load_scene, prepare_scene, plan_scene, analyse_coverage, write_plan, plan_map

- read and prepare: :func:`load_scene`, :func:`prepare_scene` (:class:`PreparedScene`), :func:`validate_scene`;
- plan: :func:`plan_scene` (:class:`PlanRun`), :func:`partition`, :func:`regenerate`, :func:`plan_levels`,
  :func:`plan_communities`, :func:`audit_grids`;
- check a plan: :func:`verify_plan` (every claim checked again, :class:`Verification`), :func:`check_compliance`
  (every rule with its source, :class:`Compliance`);
- compare two plans: :func:`compare_plans` (:class:`PlanComparison`), :func:`write_approval` (the approval package);
- coverage: :func:`analyse_coverage` (:class:`Coverage`);
- results: :class:`Plan`, :class:`PlanWarning`, :class:`Certificate`, :class:`Provenance`, :class:`PreviousPlan`, :class:`PlanChanges`,
  :class:`Levels`;
- write, read and draw: :func:`write_plan`, :func:`read_plan`, :func:`read_previous`, :func:`write_coverage`,
  :func:`read_coverage`, :func:`plan_map`, :func:`save_map`, :func:`write_report`, :func:`wall_maps`,
  :func:`write_wall_maps`;
- settings and words: :class:`Settings`, :data:`DEFAULTS`, :mod:`gridplan.vocabulary`.
"""

from __future__ import annotations

import importlib
import sys
import types

_WHERE = {
    "load_scene": "pipeline", "prepare_scene": "pipeline", "plan_scene": "pipeline", "add_levels": "pipeline", "check_belongs": "pipeline",
    "analyse_coverage": "coverage",
    "PreparedScene": "scene", "Scene": "scene", "read_scene": "scene",
    "validate_scene": "validate",
    "partition": "partition", "regenerate": "regenerate", "plan_levels": "levels", "plan_communities": "parallel",
    "audit_grids": "audit", "verify_plan": "verify", "Verification": "verify", "check_compliance": "compliance",
    "Compliance": "compliance", "compare_plans": "compare", "PlanComparison": "compare", "write_approval": "approval",
    "Plan": "results", "PlanWarning": "results", "Certificate": "results", "Provenance": "results", "PreviousPlan": "results",
    "PlanChanges": "results", "PlanRun": "results", "Levels": "results", "Coverage": "results",
    "write_plan": "store", "read_plan": "store", "read_previous": "store", "write_coverage": "store",
    "read_coverage": "store",
    "plan_map": "maps", "save_map": "maps", "write_report": "report", "grid_table": "report",
    "wall_maps": "wallmap", "write_wall_maps": "wallmap",
    "Settings": "settings", "DEFAULTS": "settings",
    "GridplanError": "errors", "InputError": "errors", "InfeasibleError": "errors",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'gridplan' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__() -> list[str]:
    return __all__


class _Package(types.ModuleType):
    """The package, whose exported functions keep their names when a module of the same name is imported.

    Importing ``gridplan.partition`` makes the import system bind the module on the package, which would hide
    the function :func:`partition` from then on ("'module' object is not callable"). The binding is skipped,
    so ``gridplan.partition`` is always the function; the module is ``sys.modules["gridplan.partition"]``
    (``importlib.import_module``, ``from gridplan.partition import ...``).
    """

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
