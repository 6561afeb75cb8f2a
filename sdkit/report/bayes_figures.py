"""Figures of a Bayesian calibration, drawn from plain arrays.

Each function takes numbers (no sdkit result objects, no model runs) and
returns a :class:`matplotlib.figure.Figure`:

* :func:`trace_figure`: each parameter's value along the chain, every walker;
* :func:`rank_figure`: rank histograms of the walkers grouped into chains
  (flat when the chains mix; Vehtari et al. 2021);
* :func:`pair_figure`: scatter plots of the most correlated parameter pairs;
* :func:`prior_posterior_figure`: prior and posterior densities per parameter;
* :func:`predictive_figure`: a posterior predictive band with fit and hold-out
  observations and the band's coverage of the hold-out points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

__all__ = ["trace_figure", "rank_figure", "pair_figure", "prior_posterior_figure",
           "predictive_figure", "most_correlated_pairs"]

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure


def _new_figure(**kwargs) -> Figure:
    """A :class:`matplotlib.figure.Figure` (matplotlib is imported on first use)."""
    from matplotlib.figure import Figure  # heavy: matplotlib only when a figure is drawn

    return Figure(**kwargs)


def _grid(n: int, cols: int = 3, width: float = 3.2, height: float = 2.2):
    cols = min(cols, max(n, 1))
    rows = math.ceil(n / cols) if n else 1
    fig = _new_figure(figsize=(width * cols, height * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def trace_figure(samples: np.ndarray, names: Sequence[str], *,
                 max_steps: int = 1000) -> Figure:
    """Traces of `samples` (steps, walkers, ndim), one panel per parameter.

    At most `max_steps` steps a walker are drawn, evenly spaced (the x axis
    keeps the steps' numbers): a converged IIS chain has tens of thousands,
    whose lines would take minutes and gigabytes to draw and show no more.
    """
    steps = len(samples)
    every = max(1, -(-steps // max_steps))
    x = np.arange(0, steps, every)
    fig, axes = _grid(len(names))
    for j, (ax, name) in enumerate(zip(axes, names)):
        ax.plot(x, samples[::every, :, j], color="C0", alpha=0.25, linewidth=0.5)
        ax.set_title(str(name), fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def rank_figure(samples: np.ndarray, names: Sequence[str], *, chains: int = 4,
                bins: int = 20) -> Figure:
    """Rank histograms: walkers split into `chains` groups, ranks over all draws."""
    steps, walkers, ndim = samples.shape
    groups = np.array_split(np.arange(walkers), min(chains, walkers))
    fig, axes = _grid(ndim)
    for j, (ax, name) in enumerate(zip(axes, names)):
        flat = samples[:, :, j].ravel()
        ranks = np.argsort(np.argsort(flat, kind="stable"), kind="stable").reshape(steps, walkers)
        for k, g in enumerate(groups):
            ax.hist(ranks[:, g].ravel(), bins=bins, histtype="step", color=f"C{k}")
        ax.axhline(steps * walkers / bins / len(groups), color="grey", linewidth=0.7,
                   linestyle=":")
        ax.set_title(str(name), fontsize=8)
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def most_correlated_pairs(draws: np.ndarray, k: int = 4) -> list[tuple[int, int, float]]:
    """The `k` parameter pairs with the largest |correlation|: ``(i, j, r)``."""
    n = draws.shape[1]
    if n < 2 or len(draws) < 3:
        return []
    with np.errstate(all="ignore"):
        corr = np.corrcoef(draws, rowvar=False)
    pairs = [(i, j, float(corr[i, j])) for i in range(n) for j in range(i + 1, n)
             if np.isfinite(corr[i, j])]
    return sorted(pairs, key=lambda p: -abs(p[2]))[:k]


def pair_figure(draws: np.ndarray, names: Sequence[str], *, k: int = 4,
                max_points: int = 2000) -> Figure:
    """Scatter plots of the `k` most correlated pairs of `draws` (n, ndim)."""
    pairs = most_correlated_pairs(draws, k)
    fig, axes = _grid(len(pairs), cols=2, width=3.2, height=3.0)
    step = max(1, len(draws) // max_points)
    for ax, (i, j, r) in zip(axes, pairs):
        ax.plot(draws[::step, i], draws[::step, j], ".", markersize=1.5, alpha=0.4)
        ax.set_xlabel(str(names[i]), fontsize=7)
        ax.set_ylabel(str(names[j]), fontsize=7)
        ax.set_title(f"r = {r:+.3f}", fontsize=8)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def prior_posterior_figure(prior: np.ndarray, posterior: np.ndarray,
                           names: Sequence[str]) -> Figure:
    """Prior (grey) and posterior (blue) histograms as densities, one panel each."""
    fig, axes = _grid(len(names))
    for j, (ax, name) in enumerate(zip(axes, names)):
        post = posterior[:, j][np.isfinite(posterior[:, j])]
        pri = prior[:, j][np.isfinite(prior[:, j])]
        lo, hi = np.quantile(np.concatenate([pri, post]), [0.005, 0.995])
        edges = np.linspace(lo, hi, 41) if hi > lo else 20
        ax.hist(pri, bins=edges, density=True, color="grey", alpha=0.5, label="prior")
        ax.hist(post, bins=edges, density=True, color="C0", alpha=0.7, label="posterior")
        ax.set_title(str(name), fontsize=8)
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def predictive_figure(times, low, median, high, observed, fitted, *, title: str = "",
                      level: float = 0.9, unit: str = "") -> Figure:
    """A posterior predictive band with the observations; hold-out coverage in the title.

    Parameters
    ----------
    times, low, median, high, observed : array-like
        The band and the observations at the observed times.
    fitted : array-like of bool
        True for points in the fit window (the others are hold-out).
    """
    times, observed = np.asarray(times, float), np.asarray(observed, float)
    fitted = np.asarray(fitted, bool)
    fig = _new_figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.fill_between(times, low, high, color="C0", alpha=0.25,
                    label=f"{100 * level:.0f} % predictive band")
    ax.plot(times, median, color="C0", linewidth=1, label="median")
    ax.plot(times[fitted], observed[fitted], "o", color="k", markersize=3, label="observed (fit)")
    held = ~fitted
    heading = str(title)
    if held.any():
        inside = (np.asarray(low)[held] <= observed[held]) & (observed[held] <=
                                                              np.asarray(high)[held])
        ax.plot(times[held], observed[held], "s", color="C3", markersize=3,
                label="observed (hold-out)")
        heading += f"  (hold-out coverage {inside.mean():.0%} of {held.sum()})"
    ax.set_title(heading, fontsize=8)
    ax.set_ylabel(str(unit), fontsize=7)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig
