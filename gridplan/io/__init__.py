"""Files and databases: scene files, OpenStreetMap, the plan store (GeoPackage, GeoJSON, GeoParquet), PostGIS and
the QGIS styles written into a GeoPackage.
"""
