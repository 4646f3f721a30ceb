"""The gridplan Processing provider: its algorithms and its one setting, the gridplan executable."""

from qgis.core import QgsProcessingProvider

from processing.core.ProcessingConfig import ProcessingConfig, Setting

from .algorithms import AuditAlgorithm, CoverageAlgorithm, PlanAlgorithm, RegenerateAlgorithm
from .command import EXECUTABLE


class GridplanProvider(QgsProcessingProvider):
    """plan, regenerate, audit and coverage, each running the gridplan command."""

    def id(self):
        return "gridplan"

    def name(self):
        return "gridplan"

    def longName(self):  # noqa: N802 (QGIS's name)
        return "gridplan: community grids (社区网格)"

    def load(self):
        ProcessingConfig.addSetting(Setting(self.name(), EXECUTABLE, "gridplan executable (or command line)", "",
                                            valuetype=Setting.FILE))
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        ProcessingConfig.removeSetting(EXECUTABLE)

    def loadAlgorithms(self):  # noqa: N802 (QGIS's name)
        for algorithm in (PlanAlgorithm(), RegenerateAlgorithm(), AuditAlgorithm(), CoverageAlgorithm()):
            self.addAlgorithm(algorithm)
