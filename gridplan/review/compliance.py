"""Compliance check of a plan or an existing layout (网格合规检查): every rule, with the document it comes from.

A street office adjusts its grids every year or two and reports each adjustment for approval (调整方案报审).
:func:`check_compliance` holds a layout to every rule gridplan knows, and lists each failure with the grid (or
community) it concerns, the value found, the limit, the source of the rule and a polygon to zoom to:

- territory: every grid in one community (属地管理); no gap and no overlap (无缝覆盖); a grid one polygon; no
  enclave (a grid wholly enclosed by one other grid: its boundary runs along that grid only);
- size: households within the bounds (240–360 by default), the urban guidance's 300–500 (guidance, softer),
  at most 2,500 residents where residents are known;
- codes: well-formed (12-digit community code + 3-digit serial, or 2 digits in GB/T 30428.2's style), unique,
  and numbered in reading order (west → east, north → south, as :func:`gridplan.core.codes.serial_order` reads it);
- with a coverage: a party organization in every grid, a branch of its own for a grid with 3 full members, joint
  branches of at most 5 adjacent grids with 3 full members in all, at most 50 members a branch, and every
  household within the 15-minute service circle.

A layout drawn by hand (grid polygons, no assignment) is placed on the buildings as :func:`gridplan.engine.audit.audit_grids`
places it: each building in the grid holding the largest share of its footprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.core.codes import COMMUNITY_CODE_DIGITS, SERIAL_DIGITS, serial_order
from gridplan.core.geometry import SLIVER_M2, shared_length
from gridplan.core.results import Coverage, Plan, PlanRun, as_list
from gridplan.core.scene import PreparedScene, id_string
from gridplan.engine.audit import audit_grids, communities_of, overlapping_pairs
from gridplan.engine.units import SNAP_M
from gridplan.errors import InputError
from gridplan.io.store import grid_ids_of
from gridplan.reach.party import grid_neighbours
from gridplan.settings import COMPLIANCE_DEFAULTS, ComplianceSettings, Settings
from gridplan.vocabulary import (
    LANGUAGES,
    RULE_MESSAGES,
    RULE_SOURCES,
    BranchStatus,
    GridKind,
    NotApplicable,
    Rule,
    Severity,
    bracketed,
    check_language,
    label,
    severity,
    word,
)

#: The columns of :attr:`Compliance.failures`.
FAILURE_COLUMNS = ("failure_id", "rule", "severity", "community_id", "grid_id", "value", "limit", "figures", "geometry")
_CODE_RULES = (Rule.CODE_FORMAT, Rule.CODE_UNIQUE, Rule.CODE_ORDER)
_PARTY_RULES = (
    Rule.PARTY_ORGANIZATION,
    Rule.OWN_BRANCH,
    Rule.JOINT_BRANCH_UNITS,
    Rule.JOINT_BRANCH_ADJACENT,
    Rule.JOINT_BRANCH_FULL_MEMBERS,
    Rule.BRANCH_MEMBERS,
    Rule.BRANCH_COMMITTEE,
    Rule.SERVICE_CIRCLE,
)


@dataclass(frozen=True)
class Compliance:
    """A layout held to the rules (合规检查结果).

    Attributes
    ----------
    failures
        One row per failure: ``failure_id`` (``F0001``…), ``rule`` (a :class:`~gridplan.vocabulary.Rule`),
        ``severity`` (a :class:`~gridplan.vocabulary.Severity`), ``community_id``, ``grid_id`` (the grid, or the
        grids of an overlap, a shared code or a branch joined by ``", "``; None for a gap no grid borders),
        ``value`` and ``limit`` (the figure found and the one the rule allows), ``figures`` (the rest of what
        the message says), and the polygon to zoom to, in the scene's CRS. :meth:`table` adds the source and the
        message in a language.
    checked
        The rules checked, in order.
    not_applicable
        The rules that could not be checked, and why (no coverage, no residents, no codes…).
    grids
        The layout checked: ``grid_id``, ``code`` (None where it has none), ``community_id``, ``households``,
        polygons in the scene's CRS.
    settings, rules
        The bounds and party rules held to, and the compliance figures (:class:`~gridplan.settings.ComplianceSettings`).
    """

    failures: gpd.GeoDataFrame
    checked: tuple[Rule, ...]
    not_applicable: Mapping[Rule, NotApplicable]
    grids: gpd.GeoDataFrame
    settings: Settings
    rules: ComplianceSettings = COMPLIANCE_DEFAULTS

    @property
    def compliant(self) -> bool:
        """No failure of a rule (guidance findings aside)."""
        return not (self.failures["severity"] == Severity.RULE).any()

    def counts(self) -> pd.DataFrame:
        """Failures per rule: ``rule``, ``severity``, ``failures`` (every rule checked, 0 included) and
        ``not_applicable`` (the reason, for a rule not checked; "" otherwise), in the order of :class:`Rule`."""
        found = self.failures["rule"].value_counts()
        rows = [
            {
                "rule": r.value,
                "severity": severity(r).value,
                "failures": int(found.get(r.value, 0)) if r in self.checked else 0,
                "not_applicable": self.not_applicable[r].value if r in self.not_applicable else "",
            }
            for r in Rule
            if r in self.checked or r in self.not_applicable
        ]
        return pd.DataFrame(rows, columns=["rule", "severity", "failures", "not_applicable"])

    def table(self, lang: str = "zh") -> gpd.GeoDataFrame:
        """:attr:`failures` with ``source`` and ``message`` in ``lang`` (``"zh"`` or ``"en"``), ``figures`` left
        out: the layer written to files and drawn on the map."""
        i = LANGUAGES.index(check_language(lang))
        out = self.failures.drop(columns="figures")
        out.insert(out.columns.get_loc("geometry"), "source", [RULE_SOURCES[r][i] for r in self.failures["rule"]])
        out.insert(
            out.columns.get_loc("geometry"),
            "message",
            [
                message(r, v, lim, f, lang)
                for r, v, lim, f in self.failures[["rule", "value", "limit", "figures"]].itertuples(index=False)
            ],
        )
        return out

    def summary(self, lang: str = "zh") -> str:
        """Counts per rule in ``lang``, the rules not checked and why, and whether the layout complies."""
        zh = check_language(lang) == "zh"
        counts = self.counts()
        rules = int(counts.loc[counts["severity"] == Severity.RULE, "failures"].sum())
        guidance = int(counts.loc[counts["severity"] == Severity.GUIDANCE, "failures"].sum())
        lines = [
            f"合规检查：网格 {len(self.grids)} 个；不合规 {rules} 项，指引提示 {guidance} 项 — "
            + ("合规" if self.compliant else "不合规")
            if zh
            else f"compliance: {len(self.grids)} grids; {rules} failures of rules, {guidance} of guidance — "
            + ("compliant" if self.compliant else "not compliant")
        ]
        for row in counts.itertuples():
            name = label(Rule(row.rule), lang)
            if row.not_applicable:
                lines.append(
                    f"  {name}：不适用（{label(NotApplicable(row.not_applicable), lang)}）"
                    if zh
                    else f"  {name}: not applicable ({label(NotApplicable(row.not_applicable), lang)})"
                )
            else:
                kind = "" if row.severity == Severity.RULE else bracketed(label(Severity.GUIDANCE, lang), lang)
                lines.append(f"  {name}{kind}" + word("colon", lang) + f"{row.failures}")
        return "\n".join(lines)


def message(rule: str, value: float, limit: float, figures: Mapping, lang: str = "zh") -> str:
    """What a planner reads of one failure, in ``lang``."""
    template = RULE_MESSAGES[Rule(rule)][LANGUAGES.index(check_language(lang))]
    figures = dict(figures)
    if "base" in figures:  # a code's community code, where the community has one
        figures["prefix"] = word("code_prefix", lang, base=figures["base"]) if figures["base"] else ""
    return template.format(value=value, limit=limit, **figures)


def check_compliance(
    prepared: PreparedScene,
    plan: Plan | PlanRun | gpd.GeoDataFrame,
    coverage: Coverage | None = None,
    settings: Settings | None = None,
    *,
    rules: ComplianceSettings = COMPLIANCE_DEFAULTS,
    code_style: str | None = None,
) -> Compliance:
    """Check a plan, or an existing layout of grid polygons, against every rule (网格合规检查).

    Parameters
    ----------
    prepared
        The scene (:func:`gridplan.pipeline.prepare_scene`).
    plan
        A plan (or its run); or existing grid polygons, any attributes: the id from ``grid_id``, ``code``,
        ``id`` or ``name``, and ``code``, ``kind`` (``special`` grids have no household bounds) and
        ``residents`` where present. Their buildings are placed by overlay (the largest share of a footprint).
    coverage
        The plan's coverage (:func:`gridplan.coverage.analyse_coverage`), for the party rules and the service
        circle; without it those rules are not applicable.
    settings
        The bounds, party rules and service circle; by default the plan's (an existing layout: the scene's).
    rules
        The compliance figures: the urban guidance, the residents' limit, the slivers ignored.
    code_style
        ``"gb15"`` or ``"gbt14"``; by default the plan's, or for an existing layout ``gbt14`` where every code has
        14 characters.

    Returns
    -------
    Compliance

    Raises
    ------
    InputError
        ``plan`` is neither a plan nor polygons, an unknown code style, or a coverage of other grids.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import check_compliance, plan_scene
    >>> compliance = check_compliance(prepared, plan_scene(prepared).plan)
    >>> int(compliance.counts().set_index("rule").loc[["gap", "overlap"], "failures"].sum())
    0
    """
    grids, assignment, settings, code_style = _layout(prepared, plan, coverage, settings, code_style)
    has_codes = "code" in grids and grids["code"].notna().any()
    local = prepared.local
    checked: list[Rule] = []
    skipped: dict[Rule, NotApplicable] = {}
    found: list[dict] = []

    def run(rule: Rule, rows: list[dict]) -> None:
        checked.append(rule)
        found.extend({"rule": rule.value, **row} for row in rows)

    run(Rule.ONE_COMMUNITY, _one_community(grids))
    run(Rule.GAP, _gaps(grids, local, rules))
    run(Rule.OVERLAP, _overlaps(grids, rules))
    run(Rule.CONTIGUITY, _contiguity(grids))
    run(Rule.ENCLAVE, _enclaves(grids, rules))
    window = settings.grid.bounds_window
    run(Rule.HOUSEHOLDS, _households(grids, window.lo, window.hi))
    run(Rule.URBAN_GUIDANCE, _households(grids, *rules.urban_households))
    residents = _residents(grids, assignment, local.buildings)
    if residents is None:
        skipped[Rule.RESIDENTS] = NotApplicable.NO_RESIDENTS
    else:
        run(Rule.RESIDENTS, _over_residents(grids, residents, rules.max_residents))
    if has_codes:
        for rule, rows in zip(_CODE_RULES, _codes(grids, local.communities, code_style)):
            run(rule, rows)
    else:
        skipped.update(dict.fromkeys(_CODE_RULES, NotApplicable.NO_CODES))
    if coverage is None:
        skipped.update(dict.fromkeys(_PARTY_RULES, NotApplicable.NO_COVERAGE))
    else:
        for rule, rows in _party(grids, coverage, settings):
            run(rule, rows)
        skipped[Rule.BRANCH_COMMITTEE] = NotApplicable.NO_COMMITTEE_DATA
        run(Rule.SERVICE_CIRCLE, _service(grids, coverage, local.crs, settings.service.coverage_radius_m))

    table = pd.DataFrame(found, columns=[c for c in FAILURE_COLUMNS if c not in ("failure_id", "severity")])
    table["severity"] = [severity(Rule(r)).value for r in table["rule"]]
    table.insert(0, "failure_id", [f"F{i:04d}" for i in range(1, len(table) + 1)])
    table["value"] = table["value"].astype(float)
    table["limit"] = table["limit"].astype(float)
    failures = gpd.GeoDataFrame(table[list(FAILURE_COLUMNS)], geometry="geometry", crs=local.crs).to_crs(prepared.crs)
    shown = grids[["grid_id", "code", "community_id", "households", "geometry"]].to_crs(prepared.crs)
    return Compliance(
        failures=failures, checked=tuple(checked), not_applicable=skipped, grids=shown, settings=settings, rules=rules
    )


# --------------------------------------------------------------------------------------------------
# The layout checked: grids in the local metric CRS, and the building → grid assignment


def _layout(
    prepared: PreparedScene, plan, coverage: Coverage | None, settings: Settings | None, code_style: str | None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, Settings, str]:
    """What :func:`check_compliance` checks: the grids (local metric CRS) and the building → grid assignment of
    a plan or of drawn polygons, the settings and the code style to check them with; the inputs refused in one
    line where they do not fit together."""
    plan = plan.plan if isinstance(plan, PlanRun) else plan
    if isinstance(plan, Plan):
        settings = plan.settings if settings is None else settings
        grids, assignment = _plan_layout(prepared, plan)
        code_style = code_style or plan.provenance.code_style
    elif isinstance(plan, gpd.GeoDataFrame):
        settings = prepared.settings if settings is None else settings
        grids, assignment = _drawn_layout(prepared, plan, settings)
    else:
        raise InputError(
            f"cannot check {type(plan).__name__}: give a plan or grid polygons",
            zh=f"无法检查 {type(plan).__name__}：请给出方案或网格多边形",
        )
    has_codes = "code" in grids and grids["code"].notna().any()
    if code_style is None:
        code_style = (
            "gbt14"
            if has_codes and (grids["code"].dropna().astype(str).str.len() == COMMUNITY_CODE_DIGITS + 2).all()
            else "gb15"
        )
    if code_style not in SERIAL_DIGITS:
        raise InputError(
            f"unknown grid code style {code_style!r}: use {' or '.join(SERIAL_DIGITS)}",
            zh=f"未知的网格编码方式 {code_style!r}：可选 {' 或 '.join(SERIAL_DIGITS)}",
        )
    if coverage is not None:
        foreign = set(coverage.grid_party["grid_id"].astype(str)) - set(grids["grid_id"])
        if foreign:
            raise InputError(
                f"the coverage is of other grids ({len(foreign)} not in the layout, e.g. {sorted(foreign)[0]}): "
                "give the coverage of this plan",
                zh=f"覆盖分析属于其他网格（{len(foreign)} 个不在本划分中，如 {sorted(foreign)[0]}）：请给出本方案的覆盖分析",
            )
    return grids, assignment, settings, code_style


def _plan_layout(prepared: PreparedScene, plan: Plan) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    local = prepared.local
    grids = plan.grids.to_crs(local.crs).reset_index(drop=True)
    grids["grid_id"] = grids["grid_id"].map(id_string)
    grids["communities_spanned"], _ = communities_of(grids, local.communities)
    if "code" not in grids:
        grids["code"] = None
    return grids, plan.assignment[["building_id", "grid_id"]]


def _drawn_layout(
    prepared: PreparedScene, existing: gpd.GeoDataFrame, settings: Settings
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Existing polygons placed on the buildings by :func:`gridplan.engine.audit.audit_grids`, in their own order, with
    their code, kind and residents where they have them."""
    audit = audit_grids(prepared, existing, settings)
    drawn = existing[existing.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index(drop=True)
    ids = grid_ids_of(drawn)
    grids = audit.grids.set_index("grid_id").loc[ids.to_numpy()].reset_index().to_crs(prepared.local.crs)
    grids["code"] = (
        drawn["code"].map(lambda c: None if pd.isna(c) else id_string(c)).to_numpy() if "code" in drawn else None
    )
    if "kind" in drawn:
        grids["kind"] = drawn["kind"].fillna(GridKind.ORDINARY.value).astype(str).to_numpy()
    if "residents" in drawn:
        grids["residents"] = pd.to_numeric(drawn["residents"], errors="coerce").to_numpy()
    return grids, audit.assignment[["building_id", "grid_id"]]


def _row(grids: gpd.GeoDataFrame, i: int, value, limit, geometry=None, **figures) -> dict:
    return {
        "community_id": grids["community_id"].iat[i],
        "grid_id": grids["grid_id"].iat[i],
        "value": value,
        "limit": limit,
        "figures": figures,
        "geometry": grids.geometry.iat[i] if geometry is None else geometry,
    }


# --------------------------------------------------------------------------------------------------
# Territory


def _one_community(grids: gpd.GeoDataFrame) -> list[dict]:
    spans = grids["communities_spanned"].to_numpy()
    return [_row(grids, i, int(spans[i]), 1) for i in np.flatnonzero(spans != 1)]


def _gaps(grids: gpd.GeoDataFrame, local, rules: ComplianceSettings) -> list[dict]:
    """Each piece of a community in no grid, bordered (for whom must fix it) by the grid sharing most of its edge."""
    communities = local.communities
    left = shapely.difference(communities.geometry.to_numpy(), shapely.union_all(grids.geometry.to_numpy()))
    parts, owner = shapely.get_parts(left, return_index=True)
    keep = shapely.area(parts) >= rules.min_gap_m2
    parts, owner = parts[keep], owner[keep]
    if not len(parts):
        return []
    geoms = grids.geometry.to_numpy()
    p, g = shapely.STRtree(geoms).query(parts, predicate="dwithin", distance=SNAP_M)
    shared = pd.DataFrame({"p": p, "g": g, "length": shared_length(parts[p], geoms[g], tolerance=SNAP_M, quad_segs=1)})
    border = shared.sort_values("length").groupby("p").last()["g"]
    homes = local.buildings
    points = homes.geometry.representative_point().to_numpy()
    b, q = shapely.STRtree(parts).query(points, predicate="within")
    households = np.bincount(q, weights=homes["households"].to_numpy()[b], minlength=len(parts))
    return [
        {
            "community_id": communities["community_id"].iat[owner[k]],
            "grid_id": grids["grid_id"].iat[int(border[k])] if k in border.index else None,
            "value": float(parts[k].area),
            "limit": 0.0,
            "figures": {"households": float(households[k])},
            "geometry": parts[k],
        }
        for k in range(len(parts))
    ]


def _overlaps(grids: gpd.GeoDataFrame, rules: ComplianceSettings) -> list[dict]:
    pairs = overlapping_pairs(grids, grids["grid_id"], rules.min_overlap_m2)
    community = dict(zip(grids["grid_id"], grids["community_id"]))
    rows = []
    for r in pairs.itertuples():
        names = ", ".join(sorted([r.grid_id, r.other_grid_id]))
        rows.append(
            {
                "community_id": community[r.grid_id],
                "grid_id": names,
                "value": float(r.area_m2),
                "limit": 0.0,
                "figures": {"grids": names},
                "geometry": r.overlap,
            }
        )
    return rows


def _contiguity(grids: gpd.GeoDataFrame) -> list[dict]:
    parts, owner = shapely.get_parts(grids.geometry.to_numpy(), return_index=True)
    pieces = np.bincount(owner[shapely.area(parts) >= SLIVER_M2], minlength=len(grids))
    return [_row(grids, i, int(pieces[i]), 1) for i in np.flatnonzero(pieces > 1)]


def _enclaves(grids: gpd.GeoDataFrame, rules: ComplianceSettings) -> list[dict]:
    """Grids whose boundary runs along one other grid only: not along the community's edge, nor a third grid."""
    geoms = grids.geometry.to_numpy()
    a, b = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=SNAP_M)
    keep = a != b
    a, b = a[keep], b[keep]
    perimeter = shapely.length(shapely.boundary(geoms))
    share = shared_length(geoms[a], geoms[b], tolerance=SNAP_M, quad_segs=1) / np.maximum(perimeter[a], 1e-9)
    enclosed = share >= rules.enclave_share
    return [
        _row(grids, int(i), float(s), rules.enclave_share, other=grids["grid_id"].iat[int(j)])
        for i, j, s in zip(a[enclosed], b[enclosed], share[enclosed])
    ]


# --------------------------------------------------------------------------------------------------
# Size


def _households(grids: gpd.GeoDataFrame, lo: float, hi: float) -> list[dict]:
    """Grids with households outside ``lo``–``hi``: special grids (专属网格) have no bounds, and a grid where
    nobody lives has no households to count."""
    households = grids["households"].to_numpy(dtype=float)
    bound = (grids["kind"].astype(str) != GridKind.SPECIAL).to_numpy() & (households > 0)
    out = bound & ((households < lo) | (households > hi))
    return [
        _row(grids, i, households[i], lo if households[i] < lo else hi, floor=lo, ceiling=hi)
        for i in np.flatnonzero(out)
    ]


def _residents(grids: gpd.GeoDataFrame, assignment: pd.DataFrame, buildings: gpd.GeoDataFrame) -> pd.Series | None:
    """Residents per grid where known: the grids' own ``residents``, else the sum of their buildings'; None where
    neither has any."""
    if "residents" in grids and grids["residents"].notna().any():
        return pd.Series(grids["residents"].to_numpy(dtype=float), index=grids.index)
    if "residents" not in buildings or not buildings["residents"].notna().any():
        return None
    people = (
        assignment.merge(buildings[["building_id", "residents"]], on="building_id")
        .groupby("grid_id")["residents"]
        .sum()
    )
    return pd.Series(grids["grid_id"].map(people).to_numpy(dtype=float), index=grids.index)


def _over_residents(grids: gpd.GeoDataFrame, residents: pd.Series, limit: float) -> list[dict]:
    return [_row(grids, i, float(residents.iat[i]), limit) for i in np.flatnonzero(residents.to_numpy() > limit)]


# --------------------------------------------------------------------------------------------------
# Codes


def _codes(
    grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, style: str
) -> tuple[list[dict], list[dict], list[dict]]:
    """Failures of the three code rules: format, uniqueness, reading order."""
    digits = COMMUNITY_CODE_DIGITS + SERIAL_DIGITS[style]
    bases = (
        dict(
            zip(
                communities["community_id"].map(id_string),
                communities["code"].map(lambda c: None if pd.isna(c) else id_string(c)),
            )
        )
        if "code" in communities
        else {}
    )
    codes = grids["code"].map(lambda c: "" if c is None or pd.isna(c) else str(c))
    base = grids["community_id"].map(lambda c: bases.get(id_string(c)) if pd.notna(c) else None)
    prefixed = pd.Series([b is None or c.startswith(b) for c, b in zip(codes, base)], index=codes.index)
    formed = codes.str.fullmatch(rf"\d{{{digits}}}") & prefixed
    malformed = [
        _row(grids, i, len(codes.iat[i]), digits, code=codes.iat[i] or "—", base=base.iat[i] or "")
        for i in np.flatnonzero(~formed.to_numpy())
    ]

    shared = codes[formed & codes.duplicated(keep=False)]
    duplicates = []
    for code, members in shared.groupby(shared).groups.items():
        rows = grids.loc[members]
        names = ", ".join(sorted(rows["grid_id"]))
        duplicates.append(
            {
                "community_id": rows["community_id"].iat[0],
                "grid_id": names,
                "value": len(rows),
                "limit": 1,
                "figures": {"code": code, "grids": names},
                "geometry": shapely.union_all(rows.geometry.to_numpy()),
            }
        )

    ordered = grids[(formed & ~codes.duplicated(keep=False)).to_numpy() & grids["community_id"].notna().to_numpy()]
    position = serial_order(ordered)
    misplaced = []
    for _, members in ordered.groupby("community_id").groups.items():
        sequence = position.loc[members].sort_values(kind="stable").index
        serials = [int(codes.loc[i][COMMUNITY_CODE_DIGITS:]) for i in sequence]
        rising = longest_rising(serials)
        kept = np.flatnonzero(rising)
        for k in np.flatnonzero(~rising):
            before = [serials[j] for j in kept if j < k]
            after = [serials[j] for j in kept if j > k]
            width = SERIAL_DIGITS[style]
            misplaced.append(
                _row(
                    grids,
                    grids.index.get_loc(sequence[k]),
                    k + 1,
                    0,
                    serial=codes.loc[sequence[k]][COMMUNITY_CODE_DIGITS:],
                    before=f"{before[-1]:0{width}d}" if before else "—",
                    after=f"{after[0]:0{width}d}" if after else "—",
                )
            )
    return malformed, duplicates, misplaced


def longest_rising(values: list[int]) -> np.ndarray:
    """Which of ``values`` form a longest strictly rising subsequence (the earliest such where several do): the
    serials in reading order that are kept, so that the fewest grids are named as misnumbered."""
    tails: list[int] = []  # index of the smallest tail of a rising run of each length
    previous = [-1] * len(values)
    for i, v in enumerate(values):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if values[tails[mid]] < v:
                lo = mid + 1
            else:
                hi = mid
        previous[i] = tails[lo - 1] if lo else -1
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    keep = np.zeros(len(values), dtype=bool)
    i = tails[-1] if tails else -1
    while i >= 0:
        keep[i] = True
        i = previous[i]
    return keep


# --------------------------------------------------------------------------------------------------
# Party organizations and the service circle


def _party(grids: gpd.GeoDataFrame, coverage: Coverage, settings: Settings) -> list[tuple[Rule, list[dict]]]:
    rules = settings.party
    party = coverage.grid_party.assign(grid_id=coverage.grid_party["grid_id"].astype(str))
    position = pd.Series(np.arange(len(grids)), index=grids["grid_id"])
    party = party[party["grid_id"].isin(position.index)]
    at = position.loc[party["grid_id"]].to_numpy()

    no_org = [
        _row(grids, i, int(f), 0)
        for i, f, s in zip(at, party["full_members"], party["status"])
        if s == BranchStatus.NO_BRANCH
    ]
    own = [
        _row(grids, i, int(f), rules.min_full_members, branch=b if isinstance(b, str) else "—")
        for i, g, f, b in zip(at, party["grid_id"], party["full_members"], party["branch_id"])
        if f >= rules.min_full_members and b != f"B-{g}"
    ]

    neighbours = grid_neighbours(grids)
    units, apart, few = [], [], []
    full = dict(zip(party["grid_id"], party["full_members"]))
    for branch in coverage.joint_branches.itertuples():
        names = sorted(str(g) for g in as_list(branch.grids))
        members = [int(position[g]) for g in names if g in position.index]
        if not members:
            continue
        row = {
            "community_id": grids["community_id"].iat[members[0]],
            "grid_id": ", ".join(names),
            "figures": {"branch": branch.branch_id},
            "geometry": shapely.union_all(grids.geometry.to_numpy()[members]),
        }
        if len(names) > rules.max_joint_units:
            units.append({**row, "value": len(names), "limit": rules.max_joint_units})
        groups = _components(members, neighbours)
        if groups > 1:
            apart.append({**row, "value": groups, "limit": 1})
        total = sum(int(full.get(g, 0)) for g in names)
        if total < rules.min_full_members:
            few.append({**row, "value": total, "limit": rules.min_full_members})

    large = []
    for branch, rows in party.dropna(subset=["branch_id"]).groupby("branch_id"):
        if rows["members"].sum() > rules.max_branch_members:
            members = position.loc[rows["grid_id"]].to_numpy()
            large.append(
                {
                    "community_id": rows["community_id"].iat[0],
                    "grid_id": ", ".join(sorted(rows["grid_id"])),
                    "value": int(rows["members"].sum()),
                    "limit": rules.max_branch_members,
                    "figures": {"branch": branch},
                    "geometry": shapely.union_all(grids.geometry.to_numpy()[members]),
                }
            )
    return [
        (Rule.PARTY_ORGANIZATION, no_org),
        (Rule.OWN_BRANCH, own),
        (Rule.JOINT_BRANCH_UNITS, units),
        (Rule.JOINT_BRANCH_ADJACENT, apart),
        (Rule.JOINT_BRANCH_FULL_MEMBERS, few),
        (Rule.BRANCH_MEMBERS, large),
    ]


def _components(members: list[int], neighbours: list[list[int]]) -> int:
    """Groups of adjacent grids among ``members`` (positions)."""
    left, groups = set(members), 0
    while left:
        groups += 1
        stack = [left.pop()]
        while stack:
            for h in neighbours[stack.pop()]:
                if h in left:
                    left.remove(h)
                    stack.append(h)
    return groups


def _service(grids: gpd.GeoDataFrame, coverage: Coverage, crs, radius: float) -> list[dict]:
    """Per grid, the households in buildings outside every service circle (blind spots, 服务盲区)."""
    blind = coverage.service_coverage[coverage.service_coverage["blind_spot"].fillna(False).astype(bool)]
    blind = blind[blind["households"] > 0].to_crs(crs)
    position = pd.Series(np.arange(len(grids)), index=grids["grid_id"])
    rows = []
    for grid_id, homes in blind.groupby(blind["grid_id"].astype(str)):
        if grid_id in position.index:
            rows.append(
                _row(
                    grids,
                    int(position[grid_id]),
                    float(homes["households"].sum()),
                    0,
                    geometry=shapely.union_all(homes.geometry.to_numpy()),
                    radius=radius,
                    buildings=len(homes),
                )
            )
    return rows
