"""The one style of gridplan's maps: the colours, line widths and markers the web map, the wall map and the QGIS
styles draw a plan with, so that a grid has the same colour on the screen, on the wall and in QGIS.
"""

from __future__ import annotations

from gridplan.settings import GridSettings
from gridplan.vocabulary import BranchStatus, BuildingChange, GridKind, GridMatch, OrgKind, Severity

#: Diverging scale: under target (blue) → on target (white) → over target (red), ±tolerance at the ends.
DEVIATION_COLOURS = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")
SPECIAL_COLOUR = "#7b3294"
#: Grids told apart by colour (the editor): no two touching grids alike where the layout allows.
GRID_COLOURS = (
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#d9d9d9",
    "#bc80bd",
    "#ccebc5",
    "#ffed6f",
)
#: The background without tiles, and the scene's streets (width in pixels by OSM highway class) and water.
PAPER_COLOUR = "#f2efe9"
STREET_COLOUR = "#9a9a9a"
STREET_WIDTHS = {
    "motorway": 6,
    "trunk": 6,
    "primary": 5,
    "secondary": 4,
    "tertiary": 3,
    "residential": 2,
    "unclassified": 2,
    "living_street": 2,
}
STREET_WIDTH_MINOR = 1.5
WATER_COLOUR = "#9ecae1"
GRID_FILL_OPACITY = 0.5
#: Grids by party organization status (网格党组织状态), for the organization department's layer.
BRANCH_STATUS_COLOURS = {
    BranchStatus.OWN_BRANCH.value: "#1a9850",
    BranchStatus.NEEDS_JOINT_BRANCH.value: "#fdae61",
    BranchStatus.JOINS_BRANCH_OF.value: "#fee08b",
    BranchStatus.TOO_LARGE.value: "#5e3c99",
    BranchStatus.NO_BRANCH.value: "#d7191c",
}
#: Outlines of proposed joint branches, one colour each so that neighbouring proposals read apart; none of them a
#: status colour, since they are drawn over the party status layer.
JOINT_BRANCH_COLOURS = ("#e66101", "#01665e", "#1b7837", "#b2182b", "#2166ac", "#8c510a")
#: Failures of a compliance check, by :class:`~gridplan.vocabulary.Severity`.
SEVERITY_COLOURS = {Severity.RULE.value: "#d7191c", Severity.GUIDANCE.value: "#fdae61"}
#: Two plans compared (:mod:`gridplan.outputs.approval`): the old grids' boundaries (dashed), the buildings by what
#: became of them, and the new grids by what they are of the old ones (unchanged grey, so the changes stand out).
OLD_BOUNDARY_COLOUR = "#222222"
MOVED_COLOUR = "#d7301f"
BUILDING_CHANGE_COLOURS = {
    BuildingChange.MOVED.value: MOVED_COLOUR,
    BuildingChange.NEW.value: "#1a9850",
    BuildingChange.REMOVED.value: "#969696",
}
GRID_CHANGE_COLOURS = {
    GridMatch.UNCHANGED.value: "#d9d9d9",
    GridMatch.BOUNDARY_CHANGED.value: "#fee08b",
    GridMatch.SPLIT.value: "#74add1",
    GridMatch.MERGED.value: "#b2abd2",
    GridMatch.NEW.value: "#66bd63",
    GridMatch.RETIRED.value: "#f46d43",
}
#: Marker of each party organization kind: symbol and colour (no icon font, so it also works offline).
ORG_MARKERS = {
    OrgKind.COMMITTEE.value: ("★", "#c00000", 22),
    OrgKind.BRANCH.value: ("●", "#e03c31", 16),
    OrgKind.JOINT_BRANCH.value: ("▲", "#f08c00", 16),
}
OTHER_ORG_MARKER = ("◆", "#8c2d04", 14)


def grid_fill(settings: GridSettings):
    """The fill colour of a grid, ``fill(kind, deviation_pct) -> "#rrggbbaa"``: ordinary grids on the
    :data:`DEVIATION_COLOURS` scale, clipped at ±tolerance; special, oversize and small grids in
    :data:`SPECIAL_COLOUR`. Web maps and wall maps colour grids with it alike."""
    limit = settings.tolerance * 100
    scale = linear_ramp(DEVIATION_COLOURS, -limit, limit)

    def fill(kind: str, deviation_pct: float) -> str:
        return scale(max(-limit, min(limit, deviation_pct))) if kind == GridKind.ORDINARY else SPECIAL_COLOUR

    return fill


def linear_ramp(colours: tuple[str, ...], lo: float, hi: float):
    """Colours ``"#rrggbb"`` spread evenly from ``lo`` to ``hi``, as ``ramp(value) -> "#rrggbbaa"``, each value
    between its two nearest colours by linear interpolation (the colours of branca's ``LinearColormap``, which
    the web maps' legend draws, without loading branca where only a plan is written)."""
    stops = [lo + (hi - lo) * i / (len(colours) - 1) for i in range(len(colours))]
    rgb = [tuple(int(c[k : k + 2], 16) / 255.0 for k in (1, 3, 5)) + (1.0,) for c in colours]

    def ramp(value: float) -> str:
        if value <= stops[0] or value >= stops[-1]:
            mixed = rgb[0] if value <= stops[0] else rgb[-1]
        else:
            i = sum(stop < value for stop in stops)
            p = (value - stops[i - 1]) / (stops[i] - stops[i - 1])
            mixed = tuple((1.0 - p) * a + p * b for a, b in zip(rgb[i - 1], rgb[i]))
        return "#" + "".join(f"{int(x * 255.9999):02x}" for x in mixed)

    return ramp
