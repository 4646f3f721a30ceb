"""gridplan's exceptions: bad input is the user's to fix (exit 2), anything else is ours (exit 1)."""

from __future__ import annotations


class GridplanError(Exception):
    """Base class of every error gridplan raises on purpose."""


class InputError(GridplanError, ValueError):
    """The input data or options are wrong; the message names what and where."""


class InfeasibleError(GridplanError):
    """The rules cannot all hold for this input (e.g. locked grids leave no valid layout)."""
