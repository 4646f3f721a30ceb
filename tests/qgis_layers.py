"""Open a GeoPackage's layers in QGIS (PyQGIS, headless) and say how each is styled; draw one to a PNG.

Run by the system's Python, where Debian's python3-qgis lives, not the venv's:
``QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_layers.py PLAN.gpkg LAYER[,LAYER…] [DRAW PNG]``.
Prints one JSON object: layer name → validity, renderer, its symbols' fill colours (``#rrggbb``), rule
filters and legend, and the expression of its labels.
"""

import json
import sys

from qgis.core import (QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsRenderContext, QgsRuleBasedRenderer,
                       QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def describe(layer: QgsVectorLayer) -> dict:
    renderer = layer.renderer()
    symbols = renderer.symbols(QgsRenderContext()) if renderer else []
    labeling = layer.labeling() if layer.labelsEnabled() else None
    return {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "renderer": renderer.type() if renderer else None,
        "colours": [s.color().name() for s in symbols],
        "fills": [s.symbolLayer(0).brushStyle() != 0 for s in symbols],
        "rules": [r.filterExpression() for r in renderer.rootRule().children()]
        if isinstance(renderer, QgsRuleBasedRenderer) else [],
        "legend": [r.label() for r in renderer.rootRule().children()]
        if isinstance(renderer, QgsRuleBasedRenderer) else [],
        "labels": labeling.settings().fieldName if labeling else None,
        "aliases": {field.name(): field.alias() for field in layer.fields() if field.alias()},
    }


def draw(layer: QgsVectorLayer, png: str) -> None:
    """The layer alone on a black background (no colour of the styles), 600 pixels wide."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setBackgroundColor(QColor(0, 0, 0))
    extent = layer.extent()
    settings.setOutputSize(QSize(600, max(1, round(600 * extent.height() / extent.width()))))
    settings.setExtent(extent)
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(png, "PNG")


def main() -> None:
    path, names = sys.argv[1], sys.argv[2].split(",")
    app = QgsApplication([], False)
    app.initQgis()
    layers = {name: QgsVectorLayer(f"{path}|layername={name}", name, "ogr") for name in names}
    print(json.dumps({name: describe(layer) for name, layer in layers.items()}))
    if len(sys.argv) == 5:
        draw(layers[sys.argv[3]], sys.argv[4])
    del layers
    app.exitQgis()


if __name__ == "__main__":
    main()
