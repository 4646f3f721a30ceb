"""Households per building: from the register where given, else estimated and marked so.

Estimate (where no household register, 一标三实, is at hand)::

    households = footprint area × floors × residential share ÷ dwelling size

with floors from ``levels``, else ``height ÷ floor height``, else a default by kind (settings).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.settings import GridSettings, HouseholdSettings, Settings
from gridplan.vocabulary import HouseholdSource


def _by_kind(kinds: pd.Series, table) -> np.ndarray:
    default = table.get("*", 0.0)
    return kinds.map(lambda k: table.get(k, default)).to_numpy(dtype=float)


def building_floors(buildings: gpd.GeoDataFrame, settings: HouseholdSettings = HouseholdSettings()) -> pd.Series:
    """Floors of each building: ``levels``, else ``height`` ÷ floor height, else the default for its kind."""
    kinds = _kinds(buildings)
    floors = pd.Series(_by_kind(kinds, settings.default_levels), index=buildings.index)
    if "height" in buildings:
        height = pd.to_numeric(buildings["height"], errors="coerce")
        from_height = (height / settings.floor_height_m).round().clip(lower=1)
        floors = from_height.where(height > 0, floors)
    if "levels" in buildings:
        levels = pd.to_numeric(buildings["levels"], errors="coerce")
        floors = levels.where(levels > 0, floors)
    return floors.astype(float)


def estimate_households(buildings: gpd.GeoDataFrame, settings: HouseholdSettings = HouseholdSettings()) -> pd.Series:
    """Estimated households of each building (integers), whatever the register says.

    Parameters
    ----------
    buildings
        Footprints in a metric CRS, with optional ``levels``, ``height`` and ``kind``.
    settings
        Dwelling size, storey height, default floors and residential share by kind.

    Returns
    -------
    pandas.Series
        Households aligned to ``buildings.index``.
    """
    if buildings.crs is not None and not buildings.crs.is_projected:
        raise ValueError("estimate households in a metric CRS (Scene.to_crs(scene.local_crs()))")
    share = _by_kind(_kinds(buildings), settings.residential_share)
    dwelling_area = buildings.geometry.area.to_numpy() * building_floors(buildings, settings).to_numpy() * share
    households = np.floor(dwelling_area / settings.dwelling_size_m2 + 0.5)
    households = np.where(dwelling_area > 0, np.maximum(households, settings.min_households), 0)
    return pd.Series(households.astype(np.int64), index=buildings.index, name="households")


def fill_households(buildings: gpd.GeoDataFrame, settings: HouseholdSettings = HouseholdSettings()) -> gpd.GeoDataFrame:
    """Buildings with ``households`` complete and ``households_estimated`` saying which were estimated.

    Registered counts are kept; missing ones (no column, or NaN) are estimated.
    """
    out = buildings.copy()
    registered = (
        pd.to_numeric(out["households"], errors="coerce") if "households" in out else pd.Series(np.nan, index=out.index)
    )
    missing = registered.isna()
    estimate = estimate_households(out[missing], settings) if missing.any() else pd.Series(dtype=np.int64)
    out["households"] = registered.fillna(estimate).astype(np.int64)
    # keep the flag of counts a validation repair already estimated
    earlier = (
        out["households_estimated"].fillna(False).astype(bool).to_numpy() if "households_estimated" in out else False
    )
    out["households_estimated"] = missing.to_numpy() | earlier
    return out


def grid_households(grid, households, estimated, grids) -> pd.DataFrame:
    """Per grid, how many of its households are estimated and where its count comes from (户数来源).

    Parameters
    ----------
    grid, households, estimated
        Per building: its grid, its households and whether they are estimated (the ``grid_id``,
        ``households`` and ``households_estimated`` of a plan's assignment).
    grids
        The grids to answer for, in order (a grid without buildings is answered too).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``grids``: ``households_estimated`` (households, not buildings, whose count is an
        estimate) and ``households_source`` (a :class:`~gridplan.vocabulary.HouseholdSource`): estimated or
        registered where all its households are, partly estimated where some are. A grid without households
        is answered by its buildings' flags (an estimate of 0 is still an estimate).
    """
    flags = np.asarray(estimated, dtype=bool)
    weights = np.asarray(households, dtype=float)
    per = (
        pd.DataFrame(
            {
                "households": weights,
                "estimated_households": np.where(flags, weights, 0.0),
                "estimated": flags,
                "buildings": 1,
            }
        )
        .groupby(np.asarray(grid))
        .sum()
    )
    per = per.reindex(pd.Index(grids), fill_value=0)
    # households where there are some, else buildings: both say "all", "none" or "some"
    total = np.where(per["households"] > 0, per["households"], per["buildings"]).astype(float)
    part = np.where(per["households"] > 0, per["estimated_households"], per["estimated"]).astype(float)
    source = np.select(
        [per["buildings"].to_numpy() == 0, part == 0, part >= total],
        [HouseholdSource.NO_BUILDINGS, HouseholdSource.REGISTERED, HouseholdSource.ESTIMATED],
        HouseholdSource.PARTLY_ESTIMATED,
    )
    return pd.DataFrame(
        {
            "households_estimated": np.round(per["estimated_households"].to_numpy()).astype(np.int64),
            "households_source": source.astype(object),
        },
        index=per.index,
    )


def prepare_buildings(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, settings: Settings
) -> gpd.GeoDataFrame:
    """Buildings ready to plan: households filled (estimates marked), workload, community.

    Parameters
    ----------
    buildings, communities
        Layers in one metric CRS. Buildings without ``community_id`` are placed in the community holding
        their representative point (run :func:`gridplan.prepare.validate.validate_scene` first for the full check).
    settings
        Household estimation and workload weights.
    """
    out = fill_households(buildings, settings.households)
    if "community_id" not in out:
        out["community_id"] = community_of(out, communities)
    out["workload"] = building_workload(out, settings.grid)
    return out


def community_of(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> pd.Series:
    """The community holding each building's representative point (NaN where none does), aligned to
    ``buildings``; both layers in one CRS."""
    points = gpd.GeoDataFrame(geometry=buildings.geometry.representative_point(), crs=buildings.crs)
    joined = gpd.sjoin(points, communities[["community_id", "geometry"]], predicate="within", how="left")
    return joined.groupby(level=0)["community_id"].first().reindex(buildings.index)


def building_workload(buildings: gpd.GeoDataFrame, settings: GridSettings) -> pd.Series:
    """Workload index per building (负载): households plus settable weights by kind and special care.

    ``workload_weights`` maps a building ``kind`` (shop, office, …) to extra workload per building, and the
    key ``special_care`` to extra workload per special-care household (column ``special_care``).
    """
    workload = buildings["households"].astype(float)
    weights = settings.workload_weights
    if weights and "kind" in buildings:
        workload = workload + buildings["kind"].map(lambda k: weights.get(str(k).lower(), 0.0)).astype(float)
    if "special_care" in weights and "special_care" in buildings:
        workload = workload + weights["special_care"] * pd.to_numeric(
            buildings["special_care"], errors="coerce"
        ).fillna(0)
    return workload


def _kinds(buildings: gpd.GeoDataFrame) -> pd.Series:
    if "kind" not in buildings:
        return pd.Series("yes", index=buildings.index)
    return buildings["kind"].fillna("yes").astype(str).str.lower()
