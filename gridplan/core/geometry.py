"""Geometry helpers shared by several modules."""

from __future__ import annotations

import numpy as np
import shapely

#: Precision (metres) of grid polygons: vertices nanometres apart would cross once projected to degrees.
GRID_PRECISION_M = 1e-5
#: Detached pieces of a grid smaller than this in all (m²) are floating-point slivers, not territory.
SLIVER_M2 = 1.0
SEAM_M2 = 1e-3  # closing floating-point seams adds less than this


def points_along(lines, step: float) -> np.ndarray:
    """Points every ``step`` metres along (multi)lines, at the middle of each step, so each point stands
    for an equal length of line."""
    parts, owner, distance = positions_along(lines, step)
    return shapely.line_interpolate_point(parts[owner], distance)


def positions_along(lines, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where :func:`points_along` puts its points, without making them: the lines' parts, and each point's part
    and distance along it (to make the points a slice at a time)."""
    parts = shapely.get_parts(shapely.line_merge(lines) if lines.geom_type == "MultiLineString" else lines)
    parts = parts[shapely.get_type_id(parts) == 1]
    lengths = shapely.length(parts)
    counts = np.maximum(np.ceil(lengths / step).astype(int), 1)
    owner = np.repeat(np.arange(len(parts)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return parts, owner, (offset + 0.5) * (lengths[owner] / counts[owner])


def shared_boundaries(
    geoms: np.ndarray, same: np.ndarray | None = None, *, tolerance: float = 0.05, min_length: float = 1.0
):
    """Pairs of polygons (i < j) that share at least ``min_length`` of boundary, measured within
    ``tolerance`` (polygons cut by different operations meet within rounding); optionally only pairs
    with equal ``same`` labels. Returns ``(left, right, shared_lines, length)``."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    if same is not None:
        keep &= same[left] == same[right]
    left, right = left[keep], right[keep]
    shared = shared_lines(geoms[left], geoms[right], tolerance=tolerance, quad_segs=1)
    length = shapely.length(shared)
    keep = length >= min_length
    return left[keep], right[keep], shared[keep], length[keep]


def shared_lines(geoms, others, *, tolerance: float, quad_segs: int = 8):
    """The boundary of each of ``geoms`` that runs within ``tolerance`` of ``others`` (element by element,
    or one against many): what two polygons cut by different operations share."""
    return shapely.intersection(shapely.boundary(geoms), shapely.buffer(others, tolerance, quad_segs=quad_segs))


def shared_length(geoms, others, *, tolerance: float, quad_segs: int = 8):
    """The length of :func:`shared_lines`: how much boundary ``geoms`` share with ``others``."""
    return shapely.length(shared_lines(geoms, others, tolerance=tolerance, quad_segs=quad_segs))


def weighted_centres(
    labels: np.ndarray, x: np.ndarray, y: np.ndarray, weight: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``weight``-weighted centre of the points of each label ``0 … k-1`` and the weight of each (a label
    without weight has its centre at 0, 0): household-weighted centres of grids and atoms."""
    total = np.bincount(labels, weights=weight, minlength=k)
    safe = np.where(total > 0, total, 1)
    return (
        np.bincount(labels, weights=weight * x, minlength=k) / safe,
        np.bincount(labels, weights=weight * y, minlength=k) / safe,
        total,
    )


def heal(polygon):
    """One polygon from atoms that tile it: close floating-point seams, and drop detached slivers of less
    than ``SLIVER_M2`` in all (the gap metric still counts them); a real second piece is kept, and counted.

    Closing seams never takes ground: pieces that meet at points round another grid's ground stay apart
    rather than swallow it."""
    if polygon.geom_type == "Polygon":
        return polygon
    healed = shapely.buffer(shapely.buffer(polygon, 1e-6, join_style="mitre"), -1e-6, join_style="mitre")
    # neither takes ground nor loses it: a degenerate piece can make the buffers collapse the whole polygon
    if healed.geom_type == "Polygon" and abs(healed.area - polygon.area) < SEAM_M2:
        return healed
    parts = shapely.get_parts(polygon)
    areas = shapely.area(parts)
    largest = int(np.argmax(areas))
    if areas.sum() - areas[largest] < SLIVER_M2:
        return parts[largest]
    return polygon
