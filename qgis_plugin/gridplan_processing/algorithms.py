"""One Processing algorithm per gridplan command: plan, regenerate (plan --previous), audit and coverage.

Each builds the command line from its parameters, runs it (:func:`run_gridplan`) and returns the GeoPackage
written and its layers, so that the graphical modeller can chain them (a plan's file into coverage, its grids
into any vector algorithm). The layers are loaded with the styles gridplan stored in the GeoPackage.
"""

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingOutputVectorLayer,
                       QgsProcessingParameterBoolean, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber, QgsVectorLayer)

from .command import run_gridplan

LANGUAGES = ("zh", "en")
SCENE_FILES = "Scenes (*.gpkg *.osm *.pbf *.geojson *.parquet);;All files (*.*)"
GEOPACKAGE = "GeoPackage (*.gpkg)"


class GridplanAlgorithm(QgsProcessingAlgorithm):
    """A gridplan command: ``gridplan COMMAND SCENE … -o OUTPUT``.

    A subclass names its command, adds its own inputs (:meth:`add_inputs`) and their options
    (:meth:`options`), and lists the layers of its output: output name → (layer, description, loaded).
    """

    command = ""
    title = ""
    help = ""
    layers = {}

    def name(self):
        return type(self).__name__.removesuffix("Algorithm").lower()

    def displayName(self):  # noqa: N802 (QGIS's name)
        return self.title

    def shortHelpString(self):  # noqa: N802 (QGIS's name)
        return self.help

    def createInstance(self):  # noqa: N802 (QGIS's name)
        return type(self)()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS's name)
        self.addParameter(QgsProcessingParameterFile(
            "SCENE", "Scene: GeoPackage, or OpenStreetMap extract (.osm, .osm.pbf)", fileFilter=SCENE_FILES))
        self.add_inputs()
        self.addParameter(QgsProcessingParameterNumber(
            "TARGET", "Households per grid (default: the plan's, else 300)", QgsProcessingParameterNumber.Double,
            optional=True, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            "TOLERANCE", "Tolerance: every grid within target × (1 ± tolerance) (default: the plan's, else 0.2)",
            QgsProcessingParameterNumber.Double, optional=True, minValue=0.01, maxValue=0.99))
        self.addParameter(QgsProcessingParameterEnum("LANG", "Language of warnings and legends", list(LANGUAGES),
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "Output GeoPackage", GEOPACKAGE))
        for output, (_, description, _) in self.layers.items():
            self.addOutput(QgsProcessingOutputVectorLayer(output, description))

    def add_inputs(self):
        """The command's own parameters, after the scene."""

    def options(self, parameters, context):
        """The command's own arguments."""
        return []

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS's name)
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        arguments = [self.command, self.parameterAsFile(parameters, "SCENE", context), *self.options(parameters, context),
                     "-o", output, "--lang", LANGUAGES[self.parameterAsEnum(parameters, "LANG", context)]]
        for name in ("TARGET", "TOLERANCE"):
            if parameters.get(name) not in (None, ""):  # unset, or NULL from the modeller
                arguments += [f"--{name.lower()}", repr(self.parameterAsDouble(parameters, name, context))]
        run_gridplan(arguments, feedback)
        results = {"OUTPUT": output}
        for name, (layer_name, description, loaded) in self.layers.items():
            # constructed here, so that QGIS applies the default style stored in the GeoPackage
            layer = QgsVectorLayer(f"{output}|layername={layer_name}", description, "ogr")
            if not layer.isValid():  # a layer this run did not write (areas without --levels)
                continue
            results[name] = layer.source()
            if loaded:
                context.temporaryLayerStore().addMapLayer(layer)
                context.addLayerToLoadOnCompletion(layer.id(), QgsProcessingContext.LayerDetails(
                    description, context.project(), name))
        return results


class PlanAlgorithm(GridplanAlgorithm):
    command = "plan"
    title = "Plan grids"
    help = ("Partition every community of the scene into grids of about the target number of households (社区网格), "
            "along streets, and write the grids and the buildings' assignment to a GeoPackage, styled for QGIS.")
    layers = {"GRIDS": ("grids", "Grids", True), "BUILDINGS": ("buildings", "Buildings", False),
              "AREAS": ("areas", "First-level areas", True), "MICRO_GRIDS": ("micro_grids", "Micro-grids", False)}

    def add_inputs(self):
        self.addParameter(QgsProcessingParameterBoolean(
            "LEVELS", "Also first-level areas and micro-grids of 10–30 households", defaultValue=False))

    def options(self, parameters, context):
        return ["--levels"] if self.parameterAsBoolean(parameters, "LEVELS", context) else []


class RegenerateAlgorithm(PlanAlgorithm):
    title = "Regenerate grids from a previous plan"
    help = ("Plan again after buildings, households or boundaries changed, keeping the previous plan's grids where "
            "they still meet the rules (grids marked locked exactly) and moving the fewest households; writes the "
            "changes too. The previous plan may be a gridplan plan or a file of grid polygons drawn by hand.")
    layers = {**PlanAlgorithm.layers, "BUILDING_CHANGES": ("building_changes", "Buildings moved", True)}

    def add_inputs(self):
        self.addParameter(QgsProcessingParameterFile("PREVIOUS", "Previous plan (or grid polygons)", fileFilter=SCENE_FILES))
        super().add_inputs()
        self.addParameter(QgsProcessingParameterBoolean(
            "NO_REBALANCE", "Keep every grid within the bounds as it is (no rebalancing)", defaultValue=False))
        self.addParameter(QgsProcessingParameterNumber(
            "MAX_MOVED", "Households rebalancing may move: a share below 1, a count otherwise (default: no cap)",
            QgsProcessingParameterNumber.Double, optional=True, minValue=0))

    def options(self, parameters, context):
        arguments = ["--previous", self.parameterAsFile(parameters, "PREVIOUS", context), *super().options(parameters, context)]
        if self.parameterAsBoolean(parameters, "NO_REBALANCE", context):
            arguments.append("--no-rebalance")
        if parameters.get("MAX_MOVED") not in (None, ""):
            arguments += ["--max-moved", repr(self.parameterAsDouble(parameters, "MAX_MOVED", context))]
        return arguments


class AuditAlgorithm(GridplanAlgorithm):
    command = "audit"
    title = "Audit an existing grid layout"
    help = ("Assign the scene's buildings to existing grid polygons by overlay and measure every grid against the "
            "rules: households against the bounds, service radius, compactness, split buildings, overlaps.")
    layers = {"GRIDS": ("grids", "Audited grids", True)}

    def add_inputs(self):
        self.addParameter(QgsProcessingParameterFile("EXISTING", "Existing grid polygons", fileFilter=SCENE_FILES))

    def options(self, parameters, context):
        return [self.parameterAsFile(parameters, "EXISTING", context)]


class CoverageAlgorithm(GridplanAlgorithm):
    command = "coverage"
    title = "Party-building and service coverage of a plan"
    help = ("Per grid: party members and branch status, joint branches, member–household links, walking distance to "
            "service points (15-minute circle), blind spots, and new service points that cover the most households.")
    layers = {"SERVICE_COVERAGE": ("service_coverage", "Service coverage", True),
              "SERVICE_POINTS": ("service_points", "Service points", True),
              "PROPOSED_SITES": ("proposed_sites", "Proposed service points", True)}

    def add_inputs(self):
        self.addParameter(QgsProcessingParameterFile("PLAN", "Plan written by gridplan", fileFilter=GEOPACKAGE))
        self.addParameter(QgsProcessingParameterNumber(
            "NEW_SERVICE_POINTS", "New service points to propose", QgsProcessingParameterNumber.Integer,
            defaultValue=1, minValue=0))

    def options(self, parameters, context):
        return [self.parameterAsFile(parameters, "PLAN", context),
                "--new-service-points", str(self.parameterAsInt(parameters, "NEW_SERVICE_POINTS", context))]
