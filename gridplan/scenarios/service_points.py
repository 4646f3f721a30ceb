"""Generated service points for scenarios where a scene has none (every record labelled ``generated`` and seeded):
community-centre POIs first, then the buildings nearest a household-weighted k-means of each community.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gridplan.core.households import community_of
from gridplan.core.scene import PreparedScene, Scene
from gridplan.prepare.validate import as_prepared
from gridplan.settings import DEFAULTS, SERVICE_DEFAULTS, ServiceSettings


def generate_service_points(
    scene: Scene | PreparedScene, seed: int = DEFAULTS.seed, settings: ServiceSettings = SERVICE_DEFAULTS
) -> gpd.GeoDataFrame:
    """Scenario service points for a scene that has none (every record ``generated=True``).

    Each community gets ``max(1, round(households / settings.households_per_centre))`` points (a party–mass
    service centre serves about 3,000 households): first its community-centre POIs (kinds in
    ``settings.community_centre_kinds``; chosen at random with ``seed`` when there are more), then, for the
    rest, the building nearest each centre of a household-weighted k-means of its buildings (one point: the
    household-weighted centre).

    Returns
    -------
    geopandas.GeoDataFrame
        ``point_id`` (``gen-<community>-<n>``), ``kind`` (the POI's kind or ``service_centre``), ``name``,
        ``community_id``, ``generated``; points in the scene's own CRS.
    """
    prepared = as_prepared(scene)
    local = prepared.local
    crs = local.crs
    buildings = local.buildings
    pois = (
        local.pois
        if local.pois is not None and "kind" in local.pois
        else gpd.GeoDataFrame({"kind": [], "name": []}, geometry=[], crs=crs)
    )
    centres = pois[pois["kind"].astype(str).str.lower().isin(settings.community_centre_kinds)]
    centre_community = community_of(centres, local.communities).to_numpy()
    rng = np.random.default_rng(seed)
    rows = []
    for community_id in local.communities["community_id"]:
        members = buildings[buildings["community_id"] == community_id]
        households = members["households"].to_numpy(dtype=float)
        wanted = max(1, round(households.sum() / settings.households_per_centre))
        here = centres[centre_community == community_id]
        if len(here) > wanted:
            here = here.iloc[np.sort(rng.choice(len(here), wanted, replace=False))]
        for _, poi in here.iterrows():
            rows.append((community_id, poi["kind"], poi.get("name"), poi.geometry))
        rest = wanted - len(here)
        if rest <= 0 or len(members) == 0:
            continue
        at = shapely.get_coordinates(members.representative_point().to_numpy())
        weight = np.maximum(households, 1e-9)
        rest = min(rest, len(members))
        from sklearn.cluster import KMeans  # a second to load: only generated service points need it

        means = KMeans(rest, n_init=4, random_state=seed).fit(at, sample_weight=weight).cluster_centers_
        nearest = np.unique([np.argmin(np.hypot(*(at - m).T)) for m in means])
        for i in nearest:
            rows.append((community_id, "service_centre", None, shapely.Point(at[i])))
    frame = gpd.GeoDataFrame(
        {
            "community_id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "name": [r[2] for r in rows],
            "generated": True,
        },
        geometry=[r[3] for r in rows],
        crs=crs,
    )
    frame.insert(
        0,
        "point_id",
        [f"gen-{c}-{n + 1}" for c, n in zip(frame["community_id"], frame.groupby("community_id").cumcount())],
    )
    return frame.to_crs(prepared.crs)
