"""gridplan's QGIS Processing provider: the gridplan command in the Processing toolbox and the graphical modeller."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    """The plugin QGIS loads (``iface`` is None under qgis_process)."""
    from .plugin import GridplanPlugin

    return GridplanPlugin()
