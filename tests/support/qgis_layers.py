"""Open a GeoPackage's layers in QGIS (PyQGIS, headless) and say how each is styled; draw one to a PNG.

Run by the system's Python, where Debian's python3-qgis lives, not the venv's. Once, from the command line:
``QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/support/qgis_layers.py PLAN.gpkg LAYER[,LAYER…] [DRAW PNG]``
prints one JSON object: layer name → validity, renderer, its symbols' fill colours (``#rrggbb``), rule
filters and legend, the expression of its labels and the fields' aliases.

Or as a worker that starts QGIS once and answers many requests (tests/support/headless_qgis.py drives it):
``… qgis_layers.py --serve`` reads one JSON request a line on standard input, ``{"path": …, "layers": […],
"draw": [LAYER, PNG] or null}``, and writes one JSON line for each on standard output: ``{"layers": {…}}`` as
above, or ``{"error": traceback}``. It stops at the end of its input.
"""

import json
import os
import sys
import traceback

from qgis.core import (
    QgsApplication,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsRenderContext,
    QgsRuleBasedRenderer,
    QgsVectorLayer,
)
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
        if isinstance(renderer, QgsRuleBasedRenderer)
        else [],
        "legend": [r.label() for r in renderer.rootRule().children()]
        if isinstance(renderer, QgsRuleBasedRenderer)
        else [],
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


def look(path: str, names: list, drawn: list | None = None) -> dict:
    """How QGIS sees each of the layers ``names`` of ``path``; ``drawn`` (layer, PNG) draws one of them."""
    layers = {name: QgsVectorLayer(f"{path}|layername={name}", name, "ogr") for name in names}
    seen = {name: describe(layer) for name, layer in layers.items()}
    if drawn:
        draw(layers[drawn[0]], drawn[1])
    return seen


def serve() -> None:
    """Answer requests until standard input ends, each on one line of the standard output it started with."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what QGIS or GDAL print must not break the answers' lines
    for line in sys.stdin:
        try:
            request = json.loads(line)
            answer = {"layers": look(request["path"], request["layers"], request.get("draw"))}
        except Exception:  # the request failed, not the worker: say why and take the next one
            answer = {"error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    app = QgsApplication([], False)
    app.initQgis()
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        print(json.dumps(look(sys.argv[1], sys.argv[2].split(","), sys.argv[3:5] if len(sys.argv) == 5 else None)))
    app.exitQgis()


if __name__ == "__main__":
    main()
