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
    spans = NUM_SPAN.findall(findings.group(1))
    assert len(spans) >= 6
    data = mini_report[0] / "data"
    for table, row, col, fmt, shown in spans:
        value = _cell(data, table, row, col)
        assert html.unescape(fmt).format(value) == html.unescape(shown), (table, row, col)
    assert "Net zero by 2060 is not reached" in findings.group(1)
