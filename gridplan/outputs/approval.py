"""The approval package of a grid adjustment (调整方案报审): what a street office files for two plans compared.

- ``comparison.xlsx``: the figures per community side by side, every grid's change, the realignment list;
- ``approval-<community>.pdf``: the 网格调整审批表 of each community (grids before and after with their households,
  the buildings and households moved and why, lines for the opinion and signatures), with the wall maps' CJK font;
- ``changes.html``: the change map (old boundaries dashed over the new grids, moved buildings marked, popups
  "001 → 004"), offline like every map of gridplan;
- ``comparison.gpkg``: the same as GIS layers (:func:`comparison_layers`), styled for QGIS.
"""

from __future__ import annotations

from datetime import date as Date
from pathlib import Path

import folium
import geopandas as gpd
import matplotlib
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from gridplan.core.codes import short_serial
from gridplan.core.files import atomic_path
from gridplan.core.results import Plan, PlanRun, gridplan_version
from gridplan.core.scene import PreparedScene, id_string
from gridplan.io.qgis_styles import layer_styles
from gridplan.io.store import write_layers
from gridplan.review.compare import SHARE_FIGURES, PlanComparison
from gridplan.settings import WALL_MAP_DEFAULTS
from gridplan.style import MOVED_COLOUR, OLD_BOUNDARY_COLOUR
from gridplan.vocabulary import BuildingChange, check_language, comparison_word, label, word

from .wallmap import file_safe, page_font
from .webmap import plan_map, save_map

#: The approval form's paper: A4 portrait, in millimetres, and its text sizes (pt) and line height (mm).
PAGE_MM = (210.0, 297.0)
MARGIN_MM = 15.0
TITLE_PT, HEADING_PT, TEXT_PT = 16.0, 11.0, 8.5
LINE_MM = 5.0


def write_approval(
    comparison: PlanComparison,
    new: Plan | PlanRun,
    prepared: PreparedScene,
    out_dir,
    *,
    old: Plan | PlanRun,
    lang: str = "zh",
    day: Date | None = None,
) -> list[Path]:
    """Write the approval package of a comparison into ``out_dir`` (created if missing).

    Parameters
    ----------
    comparison
        :func:`gridplan.review.compare.compare_plans` of ``old`` and ``new``.
    new, old
        The plans compared: the change map draws ``new``'s grids and ``old``'s boundaries.
    prepared
        The new plan's scene (community names, building footprints, the map's background).
    out_dir
        The folder to write.
    lang
        ``"zh"`` (default) or ``"en"``.
    day
        The date printed on the forms (today by default).

    Returns
    -------
    list of pathlib.Path
        ``comparison.xlsx``, one ``approval-<community>.pdf`` per community, ``changes.html``, ``comparison.gpkg``.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import compare_plans, plan_scene, write_approval
    >>> run = plan_scene(prepared)
    >>> written = write_approval(compare_plans(run, run, prepared), run, prepared, tempfile.mkdtemp(), old=run)
    >>> sorted({pathlib.Path(p).suffix for p in written})
    ['.gpkg', '.html', '.pdf', '.xlsx']
    """
    check_language(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_workbook(comparison, out / "comparison.xlsx", lang)]
    paths += write_approval_forms(comparison, prepared, out, lang=lang, day=day)
    path = out / "changes.html"
    save_map(change_map(comparison, new, old, prepared, lang=lang), path)
    layers = comparison_layers(comparison, new, old, prepared)
    paths += [
        path,
        *write_layers(out / "comparison.gpkg", layers, styles=layer_styles(layers, comparison.settings, lang)),
    ]
    return paths


def comparison_layers(
    comparison: PlanComparison, new: Plan | PlanRun, old: Plan | PlanRun, prepared: PreparedScene
) -> dict[str, gpd.GeoDataFrame]:
    """The comparison as GIS layers, in the new plan's CRS, codes (not labels) in the classification columns.

    Parameters
    ----------
    comparison
        :func:`gridplan.review.compare.compare_plans` of ``old`` and ``new``.
    new, old
        The plans compared (their grid polygons).
    prepared
        The new plan's scene (building footprints).

    Returns
    -------
    dict
        ``grid_changes``: the new grids (``grid_id``, ``code``, ``community_id``, ``kind``, ``households``,
        ``change``, ``continues``: the old code it persists as, ``related``: the old codes it shares buildings
        with); ``old_grids``: the old grids, the same columns towards the new plan; ``realignment``: the
        realignment list with each building's footprint in the new scene (none for a removed building) and
        ``move`` ("001 → 004").
    """
    new, old = (p.plan if isinstance(p, PlanRun) else p for p in (new, old))
    crs = new.grids.crs
    columns = ["grid_id", "code", "community_id", "kind", "households", "change", "continues", "related"]

    def grids(plan: Plan, side: str) -> gpd.GeoDataFrame:
        rows = comparison.grids[comparison.grids["side"] == side].set_index("grid_id")
        ids = plan.grids["grid_id"].map(id_string)
        table = rows.reindex(ids)[columns[1:]].reset_index()
        table["related"] = [", ".join(r) for r in table["related"]]
        return gpd.GeoDataFrame(table, geometry=plan.grids.geometry.to_crs(crs).to_numpy(), crs=crs)

    return {
        "grid_changes": grids(new, "new"),
        "old_grids": grids(old, "old"),
        "realignment": _realignment_footprints(comparison, prepared).to_crs(crs),
    }


def _realignment_footprints(comparison: PlanComparison, prepared: PreparedScene) -> gpd.GeoDataFrame:
    """The realignment list with each building's footprint in the scene (none where it is not there) and its
    move in short serials ("001 → 004", "— → 004" for a new building)."""
    footprints = prepared.scene.buildings
    shapes = pd.Series(footprints.geometry.to_numpy(), index=footprints["building_id"].map(id_string))
    shapes = shapes[~shapes.index.duplicated()]
    moves = comparison.realignment
    serial = lambda code: short_serial(code) if isinstance(code, str) else "—"  # noqa: E731
    out = moves.assign(move=[f"{serial(o)} → {serial(n)}" for o, n in zip(moves["old_code"], moves["new_code"])])
    return gpd.GeoDataFrame(out, geometry=moves["building_id"].map(shapes).to_numpy(), crs=footprints.crs)


def readable_tables(comparison: PlanComparison, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The workbook's sheets as a person reads them, by sheet name: the figures per community side by side,
    the grid changes and the realignment list, with labels and headers in ``lang``."""
    said = lambda key, **f: comparison_word(key, lang, **f)  # noqa: E731
    g = comparison.settings
    figures = comparison.figures.copy()
    figures["difference"] = figures["new"] - figures["old"]
    figures["figure"] = [said(f, tight=g.tight_tolerance, tolerance=g.tolerance) for f in figures["figure"]]
    grids = comparison.grids.drop(columns=["service_radius_m"]).copy()
    grids["side"] = [said(s) for s in grids["side"]]
    grids["kind"] = [label(k, lang) for k in grids["kind"]]
    grids["change"] = [label(c, lang) for c in grids["change"]]
    joined = word("list_separator", lang)
    grids["related"] = [joined.join(r) for r in grids["related"]]
    grids["households_shared"] = [joined.join(map(str, h)) for h in grids["households_shared"]]
    moves = comparison.realignment.copy()
    moves["change"] = [label(c, lang) for c in moves["change"]]
    moves["reason"] = [label(r, lang) if r else "" for r in moves["reason"]]
    tables = {"sheet_summary": figures, "sheet_grids": grids, "sheet_realignment": moves}
    return {said(sheet): table.rename(columns={c: said(c) for c in table.columns}) for sheet, table in tables.items()}


def write_workbook(comparison: PlanComparison, path, lang: str = "zh") -> Path:
    """The comparison as an XLSX workbook (:func:`readable_tables`, a sheet each); returns its path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for sheet, table in readable_tables(comparison, lang).items():
                table.to_excel(writer, sheet_name=sheet, index=False)
    return path


def write_approval_forms(
    comparison: PlanComparison, prepared: PreparedScene, out_dir, *, lang: str = "zh", day: Date | None = None
) -> list[Path]:
    """One 网格调整审批表 a community (``approval-<community>.pdf``, A4, as many pages as it needs); returns the
    files written.

    Raises
    ------
    InputError
        No CJK font is installed and the form is in Chinese or names Chinese places.
    """
    names = _community_names(prepared)
    communities = sorted(comparison.figures["community_id"].unique(), key=str)
    texts = [names.get(c, c) for c in communities]
    font = page_font(WALL_MAP_DEFAULTS.fonts, lang, texts)
    day = (day or Date.today()).isoformat()
    paths = []
    # TrueType (Type 42) keeps the text as text: searchable, and a CJK font is not turned into outlines
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        for community_id in communities:
            form = _Form(font, lang)
            _fill_form(form, comparison, community_id, names.get(community_id, community_id), day)
            path = Path(out_dir) / f"approval-{file_safe(community_id)}.pdf"
            title = f"{comparison_word('approval_title', lang)} {names.get(community_id, community_id)}"
            with atomic_path(path) as tmp:
                with PdfPages(tmp, metadata={"Title": title, "Creator": f"gridplan {gridplan_version()}"}) as pdf:
                    for page in form.pages:
                        pdf.savefig(page)
            paths.append(path)
    return paths


def _fill_form(form: "_Form", comparison: PlanComparison, community_id: str, name: str, day: str) -> None:
    lang, g = form.lang, comparison.settings
    said = lambda key, **f: comparison_word(key, lang, **f)  # noqa: E731
    form.line(said("approval_title"), TITLE_PT, x=0.5, align="center", gap=2.5)
    form.line(f"{said('approval_community', name=name)}    {day}", HEADING_PT, gap=1.5)

    figures = comparison.figures[comparison.figures["community_id"] == community_id]
    form.heading(said("approval_figures"))
    form.row((said("figure"), said("old"), said("new")), (0, 0.55, 0.75), bold=True)
    for f, before, after in zip(figures["figure"], figures["old"], figures["new"]):
        form.row(
            (said(f, tight=g.tight_tolerance, tolerance=g.tolerance), _number(before, f), _number(after, f)),
            (0, 0.55, 0.75),
        )

    grids = comparison.grids[comparison.grids["community_id"] == community_id]
    columns = (0, 0.22, 0.34, 0.52)
    for side, key, arrow in (("old", "approval_grids_before", "→"), ("new", "approval_grids_after", "←")):
        form.heading(said(key))
        form.row((said("code"), said("households"), said("change"), said("related")), columns, bold=True)
        for r in grids[grids["side"] == side].itertuples():
            related = word("list_separator", lang).join(r.related)
            form.row(
                (r.code, f"{r.households:,}", label(r.change, lang), f"{arrow} {related}" if related else ""), columns
            )

    moves = comparison.realignment[comparison.realignment["community_id"] == community_id]
    moved = moves[moves["change"] == BuildingChange.MOVED]
    form.heading(said("approval_moved"))
    form.line(
        said(
            "approval_totals",
            buildings=len(moved),
            households=int(moved["households"].sum()),
            new=int((moves["change"] == BuildingChange.NEW).sum()),
            removed=int((moves["change"] == BuildingChange.REMOVED).sum()),
        ),
        TEXT_PT,
    )
    columns = (0, 0.24, 0.36, 0.64)
    if len(moves):
        form.row(
            (said("building_id"), said("households"), f"{said('old_code')} → {said('new_code')}", said("reason")),
            columns,
            bold=True,
        )
    for r in moves.itertuples():
        reason = label(r.reason, lang) if r.reason else label(r.change, lang)
        form.row(
            (
                r.building_id,
                f"{r.households:,}",
                f"{r.old_code if isinstance(r.old_code, str) else '—'} → "
                f"{r.new_code if isinstance(r.new_code, str) else '—'}",
                reason,
            ),
            columns,
        )
    if not len(moves):
        form.line(said("approval_none_moved"), TEXT_PT)
    form.heading("")
    for key in ("approval_applicant", "approval_opinion", "approval_signature"):
        form.line(said(key), HEADING_PT, gap=8.0)


def _number(value: float, figure: str) -> str:
    if pd.isna(value):
        return "—"
    if figure in SHARE_FIGURES:
        return f"{value:.1%}"
    return f"{value:,.0f}"


class _Form:
    """Pages of A4 written line by line from the top; a new page begins where the text reaches the margin."""

    def __init__(self, font, lang: str):
        self.font, self.lang = font, lang
        self.pages: list[Figure] = []
        self.y = 0.0
        self._new_page()

    def _new_page(self) -> None:
        width, height = PAGE_MM
        self.pages.append(Figure(figsize=(width / 25.4, height / 25.4)))
        self.y = height - MARGIN_MM
        if len(self.pages) > 1:
            self._text(MARGIN_MM, comparison_word("approval_continued", self.lang), TEXT_PT)
            self.y -= LINE_MM

    def _room(self, mm: float) -> None:
        if self.y - mm < MARGIN_MM:
            self._new_page()

    def _text(self, x_mm: float, text: str, points: float, bold: bool = False, align: str = "left") -> None:
        width, height = PAGE_MM
        # a header in colour, not bold: a CJK font is often installed in one weight only
        self.pages[-1].text(
            x_mm / width,
            self.y / height,
            text,
            fontproperties=self.font,
            fontsize=points,
            ha=align,
            va="top",
            color="#000000" if not bold else "#1f3a68",
        )

    def line(self, text: str, points: float, x: float = 0.0, align: str = "left", gap: float = 0.0) -> None:
        """A line of text at ``x`` (share of the text width)."""
        self._room(LINE_MM * points / TEXT_PT + gap)
        self._text(MARGIN_MM + x * (PAGE_MM[0] - 2 * MARGIN_MM), text, points, align=align)
        self.y -= LINE_MM * points / TEXT_PT + gap

    def heading(self, text: str) -> None:
        self.y -= 2.0
        self.line(text, HEADING_PT, gap=0.5)

    def row(self, cells, columns, bold: bool = False) -> None:
        """One table row: ``cells`` at ``columns`` (shares of the text width)."""
        self._room(LINE_MM)
        for cell, x in zip(cells, columns):
            self._text(MARGIN_MM + x * (PAGE_MM[0] - 2 * MARGIN_MM), str(cell), TEXT_PT, bold=bold)
        self.y -= LINE_MM


def change_map(
    comparison: PlanComparison, new: Plan | PlanRun, old: Plan | PlanRun, prepared: PreparedScene, *, lang: str = "zh"
) -> folium.Map:
    """The new plan's map (:func:`gridplan.outputs.webmap.plan_map`, offline) with the old grid boundaries dashed over
    it and the buildings that changed grid marked, each with a popup "001 → 004" (old code → new code)."""
    old = old.plan if isinstance(old, PlanRun) else old
    fmap = plan_map(new, prepared, lang=lang, offline=True)
    boundaries = gpd.GeoDataFrame(
        {"code": [short_serial(c) for c in old.grids["grid_id"].map(id_string).map(_codes(comparison, "old"))]},
        geometry=old.grids.geometry.to_numpy(),
        crs=old.grids.crs,
    ).to_crs(4326)
    folium.GeoJson(
        boundaries,
        name=comparison_word("map_old", lang),
        style_function=lambda _: {"color": OLD_BOUNDARY_COLOUR, "weight": 2.5, "dashArray": "6 4", "fill": False},
        tooltip=folium.GeoJsonTooltip(fields=["code"], aliases=[comparison_word("old_code", lang)]),
    ).add_to(fmap)
    marked = _realignment_footprints(comparison, prepared)
    marked = marked[(marked["change"] != BuildingChange.REMOVED) & marked.geometry.notna()]
    if len(marked):
        marked = marked[["building_id", "move", "households", "geometry"]].to_crs(4326)
        folium.GeoJson(
            marked,
            name=comparison_word("map_moved", lang),
            style_function=lambda _: {
                "color": MOVED_COLOUR,
                "weight": 2,
                "fillColor": MOVED_COLOUR,
                "fillOpacity": 0.7,
            },
            popup=folium.GeoJsonPopup(
                fields=["move", "building_id", "households"],
                aliases=[
                    comparison_word("change", lang),
                    comparison_word("building_id", lang),
                    comparison_word("households", lang),
                ],
            ),
        ).add_to(fmap)
    return fmap


def _codes(comparison: PlanComparison, side: str) -> dict[str, str]:
    grids = comparison.grids[comparison.grids["side"] == side]
    return dict(zip(grids["grid_id"], grids["code"]))


def _community_names(prepared: PreparedScene) -> dict[str, str]:
    communities = prepared.scene.communities
    ids = communities["community_id"].map(id_string)
    if "name" not in communities:
        return dict(zip(ids, ids))
    names = communities["name"].where(
        communities["name"].notna() & communities["name"].astype(str).str.strip().ne(""), ids
    )
    return dict(zip(ids, names.astype(str)))
