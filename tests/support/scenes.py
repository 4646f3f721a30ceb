"""Small scenes built by hand for tests: rectangles of blocks, streets, buildings with known households."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, box

from gridplan.core.scene import Scene

CRS = "EPSG:32650"  # UTM 50N: metres, around Nanjing/Wuhan


def street_grid_scene(
    width: float,
    height: float,
    xs: list[float],
    ys: list[float],
    households: np.ndarray | list[list[int]],
    *,
    per_block: int = 4,
    hole: tuple[float, float, float, float] | None = None,
    community_id: str = "c1",
    origin: tuple[float, float] = (600_000.0, 3_500_000.0),
) -> Scene:
    """A rectangular community cut by vertical streets at ``xs`` and horizontal ones at ``ys``.

    ``households[i][j]`` households live in block (column i, row j), spread over ``per_block`` buildings
    set back from the streets. ``hole`` (x0, y0, x1, y1) is cut out of the community.
    """
    ox, oy = origin
    community = box(ox, oy, ox + width, oy + height)
    if hole is not None:
        community = community.difference(box(ox + hole[0], oy + hole[1], ox + hole[2], oy + hole[3]))
    cols = [0.0, *xs, width]
    rows = [0.0, *ys, height]
    streets = [LineString([(ox + x, oy), (ox + x, oy + height)]) for x in xs]
    streets += [LineString([(ox, oy + y), (ox + width, oy + y)]) for y in ys]
    footprints, counts, ids = [], [], []
    for i in range(len(cols) - 1):
        for j in range(len(rows) - 1):
            x0, x1, y0, y1 = cols[i] + 10, cols[i + 1] - 10, rows[j] + 10, rows[j + 1] - 10
            total = int(np.asarray(households)[i][j])
            if total == 0 and per_block == 0:
                continue
            split = np.diff(np.linspace(0, total, per_block + 1).round()).astype(int)
            step = (x1 - x0) / per_block
            for b in range(per_block):
                fp = box(ox + x0 + b * step + 1, oy + y0, ox + x0 + (b + 1) * step - 1, oy + y1)
                if hole is not None and fp.intersects(box(ox + hole[0], oy + hole[1], ox + hole[2], oy + hole[3])):
                    continue
                footprints.append(fp)
                counts.append(int(split[b]))
                ids.append(f"b{i}-{j}-{b}")
    return Scene(
        communities=gpd.GeoDataFrame(
            {"community_id": [community_id], "code": ["320102001001"]}, geometry=[community], crs=CRS
        ),
        buildings=gpd.GeoDataFrame(
            {"building_id": ids, "households": counts, "kind": "residential"}, geometry=footprints, crs=CRS
        ),
        streets=gpd.GeoDataFrame({"highway": ["residential"] * len(streets)}, geometry=streets, crs=CRS),
    )


def random_scene(rng: np.random.Generator, *, multipart: bool = False, hole: bool = False, huge: bool = False) -> Scene:
    """A random community: irregular street spacing, buildings in rows, households with zeros."""
    width, height = rng.uniform(300, 900), rng.uniform(300, 900)
    xs = sorted(rng.uniform(60, width - 60, size=rng.integers(0, 5)).tolist())
    ys = sorted(rng.uniform(60, height - 60, size=rng.integers(0, 5)).tolist())
    xs = [x for k, x in enumerate(xs) if k == 0 or x - xs[k - 1] > 50]
    ys = [y for k, y in enumerate(ys) if k == 0 or y - ys[k - 1] > 50]
    cells = (len(xs) + 1, len(ys) + 1)
    households = rng.integers(0, 160, size=cells)
    households[rng.random(cells) < 0.15] = 0
    if huge:
        households[0, 0] = 2000
    scene = street_grid_scene(
        width,
        height,
        xs,
        ys,
        households,
        per_block=int(rng.integers(1, 6)),
        hole=(width * 0.4, height * 0.4, width * 0.55, height * 0.55) if hole else None,
    )
    if multipart:
        other = street_grid_scene(
            200, 200, [], [], [[int(rng.integers(0, 400))]], per_block=2, origin=(600_000.0 + width + 100, 3_500_000.0)
        )
        communities = scene.communities.copy()
        communities.geometry = [
            shapely.union_all([scene.communities.geometry.iat[0], other.communities.geometry.iat[0]])
        ]
        buildings = other.buildings.assign(building_id=other.buildings["building_id"] + "-island")
        scene = Scene(
            communities=communities,
            buildings=gpd.GeoDataFrame(gpd.pd.concat([scene.buildings, buildings], ignore_index=True), crs=CRS),
            streets=scene.streets,
        )
    return scene
