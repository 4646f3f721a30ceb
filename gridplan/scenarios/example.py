"""The small generated scene the docstrings' examples run on (and a notebook may start from): two communities,
200 buildings, 4,500 households, its streets and a river, from :func:`~gridplan.scenarios.district.generate_district`
with seed 1, labelled as generated. Each is made once per process.

Examples
--------
>>> from gridplan.scenarios.example import example_scene
>>> scene = example_scene()
>>> len(scene.communities), len(scene.buildings), int(scene.buildings["households"].sum())
(2, 200, 4500)
"""

from __future__ import annotations

from functools import cache

from gridplan.core.scene import PreparedScene, Scene
from gridplan.prepare.validate import prepare_scene

from .district import generate_district


@cache
def example_scene() -> Scene:
    """The example scene (generated: two communities, 200 buildings, 4,500 households; seed 1)."""
    return generate_district(200, 4500, n_communities=2, seed=1)


@cache
def example_prepared() -> PreparedScene:
    """The example scene, validated and prepared with the default settings."""
    return prepare_scene(example_scene())
