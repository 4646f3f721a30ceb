"""Real multi-community scenes cut from the extracts in ../shared/data, for tests that need communities
side by side: Nanjing 新街口 cut into four communities of different sizes by straight, slightly oblique
lines (as civil-affairs boundaries do, they run through some buildings), beside Beijing 学院路 and
Wuhan 光谷, each one community."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry import LineString

from gridplan.core.scene import Scene
from gridplan.io.osm import WGS84, import_osm

NANJING = "nanjing_xinjiekou_osm/nanjing_xinjiekou.osm"
OTHERS = {"bj": "beijing_xueyuanlu_osm/beijing_xueyuanlu.osm", "wh": "wuhan_guanggu_osm_tiles/data.gpkg"}


def _split(polygon, line):
    """The parts of ``polygon`` on either side of ``line`` (long enough to cross it), west/south first."""
    parts = shapely.get_parts(shapely.ops.split(polygon, line))
    return sorted(parts, key=lambda p: p.centroid.x + p.centroid.y)


#: (west, south, east, north) of the Nanjing extract's buildings, in degrees.
NANJING_BOX = (118.7621, 32.0344, 118.7971, 32.0525)


def nanjing_boundaries() -> gpd.GeoDataFrame:
    """Four communities tiling :data:`NANJING_BOX`: split at about 40 % of its width by a slightly oblique
    line, the west part at about 35 % of its height and the east part at about 60 %."""
    x0, y0, x1, y1 = NANJING_BOX
    w, h = x1 - x0, y1 - y0
    west, east = _split(shapely.box(*NANJING_BOX), LineString([(x0 + 0.37 * w, y0 - h), (x0 + 0.43 * w, y1 + h)]))
    sw, nw = _split(west, LineString([(x0 - w, y0 + 0.38 * h), (x1 + w, y0 + 0.32 * h)]))
    se, ne = _split(east, LineString([(x0 - w, y0 + 0.57 * h), (x1 + w, y0 + 0.63 * h)]))
    return gpd.GeoDataFrame({"community_id": ["nj1", "nj2", "nj3", "nj4"]}, geometry=[nw, ne, sw, se], crs=WGS84)


def real_communities_scene(shared_data: Path) -> Scene:
    """Six real communities (Nanjing cut in four, Beijing, Wuhan) in EPSG:4326, not yet validated.

    Deterministic: the same files give the same scene. Building ids are prefixed by city (``nj:w123``).
    """
    parts = [("nj", import_osm(shared_data / NANJING, boundary=nanjing_boundaries())[0])]
    for prefix, path in OTHERS.items():
        scene = import_osm(shared_data / path)[0]
        parts.append((prefix, scene.replace(communities=scene.communities.assign(community_id=prefix))))

    def layer(name: str, prefix_ids: bool = False) -> gpd.GeoDataFrame | None:
        frames = []
        for prefix, scene in parts:
            frame = getattr(scene, name)
            if frame is None:
                continue
            if prefix_ids:
                frame = frame.assign(building_id=prefix + ":" + frame["building_id"].astype(str))
            frames.append(frame.to_crs(WGS84))
        return (
            gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=WGS84) if frames else None
        )

    return Scene(
        communities=layer("communities"),
        buildings=layer("buildings", prefix_ids=True),
        streets=layer("streets"),
        barriers=layer("barriers"),
    )
