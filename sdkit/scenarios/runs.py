"""Run scenario files and store each as a tidy table (``sdkit scenarios run``)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from sdkit.errors import OutputError, SpecError
from sdkit.io.files import atomic_paths, check_replaceable, write_table
from sdkit.io.tidy import to_tidy
from sdkit.model.load import Model, load_model
from sdkit.scenarios.projection import check_scenario, provenance, run_scenarios
from sdkit.scenarios.spec import Scenario, check_scenario_name
from sdkit.scenarios.uncertainty import read_parameters

__all__ = ["run_scenario_files", "check_outputs"]


def check_outputs(model: Model, outputs: Sequence[str], *, where: str, key: str) -> None:
    """Refuse an output the model does not define, naming `where` and `key`.

    Raises
    ------
    SpecError
        ``<where>: <key>: <reason> (in <model>)``.
    """
    for name in outputs:
        try:
            model.py_name(name.split("[", 1)[0])
        except KeyError as e:
            detail = str(e.args[0] if e.args else e).removeprefix(f"{model.path}: ")
            raise SpecError(f"{where}: {key}: {detail} (in {model.path})") from None


def _outputs_of(s: Scenario, outputs: Sequence[str] | None) -> tuple[tuple[str, ...], str]:
    """The outputs a scenario keeps and where they were named (for messages)."""
    if outputs:
        return tuple(outputs), "--columns"
    if s.outputs:
        return s.outputs, "outputs.variables"
    raise SpecError(f"{s.path or s.name}: outputs: no variables named; add [outputs] "
                    "variables = [\"Name\", ...] to the file or pass --columns")


def run_scenario_files(
    scenarios: Sequence[Scenario],
    *,
    out: str | os.PathLike,
    outputs: Sequence[str] | None = None,
    model: str | os.PathLike | None = None,
    params: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> Iterator[Path]:
    """Run each scenario and write ``<out>/<name>.parquet`` (tidy, provenance in metadata).

    Yields the path of each table. Every scenario runs and every table is
    written (to temporary files) before any table is renamed into place, so
    a failure or Ctrl-C leaves all of `out` as it was.

    Parameters
    ----------
    scenarios : sequence of Scenario
    out : path-like
        Folder for the tables.
    outputs : sequence of str, optional
        Variables to keep in every table; default: each scenario's own
        ``[outputs] variables``.
    model : path-like, optional
        Model file; default: each scenario's ``scenario.model``.
    params : path-like, optional
        Fitted parameters (``.cin`` or a calibration record ``.json``).
    overwrite : bool, default False

    Raises
    ------
    SpecError
        No model given and a scenario names none; no outputs named; an output
        or a constant the model does not define, a lever starting outside the
        run (checked for every file before anything runs); a scenario name
        that is not a plain file name (``../x``, ``/abs``).
    OutputError
        A table exists and `overwrite` is False, or is not a regular file
        (checked before running).
    """
    out = Path(out)
    for s in scenarios:  # built in code, a Scenario has not been through read_scenario
        check_scenario_name(s.name, where=str(s.path or "scenario"))
    targets = {s.name: out / f"{s.name}.parquet" for s in scenarios}
    for t in targets.values():
        if os.path.lexists(t) and not overwrite:
            raise OutputError(f"{t}: exists; pass --overwrite or choose another --out")
        check_replaceable(t, overwrite=overwrite)  # a folder, FIFO or link: refused
    fitted = read_parameters(params)
    models: dict[Path, Model] = {}
    plan = []
    for s in scenarios:  # every file is checked before anything runs
        path = Path(model) if model is not None else s.model
        if path is None:
            raise SpecError(f"{s.path}: scenario.model: missing; pass --model")
        if path not in models:
            models[path] = load_model(path)
        names, key = _outputs_of(s, outputs)
        check_outputs(models[path], names, where=str(s.path or s.name), key=key)
        check_scenario(models[path], s)
        plan.append((s, models[path], names))
    # every scenario runs before anything is written: a failure leaves no partial output
    runs = [(s, m, run_scenarios(m, [s], outputs=names, params=fitted)) for s, m, names in plan]
    # all tables are written before any is renamed in: they appear together
    with atomic_paths(list(targets.values()), overwrite=overwrite) as tmps:
        tmp_of = dict(zip(targets, tmps))
        for s, m, ds in runs:
            attrs = provenance(m, parameters=params or "model defaults", scenario_file=s.path,
                               seed="none (deterministic)")
            write_table(to_tidy(ds).set_index("variable"), tmp_of[s.name], overwrite=True,
                        attrs=attrs)
    yield from targets.values()
