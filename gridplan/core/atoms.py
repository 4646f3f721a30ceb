"""The atoms a scene is planned on (street blocks, building cells, compounds, special sites) and their
adjacency, as :func:`gridplan.engine.units.build_units` makes them; a plan made in this process keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import pandas as pd


@dataclass(frozen=True)
class Units:
    """Atoms of a scene and their adjacency.

    Attributes
    ----------
    atoms
        One row per atom: ``atom_id`` (position), ``community_id``, ``kind`` (``block``, ``cell``,
        ``compound``, ``special``; ``water`` for water no shore atom took), ``households``, ``workload``, ``x``/``y`` (household-weighted
        centre, metres), ``special`` (the special kind, or empty), geometry. Atoms tile their communities.
    graph
        Nodes are atom positions; edges carry ``length`` (shared boundary, m), ``cost`` (length ×
        badness of a cut there) and ``barrier`` (the shared boundary is a river, rail or wall).
    building_atom
        Atom position of each building, aligned to the buildings given.
    community_keys
        A digest of the layers each community's atoms are made of, by community id
        (:func:`gridplan.engine.units.community_key`): the same key, the same atoms.
    """

    atoms: gpd.GeoDataFrame
    graph: nx.Graph
    building_atom: pd.Series
    community_keys: Mapping[str, str] = field(default_factory=dict)
