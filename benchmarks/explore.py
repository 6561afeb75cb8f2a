"""Explorer speed: recompute plus redraw per slider move for IIS, in headless Chromium.

Run from the repository root::

    .venv/bin/python benchmarks/explore.py            # 200 slider moves
    .venv/bin/python benchmarks/explore.py --moves 50

It writes the IIS explorer (all scenario files of ``models/scenarios`` as
presets, their 18 lever sliders, the default charts) to a temporary folder,
opens it with the system's Chromium (``/usr/bin/chromium --headless
--dump-dom``, a ``file://`` page: no server, no network) with ``#bench=N`` in
the URL, and prints what the page measured: per move, the model run plus the
chart update and layout (median and maximum, first move included), and the
model run alone. The target is under 100 ms per move.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from sdkit.workflow.explore import build_explorer

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=60000"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=200, help="slider moves to time")
    args = parser.parse_args()
    scenarios = sorted((ROOT / "models" / "scenarios").glob("*.toml"))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        page = build_explorer(ROOT / "models" / "iis.mdl", out=Path(tmp) / "iis.html",
                              scenarios=scenarios)
        built = time.perf_counter() - t
        url = page.path.as_uri() + f"#bench={args.moves}"
        cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", "--dump-dom", url]
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                             check=True).stdout
    m = re.search(r'<pre id="sdkit-bench">(.*?)</pre>', dom, re.S)
    if not m:
        raise SystemExit("the page wrote no benchmark result")
    res = json.loads(html.unescape(m.group(1)))
    spec = page.spec
    charts = sum(len(o["elements"]) for o in spec["outputs"])
    print(f"IIS explorer: {len(spec['params'])} sliders, {charts} charts, "
          f"{len(page.html) / 1e3:.0f} kB, built in {built:.1f} s")
    print(f"per slider move (recompute + redraw), {res['n']} moves: "
          f"median {res['median_ms']:.1f} ms, 95th percentile {res['p95_ms']:.1f} ms, "
          f"max {res['max_ms']:.1f} ms, first move {res['first_ms']:.1f} ms "
          f"(target < 100 ms)")
    print(f"model run alone: median {res['model_median_ms']:.1f} ms")
    print("command: " + " ".join(cmd[:1] + FLAGS + ["--dump-dom", "'file://.../iis.html#bench="
                                                    f"{args.moves}'"]))


if __name__ == "__main__":
    main()
