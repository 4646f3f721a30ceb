"""Defaults in one place: the domain's numbers, with where they come from.

Every number that varies by city is a field here, never a literal in an algorithm.
See ``../shared/DOMAIN.md`` for the sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping


def _frozen(d: dict) -> Mapping:
    return MappingProxyType(d)


@dataclass(frozen=True)
class HouseholdSettings:
    """How households are estimated where no register gives them (footprint × floors × share ÷ dwelling).

    Attributes
    ----------
    dwelling_size_m2
        Gross floor area of one dwelling; ~90 m² is the common planning figure.
    floor_height_m
        Storey height used to turn a building ``height`` into floors.
    default_levels
        Floors assumed where neither ``levels`` nor ``height`` is known, by kind; ``"*"`` for any other kind.
        Six storeys is the typical walk-up (多层住宅) of Chinese residential compounds.
    residential_share
        Share of a building's floor area that is dwellings, by ``kind``; ``"*"`` for unknown kinds
        (OSM's ``building=yes``), which in city centres are often mixed use.
    min_households
        A residential building with any dwelling area holds at least this many households.
    """

    dwelling_size_m2: float = 90.0
    floor_height_m: float = 3.0
    default_levels: Mapping[str, float] = field(
        default_factory=lambda: _frozen({"residential": 6, "apartments": 6, "house": 2, "detached": 2, "*": 3})
    )
    residential_share: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "residential": 1.0,
                "apartments": 1.0,
                "house": 1.0,
                "detached": 1.0,
                "terrace": 1.0,
                "semidetached_house": 1.0,
                "dormitory": 1.0,
                "yes": 0.5,
                "building": 0.5,
                "*": 0.0,
            }
        )
    )
    min_households: int = 1


@dataclass(frozen=True)
class GridSettings:
    """The size and shape rules of a household grid (网格).

    Attributes
    ----------
    target
        Households per grid: "以300户为单位划分网格".
    tolerance
        Every grid within ``target × (1 ± tolerance)``: the hard bounds (240–360 by default).
    tight_tolerance
        The balance goal: at least ``tight_share`` of grids within ``target × (1 ± tight_tolerance)``.
    tight_share
        Share of grids that should be within the tight band.
    max_service_radius_m
        Largest distance from a building to its grid's centre where the data allow (5-minute circle ≈ 300 m).
    block_split_households
        A street block with more households than this is divided into building cells, so that grid
        boundaries may run inside it; smaller blocks stay whole (街巷定界).
    street_weights
        Relative preference of each street class as a grid boundary (higher = better boundary).
    internal_cut_weight
        Preference of a boundary running between building cells inside a block, relative to streets.
    special_kinds
        Building kinds that form a grid of their own (专属网格).
    workload_weights
        Extra workload per building by kind, added to households (负载均衡): shops, units (单位).
    """

    target: float = 300.0
    tolerance: float = 0.2
    tight_tolerance: float = 0.1
    tight_share: float = 0.9
    max_service_radius_m: float = 300.0
    block_split_households: float = 90.0
    street_weights: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "motorway": 6.0,
                "trunk": 6.0,
                "primary": 5.0,
                "secondary": 4.5,
                "tertiary": 4.0,
                "unclassified": 3.0,
                "residential": 3.0,
                "living_street": 2.5,
                "service": 2.0,
                "pedestrian": 2.0,
                "footway": 1.5,
                "path": 1.5,
                "cycleway": 1.5,
                "steps": 1.0,
                "barrier": 6.0,
                "boundary": 6.0,
                "*": 2.0,
            }
        )
    )
    internal_cut_weight: float = 0.25
    special_kinds: tuple[str, ...] = ("school", "hospital", "enterprise", "agency", "university", "college", "kindergarten")
    workload_weights: Mapping[str, float] = field(default_factory=lambda: _frozen({}))

    @property
    def floor(self) -> float:
        return self.target * (1 - self.tolerance)

    @property
    def ceiling(self) -> float:
        return self.target * (1 + self.tolerance)


@dataclass(frozen=True)
class Settings:
    """All of gridplan's settings; ``Settings().with_grid(target=250)`` derives a variant."""

    households: HouseholdSettings = field(default_factory=HouseholdSettings)
    grid: GridSettings = field(default_factory=GridSettings)
    seed: int = 20261124

    def with_grid(self, **changes) -> "Settings":
        return replace(self, grid=replace(self.grid, **changes))

    def with_households(self, **changes) -> "Settings":
        return replace(self, households=replace(self.households, **changes))


DEFAULTS = Settings()
