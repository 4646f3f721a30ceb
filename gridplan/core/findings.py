"""What checking a scene found (场景检查): each finding, and the outcome of the check.

The check itself is :func:`gridplan.prepare.validate.validate_scene`; its outcome lives here, below the layers
that carry it (a prepared scene keeps its :class:`Validation`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from gridplan.core.scene import Scene
from gridplan.errors import InputError
from gridplan.vocabulary import LAYER_NAMES_ZH, word

Level = Literal["error", "warning", "repair"]


@dataclass(frozen=True)
class Finding:
    """One thing the check found.

    Attributes
    ----------
    level
        ``"error"`` (planning must not go on), ``"warning"`` (planning goes on; look at it) or
        ``"repair"`` (the data were changed as the message says).
    code
        Stable machine-readable kind, e.g. ``"duplicate_id"``.
    layer
        The scene layer concerned (``"buildings"``, ...).
    message
        One human-readable line, naming up to ten ids and then "and N more".
    ids
        Every id concerned (for ``duplicate_id``: each repeated id once); rows without an id as ``#<index>``.
    count
        How many rows the finding concerns.
    zh
        The message in Chinese (a run in Chinese prints it).
    """

    level: Level
    code: str
    layer: str
    message: str
    ids: tuple[str, ...] = ()
    count: int = 0
    zh: str = ""

    def __str__(self) -> str:
        return f"[{self.code}] {self.layer}: {self.message}"

    def describe(self, lang: str = "zh") -> str:
        """``[code] layer: message`` in ``lang`` (``"zh"`` or ``"en"``)."""
        if lang == "zh" and self.zh:
            return f"[{self.code}] {LAYER_NAMES_ZH.get(self.layer, self.layer)}：{self.zh}"
        return str(self)


@dataclass(frozen=True)
class Validation:
    """The outcome of :func:`validate_scene`.

    Attributes
    ----------
    scene
        The checked scene, in the input CRS (of the buildings): geometries repaired, excluded rows left out,
        buildings with ``community_id`` and ``community_share`` (share of the footprint inside it, as the
        boundaries were delivered; they are then fitted round every building) where the
        CRS allowed the assignment.
    findings
        Errors, warnings and repairs, in the order they were found.
    counts
        Per layer ``{"in": n, "out": n, "excluded": n}`` with ``in == out + excluded``; always has
        ``buildings``, ``households`` (sum of valid registered counts) and ``party_members``.
    """

    scene: Scene
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        """Findings that stop planning."""
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings to look at; planning goes on."""
        return [f for f in self.findings if f.level == "warning"]

    @property
    def repairs(self) -> list[Finding]:
        """Changes made to the data."""
        return [f for f in self.findings if f.level == "repair"]

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def raise_for_errors(self) -> "Validation":
        """Raise :class:`~gridplan.errors.InputError` naming the errors (in one line); else return ``self``."""
        errors = self.errors
        if errors:
            raise InputError(
                f"the scene has {plural(len(errors), 'error', 'errors')}: " + "; ".join(map(str, errors)),
                zh=f"场景有 {len(errors)} 项错误：" + "；".join(f.describe("zh") for f in errors),
            )
        return self

    def table(self, lang: str = "zh") -> pd.DataFrame:
        """The findings as a table (``level``, ``code``, ``layer``, ``message`` in ``lang``, ``ids`` as a list,
        ``count``), as a plan file keeps them (the ids as JSON text, so that an id holding a comma stays one)."""
        return pd.DataFrame(
            [
                {
                    "level": f.level,
                    "code": f.code,
                    "layer": f.layer,
                    "message": f.zh if lang == "zh" and f.zh else f.message,
                    "ids": [str(i) for i in f.ids],
                    "count": f.count,
                }
                for f in self.findings
            ],
            columns=["level", "code", "layer", "message", "ids", "count"],
        )

    def headline(self, lang: str = "zh") -> str:
        """One line: how many errors, warnings and repairs."""
        return word("validation_headline", lang, **self._counted())

    def _counted(self) -> dict:
        """The errors, warnings and repairs counted, as the summaries' words take them."""
        e, w, r = len(self.errors), len(self.warnings), len(self.repairs)
        return {
            "e": e,
            "w": w,
            "r": r,
            "errors": plural(e, "error", "errors"),
            "warnings": plural(w, "warning", "warnings"),
            "repairs": plural(r, "repair", "repairs"),
        }

    def summary(self, lang: str = "zh") -> str:
        """A plain-text report (场景检查) for the command line: counts, then findings by level.

        ``lang`` (``"zh"`` or ``"en"``) words the headings, counts and findings (``code`` is the stable key)."""
        zh = lang == "zh"
        head = word("validation_head", lang, **self._counted())
        names = {name: (LAYER_NAMES_ZH.get(name, name) if zh else name) for name in self.counts}
        width = max(_width(n) for n in names.values()) if names else 0
        columns = [word(key, lang) for key in ("counts_in", "counts_out", "counts_excluded")]
        rows = ["  " + " " * width + "  " + " ".join(_pad(c, 9) for c in columns)] + [
            "  "
            + names[name]
            + " " * (width - _width(names[name]))
            + f"  {c['in']:>9,} {c['out']:>9,} {c['excluded']:>9,}"
            for name, c in self.counts.items()
        ]
        sections = [head, *rows]
        for key, found in (("errors", self.errors), ("warnings", self.warnings), ("repairs", self.repairs)):
            if found:
                sections += [word(key, lang) + word("colon", lang).rstrip(), *(f"  {f.describe(lang)}" for f in found)]
        return "\n".join(sections)


def _width(text: str) -> int:
    """Columns a text takes in a terminal: a Chinese character two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return " " * max(width - _width(text), 0) + text


def plural(n: int, one: str, many: str) -> str:
    """``n`` and the noun, singular or plural: ``1 error``, ``2 errors``."""
    return f"{n:,} {one if n == 1 else many}"
