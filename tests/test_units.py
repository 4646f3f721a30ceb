"""Planning units (atoms): building cells tile their block, atoms tile their communities, and the atoms and
adjacency of the real extracts stay as they were (the plans pinned in test_engine stand on them)."""

from __future__ import annotations

import hashlib
import os
import pickle

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from gridplan.engine import unit_store
from gridplan.engine.plan import units_key
from gridplan.engine.unit_store import MADE_BY, CommunityStore, cache_directory
from gridplan.engine.units import build_units, tessellate
from gridplan.partition import scene_units
from gridplan.pipeline import prepare_scene
from gridplan.scenarios.district import generate_district
from gridplan.settings import CACHE_DIR_ENV, DEFAULTS

from .support.scenes import street_grid_scene

#: Per extract: atoms, edges, and the first 16 hex digits of :func:`units_digest` (taken at 53e033b, before the
#: tessellation's coverage union: the faster union gives the same atoms, in the same order, and the same graph).
#: A change of these is a change of the atoms: raise gridplan.engine.units.UNITS_VERSION with it.
PINNED_UNITS = {
    "beijing": (413, 1064, "2065f2d625c8bce2"),
    "nanjing": (1157, 3236, "7d11702e47fc6ff7"),
    "shanghai": (2068, 5159, "f3f18a98880484bd"),
    "wuhan": (306, 809, "5d7afe2d1ebf2e25"),
}


def units_digest(units) -> str:
    """Atoms (kind, households, area to 1e-3 m², centroid to 0.1 mm, in order), the atom of each building and
    every node's neighbours in order with the edge's length and cost to 1e-4 and its barrier flag."""
    atoms, graph = units.atoms, units.graph
    geoms = atoms.geometry.to_numpy()
    h = hashlib.sha256()
    h.update(repr(atoms["kind"].tolist()).encode() + atoms["households"].to_numpy().tobytes())
    h.update(
        np.round(shapely.area(geoms), 3).tobytes()
        + np.round(shapely.get_coordinates(shapely.centroid(geoms)), 4).tobytes()
    )
    h.update(units.building_atom.to_numpy().tobytes())
    for a in graph.nodes:
        h.update(
            repr(
                [(b, round(d["length"], 4), round(d["cost"], 4), d["barrier"]) for b, d in graph.adj[a].items()]
            ).encode()
        )
    return h.hexdigest()[:16]


def test_building_cells_tile_their_block_and_each_holds_its_building():
    block = box(0, 0, 100, 60)
    # a row of houses, two touching, one large building and one drawn inside another
    footprints = np.array(
        [
            box(5, 5, 15, 15),
            box(15, 5, 25, 15),
            box(40, 5, 50, 20),
            box(60, 10, 95, 50),
            box(70, 20, 75, 25),
            box(10, 40, 20, 55),
        ],
        dtype=object,
    )
    points = shapely.point_on_surface(footprints)
    cells, building_cell = tessellate(block, footprints, points)
    cells = np.array(cells, dtype=object)
    assert shapely.area(cells).sum() == pytest.approx(block.area, rel=1e-12)
    assert shapely.area(shapely.union_all(cells)) == pytest.approx(block.area, rel=1e-12)
    assert shapely.contains(cells[building_cell], points).all()
    # no cell boundary through a building: each footprint lies in its own cell (the inner one in the large one's)
    assert (
        shapely.area(shapely.intersection(cells[building_cell], footprints)) >= shapely.area(footprints) - 1e-6
    ).all()
    assert building_cell[4] == building_cell[3]


def test_atoms_tile_a_district_whose_clipped_voronoi_regions_do_not_all_meet_edge_to_edge():
    # this district has a block whose clipped regions a coverage union refuses: it is unioned by overlay
    prepared = prepare_scene(generate_district(3000, 80000, seed=1))
    local = prepared.local
    units = build_units(local.communities, local.buildings, local.streets, local.barriers, prepared.settings.grid)
    geoms = units.atoms.geometry.to_numpy()
    assert (shapely.get_num_geometries(geoms) == 1).all()
    assert shapely.area(geoms).sum() == pytest.approx(local.communities.area.sum(), rel=1e-9)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    assert shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])).sum() < 1e-3
    assert (units.building_atom >= 0).all() and units.atoms["households"].sum() == round(
        local.buildings["households"].sum()
    )
    assert (len(units.atoms), units.graph.number_of_edges()) == (1575, 3818)


@pytest.mark.parametrize("case", sorted(PINNED_UNITS))
def test_units_of_the_real_extracts_are_pinned(case, extracts):
    units = scene_units(extracts.prepared(case))
    assert (len(units.atoms), units.graph.number_of_edges(), units_digest(units)) == PINNED_UNITS[case]


def test_a_scene_planned_again_in_the_same_process_builds_its_units_once():
    scene = street_grid_scene(800, 400, xs=[200, 400, 600], ys=[200], households=np.full((4, 2), 150))
    first = scene_units(prepare_scene(scene))
    assert scene_units(prepare_scene(scene)) is first  # the same layers, prepared again
    buildings = scene.buildings.copy()
    buildings.loc[0, "households"] = 300
    changed = prepare_scene(scene.replace(buildings=buildings))
    assert units_key(changed) != units_key(prepare_scene(scene))
    more = 300 - scene.buildings.loc[0, "households"]
    assert scene_units(changed) is not first
    assert scene_units(changed).atoms["households"].sum() == first.atoms["households"].sum() + more
    coarser = prepare_scene(scene, DEFAULTS.with_grid(block_split_households=200.0))  # blocks of 150 stay whole
    assert units_key(coarser) != units_key(prepare_scene(scene)) and len(scene_units(coarser).atoms) < len(first.atoms)


def test_the_units_kept_for_a_real_scene_are_those_built_from_its_layers(extracts):
    """The units a plan takes from the process's store equal units built anew from the scene's local layers, and any
    column added to a layer (the store keys the layers whole) gives another key."""
    prepared = extracts.prepared("beijing")
    local = prepared.local
    built = build_units(local.communities, local.buildings, local.streets, local.barriers, prepared.settings.grid)
    assert units_digest(scene_units(prepared)) == units_digest(built)
    tagged = prepare_scene(prepared.scene.replace(buildings=prepared.scene.buildings.assign(note="x")))
    assert units_key(tagged) != units_key(prepared)


def test_a_scene_changed_in_one_community_builds_that_community_again_and_no_other(small_district):
    """Units built with the communities of an earlier build equal units built from nothing: households changed in
    one community build that community alone again; a street removed builds again every community it was near."""
    local, grid = small_district[0].local, small_district[0].settings.grid
    assert local.communities["community_id"].nunique() > 2
    built: dict = {}
    build_units(local.communities, local.buildings, local.streets, local.barriers, grid, built=built)
    assert len(built) == len(local.communities)

    community = local.buildings["community_id"].value_counts().index[0]
    changed = local.buildings.copy()
    first = np.flatnonzero(changed["community_id"].to_numpy() == community)[0]
    changed.loc[changed.index[first], "households"] = int(changed["households"].iloc[first]) * 3 + 7
    before = dict(built)
    taken = build_units(local.communities, changed, local.streets, local.barriers, grid, built=built)
    assert len(built) == len(before) + 1  # one community built again
    cold = build_units(local.communities, changed, local.streets, local.barriers, grid)
    assert units_digest(taken) == units_digest(cold)

    street = int(local.streets.sindex.query(local.communities.geometry.iloc[0], predicate="intersects")[0])
    fewer = local.streets.drop(index=local.streets.index[street])
    near = local.communities.geometry.dwithin(local.streets.geometry.iloc[street], 9.0).sum()
    taken = build_units(local.communities, local.buildings, fewer, local.barriers, grid, built=built)
    assert len(built) >= len(before) + 1 + near
    assert units_digest(taken) == units_digest(
        build_units(local.communities, local.buildings, fewer, local.barriers, grid)
    )


def test_atoms_kept_on_disk_serve_another_process_and_a_damaged_file_is_built_again(
    small_district, tmp_path, monkeypatch
):
    """Communities' atoms written by one store are read by another on the same directory (as the next command
    or a worker reads them) and give the units built from nothing; a file cut short, or made by other versions,
    is not used but built and written anew; ``off`` keeps nothing on disk, nor does a directory that cannot be
    written; the directory keeps at most
    ``UNITS_CACHE_BYTES``, the least recently used files going first."""
    local, grid = small_district[0].local, small_district[0].settings.grid
    layers = (local.communities, local.buildings, local.streets, local.barriers, grid)
    cold = units_digest(build_units(*layers))
    writer = CommunityStore(kept=10, where=lambda: tmp_path)
    build_units(*layers, built=writer)
    files = sorted(tmp_path.glob("*.units"))
    assert len(files) == len(local.communities) and not list(tmp_path.glob("*.partial"))

    reader = CommunityStore(kept=10, where=lambda: tmp_path)
    assert len(reader) == 0 and all(f.stem in reader for f in files)  # read from disk, none built
    assert units_digest(build_units(*layers, built=CommunityStore(kept=10, where=lambda: tmp_path))) == cold

    files[0].write_bytes(files[0].read_bytes()[:100])  # cut short
    made_by, key, units = pickle.loads(files[1].read_bytes())  # the same atoms, said made by another version
    assert made_by == MADE_BY
    files[1].write_bytes(pickle.dumps((("another",) + made_by[1:], key, units)))
    damaged = CommunityStore(kept=10, where=lambda: tmp_path)
    assert files[0].stem not in damaged and files[1].stem not in damaged
    assert not files[0].exists() and not files[1].exists()  # removed, so as not to be read again
    assert units_digest(build_units(*layers, built=damaged)) == cold
    assert files[0].exists() and files[1].exists()  # built again and written anew

    nowhere = CommunityStore(kept=10, where=lambda: None)
    assert units_digest(build_units(*layers, built=nowhere)) == cold and len(nowhere) == len(files)
    blocker = tmp_path / "a file, not a directory"
    blocker.write_text("x")
    unwritable = CommunityStore(kept=10, where=lambda: blocker)  # kept in memory only, and no error
    assert units_digest(build_units(*layers, built=unwritable)) == cold and len(unwritable) == len(files)

    monkeypatch.setenv(CACHE_DIR_ENV, "off")
    assert cache_directory() is None
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    assert cache_directory() == tmp_path


def test_the_atoms_kept_on_disk_stay_within_their_bytes_the_least_recently_used_going_first(
    small_district, tmp_path, monkeypatch
):
    local, grid = small_district[0].local, small_district[0].settings.grid
    store = CommunityStore(kept=0, where=lambda: tmp_path)  # nothing in memory: every read is from disk
    build_units(local.communities, local.buildings, local.streets, local.barriers, grid, built=store)
    files = sorted(tmp_path.glob("*.units"), key=lambda f: f.stat().st_mtime)
    sizes = [f.stat().st_size for f in files]
    for age, file in enumerate(files):  # written in this order, a second apart
        os.utime(file, (1_000_000 + age, 1_000_000 + age))
    assert files[0].stem in store  # read: now the most recently used
    monkeypatch.setattr(unit_store, "UNITS_CACHE_BYTES", sum(sizes) - 1)
    store[files[-1].stem] = store[files[-1].stem]  # written again: the directory is pruned
    kept = {f.name for f in tmp_path.glob("*.units")}
    assert files[1].name not in kept and kept == {f.name for f in files} - {files[1].name}
