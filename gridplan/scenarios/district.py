"""Synthetic districts (合成城区): seeded scenes that look like a Chinese urban district.

Real extracts are few and uneven; tests and benchmarks also need districts of any size with known
totals. :func:`generate_district` builds one in these steps, all in metres:

1. **Arterials** (主干道 ``primary``, 次干道 ``secondary``): a jittered lattice of intersections,
   rotated as a whole, spaced for about two super-blocks per community (350–650 m, median ~500 m, in
   the default district: wider spacing makes single super-blocks that hold far more than 6,000
   households). Each road bends slightly at every intersection, so the super-blocks (大街坊) between
   them are irregular convex quadrilaterals; the outermost arterials are the district boundary.
2. **Street blocks** (街坊): most super-blocks are cut into strips by ``tertiary`` streets (支路) and
   each strip into blocks by ``residential`` lanes (街巷) at staggered positions, giving T-junctions
   and blocks of ~80–250 m. Some super-blocks have no street inside.
3. **Parcels**: large blocks are divided further by compound internal roads (``service``) and
   urban-village lanes (``footway``).
4. **River** (河道): a meandering water polygon across one corner (``barriers``, kind ``river``).
5. **Buildings**: every block has a typology — rows of slabs (行列式, 10–15 m × 40–80 m, some with
   shops on the street front), staggered point towers (点式高层), dense low-rise (城中村), schools,
   hospitals, offices with shops — laid out on a lattice in its parcel's own frame, inside the parcel
   set back from every street centreline (≥ :data:`MIN_SETBACK_M`, more from wider roads) and
   :data:`RIVER_SETBACK_M` from the water. Sites beyond ``n_buildings`` are left as green space:
   whole parcels first, then single sites.
6. **Households** go to residential buildings in proportion to floor area (at least one each; the
   total is exact; one tower holds more than 400); storeys then follow from households × dwelling size
   (~70–110 m²), so estimating households from storeys gives them back approximately.
7. **Communities** (社区): adjacent super-blocks merged, the pair with the fewest households first,
   until there are ``n_communities`` (2,000–7,000 households, median ~3,900, in the default
   district), so they tile the district exactly with boundaries on arterial centrelines.
   Sub-districts (街道) of ~10 communities give the 12-digit codes (GB/T 2260 county ``420106``,
   Wuchang, + street 3 + community 3).

The scene is returned in UTM zone 50N (EPSG:32650, metres) — the CRS gridplan computes in; call
``scene.to_crs(4326)`` for longitude/latitude. The same arguments always give the same scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridplan.core.scene import Scene
from gridplan.errors import GridplanError, InputError

#: The CRS of generated scenes: UTM zone 50N, which holds Wuhan (114°–120° E).
CRS = "EPSG:32650"
#: GB/T 2260 code of the county the codes are issued under (武汉市武昌区).
COUNTY_CODE = "420106"
#: Households of a community when ``n_communities`` is not given.
HOUSEHOLDS_PER_COMMUNITY = 4000
#: Street classes the generator draws, widest first.
STREET_CLASSES = ("primary", "secondary", "tertiary", "residential", "service", "footway")
#: Distance (m) from each street class's centreline that buildings keep: half the road plus a margin.
SETBACK_M = {"primary": 24.0, "secondary": 18.0, "tertiary": 12.0, "residential": 9.0, "service": 8.0, "footway": 8.0}
#: The least distance between a building and any street centreline.
MIN_SETBACK_M = min(SETBACK_M.values())
#: Distance buildings keep from the river's water polygon.
RIVER_SETBACK_M = 10.0
#: Gross district area per building (m²) of the first attempt; enlarged when the sites fall short.
AREA_PER_BUILDING_M2 = 2700.0
#: Smallest district (m²): one super-block of about 500 m.
MIN_AREA_M2 = 250_000.0

_PRIMARY, _SECONDARY, _TERTIARY, _RESIDENTIAL, _SERVICE, _FOOTWAY = range(len(STREET_CLASSES))
_SETBACKS = np.array([SETBACK_M[c] for c in STREET_CLASSES])
_WHOLE_SUPERBLOCK = 0.12  # share of super-blocks with no street inside
_WHOLE_STRIP = 0.2  # share of strips with no lane across
_FRONT_ROW = 0.3  # share of slab compounds with shops on the street front (底商)
_HUGE_TOWER = 401  # households of the one tower every district has, where the total allows
_MAX_LEVELS = 50  # storeys of the tallest residential tower (超高层住宅)

_WORDS = (
    "紫阳 首义 粮道 中华 积玉 东亭 杨园 徐东 白沙 南湖 黄鹤 珞珈 中南 水果 梅苑 桃源 丁字 新河 宏图 晒湖 "
    "彭刘 胭脂 昙华 大成 民主 复兴 和平 友谊 临江 长春 八一 东湖 武车 才华 保安 楚河 千家 三角 螃蟹 蛇山 "
    "解放 中山 武珞 珞喻 小龟 体育 新生 余家 秦园 团结 四美 花园 凤凰 石洞 宝通 洪山 青龙 白鹭 晴川 沙湖"
).split()
_QUALIFIERS = ("", "东", "西", "南", "北", "中", "新")
_NUMERALS = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九")
_RIVER_NAMES = ("巡司河", "青山港", "罗家港", "沙湖港", "东沙湖渠")


@dataclass(frozen=True)
class _Typology:
    """How one kind of block is built: footprints on a lattice in the parcel's frame (ranges in m)."""

    name: str
    weight: float  # share of blocks
    length: tuple[float, float]  # footprint along the parcel front
    depth: tuple[float, float]  # footprint across it
    gap_along: tuple[float, float]  # between buildings in a row
    gap_across: tuple[float, float]  # between rows (sunlight spacing for housing)
    levels: tuple[int, int]
    kind: str
    residential: bool
    stagger: bool  # odd rows shifted by half a pitch (point towers)
    lanes: int  # class of the roads dividing large blocks into parcels
    lane_spacing: tuple[float, float]
    front_kind: str | None = None  # kind of the front row where there is one
    front_share: float = 0.0
    compound: bool = False  # forms a residential compound (小区)


_TYPOLOGIES = (
    _Typology(
        "slab",
        0.46,
        (40, 80),
        (10, 15),
        (8, 16),
        (18, 30),
        (6, 11),
        "residential",
        True,
        False,
        _SERVICE,
        (110, 170),
        "shop",
        _FRONT_ROW,
        True,
    ),
    _Typology(
        "tower",
        0.14,
        (24, 34),
        (18, 24),
        (22, 34),
        (26, 40),
        (18, 34),
        "apartments",
        True,
        True,
        _SERVICE,
        (110, 170),
        None,
        0.0,
        True,
    ),
    _Typology("lowrise", 0.22, (10, 16), (8, 12), (3, 6), (4, 8), (2, 5), "house", True, False, _FOOTWAY, (45, 80)),
    _Typology(
        "school", 0.06, (50, 80), (14, 20), (20, 30), (25, 40), (3, 5), "school", False, False, _SERVICE, (130, 200)
    ),
    _Typology(
        "hospital",
        0.04,
        (40, 70),
        (20, 30),
        (15, 25),
        (20, 30),
        (6, 16),
        "hospital",
        False,
        False,
        _SERVICE,
        (130, 200),
    ),
    _Typology(
        "commercial",
        0.08,
        (30, 50),
        (20, 32),
        (15, 25),
        (18, 30),
        (8, 30),
        "office",
        False,
        False,
        _SERVICE,
        (130, 200),
        "shop",
        1.0,
    ),
)
# Typologies every district has, in order of priority when blocks are few.
_REQUIRED_TYPOLOGIES = ("tower", "school", "commercial", "hospital")


def generate_district(
    n_buildings: int = 20000,
    households: int = 450000,
    *,
    n_communities: int | None = None,
    seed: int = 0,
    origin: tuple[float, float] = (114.30, 30.55),
) -> Scene:
    """Generate a synthetic urban district: communities, buildings, streets, a river and compounds.

    Parameters
    ----------
    n_buildings
        Buildings to place, exactly.
    households
        Total households, exactly; at least ``n_buildings``.
    n_communities
        Communities (社区) to form; ``households / 4000`` rounded (at least 1) by default.
    seed
        Seed of the random generator: the same arguments always give the same scene.
    origin
        Longitude and latitude (WGS84) of the district's centre; the default lies in Wuchang, Wuhan.

    Returns
    -------
    Scene
        In EPSG:32650 (metres), with layers

        - ``communities``: ``community_id`` (``c0001``…), ``code`` (12 digits), ``name``, ``subdistrict``,
          ``generated`` (True);
        - ``buildings``: ``building_id`` (``b000001``…), ``households``, ``levels``, ``kind``
          (residential, apartments, house, school, hospital, office, shop), ``compound_id`` (None
          outside compounds), ``generated`` (True);
        - ``streets``: ``highway`` (one of :data:`STREET_CLASSES`), ``name`` (None for most lanes);
        - ``barriers``: the river, ``kind`` ``"river"`` and ``name``;
        - ``compounds``: ``compound_id``, ``name``, the compound's land within its block.

    Raises
    ------
    InputError
        ``n_buildings`` below 1, ``households`` below ``n_buildings``, or ``n_communities`` outside
        1…``n_buildings``.
    """
    if n_buildings < 1:
        raise InputError(
            f"n_buildings must be at least 1, got {n_buildings}", zh=f"建筑数 n_buildings 至少为 1，实为 {n_buildings}"
        )
    if households < n_buildings:
        raise InputError(
            f"households ({households}) must be at least n_buildings ({n_buildings})",
            zh=f"户数 households（{households}）不得少于建筑数 n_buildings（{n_buildings}）",
        )
    if n_communities is None:
        n_communities = max(1, round(households / HOUSEHOLDS_PER_COMMUNITY))
    if not 1 <= n_communities <= n_buildings:
        raise InputError(
            f"n_communities must be between 1 and n_buildings ({n_buildings}), got {n_communities}",
            zh=f"社区数 n_communities 须在 1 与建筑数 n_buildings（{n_buildings}）之间，实为 {n_communities}",
        )

    area = max(n_buildings * AREA_PER_BUILDING_M2, MIN_AREA_M2)
    for attempt in range(10):
        rng = np.random.default_rng([seed, attempt])
        layout = _Layout.build(area, n_communities, rng)
        if len(layout.sites) >= n_buildings:
            break
        area *= max(1.3, 1.1 * n_buildings / max(len(layout.sites), 1))
    else:  # pragma: no cover - the area grows geometrically, so sites always suffice in the end
        raise GridplanError(f"could not place {n_buildings} buildings")

    chosen = _choose_sites(layout.sites, n_buildings, rng)
    sites = layout.sites.iloc[chosen].reset_index(drop=True)
    sites["households"] = _apportion_households(sites, households)
    # storeys that hold the households at the building's dwelling size
    levels = np.rint(sites["households"] * sites["dwelling_m2"] / sites["footprint_m2"]).clip(1, _MAX_LEVELS)
    sites["levels"] = np.where(sites["residential"], levels, sites["levels"]).astype(np.int64)

    centre = np.array(Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(*origin))
    return layout.scene(sites, layout.corners[chosen], n_communities, centre, rng)


@dataclass(frozen=True)
class _Layout:
    """The district's geometry in a local frame centred on (0, 0), before buildings are chosen."""

    nodes: np.ndarray  # (nx + 1, ny + 1, 2) arterial intersections
    superblocks: np.ndarray  # (nx * ny, 4, 2) counter-clockwise quads, superblock i * ny + j
    street_lines: list[np.ndarray]
    street_classes: list[int]
    street_names: list[str | None]
    blocks: np.ndarray  # (b, 4, 2)
    block_superblock: np.ndarray
    river: shapely.Geometry
    sites: pd.DataFrame  # candidate buildings, one row each
    corners: np.ndarray  # (len(sites), 4, 2) their footprints

    @classmethod
    def build(cls, area: float, n_communities: int, rng: np.random.Generator) -> "_Layout":
        nodes = _arterial_nodes(area, n_communities, rng)
        nx, ny = nodes.shape[0] - 1, nodes.shape[1] - 1
        corners = [nodes[:-1, :-1], nodes[1:, :-1], nodes[1:, 1:], nodes[:-1, 1:]]
        superblocks = np.stack(corners, axis=2).reshape(-1, 4, 2)
        vertical = np.where(np.arange(nx + 1) % 3 == 0, _PRIMARY, _SECONDARY)
        horizontal = np.where(np.arange(ny + 1) % 3 == 0, _PRIMARY, _SECONDARY)
        vertical[[0, -1]] = _PRIMARY
        horizontal[[0, -1]] = _PRIMARY
        ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        edges = np.stack([horizontal[jj], vertical[ii + 1], horizontal[jj + 1], vertical[ii]], axis=-1).reshape(-1, 4)
        arterials = [nodes[i, :] for i in range(nx + 1)] + [nodes[:, j] for j in range(ny + 1)]
        arterial_classes = [int(c) for c in np.concatenate([vertical, horizontal])]
        arterial_names = [
            name[:-1] + "大道" if c == _PRIMARY and k % 2 else name
            for k, (name, c) in enumerate(zip(_names(rng, len(arterials), "路"), arterial_classes))
        ]

        blocks, block_edges, block_superblock, cuts, cut_classes = _subdivide(
            superblocks, edges, (_TERTIARY, _RESIDENTIAL), (130.0, 250.0), (80.0, 200.0), _WHOLE_SUPERBLOCK, rng
        )
        typology = _block_typologies(block_superblock, rng)
        parts = []
        for t, spec in enumerate(_TYPOLOGIES):
            chosen = np.flatnonzero(typology == t)
            quads, quad_edges, owner, lanes, lane_classes = _subdivide(
                blocks[chosen],
                block_edges[chosen],
                (spec.lanes, spec.lanes),
                spec.lane_spacing,
                spec.lane_spacing,
                0.0,
                rng,
            )
            parts.append((quads, quad_edges, chosen[owner], lanes, lane_classes))
        parcel_block = np.concatenate([p[2] for p in parts])
        order = np.argsort(parcel_block, kind="stable")
        parcels = np.concatenate([p[0] for p in parts])[order]
        parcel_edges = np.concatenate([p[1] for p in parts])[order]
        lanes = [line for p in parts for line in p[3]]
        lane_classes = [c for p in parts for c in p[4]]

        river = _river(nodes, rng)
        sites, corners = _sites(parcels, parcel_edges, parcel_block[order], typology, river, rng)
        return cls(
            nodes=nodes,
            superblocks=superblocks,
            street_lines=arterials + cuts + lanes,
            street_classes=arterial_classes + cut_classes + lane_classes,
            street_names=arterial_names + _lane_names(cut_classes, rng) + [None] * len(lanes),
            blocks=blocks,
            block_superblock=block_superblock,
            river=river,
            sites=sites,
            corners=corners,
        )

    def scene(
        self, sites: pd.DataFrame, corners: np.ndarray, n_communities: int, centre: np.ndarray, rng: np.random.Generator
    ) -> Scene:
        """The layers for the chosen ``sites``, moved to ``centre`` (UTM metres)."""
        nx, ny = self.nodes.shape[0] - 1, self.nodes.shape[1] - 1
        superblock = self.block_superblock[sites["block"].to_numpy()]
        superblock_households = np.bincount(superblock, weights=sites["households"], minlength=nx * ny)
        community_of = _merge_superblocks(superblock_households, nx, ny, n_communities)
        communities = _communities(self.superblocks + centre, community_of, rng)

        blocks = sites["block"].to_numpy()
        compound_blocks = np.unique(blocks[sites["compound"].to_numpy()])
        compound_ids = np.array([f"q{k + 1:05d}" for k in range(len(compound_blocks))], dtype=object)
        in_compound = sites["compound"].to_numpy()
        building_compound = np.full(len(sites), None, dtype=object)
        building_compound[in_compound] = compound_ids[np.searchsorted(compound_blocks, blocks[in_compound])]
        width = max(6, len(str(len(sites))))
        buildings = gpd.GeoDataFrame(
            {
                "building_id": [f"b{k + 1:0{width}d}" for k in range(len(sites))],
                "households": sites["households"].to_numpy(np.int64),
                "levels": sites["levels"].to_numpy(np.int64),
                "kind": sites["kind"].to_numpy(object),
                "compound_id": building_compound,
            },
            geometry=_polygons(corners + centre),
            crs=CRS,
        )

        lengths = np.array([len(line) for line in self.street_lines])
        streets = gpd.GeoDataFrame(
            {"highway": [STREET_CLASSES[c] for c in self.street_classes], "name": self.street_names},
            geometry=shapely.linestrings(
                np.concatenate(self.street_lines) + centre, indices=np.repeat(np.arange(len(lengths)), lengths)
            ),
            crs=CRS,
        )
        river = shapely.transform(self.river, lambda xy: xy + centre)
        barriers = gpd.GeoDataFrame(
            {"kind": ["river"], "name": [_RIVER_NAMES[rng.integers(len(_RIVER_NAMES))]]}, geometry=[river], crs=CRS
        )
        land, _ = _inset(self.blocks[compound_blocks], np.full((len(compound_blocks), 4), MIN_SETBACK_M / 2))
        compounds = gpd.GeoDataFrame(
            {"compound_id": compound_ids, "name": [n + "小区" for n in _names(rng, len(compound_blocks), "")]},
            geometry=shapely.difference(_polygons(land + centre), river),
            crs=CRS,
        )
        # labelled as generated, so that every plan of it says so (provenance, summaries, maps)
        return Scene(
            communities=communities.assign(generated=True),
            buildings=buildings.assign(generated=True),
            streets=streets,
            barriers=barriers,
            compounds=compounds,
        )


def _arterial_nodes(area: float, n_communities: int, rng: np.random.Generator) -> np.ndarray:
    """Arterial intersections ``(nx + 1, ny + 1, 2)``: a jittered, rotated lattice of ``area`` m².

    The mean spacing gives about two super-blocks per community (~500 m in the default district) and
    is at most 650 m; each gap is drawn 0.75–1.3 times it; there are never fewer super-blocks than
    communities.
    """
    spacing = min(float(np.sqrt(area / (2.0 * n_communities))), 650.0)
    width = float(np.sqrt(area * 1.2))
    height = area / width
    nx, ny = max(1, round(width / spacing)), max(1, round(height / spacing))
    while nx * ny < n_communities:
        if width / nx > height / ny:
            nx += 1
        else:
            ny += 1
    xs = np.concatenate([[0.0], np.cumsum(rng.uniform(0.75, 1.3, nx))])
    ys = np.concatenate([[0.0], np.cumsum(rng.uniform(0.75, 1.3, ny))])
    xs = (xs / xs[-1] - 0.5) * width
    ys = (ys / ys[-1] - 0.5) * height
    nodes = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
    nodes += rng.uniform(-0.08, 0.08, nodes.shape) * min(width / nx, height / ny)
    angle = np.radians(rng.uniform(-15.0, 15.0))
    rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    return nodes @ rotation


def _bilinear(quad: np.ndarray, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points at parameters ``(s, t)`` of the bilinear patch over ``quad``; lines of constant s or t are straight."""
    s, t = np.asarray(s, float)[..., None], np.asarray(t, float)[..., None]
    return (1 - s) * (1 - t) * quad[0] + s * (1 - t) * quad[1] + s * t * quad[2] + (1 - s) * t * quad[3]


def _side_length(quad: np.ndarray, axis: int) -> float:
    """Mean length of the quad along ``s`` (axis 0) or ``t`` (axis 1)."""
    a, b, c, d = quad
    if axis == 0:
        return 0.5 * (np.hypot(*(b - a)) + np.hypot(*(c - d)))
    return 0.5 * (np.hypot(*(d - a)) + np.hypot(*(c - b)))


def _cut_fractions(length: float, spacing: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Where to cut a side of ``length`` m into pieces of about ``spacing`` m, as fractions in (0, 1)."""
    pieces = int(round(length / rng.uniform(*spacing)))
    if pieces <= 1:
        return np.empty(0)
    widths = rng.uniform(0.7, 1.3, pieces)
    return np.cumsum(widths)[:-1] / widths.sum()


def _split(
    quad: np.ndarray, edges: np.ndarray, axis: int, cuts: np.ndarray, cls: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Cut ``quad`` across ``axis`` (0: at constant s, 1: at constant t) at the fractions ``cuts``.

    Returns the pieces ``(len(cuts) + 1, 4, 2)``, their edge classes (the cut edges get ``cls``) and
    the cut segments.
    """
    f = np.concatenate([[0.0], cuts, [1.0]])
    low, high = f[:-1], f[1:]
    if axis == 0:
        corners = [(low, 0), (high, 0), (high, 1), (low, 1)]
        segments = [(cuts, 0), (cuts, 1)]
        low_side, high_side = 3, 1
    else:
        corners = [(0, low), (1, low), (1, high), (0, high)]
        segments = [(0, cuts), (1, cuts)]
        low_side, high_side = 0, 2
    pieces = np.stack([_bilinear(quad, *np.broadcast_arrays(s, t)) for s, t in corners], axis=1)
    pieces_edges = np.tile(edges, (len(low), 1))
    pieces_edges[1:, low_side] = cls
    pieces_edges[:-1, high_side] = cls
    ends = [_bilinear(quad, *np.broadcast_arrays(s, t)) for s, t in segments]
    return pieces, pieces_edges, list(np.stack(ends, axis=1))


def _subdivide(
    quads: np.ndarray,
    edges: np.ndarray,
    classes: tuple[int, int],
    first: tuple[float, float],
    second: tuple[float, float],
    whole_share: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], list[int]]:
    """Cut each quad into strips (class ``classes[0]``), then each strip across (``classes[1]``).

    The first cut runs across a random axis; the second, the other way, at positions drawn for each
    strip, so cuts of neighbouring strips do not line up (T-junctions). A share ``whole_share`` of the
    quads and :data:`_WHOLE_STRIP` of the strips stay whole.

    Returns the pieces ``(n, 4, 2)``, their edge classes ``(n, 4)``, the index of the quad each came
    from, and the cut segments with their classes.
    """
    out, out_edges, owner, segments, segment_classes = [], [], [], [], []
    for k, (quad, quad_edges) in enumerate(zip(quads, edges)):
        if rng.random() < whole_share:
            out.append(quad[None])
            out_edges.append(quad_edges[None])
            owner.append(np.array([k]))
            continue
        axis = int(rng.integers(2))
        fractions = _cut_fractions(_side_length(quad, axis), first, rng)
        strips, strip_edges, cuts = _split(quad, quad_edges, axis, fractions, classes[0])
        segments += cuts
        segment_classes += [classes[0]] * len(cuts)
        for strip, strip_edge in zip(strips, strip_edges):
            whole = rng.random() < _WHOLE_STRIP
            fractions = np.empty(0) if whole else _cut_fractions(_side_length(strip, 1 - axis), second, rng)
            pieces, pieces_edges, cuts = _split(strip, strip_edge, 1 - axis, fractions, classes[1])
            out.append(pieces)
            out_edges.append(pieces_edges)
            owner.append(np.full(len(pieces), k))
            segments += cuts
            segment_classes += [classes[1]] * len(cuts)
    if not out:
        return np.empty((0, 4, 2)), np.empty((0, 4), int), np.empty(0, int), [], []
    return np.concatenate(out), np.concatenate(out_edges), np.concatenate(owner), segments, segment_classes


def _block_typologies(block_superblock: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A typology for every block.

    Blocks that are whole super-blocks become large compounds, urban villages or campuses (大院);
    the others get typologies in proportion to their weights, shuffled, so that even a small district
    has its mix, and each of :data:`_REQUIRED_TYPOLOGIES` at least once while a slab or low-rise block
    is left to give.
    """
    names = [t.name for t in _TYPOLOGIES]
    weights = np.array([t.weight for t in _TYPOLOGIES])
    whole = np.bincount(block_superblock)[block_superblock] == 1
    typology = np.empty(len(block_superblock), dtype=int)
    campus = 0.2 if len(np.unique(block_superblock)) >= 8 else 0.0  # a small district has no room for one
    typology[whole] = rng.choice(
        [names.index("slab"), names.index("lowrise"), names.index("school")], whole.sum(), p=[0.8 - campus, 0.2, campus]
    )
    typology[~whole] = rng.permutation(np.repeat(np.arange(len(weights)), _apportion((~whole).sum(), weights)))
    common = [names.index("slab"), names.index("lowrise")]
    for name in _REQUIRED_TYPOLOGIES:
        donors = np.flatnonzero(np.isin(typology, common) & ~whole)
        if names.index(name) not in typology and len(donors) > 1:
            typology[rng.choice(donors)] = names.index(name)
    return typology


def _inset(quads: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convex quads with each edge moved inwards by its distance, and whether the result is a quad.

    Parameters
    ----------
    quads
        ``(n, 4, 2)`` counter-clockwise convex quads; edge k runs from corner k to corner k + 1.
    distances
        ``(n, 4)`` inward offset of each edge.
    """
    direction = np.roll(quads, -1, axis=1) - quads
    direction = direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    inward = np.stack([-direction[..., 1], direction[..., 0]], axis=-1)
    origin = quads + inward * distances[..., None]
    prev_origin, prev_direction = np.roll(origin, 1, axis=1), np.roll(direction, 1, axis=1)
    # corner k: where the moved edge k - 1 meets the moved edge k
    t = _cross(origin - prev_origin, direction) / _cross(prev_direction, direction)
    inset = prev_origin + t[..., None] * prev_direction
    inset_direction = np.roll(inset, -1, axis=1) - inset
    valid = (np.einsum("nkd,nkd->nk", inset_direction, direction) > 1.0).all(axis=1)
    return inset, valid


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _inside_convex(points: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Whether all ``(n, m, 2)`` points of row i lie in the counter-clockwise convex quad ``quads[i]``."""
    edge = np.roll(quads, -1, axis=1) - quads
    offset = points[:, :, None, :] - quads[:, None, :, :]
    return (_cross(edge[:, None], offset) >= 0).all(axis=(1, 2))


def _polygons(quads: np.ndarray) -> np.ndarray:
    return shapely.polygons(np.concatenate([quads, quads[:, :1]], axis=1))


def _river(nodes: np.ndarray, rng: np.random.Generator) -> shapely.Geometry:
    """A meandering river 40–70 m wide from one side of the district to the next, across a corner."""
    sides = [nodes[:, 0], nodes[-1, :], nodes[::-1, -1], nodes[0, ::-1]]  # counter-clockwise
    district = shapely.Polygon(np.concatenate([side[:-1] for side in sides]))
    corner = int(rng.integers(4))
    start = shapely.LineString(sides[corner]).interpolate(rng.uniform(0.3, 0.7), normalized=True)
    end = shapely.LineString(sides[(corner + 1) % 4]).interpolate(rng.uniform(0.3, 0.7), normalized=True)
    a, b = np.array(start.coords[0]), np.array(end.coords[0])
    control = np.array(district.centroid.coords[0])
    tau = np.linspace(-0.1, 1.1, 241)[:, None]
    curve = (1 - tau) ** 2 * a + 2 * (1 - tau) * tau * control + tau**2 * b
    tangent = np.gradient(curve, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) / np.linalg.norm(tangent, axis=1, keepdims=True)
    meander = rng.uniform(30, 60) * np.sin(2 * np.pi * rng.uniform(2, 4) * tau + rng.uniform(0, 2 * np.pi))
    line = shapely.LineString(curve + meander * normal)
    return shapely.intersection(line.buffer(rng.uniform(20, 35), cap_style="flat"), district)


def _typology_array(attribute: str) -> np.ndarray:
    return np.array([getattr(t, attribute) for t in _TYPOLOGIES])


def _sites(
    parcels: np.ndarray,
    parcel_edges: np.ndarray,
    parcel_block: np.ndarray,
    block_typology: np.ndarray,
    river: shapely.Geometry,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every building site the parcels hold: a lattice in each parcel's frame, clipped to the parcel
    set back from its streets and kept off the river.

    Each block draws one footprint size, spacing and height for its typology; each building is then
    shrunk a little within its slot (staying within the typology's sizes), so footprints vary but
    never touch.
    """
    inset, valid = _inset(parcels, _SETBACKS[parcel_edges])
    n_blocks = len(block_typology)

    def draw(attribute):
        bounds = _typology_array(attribute)[block_typology]
        return rng.uniform(bounds[:, 0], bounds[:, 1])[parcel_block]

    length, depth, gap_along, gap_across = draw("length"), draw("depth"), draw("gap_along"), draw("gap_across")
    level_bounds = _typology_array("levels")[block_typology]
    block_levels = rng.integers(level_bounds[:, 0], level_bounds[:, 1] + 1)
    block_front = rng.random(n_blocks) < _typology_array("front_share")[block_typology]

    origin = inset[:, 0]
    u = inset[:, 1] - origin
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    along = np.einsum("pkd,pd->pk", inset - origin[:, None], u)
    across = np.einsum("pkd,pd->pk", inset - origin[:, None], v)
    extent_u = along.max(axis=1) - along.min(axis=1)
    extent_v = across.max(axis=1) - across.min(axis=1)
    pitch_u, pitch_v = length + gap_along, depth + gap_across
    n_u = np.where(valid, np.floor((extent_u + gap_along) / pitch_u), 0).astype(int)
    n_v = np.where(valid, np.floor((extent_v + gap_across) / pitch_v), 0).astype(int)
    start_u = along.min(axis=1) + (extent_u - (n_u * pitch_u - gap_along)) / 2 + length / 2
    start_v = across.min(axis=1) + (extent_v - (n_v * pitch_v - gap_across)) / 2 + depth / 2

    count = n_u * n_v
    p = np.repeat(np.arange(len(parcels)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    column, row = k % n_u[p], k // n_u[p]
    block = parcel_block[p]
    typology = block_typology[block]
    stagger = _typology_array("stagger")[typology] & (row % 2 == 1)
    # each building a little smaller than its slot, never below its typology's least size
    size_u = np.maximum(length[p] * rng.uniform(0.85, 1.0, len(p)), _typology_array("length")[typology, 0])
    size_v = np.maximum(depth[p] * rng.uniform(0.9, 1.0, len(p)), _typology_array("depth")[typology, 0])
    at_u = start_u[p] + (column + 0.5 * stagger) * pitch_u[p] + rng.uniform(-0.5, 0.5, len(p)) * (length[p] - size_u)
    at_v = start_v[p] + row * pitch_v[p]
    centre = origin[p] + at_u[:, None] * u[p] + at_v[:, None] * v[p]
    half_u, half_v = u[p] * size_u[:, None] / 2, v[p] * size_v[:, None] / 2
    corners = np.stack(
        [centre - half_u - half_v, centre + half_u - half_v, centre + half_u + half_v, centre - half_u + half_v], axis=1
    )

    keep = _inside_convex(corners, inset[p])
    shapely.prepare(river)
    keep[keep] = ~shapely.dwithin(_polygons(corners[keep]), river, RIVER_SETBACK_M)

    # shops on the street front of some compounds and of every office block (底商)
    front = block_front[block] & (row == 0) & (parcel_edges[p, 0] <= _RESIDENTIAL)
    residential = _typology_array("residential")[typology] & ~front
    kind = np.where(front, _typology_array("front_kind")[typology], _typology_array("kind")[typology])
    levels = np.where(front, rng.integers(1, 4, len(p)), block_levels[block])
    footprint = size_u * size_v
    dwelling = rng.uniform(70.0, 110.0, len(p))
    sites = pd.DataFrame(
        {
            "parcel": p,
            "block": block,
            "typology": typology,
            "kind": kind,
            "residential": residential,
            "compound": _typology_array("compound")[typology] & residential,
            "levels": levels,
            "footprint_m2": footprint,
            "dwelling_m2": dwelling,
            "capacity": np.where(residential, footprint * levels / dwelling, 0.0),
        }
    )
    return sites[keep].reset_index(drop=True), corners[keep]


def _choose_sites(sites: pd.DataFrame, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` sites: the rest become green space, whole slab or low-rise parcels first
    (up to 60% of the surplus), then single sites. The largest tower and one building of every
    non-residential kind are always kept, as far as ``n`` allows."""
    towers = np.flatnonzero(sites["kind"].to_numpy() == "apartments")
    residential = np.flatnonzero(sites["residential"].to_numpy())
    pool = towers if len(towers) else residential
    protected = [pool[np.argmax(sites["capacity"].to_numpy()[pool])]]
    for kind in sorted(set(sites["kind"]) - {t.kind for t in _TYPOLOGIES if t.residential}):
        protected.append(rng.choice(np.flatnonzero(sites["kind"].to_numpy() == kind)))
    protected = np.array(protected[:n])

    surplus = len(sites) - n
    parcel = sites["parcel"].to_numpy()
    names = [t.name for t in _TYPOLOGIES]
    open_space = np.isin(sites["typology"], [names.index("slab"), names.index("lowrise")])
    candidates = np.setdiff1d(np.unique(parcel[open_space]), parcel[protected])
    candidates = rng.permutation(candidates)
    sizes = np.bincount(parcel, minlength=parcel.max() + 1)[candidates]
    cleared = candidates[np.cumsum(sizes) <= 0.6 * surplus]
    dropped = np.isin(parcel, cleared)

    singles = np.setdiff1d(np.flatnonzero(~dropped), protected)
    dropped[rng.choice(singles, surplus - dropped.sum(), replace=False)] = True
    return np.flatnonzero(~dropped)


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing to ``total`` (largest remainders, ties by position)."""
    weights = np.asarray(weights, float)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    share = total * weights / weights.sum()
    counts = np.floor(share).astype(np.int64)
    extra = np.argsort(-(share - counts), kind="stable")[: total - counts.sum()]
    counts[extra] += 1
    return counts


def _apportion_households(sites: pd.DataFrame, total: int) -> np.ndarray:
    """Households per site: 0 for non-residential, ≥ 1 for residential, in proportion to floor area,
    summing to ``total``; the largest tower gets at least :data:`_HUGE_TOWER` where the total allows."""
    residential = np.flatnonzero(sites["residential"].to_numpy())
    if len(residential) == 0:
        raise InputError(
            "no residential building to hold the households: raise n_buildings",
            zh="没有可容纳住户的住宅建筑：请增大 n_buildings",
        )
    capacity = sites["capacity"].to_numpy()[residential]
    shares = 1 + _apportion(total - len(residential), capacity)
    towers = sites["kind"].to_numpy()[residential] == "apartments"
    huge = np.flatnonzero(towers)[np.argmax(capacity[towers])] if towers.any() else int(np.argmax(capacity))
    if shares[huge] < _HUGE_TOWER <= total - len(residential) + 1:
        others = np.arange(len(shares)) != huge
        shares[others] -= _apportion(_HUGE_TOWER - shares[huge], shares[others] - 1)
        shares[huge] = _HUGE_TOWER
    households = np.zeros(len(sites), dtype=np.int64)
    households[residential] = shares
    return households


def _merge_superblocks(households: np.ndarray, nx: int, ny: int, n_communities: int) -> np.ndarray:
    """Community of every super-block (index ``i * ny + j``): while there are more than
    ``n_communities``, merge the two adjacent communities whose households add up to the least."""
    index = np.arange(nx * ny).reshape(nx, ny)
    pairs = np.concatenate(
        [
            np.stack([index[:-1].ravel(), index[1:].ravel()], axis=1),
            np.stack([index[:, :-1].ravel(), index[:, 1:].ravel()], axis=1),
        ]
    )
    label = np.arange(nx * ny)
    totals = np.asarray(households, float).copy()
    for _ in range(nx * ny - n_communities):
        joined = label[pairs]
        joined = joined[joined[:, 0] != joined[:, 1]]
        a, b = joined[np.argmin(totals[joined].sum(axis=1))]
        label[label == b] = a
        totals[a] += totals[b]
    return np.unique(label, return_inverse=True)[1]


def _communities(superblocks: np.ndarray, community_of: np.ndarray, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Community polygons (unions of their super-blocks), grouped into sub-districts (街道) of about ten,
    numbered north to south in bands, west to east within a band."""
    n = community_of.max() + 1
    cells = _polygons(superblocks)
    shapes = np.array([shapely.union_all(cells[community_of == c]) for c in range(n)])
    centroid = shapely.get_coordinates(shapely.centroid(shapes))
    n_sub = max(1, round(n / 10))
    bands = max(1, round(np.sqrt(n_sub)))
    band = np.empty(n, int)
    band[np.argsort(-centroid[:, 1], kind="stable")] = np.arange(n) * bands // n
    order = np.lexsort((centroid[:, 0], band))
    subdistrict = np.empty(n, int)
    subdistrict[order] = np.arange(n) * n_sub // n
    serial = np.empty(n, int)
    for s in range(n_sub):
        members = order[subdistrict[order] == s]
        serial[members] = np.arange(len(members))
    subdistrict_names = _names(rng, n_sub, "街道")
    codes = [f"{COUNTY_CODE}{s + 1:03d}{k + 1:03d}" for s, k in zip(subdistrict, serial)]
    frame = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": [name + "社区" for name in _names(rng, n, "")],
            "subdistrict": [subdistrict_names[s] for s in subdistrict],
        },
        geometry=shapes,
        crs=CRS,
    )
    frame = frame.sort_values("code", kind="stable").reset_index(drop=True)
    frame.insert(0, "community_id", [f"c{k + 1:04d}" for k in range(n)])
    return frame


def _names(rng: np.random.Generator, n: int, suffix: str) -> list[str]:
    """``n`` distinct place names ending in ``suffix``: plain words first, then with 东/西/… and numerals."""
    names: list[str] = []
    for numeral in _NUMERALS:
        for qualifier in _QUALIFIERS:
            names += [word + qualifier + numeral + suffix for word in rng.permutation(_WORDS)]
            if len(names) >= n:
                return names[:n]
    return names + [f"{_WORDS[k % len(_WORDS)]}{k}{suffix}" for k in range(len(names), n)]


def _lane_names(classes: list[int], rng: np.random.Generator) -> list[str | None]:
    """Names of the cut streets: every tertiary street (…街), half of the residential lanes (…巷)."""
    classes = np.asarray(classes, int)
    names = np.full(len(classes), None, dtype=object)
    tertiary = np.flatnonzero(classes == _TERTIARY)
    names[tertiary] = _names(rng, len(tertiary), "街")
    lanes = np.flatnonzero(classes == _RESIDENTIAL)
    named = lanes[rng.random(len(lanes)) < 0.5]
    names[named] = _names(rng, len(named), "巷")
    return list(names)
