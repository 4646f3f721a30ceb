"""What gridplan returns: light, typed results that storage, maps, reports and notebooks can import without
the partition engine (no OR-Tools, no solver).

- :class:`Plan` (网格方案) with its :class:`PlanWarning` s, :class:`Certificate` s and :class:`Provenance`;
- :class:`PlanRun`: a plan with what the run made beside it (:class:`Levels`, :class:`PlanChanges`);
- :class:`PreviousPlan`: a plan read back to regenerate from;
- :class:`Coverage` (党建与服务覆盖): the coverage layers, the same whether built in memory or read back
  from a GeoPackage or PostGIS (:meth:`Coverage.from_layers` normalises both).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.errors import InputError
from gridplan.settings import DEFAULTS, Settings
from gridplan.vocabulary import (
    BranchStatus,
    BuildingChange,
    ClaimStatus,
    GridChange,
    GridKind,
    MoveReason,
    WarningCode,
    bracketed,
    generated_statement,
    household_statement,
    label,
    summary_lines,
    warning_text,
    word,
)

from .atoms import Units
from .codes import code_history
from .metrics import PlanMetrics


def gridplan_version() -> str:
    """The installed gridplan's version ("unknown" when run from a source tree that is not installed)."""
    try:
        return version("gridplan")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Provenance:
    """Where a result came from: the settings it was made with, the gridplan that made it, the scene it was
    made of (a fingerprint, see :func:`gridplan.core.scene.scene_fingerprint`), which inputs were generated, and,
    for coverage, the plan it covers.

    Attributes
    ----------
    settings
        Every setting the result was made with.
    scene_fingerprint
        SHA-256 of the scene's communities, buildings (ids, households, footprints), streets and barriers.
    generated
        Input → True where the input was a generated scenario, not records (``party_members``,
        ``service_points``, or a scene layer carrying a ``generated`` column).
    code_style
        Grid code style of the plan (``gb15`` or ``gbt14``).
    plan_fingerprint
        For coverage: :meth:`Plan.fingerprint` of the plan covered.
    regenerated_from
        For a regenerated plan: where the previous plan came from (a connection URL's password masked).
    version, created
        gridplan's version and the UTC time the result was made.
    plan_version
        The plan's own version (方案版本): 1 for a first plan, the previous plan's plus 1 for a regeneration
        (a previous plan that records none counts as version 1).
    parent_fingerprint
        :meth:`Plan.fingerprint` of the plan this one was regenerated from ("" for a first plan, or one
        regenerated from grid polygons drawn by hand).
    effective_date
        The date the plan takes effect (生效日期), ISO ``YYYY-MM-DD`` ("" when not given).
    author, note
        Who made the plan and why (调整说明), as given.
    """

    settings: Settings = DEFAULTS
    scene_fingerprint: str = ""
    generated: Mapping[str, bool] = field(default_factory=dict)
    code_style: str = "gb15"
    plan_fingerprint: str = ""
    regenerated_from: str = ""
    version: str = field(default_factory=gridplan_version)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    plan_version: int = 1
    parent_fingerprint: str = ""
    effective_date: str = ""
    author: str = ""
    note: str = ""

    def generated_inputs(self) -> list[str]:
        """The inputs that were generated, in order."""
        return [name for name, flag in self.generated.items() if flag]

    def table(self) -> pd.DataFrame:
        """The provenance as a ``key``/``value`` table (values JSON), as written beside every result."""
        values = {
            "version": self.version,
            "created": self.created,
            "scene_fingerprint": self.scene_fingerprint,
            "plan_fingerprint": self.plan_fingerprint,
            "regenerated_from": self.regenerated_from,
            "code_style": self.code_style,
            "generated": dict(self.generated),
            "settings": self.settings.to_dict(),
            "plan_version": self.plan_version,
            "parent_fingerprint": self.parent_fingerprint,
            "effective_date": self.effective_date,
            "author": self.author,
            "note": self.note,
        }
        return pd.DataFrame(
            {"key": list(values), "value": [json.dumps(v, ensure_ascii=False) for v in values.values()]}
        )

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> "Provenance":
        """A provenance table read back (see :meth:`table`)."""
        try:
            values = {str(k): json.loads(v) for k, v in zip(table["key"], table["value"])}
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"the provenance table cannot be read: {exc}", zh=f"无法读取 provenance 表（方案来源记录）：{exc}"
            ) from exc
        return cls(
            settings=Settings.from_dict(values.get("settings", {})),
            scene_fingerprint=values.get("scene_fingerprint", ""),
            generated=dict(values.get("generated", {})),
            code_style=values.get("code_style", "gb15"),
            plan_fingerprint=values.get("plan_fingerprint", ""),
            regenerated_from=values.get("regenerated_from", ""),
            version=values.get("version", "unknown"),
            created=values.get("created", ""),
            plan_version=int(values.get("plan_version") or 1),
            parent_fingerprint=values.get("parent_fingerprint") or "",
            effective_date=values.get("effective_date") or "",
            author=values.get("author") or "",
            note=values.get("note") or "",
        )

    def version_line(self, lang: str = "zh") -> str:
        """The plan's version in one line: ``版本 3（上一版 1a2b3c4d…，生效日期 2025-07-01）``, with its author
        and note where given."""
        details = (
            [word("version_parent", lang, fingerprint=self.parent_fingerprint[:12])] if self.parent_fingerprint else []
        )
        details += [
            word(key, lang, value=getattr(self, key))
            for key in ("effective_date", "author", "note")
            if getattr(self, key)
        ]
        return word("plan_version", lang, version=self.plan_version) + (
            bracketed(word("comma", lang).join(details), lang) if details else ""
        )


#: An effective date as ``plan --effective-date`` takes it.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_effective_date(value: str | date | None) -> str:
    """An effective date (生效日期) as the provenance keeps it: ISO ``YYYY-MM-DD``, or "" for none.

    Raises
    ------
    InputError
        Not a date written ``YYYY-MM-DD`` (such as ``2025-02-30`` or ``1/7/2025``).
    """
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return value.isoformat()[:10]
    text = str(value).strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(
            f"effective date {text!r} is not a date written YYYY-MM-DD (e.g. 2025-07-01)",
            zh=f"生效日期 {text!r} 不是 YYYY-MM-DD 格式的日期（如 2025-07-01）",
        ) from None


def assignment_fingerprint(assignment: pd.DataFrame) -> str:
    """SHA-256 of a building → grid assignment (buildings without a grid left out)."""
    pairs = assignment[["building_id", "grid_id"]].dropna().astype(str).sort_values("building_id", kind="stable")
    return hashlib.sha256("\n".join(pairs["building_id"] + "\t" + pairs["grid_id"]).encode()).hexdigest()


@dataclass(frozen=True)
class PlanWarning:
    """Something the rules could not all meet, named so a planner can see it.

    Attributes
    ----------
    code, reason
        What (a :class:`~gridplan.vocabulary.WarningCode`) and why (a
        :class:`~gridplan.vocabulary.WarningReason`).
    community_id, grid_id
        Where.
    figures
        The numbers the message quotes, as ``(name, value)`` pairs (households, bounds, metres…).
    """

    code: str
    community_id: str
    grid_id: str = ""
    reason: str = ""
    figures: tuple = ()

    def text(self, lang: str = "zh") -> str:
        """The message a planner reads, in ``lang``."""
        return warning_text(self.code, self.reason, dict(self.figures), lang)

    @property
    def message(self) -> str:
        """The message in English."""
        return self.text("en")


def warnings_table(warnings: list[PlanWarning], lang: str = "zh") -> pd.DataFrame:
    """The warnings as the plan file's ``warnings`` layer: codes and figures (JSON), and the message in ``lang``."""
    return pd.DataFrame(
        [
            {
                "code": str(w.code),
                "community_id": w.community_id,
                "grid_id": w.grid_id,
                "reason": str(w.reason),
                "figures": json.dumps(dict(w.figures), ensure_ascii=False),
                "message": w.text(lang),
            }
            for w in warnings
        ],
        columns=["code", "community_id", "grid_id", "reason", "figures", "message"],
    )


def warnings_from_table(table: pd.DataFrame | None) -> list[PlanWarning]:
    """The ``warnings`` layer read back (its codes and figures; the message is rendered anew)."""
    if table is None or table.empty:
        return []
    text = table.astype({c: str for c in ("code", "community_id", "grid_id", "reason") if c in table})
    text = text.replace({"None": "", "nan": ""})
    return [
        PlanWarning(
            r["code"],
            r["community_id"],
            grid_id=r.get("grid_id", ""),
            reason=r.get("reason", ""),
            figures=tuple(json.loads(r.get("figures") or "{}").items()),
        )
        for r in text.to_dict("records")
    ]


@dataclass(frozen=True)
class Certificate:
    """What a plan states about grids outside the bounds (or over the radius), with its exact scope (证明).

    A proven claim is true of every layout in its scope, by its ``method``; ``gridplan verify``
    (:func:`gridplan.review.verify.verify_plan`) checks it again by other means. A claim not proven records the
    best layout found and why the search stopped.

    Attributes
    ----------
    certificate_id
        ``C001``… in the plan.
    claim
        A :class:`~gridplan.vocabulary.Claim`:

        - ``unit_misfit``: the unit made of ``unit_buildings`` fits no connected group of its community's
          units (special sites apart) whose load is within ``lo``–``hi``; moreover every such group holds at
          most ``below`` or at least ``above``. The grid holding the unit is outside the bounds in every
          layout, and is as near them as any layout allows when ``covers_excess``.
        - ``region_fewest``: among the layouts of the units of ``grid_ids`` (a region between streets and
          barriers) into connected grids in which every grid outside ``lo``–``hi`` holds at most ``cap``, none
          has fewer than ``fewest`` grids outside; the plan's layout has ``fewest``.
        - ``neighbourhood_fewest``: the same for the units of ``grid_ids``, a grid outside the bounds and the
          rings of grids around it, those beyond kept as they are: re-drawing the grids nearby cannot bring
          fewer outside; it does not make the grid unable to meet the bounds (``bounds_possible`` stays True).
        - ``tight_fewest``: among the layouts of the units of ``grid_ids`` (a region) into connected grids
          each holding ``floor`` to ``cap`` (the bounds) but at most ``beyond`` grids (each at most
          ``beyond_cap``), none has fewer than ``fewest`` grids outside ``lo``–``hi`` (the tight band); the
          plan's layout has ``fewest``, and ``beyond`` is how many of its grids are outside the bounds. It says
          nothing of layouts with more grids outside the bounds.
        - ``neighbourhood_tight``: the same for the units of ``grid_ids``, a grid outside the tight band and the
          rings of grids around it, those beyond kept as they are: re-drawing the grids nearby cannot bring fewer
          outside the band (with ``fewest`` 1 and ``cap`` infinite: no layout of that ground has every grid
          within the band, whatever its grids hold).
        - ``unit_spans``: two buildings of the unit lie ``2 × span`` apart, more than twice the radius limit
          ``hi``: every grid holding them has a service radius above it.
        - ``best_found``: nothing proven; ``stopped`` says why the search stopped.
    status
        A :class:`~gridplan.vocabulary.ClaimStatus`.
    community_id, grid_ids
        Where: the grids the claim is about.
    unit_buildings
        The buildings of the unit a unit claim is about.
    lo, hi, floor, cap, fewest, beyond, beyond_cap, below, above
        The claim's figures (see ``claim``); NaN where they do not apply.
    covers_excess
        Whether the claim also proves that no layout brings the grid nearer the bounds.
    method, searched, stopped
        How it was proven (a :class:`~gridplan.vocabulary.ClaimMethod`), what was searched, and for a claim
        not proven why the search stopped (a :class:`~gridplan.vocabulary.SearchStop`).
    checked, checked_by
        What the independent check run with the plan found (a :class:`~gridplan.vocabulary.Verdict`; empty
        where none ran) and how (a :class:`~gridplan.vocabulary.CheckMethod`).
    """

    certificate_id: str
    claim: str
    status: str
    community_id: str
    grid_ids: tuple[str, ...]
    unit_buildings: tuple[str, ...] = ()
    lo: float = float("nan")
    hi: float = float("nan")
    floor: float = float("nan")
    cap: float = float("nan")
    fewest: int = 0
    beyond: int = 0
    beyond_cap: float = float("nan")
    below: float = float("nan")
    above: float = float("nan")
    covers_excess: bool = False
    method: str = ""
    searched: str = ""
    stopped: str = ""
    checked: str = ""
    checked_by: str = ""

    @property
    def proven(self) -> bool:
        return self.status == ClaimStatus.PROVEN


#: Columns of a plan's ``certificates`` layer (lists as JSON text).
CERTIFICATE_COLUMNS = (
    "certificate_id",
    "claim",
    "status",
    "community_id",
    "grid_ids",
    "unit_buildings",
    "lo",
    "hi",
    "floor",
    "cap",
    "fewest",
    "beyond",
    "beyond_cap",
    "below",
    "above",
    "covers_excess",
    "method",
    "searched",
    "stopped",
    "checked",
    "checked_by",
)


def certificates_table(certificates: list[Certificate], lang: str = "zh") -> pd.DataFrame:
    """The certificates as the plan file's ``certificates`` layer, with the claim and status in ``lang``."""
    rows = []
    for c in certificates:
        row = {name: getattr(c, name) for name in CERTIFICATE_COLUMNS}
        row["grid_ids"] = json.dumps(list(c.grid_ids), ensure_ascii=False)
        row["unit_buildings"] = json.dumps(list(c.unit_buildings), ensure_ascii=False)
        row["statement"] = label(c.claim, lang) + bracketed(label(c.status, lang), lang)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*CERTIFICATE_COLUMNS, "statement"])


def certificates_from_table(table: pd.DataFrame | None) -> list[Certificate]:
    """The ``certificates`` layer read back."""
    if table is None or table.empty:
        return []
    out = []
    for r in table.to_dict("records"):
        text = {
            k: ("" if pd.isna(r.get(k)) else str(r.get(k)))
            for k in (
                "certificate_id",
                "claim",
                "status",
                "community_id",
                "method",
                "searched",
                "stopped",
                "checked",
                "checked_by",
            )
        }
        numbers = {
            k: float(r[k]) if r.get(k) is not None and not pd.isna(r.get(k)) else float("nan")
            for k in ("lo", "hi", "floor", "cap", "beyond_cap", "below", "above")
        }
        out.append(
            Certificate(
                **text,
                **numbers,
                grid_ids=tuple(as_list(r.get("grid_ids"))),
                unit_buildings=tuple(as_list(r.get("unit_buildings"))),
                fewest=int(r.get("fewest") or 0),
                beyond=int(r.get("beyond") or 0),
                covers_excess=str(r.get("covers_excess")).lower() in ("true", "1"),
            )
        )
    return out


@dataclass(frozen=True)
class Plan:
    """A partition of every community into grids (网格方案).

    Attributes
    ----------
    grids
        ``grid_id``, ``code``, ``community_id``, ``kind`` (a :class:`~gridplan.vocabulary.GridKind`),
        ``households``, ``workload``, ``households_estimated`` (its households whose count is an estimate),
        ``households_source`` (a :class:`~gridplan.vocabulary.HouseholdSource`: registered, estimated, partly),
        ``buildings``, ``largest_unit`` (households of its largest indivisible unit: a building or whole
        compound), ``tight_possible`` and ``bounds_possible`` (False where it is proven that no layout brings
        it within ±``tight_tolerance`` / the bounds), ``service_radius_m``, ``polsby_popper``, ``ground`` (a
        digest of the units the grid stands on, :func:`gridplan.engine.units.grid_grounds`); polygons in the
        scene's CRS.
    assignment
        ``building_id`` → ``grid_id``, ``community_id``, ``households`` (registered or estimated),
        ``households_estimated`` and ``workload``, one row per building planned.
    warnings
        Rules the data made impossible to meet, by grid and community.
    metrics
        The plan's quality figures (see :class:`gridplan.core.metrics.PlanMetrics`).
    provenance
        The settings it was made with, the scene it was made of, which inputs were generated.
    units, atom_grid
        The atoms planned over (local metric CRS) and each atom's grid position; ``None`` for a plan read
        back from a file.
    certificates
        What the plan states of every ordinary grid outside the bounds or over the radius: proven, with
        its scope and method, or not proven, with why the search stopped (:class:`Certificate`).
    code_history
        Every code ever used up to this version (:func:`gridplan.core.codes.code_history`): ``code``, ``grid_id``,
        ``community_id``, ``start_version``, ``end_version`` (empty while in use), brought up to date with the
        grids' codes; by default started from them at the plan's version (a first plan, or a plan file without
        the layer).
    """

    grids: gpd.GeoDataFrame
    assignment: pd.DataFrame
    warnings: list[PlanWarning]
    metrics: PlanMetrics
    provenance: Provenance = field(default_factory=Provenance)
    units: Units | None = None
    atom_grid: np.ndarray | None = None
    certificates: list[Certificate] = field(default_factory=list)
    code_history: pd.DataFrame | None = None

    def __post_init__(self):
        # the history always agrees with the grids: started from their codes where none was carried forward,
        # read from any format into the same types
        object.__setattr__(
            self, "code_history", code_history(self.grids, self.provenance.plan_version, self.code_history)
        )

    @property
    def settings(self) -> Settings:
        """The settings the plan was made with."""
        return self.provenance.settings

    def fingerprint(self) -> str:
        """SHA-256 of the building → grid assignment: coverage and maps check that they belong to this plan."""
        return assignment_fingerprint(self.assignment)

    def households_estimated(self) -> int:
        """How many of the plan's households are estimated (households, not buildings)."""
        a = self.assignment
        flags = a["households_estimated"].fillna(False).astype(bool) if "households_estimated" in a else False
        return int(a["households"].where(flags, 0).sum())

    def staffing(self) -> pd.DataFrame:
        """One grid worker (专职网格员) per grid where people live, numbered ``0001``… in grid order (none for a
        grid without households), and each worker's workload index (the grid's workload ÷ the mean of ordinary
        grids). The grid leader (网格长) is by default the community's party secretary."""
        grids = self.grids
        ordinary = grids["kind"] == GridKind.ORDINARY
        mean = grids.loc[ordinary, "workload"].mean() if ordinary.any() else grids["workload"].mean()
        staffed = (grids["households"] > 0).to_numpy()
        return pd.DataFrame(
            {
                "grid_id": grids["grid_id"],
                "code": grids["code"] if "code" in grids else None,
                "community_id": grids["community_id"],
                "grid_worker": np.where(staffed, [f"{n:04d}" for n in np.cumsum(staffed)], None),
                "households": grids["households"],
                "workload_index": (grids["workload"] / mean).round(3) if mean else 0.0,
            }
        )

    def summary(self, lang: str = "zh") -> str:
        """A few lines: grids, balance, alignment, radius, hard rules, warnings."""
        m, g = self.metrics, self.settings.grid
        estimated = word("comma", lang) + household_statement(
            m.households_total, self.households_estimated(), self.settings.households.dwelling_size_m2, lang
        )
        communities = self.grids["community_id"].nunique()
        if m.ordinary_grids == 0:
            return self._without_ordinary(lang, estimated)
        tight_ok = m.ordinary_grids - m.tight_infeasible_grids
        bounds_ok = m.ordinary_grids - m.bounds_infeasible_grids
        lines = summary_lines(
            "plan", lang, bounds_ok=bounds_ok, communities=communities, estimated=estimated, g=g, m=m, tight_ok=tight_ok
        )
        return "\n".join(
            lines[:1] + [self._version_line(lang)] + lines[1:] + self._claim_lines(lang) + self._warning_lines(lang)
        )

    def _version_line(self, lang: str) -> str:
        return "  " + self.provenance.version_line(lang)

    def _claim_lines(self, lang: str) -> list[str]:
        """How many grids outside the bounds or over the radius are proven so (and checked independently),
        and how many are not proven."""
        if not self.certificates:
            return []
        proven = [c for c in self.certificates if c.proven]
        held = sum(c.checked == "holds" for c in proven)
        undecided = sum(c.checked == "undecided" for c in proven)
        unproven = len(self.certificates) - len(proven)
        return ["  " + word("claims_line", lang, proven=len(proven), held=held, undecided=undecided, unproven=unproven)]

    def _without_ordinary(self, lang: str, estimated: str) -> str:
        """The summary of a plan where no community reaches the floor of one grid: said plainly, not as the
        shares of zero grids."""
        m, g = self.metrics, self.settings.grid
        largest = self.grids.groupby("community_id")["households"].sum().max()
        communities = self.grids["community_id"].nunique()
        lines = summary_lines(
            "plan_without_ordinary", lang, communities=communities, estimated=estimated, g=g, largest=largest, m=m
        )
        return "\n".join(lines[:1] + [self._version_line(lang)] + lines[1:] + self._warning_lines(lang))

    def _warning_lines(self, lang: str) -> list[str]:
        """The first warnings, and where the others are; then the inputs that were generated."""
        lines = []
        if self.warnings:
            lines.append("  " + word("warnings_count", lang, n=len(self.warnings)))
            # what the user asked for and did not get first: it explains the warnings after it
            shown = sorted(self.warnings, key=lambda w: w.code != WarningCode.GRID_COUNT)[:10]
            lines += [f"    [{label(w.code, lang)}] {w.grid_id or w.community_id}: {w.text(lang)}" for w in shown]
            if len(self.warnings) > 10:
                more = len(self.warnings) - 10
                lines.append("    " + word("warnings_more", lang, n=more))
        generated = self.provenance.generated_inputs()
        if generated:
            lines.append("  " + generated_statement(generated, lang))
        return lines


@dataclass(frozen=True)
class PreviousPlan:
    """A plan to regenerate from: ``assignment`` (building_id → grid_id) and ``grids`` (grid_id, optional
    ``code``, ``kind``, ``locked``; with their polygons where available, which place units without buildings);
    ``provenance`` where the plan file has one (a layout drawn by hand has none); ``source``, where it was read
    from (a connection URL's password masked); ``footprints``, the plan's building footprints by building id
    where it has them (to tell a plan of another place or coordinate system from a plan of the scene);
    ``code_history``, its ``code_history`` layer where it has one; ``certificates``, what it claimed (a
    regeneration keeps the claims of grids whose ground did not change, the ``ground`` column of its grids)."""

    assignment: pd.DataFrame | None
    grids: pd.DataFrame
    provenance: Provenance | None = None
    source: str = ""
    footprints: gpd.GeoSeries | None = None
    code_history: pd.DataFrame | None = None
    certificates: list[Certificate] = field(default_factory=list)

    @classmethod
    def of(cls, plan: Plan) -> PreviousPlan:
        """A plan made in this process, to regenerate from as if written and read back."""
        return cls(
            assignment=plan.assignment[["building_id", "grid_id"]],
            grids=plan.grids,
            provenance=plan.provenance,
            code_history=plan.code_history,
            certificates=list(plan.certificates),
        )

    @property
    def version(self) -> int:
        """Its plan version: the one its provenance records, else 1 (an older plan, or a layout drawn by hand)."""
        return self.provenance.plan_version if self.provenance is not None else 1

    def fingerprint(self) -> str:
        """:meth:`Plan.fingerprint` of the plan ("" for a layout drawn by hand, which has no assignment)."""
        return "" if self.drawn else assignment_fingerprint(self.assignment)

    def history(self) -> pd.DataFrame:
        """The life of every code up to this plan (:func:`gridplan.core.codes.code_history`): its ``code_history``
        brought up to date with the codes its grids hold now (hand edits included), or, without one, started
        from those codes at its version."""
        grids = self.grids.assign(grid_id=self.grids["grid_id"].astype(str))
        if "community_id" not in grids:
            grids = grids.assign(community_id=None)
        return code_history(grids, self.version, self.code_history)

    @property
    def drawn(self) -> bool:
        """True for a layout given only as polygons (an existing layout to repair, not a gridplan plan)."""
        return self.assignment is None


@dataclass(frozen=True)
class PlanChanges:
    """What a regeneration changed against the previous plan.

    Attributes
    ----------
    building_changes
        ``building_id``, ``previous_grid_id``, ``grid_id``, ``change`` (a
        :class:`~gridplan.vocabulary.BuildingChange`), one row per building that is not where it was.
    grid_changes
        ``grid_id``, ``change`` (a :class:`~gridplan.vocabulary.GridChange`), ``buildings_in``, ``buildings_out``.
    kept_share
        Share of the buildings present before and now that kept their grid.
    previous
        Where the previous plan came from (a path or a connection URL with its password masked).
    tradeoff
        The trade-off between keeping and balancing, one row per layout: ``keep`` (the previous grids,
        repaired only where they broke the bounds), ``rebalanced`` (or ``regenerated`` without the
        rebalancing step) and, when asked, ``fresh`` (a first plan of the changed scene, its grids matched to
        the previous ones by the buildings they share); columns ``kept_share``, ``within_tight``,
        ``within_bounds`` (shares of ordinary grids) and ``households_moved``.
    move_cap
        Households the rebalancing was allowed to move (infinite: no cap).
    capped
        Whether the cap stopped a move that would have brought a grid within the band.
    journal
        For a plan saved by the editor (``gridplan edit``), its edits in order: ``seq``, ``time``, ``author``,
        ``op`` (move, lock, unlock, rebalance, undo, redo), ``grid_id`` (the grid given to, locked or rebalanced),
        ``units`` and ``households`` it moved.
    """

    building_changes: gpd.GeoDataFrame
    grid_changes: pd.DataFrame
    kept_share: float
    previous: str = ""
    tradeoff: pd.DataFrame | None = None
    move_cap: float = float("inf")
    capped: bool = False
    journal: pd.DataFrame | None = None

    def summary(self, lang: str = "zh") -> str:
        counts = self.grid_changes["change"].value_counts()
        kinds = [GridChange.UNCHANGED, GridChange.CHANGED, GridChange.CREATED, GridChange.REMOVED]
        grids = ", ".join(f"{counts.get(k.value, 0)} {label(k, lang)}" for k in kinds)
        moved = (
            self.building_changes[self.building_changes["change"] == BuildingChange.MOVED.value]
            if len(self.building_changes)
            else self.building_changes
        )
        reasons = (
            moved.groupby("reason")["households"].agg(["size", "sum"])
            if {"reason", "households"} <= set(moved.columns) and len(moved)
            else pd.DataFrame()
        )
        lines = [
            word(
                "regenerated_from" if self.journal is None else "edited_from",
                lang,
                previous=self.previous,
                kept=self.kept_share,
                changed=len(self.building_changes),
                grids=grids,
            )
        ]
        lines += [
            "  "
            + word(
                "moved_for",
                lang,
                reason=label(MoveReason(r), lang),
                buildings=int(row["size"]),
                households=int(row["sum"]),
            )
            for r, row in reasons.iterrows()
            if r
        ]
        if self.tradeoff is not None:
            lines.append("  " + word("tradeoff_head", lang))
            for row in self.tradeoff.itertuples():
                moved_hh = "—" if pd.isna(row.households_moved) else f"{row.households_moved:,.0f}"
                lines.append(
                    f"    {word('layout_' + row.layout, lang):<12} {row.kept_share:6.1%}  {row.within_tight:6.1%}  "
                    f"{row.within_bounds:6.1%}  {moved_hh}"
                )
        if self.capped:
            lines.append("  " + word("rebalance_capped", lang, cap=self.move_cap))
        return "\n".join(lines)


@dataclass(frozen=True)
class Levels:
    """Areas (一级网格) above and micro-grids (微网格) below the grids of a plan.

    Attributes
    ----------
    areas
        ``area_id``, ``grids``, ``households``; polygons (unions of whole grids).
    grid_area
        ``grid_id`` → ``area_id``.
    micro_grids
        ``micro_grid_id``, ``grid_id``, ``households``, ``buildings``, ``bounds_possible``; polygons tiling
        their grid.
    oversize
        Buildings above the micro-grid maximum (each a micro-grid of its own).
    """

    areas: gpd.GeoDataFrame
    grid_area: pd.Series
    micro_grids: gpd.GeoDataFrame
    oversize: list[str]

    def summary(self, settings: Settings, lang: str = "zh") -> str:
        micro, lv = self.micro_grids, settings.levels
        outside = ~lv.micro_window.contains(micro["households"])
        proven = int((outside & ~micro["bounds_possible"].astype(bool)).sum())
        return word(
            "levels_line",
            lang,
            areas=len(self.areas),
            micro=len(micro),
            outside=int(outside.sum()),
            low=lv.micro_min,
            high=lv.micro_max,
            proven=proven,
            oversize=len(self.oversize),
        )


@dataclass(frozen=True)
class PlanRun:
    """One run of :func:`gridplan.pipeline.plan_scene`: the plan and what was made beside it.

    Attributes
    ----------
    plan
        The plan (grids with ``area_id`` when levels were asked for).
    levels
        Areas and micro-grids, when asked for.
    changes
        What changed against the previous plan, when regenerating.
    """

    plan: Plan
    levels: Levels | None = None
    changes: PlanChanges | None = None

    def summary(self, lang: str = "zh") -> str:
        parts = [self.changes.summary(lang)] if self.changes is not None else []
        parts.append(self.plan.summary(lang))
        if self.levels is not None:
            parts.append(self.levels.summary(self.plan.settings, lang))
        return "\n".join(parts)


#: The layers of a coverage result, in the order they are written.
COVERAGE_LAYERS = (
    "grid_party",
    "joint_branches",
    "member_links",
    "unlinked",
    "unplaced_members",
    "service_coverage",
    "grid_service",
    "isochrones",
    "service_points",
    "proposed_sites",
    "siting",
)
#: The table of a coverage result's provenance.
PROVENANCE_LAYER = "coverage_provenance"
#: Coverage layers with geometry.
_SPATIAL_LAYERS = ("service_coverage", "isochrones", "service_points", "proposed_sites")
#: Columns holding lists in memory and comma-joined text in files.
_LIST_COLUMNS = {"joint_branches": ("grids", "communities")}
_ID_COLUMNS = (
    "grid_id",
    "community_id",
    "branch_id",
    "member_id",
    "building_id",
    "point_id",
    "site_id",
    "nearest_point_id",
)


@dataclass(frozen=True)
class Coverage:
    """Party and service coverage of a plan (党建与服务覆盖), as layers.

    Built by :func:`gridplan.coverage.analyse_coverage`, or read back by :func:`gridplan.io.store.read_coverage`
    from a GeoPackage or PostGIS: both go through :meth:`from_layers`, so the same coverage gives the same
    object. Member ids appear only in ``member_links`` and ``unplaced_members``; maps and reports show counts.

    Attributes
    ----------
    grid_party
        Per grid: ``grid_id``, ``community_id``, ``full_members``, ``probationary_members``, ``members``,
        ``orgs``, ``households``, ``status`` (a :class:`~gridplan.vocabulary.BranchStatus`), ``branch_id``.
    joint_branches
        ``branch_id``, ``grids`` (list of grid ids), ``communities`` (list), ``full_members``, ``members``.
    member_links
        党员联户: ``member_id``, ``building_id``, ``households``, ``distance_m``.
    unlinked
        ``grid_id``, ``households``, ``reason`` (an :class:`~gridplan.vocabulary.UnlinkedReason`), ``detail``.
    unplaced_members
        ``member_id``, ``building_id``, ``reason`` (an :class:`~gridplan.vocabulary.UnplacedReason`).
    service_coverage
        Per building: ``building_id``, ``grid_id``, ``households``, ``nearest_service_m`` (the walk to the
        nearest service point, however far; NaN where there is none), ``nearest_point_id``, ``network_reach``
        (a :class:`~gridplan.vocabulary.NetworkReach`), ``covered_<r>m`` per circle, ``covered``,
        ``blind_spot``; footprints in the scene's CRS.
    grid_service
        Per grid: ``households``, and per circle ``households_covered_<r>m`` and ``share_covered_<r>m``.
    isochrones
        ``point_id``, ``radius_m``, ``households``; the area reached along the streets.
    service_points
        The service points measured from, with the households each reaches per circle.
    proposed_sites
        New service points chosen (``site_id``, ``households_covered``), or None.
    siting
        One row: ``p``, ``radius_m``, ``households_covered``, ``greedy_households``, ``optimal``,
        ``upper_bound``, ``households_uncovered``; or None.
    provenance
        Settings used, the scene and the plan covered (fingerprints), and which inputs were generated.
    """

    grid_party: pd.DataFrame
    joint_branches: pd.DataFrame
    member_links: pd.DataFrame
    unlinked: pd.DataFrame
    unplaced_members: pd.DataFrame
    service_coverage: gpd.GeoDataFrame
    grid_service: pd.DataFrame
    isochrones: gpd.GeoDataFrame
    service_points: gpd.GeoDataFrame
    proposed_sites: gpd.GeoDataFrame | None = None
    siting: pd.DataFrame | None = None
    provenance: Provenance = field(default_factory=Provenance)

    @classmethod
    def from_layers(cls, layers: Mapping[str, pd.DataFrame | None], provenance: Provenance) -> "Coverage":
        """Coverage from its layers, in memory or read from a file: ids as text, list columns as lists,
        flags as booleans, distances as floats (NaN for none)."""
        missing = [name for name in COVERAGE_LAYERS[:9] if layers.get(name) is None]
        if missing:
            raise InputError(
                f"not a coverage result: no {missing[0]!r} layer", zh=f"不是覆盖分析结果：没有 {missing[0]!r} 图层"
            )
        crs = layers["service_coverage"].crs
        found = {name: _normalised(name, layers.get(name)) for name in COVERAGE_LAYERS}
        for name in _SPATIAL_LAYERS:  # a format may lose an empty layer's geometry
            if found[name] is not None and not isinstance(found[name], gpd.GeoDataFrame):
                found[name] = gpd.GeoDataFrame(
                    found[name], geometry=gpd.GeoSeries([None] * len(found[name]), crs=crs), crs=crs
                )
        return cls(**found, provenance=provenance)

    @property
    def generated(self) -> dict[str, bool]:
        """Which inputs were a generated scenario (``party_members``, ``service_points``)."""
        return dict(self.provenance.generated)

    def layers(self) -> dict[str, pd.DataFrame]:
        """The layers of a coverage file, and its provenance table (``coverage_provenance``: it may be stored
        beside its plan's ``provenance``)."""
        out = {name: getattr(self, name) for name in COVERAGE_LAYERS if getattr(self, name) is not None}
        out[PROVENANCE_LAYER] = self.provenance.table()
        return out

    def summary(self, lang: str = "zh") -> str:
        """Counts only, never a member id: branches, links, service circles, blind spots, proposals."""
        settings = self.provenance.settings
        gp, links = self.grid_party, self.member_links
        status = gp["status"].value_counts()
        statuses = ", ".join(f"{label(s, lang)} {int(status.get(s.value, 0))}" for s in BranchStatus)
        linked, households = int(links["households"].sum()), int(gp["households"].sum())
        loads = links.groupby("member_id")["households"].sum()
        placed = int(gp["members"].sum())
        below = placed - int((loads >= settings.party.link_min_households).sum())
        unlinked = self.unlinked.groupby("reason")["households"].sum()
        mean = float(np.average(links["distance_m"], weights=links["households"])) if linked else float("nan")
        worst = float(links["distance_m"].max()) if len(links) else float("nan")
        buildings = self.service_coverage
        total = float(buildings["households"].sum())
        blind = buildings[buildings["blind_spot"] & (buildings["households"] > 0)]
        far = blind["nearest_service_m"]
        off = int((buildings["network_reach"] != "on_network").sum())
        unlinked_text = "".join(
            word("unlinked", lang, households=int(v), reason=label(k, lang)) for k, v in unlinked.items()
        )
        lines = summary_lines(
            "coverage_party",
            lang,
            placed=placed,
            full=int(gp["full_members"].sum()),
            unplaced=len(self.unplaced_members),
            grids=len(gp),
            statuses=statuses,
            joint=len(self.joint_branches),
            households=households,
            linked=linked,
            unlinked=unlinked_text,
            mean=mean,
            worst=worst,
            least=settings.party.link_min_households,
            below=below,
        )
        for radius in settings.service.radii_m:
            covered = float(buildings.loc[buildings[f"covered_{radius:g}m"], "households"].sum())
            share = covered / total if total else float("nan")
            lines.append(word("walk_circle", lang, radius=radius, covered=covered, share=share))
        lines.append(
            word(
                "blind_spots",
                lang,
                buildings=len(blind),
                households=blind["households"].sum(),
                farthest=far.max(),
                off=off,
            )
        )
        if self.siting is not None and len(self.siting):
            lines.append(
                _siting_line(
                    self.siting.iloc[0], len(self.proposed_sites) if self.proposed_sites is not None else 0, lang
                )
            )
        generated = self.provenance.generated_inputs()
        if generated:
            lines.append(generated_statement(generated, lang))
        return "\n".join(lines)


def _siting_line(s: pd.Series, placed: int, lang: str) -> str:
    """The new service points: how many were asked, how many placed, and why fewer (more would cover no one more)."""
    asked, radius, covered = int(s["p"]), float(s["radius_m"]), float(s["households_covered"])
    line = word(
        "siting",
        lang,
        radius=radius,
        asked=asked,
        placed=placed,
        covered=covered,
        optimal=word("optimal", lang) if bool(s["optimal"]) else "",
        greedy=s["greedy_households"],
    )
    if placed >= asked:
        return line
    outside = float(s["households_uncovered"])
    # files written before the count of reachable households was kept: the covered ones are all that is known
    reachable = float(s.get("households_reachable", covered))
    if pd.isna(reachable):
        reachable = covered
    if covered < reachable - 1e-9:  # a solve stopped by its time limit
        return line + word("siting_time_limit", lang, placed=placed)
    why = word("siting_all_reached", lang, placed=placed, reachable=reachable, radius=radius)
    if outside > reachable:
        why += word("siting_beyond", lang, others=outside - reachable, radius=radius)
    return line + why


def _normalised(name: str, frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    out = frame.copy()
    if isinstance(out, gpd.GeoDataFrame):  # files put the geometry last: so does memory
        out = out[[c for c in out.columns if c != out.geometry.name] + [out.geometry.name]]
    for column in _ID_COLUMNS:
        if column in out:
            out[column] = out[column].map(
                lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else _id(v)
            )
    for column in _LIST_COLUMNS.get(name, ()):
        if column in out:
            out[column] = out[column].map(as_list)
    for column in out.columns:
        if column in ("covered", "blind_spot", "optimal", "generated") or column.startswith("covered_"):
            out[column] = out[column].fillna(False).astype(bool)
    if "nearest_service_m" in out:
        out["nearest_service_m"] = pd.to_numeric(out["nearest_service_m"], errors="coerce").astype(float)
    for column in ("households", "full_members", "probationary_members", "members", "orgs"):
        if column in out and name in ("grid_party", "member_links", "unlinked", "joint_branches"):
            out[column] = pd.to_numeric(out[column]).astype(np.int64)
    return out


def _id(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_list(value) -> list[str]:
    """A stored list column's value as a list of text: a JSON array (as :func:`gridplan.io.store.storable` writes
    it), or the comma-joined text older files hold."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return []
    text = str(value)
    if text.startswith("["):
        try:
            found = json.loads(text)
        except json.JSONDecodeError:  # an old comma-joined value whose first id starts with "["
            found = None
        if isinstance(found, list):
            return [str(v) for v in found]
    return text.split(",")
