"""Wall maps (网格图上墙): a plan printed on A3 or A4 paper, for the wall of the community office.

One map per community and one for the whole street office (街道, all its communities). A map is a PDF of
vector pages (polygons and lines as paths, text as embedded TrueType, so that it prints sharp at any size
and its text, Chinese included, can be searched and copied) and a PNG of each page. The first page holds
the title (name, date, data source, whether households are estimated), the map — grids coloured by their
deviation from the target in the colours of the web maps (:func:`gridplan.outputs.webmap.grid_fill`) and labelled
with their codes, buildings, named streets, rivers and rail, community boundaries, scale bar and north
arrow — the legend and the table of grids (code, households, grid worker); grids that do not fit in the
table beside the map continue on table pages of the same PDF.

The map is drawn in the scene's local metric CRS (the UTM zone of its buildings) at a round scale
(1:2,000, 1:2,500, 1:3,000…) written under the scale bar: printed at 100 %, distances measure true.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path
from typing import Callable, Iterator, Sequence

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from matplotlib import patheffects
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findSystemFonts, fontManager
from matplotlib.patches import Polygon as PolygonPatch
from matplotlib.patches import Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextToPath
from pyproj import Transformer

from gridplan.core.files import atomic_path, check_replaceable, replaced_folder
from gridplan.core.results import Coverage, Plan, PlanRun, gridplan_version
from gridplan.core.scene import RAIL_BARRIERS, PreparedScene, Scene
from gridplan.errors import InputError
from gridplan.settings import WALL_MAP_DEFAULTS, GridSettings, WallMapSettings
from gridplan.style import WATER_COLOUR, grid_fill
from gridplan.vocabulary import (
    LANGUAGES,
    WALL_MAP_WORDS,
    GridKind,
    check_language,
    column_label,
    household_statement,
    is_chinese,
    label,
)

from .tables import data_source, grid_codes, grid_table

ORIENTATIONS = ("landscape", "portrait")
SCOPES = ("all", "office", "communities")
FORMATS = ("pdf", "png")
MM_PER_INCH = 25.4
MM_PER_PT = MM_PER_INCH / 72
#: Round map scales: these times a power of ten (1:2,000, 1:2,500, 1:3,000…), close enough to fill the paper.
SCALE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
#: Line width (pt on A3) of streets by OpenStreetMap class; other classes (service, footway…) are thinner.
STREET_WIDTHS = {
    "motorway": 2.0,
    "trunk": 2.0,
    "primary": 1.8,
    "secondary": 1.5,
    "tertiary": 1.2,
    "residential": 0.9,
    "living_street": 0.9,
    "unclassified": 0.9,
}
MINOR_STREET_WIDTH = 0.4
BUILDING_COLOUR = "#8c8c8c"
STREET_COLOUR = "#5a5a5a"
#: A white outline drawn under labels on the map, so that they read over lines and fills.
HALO = [patheffects.Stroke(linewidth=2.2, foreground="white")]
#: Grid labels: their size bounds (pt on A3), line height as a share of the size, and where inside its grid a
#: label is tried, in label widths (x) and heights (y) from the grid's pole of inaccessibility.
LABEL_MIN_PT, LABEL_MAX_PT = 4.0, 10.0
LABEL_LINE = 1.2
LABEL_SHIFTS = (
    (0, 0),
    (0, 1),
    (0, -1),
    (0.6, 0),
    (-0.6, 0),
    (0, 2),
    (0, -2),
    (0.6, 1),
    (-0.6, 1),
    (0.6, -1),
    (-0.6, -1),
)


@dataclass(frozen=True)
class WallMap:
    """One wall map: a community's (``community_id``) or the street office's (``community_id`` None).

    Attributes
    ----------
    community_id
        The community drawn, or None for the whole street office.
    name
        The file name the map is written under, without suffix (``community-<id>``, ``street-office``).
    title
        Its title, as printed.
    pages
        The map page, then any table pages: matplotlib figures of exactly the paper's size.
    crowded_labels
        Grid labels that found no place clear of the others (drawn small at their grid's centre; every code
        is in the table too).
    """

    community_id: str | None
    name: str
    title: str
    pages: tuple[Figure, ...]
    crowded_labels: int = 0

    def save(self, folder, formats: Sequence[str] = FORMATS, dpi: int = WALL_MAP_DEFAULTS.dpi) -> list[Path]:
        """Write ``<name>.pdf`` (every page) and ``<name>.png`` (``<name>-2.png``… for further pages) into
        ``folder``; returns the files written."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        # TrueType (Type 42) keeps the text as text: searchable, and a CJK font is not turned into outlines
        with matplotlib.rc_context({"pdf.fonttype": 42}):
            if "pdf" in formats:
                path = folder / f"{self.name}.pdf"
                with atomic_path(path) as tmp:
                    with PdfPages(
                        tmp, metadata={"Title": self.title, "Creator": f"gridplan {gridplan_version()}"}
                    ) as pdf:
                        for page in self.pages:
                            pdf.savefig(page)
                written.append(path)
            if "png" in formats:
                for number, page in enumerate(self.pages, start=1):
                    path = folder / (f"{self.name}.png" if number == 1 else f"{self.name}-{number}.png")
                    with atomic_path(path) as tmp:
                        page.savefig(tmp, format="png", dpi=dpi)
                    written.append(path)
        return written


@dataclass(frozen=True)
class WallMapFiles:
    """What :func:`write_wall_maps` wrote.

    Attributes
    ----------
    pdf, png
        The PDF files (one a map) and the PNG files (one a page).
    pages
        Pages per map, by map name.
    crowded_labels
        By map name, the grid labels that found no place clear of the others (maps where all did are absent).
    """

    pdf: tuple[Path, ...]
    png: tuple[Path, ...]
    pages: dict[str, int]
    crowded_labels: dict[str, int] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        """Every file written, PDFs first."""
        return [*self.pdf, *self.png]


def wall_maps(
    plan: Plan | PlanRun,
    prepared: PreparedScene,
    coverage: Coverage | None = None,
    *,
    paper: str = WALL_MAP_DEFAULTS.paper,
    orientation: str = WALL_MAP_DEFAULTS.orientation,
    lang: str = "zh",
    scope: str = "all",
    office_name: str | None = None,
    day: Date | None = None,
    settings: GridSettings | None = None,
    style: WallMapSettings = WALL_MAP_DEFAULTS,
) -> list[WallMap]:
    """Wall maps of a plan (网格图上墙): one per community and one for the whole street office.

    Parameters
    ----------
    plan
        The plan (or the run that holds it).
    prepared
        The scene planned: community boundaries and names, buildings, streets and barriers are drawn from it.
    coverage
        The plan's coverage, if analysed: the data source then names its generated inputs too.
    paper
        ``"A3"`` (default) or ``"A4"`` (any key of ``style.papers``).
    orientation
        ``"landscape"`` (default) or ``"portrait"``.
    lang
        ``"zh"`` (default) or ``"en"``: titles, legend and table headers.
    scope
        ``"all"`` (the street office, then every community), ``"office"`` or ``"communities"``.
    office_name
        The street office's name, for its map's title (by default "街道" / "Street office").
    day
        The date printed in the titles (default: today).
    settings
        The target and bounds of the colour scale; by default those the plan was made with.
    style
        Paper sizes, fonts and margins.

    Returns
    -------
    list of WallMap
        Write each with :meth:`WallMap.save`, or all with :func:`write_wall_maps`.

    Raises
    ------
    InputError
        Unknown paper, orientation, scope or language; no CJK font installed where the map has Chinese text.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> from gridplan import plan_scene, wall_maps
    >>> pages = wall_maps(plan_scene(prepared), prepared, lang="en", scope="communities")
    >>> len(pages)  # one wall map a community
    2
    """
    return list(
        _wall_maps(
            plan,
            prepared,
            coverage,
            paper=paper,
            orientation=orientation,
            lang=lang,
            scope=scope,
            office_name=office_name,
            day=day,
            settings=settings,
            style=style,
        )
    )


def write_wall_maps(
    plan: Plan | PlanRun,
    prepared: PreparedScene,
    folder,
    coverage: Coverage | None = None,
    *,
    formats: Sequence[str] = FORMATS,
    dpi: int | None = None,
    style: WallMapSettings = WALL_MAP_DEFAULTS,
    **options,
) -> WallMapFiles:
    """Draw the wall maps of a plan (see :func:`wall_maps`, whose keyword ``options`` it takes) and write
    each as ``<name>.pdf`` and a PNG a page into ``folder``, one map at a time (a district's maps are not held
    in memory together).

    The set replaces the folder's previous set as a whole: it is written into a new folder beside ``folder``
    that takes its place at the end, so that no page of an earlier run (another paper, scope or plan) is left
    among the new ones, and an error or Ctrl-C midway leaves the previous set exactly as it was. The folder
    holds a manifest of its files (``.gridplan-files.json``); a folder with files gridplan did not write is
    refused, never replaced.

    Parameters
    ----------
    plan, prepared, coverage
        As for :func:`wall_maps`.
    folder
        Folder to write (created if missing; replaced as a whole if it holds an earlier set).
    formats
        ``"pdf"`` and/or ``"png"``.
    dpi
        Resolution of the PNGs (default ``style.dpi``).
    style
        Paper sizes, fonts, margins and the default resolution.

    Returns
    -------
    WallMapFiles
        The files written.

    Raises
    ------
    InputError
        As for :func:`wall_maps`; an unknown format or a dpi of 0; ``folder`` holds files gridplan did not write.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import plan_scene, write_wall_maps
    >>> written = write_wall_maps(plan_scene(prepared), prepared, tempfile.mkdtemp(), formats=("pdf",), lang="en")
    >>> sorted({pathlib.Path(p).suffix for p in written.paths})
    ['.pdf']
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise InputError(
            f"unknown wall map format {', '.join(unknown) or '(none)'}: use pdf, png or both",
            zh=f"未知的上墙图格式 {'、'.join(unknown) or '（无）'}：可选 pdf、png 或两者",
        )
    dpi = style.dpi if dpi is None else dpi
    if dpi <= 0:
        raise InputError(f"dpi {dpi} must be a positive number", zh=f"dpi {dpi} 须为正数")
    pdf, png, pages, crowded = [], [], {}, {}
    folder = Path(folder)
    with replaced_folder(folder, "wall maps", "网格上墙图") as staging:
        for wall_map in _wall_maps(plan, prepared, coverage, style=style, **options):
            for path in wall_map.save(staging, formats, dpi):
                (pdf if path.suffix == ".pdf" else png).append(folder / path.name)
            pages[wall_map.name] = len(wall_map.pages)
            if wall_map.crowded_labels:
                crowded[wall_map.name] = wall_map.crowded_labels
    return WallMapFiles(pdf=tuple(pdf), png=tuple(png), pages=pages, crowded_labels=crowded)


def check_wall_map_folder(folder) -> None:
    """Refuse, before any work, a folder that :func:`write_wall_maps` would not replace: one holding files
    gridplan did not write, a file, or a folder in a place where nothing can be written.

    Raises
    ------
    InputError
        Naming the folder and what is in the way.
    """
    check_replaceable(folder, "wall maps", "网格上墙图")


def _wall_maps(
    plan,
    prepared,
    coverage,
    *,
    paper=WALL_MAP_DEFAULTS.paper,
    orientation=WALL_MAP_DEFAULTS.orientation,
    lang="zh",
    scope="all",
    office_name=None,
    day=None,
    settings=None,
    style=WALL_MAP_DEFAULTS,
) -> Iterator[WallMap]:
    check_language(lang)
    if paper not in style.papers:
        raise InputError(
            f"unknown paper {paper!r}: use {' or '.join(style.papers)}",
            zh=f"未知的纸张 {paper!r}：可选 {' 或 '.join(style.papers)}",
        )
    if orientation not in ORIENTATIONS:
        raise InputError(
            f"unknown orientation {orientation!r}: use landscape or portrait",
            zh=f"未知的纸张方向 {orientation!r}：可选 landscape（横向）或 portrait（纵向）",
        )
    if scope not in SCOPES:
        raise InputError(
            f"unknown scope {scope!r}: use {', '.join(SCOPES)}", zh=f"未知的范围 {scope!r}：可选 {'、'.join(SCOPES)}"
        )
    plan = plan.plan if isinstance(plan, PlanRun) else plan
    settings = plan.settings.grid if settings is None else settings
    text = _LABELS[lang]
    local = prepared.local
    communities = local.communities
    given = communities["name"] if "name" in communities else pd.Series(None, index=communities.index, dtype=object)
    names = {
        str(i): str(n).strip() if pd.notna(n) and str(n).strip() else text["community"].format(id=i)
        for i, n in zip(communities["community_id"], given)
    }
    grids = _grid_layer(plan, coverage, settings, local.crs)
    font = page_font(style.fonts, lang, [*names.values(), *_street_names(local.streets)])
    sheet = _Sheet(style, paper, orientation, font)
    generated = (coverage.provenance if coverage is not None else plan.provenance).generated_inputs()
    context = _Context(
        sheet=sheet,
        text=text,
        lang=lang,
        settings=settings,
        local=local,
        names=names,
        fill=grid_fill(settings),
        generated=generated,
        day=(day or Date.today()).isoformat(),
        dwelling_m2=plan.settings.households.dwelling_size_m2,
    )

    if scope in ("all", "office"):
        title = text["office_title"].format(name=office_name or text["office"])
        yield _wall_map(context, None, "street-office", title, grids, communities)
    if scope in ("all", "communities"):
        for community_id in sorted(names, key=_natural):
            shown = grids[grids["community_id"] == community_id]
            outline = communities[communities["community_id"].astype(str) == community_id]
            yield _wall_map(
                context,
                community_id,
                f"community-{file_safe(community_id)}",
                text["community_title"].format(name=names[community_id]),
                shown,
                outline,
            )


@dataclass(frozen=True)
class _Context:
    """What every page of one run shares."""

    sheet: "_Sheet"
    text: dict[str, str]
    lang: str
    settings: GridSettings
    local: Scene
    names: dict[str, str]
    fill: Callable[[str, float], str]
    generated: list[str]
    day: str
    dwelling_m2: float


class _Sheet:
    """A paper size and orientation in millimetres, the font, and sizes scaled to the paper (A3 = 1)."""

    def __init__(self, style: WallMapSettings, paper: str, orientation: str, font: FontProperties):
        short, long = sorted(style.papers[paper])
        self.width, self.height = (long, short) if orientation == "landscape" else (short, long)
        self.landscape = orientation == "landscape"
        self.margin = style.margin_mm
        self.k = math.sqrt(short / 297.0)
        self.font = font
        self.street_label_share = style.street_label_share

    def figure(self) -> Figure:
        return Figure(figsize=(self.width / MM_PER_INCH, self.height / MM_PER_INCH))

    def axes(self, fig: Figure, x: float, y: float, w: float, h: float):
        """Axes at (x, y, w, h) millimetres from the page's lower left."""
        ax = fig.add_axes((x / self.width, y / self.height, w / self.width, h / self.height))
        ax.set_axis_off()
        return ax

    def size(self, points: float) -> float:
        """A size given for A3, on this paper."""
        return points * self.k

    def write(self, ax, x, y, text: str, points: float, halo: bool = False, **kwargs):
        """``text`` at (x, y); with ``halo``, over a white outline of itself. The outline is a path (path
        effects draw outlines), the text above it stays text, so that the PDF can be searched."""
        if halo:
            ax.text(
                x,
                y,
                text,
                fontproperties=self.font,
                fontsize=self.size(points),
                path_effects=HALO,
                **{**kwargs, "color": "white", "alpha": None},
            )
        return ax.text(x, y, text, fontproperties=self.font, fontsize=self.size(points), **kwargs)

    def width_mm(self, text: str, points: float) -> float:
        """Width of ``text`` set at ``points`` (scaled) in millimetres."""
        if not text:
            return 0.0
        font = self.font.copy()
        font.set_size(self.size(points))
        width, _, _ = TextToPath().get_text_width_height_descent(text, font, ismath=False)
        return width * MM_PER_PT


def _wall_map(
    context: _Context, community_id, name: str, title: str, grids: gpd.GeoDataFrame, outline: gpd.GeoDataFrame
) -> WallMap:
    sheet, text = context.sheet, context.text
    rows = _table_rows(grids)
    coded = "code" in grids and grids["code"].notna().any()
    header = (
        column_label("code" if coded else "grid_id", context.lang),
        column_label("households", context.lang),
        column_label("grid_worker", context.lang),
    )
    fig = sheet.figure()
    body = _title_block(fig, context, title, grids)
    m, gap = sheet.margin, 6.0
    x, y, w, h = body
    if sheet.landscape:
        map_w = (w - gap) * 0.7
        map_box, panel = (x, y, map_w, h), (x + map_w + gap, y, w - map_w - gap, h)
        legend_h = 62 * sheet.k
        legend_box = (panel[0], y + h - legend_h, panel[2], legend_h)
        table_box = (panel[0], y, panel[2], h - legend_h - gap)
    else:
        map_h = (h - gap) * 0.66
        map_box, panel = (x, y + h - map_h, w, map_h), (x, y, w, h - map_h - gap)
        legend_w = w * 0.34
        legend_box = (x, y, legend_w, panel[3])
        table_box = (x + legend_w + gap, y, w - legend_w - gap, panel[3])
    crowded = _draw_map(sheet.axes(fig, *map_box), map_box, context, grids, outline, community_id is None)
    _legend(sheet.axes(fig, *legend_box), legend_box, context, grids)
    rest = _table(fig, table_box, sheet, header, rows)
    pages = [fig]
    while rest:
        page = sheet.figure()
        number = len(pages) + 1
        body = _title_block(page, context, f"{title}{text['continued'].format(page=number)}", None)
        rest = _table(page, (body[0], m, body[2], body[3]), sheet, header, rest)
        pages.append(page)
    return WallMap(community_id=community_id, name=name, title=title, pages=tuple(pages), crowded_labels=crowded)


def _title_block(fig: Figure, context: _Context, title: str, grids: gpd.GeoDataFrame | None) -> tuple:
    """The title, and under it the figures, date and data source; returns the body left below (mm)."""
    sheet, text = context.sheet, context.text
    m, k = sheet.margin, sheet.k
    ax = sheet.axes(fig, 0, 0, sheet.width, sheet.height)
    ax.set_xlim(0, sheet.width)
    ax.set_ylim(0, sheet.height)
    top = sheet.height - m
    sheet.write(ax, m, top, title, 20, va="top")
    if grids is None:
        return m, m, sheet.width - 2 * m, top - m - 12 * k
    g = context.settings
    households = grids["households"].sum()
    figures = text["figures"].format(
        communities=grids["community_id"].nunique(),
        grids=len(grids),
        households=households,
        target=g.target,
        floor=g.floor,
        ceiling=g.ceiling,
        day=context.day,
    )
    estimated = int(grids["households_estimated"].sum())
    sources = [
        household_statement(int(households), estimated, context.dwelling_m2, context.lang),
        data_source(context.lang, context.generated),
    ]
    source = text["source"] + text["separator"].join(filter(None, sources))
    sheet.write(ax, m, top - 10 * k, figures, 9.5, va="top", color="#333333")
    sheet.write(
        ax, m, top - 15 * k, source, 9.5, va="top", color="#8a6d3b" if estimated or context.generated else "#333333"
    )
    return m, m, sheet.width - 2 * m, top - m - 21 * k


def _grid_layer(plan: Plan, coverage: Coverage | None, settings: GridSettings, crs) -> gpd.GeoDataFrame:
    """The plan's grids in the local CRS with the table's columns and the label printed on them."""
    table = grid_table(plan, coverage, settings)
    grids = plan.grids[["grid_id", "geometry"]].to_crs(crs).merge(table, on="grid_id")
    grids["label"] = grid_codes(grids).to_numpy()
    grids["community_id"] = grids["community_id"].astype(str)
    return grids


def _draw_map(ax, box, context: _Context, grids: gpd.GeoDataFrame, outline: gpd.GeoDataFrame, office: bool) -> int:
    """The map: grids, buildings, streets, barriers, boundaries and labels at a round scale, with the scale
    bar and the north arrow."""
    sheet, local = context.sheet, context.local
    view, scale = _frame(ax, box, grids, outline)
    k = sheet.k
    in_view = shapely.box(*view)
    streets = _draw_layers(ax, context, grids, outline, in_view, k)
    _street_labels(ax, streets, in_view, scale, sheet)
    crowded = _grid_labels(ax, grids, scale, sheet) if len(grids) else 0
    if office:
        for point, community_id in zip(outline.geometry.representative_point(), outline["community_id"].astype(str)):
            sheet.write(
                ax,
                point.x,
                point.y,
                context.names[community_id],
                16,
                ha="center",
                va="bottom",
                zorder=9,
                color="#000000",
                alpha=0.75,
                halo=True,
                clip_on=True,
            )
    _scale_bar(ax, view, scale, sheet, context.text)
    _north_arrow(ax, view, scale, sheet, local.crs, context.text)
    return crowded


def _frame(
    ax, box, grids: gpd.GeoDataFrame, outline: gpd.GeoDataFrame
) -> tuple[tuple[float, float, float, float], float]:
    """The map's view (metres) at a round scale holding the outline and the grids in the box, set on ``ax``; and the
    scale (metres of ground per millimetre of paper)."""
    _, _, w_mm, h_mm = box
    x0, y0, x1, y1 = outline.total_bounds
    gx0, gy0, gx1, gy1 = grids.total_bounds if len(grids) else (x0, y0, x1, y1)
    x0, y0, x1, y1 = min(x0, gx0), min(y0, gy0), max(x1, gx1), max(y1, gy1)
    # metres of the ground per millimetre of paper, rounded up to a round scale; 4 % of white around
    scale = _round_scale(max((x1 - x0) / w_mm, (y1 - y0) / h_mm) * 1.04 * 1000) / 1000
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    view = (cx - w_mm * scale / 2, cy - h_mm * scale / 2, cx + w_mm * scale / 2, cy + h_mm * scale / 2)
    ax.set_xlim(view[0], view[2])
    ax.set_ylim(view[1], view[3])
    ax.set_axis_on()
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    return view, scale


def _draw_layers(ax, context: _Context, grids: gpd.GeoDataFrame, outline: gpd.GeoDataFrame, in_view, k: float):
    """Grids, water and rail, buildings, streets and boundaries, bottom to top; returns the streets in view."""
    local = context.local
    ax.add_collection(
        PathCollection(
            _paths(grids.geometry),
            facecolors=[context.fill(kind, d) for kind, d in zip(grids["kind"], grids["deviation_pct"])],
            edgecolors="none",
            alpha=0.75,
            zorder=1,
        )
    )
    if local.barriers is not None and len(local.barriers):
        barriers = _within(local.barriers, in_view)
        polygons = barriers.geom_type.isin(("Polygon", "MultiPolygon"))
        ax.add_collection(
            PathCollection(_paths(barriers.geometry[polygons]), facecolors=WATER_COLOUR, edgecolors="none", zorder=2)
        )
        lines = barriers[~polygons]
        kinds = lines["kind"].astype(str) if "kind" in lines else pd.Series("", index=lines.index)
        rail = kinds.isin(RAIL_BARRIERS).to_numpy()
        ax.add_collection(
            LineCollection(_lines(lines.geometry[~rail]), colors=WATER_COLOUR, linewidths=2.5 * k, zorder=2)
        )
        ax.add_collection(
            LineCollection(
                _lines(lines.geometry[rail]), colors="#444444", linewidths=1.2 * k, linestyles=(0, (4, 3)), zorder=3
            )
        )
    buildings = _within(local.buildings, in_view)
    ax.add_collection(
        PathCollection(_paths(buildings.geometry), facecolors=BUILDING_COLOUR, edgecolors="none", alpha=0.55, zorder=3)
    )
    streets = _within(local.streets, in_view)
    widths = streets["highway"].astype(str).map(STREET_WIDTHS).fillna(MINOR_STREET_WIDTH).to_numpy()
    parts, index = shapely.get_parts(streets.geometry.values, return_index=True)
    ax.add_collection(
        LineCollection(
            [np.asarray(p.coords)[:, :2] for p in parts],
            colors=STREET_COLOUR,
            linewidths=widths[index] * k,
            capstyle="round",
            zorder=4,
        )
    )
    ax.add_collection(
        PathCollection(_paths(grids.geometry), facecolors="none", edgecolors="#222222", linewidths=0.7 * k, zorder=5)
    )
    others = local.communities[~local.communities.index.isin(outline.index)]
    ax.add_collection(
        PathCollection(
            _paths(_within(others, in_view).geometry),
            facecolors="none",
            edgecolors="#777777",
            linewidths=1.2 * k,
            linestyles="--",
            zorder=5,
        )
    )
    ax.add_collection(
        PathCollection(_paths(outline.geometry), facecolors="none", edgecolors="#000000", linewidths=2.6 * k, zorder=6)
    )

    return streets


def _grid_labels(ax, grids: gpd.GeoDataFrame, scale: float, sheet: "_Sheet") -> int:
    """Each grid's code inside it, biggest grid first. The size is that of a label about 80 % as wide as a
    typical grid (within readable bounds); a label that would overlap one already placed is tried at other
    points inside its grid, then smaller, down to :data:`LABEL_MIN_PT`. Returns how many labels found no clear
    place (drawn at the smallest size at their grid's pole of inaccessibility)."""
    typical_mm = float(np.median(np.sqrt(grids.geometry.area))) / scale
    unit = {text: sheet.width_mm(text, 1.0) * scale for text in grids["label"]}  # metres per point of size
    points = float(np.clip(0.8 * typical_mm * scale / max(max(unit.values()), 1e-9), LABEL_MIN_PT, LABEL_MAX_PT))
    sizes = [p for p in (points, points * 0.8, points * 0.65, LABEL_MIN_PT) if p >= LABEL_MIN_PT]
    boxes = np.empty((len(grids), 4))
    placed, crowded = 0, 0
    for i in np.argsort(-grids.geometry.area.to_numpy(), kind="stable"):
        polygon, text = grids.geometry.iloc[i], grids["label"].iloc[i]
        pole = shapely.ops.polylabel(max(shapely.get_parts(polygon), key=lambda p: p.area), tolerance=scale)
        chosen = None
        for size in sizes:
            w, h = unit[text] * size, sheet.size(size) * MM_PER_PT * LABEL_LINE * scale
            for x, y in [(pole.x + dx * w, pole.y + dy * h) for dx, dy in LABEL_SHIFTS]:
                box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
                taken = boxes[:placed]
                clash = (
                    (taken[:, 0] < box[2]) & (box[0] < taken[:, 2]) & (taken[:, 1] < box[3]) & (box[1] < taken[:, 3])
                ).any()
                if not clash and polygon.contains(shapely.Point(x, y)):
                    chosen = (x, y, size, box)
                    break
            if chosen:
                break
        if chosen is None:
            crowded += 1
            w, h = unit[text] * LABEL_MIN_PT, sheet.size(LABEL_MIN_PT) * MM_PER_PT * LABEL_LINE * scale
            chosen = (pole.x, pole.y, LABEL_MIN_PT, (pole.x - w / 2, pole.y - h / 2, pole.x + w / 2, pole.y + h / 2))
        x, y, size, boxes[placed] = chosen
        placed += 1
        sheet.write(ax, x, y, text, size, ha="center", va="center", zorder=8, halo=True, clip_on=True)
    return crowded


def _legend(ax, box, context: _Context, grids: gpd.GeoDataFrame) -> None:
    """The colour scale of households against the target, the other symbols, and the estimate mark."""
    sheet, text, g = context.sheet, context.text, context.settings
    _, _, w, h = box
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    k = sheet.k
    row = 5.6 * k
    y = h - row * 0.6
    sheet.write(ax, 0, y, text["legend"], 11, va="center")
    y -= row
    sheet.write(ax, 0, y, text["deviation"], 8.5, va="center")
    y -= row * 0.9
    bar_w, steps, limit = min(w * 0.8, 70 * k), 48, g.tolerance * 100
    for i, value in enumerate(np.linspace(-limit, limit, steps)):
        ax.add_patch(
            Rectangle(
                (i * bar_w / steps, y - 1.8 * k),
                bar_w / steps,
                3.6 * k,
                linewidth=0,
                facecolor=context.fill(GridKind.ORDINARY, value),
            )
        )
    ax.add_patch(Rectangle((0, y - 1.8 * k), bar_w, 3.6 * k, fill=False, linewidth=0.5))
    y -= row * 0.85
    # a hyphen, not U+2212: WenQuanYi Zen Hei has no minus sign
    ends = (
        ("left", f"-{limit:.0f}%", f"{g.floor:.0f}"),
        ("center", "0", f"{g.target:.0f} {text['households_unit']}"),
        ("right", f"+{limit:.0f}%", f"{g.ceiling:.0f}"),
    )
    for share, (align, top, bottom) in zip((0, 0.5, 1), ends):
        sheet.write(ax, share * bar_w, y, top, 7.5, ha=align, va="center")
        sheet.write(ax, share * bar_w, y - row * 0.7, bottom, 7.5, ha=align, va="center")
    y -= row * 1.6
    swatch = 7 * k
    special = f"{label(GridKind.SPECIAL, context.lang)} / {label(GridKind.OVERSIZE, context.lang)}"
    symbols = [
        (special, dict(facecolor=context.fill(GridKind.SPECIAL, 0), alpha=0.75, linewidth=0)),
        (text["grid_boundary"], dict(facecolor="none", edgecolor="#222222", linewidth=0.7 * k)),
        (text["community_boundary"], dict(facecolor="none", edgecolor="#000000", linewidth=2.6 * k)),
        (text["buildings"], dict(facecolor=BUILDING_COLOUR, alpha=0.55, linewidth=0)),
        (text["streets"], None),
    ]
    if context.local.barriers is not None and len(context.local.barriers):
        symbols.append((text["water"], dict(facecolor=WATER_COLOUR, linewidth=0)))
    columns = 2 if w > 90 * k else 1
    for i, (name, patch) in enumerate(symbols):
        sx, sy = (i % columns) * w / columns, y - (i // columns) * row
        if patch is None:
            ax.plot([sx, sx + swatch], [sy, sy], color=STREET_COLOUR, linewidth=1.5 * k)
        else:
            ax.add_patch(Rectangle((sx, sy - 1.6 * k), swatch, 3.2 * k, **patch))
        sheet.write(ax, sx + swatch + 2 * k, sy, name, 8, va="center")
    y -= math.ceil(len(symbols) / columns) * row
    if (grids["households_estimated"] > 0).any():
        sheet.write(ax, 0, y, text["estimated_mark"], 8, va="center", color="#8a6d3b")


def _table_rows(grids: gpd.GeoDataFrame) -> list[tuple[str, str, str]]:
    """(code, households, grid worker) of each grid in code order; ``*`` marks households estimated (wholly or in part)."""
    order = sorted(range(len(grids)), key=lambda i: _natural(grids["label"].iloc[i]))
    rows = []
    for i in order:
        grid = grids.iloc[i]
        mark = "*" if grid["households_estimated"] > 0 else ""
        worker = grid["grid_worker"]
        rows.append(
            (
                str(grid["label"]),
                f"{grid['households']:,.0f}{mark}",
                "—" if worker is None or pd.isna(worker) else str(worker),
            )
        )
    return rows


def _table(
    fig: Figure, box, sheet: _Sheet, header: tuple[str, str, str], rows: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """As many rows as fit in ``box`` (mm), in side-by-side blocks of columns; returns the rows left over."""
    _, _, w, h = box
    ax = sheet.axes(fig, *box)
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    points, k = 8.0, sheet.k
    pad = 3 * k
    widths = [
        max(sheet.width_mm(header[c], points), max((sheet.width_mm(r[c], points) for r in _widest(rows, c)), default=0))
        + pad
        for c in range(3)
    ]
    block_w = sum(widths)
    row_h = points * sheet.k * MM_PER_PT * 1.6
    per_block = max(1, int((h - row_h * 1.4) / row_h))
    blocks = max(1, int((w + pad) / (block_w + pad)))
    shown, rest = rows[: per_block * blocks], rows[per_block * blocks :]
    for b in range(math.ceil(len(shown) / per_block)):
        left = b * (block_w + pad)
        top = h - row_h * 0.7
        starts = np.cumsum([0, *widths[:-1]]) + left
        for c, title in enumerate(header):
            sheet.write(
                ax,
                starts[c] + (widths[c] - pad if c else 0),
                top,
                title,
                points,
                va="center",
                ha="right" if c else "left",
                color="#000000",
            )
        ax.plot([left, left + block_w - pad], [top - row_h * 0.6] * 2, color="#000000", linewidth=0.6)
        for r, values in enumerate(shown[b * per_block : (b + 1) * per_block]):
            ry = top - row_h * (r + 1.15)
            if r % 2 == 1:
                ax.add_patch(Rectangle((left, ry - row_h / 2), block_w - pad, row_h, facecolor="#f0f0f0", linewidth=0))
            for c, value in enumerate(values):
                sheet.write(
                    ax,
                    starts[c] + (widths[c] - pad if c else 0),
                    ry,
                    value,
                    points,
                    va="center",
                    ha="right" if c else "left",
                )
    return rest


def _widest(rows, column: int, candidates: int = 3):
    """The few longest values of a column: its width is measured on them, not on every row."""
    return sorted(rows, key=lambda r: len(r[column]), reverse=True)[:candidates]


def _street_labels(ax, streets: gpd.GeoDataFrame, in_view, scale: float, sheet: _Sheet) -> None:
    """Each named street once, along the longest stretch of it in view, if that is long enough to read."""
    if "name" not in streets or not len(streets):
        return
    # OpenStreetMap joins the names of a way that carries two streets with ";": the first names it
    names = streets["name"].astype(str).str.split(";").str[0].str.strip().where(streets["name"].notna(), "")
    named = streets[(names != "").to_numpy()]
    view_w = in_view.bounds[2] - in_view.bounds[0]
    for name, group in named.groupby(names[names != ""]):
        merged = shapely.line_merge(shapely.union_all(shapely.clip_by_rect(group.geometry.values, *in_view.bounds)))
        parts = [p for p in shapely.get_parts(merged) if p.geom_type == "LineString"]
        if not parts:
            continue
        line = max(parts, key=lambda p: p.length)
        label_w = sheet.width_mm(name, 7.0) * scale
        if line.length < max(sheet.street_label_share * view_w, 1.3 * label_w):
            continue
        middle, before, after = (line.interpolate(s, normalized=True) for s in (0.5, 0.45, 0.55))
        angle = math.degrees(math.atan2(after.y - before.y, after.x - before.x))
        angle = angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle
        sheet.write(
            ax,
            middle.x,
            middle.y,
            name,
            7.0,
            ha="center",
            va="center",
            rotation=angle,
            rotation_mode="anchor",
            color="#202020",
            zorder=7,
            halo=True,
            clip_on=True,
        )


def _scale_bar(ax, view, scale: float, sheet: _Sheet, text: dict) -> None:
    """A bar of a round length (1, 2 or 5 × 10ⁿ metres, about a fifth of the map) in two halves, and the scale."""
    k = sheet.k
    length = _round_down((view[2] - view[0]) * 0.2)
    x, y = view[0] + 8 * k * scale, view[1] + 9 * k * scale
    bar_h = 1.6 * k * scale
    ax.add_patch(
        Rectangle(
            (x - 3 * k * scale, y - 6.5 * k * scale),
            length + 16 * k * scale,
            14 * k * scale,
            facecolor="white",
            alpha=0.85,
            edgecolor="none",
            zorder=10,
        )
    )
    for i, colour in enumerate(("#000000", "#ffffff")):
        ax.add_patch(
            Rectangle(
                (x + i * length / 2, y),
                length / 2,
                bar_h,
                facecolor=colour,
                edgecolor="#000000",
                linewidth=0.6,
                zorder=11,
            )
        )
    unit = text["metres"]
    for share, value in ((0, "0"), (0.5, f"{length / 2:,.0f}"), (1, f"{length:,.0f} {unit}")):
        sheet.write(
            ax,
            x + share * length,
            y + bar_h + 1.2 * k * scale,
            value,
            7,
            ha="center" if share < 1 else "left",
            va="bottom",
            zorder=12,
        )
    sheet.write(ax, x, y - 1.2 * k * scale, f"1:{scale * 1000:,.0f}", 8, va="top", zorder=12)


def _north_arrow(ax, view, scale: float, sheet: _Sheet, crs, text: dict) -> None:
    """An arrow pointing to true north (the local CRS's grid north is off it by the meridian convergence)."""
    k = sheet.k
    cx, cy = view[2] - 12 * k * scale, view[3] - 24 * k * scale
    to_wgs84 = Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = to_wgs84.transform(cx, cy)
    nx, ny = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat + 0.001)
    turn = math.atan2(nx - cx, ny - cy)  # clockwise from grid north
    size = 5 * k * scale

    def at(u, v):
        return (
            cx + (u * math.cos(turn) + v * math.sin(turn)) * size,
            cy + (-u * math.sin(turn) + v * math.cos(turn)) * size,
        )

    ax.add_patch(
        PolygonPatch(
            [at(0, 1.6), at(-0.7, -1), at(0, -0.4)],
            closed=True,
            facecolor="#000000",
            edgecolor="#000000",
            linewidth=0.6,
            zorder=11,
        )
    )
    ax.add_patch(
        PolygonPatch(
            [at(0, 1.6), at(0.7, -1), at(0, -0.4)],
            closed=True,
            facecolor="#ffffff",
            edgecolor="#000000",
            linewidth=0.6,
            zorder=11,
        )
    )
    tx, ty = at(0, 2.1)
    sheet.write(ax, tx, ty, text["north"], 11, ha="center", va="bottom", zorder=12, halo=True)


def _paths(geometries) -> list[MplPath]:
    """Polygons as matplotlib paths, one a feature, holes as holes (rings oriented for the non-zero rule)."""
    geometries = shapely.orient_polygons(np.asarray(geometries, dtype=object))
    paths = []
    for geometry in geometries:
        if geometry is None or geometry.is_empty:
            continue
        rings = [
            ring
            for part in shapely.get_parts(geometry)
            if part.geom_type == "Polygon"
            for ring in (part.exterior, *part.interiors)
        ]
        if rings:
            paths.append(
                MplPath.make_compound_path(*[MplPath(np.asarray(r.coords)[:, :2], closed=True) for r in rings])
            )
    return paths


def _lines(geometries) -> list[np.ndarray]:
    parts = shapely.get_parts(np.asarray(geometries, dtype=object))
    return [np.asarray(p.coords)[:, :2] for p in parts if p.geom_type == "LineString" and not p.is_empty]


def _within(layer: gpd.GeoDataFrame, box) -> gpd.GeoDataFrame:
    """The features of ``layer`` that reach into ``box`` (one index query)."""
    layer = layer[layer.geometry.notna()]
    return layer.iloc[np.sort(layer.sindex.query(box, predicate="intersects"))]


def _round_scale(denominator: float) -> float:
    """The smallest round scale denominator (:data:`SCALE_STEPS` × 10ⁿ) at least ``denominator``."""
    power = 10.0 ** math.floor(math.log10(denominator))
    return next(step * power for step in (*SCALE_STEPS, 10.0) if step * power >= denominator * (1 - 1e-9))


def _round_down(length: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ at most ``length``."""
    power = 10.0 ** math.floor(math.log10(length))
    return max(step * power for step in (1.0, 2.0, 5.0) if step * power <= length * (1 + 1e-9))


def _street_names(streets: gpd.GeoDataFrame) -> list[str]:
    return streets["name"].dropna().astype(str).unique().tolist() if "name" in streets else []


def page_font(families: Sequence[str], lang: str, texts: Sequence[str]) -> FontProperties:
    """The first of ``families`` that is installed, at the weight it has; a CJK font is required when the
    page is in Chinese or shows Chinese names. Fonts installed after matplotlib cached its font list (a CJK font
    installed after a first run) are found in the system's font folders."""
    found = _installed(families) or (_add_new_system_fonts() and _installed(families))
    if found:
        family, weight = found
        return FontProperties(family=family, weight=weight)
    if lang == "zh" or any(is_chinese(t) for t in texts):
        raise InputError(
            "no Chinese (CJK) font is installed for the wall maps: apt-get install fonts-noto-cjk "
            f"(or fonts-wqy-zenhei); looked for {', '.join(families)}",
            zh="未安装上墙图所需的中文（CJK）字体：请执行 apt-get install fonts-noto-cjk"
            f"（或 fonts-wqy-zenhei）；已查找 {'、'.join(families)}",
        )
    return FontProperties(family="DejaVu Sans")


def _installed(families: Sequence[str]) -> tuple[str, object] | None:
    """The first of ``families`` matplotlib knows, and the weight of it closest to regular."""
    names = {entry.name for entry in fontManager.ttflist}
    for family in families:
        if family in names:
            weights = [e.weight for e in fontManager.ttflist if e.name == family]
            return family, min(weights, key=lambda wt: abs(int(wt) - 400) if str(wt).isdigit() else 0)
    return None


def _add_new_system_fonts() -> bool:
    """Add to matplotlib's font list the system's font files it does not know yet; whether any was added."""
    known = {entry.fname for entry in fontManager.ttflist}
    added = False
    for path in findSystemFonts():
        if path not in known:
            try:
                fontManager.addfont(path)
                added = True
            except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read is no font to use
                continue
    return added


def _natural(text: str):
    """Sort key that puts ``1-2`` before ``1-10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(text))]


def file_safe(text: str) -> str:
    """``text`` as part of a file name: runs of characters other than letters, digits, ``.`` and ``-`` as ``_``."""
    return re.sub(r"[^\w.-]+", "_", str(text)).strip("._") or "community"


#: The wall map's words ( by language (the words themselves: :data:`gridplan.vocabulary.WALL_MAP_WORDS`).
_LABELS = {lang: {key: words[i] for key, words in WALL_MAP_WORDS.items()} for i, lang in enumerate(LANGUAGES)}
