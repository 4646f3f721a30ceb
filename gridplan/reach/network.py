"""The walking network (步行网络): street lines as a graph, distances along it, isochrones.

Every distance gridplan reports for the 15-minute service circle (15分钟便民服务圈) is measured along this
graph; the only straight legs are the snap legs from a point (a building, a service point) to the nearest
street.

How the graph is built (:meth:`WalkingNetwork.from_streets`):

- streets of the classes in :attr:`ServiceSettings.excluded_highways` (motorways, trunk roads and their
  links, roads under construction) are left out: nobody walks along them;
- the remaining lines are noded where they cross or meet (``shapely.union_all`` with a precision grid of
  :attr:`ServiceSettings.node_grid_m`), so two streets drawn across each other without a shared vertex are
  joined at the crossing, and endpoints within the grid of each other become one node;
- **over- and underpasses**: where the streets carry OSM's ``bridge``, ``tunnel`` or ``layer`` columns, lines
  with ``bridge``/``tunnel`` set (anything but ``no``) or a non-zero ``layer`` are kept out of the noding and
  join the rest only at vertices they share with it (OSM draws a bridge's ramps onto the street network this
  way), so a footway under a flyover is not joined to it. Without those columns (gridplan's OSM importer keeps
  only ``highway`` and ``name``) every crossing is a junction: at worst this shortens a few walks across
  an elevated road;
- every straight segment between consecutive vertices is one edge, weighted by its length; nodes are the
  distinct vertices. The graph is a symmetric :class:`scipy.sparse.csr_matrix`.

Points are snapped to the nearest *segment*, not the nearest node: each point becomes a virtual node on its
segment (splitting it at the foot of the perpendicular), linked to the point by the snap leg. A point farther
than :attr:`ServiceSettings.max_snap_m` from every street is not on the network: its distances are unknown
(never stored, ``inf`` from :meth:`WalkingNetwork.nearest`).

Isochrones (等时圈) are the edge pieces reachable within a distance, with the snap leg, buffered by
:attr:`ServiceSettings.isochrone_buffer_m` and unioned: the area a walker reaches, not a circle.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from gridplan.errors import InputError
from gridplan.settings import SERVICE_DEFAULTS, ServiceSettings

#: Dense Dijkstra rows are computed in chunks of at most this many cells (64 MB of float64).
_CHUNK_CELLS = 8_000_000
#: Lower bound of an edge weight: csgraph drops explicit zeros, so a zero-length edge would vanish.
_MIN_WEIGHT = 1e-9
#: Distances within this of the cutoff are kept, so the zero-length stand-ins never push one over it.
_TOLERANCE_M = 1e-6


@dataclass(frozen=True)
class _Attached:
    """The network with points attached: virtual foot nodes split their segments, point nodes hang off them."""

    graph: csr_matrix
    xy: np.ndarray  # coordinates of every node of ``graph``
    edges: np.ndarray  # (m, 2) node pairs, one row per undirected edge
    lengths: np.ndarray  # (m,)
    point_node: np.ndarray  # node of each input point, -1 where the point is not on the network


class WalkingNetwork:
    """A walking graph (步行网络) of straight street segments, with distances in metres along it.

    Build one with :meth:`from_streets`. Attributes: ``xy`` (node coordinates), ``edges`` (node pairs),
    ``lengths`` (edge lengths), ``graph`` (symmetric CSR adjacency of lengths), ``crs``.
    """

    def __init__(
        self,
        xy: np.ndarray,
        edges: np.ndarray,
        lengths: np.ndarray,
        crs=None,
        settings: ServiceSettings = SERVICE_DEFAULTS,
    ):
        self.xy = np.asarray(xy, dtype=float)
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.lengths = np.asarray(lengths, dtype=float)
        self.crs = crs
        self.settings = settings
        self.graph = _symmetric(self.edges, self.lengths, len(self.xy))
        segments = shapely.linestrings(
            self.xy[self.edges].reshape(-1, 2), indices=np.repeat(np.arange(len(self.edges)), 2)
        )
        self._tree = shapely.STRtree(segments)

    @classmethod
    def from_streets(cls, streets: gpd.GeoDataFrame, settings: ServiceSettings = SERVICE_DEFAULTS) -> "WalkingNetwork":
        """The walking graph of a street layer.

        Parameters
        ----------
        streets
            Lines with a ``highway`` column, in a metric CRS; optional ``bridge``, ``tunnel``, ``layer``.
        settings
            Excluded classes, noding grid and snap tolerance.

        Returns
        -------
        WalkingNetwork
        """
        if streets.crs is not None and not (
            streets.crs.is_projected and streets.crs.axis_info[0].unit_name in ("metre", "meter")
        ):
            raise InputError(
                f"streets must be in a metric CRS to build a walking network, got {streets.crs.name}",
                zh=f"构建步行路网需要以米为单位的坐标参考系，但道路图层是 {streets.crs.name}",
            )
        walkable = streets[~streets["highway"].astype(str).str.lower().isin(settings.excluded_highways)]
        geoms = walkable.geometry.to_numpy()
        elevated = _elevated(walkable)
        grid = settings.node_grid_m
        ground = (
            shapely.get_parts(shapely.union_all(geoms[~elevated], grid_size=grid))
            if (~elevated).any()
            else np.array([])
        )
        raised = shapely.get_parts(shapely.set_precision(geoms[elevated], grid)) if elevated.any() else np.array([])
        lines = np.concatenate([ground, raised])
        lines = lines[shapely.get_type_id(lines) == 1] if len(lines) else lines
        if len(lines) == 0:
            return cls(np.empty((0, 2)), np.empty((0, 2)), np.empty(0), streets.crs, settings)
        coords, owner = shapely.get_coordinates(lines, return_index=True)
        keys = np.round(coords / grid).astype(np.int64)
        unique, node = np.unique(keys, axis=0, return_inverse=True)
        node = node.ravel()
        xy = unique * grid
        consecutive = owner[1:] == owner[:-1]
        a, b = node[:-1][consecutive], node[1:][consecutive]
        keep = a != b
        a, b = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
        length = np.hypot(*(xy[a] - xy[b]).T)
        # two streets drawn over each other give one edge: the shorter
        frame = (
            pd.DataFrame({"a": a, "b": b, "length": length})
            .groupby(["a", "b"], sort=True)["length"]
            .min()
            .reset_index()
        )
        return cls(xy, frame[["a", "b"]].to_numpy(), frame["length"].to_numpy(), streets.crs, settings)

    @property
    def total_length(self) -> float:
        """Length of the network in metres."""
        return float(self.lengths.sum())

    def snap(self, points) -> pd.DataFrame:
        """Where each point joins the network.

        Returns
        -------
        pandas.DataFrame
            One row per point: ``edge`` (index into ``edges``, -1 when farther than ``max_snap_m``), ``t``
            (position along the edge, 0 at its first node, 1 at its second), ``snap_m`` (the straight leg),
            ``x``, ``y`` (the foot on the edge).
        """
        points = _points(points)
        n = len(points)
        edge = np.full(n, -1, dtype=np.int64)
        if n and len(self.edges):
            which, hit = self._tree.query_nearest(points, max_distance=self.settings.max_snap_m, all_matches=False)
            edge[which] = hit
        on = edge >= 0
        p = shapely.get_coordinates(points) if n else np.empty((0, 2))
        a = self.xy[self.edges[edge[on], 0]]
        d = self.xy[self.edges[edge[on], 1]] - a
        t = np.zeros(n)
        t[on] = np.clip(
            np.einsum("ij,ij->i", p[on] - a, d) / np.maximum(np.einsum("ij,ij->i", d, d), _MIN_WEIGHT), 0, 1
        )
        foot = np.full((n, 2), np.nan)
        foot[on] = a + t[on, None] * d
        snap = np.where(on, np.hypot(*(p - foot).T), np.inf)
        return pd.DataFrame({"edge": edge, "t": t, "snap_m": snap, "x": foot[:, 0], "y": foot[:, 1]})

    def distances(self, sources, targets, cutoff: float) -> csr_matrix:
        """Walking distances in metres from every source to every target, up to ``cutoff``.

        Parameters
        ----------
        sources, targets
            Arrays (or GeoSeries) of shapely points in the network's CRS.
        cutoff
            Largest distance kept.

        Returns
        -------
        scipy.sparse.csr_matrix
            Shape ``(len(sources), len(targets))``; entry (i, j) is the distance along the network including
            both snap legs, stored only where it is ``<= cutoff`` (to 1 µm). An explicit 0 is the same
            place on a street; two points in one place off the street are two snap legs apart. Points off
            the network have no entries.
        """
        sources, targets = _points(sources), _points(targets)
        ns, nt = len(sources), len(targets)
        attached = self._attach(np.concatenate([sources, targets]))
        src, tgt = attached.point_node[:ns], attached.point_node[ns:]
        flip = nt < ns  # run Dijkstra from the smaller side
        rows, cols = (tgt, src) if flip else (src, tgt)
        col_on = np.flatnonzero(cols >= 0)
        r_idx, c_idx, values = [], [], []
        row_on = np.flatnonzero(rows >= 0)
        chunk = max(1, _CHUNK_CELLS // max(attached.graph.shape[0], 1))
        for start in range(0, len(row_on), chunk):
            block = row_on[start : start + chunk]
            d = dijkstra(attached.graph, indices=rows[block], limit=cutoff + _TOLERANCE_M)[:, cols[col_on]]
            i, j = np.nonzero(d <= cutoff + _TOLERANCE_M)
            r_idx.append(block[i])
            c_idx.append(col_on[j])
            values.append(d[i, j])
        r = np.concatenate(r_idx) if r_idx else np.empty(0, dtype=np.int64)
        c = np.concatenate(c_idx) if c_idx else np.empty(0, dtype=np.int64)
        v = np.concatenate(values) if values else np.empty(0)
        v = np.where(v <= _TOLERANCE_M, 0.0, v)
        if flip:
            r, c = c, r
        return csr_matrix((v, (r, c)), shape=(ns, nt))

    def nearest(self, sources, targets, cutoff: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """For each source, the walking distance to its nearest target and that target's index.

        One multi-source Dijkstra from all targets at once, stopped at ``cutoff``.

        Returns
        -------
        distance, index
            ``distance`` in metres (``inf`` where no target is within ``cutoff`` or the source is off the
            network) and ``index`` into ``targets`` (-1 there).
        """
        sources, targets = _points(sources), _points(targets)
        ns = len(sources)
        distance = np.full(ns, np.inf)
        index = np.full(ns, -1, dtype=np.int64)
        attached = self._attach(np.concatenate([sources, targets]))
        src, tgt = attached.point_node[:ns], attached.point_node[ns:]
        tgt_on = np.flatnonzero(tgt >= 0)
        if len(tgt_on) == 0:
            return distance, index
        d, _, origin = dijkstra(
            attached.graph, indices=tgt[tgt_on], limit=cutoff + _TOLERANCE_M, min_only=True, return_predecessors=True
        )
        on = src >= 0
        reached = np.zeros(ns, dtype=bool)
        reached[on] = np.isfinite(d[src[on]])
        distance[reached] = d[src[reached]]
        node_target = np.full(attached.graph.shape[0], -1, dtype=np.int64)
        node_target[tgt[tgt_on]] = tgt_on
        index[reached] = node_target[origin[src[reached]]]
        distance[reached] = np.where(distance[reached] <= _TOLERANCE_M, 0.0, distance[reached])
        return distance, index

    def isochrone(self, point, distance: float, buffer_m: float | None = None):
        """The isochrone polygon of one point and one walking distance (see :meth:`isochrones`)."""
        return self.isochrones([point], [distance], buffer_m)[0, 0]

    def isochrones(self, points, radii, buffer_m: float | None = None) -> np.ndarray:
        """Isochrone polygons (等时圈): the street pieces reachable from each point within each radius.

        Parameters
        ----------
        points
            Shapely points in the network's CRS.
        radii
            Walking distances in metres.
        buffer_m
            Half-width of the band around the reachable pieces (``settings.isochrone_buffer_m`` by default).

        Returns
        -------
        numpy.ndarray
            Polygons of shape ``(len(points), len(radii))``; empty polygons for points off the network.
        """
        points = _points(points)
        radii = np.atleast_1d(np.asarray(radii, dtype=float))
        buffer_m = self.settings.isochrone_buffer_m if buffer_m is None else buffer_m
        out = np.full((len(points), len(radii)), shapely.Polygon(), dtype=object)
        attached = self._attach(points)
        on = np.flatnonzero(attached.point_node >= 0)
        if len(on) == 0 or len(radii) == 0:
            return out
        limit = radii.max()
        chunk = max(1, _CHUNK_CELLS // attached.graph.shape[0])
        ends = attached.xy[attached.edges]  # (m, 2 ends, 2 coords)
        for start in range(0, len(on), chunk):
            block = on[start : start + chunk]
            dist = dijkstra(attached.graph, indices=attached.point_node[block], limit=limit)
            for row, i in enumerate(block):
                da, db = dist[row, attached.edges[:, 0]], dist[row, attached.edges[:, 1]]
                for k, r in enumerate(radii):
                    # one buffer per piece, then a union: far faster in GEOS than buffering the whole
                    out[i, k] = shapely.union_all(
                        shapely.buffer(_reachable(ends, attached.lengths, da, db, r), buffer_m, quad_segs=4)
                    )
        return out

    def _attach(self, points: np.ndarray) -> _Attached:
        """The graph with each point as a node of its own, joined to a virtual node on its nearest segment."""
        snap = self.snap(points)
        n_nodes, n = len(self.xy), len(points)
        on = np.flatnonzero(snap["edge"].to_numpy() >= 0)
        k = len(on)
        edge = snap["edge"].to_numpy()[on]
        t = snap["t"].to_numpy()[on]
        foot = n_nodes + np.arange(k)
        node = n_nodes + k + np.arange(k)
        point_node = np.full(n, -1, dtype=np.int64)
        point_node[on] = node
        xy = np.vstack([self.xy, snap[["x", "y"]].to_numpy()[on], shapely.get_coordinates(points[on]).reshape(-1, 2)])

        order = np.lexsort((t, edge))
        e, ts, fs = edge[order], t[order], foot[order]
        first = np.r_[True, e[1:] != e[:-1]] if k else np.empty(0, dtype=bool)
        last = np.r_[e[1:] != e[:-1], True] if k else np.empty(0, dtype=bool)
        u, v, length = self.edges[e, 0], self.edges[e, 1], self.lengths[e]
        inner = ~first[1:] if k else np.empty(0, dtype=bool)
        pieces = [
            (u[first], fs[first], length[first] * ts[first]),
            (fs[:-1][inner], fs[1:][inner], length[1:][inner] * np.diff(ts)[inner]),
            (fs[last], v[last], length[last] * (1 - ts[last])),
            (foot, node, snap["snap_m"].to_numpy()[on]),
        ]
        untouched = np.ones(len(self.edges), dtype=bool)
        untouched[edge] = False
        pieces.append((self.edges[untouched, 0], self.edges[untouched, 1], self.lengths[untouched]))
        a = np.concatenate([p[0] for p in pieces]).astype(np.int64)
        b = np.concatenate([p[1] for p in pieces]).astype(np.int64)
        w = np.concatenate([p[2] for p in pieces]).astype(float)
        edges = np.column_stack([a, b])
        return _Attached(_symmetric(edges, w, len(xy)), xy, edges, w, point_node)


def _symmetric(edges: np.ndarray, lengths: np.ndarray, n: int) -> csr_matrix:
    """Symmetric CSR adjacency; parallel edges keep the shortest (a sum would lengthen them)."""
    a = np.concatenate([edges[:, 0], edges[:, 1]])
    b = np.concatenate([edges[:, 1], edges[:, 0]])
    w = np.maximum(np.concatenate([lengths, lengths]), _MIN_WEIGHT)
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])] if len(a) else np.empty(0, dtype=bool)
    return coo_matrix((w[first], (a[first], b[first])), shape=(n, n)).tocsr()


def _reachable(ends: np.ndarray, lengths: np.ndarray, da: np.ndarray, db: np.ndarray, radius: float) -> np.ndarray:
    """Segments: the parts of every edge within ``radius`` of the origin, given the distances to its ends."""
    whole = (da + db + lengths) <= 2 * radius
    from_a = ~whole & (da < radius)
    from_b = ~whole & (db < radius)
    direction = ends[:, 1] - ends[:, 0]
    frac_a = np.clip((radius - da[from_a]) / np.maximum(lengths[from_a], _MIN_WEIGHT), 0, 1)
    frac_b = np.clip((radius - db[from_b]) / np.maximum(lengths[from_b], _MIN_WEIGHT), 0, 1)
    segments = np.concatenate(
        [
            ends[whole],
            np.stack([ends[from_a, 0], ends[from_a, 0] + frac_a[:, None] * direction[from_a]], axis=1),
            np.stack([ends[from_b, 1], ends[from_b, 1] - frac_b[:, None] * direction[from_b]], axis=1),
        ]
    )
    return shapely.linestrings(segments)


def _elevated(streets: gpd.GeoDataFrame) -> np.ndarray:
    """Bridges, tunnels and lines on another layer: joined to the rest only at shared vertices."""
    flag = np.zeros(len(streets), dtype=bool)
    for column in ("bridge", "tunnel"):
        if column in streets:
            value = streets[column].astype("string").str.lower()
            flag |= (value.notna() & ~value.isin(["no", "false", "0", ""])).to_numpy(dtype=bool)
    if "layer" in streets:
        layer = pd.to_numeric(streets["layer"], errors="coerce").fillna(0).to_numpy()
        flag |= layer != 0
    return flag


def _points(points) -> np.ndarray:
    """Points as a numpy array of shapely geometries (from a GeoSeries, a list or an array)."""
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        points = points.geometry.to_numpy()
    return np.asarray(points, dtype=object).ravel()
