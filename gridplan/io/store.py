"""Results in and out: GeoPackage (default), GeoJSON or GeoParquet files, and PostGIS.

Every format written reads back into the same result: :func:`write_plan` / :func:`read_plan` and
:func:`write_coverage` / :func:`read_coverage`. A ``.gpkg`` holds one layer per table; ``x.geojson`` and
``x.parquet`` stand for a family of files, one a layer (``x.grids.geojson``, ``x.buildings.geojson``…; in a
GeoJSON family, tables and empty layers are JSON Table Schema files, ``x.warnings.json``, which keep their columns); a
``postgresql://`` URL stores them in PostGIS (:mod:`gridplan.io.postgis`).

Writes are atomic: each goes to a temporary file beside the target and is renamed over it when complete, so an
interrupted run leaves the previous file intact, never a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Mapping

import geopandas as gpd
import pandas as pd
import pyogrio

from gridplan.core.files import atomic_path
from gridplan.core.metrics import PlanMetrics
from gridplan.core.results import (
    COVERAGE_LAYERS,
    PROVENANCE_LAYER,
    Coverage,
    Levels,
    Plan,
    PlanChanges,
    PlanRun,
    PreviousPlan,
    Provenance,
    certificates_from_table,
    certificates_table,
    warnings_from_table,
    warnings_table,
)
from gridplan.core.scene import PreparedScene, id_string
from gridplan.errors import InputError
from gridplan.vocabulary import OUTPUT_KINDS_ZH

from .drivers import is_dsn, storable
from .postgis import read_layers_postgis, redact, write_plan_postgis
from .qgis_styles import LAYER_STYLES, layer_styles, write_layer_styles
from .scene_files import FILE_ERRORS, PARQUET_ERRORS, unreadable

FORMATS = {".gpkg": "gpkg", ".geojson": "geojson", ".parquet": "parquet", ".geoparquet": "parquet"}
#: Suffix of a table (or an empty layer, whose columns GeoJSON cannot hold) in a GeoJSON family: JSON Table Schema.
TABLE_SUFFIX = ".json"
#: Layers of a plan file besides ``grids`` and ``buildings``.
PLAN_LAYERS = (
    "grids",
    "buildings",
    "staffing",
    "warnings",
    "certificates",
    "metrics",
    "provenance",
    "code_history",
    "areas",
    "micro_grids",
    "building_changes",
    "grid_changes",
    "regeneration_tradeoff",
)


def write_layers(
    target: str | os.PathLike, layers: Mapping[str, pd.DataFrame], styles: Mapping[str, str] | None = None
) -> list[Path]:
    """Write named layers; returns the files written.

    Parameters
    ----------
    target
        ``x.gpkg``: one GeoPackage with a layer each (replaced as a whole). ``x.geojson`` or
        ``x.parquet``: one file a layer, ``x.<layer>.geojson`` / ``x.<layer>.parquet``.
    layers
        Layer name → GeoDataFrame, or DataFrame for a table without geometry.
    styles
        Layer name → QGIS style (:func:`gridplan.io.qgis_styles.layer_styles`), stored in a GeoPackage as the
        layers' default styles; other formats have no place for them.
    """
    target = Path(target)
    kind = file_format(target)
    if kind == "gpkg":
        with atomic_path(target) as tmp:
            for name, frame in layers.items():
                _write_one(frame, tmp, kind, layer=name)
            if styles:
                write_layer_styles(tmp, styles)
        return [target]
    written = []
    for name, frame in layers.items():
        path = layer_path(target, name, frame)
        with atomic_path(path) as tmp:
            _write_one(frame, tmp, kind if path.suffix != TABLE_SUFFIX else "table")
        written.append(path)
    return written


def read_layers(source: str | os.PathLike, names: tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
    """The layers a :func:`write_layers` target holds (only ``names`` where given), by name.

    Raises
    ------
    InputError
        The source does not exist or cannot be read.
    """
    if is_dsn(source):
        return read_layers_postgis(str(source), names)
    path = Path(source)
    kind = file_format(path)
    if kind == "gpkg":
        try:
            present = [row[0] for row in pyogrio.list_layers(path)]
        except FILE_ERRORS as exc:
            raise unreadable(path, exc) from exc
        wanted = [name for name in present if (name in names if names is not None else name != LAYER_STYLES)]
        return {name: _read_one(path, kind, name) for name in wanted}
    found = {p.name[len(path.stem) + 1 : -len(p.suffix)]: p for p in _files_of(path)[1:]}
    if not found:
        raise InputError(
            f"{path} does not exist: a {path.suffix} result is a family of files {path.stem}.<layer>{path.suffix}",
            zh=f"{path} 不存在：{path.suffix} 格式的结果是一组文件 {path.stem}.<图层>{path.suffix}",
        )
    return {
        name: _read_one(p, kind if p.suffix != TABLE_SUFFIX else "table")
        for name, p in found.items()
        if names is None or name in names
    }


#: What an existing output must already be, to be written over: the layers that say so.
_KINDS_OF_OUTPUT = {
    "plan": ("a plan", {"grids", "buildings"}),
    "coverage": ("a coverage result", {"grid_party", "service_coverage"}),
    "audit": ("an audit", {"grids", "split_buildings"}),
    "scene": ("a scene", {"communities", "buildings", "streets"}),
}


def check_output(target, kind: str, inputs=()) -> None:
    """Refuse, before any work, an output that would destroy something: one of the inputs, or an existing file
    of another kind (a scene, a plan, a map…), or a format that cannot be written.

    Parameters
    ----------
    target
        The output: a file, a GeoJSON/GeoParquet family, a ``postgresql://…#name`` URL, or (``report``, ``wall maps``) a folder.
    kind
        ``plan``, ``coverage``, ``audit``, ``scene`` (files of layers), ``map`` (an HTML file), ``report`` or
        ``wall maps`` (a folder).
    inputs
        The paths or URLs read by the same command.

    Raises
    ------
    InputError
        Naming the output and what it would overwrite.
    """
    if is_dsn(target):
        if kind not in ("plan", "coverage"):
            raise InputError(
                f"a {kind} cannot be written to PostgreSQL: give a file",
                zh=f"{OUTPUT_KINDS_ZH.get(kind, kind)}不能写入 PostgreSQL：请给出文件",
            )
        if any(is_dsn(i) and str(i) == str(target) for i in inputs):
            raise InputError(
                f"-o {redacted(target)} is also an input: write to another plan name (#name)",
                zh=f"-o {redacted(target)} 同时也是输入：请写入另一个方案名（#name）",
            )
        return
    path = Path(target)
    if kind == "map" and path.suffix.lower() not in (".html", ".htm"):
        raise InputError(
            f"cannot write a map to {path.name}: a map is an .html file",
            zh=f"无法把地图写入 {path.name}：地图是 .html 文件",
        )
    if kind == "scene" and path.suffix.lower() != ".gpkg":
        raise InputError(
            f"cannot write a scene to {path.name}: a scene is a .gpkg file",
            zh=f"无法把场景写入 {path.name}：场景是 .gpkg 文件",
        )
    if kind in _KINDS_OF_OUTPUT:
        file_format(path)
    written = {p.resolve() for p in _files_of(path)} | {path.resolve()}
    for source in inputs:
        if source is None or is_dsn(source):
            continue
        read = {p.resolve() for p in _files_of(Path(source))} | {Path(source).resolve()}
        if written & read:
            raise InputError(
                f"-o {path} would overwrite the input {source}: write to another file",
                zh=f"-o {path} 会覆盖输入 {source}：请写入另一个文件",
            )
    if kind in ("report", "wall maps"):
        if path.exists() and not path.is_dir():
            what = "a report is a folder of files" if kind == "report" else "wall maps are written into a folder"
            what_zh = "报告是一个文件夹" if kind == "report" else "网格上墙图写入文件夹"
            raise InputError(
                f"-o {path} is a file, not a folder: {what}", zh=f"-o {path} 是文件，不是文件夹：{what_zh}"
            )
        _check_writable(path, path)
        return
    _check_writable(path.parent, path)
    existing = [p for p in _files_of(path) if p.exists()]
    if not existing:
        return
    if kind == "map":
        with open(path, "rb") as f:
            start = f.read(512).lstrip().lower()
        if not start.startswith((b"<!doctype html", b"<html")):
            raise InputError(
                f"-o {path} exists and is not an HTML page: write the map to another file",
                zh=f"-o {path} 已存在且不是 HTML 网页：请把地图写入另一个文件",
            )
        return
    noun, layers = _KINDS_OF_OUTPUT[kind]
    try:
        present = set(read_layers(path, names=tuple(layers)))
    except InputError:
        present = set()
    if not layers <= present:
        raise InputError(
            f"-o {path} exists and is not {noun}: write to another file, or remove it first",
            zh=f"-o {path} 已存在且不是{OUTPUT_KINDS_ZH[kind]}：请写入另一个文件，或先将其删除",
        )


def _check_writable(folder: Path, target: Path) -> None:
    """Refuse an output whose folder (or the nearest folder above it that exists, where the folders are yet to be
    made) does not take a new file: found by making one, since permissions alone do not tell (root, read-only
    or virtual file systems such as /proc)."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(
            f"-o {target} cannot be written: {existing} is a file, not a folder",
            zh=f"-o {target} 无法写入：{existing} 是文件，不是文件夹",
        )
    try:
        handle, probe = tempfile.mkstemp(dir=existing, prefix=".gridplan-")
    except OSError as exc:
        raise InputError(
            f"-o {target} cannot be written: no file can be made in {existing} ({exc.strerror})",
            zh=f"-o {target} 无法写入：不能在 {existing} 中创建文件（{exc.strerror}）",
        ) from exc
    os.close(handle)
    os.unlink(probe)


def _files_of(path: Path) -> list[Path]:
    """The files a target stands for: itself, or the members of its GeoJSON/GeoParquet family."""
    if FORMATS.get(path.suffix.lower()) in ("geojson", "parquet") and path.parent.is_dir():
        suffixes = (path.suffix, TABLE_SUFFIX) if FORMATS[path.suffix.lower()] == "geojson" else (path.suffix,)
        return [path] + sorted(p for suffix in suffixes for p in path.parent.glob(f"{path.stem}.*{suffix}"))
    return [path]


def file_format(path: Path) -> str:
    """``gpkg``, ``geojson`` or ``parquet`` by suffix; an :class:`InputError` for any other."""
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise InputError(
            f"cannot write or read {Path(path).name}: use .gpkg, .geojson or .parquet",
            zh=f"无法写入或读取 {Path(path).name}：请使用 .gpkg、.geojson 或 .parquet",
        )
    return kind


def layer_path(target: Path, layer: str, frame: pd.DataFrame | None = None) -> Path:
    """The file of one layer in a GeoJSON or GeoParquet family (a table or an empty layer of a GeoJSON family:
    a JSON Table Schema file)."""
    table = frame is not None and (not isinstance(frame, gpd.GeoDataFrame) or frame.empty)
    suffix = TABLE_SUFFIX if table and file_format(target) == "geojson" else target.suffix
    return target.with_name(f"{target.stem}.{layer}{suffix}")


def _write_one(frame: pd.DataFrame, path: Path, kind: str, layer: str | None = None) -> None:
    frame = storable(frame)
    if kind == "table":
        pd.DataFrame(frame.drop(columns=getattr(frame, "_geometry_column_name", None) or [], errors="ignore")).to_json(
            path, orient="table", index=False, force_ascii=False
        )
    elif kind == "parquet":
        frame.to_parquet(path)
    elif isinstance(frame, gpd.GeoDataFrame):
        frame.to_file(path, layer=layer, driver="GPKG" if kind == "gpkg" else "GeoJSON", engine="pyogrio")
    else:
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG" if kind == "gpkg" else "GeoJSON")


def _read_one(path: Path, kind: str, layer: str | None = None) -> pd.DataFrame:
    try:
        if kind == "table":
            return pd.read_json(path, orient="table")
        if kind == "parquet":
            try:
                return gpd.read_parquet(path)
            except ValueError:  # a table without geometry
                return pd.read_parquet(path)
        info = pyogrio.read_info(path, layer=layer)
        frame = pyogrio.read_dataframe(path, layer=layer)
    except PARQUET_ERRORS as exc:
        raise unreadable(path, exc, f"layer {layer!r}" if layer else "", f"图层 {layer!r}" if layer else "") from exc
    # a table: no geometry type (GeoPackage), or GeoJSON's features whose geometry is all null
    table = info.get("geometry_type") is None or (
        info.get("geometry_type") == "Unknown" and frame.geometry.isna().all()
    )
    if table and isinstance(frame, gpd.GeoDataFrame):
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return frame


def spatial(frame: pd.DataFrame, crs) -> gpd.GeoDataFrame:
    """A layer that has geometry as a GeoDataFrame, also where a format lost it (an empty GeoJSON layer)."""
    if isinstance(frame, gpd.GeoDataFrame):
        return frame
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index, crs=crs), crs=crs)


# --------------------------------------------------------------------------------------------------
# Plans


def plan_layers(run: PlanRun, prepared: PreparedScene, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The layers of a plan file: ``grids``, ``buildings`` (footprints with their grid, so a plan file opens
    on its own in QGIS), ``staffing``, ``warnings``, ``certificates`` (what the plan claims of grids outside
    the bounds or over the radius: :class:`~gridplan.core.results.Certificate`), ``metrics``, ``provenance`` (with the plan's
    version, parent plan, effective date, author and note), ``code_history`` (every code ever used, from the version it
    was first given to the last it was in use in), ``scene_findings`` (what
    validation found and repaired, every building left out named); ``areas`` and
    ``micro_grids`` with levels; ``building_changes`` (with the reason and households of each move),
    ``grid_changes`` and ``regeneration_tradeoff`` after a regeneration; ``edit_journal`` in a plan saved by the
    editor. Warnings' and findings' messages are in ``lang`` (their codes and figures are kept too)."""
    plan = run.plan
    scene = prepared.scene
    buildings = scene.buildings[["building_id", "geometry"]].merge(plan.assignment, on="building_id", how="left")
    buildings = gpd.GeoDataFrame(buildings, geometry="geometry", crs=scene.crs)
    # values as exact text (repr), so that every format gives back the same floats
    metrics = pd.DataFrame(
        {"metric": list(plan.metrics.as_dict()), "value": [repr(float(v)) for v in plan.metrics.as_dict().values()]}
    )
    layers = {
        "grids": plan.grids,
        "buildings": buildings,
        "staffing": plan.staffing(),
        "warnings": warnings_table(plan.warnings, lang),
        "certificates": certificates_table(plan.certificates, lang),
        "metrics": metrics,
        "provenance": plan.provenance.table(),
        "code_history": plan.code_history,
    }
    if prepared.validation is not None:
        layers["scene_findings"] = prepared.validation.table(lang)
    if run.levels is not None:
        layers |= {"areas": run.levels.areas, "micro_grids": run.levels.micro_grids}
    if run.changes is not None:
        layers |= {"building_changes": run.changes.building_changes, "grid_changes": run.changes.grid_changes}
        if run.changes.tradeoff is not None:
            layers["regeneration_tradeoff"] = run.changes.tradeoff
        if run.changes.journal is not None:
            layers["edit_journal"] = run.changes.journal
    return layers


def write_plan(run: PlanRun, prepared: PreparedScene, target: str | os.PathLike, lang: str = "zh") -> list[str]:
    """Write a plan to a file (``.gpkg``, ``.geojson``, ``.parquet``) or to PostGIS (``postgresql://…#name``,
    with its scene); returns what was written. A GeoPackage carries QGIS styles of its layers, against the
    plan's own bounds, so that it opens styled in QGIS.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import plan_scene, read_plan, write_plan
    >>> run = plan_scene(prepared)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
    >>> _ = write_plan(run, prepared, path)
    >>> read_plan(path).plan.assignment["grid_id"].tolist() == run.plan.assignment["grid_id"].tolist()
    True
    """
    layers = plan_layers(run, prepared, lang)
    if is_dsn(target):
        return write_plan_postgis(str(target), prepared, layers)
    return [str(p) for p in write_layers(target, layers, styles=layer_styles(layers, run.plan.settings.grid, lang))]


def read_plan(source: str | os.PathLike) -> PlanRun:
    """A plan written by :func:`write_plan` (or ``gridplan plan``) read back, with its levels and changes.

    The plan's settings are those it was made with (its ``provenance`` layer); a plan file without one
    (written by an older gridplan, or assembled by hand) has the default settings and no fingerprint.

    Raises
    ------
    InputError
        The source cannot be read, or is not a plan (no ``grids`` and ``buildings`` layers with ``grid_id``).

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import plan_scene, read_plan, write_plan
    >>> run = plan_scene(prepared)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
    >>> _ = write_plan(run, prepared, path)
    >>> read_plan(path).plan.assignment["grid_id"].tolist() == run.plan.assignment["grid_id"].tolist()
    True
    """
    return plan_from_layers(read_layers(source), source)


def plan_from_layers(layers: Mapping[str, pd.DataFrame], source="") -> PlanRun:
    """A plan run from the layers of a plan file (:func:`plan_layers`), however they were read."""
    for name, column in (("grids", "grid_id"), ("buildings", "grid_id"), ("buildings", "building_id")):
        if name not in layers or column not in layers[name]:
            raise InputError(
                f"{redacted(source)} is not a plan: no {name!r} layer with a {column!r} column "
                f"(write one with 'gridplan plan')",
                zh=f"{redacted(source)} 不是方案：没有带 {column!r} 列的 {name!r} 图层（请用 'gridplan plan' 生成）",
            )
    provenance = (
        Provenance.from_table(layers["provenance"]) if "provenance" in layers else Provenance(version="unknown")
    )
    grids = _ids(layers["grids"], "grid_id", "community_id", "area_id")
    columns = ["building_id", "grid_id", "community_id", "households", "households_estimated", "workload"]
    buildings = _ids(pd.DataFrame(layers["buildings"]), "building_id", "grid_id", "community_id")
    assignment = buildings[[c for c in columns if c in buildings]].dropna(subset=["grid_id"]).reset_index(drop=True)
    if "households_estimated" in assignment:
        assignment["households_estimated"] = assignment["households_estimated"].fillna(False).astype(bool)
    plan = Plan(
        grids=grids,
        assignment=assignment,
        warnings=warnings_from_table(layers.get("warnings")),
        metrics=_metrics(layers.get("metrics")),
        provenance=provenance,
        certificates=certificates_from_table(layers.get("certificates")),
        code_history=layers.get("code_history"),
    )
    levels = None
    if "micro_grids" in layers and "areas" in layers:
        grid_area = grids.set_index("grid_id")["area_id"] if "area_id" in grids else pd.Series(dtype=object)
        # buildings above the micro-grid maximum, in grid order as plan_levels lists them
        big = assignment[assignment["households"] > provenance.settings.levels.micro_max]
        order = big["grid_id"].map({g: i for i, g in enumerate(grids["grid_id"])})
        oversize = big.assign(_order=order.to_numpy()).sort_values("_order", kind="stable")["building_id"].tolist()
        levels = Levels(
            areas=_ids(layers["areas"], "area_id"),
            grid_area=grid_area.rename("area_id"),
            micro_grids=_ids(layers["micro_grids"], "micro_grid_id", "grid_id"),
            oversize=oversize,
        )
    changes = None
    if "grid_changes" in layers and "building_changes" in layers:
        moved = spatial(_ids(layers["building_changes"], "building_id", "previous_grid_id", "grid_id"), grids.crs)
        new = int((moved["change"] == "new").sum())
        common = len(assignment) - new
        kept = 1 - int((moved["change"] == "moved").sum()) / common if common else 1.0
        changes = PlanChanges(
            building_changes=moved,
            grid_changes=_ids(layers["grid_changes"], "grid_id"),
            kept_share=kept,
            previous=provenance.regenerated_from,
            tradeoff=_table(layers.get("regeneration_tradeoff")),
            journal=_table(layers.get("edit_journal")),
        )
    return PlanRun(plan=plan, levels=levels, changes=changes)


def read_previous(source: str | os.PathLike) -> PreviousPlan:
    """A previous plan to regenerate from: a plan's ``buildings`` (building_id → grid_id) and ``grids`` (grid_id,
    code, kind, locked); or, from a file with polygons only (an existing layout drawn by hand: a ``grids``
    layer, or its only layer), a layout to repair, whose buildings are assigned by overlay.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import plan_scene, read_previous, write_plan
    >>> run = plan_scene(prepared)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
    >>> _ = write_plan(run, prepared, path)
    >>> previous = read_previous(path)
    >>> previous.version, len(previous.grids) == len(run.plan.grids)
    (1, True)
    """
    return previous_from_layers(read_layers(source), source)


def previous_from_layers(layers: Mapping[str, pd.DataFrame], source="") -> PreviousPlan:
    """A previous plan from the layers of a plan file, or of a file of grid polygons drawn by hand."""
    if "buildings" not in layers:
        known = [kind for kind, (noun, names) in _KINDS_OF_OUTPUT.items() if kind != "plan" and names <= set(layers)]
        if known:
            raise InputError(
                f"{redacted(source)} is {_KINDS_OF_OUTPUT[known[0]][0]}, not a plan: give a plan written by "
                "'gridplan plan' or a file of grid polygons",
                zh=f"{redacted(source)} 是{OUTPUT_KINDS_ZH[known[0]]}，不是方案：请给出由 'gridplan plan' 写出的方案"
                "或网格面要素文件",
            )
        polygons = [
            name
            for name, frame in layers.items()
            if isinstance(frame, gpd.GeoDataFrame) and frame.geom_type.isin(["Polygon", "MultiPolygon"]).any()
        ]
        if "grids" not in layers and len(polygons) != 1:
            raise InputError(
                f"{redacted(source)} has {len(polygons)} polygon layers and none named 'grids': "
                "give a file whose grid polygons are its only layer or the layer 'grids'",
                zh=f"{redacted(source)} 有 {len(polygons)} 个面图层，但没有名为 'grids' 的："
                "请给出只有一个网格面图层或网格图层名为 'grids' 的文件",
            )
        drawn = layers.get("grids", layers[polygons[0]] if polygons else None)
        if not isinstance(drawn, gpd.GeoDataFrame):
            raise InputError(
                f"{redacted(source)} holds no grid polygons to regenerate from",
                zh=f"{redacted(source)} 中没有可据以重新生成的网格面",
            )
        drawn = drawn.assign(grid_id=grid_ids_of(drawn).to_numpy())
        return PreviousPlan(assignment=None, grids=drawn, source=redacted(source))
    for layer, column in (("buildings", "building_id"), ("buildings", "grid_id"), ("grids", "grid_id")):
        if layer not in layers or column not in layers[layer]:
            raise InputError(
                f"previous plan {redacted(source)}: layer {layer!r} has no column {column!r}",
                zh=f"上一方案 {redacted(source)}：图层 {layer!r} 没有 {column!r} 列",
            )
    assignment = _ids(
        pd.DataFrame(layers["buildings"]).drop(columns="geometry", errors="ignore"), "building_id", "grid_id"
    )
    provenance = Provenance.from_table(layers["provenance"]) if "provenance" in layers else None
    placed = layers["buildings"]
    footprints = None
    if isinstance(placed, gpd.GeoDataFrame) and placed.crs is not None:
        footprints = gpd.GeoSeries(
            placed.geometry.to_numpy(), index=assignment["building_id"].to_numpy(), crs=placed.crs
        )
    return PreviousPlan(
        assignment=assignment,
        grids=_ids(layers["grids"], "grid_id", "community_id"),
        provenance=provenance,
        source=redacted(source),
        footprints=footprints,
        code_history=layers.get("code_history"),
        certificates=certificates_from_table(layers.get("certificates")),
    )


def _table(layer: pd.DataFrame | None) -> pd.DataFrame | None:
    """A layer without geometry as a plain table (a GeoJSON or GeoParquet file gives it an empty one)."""
    return None if layer is None else pd.DataFrame(layer).drop(columns="geometry", errors="ignore")


def _metrics(table: pd.DataFrame | None) -> PlanMetrics:
    if table is None:
        raise InputError(
            "the plan has no 'metrics' layer (write it with 'gridplan plan')",
            zh="方案没有 'metrics'（指标）图层（请用 'gridplan plan' 写出）",
        )
    values = dict(zip(table["metric"].astype(str), table["value"].astype(float)))
    kinds = PlanMetrics.__annotations__
    try:
        return PlanMetrics(
            **{name: int(values[name]) if kinds[name] == "int" else float(values[name]) for name in kinds}
        )
    except KeyError as exc:
        raise InputError(
            f"the plan's 'metrics' layer lacks {exc.args[0]!r}", zh=f"方案的 'metrics'（指标）图层缺少 {exc.args[0]!r}"
        ) from exc


def _ids(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = out[column].map(id_string, na_action="ignore")
    return out


# --------------------------------------------------------------------------------------------------
# Coverage


def write_coverage(
    coverage: Coverage,
    target: str | os.PathLike,
    *,
    run: PlanRun | None = None,
    prepared: PreparedScene | None = None,
    lang: str = "zh",
) -> list[str]:
    """Write a coverage result to a file, or to PostGIS beside its plan (``run`` and ``prepared`` then name
    the plan and scene stored with it, in one transaction).

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import analyse_coverage, plan_scene, read_coverage, write_coverage
    >>> coverage = analyse_coverage(plan_scene(prepared).plan, prepared)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "coverage.gpkg"
    >>> _ = write_coverage(coverage, path)
    >>> read_coverage(path).grid_party["members"].tolist() == coverage.grid_party["members"].tolist()
    True
    """
    if is_dsn(target):
        if run is None or prepared is None:
            raise InputError(
                "coverage goes to PostGIS together with its plan and scene",
                zh="覆盖分析结果须与其方案和场景一同写入 PostGIS",
            )
        return write_plan_postgis(str(target), prepared, plan_layers(run, prepared, lang) | coverage.layers())
    return [str(p) for p in write_layers(target, coverage.layers())]


def read_coverage(source: str | os.PathLike) -> Coverage:
    """A coverage result read back: the same :class:`~gridplan.core.results.Coverage` as the one written.

    Examples
    --------
    >>> from gridplan.scenarios.example import example_prepared
    >>> prepared = example_prepared()  # generated: two communities, 4,500 households
    >>> import pathlib, tempfile
    >>> from gridplan import analyse_coverage, plan_scene, read_coverage, write_coverage
    >>> coverage = analyse_coverage(plan_scene(prepared).plan, prepared)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "coverage.gpkg"
    >>> _ = write_coverage(coverage, path)
    >>> read_coverage(path).grid_party["members"].tolist() == coverage.grid_party["members"].tolist()
    True
    """
    return coverage_from_layers(read_layers(source, names=(*COVERAGE_LAYERS, PROVENANCE_LAYER)), source)


def coverage_from_layers(layers: Mapping[str, pd.DataFrame], source="") -> Coverage:
    """A coverage result from the layers of a coverage file (:meth:`Coverage.layers`), however they were read."""
    provenance = (
        Provenance.from_table(layers[PROVENANCE_LAYER]) if PROVENANCE_LAYER in layers else Provenance(version="unknown")
    )
    try:
        return Coverage.from_layers(layers, provenance)
    except InputError as exc:
        raise InputError(
            f"{redacted(source)}: {exc}", zh=f"{redacted(source)}：{getattr(exc, 'zh', None) or exc}"
        ) from exc


def redacted(source) -> str:
    """A source as it may be shown: a connection URL with its password masked."""
    if is_dsn(source):
        return redact(str(source))
    return str(source)


#: Columns tried, in order, for an existing grid's identifier.
ID_COLUMNS = ("grid_id", "code", "id", "name")


def grid_ids_of(existing: gpd.GeoDataFrame) -> pd.Series:
    """Identifier of each existing grid: the first of ``ID_COLUMNS`` present, else ``E001``, ``E002``…"""
    for column in ID_COLUMNS:
        if column in existing and existing[column].notna().all() and existing[column].is_unique:
            return existing[column].map(id_string)
    return pd.Series([f"E{i + 1:03d}" for i in range(len(existing))], index=existing.index)
