"""Open the report's index.html in headless Chromium: not blank, images loaded, table there."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,2000", "--virtual-time-budget=5000"]
MARK_IMAGES = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
});
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: install it (apt-get install -y chromium)")
    profile = tmp_path / "profile"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_report_renders_in_chromium(mini_report, tmp_path):
    page = tmp_path / "page"
    shutil.copytree(mini_report[0], page)
    html = (page / "index.html").read_text()
    (page / "index.html").write_text(html.replace("</body>", MARK_IMAGES + "</body>"))
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", (page / "index.html").as_uri())
    assert shot.is_file(), "chromium wrote no screenshot"
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    assert float(np.var(pixels)) > 0.005, "page looks blank"
    assert float((pixels.mean(axis=2) < 0.9).mean()) > 0.02  # a fair share of non-white
    dom = chromium(tmp_path, "--dump-dom", (page / "index.html").as_uri()).stdout
    m = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert m, "the image check script did not run"
    loaded, total = map(int, m.groups())
    assert total >= 7 and loaded == total
    assert 'id="summary-table"' in dom and "Findings" in dom
    assert re.search(r'<table[^>]*class="dataframe tbl"', dom)


# --- findings and figures (issue 17): every figure loads, every number of the findings
# --- equals the result table it cites (read from the report's data/ CSVs)

NUM_SPAN = re.compile(r'<span class="num" data-table="([^"]+)" data-row="([^"]+)" '
                      r'data-col="([^"]+)" data-fmt="([^"]+)">([^<]+)</span>')


def _cell(data: Path, table: str, row: str, col: str) -> float:
    import html

    import pandas as pd

    frame = pd.read_csv(data / f"{table}.csv")
    row, col = html.unescape(row), html.unescape(col)
    if "row" in frame:
        hit = frame[frame["row"] == row]
    else:  # sensitivity.csv: "outcome | factor"
        outcome, factor = row.split(" | ", 1)
        hit = frame[(frame["outcome"] == outcome) & (frame["factor"] == factor)]
    assert len(hit) == 1, f"{table}.csv: no single row {row!r}"
    return float(hit.iloc[0][col])


def _dom(tmp_path: Path, folder: Path) -> str:
    page = tmp_path / "page"
    shutil.copytree(folder, page)
    html = (page / "index.html").read_text()
    (page / "index.html").write_text(html.replace("</body>", MARK_IMAGES + "</body>"))
    return chromium(tmp_path, "--dump-dom", (page / "index.html").as_uri()).stdout


@pytest.mark.slow
def test_findings_numbers_equal_the_result_tables(mini_report, tmp_path):
    import html

    dom = _dom(tmp_path, mini_report[0])
    m = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert m and m.group(1) == m.group(2) and int(m.group(2)) >= 8, "a figure did not load"
    assert 'id="fig-tradeoff"' in dom
    findings = re.search(r'<ul id="findings">(.*?)</ul>', dom, flags=re.S)
    assert findings, "no findings section"
    framing = re.search(r'id="sobol-framing">(.*?)</p>', dom, flags=re.S)
    assert framing, "no Sobol' framing in the sensitivity section"
    spans = NUM_SPAN.findall(findings.group(1)) + NUM_SPAN.findall(framing.group(1))
    assert len(spans) >= 6 and any(s[0] == "sensitivity" for s in spans)
    data = mini_report[0] / "data"
    for table, row, col, fmt, shown in spans:
        value = _cell(data, table, row, col)
        assert html.unescape(fmt).format(value) == html.unescape(shown), (table, row, col)
    assert "Net zero by 2060 is not reached" in findings.group(1)


# -- fonts (helper B): no text falls back to a missing glyph ------------------------------------


def _system_font_cmaps() -> dict[str, set[int]]:
    """PostScript name -> code points, for every font fontconfig gives Chromium."""
    from fontTools.ttLib import TTFont

    listing = subprocess.run(["fc-list", ":", "postscriptname", "file"], capture_output=True,
                             text=True, check=True).stdout
    out = {}
    for line in listing.splitlines():
        path, _, rest = line.partition(": ")
        name = rest.partition("postscriptname=")[2].strip()
        if name and name not in out:
            with TTFont(path.strip(), fontNumber=0, lazy=True) as font:
                out[name] = set(font.getBestCmap())
    return out


def _rendered_texts(browser) -> list[tuple[str, list[dict]]]:
    """(text of the element's own text nodes, fonts Chromium drew them with) per element."""
    browser.send("DOM.enable")
    browser.send("CSS.enable")
    root = browser.send("DOM.getDocument", {"depth": -1})["root"]
    stack, out = [root], []
    while stack:
        node = stack.pop()
        if node.get("nodeName") in ("HEAD", "SCRIPT", "STYLE"):
            continue
        kids = node.get("children", [])
        stack.extend(kids)
        text = "".join(k["nodeValue"] for k in kids if k["nodeType"] == 3)
        if node["nodeType"] == 1 and text.strip():
            fonts = browser.send("CSS.getPlatformFontsForNode",
                                 {"nodeId": node["nodeId"]})["fonts"]
            out.append((text, fonts))
    return out


@pytest.mark.slow
def test_no_text_falls_back_to_a_missing_glyph(mini_report, tmp_path):
    """Chromium reports the font it drew each element's text with (CDP
    ``CSS.getPlatformFontsForNode``); every character must be in one of them. CJK text in
    the title, units and caveats must come from the page's embedded font, as the machine
    has no CJK font of its own."""
    import base64
    import io

    from cdp_pipe import Browser
    from fontTools.ttLib import TTFont

    from sdkit.report import read_report_config, write_report
    from sdkit.report.fonts import FAMILY
    from sdkit.report.results import load_inputs

    out, config, _ = mini_report
    text = config.read_text(encoding="utf-8")
    cjk = tmp_path / "cjk.toml"  # the mini config, with Chinese in the title and a unit
    cjk.write_text(text.replace('title = "Mini IIS test report"',
                                'title = "Mini IIS 测试报告 (test report)"')
                   .replace('units = "Mt/yr"', 'units = "Mt/yr (百万吨/年)"'), encoding="utf-8")
    index = write_report(load_inputs(out / "data", read_report_config(cjk)), tmp_path / "r")
    page = index.read_text(encoding="utf-8")
    m = re.search(r"base64,([A-Za-z0-9+/=]+)\) format\(\"opentype\"\)", page)
    assert m, "the page embeds no CJK font"
    cmaps = _system_font_cmaps()
    assert not any(ord("测") in c for c in cmaps.values()), "the machine has a CJK font"
    embedded = set(TTFont(io.BytesIO(base64.b64decode(m.group(1)))).getBestCmap())
    with Browser(tmp_path / "profile") as browser:
        browser.open(index.as_uri())
        texts = _rendered_texts(browser)
    checked, by_embedded = 0, 0
    for text, fonts in texts:
        if not fonts:  # not rendered (hidden)
            continue
        have = set()
        for f in fonts:
            have |= embedded if f["isCustomFont"] and f["familyName"] == FAMILY else cmaps.get(
                f["postScriptName"], set())
        lacking = {c for c in text if not c.isspace() and ord(c) not in have}
        assert not lacking, (text[:80], fonts, sorted(lacking))
        checked += 1
        if any(f["isCustomFont"] for f in fonts):
            by_embedded += 1
            assert not any(f["familyName"] == FAMILY and not f["isCustomFont"] for f in fonts)
    cjk_nodes = sum(1 for t, f in texts if f and any("\u4e00" <= c <= "\u9fff" for c in t))
    assert checked > 100 and cjk_nodes >= 3 and by_embedded >= cjk_nodes
