"""Chinese standard addresses (标准地址) read at the level of a building (楼栋).

The 一标三实 address register writes a dwelling's address as ``[省市区][街道][路 + 门牌号][小区] + 楼栋 + 单元 + 室``,
and exports write it many ways: full-width digits, ``3号楼`` / ``3栋`` / ``三幢`` / ``3座`` for one building, a
compound with or without ``小区``/``花园``/``苑``, a missing ``单元``. :func:`building_key` reduces an address to
what names its building — the place (a compound, or a street), and the building's number within it — so that
every way of writing one building gives one key. Traditional characters (a register in Big5: 號樓, 棟, 陽光花園) fold
to simplified ones first (:mod:`gridplan.core.hanzi`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from gridplan.core.hanzi import SIMPLIFIED

#: Chinese numerals.
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千]+")
#: The words that follow a building's number: 3号楼, 3栋, 3幢, 3座, 3号 (a door number names the building too).
BUILDING_WORDS = ("号楼", "栋", "幢", "座", "号")
_BUILDING = re.compile(r"([0-9]+|[A-Z])(号楼|栋|幢|座|号)")
#: What follows the building at dwelling level and is dropped: 单元, 室, 层, 楼层, 户, a bare room number.
_BELOW = re.compile(r"([0-9]+|[A-Z])?(单元|室|层|楼层|户|号房).*$")
#: Suffixes of compound names (小区 名称) that exports keep or drop.
COMPOUND_SUFFIXES = ("小区", "花园", "家园", "苑", "公寓", "新村", "社区", "大院", "院")
#: The administrative part of an address: province, city, then (after a city only: 小区 is no district) the
#: district, and a street office or town.
_PROVINCE_CITY = re.compile(r"^(.{1,8}?(?:省|自治区))?(.{1,8}?市)?")
_DISTRICT = re.compile(r"^.{1,8}?(?:区|县|旗)")
_OFFICE = re.compile(r"^.{1,10}?(?:街道|镇|乡)")
#: A street and its door number: 中山路12号 → (中山路, 12).
_STREET = re.compile(r"(.+?(?:大街|路|街|巷|道|里|弄|胡同))([0-9]+)号")
#: Any traditional character that folds to a simplified one.
_TRADITIONAL = "[" + "".join(map(chr, SIMPLIFIED)) + "]"
_PUNCTUATION = re.compile(r"[\s,，.。·・\-—_#()（）\[\]【】/\\:：;；'\"“”]+")


def to_digits(text: str) -> str:
    """Chinese numerals as digits: ``三幢`` → ``3幢``, ``十二号楼`` → ``12号楼``, ``二十三`` → ``23``."""
    return _NUMERAL.sub(lambda m: str(_numeral_value(m.group())), text)


def _numeral_value(numeral: str) -> int:
    if all(ch in _DIGITS for ch in numeral):  # 二〇三 read digit by digit
        return int("".join(str(_DIGITS[ch]) for ch in numeral))
    total, current = 0, 0
    for ch in numeral:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current


def normalise(text) -> str:
    """An address as comparable text: half-width (NFKC), upper-case letters, simplified characters, Chinese
    numerals as digits, no spaces or punctuation."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    text = unicodedata.normalize("NFKC", str(text)).upper().translate(SIMPLIFIED)
    return _PUNCTUATION.sub("", to_digits(text))


def normalise_all(addresses: pd.Series) -> pd.Series:
    """:func:`normalise` of every address, vectorised (empty where missing).

    Parameters
    ----------
    addresses
        Address texts (any values; missing ones give ``""``).

    Returns
    -------
    pandas.Series
        The normalised texts, aligned to ``addresses``.
    """
    text = addresses.astype(object).where(addresses.notna(), "").astype(str)
    text = text.str.normalize("NFKC").str.upper()
    traditional = text.str.contains(_TRADITIONAL)  # a scan in C; the fold, in Python, only where it finds one
    if traditional.any():
        text = text.where(~traditional, text[traditional].str.translate(SIMPLIFIED))
    text = text.str.replace(_NUMERAL, lambda m: str(_numeral_value(m.group())), regex=True)
    return text.str.replace(_PUNCTUATION, "", regex=True)


def compound_key(name) -> str:
    """A compound's name as a key: normalised, without a trailing ``小区``/``花园``/``苑``… (``阳光花园`` and
    ``阳光`` are one compound)."""
    return _without_suffix(normalise(name))


def _without_suffix(text: str) -> str:
    for suffix in COMPOUND_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


@dataclass(frozen=True)
class BuildingKey:
    """What names a building in an address: the ``place`` (a compound key, or a street) and the building's
    ``number`` in it (``3``, ``A``); ``street`` is True where the place is a street and the number a door number."""

    place: str
    number: str
    street: bool = False


def building_key(address, *, normalised: bool = False) -> BuildingKey | None:
    """The building an address names, or None where it names none (no building number).

    ``江苏省南京市玄武区新街口街道 阳光花园 三幢2单元501室``, ``阳光小区3号楼`` and ``阳光3栋`` give one key
    (``阳光``, ``3``); ``中山路12号`` gives (``中山路``, ``12``, street). ``normalised``: the address is
    :func:`normalise` d already (as :func:`building_parts` gives them).
    """
    text = address if normalised else normalise(address)
    if not text:
        return None
    text = without_admin(text)
    found = list(_BUILDING.finditer(text))
    if not found:
        return None
    # the building is the last numbered building word before the dwelling part (单元/室/层)
    last = found[-1]
    if last.group(2) == "号" and len(found) > 1 and found[-2].end() <= last.start():
        # "12号 3栋": the door number, then the building; "3号 501": the building, then a bare room
        before = [f for f in found if f.group(2) != "号"]
        last = before[-1] if before else last
    number, word = last.group(1), last.group(2)
    place = text[: last.start()]
    street = _STREET.fullmatch(place + number + "号") if word == "号" else None
    if street:
        return BuildingKey(street.group(1), number, True)
    place = _STREET.sub("", place)  # a door number before the compound names the compound's gate, not the building
    return BuildingKey(_without_suffix(place), number)


def without_admin(text: str) -> str:
    """A normalised address without its administrative part (``北京市海淀区学院路街道`` of
    ``北京市海淀区学院路街道文西楼``): province, city, then the district and a street office or town."""
    head = _PROVINCE_CITY.match(text)
    rest = text[head.end() :]
    if head.group(2):
        rest = _DISTRICT.sub("", rest, count=1)
    return _OFFICE.sub("", rest, count=1) or text


#: Where a dwelling part starts after a building's name: 2单元, 301室, 3层, a trailing room number.
_DWELLING = re.compile(r"(?P<number>[0-9]+|[A-Z])?(?:单元|室|层|户|号房)|(?P<room>[0-9]+)$")


def name_heads(text: str) -> list[str]:
    """What of a normalised address may end in a building's name (楼名), longest first: the address without its
    administrative part, then cut before each dwelling part (``文西楼2单元301室`` → ``文西楼2单元301室``,
    ``文西楼2单元``, ``文西楼``). The whole comes first, so a name that holds such a word (热态实验室) is found
    whole. Digits written together are cut at each place (``教学楼11单元``: 教学楼1 and its 1单元, or 教学楼 and
    its 11单元), since a name may end in a number."""
    text = without_admin(text)
    cuts: set[int] = set()
    for m in _DWELLING.finditer(text):
        digits = m.group("number") or m.group("room") or ""
        cuts.update(range(m.start(), m.start() + (len(digits) + 1 if digits.isdigit() else 1)))
    return [text, *(text[:cut] for cut in sorted(cuts - {0, len(text)}, reverse=True))]


#: An address up to its building word: what is left once the dwelling (单元, 室, 层) is cut off.
_UP_TO_BUILDING = re.compile(r"^(.*(?:[0-9]+|[A-Z])(?:号楼|栋|幢|座|号))")


def building_parts(addresses: pd.Series, *, normalised: bool = False) -> pd.Series:
    """Every address :func:`normalise` d and cut after its building, vectorised: the many dwellings of one
    building become one text, so that each building is parsed once (empty where no building is named).
    ``normalised``: the addresses are :func:`normalise_all` d already."""
    text = addresses if normalised else normalise_all(addresses)
    return text.str.extract(_UP_TO_BUILDING, expand=False).fillna("")
