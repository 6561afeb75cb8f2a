"""``sdkit explore``: the page's JavaScript equals the Python engine, in headless Chromium.

The pages are opened with the system's Chromium (``/usr/bin/chromium``, no
download, no network: ``file://`` pages, ``--dump-dom``); the page writes its
runs into the DOM when its URL fragment asks (``dump=1``).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.cli import main
from sdkit.engine.compiled_cache import compiled_for, program_for
from sdkit.engine.expressions import Unsupported
from sdkit.engine.jsgen import jsgen
from sdkit.engine.jsruntime import RUNTIME_JS
from sdkit.engine.methods import resolve_method
from sdkit.engine.runner import run_ensemble
from sdkit.errors import SdkitError
from sdkit.workflow.explore import build_explorer

ROOT = Path(__file__).resolve().parents[1]
IIS = ROOT / "models" / "iis.mdl"
TEACUP = "samples/teacup/teacup.mdl"
RTOL = 1e-9
#: conformance models (.mdl, .xmile, .stmx) the engine compiles and the page runs (150 of 202
#: files in December 2026): a drop fails
MIN_SUPPORTED = 150
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=20000"]


def dump_dom(tmp_path: Path, url: str) -> str:
    """The DOM of `url` after its scripts ran, from headless Chromium (stopped after)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: install it (apt-get install -y chromium)")
    profile = tmp_path / "chromium-profile"
    done = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                           url], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def pre(dom: str, ident: str):
    m = re.search(rf'<pre id="{ident}">(.*?)</pre>', dom, re.S)
    assert m, f"the page wrote no {ident}"
    return json.loads(html.unescape(m.group(1)))


def floats(values) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=float)


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> float:
    """Equal within RTOL (NaN where NaN); return the largest relative difference."""
    assert actual.shape == expected.shape, f"{what}: shapes {actual.shape} {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-300, equal_nan=True,
                               err_msg=what)
    both = np.isfinite(expected) & (expected != 0)
    return float(np.max(np.abs(actual[both] / expected[both] - 1), initial=0.0))


def python_run(model, outputs: list[str], table=None, method="euler") -> list[np.ndarray]:
    """Each output of one compiled-engine run, flattened (time, *elements)."""
    ds = run_ensemble(model, table, outputs, engine="fast", method=method).dataset
    assert ds.attrs["sdkit_engine"] == "fast"
    return [ds[o].values[0].reshape(-1) for o in outputs]


def table_of(spec: dict, values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({p["name"]: [v] for p, v in zip(spec["params"], values)})


# -- IIS: the real page, levers set through the URL --------------------------------
@pytest.mark.slow
def test_iis_page_equals_the_engine(tmp_path):
    scenario = ROOT / "models" / "scenarios" / "iis.toml"
    outputs = ["GDP", "Knowledge stock", "CO2 emissions", "Agglomeration CO2 emissions",
               "Loans", "Policy stringency"]
    page = build_explorer(IIS, out=tmp_path / "iis.html", scenarios=[scenario],
                          outputs=outputs, levers=["Birth rate"])
    spec = page.spec
    assert len(spec["params"]) == 18 + 4 and spec["scenarios"][0]["name"] == "iis"
    names = [p["name"] for p in spec["params"]]
    enshi = names.index("Birth rate[Enshi]")
    moved = {names.index("Lever green transition"): 0.6,
             names.index("Lever green transition start year"): 2031,
             names.index("Lever innovation chain ramp years"): 2.5,
             enshi: spec["params"][enshi]["value"] * 1.2}
    frag = ",".join(f"{i}:{v}" for i, v in moved.items())
    dom = dump_dom(tmp_path, page.path.as_uri() + f"#v={frag}&dump=1")
    assert 'id="sdkit-status"></div>' in dom, "the page reported an error"
    got = pre(dom, "sdkit-dump")
    values = got["values"]
    defaults = [p["value"] for p in spec["params"]]
    assert values == [moved.get(i, d) for i, d in enumerate(defaults)]  # the URL state
    model = sdkit.load_model(IIS)
    real = [o["name"] for o in spec["outputs"]]
    expected = python_run(model, real, table_of(spec, values))
    baseline = python_run(model, real)
    ts = model.time_settings
    assert floats(got["times"]).tolist() == list(np.arange(ts.start, ts.stop + 0.5, 1.0))
    worst = 0.0
    for i, name in enumerate(real):
        worst = max(worst, assert_close(floats(got["current"][i]), expected[i], name),
                    assert_close(floats(got["baseline"][i]), baseline[i], name + " (baseline)"))
    print(f"IIS page: largest relative difference {worst:.3g}")
    assert not np.allclose(expected[2], baseline[2]), "the levers changed nothing"


# -- every conformance model the engine compiles -----------------------------------
def _engine_models(conformance_dir: Path, method: str | None):
    """(path, model, program, output names, method) of each model the engine runs."""
    found = []
    for path in sorted(p for ext in ("mdl", "xmile", "stmx")
                       for p in conformance_dir.rglob(f"*.{ext}")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model = sdkit.load_model(path)
                program = program_for(model)
                outs = tuple(sorted(n for n in program.nodes if n in program.real
                                    and n not in program.lookups and n != "time"))
                used = resolve_method(model, method)
                compiled_for(model, outs, frozenset(), used)
            except (SdkitError, Unsupported) as e:
                print(f"not compiled ({method}): {path}: {e}")
                continue
        found.append((path, model, program, list(outs), used))
    return found


HARNESS = """<!DOCTYPE html><html><body><script>{runtime}
var MODELS = [{models}];
var res = MODELS.map(function (m) {{
  try {{ var r = m([]); return {{times: r.times, out: r.out.map(function (a) {{
    return a.map(function (v) {{ return isFinite(v) ? v : String(v); }}); }})}};
  }} catch (e) {{ return {{error: String(e)}}; }}
}});
var pre = document.createElement("pre"); pre.id = "sdkit-dump";
pre.textContent = JSON.stringify(res); document.body.appendChild(pre);
</script></body></html>"""


#: (method, least number of conformance models the engine and the page both run); under
#: RK4 the engine refuses non-negative stocks, DELAY N and SAMPLE IF TRUE
METHODS = [(None, MIN_SUPPORTED), ("rk4", 138)]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "least"), METHODS)
def test_every_engine_model_runs_in_the_page(conformance_dir, tmp_path, method, least):
    models = _engine_models(conformance_dir, method)
    supported, refused = [], []
    for path, model, program, outs, used in models:
        try:
            supported.append((path, model, program, outs, used,
                              jsgen(program, outs, [], used)))
        except Unsupported as e:
            refused.append(f"{path.name}: {e}")
    assert len(supported) >= least, (refused, [str(m[0]) for m in models])
    assert not refused  # the page runs every model the engine runs
    page = tmp_path / "harness.html"
    page.write_text(HARNESS.format(runtime=RUNTIME_JS, models=",\n".join(
        s[-1].source.strip() + "(R)" for s in supported)), encoding="utf-8")
    results = pre(dump_dom(tmp_path, page.as_uri()), "sdkit-dump")
    assert len(results) == len(supported)
    worst = 0.0
    for (path, model, program, outs, used, _js), res in zip(supported, results):
        assert "error" not in res, f"{path}: {res.get('error')}"
        real = [program.real[o] for o in outs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sdkit.errors.SdkitWarning)
            expected = python_run(model, real, method=used)
        for name, got, exp in zip(real, res["out"], expected):
            worst = max(worst, assert_close(floats(got), exp, f"{path}: {name}"))
    print(f"{len(supported)} models ({method or 'own method'}): largest relative difference "
          f"{worst:.3g}")
    assert worst <= RTOL


# -- a lever and observed data on a small model, through the CLI -------------------
@pytest.mark.slow
def test_cli_levers_and_data(conformance_dir, tmp_path, capsys):
    data = tmp_path / "observed.csv"
    data.write_text("time,variable,value,source\n0,Teacup Temperature,180,synthetic: test\n"
                    "10,Teacup Temperature,120,synthetic: test\n", encoding="utf-8")
    out = tmp_path / "teacup.html"
    code = main(["explore", str(conformance_dir / TEACUP), "--levers", "Room Temperature",
                 "Characteristic Time", "--outputs", "Teacup Temperature", "--data", str(data),
                 "--method", "rk2", "--out", str(out)])
    assert code == 0 and out.is_file()
    assert "2 slider(s), 1 output(s)" in capsys.readouterr().out
    dom = dump_dom(tmp_path, out.as_uri() + "#v=0:35,1:7.5&dump=1")
    got = pre(dom, "sdkit-dump")
    assert got["values"] == [35, 7.5]
    model = sdkit.load_model(conformance_dir / TEACUP)
    table = pd.DataFrame({"Room Temperature": [35.0], "Characteristic Time": [7.5]})
    expected = python_run(model, ["Teacup Temperature"], table, method="rk2")[0]
    assert not np.allclose(expected, python_run(model, ["Teacup Temperature"], table)[0])
    assert_close(floats(got["current"][0]), expected, "Teacup Temperature")
    assert dom.count("<circle") == 2  # the two observed points are drawn
    assert 'id="sdkit-reset"' in dom and dom.count('type="range"') == 2


# -- refusals ----------------------------------------------------------------------
def test_refuses_a_model_the_engine_cannot_compile(conformance_dir, tmp_path, capsys):
    out = tmp_path / "x.html"
    code = main(["explore", str(conformance_dir / "tests/macro_stock/test_macro_stock.mdl"),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and "macros" in err


def test_refuses_a_stock_as_a_lever(conformance_dir, tmp_path, capsys):
    out = tmp_path / "x.html"
    code = main(["explore", str(conformance_dir / TEACUP), "--levers", "Teacup Temperature",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists() and err.count("\n") == 1
    assert "not a constant" in err


# -- model text is never code ------------------------------------------------------
_JS_WORDS = {"function", "return", "var", "let", "const", "for", "if", "while", "true", "break",
             "throw", "new", "Error", "Float64Array", "null", "NaN", "Infinity", "undefined",
             "Math", "isFinite", "times", "out", "delay", "prec", "R", "P", "t", "dt", "t_in", "t0",
             "tf", "sp", "j", "s", "x", "o", "c"}
_GENERATED = re.compile(r"^(?:[vCXSUOQrBW]\d+|T\d+_[xy]|i\d+|D\d_\d+)$")


def assert_generated_only(source: str) -> None:
    """Every identifier is generated, a JavaScript word, or an ``R.``/``Math.`` member."""
    assert not set("\"'`\\") & set(source), "a string in the generated code"
    src = re.sub(r"\b\d+(?:\.\d*)?(?:e[-+]?\d+)?", "0", source)
    for m in re.finditer(r"(?<![.\w])[A-Za-z_]\w*", src):
        word = m.group(0)
        assert word in _JS_WORDS or _GENERATED.match(word), f"identifier {word!r}"


def test_generated_javascript_holds_no_model_text():
    model = sdkit.load_model(IIS)
    program = program_for(model)
    for method in ("euler", "rk4"):
        js = jsgen(program, ["gdp", "co2_emissions"], ["lever_green_transition"], method)
        assert_generated_only(js.source)
        for name in program.real.values():
            if len(name) > 3:
                assert name not in js.source


HOSTILE = '</script><script>document.title="pwned"</script><img src=x onerror=1><!--'


def _hostile_pages(tmp_path):
    sys_path = str(Path(__file__).resolve().parent)
    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from test_safety import ATTACKS

    pages = []
    for attack in ATTACKS:
        folder = tmp_path / attack.id
        folder.mkdir()
        path = folder / f"m{attack.suffix}"
        path.write_text(attack.build(HOSTILE), encoding="utf-8")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = sdkit.load_model(path)
                const = [v.name for v in model.variables if v.kind == "constant"
                         and v.py_name not in ("initial_time", "final_time", "time_step",
                                               "saveper")]
                page = build_explorer(model, out=folder / "x.html", levers=const[:2],
                                      outputs=[v.name for v in model.variables
                                               if v.kind in ("stock", "auxiliary")][:3])
        except SdkitError:
            continue  # refused: nothing to render
        pages.append(page)
    return pages


@pytest.mark.slow
def test_hostile_names_render_as_text(tmp_path):
    pages = _hostile_pages(tmp_path)
    assert len(pages) >= 5
    seen_hostile = 0
    for page in pages:
        assert_generated_only(page.js.source)
        spec_block = re.search(r'<script type="application/json" id="sdkit-spec">(.*?)</script>',
                               page.html, re.S).group(1)
        assert "</" not in spec_block and "<!--" not in spec_block
        outside = page.html.replace(spec_block, "")
        assert "pwned" not in outside and "onerror" not in outside
        text = json.dumps(page.spec)
        if "pwned" not in text:
            continue
        seen_hostile += 1
        dom = dump_dom(page.path.parent, page.path.as_uri())
        assert 'id="sdkit-status"></div>' in dom and "<title>m." in dom
        assert "<img" not in dom, "model text became markup"
        assert "&lt;/script&gt;" in dom, "the hostile name is not shown as text"
    assert seen_hostile >= 3


# -- the interface: a slider move, the scenario menu, the URL, reset ---------------
UI_SCRIPT = """<script>
(function () {
  function line() {
    return document.querySelectorAll("#sdkit-charts polyline")[1].getAttribute("points");
  }
  function menu() { return document.getElementById("sdkit-scenario").value; }
  var r = {before: line(), menuBefore: menu()};
  var inp = document.querySelectorAll("input[type=range]")[0];
  inp.value = inp.min;
  inp.dispatchEvent(new Event("input"));
  setTimeout(function () {
    r.after = line(); r.menu = menu(); r.hash = location.hash;
    document.getElementById("sdkit-reset").click();
    setTimeout(function () {
      r.back = line(); r.menuBack = menu(); r.hashBack = location.hash;
      var pre = document.createElement("pre");
      pre.id = "sdkit-ui";
      pre.textContent = JSON.stringify(r);
      document.body.appendChild(pre);
    }, 1000);
  }, 1000);
})();
</script></body>"""


@pytest.mark.slow
def test_slider_menu_url_and_reset(conformance_dir, tmp_path):
    scenario = tmp_path / "warm.toml"
    scenario.write_text('[scenario]\nname = "warm"\n\n[constants]\n"Room Temperature" = 90\n',
                        encoding="utf-8")
    page = build_explorer(conformance_dir / TEACUP, out=None, scenarios=[scenario],
                          levers=["Characteristic Time"], outputs=["Teacup Temperature"])
    assert [p["name"] for p in page.spec["params"]] == ["Room Temperature",
                                                        "Characteristic Time"]
    path = tmp_path / "ui.html"
    path.write_text(page.html.replace("</body>", UI_SCRIPT), encoding="utf-8")
    r = pre(dump_dom(tmp_path, path.as_uri()), "sdkit-ui")
    lo = page.spec["params"][0]["min"]
    assert r["menuBefore"] == "0"  # the scenario
    assert r["after"] != r["before"], "moving a slider did not redraw"
    assert r["menu"] == "custom" and r["hash"] == f"#v=0:{lo:g}"
    assert r["back"] == r["before"] and r["menuBack"] == "0"
    assert r["hashBack"] == "#v=0:90"  # the scenario's state, as a link shares it
