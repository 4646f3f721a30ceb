"""The commands that make a scene and a plan: ``validate``, ``import-osm``, ``import-register``, ``plan``,
``coverage`` and ``demo``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gridplan.core.results import parse_effective_date
from gridplan.coverage import analyse_coverage
from gridplan.errors import InputError
from gridplan.io.osm import DEMO_EXTRACTS, OSM_ATTRIBUTION, import_osm, import_osm_to_gpkg
from gridplan.io.store import check_output, read_plan, read_previous, write_coverage, write_layers, write_plan
from gridplan.outputs.report import write_report
from gridplan.outputs.webmap import check_basemap, check_view, plan_map, save_map
from gridplan.pipeline import check_belongs, plan_scene, prepare_scene
from gridplan.prepare.register import import_register, read_register, write_register_report
from gridplan.prepare.validate import validate_scene
from gridplan.settings import DEFAULTS, RunOptions
from gridplan.vocabulary import word

from .common import load, map_of, pairs, prepared_of, say_written, settings_of, settings_source


def run_validate(args) -> None:
    validation = validate_scene(
        load(args), repair_households=args.repair_households, accept_outside=args.accept_outside
    )
    print(validation.summary(args.lang))
    validation.raise_for_errors()


def run_import_osm(args) -> None:
    check_output(args.output, "scene", [args.source, args.boundary])
    report = import_osm_to_gpkg(args.source, args.output, boundary=args.boundary, coords=args.coords)
    print(report.summary(args.lang))
    print(word("scene_written", args.lang, path=args.output))


def run_import_register(args) -> None:
    check_output(args.output, "scene", [args.scene, args.register])
    settings = DEFAULTS if args.max_distance is None else DEFAULTS.with_register(max_distance_m=args.max_distance)
    table, dropped = read_register(
        args.register,
        columns=dict(pairs(args.map_column, "--map-column")),
        sheet=args.sheet,
        encoding=args.encoding,
        salt=settings.register.salt,
    )
    result = import_register(
        table, prepared_of(args, settings), kind=args.kind, coords=args.register_coords, dropped=dropped
    )
    written = write_layers(args.output, result.scene.layers())
    report = Path(args.report) if args.report else Path(args.output).with_name(Path(args.output).stem + "_register")
    written += write_register_report(result, report)
    print(result.summary(args.lang))
    say_written(args, written)


def run_plan(args) -> None:
    parse_effective_date(args.effective_date)  # refused before any work
    check_output(args.output, "plan", [args.scene, args.previous])
    if args.map:
        check_output(args.map, "map", [args.scene, args.previous, args.output])
        check_basemap(args.basemap, args.tianditu_key, args.offline)
        check_view(args.view, coverage=False)
    previous = read_previous(args.previous) if args.previous else None
    base = previous.provenance.settings if previous is not None and previous.provenance is not None else DEFAULTS
    source = settings_source(previous.provenance, args.lang, previous=True) if previous is not None else ""
    settings = settings_of(args, base, source)
    if previous is None and (args.no_rebalance or args.max_moved is not None or args.no_compare_fresh):
        raise InputError(
            "--no-rebalance, --max-moved and --no-compare-fresh apply to a regeneration (--previous)",
            zh="--no-rebalance、--max-moved 和 --no-compare-fresh 只用于重新生成（--previous）",
        )
    settings = settings.with_regeneration(rebalance=not args.no_rebalance, max_moved=args.max_moved)
    prepared = prepared_of(args, settings)
    run = plan_scene(
        prepared,
        settings,
        previous=previous,
        levels=args.levels or args.areas is not None,
        areas=args.areas,
        options=RunOptions(
            grid_count=args.grids,
            code_style=args.code_style,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
            progress=True,
        ),
        compare_fresh=previous is not None and not args.no_compare_fresh,
        effective_date=args.effective_date,
        author=args.author,
        note=args.note,
    )
    written = write_plan(run, prepared, args.output, args.lang)
    print(prepared.validation.summary("en") if args.lang == "en" else prepared.validation.headline("zh"))
    print(run.summary(args.lang))
    say_written(args, written)
    if args.map:
        save_map(map_of(args, run, prepared), args.map)
        print(word("map_written", args.lang, path=args.map))


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
