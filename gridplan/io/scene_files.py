"""Scene files: a :class:`~gridplan.core.scene.Scene` read from a GeoPackage, a folder of per-layer files or a
mapping of layer to file, and the one-line errors for files that cannot be read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import geopandas as gpd
import pandas as pd
import pyogrio

from gridplan.core.coords import to_wgs84
from gridplan.core.scene import (
    COORDINATE_SYSTEMS,
    FILE_SUFFIXES,
    GEOMETRY_TYPES,
    ID_COLUMNS,
    LAYERS,
    REQUIRED_COLUMNS,
    REQUIRED_LAYERS,
    SHAPEFILE_NAME_LENGTH,
    Scene,
    id_string,
)
from gridplan.errors import InputError

#: The first bytes of every SQLite database, and so of every GeoPackage.
SQLITE_HEADER = b"SQLite format 3\x00"


def unreadable(path: str | os.PathLike, exc: BaseException, what: str = "", what_zh: str = "") -> InputError:
    """An :class:`InputError` that says why a file cannot be read, in words a planner can act on, instead of
    the driver's text: missing, empty, not a GeoPackage, damaged or truncated. ``what`` (in Chinese ``what_zh``)
    names the part of the file read, e.g. a layer."""
    path = Path(path)
    where = f"{path}{f' ({what})' if what else ''}"
    where_zh = f"{path}{f'（{what_zh or what}）' if what_zh or what else ''}"
    if not path.exists():
        return InputError(f"{where} does not exist", zh=f"{where_zh} 不存在")
    if path.is_file() and path.stat().st_size == 0:
        return InputError(
            f"{where} is empty (0 bytes): write or export it again",
            zh=f"{where_zh} 是空文件（0 字节）：请重新写出或导出",
        )
    if path.suffix.lower() == ".gpkg" and path.is_file():
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
        if header != SQLITE_HEADER:
            return InputError(
                f"{where} is not a GeoPackage (not an SQLite database): export it as GeoPackage from "
                f"QGIS or ogr2ogr, or give a .geojson/.shp/.parquet file",
                zh=f"{where_zh} 不是 GeoPackage（不是 SQLite 数据库）：请用 QGIS 或 ogr2ogr 导出为 "
                "GeoPackage，或提供 .geojson/.shp/.parquet 文件",
            )
        malformed = "malformed" in str(exc)
        why = "its SQLite database is malformed" if malformed else _first_line(exc)[:120]
        return InputError(
            f"{where} is damaged or truncated ({why}): copy or export it again",
            zh=f"{where_zh} 已损坏或不完整（{'其 SQLite 数据库格式错误' if malformed else why}）：请重新复制或导出",
        )
    return InputError(f"cannot read {where}: {_first_line(exc)}", zh=f"无法读取 {where_zh}：{_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


#: What the file drivers raise on a file they cannot read (pyogrio/GDAL, the OS, a text decoder); a programming
#: error (TypeError, AttributeError…) is not among them, so it stays an internal error.
FILE_ERRORS: tuple[type[BaseException], ...] = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    OSError,
    UnicodeError,
)
#: GeoParquet's reader (pyarrow) raises ValueError subclasses (ArrowInvalid) on a file it cannot read.
PARQUET_ERRORS = (*FILE_ERRORS, ValueError)


def read_scene(
    source: str | os.PathLike | Mapping[str, str | os.PathLike],
    *,
    layers: Mapping[str, str] | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    coords: str | Mapping[str, str] = "wgs84",
) -> Scene:
    """Read a scene from a GeoPackage, a folder of per-layer files, or a mapping of layer to file.

    Parameters
    ----------
    source
        A ``.gpkg`` with one layer per scene layer; a folder holding ``<layer>.<ext>`` files
        (GeoJSON, Shapefile, GeoParquet, FlatGeobuf, GeoPackage); or ``{layer: path}``.
    layers
        Scene layer → layer name in the source, where they differ (``{"streets": "roads"}``).
    columns
        Scene layer → {column in the source: gridplan column} (``{"buildings": {"id": "building_id"}}``).
    coords
        Coordinate system of the input: ``"wgs84"`` (also CGCS2000), ``"gcj02"`` (Gaode/Amap, Tencent) or
        ``"bd09"`` (Baidu), for every layer, or per layer (``{"buildings": "gcj02"}``, the others WGS84);
        GCJ-02 and BD-09 layers are converted to WGS84 on reading. Layers in different systems that are not
        said are found by validation (:mod:`gridplan.alignment`).

    Returns
    -------
    Scene
        The layers, in the input CRS (or WGS84 where converted), with identifier columns as strings.

    Raises
    ------
    InputError
        A required layer or column is missing, a file cannot be read, or ``coords`` is unknown.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from gridplan import read_scene
    >>> from gridplan.io.store import write_layers
    >>> from gridplan.scenarios.example import example_scene
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scene.gpkg"
    >>> _ = write_layers(path, example_scene().layers())
    >>> len(read_scene(path).buildings)
    200
    """
    systems = layer_systems(coords)
    layers = dict(layers or {})
    columns = {k: dict(v) for k, v in (columns or {}).items()}
    found = _locate_layers(source, layers)
    data: dict[str, pd.DataFrame | None] = {}
    for name in LAYERS:
        if name not in found:
            if name in REQUIRED_LAYERS:
                raise InputError(
                    f"scene has no {name!r} layer (looked for {layers.get(name, name)!r} in {source})",
                    zh=f"场景没有 {name!r} 图层（已在 {source} 中查找 {layers.get(name, name)!r}）",
                )
            data[name] = None
            continue
        path, layer_name = found[name]
        frame = _read_layer(path, layer_name, name)
        frame = _apply_columns(frame, name, columns.get(name, {}))
        if systems[name] != "wgs84" and isinstance(frame, gpd.GeoDataFrame):
            frame = to_wgs84(frame, systems[name])
        data[name] = frame
    return Scene(**data)


def layer_systems(coords: str | Mapping[str, str]) -> dict[str, str]:
    """The coordinate system of every scene layer, from one system for all or a mapping of some layers.

    Raises
    ------
    InputError
        A system or a layer name is unknown.
    """
    given = {name: coords for name in LAYERS} if isinstance(coords, str) else dict(coords)
    for name, system in given.items():
        if name not in LAYERS:
            raise InputError(
                f"--coords {name}={system}: {name!r} is no scene layer (layers: {', '.join(LAYERS)})",
                zh=f"--coords {name}={system}：{name!r} 不是场景图层（图层：{'、'.join(LAYERS)}）",
            )
        if system not in COORDINATE_SYSTEMS:
            raise InputError(
                f"unknown coordinate system {system!r}: use one of {', '.join(COORDINATE_SYSTEMS)}",
                zh=f"未知的坐标系 {system!r}：可选 {'、'.join(COORDINATE_SYSTEMS)}",
            )
    return {name: given.get(name, "wgs84") for name in LAYERS}


def _locate_layers(source, layer_names: dict[str, str]) -> dict[str, tuple[Path, str | None]]:
    """Scene layer → (file, layer inside the file) for every layer the source has."""
    if isinstance(source, Mapping):
        return {name: (Path(path), None) for name, path in source.items()}
    path = Path(source)
    if not path.exists():
        raise InputError(f"scene source {path} does not exist", zh=f"场景数据源 {path} 不存在")
    if path.is_dir():
        files = {p.stem: p for p in sorted(path.iterdir()) if p.suffix.lower() in FILE_SUFFIXES}
        return {
            name: (files[layer_names.get(name, name)], None) for name in LAYERS if layer_names.get(name, name) in files
        }
    try:
        available = {row[0] for row in pyogrio.list_layers(path)}
    except FILE_ERRORS as exc:
        raise unreadable(path, exc) from exc
    return {name: (path, layer_names.get(name, name)) for name in LAYERS if layer_names.get(name, name) in available}


def _read_layer(path: Path, layer: str | None, name: str) -> pd.DataFrame:
    errors = PARQUET_ERRORS if path.suffix.lower() in (".parquet", ".geoparquet") else FILE_ERRORS
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            frame = gpd.read_parquet(path) if GEOMETRY_TYPES[name] else pd.read_parquet(path)
        else:
            frame = (
                gpd.read_file(path, layer=layer, engine="pyogrio") if layer else gpd.read_file(path, engine="pyogrio")
            )
    except errors as exc:
        raise unreadable(path, exc, f"layer {name!r}", f"图层 {name!r}") from exc
    if path.suffix.lower() == ".shp":
        frame = _untruncate(frame)
    if GEOMETRY_TYPES[name] is None and isinstance(frame, gpd.GeoDataFrame):
        geometry_name = frame.geometry.name if frame._geometry_column_name in frame else None
        frame = pd.DataFrame(frame.drop(columns=[geometry_name] if geometry_name else []))
    return frame


def _untruncate(frame: pd.DataFrame) -> pd.DataFrame:
    """Shapefile cuts column names to 10 characters: give gridplan's own columns their names back."""
    known = (
        {c for cols in REQUIRED_COLUMNS.values() for c in cols}
        | set(ID_COLUMNS)
        | {"households", "households_estimated"}
    )
    back = {c[:SHAPEFILE_NAME_LENGTH]: c for c in known if len(c) > SHAPEFILE_NAME_LENGTH}
    back = {short: long for short, long in back.items() if short not in known}
    return frame.rename(columns={c: back[c] for c in frame.columns if c in back and back[c] not in frame.columns})


def _apply_columns(frame: pd.DataFrame, name: str, mapping: dict[str, str]) -> pd.DataFrame:
    missing_sources = [src for src in mapping if src not in frame.columns]
    if missing_sources:
        raise InputError(
            f"layer {name!r} has no column {missing_sources[0]!r} named in the column map",
            zh=f"图层 {name!r} 没有字段对应关系中指定的列 {missing_sources[0]!r}",
        )
    frame = frame.rename(columns=mapping)
    for column in REQUIRED_COLUMNS[name]:
        if column not in frame.columns:
            raise InputError(
                f"layer {name!r} has no column {column!r} (columns: {', '.join(map(str, frame.columns))}); "
                f"map one with --column {name}.<source>={column}",
                zh=f"图层 {name!r} 没有 {column!r} 列（现有列：{'、'.join(map(str, frame.columns))}）；"
                f"请用 --column {name}.<source>={column} 指定对应的列",
            )
    for column in ID_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].map(id_string, na_action="ignore")
    return frame
