"""Defaults in one place: the domain's numbers, with where they come from.

Every number that varies by city is a field here, never a literal in an algorithm.
See ``../shared/DOMAIN.md`` for the sources.
"""

from __future__ import annotations

import copyreg
import math
from dataclasses import dataclass, field, fields, is_dataclass, replace
from types import MappingProxyType
from typing import Mapping

from gridplan.errors import InputError


def _frozen(d: dict) -> Mapping:
    return MappingProxyType(d)


# Settings hold read-only mappings, which pickle cannot store as they are: a plan or settings sent to a worker
# process or kept on disk carries them as dicts made read-only again.
copyreg.pickle(MappingProxyType, lambda proxy: (_frozen, (dict(proxy),)))


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
class LoadWindow:
    """Loads from ``lo`` to ``hi``, both included: the bounds or the tight band of a grid, a micro-grid's
    10–30 households, or a window a bisection keeps its parts in.

    ``lo, hi = window`` unpacks it.
    """

    lo: float
    hi: float

    @classmethod
    def around(cls, target: float, tolerance: float) -> "LoadWindow":
        """``target × (1 ± tolerance)``."""
        return cls(target * (1 - tolerance), target * (1 + tolerance))

    def contains(self, load):
        """Whether ``load`` (a number, or an array of them, each checked) lies within the window."""
        return (self.lo <= load) & (load <= self.hi)

    def __iter__(self):
        return iter((self.lo, self.hi))


class Tolerances:
    """The windows of a ``target`` and its ``tolerance`` and ``tight_tolerance`` (the fields of the class
    this is mixed into): grids' in :class:`GridSettings`, and those of micro-grids and areas in
    :class:`gridplan.engine.Sizing`."""

    @property
    def bounds_window(self) -> LoadWindow:
        """Within ±``tolerance`` of the target: the hard bounds (240–360 households by default)."""
        return LoadWindow.around(self.target, self.tolerance)

    @property
    def tight_window(self) -> LoadWindow:
        """Within ±``tight_tolerance`` of the target: the tight band (270–330 by default)."""
        return LoadWindow.around(self.target, self.tight_tolerance)

    @property
    def floor(self) -> float:
        return self.bounds_window.lo

    @property
    def ceiling(self) -> float:
        return self.bounds_window.hi

    @property
    def misfit_ceiling(self) -> float:
        """Most a grid outside the bounds may hold in the layouts the region search seeks with fewer grids
        outside them: the tolerance once more above the ceiling (420 by default), so that a unit that fits
        no grid within them is not merged into one oversized grid to spare its neighbours."""
        return LoadWindow.around(self.target, 2 * self.tolerance).hi


@dataclass(frozen=True)
class GridSettings(Tolerances):
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
    special_kinds: tuple[str, ...] = (
        "school",
        "hospital",
        "enterprise",
        "agency",
        "university",
        "college",
        "kindergarten",
    )
    workload_weights: Mapping[str, float] = field(default_factory=lambda: _frozen({}))


@dataclass(frozen=True)
class PartySettings:
    """Party-building rules and the figures of generated member scenarios.

    Attributes
    ----------
    min_full_members
        Full members a branch needs: 正式党员3人以上的 may form a branch (中国共产党章程 art. 30;
        中国共产党支部工作条例（试行）2018, art. 5).
    max_branch_members
        A branch has at most this many members; above it, party groups or a general branch (党总支)
        (支部工作条例 art. 5: "党员人数一般不超过50人").
    max_joint_units
        Units a joint branch covers at most (支部工作条例 art. 5: "联合党支部覆盖单位一般不超过5个").
    link_min_households, link_max_households
        Households each member links (党员联户): 5–10 in Jinhua's red grids; other cities 5–15 or 8–10.
    link_cutoff_m
        Longest link (walking metres); 1,000 m is the outer edge of the 15-minute circle (GB 50180-2018).
    persons_per_household
        Residents per household, for generated members: 2.62 in the 2020 census (第七次全国人口普查).
    member_share
        Party members per resident whose organization is in the community (社区党组织), for generated
        members: 2.0 %. Nationally 99.185 million members at the end of 2023 in 1.41 billion people ≈ 7.0 %
        (中共中央组织部《中国共产党党内统计公报》, 人民日报 2024-07-01), but a working member belongs to the
        organization of the workplace (机关、企事业单位、学校), not of the community where they live. The
        community organizes the retired (离退休人员 20.644 million, 20.8 % of members) and those without a
        workplace organization (其他职业人员: flexible and unemployed, 7.764 million, 7.8 %): 28.6 % of
        members, so 7.0 % × 28.6 % ≈ 2.0 % of residents. An upper figure (some retirees stay in their former
        employer's branch): a 300-household grid holds about 300 × 2.62 × 2.0 % ≈ 16 members, enough for a
        branch of its own, far below the 50 that makes a general branch. At the national 7 % it would hold
        55, and nearly every grid would read 党员过多.
    member_share_spread
        Communities differ (retirees, universities, enterprises): each community's share is the national
        share times a log-normal factor of this σ (mean 1).
    full_share
        Share of generated members who are full members. A scenario figure: nationally about 97 % are full
        (2.4 million admitted in 2023 serve a one-year probation), communities recruiting actively fewer;
        0.85 stresses the ≥3-full-member rule.
    batch_variables
        Link variables per solver call: branches are independent, so several are solved in one call.
    """

    min_full_members: int = 3
    max_branch_members: int = 50
    max_joint_units: int = 5
    link_min_households: int = 5
    link_max_households: int = 10
    link_cutoff_m: float = 1000.0
    persons_per_household: float = 2.62
    member_share: float = 0.020
    member_share_spread: float = 0.35
    full_share: float = 0.85
    batch_variables: int = 40_000


@dataclass(frozen=True)
class ServiceSettings:
    """The 15-minute service circle (15分钟便民服务圈): its circles and the walking network they are measured on.

    Attributes
    ----------
    radii_m
        Walking distances of the 5-, 10- and 15-minute circles: ≈300 m, ≈500 m and 800–1,000 m along the street
        network (GB 50180-2018 《城市居住区规划设计标准》 life circles; 《完整居住社区建设指南》 2021).
    coverage_radius_m
        The circle a building must be within to count as covered (the 15-minute circle's upper figure).
    excluded_highways
        OSM ``highway`` classes nobody walks along: motorways, trunk roads (快速路) and their links, and
        roads not yet (or no longer) open. Every other class, including unknown ones, is walkable.
    max_snap_m
        Longest straight snap leg from a point to the network. Farther points are outside the street data
        (or in an unmapped compound) and get no distance rather than a guessed one; 300 m is the 5-minute
        circle, beyond which a snapped distance would mean little.
    node_grid_m
        Precision grid of the noding: streets crossing or ending within this of each other are joined.
    isochrone_buffer_m
        Half-width of the band around reachable street pieces that makes an isochrone polygon: about the
        depth of a street's frontage buildings.
    households_per_centre
        Households one party–mass service centre (党群服务中心) serves, used when service points are generated.
    community_centre_kinds
        POI kinds that are community service places (OSM ``amenity``/``office`` values).
    """

    radii_m: tuple[float, ...] = (300.0, 500.0, 1000.0)
    coverage_radius_m: float = 1000.0
    excluded_highways: tuple[str, ...] = (
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "construction",
        "proposed",
        "abandoned",
        "raceway",
        "bus_guideway",
    )
    max_snap_m: float = 300.0
    node_grid_m: float = 0.01
    isochrone_buffer_m: float = 50.0
    households_per_centre: float = 3000.0
    community_centre_kinds: tuple[str, ...] = (
        "community_centre",
        "community_center",
        "townhall",
        "social_facility",
        "social_centre",
    )


@dataclass(frozen=True)
class LevelSettings:
    """Sizes of the levels around the grid.

    Attributes
    ----------
    grids_per_area
        Grids per first-level area when no count is given (Xianlin: 136 grids in 7 areas ≈ 20).
    micro_min, micro_max
        Households of a micro-grid (楼栋 group): 10–30 (domain: micro-grids of ~10–30 households).
    """

    grids_per_area: int = 20
    micro_min: float = 10.0
    micro_max: float = 30.0

    @property
    def micro_window(self) -> LoadWindow:
        """Households of a micro-grid: ``micro_min``–``micro_max``."""
        return LoadWindow(self.micro_min, self.micro_max)


@dataclass(frozen=True)
class ValidationSettings:
    """How validation repairs community boundaries and judges household counts.

    Attributes
    ----------
    boundary_snap_m
        Gaps and overlaps between neighbouring communities narrower than this are closed: civil-affairs
        polygons digitised apart or over each other by a metre or two mean one shared edge. Wider ones are
        real and are an error (an overlap) or left as they are (a gap).
    sliver_m2
        A part of a community smaller than this, holding no building, is a sliver of digitising and is
        given to the neighbour it touches most (or dropped when it touches none).
    min_m2_per_household
        Floor area per household below which a registered count is implausible for its building (a
        warning naming it): 10 m² is less than the smallest dwelling (公寓 minimum 22 m² usable, GB 50096).
    max_outside_share
        More than this share of the buildings or households outside every community is an error unless
        accepted: a few buildings on an extract's edge are normal, a quarter is a boundary of another place
        or coordinate system.
    unknown_floors
        Floors assumed for that check where neither ``levels`` nor ``height`` is known: a tall tower's, so
        that only counts no building could hold are flagged.
    """

    boundary_snap_m: float = 2.0
    sliver_m2: float = 10.0
    min_m2_per_household: float = 10.0
    unknown_floors: float = 40.0
    max_outside_share: float = 0.01


@dataclass(frozen=True)
class RegisterSettings:
    """How rows of a household register (一标三实) or a member roll are joined to buildings.

    Attributes
    ----------
    max_distance_m
        A row's coordinate in no footprint joins the nearest building within this distance: a door or gate
        point stands a few metres off its building; farther, the row stays unmatched ("no building within").
    fuzzy_score
        Lowest similarity (rapidfuzz ``ratio``, 0–100) at which a compound name that matches no compound
        exactly is taken as a misspelling of one.
    sure_score
        Fuzzy matches below this similarity are kept but marked low confidence.
    salt
        Mixed into the hash of each row that stands in for a member id where the roll has none: stable for the
        same row, revealing nothing of it; set your own so that others cannot recompute ids from rows they hold.
    """

    max_distance_m: float = 30.0
    fuzzy_score: float = 75.0
    sure_score: float = 90.0
    salt: str = "gridplan"


@dataclass(frozen=True)
class CoordinateSettings:
    """How the coordinate system of an input is recognised (:mod:`gridplan.core.alignment`).

    GCJ-02 moves a place in China by 300–700 m and BD-09 by about a kilometre: read in the wrong system, a
    layer misses the others massively (a third to most of its buildings crossed by streets or outside
    their community), so the thresholds can be strict and still leave no doubt.

    Attributes
    ----------
    sample
        Features measured per layer at most (an evenly spread sample; the offsets are the same everywhere).
    min_features
        Layers with fewer features are not judged (too little evidence).
    clear_ratio, clear_margin
        A reading is clearly the best when its share of misses is at most ``clear_ratio`` times the next
        best's and at least ``clear_margin`` lower.
    street_reach_m
        A building with no street this near misses (it lies off the streets' extent): the deepest building of
        a gated compound is rarely farther from a mapped street or lane.
    street_clearance_m
        A community boundary point farther than this from every street misses (boundaries run along
        streets, rivers and walls: most of them within a street's half-width and a pavement).
    boundary_step_m
        Community boundaries are measured at points this far apart.
    place_reach_m
        A place (service point, party organization, POI) farther than this from every footprint misses: places
        are in buildings or at their doors.
    """

    sample: int = 2000
    min_features: int = 20
    clear_ratio: float = 0.5
    clear_margin: float = 0.1
    street_reach_m: float = 150.0
    street_clearance_m: float = 30.0
    boundary_step_m: float = 25.0
    place_reach_m: float = 25.0


@dataclass(frozen=True)
class RegenerationSettings:
    """How a regeneration rebalances the grids it kept (:mod:`gridplan.engine.rebalance`).

    Attributes
    ----------
    rebalance
        After keeping what still meets the bounds, move the fewest households across grid boundaries that
        bring grids back within the tight band (±``grid.tight_tolerance``), where the data allow; and where a
        region's households outgrew (or shrank past) the grid count its grids had in the previous plan and grids
        stay outside the band, plan that region afresh with a count a first plan would choose (without a cap,
        ``max_moved`` None).
    max_moved
        Cap on the households the rebalancing may move: a share of all households when below 1, a count
        otherwise; None for no cap.
    max_chain
        Most grids a chain of shifts passes through (a grid hands a unit to its neighbour, which hands one on).
    candidates
        Units tried at each step of a chain (the lightest that fit): more finds cheaper chains, slower.
    max_offset_m
        A previous plan whose buildings sit farther than this (median, by id) from the scene's is refused: a
        re-surveyed footprint moves a metre or two, a plan of another coordinate system hundreds.
    """

    rebalance: bool = True
    max_moved: float | None = None
    max_chain: int = 3
    candidates: int = 6
    max_offset_m: float = 30.0


@dataclass(frozen=True)
class VerifySettings:
    """How far the independent checks of a plan's claims (:mod:`gridplan.review.checking`) search before they say
    "undecided": limits of work and time, so that a check never hangs.

    Attributes
    ----------
    limit_seconds
        HiGHS's time limit per programme. Measured on this project's 2-core machine, a 7 × 7 lattice of
        30–120 households (bounds 240–360, groups outside at most 420) is refuted (a layout with none outside
        found) in 3.5–10 s; without the cap, or where the claim holds for a reason of counting (49 units of
        100: groups of three leave one over), HiGHS decides nothing in 20 s and the check says so. A unit's
        misfit over 42 units takes 0.02 s.
    max_groups
        Connected groups one enumeration may list (about 5 µs each in Python): past it, the programme decides.
    max_layouts
        Partial layouts the exhaustive search of a region may try before handing over to the programme.
    exhaustive_units
        Largest region (units) searched exhaustively for the fewest grids outside the bounds; larger ones go
        straight to the programme.
    relaxed_units
        Most inhabited units of a larger region with empty units searched first the same way over its inhabited
        units alone (two of them neighbours where they touch or touch one piece of empty units: every layout is one
        of those, so where none has fewer outside the claim holds; where one has, the programme decides).
    max_variables
        Largest programme (variables) attempted; a larger one is "undecided: too large".
    plan_seconds
        ``limit_seconds`` of the checks a plan runs on its own claims as it is made (``gridplan plan``; 0:
        none run); a claim they refute is withdrawn (not proven), one they leave undecided stays proven by
        the engine.
    """

    limit_seconds: float = 20.0
    plan_seconds: float = 2.0
    max_groups: int = 100_000
    max_layouts: int = 200_000
    exhaustive_units: int = 16
    relaxed_units: int = 40
    max_variables: int = 200_000


@dataclass(frozen=True)
class Settings:
    """All of gridplan's settings, one group per concern; ``DEFAULTS.with_grid(target=250)`` derives a variant.

    Attributes
    ----------
    households, grid, party, service, levels, validation, register, coords, regeneration, verify
        The groups above.
    seed
        Seed of every generated scenario (party members, service points): the same scene and settings
        always give the same scenario.
    """

    households: HouseholdSettings = field(default_factory=HouseholdSettings)
    grid: GridSettings = field(default_factory=GridSettings)
    party: PartySettings = field(default_factory=PartySettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    levels: LevelSettings = field(default_factory=LevelSettings)
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    register: RegisterSettings = field(default_factory=RegisterSettings)
    coords: CoordinateSettings = field(default_factory=CoordinateSettings)
    regeneration: RegenerationSettings = field(default_factory=RegenerationSettings)
    verify: VerifySettings = field(default_factory=VerifySettings)
    seed: int = 20261124

    def with_grid(self, **changes) -> "Settings":
        return self._with("grid", changes)

    def with_households(self, **changes) -> "Settings":
        return self._with("households", changes)

    def with_party(self, **changes) -> "Settings":
        return self._with("party", changes)

    def with_service(self, **changes) -> "Settings":
        return self._with("service", changes)

    def with_levels(self, **changes) -> "Settings":
        return self._with("levels", changes)

    def with_validation(self, **changes) -> "Settings":
        return self._with("validation", changes)

    def with_register(self, **changes) -> "Settings":
        return self._with("register", changes)

    def with_coords(self, **changes) -> "Settings":
        return self._with("coords", changes)

    def with_regeneration(self, **changes) -> "Settings":
        return self._with("regeneration", changes)

    def with_verify(self, **changes) -> "Settings":
        return self._with("verify", changes)

    def check(self) -> "Settings":
        """``self`` if every setting is usable, else an :class:`~gridplan.errors.InputError` naming the first
        that is not (a target of 0, NaN or infinity; a tolerance outside 0–1; …)."""
        g, lv, p = self.grid, self.levels, self.party
        checks = [
            ("grid.target", g.target, math.isfinite(g.target) and g.target > 0, "a positive number"),
            ("grid.tolerance", g.tolerance, math.isfinite(g.tolerance) and 0 < g.tolerance < 1, "between 0 and 1"),
            (
                "grid.tight_tolerance",
                g.tight_tolerance,
                math.isfinite(g.tight_tolerance) and 0 < g.tight_tolerance <= g.tolerance,
                "between 0 and the tolerance",
            ),
            (
                "grid.max_service_radius_m",
                g.max_service_radius_m,
                math.isfinite(g.max_service_radius_m) and g.max_service_radius_m > 0,
                "a positive number",
            ),
            (
                "levels.micro_min",
                lv.micro_min,
                math.isfinite(lv.micro_min) and 0 <= lv.micro_min < lv.micro_max,
                "below micro_max",
            ),
            ("levels.micro_max", lv.micro_max, math.isfinite(lv.micro_max) and lv.micro_max > 0, "a positive number"),
            ("levels.grids_per_area", lv.grids_per_area, lv.grids_per_area >= 1, "at least 1"),
            ("party.min_full_members", p.min_full_members, p.min_full_members >= 1, "at least 1"),
            (
                "party.link_min_households",
                p.link_min_households,
                0 <= p.link_min_households <= p.link_max_households,
                "between 0 and link_max_households",
            ),
            (
                "households.dwelling_size_m2",
                self.households.dwelling_size_m2,
                math.isfinite(self.households.dwelling_size_m2) and self.households.dwelling_size_m2 > 0,
                "a positive number",
            ),
            (
                "regeneration.max_moved",
                self.regeneration.max_moved,
                self.regeneration.max_moved is None
                or (math.isfinite(self.regeneration.max_moved) and self.regeneration.max_moved >= 0),
                "a share below 1 or a count of households (0 or more)",
            ),
            ("regeneration.max_chain", self.regeneration.max_chain, self.regeneration.max_chain >= 1, "at least 1"),
            ("regeneration.candidates", self.regeneration.candidates, self.regeneration.candidates >= 1, "at least 1"),
            (
                "verify.limit_seconds",
                self.verify.limit_seconds,
                math.isfinite(self.verify.limit_seconds) and self.verify.limit_seconds > 0,
                "a positive number",
            ),
            (
                "verify.plan_seconds",
                self.verify.plan_seconds,
                math.isfinite(self.verify.plan_seconds) and self.verify.plan_seconds >= 0,
                "0 or more",
            ),
            ("verify.max_variables", self.verify.max_variables, self.verify.max_variables >= 1, "at least 1"),
            (
                "validation.boundary_snap_m",
                self.validation.boundary_snap_m,
                math.isfinite(self.validation.boundary_snap_m) and self.validation.boundary_snap_m >= 0,
                "0 or more",
            ),
        ]
        for name, value, ok, wanted in checks:
            if not ok:
                raise InputError(
                    f"setting {name} = {value!r} must be {wanted}",
                    zh=f"设置项 {name} = {value!r} 须{_WANTED_ZH[wanted]}",
                )
        return self

    def _with(self, group: str, changes: dict) -> "Settings":
        return replace(self, **{group: replace(getattr(self, group), **changes)})

    def to_dict(self) -> dict:
        """The settings as JSON-ready values (mappings as dicts, tuples as lists)."""
        return _plain(self)

    @classmethod
    def from_dict(cls, values: Mapping) -> "Settings":
        """Settings from :meth:`to_dict`'s values; a group or field missing there keeps its default, an
        unknown one is an :class:`~gridplan.errors.InputError` (a plan of another gridplan, or edited)."""
        return _build(cls, values, "settings")


def _plain(value):
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


#: What :meth:`Settings.check` wants of a setting, as a Chinese message says it (after 须).
_WANTED_ZH = {
    "a positive number": "为正数",
    "between 0 and 1": "在 0 与 1 之间",
    "between 0 and the tolerance": "在 0 与容差（tolerance）之间",
    "below micro_max": "小于 micro_max",
    "at least 1": "至少为 1",
    "between 0 and link_max_households": "在 0 与 link_max_households 之间",
    "a share below 1 or a count of households (0 or more)": "为小于 1 的比例或户数（0 或以上）",
    "0 or more": "为 0 或以上",
}


def _build(kind, values: Mapping, where: str):
    known = {f.name: f for f in fields(kind)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"{where}: unknown setting {unknown[0]!r}", zh=f"{where}：未知的设置项 {unknown[0]!r}")
    out = {}
    defaults = kind()
    for name, value in values.items():
        current = getattr(defaults, name)
        if is_dataclass(current):
            out[name] = _build(type(current), value, f"{where}.{name}")
        elif isinstance(current, Mapping):
            out[name] = _frozen(dict(value))
        elif isinstance(current, tuple):
            out[name] = tuple(value)
        else:
            out[name] = (
                type(current)(value) if isinstance(current, (int, float)) and not isinstance(current, bool) else value
            )
    return kind(**out)


@dataclass(frozen=True)
class ComplianceSettings:
    """The figures a compliance check (合规检查, :mod:`gridplan.review.compliance`) holds a layout to, beyond the
    plan's own settings (the bounds, the party rules and the service circle come from :class:`Settings`).

    Not a group of :class:`Settings`: no plan depends on them, so a plan's provenance does not carry them.

    Attributes
    ----------
    urban_households
        The urban guidance's households a grid (城市社区网格: 300–500), a softer rule than the bounds.
    max_residents
        Residents a grid at most where residents are known: the urban guidance's "about 2,000–2,500"; its
        upper figure is the limit.
    min_gap_m2
        A piece of a community in no grid counts as a gap from this area on (smaller: rounding slivers).
    min_overlap_m2
        Two grids overlap from this area on.
    enclave_share
        A grid whose boundary runs along one other grid for at least this share of its length is enclosed by it.
    """

    urban_households: tuple[float, float] = (300.0, 500.0)
    max_residents: float = 2500.0
    min_gap_m2: float = 1.0
    min_overlap_m2: float = 1.0
    enclave_share: float = 0.99


@dataclass(frozen=True)
class WallMapSettings:
    """How wall maps (网格图上墙) are printed. Not part of :class:`Settings`: printing changes no plan, so it
    is not recorded in a plan's provenance.

    Attributes
    ----------
    papers
        Paper sizes in millimetres, portrait (width, height): ISO 216 A3 and A4, the sizes office printers
        and copy shops print.
    paper, orientation
        The default paper and orientation: A3 landscape, the usual size of a grid map on a community office's
        wall.
    dpi
        Resolution of the PNG pages: 150 dpi is sharp at reading distance and keeps an A3 page near 5 MB.
    fonts
        CJK font families tried in order (Debian's ``fonts-noto-cjk`` holds Noto Sans CJK,
        ``fonts-wqy-zenhei`` WenQuanYi Zen Hei); the first one installed draws every text of the page.
    margin_mm
        White border of the page, inside what printers cannot print (about 5 mm).
    street_label_share
        A named street is labelled when its longest stretch in view is at least this share of the map's width.
    """

    papers: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: _frozen({"A3": (297.0, 420.0), "A4": (210.0, 297.0)})
    )
    paper: str = "A3"
    orientation: str = "landscape"
    dpi: int = 150
    fonts: tuple[str, ...] = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei")
    margin_mm: float = 10.0
    street_label_share: float = 0.1


@dataclass(frozen=True)
class RunOptions:
    """How a plan runs, as opposed to what it plans for (:class:`Settings`): one object taken by
    :func:`gridplan.plan_scene`, :func:`gridplan.partition.partition`, :func:`gridplan.plan_communities` and
    :func:`gridplan.regenerate`. Not part of a plan's provenance, except the code style the plan records.

    Attributes
    ----------
    grid_count
        Ordinary grids per community, fixed by the user: one number for every community, or by
        ``community_id``; by default (None) chosen to fit the bounds. A first plan only.
    code_style
        Grid codes: ``"gb15"`` (12-digit community code + 3-digit serial) or ``"gbt14"`` (GB/T 30428.2's 2-digit
        serial); continuing grids of a regeneration keep theirs.
    workers
        Local processes communities are planned on (1: in this process); by default (None) every available core
        where a pool gains: one process for a scene of one community or of fewer than
        ``PARALLEL_MIN_HOUSEHOLDS`` households (:func:`gridplan.engine.parallel.default_workers`). A scene of
        one community (:func:`gridplan.partition.partition`) and a regeneration run their regions on them
        instead (by default every available core from ``PARALLEL_MIN_HOUSEHOLDS`` households:
        :func:`gridplan.engine.processes.pool_workers`). Every count gives the same plan.
    scheduler
        A Dask distributed scheduler's address (``tcp://host:8786``) or client to plan communities on.
    retries
        Times a community whose worker is lost is tried again (an error of the data is not retried).
    progress
        Progress bars on standard error.

    Examples
    --------
    >>> from gridplan.settings import RunOptions
    >>> RunOptions(grid_count=3, workers=2).check().workers
    2
    """

    grid_count: int | Mapping[str, int] | None = None
    code_style: str = "gb15"
    workers: int | None = None
    scheduler: object = None
    retries: int = 2
    progress: bool = False

    def check(self) -> RunOptions:
        """The options themselves, checked: an :class:`~gridplan.errors.InputError` names the first that is wrong."""
        bad_workers = self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        )
        if bad_workers or not isinstance(self.retries, int) or self.retries < 0:
            raise InputError("workers must be at least 1 and retries at least 0", zh="进程数至少为 1，重试次数至少为 0")
        counts = (
            self.grid_count.values()
            if isinstance(self.grid_count, Mapping)
            else []
            if self.grid_count is None
            else [self.grid_count]
        )
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in counts):
            raise InputError(
                f"a fixed grid count must be a whole number of at least 1, got {self.grid_count!r}",
                zh=f"指定的网格数须为不小于 1 的整数，实为 {self.grid_count!r}",
            )
        if self.code_style not in CODE_STYLES:
            raise InputError(
                f"unknown grid code style {self.code_style!r}: use {' or '.join(CODE_STYLES)}",
                zh=f"未知的网格编码方式 {self.code_style!r}：可选 {' 或 '.join(CODE_STYLES)}",
            )
        return self


DEFAULTS = Settings()
WALL_MAP_DEFAULTS = WallMapSettings()
COMPLIANCE_DEFAULTS = ComplianceSettings()
PARTY_DEFAULTS = DEFAULTS.party
SERVICE_DEFAULTS = DEFAULTS.service


#: Grid code styles: 12-digit community code + 3-digit serial, or GB/T 30428.2's 12 + 2 digits.
@dataclass(frozen=True)
class EditorSettings:
    """How ``gridplan edit`` serves: ``host`` (loopback unless told; any other needs a token), ``port`` (0: a free
    one), ``journal_suffix`` (added to the plan's file name for its edit journal), ``poll_ms`` (how often a page
    asks whether another tab edited), ``max_body_bytes`` (the largest request taken)."""

    host: str = "127.0.0.1"
    port: int = 0
    journal_suffix: str = ".edits.jsonl"
    poll_ms: int = 2000
    max_body_bytes: int = 1_000_000


EDITOR = EditorSettings()

CODE_STYLES = ("gb15", "gbt14")
#: How a plan runs unless told otherwise.
RUN_DEFAULTS = RunOptions()

#: Basemaps of a web map: ``none`` (the default) draws the scene's streets, water and buildings instead of
#: tiles, so the map needs no server; the others load tiles (天地图 needs a key; Gaode shifts to GCJ-02).
BASEMAPS = ("none", "osm", "tianditu", "gaode")
#: What a web map opens on (the other layers can be switched on): ``grids`` (the default: households against
#: the target, for planners), ``party`` (party organization status of the grids and the joint branches proposed,
#: for the organization department) or ``service`` (service points, walking circles and blind spots).
MAP_VIEWS = ("grids", "party", "service")
#: Simplification of a web map's polygons in metres: invisible at street zoom, halves a district's HTML.
SIMPLIFY_M = 2.0
#: The environment variable naming the directory communities' atoms are kept in between runs
#: (:mod:`gridplan.engine.unit_store`; ``off`` for none; by default ``~/.cache/gridplan``).
CACHE_DIR_ENV = "GRIDPLAN_CACHE_DIR"
#: The most bytes of atoms kept there (about 1,000 communities of a district); the least recently used go first.
UNITS_CACHE_BYTES = 500_000_000
#: Below this many households a plan stays in one process by default. Measured on generated districts
#: (2026-12-06, CPU seconds, so a loaded machine does not blur it): a pool of 2 costs about 0.3 s more CPU at
#: 4,000 households (a plan of 0.4 s: no gain), 0.5 s at 15,000 (of 5 s) and 1–2 s at 40,000 (of 14 s), and
#: its parent works 1.6 s and 2.6 s of those serially (merge, metrics): on two idle cores it pays from about
#: 10,000 households (about 35 grids).
PARALLEL_MIN_HOUSEHOLDS = 10_000
