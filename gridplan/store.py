"""Writing results: GeoPackage (default), GeoJSON or GeoParquet, always atomically.

A write goes to a temporary file beside the target and is renamed over it when complete, so an
interrupted run leaves the previous file intact, never a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import geopandas as gpd
import pandas as pd

from .errors import InputError

FORMATS = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".parquet": "parquet", ".geoparquet": "parquet"}


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``, else remove it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)  # drivers refuse to create over an existing (empty) file
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_layers(target: str | os.PathLike, layers: Mapping[str, pd.DataFrame]) -> list[Path]:
    """Write named layers; returns the files written.

    Parameters
    ----------
    target
        ``x.gpkg``: one GeoPackage with a layer each (replaced as a whole). ``x.geojson`` or
        ``x.parquet``: one file a layer, ``x.<layer>.geojson`` / ``x.<layer>.parquet``.
    layers
        Layer name → GeoDataFrame, or DataFrame for a table without geometry.
    """
    target = Path(target)
    kind = FORMATS.get(target.suffix.lower())
    if kind is None:
        raise InputError(f"cannot write {target.name}: use .gpkg, .geojson or .parquet")
    if kind == "gpkg":
        with atomic_path(target) as tmp:
            for name, frame in layers.items():
                _write_one(frame, tmp, kind, layer=name)
        return [target]
    written = []
    for name, frame in layers.items():
        path = target.with_name(f"{target.stem}.{name}{target.suffix}")
        with atomic_path(path) as tmp:
            _write_one(frame, tmp, kind)
        written.append(path)
    return written


def _write_one(frame: pd.DataFrame, path: Path, kind: str, layer: str | None = None) -> None:
    frame = _storable(frame)
    if kind == "parquet":
        frame.to_parquet(path)
    elif isinstance(frame, gpd.GeoDataFrame):
        frame.to_file(path, layer=layer, driver="GPKG" if kind == "gpkg" else "GeoJSON", engine="pyogrio")
    else:
        import pyogrio

        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG" if kind == "gpkg" else "GeoJSON")


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns every driver can store: lists and tuples become comma-joined text."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object and column != getattr(out, "_geometry_column_name", None):
            sample = out[column].dropna()
            if len(sample) and isinstance(sample.iloc[0], (list, tuple, set)):
                out[column] = out[column].map(lambda v: ",".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
    return out
