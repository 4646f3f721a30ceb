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

from .settings import GridSettings, RegenerationSettings


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
) -> Rebalanced:
    """Move the fewest households across grid boundaries to bring grids within the tight band.

    Parameters
    ----------
    graph
        Adjacency of the atoms (:class:`gridplan.units.Units`): edges carry ``cost`` (low along streets) and
        ``barrier``; atoms of different communities are never neighbours.
    weight
        Balanced load of each atom (households, or workload scaled to them).
    atom_grid
        Grid position of every atom (not changed).
    movable
        Per grid position, whether its units may move (ordinary grids that are not locked).
    grid
        Target, band (``tight_band``) and bounds.
    settings
        Longest chain, candidates per step and the cap on households moved.

    Returns
    -------
    Rebalanced
    """
    state = _State(graph, weight, atom_grid.copy(), movable, grid, settings)
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

    def __init__(self, graph, weight, atom_grid, movable, grid: GridSettings, settings: RegenerationSettings):
        self.graph, self.weight, self.atom_grid = graph, weight, atom_grid
        self.movable = movable
        self.lo, self.hi = grid.tight_band
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
        for partial in (False, True):
            found: list[_Chain] = []
            self._extend(g, giving, {g: self.loads[g]}, {}, (), 0.0, 0.0, found, partial)
            if found:
                if partial:  # nearest to the band first, then fewest households
                    return min(found, key=lambda c: (-c.households, c.cut, len(c.moves)))
                return min(found, key=lambda c: c.key)
        return None

    def _extend(self, g, giving, loads, members, moves, households, cut, found, partial) -> None:
        """Grow chains from grid ``g``, which must now give (``giving``) or take a unit; ``loads`` and
        ``members`` hold the grids the chain has changed."""
        load = loads[g]
        need_lo, need_hi = (load - self.hi, load - self.lo) if giving else (self.lo - load, self.hi - load)
        if partial and not moves:  # the first grid may come only part of the way
            need_lo = 0.0
        for atom, source, target, other in self._candidates(g, giving, members, moves, need_lo, need_hi):
            w = self.weight[atom]
            if not partial and found and households + w > min(c.households for c in found) + 1e-9:
                continue
            new_loads = {**loads, source: loads.get(source, self.loads[source]) - w, target: loads.get(target, self.loads[target]) + w}
            new_members = {**members, source: members.get(source, self.members[source]) - {atom},
                           target: members.get(target, self.members[target]) | {atom}}
            chain = _Chain(moves + ((atom, source, target),), households + w,
                           cut + self._cut_change(atom, new_members[source], new_members[target]))
            before, after = self.loads[other], new_loads[other]
            if self.in_band(after) or (self.distance(after) < self.distance(before) and self.excess(after) <= self.excess(before)):
                found.append(chain)
            elif len(chain.moves) < self.max_chain:  # the neighbour passes the surplus (or deficit) on
                self._extend(other, giving, new_loads, new_members, chain.moves, chain.households, chain.cut, found, False)

    def _candidates(self, g, giving, members, moves, need_lo, need_hi):
        """Units that can move across ``g``'s boundary with a load within ``need_lo``–``need_hi``: when
        ``giving``, from ``g`` to a neighbour; else from a neighbour into ``g``. Returns (atom, source,
        target, the other grid), smallest loads first, at most ``candidates``."""
        touched = {gr for m in moves for gr in m[1:]}
        mine = members.get(g, self.members[g])
        options = []
        for a in mine:
            for b, edge in self.graph[a].items():
                if edge["barrier"] or b in mine:
                    continue
                h = self._grid_of(b, members)
                if h is None or (h in touched and h != g):
                    continue
                atom, source, target = (a, g, h) if giving else (b, h, g)
                w = self.weight[atom]
                if not (w > 0 and need_lo - 1e-9 <= w <= need_hi + 1e-9):
                    continue
                options.append((w, atom, source, target, h))
        options = sorted(set(options))
        picked, seen = [], set()
        for w, atom, source, target, h in options:
            if (atom, source, target) in seen:
                continue
            seen.add((atom, source, target))
            rest = members.get(source, self.members[source]) - {atom}
            if rest and self._connected(rest):
                picked.append((atom, source, target, h))
                if len(picked) == self.candidates:
                    break
        return picked

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

    def _cut_change(self, atom: int, source_after: set[int], target_after: set[int]) -> float:
        """How the cost of the grids' boundaries changes when ``atom`` moves: its edges to the grid it left
        become boundary, its edges to the grid it joined stop being one (streets cost least)."""
        change = 0.0
        for b, edge in self.graph[atom].items():
            if b in source_after:
                change += edge["cost"]
            elif b in target_after:
                change -= edge["cost"]
        return change
