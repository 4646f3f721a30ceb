"""The household register (一标三实) and the member roll, joined to buildings: each route and each kind of noise
on hand-made rows of known answer, the encodings and spreadsheets offices export, personal columns never
written, every row accounted for, and a real extract end to end."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from shapely.geometry import Point

from gridplan.cli import EXIT_OK, main
from gridplan.core.coords import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from gridplan.errors import InputError
from gridplan.io.store import read_layers, write_layers
from gridplan.pipeline import prepare_scene
from gridplan.prepare.addresses import building_key
from gridplan.prepare.register import import_register, match_rows, read_register
from gridplan.scenarios.registers import generate_records, register_variant, write_register

from .support.cli import assert_one_line_error, run
from .support.properties import examples
from .support.scenes import CRS, street_grid_scene

PERSONAL = {
    "姓名": ["张伟", "李娜", "王芳"],
    "身份证号": ["320102199001011234", "32010219850202123X", "320102197003033456"],
    "联系电话": ["13800000001", "13900000002", "13700000003"],
}


@pytest.fixture(scope="module")
def scene():
    """Two blocks of three buildings: 阳光花园 1–3栋 west, 翠竹苑 1–3栋 east; one more 翠竹苑3栋 (a data error)."""
    base = street_grid_scene(400, 200, xs=[200], ys=[], households=[[90], [90]], per_block=3)
    buildings = base.buildings.copy()
    buildings["address"] = ["阳光花园1栋", "阳光花园2栋", "阳光花园3栋", "翠竹苑1栋", "翠竹苑2栋", "翠竹苑3栋"]
    buildings.loc[len(buildings)] = {
        "building_id": "extra",
        "households": 5,
        "kind": "residential",
        "address": "翠竹苑3栋",
        "geometry": buildings.geometry.iat[5].buffer(-20),
    }
    return prepare_scene(base.replace(buildings=gpd.GeoDataFrame(buildings, crs=CRS)))


def lonlat(scene, building_id: str, offset=(0.0, 0.0)):
    local = scene.local.buildings.set_index("building_id").geometry
    point = local[building_id].representative_point()
    point = Point(point.x + offset[0], point.y + offset[1])
    return gpd.GeoSeries([point], crs=scene.local_crs).to_crs(4326).iat[0].coords[0]


def rows(records: list[dict], columns: list[str] | None = None) -> pd.DataFrame:
    table = pd.DataFrame(records, columns=columns).fillna("").astype(str)
    table.insert(0, "row", np.arange(1, len(table) + 1))
    return table


def test_each_route_and_kind_of_noise_finds_its_building(scene):
    ids = scene.scene.buildings["building_id"].tolist()
    lon, lat = lonlat(scene, ids[1])
    glon, glat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    blon, blat = wgs84_to_bd09(np.array([lon]), np.array([lat]))
    nlon, nlat = lonlat(scene, ids[0], offset=(0.0, 95.0))  # 5 m north of the first building's footprint
    flon, flat = lonlat(scene, ids[0], offset=(0.0, 500.0))
    table = rows(
        [
            {"building_id": ids[2]},  # 1 id
            {"lon": lon, "lat": lat},  # 2 point in a footprint (WGS84)
            {"lon": glon[0], "lat": glat[0], "coords": "GCJ-02"},  # 3 Gaode's
            {"lon": blon[0], "lat": blat[0], "coords": "百度BD-09"},  # 4 Baidu's
            {"lon": nlon, "lat": nlat},  # 5 beside a footprint: the nearest
            {"lon": flon, "lat": flat},  # 6 far from every building
            {"lon": "0", "lat": "0", "address": "阳光花园3号楼2单元501室"},  # 7 a broken point, a good address
            {"address": "南京市玄武区新街口街道阳光小区三幢"},  # 8 numerals, another suffix, a prefix
            {"address": "阳光３栋"},  # 9 full-width, no suffix
            {"address": "阳光花圆2座5单元"},  # 10 a typo in the compound
            {"address": "翠竹苑3栋"},  # 11 two buildings carry this address
            {"address": "梧桐小区1栋"},  # 12 no such compound
            {"address": "阳光花园9栋"},  # 13 no such building
            {"address": "阳光花园"},  # 14 no building named
            {"building_id": ids[2]},  # 15 a duplicate of row 1
            {"building_id": "nowhere"},  # 16 an id no building has
        ]
    )
    # three points without a system, one of them in a footprint, are too few to recognise one: it must be said
    with pytest.raises(InputError, match="--register-coords"):
        import_register(table, scene)
    m = import_register(table, scene, coords="wgs84").matches.set_index("row")
    assert m["route"].tolist() == [
        "id",
        "coordinate",
        "coordinate",
        "coordinate",
        "coordinate",
        "unmatched",
        "address",
        "address",
        "address",
        "address",
        "unmatched",
        "unmatched",
        "unmatched",
        "unmatched",
        "unmatched",
        "unmatched",
    ]
    assert m["building_id"].iloc[:5].tolist() == [ids[2], ids[1], ids[1], ids[1], ids[0]]
    assert m["building_id"].iloc[6:10].tolist() == [ids[2], ids[2], ids[2], ids[1]]
    assert m.loc[5, "confidence"] == "nearest" and m.loc[5, "detail"].endswith("m from it")
    assert (
        m.loc[10, "confidence"] in ("fuzzy", "low")
        and "阳光花圆 read as 阳光" in m.loc[10, "detail"]
        or "read as" in m.loc[10, "detail"]
    )
    assert m.loc[[6, 11, 12, 13, 14, 15, 16], "reason"].tolist() == [
        "too_far",
        "ambiguous",
        "unknown_compound",
        "unknown_building",
        "no_address",
        "duplicate",
        "unknown_id",
    ]


def test_an_exact_address_wins_over_a_point_in_another_building(scene):
    ids = scene.scene.buildings["building_id"].tolist()
    lon, lat = lonlat(scene, ids[0])
    m = import_register(rows([{"lon": lon, "lat": lat, "address": "阳光花园2栋"}]), scene).matches
    assert (m["route"].iat[0], m["building_id"].iat[0], m["confidence"].iat[0]) == ("address", ids[1], "low")
    assert m["detail"].iat[0] == f"its coordinate is in {ids[0]}"


def test_households_add_up_per_building_with_vacancies_and_counts(scene):
    table = rows(
        [
            {"address": "阳光花园1栋", "vacant": "否", "households": "1"},
            {"address": "阳光花园1栋2单元", "vacant": "是"},  # vacant: no count needed
            {"address": "阳光花园1栋3单元", "vacant": "", "households": "１"},
            {"address": "阳光花园2栋", "households": "4"},
        ]
    )
    buildings = import_register(table, scene).scene.buildings.set_index("building_id")
    ids = scene.scene.buildings["building_id"].tolist()
    assert buildings.loc[ids[0], "households"] == 2 and buildings.loc[ids[1], "households"] == 4
    assert (
        buildings.loc[ids[:2], "households_registered"].all()
        and not buildings.loc[ids[2:], "households_registered"].any()
    )
    assert not buildings.loc[ids[:2], "households_estimated"].any()


def test_unreadable_household_counts_are_unmatched_never_one_household(scene):
    counts = ["2", "abc", "", "-1", "2.5", "三", "3.0", "十", "１"]
    table = rows(
        [{"address": "阳光花园1栋", "households": c} for c in counts]
        + [{"address": "阳光花园2栋", "households": "x", "vacant": "是"}]
    )
    result = import_register(table, scene)
    m = result.matches.set_index("row")
    assert m.loc[[2, 3, 4, 5], "reason"].tolist() == ["bad_count"] * 4
    assert m.loc[2, "detail"] == "household count 'abc'"
    c = result.counts()
    assert (c["rows"], c["address"], c["unmatched"], c["unmatched_bad_count"]) == (10, 6, 4, 4)
    assert c["rows"] == c["id"] + c["coordinate"] + c["address"] + c["unmatched"]
    buildings = result.scene.buildings.set_index("building_id")
    ids = scene.scene.buildings["building_id"].tolist()
    assert buildings.loc[ids[0], "households"] == 2 + 3 + 3 + 10 + 1  # 三, 3.0, 十 and a full-width 1 read as numbers
    assert buildings.loc[ids[1], "households"] == 0 and buildings.loc[ids[1], "households_registered"]  # vacant


def test_a_register_of_which_nothing_joins_is_refused_and_no_scene_is_written(scene, tmp_path, capsys):
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, scene.scene.layers())
    rng = np.random.default_rng(3)
    words = np.array(
        list("的一是了我不人在他有这个上们来到时大为子中你说生年着就那和要她出也得里后自以会家可下而过天去能对多然于心")
    )
    garbage = rng.choice(words, (100_000, 6)).view("<U6").ravel()  # six random characters a row
    pd.DataFrame({"地址": garbage, "户数": "1"}).to_csv(tmp_path / "register.csv", index=False)
    code, out, err = run(capsys, "import-register", scene_path, tmp_path / "register.csv", "-o", tmp_path / "out.gpkg")
    assert_one_line_error(
        code, err, "户籍登记表的 100,000 行都无法对应到建筑", "匹配 0 行", "--map-column", "--encoding"
    )
    assert not (tmp_path / "out.gpkg").exists() and not (tmp_path / "out_register").exists()


def test_an_empty_register_is_refused(scene):
    with pytest.raises(InputError, match="no data rows"):
        import_register(rows([], columns=["address"]), scene)


@pytest.fixture(scope="module")
def named():
    """Two blocks of four buildings, 阳光花园1–4栋 and 翠竹苑1–4栋, that OSM also names: 文西楼, 7公寓, 篮球馆,
    教学楼1 west; 西十二楼, 热态实验室, 篮球馆 (a name two buildings share), 中国农业大学东区图书馆 east."""
    base = street_grid_scene(400, 200, xs=[200], ys=[], households=[[80], [80]], per_block=4)
    buildings = base.buildings.assign(
        address=[f"{c}{n}栋" for c in ("阳光花园", "翠竹苑") for n in range(1, 5)],
        name=["文西楼", "7公寓", "篮球馆", "教学楼1", "西十二楼", "热态实验室", "篮球馆", "中国农业大学东区图书馆"],
    )
    return prepare_scene(base.replace(buildings=buildings))


def test_a_building_is_found_by_its_name_bare_or_after_its_compound_or_an_administrative_part(named):
    ids = named.scene.buildings["building_id"].tolist()
    addresses = {
        "文西楼": 0,
        "北京市海淀区学院路街道文西楼2单元301室": 0,
        "７公寓101室": 1,
        "阳光花园篮球馆": 2,
        "翠竹篮球馆3层": 6,
        "西十二楼3单元": 4,
        "热态实验室": 5,
        "热态实验室2单元": 5,
        "文西樓": 0,
        "教学楼11单元402室": 3,
        "阳光花园4栋": 3,
    }
    m = import_register(rows([{"address": a} for a in addresses]), named).matches
    assert m["building_id"].tolist() == [ids[i] for i in addresses.values()]
    assert (m["route"] == "address").all() and (m["confidence"] == "exact").all()


def test_a_misspelt_name_is_matched_with_its_reading_said_and_its_numbers_never_misspelt(named):
    ids = named.scene.buildings["building_id"].tolist()
    m = match_rows(
        rows(
            [{"address": a} for a in ("热态实验式", "中国农业大学东区图书舘", "西十一楼", "文溪楼", "梧桐小区文西楼")]
        ),
        named,
    ).set_index("row")
    assert m.loc[[1, 2], "building_id"].tolist() == [ids[5], ids[7]]
    assert m.loc[[1, 2], "confidence"].tolist() == ["low", "fuzzy"]
    assert m.loc[1, "detail"] == "热态实验式 read as 热态实验室 (80)"
    assert m.loc[2, "detail"] == "中国农业大学东区图书舘 read as 中国农业大学东区图书馆 (91)"
    # 西11楼 is no misspelling of 西12楼; 文溪楼 is two of three characters of 文西楼; 梧桐 is no compound of it
    assert m.loc[[3, 4, 5], "reason"].tolist() == ["no_address"] * 3


def test_a_name_two_buildings_share_is_ambiguous_unless_its_compound_says_which(named):
    ids = named.scene.buildings["building_id"].tolist()
    m = match_rows(rows([{"address": "篮球馆"}, {"address": "篮球馆1单元"}, {"address": "翠竹苑篮球馆"}]), named)
    assert m["reason"].tolist()[:2] == ["ambiguous", "ambiguous"] and m["building_id"].iat[2] == ids[6]


def test_a_csv_separated_by_tabs_or_semicolons_reads_as_one_separated_by_commas(tmp_path):
    frame = pd.DataFrame(
        {"地址": ["阳光花园1栋201室", "翠竹苑2栋"], "户数": ["1", "2"], "联系电话": ["13800000001", ""]}
    )
    tables = []
    for name, sep in (("comma.csv", ","), ("tab.csv", "\t"), ("semicolon.csv", ";")):
        frame.to_csv(tmp_path / name, index=False, sep=sep, encoding="gbk")
        table, dropped = read_register(tmp_path / name)
        tables.append(table)
        assert dropped == ("联系电话",)
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0])
    assert tables[0][["address", "households"]].values.tolist() == [["阳光花园1栋201室", "1"], ["翠竹苑2栋", "2"]]


@pytest.mark.parametrize("encoding", [None, "utf-16"])
def test_excels_unicode_text_reads_with_or_without_its_encoding_given(tmp_path, encoding):
    frame = pd.DataFrame({"地址": ["阳光花园1栋201室", "翠竹苑2栋"], "户数": ["1", "2"], "经度": ["118.78", ""]})
    frame.to_csv(tmp_path / "register.txt", index=False, sep="\t", encoding="utf-16")
    assert (tmp_path / "register.txt").read_bytes()[:2] == b"\xff\xfe"  # as Excel writes it: a BOM, UTF-16LE
    table, _ = read_register(tmp_path / "register.txt", encoding=encoding)
    assert table[["address", "households", "lon"]].values.tolist() == [
        ["阳光花园1栋201室", "1", "118.78"],
        ["翠竹苑2栋", "2", ""],
    ]


@pytest.mark.parametrize("header", ["地址", "address"])
def test_a_big5_file_is_read_as_big5_never_as_gb18030(tmp_path, header):
    frame = pd.DataFrame(
        {header: ["陽光花園1棟201室", "翠竹苑2號樓"], "戶數" if header == "地址" else "households": ["1", "2"]}
    )
    frame.to_csv(tmp_path / "register.csv", index=False, encoding="big5")
    table, _ = read_register(tmp_path / "register.csv")
    assert table["address"].tolist() == ["陽光花園1棟201室", "翠竹苑2號樓"] and table["households"].tolist() == [
        "1",
        "2",
    ]


def test_a_file_whose_encoding_nothing_tells_is_refused(tmp_path):
    # an English header and no address characters: Big5 and GB18030 both read it, into different text
    pd.DataFrame({"address": ["甲乙丙"]}).to_csv(tmp_path / "register.csv", index=False, encoding="big5")
    with pytest.raises(InputError, match="reads as gb18030 and as big5 alike by its header.*--encoding"):
        read_register(tmp_path / "register.csv")


def test_a_header_of_nonsense_is_refused_naming_the_encodings_tried(tmp_path):
    pd.DataFrame({"甲": ["1"], "乙": ["2"]}).to_csv(tmp_path / "register.csv", index=False, encoding="big5")
    with pytest.raises(InputError, match="readable as none of utf-8-sig, gb18030, big5: .*--encoding"):
        read_register(tmp_path / "register.csv")


@pytest.mark.parametrize("written, given", [("big5", "gb18030"), ("gbk", "utf-8"), ("utf-16", "big5")])
def test_a_given_encoding_is_the_only_one_tried_and_named(scene, tmp_path, capsys, written, given):
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, scene.scene.layers())
    pd.DataFrame({"地址": ["陽光花園1棟"], "戶數": ["1"]}).to_csv(
        tmp_path / "register.csv", index=False, encoding=written
    )
    code, _, err = run(
        capsys,
        "import-register",
        scene_path,
        tmp_path / "register.csv",
        "-o",
        tmp_path / "out.gpkg",
        "--encoding",
        given,
        "--lang",
        "en",
    )
    assert_one_line_error(
        code, err, f"register.csv is not readable as {given}: ", "--encoding" if written == "big5" else ""
    )
    assert not ({"utf-8", "utf-8-sig", "gb18030", "big5", "utf-16", "gbk"} - {given}) & set(
        err.replace(":", " ").split()
    )
    assert not (tmp_path / "out.gpkg").exists()


def test_gbk_bom_and_utf8_files_read_the_same(tmp_path):
    frame = pd.DataFrame(
        {"地址": ["阳光花园1栋201室", "翠竹苑2栋"], "户数": ["1", "2"], **{k: v[:2] for k, v in PERSONAL.items()}}
    )
    tables = []
    for encoding in ("gbk", "utf-8-sig", "utf-8", "gb18030"):
        path = tmp_path / f"register-{encoding}.csv"
        frame.to_csv(path, index=False, encoding=encoding)
        table, dropped = read_register(path)
        tables.append(table)
        assert set(dropped) == set(PERSONAL)
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0])
    assert tables[0].columns.tolist() == ["row", "record", "address", "households"]


def test_a_workbook_with_a_title_and_merged_header_cells(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["新街口社区住户登记表（2026年）"])
    ws.merge_cells("A1:E1")
    ws.append(["住户信息", None, "位置", None, None])
    ws.merge_cells("A2:B2")
    ws.merge_cells("C2:E2")
    ws.append(["姓名", "身份证号", "地址", "经度", "纬度"])
    ws.append(["张伟", "320102199001011234", "阳光花园1栋", "117.1", "31.6"])
    ws.append(["李娜", "32010219850202123X", "翠竹苑2栋", "", ""])
    book.save(tmp_path / "register.xlsx")
    table, dropped = read_register(tmp_path / "register.xlsx")
    assert table[["address", "lon", "lat"]].values.tolist() == [["阳光花园1栋", "117.1", "31.6"], ["翠竹苑2栋", "", ""]]
    assert set(dropped) == {"姓名", "身份证号"}


def test_personal_columns_are_in_no_output(scene, tmp_path, capsys):
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, scene.scene.layers())
    roll = pd.DataFrame(
        {
            "地址": ["阳光花园1栋", "翠竹苑2栋", "阳光花园3栋"],
            "党员类别": ["正式党员", "预备党员", "full"],
            "党员编号": ["DY001", "", "DY003"],
            **PERSONAL,
        }
    )
    roll.to_excel(tmp_path / "roll.xlsx", index=False)
    assert (
        main(
            [
                "import-register",
                str(scene_path),
                str(tmp_path / "roll.xlsx"),
                "-o",
                str(tmp_path / "out.gpkg"),
                "--kind",
                "members",
            ]
        )
        == EXIT_OK
    )
    printed = capsys.readouterr().out
    outputs = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("roll.xlsx", "scene.gpkg")]
    assert len(outputs) == 3
    for value in [v for values in PERSONAL.values() for v in values]:
        assert all(value.encode() not in p.read_bytes() for p in outputs), value
        assert value not in printed
    members = read_layers(tmp_path / "out.gpkg")["party_members"]
    assert members.columns.tolist() == ["member_id", "building_id", "status"]
    assert members["status"].tolist() == ["full", "probationary", "full"]
    assert members["member_id"].iloc[[0, 2]].tolist() == ["DY001", "DY003"] and members["member_id"].iat[1].startswith(
        "r-"
    )
    # the stand-in id is stable: the same row gives the same id
    again = read_register(tmp_path / "roll.xlsx")[0]
    assert import_register(again, scene, kind="members").matches["member_id"].iat[1] == members["member_id"].iat[1]


@hsettings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["阳光花园", "阳光小区", "阳光", "翠竹苑", "翠竹", "梧桐", ""]),
            st.sampled_from(["1", "2", "3", "三", "９", ""]),
            st.sampled_from(["栋", "号楼", "幢", ""]),
            st.sampled_from(["", "2单元501室", "101"]),
            st.sampled_from(["", "是", "否"]),
        ),
        max_size=40,
    )
)
def test_every_row_is_matched_or_unmatched_and_households_add_up(scene, records):
    table = rows(
        [{"address": f"{a}{n}{w}{d}", "vacant": v} for a, n, w, d, v in records], columns=["address", "vacant"]
    )
    if (match_rows(table, scene)["route"] == "unmatched").all():  # nothing to import: refused, with the rows read
        with pytest.raises(InputError, match=f"{len(table):,} rows could be joined|no data rows"):
            import_register(table, scene)
        return
    result = import_register(table, scene)
    c = result.counts()
    assert c["rows"] == len(table) == c["id"] + c["coordinate"] + c["address"] + c["unmatched"]
    assert c["unmatched"] == sum(v for k, v in c.items() if k.startswith("unmatched_"))
    matched = result.matches["route"] != "unmatched"
    occupied = matched & (table["vacant"] != "是").to_numpy()
    buildings = result.scene.buildings
    assert buildings.loc[buildings["households_registered"], "households"].sum() == occupied.sum()
    # a building named by a row is exactly what building_key says of its address
    for address, building in zip(table["address"][matched], result.matches["building_id"][matched]):
        key = building_key(address)
        assert key is not None and key.number in scene.scene.buildings.set_index("building_id").loc[building, "address"]


@pytest.fixture(scope="module")
def wuhan(extracts):
    return generate_records(extracts.prepared("wuhan"), seed=7)


def test_a_generated_register_of_a_real_extract_is_joined_with_few_wrong_matches(wuhan, tmp_path):
    records = wuhan
    path = tmp_path / "register.csv"
    records.households.to_csv(path, index=False, encoding="gb18030")
    table, dropped = read_register(path)
    result = import_register(table, prepare_scene(records.scene))
    truth = records.truth[records.truth["table"] == "households"].set_index("row")
    joined = result.matches.set_index("row").join(truth.rename(columns={"building_id": "building_id_truth"}))
    copies = joined["noise"].str.endswith("copy")
    matched = joined["route"] != "unmatched"
    wrong = matched & (joined["building_id"] != joined["building_id_truth"])
    assert (joined.loc[copies, "reason"] == "duplicate").all()
    assert matched[~copies].mean() >= 0.97 and wrong.mean() < 0.005
    assert {"姓名", "身份证号", "联系电话"} <= set(dropped)


@pytest.fixture(scope="module")
def wuhan_scene(wuhan, tmp_path_factory):
    """The generated register's scene of Wuhan, as a file for the command line."""
    path = tmp_path_factory.mktemp("wuhan") / "scene.gpkg"
    write_layers(path, wuhan.scene.layers())
    return path


@pytest.mark.parametrize(
    "variant, options",
    [
        ("utf16_tab", []),
        ("utf16_tab", ["--encoding", "utf-16"]),
        ("big5", []),
        ("names", []),
        ("gcj02_unnamed", []),
        ("bd09_unnamed", []),
        ("gcj02_unnamed", ["--register-coords", "gcj02"]),
    ],
)
def test_a_register_as_offices_write_it_imports_within_one_percent_per_building(
    wuhan, wuhan_scene, tmp_path, capsys, variant, options
):
    table = register_variant(wuhan, variant)
    register = write_register(table, tmp_path / ("register.txt" if variant == "utf16_tab" else "register.csv"), variant)
    code, out, err = run(
        capsys, "import-register", wuhan_scene, register, "-o", tmp_path / "out.gpkg", "--lang", "en", *options
    )
    assert code == EXIT_OK, err
    if variant.endswith("_unnamed") and not options:  # the system no row names is recognised, and said
        assert f"read as {'GCJ-02' if variant.startswith('gcj02') else 'BD-09'}" in out
    said = re.search(r"([\d,]+) rows: ([\d,]+) matched .*, ([\d,]+) unmatched", out)
    rows_in, matched, unmatched = (int(number.replace(",", "")) for number in said.groups())
    truth = wuhan.truth[wuhan.truth["table"] == "households"]
    assert rows_in == len(truth) == matched + unmatched
    buildings = read_layers(tmp_path / "out.gpkg")["buildings"].set_index("building_id")
    expected = truth[~truth["noise"].str.endswith("copy")].groupby("building_id").size()
    got = buildings.loc[expected.index, "households"].where(buildings.loc[expected.index, "households_registered"], 0)
    within = (got - expected).abs() <= 0.01 * expected
    assert expected[within].sum() >= 0.97 * expected.sum()
    if variant == "names":  # the rows written as names found their buildings (a name two share: none)
        named = table["地址"].ne(wuhan.households["地址"]).to_numpy() & ~truth["noise"].str.endswith("copy").to_numpy()
        report = pd.read_csv(tmp_path / "out_register" / "households_matches.csv", dtype=str)
        right = report["building_id"].to_numpy() == truth["building_id"].to_numpy()
        wrong = report["building_id"].notna().to_numpy() & ~right
        assert named.sum() > 2000 and right[named].mean() >= 0.99 and wrong[named].mean() < 0.002


@pytest.mark.parametrize(
    "variant, system, back", [("gcj02_unnamed", "GCJ-02", gcj02_to_wgs84), ("bd09_unnamed", "BD-09", bd09_to_wgs84)]
)
def test_a_register_in_one_unnamed_system_holds_the_same_points(wuhan, variant, system, back):
    table, original = register_variant(wuhan, variant), wuhan.households
    assert "坐标系" not in table and table.columns.tolist() == original.columns.drop("坐标系").tolist()
    named = original["坐标系"].to_numpy()
    assert (table.loc[named == system, ["经度", "纬度"]] == original.loc[named == system, ["经度", "纬度"]]).all().all()
    wgs = named == "WGS84"
    lon, lat = back(table.loc[wgs, "经度"].astype(float).to_numpy(), table.loc[wgs, "纬度"].astype(float).to_numpy())
    assert wgs.sum() > 4000
    assert np.abs(lon - original.loc[wgs, "经度"].astype(float)).max() < 2e-6  # six decimals: a tenth of a metre
    assert np.abs(lat - original.loc[wgs, "纬度"].astype(float)).max() < 2e-6
    assert (table.loc[named == "", ["经度", "纬度"]] == "").all().all()  # no coordinate stays none


def test_a_plan_of_a_registered_scene_says_which_households_are_registered(wuhan, tmp_path, capsys):
    scene_path = tmp_path / "scene.gpkg"
    write_layers(scene_path, wuhan.scene.layers())
    half = wuhan.households.iloc[: len(wuhan.households) // 2]  # half the register: the rest is estimated
    half.to_csv(tmp_path / "register.csv", index=False)
    assert (
        main(
            [
                "import-register",
                str(scene_path),
                str(tmp_path / "register.csv"),
                "-o",
                str(tmp_path / "registered.gpkg"),
            ]
        )
        == EXIT_OK
    )
    capsys.readouterr()
    assert (
        main(
            [
                "plan",
                str(tmp_path / "registered.gpkg"),
                "-o",
                str(tmp_path / "plan.gpkg"),
                "--lang",
                "en",
                "--map",
                str(tmp_path / "plan.html"),
            ]
        )
        == EXIT_OK
    )
    out = capsys.readouterr().out
    said = re.search(
        r"([\d,]+) households, ([\d,]+) households estimated \(\d+%; footprint × floors ÷ 90 m²\), ([\d,]+) registered",
        out,
    )
    total, estimated, registered = (int(n.replace(",", "")) for n in said.groups())
    assert 0 < estimated < total and estimated + registered == total
    scene = read_layers(tmp_path / "registered.gpkg")["buildings"]
    assert estimated == scene["households"].where(scene["households_estimated"].astype(bool), 0).sum()
    assert "GENERATED scenario data (seeded), not records: households" in out
    page = (tmp_path / "plan.html").read_text(encoding="utf-8")
    assert "(registered)" in page and "(partly estimated)" in page  # per grid, in the run's language


def test_an_import_in_chinese_says_everything_in_chinese(wuhan, wuhan_scene, tmp_path, capsys):
    register = write_register(register_variant(wuhan, "gcj02_unnamed"), tmp_path / "register.csv", "gcj02_unnamed")
    code, out, err = run(capsys, "import-register", wuhan_scene, register, "-o", tmp_path / "out.gpkg")
    assert code == EXIT_OK, err
    assert out.startswith("住户登记：") and "未注明坐标系的坐标：登记坐标按 GCJ-02（高德/腾讯） 读取，向" in out
    assert "已写入：" in out and not re.search(r"\b(rows|matched|unmatched|written|households)\b", out)
