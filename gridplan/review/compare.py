"""Two plans compared (网格调整比对): which grids persist, split, merge, appear or retire, every building and
household that changes grid (the realignment list), and each community's figures side by side.

The plans may be of the same scene or of a changed one (buildings added or removed), with any grid counts and
any grid ids: grids are matched by the households they share, never by their ids. The approval package of a
comparison (workbook, 网格调整审批表 and change map) is written by :mod:`gridplan.outputs.approval`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from gridplan.core.metrics import street_alignment
from gridplan.core.results import Coverage, Plan, PlanRun
from gridplan.core.scene import PreparedScene, id_string
from gridplan.errors import GridplanError
from gridplan.settings import GridSettings
from gridplan.vocabulary import (
    BranchStatus,
    BuildingChange,
    GridKind,
    GridMatch,
    MoveReason,
    label,
    summary_lines,
    word,
)

#: A building's weight in matching besides its households, so that grids without households still match.
BUILDING_WEIGHT = 1e-3
#: The figures compared per community, in the order they are shown.
FIGURES = (
    "grids",
    "ordinary_grids",
    "households",
    "within_tight",
    "within_bounds",
    "street_alignment",
    "service_radius_mean",
    "service_radius_max",
    *(f"grids_{m.value}" for m in GridMatch),
    "buildings_moved",
    "households_moved",
    "buildings_new",
    "buildings_removed",
)
#: The figures of party coverage and the service circle, compared where a coverage of either plan is given:
#: the share of grids with their own branch (独立党支部, or too large for one), the share with a branch of any
#: kind (their own or a joint branch, 联合党支部), and the share of households within the service circle
#: (``ServiceSettings.coverage_radius_m``, the 15-minute circle's 1,000 m).
COVERAGE_FIGURES = ("grids_own_branch", "grids_in_branch", "households_in_circle")
#: Figures that are shares (shown as percentages).
SHARE_FIGURES = ("within_tight", "within_bounds", "street_alignment", *COVERAGE_FIGURES)
#: Branch statuses of a grid with its own branch, and of a grid in a branch of any kind.
OWN_BRANCH = (BranchStatus.OWN_BRANCH.value, BranchStatus.TOO_LARGE.value)
IN_BRANCH = (*OWN_BRANCH, BranchStatus.NEEDS_JOINT_BRANCH.value, BranchStatus.JOINS_BRANCH_OF.value)


@dataclass(frozen=True)
class PlanComparison:
    """Two plans compared (网格调整比对).

    Attributes
    ----------
    grids
        One row per grid of either plan: ``side`` (``old`` or ``new``), ``grid_id``, ``code`` (the plan's code,
        else its grid id), ``community_id``, ``kind``, ``households`` and ``buildings`` (from the plan's
        buildings), ``change`` (a :class:`~gridplan.vocabulary.GridMatch`), ``continues`` (the code of the grid
        of the other plan it persists as, or None), ``related`` (codes of the grids of the other plan it shares
        buildings with, most households first) and ``households_shared`` (households it shares with each).
    realignment
        The realignment list (调整明细): one row per building not kept in its grid: ``building_id``,
        ``community_id``, ``households`` (the new plan's; the old plan's for a removed building),
        ``households_before``, ``old_grid_id``, ``old_code``, ``new_grid_id``, ``new_code``, ``change`` (a
        :class:`~gridplan.vocabulary.BuildingChange`: moved, new or removed) and ``reason`` (a
        :class:`~gridplan.vocabulary.MoveReason` from the new plan's changes where it records one, else
        ``adjusted``; empty for new and removed buildings).
    figures
        Per community the figures side by side: ``community_id``, ``figure`` (one of :data:`FIGURES`, then of
        :data:`COVERAGE_FIGURES` where a coverage was given), ``old``, ``new`` (NaN where a figure has no value on
        one side, such as the buildings moved before, or the party coverage of a plan given without its coverage).
    buildings_kept, buildings_moved, buildings_new, buildings_removed, households_moved
        The accounting: kept + moved + new + removed is every building of either plan; ``households_moved``
        is the sum of the households of the moved rows of ``realignment``.
    settings
        The bounds the shares of both plans are measured against (the new plan's).
    """

    grids: pd.DataFrame
    realignment: pd.DataFrame
    figures: pd.DataFrame
    buildings_kept: int
    buildings_moved: int
    buildings_new: int
    buildings_removed: int
    households_moved: int
    settings: GridSettings

    @property
    def buildings_total(self) -> int:
        """Every building of either plan."""
        return self.buildings_kept + self.buildings_moved + self.buildings_new + self.buildings_removed

    def grid_counts(self, side: str) -> dict[str, int]:
        """Grids of one side (``old`` or ``new``) by :class:`~gridplan.vocabulary.GridMatch` code."""
        counts = self.grids.loc[self.grids["side"] == side, "change"].value_counts()
        return {m.value: int(counts.get(m.value, 0)) for m in GridMatch}

    def summary(self, lang: str = "zh") -> str:
        """A few lines: grids by what became of them, buildings and households moved."""
        old, new = self.grid_counts("old"), self.grid_counts("new")
        sep = word("comma", lang)
        before = sep.join(f"{label(m, lang)} {old[m.value]}" for m in GridMatch if m != GridMatch.NEW)
        after = sep.join(f"{label(m, lang)} {new[m.value]}" for m in GridMatch if m != GridMatch.RETIRED)
        n_old, n_new = sum(old.values()), sum(new.values())
        return "\n".join(
            summary_lines("comparison", lang, n_old=n_old, before=before, n_new=n_new, after=after, c=self)
        )


def compare_plans(
    old: Plan | PlanRun,
    new: Plan | PlanRun,
    prepared: PreparedScene | None = None,
    old_coverage: Coverage | None = None,
    new_coverage: Coverage | None = None,
) -> PlanComparison:
    """Compare two plans of a scene (or of a scene and its changed version).

    Each grid is matched to the grid of the other plan it shares most households with (each building counts
    :data:`BUILDING_WEIGHT` besides, so that grids without households match too). An old grid and a new grid
    matched both ways *persist*: the new one continues the old one. Then, for an old grid: **split** when it is
    the main source of two or more new grids; else **merged** when the new grid it mostly went into is the main
    destination of two or more old grids; else, persisting, **unchanged** (the same buildings) or **boundary
    changed**; else **retired** (its buildings went mostly to grids that continue others, or left the plan). For
    a new grid: **merged**, **split** (its main source was split), unchanged or boundary changed, else **new**.

    A building is kept when its new grid continues its old one; otherwise it is moved (and listed with its
    grids' codes), new (only in ``new``) or removed (only in ``old``).

    Parameters
    ----------
    old, new
        The plans (or runs); a run of ``new`` with ``changes`` (a regeneration) gives the reasons of the moves.
    prepared
        The new plan's scene: with it, the street alignment is measured per community; without it, a plan's
        own figure stands for a plan of one community and other communities have none.
    old_coverage, new_coverage
        The coverage of each plan (:func:`gridplan.coverage.analyse_coverage`, or read back), each of its own plan
        (:func:`gridplan.pipeline.check_covers`): with either, the figures add :data:`COVERAGE_FIGURES` per
        community, NaN on a side without one.

    Returns
    -------
    PlanComparison

    Raises
    ------
    GridplanError
        The accounting does not add up (a bug, never bad input).

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import compare_plans, plan_scene
    >>> run = plan_scene(prepared)
    >>> comparison = compare_plans(run, run, prepared)
    >>> comparison.households_moved, comparison.buildings_kept
    (0, 200)
    """
    reasons = new.changes.building_changes if isinstance(new, PlanRun) and new.changes is not None else None
    old = old.plan if isinstance(old, PlanRun) else old
    new = new.plan if isinstance(new, PlanRun) else new
    settings = new.settings.grid
    buildings = _buildings(old, new)
    shared = _shared(buildings)
    grids = _matched_grids(old, new, buildings, shared)
    continues = grids.loc[grids["side"] == "old"].set_index("grid_id")["continues_id"]
    realignment, kept = _realignment(buildings, continues, _codes(old), _codes(new), reasons)
    comparison = PlanComparison(
        grids=grids.drop(columns="continues_id"),
        realignment=realignment,
        figures=_figures(old, new, grids, realignment, prepared, settings, {"old": old_coverage, "new": new_coverage}),
        buildings_kept=kept,
        settings=settings,
        buildings_moved=int((realignment["change"] == BuildingChange.MOVED).sum()),
        buildings_new=int((realignment["change"] == BuildingChange.NEW).sum()),
        buildings_removed=int((realignment["change"] == BuildingChange.REMOVED).sum()),
        households_moved=int(realignment.loc[realignment["change"] == BuildingChange.MOVED, "households"].sum()),
    )
    _check_accounting(comparison, len(buildings))
    return comparison


def _buildings(old: Plan, new: Plan) -> pd.DataFrame:
    """Every building of either plan: ``building_id``, ``old_grid_id``, ``new_grid_id`` (NaN where absent),
    ``households_before``, ``households`` (the new plan's, else the old one's) and ``community_id``."""

    def side(plan: Plan, suffix: str) -> pd.DataFrame:
        a = plan.assignment
        out = pd.DataFrame(
            {
                "building_id": a["building_id"].map(id_string),
                f"grid_{suffix}": a["grid_id"].map(id_string),
                f"households_{suffix}": pd.to_numeric(a["households"]).to_numpy(dtype=float),
                f"community_{suffix}": a["community_id"].map(id_string) if "community_id" in a else None,
            }
        )
        return out.dropna(subset=[f"grid_{suffix}"])

    both = side(old, "old").merge(side(new, "new"), on="building_id", how="outer", sort=True)
    return pd.DataFrame(
        {
            "building_id": both["building_id"],
            "old_grid_id": both["grid_old"],
            "new_grid_id": both["grid_new"],
            "households_before": both["households_old"],
            "households": both["households_new"].fillna(both["households_old"]).fillna(0).round().astype(np.int64),
            "community_id": both["community_new"].fillna(both["community_old"]),
        }
    )


def _shared(buildings: pd.DataFrame) -> pd.DataFrame:
    """Per pair of an old and a new grid sharing buildings: ``old_grid_id``, ``new_grid_id``, ``households``
    shared and ``weight`` (households and a little per building), heaviest first."""
    common = buildings.dropna(subset=["old_grid_id", "new_grid_id"])
    pairs = (
        common.assign(weight=common["households"] + BUILDING_WEIGHT)
        .groupby(["old_grid_id", "new_grid_id"], sort=True)[["households", "weight"]]
        .sum()
        .reset_index()
    )
    return pairs.sort_values(["weight", "old_grid_id", "new_grid_id"], ascending=[False, True, True], kind="stable")


def _matched_grids(old: Plan, new: Plan, buildings: pd.DataFrame, shared: pd.DataFrame) -> pd.DataFrame:
    """Both plans' grids with what became of them (see :func:`compare_plans`)."""
    main_new = shared.drop_duplicates("old_grid_id").set_index("old_grid_id")["new_grid_id"]
    main_old = shared.drop_duplicates("new_grid_id").set_index("new_grid_id")["old_grid_id"]
    sources = main_old.value_counts()  # new grids taking each old grid as their main source
    sinks = main_new.value_counts()  # old grids going mainly into each new grid
    mutual = main_new[main_new.map(main_old).eq(main_new.index.to_series())]  # old → the new grid continuing it
    mutual = pd.concat([mutual, _empty_pairs(old, new, buildings)])
    members = {
        s: buildings.dropna(subset=[f"{s}_grid_id"]).groupby(f"{s}_grid_id")["building_id"].agg(frozenset)
        for s in ("old", "new")
    }

    def same(o: str, n: str) -> bool:
        return members["old"].get(o) == members["new"].get(n)

    rows = []
    for o in _grid_ids(old):
        n = main_new.get(o)
        if sources.get(o, 0) >= 2:
            change = GridMatch.SPLIT
        elif n is not None and sinks.get(n, 0) >= 2:
            change = GridMatch.MERGED
        elif o in mutual.index:
            change = GridMatch.UNCHANGED if same(o, n) else GridMatch.BOUNDARY_CHANGED
        else:
            change = GridMatch.RETIRED
        rows.append(("old", o, change, mutual.get(o)))
    continued = pd.Series(mutual.index, index=mutual.to_numpy())
    for n in _grid_ids(new):
        o = main_old.get(n)
        if sinks.get(n, 0) >= 2:
            change = GridMatch.MERGED
        elif o is not None and sources.get(o, 0) >= 2:
            change = GridMatch.SPLIT
        elif n in continued.index:
            change = GridMatch.UNCHANGED if same(continued[n], n) else GridMatch.BOUNDARY_CHANGED
        else:
            change = GridMatch.NEW
        rows.append(("new", n, change, continued.get(n)))
    out = pd.DataFrame(rows, columns=["side", "grid_id", "change", "continues_id"])
    out["change"] = out["change"].map(str)

    codes = {"old": _codes(old), "new": _codes(new)}
    other = {"old": "new", "new": "old"}
    attributes = [_grid_attributes(side, plan, buildings, shared, codes) for side, plan in (("old", old), ("new", new))]
    out = out.merge(pd.concat(attributes, ignore_index=True), on=["side", "grid_id"], how="left")
    out["households"] = out["households"].fillna(0).round().astype(np.int64)
    out["buildings"] = out["buildings"].fillna(0).astype(np.int64)
    out["continues"] = [
        codes[other[s]].get(c) if isinstance(c, str) else None for s, c in zip(out["side"], out["continues_id"])
    ]
    return out[
        [
            "side",
            "grid_id",
            "code",
            "community_id",
            "kind",
            "households",
            "buildings",
            "service_radius_m",
            "change",
            "continues",
            "related",
            "households_shared",
            "continues_id",
        ]
    ]


def _grid_attributes(s: str, plan: Plan, buildings: pd.DataFrame, shared: pd.DataFrame, codes: dict) -> pd.DataFrame:
    """The grids of one side (``old`` or ``new``) with their code, community, kind, households, buildings, radius, and
    the grids of the other side they share households with."""
    other = {"old": "new", "new": "old"}
    g = plan.grids
    mine = buildings.dropna(subset=[f"{s}_grid_id"])
    counted = mine.groupby(f"{s}_grid_id").agg(
        households=("households" if s == "new" else "households_before", "sum"), buildings=("building_id", "size")
    )
    links = shared.groupby(f"{s}_grid_id", sort=False).agg(
        related=(f"{other[s]}_grid_id", list), households_shared=("households", list)
    )
    table = pd.DataFrame(
        {
            "side": s,
            "grid_id": g["grid_id"].map(id_string).to_numpy(),
            "community_id": g["community_id"].map(id_string).to_numpy(),
            "kind": g["kind"].to_numpy() if "kind" in g else GridKind.ORDINARY.value,
            "service_radius_m": pd.to_numeric(g["service_radius_m"]).to_numpy(dtype=float)
            if "service_radius_m" in g
            else np.nan,
        }
    )
    table["code"] = table["grid_id"].map(codes[s])
    table = table.join(counted, on="grid_id").join(links, on="grid_id")
    table["related"] = [[codes[other[s]][i] for i in r] if isinstance(r, list) else [] for r in table["related"]]
    table["households_shared"] = [
        [int(round(h)) for h in r] if isinstance(r, list) else [] for r in table["households_shared"]
    ]
    return table


def _empty_pairs(old: Plan, new: Plan, buildings: pd.DataFrame) -> pd.Series:
    """Grids without buildings in both plans (no households to match by), matched by their polygons: an old
    and a new one whose overlap is more than half of each's area persist. Old id → new id."""

    def empty(plan: Plan, side: str):
        grids = plan.grids.assign(grid_id=plan.grids["grid_id"].map(id_string))
        return grids[~grids["grid_id"].isin(buildings[f"{side}_grid_id"].dropna())]

    before, after = empty(old, "old"), empty(new, "new")
    if before.empty or after.empty or before.crs is None or after.crs is None:
        return pd.Series(dtype=object)
    a = before.geometry.to_crs(after.crs).to_numpy()
    b = after.geometry.to_numpy()
    i, j = shapely.STRtree(b).query(a, predicate="intersects")
    overlap = shapely.area(shapely.intersection(a[i], b[j]))
    both = overlap > 0.5 * np.maximum(shapely.area(a[i]), shapely.area(b[j]))
    pairs = pd.Series(after["grid_id"].to_numpy()[j[both]], index=before["grid_id"].to_numpy()[i[both]])
    return pairs[~pairs.index.duplicated() & ~pairs.duplicated()]


def _grid_ids(plan: Plan) -> list[str]:
    return plan.grids["grid_id"].map(id_string).tolist()


def _codes(plan: Plan) -> dict[str, str]:
    """Grid id → the code a person reads: the plan's ``code``, else the grid id."""
    ids = plan.grids["grid_id"].map(id_string)
    codes = plan.grids["code"] if "code" in plan.grids else pd.Series(None, index=plan.grids.index)
    text = codes.map(id_string, na_action="ignore").where(codes.notna() & codes.astype(str).str.strip().ne(""), ids)
    return dict(zip(ids, text))


def _realignment(
    buildings: pd.DataFrame, continues: pd.Series, old_codes: dict, new_codes: dict, reasons: pd.DataFrame | None
) -> tuple[pd.DataFrame, int]:
    """The buildings not kept in their grid, and how many were kept."""
    old_in, new_in = buildings["old_grid_id"].notna(), buildings["new_grid_id"].notna()
    kept = old_in & new_in & buildings["old_grid_id"].map(continues).eq(buildings["new_grid_id"])
    change = np.select(
        [old_in & new_in, new_in, old_in],
        [BuildingChange.MOVED.value, BuildingChange.NEW.value, BuildingChange.REMOVED.value],
        default="",
    )
    out = buildings.loc[~kept].assign(change=change[~kept.to_numpy()])
    out["old_code"] = out["old_grid_id"].map(old_codes)
    out["new_code"] = out["new_grid_id"].map(new_codes)
    recorded = pd.Series(dtype=object, index=pd.Index([], dtype=object))
    if reasons is not None and "reason" in reasons and len(reasons):
        recorded = reasons.assign(building_id=reasons["building_id"].map(id_string)).set_index("building_id")["reason"]
        recorded = recorded[recorded.notna() & recorded.astype(str).ne("")]
    moved = out["change"] == BuildingChange.MOVED
    out["reason"] = np.where(
        moved, out["building_id"].map(recorded).astype(object).fillna(MoveReason.ADJUSTED.value), ""
    )
    columns = [
        "building_id",
        "community_id",
        "households",
        "households_before",
        "old_grid_id",
        "old_code",
        "new_grid_id",
        "new_code",
        "change",
        "reason",
    ]
    return out[columns].reset_index(drop=True), int(kept.sum())


def _figures(
    old: Plan,
    new: Plan,
    grids: pd.DataFrame,
    realignment: pd.DataFrame,
    prepared: PreparedScene | None,
    settings: GridSettings,
    coverages: dict[str, Coverage | None],
) -> pd.DataFrame:
    """Per community, each of :data:`FIGURES` (and :data:`COVERAGE_FIGURES` where a coverage is given) for the
    old and the new plan."""
    communities = sorted(set(grids["community_id"].dropna()))
    local = prepared.local if prepared is not None else None
    rows = []
    for s, plan in (("old", old), ("new", new)):
        mine = grids[grids["side"] == s]
        alignment = _street_alignment(plan, local, communities)
        covered = _coverage_figures(plan, coverages[s]) if coverages[s] is not None else {}
        for c in communities:
            g = mine[mine["community_id"] == c]
            ordinary = g[g["kind"] == GridKind.ORDINARY]
            hh = ordinary["households"].to_numpy(dtype=float)
            radius = ordinary["service_radius_m"]
            values = {
                "grids": len(g),
                "ordinary_grids": len(ordinary),
                "households": int(g["households"].sum()),
                "within_tight": float(np.mean(settings.tight_window.contains(hh))) if len(hh) else np.nan,
                "within_bounds": float(np.mean(settings.bounds_window.contains(hh))) if len(hh) else np.nan,
                "street_alignment": alignment.get(c, np.nan),
                "service_radius_mean": float(radius.mean()) if radius.notna().any() else np.nan,
                "service_radius_max": float(radius.max()) if radius.notna().any() else np.nan,
            }
            values |= {f"grids_{m.value}": int((g["change"] == m.value).sum()) for m in GridMatch}
            values |= covered.get(c, {})
            if s == "new":
                r = realignment[realignment["community_id"] == c]
                moved = r[r["change"] == BuildingChange.MOVED]
                values |= {
                    "buildings_moved": len(moved),
                    "households_moved": int(moved["households"].sum()),
                    "buildings_new": int((r["change"] == BuildingChange.NEW).sum()),
                    "buildings_removed": int((r["change"] == BuildingChange.REMOVED).sum()),
                }
            rows += [{"community_id": c, "figure": f, "side": s, "value": v} for f, v in values.items()]
    long = pd.DataFrame(rows, columns=["community_id", "figure", "side", "value"])
    wide = long.pivot_table(
        index=["community_id", "figure"], columns="side", values="value", aggfunc="first", dropna=False
    )
    shown = FIGURES + COVERAGE_FIGURES if any(c is not None for c in coverages.values()) else FIGURES
    wide = wide.reindex(columns=["old", "new"]).reindex(
        pd.MultiIndex.from_product([communities, shown], names=["community_id", "figure"])
    )
    return wide.reset_index().rename_axis(columns=None)


def _coverage_figures(plan: Plan, coverage: Coverage) -> dict[str, dict[str, float]]:
    """Per community, :data:`COVERAGE_FIGURES` of a plan from its coverage: grids counted from ``grid_party``
    (every grid of the plan, a grid it does not list having no branch), households from ``service_coverage``."""
    grids = pd.DataFrame(
        {"grid_id": plan.grids["grid_id"].map(id_string), "community_id": plan.grids["community_id"].map(id_string)}
    )
    status = coverage.grid_party.assign(grid_id=coverage.grid_party["grid_id"].map(id_string)).set_index("grid_id")[
        "status"
    ]
    grids["own"] = grids["grid_id"].map(status).isin(OWN_BRANCH)
    grids["in_branch"] = grids["grid_id"].map(status).isin(IN_BRANCH)
    party = grids.groupby("community_id")[["own", "in_branch"]].mean()
    homes = coverage.service_coverage
    homes = pd.DataFrame(
        {
            "community_id": homes["grid_id"].map(id_string).map(grids.set_index("grid_id")["community_id"]),
            "households": pd.to_numeric(homes["households"]).to_numpy(dtype=float),
            "covered": homes["covered"].to_numpy(dtype=bool),
        }
    )
    homes = (
        homes.assign(within=homes["households"].where(homes["covered"], 0.0))
        .groupby("community_id")[["households", "within"]]
        .sum()
    )
    circle = (homes["within"] / homes["households"]).where(homes["households"] > 0)
    return {
        c: {
            "grids_own_branch": float(party.loc[c, "own"]),
            "grids_in_branch": float(party.loc[c, "in_branch"]),
            "households_in_circle": float(circle.get(c, np.nan)),
        }
        for c in party.index
    }


def _street_alignment(plan: Plan, local, communities: list[str]) -> dict[str, float]:
    """Per community, the share of the plan's internal grid boundary along streets: measured in the scene
    where it is given (its communities, streets and barriers), else the plan's own figure for a plan of one
    community."""
    if local is None:
        ids = plan.grids["community_id"].map(id_string).unique()
        return {ids[0]: float(plan.metrics.street_alignment)} if len(ids) == 1 else {}
    grids = plan.grids.to_crs(local.crs)
    grid_community = grids["community_id"].map(id_string)
    scene_community = local.communities["community_id"].map(id_string)
    out = {}
    for c in communities:
        mine, outline = grids[grid_community == c], local.communities[scene_community == c]
        if len(mine) and len(outline):
            out[c] = street_alignment(mine, outline, local.streets, local.barriers)[0]
    return out


def _check_accounting(comparison: PlanComparison, buildings: int) -> None:
    """Every building of either plan counted once; the households moved are the realignment list's."""
    listed = comparison.realignment
    moved = listed["change"] == BuildingChange.MOVED
    if comparison.buildings_total != buildings or listed["building_id"].duplicated().any():
        raise GridplanError(
            f"comparison accounting: kept {comparison.buildings_kept} + moved {comparison.buildings_moved} "
            f"+ new {comparison.buildings_new} + removed {comparison.buildings_removed} is not the "
            f"{buildings} buildings of both plans"
        )
    if comparison.households_moved != int(listed.loc[moved, "households"].sum()):
        raise GridplanError("comparison accounting: the households moved are not the sum of the realignment list")
