"""Coverage of a plan (党建网格覆盖): party organizations and members, and the 15-minute service circle.

One walking network, built once with the service settings, serves both halves: member–household links
(党员联户, :mod:`gridplan.reach.party`) are measured along it, as are the service circles (15分钟便民服务圈,
:mod:`gridplan.reach.service`). Where a scene has no party members or service points, seeded scenarios stand in
(seed ``Settings.seed``); the result's provenance says so, and so does every output built on it.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from gridplan.core.results import Coverage, Plan, Provenance
from gridplan.core.scene import PreparedScene, Scene
from gridplan.prepare.validate import as_prepared
from gridplan.reach.network import WalkingNetwork
from gridplan.reach.party import analyse_party
from gridplan.reach.service import analyse_service, site_service_points
from gridplan.scenarios.party import generate_members
from gridplan.scenarios.service_points import generate_service_points
from gridplan.settings import Settings


def analyse_coverage(
    plan: Plan, scene: Scene | PreparedScene, *, new_service_points: int = 0, settings: Settings | None = None
) -> Coverage:
    """Check a plan's party-building and service coverage, and propose fixes.

    Parameters
    ----------
    plan
        The plan (grids and building assignment).
    scene
        The scene planned, prepared (:func:`gridplan.pipeline.prepare_scene`), or plain (validated first); its
        ``party_members``, ``party_orgs`` and ``service_points`` are used, or seeded scenarios generated
        where members or service points are missing.
    new_service_points
        Choose this many new service points to cover the most blind-spot households (0: none).
    settings
        The rules (branch sizes, links per member; circles, walking network) and the scenario seed; by
        default the settings the plan was made with.

    Returns
    -------
    Coverage
        Its provenance names the settings, the scene and plan covered, and the generated inputs.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import analyse_coverage, plan_scene
    >>> plan = plan_scene(prepared).plan
    >>> coverage = analyse_coverage(plan, prepared, new_service_points=1)  # members and service points generated
    >>> len(coverage.grid_party) == len(plan.grids), sorted(coverage.generated)
    (True, ['buildings', 'communities', 'party_members', 'service_points'])
    """
    settings = plan.settings if settings is None else settings
    prepared = as_prepared(scene, settings)
    local = prepared.local
    generated = {"party_members": False, "service_points": False}
    members = local.party_members
    if members is None or members.empty:
        homes = local.buildings[["building_id", "community_id", "households"]]
        members = generate_members(homes, seed=settings.seed, settings=settings.party)
        generated["party_members"] = True
    if local.service_points is None or local.service_points.empty:
        points = generate_service_points(prepared, seed=settings.seed, settings=settings.service)
        prepared = dataclasses.replace(prepared, local=local.replace(service_points=points.to_crs(local.crs)))
        generated["service_points"] = True

    network = WalkingNetwork.from_streets(prepared.local.streets, settings.service)
    party = analyse_party(plan, prepared, settings.party, network.distances, members=members)
    service = analyse_service(plan, prepared, settings.service, network=network)
    siting = site_service_points(service, p=new_service_points) if new_service_points > 0 else None
    buildings = service.buildings
    flags = [c for c in buildings.columns if c.startswith("covered_")]
    layers = {
        "grid_party": party.grid_party,
        "joint_branches": party.joint_branches,
        "member_links": party.member_links,
        "unlinked": party.unlinked,
        "unplaced_members": party.unplaced_members,
        "service_coverage": buildings[
            [
                "building_id",
                "grid_id",
                "households",
                "nearest_service_m",
                "nearest_point_id",
                "network_reach",
                *flags,
                "covered",
                "blind_spot",
                "geometry",
            ]
        ],
        "grid_service": service.grids,
        "isochrones": service.isochrones,
        "service_points": service.service_points,
    }
    if siting is not None:
        layers["proposed_sites"] = siting.proposed_sites
        layers["siting"] = pd.DataFrame(
            [
                {
                    "p": siting.p,
                    "radius_m": siting.radius_m,
                    "households_covered": siting.households_covered,
                    "greedy_households": siting.greedy_households,
                    "optimal": siting.optimal,
                    "upper_bound": siting.upper_bound,
                    "households_uncovered": siting.households_uncovered,
                    "households_reachable": siting.households_reachable,
                }
            ]
        )
    provenance = Provenance(
        settings=settings,
        scene_fingerprint=prepared.fingerprint,
        plan_fingerprint=plan.fingerprint(),
        generated=prepared.generated_layers() | generated,
        code_style=plan.provenance.code_style,
    )
    return Coverage.from_layers(layers, provenance)
