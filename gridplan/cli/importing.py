"""The commands that make a scene: ``import-osm`` and ``import-register``."""

from __future__ import annotations

from pathlib import Path

from gridplan.io.osm import import_osm_to_gpkg
from gridplan.io.store import check_output, write_layers
from gridplan.prepare.register import import_register, read_register, write_register_report
from gridplan.settings import DEFAULTS
from gridplan.vocabulary import word

from .common import pairs, prepared_of, say_written


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
