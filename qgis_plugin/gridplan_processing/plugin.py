"""The plugin: registers the provider with Processing, in QGIS and in qgis_process alike."""

from qgis.core import QgsApplication

from .provider import GridplanProvider


class GridplanPlugin:
    """Adds the gridplan provider on load and removes it on unload, as QGIS's SAGA provider plugin does."""

    def __init__(self):
        self.provider = GridplanProvider()

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS's name)
        self.initProcessing()  # a second call is refused by the registry: one provider per id

    def unload(self):
        QgsApplication.processingRegistry().removeProvider(self.provider)
