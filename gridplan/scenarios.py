"""Generated, seeded scenarios of records nobody has for the extracts: a household register (一标三实) and a
party member roll, written the ways real exports are, with the truth kept apart for tests and benchmarks.

Everything here is labelled generated: the scene's buildings get ``address`` (their standard address, invented
where OpenStreetMap names none) with ``address_generated``; every register row has ``generated`` true, which
:func:`gridplan.register.import_register` carries into the scene, so plans and maps say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .addresses import building_key
from .coords import wgs84_to_bd09, wgs84_to_gcj02
from .scene import PreparedScene, Scene, as_prepared
from .settings import DEFAULTS
from .units import street_blocks

#: Words compound names are made of (two or three of them, then a suffix).
_WORDS = ("阳光", "幸福", "和平", "春天", "金色", "翠竹", "锦绣", "龙湖", "华府", "东方", "滨江", "紫金", "玉兰", "梧桐", "银杏",
          "碧水", "青年", "文化", "建设", "光明", "长江", "汉水", "钟山", "秦淮", "太湖", "明珠", "丽景", "怡和", "康乐", "安居",
          "富康", "新城", "花溪", "松林", "桃源", "荷塘", "书香", "雅居", "名都", "世纪")
_SUFFIXES = ("小区", "花园", "苑", "家园", "公寓")
_BUILDING_WORDS = ("栋", "号楼", "幢", "座")
_NUMERALS = "零一二三四五六七八九"
_PREFIXES = ("江苏省南京市玄武区新街口街道", "南京市玄武区", "湖北省武汉市洪山区", "北京市海淀区学院路街道", "上海市黄浦区")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华"
#: Share of rows with each kind of noise (a row may have several).
NOISE = {"fullwidth": 0.10, "numeral": 0.15, "word": 0.50, "suffix": 0.25, "no_unit": 0.30, "prefix": 0.40,
         "typo": 0.03, "duplicate": 0.01, "no_coordinate": 0.20, "gcj02": 0.20, "bd09": 0.10, "off_footprint": 0.03,
         "bad_coordinate": 0.01, "building_id": 0.10}


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


def generate_records(scene: Scene | PreparedScene, *, seed: int = DEFAULTS.seed, member_share: float | None = None,
                     noise: dict[str, float] | None = None) -> GeneratedRecords:
    """A seeded household register and member roll for a scene, with the noise real exports have.

    Parameters
    ----------
    scene
        The scene (its households filled, registered or estimated, give the rows per building).
    seed
        The same scene and seed give the same records.
    member_share
        Party members per resident (``settings.party.member_share`` by default).
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
    roll, truth_m = _rows(np.repeat(np.arange(len(ids)), member_counts), ids, compounds, numbers, footprints, prepared, rng,
                          noise, members=True)
    truth = pd.concat([truth_h.assign(table="households"), truth_m.assign(table="members")], ignore_index=True)
    return GeneratedRecords(scene=prepared.scene.replace(buildings=buildings), households=register, members=roll,
                            truth=truth[["table", "row", "building_id", "noise"]])


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


def _rows(owner: np.ndarray, ids: np.ndarray, compounds: np.ndarray, numbers: np.ndarray, footprints: np.ndarray,
          prepared: PreparedScene, rng: np.random.Generator, noise: dict[str, float], members: bool):
    """Rows for the buildings in ``owner`` (one per household or member), and their truth."""
    n = len(owner)
    has = {kind: rng.random(n) < share for kind, share in noise.items()}
    address = []
    for k, i in enumerate(owner):
        core, suffix = _split_suffix(compounds[i])
        if has["typo"][k] and len(core) >= 3:
            at = rng.integers(len(core))
            core = core[:at] + "华光明安康"[rng.integers(5)] + core[at + 1:]
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
    table = pd.DataFrame({
        "地址": address,
        "楼栋编号": np.where(has["building_id"], ids[owner], ""),
        "经度": lon, "纬度": lat, "坐标系": system,
        "姓名": [_SURNAMES[rng.integers(len(_SURNAMES))] + _GIVEN[rng.integers(len(_GIVEN))] for _ in range(n)],
        "身份证号": [f"{rng.integers(10**17, 10**18)}" for _ in range(n)],
        "联系电话": [f"1{rng.integers(3 * 10**9, 9 * 10**9)}" for _ in range(n)],
        "generated": True,
    })
    if members:
        full = rng.random(n) < prepared.settings.party.full_share
        table["党员类别"] = np.where(full, np.where(rng.random(n) < 0.1, "full", "正式党员"), "预备党员")
        table["党员编号"] = np.where(rng.random(n) < 0.7, [f"DY{k:07d}" for k in range(1, n + 1)], "")
    kinds = [",".join(kind for kind in noise if has[kind][k]) for k in range(n)]
    truth = pd.DataFrame({"row": np.arange(1, n + 1), "building_id": ids[owner], "noise": kinds})
    duplicate = np.flatnonzero(has["duplicate"])
    if len(duplicate):  # an exported duplicate: the same row twice, at the end
        table = pd.concat([table, table.iloc[duplicate]], ignore_index=True)
        truth = pd.concat([truth, truth.iloc[duplicate].assign(row=np.arange(n + 1, n + len(duplicate) + 1),
                                                              noise=lambda t: t["noise"] + ",copy")], ignore_index=True)
    return table, truth


def _coordinates(owner: np.ndarray, footprints: np.ndarray, prepared: PreparedScene, rng: np.random.Generator, has: dict):
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
