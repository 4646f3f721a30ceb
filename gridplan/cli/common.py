"""What the commands share: the scene and settings named on the command line, the plan inputs, the words
of what was written."""

from __future__ import annotations

from gridplan.errors import InputError
from gridplan.io.store import read_coverage, read_plan
from gridplan.pipeline import check_belongs, load_scene, prepare_scene
from gridplan.settings import DEFAULTS, Settings
from gridplan.vocabulary import word


def say_written(args, paths) -> None:
    """The files a command wrote, in the run's language."""
    print(word("written", args.lang) + ", ".join(map(str, paths)))


def settings_source(provenance, lang: str, previous: bool = False) -> str:
    """Where a plan's settings come from, in words: its own, or the defaults when the plan file records none
    (no ``provenance`` layer: an old gridplan's file, or one assembled by hand)."""
    plan = word("the_previous_plan" if previous else "the_plan", lang)
    if provenance is None or provenance.version == "unknown":  # read_plan's mark of a missing provenance layer
        return word("settings_none_recorded", lang, plan=plan)
    return word("settings_of_plan", lang, plan=plan)


def settings_of(args, base: Settings = DEFAULTS, source: str = "") -> Settings:
    """``base`` with the grid options given on the command line; prints which settings apply when ``source``
    says where ``base`` came from (:func:`settings_source`)."""
    given = {k: v for k, v in (("target", args.target), ("tolerance", args.tolerance)) if v is not None}
    settings = base
    if given:
        tolerance = given.get("tolerance", base.grid.tolerance)
        try:
            settings = base.with_grid(**given, tight_tolerance=min(base.grid.tight_tolerance, tolerance)).check()
        except InputError:
            raise InputError(
                "--target must be a positive number and --tolerance between 0 and 1 "
                f"(got {given.get('target', base.grid.target)} and {tolerance})",
                zh="--target 须为正数，--tolerance 须在 0 与 1 之间"
                f"（实为 {given.get('target', base.grid.target)} 和 {tolerance}）",
            ) from None
    if source:
        g = settings.grid
        whose = word("given_on_the_command_line", args.lang) if given else source
        print(word("settings_line", args.lang, whose=whose, g=g))
    return settings


def pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InputError(f"{option} {item!r}: expected NAME=VALUE", zh=f"{option} {item!r}：应为 NAME=VALUE")
        pairs.append((key, value))
    return pairs


def load(args):
    """The scene named on the command line, with its layer and column maps applied."""
    columns: dict[str, dict[str, str]] = {}
    for key, target in pairs(args.column, "--column"):
        layer, dot, source = key.partition(".")
        if not dot:
            raise InputError(
                f"--column {key}={target}: expected LAYER.SOURCE=COLUMN",
                zh=f"--column {key}={target}：应为 LAYER.SOURCE=COLUMN",
            )
        columns.setdefault(layer, {})[source] = target
    return load_scene(
        args.scene, layers=dict(pairs(args.layer, "--layer")), columns=columns, coords=coords_of(args.coords)
    )


def coords_of(items: list[str]) -> str | dict[str, str]:
    """``--coords gcj02`` (every layer) or ``--coords buildings=gcj02 …`` (some layers)."""
    whole = [item for item in items if "=" not in item]
    if len(whole) > 1 or (whole and len(items) > 1):
        raise InputError(
            "--coords: give one system for every layer (--coords gcj02) or one per layer (--coords buildings=gcj02), not both",
            zh="--coords：要么所有图层用一个坐标系（--coords gcj02），要么逐图层指定（--coords buildings=gcj02），不能同时使用",
        )
    return whole[0] if whole else dict(pairs(items, "--coords"))


def prepared_of(args, settings: Settings = DEFAULTS):
    return prepare_scene(
        load(args), settings, repair_households=args.repair_households, accept_outside=args.accept_outside
    )


def read_plan_inputs(args):
    """The prepared scene, the plan run and the coverage named on the command line, checked to belong
    together, and the settings to draw or report with (the plan's unless given)."""
    run = read_plan(args.plan)
    settings = settings_of(args, run.plan.settings, settings_source(run.plan.provenance, args.lang))
    prepared = prepared_of(args, run.plan.settings)
    coverage = read_coverage(args.coverage) if getattr(args, "coverage", None) else None
    check_belongs(prepared, run.plan, coverage)
    return prepared, run, coverage, settings
