"""Party-building coverage of a plan (党建网格): branches in grids, joint branches, member–household links.

Three checks an organization department (组织部) makes on a grid layout:

1. **A branch in every grid** (支部建在网格上). Each grid counts its full (正式) and probationary (预备)
   members and the party organizations located in it. A grid with at least ``min_full_members`` full
   members can form its own branch (``own_branch``); one with more than ``max_branch_members`` members
   needs party groups or a general branch (党总支: ``too_large``); one with fewer full members needs a
   joint branch (联合党支部: ``needs_joint_branch``).
2. **Joint branches.** Grids lacking a branch are grouped with adjacent grids that also lack one, at most
   ``max_joint_units`` grids, until the group reaches ``min_full_members`` full members (the rule chosen:
   see :func:`propose_branches`). A grid no such group can include joins an adjacent joint branch with
   room, else the branch of its nearest neighbouring grid that has one (``joins_branch_of``), else it is
   reported with the reason.
3. **Every member in a grid, every household linked** (党员联户). Members whose building is unknown or
   outside every grid are listed. Each household is linked to a member of its grid's branch, between
   ``link_min_households`` and ``link_max_households`` per member, by a capacitated assignment solved
   exactly (a transportation problem, HiGHS through :func:`scipy.optimize.linprog`): first as many
   households linked as the members' capacity and reach allow, then as few members below the minimum as
   possible, then the least total walking distance.

Member data is personal: results hold member ids in tables for the organization department, and
:meth:`PartyCoverage.summary` reports counts only. Where a scene has no members, :func:`~gridplan.scenarios.party.generate_members`
makes a seeded, labelled scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import linprog

from gridplan.core.geometry import shared_length
from gridplan.core.results import Plan
from gridplan.core.scene import PreparedScene, Scene
from gridplan.engine.units import MIN_SHARED_M, SNAP_M
from gridplan.errors import GridplanError, InputError
from gridplan.prepare.validate import as_prepared
from gridplan.scenarios.party import generate_members
from gridplan.settings import PARTY_DEFAULTS, PartySettings
from gridplan.vocabulary import BranchStatus, MemberStatus, UnlinkedReason, UnplacedReason, normalise_status

#: ``distance(sources, targets, cutoff)``: shapely point arrays in a metric CRS → sparse matrix
#: (sources × targets) of walking metres, only entries ≤ ``cutoff`` stored.
DistanceFunction = Callable[[np.ndarray, np.ndarray, float], sp.csr_matrix]

FULL, PROBATIONARY, UNKNOWN = MemberStatus.FULL.value, MemberStatus.PROBATIONARY.value, MemberStatus.UNKNOWN.value
OWN_BRANCH, TOO_LARGE = BranchStatus.OWN_BRANCH.value, BranchStatus.TOO_LARGE.value
NEEDS_JOINT_BRANCH, JOINS_BRANCH_OF, NO_BRANCH = (
    BranchStatus.NEEDS_JOINT_BRANCH.value,
    BranchStatus.JOINS_BRANCH_OF.value,
    BranchStatus.NO_BRANCH.value,
)


@dataclass(frozen=True)
class PartyCoverage:
    """Party-building coverage of a plan.

    Attributes
    ----------
    grid_party
        One row per grid: ``grid_id``, ``community_id``, ``full_members``, ``probationary_members``,
        ``members``, ``orgs`` (party organizations located in it), ``households``, ``status`` (a
        :class:`~gridplan.vocabulary.BranchStatus`: ``own_branch``, ``too_large``, ``needs_joint_branch``,
        ``joins_branch_of``, ``no_branch``) and ``branch_id``: ``B-<grid_id>`` for a grid's own branch (or
        the one a ``joins_branch_of`` grid joins), ``J-<first grid_id>`` for the joint branch proposed to a
        ``needs_joint_branch`` grid, ``None`` for a ``no_branch`` grid (unfixable).
    joint_branches
        Proposed joint branches (联合党支部): ``branch_id``, ``grids`` (list of grid ids), ``communities``,
        ``full_members``, ``members``.
    unfixable
        ``(grid_id, reason)`` for grids lacking a branch that no rule could place.
    member_links
        党员联户: ``member_id``, ``building_id``, ``households``, ``distance_m``; a member may link
        several buildings and a building several members.
    unlinked
        Households no member links, per grid and reason: ``grid_id``, ``households``, ``reason``
        (``capacity``, ``out_of_reach``, ``no_members``), ``detail``.
    unplaced_members
        Members in no grid: ``member_id``, ``building_id``, ``reason`` (``no_building_id``,
        ``unknown_building``, ``outside_grids``, ``duplicate_member_id``).
    members_below_min
        Placed members linking fewer than ``link_min_households`` (too many members for the households).
    generated
        The members are a generated scenario, not data.
    distance
        How link distances were measured (``euclidean`` fallback or the distance function's name).
    settings
        The rules applied.
    """

    grid_party: pd.DataFrame
    joint_branches: pd.DataFrame
    unfixable: list[tuple[str, str]]
    member_links: pd.DataFrame
    unlinked: pd.DataFrame
    unplaced_members: pd.DataFrame
    members_below_min: int
    generated: bool
    distance: str
    settings: PartySettings = PARTY_DEFAULTS

    @property
    def households(self) -> int:
        """Households in all grids."""
        return int(self.grid_party["households"].sum())

    @property
    def linked_households(self) -> int:
        """Households linked to a member."""
        return int(self.member_links["households"].sum())

    def link_distance(self) -> tuple[float, float]:
        """Household-weighted mean and maximum link distance (metres)."""
        links = self.member_links
        if links.empty:
            return float("nan"), float("nan")
        mean = float(np.average(links["distance_m"], weights=links["households"]))
        return mean, float(links["distance_m"].max())

    def summary(self) -> str:
        """Counts per status, branches, members and links: aggregates only, no member ids."""
        gp = self.grid_party
        status = gp["status"].value_counts()
        mean, worst = self.link_distance()
        unlinked = self.unlinked.groupby("reason")["households"].sum()
        lines = [
            f"party members: {int(gp['members'].sum())} in grids ({int(gp['full_members'].sum())} full), "
            f"{len(self.unplaced_members)} in no grid" + (" — generated scenario, not data" if self.generated else ""),
            f"grids: {len(gp)}; " + ", ".join(f"{k} {int(status.get(k.value, 0))}" for k in BranchStatus),
            f"joint branches proposed: {len(self.joint_branches)}; grids unfixable: {len(self.unfixable)}",
            f"households linked: {self.linked_households} of {self.households}"
            + ("".join(f"; unlinked {int(v)} ({k})" for k, v in unlinked.items())),
            f"link distance ({self.distance}): mean {mean:.0f} m, max {worst:.0f} m; "
            f"members below {self.settings.link_min_households} households: {self.members_below_min}",
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Entry point


def analyse_party(
    plan: Plan,
    scene: Scene | PreparedScene,
    settings: PartySettings = PARTY_DEFAULTS,
    distance: DistanceFunction | None = None,
    *,
    members: pd.DataFrame | None = None,
) -> PartyCoverage:
    """Check party-building coverage of a plan: branches per grid, joint branches, member–household links.

    Parameters
    ----------
    plan
        A plan of ``scene`` (:func:`gridplan.partition.partition`).
    scene
        The scene planned, prepared (:func:`gridplan.pipeline.prepare_scene`), or plain (validated first); its
        ``party_members`` (``member_id``, ``building_id``, optional ``status`` full/probationary, 正式/预备;
        without a status column every member counts as full) and ``party_orgs`` are used. Without members,
        :func:`~gridplan.scenarios.party.generate_members` makes a seeded scenario and the result says so.
    settings
        Branch and link rules.
    distance
        Walking distance between points in the plan's metric CRS, e.g.
        ``gridplan.reach.network.WalkingNetwork.from_streets(streets).distances``. By default the straight-line
        distance, a fallback that understates walks across blocks.
    members
        Members to use instead of the scene's.

    Returns
    -------
    PartyCoverage
    """
    local = as_prepared(scene).local
    grids = plan.grids.to_crs(local.crs).reset_index(drop=True)
    if members is None:
        members = local.party_members
    if members is None:
        members = generate_members(plan.assignment, settings=settings)
    generated = bool("generated" in members and members["generated"].fillna(False).astype(bool).any())

    placed, unplaced = place_members(members, plan.assignment, local.buildings)
    table = _grid_table(grids, placed, plan.assignment, local.party_orgs)
    neighbours = grid_neighbours(grids)
    status, branch_id, joint, unfixable = propose_branches(table, neighbours, grids.geometry.centroid, settings)
    table["status"], table["branch_id"] = status, branch_id

    points = building_points(local.buildings, local.crs)
    links, unlinked, below = link_households(
        table, placed, plan.assignment, points, settings, distance or euclidean_distances
    )
    return PartyCoverage(
        grid_party=table,
        joint_branches=joint,
        unfixable=unfixable,
        member_links=links,
        unlinked=unlinked,
        unplaced_members=unplaced,
        members_below_min=below,
        generated=generated,
        distance="euclidean" if distance is None else getattr(distance, "__qualname__", type(distance).__name__),
        settings=settings,
    )


# --------------------------------------------------------------------------------------------------
# Members in grids


def place_members(
    members: pd.DataFrame, assignment: pd.DataFrame, buildings: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members with their grid, and those in no grid with the reason.

    Returns
    -------
    placed
        ``member_id``, ``building_id``, ``status``, ``grid_id``.
    unplaced
        ``member_id``, ``building_id``, ``reason``: ``no_building_id``, ``unknown_building`` (no building
        has the id), ``outside_grids`` (the building is in no grid), ``duplicate_member_id`` (a repeat).
    """
    for column in ("member_id", "building_id"):
        if column not in members:
            raise InputError(f"party members have no {column!r} column", zh=f"党员图层没有 {column!r} 列")
    m = pd.DataFrame(
        {
            "member_id": members["member_id"].astype("string").to_numpy(),
            "building_id": members["building_id"].astype("string").to_numpy(),
            "status": normalise_status(members.get("status"), members.index).to_numpy(),
        }
    )
    grid_of = pd.Series(assignment["grid_id"].to_numpy(), index=assignment["building_id"].astype(str).to_numpy())
    grid_of = grid_of[~grid_of.index.duplicated()]
    m["grid_id"] = m["building_id"].map(grid_of)
    known = m["building_id"].isin(set(buildings["building_id"].astype(str)))
    reason = np.select(
        [
            m["member_id"].duplicated().to_numpy(),
            m["building_id"].isna().to_numpy(),
            ~known.to_numpy(),
            m["grid_id"].isna().to_numpy(),
        ],
        [
            UnplacedReason.DUPLICATE_MEMBER_ID.value,
            UnplacedReason.NO_BUILDING_ID.value,
            UnplacedReason.UNKNOWN_BUILDING.value,
            UnplacedReason.OUTSIDE_GRIDS.value,
        ],
        default="",
    )
    out = reason != ""
    unplaced = m.loc[out, ["member_id", "building_id"]].assign(reason=reason[out]).reset_index(drop=True)
    return m.loc[~out].reset_index(drop=True), unplaced


def _grid_table(
    grids: gpd.GeoDataFrame, placed: pd.DataFrame, assignment: pd.DataFrame, orgs: gpd.GeoDataFrame | None
) -> pd.DataFrame:
    counts = pd.crosstab(placed["grid_id"], placed["status"]).reindex(index=grids["grid_id"], fill_value=0)
    table = pd.DataFrame({"grid_id": grids["grid_id"].to_numpy(), "community_id": grids["community_id"].to_numpy()})
    table["full_members"] = counts.get(FULL, pd.Series(0, index=counts.index)).to_numpy(dtype=np.int64)
    table["probationary_members"] = counts.get(PROBATIONARY, pd.Series(0, index=counts.index)).to_numpy(dtype=np.int64)
    table["members"] = counts.sum(axis=1).to_numpy(dtype=np.int64)
    table["orgs"] = orgs_in_grids(grids, orgs)
    households = assignment.groupby("grid_id")["households"].sum()
    table["households"] = households.reindex(table["grid_id"]).fillna(0).round().astype(np.int64).to_numpy()
    return table


def orgs_in_grids(grids: gpd.GeoDataFrame, orgs: gpd.GeoDataFrame | None) -> np.ndarray:
    """Party organizations located in each grid; a point on a shared boundary counts for the first grid."""
    count = np.zeros(len(grids), dtype=np.int64)
    if orgs is None or orgs.empty:
        return count
    points = orgs.to_crs(grids.crs).geometry.to_numpy()
    p, g = shapely.STRtree(grids.geometry.to_numpy()).query(points, predicate="intersects")
    first = pd.Series(g).groupby(p).min()
    np.add.at(count, first.to_numpy(), 1)
    return count


# --------------------------------------------------------------------------------------------------
# Branches and joint branches


def grid_neighbours(grids: gpd.GeoDataFrame) -> list[list[int]]:
    """Grid positions sharing at least ``MIN_SHARED_M`` of boundary with each grid (``grids`` metric).

    Boundaries are compared within ``SNAP_M``, as atoms are, so grids of neighbouring communities whose
    outlines were drawn apart still meet.
    """
    geoms = grids.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=SNAP_M)
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shared_length(geoms[left], geoms[right], tolerance=SNAP_M, quad_segs=1)
    keep = shared >= MIN_SHARED_M
    out: list[list[int]] = [[] for _ in range(len(geoms))]
    for a, b in zip(left[keep].tolist(), right[keep].tolist()):
        out[a].append(b)
        out[b].append(a)
    return [sorted(n) for n in out]


def propose_branches(
    table: pd.DataFrame, neighbours: list[list[int]], centroids: gpd.GeoSeries, settings: PartySettings = PARTY_DEFAULTS
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, list[tuple[str, str]]]:
    """Status and branch of every grid, and the joint branches (联合党支部) proposed.

    The rule, deterministic:

    1. A grid with ``min_full_members`` full members has its own branch (``too_large`` above
       ``max_branch_members`` members); the others lack one.
    2. Grids lacking a branch are taken in order of fewest such neighbours, then ``grid_id``. Each not yet
       placed seeds a group that grows by the adjacent grid lacking a branch that is in the seed's community
       if any, then nearest to the seed, until it reaches ``min_full_members`` full members (a joint branch)
       or cannot grow within ``max_joint_units`` grids (the seed stays free for a later group).
    3. A grid left over joins the nearest adjacent joint branch with fewer than ``max_joint_units`` grids;
       else the branch of its nearest adjacent grid that has one, its own or one it joined
       (``joins_branch_of``: a branch may take in lone neighbours, up to ``max_joint_units`` grids in all,
       as no joint branch can be formed of grids that each have a branch). Leftovers are revisited until
       none can join; the rest are unfixable, with the reason.

    Nearest is between grid centroids; the seed's community is preferred throughout.

    Returns
    -------
    status, branch_id
        Per grid (``branch_id`` ``None`` when unfixable).
    joint_branches
        ``branch_id``, ``grids``, ``communities``, ``full_members``, ``members``.
    unfixable
        ``(grid_id, reason)``.
    """
    gid = table["grid_id"].astype(str).to_numpy()
    community = table["community_id"].astype(str).to_numpy()
    full = table["full_members"].to_numpy()
    members = table["members"].to_numpy()
    xy = np.column_stack([centroids.x.to_numpy(), centroids.y.to_numpy()])
    need = settings.min_full_members
    lacking = full < need
    status = np.where(
        lacking, NEEDS_JOINT_BRANCH, np.where(members > settings.max_branch_members, TOO_LARGE, OWN_BRANCH)
    ).astype(object)
    branch = np.array([None if lack else f"B-{g}" for g, lack in zip(gid, lacking)], dtype=object)

    def nearest(origin: int, candidates) -> int:
        return min(
            candidates,
            key=lambda c: (community[c] != community[origin], float(np.hypot(*(xy[c] - xy[origin]))), gid[c]),
        )

    free = set(np.flatnonzero(lacking).tolist())
    groups = _seed_groups(free, neighbours, full, gid, nearest, need, settings.max_joint_units)

    group_of = {g: k for k, group in enumerate(groups) for g in group}
    guests: dict[str, int] = {}  # grids joined to each grid's own branch
    changed = True
    while changed:  # a leftover may reach a branch through a neighbour that has just joined it
        changed = False
        for g in sorted(free, key=lambda g: gid[g]):
            open_groups = {
                group_of[h]
                for h in neighbours[g]
                if h in group_of and len(groups[group_of[h]]) < settings.max_joint_units
            }
            hosts = [
                h
                for h in neighbours[g]
                if branch[h] is not None
                and branch[h].startswith("B-")
                and guests.get(branch[h], 0) + 1 < settings.max_joint_units
            ]
            if open_groups:
                k = min(
                    open_groups,
                    key=lambda k: min(
                        (community[h] != community[g], float(np.hypot(*(xy[h] - xy[g])))) for h in groups[k]
                    ),
                )
                groups[k].append(g)
                group_of[g] = k
            elif hosts:
                host = nearest(g, hosts)
                status[g], branch[g] = JOINS_BRANCH_OF, branch[host]
                guests[branch[host]] = guests.get(branch[host], 0) + 1
            else:
                continue
            free.discard(g)
            changed = True
    unfixable = [
        (
            gid[g],
            "no neighbouring grid"
            if not neighbours[g]
            else f"no group of up to {settings.max_joint_units} adjacent grids lacking a branch reaches {need} full members, "
            f"and no neighbouring branch has room (at most {settings.max_joint_units} grids)",
        )
        for g in sorted(free, key=lambda g: gid[g])
    ]
    status[sorted(free)] = NO_BRANCH

    return status, branch, _joint_branches(groups, branch, gid, community, full, members), unfixable


def _seed_groups(
    free: set[int], neighbours, full: np.ndarray, gid: np.ndarray, nearest, need: int, most: int
) -> list[list[int]]:
    """Groups of adjacent grids lacking a branch that together reach ``need`` full members (at most ``most`` grids
    each), grown greedily from the grids with the fewest such neighbours; the grids grouped leave ``free``."""
    groups: list[list[int]] = []
    for seed in sorted(free, key=lambda g: (sum(h in free for h in neighbours[g]), gid[g])):
        if seed not in free:
            continue
        group, total = [seed], int(full[seed])
        while total < need and len(group) < most:
            candidates = {h for g in group for h in neighbours[g] if h in free} - set(group)
            if not candidates:
                break
            pick = nearest(seed, candidates)
            group.append(pick)
            total += int(full[pick])
        if total >= need:
            groups.append(group)
            free -= set(group)
    return groups


def _joint_branches(
    groups: list[list[int]],
    branch: np.ndarray,
    gid: np.ndarray,
    community: np.ndarray,
    full: np.ndarray,
    members: np.ndarray,
) -> pd.DataFrame:
    """One row per joint branch (named after its first grid), and its grids given its id in ``branch``."""
    rows = []
    for group in groups:
        names = sorted(gid[g] for g in group)
        branch_id = f"J-{names[0]}"
        branch[group] = branch_id
        rows.append(
            {
                "branch_id": branch_id,
                "grids": names,
                "communities": sorted({community[g] for g in group}),
                "full_members": int(full[group].sum()),
                "members": int(members[group].sum()),
            }
        )
    joint = pd.DataFrame(rows, columns=["branch_id", "grids", "communities", "full_members", "members"])
    return joint.sort_values("branch_id", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# 党员联户: households linked to members


def euclidean_distances(sources: np.ndarray, targets: np.ndarray, cutoff: float) -> sp.csr_matrix:
    """Straight-line metres between points, entries ≤ ``cutoff`` (zeros stored): the fallback distance."""
    a, b = shapely.get_coordinates(sources), shapely.get_coordinates(targets)
    d = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    rows, cols = np.nonzero(d <= cutoff)
    return sp.csr_matrix((d[rows, cols], (rows, cols)), shape=d.shape)


def building_points(buildings: gpd.GeoDataFrame, crs) -> pd.Series:
    """A point inside each building (metric CRS), by ``building_id``."""
    pts = buildings.to_crs(crs).geometry.representative_point().to_numpy()
    out = pd.Series(pts, index=buildings["building_id"].astype(str).to_numpy())
    return out[~out.index.duplicated()]


@dataclass
class LinkGroup:
    """One branch's link problem: buildings with households, member buildings, allowed pairs (by member
    building, then building) with their distance."""

    grids: list[str]
    buildings: np.ndarray  # building ids
    households: np.ndarray
    building_grid: np.ndarray
    member_buildings: np.ndarray  # building ids of members
    member_count: np.ndarray  # members per member building
    pair_member: np.ndarray | None = None  # set by _candidate_pairs
    pair_building: np.ndarray | None = None
    pair_distance: np.ndarray | None = None


def link_households(
    table: pd.DataFrame,
    placed: pd.DataFrame,
    assignment: pd.DataFrame,
    points: pd.Series,
    settings: PartySettings = PARTY_DEFAULTS,
    distance: DistanceFunction = euclidean_distances,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Link every household to a member of its grid's branch (党员联户), optimally.

    Each branch (a grid's own, a joint branch with its grids, a branch with the grid that joins it) is
    one transportation problem: building ``b`` supplies its ``h_b`` households, a building holding ``n``
    members takes between ``n × link_min_households`` and ``n × link_max_households``, pairs further than
    ``link_cutoff_m`` apart are not allowed. Lexicographic costs (unlinked household ≫ member below the
    minimum ≫ metre walked) are large enough that no exchange cycle of the flow network trades a higher
    priority for a lower one, so one LP yields: the most households linked, then the fewest shortfalls,
    then the least total distance. The constraint matrix is a network matrix, so the simplex vertex is
    integral. Loads of a building's members are then split evenly and its links handed out nearest first.

    Returns
    -------
    member_links
        ``member_id``, ``building_id``, ``households``, ``distance_m``.
    unlinked
        ``grid_id``, ``households``, ``reason``, ``detail``.
    members_below_min
        Members linking fewer than ``link_min_households``.
    """
    branch_of = branch_of_grid(table)
    members = placed.assign(branch=placed["grid_id"].astype(str).map(branch_of))
    groups = link_groups(table, placed, assignment, points, settings, distance)
    flows = _solve_groups(groups, settings)
    members_sorted = members.sort_values(["branch", "building_id", "member_id"], kind="stable")
    roster = members_sorted.groupby(["branch", "building_id"])["member_id"].agg(list)
    link_rows, unlinked_rows = [], []
    for g, (flow, left) in zip(groups, flows):
        branch = branch_of[g.grids[0]]
        starts = np.searchsorted(g.pair_member, np.arange(len(g.member_buildings) + 1))
        load = np.bincount(g.pair_member, weights=flow, minlength=len(g.member_buildings)).round().astype(np.int64)
        for k, building in enumerate(g.member_buildings):
            ids = roster[(branch, building)]
            on = np.arange(starts[k], starts[k + 1])
            on = on[flow[on] > 0]
            on = on[np.argsort(g.pair_distance[on], kind="stable")]
            quotas = np.full(len(ids), load[k] // len(ids)) + (np.arange(len(ids)) < load[k] % len(ids))
            link_rows.extend(
                _hand_out(ids, quotas, g.buildings[g.pair_building[on]], flow[on].astype(np.int64), g.pair_distance[on])
            )
        reachable = np.zeros(len(g.buildings), dtype=bool)
        reachable[g.pair_building] = True
        capacity = int(g.member_count.sum()) * settings.link_max_households
        for b in np.flatnonzero(left > 0):
            if not len(g.member_buildings):
                reason, detail = UnlinkedReason.NO_MEMBERS.value, "no party member in the grid or its branch"
            elif not reachable[b]:
                reason, detail = (
                    UnlinkedReason.OUT_OF_REACH.value,
                    f"no member of the branch within {settings.link_cutoff_m:.0f} m",
                )
            else:
                reason, detail = (
                    UnlinkedReason.CAPACITY.value,
                    (
                        f"{int(g.member_count.sum())} members link at most {capacity} households; "
                        f"the branch has {int(g.households.sum())}"
                    ),
                )
            unlinked_rows.append((g.building_grid[b], int(left[b]), reason, detail))
    links = pd.DataFrame(link_rows, columns=["member_id", "building_id", "households", "distance_m"])
    links["households"] = links["households"].astype(np.int64)
    unlinked = pd.DataFrame(unlinked_rows, columns=["grid_id", "households", "reason", "detail"])
    unlinked = unlinked.groupby(["grid_id", "reason", "detail"], as_index=False, sort=True)["households"].sum()
    loads = links.groupby("member_id")["households"].sum()
    below = len(placed) - int((loads >= settings.link_min_households).sum())
    return links, unlinked[["grid_id", "households", "reason", "detail"]], below


def branch_of_grid(table: pd.DataFrame) -> dict[str, str]:
    """The branch each grid's households are linked within (``U-<grid_id>`` for an unfixable grid)."""
    grid = table["grid_id"].astype(str)
    return dict(zip(grid, table["branch_id"].fillna("U-" + grid)))


def link_groups(
    table: pd.DataFrame,
    placed: pd.DataFrame,
    assignment: pd.DataFrame,
    points: pd.Series,
    settings: PartySettings = PARTY_DEFAULTS,
    distance: DistanceFunction = euclidean_distances,
) -> list[LinkGroup]:
    """One link problem per branch: its buildings with households, its members' buildings, allowed pairs."""
    branch_of = branch_of_grid(table)
    homes = assignment.loc[assignment["households"].round() > 0, ["building_id", "grid_id", "households"]].copy()
    homes["building_id"] = homes["building_id"].astype(str)
    homes["branch"] = homes["grid_id"].astype(str).map(branch_of)
    homes = homes.drop_duplicates("building_id")
    members = placed.assign(branch=placed["grid_id"].astype(str).map(branch_of))
    member_buildings = {
        b: s.droplevel(0) for b, s in members.groupby(["branch", "building_id"]).size().groupby(level=0)
    }

    groups: list[LinkGroup] = []
    for branch, frame in homes.groupby("branch", sort=True):
        mb = member_buildings.get(branch)
        groups.append(
            LinkGroup(
                grids=sorted(frame["grid_id"].astype(str).unique()),
                buildings=frame["building_id"].to_numpy(),
                households=frame["households"].round().to_numpy(dtype=np.int64),
                building_grid=frame["grid_id"].astype(str).to_numpy(),
                member_buildings=np.asarray(mb.index if mb is not None else [], dtype=object),
                member_count=np.asarray(mb.to_numpy() if mb is not None else [], dtype=np.int64),
            )
        )
    position, located = points.index, points.to_numpy()
    for g in groups:
        _candidate_pairs(g, located, position, distance, settings.link_cutoff_m)
    return groups


def _candidate_pairs(
    g: LinkGroup, points: np.ndarray, position: pd.Index, distance: DistanceFunction, cutoff: float
) -> None:
    """Allowed (member building, building) pairs and their distance; a member's own building is at 0 m
    (a network distance would count two snap legs there)."""
    nb = len(g.buildings)
    if not len(g.member_buildings):
        g.pair_member = g.pair_building = np.zeros(0, dtype=np.int64)
        g.pair_distance = np.zeros(0)
        return
    own = pd.Index(g.buildings).get_indexer(g.member_buildings)
    home = np.flatnonzero(own >= 0)
    d = sp.coo_matrix(
        distance(points[position.get_indexer(g.member_buildings)], points[position.get_indexer(g.buildings)], cutoff)
    )
    keep = d.data <= cutoff
    key = np.concatenate([home * nb + own[home], d.row[keep].astype(np.int64) * nb + d.col[keep]])
    value = np.concatenate([np.zeros(len(home)), d.data[keep]])
    key, first = np.unique(key, return_index=True)  # sorted by member building, then building
    g.pair_member, g.pair_building, g.pair_distance = key // nb, key % nb, value[first].astype(float)


def _solve_groups(groups: list[LinkGroup], settings: PartySettings) -> list[tuple[np.ndarray, np.ndarray]]:
    """Flow on each pair and unlinked households per building, for every group, in batched LPs."""
    out: list = [None] * len(groups)
    batch: list[int] = []
    size = 0
    for i, g in enumerate(groups):
        if not len(g.pair_member):
            out[i] = (np.zeros(0), g.households.astype(float))
            continue
        batch.append(i)
        size += len(g.pair_member)
        if size >= settings.batch_variables:
            _solve_batch([groups[j] for j in batch], settings, out, batch)
            batch, size = [], 0
    if batch:
        _solve_batch([groups[j] for j in batch], settings, out, batch)
    return out


def _solve_batch(groups: list[LinkGroup], settings: PartySettings, out: list, where: list[int]) -> None:
    lo, hi = settings.link_min_households, settings.link_max_households
    rows_b, rows_k, cost_x = [], [], []
    cost_u, cost_s, supply, need_lo, cap_hi = [], [], [], [], []
    n_x = n_b = n_k = 0
    for g in groups:
        # Lexicographic weights: a simple cycle of the flow network uses at most one unlinked arc and two
        # shortfall arcs, and fewer than (buildings + member buildings) distance arcs.
        span = (len(g.buildings) + len(g.member_buildings) + 1) * max(float(g.pair_distance.max(initial=0.0)), 1.0)
        q = span + 1.0
        p = 2 * q + span + 1.0
        m = len(g.pair_member)
        rows_b.append(n_b + g.pair_building)
        rows_k.append(n_k + g.pair_member)
        cost_x.append(g.pair_distance)
        cost_u.append(np.full(len(g.buildings), p))
        cost_s.append(np.full(len(g.member_buildings), q))
        supply.append(g.households)
        need_lo.append(g.member_count * lo)
        cap_hi.append(g.member_count * hi)
        n_x, n_b, n_k = n_x + m, n_b + len(g.buildings), n_k + len(g.member_buildings)
    rb, rk = np.concatenate(rows_b), np.concatenate(rows_k)
    x = np.arange(n_x)
    # variables: x (pairs) | u (unlinked per building) | s (shortfall per member building)
    a_eq = sp.csr_matrix(
        (np.ones(n_x + n_b), (np.concatenate([rb, np.arange(n_b)]), np.concatenate([x, n_x + np.arange(n_b)]))),
        shape=(n_b, n_x + n_b + n_k),
    )
    ub_rows = np.concatenate([rk, n_k + rk, n_k + np.arange(n_k)])
    ub_cols = np.concatenate([x, x, n_x + n_b + np.arange(n_k)])
    ub_vals = np.concatenate([np.ones(n_x), -np.ones(n_x), -np.ones(n_k)])
    a_ub = sp.csr_matrix((ub_vals, (ub_rows, ub_cols)), shape=(2 * n_k, n_x + n_b + n_k))
    need = np.concatenate(need_lo)
    result = linprog(
        np.concatenate(cost_x + cost_u + cost_s),
        A_ub=a_ub,
        b_ub=np.concatenate([np.concatenate(cap_hi), -need]),
        A_eq=a_eq,
        b_eq=np.concatenate(supply).astype(float),
        bounds=np.column_stack(
            [np.zeros(n_x + n_b + n_k), np.concatenate([np.full(n_x, np.inf), np.full(n_b, np.inf), need])]
        ),
        method="highs-ds",
    )
    if result.status != 0:
        raise GridplanError(f"member–household link problem not solved: {result.message}")
    values = np.round(result.x)
    if np.abs(values - result.x).max() > 1e-6:
        raise GridplanError("member–household link solution is not integral")
    xo = bo = 0
    for g, i in zip(groups, where):
        m, nb = len(g.pair_member), len(g.buildings)
        out[i] = (values[xo : xo + m], values[n_x + bo : n_x + bo + nb])
        xo, bo = xo + m, bo + nb


def _hand_out(ids: list[str], quotas: np.ndarray, buildings: np.ndarray, flows: np.ndarray, dist: np.ndarray):
    """Links of one member building's members: its flows, nearest first, fill each member's quota in turn."""
    rows = []
    member, room = 0, int(quotas[0]) if len(quotas) else 0
    for building, flow, d in zip(buildings, flows.tolist(), dist.tolist()):
        while flow > 0:
            while room == 0:
                member += 1
                room = int(quotas[member])
            take = min(flow, room)
            rows.append((ids[member], building, take, d))
            flow -= take
            room -= take
    return rows


# --------------------------------------------------------------------------------------------------
# Scenario data
