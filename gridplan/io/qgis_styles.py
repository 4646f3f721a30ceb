"""QGIS layer styles of a plan, a comparison and a compliance check: QML documents stored in the GeoPackage's
``layer_styles`` table.

QGIS applies the default style it finds there when it opens a layer, so a plan file opens styled, as the web
map draws it: grids coloured by their households against the target (the web map's scale, in the classes of
the bounds), special grids apart, codes as labels; areas and micro-grids in outline, buildings light; a
comparison's new grids by what they are of the old ones, the old grids dashed, moved buildings labelled "001 → 004";
a compliance check's failures by rule, in the colour of its severity. The table
is the one QGIS itself writes (``QgsVectorLayer.saveStyleToDatabase`` through GDAL): same columns, registered
in ``gpkg_contents`` as attributes. gridplan writes the QML text itself and never imports PyQGIS.
"""

from __future__ import annotations

import os
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from typing import Mapping

import geopandas as gpd
import pandas as pd

from gridplan.settings import GridSettings
from gridplan.style import (
    BUILDING_CHANGE_COLOURS,
    DEVIATION_COLOURS,
    GRID_CHANGE_COLOURS,
    OLD_BOUNDARY_COLOUR,
    SEVERITY_COLOURS,
    SPECIAL_COLOUR,
)
from gridplan.vocabulary import BuildingChange, GridKind, GridMatch, Rule, Severity, column_label, label, severity, word

#: QGIS's table of layer styles in a GeoPackage (:mod:`gridplan.io.qgis_styles`): no layer of a result.
LAYER_STYLES = "layer_styles"
#: ``styleName`` of the styles gridplan writes; a style of another name (the planner's own) is left alone.
STYLE_NAME = "gridplan"
#: The QGIS version whose style documents these follow (Debian 12's; the plugin's minimum too).
QGIS_VERSION = "3.22"
_OUTLINE = "#333333"
#: Columns of the ``warnings`` table whose header is a word of their own (the others are the vocabulary's).
WARNING_FIELDS = {
    "code": "warning_code",
    "reason": "warning_reason",
    "figures": "warning_figures",
    "message": "warning_message",
}

# The statements GDAL runs when QGIS saves the first style into a GeoPackage, copied so QGIS finds its own table.
_CREATE = f"""CREATE TABLE IF NOT EXISTS "{LAYER_STYLES}" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), "f_geometry_column" TEXT(256),
"styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, "useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30),
"ui" TEXT(30), "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""
_COUNT_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS "trigger_{event}_feature_count_{LAYER_STYLES}" AFTER {event.upper()} ON "{LAYER_STYLES}"
    BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count {sign} 1
    WHERE lower(table_name) = lower('{LAYER_STYLES}'); END"""
    for event, sign in (("insert", "+"), ("delete", "-"))
]
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"


def layer_styles(layers: Mapping[str, pd.DataFrame], settings: GridSettings, lang: str = "zh") -> dict[str, str]:
    """The QGIS style (QML) of each layer of a plan, an audit, a comparison or a compliance check that has one.

    Parameters
    ----------
    layers
        Layer name → frame, as written (:func:`gridplan.io.store.plan_layers`, an audit's layers,
        :func:`gridplan.outputs.approval.comparison_layers`, :meth:`gridplan.review.compliance.Compliance.table` as ``failures``).
    settings
        The bounds the grids are coloured against: the plan's own (``run.plan.settings.grid``).
    lang
        Language of the legend.

    Returns
    -------
    dict
        Layer name → QML text, for ``grids`` (rules on households against the bounds, special grids apart,
        labelled with their code), ``areas`` (outline, labelled), ``micro_grids`` (thin outline) and
        ``buildings`` (light); ``grid_changes`` (rules on ``change``, labelled with the code), ``old_grids``
        (dashed outline), ``realignment`` (rules on ``change``, labelled with ``move``), ``failures`` (rules on
        ``rule``, filled in the colour of its severity, labelled with ``failure_id``); and ``warnings``, a table
        with nothing to draw, its columns named in ``lang`` (the attribute table's headers).
    """
    builders = {
        "grids": _grids,
        "areas": _areas,
        "micro_grids": _micro_grids,
        "buildings": _buildings,
        "grid_changes": _grid_changes,
        "old_grids": _old_grids,
        "realignment": _realignment,
        "failures": _failures,
    }
    styles = {
        name: _document(*build(layers[name], settings, lang))
        for name, build in builders.items()
        if isinstance(layers.get(name), gpd.GeoDataFrame)
    }
    if layers.get("warnings") is not None:
        styles["warnings"] = _table_document(_aliases(list(layers["warnings"].columns), WARNING_FIELDS, lang))
    return styles


def write_layer_styles(path: str | os.PathLike, styles: Mapping[str, str]) -> None:
    """Store styles in a GeoPackage's ``layer_styles`` table as each layer's default, as QGIS stores them.

    A previous gridplan style of a layer is replaced; the planner's own styles stay, no longer the default.

    Parameters
    ----------
    path
        A GeoPackage holding the layers named in ``styles``.
    styles
        Layer name → QML (:func:`layer_styles`).
    """
    with closing(sqlite3.connect(path)) as db, db:  # closed, and committed as one transaction
        geometry = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        new = db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (LAYER_STYLES,)).fetchone() is None
        db.execute(_CREATE)
        if new:
            db.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) "
                f"VALUES (?, 'attributes', ?, '', {_NOW}, 0)",
                (LAYER_STYLES, LAYER_STYLES),
            )
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_ogr_contents'").fetchone():
                db.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES (?, 0)", (LAYER_STYLES,))
                for trigger in _COUNT_TRIGGERS:
                    db.execute(trigger)
        for table, qml in styles.items():
            db.execute(f'DELETE FROM "{LAYER_STYLES}" WHERE f_table_name = ? AND styleName = ?', (table, STYLE_NAME))
            db.execute(f'UPDATE "{LAYER_STYLES}" SET useAsDefault = 0 WHERE f_table_name = ?', (table,))
            db.execute(
                f'INSERT INTO "{LAYER_STYLES}" (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, '
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, update_time) "
                f"VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', {_NOW})",
                (table, geometry.get(table, ""), STYLE_NAME, qml, f"gridplan: {table}"),
            )


def _grids(grids: gpd.GeoDataFrame, settings: GridSettings, lang: str) -> tuple[ET.Element, ET.Element | None]:
    """Households against the bounds in five classes of the web map's colours, from below the floor to above
    the ceiling, the tight band white; grids of another kind than ordinary in the special colour."""
    low, high = settings.tight_window
    figures = {
        "floor": settings.floor,
        "ceiling": settings.ceiling,
        "low": low,
        "high": high,
        "target": settings.target,
        "tight": settings.tight_tolerance,
    }
    h = '"households"'
    classes = [
        (f"{h} < {settings.floor:.10g}", "below_floor", settings.floor > 0),
        (f"{h} >= {settings.floor:.10g} AND {h} < {low:.10g}", "under_target", settings.floor < low),
        (f"{h} >= {low:.10g} AND {h} <= {high:.10g}", "near_target", True),
        (f"{h} > {high:.10g} AND {h} <= {settings.ceiling:.10g}", "over_target", high < settings.ceiling),
        (f"{h} > {settings.ceiling:.10g}", "above_ceiling", True),
    ]
    rules = []
    ordinary = f"\"kind\" = '{GridKind.ORDINARY.value}'" if "kind" in grids else ""
    if ordinary:
        others = " / ".join(label(kind, lang) for kind in GridKind if kind != GridKind.ORDINARY)
        rules.append((f"\"kind\" <> '{GridKind.ORDINARY.value}'", others, _fill(SPECIAL_COLOUR)))
    for (expression, key, present), colour in zip(classes, DEVIATION_COLOURS):
        if present:
            rules.append(
                (f"{ordinary} AND {expression}" if ordinary else expression, word(key, lang, **figures), _fill(colour))
            )
    code = 'coalesce("code", "grid_id")' if "code" in grids else '"grid_id"'
    return _rule_renderer(rules), _labels(code, size=9)


def _areas(areas: gpd.GeoDataFrame, settings: GridSettings, lang: str) -> tuple[ET.Element, ET.Element | None]:
    return _single(_fill(None, outline="#000000", width_mm=0.8)), _labels('"area_id"', size=11)


def _micro_grids(micro: gpd.GeoDataFrame, settings: GridSettings, lang: str) -> tuple[ET.Element, ET.Element | None]:
    return _single(_fill(None, outline="#555555", width_mm=0.15, outline_style="dash")), None


def _buildings(buildings: gpd.GeoDataFrame, settings: GridSettings, lang: str) -> tuple[ET.Element, ET.Element | None]:
    return _single(_fill("#e0e0e0", outline="#9e9e9e", width_mm=0.1)), None


def _grid_changes(grids: gpd.GeoDataFrame, settings: GridSettings, lang: str) -> tuple[ET.Element, ET.Element | None]:
    """A new grid by what it is of the old ones (:class:`~gridplan.vocabulary.GridMatch`), labelled with its code."""
    rules = [
        (f"\"change\" = '{m.value}'", label(m, lang), _fill(GRID_CHANGE_COLOURS[m.value]))
        for m in GridMatch
        if m != GridMatch.RETIRED
    ]
    return _rule_renderer(rules), _labels('coalesce("code", "grid_id")', size=9)


def _old_grids(grids: gpd.GeoDataFrame, settings: GridSettings, lang: str) -> tuple[ET.Element, ET.Element | None]:
    # dashed and unfilled, as on the change map, so that the new grids show through
    return _single(_fill(None, outline=OLD_BOUNDARY_COLOUR, width_mm=0.6, outline_style="dash")), None


def _realignment(moves: gpd.GeoDataFrame, settings: GridSettings, lang: str) -> tuple[ET.Element, ET.Element | None]:
    """A building by what became of it (:class:`~gridplan.vocabulary.BuildingChange`), labelled "001 → 004"."""
    rules = [
        (f"\"change\" = '{c.value}'", label(c, lang), _fill(BUILDING_CHANGE_COLOURS[c.value], width_mm=0.2))
        for c in BuildingChange
    ]
    return _rule_renderer(rules), _labels('"move"', size=8)


def _failures(failures: gpd.GeoDataFrame, settings: GridSettings, lang: str) -> tuple[ET.Element, ET.Element | None]:
    """A failure by its rule (:class:`~gridplan.vocabulary.Rule`) in the colour of its severity, as on the
    compliance map, half transparent over the grids; labelled with its id, the one the workbook lists."""
    rules = [
        (
            f"\"rule\" = '{r.value}'",
            label(r, lang),
            _fill(
                SEVERITY_COLOURS[severity(r).value],
                outline=SEVERITY_COLOURS[Severity.RULE.value],
                width_mm=0.5,
                alpha=0.5,
            ),
        )
        for r in Rule
    ]
    return _rule_renderer(rules), _labels('"failure_id"', size=8)


def _aliases(columns: list[str], words: Mapping[str, str], lang: str) -> ET.Element:
    """The headers QGIS shows for a layer's columns: ``words`` (column → key of :data:`WORDS`), else the
    vocabulary's column labels."""
    aliases = ET.Element("aliases")
    for index, column in enumerate(columns):
        name = word(words[column], lang) if column in words else column_label(column, lang)
        ET.SubElement(aliases, "alias", field=column, index=str(index), name=name)
    return aliases


def _table_document(aliases: ET.Element) -> str:
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Fields")
    root.append(aliases)
    return _qml(root)


def _qml(root: ET.Element) -> str:
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")


def _document(renderer: ET.Element, labeling: ET.Element | None) -> str:
    root = ET.Element(
        "qgis",
        version=QGIS_VERSION,
        styleCategories="Symbology|Labeling",
        labelsEnabled="1" if labeling is not None else "0",
    )
    root.append(renderer)
    if labeling is not None:
        root.append(labeling)
    return _qml(root)


def _rgba(colour: str) -> str:
    """``#rrggbb`` as QGIS writes a colour: ``r,g,b,a``."""
    return ",".join(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5)) + ",255"


def _fill(
    colour: str | None,
    outline: str = _OUTLINE,
    width_mm: float = 0.26,
    outline_style: str = "solid",
    alpha: float = 1.0,
) -> ET.Element:
    """A polygon symbol: a solid fill (none where ``colour`` is None) within an outline, ``alpha`` its opacity."""
    symbol = ET.Element("symbol", type="fill", name="", alpha=f"{alpha:g}", clip_to_extent="1", force_rhr="0")
    layer = ET.SubElement(symbol, "layer", attrib={"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
    options = ET.SubElement(layer, "Option", type="Map")
    for name, value in (
        ("color", _rgba(colour or "#ffffff")),
        ("style", "solid" if colour else "no"),
        ("outline_color", _rgba(outline)),
        ("outline_style", outline_style),
        ("outline_width", f"{width_mm:g}"),
        ("outline_width_unit", "MM"),
        ("joinstyle", "bevel"),
    ):
        ET.SubElement(options, "Option", type="QString", name=name, value=value)
    return symbol


def _symbols(symbols: list[ET.Element]) -> ET.Element:
    element = ET.Element("symbols")
    for i, symbol in enumerate(symbols):
        symbol.set("name", str(i))
        element.append(symbol)
    return element


def _single(symbol: ET.Element) -> ET.Element:
    renderer = ET.Element("renderer-v2", type="singleSymbol", forceraster="0", symbollevels="0", enableorderby="0")
    renderer.append(_symbols([symbol]))
    return renderer


def _rule_renderer(rules: list[tuple[str, str, ET.Element]]) -> ET.Element:
    """A rule-based renderer: one rule (filter expression, legend label, symbol) a class."""
    renderer = ET.Element("renderer-v2", type="RuleRenderer", forceraster="0", symbollevels="0", enableorderby="0")
    root = ET.SubElement(renderer, "rules", key="root")
    for i, (expression, legend, _) in enumerate(rules):
        ET.SubElement(root, "rule", key=f"rule{i}", filter=expression, label=legend, symbol=str(i))
    renderer.append(_symbols([symbol for _, _, symbol in rules]))
    return renderer


def _labels(expression: str, size: float) -> ET.Element:
    """Labels of an expression at each polygon's centre (inside it), haloed to read over any fill."""
    labeling = ET.Element("labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    ET.SubElement(
        settings,
        "text-style",
        fieldName=expression,
        isExpression="1",
        fontSize=f"{size:g}",
        fontSizeUnit="Point",
        textColor="0,0,0,255",
        textOpacity="1",
        fontWeight="75",
    )
    ET.SubElement(
        settings,
        "text-buffer",
        bufferDraw="1",
        bufferSize="0.8",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="1",
    )
    ET.SubElement(settings, "placement", placement="1", centroidInside="1", centroidWhole="0")
    ET.SubElement(settings, "rendering", obstacle="1", drawLabels="1")
    return labeling
