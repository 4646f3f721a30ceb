"""The commands that draw and print a plan: ``map``, ``report`` and ``print`` (wall maps); and the map of
``plan --map``."""

from __future__ import annotations

from gridplan.io.store import check_output
from gridplan.outputs.report import write_report
from gridplan.outputs.wallmap import check_wall_map_folder, write_wall_maps
from gridplan.outputs.webmap import check_basemap, check_view, plan_map, save_map
from gridplan.vocabulary import word

from .common import read_plan_inputs, say_written


def run_map(args) -> None:
    check_output(args.output, "map", [args.scene, args.plan, args.coverage])
    check_view(args.view, coverage=args.coverage is not None)
    prepared, run, coverage, settings = read_plan_inputs(args)
    save_map(map_of(args, run, prepared, coverage, settings.grid), args.output)
    print(word("map_written", args.lang, path=args.output))


def run_report(args) -> None:
    check_output(args.output, "report", [args.scene, args.plan, args.coverage])
    prepared, run, coverage, settings = read_plan_inputs(args)
    written = write_report(run.plan, args.output, coverage, lang=args.lang, settings=settings.grid)
    say_written(args, written)


def run_print(args) -> None:
    check_output(args.output, "wall maps", [args.scene, args.plan, args.coverage])
    check_wall_map_folder(args.output)
    prepared, run, coverage, settings = read_plan_inputs(args)
    written = write_wall_maps(
        run,
        prepared,
        args.output,
        coverage,
        formats=args.format,
        dpi=args.dpi,
        paper=args.paper,
        orientation=args.orientation,
        lang=args.lang,
        scope=args.scope,
        office_name=args.office_name,
        settings=settings.grid,
    )
    for name, count in written.crowded_labels.items():
        print(word("crowded_labels", args.lang, name=name, count=count))
    say_written(args, written.paths)


def check_plan_map(args) -> None:
    """``plan --map``'s options, refused before any work."""
    check_output(args.map, "map", [args.scene, args.previous, args.output])
    check_basemap(args.basemap, args.tianditu_key, args.offline)
    check_view(args.view, coverage=False)


def save_plan_map(args, run, prepared) -> None:
    """``plan --map``: the map of the plan just made."""
    save_map(map_of(args, run, prepared), args.map)
    print(word("map_written", args.lang, path=args.map))


def map_of(args, run, prepared, coverage=None, settings=None):
    return plan_map(
        run,
        prepared,
        coverage,
        lang=args.lang,
        basemap=args.basemap,
        tianditu_key=args.tianditu_key,
        offline=args.offline,
        show_members=args.show_members,
        simplify_m=args.simplify,
        settings=settings,
        view=args.view,
    )
