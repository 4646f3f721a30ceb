"""Generated party data for scenarios where a scene has none (every record labelled ``generated`` and seeded):
party members in proportion to residents, and one community party committee per community.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.core.results import Plan
from gridplan.errors import InputError
from gridplan.settings import DEFAULTS, PARTY_DEFAULTS, PartySettings
from gridplan.vocabulary import MemberStatus, OrgKind

FULL, PROBATIONARY = MemberStatus.FULL.value, MemberStatus.PROBATIONARY.value


def generate_members(
    buildings: pd.DataFrame,
    share: float | None = None,
    seed: int = DEFAULTS.seed,
    *,
    settings: PartySettings = PARTY_DEFAULTS,
) -> pd.DataFrame:
    """Plausible party members where no member data exist: a labelled, seeded scenario.

    Each community's share of residents who are members is ``share`` times a log-normal factor
    (σ ``settings.member_share_spread``, mean 1); each building with households holds a Poisson number of
    members with mean ``households × persons_per_household × community share``; each is full with
    probability ``full_share``.

    Parameters
    ----------
    buildings
        ``building_id`` and ``households`` (e.g. :attr:`Plan.assignment`); optional ``community_id``.
    share
        Members per resident; ``settings.member_share`` by default (2.0 %: the members whose organization is
        in the community, the retired and those without a workplace organization; see
        :class:`~gridplan.settings.PartySettings`).
    seed
        Seed of the scenario (``Settings.seed`` by default): the same arguments always give the same members.

    Returns
    -------
    pandas.DataFrame
        ``member_id`` (``gen-000001``…), ``building_id``, ``status`` (full/probationary), ``generated`` (True).
    """
    share = settings.member_share if share is None else share
    if not 0 <= share <= 1:
        raise InputError(
            f"member share must be between 0 and 1, got {share}", zh=f"党员比例须在 0 与 1 之间，实为 {share}"
        )
    rng = np.random.default_rng(seed)
    homes = buildings.loc[buildings["households"].fillna(0) > 0]
    community = (
        homes["community_id"].astype(str).to_numpy() if "community_id" in homes else np.zeros(len(homes), dtype=object)
    )
    names, inverse = np.unique(community, return_inverse=True)
    sigma = settings.member_share_spread
    factor = rng.lognormal(-(sigma**2) / 2, sigma, size=len(names))[inverse]
    mean = homes["households"].to_numpy(dtype=float) * settings.persons_per_household * share * factor
    counts = rng.poisson(mean)
    n = int(counts.sum())
    return pd.DataFrame(
        {
            "member_id": [f"gen-{i:06d}" for i in range(1, n + 1)],
            "building_id": np.repeat(homes["building_id"].astype(str).to_numpy(), counts),
            "status": np.where(rng.random(n) < settings.full_share, FULL, PROBATIONARY),
            "generated": True,
        }
    )


def generate_party_orgs(plan: Plan, crs=None) -> gpd.GeoDataFrame:
    """One generated community party committee (社区党委) per community, at its grids' representative point.

    Returns ``org_id`` (``gen-org-0001``…), ``kind`` ``committee``, ``community_id``, ``generated`` True, in
    ``crs`` (the plan's grid CRS by default).
    """
    grids = plan.grids
    by_community = grids.dissolve("community_id", sort=True)
    points = by_community.geometry.representative_point()
    out = gpd.GeoDataFrame(
        {
            "org_id": [f"gen-org-{i:04d}" for i in range(1, len(points) + 1)],
            "kind": OrgKind.COMMITTEE.value,
            "community_id": by_community.index.to_numpy(),
            "generated": True,
        },
        geometry=points.to_numpy(),
        crs=grids.crs,
    )
    return out if crs is None else out.to_crs(crs)
