"""An editing session (编辑会话): a plan's grids changed by hand, one unit at a time, with the rules held.

The planner gives units (street blocks, building cells, compounds: the atoms the engine plans on) to a
neighbouring grid, locks grids and asks the engine to rebalance the rest of a community. Every edit is checked
against the hard rules before it is made (one community, one piece, not across a river, special and locked grids
kept), written to the journal before it is answered (so a crash reopens at the last edit), and can be undone and
redone without limit. Saving writes the edited layout as the plan's next version, with the buildings moved and why
(:func:`gridplan.engine.regenerate.plan_of_layout`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from gridplan.core.geometry import weighted_centres
from gridplan.core.memo import digest
from gridplan.core.results import PlanRun, PreviousPlan
from gridplan.core.scene import PreparedScene
from gridplan.engine.plan import balance_weight
from gridplan.engine.regenerate import AtomLayout, editable_layout, plan_of_layout, rebalance_rest
from gridplan.errors import InfeasibleError, InputError
from gridplan.io.drivers import is_dsn
from gridplan.io.store import read_previous, redacted, write_plan
from gridplan.pipeline import check_belongs, check_same_buildings
from gridplan.settings import EDITOR
from gridplan.style import GRID_COLOURS
from gridplan.vocabulary import TIGHT_BAND_CLAIMS, Claim, EditOp, EditRefusal, GridKind, MoveReason, refusal_text

#: How many colours the page has for grids (a map of grids needs at most four; a few more keep colours stable).
PALETTE_SIZE = len(GRID_COLOURS)
#: The first line of a journal: what it belongs to.
JOURNAL_FORMAT = "gridplan-edits/1"


class EditRefused(InputError):
    """An edit that would break a hard rule, or names what does not exist; ``code`` says which
    (:class:`~gridplan.vocabulary.EditRefusal`), ``units`` the units concerned."""

    def __init__(self, code: EditRefusal, units=(), **figures):
        super().__init__(refusal_text(code, "en", **figures), zh=refusal_text(code, "zh", **figures))
        self.code = code
        self.units = [int(u) for u in units]


@dataclass(frozen=True)
class GridFigures:
    """What the editor shows of a grid, measured as the plan measures it: ``households`` (of its buildings),
    ``deviation`` from the target, ``service_radius_m`` (farthest building from its household-weighted centre),
    ``street_alignment`` (share of its boundary with other grids that runs along a street, by the units' shared
    edges), whether its load (households, or workload scaled to them, as the engine balances) is ``within_bounds``
    and ``within_tight``; ``units`` it holds (0: the grid was emptied). A grid outside the bounds has the ``claim``
    the plan opened made of it while its ground is as it was (a unit's misfit as long as it holds the unit), and
    whether it is ``proven``; else ``best_found``, not proven (edited by hand)."""

    grid_id: str
    community_id: str
    kind: str
    locked: bool
    units: int
    households: float
    deviation: float
    service_radius_m: float
    street_alignment: float
    within_bounds: bool
    within_tight: bool
    claim: str = ""
    proven: bool = False

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class EditResult:
    """One edit made: its journal ``seq``, what it was (``op``), the units that changed grid and the grids touched
    (their figures after it)."""

    seq: int
    op: EditOp
    moved: list[int]
    touched: list[GridFigures]

    def as_dict(self) -> dict:
        return {
            "seq": self.seq,
            "op": self.op.value,
            "moved": self.moved,
            "touched": [g.as_dict() for g in self.touched],
        }


@dataclass
class _Edit:
    """An edit on the undo stack: each unit's grid before and after (positions), each lock and each grid's kind
    before and after (a rebalance may leave a grid below the floor: kind small)."""

    op: EditOp
    grid: str
    changes: list[tuple[int, int, int]] = field(default_factory=list)
    locks: list[tuple[int, bool, bool]] = field(default_factory=list)
    kinds: list[tuple[int, str, str]] = field(default_factory=list)


class EditSession:
    """A plan opened for editing.

    Parameters
    ----------
    prepared
        The scene, prepared.
    previous
        The plan edited (:func:`gridplan.io.store.read_previous`).
    journal
        Where the edits are written as they are made (JSON lines); an existing journal of the same plan and units
        is replayed first, so a session reopens at its last edit. ``None``: nothing written.
    author
        Who edits (journaled with every edit).

    Raises
    ------
    InputError
        The plan does not fit the scene, or the journal belongs to another plan or scene.
    """

    def __init__(
        self, prepared: PreparedScene, previous: PreviousPlan, *, journal: Path | None = None, author: str = ""
    ):
        self.prepared, self.previous, self.author = prepared, previous, author
        self.units, layout = editable_layout(prepared, previous)
        self.layout: AtomLayout = layout
        self._positions: dict[str, int] = {}  # grid id -> position in layout.grid_ids (see _grid)
        self.start = layout.kept_grid  # each unit's grid in the plan opened (never changed by an edit)
        atoms = self.units.atoms
        self.community = atoms["community_id"].astype(str).to_numpy()
        self.graph = self.units.graph
        self._buildings_of_atoms()
        self.start_atoms = {layout.grid_ids[g]: np.flatnonzero(self.start == g) for g in np.unique(self.start)}
        self.certificates: dict[str, list] = {}
        for c in previous.certificates:
            for grid_id in c.grid_ids:
                self.certificates.setdefault(str(grid_id), []).append(c)
        self.seq = 0
        self.undo_stack: deque[_Edit] = deque()
        self.redo_stack: deque[_Edit] = deque()
        self.entries: list[dict] = []  # the journal's edits, as written
        self._figures: dict[int, GridFigures] = {}
        for g in range(len(layout.grid_ids)):
            self._figures[g] = self._measure(g)
        self.colours: dict[int, int] = {}
        for g in range(len(layout.grid_ids)):
            self._colour(g)
        self.journal = Path(journal) if journal is not None else None
        if self.journal is not None:
            self._open_journal()

    # what is shown

    @property
    def grid_ids(self) -> list[str]:
        return self.layout.grid_ids

    def figures(self, grid_id: str | None = None) -> list[GridFigures]:
        """The figures of every grid holding units (or of one)."""
        if grid_id is not None:
            return [self._figures[self._grid(grid_id)]]
        return [f for f in self._figures.values() if f.units]

    def atom_grids(self) -> list[str]:
        """Each unit's grid id, by unit position."""
        ids = np.asarray(self.layout.grid_ids, dtype=object)
        return ids[self.layout.atom_grid].tolist()

    def neighbours(self, grid_id: str) -> list[str]:
        """The grids of the same community that share a boundary with ``grid_id``."""
        g = self._grid(grid_id)
        community = self._figures[g].community_id
        return sorted(self.layout.grid_ids[h] for h in self._touching(g) if self._figures[h].community_id == community)

    def colour(self, grid_id: str) -> int:
        """The grid's colour on the map (a position in :data:`gridplan.style.GRID_COLOURS`), none shared with a grid it touches where the layout allows (kept
        from edit to edit, changed only where an edit made two touching grids alike)."""
        return self.colours[self._grid(grid_id)]

    def _touching(self, g: int) -> set[int]:
        atoms = np.flatnonzero(self.layout.atom_grid == g)
        return {int(self.layout.atom_grid[b]) for a in atoms for b in self.graph[a]} - {g}

    def _colour(self, g: int) -> None:
        """Give ``g`` the first colour none of the grids it touches has, unless its own is already such."""
        taken = {self.colours.get(h) for h in self._touching(g)}
        if self.colours.get(g) is None or self.colours[g] in taken:
            self.colours[g] = next((c for c in range(PALETTE_SIZE) if c not in taken), g % PALETTE_SIZE)

    # edits

    def move(self, to: str, units=(), buildings=()) -> EditResult:
        """Give ``units`` (positions) and the units of ``buildings`` (ids) to the grid ``to``.

        Raises
        ------
        EditRefused
            An unknown grid, unit or building; a unit of another community; a locked or special grid given to or
            taken from; units not touching ``to``, or touching it only across a river, rail or wall; a grid left
            in pieces.
        """
        target = self._grid(to)
        chosen = self._units(units, buildings)
        chosen = chosen[self.layout.atom_grid[chosen] != target]
        if not len(chosen):
            raise EditRefused(EditRefusal.SAME_GRID, grid=to)
        self._check_move(chosen, target)
        edit = _Edit(EditOp.MOVE, to, [(int(a), int(self.layout.atom_grid[a]), target) for a in chosen])
        return self._do(edit)

    def lock(self, grid_id: str, locked: bool = True) -> EditResult:
        """Lock (or unlock) a grid: a locked grid takes no edit and rebalancing keeps it as it is."""
        g = self._grid(grid_id)
        if (g in self.layout.locked) == locked:
            raise EditRefused(EditRefusal.ALREADY_LOCKED if locked else EditRefusal.NOT_LOCKED, grid=grid_id)
        return self._do(_Edit(EditOp.LOCK if locked else EditOp.UNLOCK, grid_id, locks=[(g, not locked, locked)]))

    def rebalance(self, community_id: str) -> EditResult:
        """Re-plan a community's grids around its locked grids and the units placed by hand (they stay where they
        were placed), as a regeneration does (:func:`gridplan.engine.regenerate.rebalance_rest`)."""
        community_id = str(community_id)
        if community_id not in set(self.community):
            raise EditRefused(EditRefusal.UNKNOWN_COMMUNITY, community=community_id)
        pinned = np.zeros(len(self.start), dtype=bool)  # the units placed by hand stay where they were placed
        pinned[[a for edit in self.undo_stack if edit.op == EditOp.MOVE for a, _, _ in edit.changes]] = True
        try:
            after = rebalance_rest(self.prepared, self.units, self.layout, community_id, pinned)
        except InfeasibleError as exc:
            grid = self.prepared.settings.grid
            refusal = EditRefused(
                EditRefusal.NO_LAYOUT_AROUND, community=community_id, floor=grid.floor, ceiling=grid.ceiling
            )
            raise refusal from exc
        self.layout.grid_ids[:] = after.grid_ids
        changed = np.flatnonzero(after.atom_grid != self.layout.atom_grid)
        edit = _Edit(
            EditOp.REBALANCE,
            community_id,
            [(int(a), int(self.layout.atom_grid[a]), int(after.atom_grid[a])) for a in changed],
            kinds=[(g, self._kind(g), str(k)) for g, k in after.kinds.items() if self._kind(g) != k],
        )
        return self._do(edit)

    def undo(self) -> EditResult:
        """Take back the last edit (move, lock or rebalance)."""
        if not self.undo_stack:
            raise EditRefused(EditRefusal.NOTHING_TO_UNDO)
        edit = self.undo_stack.pop()
        self.redo_stack.append(edit)
        return self._record({"op": EditOp.UNDO.value}, self._apply(edit, backwards=True), EditOp.UNDO)

    def redo(self) -> EditResult:
        """Make again the last edit undone."""
        if not self.redo_stack:
            raise EditRefused(EditRefusal.NOTHING_TO_REDO)
        edit = self.redo_stack.pop()
        self.undo_stack.append(edit)
        return self._record({"op": EditOp.REDO.value}, self._apply(edit), EditOp.REDO)

    # saving

    def plan_run(self) -> PlanRun:
        """The edited layout as the next version of the plan, with the buildings moved (by hand: ``adjusted``; by a
        rebalance: ``rebalance``) and the journal."""
        reason = np.full(len(self.start), "", dtype=object)
        for edit in self.undo_stack:  # the edits in force, in order: the last one to move a unit says why
            why = MoveReason.ADJUSTED.value if edit.op == EditOp.MOVE else MoveReason.REBALANCE.value
            for a, _, _ in edit.changes:
                reason[a] = why
        return plan_of_layout(
            self.prepared, self.previous, self.units, self.layout, reason, journal=self.journal_table()
        )

    def save(self, target: str | os.PathLike, lang: str = "zh") -> tuple[PlanRun, list[str]]:
        """Write the edited plan to ``target`` atomically: a file (``.gpkg``, ``.geojson``, ``.parquet``) written beside
        it first, then moved into place; or PostGIS (``postgresql://…#name``) in one transaction. Returns the plan and
        what was written."""
        run = self.plan_run()
        if is_dsn(target):  # PostGIS: the scene, the plan and its metadata in one transaction
            written = write_plan(run, self.prepared, target, lang)
            self._write({"op": "save", "path": redacted(target), "fingerprint": run.plan.fingerprint()})
            return run, written
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".gridplan-save-") as scratch:
            written = [Path(p) for p in write_plan(run, self.prepared, Path(scratch) / target.name, lang)]
            final = []
            for path in written:
                os.replace(path, target.parent / path.name)
                final.append(str(target.parent / path.name))
        self._write({"op": "save", "path": str(target), "fingerprint": run.plan.fingerprint()})
        return run, final

    def journal_table(self) -> pd.DataFrame:
        """The edits in force and undone, in order: ``seq``, ``time``, ``author``, ``op``, ``grid_id``, ``units``
        and ``households`` moved."""
        columns = ["seq", "time", "author", "op", "grid_id", "units", "households"]
        rows = [
            {
                "seq": e["seq"],
                "time": e["time"],
                "author": e["author"],
                "op": e["op"],
                "grid_id": e.get("grid", ""),
                "units": len(e.get("changes", ())),
                "households": float(self.atom_households[[c[0] for c in e.get("changes", ())]].sum()),
            }
            for e in self.entries
        ]
        return pd.DataFrame(rows, columns=columns)

    # the rules

    def _check_move(self, chosen: np.ndarray, target: int) -> None:
        layout = self.layout
        community = self._figures[target].community_id
        if (self.community[chosen] != community).any():
            away = chosen[self.community[chosen] != community]
            raise EditRefused(EditRefusal.OTHER_COMMUNITY, away, grid=layout.grid_ids[target], community=community)
        sources = sorted(set(layout.atom_grid[chosen].tolist()))
        for g in [target, *sources]:
            if layout.kinds.get(g, GridKind.ORDINARY) == GridKind.SPECIAL:
                raise EditRefused(EditRefusal.SPECIAL, chosen, grid=layout.grid_ids[g])
            if g in layout.locked:
                raise EditRefused(EditRefusal.LOCKED, chosen, grid=layout.grid_ids[g])
        mine = np.flatnonzero(layout.atom_grid == target)
        if not len(mine):
            raise EditRefused(EditRefusal.EMPTY_GRID, chosen, grid=layout.grid_ids[target])
        joined = np.concatenate([mine, chosen])
        if self._pieces(joined) > 1:
            raise EditRefused(EditRefusal.NOT_TOUCHING, chosen, grid=layout.grid_ids[target])
        if self._pieces(joined, over_barriers=False) > self._pieces(mine, over_barriers=False):
            raise EditRefused(EditRefusal.ACROSS_BARRIER, chosen, grid=layout.grid_ids[target])
        for g in sources:
            held = np.flatnonzero(layout.atom_grid == g)
            left = np.setdiff1d(held, chosen)
            if len(left) and self._pieces(left) > 1:
                raise EditRefused(EditRefusal.SPLITS_GRID, chosen, grid=layout.grid_ids[g])
            if len(left) and self._pieces(left, over_barriers=False) > self._pieces(held, over_barriers=False):
                raise EditRefused(EditRefusal.ACROSS_BARRIER, chosen, grid=layout.grid_ids[g])  # its bridge taken

    def _pieces(self, atoms: np.ndarray, over_barriers: bool = True) -> int:
        """Connected pieces of ``atoms`` on the units' graph (without edges along a barrier unless
        ``over_barriers``)."""
        inside, seen, pieces = set(atoms.tolist()), set(), 0
        for start in inside:
            if start in seen:
                continue
            pieces += 1
            seen.add(start)
            stack = [start]
            while stack:
                a = stack.pop()
                for b, data in self.graph[a].items():
                    if b in inside and b not in seen and (over_barriers or not data.get("barrier")):
                        seen.add(b)
                        stack.append(b)
        return pieces

    # making an edit

    def _do(self, edit: _Edit) -> EditResult:
        touched = self._apply(edit)
        self.undo_stack.append(edit)
        self.redo_stack.clear()
        ids = self.layout.grid_ids
        entry = {"op": edit.op.value, "grid": edit.grid, "changes": [[a, ids[b], ids[t]] for a, b, t in edit.changes]}
        if edit.kinds:
            entry["kinds"] = [[ids[g], before, after] for g, before, after in edit.kinds]
        return self._record(entry, touched, edit.op)

    def _record(self, entry: dict, touched: set[int], op: EditOp) -> EditResult:
        self.seq += 1
        entry = {"seq": self.seq, "time": _now(), "author": self.author, **entry}
        self.entries.append(entry)
        self._write(entry)
        moved = sorted({c[0] for c in entry.get("changes", ())})
        if op in (EditOp.UNDO, EditOp.REDO):
            edit = self.redo_stack[-1] if op == EditOp.UNDO else self.undo_stack[-1]
            moved = sorted({a for a, _, _ in edit.changes})
        return EditResult(self.seq, op, moved, [self._figures[g] for g in sorted(touched)])

    def _apply(self, edit: _Edit, backwards: bool = False) -> set[int]:
        """Make (or take back) an edit's changes; returns the grids touched, measured again."""
        layout = self.layout
        touched = set()
        for a, before, after in edit.changes:
            layout.atom_grid[a] = before if backwards else after
            touched |= {before, after}
        for g, before, after in edit.locks:
            (layout.locked.add if (before if backwards else after) else layout.locked.discard)(g)
            touched.add(g)
        for g, before, after in edit.kinds:
            layout.kinds[g] = before if backwards else after
            touched.add(g)
        for g in touched:
            self._figures[g] = self._measure(g)
        for g in touched:
            self._colour(g)
        return touched

    # the journal

    def _header(self) -> dict:
        key = digest(
            b"edit-journal",
            self.previous.fingerprint().encode(),
            *(k.encode() for k in sorted(self.units.community_keys.values())),
            str(len(self.start)).encode(),
        ).hex()
        return {"journal": JOURNAL_FORMAT, "plan": self.previous.fingerprint(), "units": key}

    def _open_journal(self) -> None:
        """Replay the journal where it is this plan's; start it where there is none."""
        header = self._header()
        lines = self.journal.read_text(encoding="utf-8").splitlines() if self.journal.exists() else []
        if not lines:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            self._write(header)
            return
        try:
            first = json.loads(lines[0])
        except json.JSONDecodeError:
            first = {}
        if first.get("journal") != JOURNAL_FORMAT or first.get("units") != header["units"]:
            raise InputError(
                f"the edit journal {self.journal} belongs to another plan or scene: move it away or give another "
                "(--journal)",
                zh=f"编辑日志 {self.journal} 属于另一个方案或场景：请移走它或另行指定（--journal）",
            )
        for n, line in enumerate(lines[1:], start=2):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if n == len(lines):  # the last line cut short by a crash: the edit was never answered
                    self._truncate(lines[: n - 1])
                    break
                raise InputError(
                    f"the edit journal {self.journal} is damaged at line {n}",
                    zh=f"编辑日志 {self.journal} 第 {n} 行已损坏",
                ) from None
            self._replay(entry)

    def _replay(self, entry: dict) -> None:
        op = entry.get("op")
        if op == "save":
            return
        self.seq = int(entry["seq"])
        self.entries.append(entry)
        if op == EditOp.UNDO:
            edit = self.undo_stack.pop()
            self.redo_stack.append(edit)
            self._apply(edit, backwards=True)
        elif op == EditOp.REDO:
            edit = self.redo_stack.pop()
            self.undo_stack.append(edit)
            self._apply(edit)
        else:
            changes = [(int(a), self._grid(b, create=True), self._grid(t, create=True)) for a, b, t in entry["changes"]]
            locks = []
            if op in (EditOp.LOCK, EditOp.UNLOCK):
                locks = [(self._grid(entry["grid"]), op == EditOp.UNLOCK, op == EditOp.LOCK)]
            kinds = [(self._grid(g, create=True), before, after) for g, before, after in entry.get("kinds", ())]
            edit = _Edit(EditOp(op), entry.get("grid", ""), changes, locks, kinds)
            self._apply(edit)
            self.undo_stack.append(edit)
            self.redo_stack.clear()

    def _write(self, entry: dict) -> None:
        """One line, flushed to disk before the edit is answered."""
        if self.journal is None:
            return
        with open(self.journal, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _truncate(self, lines: list[str]) -> None:
        self.journal.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    # lookups and measures

    def _grid(self, grid_id, create: bool = False) -> int:
        ids = self.layout.grid_ids
        if len(self._positions) != len(ids):  # grids only ever join the list (a rebalance's new ones)
            self._positions = {g: i for i, g in enumerate(ids)}
        found = self._positions.get(str(grid_id))
        if found is None:
            if not create:
                raise EditRefused(EditRefusal.UNKNOWN_GRID, grid=grid_id)
            ids.append(str(grid_id))  # a grid a rebalance made, replayed
            self._figures[len(ids) - 1] = self._measure(len(ids) - 1)
            self.colours[len(ids) - 1] = (len(ids) - 1) % PALETTE_SIZE
            return len(ids) - 1
        return found

    def _kind(self, g: int) -> str:
        return str(self.layout.kinds.get(g, GridKind.ORDINARY))

    def _units(self, units, buildings) -> np.ndarray:
        n = len(self.start)
        chosen = []
        for u in units:
            if isinstance(u, bool) or not isinstance(u, (int, np.integer)) or not 0 <= int(u) < n:
                raise EditRefused(EditRefusal.UNKNOWN_UNIT, unit=u)
            chosen.append(int(u))
        for b in buildings:
            if str(b) not in self.building_position:
                raise EditRefused(EditRefusal.UNKNOWN_BUILDING, building=b)
            chosen.append(int(self.building_atoms[self.building_position[str(b)]]))
        if not chosen:
            raise EditRefused(EditRefusal.NOTHING_CHOSEN)
        return np.unique(chosen)

    def _buildings_of_atoms(self) -> None:
        buildings = self.prepared.local.buildings
        self.building_atoms = self.units.building_atom.to_numpy()
        self.building_ids = buildings["building_id"].astype(str).to_numpy()
        self.building_position = {b: i for i, b in enumerate(self.building_ids)}
        xy = shapely.get_coordinates(shapely.centroid(buildings.geometry.to_numpy()))
        self.building_xy = xy
        self.building_households = buildings["households"].to_numpy(dtype=float)
        order = np.argsort(self.building_atoms, kind="stable")
        self.atom_buildings = np.split(
            order, np.searchsorted(self.building_atoms[order], np.arange(1, len(self.start)))
        )
        self.atom_households = np.bincount(
            self.building_atoms, weights=self.building_households, minlength=len(self.start)
        )
        self.atom_weight = balance_weight(self.units.atoms)
        self.street_weight = self.prepared.settings.grid.internal_cut_weight

    def _measure(self, g: int) -> GridFigures:
        layout, grid = self.layout, self.prepared.settings.grid
        atoms = np.flatnonzero(layout.atom_grid == g)
        members = np.concatenate([self.atom_buildings[a] for a in atoms]) if len(atoms) else np.empty(0, int)
        households = float(self.building_households[members].sum())
        load = np.array([self.atom_weight[atoms].sum()])
        radius = 0.0
        if len(members):  # as the plan measures it (gridplan.core.metrics.service_radius)
            x, y = self.building_xy[members].T
            w = np.maximum(self.building_households[members], 1e-6)
            cx, cy, _ = weighted_centres(np.zeros(len(members), dtype=np.int64), x, y, w, 1)
            radius = float(np.hypot(x - cx[0], y - cy[0]).max())
        boundary = street = 0.0
        inside = set(atoms.tolist())
        for a in atoms:
            for b, data in self.graph[a].items():
                if b not in inside and self.community[b] == self.community[a]:
                    boundary += data["length"]
                    if data["length"] > data["cost"] * self.street_weight * 1.0001:  # a street's preference
                        street += data["length"]
        previous = self._figures.get(g)  # an emptied grid keeps its community
        community = str(self.community[atoms[0]]) if len(atoms) else (previous.community_id if previous else "")
        within = bool(grid.bounds_window.contains(load)[0])
        claim, proven = ("", False) if within else self._claim(layout.grid_ids[g], members)
        return GridFigures(
            grid_id=layout.grid_ids[g],
            community_id=community,
            kind=self._kind(g),
            locked=g in layout.locked,
            units=len(atoms),
            households=households,
            deviation=households / grid.target - 1,
            service_radius_m=radius,
            street_alignment=street / boundary if boundary else 1.0,
            within_bounds=within,
            within_tight=bool(grid.tight_window.contains(load)[0]),
            claim=claim,
            proven=proven,
        )

    def _claim(self, grid_id: str, members: np.ndarray) -> tuple[str, bool]:
        """What the plan opened claims of a grid outside the bounds (``members``: its buildings), where the claim
        still speaks of it."""
        ids = set(self.building_ids[members].tolist())
        for c in self.certificates.get(grid_id, []):
            if c.claim in TIGHT_BAND_CLAIMS:
                continue  # a claim about the tight band, not the bounds
            if c.claim == Claim.UNIT_MISFIT and c.proven and set(c.unit_buildings) <= ids:
                return c.claim, True  # true of every layout whose grid holds the unit
            if all(self._as_opened(other) for other in c.grid_ids):
                return c.claim, c.proven
        return Claim.BEST_FOUND.value, False

    def _as_opened(self, grid_id: str) -> bool:
        """Whether the grid holds exactly the units it held in the plan opened."""
        opened = self.start_atoms.get(grid_id)
        return opened is not None and np.array_equal(
            opened, np.flatnonzero(self.layout.atom_grid == self._grid(grid_id))
        )


def open_session(
    prepared: PreparedScene,
    plan: str | os.PathLike,
    *,
    previous: PreviousPlan | None = None,
    journal: Path | None = None,
    author: str = "",
) -> EditSession:
    """The plan file ``plan`` (``gridplan plan``'s, or an editor's save) opened for editing on its scene, its edits
    journaled to ``journal`` (by default beside it: :func:`default_journal`); ``previous``: the plan as read already.

    Raises
    ------
    InputError
        The plan was made of another scene, or its journal is another plan's.
    """
    previous = read_previous(plan) if previous is None else previous
    if previous.provenance is not None:
        check_belongs(prepared, previous)
    elif not previous.drawn:  # a drawn layout is refused as such by the session
        check_same_buildings(prepared, previous.assignment, "the plan", "该方案")
    return EditSession(prepared, previous, journal=default_journal(plan) if journal is None else journal, author=author)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def default_output(plan: str | os.PathLike, version: int) -> Path | str:
    """Where an edited plan is saved unless told: beside the plan, ``<stem>-v<version>.gpkg`` (the stem without the
    ``-v<n>`` of an earlier save); for a plan in PostGIS, ``…#<name>-v<version>`` in the same database."""
    if is_dsn(plan):
        database, _, name = str(plan).partition("#")
        return f"{database}#{re.sub(r'-v[0-9]+$', '', name or 'main')}-v{version}"
    plan = Path(plan)
    return plan.with_name(f"{re.sub(r'-v[0-9]+$', '', plan.stem)}-v{version}.gpkg")


def default_journal(plan: str | os.PathLike) -> Path:
    """Where a plan's edits are journaled unless told: beside it, ``<name>`` + :data:`EDITOR.journal_suffix`; for a
    plan in PostGIS, in the working folder, after the plan's name."""
    if is_dsn(plan):
        return Path(f"{str(plan).partition('#')[2] or 'main'}{EDITOR.journal_suffix}")
    plan = Path(plan)
    return plan.with_name(plan.name + EDITOR.journal_suffix)
