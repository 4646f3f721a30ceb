"""Rebalancing a regenerated layout: the fewest moves that bring grids back within the tight band.

Regeneration keeps every grid that still meets the bounds, so balance decays a little with each yearly
change. :func:`rebalance` then moves planning units (atoms: street blocks and building cells) across grid
boundaries only, grid by grid, until every grid that some moves can bring within ±``tight_tolerance`` of the
target (270–330 households by default) is there, moving as few households as it can:

- a grid outside the band hands one boundary unit to a neighbouring grid (or takes one from it) when that
  brings it within the band and the neighbour stays within it;
- where no single move does, a chain of shifts: the neighbour passes a unit on to its own neighbour, and so
  on, up to ``max_chain`` grids (Esri Territory Design's realignment, redist's ``min_move_parity``);
- among the chains that fix a grid, the one moving the fewest households wins, then the one whose new
  boundaries run along streets (the lowest cut cost of the graph's edges, where streets cost least);
- the grids that cost least to fix are fixed first, grids outside the bounds before all others.

Every move keeps the hard rules: a grid gives away only a unit whose removal leaves it in one piece, units
move only between neighbouring grids of one community (never across a river or railway), no grid that was
within the bounds leaves them, and locked, special and oversize grids are never touched. A cap on the
households moved (``max_moved``) stops the step early, and the result says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from gridplan.settings import GridSettings, RegenerationSettings


@dataclass(frozen=True)
class Rebalanced:
    """The result of :func:`rebalance`.

    Attributes
    ----------
    atom_grid
        Grid position of every atom after the moves (a new array).
    moves
        One row per unit moved, in order: ``atom``, ``from_grid``, ``to_grid`` (positions), ``households``
        (balanced load moved).
    capped
        Whether the cap on households moved stopped a move that would have brought a grid within the band.
    unfixed
        Positions of the movable grids still outside the band when no further chain was found (or allowed).
    """

    atom_grid: np.ndarray
    moves: pd.DataFrame
    capped: bool
    unfixed: tuple[int, ...]

    @property
    def households_moved(self) -> float:
        return float(self.moves["households"].sum())


@dataclass(frozen=True)
class _Chain:
    moves: tuple[tuple[int, int, int], ...]  # (atom, from grid, to grid)
    households: float
    cut: float

    @property
    def key(self) -> tuple[float, float, int]:
        return round(self.households, 6), round(self.cut, 6), len(self.moves)


def move_cap(max_moved: float | None, total: float) -> float:
    """Households that may move: ``max_moved`` as a share of ``total`` when below 1, as a count otherwise;
    no cap when None."""
    if max_moved is None:
        return math.inf
    return max_moved * total if max_moved < 1 else float(max_moved)


def rebalance(
    graph: nx.Graph,
    weight: np.ndarray,
    atom_grid: np.ndarray,
    movable: np.ndarray,
    grid: GridSettings,
    settings: RegenerationSettings = RegenerationSettings(),
    fixed: np.ndarray | None = None,
) -> Rebalanced:
    """Move the fewest households across grid boundaries to bring grids within the tight band.

    Parameters
    ----------
    graph
        Adjacency of the atoms (:class:`gridplan.engine.units.Units`): edges carry ``cost`` (low along streets) and
        ``barrier``; atoms of different communities are never neighbours.
    weight
        Balanced load of each atom (households, or workload scaled to them).
    atom_grid
        Grid position of every atom (not changed).
    movable
        Per grid position, whether its units may move (ordinary grids that are not locked).
    grid
        Target, band (``tight_window``) and bounds.
    settings
        Longest chain, candidates per step and the cap on households moved.
    fixed
        Per atom, whether it must stay in its grid (units a planner placed by hand); None: none.

    Returns
    -------
    Rebalanced
    """
    state = _State(graph, weight, atom_grid.copy(), movable, grid, settings, fixed)
    budget = move_cap(settings.max_moved, float(weight.sum()))
    moves: list[tuple[int, int, int, float]] = []
    capped = False

    def cost(g):  # grids outside the bounds first, then those whose fix moves the fewest households, along streets
        fix = state.fix(g, math.inf)
        return (state.in_bounds(state.loads[g]), *(fix.key[:2] if fix else (math.inf, math.inf)), g)

    outside = [g for g in state.movable_grids() if not state.in_band(state.loads[g])]
    for g in sorted(outside, key=cost):
        if state.in_band(state.loads[g]):  # a chain for another grid brought it in
            continue
        spent = sum(m[3] for m in moves)
        fix = state.fix(g, budget - spent)
        if fix is None:
            capped |= state.fix(g, math.inf) is not None
            continue
        for atom, source, target in fix.moves:
            moves.append((atom, source, target, float(weight[atom])))
            state.move(atom, source, target)
    unfixed = tuple(int(g) for g in state.movable_grids() if not state.in_band(state.loads[g]))
    frame = pd.DataFrame(moves, columns=["atom", "from_grid", "to_grid", "households"])
    return Rebalanced(atom_grid=state.atom_grid, moves=frame, capped=capped, unfixed=unfixed)


class _State:
    """Loads and members of the grids while units move."""

    def __init__(
        self, graph, weight, atom_grid, movable, grid: GridSettings, settings: RegenerationSettings, fixed=None
    ):
        self.graph, self.weight, self.atom_grid = graph, weight, atom_grid
        self.movable = movable
        self.fixed = np.zeros(len(atom_grid), dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
        self.lo, self.hi = grid.tight_window
        self.floor, self.ceiling = grid.floor, grid.ceiling
        self.max_chain, self.candidates = settings.max_chain, settings.candidates
        self.loads = np.bincount(atom_grid, weights=weight, minlength=len(movable)).astype(float)
        self.members: dict[int, set[int]] = {}
        for a, g in enumerate(atom_grid):
            if movable[g]:
                self.members.setdefault(int(g), set()).add(a)

    def movable_grids(self) -> list[int]:
        return sorted(self.members)

    def in_band(self, load):
        return (load >= self.lo - 1e-9) & (load <= self.hi + 1e-9)

    def in_bounds(self, load) -> bool:
        return self.excess(load) <= 1e-9

    def move(self, atom: int, source: int, target: int) -> None:
        self.members[source].discard(atom)
        self.members[target].add(atom)
        self.atom_grid[atom] = target
        self.loads[source] -= self.weight[atom]
        self.loads[target] += self.weight[atom]

    # -- chains ---------------------------------------------------------------------------------------

    def distance(self, load: float) -> float:
        """How far a load lies outside the band (0 within)."""
        return max(self.lo - load, load - self.hi, 0.0)

    def excess(self, load: float) -> float:
        """How far a load lies outside the bounds (0 within)."""
        return max(self.floor - load, load - self.ceiling, 0.0)

    def fix(self, g: int, budget: float) -> _Chain | None:
        """The moves, chain after chain, that bring grid ``g`` within the band for at most ``budget``
        households; None when there are none (nothing is moved either way)."""
        done: list[_Chain] = []
        while not self.in_band(self.loads[g]):
            chain = self.best_chain(g)
            if chain is None or sum(c.households for c in done) + chain.households > budget + 1e-9:
                break
            done.append(chain)
            for atom, source, target in chain.moves:
                self.move(atom, source, target)
        fixed = self.in_band(self.loads[g])
        for chain in reversed(done):  # a plan, not yet the moves: undo them
            for atom, source, target in reversed(chain.moves):
                self.move(atom, target, source)
        if not fixed or not done:
            return None
        return _Chain(sum((c.moves for c in done), ()), sum(c.households for c in done), sum(c.cut for c in done))

    def best_chain(self, g: int) -> _Chain | None:
        """The cheapest chain of moves beginning at grid ``g`` that brings ``g`` within the band, else the
        one that brings it nearest (never past the band); every other grid of the chain ends within the
        band, or, when it was outside, nearer to it and no farther outside the bounds."""
        giving = self.loads[g] > self.hi
        found: list[_Chain] = []
        self._extend(g, giving, {g: self.loads[g]}, {}, (), 0.0, 0.0, found, False)
        if not found:  # units too coarse for a one-way move: trade a heavier unit for a lighter one
            found = self._swaps(g, giving)
        if found:
            return min(found, key=lambda c: c.key)
        self._extend(g, giving, {g: self.loads[g]}, {}, (), 0.0, 0.0, found, True)
        # part of the way: nearest to the band first, then fewest households
        return min(found, key=lambda c: (-c.households, c.cut, len(c.moves))) if found else None

    def _swaps(self, g: int, giving: bool) -> list[_Chain]:
        """Exchanges between ``g`` and one neighbour: a piece each way, the difference of their loads
        bringing ``g`` within the band while the neighbour stays (or comes) within it."""
        load = self.loads[g]
        need_lo, need_hi = (load - self.hi, load - self.lo) if giving else (self.lo - load, self.hi - load)
        found = []
        sent = self._candidates(g, True, {}, (), need_lo if giving else -math.inf, math.inf)
        taken = self._candidates(g, False, {}, (), -math.inf, math.inf)
        for out_piece, _, h, _ in sent:
            for in_piece, source, _, _ in taken:
                if source != h or set(in_piece) & set(out_piece):
                    continue
                w_out, w_in = float(self.weight[list(out_piece)].sum()), float(self.weight[list(in_piece)].sum())
                net = w_out - w_in if giving else w_in - w_out
                if not need_lo - 1e-9 <= net <= need_hi + 1e-9:
                    continue
                after = self.loads[h] + (w_out - w_in)
                if not self.in_band(after) and not (
                    self.distance(after) < self.distance(self.loads[h])
                    and self.excess(after) <= self.excess(self.loads[h])
                ):
                    continue
                mine = (self.members[g] - set(out_piece)) | set(in_piece)
                theirs = (self.members[h] - set(in_piece)) | set(out_piece)
                if not (self._connected(mine) and self._connected(theirs)):
                    continue
                cut = self._cut_change(out_piece, mine, theirs) + self._cut_change(in_piece, theirs, mine)
                moves = tuple((a, g, h) for a in out_piece) + tuple((a, h, g) for a in in_piece)
                found.append(_Chain(moves, w_out + w_in, cut))
        return found

    def _extend(self, g, giving, loads, members, moves, households, cut, found, partial) -> None:
        """Grow chains from grid ``g``, which must now give (``giving``) or take a unit; ``loads`` and
        ``members`` hold the grids the chain has changed."""
        load = loads[g]
        need_lo, need_hi = (load - self.hi, load - self.lo) if giving else (self.lo - load, self.hi - load)
        if partial and not moves:  # the first grid may come only part of the way
            need_lo = 0.0
        for piece, source, target, other in self._candidates(g, giving, members, moves, need_lo, need_hi):
            w = float(self.weight[list(piece)].sum())
            if not partial and found and households + w > min(c.households for c in found) + 1e-9:
                continue
            new_loads = {
                **loads,
                source: loads.get(source, self.loads[source]) - w,
                target: loads.get(target, self.loads[target]) + w,
            }
            new_members = {
                **members,
                source: members.get(source, self.members[source]) - set(piece),
                target: members.get(target, self.members[target]) | set(piece),
            }
            chain = _Chain(
                moves + tuple((atom, source, target) for atom in piece),
                households + w,
                cut + self._cut_change(piece, new_members[source], new_members[target]),
            )
            before, after = self.loads[other], new_loads[other]
            if self.in_band(after) or (
                self.distance(after) < self.distance(before) and self.excess(after) <= self.excess(before)
            ):
                found.append(chain)
            elif len({m[1:] for m in chain.moves}) < self.max_chain:  # the neighbour passes the surplus (or deficit) on
                self._extend(
                    other, giving, new_loads, new_members, chain.moves, chain.households, chain.cut, found, False
                )

    def _candidates(self, g, giving, members, moves, need_lo, need_hi):
        """Pieces that can move across ``g``'s boundary with a load within ``need_lo``–``need_hi``: when
        ``giving``, from ``g`` to a neighbour; else from a neighbour into ``g``. A piece is a unit with
        households on the boundary, or one reached through units without households (a lawn, a yard) that go
        with it. Returns (piece, source, target, the other grid), lightest first, at most ``candidates``."""
        touched = {gr for m in moves for gr in m[1:]}
        mine = members.get(g, self.members[g])
        frontier: dict[int, set[int]] = {}  # neighbouring grid -> the source's units on the boundary with it
        for a in mine:
            for b, edge in self.graph[a].items():
                if edge["barrier"] or b in mine:
                    continue
                h = self._grid_of(b, members)
                if h is None or (h in touched and h != g):
                    continue
                frontier.setdefault(h, set()).add(a if giving else b)
        options = []
        for h, edge_units in frontier.items():
            source, target = (g, h) if giving else (h, g)
            for piece in self._pieces(edge_units, members.get(source, self.members[source])):
                if self.fixed[list(piece)].any():
                    continue
                w = float(self.weight[piece[-1]])
                if need_lo - 1e-9 <= w <= need_hi + 1e-9:
                    options.append((w, len(piece), piece, source, target, h))
        picked = []
        for _, _, piece, source, target, h in sorted(options):
            rest = members.get(source, self.members[source]) - set(piece)
            if rest and self._connected(rest):
                picked.append((piece, source, target, h))
                if len(picked) == self.candidates:
                    break
        return picked

    def _pieces(self, edge_units: set[int], members: set[int], depth: int = 2):
        """Units with households reachable from the boundary units ``edge_units`` through at most ``depth``
        units without households, each with the path to it (the last unit holds the households)."""
        best: dict[int, tuple[int, ...]] = {}
        paths = [(a,) for a in sorted(edge_units)]
        for _ in range(depth + 1):
            longer = []
            for path in paths:
                a = path[-1]
                if self.weight[a] > 0:
                    if a not in best or len(path) < len(best[a]):
                        best[a] = path
                    continue
                longer += [
                    path + (b,)
                    for b, edge in self.graph[a].items()
                    if b in members and b not in path and not edge["barrier"]
                ]
            paths = longer
        return sorted(best.values())

    def _grid_of(self, atom: int, members: dict[int, set[int]]) -> int | None:
        for g, atoms in members.items():
            if atom in atoms:
                return g
        g = int(self.atom_grid[atom])
        return g if self.movable[g] else None

    def _connected(self, atoms: set[int]) -> bool:
        start = next(iter(atoms))
        seen, stack = {start}, [start]
        while stack:
            a = stack.pop()
            for b in self.graph[a]:
                if b in atoms and b not in seen:
                    seen.add(b)
                    stack.append(b)
        return len(seen) == len(atoms)

    def _cut_change(self, piece: tuple[int, ...], source_after: set[int], target_after: set[int]) -> float:
        """How the cost of the grids' boundaries changes when ``piece`` moves: its edges to the grid it left
        become boundary, its edges to the grid it joined stop being one (streets cost least)."""
        change = 0.0
        for atom in piece:
            for b, edge in self.graph[atom].items():
                if b in piece:
                    continue
                if b in source_after:
                    change += edge["cost"]
                elif b in target_after:
                    change -= edge["cost"]
        return change
