"""The bottom layer: the types of the scene and the results (scene, results, metrics, codes, households) and what
they are made with (coordinate systems and their alignment, geometry, files, matching). Imports only settings,
vocabulary, style and errors.
"""
