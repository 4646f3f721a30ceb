"""The three baselines the partition benchmark compares gridplan's grids against.

Each takes the same input as gridplan's partition — the atom graph of ``gridplan.engine.units`` (an ``atoms``
GeoDataFrame in a metric CRS with ``community_id``, ``households``, ``workload``, ``x``, ``y`` and a
networkx graph on the atoms' positions ``0..n-1`` whose edges carry ``length`` and ``cost``) or the
buildings — and returns one integer grid label per atom (or building), ``0..k-1``:

- :func:`metis_baseline` — METIS k-way graph partitioning (pymetis) with contiguous parts: the
  general-purpose balanced min-cut partitioner, blind to the domain's rules beyond balance.
- :func:`maxp_baseline` — max-p regions (spopt): as many contiguous regions as possible, each with at
  least ``threshold`` households; the regionalisation method of spatial statistics.
- :func:`kmeans_baseline` — k-means on building centroids weighted by households: the compactness
  reference, ignoring streets and contiguity.

All three are deterministic for a given ``seed``.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator

import geopandas as gpd
import networkx as nx
import numpy as np
import pymetis
import scipy.sparse as sp
from libpysal.weights import W
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import KMeans
from spopt.region import MaxPHeuristic

from gridplan.core.scene import local_crs
from gridplan.errors import InputError

# spopt's defaults (99 construction iterations, 10 annealing rounds) took 71 s on a 2,025-atom lattice
# (households ~ Poisson(15), threshold 300, one component); 5 and 1 took 7 s for 90 regions instead
# of 91, and ~8 s for ten 196-atom components. spopt anneals every construction that reaches the
# largest p, so the construction iterations bound the run time as much as the annealing rounds.
#: Construction iterations of max-p.
MAXP_CONSTRUCTION_ITERATIONS = 5
#: Simulated-annealing rounds per best construction.
MAXP_SA_ITERATIONS = 1
#: Candidate regions considered when max-p assigns an enclave (spopt's default).
MAXP_TOP_N = 2


def metis_baseline(atoms: gpd.GeoDataFrame, graph: nx.Graph, k: int, *, seed: int = 0) -> np.ndarray:
    """Partition the atom graph into ``k`` contiguous parts of about equal households with METIS.

    Vertex weights are households + 1 (atoms without households still count a little), edge weights
    the shared boundary ``length`` in metres rounded to an integer of at least 1, so METIS prefers
    to cut short boundaries. METIS's contiguity option (``Options(contig=1)``) needs a connected
    graph, so each connected component is partitioned on its own, with a number of parts chosen so
    that households per part are as even as possible across components (see :func:`_share_parts`).

    Parameters
    ----------
    atoms
        The atoms; only ``households`` is used.
    graph
        Adjacency of the atoms, nodes ``0..len(atoms) - 1``, edges with ``length``.
    k
        Number of grids. Every component gets at least one, so a graph with more components than
        ``k`` gets as many labels as components.
    seed
        METIS's random seed.

    Returns
    -------
    numpy.ndarray
        Grid label of every atom, ``0..max(k, components) - 1``; every part is connected in ``graph``.

    Raises
    ------
    InputError
        ``k`` below 1.
    """
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    adjacency = _adjacency(graph, len(atoms), "length")
    households = atoms["households"].to_numpy(dtype=np.int64)
    n_components, component = connected_components(adjacency, directed=False)
    parts = _share_parts(
        k,
        np.bincount(component, weights=households, minlength=n_components),
        np.bincount(component, minlength=n_components),
    )
    labels = np.empty(len(atoms), dtype=np.int64)
    offset = 0
    for c in range(n_components):
        members = np.flatnonzero(component == c)
        if parts[c] == 1:
            labels[members] = offset
        else:
            sub = adjacency[members][:, members].tocsr()
            _, membership = pymetis.part_graph(
                int(parts[c]),
                adjacency=pymetis.CSRAdjacency(sub.indptr, sub.indices),
                vweights=households[members] + 1,
                eweights=np.maximum(1, np.rint(sub.data)).astype(np.int64),
                options=pymetis.Options(contig=1, seed=seed),
                recursive=False,  # METIS enforces contiguity in k-way mode only
            )
            labels[members] = offset + np.unique(membership, return_inverse=True)[1]
        offset = labels[members].max() + 1
    return labels


def maxp_baseline(
    atoms: gpd.GeoDataFrame,
    graph: nx.Graph,
    threshold: float,
    *,
    seed: int = 0,
    max_iterations_construction: int = MAXP_CONSTRUCTION_ITERATIONS,
    max_iterations_sa: int = MAXP_SA_ITERATIONS,
    top_n: int = MAXP_TOP_N,
) -> np.ndarray:
    """Max-p regions: the most contiguous regions each holding at least ``threshold`` households.

    spopt's :class:`~spopt.region.MaxPHeuristic` runs on libpysal weights built from ``graph`` itself,
    so it sees the same atoms and adjacencies as the other methods; its homogeneity attributes are
    the centroid ``x``, ``y``, so its local search makes regions compact. It runs on each connected
    component apart (regions never join components, as gridplan's grids never cross communities);
    a component with fewer than ``2 × threshold`` households, or a single atom, is one region.

    spopt draws from NumPy's global random state; it is seeded with ``seed`` for the call and
    restored afterwards. spopt is pure Python: with the defaults here a 2,000-atom graph takes about
    7 s, one component or ten, and memory grows with the square of a component (an ``n × n``
    distance matrix).

    Parameters
    ----------
    atoms
        The atoms, with ``households``, ``x`` and ``y``.
    graph
        Adjacency of the atoms, nodes ``0..len(atoms) - 1``.
    threshold
        Least households of a region: the grid target, or its floor (``GridSettings.floor``).
    seed
        Seed of NumPy's global random state while spopt runs.
    max_iterations_construction, max_iterations_sa, top_n
        Passed to :class:`~spopt.region.MaxPHeuristic`.

    Returns
    -------
    numpy.ndarray
        Region label of every atom, ``0..p-1``; every region is connected in ``graph``.
    """
    if threshold <= 0:
        raise InputError(f"threshold must be positive, got {threshold}")
    adjacency = _adjacency(graph, len(atoms), None)
    n_components, component = connected_components(adjacency, directed=False)
    households = atoms["households"].to_numpy(dtype=float)
    table = atoms[["households", "x", "y"]].reset_index(drop=True)
    labels = np.empty(len(atoms), dtype=np.int64)
    offset = 0
    with _numpy_global_seed(seed):
        for c in range(n_components):
            members = np.flatnonzero(component == c)
            if len(members) == 1 or households[members].sum() < 2 * threshold:
                labels[members] = offset
                offset += 1
                continue
            sub = adjacency[members][:, members].tocsr()
            neighbours = {i: sub.indices[sub.indptr[i] : sub.indptr[i + 1]].tolist() for i in range(len(members))}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # spopt calls a deprecated pandas drop(inplace=)
                model = MaxPHeuristic(
                    table.iloc[members].reset_index(drop=True),
                    W(neighbours, silence_warnings=True),
                    ["x", "y"],
                    "households",
                    threshold,
                    top_n=top_n,
                    max_iterations_construction=max_iterations_construction,
                    max_iterations_sa=max_iterations_sa,
                )
                model.solve()
            region = np.unique(np.asarray(model.labels_), return_inverse=True)[1]
            labels[members] = offset + region
            offset += region.max() + 1
    return labels


def kmeans_baseline(buildings: gpd.GeoDataFrame, k: int, *, seed: int = 0) -> np.ndarray:
    """k-means on building centroids weighted by households: compact clusters, blind to streets.

    Centroids are taken in the buildings' metric CRS (their UTM zone when the CRS is geographic).
    Buildings without households weigh nothing but still get the label of the nearest centre.

    Parameters
    ----------
    buildings
        Building footprints with ``households``.
    k
        Number of clusters.
    seed
        ``random_state`` of :class:`sklearn.cluster.KMeans` (k-means++ start, 4 restarts).

    Returns
    -------
    numpy.ndarray
        Cluster label of every building, ``0..k-1``.

    Raises
    ------
    InputError
        ``k`` below 1 or above the number of buildings with households.
    """
    weights = buildings["households"].to_numpy(dtype=float)
    if not 1 <= k <= np.count_nonzero(weights > 0):
        raise InputError(f"k must be between 1 and the number of buildings with households, got {k}")
    points = buildings.geometry.to_crs(local_crs(buildings)).centroid
    xy = np.column_stack([points.x, points.y])
    model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(xy, sample_weight=weights)
    return model.labels_.astype(np.int64)


def _adjacency(graph: nx.Graph, n: int, weight: str | None) -> sp.csr_matrix:
    """The graph as a symmetric ``n × n`` sparse matrix of edge ``weight`` (1 where None), without loops."""
    edges = [(u, v, 1.0 if weight is None else float(d[weight])) for u, v, d in graph.edges(data=True) if u != v]
    if not edges:
        return sp.csr_matrix((n, n))
    u, v, w = (np.array(column) for column in zip(*edges))
    if u.min() < 0 or max(u.max(), v.max()) >= n:
        raise InputError(f"graph nodes must be the atoms' positions 0..{n - 1}")
    matrix = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
    matrix.sum_duplicates()
    return matrix.tocsr()


def _share_parts(k: int, households: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Parts per component: one each, then one at a time to the component with the most households
    per part (which minimises the largest), never more parts than atoms."""
    parts = np.ones(len(households), dtype=np.int64)
    for _ in range(k - len(households)):
        load = np.where(parts < sizes, households / parts, -np.inf)
        if not np.isfinite(load.max()):
            break
        parts[np.argmax(load)] += 1
    return parts


@contextmanager
def _numpy_global_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global random state for a block and restore it after (spopt draws from it)."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
