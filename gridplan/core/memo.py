"""Results of pure geometric work kept, in this process, for the next call on the same geometry.

A regeneration, a re-plan of one community or a hand edit changes a few grids of a scene; the others are the same
polygons as before. What is measured or built of them alone (a grid's polygon from its atoms, a community's tiling
and street alignment) is kept under a digest of exactly what it is made of — the coordinates as stored (WKB) and
the precision grid of every geometry — so a result taken from a :class:`Recent` is the result the work would give.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

import numpy as np
import shapely

V = TypeVar("V")
#: Every :class:`Recent` of the process, for :func:`forget_kept`.
_EVERY: weakref.WeakSet = weakref.WeakSet()


class Recent(Generic[V]):
    """The latest ``kept`` values by key (the least recently used go first).

    Parameters
    ----------
    kept
        How many values are kept.
    """

    def __init__(self, kept: int):
        self.kept = kept
        self._values: OrderedDict[object, V] = OrderedDict()
        _EVERY.add(self)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[object]:
        return iter(self._values)

    def __delitem__(self, key: object) -> None:
        del self._values[key]

    def items(self) -> list[tuple[object, V]]:
        """The keys and values kept, the least recently used first (their order is left as it is)."""
        return list(self._values.items())

    def get(self, key: object) -> V | None:
        """The value kept under ``key`` (now the most recently used), or None."""
        if key not in self._values:
            return None
        self._values.move_to_end(key)
        return self._values[key]

    def put(self, key: object, value: V) -> V:
        """Keep ``value`` under ``key``; returns it."""
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.kept:
            self._values.popitem(last=False)
        return value

    def made(self, key: object, make: Callable[[], V]) -> V:
        """The value kept under ``key``, or ``make()`` kept under it."""
        value = self.get(key)
        return self.put(key, make()) if value is None else value

    def clear(self) -> None:
        """Forget every value."""
        self._values.clear()


def forget_kept() -> None:
    """Forget every value kept in this process (to measure from nothing, or free the memory)."""
    for recent in list(_EVERY):
        recent.clear()


def digest(*parts: bytes | Iterable[bytes]) -> bytes:
    """A 16-byte digest of ``parts`` (byte strings, or sequences of them), each length-prefixed so that no two
    different sequences of parts give the same bytes to hash."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        for piece in (part,) if isinstance(part, bytes) else part:
            h.update(len(piece).to_bytes(8, "little"))
            h.update(piece)
    return h.digest()


def geometry_bytes(geoms: np.ndarray) -> list[bytes]:
    """What each geometry is made of, as bytes: its WKB (every coordinate as stored) and its precision grid (which
    the overlays of a geometry snapped by ``shapely.set_precision`` keep using)."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return []
    wkb = shapely.to_wkb(geoms, hex=False, output_dimension=3, include_srid=False)
    precision = shapely.get_precision(geoms).astype("<f8")
    return [w + p.tobytes() for w, p in zip(wkb.tolist(), precision)]
