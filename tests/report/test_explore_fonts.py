"""``sdkit explore``: Chinese text on the page is drawn with sdkit's embedded font.

The machine has no CJK font of its own; Chromium reports which font drew each
element (CDP ``CSS.getPlatformFontsForNode``, see test_report_browser.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cdp_pipe import Browser
from test_report_browser import _rendered_texts, _system_font_cmaps

from sdkit.report.fonts import FAMILY
from sdkit.workflow.explore import build_explorer

TEACUP = Path(__file__).resolve().parents[1] / "models" / "teacup.mdl"


@pytest.mark.slow
def test_explorer_draws_chinese_with_the_embedded_font(tmp_path):
    title = "茶杯冷却 (teacup)"
    page = build_explorer(TEACUP, out=tmp_path / "explore.html", title=title)
    assert 'id="sdkit-cjk-font"' in page.html and "font-src data:" in page.html
    cmaps = _system_font_cmaps()
    assert not any(ord("茶") in c for c in cmaps.values()), "the machine has a CJK font"
    with Browser(tmp_path / "profile") as browser:
        browser.open(page.path.as_uri())
        texts = _rendered_texts(browser)
    drawn = [fonts for text, fonts in texts if "茶杯" in text and fonts]
    assert drawn, "the title was not rendered"
    for fonts in drawn:
        assert any(f["isCustomFont"] and f["familyName"] == FAMILY for f in fonts), fonts
