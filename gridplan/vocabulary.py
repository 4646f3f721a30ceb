"""The words gridplan's results are written in: every status, kind and code defined once, with its labels.

Producers (:mod:`gridplan.partition`, :mod:`gridplan.reach.party`, :mod:`gridplan.reach.service`,
:mod:`gridplan.engine.regenerate`) write these values into their tables; tables, maps, reports and summaries show
them through :func:`label`, in one language per run (``"zh"``, the default, or ``"en"``). A value written
to a file is the stable English code (``own_branch``); what a person reads is its label (独立党支部).
"""

from __future__ import annotations

import math
from enum import StrEnum

import pandas as pd

from gridplan.errors import InputError

LANGUAGES = ("zh", "en")


class GridKind(StrEnum):
    """Kinds of grid (网格类型)."""

    ORDINARY = "ordinary"  # 综合网格: by households
    SPECIAL = "special"  # 专属网格: a school, hospital… forms a grid of its own
    OVERSIZE = "oversize"  # one indivisible unit above the ceiling
    SMALL = "small"  # an isolated part below the floor


class HouseholdSource(StrEnum):
    """Where a grid's household count comes from (户数来源): the register (or a given households column),
    an estimate from footprint × floors, or both."""

    REGISTERED = "registered"  # 登记: no household of it is estimated
    ESTIMATED = "estimated"  # 估算: every household of it is estimated
    PARTLY_ESTIMATED = "partly_estimated"  # 部分估算
    NO_BUILDINGS = "no_buildings"  # a grid without buildings: no count to come from anywhere


class BranchStatus(StrEnum):
    """Party organization of a grid (网格党组织状态)."""

    OWN_BRANCH = "own_branch"  # ≥3 full members: its own branch
    TOO_LARGE = "too_large"  # above the branch maximum: party groups or a general branch
    NEEDS_JOINT_BRANCH = "needs_joint_branch"  # fewer than 3 full members: in a proposed joint branch
    JOINS_BRANCH_OF = "joins_branch_of"  # joins a neighbouring grid's branch
    NO_BRANCH = "no_branch"  # lacks a branch and no rule could place it


class MemberStatus(StrEnum):
    """Party member status (党员身份)."""

    FULL = "full"  # 正式党员
    PROBATIONARY = "probationary"  # 预备党员
    UNKNOWN = "unknown"


#: The words a register or a scene may use for a member's status, and the status each means.
MEMBER_STATUS_WORDS = {
    "full": MemberStatus.FULL,
    "正式": MemberStatus.FULL,
    "正式党员": MemberStatus.FULL,
    "probationary": MemberStatus.PROBATIONARY,
    "预备": MemberStatus.PROBATIONARY,
    "预备党员": MemberStatus.PROBATIONARY,
}


def normalise_status(status: pd.Series | None, index: pd.Index) -> pd.Series:
    """``full``, ``probationary`` or ``unknown`` (counted as a member, never as full) per member."""
    if status is None:
        return pd.Series(MemberStatus.FULL.value, index=index)
    words = status.astype("string").str.strip().str.lower()
    return (
        words.map({w: s.value for w, s in MEMBER_STATUS_WORDS.items()})
        .fillna(MemberStatus.UNKNOWN.value)
        .astype(object)
    )


class OrgKind(StrEnum):
    """Kinds of party organization (党组织)."""

    COMMITTEE = "committee"  # 社区党委
    BRANCH = "branch"  # 网格党支部
    JOINT_BRANCH = "joint_branch"  # 联合党支部


class WarningCode(StrEnum):
    """What a plan could not meet, by grid (规划提示)."""

    OVERSIZE_UNIT = "oversize_unit"
    BELOW_FLOOR = "below_floor"
    OUT_OF_BOUNDS = "out_of_bounds"
    OVER_RADIUS = "over_radius"
    GRID_COUNT = "grid_count"  # a community's grid count, fixed by the user, could not be reached


class WarningReason(StrEnum):
    """Why a warning's rule could not be met (with the warning's code, it picks the message)."""

    NONE = ""
    UNIT_MISFIT = "unit_misfit"  # one unit fits no group within the bounds: proven
    REGION_PROVEN = "region_proven"  # an exhaustive search of the region proved it
    NEIGHBOURHOOD_PROVEN = (
        "neighbourhood_proven"  # the grids around it cannot be re-drawn to help: proven; globally not
    )
    UNITS_TOO_COARSE = "units_too_coarse"  # the re-splits found nothing (not proven)
    REGENERATION_LIMIT = "regeneration_limit"  # regeneration would have to move more grids
    REGION_INDIVISIBLE = "region_indivisible"  # a region's households fit no layout of whole grids
    UNIT_SPANS = "unit_spans"  # one indivisible unit alone spans more than the radius allows
    NO_SHORTER_SPLIT = "no_shorter_split"  # no re-split within the bounds shortens it
    REGENERATION_BOUNDS_ONLY = "regeneration_bounds_only"  # regeneration re-plans only grids out of bounds
    NO_HOUSEHOLDS = "no_households"  # a part (or a whole community) where nobody lives
    FIXED_COUNT = "fixed_count"  # the user fixed the community's grid count
    FEW_UNITS = "few_units"  # more grids asked than units with households
    PARTS = "parts"  # more parts planned apart than grids asked, each at least one grid
    NO_CONNECTED_CUT = "no_connected_cut"  # no cut into that many connected grids with households was found
    HAND_EDITED = "hand_edited"  # the plan was edited by hand: not searched again


class Claim(StrEnum):
    """What a certificate (证明) states about grids outside the bounds or over the radius."""

    UNIT_MISFIT = (
        "unit_misfit"  # one unit fits no connected group within the bounds: its grid is outside in every layout
    )
    REGION_FEWEST = "region_fewest"  # no layout of a region's units has fewer grids outside the bounds
    NEIGHBOURHOOD_FEWEST = "neighbourhood_fewest"  # the same for some grids' units, the grids around them kept
    TIGHT_FEWEST = "tight_fewest"  # no layout of a region's units within the bounds has fewer outside the tight band
    NEIGHBOURHOOD_TIGHT = "neighbourhood_tight"  # the same for some grids' units, the grids around them kept
    UNIT_SPANS = "unit_spans"  # one unit's buildings lie farther apart than twice the radius
    BEST_FOUND = "best_found"  # nothing proven: the best layout the searches found


#: The claims about the tight band (the other claims with a window speak of the bounds).
TIGHT_BAND_CLAIMS = frozenset({Claim.TIGHT_FEWEST, Claim.NEIGHBOURHOOD_TIGHT})
#: The claims about the ground of some grids, the grids around them kept as they are (not a whole region).
NEIGHBOURHOOD_CLAIMS = frozenset({Claim.NEIGHBOURHOOD_FEWEST, Claim.NEIGHBOURHOOD_TIGHT})


class ClaimStatus(StrEnum):
    """Whether a claim is proven (by the method it names) and whether an independent check confirmed it."""

    PROVEN = "proven"
    NOT_PROVEN = "not_proven"


class ClaimMethod(StrEnum):
    """How a claim was proven, or how the layout was searched where nothing is proven."""

    SUBSET_SUMS = "subset_sums"  # the loads a unit's neighbours can add, as subset sums
    ENUMERATION = "enumeration"  # every connected group enumerated, an exact cover searched to its end
    CP_SAT = "cp_sat"  # a constraint programme (OR-Tools CP-SAT) solved to optimality or infeasibility
    MISFITS_APART = "misfits_apart"  # misfit units no two of which one grid within the cap can hold
    GEOMETRY = "geometry"  # two buildings' distance
    LOCAL_SEARCH = "local_search"  # re-splits with neighbours, the exact re-split: no proof


class SearchStop(StrEnum):
    """Why the search for a grid outside the bounds (or over the radius) stopped without a proof."""

    NONE = ""
    LIMITS = "limits"  # the region search reached its limits (groups, steps, the programme's work or size)
    FIXED_COUNT = "fixed_count"  # the user fixed the grid count: the region search is not run
    REGENERATION = "regeneration"  # regeneration re-plans only what broke, within its limits
    SCOPE = "scope"  # a region proof does not cover the layout kept (a grid outside it above its cap)
    RADIUS = "radius"  # the radius is searched by re-splits with one neighbour only
    REFUTED = "proof_refuted"  # the engine's proof was refuted by an independent check: withdrawn
    HAND_EDITED = "hand_edited"  # the plan was edited by hand in the editor: not searched again


class UnitKind(StrEnum):
    """Kinds of planning unit (规划单元): what a grid is made of."""

    BLOCK = "block"  # 街区: a street block
    CELL = "cell"  # a building's cell inside a block
    COMPOUND = "compound"  # 小区 kept whole
    SPECIAL = "special"
    WATER = "water"


class UnlinkedReason(StrEnum):
    """Why households are linked to no party member (未联户原因)."""

    CAPACITY = "capacity"
    OUT_OF_REACH = "out_of_reach"
    NO_MEMBERS = "no_members"


class UnplacedReason(StrEnum):
    """Why a party member is in no grid (党员未入格原因)."""

    NO_BUILDING_ID = "no_building_id"
    UNKNOWN_BUILDING = "unknown_building"
    OUTSIDE_GRIDS = "outside_grids"
    DUPLICATE_MEMBER_ID = "duplicate_member_id"


class NetworkReach(StrEnum):
    """How a building reaches the walking network (步行网络可达性)."""

    ON_NETWORK = "on_network"
    OFF_NETWORK = "off_network"  # no street within the snap distance
    UNREACHABLE = "unreachable"  # on a piece of network no service point is on


class MoveReason(StrEnum):
    """Why regeneration moved a building to another grid."""

    CHANGED_BOUNDARY = "changed_boundary"  # its unit changed with the data, or the drawn boundary put it there
    BROKEN_BOUND = "broken_bound"  # its grid broke the household bounds and was re-split
    REBALANCE = "rebalance"  # moved to bring a grid back within the tight band
    ADJUSTED = "adjusted"  # moved by hand, or by a plan that records no reason (a comparison's default)


class EditOp(StrEnum):
    """What an edit in the editor (``gridplan edit``) did, as its journal records it."""

    MOVE = "move"  # units given to a neighbouring grid by hand
    LOCK = "lock"
    UNLOCK = "unlock"
    REBALANCE = "rebalance"  # a community's other grids re-planned by the engine
    UNDO = "undo"
    REDO = "redo"


class EditRefusal(StrEnum):
    """Why the editor refused an edit (the rule it would break, or what does not exist)."""

    UNKNOWN_GRID = "unknown_grid"
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_BUILDING = "unknown_building"
    UNKNOWN_COMMUNITY = "unknown_community"
    NOTHING_CHOSEN = "nothing_chosen"
    SAME_GRID = "same_grid"
    OTHER_COMMUNITY = "other_community"  # a grid never spans two communities
    SPECIAL = "special"  # a special grid (专属网格) is one site, kept as it is
    LOCKED = "locked"
    EMPTY_GRID = "empty_grid"
    NOT_TOUCHING = "not_touching"  # the grid would be in two pieces
    ACROSS_BARRIER = "across_barrier"  # joined only across a river, rail or wall
    SPLITS_GRID = "splits_grid"  # the grid given from would fall apart
    ALREADY_LOCKED = "already_locked"
    NOT_LOCKED = "not_locked"
    NOTHING_TO_UNDO = "nothing_to_undo"
    NOTHING_TO_REDO = "nothing_to_redo"
    NO_LAYOUT_AROUND = "no_layout_around"  # the grids kept leave ground that fits no grid within the bounds


#: What the editor says of a refused edit, by :class:`EditRefusal`, filled with its figures.
REFUSALS: dict[str, tuple[str, str]] = {
    EditRefusal.UNKNOWN_GRID: ("没有网格 {grid}", "no grid {grid}"),
    EditRefusal.UNKNOWN_UNIT: ("没有单元 {unit!r}", "no unit {unit!r}"),
    EditRefusal.UNKNOWN_BUILDING: ("没有建筑 {building!r}", "no building {building!r}"),
    EditRefusal.UNKNOWN_COMMUNITY: ("没有社区 {community}", "no community {community}"),
    EditRefusal.NOTHING_CHOSEN: ("未选择单元或建筑", "no unit or building chosen"),
    EditRefusal.SAME_GRID: ("所选单元已在网格 {grid} 中", "the units chosen are in grid {grid} already"),
    EditRefusal.OTHER_COMMUNITY: (
        "网格 {grid} 属于社区 {community}：网格不能跨社区",
        "grid {grid} is of community {community}: a grid never spans two communities",
    ),
    EditRefusal.SPECIAL: ("网格 {grid} 是专属网格，保持原样", "grid {grid} is a special grid, kept as it is"),
    EditRefusal.LOCKED: ("网格 {grid} 已锁定：请先解锁", "grid {grid} is locked: unlock it first"),
    EditRefusal.EMPTY_GRID: ("网格 {grid} 已无单元", "grid {grid} holds no units any more"),
    EditRefusal.NOT_TOUCHING: (
        "所选单元与网格 {grid} 不相邻：网格将分成多块",
        "the units chosen do not touch grid {grid}: it would be in pieces",
    ),
    EditRefusal.ACROSS_BARRIER: (
        "网格 {grid} 将只隔着河流、铁路或围墙相连",
        "grid {grid} would be joined only across a river, rail or wall",
    ),
    EditRefusal.SPLITS_GRID: ("网格 {grid} 将分成多块", "grid {grid} would fall apart into pieces"),
    EditRefusal.ALREADY_LOCKED: ("网格 {grid} 已锁定", "grid {grid} is locked already"),
    EditRefusal.NOT_LOCKED: ("网格 {grid} 未锁定", "grid {grid} is not locked"),
    EditRefusal.NOTHING_TO_UNDO: ("没有可撤销的编辑", "nothing to undo"),
    EditRefusal.NOTHING_TO_REDO: ("没有可重做的编辑", "nothing to redo"),
    EditRefusal.NO_LAYOUT_AROUND: (
        "社区 {community} 中保持不变的网格（锁定的和人工调整过的）之间剩余的住户无法划分为"
        "{floor:.0f}–{ceiling:.0f} 户的网格：请解锁或撤销部分调整后再重新平衡",
        "the grids of community {community} kept as they are (locked, or edited by hand) leave households between "
        "them that fit no layout of grids within {floor:.0f}–{ceiling:.0f}: unlock or undo some edits, then "
        "rebalance",
    ),
}


#: The editor's page and its HTTP answers (``gridplan edit``).
EDITOR_WORDS: dict[str, tuple[str, str]] = {
    "title": ("网格编辑", "Grid editor"),
    "help": (
        "点击单元选中（Shift 加选，按住 Ctrl 拖动连续选取），再点相邻网格把它们划过去。",
        "Click a unit to select it (Shift adds; Ctrl-drag paints), then a neighbouring grid to give them to it.",
    ),
    "grid": ("网格", "Grid"),
    "community": ("社区", "Community"),
    "households": ("户数", "Households"),
    "deviation": ("偏差", "Deviation"),
    "radius": ("服务半径（米）", "Service radius (m)"),
    "alignment": ("沿街定界", "Along streets"),
    "units": ("单元", "Units"),
    "selected": ("已选 {units} 个单元，{households} 户", "{units} units selected, {households} households"),
    "give_to": ("划入相邻网格：", "Give to a neighbouring grid:"),
    "lock": ("锁定", "Lock"),
    "unlock": ("解锁", "Unlock"),
    "rebalance": ("重新平衡本社区其余网格", "Rebalance the rest of the community"),
    "undo": ("撤销", "Undo"),
    "redo": ("重做", "Redo"),
    "save": ("保存为新版本", "Save as a new version"),
    "saved": ("已保存：{path}（第 {version} 版）", "Saved: {path} (version {version})"),
    "outside": ("超出户数范围的网格", "Grids outside the bounds"),
    "none_outside": ("所有综合网格都在户数范围内", "Every ordinary grid is within the bounds"),
    "locked_mark": ("（已锁定）", " (locked)"),
    "moved": ("已划转 {units} 个单元", "{units} units moved"),
    "edits": ("编辑 {seq} 次", "{seq} edits"),
    "bad_token": ("令牌缺失或错误", "missing or wrong token"),
    "not_found": ("没有这个地址", "no such path"),
    "unknown_grid": ("没有网格 {grid}", "no grid {grid}"),
    "too_large": ("请求过大", "request too large"),
    "not_json": ("请求不是 JSON", "the request is not JSON"),
    "not_object": ("请求须为 JSON 对象", "the request must be a JSON object"),
    "missing_field": ("缺少字段 {field}", "missing field {field}"),
    "wrong_field": ("字段 {field} 的类型不对", "field {field} has the wrong type"),
    "unknown_field": ("未知字段 {field}", "unknown field {field}"),
    "internal": ("服务出错，编辑未受影响：请查看服务日志", "the service failed; no edit was lost: see its log"),
}


def refusal_text(code: EditRefusal, lang: str = "zh", **figures) -> str:
    """Why an edit was refused, in ``lang``."""
    return REFUSALS[code][LANGUAGES.index(check_language(lang))].format(**figures)


class BuildingChange(StrEnum):
    """What regeneration did to a building."""

    MOVED = "moved"
    NEW = "new"
    REMOVED = "removed"


class GridChange(StrEnum):
    """What regeneration did to a grid."""

    UNCHANGED = "unchanged"
    CHANGED = "changed"
    CREATED = "created"
    REMOVED = "removed"


class GridMatch(StrEnum):
    """What became of a grid between two plans compared (网格调整类型), matched by the households they share
    (:func:`gridplan.review.compare.compare_plans`)."""

    UNCHANGED = "unchanged"  # persists with the same buildings
    BOUNDARY_CHANGED = "boundary_changed"  # persists; buildings came or went
    SPLIT = "split"  # one old grid the main source of several new ones
    MERGED = "merged"  # several old grids mainly in one new one
    NEW = "new"  # a new grid continuing none
    RETIRED = "retired"  # an old grid continued by none


class Verdict(StrEnum):
    """What an independent check (:mod:`gridplan.review.checking`) says of a claim (证明复核结论)."""

    HOLDS = "holds"  # searched everything the claim is about: no counter-example
    REFUTED = "refuted"  # a counter-example, itself checked
    UNDECIDED = "undecided"  # the search stopped first (size, time) or could not start


class CheckMethod(StrEnum):
    """How a claim was checked: a second formulation and solver, independent of the engine's."""

    ENUMERATION = "enumeration"  # exhaustive enumeration of connected groups (or layouts)
    MILP = "milp"  # a mixed-integer programme solved by HiGHS
    MILP_CP_SAT = "milp_cp_sat"  # the same programme given to CP-SAT, where HiGHS decided nothing in its time
    GEOMETRY = "geometry"  # the buildings' own coordinates
    PLAN = "plan"  # the plan's own layout against what it claims
    FRESH_PLAN = "fresh_plan"  # the layout of a fresh plan of the same scene
    KNOWN_LAYOUT = "known_layout"  # another layout of the same units (a baseline's, a hand-made one)


class CheckStop(StrEnum):
    """What ended a check (with the figures of :attr:`gridplan.review.checking.Check.figures`, picks its words)."""

    EXHAUSTED = "exhausted"  # every candidate searched
    FOUND = "found"  # a counter-example
    INFEASIBLE = "infeasible"  # the programme has no solution: proved
    TIME_LIMIT = "time_limit"
    TOO_LARGE = "too_large"
    BAD_LOADS = "bad_loads"  # loads not whole non-negative numbers
    SOLVER_FAILED = "solver_failed"  # the solver failed, or gave a solution that does not hold


class Rule(StrEnum):
    """A rule a grid layout is checked against (合规检查规则, :mod:`gridplan.review.compliance`)."""

    ONE_COMMUNITY = "one_community"  # every grid in exactly one community (属地管理)
    GAP = "gap"  # the grids of a community tile it: no ground in no grid (无缝覆盖)
    OVERLAP = "overlap"  # no ground in two grids
    CONTIGUITY = "contiguity"  # a grid is one polygon
    ENCLAVE = "enclave"  # no grid wholly enclosed by one other grid (飞地/嵌套)
    HOUSEHOLDS = "households"  # households within the bounds (240–360 by default)
    URBAN_GUIDANCE = "urban_guidance"  # the urban guidance's 300–500 households (softer)
    RESIDENTS = "residents"  # at most 2,500 residents where residents are known
    CODE_FORMAT = "code_format"  # 12-digit community code + 3-digit serial (or 2, GB/T 30428.2)
    CODE_UNIQUE = "code_unique"
    CODE_ORDER = "code_order"  # serials west → east, north → south
    PARTY_ORGANIZATION = "party_organization"  # every grid has a party organization
    OWN_BRANCH = "own_branch_due"  # a grid with ≥ 3 full members has its own branch
    JOINT_BRANCH_UNITS = "joint_branch_units"  # a joint branch of at most 5 grids
    JOINT_BRANCH_ADJACENT = "joint_branch_adjacent"  # … that are adjacent
    JOINT_BRANCH_FULL_MEMBERS = "joint_branch_full_members"  # … with ≥ 3 full members in all
    BRANCH_MEMBERS = "branch_members"  # at most 50 members a branch
    BRANCH_COMMITTEE = "branch_committee"  # a branch of ≥ 7 full members elects a committee
    SERVICE_CIRCLE = "service_circle"  # every household within the 15-minute circle


class Severity(StrEnum):
    """How binding a rule is: a rule a layout must meet, or guidance it should (合规性质)."""

    RULE = "rule"
    GUIDANCE = "guidance"


#: Rules a layout may only fall short of (guidance); every other is a rule it must meet.
GUIDANCE_RULES = frozenset({Rule.URBAN_GUIDANCE})


def severity(rule: Rule) -> Severity:
    """How binding ``rule`` is: :attr:`Severity.GUIDANCE` for :data:`GUIDANCE_RULES`, else :attr:`Severity.RULE`."""
    return Severity.GUIDANCE if rule in GUIDANCE_RULES else Severity.RULE


class NotApplicable(StrEnum):
    """Why a rule could not be checked (不适用原因)."""

    NO_COVERAGE = "no_coverage"  # party and service rules need a coverage
    NO_RESIDENTS = "no_residents"  # no residents column on the grids or the buildings
    NO_CODES = "no_codes"  # the grids have no codes
    NO_COMMITTEE_DATA = "no_committee_data"  # nothing records which branches elected a committee


_TERMS: dict[StrEnum, tuple[str, str]] = {
    GridKind.ORDINARY: ("综合网格", "ordinary"),
    GridKind.SPECIAL: ("专属网格", "special"),
    GridKind.OVERSIZE: ("超规模网格", "oversize"),
    GridKind.SMALL: ("小网格", "small"),
    HouseholdSource.REGISTERED: ("登记", "registered"),
    HouseholdSource.ESTIMATED: ("估算", "estimated"),
    HouseholdSource.PARTLY_ESTIMATED: ("部分估算", "partly estimated"),
    HouseholdSource.NO_BUILDINGS: ("无楼栋", "no buildings"),
    BranchStatus.OWN_BRANCH: ("独立党支部", "own branch"),
    BranchStatus.TOO_LARGE: ("党员过多（宜设党总支或党小组）", "too large (general branch or party groups)"),
    BranchStatus.NEEDS_JOINT_BRANCH: ("建联合党支部", "joint branch"),
    BranchStatus.JOINS_BRANCH_OF: ("并入相邻网格党支部", "joins a neighbouring branch"),
    BranchStatus.NO_BRANCH: ("无党组织", "no party organization"),
    MemberStatus.FULL: ("正式党员", "full member"),
    MemberStatus.PROBATIONARY: ("预备党员", "probationary member"),
    MemberStatus.UNKNOWN: ("身份不详", "status unknown"),
    OrgKind.COMMITTEE: ("社区党委", "Community committee"),
    OrgKind.BRANCH: ("网格党支部", "Grid branch"),
    OrgKind.JOINT_BRANCH: ("联合党支部", "Joint branch"),
    WarningCode.OVERSIZE_UNIT: ("单元超出户数上限", "unit above the ceiling"),
    WarningCode.BELOW_FLOOR: ("户数低于下限", "below the floor"),
    WarningCode.OUT_OF_BOUNDS: ("户数超出范围", "outside the bounds"),
    WarningCode.OVER_RADIUS: ("服务半径过大", "service radius too large"),
    WarningCode.GRID_COUNT: ("网格数", "grid count"),
    Claim.UNIT_MISFIT: ("单元无法入范围", "unit fits no grid within the bounds"),
    Claim.REGION_FEWEST: ("区域超范围网格数最少", "fewest grids outside the bounds in the region"),
    Claim.NEIGHBOURHOOD_FEWEST: ("周边网格超范围网格数最少", "fewest grids outside the bounds around it"),
    Claim.TIGHT_FEWEST: ("区域超出目标小幅范围的网格数最少", "fewest grids outside the tight band in the region"),
    Claim.NEIGHBOURHOOD_TIGHT: (
        "周边网格超出目标小幅范围的网格数最少",
        "fewest grids outside the tight band around it",
    ),
    Claim.UNIT_SPANS: ("单元跨度过大", "unit spans the radius"),
    Claim.BEST_FOUND: ("搜索所得最优（未证明）", "best found (not proven)"),
    ClaimStatus.PROVEN: ("已证明", "proven"),
    ClaimStatus.NOT_PROVEN: ("未证明", "not proven"),
    ClaimMethod.SUBSET_SUMS: ("相邻单元户数子集和", "subset sums of neighbouring loads"),
    ClaimMethod.ENUMERATION: ("穷举连通组合", "enumeration of connected groups"),
    ClaimMethod.CP_SAT: ("约束规划（CP-SAT）", "constraint programme (CP-SAT)"),
    ClaimMethod.MISFITS_APART: ("互不相容的不可入范围单元", "misfit units no grid within the cap can pair"),
    ClaimMethod.GEOMETRY: ("楼栋间距", "distance between buildings"),
    ClaimMethod.LOCAL_SEARCH: ("局部重新划分", "local re-splits"),
    SearchStop.LIMITS: ("整区搜索达到规模或计算量上限", "the region search reached its size or work limits"),
    SearchStop.FIXED_COUNT: (
        "网格数由用户指定，未做整区搜索",
        "the grid count was fixed by the user: no region search",
    ),
    SearchStop.REGENERATION: (
        "重新生成只在限度内调整出问题的网格",
        "regeneration re-plans only what broke, within its limits",
    ),
    SearchStop.SCOPE: ("区域证明不覆盖保留的方案", "the region proof does not cover the layout kept"),
    SearchStop.RADIUS: ("只尝试了与一个相邻网格重新划分", "only re-splits with one neighbouring grid were tried"),
    SearchStop.REFUTED: ("原证明被独立核验推翻，已撤回", "the proof was refuted by an independent check and withdrawn"),
    SearchStop.HAND_EDITED: ("方案经人工编辑，未重新搜索", "the plan was edited by hand and not searched again"),
    UnitKind.BLOCK: ("街区", "block"),
    UnitKind.CELL: ("楼栋地块", "building cell"),
    UnitKind.COMPOUND: ("小区", "compound"),
    UnitKind.WATER: ("水域", "water"),
    UnlinkedReason.CAPACITY: ("党员联户已满", "members' capacity"),
    UnlinkedReason.OUT_OF_REACH: ("附近无党员", "no member within reach"),
    UnlinkedReason.NO_MEMBERS: ("网格无党员", "no members"),
    UnplacedReason.NO_BUILDING_ID: ("无楼栋编号", "no building id"),
    UnplacedReason.UNKNOWN_BUILDING: ("楼栋不存在", "unknown building"),
    UnplacedReason.OUTSIDE_GRIDS: ("楼栋不在网格内", "building in no grid"),
    UnplacedReason.DUPLICATE_MEMBER_ID: ("党员编号重复", "duplicate member id"),
    NetworkReach.ON_NETWORK: ("可步行到达", "on the walking network"),
    NetworkReach.OFF_NETWORK: ("附近无道路", "no street nearby"),
    NetworkReach.UNREACHABLE: ("道路不通服务站点", "no path to a service point"),
    MoveReason.CHANGED_BOUNDARY: ("单元或边界变化", "changed unit or boundary"),
    MoveReason.BROKEN_BOUND: ("网格超出户数范围", "grid broke the bounds"),
    MoveReason.REBALANCE: ("再平衡", "rebalance"),
    MoveReason.ADJUSTED: ("调整", "adjusted"),
    BuildingChange.MOVED: ("调整网格", "moved"),
    BuildingChange.NEW: ("新增", "new"),
    BuildingChange.REMOVED: ("移除", "removed"),
    GridChange.UNCHANGED: ("未变", "unchanged"),
    GridChange.CHANGED: ("调整", "changed"),
    GridChange.CREATED: ("新建", "created"),
    GridChange.REMOVED: ("撤销", "removed"),
    GridMatch.UNCHANGED: ("未变", "unchanged"),
    GridMatch.BOUNDARY_CHANGED: ("边界调整", "boundary changed"),
    GridMatch.SPLIT: ("拆分", "split"),
    GridMatch.MERGED: ("合并", "merged"),
    GridMatch.NEW: ("新增", "new"),
    GridMatch.RETIRED: ("撤销", "retired"),
    Verdict.HOLDS: ("成立", "holds"),
    Verdict.REFUTED: ("被推翻", "refuted"),
    Verdict.UNDECIDED: ("未定", "undecided"),
    CheckMethod.ENUMERATION: ("穷举枚举", "exhaustive enumeration"),
    CheckMethod.MILP: ("混合整数规划（HiGHS）", "mixed-integer programme (HiGHS)"),
    CheckMethod.MILP_CP_SAT: (
        "同一混合整数规划（HiGHS 在时限内未定，再由 CP-SAT 求解）",
        "the same mixed-integer programme (HiGHS undecided in its time, then CP-SAT)",
    ),
    CheckMethod.PLAN: ("方案本身", "the plan's own layout"),
    CheckMethod.FRESH_PLAN: ("重新规划的方案", "a fresh plan"),
    CheckMethod.KNOWN_LAYOUT: ("已知的另一划分", "another known layout"),
    CheckStop.EXHAUSTED: ("全部检查", "all searched"),
    CheckStop.FOUND: ("找到反例", "counter-example found"),
    CheckStop.INFEASIBLE: ("证明无解", "proved infeasible"),
    CheckStop.TIME_LIMIT: ("超出时限", "time limit"),
    CheckStop.TOO_LARGE: ("规模过大", "too large"),
    CheckStop.BAD_LOADS: ("户数不是整数", "fractional loads"),
    CheckStop.SOLVER_FAILED: ("求解失败", "solver failed"),
    Rule.ONE_COMMUNITY: ("网格属于一个社区", "one community a grid"),
    Rule.GAP: ("无缝覆盖（无空隙）", "no gap"),
    Rule.OVERLAP: ("网格不重叠", "no overlap"),
    Rule.CONTIGUITY: ("网格连片", "contiguous grid"),
    Rule.ENCLAVE: ("无嵌套网格（飞地）", "no enclave"),
    Rule.HOUSEHOLDS: ("户数在范围内", "households within the bounds"),
    Rule.URBAN_GUIDANCE: ("城市网格 300–500 户指引", "urban 300–500 households guidance"),
    Rule.RESIDENTS: ("人口不超过上限", "residents within the limit"),
    Rule.CODE_FORMAT: ("网格编码格式", "grid code format"),
    Rule.CODE_UNIQUE: ("网格编码唯一", "unique grid code"),
    Rule.CODE_ORDER: ("网格编码顺序（自西向东、自北向南）", "code order (west → east, north → south)"),
    Rule.PARTY_ORGANIZATION: ("每个网格有党组织", "a party organization in every grid"),
    Rule.OWN_BRANCH: ("正式党员 3 人以上单独建支部", "own branch from 3 full members"),
    Rule.JOINT_BRANCH_UNITS: ("联合党支部不超过 5 个网格", "joint branch of at most 5 grids"),
    Rule.JOINT_BRANCH_ADJACENT: ("联合党支部网格相邻", "joint branch of adjacent grids"),
    Rule.JOINT_BRANCH_FULL_MEMBERS: ("联合党支部正式党员 3 人以上", "joint branch of 3 full members"),
    Rule.BRANCH_MEMBERS: ("党支部党员不超过 50 人", "at most 50 members a branch"),
    Rule.BRANCH_COMMITTEE: ("党员 7 人以上设支部委员会", "branch committee from 7 members"),
    Rule.SERVICE_CIRCLE: ("15 分钟便民服务圈", "15-minute service circle"),
    Severity.RULE: ("规则", "rule"),
    Severity.GUIDANCE: ("指引", "guidance"),
    NotApplicable.NO_COVERAGE: ("未提供覆盖分析", "no coverage given"),
    NotApplicable.NO_RESIDENTS: (
        "网格和楼栋均无 residents（人口）列",
        "no residents column on the grids or the buildings",
    ),
    NotApplicable.NO_CODES: ("网格没有编码", "the grids have no codes"),
    NotApplicable.NO_COMMITTEE_DATA: (
        "数据未记录各支部是否设支委会",
        "no data records which branches elected a committee",
    ),
}

#: Where each rule comes from (依据), as a planner cites it.
RULE_SOURCES: dict[str, tuple[str, str]] = {
    Rule.ONE_COMMUNITY: (
        "属地管理原则；GB/T 30428.2 管理单元划分",
        "territorial management; GB/T 30428.2 unit division",
    ),
    Rule.GAP: ("网格划分“无缝覆盖”原则；CJ/T 213 单元网格划分", "seamless coverage principle; CJ/T 213 unit grids"),
    Rule.OVERLAP: (
        "网格划分“无缝覆盖、不重叠”原则；CJ/T 213 单元网格划分",
        "seamless, non-overlapping coverage; CJ/T 213 unit grids",
    ),
    Rule.CONTIGUITY: ("“街巷定界”原则；CJ/T 213 单元网格划分", "bounded by streets; CJ/T 213 unit grids"),
    Rule.ENCLAVE: ("“街巷定界”原则；CJ/T 213 单元网格划分", "bounded by streets; CJ/T 213 unit grids"),
    Rule.HOUSEHOLDS: (
        "“以300户为单位划分网格”（容差为本地设置）",
        "one grid per about 300 households (tolerance a local setting)",
    ),
    Rule.URBAN_GUIDANCE: (
        "城市社区网格划分指引：每格 300–500 户",
        "urban community grid guidance: 300–500 households a grid",
    ),
    Rule.RESIDENTS: (
        "城市社区网格划分指引：每格约 2,000–2,500 人",
        "urban community grid guidance: about 2,000–2,500 residents a grid",
    ),
    Rule.CODE_FORMAT: (
        "北京市网格编码标准（DB11）：6+3+3+3 位；GB/T 30428.2：2 位序号",
        "Beijing grid code standard (DB11): 6+3+3+3 digits; GB/T 30428.2: 2-digit serial",
    ),
    Rule.CODE_UNIQUE: ("北京市网格编码标准（DB11）", "Beijing grid code standard (DB11)"),
    Rule.CODE_ORDER: (
        "北京市网格编码标准（DB11）：自西向东、自北向南编号",
        "Beijing grid code standard (DB11): numbered west → east, north → south",
    ),
    Rule.PARTY_ORGANIZATION: (
        "“每个网格都有党组织、每名党员都在网格中”",
        "“a party organization in every grid, every member in a grid”",
    ),
    Rule.OWN_BRANCH: (
        "中国共产党章程第三十条；中国共产党支部工作条例（试行）第五条",
        "CPC Constitution art. 30; Regulations on Party Branches (2018) art. 5",
    ),
    Rule.JOINT_BRANCH_UNITS: ("中国共产党支部工作条例（试行）第五条", "Regulations on Party Branches (2018) art. 5"),
    Rule.JOINT_BRANCH_ADJACENT: (
        "中国共产党支部工作条例（试行）第五条（邻近单位）",
        "Regulations on Party Branches (2018) art. 5 (neighbouring units)",
    ),
    Rule.JOINT_BRANCH_FULL_MEMBERS: (
        "中国共产党章程第三十条；中国共产党支部工作条例（试行）第五条",
        "CPC Constitution art. 30; Regulations on Party Branches (2018) art. 5",
    ),
    Rule.BRANCH_MEMBERS: ("中国共产党支部工作条例（试行）第五条", "Regulations on Party Branches (2018) art. 5"),
    Rule.BRANCH_COMMITTEE: ("中国共产党支部工作条例（试行）", "Regulations on Party Branches (2018)"),
    Rule.SERVICE_CIRCLE: (
        "GB 50180-2018；完整居住社区建设指南（15 分钟生活圈）",
        "GB 50180-2018; complete residential community guide (15-minute circle)",
    ),
}

#: What a planner reads of a failure, by rule, filled with its figures (``value``, ``limit`` and the rule's own).
RULE_MESSAGES: dict[str, tuple[str, str]] = {
    Rule.ONE_COMMUNITY: ("网格跨 {value:.0f} 个社区", "the grid reaches into {value:.0f} communities"),
    Rule.GAP: (
        "{value:,.0f} 平方米不在任何网格内（{households:.0f} 户）",
        "{value:,.0f} m² in no grid ({households:.0f} households)",
    ),
    Rule.OVERLAP: ("网格 {grids} 重叠 {value:,.0f} 平方米", "grids {grids} overlap by {value:,.0f} m²"),
    Rule.CONTIGUITY: ("网格分成 {value:.0f} 块", "the grid is in {value:.0f} pieces"),
    Rule.ENCLAVE: (
        "网格被网格 {other} 完全包围（共享边界占 {value:.0%}）",
        "the grid is wholly enclosed by grid {other} ({value:.0%} of its boundary)",
    ),
    Rule.HOUSEHOLDS: (
        "{value:.0f} 户，超出 {floor:.0f}–{ceiling:.0f} 户",
        "{value:.0f} households, outside {floor:.0f}–{ceiling:.0f}",
    ),
    Rule.URBAN_GUIDANCE: (
        "{value:.0f} 户，不在 {floor:.0f}–{ceiling:.0f} 户之间",
        "{value:.0f} households, outside {floor:.0f}–{ceiling:.0f}",
    ),
    Rule.RESIDENTS: ("{value:,.0f} 人，超过 {limit:,.0f} 人", "{value:,.0f} residents, above {limit:,.0f}"),
    Rule.CODE_FORMAT: ("编码 {code} 不是 {limit:.0f} 位数字{prefix}", "code {code} is not {limit:.0f} digits{prefix}"),
    Rule.CODE_UNIQUE: (
        "编码 {code} 由 {value:.0f} 个网格共用：{grids}",
        "code {code} is held by {value:.0f} grids: {grids}",
    ),
    Rule.CODE_ORDER: (
        "序号 {serial} 不符合自西向东、自北向南的顺序（位于第 {value:.0f} 位，应在 {before} 与 {after} 之间）",
        "serial {serial} is out of west → east, north → south order (at position {value:.0f}, "
        "should lie between {before} and {after})",
    ),
    Rule.PARTY_ORGANIZATION: (
        "网格没有党组织（{value:.0f} 名正式党员）",
        "the grid has no party organization ({value:.0f} full members)",
    ),
    Rule.OWN_BRANCH: (
        "有 {value:.0f} 名正式党员，应单独建党支部，实为 {branch}",
        "{value:.0f} full members: its own branch is due, it is in {branch}",
    ),
    Rule.JOINT_BRANCH_UNITS: (
        "联合党支部 {branch} 覆盖 {value:.0f} 个网格，超过 {limit:.0f} 个",
        "joint branch {branch} covers {value:.0f} grids, more than {limit:.0f}",
    ),
    Rule.JOINT_BRANCH_ADJACENT: (
        "联合党支部 {branch} 的网格分成 {value:.0f} 块，不相邻",
        "joint branch {branch}: its grids form {value:.0f} groups, not adjacent",
    ),
    Rule.JOINT_BRANCH_FULL_MEMBERS: (
        "联合党支部 {branch} 只有 {value:.0f} 名正式党员",
        "joint branch {branch} has only {value:.0f} full members",
    ),
    Rule.BRANCH_MEMBERS: (
        "党支部 {branch} 有 {value:.0f} 名党员，超过 {limit:.0f} 人：宜设党总支（100 人以上设党委）",
        "branch {branch} has {value:.0f} members, more than {limit:.0f}: a general branch is due (a committee above 100)",
    ),
    Rule.SERVICE_CIRCLE: (
        "{value:.0f} 户在 {radius:.0f} 米步行服务圈外（{buildings:.0f} 栋楼）",
        "{value:.0f} households outside the {radius:.0f} m walking circle ({buildings:.0f} buildings)",
    ),
}

_BOUNDS = (
    "{households:.0f} 户，超出 {floor:.0f}–{ceiling:.0f} 户：",
    "{households:.0f} households, outside {floor:.0f}–{ceiling:.0f}: ",
)
_COUNT = ("要求 {asked:,} 个网格，实际 {reached:,} 个：", "asked {asked:,} grids; {reached:,} reached: ")
_RADIUS = ("服务半径 {radius:.0f} 米，超过 {limit:.0f} 米：", "service radius {radius:.0f} m exceeds {limit:.0f} m: ")
#: What a planner reads of a warning, by (code, reason), filled with the warning's figures.
WARNINGS: dict[tuple[str, str], tuple[str, str]] = {
    (WarningCode.OVERSIZE_UNIT, WarningReason.NONE): (
        "{unit}有 {households:.0f} 户，超过上限 {ceiling:.0f} 户且不可分割：单独成为一个网格",
        "{unit} of {households:.0f} households exceeds the ceiling {ceiling:.0f} and must stay whole: it is a grid of its own",
    ),
    (WarningCode.BELOW_FLOOR, WarningReason.NONE): (
        "一块孤立区域只有 {households:.0f} 户（低于下限 {floor:.0f} 户），单独成为一个网格",
        "an isolated part of {households:.0f} households (below the floor {floor:.0f}) is a grid of its own",
    ),
    (WarningCode.BELOW_FLOOR, WarningReason.NO_HOUSEHOLDS): (
        "一块没有住户的区域（{area_m2:,.0f} 平方米）单独成为一个网格，不配网格员",
        "a part without households ({area_m2:,.0f} m²) is a grid of its own, with no grid worker",
    ),
    (WarningCode.OUT_OF_BOUNDS, WarningReason.UNIT_MISFIT): (
        _BOUNDS[0] + "已证明任何划分中它都超出范围：其中一个不可分单元与任何相连单元组合都无法落入该范围"
        "（{method}，证明 {certificate}）；{excess}",
        _BOUNDS[1] + "proven that every layout leaves it outside them: one of its units fits no connected group of "
        "units within them ({method}, certificate {certificate}); {excess}",
    ),
    (WarningCode.OUT_OF_BOUNDS, WarningReason.REGION_PROVEN): (
        _BOUNDS[0] + "已证明（{method}，证明 {certificate}）：这些街巷和障碍之间的单元，{scope}，超出范围的网格"
        "都不少于 {fewest} 个（未证明超出的户数已最少）",
        _BOUNDS[1] + "proven ({method}, certificate {certificate}) for the units between these streets and barriers: "
        "{scope}, none has fewer than {fewest} outside them (not proven: that they lie no nearer them)",
    ),
    (WarningCode.OUT_OF_BOUNDS, WarningReason.NEIGHBOURHOOD_PROVEN): (
        _BOUNDS[0] + "未证明整个区域无解，但已证明（{method}，证明 {certificate}）：它与周边 {grids} 个网格的单元"
        "（更外围的网格不变），{scope}，超出范围的网格都不少于 {fewest} 个（未证明超出的户数已最少）",
        _BOUNDS[1] + "not proven for the whole region, but proven ({method}, certificate {certificate}) for the units "
        "of it and the {grids} grids around it (those beyond kept as they are): {scope}, none has fewer "
        "than {fewest} outside them (not proven: that they lie no nearer them)",
    ),
    (WarningCode.OUT_OF_BOUNDS, WarningReason.UNITS_TOO_COARSE): (
        _BOUNDS[0] + "未证明：与相邻网格重新划分和精确重划均未找到范围内的方案（{stopped}）",
        _BOUNDS[1] + "not proven: re-splits with its neighbours and the exact re-split found no layout within them "
        "({stopped})",
    ),
    (WarningCode.OUT_OF_BOUNDS, WarningReason.REGENERATION_LIMIT): (
        _BOUNDS[0] + "未证明：重新生成在不调整更多网格的情况下未找到范围内的方案（{stopped}）",
        _BOUNDS[1] + "not proven: regeneration found no layout within them without moving more grids ({stopped})",
    ),
    (WarningCode.OUT_OF_BOUNDS, WarningReason.REGION_INDIVISIBLE): (
        "一块区域共 {households:.0f} 户，无法划分为 {floor:.0f}–{ceiling:.0f} 户的网格",
        "a region of {households:.0f} households fits no layout within the bounds ({floor:.0f}–{ceiling:.0f})",
    ),
    (WarningCode.OUT_OF_BOUNDS, WarningReason.FIXED_COUNT): (
        _BOUNDS[0] + "本社区的网格数由用户指定",
        _BOUNDS[1] + "the number of grids of its community was fixed by the user",
    ),
    (WarningCode.GRID_COUNT, WarningReason.FEW_UNITS): (
        _COUNT[0] + "网格由完整的单元（街区、楼栋地块、小区）组成，本社区有住户的单元只有 {most:,} 个，"
        "最多只能划出 {most:,} 个有住户的网格",
        _COUNT[1] + "grids are made of whole units (street blocks, building cells, compounds) and the community's "
        "households are in {most:,} of them, so at most {most:,} grids can hold households",
    ),
    (WarningCode.GRID_COUNT, WarningReason.PARTS): (
        _COUNT[0] + "本社区被河流、铁路或专属网格分成 {parts} 块分别划分，每块至少一个网格",
        _COUNT[1] + "the community is planned in {parts} parts apart (split by rivers, railways or special sites), "
        "each of at least one grid",
    ),
    (WarningCode.GRID_COUNT, WarningReason.NO_CONNECTED_CUT): (
        _COUNT[0] + "未找到划分为 {asked:,} 个由完整单元组成、各自连通且都有住户的网格的方案"
        "（有住户的单元 {most:,} 个，分 {parts} 块分别划分）",
        _COUNT[1] + "no cut into {asked:,} connected grids of whole units, each with households, was found "
        "({most:,} units with households, in {parts} parts planned apart)",
    ),
    (WarningCode.OVER_RADIUS, WarningReason.UNIT_SPANS): (
        _RADIUS[0] + "已证明（{method}，证明 {certificate}）：其中一个不可分单元本身跨度 {span:.0f} 米",
        _RADIUS[1]
        + "proven ({method}, certificate {certificate}): one of its indivisible units alone spans {span:.0f} m",
    ),
    (WarningCode.OVER_RADIUS, WarningReason.NO_SHORTER_SPLIT): (
        _RADIUS[0] + "未证明：在户数范围内与一个相邻网格重新划分的尝试均未缩短它",
        _RADIUS[1] + "not proven: the re-splits with one neighbouring grid inside the bounds that were tried did not "
        "shorten it",
    ),
    (WarningCode.OUT_OF_BOUNDS, WarningReason.HAND_EDITED): (
        _BOUNDS[0] + "未证明：方案经人工编辑（{stopped}）",
        _BOUNDS[1] + "not proven: the plan was edited by hand ({stopped})",
    ),
    (WarningCode.OVER_RADIUS, WarningReason.HAND_EDITED): (
        _RADIUS[0] + "未证明：方案经人工编辑，未重新搜索",
        _RADIUS[1] + "not proven: the plan was edited by hand and not searched again",
    ),
    (WarningCode.OVER_RADIUS, WarningReason.REGENERATION_BOUNDS_ONLY): (
        _RADIUS[0] + "重新生成只调整超出户数范围的网格",
        _RADIUS[1] + "regeneration re-plans only grids that break the household bounds",
    ),
}

#: What a check searched and why it stopped, by :class:`CheckStop`, filled with its figures (``method`` its label).
CHECKS: dict[str, tuple[str, str]] = {
    CheckStop.EXHAUSTED: (
        "{method}：{units} 个单元，{searched:,} {what}全部检查，没有反例",
        "{method} over {units} units: all {searched:,} {what} searched, none contradicts it",
    ),
    CheckStop.FOUND: ("{method}：{units} 个单元，找到反例", "{method} over {units} units: a counter-example"),
    CheckStop.INFEASIBLE: (
        "{method}：{units} 个单元、{variables:,} 个变量，{seconds:.1f} 秒证明没有反例",
        "{method} over {units} units, {variables:,} variables: no counter-example exists (proved in {seconds:.1f} s)",
    ),
    CheckStop.TIME_LIMIT: (
        "{method}：{units} 个单元、{variables:,} 个变量，{limit:g} 秒时限内未能判定",
        "{method} over {units} units, {variables:,} variables: undecided within the time limit of {limit:g} s",
    ),
    CheckStop.TOO_LARGE: (
        "规模过大：{size:,} {what}（上限 {most:,}），未能判定",
        "too large: {size:,} {what} (at most {most:,}): undecided",
    ),
    CheckStop.BAD_LOADS: ("户数不是非负整数，未检查", "fractional loads (or negative): not checked"),
    CheckStop.SOLVER_FAILED: (
        "{method}：求解失败（{message}），未能判定",
        "{method}: the solver failed ({message}): undecided",
    ),
}
#: What a check enumerated (the ``what`` of :data:`CHECKS`).
SEARCHED: dict[str, tuple[str, str]] = {
    "groups": ("个相连单元组", "connected groups"),
    "layouts": ("个部分划分", "partial layouts"),
    "inhabited_layouts": (
        "个有户单元的部分划分（无户单元只作连接）",
        "partial layouts of the inhabited units (empty ones only joining them)",
    ),
    "variables": ("个变量", "variables"),
}

#: Column headers of the tables people read (CSV, XLSX, popups), by language.
COLUMNS: dict[str, tuple[str, str]] = {
    "grid_id": ("网格编号", "Grid"),
    "code": ("网格编码", "Grid code"),
    "community_id": ("社区", "Community"),
    "area_id": ("一级网格", "Area"),
    "name": ("名称", "Name"),
    "kind": ("类型", "Kind"),
    "households": ("户数", "Households"),
    "households_estimated": ("估算户数", "Households estimated"),
    "workload": ("工作量", "Workload"),
    "buildings": ("楼栋数", "Buildings"),
    "service_radius_m": ("服务半径（米）", "Service radius (m)"),
    "grid_worker": ("网格员", "Grid worker"),
    "deviation_pct": ("偏离目标（%）", "Deviation from target (%)"),
    "households_source": ("户数来源", "Households from"),
    "within_bounds": ("户数在 {floor:g}–{ceiling:g} 之间", "Within {floor:g}–{ceiling:g} households"),
    "full_members": ("正式党员", "Full members"),
    "probationary_members": ("预备党员", "Probationary members"),
    "party_members": ("党员（正式 + 预备）", "Party members (full + probationary)"),
    "branch_status": ("党组织状态", "Party organization"),
    "branch_id": ("所属党支部", "Branch"),
    "coverage_share": ("服务圈覆盖户数占比", "Households within a service circle"),
    "blind_spot_buildings": ("盲区楼栋", "Blind-spot buildings"),
    "blind_spot_households": ("盲区户数", "Blind-spot households"),
    "nearest_service_m": ("最近站点步行距离（米）", "Walk to nearest service point (m)"),
    "network_reach": ("道路可达性", "Network reach"),
    "data_source": ("数据来源", "Data source"),
    "rule": ("规则", "Rule"),
    "severity": ("性质", "Severity"),
    "value": ("实际值", "Value"),
    "limit": ("限值", "Limit"),
    "source": ("依据", "Source"),
    "message": ("说明", "Message"),
    "failure_id": ("问题编号", "Finding"),
    "start_version": ("启用版本", "First version"),
    "end_version": ("停用前最后版本", "Last version in use"),
}

#: The inputs of a scene, as a person names them (which ones were generated, in data sources).
INPUTS: dict[str, tuple[str, str]] = {
    "communities": ("社区边界", "community boundaries"),
    "buildings": ("楼栋", "buildings"),
    "households": ("户数", "households"),
    "streets": ("街巷", "streets"),
    "barriers": ("河流铁路", "rivers and railways"),
    "party_members": ("党员名册", "party member roll"),
    "party_orgs": ("党组织", "party organizations"),
    "service_points": ("服务站点", "service points"),
    "compounds": ("小区", "compounds"),
    "pois": ("兴趣点", "points of interest"),
}

#: Words used around the labels.
WORDS: dict[str, tuple[str, str]] = {
    # separators and brackets of running text
    "comma": ("，", ", "),
    "list_separator": ("、", ", "),
    "bracketed": ("（{text}）", " ({text})"),
    "semicolon": ("；", "; "),
    # a layer's coordinate system found by its evidence (:mod:`gridplan.core.alignment`)
    "offset": ("向{bearing} {metres:.0f} 米", "{metres:.0f} m {bearing}"),
    "evidence": ("（测量 {count:,} 个；{measure}：{readings}）", " ({count:,} measured; {measure}: {readings})"),
    "in_the_system": (
        "{subject}与{reference}坐标系一致{evidence}",
        "{subject}: in the system of {reference}{evidence}",
    ),
    "moved_onto": (
        "{subject}按 {system} 读取，{offset}，与{reference}对齐{evidence}",
        "{subject}: read as {system} and moved {offset} onto {reference}{evidence}",
    ),
    # an OpenStreetMap import's summary (:mod:`gridplan.io.osm`)
    "osm_layer": ("{name}：读取 {read}，保留 {kept}", "{name}: read {read}, kept {kept}"),
    "osm_repaired": ("，修复 {n}", ", repaired {n}"),
    "osm_dropped": ("；舍去 ", "; dropped "),
    "osm_drop": ("{n}（{reason}）", "{n} {reason}"),
    # a register's import (:mod:`gridplan.prepare.register`)
    "register_households": ("住户登记", "households register"),
    "register_members": ("党员名册", "members register"),
    "register_rows": (
        "{kind}：{c[rows]:,} 行，匹配 {matched:,} 行（按楼栋编号 {c[id]:,}，按坐标 {c[coordinate]:,}，按地址 "
        "{c[address]:,}；其中低置信度 {c[low_confidence]:,}），未匹配 {c[unmatched]:,} 行",
        "{kind}: {c[rows]:,} rows: {matched:,} matched ({c[id]:,} by building id, {c[coordinate]:,} by "
        "coordinate, {c[address]:,} by address; {c[low_confidence]:,} of low confidence), {c[unmatched]:,} "
        "unmatched",
    ),
    "register_unmatched": ("  未匹配，{reason}：{n:,}", "  unmatched, {reason}: {n:,}"),
    "register_coords": ("  未注明坐标系的坐标：{systems}", "  coordinates without a system: {systems}"),
    "register_buildings_without_rows": ("  没有登记行的建筑：{n:,} 栋", "  buildings without rows: {n:,}"),
    "register_households_line": (
        "  登记户数：{total:,} 户，{registered:,} 栋建筑；其余 {estimated:,} 栋沿用估算户数（规划时标为估算）",
        "  households registered: {total:,} in {registered:,} buildings; {estimated:,} buildings "
        "keep an estimate (flagged households_estimated when planned)",
    ),
    "register_dropped": (
        "  未读取的列（个人信息从不导入）：{columns}",
        "  columns not read (personal data is never imported): {columns}",
    ),
    "register_reason_rows": ("{n:,} 行{reason}", "{n:,} {reason}"),
    "register_no_known_columns": ("没有 gridplan 认识的列", "none gridplan knows"),
    "register_nothing_joined": (
        "{register}的 {rows:,} 行都无法对应到建筑（匹配 0 行；{said}）：请检查读取的列（{columns}）以及 "
        "--map-column、--encoding 和 --register-coords 选项",
        "none of the {kind} register's {rows:,} rows could be joined to a building (0 matched; "
        "{said}): check the columns read ({columns}) and the --map-column, --encoding and "
        "--register-coords options",
    ),
    # a scene's validation (:mod:`gridplan.prepare.validate`)
    "validation_headline": (
        "数据检查：错误 {e} 项，警告 {w} 项，修复 {r} 项（详见 gridplan validate，或方案文件的 scene_findings 图层）",
        "scene check: {errors}, {warnings}, {repairs}",
    ),
    "validation_head": (
        "场景检查：错误 {e} 项，警告 {w} 项，修复 {r} 项",
        "scene check (场景检查): {errors}, {warnings}, {repairs}",
    ),
    "counts_in": ("输入", "in"),
    "counts_out": ("输出", "out"),
    "counts_excluded": ("排除", "excluded"),
    "errors": ("错误", "errors"),
    "warnings": ("警告", "warnings"),
    "repairs": ("修复", "repairs"),
    "and_more": (" 等，另有 {n:,} 个", " and {n:,} more"),
    # what the command line prints (:mod:`gridplan.cli`)
    "written": ("已写入：", "written: "),
    "the_plan": ("方案", "the plan"),
    "the_previous_plan": ("上一方案", "the previous plan"),
    "settings_none_recorded": (
        "{plan}未记录设置（无 provenance 图层），使用默认设置",
        "{plan} records none (no provenance layer), so the defaults",
    ),
    "settings_of_plan": ("沿用{plan}的设置", "{plan}'s"),
    "given_on_the_command_line": ("命令行指定", "given on the command line"),
    "settings_line": (
        "设置：{whose}（目标 {g.target:.0f} 户，±{g.tolerance:.0%}：{g.floor:.0f}–{g.ceiling:.0f} 户）",
        "settings: {whose} (target {g.target:.0f}, ±{g.tolerance:.0%}: {g.floor:.0f}–{g.ceiling:.0f} households)",
    ),
    "map_written": ("地图：{path}", "map: {path}"),
    "scene_written": ("场景已写入 {path}", "scene written to {path}"),
    "demo_data": ("示例数据：{name}（{attribution}）", "demo data: {name} ({attribution})"),
    "crowded_labels": (
        "{name}: 有 {count} 个网格编码无处避让，以小字重叠标注（表中均有）",
        "{name}: {count} grid labels found no clear place and overlap, set small (every code is in the table)",
    ),
    "audit_worst": (
        "    {grid}：{households} 户（{deviation:+.0%}），服务半径 {radius:.0f} 米",
        "    {grid}: {households} households ({deviation:+.0%}), radius {radius:.0f} m",
    ),
    "verification_line": (
        "证明核验：{checks} 项已证明的结论，{held} 项成立，{refuted} 项被推翻，{undecided} 项未能判定；"
        "另有 {not_proven} 项未证明（仅为搜索所得最优）",
        "verification: {checks} proven claims, {held} hold, {refuted} refuted, {undecided} undecided; "
        "{not_proven} more not proven (best found)",
    ),
    "levels_line": (
        "层级：{areas} 个一级网格，{micro} 个微网格；{outside} 个不在 {low:.0f}–{high:.0f} 户之间，其中 {proven} 个经证明无法避免"
        "（{oversize} 栋楼超过 {high:.0f} 户，各为一个微网格）",
        "levels: {areas} areas, {micro} micro-grids; {outside} outside {low:.0f}–{high:.0f} households, {proven} of "
        "them proven unavoidable ({oversize} buildings above {high:.0f} households are micro-grids of their own)",
    ),
    "unlinked": ("；未联户 {households} 户（{reason}）", "; unlinked {households} ({reason})"),
    "claims_line": (
        "证明：{proven} 项已证明（独立核验成立 {held} 项，未能判定 {undecided} 项），{unproven} 项未证明（见 certificates 图层）",
        "claims: {proven} proven ({held} hold under an independent check, {undecided} undecided), {unproven} not "
        "proven (see the certificates layer)",
    ),
    "regenerated_from": (
        "由 {previous} 重新生成：{kept:.1%} 的楼栋保持原网格；{changed} 栋楼有变化；网格 {grids}",
        "regenerated from {previous}: {kept:.1%} of buildings kept their grid; {changed} buildings changed; "
        "grids {grids}",
    ),
    "edited_from": (
        "由 {previous} 人工编辑：{kept:.1%} 的楼栋保持原网格；{changed} 栋楼有变化；网格 {grids}",
        "edited by hand from {previous}: {kept:.1%} of buildings kept their grid; {changed} buildings changed; "
        "grids {grids}",
    ),
    "moved_for": (
        "调整原因 {reason}：{buildings} 栋楼，{households} 户",
        "moved for {reason}: {buildings} buildings, {households} households",
    ),
    "tradeoff_head": (
        "方案对比：保持原网格 / ±10% 内 / ±20% 内 / 调整户数",
        "trade-off: kept in their grid / within ±10% / within ±20% / households moved",
    ),
    "layout_keep": ("只保留", "keep only"),
    "layout_rebalanced": ("再平衡", "rebalanced"),
    "layout_regenerated": ("重新生成", "regenerated"),
    "layout_fresh": ("全新方案", "fresh plan"),
    "colon": ("：", ": "),
    # an audit's problems of a grid (:mod:`gridplan.engine.audit`)
    "audit_above_ceiling": ("超过上限 {ceiling:.0f} 户", "above the ceiling {ceiling:.0f}"),
    "audit_below_floor": ("低于下限 {floor:.0f} 户", "below the floor {floor:.0f}"),
    "service_radius": ("服务半径 {metres:.0f} 米", "service radius {metres:.0f} m"),
    "pieces": ("分成 {n} 块", "{n} pieces"),
    "spans_communities": ("跨 {n} 个社区", "spans {n} communities"),
    "split_buildings": ("切开建筑 {n} 栋", "{n} split buildings"),
    # imports
    "register_empty": ("{register}没有数据行：无可导入", "the {kind} register has no data rows: nothing to import"),
    "as_read": ("按原样", "as read"),
    "derived_boundary": ("，社区由建筑范围生成", ", community derived from buildings"),
    "coordinates": ("坐标系：{systems}", "coordinates: {systems}"),
    # summaries (:mod:`gridplan.core.results`)
    "warnings_count": ("{n} 条提示：", "{n} warnings:"),
    "warnings_more": ("…另有 {n} 条（方案文件的 warnings 图层）", "… and {n} more (layer 'warnings' in the plan file)"),
    "generated_inputs": ("生成的模拟数据（非登记记录）：", "GENERATED scenario data (seeded), not records: "),
    "rebalance_capped": (
        "再平衡达到调整上限（{cap:,.0f} 户）：仍有网格可通过更多调整回到 ±10% 内",
        "rebalancing stopped at the cap of {cap:,.0f} households moved: more moves would bring more grids within ±10%",
    ),
    "walk_circle": (
        "{radius:.0f} 米步行圈：{covered:,.0f} 户（{share:.1%}）",
        "within {radius:.0f} m walk: {covered:,.0f} households ({share:.1%})",
    ),
    "blind_spots": (
        "服务盲区：{buildings} 栋楼 {households:,.0f} 户；最远的步行 {farthest:,.0f} 米；{off} 栋楼无路可达服务站点",
        "blind spots: {buildings} buildings, {households:,.0f} households; the farthest walks {farthest:,.0f} m; "
        "{off} buildings have no walk to any service point",
    ),
    "optimal": ("（最优）", " (optimal)"),
    "siting": (
        "新增服务站点（{radius:.0f} 米）：要求 {asked:,} 个，选定 {placed:,} 个，精确解多覆盖 {covered:,.0f} 户{optimal}，"
        "贪心解 {greedy:,.0f} 户",
        "new service points ({radius:.0f} m): asked {asked:,}, placed {placed:,}; exact covers {covered:,.0f} more "
        "households{optimal}, greedy {greedy:,.0f}",
    ),
    "siting_time_limit": (
        "；在求解时限内只找到 {placed:,} 个有增益的站点",
        "; only {placed:,} sites adding households were found within the time limit",
    ),
    "siting_all_reached": (
        "；{placed:,} 个已覆盖 {radius:.0f} 米步行圈外任一候选站点可达的全部 {reachable:,.0f} 户，再多也不能多覆盖一户",
        "; {placed:,} already cover all {reachable:,.0f} households outside the {radius:.0f} m walk that "
        "a candidate site reaches: more would cover no one more",
    ),
    "siting_beyond": (
        "（其余 {others:,.0f} 户距所有候选站点的步行距离都超过 {radius:.0f} 米）",
        " (the other {others:,.0f} are beyond a {radius:.0f} m walk of every candidate site)",
    ),
    "generated": ("生成的模拟数据", "generated scenario data"),
    # what a whole plan's households are (see household_statement)
    "how_estimated": ("占地面积 × 层数 ÷ {size:g} 平方米", "footprint × floors ÷ {size:g} m²"),
    "all_registered": ("户数全部为登记", "households all registered"),
    "all_estimated": ("户数全部为估算（{how}）", "households all estimated ({how})"),
    "some_estimated": (
        "{estimated:,} 户为估算（占 {share:.0%}，{how}），{registered:,} 户为登记",
        "{estimated:,} households estimated ({share:.0%}; {how}), {registered:,} registered",
    ),
    # a grid's place against the bounds (the within_bounds column), where it is not simply yes or no
    "no_bounds": ("专属网格，不设户数范围", "special grid: no bounds"),
    "grid_worker": ("网格员 {n}", "Grid worker {n}"),
    "single_building": ("单栋楼，无服务半径", "one building, no radius"),
    # the headers of a plan's warnings table (in QGIS)
    "warning_code": ("警告类型", "Warning"),
    "warning_reason": ("原因", "Reason"),
    "warning_figures": ("数据（JSON）", "Figures (JSON)"),
    "warning_message": ("说明", "Message"),
    # the scope of a region proof
    "scope_any": ("在所有划分中", "among all the layouts"),
    "scope_cap": (
        "在超出范围的网格均不超过 {cap:.0f} 户的所有划分中",
        "among the layouts in which every grid outside the bounds holds at most {cap:.0f}",
    ),
    # how far outside the bounds a grid holding a misfit unit must be (certificate's scope)
    "excess_covered": (
        "且任何划分中该单元所在网格都不多于 {below:.0f} 户或不少于 {above:.0f} 户：本网格已最接近范围",
        "in every layout the unit's grid holds at most {below:.0f} or at least {above:.0f}: this grid is as "
        "near the bounds as any layout allows",
    ),
    "excess_open": (
        "已证明该单元所在网格不多于 {below:.0f} 户或不少于 {above:.0f} 户，未证明本网格不能更接近范围",
        "proven that the unit's grid holds at most {below:.0f} or at least {above:.0f}; not proven that this "
        "grid cannot be nearer the bounds",
    ),
    # a grid code's community code, where a code must start with it (compliance check)
    "code_prefix": ("，且应以社区编码 {base} 开头", ", starting with its community's code {base}"),
    "grid_leader": ("社区党组织书记（{community}）", "Community party secretary ({community})"),
    # a plan's version (方案版本) in its summary
    "plan_version": ("版本 {version}", "plan version {version}"),
    "version_parent": ("上一版 {fingerprint}…", "after plan {fingerprint}…"),
    "effective_date": ("生效日期 {value}", "effective {value}"),
    "author": ("编制 {value}", "by {value}"),
    "note": ("说明：{value}", "note: {value}"),
    # classes of a grid's households against the bounds, in a map's legend
    "below_floor": ("少于 {floor:g} 户（低于下限）", "under {floor:g} households (below the floor)"),
    "under_target": ("{floor:g}–{low:g} 户", "{floor:g}–{low:g} households"),
    "near_target": (
        "{low:g}–{high:g} 户（目标 {target:g} 户 ±{tight:.0%}）",
        "{low:g}–{high:g} households (target {target:g} ±{tight:.0%})",
    ),
    "over_target": ("{high:g}–{ceiling:g} 户", "{high:g}–{ceiling:g} households"),
    "above_ceiling": ("多于 {ceiling:g} 户（超过上限）", "over {ceiling:g} households (above the ceiling)"),
    "editor_opened": (
        "已打开方案 {plan} 进行编辑（日志 {journal}，已恢复 {edits} 次编辑）",
        "plan {plan} opened for editing (journal {journal}, {edits} edits replayed)",
    ),
    "editor_serving": (
        "编辑器地址：{url}（保存写入 {output}；按 Ctrl-C 结束）",
        "editor at {url} (saving writes {output}; Ctrl-C to stop)",
    ),
}

#: The words of a comparison of two plans and its approval package (:mod:`gridplan.review.compare`,
#: :mod:`gridplan.outputs.approval`): column headers, figures and titles.
COMPARISON: dict[str, tuple[str, str]] = {
    # columns
    "side": ("方案", "Plan"),
    "grid_id": ("网格编号", "Grid"),
    "code": ("网格编码", "Grid code"),
    "community_id": ("社区", "Community"),
    "kind": ("类型", "Kind"),
    "households": ("户数", "Households"),
    "buildings": ("楼栋数", "Buildings"),
    "service_radius_m": ("服务半径（米）", "Service radius (m)"),
    "change": ("变化", "Change"),
    "continues": ("延续的网格", "Persists as"),
    "related": ("涉及的网格", "Grids sharing buildings"),
    "households_shared": ("共有户数", "Households shared"),
    "building_id": ("楼栋编号", "Building"),
    "households_before": ("原户数", "Households before"),
    "old_grid_id": ("原网格编号", "Old grid"),
    "old_code": ("原网格编码", "Old grid code"),
    "new_grid_id": ("新网格编号", "New grid"),
    "new_code": ("新网格编码", "New grid code"),
    "reason": ("调整原因", "Reason"),
    "figure": ("指标", "Figure"),
    "old": ("原方案", "Old plan"),
    "new": ("新方案", "New plan"),
    "difference": ("变化量", "Difference"),
    # figures per community
    "grids": ("网格数", "Grids"),
    "ordinary_grids": ("综合网格数", "Ordinary grids"),
    "within_tight": ("±{tight:.0%} 以内的综合网格占比", "Ordinary grids within ±{tight:.0%}"),
    "within_bounds": ("±{tolerance:.0%} 以内的综合网格占比", "Ordinary grids within ±{tolerance:.0%}"),
    "street_alignment": ("沿街巷边界占比", "Boundary along streets"),
    "service_radius_mean": ("平均服务半径（米）", "Service radius, mean (m)"),
    "service_radius_max": ("最大服务半径（米）", "Service radius, max (m)"),
    "grids_unchanged": ("未变的网格", "Grids unchanged"),
    "grids_boundary_changed": ("边界调整的网格", "Grids with boundary changed"),
    "grids_split": ("拆分的网格", "Grids split"),
    "grids_merged": ("合并的网格", "Grids merged"),
    "grids_new": ("新增的网格", "New grids"),
    "grids_retired": ("撤销的网格", "Grids retired"),
    "buildings_moved": ("调整网格的楼栋", "Buildings moved"),
    "households_moved": ("调整网格的户数", "Households moved"),
    "buildings_new": ("新增楼栋", "New buildings"),
    "buildings_removed": ("移除楼栋", "Buildings removed"),
    "grids_own_branch": ("建有独立党支部的网格占比", "Grids with their own party branch"),
    "grids_in_branch": ("建有党支部（含联合党支部）的网格占比", "Grids in a party branch (own or joint)"),
    "households_in_circle": ("15 分钟生活圈内的户数占比", "Households within the 15-minute circle"),
    # the workbook's sheets, the approval form and the change map
    "sheet_summary": ("社区汇总", "Summary"),
    "sheet_grids": ("网格变化", "Grid changes"),
    "sheet_realignment": ("调整明细", "Realignment"),
    "approval_title": ("网格调整审批表", "Grid adjustment approval form"),
    "approval_community": ("社区：{name}", "Community: {name}"),
    "approval_figures": ("调整前后", "Before and after"),
    "approval_grids_before": ("调整前网格", "Grids before"),
    "approval_grids_after": ("调整后网格", "Grids after"),
    "approval_moved": ("调整的楼栋与户数", "Buildings and households moved"),
    "approval_none_moved": ("无楼栋调整网格", "No building changes grid"),
    "approval_totals": (
        "调整 {buildings:,} 栋楼、{households:,} 户；新增楼栋 {new:,} 栋，移除 {removed:,} 栋",
        "{buildings:,} buildings and {households:,} households moved; {new:,} buildings new, {removed:,} removed",
    ),
    "approval_applicant": ("申报单位（社区）：", "Submitted by (community):"),
    "approval_opinion": ("街道审核意见：", "Street office's opinion:"),
    "approval_signature": ("负责人签字：　　　　　　日期：", "Signed:                    Date:"),
    "approval_continued": ("（续）", "(continued)"),
    "map_old": ("原网格边界（虚线）", "Old grid boundaries (dashed)"),
    "map_moved": ("调整网格的楼栋", "Buildings moved"),
}


def comparison_word(key: str, lang: str = "zh", **fields) -> str:
    """One of the :data:`COMPARISON` words in ``lang``, filled in."""
    return COMPARISON[key][LANGUAGES.index(check_language(lang))].format(**fields)


def check_language(lang: str) -> str:
    """``lang`` if gridplan speaks it, else a :class:`~gridplan.errors.InputError`."""
    if lang not in LANGUAGES:
        raise InputError(
            f"unknown language {lang!r}: use zh or en", zh=f"未知的语言 {lang!r}：可选 zh（中文）或 en（英文）"
        )
    return lang


def label(term: StrEnum | str | None, lang: str = "zh") -> str:
    """What a person reads for a status, kind or code: ``label(BranchStatus.OWN_BRANCH) == "独立党支部"``.

    A plain string is looked up among the codes of every vocabulary; a value that is none of them is shown
    as it is (data the user brought, such as an organization kind of their own); ``None``/NaN is "—".
    """
    if term is None or (not isinstance(term, str) and pd.isna(term)):
        return "—"
    found = _TERMS.get(term) if isinstance(term, StrEnum) else _BY_CODE.get(str(term))
    if found is None:
        return str(term)
    return found[LANGUAGES.index(check_language(lang))]


def labels(values: pd.Series, lang: str = "zh") -> pd.Series:
    """:func:`label` of every value of a column."""
    return values.map(lambda v: label(v, lang)).astype(object)


def column_label(column: str, lang: str = "zh", **fields) -> str:
    """A table's header in ``lang`` (the column's own name where none is defined), filled in with ``fields``
    (``within_bounds`` names its ``floor`` and ``ceiling``)."""
    found = COLUMNS.get(column)
    return found[LANGUAGES.index(check_language(lang))].format(**fields) if found else column


def input_label(name: str, lang: str = "zh") -> str:
    """An input's name as a person reads it (``"party_members"`` → ``"党员名册"``); unknown names as they are."""
    found = INPUTS.get(name)
    return found[LANGUAGES.index(check_language(lang))] if found else name


def word(key: str, lang: str = "zh", **fields) -> str:
    """One of the :data:`WORDS`, filled in."""
    return WORDS[key][LANGUAGES.index(check_language(lang))].format(**fields)


def bracketed(text: str, lang: str = "zh") -> str:
    """``text`` in brackets as running text has them: full-width in Chinese, after a space in English."""
    return word("bracketed", lang, text=text)


def generated_statement(names, lang: str = "zh") -> str:
    """The inputs of a run that were generated (seeded scenario data), named as :func:`input_label` names them."""
    return word("generated_inputs", lang) + word("list_separator", lang).join(input_label(n, lang) for n in names)


def household_statement(households: int, estimated: int, dwelling_size_m2: float, lang: str = "zh") -> str:
    """What a plan's ``households`` are, of which ``estimated`` are estimates (footprint × floors ÷
    ``dwelling_size_m2``): ``"户数全部为估算（占地面积 × 层数 ÷ 90 平方米）"``, or how many of each."""
    how = word("how_estimated", lang, size=dwelling_size_m2)
    if estimated <= 0:
        return word("all_registered", lang)
    if estimated >= households:
        return word("all_estimated", lang, how=how)
    return word(
        "some_estimated",
        lang,
        estimated=int(estimated),
        share=estimated / households,
        how=how,
        registered=int(households - estimated),
    )


def warning_text(code: str, reason: str, figures: dict, lang: str = "zh") -> str:
    """A warning's message in ``lang`` from its code, reason and figures."""
    template = WARNINGS[(str(code), str(reason))][LANGUAGES.index(check_language(lang))]
    values = dict(figures)
    if "unit" in values:
        values["unit"] = label(values["unit"], lang)
    for name in ("method", "stopped"):  # codes of a claim, read as words
        if name in values:
            values[name] = label(values[name], lang) if values[name] else ""
    if "cap" in values:  # a region proof's scope: every layout, or those whose grids outside hold at most the cap
        values["scope"] = word("scope_any" if math.isinf(values["cap"]) else "scope_cap", lang, cap=values["cap"])
    if "covers_excess" in values:
        values["excess"] = word("excess_covered" if values["covers_excess"] else "excess_open", lang, **values)
    return template.format(**values)


def is_chinese(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph (for checking that an English output has no Chinese label)."""
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# Codes are unique across vocabularies except where two mean the same word ("removed"); either label serves.
_BY_CODE: dict[str, tuple[str, str]] = {}
for _term, _pair in _TERMS.items():
    _BY_CODE.setdefault(_term.value, _pair)

#: The web map's words (:mod:`gridplan.outputs.webmap`): layer names, units, controls.
MAP_WORDS: dict[str, tuple[str, str]] = {
    "grids": ("网格", "Grids"),
    "communities": ("社区边界", "Community boundaries"),
    "buildings": ("楼栋", "Buildings"),
    "legend": ("户数偏离目标 (%)", "Households vs target (%)"),
    "households_unit": ("户", "households"),
    "missing": ("—", "—"),
    "party_orgs": ("党组织", "Party organizations"),
    "service_points": ("服务站点", "Service points"),
    "isochrones": ("步行服务圈", "Walking circles"),
    "blind_spots": ("服务盲区", "Blind spots"),
    "joint_branches": ("联合党支部建议", "Proposed joint branches"),
    "proposed_sites": ("建议新增站点", "Proposed sites"),
    "micro_grids": ("微网格", "Micro-grids"),
    "search": ("按网格编号或名称搜索", "Search grid code or name"),
    "fullscreen": ("全屏", "Full screen"),
    "fullscreen_exit": ("退出全屏", "Exit full screen"),
    "osm": ("OpenStreetMap", "OpenStreetMap"),
    "tianditu": ("天地图", "Tianditu"),
    "tianditu_notes": ("天地图注记", "Tianditu labels"),
    "gaode": ("高德地图", "Gaode"),
    "org_id": ("编号", "Id"),
    "point_id": ("编号", "Id"),
    "radius_m": ("步行距离 (米)", "Walking distance (m)"),
    "building_id": ("楼栋", "Building"),
    "members": ("党员数", "Members"),
    "site_id": ("编号", "Id"),
    "households_covered": ("可覆盖户数", "Households covered"),
    "micro_grid_id": ("微网格", "Micro-grid"),
    "grids_list": ("网格", "Grids"),
    "streets": ("街巷", "Streets"),
    "water": ("水系", "Water"),
    "rail": ("铁路", "Railways"),
    "areas": ("一级网格（片区）", "Areas (first-level grids)"),
    "party_status": ("网格党组织状态", "Party organization of grids"),
    "people_unit": ("人", "people"),
    "metres_unit": ("米", "m"),
    "joint_branch_label": (
        "联合党支部 {branch} · {grids} 个网格 · {members} 名正式党员",
        "Joint branch {branch} · {grids} grids · {members} full members",
    ),
    "failures": ("合规问题", "Compliance failures"),
    "failures_title": ("合规问题 {n} 项（点击定位）", "{n} findings (click to zoom)"),
}

#: The wall map's words (:mod:`gridplan.outputs.wallmap`): titles, legend, scale.
WALL_MAP_WORDS: dict[str, tuple[str, str]] = {
    "office": ("全街道", "Street office"),
    "community": ("社区 {id}", "Community {id}"),
    "separator": ("；", "; "),
    "office_title": ("{name} 网格总图", "{name}: grids of all communities"),
    "community_title": ("{name} 网格图", "{name}: grid map"),
    "continued": ("（续，第 {page} 页）", " (continued, page {page})"),
    "figures": (
        "{communities} 个社区 · {grids} 个网格 · {households:,.0f} 户 · 每格目标 {target:.0f} 户（{floor:.0f}–{ceiling:.0f} 户） · 制图日期 {day}",
        "communities: {communities} · grids: {grids} · households: {households:,.0f} · target {target:.0f} per grid ({floor:.0f}–{ceiling:.0f}) · drawn {day}",
    ),
    "source": ("数据来源：", "Data source: "),
    "legend": ("图例", "Legend"),
    "deviation": ("网格户数偏离目标", "Households against the target"),
    "households_unit": ("户", "households"),
    "grid_boundary": ("网格边界", "Grid boundary"),
    "community_boundary": ("社区边界", "Community boundary"),
    "buildings": ("楼栋", "Buildings"),
    "streets": ("道路", "Streets"),
    "water": ("河流水域", "Rivers and water"),
    "estimated_mark": ("* 户数为估算或部分估算", "* households estimated, wholly or in part"),
    "metres": ("米", "m"),
    "north": ("北", "N"),
}

#: The report's words (:mod:`gridplan.outputs.report`): its summary page and workbooks.
REPORT_WORDS: dict[str, tuple[str, str]] = {
    "title": ("网格划分与党建覆盖摘要", "Grid plan and party-building coverage"),
    "sheet": ("网格台账", "grids"),
    "grids": ("网格数", "Grids"),
    "households": ("总户数", "Households"),
    "within_bounds": (
        "综合网格户数在 {floor:.0f}–{ceiling:.0f} 之间",
        "Ordinary grids with {floor:.0f}–{ceiling:.0f} households",
    ),
    "coverage_mean": ("服务圈覆盖户数占比", "Households within a service circle"),
    "blind_households": ("盲区户数", "Households in blind spots"),
    "households_chart": (
        "每个综合网格的户数（绿色：允许范围；红线：目标）",
        "Households per ordinary grid (green: the bounds; red: the target)",
    ),
    "households_axis": ("户数", "households"),
    "coverage_chart": ("各网格服务圈覆盖户数占比", "Share of households covered, by grid"),
    "coverage_axis": ("覆盖占比 (%)", "covered (%)"),
    "status_chart": ("网格党组织状态", "Party organization of the grids"),
    "blind_chart": ("盲区户数最多的网格", "Grids with the most households in blind spots"),
    "no_blind": ("无服务盲区。", "No blind spots."),
    "compliance_sheet": ("合规检查汇总", "Compliance summary"),
    "community_sheet": ("社区 ", "Community "),
    "no_community": ("不属任何社区", "no community"),
    "failures": ("问题数", "Failures"),
    "not_applicable": ("不适用原因", "Not applicable because"),
}

#: Scene layers' names in Chinese.
LAYER_NAMES_ZH = {
    "communities": "社区",
    "buildings": "建筑",
    "households": "户数",
    "streets": "道路",
    "barriers": "障碍",
    "party_orgs": "党组织",
    "party_members": "党员",
    "service_points": "服务点",
    "compounds": "小区",
    "pois": "兴趣点",
}

#: Validation's repairs, in Chinese (:mod:`gridplan.prepare.validate`).
REPAIRS_ZH = {
    "gap_closed": "相邻社区之间的窄缝已闭合",
    "overlap_resolved": "相邻社区之间的窄重叠已归属一方",
    "sliver_merged": "无建筑的社区碎片，各并入接触最多的相邻社区",
    "sliver_dropped": "无建筑也无相邻社区的碎片，已删除",
    "fitted_to_building": "被社区边界切开的建筑，整栋归入占其面积最多的社区（边界绕建筑调整）",
}

#: What is wrong with a value, in Chinese (:mod:`gridplan.prepare.validate`).
BAD_VALUES_ZH = {"missing": "缺失", "not a number": "不是数字", "negative": "为负数", "fractional": "为小数"}

#: The layers of an OpenStreetMap import, in Chinese (:mod:`gridplan.io.osm`).
OSM_LAYERS_ZH = {
    "communities": "社区",
    "buildings": "建筑",
    "streets": "道路",
    "barriers": "障碍（河流、铁路）",
    "pois": "兴趣点",
}

#: Why an OpenStreetMap import left a feature out, in Chinese.
OSM_DROPS_ZH = {
    "outside the boundary": "在边界外",  # gridplan.io.osm.OUTSIDE
    "building part (its building's outline is kept)": "建筑部件（保留建筑外轮廓）",
    "degenerate polygon (no area)": "退化多边形（无面积）",
    "duplicate building_id": "建筑编号重复",
    "in a tunnel or culvert": "在隧道或涵洞中",
    "no geometry": "无几何",
    "no highway class": "无道路等级",
    "not a line or area": "不是线或面",
    "not a line": "不是线",
    "not a polygon (building mapped as a point or line)": "不是多边形（建筑被标成点或线）",
    "same line twice (two-way edge)": "同一条线两次（双向边）",
    "street furniture or transport stop, not a POI": "街道设施或公交站，不是兴趣点",
}

#: Kinds of gridplan output file, in Chinese (:mod:`gridplan.io.store`).
OUTPUT_KINDS_ZH = {
    "plan": "方案",
    "coverage": "覆盖分析结果",
    "audit": "网格核查结果",
    "scene": "场景",
    "map": "地图",
    "report": "报告",
    "wall maps": "网格上墙图",
}

#: Why a register row was not joined, in Chinese (:mod:`gridplan.prepare.register`).
REGISTER_REASONS_ZH = {
    "duplicate": "与前面某行重复",
    "bad_coordinate": "坐标不在中国境内",
    "too_far": "坐标附近没有建筑",
    "ambiguous": "地址可指多栋建筑",
    "unknown_compound": "地址中的小区或道路不在场景中",
    "unknown_building": "小区中没有该楼号",
    "no_address": "没有可用的楼栋编号、坐标或指明楼栋的地址",
    "unknown_id": "楼栋编号不在场景中",
    "bad_count": "户数不是整数（空白、负数、小数或文字）",
}

#: The words of a coordinate system's evidence, in Chinese (:mod:`gridplan.core.alignment`).
ALIGNMENT_WORDS_ZH = {
    "register points": "登记坐标",
    "footprints": "建筑轮廓",
    "buildings": "建筑",
    "streets": "道路",
    "communities": "社区边界",
    "service_points": "服务点",
    "party_orgs": "党组织",
    "pois": "兴趣点",
    "the scene's buildings": "场景建筑",
    "the community boundaries": "社区边界",
    "the OpenStreetMap buildings and streets": "OpenStreetMap 建筑和道路",
    " and ": "和",
    "in no footprint": "不在任何建筑内",
    "crossed by a street or far from every street": "被道路穿过或远离道路",
    "outside every community": "不在任何社区内",
    "inside a building or far from every street": "落在建筑内或远离道路",
    "boundary farther than the clearance from a street": "边界远离道路",
    "in no grid": "不在任何网格内",
}

#: Compass directions in Chinese.
COMPASS_ZH = {
    "north": "北",
    "north-east": "东北",
    "east": "东",
    "south-east": "东南",
    "south": "南",
    "south-west": "西南",
    "west": "西",
    "north-west": "西北",
}

#: The lines of the summaries a person reads (zh lines, en lines), by summary: format templates filled with the
#: figures they name (:func:`summary_lines`).
SUMMARIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "comparison": (
        (
            "方案比对：原方案 {n_old} 个网格（{before}）；新方案 {n_new} 个网格（{after}）",
            "  楼栋 {c.buildings_total:,} 栋：保持 {c.buildings_kept:,}，调整网格 {c.buildings_moved:,}（{c.households_moved:,} 户），"
            "新增 {c.buildings_new:,}，移除 {c.buildings_removed:,}",
        ),
        (
            "comparison: old plan {n_old} grids ({before}); new plan {n_new} grids ({after})",
            "  buildings {c.buildings_total:,}: kept {c.buildings_kept:,}, moved {c.buildings_moved:,} ({c.households_moved:,} "
            "households), new {c.buildings_new:,}, removed {c.buildings_removed:,}",
        ),
    ),
    "audit": (
        (
            "网格评估：现有网格 {grids} 个，{m.households_total:,} 户",
            "  ±{g.tolerance:.0%}（{g.floor:.0f}–{g.ceiling:.0f} 户）以内：{m.within_bounds:.1%}   ±{g.tight_tolerance:.0%} 以内："
            "{m.within_tight:.1%}   最大偏差 {m.worst_deviation:.0%}",
            "  沿街道划界 {m.street_alignment:.1%}   服务半径平均 {m.service_radius_mean:.0f} 米，最大 {m.service_radius_max:.0f} 米",
            "  空隙占面积 {m.gap_share:.2%}，重叠占面积 {m.overlap_share:.2%}；重叠网格 {overlaps} 对；分成多块的网格 "
            "{m.noncontiguous_grids} 个；被网格边界切开的建筑 {split} 栋；不在任何网格内的建筑 {unassigned} 栋；跨越河流铁路的网格 "
            "{m.barrier_crossing_grids} 个",
            "  偏差最大的网格：",
        ),
        (
            "audit: {grids} existing grids, {m.households_total:,} households",
            "  within ±{g.tolerance:.0%} ({g.floor:.0f}–{g.ceiling:.0f}): {m.within_bounds:.1%}   within "
            "±{g.tight_tolerance:.0%}: {m.within_tight:.1%}   worst deviation {m.worst_deviation:.0%}",
            "  street alignment {m.street_alignment:.1%}   service radius mean {m.service_radius_mean:.0f} m, max "
            "{m.service_radius_max:.0f} m",
            "  gaps {m.gap_share:.2%} and overlaps {m.overlap_share:.2%} of the area; {overlaps} overlapping pairs; "
            "{m.noncontiguous_grids} grids in several pieces; {split} split buildings; {unassigned} buildings in no grid; "
            "{m.barrier_crossing_grids} grids across a barrier",
            "  worst grids:",
        ),
    ),
    "coverage_party": (
        (
            "党员：{placed} 名在网格中（正式党员 {full} 名），{unplaced} 名不在任何网格",
            "网格：{grids} 个；{statuses}",
            "建议联合党支部：{joint} 个",
            "联户：{households} 户中 {linked} 户已联系党员{unlinked}",
            "联户步行距离：平均 {mean:.0f} 米，最远 {worst:.0f} 米；联户少于 {least} 户的党员 {below} 名",
        ),
        (
            "party members: {placed} in grids ({full} full), {unplaced} in no grid",
            "grids: {grids}; {statuses}",
            "joint branches proposed: {joint}",
            "households linked: {linked} of {households}{unlinked}",
            "link distance (walking): mean {mean:.0f} m, max {worst:.0f} m; members below {least} households: {below}",
        ),
    ),
    "plan_without_ordinary": (
        (
            "方案：{m.grids} 个网格，没有综合网格，{communities} 个社区，共 {m.households_total:,} 户{estimated}",
            "  没有一个社区达到一个网格的户数下限 {g.floor:,.0f} 户（目标 {g.target:,.0f} 户 −{g.tolerance:.0%}）：户数最多的社区只有 {largest:,.0f} 户；各社区的住户各成一个小网格",
        ),
        (
            "plan: {m.grids} grids, none of them ordinary, over {communities} communities, {m.households_total:,} households{estimated}",
            "  no community reaches the floor of one grid, {g.floor:,.0f} households (target {g.target:,.0f} −{g.tolerance:.0%}): the largest has {largest:,.0f}; each community's households are small grids",
        ),
    ),
    "plan": (
        (
            "方案：{m.grids} 个网格（综合网格 {m.ordinary_grids} 个），{communities} 个社区，共 {m.households_total:,} 户{estimated}",
            "  综合网格户数：最少 {m.households_min:.0f}，平均 {m.households_mean:.0f}，最多 {m.households_max:.0f}，变异系数 {m.households_cv:.3f}",
            "  ±{g.tight_tolerance:.0%} 以内：{m.within_tight:.1%}（可达的 {tight_ok} 个网格中 {m.within_tight_feasible:.1%}）   ±{g.tolerance:.0%}（{g.floor:.0f}–{g.ceiling:.0f} 户）以内：{m.within_bounds:.1%}（可达的 {bounds_ok} 个网格中 {m.within_bounds_feasible:.1%}）   最大偏离 {m.worst_deviation:.1%}",
            "  沿街巷边界 {m.street_alignment:.1%}（含河流铁路 {m.boundary_alignment:.1%}）   紧凑度 {m.polsby_popper_mean:.2f}   服务半径 平均 {m.service_radius_mean:.0f} 米，95% {m.service_radius_p95:.0f} 米，最大 {m.service_radius_max:.0f} 米（{m.grids_over_radius} 个超过 {g.max_service_radius_m:.0f} 米）",
            "  硬性规则：缝隙 {m.gap_share:.1e}，重叠 {m.overlap_share:.1e}，越界 {m.outside_share:.1e}（占面积）；不连续网格 {m.noncontiguous_grids} 个；被分割楼栋 {m.split_buildings} 栋",
        ),
        (
            "plan: {m.grids} grids ({m.ordinary_grids} ordinary) over {communities} communities, {m.households_total:,} households{estimated}",
            "  households per ordinary grid: min {m.households_min:.0f}, mean {m.households_mean:.0f}, max {m.households_max:.0f}, CV {m.households_cv:.3f}",
            "  within ±{g.tight_tolerance:.0%}: {m.within_tight:.1%} ({m.within_tight_feasible:.1%} of the {tight_ok} grids not proven unable to)   within ±{g.tolerance:.0%} ({g.floor:.0f}–{g.ceiling:.0f}): {m.within_bounds:.1%} ({m.within_bounds_feasible:.1%} of the {bounds_ok} grids not proven unable to)   worst deviation {m.worst_deviation:.1%}",
            "  street alignment {m.street_alignment:.1%} (with rivers and rail {m.boundary_alignment:.1%})   Polsby–Popper {m.polsby_popper_mean:.2f}   service radius mean {m.service_radius_mean:.0f} m, p95 {m.service_radius_p95:.0f} m, max {m.service_radius_max:.0f} m ({m.grids_over_radius} grids beyond {g.max_service_radius_m:.0f} m)",
            "  hard rules: gaps {m.gap_share:.1e}, overlaps {m.overlap_share:.1e}, outside {m.outside_share:.1e} of the area; {m.noncontiguous_grids} non-contiguous grids; {m.split_buildings} split buildings",
        ),
    ),
}


def summary_lines(key: str, lang: str = "zh", **figures) -> list[str]:
    """The lines of summary ``key`` in ``lang``, filled with ``figures``."""
    return [line.format(**figures) for line in SUMMARIES[key][LANGUAGES.index(check_language(lang))]]
