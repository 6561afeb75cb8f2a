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
    assert 'id="summary-table"' in dom and "Executive summary" in dom
    assert re.search(r'<table[^>]*class="dataframe tbl"', dom)
