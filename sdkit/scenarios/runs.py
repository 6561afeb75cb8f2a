"""Run scenario files and store each as a tidy table (``sdkit scenarios run``)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from sdkit.errors import OutputError, SpecError
from sdkit.io.files import check_replaceable
from sdkit.scenarios.spec import Scenario, check_scenario_name

__all__ = ["run_scenario_files"]


def run_scenario_files(
    scenarios: Sequence[Scenario],
    *,
    outputs: Sequence[str],
    out: str | os.PathLike,
    model: str | os.PathLike | None = None,
    params: str | os.PathLike | None = None,
    overwrite: bool = False,
    peak_variable: str = "CO2 emissions",
    peak_start: float | None = None,
) -> Iterator[tuple[Path, str]]:
    """Run each scenario and write ``<out>/<name>.parquet`` (tidy, provenance in metadata).

    Yields ``(path, peak summary)``; the peak summary names the peak year of
    `peak_variable` per element over the whole run (or from `peak_start` on),
    if it is an output. Every scenario runs and every table is written (to
    temporary files) before any table is renamed into place, so a failure or
    Ctrl-C leaves all of `out` as it was.

    Raises
    ------
    SpecError
        No model given and a scenario names none; a scenario that does not
        fit its model (checked for every file before anything runs); a
        scenario name that is not a plain file name (``../x``, ``/abs``).
    OutputError
        A table exists and `overwrite` is False, or is not a regular file
        (checked before running).
    """
    from sdkit.indicators import peak_year
    from sdkit.io.files import atomic_paths, write_table
    from sdkit.model.load import load_model
    from sdkit.scenarios.projection import (
        check_scenario,
        provenance,
        read_parameters,
        run_scenarios,
        to_tidy,
    )

    out = Path(out)
    for s in scenarios:  # built in code, a Scenario has not been through read_scenario
        check_scenario_name(s.name, where=str(s.path or "scenario"))
    targets = {s.name: out / f"{s.name}.parquet" for s in scenarios}
    for t in targets.values():
        if os.path.lexists(t) and not overwrite:
            raise OutputError(f"{t}: exists; pass --overwrite or choose another --out")
        check_replaceable(t, overwrite=overwrite)  # a folder, FIFO or link: refused
    fitted = read_parameters(params)
    models: dict[Path, object] = {}
    for s in scenarios:  # every file is checked before anything runs
        path = Path(model) if model is not None else s.model
        if path is None:
            raise SpecError(f"{s.path}: scenario.model: missing; pass --model")
        if path not in models:
            models[path] = load_model(path)
        check_scenario(models[path], s)
    # every scenario runs before anything is written: a failure leaves no partial output
    runs = []
    for s in scenarios:
        m = models[Path(model) if model is not None else s.model]
        runs.append((s, m, run_scenarios(m, [s], outputs=outputs, params=fitted)))
    # all tables are written before any is renamed in: they appear together
    written = []
    with atomic_paths(list(targets.values()), overwrite=overwrite) as tmps:
        tmp_of = dict(zip(targets, tmps))
        for s, m, ds in runs:
            attrs = provenance(m, parameters=params or "model defaults", scenario_file=s.path,
                               seed="none (deterministic)")
            write_table(to_tidy(ds).set_index("variable"), tmp_of[s.name], overwrite=True,
                        attrs=attrs)
            peaks = ""
            if peak_variable in ds:
                years = peak_year(ds[peak_variable].isel(scenario=0), start=peak_start)
                peaks = ", ".join(f"{k}: {'-' if v != v else int(v)}"
                                  for k, v in years.to_series().items())
            written.append((targets[s.name], peaks))
    yield from written
