"""Plan outputs as tables and text: the layers written to files, the summary printed by the CLI, and the
per-grid report (CSV, XLSX and a one-page HTML summary with inline SVG charts)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gridplan.core.files import atomic_path
from gridplan.core.results import Coverage, Plan
from gridplan.settings import GridSettings, HouseholdSettings
from gridplan.vocabulary import (
    LANGUAGES,
    REPORT_WORDS,
    BranchStatus,
    GridKind,
    NotApplicable,
    Rule,
    Severity,
    check_language,
    column_label,
    household_statement,
    label,
)

from .tables import data_source, grid_table, readable_table


def write_report(
    plan: Plan,
    out_dir,
    coverage: Coverage | None = None,
    *,
    lang: str = "zh",
    title: str | None = None,
    settings: GridSettings | None = None,
    attribution: str | None = None,
) -> list[Path]:
    """The per-grid table as ``grids.csv`` and ``grids.xlsx``, and a one-page ``summary.html`` with charts,
    all in ``lang``, against the bounds the plan was made with.

    Parameters
    ----------
    plan
        The plan.
    out_dir
        Folder to write (created if missing).
    coverage
        Its coverage, if analysed.
    lang
        ``"zh"`` (default) or ``"en"``: headers, labels and the summary.
    title
        The summary's title.
    settings
        The bounds to report against; by default those the plan was made with.
    attribution
        Whom the scene's data is owed to, in the summary's footer (an OpenStreetMap scene:
        ``gridplan.io.osm.OSM_ATTRIBUTION``).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import plan_scene, write_report
    >>> written = write_report(plan_scene(prepared).plan, tempfile.mkdtemp(), lang="en")
    >>> sorted(pathlib.Path(p).name for p in written)
    ['grids.csv', 'grids.xlsx', 'summary.html']
    """
    check_language(lang)
    settings = plan.settings.grid if settings is None else settings
    text = _REPORT_LABELS[lang]
    generated = (coverage.provenance if coverage is not None else plan.provenance).generated_inputs()
    table = grid_table(plan, coverage, settings)
    readable = readable_table(table, lang, generated, settings)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "grids.csv", out / "grids.xlsx", out / "summary.html"]
    # utf-8-sig: Excel opens the CSV with its Chinese headers intact
    with atomic_path(paths[0]) as tmp:
        readable.to_csv(tmp, index=False, encoding="utf-8-sig")
    with atomic_path(paths[1]) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            readable.to_excel(writer, sheet_name=text["sheet"], index=False)
    with atomic_path(paths[2]) as tmp:
        Path(tmp).write_text(
            summary_html(
                table,
                settings,
                lang=lang,
                title=title,
                generated=generated,
                dwelling_size_m2=plan.settings.households.dwelling_size_m2,
                attribution=attribution,
            ),
            encoding="utf-8",
        )
    return paths


if TYPE_CHECKING:
    from gridplan.review.compliance import Compliance

#: Characters a worksheet's name may not hold (Excel), and its longest name.
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})
_SHEET_NAME_MAX = 31


def write_compliance_workbook(compliance: "Compliance", path, lang: str = "zh") -> Path:
    """The failures of a compliance check as an XLSX workbook that returns them to the offices that must fix
    them: a first sheet of counts per rule (with the rules not checked, and why), then one sheet per community
    (社区, the office responsible) with its failures, rule by rule, headers in ``lang``.

    Parameters
    ----------
    compliance
        :func:`gridplan.review.compliance.check_compliance`'s result.
    path
        The ``.xlsx`` file to write.
    lang
        ``"zh"`` (default) or ``"en"``.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    check_language(lang)
    text = _REPORT_LABELS[lang]
    counts = compliance.counts()
    overview = pd.DataFrame(
        {
            column_label("rule", lang): [label(Rule(r), lang) for r in counts["rule"]],
            column_label("severity", lang): [label(Severity(s), lang) for s in counts["severity"]],
            text["failures"]: [None if n else f for f, n in zip(counts["failures"], counts["not_applicable"])],
            text["not_applicable"]: [label(NotApplicable(n), lang) if n else "" for n in counts["not_applicable"]],
        }
    )
    table = pd.DataFrame(compliance.table(lang).drop(columns="geometry"))
    table["rule"] = [label(Rule(r), lang) for r in table["rule"]]
    table["severity"] = [label(Severity(s), lang) for s in table["severity"]]
    table = table.rename(columns={c: column_label(c, lang) for c in table.columns})
    community = column_label("community_id", lang)
    path = Path(path)
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            overview.to_excel(writer, sheet_name=text["compliance_sheet"], index=False)
            offices = table[community].fillna(text["no_community"]).astype(str)
            names = {text["compliance_sheet"]}
            for office, rows in table.groupby(offices, sort=True):
                name = f"{text['community_sheet']}{office}".translate(_SHEET_FORBIDDEN)[:_SHEET_NAME_MAX]
                while name in names:  # two long ids cut to the same name
                    name = name[: _SHEET_NAME_MAX - 1] + "_"
                names.add(name)
                rows.to_excel(writer, sheet_name=name, index=False)
    return path


def summary_html(
    table: pd.DataFrame,
    settings: GridSettings,
    *,
    lang: str = "zh",
    title: str | None = None,
    generated: list[str] | None = None,
    dwelling_size_m2: float | None = None,
    attribution: str | None = None,
) -> str:
    """A one-page HTML summary of :func:`grid_table` with inline SVG charts (no script, no network):
    households per grid against the bounds, how many of them are estimated (from footprint × floors ÷
    ``dwelling_size_m2``, by default the settings' dwelling size), coverage by grid, branch status counts
    and blind spots; a banner names the inputs that were generated, a footer whom the data is owed to
    (``attribution``)."""
    text = _REPORT_LABELS[check_language(lang)]
    ordinary = table[table["kind"] == GridKind.ORDINARY]
    within = settings.bounds_window.contains(ordinary["households"]).mean() if len(ordinary) else float("nan")
    step = 10.0
    top = max(settings.ceiling * 1.5, float(ordinary["households"].max()) if len(ordinary) else 0)
    households = _histogram(
        ordinary["households"].clip(upper=top),
        np.arange(0, top + step, step),
        band=(settings.floor, settings.ceiling),
        marks=[settings.target],
        unit=text["households_axis"],
    )
    total, estimated = int(table["households"].sum()), int(table["households_estimated"].sum())
    statement = household_statement(total, estimated, dwelling_size_m2 or HouseholdSettings().dwelling_size_m2, lang)
    cards = [
        (text["grids"], f"{len(table):,}"),
        (text["households"], f"{total:,}"),
        (column_label("households_estimated", lang), f"{estimated:,}"),
        (text["within_bounds"].format(floor=settings.floor, ceiling=settings.ceiling), _percent(within)),
    ]
    sections = [f"<h2>{text['households_chart']}</h2>{households}"]
    coverage = table["coverage_share"].dropna()
    if len(coverage):
        cards.append(
            (
                text["coverage_mean"],
                _percent(
                    (table["coverage_share"] * table["households"]).sum()
                    / table.loc[coverage.index, "households"].sum()
                ),
            )
        )
        sections.append(
            f"<h2>{text['coverage_chart']}</h2>"
            + _histogram(coverage * 100, np.arange(0, 110, 10), unit=text["coverage_axis"], ticks=11)
        )
    status = table["branch_status"].dropna()
    if len(status):
        counts = status.astype(str).value_counts()
        order = [s.value for s in BranchStatus if s.value in counts.index]
        sections.append(f"<h2>{text['status_chart']}</h2>" + _bars([(label(k, lang), counts[k]) for k in order]))
    blind = table["blind_spot_households"].dropna()
    if len(blind):
        cards.append((text["blind_households"], f"{blind.sum():,.0f}"))
        worst = table.nlargest(10, "blind_spot_households")
        worst = worst[worst["blind_spot_households"] > 0]
        sections.append(
            f"<h2>{text['blind_chart']}</h2>"
            + (
                _bars([(g, v) for g, v in zip(worst["grid_id"], worst["blind_spot_households"])])
                if len(worst)
                else f"<p>{text['no_blind']}</p>"
            )
        )
    card_html = "".join(
        f'<div class="card"><div class="v">{html.escape(v)}</div><div>{html.escape(k)}</div></div>' for k, v in cards
    )
    heading = html.escape(title or text["title"])
    footer = f'<p class="attribution">{html.escape(attribution)}</p>' if attribution else ""
    banner = f'<p class="generated">{html.escape(data_source(lang, generated))}</p>' if generated else ""
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{heading}</title>
<style>body{{font:14px/1.5 sans-serif;margin:24px auto;max-width:960px;color:#222}}
.cards{{display:flex;gap:12px;flex-wrap:wrap}}.card{{border:1px solid #ddd;border-radius:6px;padding:8px 14px}}
.card .v{{font-size:22px;font-weight:bold}}h2{{font-size:16px;margin:20px 0 4px}}svg{{font:11px sans-serif}}
.generated,.estimated{{background:#fff3cd;border:1px solid #e0c36c;padding:6px 10px;border-radius:4px}}</style>
</head><body><h1>{heading}</h1>{banner}<p class="{"estimated" if estimated else "households"}">{html.escape(statement)}</p><div class="cards">{card_html}</div>
{"".join(sections)}{footer}
</body></html>
"""


def _percent(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.1%}"


def _histogram(
    values: pd.Series,
    edges: np.ndarray,
    band=None,
    marks=(),
    unit: str = "",
    ticks: int = 7,
    width: int = 900,
    height: int = 220,
) -> str:
    """A histogram as inline SVG, with an optional shaded band (the bounds) and vertical marks (the target)."""
    counts, _ = np.histogram(values, bins=edges)
    left, bottom, top = 40, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    x = lambda v: left + (v - edges[0]) / (edges[-1] - edges[0]) * plot_w  # noqa: E731
    peak = max(int(counts.max()), 1)
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    if band:
        parts.append(
            f'<rect x="{x(band[0]):.1f}" y="{top}" width="{x(band[1]) - x(band[0]):.1f}" height="{plot_h}" '
            'fill="#d9f0d3"/>'
        )
    for count, a, b in zip(counts, edges[:-1], edges[1:]):
        h = count / peak * plot_h
        parts.append(
            f'<rect x="{x(a) + 0.5:.1f}" y="{top + plot_h - h:.1f}" width="{max(x(b) - x(a) - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="#4575b4"><title>{a:.0f}–{b:.0f}: {count}</title></rect>'
        )
    for mark in marks:
        parts.append(
            f'<line x1="{x(mark):.1f}" x2="{x(mark):.1f}" y1="{top}" y2="{top + plot_h}" stroke="#d73027" '
            'stroke-dasharray="4 3"/>'
        )
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#333"/>')
    for tick in np.linspace(edges[0], edges[-1], ticks):
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 14}" text-anchor="middle">{tick:.0f}</text>')
    parts.append(f'<text x="{left + plot_w}" y="{height - 2}" text-anchor="end">{html.escape(unit)}</text>')
    parts.append(
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>'
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text></svg>'
    )
    return "".join(parts)


def _bars(items: list[tuple[str, float]], width: int = 900) -> str:
    """Horizontal bars with their values, as inline SVG."""
    row, label_w = 22, 220
    peak = max([v for _, v in items] + [1])
    parts = [f'<svg width="{width}" height="{row * len(items) + 4}" role="img">']
    for i, (name, value) in enumerate(items):
        w = value / peak * (width - label_w - 80)
        y = i * row + 2
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{html.escape(str(name))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="#4575b4"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{value:,.0f}</text>'
        )
    return "".join(parts) + "</svg>"


#: The report's words ( by language (the words themselves: :data:`gridplan.vocabulary.REPORT_WORDS`).
_REPORT_LABELS = {lang: {key: words[i] for key, words in REPORT_WORDS.items()} for i, lang in enumerate(LANGUAGES)}
