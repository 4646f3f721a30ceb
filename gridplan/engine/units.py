"""Planning units (atoms): street blocks and building cells, and the adjacency graph between them.

A community is cut along its streets, barriers and its own boundary into street blocks (街区), the
faces of the noded line network, which tile it exactly. A block holding more households than
``GridSettings.block_split_households`` (or a special building) is divided into building cells by an
enclosed tessellation (the Voronoi diagram of points along the building outlines, clipped to the block),
so a grid boundary may run inside it between buildings, never through one. Buildings of one compound
(小区) are merged into one unit while the compound fits in a grid.

The graph joins atoms that share a boundary of at least ``MIN_SHARED_M``; each edge carries the shared
length and the cost of cutting there: cheap along higher street classes, dear between building cells.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridplan.core.atoms import Units
from gridplan.core.geometry import points_along, shared_boundaries, shared_length, weighted_centres
from gridplan.settings import GridSettings
from gridplan.vocabulary import UnitKind

#: Atoms touching along less than this (metres) are not neighbours: a corner is no shared boundary.
MIN_SHARED_M = 1.0
#: Tolerance (metres) when measuring shared boundaries between atoms cut by different operations.
SNAP_M = 0.05
#: A shared boundary whose midpoint lies this close (metres) to a street runs along that street.
STREET_SNAP_M = 8.0
#: Spacing (metres) of the shore points that divide water among the land beside it.
WATER_SHORE_STEP_M = 10.0
#: A cell reaching into another building's footprint by more than this (m²) hands that part over.
FOOTPRINT_OVERLAP_M2 = 0.5
#: Spacing (metres) of the points along building outlines that seed the tessellation.
OUTLINE_STEP_M = 4.0
#: The version of how atoms are made, part of every :func:`community_key`: raise it with any change to the atoms
#: or their edges (tests/test_units.py pins them), so that no grid's recorded ``ground`` matches atoms made otherwise.
UNITS_VERSION = 2
#: Ground of a community no face of its streets took, above this (m²), becomes a face of its own (smaller slivers are
#: the floating point of the cut).
MISSING_FACE_M2 = 1.0


@dataclass(frozen=True)
class CommunityUnits:
    """The atoms of one community as :func:`build_units` makes them from its own layers alone: ``atoms`` (kind,
    special, weights; no ``atom_id``), the atom of each of its buildings, and its edges, all by position within
    the community. ``slivers`` are the edges that join atoms touching along less than ``MIN_SHARED_M``."""

    atoms: gpd.GeoDataFrame
    building_atom: np.ndarray
    edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # left, right, length, cost, barrier
    slivers: list[tuple[int, int, dict]]


def build_units(
    communities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None = None,
    settings: GridSettings = GridSettings(),
    *,
    built: MutableMapping[str, CommunityUnits] | None = None,
) -> Units:
    """Cut communities into atoms along streets and between buildings, and join neighbours.

    Parameters
    ----------
    communities, buildings, streets, barriers
        Layers in one metric CRS. ``buildings`` needs ``community_id``, ``households`` and ``workload``
        (see :func:`gridplan.partition.prepare_buildings`); optional ``compound_id`` and ``kind``.
    settings
        Block split threshold, street preferences, special kinds and the ceiling for compounds.
    built
        Communities built before, by :func:`community_key`: a community whose key is there is taken from it, one
        built now is added to it. A community's atoms depend only on the layers its key digests, so the units are
        the same, taken or built.

    Returns
    -------
    Units
    """
    layers = _Layers.of(streets, barriers, settings)
    building_points = shapely.point_on_surface(buildings.geometry.to_numpy())
    members_of = buildings.groupby("community_id", sort=False).indices
    digests = _row_digests(buildings)
    pieces: list[CommunityUnits] = []
    keys: dict[str, str] = {}
    members_each = []
    for community_id, geometry in zip(communities["community_id"], communities.geometry):
        members = np.sort(members_of.get(community_id, np.zeros(0, dtype=np.int64)))
        members_each.append(members)
        keys[str(community_id)] = key = community_key(community_id, geometry, digests[members], layers, buildings.crs)
        piece = built.get(key) if built is not None else None
        if piece is None:
            piece = _community_units(community_id, geometry, buildings.iloc[members], building_points[members], layers)
            if built is not None:
                built[key] = piece
        pieces.append(piece)
    units = _joined(pieces, members_each, buildings, buildings.crs)
    return dataclasses.replace(units, community_keys=keys)


@dataclass(frozen=True)
class _Layers:
    """The scene's lines and their trees, made once for every community: streets (with the preference of a cut
    along each), barrier lines, water polygons, the grid settings and the digest of each street and barrier."""

    settings: GridSettings
    street_lines: np.ndarray
    street_tree: shapely.STRtree
    street_weights: np.ndarray
    street_digests: np.ndarray
    barrier_lines: np.ndarray
    barrier_tree: shapely.STRtree
    water: np.ndarray
    water_tree: shapely.STRtree
    barrier_digests: np.ndarray
    barrier_source_tree: shapely.STRtree

    @classmethod
    def of(cls, streets: gpd.GeoDataFrame, barriers: gpd.GeoDataFrame | None, settings: GridSettings) -> _Layers:
        street_lines = streets.geometry.to_numpy()
        weights = (
            (
                streets["highway"]
                .fillna("")
                .astype(str)
                .map(lambda h: settings.street_weights.get(h.split("_link")[0], settings.street_weights.get("*", 1.0)))
                .to_numpy(dtype=float)
            )
            if len(streets)
            else np.zeros(0)
        )
        barrier_lines, water = _barrier_lines(barriers), _barrier_polygons(barriers)
        no_barriers = barriers is None or barriers.empty
        return cls(
            settings=settings,
            street_lines=street_lines,
            street_tree=shapely.STRtree(street_lines),
            street_weights=weights,
            street_digests=_row_digests(streets),
            barrier_lines=barrier_lines,
            barrier_tree=shapely.STRtree(barrier_lines),
            water=water,
            water_tree=shapely.STRtree(water),
            barrier_digests=np.zeros((0, 2), dtype=np.uint64) if no_barriers else _row_digests(barriers),
            barrier_source_tree=shapely.STRtree(
                np.empty(0, dtype=object) if no_barriers else barriers.geometry.to_numpy()
            ),
        )


def community_key(community_id, geometry: BaseGeometry, building_digests: np.ndarray, layers: _Layers, crs) -> str:
    """A digest of everything the atoms of one community are made of: :data:`UNITS_VERSION`, the grid settings, the
    CRS, its id and boundary, its buildings (every column, in their order), the streets crossing it in the order its
    blocks take them (that order decides floating-point details of the faces), and every street and barrier within
    ``STREET_SNAP_M`` of it (they weigh its edges)."""
    digest = hashlib.sha256(f"{UNITS_VERSION}|{layers.settings!r}|{crs}|{community_id!r}".encode())
    digest.update(shapely.to_wkb(geometry))
    digest.update(building_digests.tobytes())
    crossing = layers.street_tree.query(geometry, predicate="intersects")
    near = np.sort(layers.street_tree.query(geometry, predicate="dwithin", distance=STREET_SNAP_M + SNAP_M))
    for rows in (crossing, near):
        digest.update(b"|" + layers.street_digests[rows].tobytes())
    close = np.sort(layers.barrier_source_tree.query(geometry, predicate="dwithin", distance=STREET_SNAP_M + SNAP_M))
    digest.update(b"|" + layers.barrier_digests[close].tobytes())
    return digest.hexdigest()


def grid_grounds(units: Units, atom_grid: np.ndarray, k: int) -> np.ndarray:
    """The ground of each grid ``0 … k-1`` of a labelling of the atoms: a digest of its community's key and of its
    atoms' positions within the community. The same ground, the same units under the grid: its atoms, their
    buildings, households and adjacency. A grid whose community has no key (units made otherwise) has "".
    """
    community = units.atoms["community_id"].astype(str).to_numpy()
    first = pd.Series(np.arange(len(community))).groupby(community, sort=False).transform("min").to_numpy()
    local = np.arange(len(community)) - first
    order = np.lexsort((local, atom_grid))
    bounds = np.searchsorted(atom_grid[order], np.arange(k + 1))
    grounds = np.full(k, "", dtype=object)
    for g in range(k):
        atoms = order[bounds[g] : bounds[g + 1]]
        key = units.community_keys.get(community[atoms[0]], "") if len(atoms) else ""
        if key:
            grounds[g] = hashlib.sha256(key.encode() + local[atoms].astype(np.int64).tobytes()).hexdigest()[:32]
    return grounds


def _row_digests(layer: gpd.GeoDataFrame) -> np.ndarray:
    """A digest of each row of a layer (16 bytes: its values, every column as text, and its geometry's WKB), the
    column names folded into the values' digest."""
    columns = [c for c in layer.columns if c != layer.geometry.name]
    values = pd.util.hash_pandas_object(layer[columns].astype(str), index=False, hash_key=_hash_key(columns))
    wkbs = pd.util.hash_pandas_object(pd.Series(shapely.to_wkb(layer.geometry.to_numpy()), dtype=object), index=False)
    return np.column_stack([values.to_numpy(), wkbs.to_numpy()]).astype(np.uint64)


def _hash_key(columns: list) -> str:
    """A 16-character key for pandas' row hashes, made from the column names (so a renamed column changes them)."""
    return hashlib.sha256("|".join(map(str, columns)).encode()).hexdigest()[:16]


def _community_units(
    community_id, geometry: BaseGeometry, buildings: gpd.GeoDataFrame, points: np.ndarray, layers: _Layers
) -> CommunityUnits:
    """The atoms of one community, their weights and edges, from its own buildings and the lines near it."""
    faces = _community_blocks(
        geometry, layers.street_lines, layers.street_tree, layers.barrier_lines, buildings.geometry.to_numpy()
    )
    atoms, local_atom = _atoms_of_community(faces, buildings, points, layers.settings)
    atoms, local_atom = _share_water(atoms, local_atom, layers.water)
    atoms["community_id"] = community_id
    atoms = _attach_weights(atoms, buildings, local_atom)
    edges = _edges(atoms.geometry.to_numpy(), layers)
    return CommunityUnits(atoms, local_atom, edges, _sliver_edges(atoms.geometry.to_numpy(), edges))


def _joined(pieces: list[CommunityUnits], members: list[np.ndarray], buildings: gpd.GeoDataFrame, crs) -> Units:
    """The units of the scene from its communities' (in their order, each with the positions of its buildings):
    atoms numbered on, edges between atoms of one community only, the sliver edges last."""
    building_atom = np.full(len(buildings), -1, dtype=np.int64)
    offsets = [0, *np.cumsum([len(p.atoms) for p in pieces]).tolist()]  # Python ints: the graph's nodes
    for piece, own, offset in zip(pieces, members, offsets):
        building_atom[own] = piece.building_atom + offset
    atoms = gpd.GeoDataFrame(pd.concat([p.atoms for p in pieces], ignore_index=True), geometry="geometry", crs=crs)
    atoms.insert(0, "atom_id", np.arange(len(atoms)))
    graph = nx.Graph()
    graph.add_nodes_from(range(len(atoms)))
    for piece, offset in zip(pieces, offsets):
        left, right, length, cost, barrier = piece.edges
        graph.add_edges_from(
            (int(a) + offset, int(b) + offset, {"length": float(l), "cost": float(c), "barrier": bool(x)})
            for a, b, l, c, x in zip(left, right, length, cost, barrier)
        )
    for piece, offset in zip(pieces, offsets):
        graph.add_edges_from((a + offset, b + offset, dict(data)) for a, b, data in piece.slivers)
    return Units(atoms=atoms, graph=graph, building_atom=pd.Series(building_atom, index=buildings.index, name="atom"))


def _barrier_lines(barriers: gpd.GeoDataFrame | None) -> np.ndarray:
    if barriers is None or barriers.empty:
        return np.empty(0, dtype=object)
    geoms = barriers.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    geoms = np.where(polygonal, shapely.boundary(geoms), geoms)
    return geoms[~shapely.is_empty(geoms)]


def _barrier_polygons(barriers: gpd.GeoDataFrame | None) -> np.ndarray:
    if barriers is None or barriers.empty:
        return np.empty(0, dtype=object)
    geoms = barriers.geometry.to_numpy()
    return geoms[np.isin(shapely.get_type_id(geoms), (3, 6))]


def _share_water(
    atoms: gpd.GeoDataFrame, local_atom: np.ndarray, water: np.ndarray
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Divide each water face (river, lake: no buildings) among the land atoms on its shores, by nearest
    shore, so each bank reaches to the middle of the water and grids meet there, not along a bank.

    Water with no land beside it stays an atom of kind ``water``.
    """
    if len(water) == 0 or len(atoms) < 2:
        return atoms, local_atom
    geoms = atoms.geometry.to_numpy().copy()
    kinds = atoms["kind"].to_numpy().copy()
    housed = np.zeros(len(atoms), dtype=bool)
    housed[local_atom] = True
    hit, _ = shapely.STRtree(water).query(shapely.point_on_surface(geoms), predicate="within")
    is_water = np.zeros(len(atoms), dtype=bool)
    is_water[hit] = True
    is_water &= ~housed
    land = np.flatnonzero(~is_water)
    if not is_water.any() or len(land) == 0:
        return atoms, local_atom
    land_tree = shapely.STRtree(geoms[land])
    keep = np.ones(len(atoms), dtype=bool)
    cut_off = []
    for w in np.flatnonzero(is_water):
        points = points_along(shapely.boundary(geoms[w]), WATER_SHORE_STEP_M)
        p, l = land_tree.query(points, predicate="dwithin", distance=SNAP_M)
        if len(p) == 0:
            kinds[w] = UnitKind.WATER.value
            continue
        first = np.unique(p, return_index=True)[1]
        points, shore = points[p[first]], land[l[first]]
        regions = shapely.get_parts(
            shapely.voronoi_polygons(
                shapely.multipoints(shapely.get_coordinates(points)), extend_to=geoms[w], ordered=True
            )
        )
        invalid = ~shapely.is_valid(regions)
        regions[invalid] = shapely.make_valid(regions[invalid])
        regions = shapely.intersection(regions, geoms[w])
        keep[w] = False
        for atom in np.unique(shore):
            share = shapely.union_all(regions[shore == atom])
            for part in shapely.get_parts(share):
                if part.area <= 0:
                    continue
                bank = _bank_of(part, atom, geoms, land, land_tree)
                if bank is None:
                    cut_off.append(part)
                else:
                    geoms[bank] = shapely.union(geoms[bank], part)
    # a piece cut off from its shores joins the land that took the water round it; else stays water of its own
    while cut_off:
        land_tree = shapely.STRtree(geoms[land])
        banks = [_bank_of(part, -1, geoms, land, land_tree) for part in cut_off]
        if all(b is None for b in banks):
            break
        for part, bank in zip(cut_off, banks):
            if bank is not None:
                geoms[bank] = shapely.union(geoms[bank], part)
        cut_off = [part for part, bank in zip(cut_off, banks) if bank is None]
    extra_geoms = cut_off
    renumber = np.cumsum(keep) - 1
    out = gpd.GeoDataFrame(
        {"kind": np.concatenate([kinds[keep], [UnitKind.WATER.value] * len(extra_geoms)]).astype(object)},
        geometry=list(geoms[keep]) + extra_geoms,
    )
    out["special"] = np.concatenate([atoms["special"].to_numpy()[keep], [""] * len(extra_geoms)])
    return out, renumber[local_atom]


def _bank_of(
    part: BaseGeometry, shore: int, geoms: np.ndarray, land: np.ndarray, land_tree: shapely.STRtree
) -> int | None:
    """The land atom a piece of water joins: its own shore when they meet along a line, else the land atom
    it meets along the longest line; None when it meets none (joining at a point would make an atom of two
    pieces)."""
    near = land[land_tree.query(part, predicate="dwithin", distance=SNAP_M)]
    along = shared_length(part, geoms[near], tolerance=SNAP_M)
    for atom in sorted(near[along >= MIN_SHARED_M], key=lambda a: (a != shore, -along[near == a][0])):
        if shapely.union(geoms[atom], part).geom_type == "Polygon":
            return int(atom)
    return None


def street_blocks(
    communities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Street blocks (街区) of every community: the faces its streets, barriers and boundary enclose.

    Parameters
    ----------
    communities, buildings, streets, barriers
        Layers in one metric CRS; ``communities`` needs ``community_id``. A street drawn through a building
        (arcade, tunnel) does not cut the block there; with ``community_id`` on the buildings, only through
        a building of the block's own community (a building belongs to one community and is planned only
        there), so a community's blocks depend on its own data alone, planned with its neighbours or not.

    Returns
    -------
    geopandas.GeoDataFrame
        ``community_id``, ``households`` (of the buildings whose point on surface lies in the block, when
        ``buildings`` has them) and the block's polygon; the blocks of a community tile it exactly.
    """
    street_lines = streets.geometry.to_numpy()
    street_tree = shapely.STRtree(street_lines)
    barrier_lines = _barrier_lines(barriers)
    building_geoms = buildings.geometry.to_numpy()
    members = buildings.groupby("community_id", sort=False).indices if "community_id" in buildings else None
    ids, faces = [], []
    for community_id, geometry in zip(communities["community_id"], communities.geometry):
        own = (
            building_geoms
            if members is None
            else building_geoms[members.get(community_id, np.zeros(0, dtype=np.int64))]
        )
        found = _community_blocks(geometry, street_lines, street_tree, barrier_lines, own)
        ids.extend([community_id] * len(found))
        faces.extend(found)
    blocks = gpd.GeoDataFrame({"community_id": ids}, geometry=faces, crs=communities.crs)
    if "households" in buildings and len(blocks):
        block_of = _locate(shapely.point_on_surface(building_geoms), blocks.geometry.to_numpy())
        blocks["households"] = np.bincount(
            block_of, weights=buildings["households"].to_numpy(dtype=float), minlength=len(blocks)
        )
    return blocks


def _community_blocks(
    community: BaseGeometry,
    street_lines: np.ndarray,
    street_tree: shapely.STRtree,
    barrier_lines: np.ndarray,
    building_geoms: np.ndarray,
) -> np.ndarray:
    """Faces of the community cut by its streets and barriers; they tile the community exactly.

    ``building_geoms`` are the community's own buildings: their tree, and so the order of the buildings a
    street crosses (which decides floating-point details of the faces), is the same whatever other
    communities are planned alongside."""
    streets = street_lines[street_tree.query(community, predicate="intersects")]
    streets = shapely.intersection(streets, community)
    # A street drawn through a building (arcade, tunnel) must not cut it: drop the part inside.
    crossed = []
    if len(streets) and len(building_geoms):
        crossed = building_geoms[
            shapely.STRtree(building_geoms).query(shapely.union_all(streets), predicate="intersects")
        ]
    if len(crossed):
        streets = shapely.difference(streets, shapely.union_all(crossed))
    barriers = shapely.intersection(barrier_lines, community) if len(barrier_lines) else np.empty(0, dtype=object)
    lines = np.concatenate([[shapely.boundary(community)], streets, barriers])
    lines = lines[~shapely.is_empty(lines)]
    faces = shapely.get_parts(shapely.polygonize_full([shapely.union_all(lines)])[0])
    invalid = ~shapely.is_valid(faces)
    if invalid.any():  # a hole touching its shell: keep the polygonal parts of the repaired face
        repaired = shapely.get_parts(shapely.make_valid(faces[invalid]))
        faces = np.concatenate([faces[~invalid], repaired[np.isin(shapely.get_type_id(repaired), (3,))]])
    faces = faces[shapely.area(faces) > 0]
    faces = faces[shapely.within(shapely.point_on_surface(faces), community)]
    # ground no face took (a ring polygonize gave up as invalid: a boundary moved round a building, cut by a street
    # at a shallow angle, once lost 7,200 m² of Beijing's) is a face of its own
    if community.area - shapely.area(faces).sum() <= MISSING_FACE_M2:  # faces do not overlap: nothing to add
        return faces
    missing = shapely.get_parts(shapely.difference(community, shapely.union_all(faces)))
    missing = missing[(shapely.get_type_id(missing) == 3) & (shapely.area(missing) > MISSING_FACE_M2)]
    return np.concatenate([faces, missing])


def _atoms_of_community(
    blocks: np.ndarray, buildings: gpd.GeoDataFrame, points: np.ndarray, settings: GridSettings
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Atoms of one community and the local atom index of each of its buildings."""
    block_of = _locate(points, blocks)
    households = buildings["households"].to_numpy(dtype=float)
    special = _special_kind(buildings, settings).to_numpy()
    compound = _compound_keys(buildings, settings)

    block_households = np.bincount(block_of, weights=households, minlength=len(blocks))
    block_special = np.bincount(block_of, weights=(special != "").astype(float), minlength=len(blocks)) > 0
    block_count = np.bincount(block_of, minlength=len(blocks))
    split = ((block_households > settings.block_split_households) | block_special) & (block_count > 1)

    geoms: list[BaseGeometry] = []
    kinds: list[str] = []
    local_atom = np.full(len(buildings), -1, dtype=np.int64)
    for b, block in enumerate(blocks):
        inside = np.flatnonzero(block_of == b)
        if not split[b]:
            local_atom[inside] = len(geoms)
            geoms.append(block)
            kinds.append(UnitKind.BLOCK.value)
            continue
        cells, building_cell = tessellate(block, buildings.geometry.to_numpy()[inside], points[inside])
        local_atom[inside] = len(geoms) + building_cell
        geoms.extend(cells)
        kinds.extend([UnitKind.CELL.value] * len(cells))

    geoms_arr = np.array(geoms, dtype=object)
    kinds_arr = np.array(kinds, dtype=object)
    geoms_arr, kinds_arr, local_atom = _merge_groups(
        geoms_arr, kinds_arr, local_atom, compound, special, households, settings
    )
    atoms = gpd.GeoDataFrame({"kind": kinds_arr}, geometry=list(geoms_arr))
    site = np.full(len(atoms), "", dtype=object)
    site[local_atom[special != ""]] = special[special != ""]
    atoms["special"] = np.where(atoms["kind"] == UnitKind.SPECIAL.value, site, "")
    return atoms, local_atom


def _locate(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Index of the face holding each point (the nearest face where rounding left it in none)."""
    tree = shapely.STRtree(faces)
    found = np.full(len(points), -1, dtype=np.int64)
    p, f = tree.query(points, predicate="intersects")
    found[p[::-1]] = f[::-1]  # first hit wins on a shared edge
    lost = np.flatnonzero(found < 0)
    if len(lost):
        found[lost] = tree.query_nearest(points[lost], return_distance=False, all_matches=False)[1]
    return found


def tessellate(
    block: BaseGeometry, footprints: np.ndarray, points: np.ndarray
) -> tuple[list[BaseGeometry], np.ndarray]:
    """Building cells of a block (enclosed tessellation) and the cell of each building.

    Each cell is the open ground nearest to its building (Voronoi diagram of points along the outlines,
    clipped to the block). Where another cell reaches into a building (large or touching buildings),
    that part is handed to the building's own cell, so no cell boundary runs through a building. A cell
    whose piece came apart keeps the part with its building; the other parts become atoms without
    buildings, so the cells still tile the block. A building drawn inside another shares its cell.
    """
    footprints = _disjoint(shapely.intersection(footprints, block))
    outlines = shapely.segmentize(shapely.boundary(footprints), OUTLINE_STEP_M)
    coords, owner = shapely.get_coordinates(outlines, return_index=True)
    coords = np.vstack([coords, shapely.get_coordinates(points)])
    owner = np.concatenate([owner, np.arange(len(points))])
    coords, first = np.unique(np.round(coords, 2), axis=0, return_index=True)
    owner = owner[first]
    regions = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(coords), extend_to=block, ordered=True))
    invalid = ~shapely.is_valid(regions)  # near-collinear seeds can give a self-touching region
    regions[invalid] = shapely.make_valid(regions[invalid])
    # Only the regions that cross the block's edge need clipping; the others are turned as clipping turns
    # them (shells clockwise), so that shared edges run opposite ways, as a coverage union needs.
    shapely.prepare(block)
    crossing = ~shapely.contains_properly(block, regions)
    clipped = regions.copy()
    clipped[crossing] = shapely.intersection(regions[crossing], block)
    clipped[~crossing] = shapely.orient_polygons(regions[~crossing], exterior_cw=True)
    cells, overlay = _union_by_owner(clipped, owner, len(points))
    # a cell that gives or takes ground may come apart: its parts (atoms) come in the order of an overlay union
    cell, building, _ = _footprint_overlaps(cells, footprints)
    overlay[np.concatenate([cell, building])] = True
    for b in np.flatnonzero(overlay):
        cells[b] = shapely.union_all(shapely.intersection(regions[owner == b], block))
    cells = _hand_back_footprints(cells, footprints)

    out: list[BaseGeometry] = []
    building_cell = np.full(len(points), -1, dtype=np.int64)
    for building, cell in enumerate(cells):
        parts = shapely.get_parts(cell)
        parts = parts[shapely.area(parts) > 0]
        if len(parts):
            home = int(np.argmax(shapely.intersects(parts, points[building]))) if len(parts) > 1 else 0
            building_cell[building] = len(out) + home
            out.extend(parts)
    lost = np.flatnonzero(building_cell < 0)
    if len(lost):
        building_cell[lost] = _locate(points[lost], np.array(out, dtype=object))
    return out, building_cell


def _union_by_owner(regions: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The union of the regions of each owner ``0 … n-1`` (the cells of a tessellation from its Voronoi regions),
    and which owners must be unioned by overlay instead.

    Neighbouring Voronoi regions share their edges vertex for vertex, so one vectorised coverage union
    dissolves them, many times faster than an overlay union per owner, to the same vertices but not the same
    ring starts or part order: an owner whose regions are not all polygons, whose cell comes apart (its parts
    become atoms, in the overlay's order) or has a hole (the midpoint of a closed shared boundary depends on
    where its ring starts; then the whole block) is marked for an overlay union."""
    counts = np.bincount(owner, minlength=n)
    order = np.argsort(owner, kind="stable")
    column = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    table = np.full((n, max(int(counts.max(initial=0)), 1)), None, dtype=object)
    table[owner[order], column] = regions[order]
    overlay = np.zeros(n, dtype=bool)
    overlay[owner[~np.isin(shapely.get_type_id(regions), (3, 6))]] = True
    merged = np.full(n, None, dtype=object)
    try:
        merged[~overlay] = shapely.coverage_union_all(table[~overlay], axis=1)
    except shapely.errors.GEOSException:  # the clipping left edges that no longer match: all by overlay
        return merged, np.ones(n, dtype=bool)
    # a coverage union that lost or gained ground (edges matched wrongly) is redone by overlay
    area = np.bincount(owner, weights=shapely.area(regions), minlength=n)
    overlay |= np.abs(shapely.area(merged) - area) > 1e-6 * np.maximum(area, 1.0)
    overlay |= shapely.get_num_geometries(merged) != 1
    if (shapely.get_num_interior_rings(merged[~overlay]) > 0).any():
        overlay[:] = True
    return merged, overlay


def _footprint_overlaps(cells: np.ndarray, footprints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell reaching into another building's footprint by more than ``FOOTPRINT_OVERLAP_M2``: the cell,
    the building and the part of the cell on its footprint."""
    c, f = shapely.STRtree(cells).query(footprints, predicate="intersects")[::-1]
    foreign = c != f
    c, f = c[foreign], f[foreign]
    overlap = shapely.intersection(cells[c], footprints[f])
    big = shapely.area(overlap) > FOOTPRINT_OVERLAP_M2
    return c[big], f[big], overlap[big]


def _hand_back_footprints(cells: np.ndarray, footprints: np.ndarray) -> np.ndarray:
    """The cells with each building given the parts of other cells that lie on its footprint."""
    c, f, overlap = _footprint_overlaps(cells, footprints)
    if len(c) == 0:
        return cells
    cells = cells.copy()
    for cell, building, piece in zip(c, f, overlap):
        cells[cell] = shapely.difference(cells[cell], footprints[building])
        cells[building] = shapely.union(cells[building], piece)
    return cells


def _disjoint(footprints: np.ndarray) -> np.ndarray:
    """Footprints with overlaps removed (the earlier building keeps the overlap), so cells cannot overlap."""
    tree = shapely.STRtree(footprints)
    a, b = tree.query(footprints, predicate="intersects")
    if len(a) == 0:
        return footprints
    out = footprints.copy()
    for i in np.unique(a):
        earlier = b[(a == i) & (b < i)]
        if len(earlier):
            out[i] = shapely.difference(out[i], shapely.union_all(footprints[earlier]))
    return out


def _special_kind(buildings: gpd.GeoDataFrame, settings: GridSettings) -> pd.Series:
    if "kind" not in buildings:
        return pd.Series("", index=buildings.index)
    kinds = buildings["kind"].fillna("").astype(str).str.lower()
    return kinds.where(kinds.isin(settings.special_kinds), "")


def _compound_keys(buildings: gpd.GeoDataFrame, settings: GridSettings) -> np.ndarray:
    """Compound of each building, or '' (special buildings group by their own compound, if any)."""
    if "compound_id" not in buildings:
        return np.full(len(buildings), "", dtype=object)
    return buildings["compound_id"].fillna("").astype(str).to_numpy(dtype=object)


def _merge_groups(
    geoms: np.ndarray,
    kinds: np.ndarray,
    local_atom: np.ndarray,
    compound: np.ndarray,
    special: np.ndarray,
    households: np.ndarray,
    settings: GridSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the atoms of one compound (if it fits a grid) and of one special site into one atom.

    A special building's atom is marked ``special``; atoms of a compound stay apart when the merged
    shape would not be one polygon or the compound exceeds the ceiling (it then splits along its roads).
    """
    groups: dict[tuple[str, str], set[int]] = {}
    for b in range(len(local_atom)):
        if special[b]:
            key = (UnitKind.SPECIAL.value, compound[b] or f"building-{b}")
        elif compound[b]:
            key = (UnitKind.COMPOUND.value, compound[b])
        else:
            continue
        groups.setdefault(key, set()).add(int(local_atom[b]))

    atom_households = np.bincount(local_atom, weights=households, minlength=len(geoms))
    target = np.arange(len(geoms))
    merged_geoms = list(geoms)
    for (kind, _), atoms in groups.items():
        atoms = sorted(atoms)
        if kind == UnitKind.COMPOUND.value and atom_households[atoms].sum() > settings.ceiling:
            continue
        if kind == UnitKind.COMPOUND.value and any(target[a] != a or kinds[a] == UnitKind.SPECIAL.value for a in atoms):
            continue
        union = shapely.union_all(geoms[atoms]) if len(atoms) > 1 else geoms[atoms[0]]
        if len(atoms) > 1 and shapely.get_num_geometries(union) > 1:
            if kind == UnitKind.COMPOUND.value:
                continue
        head = atoms[0]
        target[atoms] = head
        merged_geoms[head] = union
        kinds[head] = (
            UnitKind.SPECIAL.value
            if kind == UnitKind.SPECIAL.value
            else (UnitKind.COMPOUND.value if len(atoms) > 1 else kinds[head])
        )
    keep = np.flatnonzero(target == np.arange(len(geoms)))
    renumber = np.full(len(geoms), -1, dtype=np.int64)
    renumber[keep] = np.arange(len(keep))
    new_geoms = np.array([merged_geoms[i] for i in keep], dtype=object)
    # A special site whose buildings' cells are apart keeps the pieces as one multi-part atom only if
    # they touch; otherwise each piece is its own special atom (a grid must be one polygon).
    return _explode_special(new_geoms, kinds[keep].copy(), renumber[target[local_atom]])


def _explode_special(geoms: np.ndarray, kinds: np.ndarray, local_atom: np.ndarray):
    multi = np.flatnonzero(shapely.get_num_geometries(geoms) > 1)
    if len(multi) == 0:
        return geoms, kinds, local_atom
    out_geoms, out_kinds, mapping = [], [], {}
    for i, geom in enumerate(geoms):
        parts = shapely.get_parts(geom) if i in set(multi) else [geom]
        mapping[i] = len(out_geoms)
        for part in parts:
            out_geoms.append(part)
            out_kinds.append(kinds[i])
    return (
        np.array(out_geoms, dtype=object),
        np.array(out_kinds, dtype=object),
        np.array([mapping[a] for a in local_atom]),
    )


def _attach_weights(
    atoms: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, building_atom: np.ndarray
) -> gpd.GeoDataFrame:
    households = buildings["households"].to_numpy(dtype=float)
    workload = buildings["workload"].to_numpy(dtype=float) if "workload" in buildings else households
    centres = shapely.get_coordinates(shapely.centroid(buildings.geometry.to_numpy()))
    n = len(atoms)
    hh = np.bincount(building_atom, weights=households, minlength=n)
    # zero-household buildings still locate an atom
    cx, cy, wsum = weighted_centres(building_atom, centres[:, 0], centres[:, 1], np.maximum(households, 1e-6), n)
    inner = shapely.get_coordinates(shapely.point_on_surface(atoms.geometry.to_numpy()))
    has = wsum > 0
    atoms["households"] = np.round(hh).astype(np.int64)
    atoms["workload"] = np.bincount(building_atom, weights=workload, minlength=n)
    atoms["buildings"] = np.bincount(building_atom, minlength=n)
    atoms["x"] = np.where(has, cx, inner[:, 0])
    atoms["y"] = np.where(has, cy, inner[:, 1])
    offset = np.hypot(
        centres[:, 0] - atoms["x"].to_numpy()[building_atom], centres[:, 1] - atoms["y"].to_numpy()[building_atom]
    )
    atoms["reach_m"] = pd.Series(offset).groupby(building_atom).max().reindex(range(n), fill_value=0.0).to_numpy()
    atoms["half_span_m"] = _half_spans(centres, building_atom, n)
    return atoms


def _half_spans(centres: np.ndarray, building_atom: np.ndarray, n: int) -> np.ndarray:
    """Half the largest distance between two buildings of each atom: no grid holding the atom can have a
    smaller service radius."""
    spans = np.zeros(n)
    if len(centres) == 0:
        return spans
    atom_ids, compact = np.unique(building_atom, return_inverse=True)
    by_atom = np.argsort(compact, kind="stable")
    hulls = shapely.convex_hull(shapely.multipoints(centres[by_atom], indices=compact[by_atom]))
    xy, owner = shapely.get_coordinates(hulls, return_index=True)
    bounds = np.searchsorted(owner, np.arange(len(hulls) + 1))
    for i, a in enumerate(atom_ids):
        points = xy[bounds[i] : bounds[i + 1]]
        if len(points) > 1:
            spans[a] = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1).max()) / 2
    return spans


def _edges(geoms: np.ndarray, layers: _Layers) -> tuple[np.ndarray, ...]:
    """The edges between the atoms of one community: each pair sharing at least ``MIN_SHARED_M`` of boundary, its
    length, the cost of a cut there (length over the preference of the street along it) and whether a barrier or
    water runs there. One tree per community keeps the edges, and their order (a tree's query order, which decides
    the order of neighbours in the graph and with it ties and floating-point sums of the planner), the same
    whether the community is planned alone or among others."""
    settings = layers.settings
    left, right, shared, length = shared_boundaries(geoms, tolerance=SNAP_M, min_length=MIN_SHARED_M)
    midpoints = shapely.line_interpolate_point(shapely.line_merge(shapely.force_2d(shared)), 0.5, normalized=True)
    midpoints = np.where(shapely.is_empty(midpoints), shapely.point_on_surface(shared), midpoints)
    preference = np.full(len(left), settings.internal_cut_weight)
    if len(layers.street_lines):
        m, s = layers.street_tree.query(midpoints, predicate="dwithin", distance=STREET_SNAP_M)
        best = pd.Series(layers.street_weights[s]).groupby(m).max()
        preference[best.index.to_numpy()] = best.to_numpy()
    barrier = np.zeros(len(left), dtype=bool)
    if len(layers.barrier_lines):
        m, _ = layers.barrier_tree.query(midpoints, predicate="dwithin", distance=SNAP_M * 20)
        barrier[np.unique(m)] = True
    if len(layers.water):  # atoms meeting in the middle of a river
        m, _ = layers.water_tree.query(midpoints, predicate="within")
        barrier[np.unique(m)] = True
        preference[barrier] = np.maximum(preference[barrier], settings.street_weights.get("barrier", 6.0))
    return left, right, length, length / preference, barrier


def _sliver_edges(geoms: np.ndarray, edges: tuple[np.ndarray, ...]) -> list[tuple[int, int, dict]]:
    """A sliver touching its neighbours along less than ``MIN_SHARED_M`` would be a grid of its own: the
    edges that join each to the atom of its community it touches most."""
    left, right = edges[0], edges[1]
    lonely = np.setdiff1d(np.arange(len(geoms)), np.concatenate([left, right]))
    found: list[tuple[int, int, dict]] = []
    if not len(lonely):
        return found
    tree = shapely.STRtree(geoms)
    for a in lonely:
        near = [b for b in tree.query(geoms[a], predicate="dwithin", distance=SNAP_M) if b != a]
        if near:
            shared = shared_length(geoms[a], geoms[near], tolerance=SNAP_M)
            b = int(near[int(np.argmax(shared))])
            found.append((int(a), b, {"length": float(shared.max()), "cost": float(shared.max()), "barrier": False}))
    return found
