"""The bundled CJK font: it covers the project's text, figures draw with it, the HTML embeds it.

The machine has no CJK font installed (a clean machine): every CJK glyph in
these figures and pages comes from ``sdkit/report/assets/sdkit-cjk-sans.otf``.
pytest runs with ``filterwarnings = error``, so a matplotlib "Glyph ... missing"
warning fails a test.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import re
import tomllib
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.figure import Figure

from sdkit.errors import SdkitWarning
from sdkit.report import fonts
from sdkit.report.figures import figure_bytes

ROOT = Path(__file__).resolve().parents[2]
CJK_TEXT = "GDP 亿元 (2010 prices), 人口 万人, 荆州 宜昌 荆门 恩施, 吨 CO2 / 万元"
RARE = "龘"  # U+9F98: outside GB 2312 and outside the project's text


def _tool():
    spec = importlib.util.spec_from_file_location("make_cjk_font",
                                                  ROOT / "tools" / "make_cjk_font.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_font_and_licence_are_shipped_as_package_data():
    assert fonts.FONT_FILE.is_file() and fonts.FONT_FILE.stat().st_size < 2_000_000
    licence = (fonts.FONT_FILE.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Noto Sans CJK" in licence
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["sdkit.report"]
    assert {"assets/*.otf", "assets/*.txt"} <= set(patterns)
    with TTFont(fonts.FONT_FILE) as font:
        assert font["name"].getDebugName(1) == fonts.FAMILY  # renamed, as the OFL asks


def test_font_covers_every_cjk_character_of_the_project():
    tool = _tool()
    found = tool.project_characters(ROOT)
    assert len(found) > 100  # units, city names, data-source paths
    assert {ord(c) for c in "亿元万人荆州"} <= found
    lacking = "".join(sorted(chr(c) for c in found - fonts.covered()))
    assert lacking == "", f"rebuild the font (tools/make_cjk_font.py): {lacking}"
    assert set(tool.gb2312_level1()) <= fonts.covered()
    assert ord(RARE) not in fonts.covered()


def _png(fig, *, fallback: bool = True) -> np.ndarray:
    buf = io.BytesIO()
    if fallback:
        with fonts.figure_fonts(fig):
            fig.savefig(buf, format="png", dpi=100)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DejaVu Sans alone lacks them: boxes, and a warning
            fig.savefig(buf, format="png", dpi=100)
    return matplotlib.image.imread(io.BytesIO(buf.getvalue()))


def _char_figure(char: str, **kwargs) -> Figure:
    fig = Figure(figsize=(1, 1))
    fig.text(0.2, 0.3, char, fontsize=30, **kwargs)
    return fig


def test_figures_draw_cjk_glyphs_not_boxes():
    """A missing glyph is drawn as the same box for every character: two characters drawn
    alike would mean boxes. The check fails for a font without them (DejaVu Sans)."""
    before = list(matplotlib.rcParams["font.family"])
    a, b = (_png(_char_figure(c), fallback=True) for c in "亿元")
    assert a.shape == b.shape and not np.array_equal(a, b)
    assert float((a[..., :3] < 0.5).mean()) > 0.01  # ink
    box_a, box_b = (_png(_char_figure(c, family="DejaVu Sans"), fallback=False) for c in "亿元")
    assert np.array_equal(box_a, box_b)
    assert matplotlib.rcParams["font.family"] == before  # no global change left behind


def test_each_cjk_character_is_drawn_from_the_bundled_file():
    """matplotlib draws each character with the first font of the text's fallback list that
    holds it: for CJK that is the bundled file, for Latin the user's font."""
    fig = _char_figure("亿元 GDP")
    with fonts.figure_fonts(fig):
        files = font_manager.fontManager._find_fonts_by_props(fig.texts[0].get_fontproperties())
    cmaps = [(Path(f).name, set(TTFont(f, fontNumber=0).getBestCmap())) for f in files]

    def used(char):
        return next(name for name, cmap in cmaps if ord(char) in cmap)

    assert used("亿") == used("元") == fonts.FONT_FILE.name
    assert used("G") != fonts.FONT_FILE.name  # Latin keeps its own font


def test_every_text_of_a_report_figure_renders_without_missing_glyphs():
    fig = Figure(figsize=(5, 3))
    ax = fig.subplots()
    ax.plot([2010, 2020], [1, 2], label="宜昌 (万人)")
    ax.set_title(CJK_TEXT, fontsize=7, fontweight="bold")
    ax.set_ylabel("亿元")
    ax.set_xticks([2010, 2020], ["二〇一〇", "二〇二〇"])
    ax.legend()
    png, svg = figure_bytes(fig)  # filterwarnings=error: a missing glyph would raise here
    assert png[:4] == b"\x89PNG" and "<svg" in svg
    assert all(fonts.FAMILY in t.get_fontfamily() for t in fig.findobj(matplotlib.text.Text))


def _tight_figure() -> Figure:
    fig = Figure(figsize=(3, 2))
    fig.subplots().set_ylabel("亿元")
    fig.tight_layout()  # measures the label when the figure is built, not when it is saved
    return fig


def test_layouts_computed_while_building_measure_cjk_with_the_font():
    with pytest.warns(UserWarning, match="missing from font"):
        _tight_figure()  # without the fallback: DejaVu Sans lacks the glyphs
    before = dict(matplotlib.rcParams)
    with fonts.report_fonts() as family:
        fig = _tight_figure()
    assert family == fonts.FAMILY and dict(matplotlib.rcParams) == before
    assert fonts.FAMILY in fig.axes[0].yaxis.label.get_fontfamily()
    figure_bytes(fig)


def test_a_character_no_font_holds_is_named_in_one_warning():
    fig = Figure()
    fig.subplots().set_title(f"GDP {RARE} 亿元")
    with pytest.warns(SdkitWarning, match=rf"{RARE} \(U\+9F98\)") as record:
        figure_bytes(fig)
    assert len(record) == 1 and "亿" not in str(record[0].message)


def _embedded(html: str) -> TTFont:
    m = re.search(r'src: url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\) format\("opentype"\)',
                  html)
    assert m, "no embedded font"
    return TTFont(io.BytesIO(base64.b64decode(m.group(1))))


def test_html_embeds_a_subset_holding_the_pages_characters():
    page = f"<html><head><title>t</title></head><body><p>{CJK_TEXT}</p></body></html>"
    html = fonts.embed_font(page)
    assert html.count('<style id="sdkit-cjk-font">') == 1
    assert html.index("sdkit-cjk-font") < html.index("</head>")
    assert "unicode-range: U+2E80-9FFF," in html  # first in the family lists, for CJK only
    font = _embedded(html)
    assert font["name"].getDebugName(1) == fonts.FAMILY
    cmap = set(font.getBestCmap())
    wanted = {ord(c) for c in CJK_TEXT if fonts.is_cjk(c)}
    assert wanted <= cmap and len(cmap) <= len(wanted) + 2  # just the page's characters
    assert len(html) - len(page) < 40_000
    assert fonts.embed_font("<html><head></head><body>GDP</body></html>").count("@font") == 0


def test_html_names_characters_the_font_lacks():
    with pytest.warns(SdkitWarning, match=rf"{RARE} \(U\+9F98\)"):
        html = fonts.embed_font(f"<html><head></head><body>{RARE} 亿元</body></html>")
    assert {ord("亿"), ord("元")} <= set(_embedded(html).getBestCmap())
