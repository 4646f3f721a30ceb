"""The QGIS styles gridplan stores in a GeoPackage, read back with sqlite3 and checked against the layers they
style: every field a rule, a label or an alias names is a column of its layer, and every value of a rule's field
falls under one of its rules (so no feature is left undrawn)."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing

from gridplan.io.qgis_styles import STYLE_NAME
from gridplan.io.store import LAYER_STYLES, read_layers

#: A rule's filter as gridplan writes it for a classification: "field" = 'value'.
EQUALS = re.compile(r"""^"(\w+)" = '([^']*)'$""")


def stored_styles(path) -> dict[str, ET.Element]:
    """Layer → its default gridplan style (QML parsed), from the GeoPackage's ``layer_styles`` table."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            f"SELECT f_table_name, styleQML FROM {LAYER_STYLES} WHERE styleName = ? AND useAsDefault = 1", (STYLE_NAME,)
        ).fetchall()
    return {name: ET.fromstring(qml.split("\n", 1)[1]) for name, qml in rows}


def assert_styles_fit(path, names) -> dict[str, ET.Element]:
    """Each of the layers ``names`` of ``path`` has its style; classifications cover every feature; returns the styles."""
    styles, layers = stored_styles(path), read_layers(path)
    assert set(names) <= set(styles), sorted(styles)
    for name in names:
        columns = set(layers[name].columns)
        filters = [rule.get("filter") for rule in styles[name].iter("rule")]
        classes = [EQUALS.match(f).groups() for f in filters]  # every rule a classification of one field
        fields = {field for field, _ in classes}
        assert fields <= columns, (name, fields)
        for field in fields:
            assert set(layers[name][field].dropna()) <= {value for f, value in classes if f == field}, name
        for text in styles[name].iter("text-style"):
            assert set(re.findall(r'"(\w+)"', text.get("fieldName"))) <= columns, name
    return styles
