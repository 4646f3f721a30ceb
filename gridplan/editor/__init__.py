"""The planner's editor (``gridplan edit``): a plan's grids adjusted by hand in the browser, with the engine beside
the planner. :mod:`.session` holds the edits and their rules, :mod:`.server` serves them over HTTP on loopback,
``static/`` is the page."""
