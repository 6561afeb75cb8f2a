"""Figures and report of a Bayesian calibration: :func:`bayes_report_files`.

Turns a :class:`~sdkit.calibration.posterior.BayesResult` into plain arrays,
draws them with :mod:`sdkit.report.bayes_figures` and returns the files
(``report.md`` and ``plots/*.png``) for
:func:`~sdkit.calibration.posterior.write_bayes_outputs`.
"""

from __future__ import annotations

import re

import numpy as np

from sdkit.calibration.posterior import BayesResult
from sdkit.calibration.predictive import holdout_coverage, holdout_misses
from sdkit.report.bayes_figures import (
    pair_figure,
    predictive_figure,
    prior_posterior_figure,
    rank_figure,
    trace_figure,
)
from sdkit.report.calibration import figure_png
from sdkit.report.fonts import report_fonts

__all__ = ["bayes_report_files"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:80] or "series"


def _figures(result: BayesResult) -> dict[str, object]:
    figs = {}
    names = result.names
    if result.samples is not None and len(result.samples) > 3:
        draws = result.draws
        prior = result.bayes.sample_prior(np.random.default_rng(0), 4000)
        figs["plots/trace.png"] = trace_figure(result.samples, names)
        figs["plots/rank.png"] = rank_figure(result.samples, names)
        figs["plots/pairs.png"] = pair_figure(draws, names)
        figs["plots/prior_posterior.png"] = prior_posterior_figure(prior, draws, names)
    units = {t.name: t.unit for t in result.bayes.problem.targets}
    for band in result.bands:
        figs[f"plots/predictive_{_slug(band.target)}.png"] = predictive_figure(
            band.times, band.low, band.median, band.high, band.observed, band.fitted,
            title=band.target, level=band.level, unit=units.get(band.target, ""))
    return figs


def _markdown(result: BayesResult, plots: list[str]) -> str:
    p = result.bayes.problem
    lines = [f"# Bayesian calibration: {p.model}", "",
             f"- method: `{result.method}`; sampler: {result.sampler}; seed {result.seed}",
             f"- {'converged' if result.converged else '**NOT converged**'}"
             + (" (interrupted)" if result.interrupted else ""),
             f"- {result.n_runs} model runs in {result.elapsed:.1f} s", ""]
    if result.bands:
        c_fit, c_out, n_fit, n_out = holdout_coverage(list(result.bands))
        lines += [f"- 90 % posterior predictive band covers {c_fit:.0%} of {n_fit} fit points "
                  f"and {c_out:.0%} of {n_out} hold-out points"]
        lines += [f"  - missed: {m['target']} {m['time']:g}: observed {m['observed']:.4g}, "
                  f"band {m['low']:.4g}-{m['high']:.4g} "
                  f"({m['observed'] / m['median'] - 1:+.0%} from its median)"
                  for m in holdout_misses(list(result.bands))]
        lines.append("")
    lines += ["## Parameters", "", "```", result.to_frame().to_string(), "```", ""]
    lines += ["## Priors", ""] + [
        f"- {q.name}: {result.bayes.priors[q.name].describe()} - "
        f"{result.bayes.priors[q.name].source}" for q in p.parameters]
    lines += ["", "## Warnings", ""] + ([f"- {w}" for w in result.warnings] or ["- none"])
    lines += ["", "## Plots", ""] + [f"![{rel}]({rel})" for rel in plots]
    return "\n".join(lines) + "\n"


def bayes_report_files(result: BayesResult, *, plots: bool = True) -> dict[str, bytes | str]:
    """``{relative path: content}``: ``report.md`` and (with `plots`) the PNG figures.

    The figures are built inside :func:`~sdkit.report.fonts.report_fonts`, so that
    their layouts measure CJK parameter and series names with the bundled font.
    """
    with report_fonts():
        figs = _figures(result) if plots else {}
    files: dict[str, bytes | str] = {rel: figure_png(fig) for rel, fig in figs.items()}
    files["report.md"] = _markdown(result, list(figs))
    return files
