"""The benchmark's baselines on a hand-made atom set: a 10 × 10 lattice of 100 m squares."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from benchmarks.baselines import kmeans_baseline, maxp_baseline, metis_baseline
from gridplan.core.scene import local_crs

CELL = 100.0
ORIGIN = (240_000.0, 3_382_000.0)  # UTM 50N, Wuchang


def lattice(columns: int = 10, rows: int = 10, *, seed: int = 0, joined: bool = True):
    """Atoms on a ``columns × rows`` lattice with Poisson(30) households and an edge per shared side.

    With ``joined=False`` the left and right halves share no edge: two components.
    """
    rng = np.random.default_rng(seed)
    i, j = np.divmod(np.arange(columns * rows), rows)
    x0, y0 = ORIGIN[0] + i * CELL, ORIGIN[1] + j * CELL
    households = rng.poisson(30, len(i))
    atoms = gpd.GeoDataFrame(
        {
            "community_id": np.where(i < columns // 2, "c0001", "c0002") if not joined else "c0001",
            "households": households,
            "workload": households.astype(float),
            "x": x0 + CELL / 2,
            "y": y0 + CELL / 2,
        },
        geometry=shapely.box(x0, y0, x0 + CELL, y0 + CELL),
        crs="EPSG:32650",
    )
    graph = nx.Graph()
    graph.add_nodes_from(range(len(atoms)))
    for a in range(len(atoms)):
        if i[a] + 1 < columns and (joined or i[a] + 1 != columns // 2):
            graph.add_edge(a, a + rows, length=CELL, cost=1.0)
        if j[a] + 1 < rows:
            graph.add_edge(a, a + 1, length=CELL, cost=1.0)
    return atoms, graph


def assert_parts_connected(graph: nx.Graph, labels: np.ndarray) -> None:
    for label in np.unique(labels):
        assert nx.is_connected(graph.subgraph(np.flatnonzero(labels == label).tolist())), f"part {label} is split"


def test_metis_makes_k_contiguous_parts_of_balanced_households():
    atoms, graph = lattice()
    labels = metis_baseline(atoms, graph, 10)
    assert labels.shape == (100,)
    assert set(labels) == set(range(10))
    assert_parts_connected(graph, labels)
    households = np.bincount(labels, weights=atoms["households"])
    assert households.max() <= 1.3 * households.mean()


def test_metis_is_deterministic_for_a_seed():
    atoms, graph = lattice()
    assert np.array_equal(metis_baseline(atoms, graph, 7, seed=3), metis_baseline(atoms, graph, 7, seed=3))


def test_metis_partitions_each_component_apart():
    atoms, graph = lattice(joined=False)
    labels = metis_baseline(atoms, graph, 6)
    assert set(labels) == set(range(6))
    assert_parts_connected(graph, labels)
    for label in range(6):
        assert atoms.loc[labels == label, "community_id"].nunique() == 1
    left = atoms["community_id"].to_numpy() == "c0001"
    assert len(set(labels[left])) + len(set(labels[~left])) == 6


def test_metis_gives_every_component_a_part_when_k_is_smaller():
    atoms, graph = lattice(joined=False)
    labels = metis_baseline(atoms, graph, 1)
    assert set(labels) == {0, 1}
    assert_parts_connected(graph, labels)


def test_metis_accepts_atoms_without_households():
    atoms, graph = lattice()
    atoms["households"] = np.where(np.arange(100) % 3 == 0, 0, atoms["households"])
    labels = metis_baseline(atoms, graph, 5)
    assert set(labels) == set(range(5))
    assert_parts_connected(graph, labels)


def test_maxp_regions_are_contiguous_and_reach_the_threshold():
    atoms, graph = lattice()
    labels = maxp_baseline(atoms, graph, 300)
    assert labels.shape == (100,)
    assert set(labels) == set(range(labels.max() + 1))
    assert_parts_connected(graph, labels)
    households = np.bincount(labels, weights=atoms["households"])
    assert households.min() >= 300
    assert labels.max() + 1 >= atoms["households"].sum() // 300 // 2  # max-p, not one big region


def test_maxp_is_deterministic_and_leaves_numpy_random_state_alone():
    atoms, graph = lattice()
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = maxp_baseline(atoms, graph, 300, seed=5)
    assert np.array_equal(np.random.get_state()[1], before)
    assert np.array_equal(first, maxp_baseline(atoms, graph, 300, seed=5))


def test_maxp_keeps_a_small_component_whole_and_regions_within_components():
    atoms, graph = lattice(joined=False)
    atoms.loc[atoms["community_id"] == "c0001", "households"] = 1  # 50 households: below the threshold
    labels = maxp_baseline(atoms, graph, 300)
    left = atoms["community_id"].to_numpy() == "c0001"
    assert len(set(labels[left])) == 1
    assert not set(labels[left]) & set(labels[~left])
    assert_parts_connected(graph, labels)


def test_maxp_accepts_atoms_without_households():
    atoms, graph = lattice()
    atoms["households"] = np.where(np.arange(100) % 4 == 0, 0, atoms["households"])
    labels = maxp_baseline(atoms, graph, 300)
    assert np.bincount(labels, weights=atoms["households"]).min() >= 300
    assert_parts_connected(graph, labels)


def test_kmeans_makes_k_clusters_deterministically():
    atoms, _ = lattice()
    labels = kmeans_baseline(atoms, 8, seed=1)
    assert labels.shape == (100,)
    assert set(labels) == set(range(8))
    assert np.array_equal(labels, kmeans_baseline(atoms, 8, seed=1))


def test_kmeans_weights_centres_by_households():
    atoms, _ = lattice()
    atoms["households"] = 0
    heavy = [0, 99]  # opposite corners hold every household
    atoms.loc[heavy, "households"] = 500
    labels = kmeans_baseline(atoms, 2)
    assert labels[0] != labels[99]
    near_first = np.hypot(atoms["x"] - atoms["x"][0], atoms["y"] - atoms["y"][0]) < np.hypot(
        atoms["x"] - atoms["x"][99], atoms["y"] - atoms["y"][99]
    )
    assert np.array_equal(labels == labels[0], near_first.to_numpy())


def test_kmeans_clusters_geographic_input_in_its_utm_zone():
    atoms = lattice()[0].to_crs(4326)
    assert np.array_equal(kmeans_baseline(atoms, 6), kmeans_baseline(atoms.to_crs(local_crs(atoms)), 6))


@pytest.mark.parametrize("k", [0, 101])
def test_kmeans_rejects_impossible_k(k):
    atoms, _ = lattice()
    with pytest.raises(ValueError):
        kmeans_baseline(atoms, k)
