"""Real records in: the household register (一标三实: 标准地址 → 房屋 → 住户) and the party member roll.

Planners have the address register their grid platform exports (Excel or CSV, a row a household or a
dwelling, with a standard address and often a coordinate copied from Gaode or Baidu); organization
departments have a member roll in Excel with an address per member, and names, ID numbers and phone numbers
that must not spread. :func:`import_register` joins each row to one building of a scene, by these routes in
order of trust:

1. ``id``: a building id (or code) column naming a building of the scene;
2. ``coordinate``: a point (WGS84/CGCS2000, GCJ-02 or BD-09, converted with :mod:`gridplan.core.coords`; the
   system of points whose row does not name it is recognised by the share landing in footprints,
   :func:`gridplan.core.alignment.point_system`, or refused when no system is clearly best) inside a footprint; a row whose point is in none but whose address names a building is joined by its address;
   otherwise the nearest footprint within ``settings.register.max_distance_m`` (``nearest``);
3. ``address``: the address reduced to its building (:func:`gridplan.prepare.addresses.building_key`) and matched to
   the buildings' standard addresses (an ``address`` column), names and ``addr:*`` tags, and their compounds'
   names; a compound name that matches none exactly is matched with rapidfuzz (``fuzzy``, low confidence
   below ``settings.register.sure_score``). An address without a building number is matched to the buildings'
   names (楼名: ``文西楼``, ``7公寓``, ``篮球馆``; OSM ``name`` tags), bare or after the building's compound or an
   administrative part, exactly, else by rapidfuzz (the numbers in a name never misspelt). An address that
   fits two buildings (a name two buildings share) is left unmatched, never guessed.

Household rows add up to ``households`` per building (registered, no longer estimated; a vacancy column is
honoured). Without a ``households`` column a row is one household; with one, a row whose count is no whole
number (blank, ``abc``, ``-1``, ``2.5``) is left unmatched (``bad_count``) rather than taken for one household:
a blank in a column of counts is a count nobody wrote. Chinese numerals count (``三``, ``十二``). A register of
which no row is joined is refused (:class:`~gridplan.errors.InputError`), not imported as nothing. Member rows
become the scene's ``party_members`` (``member_id``, ``building_id``, ``status``). Only the columns gridplan
knows are read: names, ID numbers, phone numbers, birth dates and any other column are dropped on reading and
never written. Every row is accounted for: matched by a route, or unmatched with its reason
(:class:`RegisterImport`).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import heapq
import io
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from openpyxl import load_workbook
from rapidfuzz import fuzz, process

from gridplan.core.alignment import SystemEvidence, point_system
from gridplan.core.coords import bd09_to_wgs84, gcj02_to_wgs84, out_of_china
from gridplan.core.files import atomic_path
from gridplan.core.hanzi import SIMPLIFIED
from gridplan.core.scene import PreparedScene, Scene, id_string
from gridplan.errors import InputError
from gridplan.settings import DEFAULTS, Settings
from gridplan.vocabulary import REGISTER_REASONS_ZH, normalise_status, word

from .addresses import (
    COMPOUND_SUFFIXES,
    BuildingKey,
    building_key,
    building_parts,
    compound_key,
    name_heads,
    normalise,
    normalise_all,
    to_digits,
    without_admin,
)
from .validate import as_prepared

KINDS = ("households", "members")
#: The columns a register or roll may carry, and the headers Chinese platforms export them under.
ALIASES: dict[str, tuple[str, ...]] = {
    "building_id": ("building_id", "楼栋编号", "楼栋编码", "楼栋ID", "建筑编号", "建筑物编码", "房屋编号", "建筑ID"),
    "address": ("address", "地址", "标准地址", "详细地址", "住址", "居住地址", "房屋地址", "现居住地址", "家庭住址"),
    "lon": ("lon", "lng", "longitude", "经度", "x坐标", "坐标X"),
    "lat": ("lat", "latitude", "纬度", "y坐标", "坐标Y"),
    "coords": ("coords", "坐标系", "坐标系统"),
    "households": ("households", "户数", "住户数"),
    "vacant": ("vacant", "是否空置", "空置", "空置状态"),
    "member_id": ("member_id", "党员编号", "党员ID", "党籍编号"),
    "status": ("status", "党员类别", "人员类别", "党员身份", "身份类别", "正式/预备"),
    "generated": ("generated", "生成数据"),
}
#: Headers of personal columns: never read (listed so that the import can say they were dropped).
PERSONAL = (
    "name",
    "姓名",
    "id_number",
    "身份证号",
    "身份证号码",
    "公民身份号码",
    "证件号码",
    "phone",
    "电话",
    "联系电话",
    "手机",
    "手机号",
    "手机号码",
    "mobile",
    "birth_date",
    "出生日期",
    "出生年月",
    "性别",
    "民族",
    "籍贯",
)
#: Words of a vacancy column that mean the dwelling is empty.
VACANT_WORDS = ("是", "空置", "空", "yes", "true", "1", "vacant")
#: Encodings Chinese offices export CSV in, tried where the file does not say its own (GB18030 includes GBK and
#: GB2312; Big5 is the traditional characters' of Taiwan and Hong Kong). A UTF-16 file (Excel's "Unicode text")
#: says so by its byte-order mark, and is read as UTF-16 only.
ENCODINGS = ("utf-8-sig", "gb18030", "big5")
#: Field separators of CSV files and Excel's text exports, told apart by the header they split into.
DELIMITERS = (",", "\t", ";")
#: Characters of Chinese addresses: where two encodings read a header alike (``address,lon,lat``), the reading
#: of the text that holds more of them is the text (a misread one is nonsense, rarely these).
ADDRESS_CHARACTERS = frozenset("号楼栋幢座单元室层户区市省县镇街道路巷弄小花园苑村院")
#: Bytes read to tell two encodings apart by their text.
SAMPLE_BYTES = 1 << 16
#: Rows scanned for the header of a spreadsheet (title rows and merged group headers come first).
HEADER_ROWS = 10
ROUTES = ("id", "coordinate", "address")
#: A fuzzy compound match needs this lead (rapidfuzz points) over the next most similar place.
FUZZY_MARGIN = 5.0
#: A building's name is matched by similarity from this many characters on: a two-character name (二教, 无名)
#: is one stray character away from much else (于无名 scores 80 against 无名).
FUZZY_NAME_LENGTH = 3
#: Places scored for a misspelt one: those sharing the most pairs of characters with it.
SIMILAR_CANDIDATES = 20
REASONS = {
    "duplicate": "a duplicate of an earlier row",
    "bad_coordinate": "its coordinate is not a place in China",
    "too_far": "no building within the distance of its coordinate",
    "ambiguous": "its address fits more than one building",
    "unknown_compound": "its address names no compound or street of the scene",
    "unknown_building": "its compound has no building of that number",
    "no_address": "no building id, coordinate or address naming a building (by number or name) to join it by",
    "unknown_id": "its building id is no building of the scene",
    "bad_count": "its household count is not a whole number (blank, negative, a fraction or text)",
}
#: Unmatched rows' reasons named in the one line of a register of which nothing was joined.
REASONS_SHOWN = 3


@dataclass(frozen=True)
class RegisterImport:
    """A register or roll joined to a scene.

    Attributes
    ----------
    scene
        The scene with ``households`` from the register (``kind == "households"``) or ``party_members`` from
        the roll (``"members"``); buildings without register rows keep what they had (an estimate later).
    matches
        One row per data row: ``row`` (1-based, as in the file below its header), ``route`` (``id``,
        ``coordinate``, ``address`` or ``unmatched``), ``building_id``, ``confidence`` (``exact``,
        ``nearest``, ``fuzzy``, ``low``), ``detail`` (the distance, the score, a disagreement), ``reason``
        (for unmatched rows, a key of :data:`REASONS`); and ``member_id`` for a roll. No personal column.
    kind
        ``households`` or ``members``.
    dropped
        The headers of the columns not read (personal data among them).
    buildings_without_rows
        Buildings of the scene no row joined.
    coords
        How the system of the coordinates whose row names none was recognised (None: given, or no such row).
    """

    scene: Scene
    matches: pd.DataFrame
    kind: str
    dropped: tuple[str, ...]
    buildings_without_rows: tuple[str, ...]
    coords: SystemEvidence | None = None

    def counts(self) -> dict[str, int]:
        """Rows in, matched by each route, unmatched by each reason (in = matched + unmatched)."""
        routes = self.matches["route"].value_counts()
        reasons = self.matches.loc[self.matches["route"] == "unmatched", "reason"].value_counts()
        out = {
            "rows": len(self.matches),
            **{r: int(routes.get(r, 0)) for r in ROUTES},
            "unmatched": int(routes.get("unmatched", 0)),
        }
        out.update({f"unmatched_{k}": int(v) for k, v in reasons.items()})
        out["low_confidence"] = int((self.matches["confidence"] == "low").sum())
        return out

    def summary(self, lang: str = "zh") -> str:
        """The import in a few lines, in ``lang`` (``"zh"`` or ``"en"``): rows by route, unmatched by reason."""
        c = self.counts()
        matched = c["rows"] - c["unmatched"]
        reasons = [(k[10:], v) for k, v in c.items() if k.startswith("unmatched_")]
        zh = lang == "zh"
        kind = word("register_households" if self.kind == "households" else "register_members", lang)
        lines = [word("register_rows", lang, kind=kind, c=c, matched=matched)]
        lines += [
            word("register_unmatched", lang, reason=(REGISTER_REASONS_ZH if zh else REASONS)[k], n=v)
            for k, v in reasons
        ]
        if self.coords is not None:
            lines.append(word("register_coords", lang, systems=self.coords.describe(lang)))
        lines.append(word("register_buildings_without_rows", lang, n=len(self.buildings_without_rows)))
        if self.kind == "households":
            total, registered = self._registered()
            lines.append(
                word(
                    "register_households_line",
                    lang,
                    total=total,
                    registered=int(registered.sum()),
                    estimated=int((~registered).sum()),
                )
            )
        if self.dropped:
            lines.append(word("register_dropped", lang, columns=word("list_separator", lang).join(self.dropped)))
        return "\n".join(lines)

    def _registered(self) -> tuple[int, pd.Series]:
        buildings = self.scene.buildings
        registered = buildings["households_registered"].fillna(False).astype(bool)
        total = pd.to_numeric(buildings["households"], errors="coerce")
        return int(total[registered].sum()), registered


def read_register(
    path: str | os.PathLike,
    *,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    salt: str = DEFAULTS.register.salt,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """A register or roll as a table of the columns gridplan knows (:data:`ALIASES`), every value text, and a
    ``record``: a salted hash of the whole row as read (personal columns included, which are then dropped),
    that tells true duplicates apart from two people at one address and stands in for a missing member id.

    Parameters
    ----------
    path
        ``.csv`` or Excel's ``.txt`` "Unicode text" (UTF-8 with or without BOM, GBK/GB18030, Big5, UTF-16 with a
        BOM; comma, tab or semicolon between fields, told by the header) or ``.xlsx`` (the header found among
        the first rows; merged header cells spread over the columns they span).
    columns
        Header in the file → gridplan column (``{"楼号地址": "address"}``), where the aliases do not know it.
    sheet
        The worksheet (the first by default).
    encoding
        The CSV's encoding: the only one tried. By default the file's byte-order mark says it, else the one of
        :data:`ENCODINGS` whose reading of the header has most headers gridplan knows; a header known in none
        (nonsense in every reading), or two readings that tell different texts apart by nothing, is an
        :class:`~gridplan.errors.InputError` asking for it.
    salt
        Mixed into the ``record`` hash (``settings.register.salt``).

    Returns
    -------
    table, dropped
        The known columns (``row`` numbers the data rows from 1; ``record`` is the row's hash), and the
        headers not read.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist", zh=f"{path} 不存在")
    mapping = {_header(k): v for k, v in (columns or {}).items()}
    unknown = sorted(set(mapping.values()) - set(ALIASES))
    if unknown:
        raise InputError(
            f"--column maps to {unknown[0]!r}: a register's columns are {', '.join(ALIASES)}",
            zh=f"--column 对应到 {unknown[0]!r}：登记表的字段只有 {'、'.join(ALIASES)}",
        )
    known = {_header(a) for names in ALIASES.values() for a in names} | {_header(p) for p in PERSONAL} | set(mapping)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        raw = _read_csv(path, encoding, known)
    elif suffix in (".xlsx", ".xlsm"):
        raw = _read_xlsx(path, sheet, known)
    else:
        raise InputError(
            f"cannot read {path.name}: a register is a .csv (or Excel's .txt) or .xlsx file",
            zh=f"无法读取 {path.name}：登记表应为 .csv（或 Excel 导出的 .txt）或 .xlsx 文件",
        )
    aliases = {_header(a): name for name, names in ALIASES.items() for a in names}
    known: dict[str, str] = {}
    for header in raw.columns:
        name = mapping.get(_header(header)) or aliases.get(_header(header))
        if name and name not in known.values():
            known[header] = name
    missing = [c for c in mapping if c not in {_header(h) for h in raw.columns}]
    if missing:
        raise InputError(
            f"{path.name} has no column {missing[0]!r} named in the column map",
            zh=f"{path.name} 没有字段对应关系中指定的列 {missing[0]!r}",
        )
    table = raw[list(known)].rename(columns=known)
    table.insert(0, "row", np.arange(1, len(table) + 1))
    text = raw.astype(str)
    whole = (
        text.iloc[:, 0].str.cat([text[c] for c in text.columns[1:]], sep="\x1f")
        if len(text.columns)
        else text.index.astype(str)
    )
    table.insert(1, "record", ["r-" + hashlib.sha256(f"{salt}\x1e{text}".encode()).hexdigest()[:16] for text in whole])
    return table, tuple(str(h) for h in raw.columns if h not in known)


def _header(text) -> str:
    """A header as compared with the aliases: half-width, lower-case, simplified, without spaces or a BOM."""
    text = unicodedata.normalize("NFKC", str(text)).strip().lower().replace(" ", "").removeprefix("\ufeff")
    return text.translate(SIMPLIFIED)


@dataclass(frozen=True)
class _Reading:
    """A CSV's bytes read in one encoding: its text, the delimiter its header splits by, and how many of the
    header's fields are headers gridplan knows."""

    encoding: str
    text: str
    delimiter: str
    known: int


def _read_csv(path: Path, encoding: str | None, known: set[str]) -> pd.DataFrame:
    data = path.read_bytes()
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise InputError(
                f"unknown encoding {encoding!r}: use one such as utf-8, gb18030, big5 or utf-16",
                zh=f"未知的编码 {encoding!r}：请使用 utf-8、gb18030、big5 或 utf-16 等编码",
            ) from exc
        candidates = [encoding]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = list(ENCODINGS)
    readings = []
    for candidate in candidates:
        try:
            text = data.decode(candidate).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            if encoding:
                raise InputError(
                    f"{path.name} is not readable as {encoding}: {exc.reason} at byte {exc.start:,}",
                    zh=f"{path.name} 无法按 {encoding} 读取：第 {exc.start:,} 字节处 {exc.reason}",
                ) from exc
            continue
        readings.append(_Reading(candidate, text, *_delimiter(text, known)))
    if not readings:
        raise InputError(
            f"{path.name} is in none of {', '.join(candidates)}: give its encoding (--encoding)",
            zh=f"{path.name} 的编码不是 {'、'.join(candidates)} 中的任何一种：请给出其编码（--encoding）",
        )
    reading = _likeliest(readings, path.name, candidates)
    try:
        # pandas parses UTF-8 bytes three times as fast as the same text from a StringIO
        return pd.read_csv(
            io.BytesIO(reading.text.encode("utf-8")),
            sep=reading.delimiter,
            encoding="utf-8",
            dtype=str,
            keep_default_na=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"cannot read {path.name} as CSV: {' '.join(str(exc).split())}",
            zh=f"无法按 CSV 读取 {path.name}：{' '.join(str(exc).split())}",
        ) from exc


def _delimiter(text: str, known: set[str]) -> tuple[str, int]:
    """The delimiter the header line splits into most known headers (then most fields), and that number."""
    line = text.split("\n", 1)[0].rstrip("\r")
    fields = {d: next(csv.reader([line], delimiter=d), []) for d in DELIMITERS}
    found = {d: sum(_header(f) in known for f in fields[d]) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (found[d], len(fields[d])))  # a tie: the first, a comma
    return best, found[best]


def _likeliest(readings: list[_Reading], name: str, tried: list[str]) -> _Reading:
    """The reading whose header has most known headers. Readings that tie and tell different texts: valid
    UTF-8 is UTF-8 (other bytes rarely are); else the one whose text holds clearly more of the characters of
    addresses, or none (refused, not guessed)."""
    most = max(r.known for r in readings)
    if not most and len(tried) == 1:
        raise InputError(
            f"{name} is not readable as {tried[0]}: its header has no column gridplan knows (check "
            f"--encoding, or name its columns with --map-column)",
            zh=f"{name} 无法按 {tried[0]} 读取：表头中没有 gridplan 认识的列（请检查 --encoding，"
            "或用 --map-column 指明各列）",
        )
    if not most:
        raise InputError(
            f"{name} is readable as none of {', '.join(tried)}: its header has no column gridplan knows "
            f"in any (give its encoding with --encoding, or name its columns with --map-column)",
            zh=f"{name} 按 {'、'.join(tried)} 都无法读取：任一编码下表头都没有 gridplan 认识的列"
            "（请用 --encoding 给出编码，或用 --map-column 指明各列）",
        )
    top = [r for r in readings if r.known == most]
    if len({r.text for r in top}) == 1 or top[0].encoding == "utf-8-sig":
        return top[0]
    hits = [sum(ch in ADDRESS_CHARACTERS for ch in r.text[:SAMPLE_BYTES].translate(SIMPLIFIED)) for r in top]
    first, second = np.argsort(hits)[::-1][:2]
    if hits[first] > 2 * hits[second]:
        return top[first]
    raise InputError(
        f"{name} reads as {' and as '.join(r.encoding for r in top)} alike by its header, and its "
        f"text does not tell which: give its encoding (--encoding)",
        zh=f"{name} 按 {' 和 '.join(r.encoding for r in top)} 读取时表头同样可读，正文也无法区分："
        "请给出其编码（--encoding）",
    )


def _read_xlsx(path: Path, sheet: str | None, known: set[str]) -> pd.DataFrame:
    try:
        book = load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError… on files that are not workbooks
        raise InputError(
            f"cannot read {path.name} as an Excel workbook: {exc}", zh=f"无法按 Excel 工作簿读取 {path.name}：{exc}"
        ) from exc
    if sheet is not None and sheet not in book.sheetnames:
        raise InputError(
            f"{path.name} has no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})",
            zh=f"{path.name} 没有工作表 {sheet!r}（现有工作表：{'、'.join(book.sheetnames)}）",
        )
    ws = book[sheet] if sheet else book.worksheets[0]
    for merged in list(ws.merged_cells.ranges):  # a merged cell's value in every cell it spans
        value = ws.cell(merged.min_row, merged.min_col).value
        ws.unmerge_cells(str(merged))
        for row in range(merged.min_row, merged.max_row + 1):
            for col in range(merged.min_col, merged.max_col + 1):
                ws.cell(row, col).value = value
    rows = [["" if v is None else str(v).strip() for v in row] for row in ws.iter_rows(values_only=True)]
    if not rows:
        raise InputError(f"{path.name}: the sheet is empty", zh=f"{path.name}：工作表为空")
    scores = [sum(_header(v) in known for v in row) for row in rows[:HEADER_ROWS]]
    top = int(np.argmax(scores)) if max(scores) else 0
    header = [h or f"column {i + 1}" for i, h in enumerate(rows[top])]
    body = [r for r in rows[top + 1 :] if any(r)]
    return pd.DataFrame(body, columns=header)


def import_register(
    table: pd.DataFrame,
    scene: Scene | PreparedScene,
    *,
    kind: str = "households",
    coords: str = "auto",
    settings: Settings | None = None,
    dropped: tuple[str, ...] = (),
) -> RegisterImport:
    """Join a register's rows (:func:`read_register`) to a scene's buildings, and put them into the scene.

    Parameters
    ----------
    table
        The rows, with any of the columns of :data:`ALIASES` and ``row``.
    scene
        The scene (validated, or prepared).
    kind
        ``households`` (a row a household or a dwelling) or ``members`` (a row a party member).
    coords
        The coordinate system of rows that do not say theirs (a ``coords`` column: WGS84, GCJ-02, BD-09), or
        ``"auto"``: the system in which clearly the most of their points land in a footprint.
    settings
        Matching distances and scores (``settings.register``).
    dropped
        Headers not read, to report.

    Returns
    -------
    RegisterImport

    Raises
    ------
    InputError
        ``kind`` is unknown; ``coords`` is ``"auto"`` and no system is clearly best; or no row could be joined
        (an empty register, or one read wrong: its rows, the reasons and what to check in one line).
    """
    if kind not in KINDS:
        raise InputError(
            f"unknown register kind {kind!r}: use households or members",
            zh=f"未知的登记表类型 {kind!r}：可选 households（户籍登记表）或 members（党员名册）",
        )
    prepared = as_prepared(scene, settings)
    settings = prepared.settings
    table = table.reset_index(drop=True)
    evidence = register_system(table, prepared) if coords == "auto" else None
    if coords == "auto":
        coords = evidence.shift[0] if evidence is not None else "wgs84"
    matches = match_rows(table, prepared, coords=coords)
    counts = _household_counts(table) if kind == "households" else None
    if counts is not None:
        matches = _without_unreadable_counts(matches, table, counts)
    if not (matches["route"] != "unmatched").any():
        raise InputError(_nothing_joined(table, matches, kind), zh=_nothing_joined(table, matches, kind, "zh"))
    buildings = prepared.scene.buildings
    joined = matches.loc[matches["route"] != "unmatched", "building_id"]
    without = tuple(buildings.loc[~buildings["building_id"].isin(set(joined)), "building_id"].astype(str))
    generated = bool(
        "generated" in table and table["generated"].map(lambda v: normalise(v).lower() in ("true", "1", "是")).any()
    )
    if kind == "households":
        out = prepared.scene.replace(buildings=_registered_households(prepared, counts, matches, generated))
    else:
        members, ids = _members(table, matches)
        matches = matches.assign(member_id=ids)
        out = prepared.scene.replace(party_members=members.assign(generated=True) if generated else members)
    return RegisterImport(
        scene=out, matches=matches, kind=kind, dropped=dropped, buildings_without_rows=without, coords=evidence
    )


def register_system(table: pd.DataFrame, scene: Scene | PreparedScene) -> SystemEvidence | None:
    """The coordinate system of a register's points whose row names none, recognised against the scene's
    footprints (:func:`gridplan.core.alignment.point_system`).

    Returns
    -------
    SystemEvidence or None
        The evidence (clear), or None when no row has such a point.

    Raises
    ------
    InputError
        No system is clearly best: the points land in footprints about as often in two systems, or in none.
    """
    if "lon" not in table or "lat" not in table:
        return None
    prepared = as_prepared(scene)
    lon, lat, system = _points(table)
    rows = pd.isna(system) & _usable(lon, lat)
    if not rows.any():
        return None
    evidence = point_system(lon[rows], lat[rows], prepared.local.buildings.geometry, prepared.settings.coords)
    if not evidence.clear:
        raise InputError(
            f"the register's {evidence.count:,} points without a 坐标系 fit no coordinate system clearly (in no "
            f"footprint when read as: {evidence.readings()}): give it with --register-coords wgs84, gcj02 or bd09",
            zh=f"登记表中 {evidence.count:,} 个未注明坐标系的点与任何坐标系都不明确吻合（按各坐标系读取时"
            f"不落在任何建筑轮廓内的比例：{evidence.readings('zh')}）：请用 --register-coords wgs84、gcj02 或 bd09 指明",
        )
    return evidence


def match_rows(table: pd.DataFrame, scene: Scene | PreparedScene, *, coords: str = "wgs84") -> pd.DataFrame:
    """The building each row names, by id, coordinate or address (the module's routes), or why none.

    ``coords`` is the system of points whose row names none (``"auto"``: see :func:`register_system`).

    Returns
    -------
    pandas.DataFrame
        ``row``, ``route``, ``building_id``, ``confidence``, ``detail``, ``reason``, aligned to ``table``.
    """
    prepared = as_prepared(scene)
    if coords == "auto":
        evidence = register_system(table, prepared)
        coords = evidence.shift[0] if evidence is not None else "wgs84"
    r = prepared.settings.register
    local = prepared.local.buildings
    ids = local["building_id"].astype(str).to_numpy()
    n = len(table)
    route = np.full(n, "unmatched", dtype=object)
    building = np.full(n, None, dtype=object)
    confidence = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    reason = np.full(n, "no_address", dtype=object)

    duplicate = (table["record"] if "record" in table else table.drop(columns="row")).duplicated().to_numpy()
    reason[duplicate] = "duplicate"
    open_ = ~duplicate

    if "building_id" in table:  # 1. a building id
        given = table["building_id"].map(lambda v: id_string(v).strip() if str(v).strip() else None, na_action="ignore")
        known = given.isin(set(ids)).to_numpy()
        hit = open_ & known
        route[hit], building[hit], confidence[hit] = "id", given[hit].to_numpy(), "exact"
        reason[open_ & given.notna().to_numpy() & ~known] = "unknown_id"
        open_ &= ~hit

    by_address = _address_matches(table, prepared, r) if "address" in table else None
    if "lon" in table and "lat" in table:  # 2. a coordinate
        inside, nearest, distance, bad = _coordinate_matches(table, prepared, coords, r.max_distance_m)
        has_point = ~bad & table["lon"].astype(str).str.strip().ne("").to_numpy()
        reason[open_ & bad & table["lon"].astype(str).str.strip().ne("").to_numpy()] = "bad_coordinate"
        hit = open_ & (inside >= 0)
        if by_address is not None:  # a point in one footprint, an address that names another exactly: the address
            # wins (a geocoder puts a dwelling's point in a neighbour as easily as beside it); both are said
            said = by_address["building"].to_numpy()
            other = (
                hit
                & (by_address["confidence"] == "exact").to_numpy()
                & pd.notna(said)
                & (said != ids[np.maximum(inside, 0)])
            )
            detail[other] = [f"its coordinate is in {ids[i]}" for i in inside[other]]
            hit &= ~other
        route[hit], building[hit], confidence[hit] = "coordinate", ids[inside[hit]], "exact"
        open_ &= ~hit
        near = open_ & (nearest >= 0)
        if by_address is not None:  # a point off every footprint yields to an address that names a building
            near &= by_address["building"].isna().to_numpy()
        route[near], building[near], confidence[near] = "coordinate", ids[nearest[near]], "nearest"
        detail[near] = [f"{d:.0f} m from it" for d in distance[near]]
        open_ &= ~near
        reason[open_ & has_point & (nearest < 0)] = "too_far"

    if by_address is not None:  # 3. the address
        named = by_address["building"].notna().to_numpy()
        hit = open_ & named
        route[hit], building[hit] = "address", by_address["building"].to_numpy()[hit]
        confidence[hit] = np.where(detail[hit] != "", "low", by_address["confidence"].to_numpy()[hit])
        detail[hit] = np.where(detail[hit] != "", detail[hit], by_address["detail"].to_numpy()[hit])
        failed = open_ & ~named & by_address["reason"].notna().to_numpy()
        reason[failed & ~np.isin(reason, ("bad_coordinate", "too_far", "unknown_id"))] = by_address[
            "reason"
        ].to_numpy()[failed & ~np.isin(reason, ("bad_coordinate", "too_far", "unknown_id"))]
        open_ &= ~hit
    matched = route != "unmatched"
    reason[matched] = ""
    return pd.DataFrame(
        {
            "row": table["row"].to_numpy() if "row" in table else np.arange(1, n + 1),
            "route": route,
            "building_id": building,
            "confidence": confidence,
            "detail": detail,
            "reason": reason,
        }
    )


def _coordinate_matches(table: pd.DataFrame, prepared: PreparedScene, coords: str, max_distance_m: float):
    """Per row: the footprint holding its point (-1: none), the nearest within the distance (-1: none), that
    distance, and whether the coordinate is unusable."""
    lon, lat, named = _points(table)
    system = np.where(pd.isna(named), coords, named)
    for name, convert in (("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)):
        rows = system == name
        if rows.any():
            lon[rows], lat[rows] = convert(lon[rows], lat[rows])
    bad = ~_usable(lon, lat)
    n = len(table)
    inside, nearest, distance = np.full(n, -1), np.full(n, -1), np.full(n, np.inf)
    good = np.flatnonzero(~bad)
    if not len(good):
        return inside, nearest, distance, bad
    points = gpd.GeoSeries(gpd.points_from_xy(lon[good], lat[good]), crs=4326).to_crs(prepared.local_crs).to_numpy()
    footprints = prepared.local.buildings.geometry.to_numpy()
    tree = shapely.STRtree(footprints)
    p, b = tree.query(points, predicate="within")
    # a point in two footprints drawn over each other: the smaller one, the building it more likely names
    order = np.lexsort((shapely.area(footprints[b]), p))
    p, b = p[order], b[order]
    first = np.r_[True, p[1:] != p[:-1]] if len(p) else np.zeros(0, dtype=bool)
    inside[good[p[first]]] = b[first]
    off = np.flatnonzero(inside[good] < 0)  # the nearest footprint, for points in none
    p, b = tree.query_nearest(points[off], max_distance=max_distance_m, return_distance=False, all_matches=False)
    nearest[good[off[p]]] = b
    distance[good[off[p]]] = shapely.distance(points[off[p]], footprints[b])
    return inside, nearest, distance, bad


def _points(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's lon and lat as numbers (NaN where unreadable), and the system its row names (None: none)."""
    lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(dtype=float, copy=True)
    named = (
        table["coords"].map(_system).to_numpy(dtype=object)
        if "coords" in table
        else np.full(len(table), None, dtype=object)
    )
    return lon, lat, named


def _usable(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points that are numbers and in China."""
    return np.isfinite(lon) & np.isfinite(lat) & ~out_of_china(np.nan_to_num(lon), np.nan_to_num(lat))


def _system(value) -> str | None:
    text = normalise(value).lower()
    if not text:
        return None
    if "gcj" in text or "高德" in text or "腾讯" in text or "火星" in text:
        return "gcj02"
    if "bd" in text or "百度" in text:
        return "bd09"
    return "wgs84"


def _address_matches(table: pd.DataFrame, prepared: PreparedScene, r) -> pd.DataFrame:
    """Per row: the building its address names — by its number (exactly or in a misspelt compound), else by the
    building's name — else why none."""
    text = normalise_all(table["address"])
    parts = building_parts(text, normalised=True)
    places = _Places(_building_index(prepared), r)
    unique = parts.unique()
    by_number = [places.match(building_key(part, normalised=True)) for part in unique]
    found = pd.DataFrame(by_number, columns=_MATCH).iloc[pd.Index(unique).get_indexer(parts)].reset_index(drop=True)
    # an address naming no building by its number may name one by its name (文西楼, 7公寓)
    rest = found["building"].isna().to_numpy() & text.ne("").to_numpy()
    if rest.any():
        names = _Names(prepared, r)
        texts = text[rest].unique()
        by_name = pd.DataFrame([names.match(t) for t in texts], columns=_MATCH).iloc[
            pd.Index(texts).get_indexer(text[rest])
        ]
        said = by_name["reason"].notna().to_numpy() | by_name["building"].notna().to_numpy()
        found.loc[np.flatnonzero(rest)[said], list(_MATCH)] = by_name[said].to_numpy()
    return found


#: What a route by address says of one address: the building, the confidence, the detail, the reason for none.
_MATCH = ("building", "confidence", "detail", "reason")


class _Similar:
    """Texts like a misspelt one, by rapidfuzz ``ratio`` of at least ``cutoff``: the candidates are the targets
    sharing the most pairs of characters with it (an index of the pairs), each scored against every way it is
    spelled; the best score per target, most similar first."""

    def __init__(self, spellings: Mapping[str, Sequence[str]], cutoff: float):
        self.spellings, self.cutoff = spellings, cutoff
        self.pairs: dict[str, set[str]] = {}
        for target in spellings:
            for pair in _pairs(target):
                self.pairs.setdefault(pair, set()).add(target)
        self.cache: dict[str, list[tuple[str, float]]] = {}

    def __call__(self, text: str) -> list[tuple[str, float]]:
        if text not in self.cache:
            shared: dict[str, int] = {}
            for pair in _pairs(text):
                for candidate in self.pairs.get(pair, ()):
                    shared[candidate] = shared.get(candidate, 0) + 1
            nearest = heapq.nlargest(SIMILAR_CANDIDATES, shared, key=lambda c: (shared[c], c))
            spelled = [(spelling, target) for target in nearest for spelling in self.spellings[target]]
            best: dict[str, float] = {}
            for _, score, i in process.extract(
                text, [s for s, _ in spelled], scorer=fuzz.ratio, score_cutoff=self.cutoff, limit=None
            ):
                target = spelled[i][1]
                best[target] = max(best.get(target, 0.0), score)
            self.cache[text] = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return self.cache[text]


class _Places:
    """The places (compounds, streets) of a scene's buildings, matched exactly or, misspelt, by similarity to
    each place as written bare and with every compound suffix."""

    def __init__(self, index: dict[BuildingKey, list[str]], r):
        self.index, self.r = index, r
        self.places = {key.place for key in index}
        self.similar = _Similar(
            {p: (p, *(p + suffix for suffix in COMPOUND_SUFFIXES)) for p in self.places}, r.fuzzy_score
        )

    def named(self, key: BuildingKey, place: str) -> list[str]:
        return (
            self.index.get(BuildingKey(place, key.number, key.street))
            or self.index.get(BuildingKey(place, key.number, not key.street))
            or []
        )

    def match(self, key: BuildingKey | None) -> tuple:
        """(building, confidence, detail, reason) for one address's key."""
        if key is None:
            return None, "", "", "no_address"
        if key.place in self.places:
            buildings, confidence, detail = self.named(key, key.place), "exact", ""
            if not buildings:
                return None, "", "", "unknown_building"
        else:
            # a misspelt compound: the most similar place with a building of this number, unless another is
            # nearly as similar (then the address is ambiguous)
            found = [(place, score) for place, score in self.similar(key.place) if self.named(key, place)]
            if not found:
                return None, "", "", "unknown_compound"
            if len(found) > 1 and found[1][1] >= found[0][1] - FUZZY_MARGIN:
                return None, "", "", "ambiguous"
            (place, score), buildings = found[0], self.named(key, found[0][0])
            confidence = "fuzzy" if score >= self.r.sure_score else "low"
            detail = f"{key.place} read as {place} ({score:.0f})"
        if len(buildings) > 1:
            return None, "", "", "ambiguous"
        return buildings[0], confidence, detail, None


_DIGIT_RUNS = re.compile(r"[0-9]+")


class _Names:
    """The scene's buildings by name (楼名: ``文西楼``, ``7公寓``, ``篮球馆``; OSM ``name`` tags and standard
    addresses without a building number). An address names one when, cut before its dwelling part
    (:func:`gridplan.prepare.addresses.name_heads`), it ends in the name after nothing, the building's compound or an
    administrative part (exact); misspelt, when it is like a name or its compound and name (rapidfuzz) with
    the same numbers: a misspelt 西12楼 is never 西11楼. A building's compound is the compound holding it, and the
    place of its numbered standard address (阳光 of 阳光花园3栋), each with or without its suffix."""

    def __init__(self, prepared: PreparedScene, r):
        self.r = r
        buildings = prepared.local.buildings
        ids = buildings["building_id"].astype(str).to_numpy()
        texts = {c: normalise_all(buildings[c]).to_numpy() for c in ("name", "address") if c in buildings}
        keys = {c: [building_key(t, normalised=True) for t in column] for c, column in texts.items()}
        # a numbered building is the places' to match
        named = [(i, t) for c in texts for i, (t, key) in enumerate(zip(texts[c], keys[c])) if t and key is None]
        compounds = [
            {normalise(c), compound_key(c)} - {""} if c else set()
            for c in (_compound_names(prepared) if named else [None] * len(ids))
        ]
        for i, key in enumerate(keys.get("address", ())):
            if key is not None and key.place and not key.street:
                compounds[i].add(key.place)
        self.names: dict[str, set[str]] = {}
        self.compounds: dict[str, set[str]] = {}
        spellings: dict[str, set[str]] = {}
        for i, text in named:
            self.compounds.setdefault(ids[i], set()).update(compounds[i])
            for name in {text, without_admin(text)}:
                self.names.setdefault(name, set()).add(ids[i])
                for spelled in (name, *(c + name for c in compounds[i])):
                    spellings.setdefault(spelled, set()).add(ids[i])
        self.lengths = sorted({len(name) for name in self.names}, reverse=True)
        self.spellings = spellings
        self.similar = _Similar({s: (s,) for s in spellings if len(s) >= FUZZY_NAME_LENGTH}, r.fuzzy_score)

    def exact(self, head: str) -> set[str]:
        """The buildings whose name ``head`` ends in, after nothing or the building's compound (the longest
        such name)."""
        for length in self.lengths:
            ids = self.names.get(head[-length:]) if length <= len(head) else None
            prefix = head[:-length]
            if ids and prefix:  # 阳光花园文西楼: only the 文西楼 of that compound
                ids = {b for b in ids if {prefix, compound_key(prefix)} & self.compounds.get(b, set())}
            if ids:
                return ids
        return set()

    def match(self, text: str) -> tuple:
        """(building, confidence, detail, reason) for one normalised address; all None where it names no
        building by name."""
        if not self.names:
            return None, "", "", None
        heads = name_heads(text)
        for head in heads:
            ids = self.exact(head)
            if ids and heads[0][len(head) :][:1].isdigit():
                # digits cut where they run on (教学楼1|1单元): every other cut of them must name the same
                base = head.rstrip("0123456789")
                ids = ids.union(*(self.exact(h) for h in heads if h.startswith(base) and h[len(base) :].isdigit()))
            if ids:
                return (next(iter(ids)), "exact", "", None) if len(ids) == 1 else (None, "", "", "ambiguous")
        best: dict[str, tuple[float, str, str]] = {}
        for head in heads:
            digits = _DIGIT_RUNS.findall(head)
            for spelled, score in self.similar(head):
                if _DIGIT_RUNS.findall(spelled) != digits:
                    continue
                for building in self.spellings[spelled]:
                    if score > best.get(building, (0.0,))[0]:
                        best[building] = (score, head, spelled)
        if not best:
            return None, "", "", None
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))
        if len(ranked) > 1 and ranked[1][1][0] >= ranked[0][1][0] - FUZZY_MARGIN:
            return None, "", "", "ambiguous"
        building, (score, head, spelled) = ranked[0]
        return (
            building,
            "fuzzy" if score >= self.r.sure_score else "low",
            f"{head} read as {spelled} ({score:.0f})",
            None,
        )


def _pairs(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(max(len(text) - 1, 1))}


def _building_index(prepared: PreparedScene) -> dict[BuildingKey, list[str]]:
    """Each building's key, from its standard address (``address``), else its name or ``addr:*`` tags with
    its compound's name: key → building ids (two ids under one key make its addresses ambiguous)."""
    buildings = prepared.local.buildings
    compound = _compound_names(prepared)
    keys: list[tuple[BuildingKey | None, str]] = []
    for position, data in enumerate(buildings.drop(columns="geometry").to_dict("records")):
        candidates = [data.get("address")]
        street, number = (
            data.get("addr_street") or data.get("addr:street"),
            data.get("addr_housenumber") or data.get("addr:housenumber"),
        )
        if street and number:
            candidates.append(f"{street}{number}号")
        name = data.get("name")
        if name and compound[position]:
            candidates.append(f"{compound[position]}{name}")
        candidates.append(name)
        for text in candidates:
            key = building_key(text) if text is not None and not (isinstance(text, float) and np.isnan(text)) else None
            if key is not None:
                keys.append((key, str(data["building_id"])))
                break
    index: dict[BuildingKey, list[str]] = {}
    for key, building in keys:
        index.setdefault(key, []).append(building)
    return index


def _compound_names(prepared: PreparedScene) -> np.ndarray:
    """The name of the compound (小区) each building is in, by ``compound_id`` or by the compound polygon
    holding it; None elsewhere."""
    buildings, compounds = prepared.local.buildings, prepared.local.compounds
    names = np.full(len(buildings), None, dtype=object)
    if compounds is None or "name" not in compounds or not len(compounds):
        return names
    if "compound_id" in buildings and "compound_id" in compounds:
        by_id = dict(zip(compounds["compound_id"].astype(str), compounds["name"]))
        names[:] = buildings["compound_id"].map(lambda c: by_id.get(str(c)) if c is not None else None)
    missing = np.flatnonzero(pd.isna(names))
    if len(missing):
        b, c = shapely.STRtree(compounds.geometry.to_numpy()).query(
            shapely.point_on_surface(buildings.geometry.to_numpy()[missing]), predicate="within"
        )
        names[missing[b]] = compounds["name"].to_numpy()[c]
    return names


#: A household count as written: a whole number (3, ３, 3.0 as spreadsheets write it) once Chinese numerals are
#: digits (三 → 3, 十二 → 12).
_COUNT = re.compile(r"[0-9]+(?:\.0*)?")


def _household_counts(table: pd.DataFrame) -> pd.Series:
    """Each row's households: 1 without a ``households`` column, else its count; 0 where the dwelling is
    vacant; NaN where the count cannot be read (blank, text, negative, a fraction)."""
    count = pd.Series(1.0, index=table.index)
    if "households" in table:
        text = table["households"].astype(object).where(table["households"].notna(), "").astype(str)
        text = text.str.normalize("NFKC").str.strip()
        written = text.unique()  # a few counts over many rows: each read once
        text = text.map(dict(zip(written, map(to_digits, written))))
        count = pd.to_numeric(text.where(text.str.fullmatch(_COUNT)), errors="coerce")
    if "vacant" in table:
        vacant = table["vacant"].astype(str).map(lambda v: normalise(v).lower() in VACANT_WORDS)
        count = count.where(~vacant, 0.0)
    return count


def _without_unreadable_counts(matches: pd.DataFrame, table: pd.DataFrame, counts: pd.Series) -> pd.DataFrame:
    """The matches with the rows whose household count cannot be read unmatched (``bad_count``): a guess of one
    household would pass for a registered count."""
    bad = counts.isna().to_numpy() & (matches["reason"] != "duplicate").to_numpy()
    if not bad.any():
        return matches
    out = matches.copy()
    out.loc[bad, ["route", "building_id", "confidence", "reason"]] = ["unmatched", None, "", "bad_count"]
    out.loc[bad, "detail"] = ["household count " + repr(str(v)[:20]) for v in table.loc[bad, "households"]]
    return out


def _nothing_joined(table: pd.DataFrame, matches: pd.DataFrame, kind: str, lang: str = "en") -> str:
    """One line, in ``lang``, for a register of which no row was joined: rows read, the main reasons, what to check."""
    register = "户籍登记表" if kind == "households" else "党员名册" if kind == "members" else f"{kind} 登记表"
    if not len(matches):
        return word("register_empty", lang, register=register, kind=kind)
    read = [c for c in ALIASES if c in table]
    reasons = matches["reason"].value_counts()
    zh = lang == "zh"
    said = word("semicolon", lang).join(
        word("register_reason_rows", lang, n=v, reason=(REGISTER_REASONS_ZH if zh else REASONS).get(k, k))
        for k, v in reasons.iloc[:REASONS_SHOWN].items()
    )
    columns = word("list_separator", lang).join(read) or word("register_no_known_columns", lang)
    return word(
        "register_nothing_joined", lang, register=register, kind=kind, rows=len(matches), said=said, columns=columns
    )


def _registered_households(
    prepared: PreparedScene, count: pd.Series, matches: pd.DataFrame, generated: bool
) -> gpd.GeoDataFrame:
    """The scene's buildings with households from the matched rows' counts (:func:`_household_counts`),
    (``households_registered``). Buildings without rows keep their count, or its estimate
    (``households_estimated``). A generated register marks the counts it gives ``households_generated``."""
    buildings, filled = prepared.scene.buildings, prepared.local.buildings
    joined = matches["route"] != "unmatched"
    per_building = count[joined.to_numpy()].groupby(matches.loc[joined, "building_id"].to_numpy()).sum()
    out = buildings.copy()
    registered = out["building_id"].astype(str).isin(per_building.index).to_numpy()
    counts = out["building_id"].astype(str).map(per_building).round().to_numpy()
    out["households"] = np.where(registered, counts, filled["households"].to_numpy()).astype(np.int64)
    out["households_estimated"] = ~registered & filled["households_estimated"].to_numpy(dtype=bool)
    out["households_registered"] = registered
    if generated:
        out["households_generated"] = registered
    return out


def _members(table: pd.DataFrame, matches: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The matched members as ``party_members``; and every row's member id (given, else the row's ``record``:
    a salted hash, stable for the same row, revealing nothing of it)."""
    if "member_id" in table:
        given = table["member_id"].map(lambda v: id_string(v).strip() if str(v).strip() else None, na_action="ignore")
    else:
        given = pd.Series(None, index=table.index, dtype=object)
    record = table["record"] if "record" in table else pd.Series([f"r-{r}" for r in table["row"]], index=table.index)
    ids = given.where(given.notna(), record).to_numpy(dtype=object)
    joined = (matches["route"] != "unmatched").to_numpy()
    status = normalise_status(table["status"] if "status" in table else None, table.index)
    members = pd.DataFrame(
        {
            "member_id": ids[joined],
            "building_id": matches["building_id"].to_numpy()[joined],
            "status": status.to_numpy()[joined],
        }
    )
    return members, ids


def write_register_report(result: RegisterImport, folder: str | os.PathLike) -> list[Path]:
    """The match report: ``register_matches.csv`` (a row a data row; no personal column) and
    ``register_summary.txt``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{result.kind}_matches.csv", folder / f"{result.kind}_summary.txt"]
    with atomic_path(paths[0]) as tmp:
        result.matches.to_csv(tmp, index=False, encoding="utf-8-sig")
    with atomic_path(paths[1]) as tmp:
        Path(tmp).write_text(result.summary("en") + "\n", encoding="utf-8")
    return paths
