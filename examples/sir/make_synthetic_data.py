"""Make the SYNTHETIC observations of the SIR example: ``synthetic_cases.csv``.

These are NOT observations of any real outbreak. The script runs the example
model (``sir.mdl``) with known "true" parameters, takes the reported new cases
per day on days 1-50 and draws each day's count from a Poisson distribution
with that mean (fixed seed). A calibration of ``sir.mdl`` to this file should
recover the true parameters; ``tests/test_examples.py`` checks that it does.

Run from anywhere (it writes next to itself; refuses to overwrite unless
``--overwrite``)::

    python examples/sir/make_synthetic_data.py --overwrite
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import sdkit

HERE = Path(__file__).resolve().parent
#: seed of the Poisson noise
SEED = 20240601
#: the "true" parameters the synthetic data are made with (the model's own values differ)
TRUE = {"Transmission rate": 0.45, "Infectious duration": 4.0}
#: observed days (the outbreak's first 50 days; the fit uses days 1-40, 41-50 are held out)
DAYS = np.arange(1, 51)
SOURCE = (f"synthetic: examples/sir/make_synthetic_data.py, seed {SEED}, "
          f"Poisson noise around sir.mdl with Transmission rate = {TRUE['Transmission rate']}, "
          f"Infectious duration = {TRUE['Infectious duration']}")


def synthetic_cases(seed: int = SEED) -> pd.DataFrame:
    """The synthetic reported cases: a long table ``time, variable, value, unit, source``.

    Parameters
    ----------
    seed : int
        Seed of the Poisson noise.

    Returns
    -------
    pandas.DataFrame
        One row per observed day.
    """
    run = sdkit.simulate(HERE / "sir.mdl", TRUE, outputs=["Reported cases"])
    mean = run["Reported cases"].reindex(DAYS.astype(float)).to_numpy()
    counts = np.random.default_rng(seed).poisson(mean)
    return pd.DataFrame({"time": DAYS, "variable": "Reported cases", "value": counts,
                         "unit": "Persons/Day", "source": SOURCE})


def main(argv: list[str] | None = None) -> int:
    """Write ``synthetic_cases.csv`` next to this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    path = HERE / "synthetic_cases.csv"
    if path.exists() and not args.overwrite:
        parser.error(f"{path} exists; pass --overwrite to replace it")
    synthetic_cases().to_csv(path, index=False)
    print(f"wrote {path} ({len(DAYS)} SYNTHETIC days, seed {SEED})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
