"""Coverage of a plan (党建网格覆盖): party organizations and members, and the 15-minute service circle.

One walking network serves both halves: member–household links (党员联户, :mod:`gridplan.party`) are
measured along it, as are the service circles (15分钟便民服务圈, :mod:`gridplan.service`). Where a scene has
no party members or service points, seeded scenarios stand in. They are labelled ``generated``, and so is
everything built on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .network import WalkingNetwork
from .partition import Plan
from .party import PARTY_DEFAULTS, PartyCoverage, PartySettings, analyse_party, generate_members
from .scene import Scene
from .service import SERVICE_DEFAULTS, ServiceCoverage, ServiceSettings, SitingResult, analyse_service, generate_service_points, site_service_points


@dataclass
class Coverage:
    """Party and service coverage of a plan, and new service points proposed.

    Attributes
    ----------
    party
        Branches per grid, joint branches, member–household links.
    service
        Walking distance to the nearest service point per building, coverage per grid, blind spots, isochrones.
    siting
        New service points chosen exactly (MIP) and greedily, when asked for.
    generated
        Which inputs are a generated scenario: ``{"party_members": bool, "service_points": bool}``.
    """

    party: PartyCoverage
    service: ServiceCoverage
    siting: SitingResult | None
    generated: dict[str, bool]

    def layers(self) -> dict[str, pd.DataFrame]:
        """The layers of a coverage file."""
        party, service = self.party, self.service
        layers = {
            "grid_party": party.grid_party,
            "joint_branches": party.joint_branches,
            "member_links": party.member_links,
            "unlinked": party.unlinked,
            "unplaced_members": party.unplaced_members,
            "service_coverage": service.buildings[["building_id", "grid_id", "households", "nearest_service_m", "covered",
                                                   "blind_spot", "geometry"]],
            "grid_service": service.grids,
            "isochrones": service.isochrones,
            "service_points": service.service_points,
        }
        if self.siting is not None:
            layers["proposed_sites"] = self.siting.proposed_sites
        layers["scenario"] = pd.DataFrame({"input": list(self.generated), "generated": list(self.generated.values())})
        return layers

    def summary(self) -> str:
        lines = [self.party.summary()]
        service = self.service.summary()
        lines.append(service.to_string(index=False) if isinstance(service, pd.DataFrame) else str(service))
        if self.siting is not None:
            s = self.siting
            lines.append(f"new service points (p = {s.p}, {s.radius_m:.0f} m): exact covers {s.households_covered:,.0f} more "
                         f"households{' (optimal)' if s.optimal else ''}, greedy {s.greedy_households:,.0f}")
        scenario = [name for name, flag in self.generated.items() if flag]
        if scenario:
            lines.append(f"GENERATED scenario data (seeded), not records: {', '.join(scenario)}")
        return "\n".join(lines)


def analyse_coverage(
    plan: Plan,
    scene: Scene,
    *,
    new_service_points: int = 0,
    seed: int = 0,
    party_settings: PartySettings = PARTY_DEFAULTS,
    service_settings: ServiceSettings = SERVICE_DEFAULTS,
) -> Coverage:
    """Check a plan's party-building and service coverage, and propose fixes.

    Parameters
    ----------
    plan
        The plan (grids and building assignment).
    scene
        The scene planned; its ``party_members``, ``party_orgs`` and ``service_points`` are used, or
        seeded scenarios generated where members or service points are missing.
    new_service_points
        Choose this many new service points to cover the most blind-spot households (0: none).
    seed
        Seed of the generated scenarios.
    party_settings, service_settings
        The rules (branch sizes, links per member; circles, network).
    """
    generated = {"party_members": False, "service_points": False}
    members = scene.party_members
    if members is None or members.empty:
        buildings = scene.buildings[["building_id"]].merge(plan.assignment[["building_id", "households"]], on="building_id")
        members = generate_members(buildings, seed=seed, settings=party_settings)
        generated["party_members"] = True
    if scene.service_points is None or scene.service_points.empty:
        scene = scene.replace(service_points=generate_service_points(scene, seed=seed, settings=service_settings))
        generated["service_points"] = True

    local = scene.local_crs()
    network = WalkingNetwork.from_streets(scene.streets.to_crs(local))
    party = analyse_party(plan, scene, party_settings, network.distances, members=members)
    service = analyse_service(plan, scene, service_settings, network=network)
    siting = site_service_points(service, p=new_service_points) if new_service_points > 0 else None
    return Coverage(party=party, service=service, siting=siting, generated=generated)

