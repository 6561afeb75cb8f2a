"""Report figures: colours belong to scenarios only, level axes from zero, fans over the
whole run with the deterministic run and the legend off the bands."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_hex
from matplotlib.text import Text

from sdkit.analysis.bands import bands
from sdkit.report import figures as F
from sdkit.report.config import Indicator, ReportConfig

TIMES = np.arange(2010.0, 2041.0)
SCEN = ["baseline", "lever", "both"]


def _cfg() -> ReportConfig:
    cfg = ReportConfig(title="t", indicators=(Indicator("Emissions", "Emissions", "t/yr"),),
                       dimension="Region", projection_start=2021, colors={"both": "#d62728"})
    return cfg.with_scenario_colors(SCEN)


def _runs() -> xr.Dataset:
    base = 10 + 0.2 * (TIMES - 2010)
    data = np.stack([np.stack([base * f * (1 - 0.01 * k * np.maximum(TIMES - 2021, 0))
                               for f in (1.0, 2.0)], axis=-1) for k in range(3)])
    return xr.Dataset({"Emissions": (("scenario", "time", "Region"), data)},
                      coords={"scenario": SCEN, "time": TIMES, "Region": ["north", "south"]})


def _line_colors(fig) -> set[str]:
    out = set()
    for ax in fig.axes:
        for line in ax.get_lines():
            if len(line.get_xdata()) > 2:  # not the zero / projection-start reference lines
                out.add(to_hex(line.get_color()))
    return out


def test_scenario_panels_colour_scenarios_only():
    cfg, ds = _cfg(), _runs()
    fig = F.scenario_figure(ds, cfg.indicators[0], cfg, {s: s for s in SCEN})
    scen_colors = {to_hex(cfg.colors[s]) for s in SCEN}
    assert len(scen_colors) == 3 and to_hex(cfg.colors["both"]) == "#d62728"
    assert _line_colors(fig) == scen_colors
    level, diff, pct = fig.axes[:3]
    assert level.get_ylim()[0] == 0  # non-negative level from zero
    # the difference panels hold lever - baseline: zero before the levers act
    lever = [ln for ln in diff.get_lines() if ln.get_label() == "lever"][0]
    np.testing.assert_allclose(lever.get_ydata()[TIMES <= 2021], 0)
    want = 100 * (ds["Emissions"].sel(scenario="lever") / ds["Emissions"].sel(
        scenario="baseline") - 1).sel(Region="north")
    got = [ln for ln in pct.get_lines() if ln.get_label() == "lever"][0].get_ydata()
    np.testing.assert_allclose(got, want.to_numpy())
    # elements are told apart by text, never by colour
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert any("north" in t for t in labels) and any("south" in t for t in labels)


def test_fans_start_with_the_history_and_keep_the_legend_off_the_bands():
    cfg, ds = _cfg(), _runs()
    rng = np.random.default_rng(1)
    ens = {s: ds.sel(scenario=s, drop=True) * xr.DataArray(1 + 0.05 * rng.normal(size=30),
                                                           dims="member")
           for s in ("baseline", "both")}
    q = {k: bands(v) for k, v in ens.items()}
    fig = F.fan_figure(q, cfg.indicators[0], cfg, {s: s for s in SCEN}, runs=ds)
    assert all(ax.get_legend() is None for ax in fig.axes) and fig.legends
    assert _line_colors(fig) == {to_hex(cfg.colors["baseline"]), to_hex(cfg.colors["both"])}
    for ax in fig.axes:
        assert min(line.get_xdata()[0] for line in ax.get_lines()) == TIMES[0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "both: calibrated run (tables)" in labels and "both: median" in labels


@pytest.mark.parametrize("years", [(2030.0, 2040.0), (2025.0, 2035.0)])
def test_tradeoff_figure_words_follow_the_config_years(years):
    from sdkit.report.config import Lever, Tradeoff
    from sdkit.report.tradeoff import tradeoff_table
    from sdkit.report.tradeoff_figures import tradeoff_figure

    ds = _runs().assign(Output=_runs()["Emissions"] * 3)
    cfg = ReportConfig(title="t", indicators=(), dimension="Region", projection_start=2021,
                       summary_years=years, levers=(Lever("L", "lever", "lever"),),
                       tradeoff=Tradeoff("Output", "Emissions")).with_scenario_colors(SCEN)
    fig = tradeoff_figure(tradeoff_table(ds, cfg, {}), cfg, labels={})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"{y:g}" for y in years]
    F.figure_bytes(fig)  # draws the tick labels
    words = " ".join(t.get_text() for t in fig.findobj(Text))
    assert {int(y) for y in re.findall(r"\b(20\d\d)\b", words)} == {int(y) for y in years}


def test_figure_png_is_a_palette_image_close_to_the_full_colour_one():
    import io

    from PIL import Image

    cfg, ds = _cfg(), _runs()
    fig = F.scenario_figure(ds, cfg.indicators[0], cfg, {s: s for s in SCEN})
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=100, bbox_inches="tight")
    png, _ = F.figure_bytes(fig)
    small = Image.open(io.BytesIO(png))
    assert small.mode == "P" and len(png) < len(full.getvalue())
    a = np.asarray(small.convert("RGB"), float)
    b = np.asarray(Image.open(io.BytesIO(full.getvalue())).convert("RGB"), float)
    assert a.shape == b.shape
    assert np.mean(np.abs(a - b)) < 1.0  # per channel, of 255: no visible change
    # every scenario colour survives exactly (line pixels are drawn in it)
    colours = {tuple(c) for c in a.reshape(-1, 3).astype(int)}
    for s in SCEN:
        hexcol = to_hex(cfg.colors[s])
        assert tuple(int(hexcol[i:i + 2], 16) for i in (1, 3, 5)) in colours, s
