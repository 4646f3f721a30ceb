"""The exact re-split (README step 5): a grid outside the band re-planned with all its neighbours, choosing
the grids among every connected group of their atoms that fits (:func:`fitting_groups`, ESU enumeration)
by an exact-cover search (:func:`exact_cover`).

Where atoms hold 100–250 households a grid is two or three of them and single-atom moves and bisections
get stuck; the groups are few there and the search small. Where atoms are too fine to enumerate, each
grid is first cut into pieces of about a fifth of the target and the pieces are re-planned instead.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from gridplan.core.geometry import weighted_centres

from ._bisection import CUT_WEIGHT, SPREAD_WEIGHT, bisect
from ._graph import Adjacency, RegionGraph, Sizing, join_orphans
from ._resplit import RESPLIT_ROUNDS, untried

#: Connected atom groups enumerated at most per re-planned neighbourhood; one with more (fine-grained
#: atoms) is re-planned on pieces instead.
EXACT_MAX_GROUPS = 5_000
#: Groups visited per group recorded before an enumeration gives up (those too light to record count
#: too): on the generated district no enumeration that finished visited more than 4.7 per group allowed.
ENUMERATION_VISITS = 5
#: Atoms of a neighbourhood beyond which its groups are not enumerated but its pieces are: on the
#: generated district, enumerations of more atoms than this nearly always ran past ``EXACT_MAX_GROUPS``.
EXACT_MAX_ATOMS = 64
#: Load of the pieces a neighbourhood of fine atoms is cut into, as a share of the target (60 of 300).
COARSE_PIECE_SHARE = 0.2
#: How far a piece may stray from its share of its grid (its bounds; its tight band is half as wide).
PIECE_TOLERANCE = 0.5
#: Atoms without households one enumerated group may hold (empty blocks that join inhabited ones).
EXACT_MAX_EMPTY = 2
#: Search steps per budget of loose grids: a step limit, unlike a time limit, gives the same plan on
#: every machine.
EXACT_SEARCH_NODES = 2_000
#: Weight, in the shape of a group, of each service-radius length it reaches beyond the maximum radius.
RADIUS_WEIGHT = 2.0


def exact_split(
    graph: RegionGraph, labels: np.ndarray, k: int, sizing: Sizing, fixed_count: bool = False, worst: int = 1
) -> np.ndarray:
    """Re-plan each grid outside the tight band (``worst=1``; outside the bounds: ``worst=2``) together with
    all its neighbours (and, where that finds nothing, theirs too), so that fewer are outside the band.

    Parameters
    ----------
    graph, labels, k
        The region, the grid of each atom and the number of labels (some may hold no atom).
    sizing
        The bands a grid is judged by, and the service radius that makes a group compact.
    fixed_count
        Keep the number of grids (a count the user fixed); otherwise it may change.
    worst
        Which grids to re-plan: 1, those outside the tight band; 2, those outside the bounds.

    Returns
    -------
    numpy.ndarray
        The new labels: grids re-planned away leave their label unused, new grids are numbered from ``k`` on.
    """
    failed: set[tuple] = set()
    for _ in range(RESPLIT_ROUNDS):
        loads = graph.loads(labels, k)
        alive = np.bincount(labels, minlength=k) > 0  # labels re-planned away hold no atom
        bad = [
            g
            for g in np.argsort(-np.abs(loads - sizing.target), kind="stable")
            if alive[g] and sizing.fit(loads[g]) >= worst
        ]
        for g in bad:
            grids = None
            for group in untried(_neighbourhoods(graph, labels, int(g), rings=2), loads, failed):
                grids = _exact_grids(graph, labels, group, sizing, fixed_count)
                if grids is not None:
                    break
            if grids is not None:
                labels = labels.copy()
                for h, nodes in zip(group + list(range(k, k + len(grids))), grids):
                    labels[nodes] = h
                k = max(k, int(labels.max()) + 1)
                break
        else:
            break
    return labels


def _neighbourhoods(graph: RegionGraph, labels: np.ndarray, g: int, rings: int) -> Iterable[list[int]]:
    """Grid ``g`` with its neighbours, then (``rings=2``) with their neighbours too: its fix may need a
    chain of shifts through the grids beyond."""
    group = [g]
    for _ in range(rings):
        group = group + sorted(set(graph.grid_neighbours(labels, group)) - set(group))
        yield group


def _exact_grids(
    graph: RegionGraph, labels: np.ndarray, group: list[int], sizing: Sizing, fixed_count: bool, coarsen: bool = True
) -> list[np.ndarray] | None:
    """A layout of the atoms of ``group``'s grids (as many grids if ``fixed_count``) with none outside the
    bounds and fewer outside the tight band than now (or, if some are outside the bounds now, any within
    them); None if none is found."""
    current = [np.flatnonzero(labels == h) for h in group]
    fits = [sizing.fit(graph.w[c].sum()) for c in current]
    outside, loose = sum(f == 2 for f in fits), sum(f >= 1 for f in fits)
    nodes = np.concatenate(current)
    columns = _enumerated(graph, nodes, sizing) if len(nodes) <= EXACT_MAX_ATOMS else None
    if columns is None:
        return _coarse_exact_grids(graph, current, sizing, fixed_count) if coarsen else None
    chosen, _ = exact_cover(
        nodes,
        graph.w,
        columns,
        sizing.fits(group_loads(graph.w, columns)).tolist(),
        shapes(graph, columns, graph.side(len(nodes), len(group)), sizing),
        budgets=range(len(group) + 2 if outside else loose),
        sizing=sizing,
        count=len(group) if fixed_count else None,
    )
    if not chosen:  # none found, or no households to place
        return None
    joined = grids_with_leftovers(graph, nodes, chosen)
    grids = [np.flatnonzero(joined == i) for i in range(len(chosen))]
    return grids if all(graph.connected(c) for c in grids) else None


def _enumerated(graph: RegionGraph, nodes: np.ndarray, sizing: Sizing) -> list[np.ndarray] | None:
    """:func:`fitting_groups` of ``nodes``; None at once where they hold atoms already found to have too many
    groups (``graph.crowded``): loads are never negative, so every group of those atoms, and every group
    visited on the way to one, is one of ``nodes`` too."""
    atoms = sum(1 << v for v in nodes.tolist())
    crowded = graph.crowded.setdefault(sizing, [])
    if any(known & ~atoms == 0 for known in crowded):
        return None
    columns = fitting_groups(graph, nodes, sizing)
    if columns is None:
        crowded.append(atoms)
    return columns


def grids_with_leftovers(graph: RegionGraph, nodes: np.ndarray, chosen: list[np.ndarray]) -> np.ndarray:
    """Label of each atom of the region: ``i`` in ``chosen[i]``; an atom of ``nodes`` in no chosen group joins
    the neighbouring one it shares most boundary with; other atoms ``-1``."""
    labels = np.full(graph.n, -1, dtype=np.int64)
    for i, c in enumerate(chosen):
        labels[c] = i
    leftovers = np.setdiff1d(nodes, np.concatenate(chosen))
    if not len(leftovers):
        return labels
    joined = join_orphans(labels, leftovers, graph.adjacency)
    if (joined[leftovers] < 0).any():
        raise RuntimeError(f"atoms {leftovers[joined[leftovers] < 0][:5].tolist()} are connected to no grid")
    return joined


def _coarse_exact_grids(
    graph: RegionGraph, current: list[np.ndarray], sizing: Sizing, fixed_count: bool
) -> list[np.ndarray] | None:
    """The exact re-split on pieces, where the atoms are too fine to enumerate: each grid of the
    neighbourhood is cut into connected pieces of about ``COARSE_PIECE_SHARE`` of the target (chunky atoms
    stay whole) and the pieces are re-split exactly."""
    pieces: list[np.ndarray] = []
    owner: list[int] = []
    for i, grid in enumerate(current):
        k = max(1, math.ceil(graph.w[grid].sum() / (COARSE_PIECE_SHARE * sizing.target)))
        key = (grid.tobytes(), k)
        if key not in graph.pieces:  # a grid is cut the same way in every neighbourhood it is part of
            share = Sizing(max(graph.w[grid].sum() / k, 1.0), PIECE_TOLERANCE, PIECE_TOLERANCE / 2)
            graph.pieces[key] = bisect(graph, grid, k, share)
        pieces += graph.pieces[key]
        owner += [i] * len(graph.pieces[key])
    coarse = _piece_graph(graph, pieces)
    grids = _exact_grids(coarse, np.array(owner), list(range(len(current))), sizing, fixed_count, coarsen=False)
    if grids is None:
        return None
    return [np.sort(np.concatenate([pieces[i] for i in g])) for g in grids]


def _piece_graph(graph: RegionGraph, pieces: list[np.ndarray]) -> RegionGraph:
    """The pieces as a region of their own: loads, centres and reach of their atoms, and the cut costs
    and shared lengths between them summed in the order the atoms' neighbours come."""
    atoms = np.concatenate(pieces)
    piece_of = np.full(graph.n, -1, dtype=np.int64)
    piece_of[atoms] = np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
    adjacency = graph.adjacency
    entries, rows = adjacency.rows(atoms)
    i, j = piece_of[atoms][rows], piece_of[adjacency.indices[entries]]
    forward = j > i
    i, j, entries = i[forward], j[forward], entries[forward]
    # edges in the order they are first met, piece after piece, as a graph built edge by edge has them
    pairs, first, edge = np.unique(i * len(pieces) + j, return_index=True, return_inverse=True)
    met = np.argsort(first)
    rank = np.empty_like(met)
    rank[met] = np.arange(len(met))
    edge = rank[edge]
    cost, length = np.zeros(len(pairs)), np.zeros(len(pairs))
    np.add.at(cost, edge, adjacency.cost[entries])  # in order: sums round as a loop's would
    np.add.at(length, edge, adjacency.length[entries])
    w = np.bincount(piece_of[atoms], weights=graph.w[atoms], minlength=len(pieces))
    x, y, _ = weighted_centres(piece_of[atoms], graph.x[atoms], graph.y[atoms], graph.w[atoms] + 1e-6, len(pieces))
    far = np.hypot(graph.x[atoms] - x[piece_of[atoms]], graph.y[atoms] - y[piece_of[atoms]]) + graph.reach[atoms]
    reach = np.full(len(pieces), -np.inf)
    np.maximum.at(reach, piece_of[atoms], far)
    return RegionGraph(
        Adjacency.from_edges(len(pieces), pairs[met] // len(pieces), pairs[met] % len(pieces), cost, length),
        w,
        x,
        y,
        reach,
    )


def fitting_groups(
    graph: RegionGraph,
    nodes: np.ndarray,
    sizing: Sizing,
    max_empty: float = EXACT_MAX_EMPTY,
    max_groups: int = EXACT_MAX_GROUPS,
    adjacent: dict[int, set[int]] | None = None,
    loads: tuple[float, float] | None = None,
    roots: np.ndarray | None = None,
) -> list[np.ndarray] | None:
    """Every connected group of ``nodes`` with a load within the bounds (or ``loads``) and at most
    ``max_empty`` empty atoms (ESU enumeration, each group once), connected in the graph's adjacency or in
    ``adjacent``; only groups holding one of ``roots`` if given. None beyond ``max_groups`` groups, or
    ``ENUMERATION_VISITS`` times as many visited.

    The enumeration tree is grown a level at a time, every group of one size at once in arrays; its groups
    are then put in the order a depth-first enumeration visits them (their atoms in the order they were
    added, compared as sequences). Whether a limit is passed does not depend on that order: it is whether
    the whole tree holds more groups, or more visits, than allowed.
    """
    lo, hi = loads or sizing.bounds_window
    member = set(nodes.tolist())
    # each group is found once, from its first atom in this order (the roots first); sets of ranks (an
    # atom's neighbours, the ranks after a rank, a group's extension) are rows of bits, eight to a byte
    first = [int(v) for v in roots] if roots is not None else []
    order = np.array(first + sorted(member - set(first)), dtype=np.int64)
    ranks = np.arange(len(order))
    near = np.packbits(_neighbour_matrix(graph, order, adjacent), axis=1, bitorder="little")
    after = np.packbits(ranks[None, :] > ranks[:, None], axis=1, bitorder="little")
    itself = np.packbits(ranks[None, :] == ranks[:, None], axis=1, bitorder="little")
    w = graph.w[order].astype(float)
    empty = (w <= 0).astype(np.int64)
    start = np.flatnonzero(~(w[: len(first) if roots is not None else len(order)] > hi))
    level = _Level(
        start, start[:, None], w[start], empty[start], near[start] & after[start], near[start] | itself[start]
    )
    visits, found = len(start), []
    while len(level.root):
        found.append(level.added[level.load >= lo])
        if visits > max_groups * ENUMERATION_VISITS or sum(map(len, found)) > max_groups:
            return None
        group, rank = np.nonzero(np.unpackbits(level.extension, axis=1, count=len(order), bitorder="little"))
        fits = ~(level.load[group] + w[rank] > hi) & ~(level.empties[group] + empty[rank] > max_empty)
        group, rank = group[fits], rank[fits]
        visits += len(group)
        if visits > max_groups * ENUMERATION_VISITS:
            return None
        level = level.grown(group, rank, w, empty, near, after)
    return _groups_in_enumeration_order(found, order)


def _neighbour_matrix(graph: RegionGraph, order: np.ndarray, adjacent: dict[int, set[int]] | None) -> np.ndarray:
    """Whether the atoms ``order`` touch, rank by rank: in ``adjacent`` if given, else in the graph."""
    rank = np.full(graph.n, -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    near = np.zeros((len(order), len(order)), dtype=bool)
    if adjacent is None:
        entries, rows = graph.adjacency.rows(order)
        columns = rank[graph.adjacency.indices[entries]]
        near[rows[columns >= 0], columns[columns >= 0]] = True
    else:
        ranks = rank.tolist()
        pairs = [(r, ranks[j]) for r, v in enumerate(order.tolist()) for j in adjacent[v] if ranks[j] >= 0]
        if pairs:
            near[tuple(np.array(pairs).T)] = True
    return near


@dataclass
class _Level:
    """The groups of one size an enumeration reached, one row each: the rank it was found from, its ranks in
    the order they were added, its load and empty atoms, and (as rows of bits) the ranks it may still be
    extended by and those it or its neighbours hold."""

    root: np.ndarray
    added: np.ndarray
    load: np.ndarray
    empties: np.ndarray
    extension: np.ndarray
    closed: np.ndarray

    def grown(
        self, group: np.ndarray, rank: np.ndarray, w: np.ndarray, empty: np.ndarray, near: np.ndarray, after: np.ndarray
    ) -> _Level:
        """The groups of one more atom: each row ``group`` extended by the matching ``rank``, as ESU extends
        it (the ranks after it that extended the group, and its own neighbours after the root not yet near)."""
        closed = self.closed[group]
        return _Level(
            self.root[group],
            np.column_stack([self.added[group], rank]),
            self.load[group] + w[rank],
            self.empties[group] + empty[rank],
            self.extension[group] & after[rank] | near[rank] & after[self.root[group]] & ~closed,
            closed | near[rank],
        )


def _groups_in_enumeration_order(found: list[np.ndarray], order: np.ndarray) -> list[np.ndarray]:
    """The groups ``found`` (per size, each one's ranks in the order they were added) in the order a depth-first
    enumeration visits them: a group before those grown from it, siblings by the rank added. Each group's
    atoms (``order`` of its ranks) ascending."""
    sizes = np.repeat(np.arange(1, len(found) + 1), [len(f) for f in found])
    if not len(sizes):
        return []
    added = np.full((len(sizes), len(found)), -1, dtype=np.int64)  # a prefix, padded, comes first
    added[np.arange(len(found))[None, :] < sizes[:, None]] = np.concatenate([f.ravel() for f in found])
    added = added[np.lexsort(added.T[::-1])]  # sequences compared rank by rank
    sizes = (added >= 0).sum(axis=1)
    atoms = order[added[added >= 0]]
    atoms = atoms[np.lexsort((atoms, np.repeat(np.arange(len(added)), sizes)))]
    ends = np.cumsum(sizes).tolist()
    return [atoms[start:end] for start, end in zip([0, *ends[:-1]], ends)]


def shapes(graph: RegionGraph, columns: list[np.ndarray], scale: float, sizing: Sizing) -> np.ndarray:
    """Cut cost, spread and radius excess of each group, in the units of the refinement's move gains
    (all groups at once, with a sparse membership matrix)."""
    if not columns:
        return np.zeros(0)
    sizes = np.array([len(c) for c in columns], dtype=np.int64)
    rows = np.repeat(np.arange(len(columns)), sizes)
    cols = np.concatenate(columns)
    member = csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(columns), graph.n))
    costs = graph.costs
    cut = (
        member @ np.asarray(costs.sum(axis=1)).ravel()
        - np.asarray((member @ costs).multiply(member).sum(axis=1)).ravel()
    )
    w = graph.w + 1e-6
    x, y = graph.x - graph.x.mean(), graph.y - graph.y.mean()  # centred: sums of squares stay exact
    sw, sx, sy = member @ w, member @ (w * x), member @ (w * y)
    spread = (member @ (w * (x * x + y * y)) - (sx * sx + sy * sy) / sw) / (sizing.target * scale * scale)
    cx, cy = sx / sw, sy / sw
    far = np.hypot(x[cols] - cx[rows], y[cols] - cy[rows]) + graph.reach[cols]
    radius = np.maximum.reduceat(far, np.concatenate([[0], np.cumsum(sizes)[:-1]]))
    limit = sizing.max_radius_m
    excess = np.maximum(0.0, radius - limit) / limit
    return CUT_WEIGHT * cut / scale + SPREAD_WEIGHT * np.maximum(spread, 0.0) + RADIUS_WEIGHT * excess


def exact_cover(
    nodes,
    weight,
    columns,
    fits,
    shape,
    budgets: Iterable[int],
    sizing: Sizing,
    count: int | None = None,
    steps: int = EXACT_SEARCH_NODES,
    prune: bool = True,
    far: int | None = None,
    accept: Callable[[list[np.ndarray]], bool] | None = None,
) -> tuple[list[np.ndarray] | None, bool]:
    """Columns (atom groups) covering every inhabited atom of ``nodes`` exactly once and every empty one at
    most once, with as few loose columns (``fits`` 1 or more: outside the tight band) as possible: each of
    ``budgets`` (the loose columns allowed) is tried in turn; exactly ``count`` columns when given; at most
    ``far`` columns outside the bounds (``fits`` 2) when given; where ``accept`` is given, only a cover it accepts
    (its columns), the search going on past those it turns away. Returns
    the cover (None if none found) and whether the last search ran to its end (so that None proves no
    cover exists).

    Depth-first search (exact cover, as in Knuth's algorithm X) under rising budgets of loose columns: it
    always extends the first uncovered inhabited atom (fewest candidate groups first), tries the compact
    groups (``shape``) first and, if ``prune`` (every column within the bounds), prunes where the load left
    fits no count of grids. At most ``steps`` steps per budget, so the result is the same on every machine.
    Sets of atoms and of columns are the bits of integers (:class:`_ColumnSets`): the options of an atom are
    its columns that clash with none chosen, taken lowest bit first.
    """
    position = np.full(len(weight), -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    member = np.zeros((len(columns), len(nodes)), dtype=bool)  # column × atom of nodes
    if columns:
        member[np.repeat(np.arange(len(columns)), [len(c) for c in columns]), position[np.concatenate(columns)]] = True
    preferred = np.lexsort((np.asarray(shape, dtype=float), np.asarray(fits)))  # by fit, then shape (stable)
    inhabited = np.flatnonzero(weight[nodes] > 0)
    order = inhabited[np.lexsort((inhabited, member[:, inhabited].sum(axis=0)))].tolist()  # fewest options first
    sets = _ColumnSets(member[preferred], order)
    fit = np.asarray(fits, dtype=np.int64)[preferred]
    tight = int.from_bytes(np.packbits(fit == 0, bitorder="little").tobytes(), "little")  # columns within the band
    within = int.from_bytes(np.packbits(fit < 2, bitorder="little").tobytes(), "little")  # within the bounds
    fit, column_load, preferred = fit.tolist(), group_loads(weight, columns)[preferred].tolist(), preferred.tolist()
    holders, everyone = sets.holders, (1 << len(order)) - 1
    column_sets: dict[int, tuple[int, int]] = {}  # per column met: the atoms it covers, the columns it clashes with
    load_fits = functools.cache(functools.partial(feasible, sizing=sizing))  # searches meet the same loads often
    left_steps = [0]
    for budget in budgets:
        left_steps[0] = steps
        found: list[int] = []

        def search(covered: int, clashing: int, left: float, loose: int, outside: int = 0) -> bool:
            left_steps[0] -= 1
            if left_steps[0] < 0:
                return False
            free = everyone & ~covered
            grids_left = None if count is None else count - len(found)
            if not free:  # a cover: taken unless ``accept`` turns it away (the search then goes on)
                return not grids_left and (accept is None or accept([columns[preferred[p]] for p in found]))
            if prune and not load_fits(left, budget - loose, grids_left):
                return False
            options = holders[order[(free & -free).bit_length() - 1]] & ~clashing
            if loose == budget:
                options &= tight
            if outside == far:
                options &= within
            while options:
                lowest = options & -options
                options ^= lowest
                p = lowest.bit_length() - 1
                cover, clash = column_sets[p] if p in column_sets else column_sets.setdefault(p, sets.of(p))
                found.append(p)
                if search(
                    covered | cover,
                    clashing | clash,
                    left - column_load[p],
                    loose + (fit[p] > 0),
                    outside + (fit[p] > 1),
                ):
                    return True
                found.pop()
                if left_steps[0] < 0:  # out of steps: every option left would stop at once
                    return False
            return False

        if search(0, 0, float(weight[nodes].sum()), 0):
            return [columns[preferred[p]] for p in found], True
    return None, left_steps[0] >= 0


class _ColumnSets:
    """The sets an exact cover's search combines, as the bits of integers: a set of columns has a bit per rank
    in the order they are preferred (its lowest bit is the preferred column), a set of inhabited atoms a bit
    per place in the order they are covered.

    Parameters
    ----------
    ranked
        Column × atom membership, the columns in the order they are preferred.
    order
        The inhabited atoms (positions), in the order they are covered.
    """

    def __init__(self, ranked: np.ndarray, order: list[int]):
        self.ranked = ranked
        #: per atom, the columns holding it
        self.holders = [
            int.from_bytes(row.tobytes(), "little") for row in np.packbits(ranked.T, axis=1, bitorder="little")
        ]
        self.place = np.zeros(ranked.shape[1], dtype=object)
        self.place[order] = [1 << i for i in range(len(order))]

    def of(self, p: int) -> tuple[int, int]:
        """The inhabited atoms column ``p`` covers, and the columns it clashes with (shares an atom with)."""
        atoms = np.flatnonzero(self.ranked[p])
        return sum(self.place[atoms]), functools.reduce(operator.or_, (self.holders[i] for i in atoms.tolist()), 0)


def feasible(load: float, loose: int, grids_left: int | None, sizing: Sizing) -> bool:
    """Whether ``load`` can make some number of grids (``grids_left`` if given) with at most ``loose`` loose
    ones."""
    tight, bounds = sizing.tight_window, sizing.bounds_window
    counts = (
        [grids_left]
        if grids_left is not None
        else range(max(1, math.floor(load / bounds.hi)), math.ceil(load / tight.lo) + 2)
    )
    for m in counts:
        j = min(loose, m)
        if (m - j) * tight.lo + j * bounds.lo - 1e-9 <= load <= (m - j) * tight.hi + j * bounds.hi + 1e-9:
            return True
    return False


def group_loads(weight: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """The load of each group (non-empty arrays of atom positions), summed all at once."""
    if not groups:
        return np.zeros(0)
    sizes = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
    return np.add.reduceat(weight[np.concatenate(groups)], np.cumsum(sizes) - sizes)
