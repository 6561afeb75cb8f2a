"""What sdkit knows about a loaded model without running it: :class:`ModelFacts`.

Names, subscripts, variables (kind, units, documentation, range, a
constant's value) and time settings are read once from PySD's model object
(:func:`facts_from_pysd`) and kept as a JSON record beside the translation
(:mod:`sdkit.model.derived`). A later load reads them back
(:func:`read_facts`), checked, and builds PySD's model object only when a run
needs PySD.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from sdkit.errors import CacheError
from sdkit.model.derived import (
    code_fingerprint,
    decode_array,
    encode_array,
    read_record,
    write_record,
)
from sdkit.model.timesettings import check_model_time_settings

__all__ = ["KINDS", "TimeSettings", "Variable", "ModelFacts", "facts_from_pysd", "read_facts",
           "write_facts"]

#: what a variable is, as :attr:`Variable.kind` says
KINDS = ("stock", "flow", "auxiliary", "constant", "lookup", "data", "stateful")
CONTROL = ("time", "initial_time", "final_time", "time_step", "saveper")
_RECORD = "facts"


@dataclass(frozen=True)
class TimeSettings:
    """A model's time settings (in the model's time unit)."""

    start: float
    stop: float
    dt: float
    saveper: float
    units: str = ""


@dataclass(frozen=True)
class Variable:
    """One model variable: what :attr:`sdkit.model.load.Model.variables` lists.

    Attributes
    ----------
    name : str
        As written in the model file.
    py_name : str
        PySD's Python name (the engine's too).
    kind : str
        One of :data:`KINDS`: ``stock`` (INTEG), ``flow`` (an auxiliary that
        feeds a stock's rate directly), ``auxiliary``, ``constant``,
        ``lookup``, ``data`` or ``stateful`` (delays, smooths, ...).
    units : str
    documentation : str
    dims : tuple of str
        Subscript dimensions (empty for scalars).
    elements : tuple of tuple of str
        The elements of each dimension, in order.
    range : tuple of (float or None, float or None)
        The declared ``[min, max]`` (None where the model gives none).
    value : float, numpy.ndarray or None
        A constant's value as the file sets it (an array over `dims` for a
        subscripted constant); None for other kinds.
    """

    name: str
    py_name: str
    kind: str
    units: str = ""
    documentation: str = ""
    dims: tuple[str, ...] = ()
    elements: tuple[tuple[str, ...], ...] = ()
    range: tuple[float | None, float | None] = (None, None)
    value: float | np.ndarray | None = None


@dataclass(frozen=True)
class ModelFacts:
    """Names, subscripts, variables and time settings of one translated model.

    `names` maps each name as written to PySD's Python name, in PySD's
    namespace order; `dims` a Python name to its subscript dimensions;
    `time_inputs` holds the Python names the four time settings are
    computed from.
    """

    names: dict[str, str]
    subscripts: dict[str, tuple[str, ...]]
    dims: dict[str, tuple[str, ...]]
    variables: tuple[Variable, ...]
    time: TimeSettings
    saveper_follows_dt: bool
    time_inputs: frozenset[str]


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _limit(value: object) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _kind(typ: str, sub: str, is_flow: bool) -> str:
    if typ == "Stateful":
        return "stock" if sub == "Integ" else "stateful"
    if typ in ("Constant", "Lookup", "Data"):
        return typ.lower()
    return "flow" if is_flow else "auxiliary"


def _constant(pysd_object, py: str) -> float | np.ndarray | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = getattr(pysd_object.components, py)()
    except Exception:  # noqa: BLE001 - a value PySD cannot give before a run
        return None
    value = getattr(value, "values", value)
    try:
        arr = np.asarray(value, dtype=float)
    except OverflowError:  # an integer such as 1000 ^ 1000: infinite as a float
        return math.inf if value > 0 else -math.inf
    return float(arr) if arr.ndim == 0 else arr


def _variables(pysd_object, subs: dict) -> tuple[Variable, ...]:
    doc = pysd_object.doc
    flows: set[str] = set()
    for key, val in (pysd_object.dependencies or {}).items():
        if key.startswith("_integ_") and isinstance(val, dict):
            flows.update(k for k in (val.get("step") or {}) if not k.startswith("_"))
    out = []
    for _, row in doc.iterrows():
        py = row["Py Name"]
        if py in CONTROL:
            continue
        kind = _kind(_text(row.get("Type")), _text(row.get("Subtype")), py in flows)
        dims = row.get("Subscripts")
        dims = tuple(dims) if isinstance(dims, list | tuple) else ()
        limits = row.get("Limits")
        limits = tuple(limits) if isinstance(limits, list | tuple) else (None, None)
        out.append(Variable(
            name=str(row["Real Name"]), py_name=py, kind=kind, units=_text(row.get("Units")),
            documentation=_text(row.get("Comment")), dims=dims,
            elements=tuple(tuple(subs.get(d, ())) for d in dims),
            range=(_limit(limits[0]), _limit(limits[-1])) if limits else (None, None),
            value=_constant(pysd_object, py) if kind == "constant" else None,
        ))
    return tuple(out)


def _time_inputs(pysd_object) -> frozenset[str]:
    deps = pysd_object.dependencies or {}
    reach, stack = set(), list(CONTROL[1:])
    while stack:
        for name in deps.get(stack.pop()) or {}:
            if name not in reach:
                reach.add(name)
                stack.append(name)
    return frozenset(reach)


def _time_units(pysd_object) -> str:
    try:
        doc = pysd_object.doc
        row = doc[doc["Py Name"] == "time_step"]
        if len(row) and isinstance(row["Units"].iloc[0], str):
            return row["Units"].iloc[0]
    except Exception:  # noqa: BLE001 - units are cosmetic here
        pass
    return ""


def facts_from_pysd(pysd_object, path: Path) -> ModelFacts:
    """Read the facts from PySD's model object (checks the time settings first).

    Raises
    ------
    TranslationError
        A time setting that cannot be evaluated or is refused, naming the line.
    """
    c = pysd_object.components
    check_model_time_settings(path, c)  # refuse TIME STEP <= 0 etc. before any run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        units = _time_units(pysd_object)
        names = {str(k): str(v) for k, v in pysd_object.namespace.items()}
        subs = {str(k): tuple(map(str, v)) for k, v in pysd_object.subscripts.items()}
        dims = {}
        for py in names.values():
            found = getattr(getattr(c, py, None), "subscripts", None) or ()
            if found:
                dims[py] = tuple(map(str, found))
        time = TimeSettings(float(c.initial_time()), float(c.final_time()),
                            float(c.time_step()), float(c.saveper()), units)
        return ModelFacts(
            names=names, subscripts=subs, dims=dims, variables=_variables(pysd_object, subs),
            time=time,
            saveper_follows_dt="time_step" in (pysd_object.dependencies.get("saveper") or {}),
            time_inputs=_time_inputs(pysd_object))


# -- the record ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _fingerprint() -> str:
    """The hash of this module's code (read once a process)."""
    return code_fingerprint([__file__])


def _value_data(value) -> object:
    if value is None or isinstance(value, float):
        return value
    return encode_array(np.asarray(value, dtype=float))


def write_facts(entry: Path, facts: ModelFacts) -> None:
    """Keep `facts` beside cache entry `entry` (see :mod:`sdkit.model.derived`)."""
    data = {
        "names": list(facts.names.items()),
        "subscripts": {k: list(v) for k, v in facts.subscripts.items()},
        "dims": {k: list(v) for k, v in facts.dims.items()},
        "variables": [[v.name, v.py_name, v.kind, v.units, v.documentation, list(v.dims),
                       [list(e) for e in v.elements], list(v.range), _value_data(v.value)]
                      for v in facts.variables],
        "time": [facts.time.start, facts.time.stop, facts.time.dt, facts.time.saveper,
                 facts.time.units],
        "saveper_follows_dt": facts.saveper_follows_dt,
        "time_inputs": sorted(facts.time_inputs),
    }
    write_record(entry, _RECORD, _fingerprint(), data)


def _strs(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ValueError("expected a list of names")
    return tuple(value)


def _variable(row: object) -> Variable:
    if not isinstance(row, list) or len(row) != 9:
        raise ValueError("bad variable row")
    name, py, kind, units, doc, dims, elements, limits, value = row
    if not all(isinstance(s, str) for s in (name, py, units, doc)) or kind not in KINDS:
        raise ValueError("bad variable row")
    if not isinstance(limits, list) or len(limits) != 2 or not all(
            x is None or type(x) in (int, float) for x in limits):
        raise ValueError("bad range")
    if value is not None and type(value) is not float:
        value = decode_array(value).astype(float)
    if not isinstance(elements, list):
        raise ValueError("bad elements")
    return Variable(name, py, kind, units, doc, _strs(dims), tuple(_strs(e) for e in elements),
                    (limits[0], limits[1]), value)


def _decode(data: dict, path: Path) -> ModelFacts:
    names = data["names"]
    if not isinstance(names, list) or not all(isinstance(p, list) and len(p) == 2 for p in names):
        raise ValueError("bad names")
    start, stop, dt, saveper, units = data["time"]
    if not all(type(x) is float for x in (start, stop, dt, saveper)) or \
            not isinstance(units, str):
        raise ValueError("bad time settings")
    # the same check as a load through PySD: a record cannot carry a TIME STEP of 0
    check_model_time_settings(path, SimpleNamespace(
        initial_time=lambda: start, final_time=lambda: stop, time_step=lambda: dt,
        saveper=lambda: saveper))
    if not isinstance(data["saveper_follows_dt"], bool) or not isinstance(data["subscripts"],
                                                                          dict):
        raise ValueError("bad record")
    return ModelFacts(
        names=dict(zip(_strs([p[0] for p in names]), _strs([p[1] for p in names]))),
        subscripts={str(k): _strs(v) for k, v in data["subscripts"].items()},
        dims={str(k): _strs(v) for k, v in dict(data["dims"]).items()},
        variables=tuple(_variable(r) for r in data["variables"]),
        time=TimeSettings(start, stop, dt, saveper, units),
        saveper_follows_dt=data["saveper_follows_dt"],
        time_inputs=frozenset(_strs(data["time_inputs"])))


def read_facts(entry: Path, path: Path) -> ModelFacts | None:
    """The facts kept beside cache entry `entry`, or None (none yet, or unusable).

    Raises
    ------
    CacheError
        The record is not a private regular file, or holds what sdkit never
        writes and cannot be decoded at all (a value beyond range, nesting too
        deep); a record that is otherwise malformed is ignored (None).
    TranslationError
        The recorded time settings are refused (as on a load through PySD).
    """
    data = read_record(entry, _RECORD, _fingerprint())
    if data is None:
        return None
    try:
        return _decode(data, path)
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    except (OverflowError, MemoryError, RecursionError) as e:
        raise CacheError(f"{entry}.derived/{_RECORD}.json: changed after sdkit wrote it "
                         f"({type(e).__name__}); delete the folder") from None
