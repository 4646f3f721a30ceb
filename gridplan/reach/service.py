"""The 15-minute service circle (15分钟便民服务圈): who is within walking distance of a service point.

:func:`analyse_service` measures, along the walking network (:mod:`gridplan.reach.network`), each building's
distance to its nearest service point, flags it for each circle (300 / 500 / 1,000 m by default), sums the
covered households per grid, lists the blind spots (盲区: households outside every circle) and draws the
isochrones of every service point. :func:`site_service_points` proposes where ``p`` new service points
would cover the most uncovered households (the maximal covering location problem), exactly with HiGHS and
greedily. :func:`~gridplan.scenarios.service_points.generate_service_points` makes scenario service points where a scene has none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix, hstack, identity, vstack

from gridplan.core.results import Plan
from gridplan.core.scene import PreparedScene, Scene
from gridplan.errors import InputError
from gridplan.prepare.validate import as_prepared
from gridplan.vocabulary import NetworkReach

from .network import SERVICE_DEFAULTS, ServiceSettings, WalkingNetwork

__all__ = ["ServiceSettings", "ServiceCoverage", "SitingResult", "analyse_service", "site_service_points"]


def _flag(radius: float) -> str:
    return f"covered_{radius:g}m"


@dataclass(frozen=True)
class ServiceCoverage:
    """How far every building is from a service point, along the streets.

    Attributes
    ----------
    buildings
        One row per planned building: ``building_id``, ``grid_id``, ``community_id``, ``households``,
        ``nearest_service_m`` (walking metres from the building's representative point to the nearest
        service point, however far; NaN where no walk reaches one), ``nearest_point_id``, ``network_reach``
        (``on_network``; ``off_network``: no street within ``max_snap_m``; ``unreachable``: its streets lead
        to no service point), ``covered_<r>m`` per circle, ``covered`` (within
        ``settings.coverage_radius_m``), ``blind_spot`` (outside every circle); footprints in the scene's CRS.
    grids
        One row per grid: ``grid_id``, ``community_id``, ``households``, and per circle
        ``households_covered_<r>m`` and ``share_covered_<r>m`` (NaN for a grid without households).
    blind_spots
        The rows of ``buildings`` with ``blind_spot`` and households.
    isochrones
        ``point_id``, ``radius_m``, ``households`` reached within it, polygon: the area reached along the
        streets, in the scene's CRS.
    service_points
        The service points measured from, in the scene's CRS, with ``households_<r>m``: the households each
        reaches within each circle (a household within reach of two points counts at both).
    candidates
        Default sites for new service points: ``site_id``, ``source`` (building, poi), points in the scene CRS.
    network
        The walking network (in ``local_crs``), reused by :func:`site_service_points`.
    local_crs
        The metric CRS distances were measured in.
    settings
        The circles and network settings used.
    """

    buildings: gpd.GeoDataFrame
    grids: pd.DataFrame
    blind_spots: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame
    service_points: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    network: WalkingNetwork
    local_crs: object
    settings: ServiceSettings

    def summary(self) -> pd.DataFrame:
        """Households and buildings within each circle, one row per radius.

        Columns: ``radius_m``, ``households``, ``households_covered``, ``share_covered``, ``buildings_covered``,
        ``grids_fully_covered``; ``households_blind`` (outside every circle) is the same on every row.
        """
        total = float(self.buildings["households"].sum())
        rows = []
        for radius in self.settings.radii_m:
            flag = self.buildings[_flag(radius)]
            covered = float(self.buildings.loc[flag, "households"].sum())
            share = self.grids[f"share_covered_{radius:g}m"]
            rows.append(
                {
                    "radius_m": radius,
                    "households": total,
                    "households_covered": covered,
                    "share_covered": covered / total if total else np.nan,
                    "buildings_covered": int(flag.sum()),
                    "grids_fully_covered": int((share >= 1).sum()),
                    "households_blind": float(self.blind_spots["households"].sum()),
                }
            )
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class SitingResult:
    """New service points chosen to cover the most uncovered households (maximal covering location problem).

    Attributes
    ----------
    proposed_sites
        The exact (MIP) choice, at most ``p`` sites (fewer when more would add nothing): ``site_id``,
        ``households_covered`` (uncovered households each site reaches, overlaps counted at each), points in
        the candidates' CRS.
    households_covered
        Households newly covered by the exact choice.
    greedy_sites, greedy_households
        The same for the greedy choice (each step takes the site adding the most households).
    optimal
        Whether the exact choice is proven optimal (else it is the best found within the time limit, and
        never worse than greedy).
    upper_bound
        No choice of ``p`` sites covers more households than this (HiGHS's dual bound; equal to
        ``households_covered`` when optimal).
    p, radius_m
        Sites asked for and the circle they cover.
    households_uncovered
        Households outside the circle before any new site.
    households_reachable
        Those of them that some candidate site reaches within the circle: no choice, however many sites,
        covers more.
    exact_seconds, greedy_seconds
        Solve times.
    """

    proposed_sites: gpd.GeoDataFrame
    households_covered: float
    greedy_sites: gpd.GeoDataFrame
    greedy_households: float
    optimal: bool
    upper_bound: float
    p: int
    radius_m: float
    households_uncovered: float
    households_reachable: float
    exact_seconds: float
    greedy_seconds: float


def analyse_service(
    plan: Plan | None,
    scene: Scene | PreparedScene,
    settings: ServiceSettings = SERVICE_DEFAULTS,
    network: WalkingNetwork | None = None,
) -> ServiceCoverage:
    """Walking distances from every building to its nearest service point, and the circles they fall in.

    Parameters
    ----------
    plan
        The grids and building assignment (:func:`gridplan.partition.partition`); ``None`` measures the
        scene's buildings (households filled or estimated) without grids: ``grids`` is then empty.
    scene
        The scene planned, prepared (:func:`gridplan.pipeline.prepare_scene`), or plain (validated first), with a
        ``service_points`` layer (see :func:`~gridplan.scenarios.service_points.generate_service_points` for a scenario where it has none).
    settings
        Circles, coverage radius and walking network settings.
    network
        A walking network built from the scene's streets in its local metric CRS, to reuse one.

    Returns
    -------
    ServiceCoverage

    Raises
    ------
    InputError
        The scene has no service points, or ``network`` is in another CRS.
    """
    prepared = as_prepared(scene)
    local = prepared.local
    if local.service_points is None or len(local.service_points) == 0:
        raise InputError(
            "scene has no service_points layer: add one, or generate a scenario with "
            "scene.replace(service_points=generate_service_points(scene))",
            zh="场景没有 service_points（服务点）图层：请添加，或用 "
            "scene.replace(service_points=generate_service_points(scene)) 生成一个情景",
        )
    crs = local.crs
    if network is None:
        network = WalkingNetwork.from_streets(local.streets, settings)
    elif network.crs is not None and network.crs != crs:
        raise InputError(
            f"the walking network is in {network.crs.name}, the scene computes in {crs.name}",
            zh=f"步行路网的坐标参考系是 {network.crs.name}，而场景按 {crs.name} 计算",
        )
    points = _with_point_ids(local.service_points)
    buildings, grids = _buildings_and_grids(local, plan)
    at = buildings.geometry.representative_point().to_numpy()
    radii = np.asarray(settings.radii_m, dtype=float)

    # the true walk to the nearest service point, however far: a planner sees how far a blind spot is
    distance, index = network.nearest(at, points.geometry.to_numpy())
    on_network = network.snap(at)["edge"].to_numpy() >= 0
    buildings["households"] = buildings["households"].astype(float)
    buildings["nearest_service_m"] = np.where(np.isfinite(distance), distance, np.nan)
    buildings["nearest_point_id"] = np.where(index >= 0, points["point_id"].to_numpy()[np.maximum(index, 0)], None)
    buildings["network_reach"] = np.select(
        [~on_network, ~np.isfinite(distance)],
        [NetworkReach.OFF_NETWORK.value, NetworkReach.UNREACHABLE.value],
        NetworkReach.ON_NETWORK.value,
    )
    for radius in radii:
        buildings[_flag(radius)] = distance <= radius
    buildings["covered"] = distance <= settings.coverage_radius_m
    buildings["blind_spot"] = ~(distance <= radii.max())
    buildings = buildings.to_crs(prepared.crs)

    grids["households"] = grids["households"].astype(float)
    for radius in radii:
        covered = buildings.loc[buildings[_flag(radius)]].groupby("grid_id")["households"].sum()
        grids[f"households_covered_{radius:g}m"] = grids["grid_id"].map(covered).fillna(0.0).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            grids[f"share_covered_{radius:g}m"] = np.where(
                grids["households"] > 0, grids[f"households_covered_{radius:g}m"] / grids["households"], np.nan
            )

    points, isochrones = _circles(points, network, at, buildings["households"].to_numpy(), radii)
    isochrones = isochrones.to_crs(prepared.crs)

    return ServiceCoverage(
        buildings=buildings,
        grids=grids,
        blind_spots=buildings[buildings["blind_spot"] & (buildings["households"] > 0)],
        isochrones=isochrones,
        service_points=points.to_crs(prepared.crs),
        candidates=_default_candidates(prepared),
        network=network,
        local_crs=crs,
        settings=settings,
    )


def _buildings_and_grids(local, plan: Plan | None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Each building with its grid, community and households (in the local CRS), and the grids' households; with
    no plan, no grids."""
    if plan is None:
        assignment = local.buildings.assign(grid_id=None)
        if "community_id" not in assignment:
            assignment["community_id"] = None
        grids = pd.DataFrame(
            {
                "grid_id": pd.Series(dtype=object),
                "community_id": pd.Series(dtype=object),
                "households": pd.Series(dtype=float),
            }
        )
    else:
        assignment, grids = plan.assignment, plan.grids[["grid_id", "community_id", "households"]].copy()
    buildings = pd.DataFrame(assignment[["building_id", "grid_id", "community_id", "households"]]).merge(
        local.buildings[["building_id", "geometry"]], on="building_id", how="left", validate="one_to_one"
    )
    return gpd.GeoDataFrame(buildings, geometry="geometry", crs=local.crs), grids


def _circles(
    points: gpd.GeoDataFrame, network: WalkingNetwork, at: np.ndarray, households: np.ndarray, radii: np.ndarray
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The service points with the households each reaches within each radius (a household may be reached by
    several), and their walking circles (isochrones) in the network's CRS."""
    point_xy = points.geometry.to_numpy()
    reach = network.distances(point_xy, at, cutoff=radii.max()).tocoo()
    points = points.copy()
    for radius in radii:
        inside = reach.data <= radius
        points[f"households_{radius:g}m"] = np.bincount(
            reach.row[inside], weights=households[reach.col[inside]], minlength=len(points)
        )
    polygons = network.isochrones(point_xy, radii)
    isochrones = gpd.GeoDataFrame(
        {
            "point_id": np.repeat(points["point_id"].to_numpy(), len(radii)),
            "radius_m": np.tile(radii, len(points)),
            "households": [points[f"households_{r:g}m"].iat[i] for i in range(len(points)) for r in radii],
        },
        geometry=polygons.ravel(),
        crs=points.crs,
    )
    return points, isochrones


def site_service_points(
    coverage: ServiceCoverage,
    candidates: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    p: int = 1,
    radius: float | None = None,
    *,
    time_limit: float = 60.0,
) -> SitingResult:
    """Choose ``p`` new service points that cover the most households now outside the circle.

    The maximal covering location problem (MCLP), solved exactly as a mixed-integer programme with HiGHS
    (``scipy.optimize.milp``) and greedily for comparison: maximise ``Σ h_i y_i`` subject to
    ``y_i ≤ Σ_{j covers i} x_j``, ``Σ x_j ≤ p``, ``x`` binary, ``0 ≤ y ≤ 1``, where site ``j`` covers
    building ``i`` when their walking distance is within ``radius``.

    Parameters
    ----------
    coverage
        The current coverage (:func:`analyse_service`).
    candidates
        Candidate sites as points in the scene's CRS (a ``site_id`` column is used when present); by default
        every building's representative point and every POI (``coverage.candidates``).
    p
        New service points to place.
    radius
        The circle to cover, in metres (``settings.coverage_radius_m`` by default).
    time_limit
        Seconds HiGHS may spend; past it the best solution found is returned with ``optimal=False``.

    Returns
    -------
    SitingResult
    """
    if p < 0:
        raise InputError(f"p must be at least 0, got {p}", zh=f"新增服务点数 p 至少为 0，实为 {p}")
    radius = coverage.settings.coverage_radius_m if radius is None else float(radius)
    sites = _candidate_frame(coverage.candidates if candidates is None else candidates)
    buildings = coverage.buildings.to_crs(coverage.local_crs)
    distance = buildings["nearest_service_m"].to_numpy()
    demand = buildings[~(distance <= radius) & (buildings["households"] > 0)]
    households = demand["households"].to_numpy(dtype=float)
    reach = coverage.network.distances(
        demand.geometry.representative_point().to_numpy(), sites.geometry.to_crs(coverage.local_crs).to_numpy(), radius
    )
    # a stored 0 is a site at the building itself: every stored entry covers
    reach = csr_matrix((np.ones(reach.nnz, dtype=np.int8), reach.indices, reach.indptr), shape=reach.shape).tocsc()

    start = time.perf_counter()
    greedy = _greedy(reach, households, p)
    greedy_seconds = time.perf_counter() - start
    start = time.perf_counter()
    exact, optimal, bound = _exact(reach, households, p, time_limit, greedy)
    exact_seconds = time.perf_counter() - start

    def chosen(columns: np.ndarray) -> tuple[gpd.GeoDataFrame, float]:
        columns = np.asarray(columns, dtype=np.int64)
        frame = sites.iloc[columns].copy()
        frame["households_covered"] = reach[:, columns].T @ households
        return frame.reset_index(drop=True), float(households[_covered(reach, columns)].sum())

    exact_sites, exact_households = chosen(exact)
    greedy_sites, greedy_households = chosen(greedy)
    return SitingResult(
        proposed_sites=exact_sites,
        households_covered=exact_households,
        greedy_sites=greedy_sites,
        greedy_households=greedy_households,
        optimal=optimal,
        upper_bound=bound,
        p=p,
        radius_m=radius,
        households_uncovered=float(households.sum()),
        households_reachable=float(households[reach.tocsr().getnnz(axis=1) > 0].sum()),
        exact_seconds=exact_seconds,
        greedy_seconds=greedy_seconds,
    )


def _with_point_ids(points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    points = points.reset_index(drop=True).copy()
    if "point_id" not in points:
        points["point_id"] = [f"sp{i + 1}" for i in range(len(points))]
    points["point_id"] = points["point_id"].astype(str)
    return points


def _default_candidates(prepared: PreparedScene) -> gpd.GeoDataFrame:
    """Every building's representative point and every POI: places a service point could open (scene CRS)."""
    scene = prepared.scene
    buildings = gpd.GeoDataFrame(
        {"site_id": "building:" + scene.buildings["building_id"].astype(str), "source": "building"},
        geometry=scene.buildings.geometry.representative_point().to_numpy(),
        crs=scene.crs,
    )
    if scene.pois is None or len(scene.pois) == 0:
        return buildings.reset_index(drop=True)
    pois = gpd.GeoDataFrame(
        {"site_id": [f"poi:{i}" for i in range(len(scene.pois))], "source": "poi"},
        geometry=scene.pois.geometry.to_numpy(),
        crs=scene.pois.crs,
    ).to_crs(scene.crs)
    return pd.concat([buildings, pois], ignore_index=True)


def _candidate_frame(candidates) -> gpd.GeoDataFrame:
    if isinstance(candidates, gpd.GeoSeries):
        candidates = gpd.GeoDataFrame(geometry=candidates)
    frame = candidates.reset_index(drop=True).copy()
    if "site_id" not in frame:
        frame["site_id"] = [f"site{i + 1}" for i in range(len(frame))]
    return frame[
        ["site_id"] + [c for c in frame.columns if c not in ("site_id", frame.geometry.name)] + [frame.geometry.name]
    ]


def _greedy(reach, households: np.ndarray, p: int) -> np.ndarray:
    """Take, p times, the site adding the most still-uncovered households (ties: the lowest index)."""
    remaining = households.copy()
    chosen: list[int] = []
    reach_t = reach.T.tocsr()
    for _ in range(min(p, reach.shape[1])):
        gain = reach_t @ remaining
        if len(chosen):
            gain[chosen] = -1
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        chosen.append(best)
        remaining[reach_t[best].indices] = 0
    return np.array(chosen, dtype=np.int64)


def _exact(
    reach, households: np.ndarray, p: int, time_limit: float, greedy: np.ndarray
) -> tuple[np.ndarray, bool, float]:
    """The MCLP as a MIP: the chosen columns, whether they are proven optimal, and the bound on the optimum.

    Exact reductions first: households that no site reaches are dropped, households reached by the same set
    of sites are merged, and sites reaching the same set are one site. Where greedy already reaches every
    household it can reach, or ``p`` is 1 (greedy's single best site), greedy is optimal and no MIP is run.
    """
    greedy_households = households[_covered(reach, greedy)].sum()
    rows = reach.tocsr()
    reachable = np.flatnonzero((rows.getnnz(axis=1) > 0) & (households > 0))
    total = households[reachable].sum()
    if p <= 1 or greedy_households >= total - 1e-9:
        return greedy, True, float(greedy_households)
    rows = rows[reachable]
    groups, row_group = np.unique(_pattern_keys(rows), return_inverse=True)
    weight = np.bincount(row_group.ravel(), weights=households[reachable])
    first_row = np.unique(row_group.ravel(), return_index=True)[1]
    columns = rows[first_row].tocsc()
    alive = np.flatnonzero(columns.getnnz(axis=0) > 0)
    _, first_col = np.unique(_pattern_keys(columns[:, alive].T.tocsr()), return_index=True)
    sites = alive[np.sort(first_col)]
    if p >= len(sites):
        return sites, True, float(total)
    a = columns[:, sites].tocsr().astype(float)
    n_sites, n_demand = len(sites), len(groups)
    # variables: x (sites, binary) then y (share of a household group covered, in [0, 1])
    cost = np.concatenate([np.zeros(n_sites), -weight])
    cover = hstack([-a, identity(n_demand, format="csr")], format="csr")  # y_i - Σ x_j ≤ 0
    budget = csr_matrix(np.concatenate([np.ones(n_sites), np.zeros(n_demand)]))  # Σ x_j ≤ p
    constraints = LinearConstraint(
        vstack([cover, budget], format="csr"), np.full(n_demand + 1, -np.inf), np.r_[np.zeros(n_demand), p]
    )
    integrality = np.concatenate([np.ones(n_sites), np.zeros(n_demand)])
    result = milp(
        cost,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit, "disp": False},
    )
    bound = -result.mip_dual_bound if getattr(result, "mip_dual_bound", None) is not None else float(total)
    if result.x is None or -result.fun < greedy_households - 1e-6:  # a time-limited solve may trail greedy
        return greedy, False, min(bound, float(total))
    return sites[result.x[:n_sites] > 0.5], result.status == 0, min(bound, float(total))


def _pattern_keys(matrix) -> np.ndarray:
    """One key per row of a CSR matrix: the bytes of its sorted column indices (equal keys, equal rows)."""
    matrix.sort_indices()
    indices, indptr = matrix.indices, matrix.indptr
    return np.array([indices[indptr[i] : indptr[i + 1]].tobytes() for i in range(matrix.shape[0])], dtype=object)


def _covered(reach, columns: np.ndarray) -> np.ndarray:
    if len(columns) == 0:
        return np.zeros(reach.shape[0], dtype=bool)
    return np.asarray(reach[:, columns].sum(axis=1)).ravel() > 0
