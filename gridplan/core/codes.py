"""Grid codes (网格编码): the community's 12-digit code followed by a serial.

The default is 15 digits: GB/T 2260 county (6) + street (3) + community (3) + a 3-digit serial. The
GB/T 30428.2 style is 14 digits, with a 2-digit serial. Serials run west → east within rows, and the rows
run north → south. A grid that already has a code keeps it, and new grids take the smallest serials never
used (a retired code is never given again).

Codes outlive a plan (DB11's start and end of a code): a regenerated grid keeps the code of the previous grid
that gives it the most households (:func:`matched_codes`), and every code's life is kept from version to version
in the plan's ``code_history`` (:func:`code_history`).
"""

from __future__ import annotations

import math
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.errors import InputError

from .matching import one_to_one
from .scene import id_string

#: Serial digits by code style.
SERIAL_DIGITS = {"gb15": 3, "gbt14": 2}
#: Digits of a community code: GB/T 2260 county (6) + street (3) + community (3).
COMMUNITY_CODE_DIGITS = 12
#: Columns of a plan's ``code_history`` layer: a code's last grid and community, the plan version it was first
#: given in and the last version it was in use in (empty while in use).
HISTORY_COLUMNS = ("code", "grid_id", "community_id", "start_version", "end_version")


def serial_order(grids: gpd.GeoDataFrame) -> pd.Series:
    """Position of each grid in reading order within its community: rows north → south, west → east in a row.

    Rows are bands as tall as a typical grid (the square root of the community's area per grid), so a
    row holds grids side by side. Returns 1-based positions aligned to ``grids.index``.
    """
    geoms = grids.geometry.to_numpy()
    centres = shapely.point_on_surface(geoms)
    placed = ~shapely.is_empty(centres)  # an empty grid has no place: it reads last (GEOS has no x of it)
    x, y = np.full(len(grids), np.nan), np.full(len(grids), np.nan)
    x[placed], y[placed] = shapely.get_x(centres[placed]), shapely.get_y(centres[placed])
    area = shapely.area(geoms)
    order = np.zeros(len(grids), dtype=np.int64)
    for members in grids.groupby("community_id").indices.values():  # positions
        band = max(math.sqrt(area[members].sum() / max(len(members), 1)), 1e-9)
        row = np.floor((np.fmax.reduce(y[members]) - y[members]) / band)
        order[members[np.lexsort((x[members], row))]] = np.arange(1, len(members) + 1)
    return pd.Series(order, index=grids.index)


def assign_codes(
    grids: gpd.GeoDataFrame,
    communities: pd.DataFrame,
    *,
    style: str = "gb15",
    previous: pd.Series | None = None,
    used: Iterable[str] = (),
) -> pd.Series:
    """Codes for grids: ``community code + serial``.

    Parameters
    ----------
    grids
        ``grid_id``, ``community_id`` and polygons in a metric CRS.
    communities
        ``community_id`` and ``code`` (12 digits); communities without a code give grids without one.
    style
        ``"gb15"`` (3-digit serial, default) or ``"gbt14"`` (2-digit serial, GB/T 30428.2).
    previous
        Codes already held, by ``grid_id``: they are kept; new grids take the smallest free serials
        in reading order.
    used
        Codes used in any earlier version of the plan: their serials are never given to a new grid.

    Raises
    ------
    InputError
        Unknown style, a malformed community code, or more grids in a community than serials (999 or 99).
    """
    if style not in SERIAL_DIGITS:
        raise InputError(
            f"unknown grid code style {style!r}: use {' or '.join(SERIAL_DIGITS)}",
            zh=f"未知的网格编码方式 {style!r}：可选 {' 或 '.join(SERIAL_DIGITS)}",
        )
    digits = SERIAL_DIGITS[style]
    capacity = 10**digits - 1
    community_codes = dict(zip(communities["community_id"], communities["code"])) if "code" in communities else {}
    previous = previous if previous is not None else pd.Series(dtype=object)
    used = {str(c) for c in used}
    order = serial_order(grids)
    given: dict = {}  # index label → code
    for community_id, members in grids.groupby("community_id").groups.items():
        base = community_codes.get(community_id)
        if base is None or (isinstance(base, float) and math.isnan(base)):
            continue
        base = str(base)
        if len(base) != COMMUNITY_CODE_DIGITS or not base.isdigit():
            raise InputError(
                f"community {community_id}: code {base!r} is not 12 digits (GB/T 2260 county + street + community)",
                zh=f"社区 {community_id}：编码 {base!r} 不是 12 位数字（GB/T 2260 区县 + 街道 + 社区）",
            )
        if len(members) > capacity:
            raise InputError(
                f"community {community_id} would need {len(members)} grids: more than the {capacity} a {digits}-digit serial allows",
                zh=f"社区 {community_id} 需要 {len(members)} 个网格：超过 {digits} 位序号所能容纳的 {capacity} 个",
            )
        ids = grids.loc[members, "grid_id"]
        kept = ids.map(previous).where(
            lambda c: (
                c.notna()
                & c.astype(str).str.startswith(base)
                & (c.astype(str).str.len() == COMMUNITY_CODE_DIGITS + digits)
            )
        )
        ever = [c for c in used if c.startswith(base) and len(c) == COMMUNITY_CODE_DIGITS + digits and c.isdigit()]
        taken = {int(str(c)[COMMUNITY_CODE_DIGITS:]) for c in [*kept.dropna(), *ever]}
        free = (s for s in range(1, capacity + 1) if s not in taken)
        ranked = order.loc[members].sort_values(kind="stable").index
        for index, held in zip(ranked, kept.loc[ranked]):
            if pd.notna(held):
                given[index] = held
                continue
            serial = next(free, None)
            if serial is None:
                raise InputError(
                    f"community {community_id}: every {digits}-digit serial has been used in some version of "
                    "the plan, and a retired code is never given again",
                    zh=f"社区 {community_id}：{digits} 位序号已在各版方案中全部用过，停用的编码不再重新使用",
                )
            given[index] = f"{base}{serial:0{digits}d}"
    codes = pd.Series(None, index=grids.index, dtype=object)
    if given:
        codes.loc[list(given)] = list(given.values())
    return codes


def matched_codes(
    previous_grid: pd.Series, grid: pd.Series, households: pd.Series, previous_codes: pd.Series
) -> pd.Series:
    """The code each grid of a new layout keeps: that of the previous grid which gives it the most households.

    Grids are matched one to one, the pairs sharing the most households first (then the most buildings), so a
    grid that persists keeps its code whatever its id became; a grid matched to none (or to a grid without a
    code) is new.

    Parameters
    ----------
    previous_grid, grid
        Each building's previous and new ``grid_id`` (missing: a building new or gone), aligned.
    households
        Each building's households, aligned.
    previous_codes
        The previous grids' codes by ``grid_id``.

    Returns
    -------
    pandas.Series
        Kept codes by new ``grid_id`` (for :func:`assign_codes`'s ``previous``).
    """
    pairs = pd.DataFrame(
        {
            "before": previous_grid.to_numpy(),
            "after": grid.to_numpy(),
            "households": households.to_numpy(dtype=float),
            "buildings": 1,
        }
    ).dropna(subset=["before", "after"])
    shared = (
        pairs.groupby(["before", "after"], sort=False)[["households", "buildings"]]
        .sum()
        .reset_index()
        .sort_values(
            ["households", "buildings", "before", "after"], ascending=[False, False, True, True], kind="stable"
        )
    )
    matched = shared.iloc[one_to_one(shared["before"], shared["after"])][["before", "after"]]
    codes = matched["before"].map(previous_codes.dropna())
    return pd.Series(codes.to_numpy(), index=matched["after"].to_numpy(), dtype=object).dropna()


def code_history(grids: pd.DataFrame, version: int, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """The life of every code up to plan ``version``, whose grids are ``grids``.

    A code of ``grids`` already in the history stays open (its ``grid_id`` and community brought up to date);
    a code new to it starts at ``version``; an open code no grid holds any more ends at ``version - 1``, the
    last version it was in use in. Without a ``previous`` history (a first plan, or a plan file without the
    layer) the history starts from the grids' own codes at ``version``.

    Parameters
    ----------
    grids
        ``grid_id``, ``code`` and ``community_id`` (grids without a code have no history).
    version
        The plan version of ``grids``.
    previous
        The history up to the previous version (``code``, ``grid_id``, ``community_id``, ``start_version``,
        ``end_version``).

    Returns
    -------
    pandas.DataFrame
        :data:`HISTORY_COLUMNS`, one row per code ever used, in code order; versions as nullable integers.
    """
    history = _history_table(previous)
    coded = grids[grids["code"].notna()] if "code" in grids else grids.iloc[:0].assign(code=None)
    coded = pd.DataFrame(
        {
            c: coded[c].map(id_string, na_action="ignore").to_numpy(dtype=object) if c in coded else None
            for c in ("code", "grid_id", "community_id")
        },
        index=range(len(coded)),
    ).drop_duplicates("code")
    current = history.set_index("code")
    in_use = current.index.isin(coded["code"])
    current.loc[~in_use & current["end_version"].isna(), "end_version"] = version - 1
    # a code retired and typed again by hand: in use again, its start kept
    current.loc[in_use, "end_version"] = pd.NA
    now = coded.set_index("code")
    held = now.index.isin(current.index)
    current.loc[now.index[held], ["grid_id", "community_id"]] = now.loc[held, ["grid_id", "community_id"]].to_numpy()
    started = now.loc[~held].assign(start_version=version, end_version=pd.NA)
    out = pd.concat([current, started]).rename_axis("code").reset_index().sort_values("code", kind="stable")
    return _history_table(out)


def _history_table(table: pd.DataFrame | None) -> pd.DataFrame:
    """A history as read from any format: its columns, codes and ids as text, versions as nullable integers."""
    if table is None:
        table = pd.DataFrame(columns=HISTORY_COLUMNS)
    out = pd.DataFrame(
        {c: table[c].to_numpy() if c in table else None for c in HISTORY_COLUMNS}, index=range(len(table))
    )
    for column in ("code", "grid_id", "community_id"):
        out[column] = out[column].map(id_string, na_action="ignore").astype(object)
    for column in ("start_version", "end_version"):
        out[column] = pd.to_numeric(out[column].replace({"": None}), errors="coerce").astype("Int64")
    return out


def short_serial(label: str) -> str:
    """The part of a grid's label that tells it from its neighbours in one community: the serial of a
    code (``"320102001001072"`` → ``"072"``) or of a grid id (``"C1-072"`` → ``"072"``)."""
    label = str(label)
    if label.isdigit() and len(label) > COMMUNITY_CODE_DIGITS:
        return label[COMMUNITY_CODE_DIGITS:]
    return label.rsplit("-", 1)[-1]
