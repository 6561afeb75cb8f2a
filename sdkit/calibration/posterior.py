"""Results of a Bayesian calibration and the ``posterior.nc`` file.

:class:`BayesResult` holds the MAP point and/or the kept MCMC draws with
their :class:`~sdkit.calibration.diagnostics.Diagnostics`.
:func:`write_bayes_outputs` writes ``fitted.cin`` (posterior median, or the
MAP point), ``calibration.json`` (the record) and ``posterior.nc`` (ArviZ
InferenceData: posterior, prior and log density, with the model's sha256).
:func:`read_posterior` reads ``posterior.nc`` back and refuses a file made
for another model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.diagnostics import Diagnostics, import_arviz, to_inference_data
from sdkit.calibration.predictive import PredictiveBand, holdout_coverage, holdout_misses
from sdkit.edit.cin import write_cin
from sdkit.errors import OutputError, SpecError
from sdkit.io.calibration_record import json_safe
from sdkit.io.files import atomic_path, atomic_write_text, staged_folder
from sdkit.model.translate import file_hash

__all__ = ["BayesResult", "PosteriorDraws", "write_bayes_outputs", "read_posterior",
           "POSTERIOR_FILE"]

POSTERIOR_FILE = "posterior.nc"
#: ``posterior.nc`` keeps at most this many steps a walker, evenly spaced over the kept
#: chain (every ``thin``-th step, its attribute): a converged IIS chain of 45,000 kept
#: steps x 72 walkers would be 900 MB, while steps a few autocorrelation times apart
#: carry nearly all its information (IIS: 125 x 72 = 9,000 draws, 3 MB, every 360th
#: step, about 2.5 autocorrelation times apart). Diagnostics, intervals and bands in the
#: record are of the whole kept chain.
POSTERIOR_STEPS = 125


def _sdkit_version() -> str:
    try:
        return version("sdkit")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, eq=False)
class BayesResult:
    """A MAP fit or an MCMC posterior.

    Attributes
    ----------
    bayes : BayesProblem
    method : {"map", "mcmc"}
    theta_map : ndarray or None
        The MAP point (``method="map"``, or the MCMC start when found).
    samples : ndarray (kept steps, walkers, ndim) or None
        Kept MCMC draws, burn-in removed.
    log_prob : ndarray (kept steps, walkers) or None
    diagnostics : Diagnostics or None
    burn : int
        Steps dropped as burn-in.
    seed : int or None
    elapsed : float
        Seconds in the sampler / optimiser.
    n_runs : int
        Model runs made.
    interrupted : bool
    sampler : str
        What produced the draws, for reports.
    model_sha256, data_sha256 : str
    warnings : tuple of str
    bands : tuple of PredictiveBand
        Posterior predictive bands per fitted target (90 %).
    """

    bayes: BayesProblem
    method: str
    theta_map: np.ndarray | None
    samples: np.ndarray | None
    log_prob: np.ndarray | None
    diagnostics: Diagnostics | None
    burn: int = 0
    seed: int | None = None
    elapsed: float = 0.0
    n_runs: int = 0
    interrupted: bool = False
    sampler: str = ""
    model_sha256: str = ""
    data_sha256: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    bands: tuple[PredictiveBand, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return self.bayes.names

    @property
    def converged(self) -> bool:
        """MCMC with every diagnostic passing (never for MAP or an interrupted run)."""
        return self.diagnostics is not None and self.diagnostics.converged \
            and not self.interrupted

    @cached_property
    def draws(self) -> np.ndarray:
        """Kept draws as rows (steps * walkers, ndim)."""
        if self.samples is None or not self.samples.size:
            return np.empty((0, len(self.names)))
        return self.samples.reshape(-1, self.samples.shape[2])

    @cached_property
    def point(self) -> np.ndarray:
        """Posterior median (MCMC) or the MAP point (computed once: a converged IIS
        chain holds millions of draws)."""
        if len(self.draws):
            return np.median(self.draws, axis=0)
        return np.asarray(self.theta_map, float)

    def interval(self, level: float = 0.9) -> np.ndarray:
        """Central credible interval per parameter, shape (ndim, 2)."""
        q = (1 - level) / 2
        return np.quantile(self.draws, [q, 1 - q], axis=0).T

    def changes(self) -> dict[str, float]:
        """``{model constant: value}`` of the point estimate, for a ``.cin``, after the
        spec's ``[fixed]`` constants (the fit assumed them)."""
        point, problem = self.point, self.bayes.problem
        fitted = {p.key: float(point[j]) for j, p in enumerate(problem.parameters)}
        return {**{str(k): float(v) for k, v in problem.fixed.items()}, **fitted}

    def to_frame(self) -> pd.DataFrame:
        """Per parameter: point, 90 % interval, MAP and diagnostics."""
        rows = []
        band = self.interval() if len(self.draws) else np.full((len(self.names), 2), np.nan)
        d, point = self.diagnostics, self.point
        for j, name in enumerate(self.names):
            rows.append({"parameter": name, "point": point[j], "q05": band[j, 0],
                         "q95": band[j, 1],
                         "map": np.nan if self.theta_map is None else self.theta_map[j],
                         "rhat": d.rhat[j] if d else np.nan,
                         "ess_bulk": d.ess_bulk[j] if d else np.nan,
                         "ess_tail": d.ess_tail[j] if d else np.nan})
        return pd.DataFrame(rows).set_index("parameter")

    def summary(self) -> str:
        """Plain text: method, runs, convergence, parameter table, warnings."""
        rate = self.n_runs / self.elapsed if self.elapsed > 0 else float("nan")
        head = [f"{self.method}: {self.n_runs} model runs in {self.elapsed:.1f} s "
                f"({rate:.0f} runs/s){' - INTERRUPTED' if self.interrupted else ''}"]
        if self.method == "mcmc":
            head.append(f"sampler: {self.sampler}; "
                        + ("converged" if self.converged else "NOT converged"))
        frame = self.to_frame().dropna(axis=1, how="all")
        lines = head + [frame.to_string(float_format=lambda v: f"{v:.5g}")]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_record(self) -> dict:
        """The JSON record (provenance, estimates, diagnostics, warnings)."""
        p = self.bayes.problem
        priors = {q.name: {"prior": self.bayes.priors[q.name].describe(),
                           "source": self.bayes.priors[q.name].source}
                  for q in p.parameters}
        return json_safe({
            **self._parameters_block(),
            "model": p.model, "model_sha256": self.model_sha256, "data": p.data_path,
            "data_sha256": self.data_sha256, "spec": p.spec_path, "method": self.method,
            "sampler": self.sampler, "seed": self.seed, "fit_window": [p.start, p.stop],
            "fixed": dict(p.fixed),
            "n_runs": self.n_runs, "elapsed_s": self.elapsed, "burn": self.burn,
            "interrupted": self.interrupted, "converged": self.converged,
            "posterior_thin": self.thin if self.samples is not None else None,
            "sdkit_version": _sdkit_version(), "estimates": self.to_frame().to_dict(orient="index"),
            "priors": priors,
            "likelihoods": {g.name: {"targets": list(g.targets), **vars(g.likelihood)}
                            for g in self.bayes.groups},
            "pools": {pool.name: list(pool.members) for pool in self.bayes.pools},
            "diagnostics": self.diagnostics.to_dict() if self.diagnostics else None,
            "predictive": self._predictive_block(),
            "warnings": list(self.warnings),
        })

    def _predictive_block(self) -> dict | None:
        if not self.bands:
            return None
        c_fit, c_out, n_fit, n_out = holdout_coverage(list(self.bands))
        return {"level": self.bands[0].level, "coverage_fit": c_fit,
                "coverage_holdout": c_out, "n_fit": n_fit, "n_holdout": n_out,
                "holdout_missed": holdout_misses(list(self.bands)),
                "note": "posterior predictive band (model and observation noise) at the "
                        "observed times; hold-out points are outside the fit window"}

    def _parameters_block(self) -> dict:
        """``parameters`` and ``correlation`` as the least-squares record has them
        (read by :func:`sdkit.io.calibration_record.read_calibration_record`)."""
        p = self.bayes.problem
        n = self.bayes.n_model
        draws = self.draws[:, :n]
        has = len(draws) > 1
        sd = draws.std(axis=0, ddof=1) if has else np.full(n, np.nan)
        band = np.quantile(draws, [0.025, 0.975], axis=0).T if has else np.full((n, 2), np.nan)
        params = {q.name: {"variable": q.key, "value": float(self.point[j]),
                           "stderr": float(sd[j]), "lower": q.lower, "upper": q.upper,
                           "initial": q.initial, "interval_95": [float(v) for v in band[j]]}
                  for j, q in enumerate(p.parameters)}
        out = {"parameters": params, "posterior_file": POSTERIOR_FILE if has else None}
        if has:
            with np.errstate(all="ignore"):
                corr = np.corrcoef(draws, rowvar=False).reshape(n, n)
            out["correlation"] = {a: {b: float(corr[i, j]) for j, b in enumerate(p.names)}
                                  for i, a in enumerate(p.names)}
        return out

    @property
    def thin(self) -> int:
        """``posterior.nc`` keeps every this-many-th kept step (:data:`POSTERIOR_STEPS`)."""
        steps = 0 if self.samples is None else len(self.samples)
        return max(1, -(-steps // POSTERIOR_STEPS))

    def inference_data(self, *, n_prior: int = 2000):
        """ArviZ InferenceData: kept draws (every :attr:`thin`-th step), log density and
        prior draws."""
        prior = self.bayes.sample_prior(np.random.default_rng(0), n_prior)
        p = self.bayes.problem
        attrs = {"model_sha256": self.model_sha256, "model": p.model, "method": self.method,
                 "sampler": self.sampler, "converged": int(self.converged),
                 "interrupted": int(self.interrupted), "burn": self.burn, "thin": self.thin,
                 "keys": json.dumps([q.key for q in p.parameters]),
                 "n_model": self.bayes.n_model}
        lp = None if self.log_prob is None else self.log_prob[::self.thin]
        return to_inference_data(self.samples[::self.thin], self.names, lp, attrs, prior)


@dataclass(frozen=True, eq=False)
class PosteriorDraws:
    """A ``posterior.nc`` read back: draws of the model constants."""

    path: str
    names: tuple[str, ...]
    keys: tuple[str, ...]
    samples: np.ndarray
    attrs: dict

    @property
    def source(self) -> str:
        """Where the draws come from (provenance)."""
        return f"{self.path} (posterior draws: {self.attrs.get('sampler', 'MCMC')})"

    def table(self, n: int, *, seed=None, model_sha256: str | None = None) -> pd.DataFrame:
        """`n` Monte Carlo members drawn from the posterior, for a model with `model_sha256`.

        ``attrs["sampling"]`` is ``"posterior"``; a chain that did not converge
        is said so in ``attrs["sampling_note"]``.

        Raises
        ------
        SpecError
            The posterior was made for another model (its sha256 differs).
        """
        _check_model(self.path, self.attrs, model_sha256)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        out = self.draws(n, rng)
        out.attrs["sampling"] = "posterior"
        converged = bool(int(self.attrs.get("converged", 0)))
        out.attrs["sampling_note"] = (f"posterior draws from {self.path}"
                                      + ("" if converged else " (chain NOT converged)"))
        return out

    def draws(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """`n` random draws (with replacement when `n` exceeds the draws) of the
        model constants, columns named as the model sets them."""
        flat = self.samples.reshape(-1, self.samples.shape[-1])[:, :len(self.keys)]
        idx = rng.choice(len(flat), size=n, replace=n > len(flat))
        return pd.DataFrame(flat[idx], columns=list(self.keys))


def _check_model(path: str, attrs: Mapping, model_sha256: str | None) -> None:
    have = str(attrs.get("model_sha256", ""))
    if model_sha256 is not None and have != model_sha256:
        raise SpecError(f"{path}: posterior is from another model (sha256 {have[:12]} of "
                        f"{attrs.get('model', '?')}); this model has sha256 "
                        f"{model_sha256[:12]}; calibrate it again")


def read_posterior(path: str | os.PathLike, *, model_sha256: str | None = None
                   ) -> PosteriorDraws:
    """Read ``posterior.nc``; refuse it when it was made for another model.

    Parameters
    ----------
    path : path-like
    model_sha256 : str, optional
        sha256 of the model the draws will run (``Model.sha256``).

    Raises
    ------
    SpecError
        Not a sdkit posterior, or made for a model with another sha256.
    """
    az = import_arviz()
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such posterior file")
    try:
        with az.rc_context({"data.load": "eager"}):
            idata = az.from_netcdf(path)
        post = idata.posterior
        attrs = dict(post.attrs)
        keys = tuple(json.loads(attrs["keys"]))
        samples = post["theta"].to_numpy()
        names = tuple(str(n) for n in post["parameter"].to_numpy())
    except (OSError, ValueError, KeyError, AttributeError) as e:
        raise SpecError(f"{path}: not a sdkit posterior file ({type(e).__name__}: {e})") from None
    _check_model(str(path), attrs, model_sha256)
    return PosteriorDraws(str(path), names, keys, samples, attrs)


def write_bayes_outputs(result: BayesResult, out_dir: str | os.PathLike, *,
                        overwrite: bool = False,
                        extra: Mapping[str, bytes | str] | None = None) -> dict[str, Path]:
    """Write ``fitted.cin``, ``calibration.json`` and (MCMC) ``posterior.nc``.

    `extra` maps further relative paths (``"report.md"``, ``"plots/trace.png"``)
    to their content; they are written in the same staged folder.

    The folder is staged and swapped in whole (:func:`sdkit.io.staged_folder`),
    so a failure leaves it as it was. An interrupted chain is written too,
    marked ``interrupted`` and not converged.

    Returns
    -------
    dict
        ``{"cin": path, "json": path, "posterior": path}`` (no posterior for MAP).
    """
    out = Path(out_dir)
    names = {"cin": "fitted.cin", "json": "calibration.json"}
    if result.samples is not None:
        names["posterior"] = POSTERIOR_FILE
    paths = {k: out / v for k, v in names.items()}
    if not overwrite:
        for path in paths.values():
            if os.path.lexists(path):
                raise OutputError(f"{path}: exists; refusing to overwrite (use another --out)")
    what = "posterior median" if result.samples is not None else "MAP point"
    with staged_folder(out, overwrite=overwrite, merge=True, what="calibration") as stage:
        write_cin(stage / names["cin"], result.changes(),
                  header=f"{what} by sdkit calibrate ({result.method}, seed {result.seed}); "
                         f"{'converged' if result.converged else 'NOT converged'}")
        atomic_write_text(stage / names["json"], json.dumps(result.to_record(), indent=2,
                                                            ensure_ascii=False) + "\n")
        if "posterior" in names:
            with atomic_path(stage / names["posterior"]) as tmp:
                result.inference_data().to_netcdf(str(tmp))
        for rel, content in (extra or {}).items():
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                atomic_write_text(target, content)
            else:
                with atomic_path(target) as tmp:
                    Path(tmp).write_bytes(content)
            paths[rel] = out / rel
    return paths


def data_hashes(bp: BayesProblem) -> tuple[str, str]:
    """sha256 of the model file and the data file ("" when there is none)."""
    p = bp.problem
    return file_hash(p.model), (file_hash(p.data_path) if p.data_path else "")
