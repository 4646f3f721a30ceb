"""What every storage driver of :mod:`gridplan.io.store` shares: whether a target is a PostGIS database, and
columns every driver can store.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def is_dsn(target: object) -> bool:
    """Whether ``target`` is a PostgreSQL connection URL (``postgresql://user@host/db``)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns every driver can store: lists and tuples become JSON arrays of text (an id may hold a comma,
    a quote or any character; :func:`gridplan.core.results.as_list` reads them back, and older comma-joined text)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object and column != getattr(out, "_geometry_column_name", None):
            sample = out[column].dropna()
            if len(sample) and isinstance(sample.iloc[0], (list, tuple, set, np.ndarray)):
                out[column] = out[column].map(
                    lambda v: (
                        json.dumps([str(x) for x in v], ensure_ascii=False)
                        if isinstance(v, (list, tuple, set, np.ndarray))
                        else v
                    )
                )
    return out
