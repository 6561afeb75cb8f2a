"""``sdkit explore``: one self-contained HTML page in which the model runs.

The model is written as JavaScript from the compiled engine's program
(:func:`sdkit.engine.jsgen.jsgen`): the same equations, float64, Euler's
method and the same save times, so the page equals the Python engine to
rounding. Sliders set the levers of scenario files (strength, start year,
ramp years) and chosen constants; charts show chosen outputs per element with
the model's own run (baseline) and observed data as reference.

Model text (names, units, documentation, scenario titles, data sources)
travels only as JSON data in the page (see :mod:`.explore_page`).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdkit.calibration.data import load_data
from sdkit.engine.compiled_cache import compiled_for, program_for
from sdkit.engine.expressions import Unsupported
from sdkit.engine.jsgen import JsModel, jsgen
from sdkit.engine.jsruntime import RUNTIME_JS
from sdkit.engine.methods import resolve_method
from sdkit.engine.runner import run_ensemble
from sdkit.errors import InvalidValueError, UnknownVariableError, UnsupportedConstructError
from sdkit.io.files import atomic_write_text
from sdkit.model.load import Model, load_model
from sdkit.model.names import canonical
from sdkit.report.fonts import embed_font
from sdkit.scenarios.spec import Scenario, read_scenario
from sdkit.workflow.explore_page import PAGE

__all__ = ["Explorer", "build_explorer", "explorer_html", "json_for_script"]

_CONTROL = {"initial_time", "final_time", "time_step", "saveper", "time"}
MAX_OUTPUTS = 6


@dataclass(frozen=True)
class Explorer:
    """What :func:`build_explorer` wrote: the page, its model code and its data."""

    path: Path | None
    html: str
    js: JsModel
    spec: dict


def json_for_script(data) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``<``, ``>``, ``&``)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _lever_roles(scenarios: Sequence[Scenario]) -> dict[str, str]:
    roles = {}
    for sc in scenarios:
        for lv in sc.levers:
            roles.setdefault(lv.variable, "strength")
            roles.setdefault(lv.start_variable, "start")
            roles.setdefault(lv.ramp_variable, "ramp")
    return roles


def _range(model: Model, name: str, value: float, role: str | None) -> tuple[float, float]:
    """The model's ``[min, max]``, else a lever's natural range, else +-50 %."""
    lo, hi = model.variable(name).range[:2]
    if lo is not None and hi is not None and hi > lo:
        return float(lo), float(hi)
    ts = model.time_settings
    if role == "strength":
        return min(0.0, value), max(1.0, value)
    if role == "start":
        return min(ts.start, value), max(ts.stop, value)
    if role == "ramp":
        return 0.0, max(2 * value, (ts.stop - ts.start) / 2, 1.0)
    if value == 0:
        return 0.0, 1.0
    return sorted((value * 0.5, value * 1.5))


def _params(model: Model, scenarios, levers) -> list[str]:
    """Python names of the constants the page sets, levers first."""
    names = []
    for sc in scenarios:
        names += [n for lv in sc.levers for n in (lv.variable, lv.start_variable,
                                                  lv.ramp_variable)]
        names += list(sc.constants)
    names += list(levers)
    out = []
    for name in names:
        var = model.variable(name)
        if var.py_name in _CONTROL:
            raise InvalidValueError(f"{name!r}: time settings cannot be explorer sliders")
        if var.kind != "constant":
            raise InvalidValueError(f"{name!r} is a {var.kind}, not a constant: only "
                                    "constants can be sliders")
        if var.py_name not in out:
            out.append(var.py_name)
    return out


def _outputs(model: Model, program, scenarios, outputs) -> list[str]:
    names = list(outputs) or [n for sc in scenarios for n in sc.outputs]
    if not names:
        names = [v.name for v in model.variables if v.kind == "stock"][:MAX_OUTPUTS]
    out = []
    for name in names:
        py = model.py_name(name)
        if py not in program.nodes or py in program.lookups or py in _CONTROL:
            raise UnknownVariableError(f"{name!r} is not a simulated variable of "
                                       f"{model.path.name}")
        if py not in out:
            out.append(py)
    if not out:
        raise InvalidValueError(f"{model.path}: no output to chart (give --outputs)")
    return out


def _labels(program, py: str) -> list[str]:
    coords = program.nodes[py].coords
    if not coords:
        return [""]
    return [",".join(coords[d][i] for d, i in enumerate(ix))
            for ix in np.ndindex(*[len(c) for c in coords])]


def _data(path, model: Model, outputs: list[str], labels: dict[str, list[str]]) -> list[dict]:
    observed = load_data(path)
    out = []
    for s in observed.series:
        try:
            py = model.py_name(observed.variable_of(s.name))
        except UnknownVariableError:
            continue
        if py not in outputs:
            continue
        elems = [canonical(e) for e in labels[py]]
        want = canonical(s.element) if s.element else ""
        if want not in elems:
            continue
        keep = [(t, v) for t, v in zip(s.times, s.values) if math.isfinite(v)]
        out.append({"output": outputs.index(py), "elem": elems.index(want),
                    "times": [t for t, _ in keep], "values": [v for _, v in keep],
                    "source": s.source})
    return out


def _defaults(model: Model, params: list[str]) -> dict[str, np.ndarray]:
    if not params:
        return {}
    names = [model.real_name(p) for p in params]
    ds = run_ensemble(model, None, names, engine="fast").dataset
    return {p: np.asarray(ds[n].values[0, 0], dtype=float).ravel() for p, n in zip(params, names)}


def _param_entries(model, program, params, scenarios) -> tuple[list[dict], list[int]]:
    roles = {model.py_name(k): v for k, v in _lever_roles(scenarios).items()}
    defaults = _defaults(model, params)
    entries, slots = [], []
    for slot, py in enumerate(params):
        var = model.variable(py)
        labels = _labels(program, py)
        slots.append(len(labels))
        for e, label in enumerate(labels):
            value = float(defaults[py][e])
            lo, hi = _range(model, py, value, roles.get(py))
            entries.append({"name": var.name + (f"[{label}]" if label else ""),
                            "units": var.units or "", "doc": var.documentation or "",
                            "slot": slot, "elem": e, "value": value, "min": lo, "max": hi,
                            "step": (hi - lo) / 200 if roles.get(py) != "start" else
                            min(1.0, (hi - lo) / 200)})
    return entries, slots


def _scenario_entries(model, scenarios, entries, params) -> list[dict]:
    out = []
    for sc in scenarios:
        values = []
        for name, value in sc.params().items():
            py = model.py_name(name)
            for i, p in enumerate(entries):
                if params[p["slot"]] == py:
                    values.append([i, float(value)])
        out.append({"name": sc.name, "title": sc.title or sc.name,
                    "description": sc.description, "values": values})
    return out


def explorer_html(spec: dict, js: JsModel) -> str:
    """The page: template, runtime, the model's JavaScript and its JSON data.

    Chinese (CJK) text in the model's names, units or documentation is drawn with
    sdkit's bundled font, embedded as a data URI (the page stays offline).
    """
    return embed_font(PAGE.replace("@@SPEC@@", json_for_script(spec))
                      .replace("@@RUNTIME@@", RUNTIME_JS).replace("@@MODEL@@", js.source.strip()))


def _program(model: Model, method: str | None):
    method = resolve_method(model, method)
    try:
        program = program_for(model)
    except Unsupported as e:
        raise UnsupportedConstructError(
            f"{model.path}: the compiled engine cannot run this model ({e})") from None
    return program, method


def build_explorer(model: Model | str | os.PathLike, *, out: str | os.PathLike | None,
                   scenarios: Sequence[str | os.PathLike] = (), levers: Sequence[str] = (),
                   outputs: Sequence[str] = (), data: str | os.PathLike | None = None,
                   title: str | None = None, method: str | None = None,
                   overwrite: bool = True) -> Explorer:
    """Write the explorer page for `model` to `out` (``None``: build it only).

    `method` (``"euler"``, ``"rk2"``, ``"rk4"``) defaults to the model's own
    (:func:`sdkit.engine.methods.resolve_method`), as for every sdkit run.

    Raises
    ------
    UnsupportedConstructError
        A model the compiled engine, or its JavaScript writer, cannot run
        (the message names the construct).
    UnknownVariableError, InvalidValueError, SpecError, DataError
        A lever, output, scenario file or data file that does not fit the model.
    """
    if not isinstance(model, Model):
        model = load_model(model)
    read = [read_scenario(p) for p in scenarios]
    program, method = _program(model, method)
    params = _params(model, read, levers)
    outs = _outputs(model, program, read, outputs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled_for(model, tuple(outs), frozenset(params), method)
        js = jsgen(program, outs, params, method)
    except Unsupported as e:
        raise UnsupportedConstructError(f"{model.path}: the explorer cannot run this model "
                                        f"({e})") from None
    entries, slots = _param_entries(model, program, params, read)
    labels = {py: _labels(program, py) for py in outs}
    spec = {
        "title": title or f"{model.path.name} explorer", "model": model.path.name,
        "method": method, "params": entries, "slots": slots,
        "outputs": [{"name": model.real_name(py), "units": model.variable(py).units or "",
                     "doc": model.variable(py).documentation or "",
                     "elements": labels[py]} for py in outs],
        "scenarios": _scenario_entries(model, read, entries, params),
        "start": 0 if read else -1,
        "data": _data(data, model, outs, labels) if data is not None else [],
        "dataSource": Path(data).name if data is not None else "",
    }
    html = explorer_html(spec, js)
    if out is not None:
        atomic_write_text(out, html, overwrite=overwrite)
    return Explorer(Path(out) if out is not None else None, html, js, spec)
