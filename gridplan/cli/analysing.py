"""The commands that analyse a plan's party coverage, and the demo that runs the whole workflow: ``coverage`` and
``demo``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gridplan.coverage import analyse_coverage
from gridplan.io.osm import DEMO_EXTRACTS, OSM_ATTRIBUTION, import_osm
from gridplan.io.store import check_output, read_plan, write_coverage, write_layers, write_plan
from gridplan.outputs.report import write_report
from gridplan.outputs.webmap import plan_map, save_map
from gridplan.pipeline import check_belongs, plan_scene, prepare_scene
from gridplan.settings import RunOptions
from gridplan.vocabulary import word

from .common import prepared_of, say_written, settings_of, settings_source


def run_coverage(args) -> None:
    check_output(args.output, "coverage", [args.scene, args.plan])
    run = read_plan(args.plan)
    settings = settings_of(args, run.plan.settings, settings_source(run.plan.provenance, args.lang))
    if args.seed is not None:
        settings = dataclasses.replace(settings, seed=args.seed)
    prepared = prepared_of(args, settings)
    check_belongs(prepared, run.plan)
    coverage = analyse_coverage(run.plan, prepared, new_service_points=args.new_service_points, settings=settings)
    written = write_coverage(coverage, args.output, run=run, prepared=prepared, lang=args.lang)
    print(coverage.summary(args.lang))
    say_written(args, written)


def run_demo(args) -> None:
    named = DEMO_EXTRACTS.get(args.source)
    source, boundary = (named[0](), named[1]) if named else (Path(args.source), None)
    check_output(args.map, "map", [source])
    out = Path(args.out)
    scene, imported = import_osm(source, boundary=boundary)
    print(word("demo_data", args.lang, name=source.name, attribution=OSM_ATTRIBUTION))
    print(imported.summary(args.lang))
    settings = settings_of(args)
    prepared = prepare_scene(scene, settings)
    print(prepared.validation.summary(args.lang))
    write_layers(out / "scene.gpkg", prepared.scene.layers())
    run = plan_scene(
        prepared, levels=True, options=RunOptions(grid_count=args.grids, code_style=args.code_style, progress=True)
    )
    written = write_plan(run, prepared, out / "plan.gpkg", args.lang)
    print(run.summary(args.lang))
    coverage = analyse_coverage(run.plan, prepared, new_service_points=1)
    written += write_coverage(coverage, out / "coverage.gpkg")
    print(coverage.summary(args.lang))
    save_map(plan_map(run, prepared, coverage, lang=args.lang, attribution=OSM_ATTRIBUTION), args.map)
    reports = write_report(run.plan, out / "reports", coverage, lang=args.lang, attribution=OSM_ATTRIBUTION)
    say_written(args, [*written, args.map, *reports])
