"""Every claim of a plan checked again, independently of the code that made it (``gridplan verify``).

A plan's certificates (:class:`~gridplan.core.results.Certificate`) are made by the engine: subset sums, an
exact-cover enumeration, a CP-SAT programme. Here each proven claim is checked by other means, on the
units rebuilt from the scene and the plan read back (buildings by id, empty units by the grid polygon they
lie in), so that a plan file is verified as well as a plan in memory:

- a unit claim (no connected group holding the unit within its window) by brute-force enumeration of the
  connected groups holding it, or a mixed-integer programme with flow connectivity (HiGHS), in
  :mod:`gridplan.review.checking`, which imports nothing of the engine;
- a region claim (no layout with fewer grids outside) by exhaustive search where the region is small (or its
  inhabited units few: empty ones then only join them), else the same mixed-integer programme for a whole layout;
- a radius claim from the buildings' own coordinates;
- and every claim against the layouts gridplan knows of the same ground: the plan's own, and a fresh plan
  of the scene.

A claim is *refuted* by a layout that contradicts it (the counter-example is kept, to draw and report), or
*undecided* where every check ran out of its limits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.core.results import Certificate, Plan, PlanWarning
from gridplan.core.scene import PreparedScene
from gridplan.engine.plan import partition, scene_units
from gridplan.engine.units import Units
from gridplan.settings import VerifySettings
from gridplan.vocabulary import (
    CheckMethod,
    Claim,
    ClaimMethod,
    ClaimStatus,
    SearchStop,
    Verdict,
    WarningCode,
    WarningReason,
    label,
    word,
)

from .checking import Check, Scope, check_fewest_outside, check_unit_misfit, is_connected


@dataclass(frozen=True)
class ClaimCheck:
    """One certificate checked again.

    Attributes
    ----------
    certificate_id, claim, grid_ids
        The certificate checked.
    verdict
        A :class:`~gridplan.vocabulary.Verdict`.
    method
        What checked it: ``enumeration``, ``milp`` (HiGHS), ``geometry``, ``plan`` (the plan's own layout
        against its claim) or ``fresh_plan``.
    detail, detail_zh
        What was searched, or what contradicts the claim, in English and in Chinese.
    counter_example
        Where refuted: the groups of the layout that contradicts the claim (``group``, ``households``,
        polygons in the scene's CRS).
    """

    certificate_id: str
    claim: str
    grid_ids: tuple[str, ...]
    verdict: str
    method: str
    detail: str
    detail_zh: str
    counter_example: gpd.GeoDataFrame | None = None

    def describe(self, lang: str = "zh") -> str:
        return self.detail_zh if lang == "zh" else self.detail


@dataclass(frozen=True)
class Verification:
    """The checks of a plan's certificates (:func:`verify_plan`).

    Attributes
    ----------
    checks
        One per proven certificate.
    not_proven
        The certificates that claim nothing proven (the best layout found): nothing to check.
    """

    checks: list[ClaimCheck]
    not_proven: list[Certificate] = field(default_factory=list)

    @property
    def refuted(self) -> list[ClaimCheck]:
        return [c for c in self.checks if c.verdict == Verdict.REFUTED]

    @property
    def undecided(self) -> list[ClaimCheck]:
        return [c for c in self.checks if c.verdict == Verdict.UNDECIDED]

    def table(self, lang: str = "zh") -> pd.DataFrame:
        """One row per check, verdicts in ``lang``."""
        return pd.DataFrame(
            [
                {
                    "certificate_id": c.certificate_id,
                    "claim": label(c.claim, lang),
                    "grid_ids": word("list_separator", lang).join(c.grid_ids),
                    "verdict": label(c.verdict, lang),
                    "method": label(c.method, lang),
                    "detail": c.describe(lang),
                }
                for c in self.checks
            ],
            columns=["certificate_id", "claim", "grid_ids", "verdict", "method", "detail"],
        )

    def counter_examples(self) -> gpd.GeoDataFrame | None:
        """The counter-example layouts of every refuted claim, in one layer."""
        frames = [
            c.counter_example.assign(certificate_id=c.certificate_id)
            for c in self.refuted
            if c.counter_example is not None
        ]
        return pd.concat(frames, ignore_index=True) if frames else None

    def summary(self, lang: str = "zh") -> str:
        """What was checked and found, a line per certificate refuted or undecided."""
        held = sum(c.verdict == Verdict.HOLDS for c in self.checks)
        lines = [
            word(
                "verification_line",
                lang,
                checks=len(self.checks),
                held=held,
                refuted=len(self.refuted),
                undecided=len(self.undecided),
                not_proven=len(self.not_proven),
            )
        ]
        for c in self.checks:
            if c.verdict != Verdict.HOLDS:
                lines.append(
                    f"  {c.certificate_id} {label(c.claim, lang)} {word('list_separator', lang).join(c.grid_ids)}: {label(c.verdict, lang)} "
                    f"({label(c.method, lang)}) {c.describe(lang)}"
                )
        return "\n".join(lines)


def verify_plan(
    prepared: PreparedScene,
    plan: Plan,
    *,
    fresh: bool = True,
    against: Sequence[Plan] = (),
    layouts: Mapping[str, np.ndarray] | None = None,
    settings: VerifySettings | None = None,
) -> Verification:
    """Check every proven claim of ``plan`` independently (see the module's description).

    Parameters
    ----------
    prepared
        The scene the plan was made of, prepared (:func:`gridplan.pipeline.prepare_scene`).
    plan
        The plan, in memory or read back (:func:`gridplan.io.store.read_plan`).
    fresh
        Also plan the scene afresh and check every claim against that layout.
    against
        Other plans of the same scene to check every claim against (a regeneration, an earlier version).
    layouts
        Other layouts of the same ground to check every claim against, by name: a grid label for each unit
        of :func:`gridplan.partition.scene_units` (a baseline's, a hand-made one).
    settings
        The limits of the independent checks (time, groups, layouts, size); by default the plan's.

    Returns
    -------
    Verification

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import plan_scene, verify_plan
    >>> verification = verify_plan(prepared, plan_scene(prepared).plan)
    >>> verification.refuted
    []
    """
    settings = settings or plan.settings.verify
    units = plan.units if plan.units is not None else scene_units(prepared)
    ground = _Ground.of(prepared, units, plan)
    others = [(CheckMethod.KNOWN_LAYOUT, ground.labelled(labels)) for labels in (layouts or {}).values()]
    others += [(CheckMethod.KNOWN_LAYOUT, _Ground.of(prepared, units, other)) for other in against]
    if fresh and any(c.proven for c in plan.certificates):
        others.insert(0, (CheckMethod.FRESH_PLAN, _Ground.of(prepared, units, partition(prepared))))
    checks, not_proven = [], []
    for certificate in plan.certificates:
        if not certificate.proven:
            not_proven.append(certificate)
            continue
        checks.append(_check(certificate, ground, others, settings))
    return Verification(checks, not_proven)


@dataclass(frozen=True)
class _Ground:
    """The units of a scene, the grid of each in one layout, and what checks need of them."""

    units: Units
    neighbours: list[list[int]]
    households: np.ndarray
    atom_grid: np.ndarray  # grid id of each atom ("" where none)
    building_atom: np.ndarray
    building_ids: np.ndarray
    centres: np.ndarray  # building centroids, local CRS
    crs: object

    @classmethod
    def of(cls, prepared: PreparedScene, units: Units, plan: Plan) -> "_Ground":
        buildings = prepared.local.buildings
        atoms = units.atoms
        building_atom = units.building_atom.to_numpy()
        grid_of = pd.Series(
            plan.assignment["grid_id"].astype(str).to_numpy(), index=plan.assignment["building_id"].astype(str)
        )
        building_grid = grid_of.reindex(buildings["building_id"].astype(str)).fillna("").to_numpy()
        # an atom's grid: that of most of its buildings; an atom without buildings, the grid it lies in
        atom_grid = np.full(len(atoms), "", dtype=object)
        held = pd.DataFrame({"atom": building_atom, "grid": building_grid})
        held = held[held["grid"] != ""]
        if len(held):
            top = (
                held.groupby(["atom", "grid"])
                .size()
                .reset_index(name="n")
                .sort_values(["atom", "n"], ascending=[True, False])
            )
            first = top.groupby("atom").head(1)
            atom_grid[first["atom"].to_numpy()] = first["grid"].to_numpy()
        empty = np.flatnonzero(atom_grid == "")
        if len(empty):
            grids = plan.grids.to_crs(atoms.crs)
            points = shapely.point_on_surface(atoms.geometry.to_numpy()[empty])
            p, g = shapely.STRtree(grids.geometry.to_numpy()).query(points, predicate="within")
            atom_grid[empty[p]] = grids["grid_id"].astype(str).to_numpy()[g]
        neighbours = [sorted(int(j) for j in units.graph[i]) if i in units.graph else [] for i in range(len(atoms))]
        centres = shapely.get_coordinates(shapely.centroid(buildings.geometry.to_numpy()))
        return cls(
            units,
            neighbours,
            atoms["households"].to_numpy(dtype=float),
            atom_grid,
            building_atom,
            buildings["building_id"].astype(str).to_numpy(),
            centres,
            atoms.crs,
        )

    def labelled(self, labels: np.ndarray) -> "_Ground":
        """The same ground under another layout: a grid label per unit."""
        return replace(self, atom_grid=np.asarray([f"L{x}" for x in np.asarray(labels)], dtype=object))

    def connected(self, members: np.ndarray) -> bool:
        """Whether the units ``members`` (positions) make one connected group."""
        mask = np.zeros(len(self.households), dtype=bool)
        mask[members] = True
        return is_connected(self.neighbours, mask)

    def loads(self, members: np.ndarray) -> dict[str, float]:
        """Households of each grid holding some of ``members``, over all its atoms."""
        grids = set(self.atom_grid[members]) - {""}
        return {g: float(self.households[self.atom_grid == g].sum()) for g in grids}

    def unit_of(self, building_ids) -> np.ndarray:
        return np.unique(self.building_atom[np.isin(self.building_ids, list(building_ids))])

    def sub(self, members: np.ndarray) -> tuple[list[list[int]], np.ndarray]:
        """The neighbour lists and loads of ``members`` alone, renumbered 0…"""
        index = {int(a): i for i, a in enumerate(members)}
        return [[index[j] for j in self.neighbours[a] if j in index] for a in members], self.households[members]

    def layer(self, members: np.ndarray, labels: np.ndarray, crs_to) -> gpd.GeoDataFrame:
        """The groups of a layout of ``members`` as polygons in ``crs_to``."""
        geoms = self.units.atoms.geometry.to_numpy()[members]
        groups = np.unique(labels)
        frame = gpd.GeoDataFrame(
            {"group": groups, "households": [float(self.households[members][labels == g].sum()) for g in groups]},
            geometry=[shapely.union_all(geoms[labels == g]) for g in groups],
            crs=self.crs,
        )
        return frame.to_crs(crs_to)


def _check(c: Certificate, ground: _Ground, others: list[tuple[str, _Ground]], settings: VerifySettings) -> ClaimCheck:
    """One proven certificate checked: first against the plan's own layout and the other layouts known,
    then independently."""

    def answer(verdict, method, zh: str, en: str, members=None, labels=None) -> ClaimCheck:
        example = ground.layer(members, labels, ground.units.atoms.crs) if members is not None else None
        return ClaimCheck(c.certificate_id, c.claim, c.grid_ids, str(verdict), str(method), en, zh, example)

    if c.claim == Claim.UNIT_SPANS:
        return _check_span(c, ground, answer)
    if c.claim == Claim.UNIT_MISFIT:
        return _check_misfit(c, ground, others, settings, answer)
    return _check_region(c, ground, others, settings, answer)


def _check_span(c: Certificate, ground: _Ground, answer) -> ClaimCheck:
    """A unit wider than twice the radius: from its buildings' coordinates."""
    points = ground.centres[np.isin(ground.building_ids, list(c.unit_buildings))]
    span = float(np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1).max())) if len(points) > 1 else 0.0
    if len(ground.unit_of(c.unit_buildings)) != 1 or span <= 2 * c.hi:
        return answer(
            Verdict.REFUTED,
            CheckMethod.GEOMETRY,
            f"该单元楼栋跨度 {span:.1f} 米，不超过 2 × {c.hi:.0f} 米",
            f"the unit's buildings span {span:.1f} m, not more than 2 × {c.hi:.0f} m",
        )
    return answer(
        Verdict.HOLDS,
        CheckMethod.GEOMETRY,
        f"该单元楼栋跨度 {span:.1f} 米 > 2 × {c.hi:.0f} 米",
        f"the unit's buildings span {span:.1f} m > 2 × {c.hi:.0f} m",
    )


def _check_misfit(
    c: Certificate, ground: _Ground, others: list[tuple[str, _Ground]], settings: VerifySettings, answer
) -> ClaimCheck:
    """A unit that fits no connected group of its community's units within its window: the layouts known,
    then enumeration or the programme."""
    unit = ground.unit_of(c.unit_buildings)
    if len(unit) != 1:
        return answer(
            Verdict.UNDECIDED,
            CheckMethod.PLAN,
            f"该单元的楼栋在本场景中分属 {len(unit)} 个单元",
            f"the unit's buildings lie in {len(unit)} units of this scene",
        )
    a = int(unit[0])
    lo, hi = c.below + 1, c.above - 1  # the widened window no group holding the unit reaches
    atoms = ground.units.atoms
    scope = np.flatnonzero(
        (atoms["community_id"].to_numpy() == atoms["community_id"].iat[a]) & (atoms["kind"].to_numpy() != "special")
    )
    for method, layout in [(CheckMethod.PLAN, ground), *others]:
        members = np.flatnonzero(layout.atom_grid == layout.atom_grid[a])
        if not layout.atom_grid[a] or not np.isin(members, scope).all() or not ground.connected(members):
            continue  # a group the claim does not speak of
        load = float(ground.households[members].sum())
        if lo - 1e-9 <= load <= hi + 1e-9:
            return answer(
                Verdict.REFUTED,
                method,
                f"网格 {layout.atom_grid[a]} 含该单元，共 {load:.0f} 户，在 {lo:.0f}–{hi:.0f} 之内",
                f"grid {layout.atom_grid[a]} holds the unit with {load:.0f} households, within {lo:.0f}–{hi:.0f}",
                members,
                np.zeros(len(members), dtype=np.int64),
            )
    own = ground.loads(np.array([a]))[ground.atom_grid[a]]
    if c.covers_excess and own not in (c.below, c.above):
        return answer(
            Verdict.REFUTED,
            CheckMethod.PLAN,
            f"该网格 {own:.0f} 户，并非所称的 {c.below:.0f} 或 {c.above:.0f} 户",
            f"the grid holds {own:.0f}, not {c.below:.0f} or {c.above:.0f} as claimed",
        )
    neighbours, weight = ground.sub(scope)
    check = check_unit_misfit(neighbours, weight, int(np.searchsorted(scope, a)), lo, hi, settings=settings)
    if check.verdict == Verdict.REFUTED:
        group = scope[np.asarray(check.counter_example, dtype=bool)]
        load = ground.households[group].sum()
        return answer(
            Verdict.REFUTED,
            check.method,
            f"一个含该单元、共 {load:.0f} 户的相连单元组合",
            f"a connected group of {load:.0f} households holds the unit",
            group,
            np.zeros(len(group), dtype=np.int64),
        )
    return answer(check.verdict, check.method, check.describe("zh"), check.describe("en"))


def _check_region(
    c: Certificate, ground: _Ground, others: list[tuple[str, _Ground]], settings: VerifySettings, answer
) -> ClaimCheck:
    """No layout of the units of some grids, grids outside at most the cap, with fewer grids outside: the
    plan's own layout, the layouts known, then exhaustive search or the programme."""
    members = np.flatnonzero(np.isin(ground.atom_grid, list(c.grid_ids)))
    scope = Scope(
        c.floor if np.isfinite(c.floor) else 0.0,
        c.cap if np.isfinite(c.cap) else math.inf,
        c.beyond,
        c.beyond_cap if np.isfinite(c.beyond_cap) else math.inf,
    )
    loads = ground.loads(members)
    outside = [g for g, load in loads.items() if not c.lo - 1e-9 <= load <= c.hi + 1e-9]
    if len(outside) != c.fewest or not scope.admits([loads[g] for g in outside]):
        return answer(
            Verdict.REFUTED,
            CheckMethod.PLAN,
            f"方案本身在该区域有 {len(outside)} 个超出 {c.lo:.0f}–{c.hi:.0f} 户的网格，并非所称的 {c.fewest} 个（且在范围内）",
            f"the plan's own layout of the region has {len(outside)} grids outside {c.lo:.0f}–{c.hi:.0f}, not the "
            f"{c.fewest} claimed within its scope",
        )
    for method, layout in others:
        found = _fewer_in(layout, members, c, scope)
        if found is not None:
            return answer(
                Verdict.REFUTED,
                method,
                f"{label(method, 'zh')}在该区域只有 {found[0]} 个超出 {c.lo:.0f}–{c.hi:.0f} 户的网格",
                f"{label(method, 'en')} lays the region out with {found[0]} grids outside {c.lo:.0f}–{c.hi:.0f}",
                members,
                found[1],
            )
    neighbours, weight = ground.sub(members)
    check: Check = check_fewest_outside(neighbours, weight, c.lo, c.hi, c.fewest, scope=scope, settings=settings)
    if check.verdict == Verdict.REFUTED:
        labels = np.asarray(check.counter_example)
        loads = ", ".join(f"{x:.0f}" for x in np.bincount(labels, weights=weight))
        return answer(
            Verdict.REFUTED,
            check.method,
            f"一种划分的网格户数为 {loads}",
            f"a layout with grids of {loads} households",
            members,
            labels,
        )
    return answer(check.verdict, check.method, check.describe("zh"), check.describe("en"))


def _fewer_in(layout: _Ground, members: np.ndarray, c: Certificate, scope: Scope) -> tuple[int, np.ndarray] | None:
    """Where ``layout`` lays exactly ``members`` out (no grid of it reaching beyond them) with fewer grids
    outside than ``c`` claims possible, in the claim's scope: that count and the labels."""
    grids = layout.atom_grid[members]
    if (grids == "").any() or np.isin(layout.atom_grid, np.unique(grids)).sum() != len(members):
        return None
    labels = np.unique(grids, return_inverse=True)[1]
    if not all(layout.connected(members[labels == g]) for g in range(labels.max() + 1)):
        return None  # not a layout of connected grids
    loads = np.bincount(labels, weights=layout.households[members])
    out = (loads < c.lo - 1e-9) | (loads > c.hi + 1e-9)
    if out.sum() < c.fewest and scope.admits(loads[out]):
        return int(out.sum()), labels
    return None


def checked_plan(prepared: PreparedScene, plan: Plan) -> Plan:
    """``plan`` with its proven claims checked independently as it is made (within
    ``settings.verify.plan_seconds`` a check, no fresh plan): each certificate records what its check found,
    and a claim a check refutes is withdrawn — not proven, its warning saying so — rather than stated."""
    limits = plan.settings.verify
    if limits.plan_seconds <= 0 or not any(c.proven for c in plan.certificates):
        return plan
    verification = verify_plan(prepared, plan, fresh=False, settings=replace(limits, limit_seconds=limits.plan_seconds))
    found = {c.certificate_id: c for c in verification.checks}
    certificates, withdrawn = [], set()
    for c in plan.certificates:
        check = found.get(c.certificate_id)
        if check is None:
            certificates.append(c)
        elif check.verdict == Verdict.REFUTED:
            withdrawn.add(c.certificate_id)
            certificates.append(
                replace(
                    c,
                    claim=Claim.BEST_FOUND,
                    status=ClaimStatus.NOT_PROVEN,
                    stopped=SearchStop.REFUTED,
                    checked=check.verdict,
                    checked_by=check.method,
                )
            )
        else:
            certificates.append(replace(c, checked=check.verdict, checked_by=check.method))
    warnings = [_withdrawn(w) if dict(w.figures).get("certificate") in withdrawn else w for w in plan.warnings]
    grids = plan.grids
    if withdrawn:
        ids = {g for c in plan.certificates if c.certificate_id in withdrawn for g in c.grid_ids}
        grids = grids.assign(bounds_possible=grids["bounds_possible"] | grids["grid_id"].isin(ids))
    return replace(plan, grids=grids, warnings=warnings, certificates=certificates)


def _withdrawn(warning: PlanWarning) -> PlanWarning:
    """A warning whose proof was refuted: the grid is outside the bounds (or over the radius), not proven."""
    reason = (
        WarningReason.NO_SHORTER_SPLIT if warning.code == WarningCode.OVER_RADIUS else WarningReason.UNITS_TOO_COARSE
    )
    figures = tuple((k, v) for k, v in warning.figures if k not in ("stopped", "method")) + (
        ("stopped", str(SearchStop.REFUTED)),
        ("method", str(ClaimMethod.LOCAL_SEARCH)),
    )
    return replace(warning, reason=reason.value, figures=figures)
