"""Generated, seeded scenarios of records nobody has for the extracts: a household register (一标三实) and a
party member roll, written the ways real exports are, with the truth kept apart for tests and benchmarks.

Everything here is labelled generated: the scene's buildings get ``address`` (their standard address, invented
where OpenStreetMap names none) with ``address_generated``; every register row has ``generated`` true, which
:func:`gridplan.prepare.register.import_register` carries into the scene, so plans and maps say so.

:func:`register_variant` rewrites a generated register the other ways registers arrive (:data:`VARIANTS`:
coordinates in one unnamed system, addresses as building names, Excel's UTF-16 text, Big5), and
:func:`write_register` writes it as that variant's file; its rows stay those of ``GeneratedRecords.truth``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.core.coords import bd09_to_gcj02, gcj02_to_bd09, wgs84_to_bd09, wgs84_to_gcj02
from gridplan.core.hanzi import TRADITIONAL
from gridplan.core.scene import PreparedScene, Scene
from gridplan.engine.units import street_blocks
from gridplan.errors import InputError
from gridplan.prepare.addresses import building_key
from gridplan.prepare.validate import as_prepared
from gridplan.settings import DEFAULTS

#: Words compound names are made of (two or three of them, then a suffix).
_WORDS = (
    "阳光",
    "幸福",
    "和平",
    "春天",
    "金色",
    "翠竹",
    "锦绣",
    "龙湖",
    "华府",
    "东方",
    "滨江",
    "紫金",
    "玉兰",
    "梧桐",
    "银杏",
    "碧水",
    "青年",
    "文化",
    "建设",
    "光明",
    "长江",
    "汉水",
    "钟山",
    "秦淮",
    "太湖",
    "明珠",
    "丽景",
    "怡和",
    "康乐",
    "安居",
    "富康",
    "新城",
    "花溪",
    "松林",
    "桃源",
    "荷塘",
    "书香",
    "雅居",
    "名都",
    "世纪",
)
_SUFFIXES = ("小区", "花园", "苑", "家园", "公寓")
_BUILDING_WORDS = ("栋", "号楼", "幢", "座")
_NUMERALS = "零一二三四五六七八九"
_PREFIXES = (
    "江苏省南京市玄武区新街口街道",
    "南京市玄武区",
    "湖北省武汉市洪山区",
    "北京市海淀区学院路街道",
    "上海市黄浦区",
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华"
#: Share of rows with each kind of noise (a row may have several).
NOISE = {
    "fullwidth": 0.10,
    "numeral": 0.15,
    "word": 0.50,
    "suffix": 0.25,
    "no_unit": 0.30,
    "prefix": 0.40,
    "typo": 0.03,
    "duplicate": 0.01,
    "no_coordinate": 0.20,
    "gcj02": 0.20,
    "bd09": 0.10,
    "off_footprint": 0.03,
    "bad_coordinate": 0.01,
    "building_id": 0.10,
}
#: The ways :func:`register_variant` rewrites a generated household register, and what each is.
VARIANTS = {
    "gcj02_unnamed": "every coordinate in GCJ-02 (Gaode's) and no 坐标系 column, as grid platforms export",
    "bd09_unnamed": "every coordinate in BD-09 (Baidu's) and no 坐标系 column",
    "names": "the address of a household whose building has a name written as that name (文西楼2单元301室)",
    "utf16_tab": "Excel's Unicode text: UTF-16 with a byte-order mark, fields separated by tabs",
    "big5": "a Big5 CSV: every text in the traditional characters Big5 writes (号楼 as 號樓)",
}
#: The encoding and delimiter of each variant's file; the others are GB18030 CSV, as offices export.
_FILES = {"utf16_tab": ("utf-16", "\t"), "big5": ("big5", ",")}


@dataclass(frozen=True)
class GeneratedRecords:
    """A generated register and roll, and the truth.

    Attributes
    ----------
    scene
        The scene, its buildings with ``address`` (standard address) and ``address_generated``.
    households
        One row per household, as a platform exports it (Chinese headers, personal columns included).
    members
        One row per party member, as a roll is kept (名字, 身份证号… included).
    truth
        ``table`` (``households`` or ``members``), ``row`` (1-based, as in the table), ``building_id`` (the
        building the row means), ``noise`` (comma-joined kinds of :data:`NOISE`).
    """

    scene: Scene
    households: pd.DataFrame
    members: pd.DataFrame
    truth: pd.DataFrame


def generate_records(
    scene: Scene | PreparedScene,
    *,
    seed: int = DEFAULTS.seed,
    member_share: float | None = None,
    noise: dict[str, float] | None = None,
) -> GeneratedRecords:
    """A seeded household register and member roll for a scene, with the noise real exports have.

    Parameters
    ----------
    scene
        The scene (its households filled, registered or estimated, give the rows per building).
    seed
        The same scene and seed give the same records.
    member_share
        Party members per resident whose organization is in the community (``settings.party.member_share``,
        2.0 %, by default).
    noise
        Shares of rows with each kind of noise, replacing :data:`NOISE`'s where given.
    """
    prepared = as_prepared(scene)
    rng = np.random.default_rng(seed)
    noise = {**NOISE, **(noise or {})}
    local = prepared.local
    addresses, compounds, numbers = _standard_addresses(prepared, rng)
    buildings = prepared.scene.buildings.assign(address=addresses, address_generated=True)
    households = local.buildings["households"].to_numpy(dtype=np.int64)
    footprints = local.buildings.geometry.to_numpy()
    ids = local.buildings["building_id"].astype(str).to_numpy()

    owner = np.repeat(np.arange(len(ids)), np.maximum(households, 0))
    register, truth_h = _rows(owner, ids, compounds, numbers, footprints, prepared, rng, noise, members=False)
    party = prepared.settings.party
    share = party.member_share if member_share is None else member_share
    member_counts = rng.poisson(np.maximum(households, 0) * party.persons_per_household * share)
    roll, truth_m = _rows(
        np.repeat(np.arange(len(ids)), member_counts),
        ids,
        compounds,
        numbers,
        footprints,
        prepared,
        rng,
        noise,
        members=True,
    )
    truth = pd.concat([truth_h.assign(table="households"), truth_m.assign(table="members")], ignore_index=True)
    return GeneratedRecords(
        scene=prepared.scene.replace(buildings=buildings),
        households=register,
        members=roll,
        truth=truth[["table", "row", "building_id", "noise"]],
    )


def _standard_addresses(prepared: PreparedScene, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each building's standard address, its compound's name and its number: the OSM name where it names a
    building (``君临国际广场2幢``), else an invented compound per street block, buildings numbered in reading
    order (north → south, west → east)."""
    local = prepared.local
    buildings = local.buildings
    n = len(buildings)
    blocks = street_blocks(local.communities, buildings, local.streets, local.barriers)
    points = shapely.point_on_surface(buildings.geometry.to_numpy())
    b, f = shapely.STRtree(blocks.geometry.to_numpy()).query(points, predicate="within")
    block = np.full(n, -1)
    block[b] = f
    compounds = np.full(n, None, dtype=object)
    numbers = np.full(n, None, dtype=object)
    names = buildings["name"].to_numpy() if "name" in buildings else np.full(n, None, dtype=object)
    cores = _compound_cores(rng, len(blocks) + 1)
    xy = shapely.get_coordinates(points)
    for k in np.unique(block):
        mine = np.flatnonzero(block == k)
        order = mine[np.lexsort((xy[mine, 0], -np.round(xy[mine, 1] / 40.0)))]  # rows 40 m tall, west → east
        compound = cores[k] + _SUFFIXES[rng.integers(len(_SUFFIXES))]
        for number, i in enumerate(order, start=1):
            key = building_key(names[i]) if isinstance(names[i], str) else None
            if key is not None and key.place and not key.street:
                compounds[i], numbers[i] = names[i][: names[i].find(key.number)] or compound, key.number
            else:
                compounds[i], numbers[i] = compound, str(number)
    addresses = np.array([f"{c}{num}栋" for c, num in zip(compounds, numbers)], dtype=object)
    return addresses, compounds, numbers


def _compound_cores(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct compound names of two or three words."""
    pairs = [a + b for a in _WORDS for b in _WORDS if a != b]
    rng.shuffle(pairs)
    if count <= len(pairs):
        return pairs[:count]
    triples = [p + w for p in pairs for w in _WORDS[:10]]
    return (pairs + triples)[:count]


def _rows(
    owner: np.ndarray,
    ids: np.ndarray,
    compounds: np.ndarray,
    numbers: np.ndarray,
    footprints: np.ndarray,
    prepared: PreparedScene,
    rng: np.random.Generator,
    noise: dict[str, float],
    members: bool,
):
    """Rows for the buildings in ``owner`` (one per household or member), and their truth."""
    n = len(owner)
    has = {kind: rng.random(n) < share for kind, share in noise.items()}
    address = []
    for k, i in enumerate(owner):
        core, suffix = _split_suffix(compounds[i])
        if has["typo"][k] and len(core) >= 3:
            at = rng.integers(len(core))
            core = core[:at] + "华光明安康"[rng.integers(5)] + core[at + 1 :]
        if has["suffix"][k]:
            suffix = ("", *_SUFFIXES)[rng.integers(len(_SUFFIXES) + 1)]
        number = numbers[i]
        if has["numeral"][k] and number.isdigit() and int(number) < 100:
            number = _numeral(int(number))
        word = _BUILDING_WORDS[rng.integers(len(_BUILDING_WORDS))] if has["word"][k] else "栋"
        unit = "" if has["no_unit"][k] else f"{rng.integers(1, 5)}单元"
        text = f"{core}{suffix}{number}{word}{unit}{rng.integers(1, 30)}{rng.integers(1, 5):02d}室"
        if has["prefix"][k]:
            text = _PREFIXES[rng.integers(len(_PREFIXES))] + text
        if has["fullwidth"][k]:
            text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        address.append(text)
    lon, lat, system = _coordinates(owner, footprints, prepared, rng, has)
    table = pd.DataFrame(
        {
            "地址": address,
            "楼栋编号": np.where(has["building_id"], ids[owner], ""),
            "经度": lon,
            "纬度": lat,
            "坐标系": system,
            "姓名": [_SURNAMES[rng.integers(len(_SURNAMES))] + _GIVEN[rng.integers(len(_GIVEN))] for _ in range(n)],
            "身份证号": [f"{rng.integers(10**17, 10**18)}" for _ in range(n)],
            "联系电话": [f"1{rng.integers(3 * 10**9, 9 * 10**9)}" for _ in range(n)],
            "generated": True,
        }
    )
    if members:
        full = rng.random(n) < prepared.settings.party.full_share
        table["党员类别"] = np.where(full, np.where(rng.random(n) < 0.1, "full", "正式党员"), "预备党员")
        table["党员编号"] = np.where(rng.random(n) < 0.7, [f"DY{k:07d}" for k in range(1, n + 1)], "")
    kinds = [",".join(kind for kind in noise if has[kind][k]) for k in range(n)]
    truth = pd.DataFrame({"row": np.arange(1, n + 1), "building_id": ids[owner], "noise": kinds})
    duplicate = np.flatnonzero(has["duplicate"])
    if len(duplicate):  # an exported duplicate: the same row twice, at the end
        table = pd.concat([table, table.iloc[duplicate]], ignore_index=True)
        truth = pd.concat(
            [
                truth,
                truth.iloc[duplicate].assign(
                    row=np.arange(n + 1, n + len(duplicate) + 1), noise=lambda t: t["noise"] + ",copy"
                ),
            ],
            ignore_index=True,
        )
    return table, truth


def _coordinates(
    owner: np.ndarray, footprints: np.ndarray, prepared: PreparedScene, rng: np.random.Generator, has: dict
):
    """A point in each row's building (or a few metres off it), in WGS84, GCJ-02 or BD-09, with the system named;
    blank where the row has none, unusable where it is broken."""
    n = len(owner)
    inside = shapely.get_coordinates(shapely.point_on_surface(footprints))[owner]
    off = has["off_footprint"]
    bounds = shapely.bounds(footprints)[owner]
    inside[off, 0] = bounds[off, 2] + rng.uniform(3, 12, off.sum())  # a gate east of the building
    points = gpd.GeoSeries(gpd.points_from_xy(inside[:, 0], inside[:, 1]), crs=prepared.local_crs).to_crs(4326)
    lon, lat = points.x.to_numpy().copy(), points.y.to_numpy().copy()
    system = np.full(n, "WGS84", dtype=object)
    gcj = has["gcj02"]
    bd = has["bd09"] & ~gcj
    lon[gcj], lat[gcj] = wgs84_to_gcj02(lon[gcj], lat[gcj])
    lon[bd], lat[bd] = wgs84_to_bd09(lon[bd], lat[bd])
    system[gcj], system[bd] = "GCJ-02", "BD-09"
    lon_text = np.array([f"{v:.6f}" for v in lon], dtype=object)
    lat_text = np.array([f"{v:.6f}" for v in lat], dtype=object)
    broken = has["bad_coordinate"]
    lon_text[broken], lat_text[broken] = "0", "0"
    missing = has["no_coordinate"] & ~broken
    lon_text[missing] = lat_text[missing] = system[missing] = ""
    return lon_text, lat_text, system


def _split_suffix(name: str) -> tuple[str, str]:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def _numeral(number: int) -> str:
    if number < 10:
        return _NUMERALS[number]
    tens, ones = divmod(number, 10)
    return ("" if tens == 1 else _NUMERALS[tens]) + "十" + (_NUMERALS[ones] if ones else "")


def register_variant(records: GeneratedRecords, variant: str, *, seed: int = DEFAULTS.seed) -> pd.DataFrame:
    """The generated household register as ``variant`` (:data:`VARIANTS`) writes it: the same rows, in the
    same order, so that ``records.truth`` is its truth too.

    ``gcj02_unnamed`` and ``bd09_unnamed`` move every coordinate into one system and drop the 坐标系 column
    (a broken or blank coordinate stays so). ``names`` writes the address of each household in a named building
    (OSM ``name``) as the name, with the row's administrative prefix, unit and room (seeded) and full-width
    digits where the row had them; buildings without a name keep their standard address (the generated
    district has none). ``big5`` writes every text (headers too) in the traditional characters a Big5 export
    writes (:data:`gridplan.core.hanzi.TRADITIONAL`); a character Big5 cannot write and the table does not know
    becomes ``?``, as an export's would. ``utf16_tab`` changes only the file (:func:`write_register`).

    Parameters
    ----------
    records
        A generated register (:func:`generate_records`).
    variant
        A key of :data:`VARIANTS`.
    seed
        Seeds the units and rooms of ``names``.

    Returns
    -------
    pandas.DataFrame
        The register's rows, as :attr:`GeneratedRecords.households` has them, rewritten.
    """
    if variant not in VARIANTS:
        raise InputError(
            f"unknown register variant {variant!r}: one of {', '.join(VARIANTS)}",
            zh=f"未知的登记表变体 {variant!r}：可选 {'、'.join(VARIANTS)}",
        )
    table = records.households.copy()
    if variant in ("gcj02_unnamed", "bd09_unnamed"):
        return _one_system(table, "GCJ-02" if variant == "gcj02_unnamed" else "BD-09")
    if variant == "names":
        return _named(table, records, np.random.default_rng(seed))
    if variant == "big5":
        return _traditional(table)
    return table


def write_register(table: pd.DataFrame, path: str | os.PathLike, variant: str | None = None) -> Path:
    """Write a (generated) register as the file of its variant: Excel's UTF-16 tab-separated text for
    ``utf16_tab``, a Big5 CSV for ``big5``, else a GB18030 CSV.

    Parameters
    ----------
    table
        The register (:func:`register_variant`, or ``GeneratedRecords.households``).
    path
        The file to write.
    variant
        A key of :data:`VARIANTS`, or None.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    encoding, delimiter = _FILES.get(variant, ("gb18030", ","))
    table.to_csv(path, index=False, encoding=encoding, sep=delimiter)
    return Path(path)


def _one_system(table: pd.DataFrame, system: str) -> pd.DataFrame:
    """Every usable coordinate moved into ``system`` (GCJ-02 or BD-09), and the 坐标系 column dropped."""
    lon = pd.to_numeric(table["经度"], errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(table["纬度"], errors="coerce").to_numpy(dtype=float, copy=True)
    named = table["坐标系"].to_numpy()
    usable = np.isfinite(lon) & np.isfinite(lat) & (lon != 0)
    to = {
        "GCJ-02": {"WGS84": wgs84_to_gcj02, "BD-09": bd09_to_gcj02},
        "BD-09": {"WGS84": wgs84_to_bd09, "GCJ-02": gcj02_to_bd09},
    }[system]
    for source, convert in to.items():
        rows = usable & (named == source)
        lon[rows], lat[rows] = convert(lon[rows], lat[rows])
    out = table.drop(columns="坐标系")
    out.loc[usable, "经度"] = [f"{v:.6f}" for v in lon[usable]]
    out.loc[usable, "纬度"] = [f"{v:.6f}" for v in lat[usable]]
    return out


def _named(table: pd.DataFrame, records: GeneratedRecords, rng: np.random.Generator) -> pd.DataFrame:
    """Addresses of households in named buildings written as the name (with the row's prefix, unit and room)."""
    truth = records.truth[records.truth["table"] == "households"].reset_index(drop=True)
    buildings = records.scene.buildings
    names = (
        buildings.set_index(buildings["building_id"].astype(str))["name"]
        if "name" in buildings
        else pd.Series(dtype=object)
    )
    name = truth["building_id"].map(names.where(names.astype(str).str.strip().ne("") & names.notna()))
    address = table["地址"].to_numpy(dtype=object).copy()
    # an exported duplicate stays the same row as its original: it is written once, and copied
    same = pd.util.hash_pandas_object(table, index=False).to_numpy()
    first = pd.Series(np.arange(len(table))).groupby(same).transform("min").to_numpy()
    fullwidth = str.maketrans("0123456789", "０１２３４５６７８９")
    for k in np.flatnonzero(name.notna().to_numpy()):
        if first[k] != k:
            address[k] = address[first[k]]
            continue
        noise = truth.at[k, "noise"].split(",")
        unit = "" if "no_unit" in noise else f"{rng.integers(1, 5)}单元"
        text = f"{name.iat[k]}{unit}{rng.integers(1, 30)}{rng.integers(1, 5):02d}室"
        if "prefix" in noise:
            text = _PREFIXES[rng.integers(len(_PREFIXES))] + text
        address[k] = text.translate(fullwidth) if "fullwidth" in noise else text
    return table.assign(地址=address)


def _traditional(table: pd.DataFrame) -> pd.DataFrame:
    """Every text of the table, headers too, in the characters a Big5 export writes."""
    out = table.astype(str)
    for column in out.columns:
        values = out[column].unique()
        out[column] = out[column].map(dict(zip(values, map(_big5, values))))
    return out.rename(columns=_big5)


def _big5(text: str) -> str:
    return "".join(map(_big5_character, text))


@functools.cache
def _big5_character(ch: str) -> str:
    """The character a Big5 export writes for ``ch``: itself, its traditional form, or ``?``."""
    for written in (ch, TRADITIONAL.get(ch, ch)):
        try:
            written.encode("big5")
            return written
        except UnicodeEncodeError:
            continue
    return "?"
