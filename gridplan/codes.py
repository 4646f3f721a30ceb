"""Grid codes (网格编码): the community's 12-digit code followed by a serial.

The default is 15 digits: GB/T 2260 county (6) + street (3) + community (3) + a 3-digit serial. The
GB/T 30428.2 style is 14 digits, with a 2-digit serial. Serials run west → east within rows, and the rows
run north → south. A grid that already has a code keeps it, and new grids take the smallest free serials.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import InputError

#: Serial digits by code style.
SERIAL_DIGITS = {"gb15": 3, "gbt14": 2}
#: Digits of a community code: GB/T 2260 county (6) + street (3) + community (3).
COMMUNITY_CODE_DIGITS = 12


def serial_order(grids: gpd.GeoDataFrame) -> pd.Series:
    """Position of each grid in reading order within its community: rows north → south, west → east in a row.

    Rows are bands as tall as a typical grid (the square root of the community's area per grid), so a
    row holds grids side by side. Returns 1-based positions aligned to ``grids.index``.
    """
    centres = grids.geometry.representative_point()
    order = pd.Series(0, index=grids.index, dtype=np.int64)
    for _, members in grids.groupby("community_id").groups.items():
        area = grids.geometry.loc[members].area.sum()
        band = max(math.sqrt(area / max(len(members), 1)), 1e-9)
        top = centres.loc[members].y.max()
        row = np.floor((top - centres.loc[members].y) / band)
        ranked = pd.DataFrame({"row": row, "x": centres.loc[members].x}).sort_values(["row", "x"], kind="stable")
        order.loc[ranked.index] = np.arange(1, len(ranked) + 1)
    return order


def assign_codes(
    grids: gpd.GeoDataFrame,
    communities: pd.DataFrame,
    *,
    style: str = "gb15",
    previous: pd.Series | None = None,
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

    Raises
    ------
    InputError
        Unknown style, a malformed community code, or more grids in a community than serials (999 or 99).
    """
    if style not in SERIAL_DIGITS:
        raise InputError(f"unknown grid code style {style!r}: use {' or '.join(SERIAL_DIGITS)}",
                         zh=f"未知的网格编码方式 {style!r}：可选 {' 或 '.join(SERIAL_DIGITS)}")
    digits = SERIAL_DIGITS[style]
    capacity = 10**digits - 1
    community_codes = dict(zip(communities["community_id"], communities["code"])) if "code" in communities else {}
    previous = previous if previous is not None else pd.Series(dtype=object)
    order = serial_order(grids)
    codes = pd.Series(None, index=grids.index, dtype=object)
    for community_id, members in grids.groupby("community_id").groups.items():
        base = community_codes.get(community_id)
        if base is None or (isinstance(base, float) and math.isnan(base)):
            continue
        base = str(base)
        if len(base) != COMMUNITY_CODE_DIGITS or not base.isdigit():
            raise InputError(f"community {community_id}: code {base!r} is not 12 digits (GB/T 2260 county + street + community)",
                             zh=f"社区 {community_id}：编码 {base!r} 不是 12 位数字（GB/T 2260 区县 + 街道 + 社区）")
        if len(members) > capacity:
            raise InputError(f"community {community_id} would need {len(members)} grids: more than the {capacity} a {digits}-digit serial allows",
                             zh=f"社区 {community_id} 需要 {len(members)} 个网格：超过 {digits} 位序号所能容纳的 {capacity} 个")
        ids = grids.loc[members, "grid_id"]
        kept = ids.map(previous).where(lambda c: c.notna() & c.astype(str).str.startswith(base) & (c.astype(str).str.len() == COMMUNITY_CODE_DIGITS + digits))
        taken = {int(str(c)[COMMUNITY_CODE_DIGITS:]) for c in kept.dropna()}
        free = (s for s in range(1, capacity + 1) if s not in taken)
        for index in order.loc[members].sort_values(kind="stable").index:
            codes.loc[index] = kept.loc[index] if pd.notna(kept.loc[index]) else f"{base}{next(free):0{digits}d}"
    return codes


def short_serial(label: str) -> str:
    """The part of a grid's label that tells it from its neighbours in one community: the serial of a
    code (``"320102001001072"`` → ``"072"``) or of a grid id (``"C1-072"`` → ``"072"``)."""
    label = str(label)
    if label.isdigit() and len(label) > COMMUNITY_CODE_DIGITS:
        return label[COMMUNITY_CODE_DIGITS:]
    return label.rsplit("-", 1)[-1]
