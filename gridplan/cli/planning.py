"""The commands that check a scene and plan it: ``validate`` and ``plan`` (``plan --map`` loads the drawing
commands' module, and folium with it, only when a map is asked for)."""

from __future__ import annotations

from gridplan.core.results import parse_effective_date
from gridplan.errors import InputError
from gridplan.io.store import check_output, read_previous, write_plan
from gridplan.pipeline import plan_scene
from gridplan.prepare.validate import validate_scene
from gridplan.settings import DEFAULTS, RunOptions

from . import command_module
from .common import load, prepared_of, say_written, settings_of, settings_source


def run_validate(args) -> None:
    validation = validate_scene(
        load(args), repair_households=args.repair_households, accept_outside=args.accept_outside
    )
    print(validation.summary(args.lang))
    validation.raise_for_errors()


def run_plan(args) -> None:
    parse_effective_date(args.effective_date)  # refused before any work
    check_output(args.output, "plan", [args.scene, args.previous])
    drawing = command_module("drawing") if args.map else None  # folium is loaded only for a map
    if drawing is not None:
        drawing.check_plan_map(args)
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
    if drawing is not None:
        drawing.save_plan_map(args, run, prepared)
