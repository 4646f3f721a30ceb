"""Wall maps (网格图上墙): the Beijing 学院路 extract cut into two named, coded communities, planned and printed
through the command line as users do, then read back with poppler (pdftotext, pdftoppm, pdfinfo, pdfimages)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import branca.colormap
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from gridplan.cli import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, main
from gridplan.errors import InputError
from gridplan.io.store import read_plan, write_layers
from gridplan.outputs.tables import grid_codes
from gridplan.outputs.wallmap import SCALE_STEPS, WallMap, wall_maps, write_wall_maps
from gridplan.pipeline import load_scene, prepare_scene
from gridplan.settings import DEFAULTS, WALL_MAP_DEFAULTS, WallMapSettings
from gridplan.style import DEVIATION_COLOURS, SPECIAL_COLOUR, grid_fill

from .support.cli import assert_one_line_error, run

BEIJING = "beijing_xueyuanlu_osm/beijing_xueyuanlu.osm"
#: The two communities the extract is cut into (west, east): id, name, 12-digit code.
COMMUNITIES = [("west", "学院路西社区", "110108017001"), ("east", "学院路东社区", "110108017002")]
#: Page sizes in PostScript points (1/72 inch) of ISO 216 paper, portrait.
POINTS = {"A3": (841.89, 1190.55), "A4": (595.28, 841.89)}


@pytest.fixture(scope="module")
def printed(shared_data, tmp_path_factory):
    """The scene (communities with names and codes), the plan and the wall maps of ``gridplan print``."""
    folder = tmp_path_factory.mktemp("wallmap")
    imported = folder / "imported.gpkg"
    assert main(["import-osm", str(shared_data / BEIJING), "-o", str(imported)]) == EXIT_OK
    scene = load_scene(imported)
    hull = scene.communities.geometry.iloc[0]
    x = hull.centroid.x
    west_east = [shapely.clip_by_rect(hull, -180, -90, x, 90), shapely.clip_by_rect(hull, x, -90, 180, 90)]
    communities = scene.communities.iloc[[0, 0]].reset_index(drop=True).set_geometry(west_east)
    communities["community_id"], communities["name"], communities["code"] = map(list, zip(*COMMUNITIES))
    scene_path = folder / "scene.gpkg"
    write_layers(scene_path, scene.replace(communities=communities).layers())
    plan_path = folder / "plan.gpkg"
    assert main(["plan", str(scene_path), "-o", str(plan_path)]) == EXIT_OK
    out = folder / "print"
    assert main(["print", str(scene_path), str(plan_path), "-o", str(out), "--office-name", "学院路街道"]) == EXIT_OK
    return scene_path, plan_path, out


def poppler(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = poppler("pdfinfo", "-f", "1", "-l", "99", str(pdf))
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)]


def codes_by_community(plan_path: Path) -> dict[str, list[str]]:
    grids = read_plan(plan_path).plan.grids
    return {c: sorted(g["code"]) for c, g in grids.groupby("community_id")}


def test_print_writes_a_pdf_per_community_and_one_for_the_street_office(printed):
    _, plan_path, out = printed
    assert sorted(p.name for p in out.iterdir()) == [
        ".gridplan-files.json",
        "community-east.pdf",
        "community-east.png",
        "community-west.pdf",
        "community-west.png",
        "street-office.pdf",
        "street-office.png",
    ]
    codes = codes_by_community(plan_path)
    assert len(codes["west"]) >= 10 and len(codes["east"]) >= 10
    assert all(re.fullmatch(r"11010801700[12]\d{3}", c) for c in codes["west"] + codes["east"])


@pytest.mark.parametrize("community, name", [(c, n) for c, n, _ in COMMUNITIES])
def test_pdftotext_finds_the_community_name_and_every_grid_code(printed, community, name):
    _, plan_path, out = printed
    text = poppler("pdftotext", str(out / f"community-{community}.pdf"), "-")
    assert f"{name} 网格图" in text
    codes = codes_by_community(plan_path)[community]
    assert [c for c in codes if c not in text] == []
    # labelled on the map and listed in the table
    assert all(text.count(c) >= 2 for c in codes)
    assert "户数全部为估算（占地面积 × 层数 ÷ 90 平方米）" in text  # every count of an OSM extract is an estimate


def test_the_street_office_map_names_every_community_and_holds_every_code(printed):
    _, plan_path, out = printed
    text = poppler("pdftotext", str(out / "street-office.pdf"), "-")
    assert "学院路街道 网格总图" in text
    assert all(name in text for _, name, _ in COMMUNITIES)
    codes = codes_by_community(plan_path)
    assert [c for c in codes["west"] + codes["east"] if c not in text] == []
    assert re.search(r"2 个社区 · \d+ 个网格 · [\d,]+ 户", text)


def test_the_map_is_at_a_round_scale_with_its_bar_in_metres(printed):
    _, _, out = printed
    text = poppler("pdftotext", str(out / "community-west.pdf"), "-")
    denominators = [int(d.replace(",", "")) for d in re.findall(r"1:([\d,]+)", text)]
    assert len(denominators) == 1
    mantissa = denominators[0] / 10 ** int(np.floor(np.log10(denominators[0])))
    assert mantissa in SCALE_STEPS and 1_000 <= denominators[0] <= 20_000
    assert re.search(r"\b(\d+) 米", text) and "北" in text


def test_default_pages_are_a3_landscape_and_the_png_is_a3_at_150_dpi(printed):
    _, _, out = printed
    for pdf in out.glob("*.pdf"):
        assert page_sizes(pdf) == [pytest.approx(POINTS["A3"][::-1], abs=1.0)]
    width, height = Image.open(out / "community-west.png").size
    assert abs(width - 420 / 25.4 * 150) <= 1 and abs(height - 297 / 25.4 * 150) <= 1


def test_every_page_renders_and_is_not_blank(printed, tmp_path):
    _, _, out = printed
    for pdf in sorted(out.glob("*.pdf")):
        prefix = tmp_path / pdf.stem
        poppler("pdftoppm", "-r", "30", "-png", str(pdf), str(prefix))
        pages = sorted(tmp_path.glob(f"{pdf.stem}*.png"))
        assert len(pages) == len(page_sizes(pdf)) == 1
        pixels = np.asarray(Image.open(pages[0]).convert("RGB")).reshape(-1, 3)
        inked = (pixels < 250).any(axis=1).mean()  # a blank page: 0; the title and table alone: under 0.05
        colours = len(np.unique(pixels // 32, axis=0))  # distinct colours on a coarse 8 × 8 × 8 cube
        assert inked > 0.25, (pdf.name, inked)
        assert colours >= 20, (pdf.name, colours)


def test_the_pdf_is_vector_with_its_fonts_embedded_as_truetype(printed):
    _, _, out = printed
    pdf = str(out / "community-east.pdf")
    images = poppler("pdfimages", "-list", pdf).strip().splitlines()
    assert len(images) == 2  # the header lines of an empty list: no raster on the page
    fonts = [line.split() for line in poppler("pdffonts", pdf).strip().splitlines()[2:]]
    assert fonts and all("WenQuanYiZenHei" in f[0] and "TrueType" in " ".join(f) and "yes" in f for f in fonts)


@pytest.fixture(scope="module")
def planned(printed):
    scene_path, plan_path, _ = printed
    run = read_plan(plan_path)
    return run, prepare_scene(load_scene(scene_path), run.plan.settings)


@pytest.mark.parametrize("paper, orientation", [("A3", "portrait"), ("A4", "landscape"), ("A4", "portrait")])
def test_paper_and_orientation_give_the_page_size(planned, tmp_path, paper, orientation):
    run, prepared = planned
    written = write_wall_maps(
        run, prepared, tmp_path, paper=paper, orientation=orientation, scope="office", formats=("pdf", "png"), dpi=60
    )
    short, long = POINTS[paper]
    size = (long, short) if orientation == "landscape" else (short, long)
    [pdf] = written.pdf
    sizes = page_sizes(pdf)
    assert sizes and all(s == pytest.approx(size, abs=1.0) for s in sizes)
    assert len(written.png) == len(sizes) == written.pages["street-office"]
    for png in written.png:
        width, height = Image.open(png).size
        assert abs(width - size[0] / 72 * 60) <= 1 and abs(height - size[1] / 72 * 60) <= 1


@pytest.mark.parametrize("paper", ["A3", "A4"])
def test_grid_labels_on_the_printed_map_do_not_overlap(planned, paper):
    """Measured on the drawn page: the extents of the grid labels (text at zorder 8, not their white halos)."""
    import itertools

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    run, prepared = planned
    maps = wall_maps(run, prepared, paper=paper)
    for wall in maps:
        page = wall.pages[0]
        renderer = FigureCanvasAgg(page).get_renderer()
        labels = [t for ax in page.axes for t in ax.texts if t.get_zorder() == 8 and t.get_color() != "white"]
        assert sorted(t.get_text() for t in labels) == sorted(codes_of(run, wall.community_id))
        boxes = [t.get_window_extent(renderer) for t in labels]
        clashes = sum(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
        assert clashes <= wall.crowded_labels == 0, (wall.name, clashes)


def codes_of(run, community_id) -> list[str]:

    grids = (
        run.plan.grids
        if community_id is None
        else run.plan.grids[run.plan.grids["community_id"].astype(str) == community_id]
    )
    return list(grid_codes(grids))


def test_a_table_too_long_for_the_page_continues_on_a_table_page_with_every_code(planned, tmp_path):
    """A4 landscape leaves room beside the map for about 30 rows: the street office's grids need a second page."""
    run, prepared = planned
    written = write_wall_maps(
        run, prepared, tmp_path, paper="A4", orientation="landscape", scope="office", formats=("pdf", "png")
    )
    [pdf] = written.pdf
    assert len(page_sizes(pdf)) == 2 and [p.name for p in written.png] == ["street-office.png", "street-office-2.png"]
    second = poppler("pdftotext", "-f", "2", "-l", "2", str(pdf), "-")
    assert "（续，第 2 页）" in second
    table_codes = re.findall(r"\b\d{15}\b", second)
    grids = run.plan.grids
    assert len(table_codes) >= 1 and set(table_codes) < set(grids["code"])
    text = poppler("pdftotext", str(pdf), "-")
    assert [c for c in grids["code"] if c not in text] == []


def test_english_wall_maps_have_english_titles_legend_and_headers(planned, tmp_path):
    run, prepared = planned
    written = write_wall_maps(run, prepared, tmp_path, lang="en", scope="communities", formats=("pdf",))
    assert [p.name for p in written.pdf] == ["community-east.pdf", "community-west.pdf"]
    text = poppler("pdftotext", str(written.pdf[1]), "-")
    for words in (
        "学院路西社区: grid map",
        "Legend",
        "Grid code",
        "Households",
        "Grid worker",
        "Community boundary",
        "households all estimated (footprint × floors ÷ 90 m²)",
    ):
        assert words in text, words
    for words in ("网格图", "图例", "网格编码", "户数", "网格员", "社区边界"):
        assert words not in text, words


def test_an_unknown_paper_size_is_refused_in_one_line(planned, tmp_path, capsys):
    run, prepared = planned
    with pytest.raises(InputError, match=r"unknown paper 'B5': use A3 or A4"):
        write_wall_maps(run, prepared, tmp_path, paper="B5")
    with pytest.raises(InputError, match="unknown orientation 'sideways'"):
        write_wall_maps(run, prepared, tmp_path, orientation="sideways")
    assert list(tmp_path.iterdir()) == []


def test_the_cli_refuses_an_unknown_paper_or_format_with_exit_2(printed, tmp_path, capsys):
    scene_path, plan_path, _ = printed
    for option in (["--paper", "B5"], ["--format", "svg"]):
        assert main(["print", str(scene_path), str(plan_path), "-o", str(tmp_path / "x"), *option]) == EXIT_INPUT
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and option[1] in err[0]
    assert not (tmp_path / "x").exists()


def test_without_a_cjk_font_a_chinese_map_names_the_debian_package(planned, tmp_path):
    run, prepared = planned
    style = WallMapSettings(fonts=("No Such Font CJK",))
    with pytest.raises(InputError, match="apt-get install fonts-noto-cjk") as error:
        write_wall_maps(run, prepared, tmp_path, style=style)
    assert "\n" not in str(error.value)
    assert WALL_MAP_DEFAULTS.fonts[0] == "Noto Sans CJK SC"


def test_a_cjk_font_installed_after_matplotlib_listed_its_fonts_is_found(planned, tmp_path, monkeypatch):
    """The README's commands in their order: ``make demo`` has matplotlib list its fonts, ``make test`` then installs
    the CJK font; the wall maps must find it, not refuse."""
    from matplotlib.font_manager import fontManager

    run, prepared = planned
    before = [e for e in fontManager.ttflist if not e.name.startswith(("WenQuanYi", "Noto Sans CJK"))]
    assert len(before) < len(fontManager.ttflist)  # this machine has a CJK font to leave out of the list
    monkeypatch.setattr(fontManager, "ttflist", before)
    written = write_wall_maps(run, prepared, tmp_path, scope="office", formats=("pdf",))
    fonts = poppler("pdffonts", str(written.pdf[0]))
    assert "WenQuanYiZenHei" in fonts or "NotoSansCJK" in fonts


def test_grids_are_filled_by_the_rule_of_the_web_maps():
    """One colour rule for web and wall maps: white at the target, the scale's ends at ±tolerance and beyond,
    purple for special grids whatever their households."""

    fill = grid_fill(DEFAULTS.grid)
    limit = DEFAULTS.grid.tolerance * 100
    assert fill("ordinary", 0.0)[:7] == DEVIATION_COLOURS[2]
    assert fill("ordinary", -limit)[:7] == fill("ordinary", -3 * limit)[:7] == DEVIATION_COLOURS[0]
    assert fill("ordinary", limit)[:7] == fill("ordinary", 5 * limit)[:7] == DEVIATION_COLOURS[-1]
    assert fill("special", 0.0) == fill("oversize", 40.0) == SPECIAL_COLOUR


@given(
    deviation=st.floats(-100, 100) | st.sampled_from([-20.0, -10.0, 0.0, 10.0, 20.0]),
    tolerance=st.floats(0.01, 0.5) | st.just(0.2),
)
def test_the_grid_fill_is_the_colour_the_web_maps_legend_gives(deviation, tolerance):
    """The fill is computed without branca (a plan written loads no map library), to the colour of branca's
    ``LinearColormap``, whose legend the web maps draw."""
    limit = tolerance * 100
    legend = branca.colormap.LinearColormap(DEVIATION_COLOURS, vmin=-limit, vmax=limit)
    fill = grid_fill(dataclasses.replace(DEFAULTS.grid, tolerance=tolerance))
    assert fill("ordinary", deviation) == legend(max(-limit, min(limit, deviation)))


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def print_into(printed, folder: Path, *options: str) -> int:
    scene_path, plan_path, _ = printed
    return main(["print", str(scene_path), str(plan_path), "-o", str(folder), "--dpi", "30", *options])


def test_an_a3_run_after_an_a4_run_leaves_only_a3_pages(printed, tmp_path):
    """A4 landscape puts the street office's table on a second page; the A3 run after it has one page, and
    the A4 run's second page must not stay behind among the A3 pages."""
    out = tmp_path / "wall"
    assert print_into(printed, out, "--paper", "A4", "--scope", "office") == EXIT_OK
    assert "street-office-2.png" in folder_bytes(out)
    assert print_into(printed, out, "--paper", "A3", "--scope", "office") == EXIT_OK
    assert sorted(folder_bytes(out)) == [".gridplan-files.json", "street-office.pdf", "street-office.png"]
    assert page_sizes(out / "street-office.pdf") == [pytest.approx(POINTS["A3"][::-1], abs=1.0)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wall"]  # nothing left beside it


def test_ctrl_c_midway_leaves_the_previous_set_exactly(printed, tmp_path, monkeypatch, capsys):
    """Interrupted after the first of three maps is written: exit 130 in one line, the previous A4 set byte for
    byte, and neither the new maps nor the folder they were written into left behind."""
    out = tmp_path / "wall"
    assert print_into(printed, out, "--paper", "A4", "--scope", "office") == EXIT_OK
    before = folder_bytes(out)
    save, saved = WallMap.save, []

    def save_then_interrupt(self, folder, *args, **kwargs):
        saved.append(save(self, folder, *args, **kwargs))
        if len(saved) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(WallMap, "save", save_then_interrupt)
    code, _, err = run(capsys, "print", printed[0], printed[1], "-o", out, "--paper", "A3", "--dpi", "30")
    assert code == EXIT_INTERRUPTED and err.count("\n") == 1 and "Traceback" not in err
    assert len(saved) == 1 and all(p.exists() is False for p in saved[0])
    assert folder_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wall"]


def test_a_folder_holding_files_gridplan_did_not_write_is_refused_and_left_alone(printed, tmp_path, capsys):
    out = tmp_path / "documents"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "street-office.pdf").write_bytes(b"%PDF- not gridplan's")
    before = folder_bytes(out)
    code, _, err = run(capsys, "print", printed[0], printed[1], "-o", out)
    assert_one_line_error(
        code, err, str(out.resolve()), "2 个文件不是 gridplan 写入的", "notes.txt", "新的或空的文件夹"
    )
    assert folder_bytes(out) == before
    # a file added by hand to a folder of wall maps is not gridplan's either
    wall = tmp_path / "wall"
    assert print_into(printed, wall, "--scope", "office") == EXIT_OK
    (wall / "schedule.xlsx").write_bytes(b"x")
    before = folder_bytes(wall)
    assert_one_line_error(*run(capsys, "print", printed[0], printed[1], "-o", wall)[::2], "schedule.xlsx")
    assert folder_bytes(wall) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents", "wall"]
