"""The commands that hold a layout to the rules: ``audit``, ``check``, ``verify`` and ``compare``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd

from gridplan.core.results import Plan, PlanRun
from gridplan.engine.audit import audit_grids
from gridplan.errors import InputError
from gridplan.io.qgis_styles import layer_styles
from gridplan.io.scene_files import FILE_ERRORS
from gridplan.io.store import (
    check_output,
    is_dsn,
    plan_from_layers,
    read_coverage,
    read_layers,
    read_plan,
    write_layers,
)
from gridplan.outputs.approval import write_approval
from gridplan.outputs.report import write_compliance_workbook
from gridplan.outputs.webmap import compliance_map, save_map
from gridplan.pipeline import check_belongs, check_covers, check_same_buildings
from gridplan.review.compare import compare_plans
from gridplan.review.compliance import check_compliance
from gridplan.review.verify import verify_plan

from .common import prepared_of, say_written, settings_of, settings_source


def run_audit(args) -> None:
    if args.output:
        check_output(args.output, "audit", [args.scene, args.existing])
    settings = settings_of(args)
    prepared = prepared_of(args, settings)
    try:
        existing = gpd.read_file(args.existing, engine="pyogrio")
    except FILE_ERRORS as exc:
        raise InputError(
            f"cannot read existing grids {args.existing}: {exc}",
            zh=f"无法读取现有网格 {args.existing}：{getattr(exc, 'zh', None) or exc}",
        ) from exc
    audit = audit_grids(prepared, existing, lang=args.lang)
    print(audit.summary(args.lang))
    if args.output:
        layers = {"grids": audit.grids, "split_buildings": audit.split_buildings, "overlaps": audit.overlaps}
        write_layers(args.output, layers, styles=layer_styles(layers, settings.grid, args.lang))
        say_written(args, [args.output])


def run_check(args) -> None:
    if args.output:
        check_output(args.output, "report", [args.scene, args.plan, args.coverage])
    layout = read_layout(args.plan)
    if isinstance(layout, PlanRun):
        settings = settings_of(args, layout.plan.settings, settings_source(layout.plan.provenance, args.lang))
        prepared = prepared_of(args, layout.plan.settings)
        layout = layout.plan
    else:
        settings = settings_of(args)
        prepared = prepared_of(args, settings)
    coverage = read_coverage(args.coverage) if args.coverage else None
    if isinstance(layout, Plan):
        check_belongs(prepared, layout, coverage)
    compliance = check_compliance(prepared, layout, coverage, settings, code_style=args.code_style)
    print(compliance.summary(args.lang))
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        table = compliance.table(args.lang)
        layers = {"failures": table, "rules": compliance.counts()}
        written = write_layers(out / "compliance.gpkg", layers, styles=layer_styles(layers, settings.grid, args.lang))
        save_map(compliance_map(compliance, prepared, lang=args.lang), out / "compliance.html")
        written += [out / "compliance.html", write_compliance_workbook(compliance, out / "compliance.xlsx", args.lang)]
        say_written(args, written)


def read_layout(source):
    """A plan run, or existing grid polygons: a file with ``grids`` and ``buildings`` layers (or a PostGIS plan, or
    a GeoJSON/GeoParquet family) is a plan; any other polygon file is a layout drawn as it is."""
    path = Path(source)
    if is_dsn(source) or not path.is_file():
        return read_plan(source)
    if path.suffix.lower() == ".gpkg":
        layers = read_layers(path)
        if {"grids", "buildings"} <= set(layers):
            return plan_from_layers(layers, source)
        polygons = [
            frame
            for name, frame in sorted(layers.items(), key=lambda item: item[0] != "grids")
            if isinstance(frame, gpd.GeoDataFrame) and frame.geom_type.isin(["Polygon", "MultiPolygon"]).any()
        ]
        if not polygons:
            raise InputError(
                f"{path} holds neither a plan nor grid polygons", zh=f"{path} 中既没有方案，也没有网格多边形"
            )
        return polygons[0]
    try:
        return gpd.read_file(path, engine="pyogrio")
    except FILE_ERRORS as exc:
        raise InputError(
            f"cannot read grids {path}: {exc}", zh=f"无法读取网格 {path}：{getattr(exc, 'zh', None) or exc}"
        ) from exc


def run_verify(args) -> None:
    if args.output:
        check_output(args.output, "verification", [args.scene, args.plan])
    run = read_plan(args.plan)
    prepared = prepared_of(args, run.plan.settings)  # the claims carry their own bounds: the plan's settings
    check_belongs(prepared, run.plan)
    against = [read_plan(other).plan for other in args.against]
    for other, path in zip(against, args.against):
        check_same_buildings(prepared, other.assignment, f"the plan {path}", f"方案 {path}")
    settings = run.plan.settings.verify
    if args.time_limit is not None:
        settings = dataclasses.replace(settings, limit_seconds=args.time_limit)
    verification = verify_plan(prepared, run.plan, fresh=not args.no_fresh, against=against, settings=settings)
    print(verification.summary(args.lang))
    if args.output:
        layers = {"checks": verification.table(args.lang)}
        if verification.counter_examples() is not None:
            layers["counter_examples"] = verification.counter_examples().to_crs(prepared.crs)
        write_layers(args.output, layers)
        say_written(args, [args.output])
    if verification.refuted:
        first = verification.refuted[0]
        raise InputError(
            f"{len(verification.refuted)} claims of the plan are refuted, first {first.certificate_id}: {first.describe('en')}"
            + ("" if args.output else " (write the counter-examples with -o)"),
            zh=f"方案有 {len(verification.refuted)} 项证明被推翻，首项 {first.certificate_id}：{first.describe('zh')}"
            + ("" if args.output else "（用 -o 写出反例）"),
        )


def run_compare(args) -> None:
    check_output(args.output, "report", [args.scene, args.old, args.new, args.old_coverage, args.new_coverage])
    old, new = read_plan(args.old), read_plan(args.new)
    prepared = prepared_of(args, new.plan.settings)
    old_coverage = read_coverage(args.old_coverage) if args.old_coverage else None
    new_coverage = read_coverage(args.new_coverage) if args.new_coverage else None
    check_belongs(prepared, new.plan, new_coverage)
    # the old plan may be of the scene before it changed, not of another place
    check_same_buildings(prepared, old.plan.assignment, "the old plan", "原方案")
    if old_coverage is not None:
        check_covers(old.plan, old_coverage)
    comparison = compare_plans(old, new, prepared, old_coverage, new_coverage)
    written = write_approval(comparison, new, prepared, args.output, old=old, lang=args.lang)
    print(comparison.summary(args.lang))
    say_written(args, written)
