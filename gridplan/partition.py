"""The engine's public face: divide a scene's communities into grids of about 300 households (网格划分).

How the engine works, step by step, is told in :mod:`gridplan.engine.plan`; its phases are the modules of
:mod:`gridplan.engine`. Most callers want :func:`gridplan.plan_scene`, which also regenerates from a previous
plan, plans on all cores and adds levels; :func:`partition` is the engine's single call on one scene.

Examples
--------
>>> from gridplan.partition import partition
>>> from gridplan.scenarios.example import example_prepared
>>> plan = partition(example_prepared())
>>> int(plan.grids["households"].sum()) == int(plan.assignment["households"].sum()) == 4500
True
"""

from __future__ import annotations

import sys
import types
import warnings

from gridplan.engine.plan import CountAsked, Layout, balance_weight, layout_from_atoms, partition, scene_units
from gridplan.engine.units import Units, build_units

__all__ = [
    "CountAsked",
    "Layout",
    "Units",
    "balance_weight",
    "build_units",
    "layout_from_atoms",
    "partition",
    "scene_units",
]


class _CallableModule(types.ModuleType):
    """This module, callable as the function it was before 0.2 (``gridplan.partition(scene)``), with a warning."""

    def __call__(self, *args, **kwargs):
        warnings.warn(
            "calling gridplan.partition(...) is deprecated and stops working in 0.3: call "
            "gridplan.partition.partition(...) or gridplan.plan_scene(...)",
            DeprecationWarning,
            stacklevel=2,
        )
        return partition(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
