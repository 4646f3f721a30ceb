"""The grid tables every output shows: one row per grid with its households, deviation, radius, party figures and
where its figures come from, and the same table with readable column names in zh or en.
"""

from __future__ import annotations

import pandas as pd

from gridplan.core.households import grid_households
from gridplan.core.results import Coverage, Plan
from gridplan.settings import GridSettings
from gridplan.vocabulary import GridKind, check_language, column_label, input_label, label, labels, word


def grid_table(plan: Plan, coverage: Coverage | None = None, settings: GridSettings | None = None) -> pd.DataFrame:
    """One row per grid: size against the bounds, grid worker, party organization and service coverage (网格台账).

    Parameters
    ----------
    plan
        The plan (its grids, assignment, staffing and settings).
    coverage
        Its coverage, if analysed: ``grid_party`` gives members and branch status, ``service_coverage`` the
        share of households within the coverage circle and the blind spots.
    settings
        The bounds to measure against; by default those the plan was made with.

    Returns
    -------
    pandas.DataFrame
        ``grid_id``, ``code``, ``community_id``, ``area_id`` and ``name`` where present, ``kind``,
        ``households``, ``households_estimated`` (households, not buildings, whose count is estimated),
        ``households_source`` (a :class:`~gridplan.vocabulary.HouseholdSource`), ``workload``, ``buildings``,
        ``service_radius_m``, ``grid_worker``, ``deviation_pct``, ``within_bounds`` (within ``settings``'
        floor and ceiling; NA for a special grid, which has no bounds), ``full_members``, ``probationary_members``,
        ``branch_status``, ``branch_id``, ``coverage_share``, ``blind_spot_buildings`` and
        ``blind_spot_households`` (NaN/None where there is no coverage). Values are codes; see
        :func:`readable_table` for what a person reads.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import grid_table, plan_scene
    >>> plan = plan_scene(prepared).plan
    >>> table = grid_table(plan)
    >>> len(table) == len(plan.grids), int(table["households"].sum())
    (True, 4500)
    """
    settings = plan.settings.grid if settings is None else settings
    grids = plan.grids
    keep = [
        c for c in ("grid_id", "code", "community_id", "area_id", "name", "kind", "households") if c in grids.columns
    ]
    table = pd.DataFrame(grids[keep]).reset_index(drop=True)
    # from the buildings, whatever the grids layer says: a plan written before 0.x counted buildings there
    a = plan.assignment
    flags = a["households_estimated"] if "households_estimated" in a else pd.Series(False, index=a.index)
    sources = grid_households(a["grid_id"], a["households"], flags.fillna(False), table["grid_id"])
    table["households_estimated"] = sources["households_estimated"].to_numpy()
    table["households_source"] = sources["households_source"].to_numpy()
    for column in ("workload", "buildings", "service_radius_m"):
        if column in grids.columns:
            table[column] = grids[column].to_numpy()
    table["grid_worker"] = plan.staffing()["grid_worker"].to_numpy()
    table["deviation_pct"] = ((table["households"] / settings.target - 1) * 100).round(1)
    # a special grid (school, hospital…) is a grid whatever its households: it has no bounds to be within
    within = pd.array(settings.bounds_window.contains(table["households"].to_numpy()), dtype="boolean")
    within[(table["kind"] == GridKind.SPECIAL).to_numpy()] = pd.NA
    table["within_bounds"] = within
    party_columns = {
        "full_members": "full_members",
        "probationary_members": "probationary_members",
        "status": "branch_status",
        "branch_id": "branch_id",
    }
    if coverage is not None:
        party = coverage.grid_party[["grid_id", *party_columns]].rename(columns=party_columns)
        table = table.merge(party, on="grid_id", how="left")
        joined = plan.assignment[["building_id", "grid_id", "households"]].merge(
            coverage.service_coverage[["building_id", "covered"]], on="building_id", how="left"
        )
        joined["covered"] = joined["covered"].fillna(False).astype(bool)
        joined["covered_households"] = joined["households"].where(joined["covered"], 0)
        joined["blind"] = ~joined["covered"]
        joined["blind_households"] = joined["households"].where(joined["blind"], 0)
        per_grid = joined.groupby("grid_id").agg(
            households_=("households", "sum"),
            covered_=("covered_households", "sum"),
            blind_spot_buildings=("blind", "sum"),
            blind_spot_households=("blind_households", "sum"),
        )
        per_grid["coverage_share"] = (
            per_grid["covered_"] / per_grid["households_"].where(per_grid["households_"] > 0)
        ).round(3)
        table = table.merge(
            per_grid[["coverage_share", "blind_spot_buildings", "blind_spot_households"]],
            left_on="grid_id",
            right_index=True,
            how="left",
        )
    else:
        for column in party_columns.values():
            table[column] = None
        for column in ("coverage_share", "blind_spot_buildings", "blind_spot_households"):
            table[column] = float("nan")
    return table


def grid_codes(table: pd.DataFrame) -> pd.Series:
    """What a grid is called on a map: its code (网格编码) where its community has a code, else its id."""
    ids = table["grid_id"].astype(str)
    return table["code"].fillna(ids).astype(str) if "code" in table else ids


def readable_table(
    table: pd.DataFrame, lang: str = "zh", generated: list[str] | None = None, settings: GridSettings | None = None
) -> pd.DataFrame:
    """:func:`grid_table` as a person reads it: kinds and statuses as labels, grid workers named, headers
    in ``lang``, the bounds column headed by the bounds (``settings``, those the table was made against) and
    saying so of a special grid, and a ``data_source`` column that says per grid whether its households are
    registered or estimated, and which inputs were generated, not records."""
    check_language(lang)
    settings = settings or GridSettings()
    out = table.drop(columns=["households_source"])
    out["kind"] = labels(out["kind"], lang)
    out["within_bounds"] = [word("no_bounds", lang) if pd.isna(w) else bool(w) for w in table["within_bounds"]]
    out["branch_status"] = [None if s is None or pd.isna(s) else label(s, lang) for s in out["branch_status"]]
    out["grid_worker"] = [
        None if n is None or pd.isna(n) else word("grid_worker", lang, n=n) for n in out["grid_worker"]
    ]
    out["data_source"] = grid_data_source(table["households_source"], lang, generated)
    return out.rename(
        columns={c: column_label(c, lang, floor=settings.floor, ceiling=settings.ceiling) for c in out.columns}
    )


def data_source(lang: str, generated: list[str] | None) -> str:
    """Which inputs are generated scenario data, in ``lang`` ("" where none is)."""
    if not generated:
        return ""
    return (
        f"{word('generated', lang)}: {('、' if lang == 'zh' else ', ').join(input_label(g, lang) for g in generated)}"
    )


def grid_data_source(households_source: pd.Series, lang: str, generated: list[str] | None = None) -> list[str]:
    """Per grid, where its data comes from, in ``lang``: whether its households are registered or estimated
    (codes of :class:`~gridplan.vocabulary.HouseholdSource`), then the inputs that are generated."""
    said = data_source(lang, generated)
    separator = word("semicolon", lang)
    return [separator.join(filter(None, (label(s, lang), said))) for s in households_source]
