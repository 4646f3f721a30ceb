"""gridplan's exceptions: bad input is the user's to fix (exit 2), anything else is ours (exit 1)."""

from __future__ import annotations


class GridplanError(Exception):
    """Base class of every error gridplan raises on purpose."""


class _Bilingual(GridplanError):
    """An error a planner reads: its message in English and, in ``zh``, the same message in Chinese, printed
    instead of the English one by a run in Chinese."""

    def __init__(self, message: str, *, zh: str | None = None):
        super().__init__(message)
        self.zh = zh

    def __reduce__(self):  # raised in a worker process: both messages cross back
        return (_rebuild, (type(self), str(self), self.zh))


def _rebuild(cls: type, message: str, zh: str | None) -> "_Bilingual":
    return cls(message, zh=zh)


class InputError(_Bilingual, ValueError):
    """The input data or options are wrong; the message names what and where (``zh``: the same in Chinese)."""


class InfeasibleError(_Bilingual):
    """The rules cannot all hold for this input (e.g. locked grids leave no valid layout); ``zh``: the message in
    Chinese."""
