"""Digests of a plan, by which the suite pins plans that must not change (tests/test_engine.py,
tests/test_partition_district.py)."""

from __future__ import annotations

import hashlib


def digest(lines) -> str:
    """The first 16 hex digits of the SHA-256 of ``lines``, each ended by a newline."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode() + b"\n")
    return h.hexdigest()[:16]


def plan_digests(plan) -> tuple[str, str]:
    """The digests of a plan's assignment (building → grid, sorted) and of its warnings, in order."""
    a = plan.assignment
    assignment = digest(sorted(f"{b}\t{g}" for b, g in zip(a["building_id"].astype(str), a["grid_id"].astype(str))))
    warnings = digest(repr((w.code, str(w.community_id), w.grid_id, w.reason, tuple(w.figures))) for w in plan.warnings)
    return assignment, warnings
