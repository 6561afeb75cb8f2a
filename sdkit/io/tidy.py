"""The two shapes of results, and the conversions between them (one place for all).

Every way of running a model gives results in one of three forms, and these
functions turn any of them into any other:

**wide** (:class:`pandas.DataFrame`) -- what :func:`sdkit.simulate` returns:
    index ``time`` (or a :class:`~pandas.MultiIndex` ``(scenario, member,
    time)`` for several runs, the levels present), one column per scalar
    variable (``"Teacup Temperature"``) and one per element of a
    subscripted one (``"Price[Pizza]"``, ``"Flow[Yichang,Enshi]"``).
    ``frame.attrs["sdkit_dims"]`` names the dimensions of subscripted
    variables, ``frame.attrs["sdkit_meta"]`` their units and descriptions.

**dataset** (:class:`xarray.Dataset`) -- what ``run_ensemble(...).dataset``,
    :func:`sdkit.to_dataset` and the ``.nc`` files hold: one variable per
    model variable, dims ``([scenario,] [member,] time, *subscripts)``,
    subscripts as dimensions and ``units`` / ``description`` attributes.

**tidy** (long :class:`pandas.DataFrame`) -- what ``sdkit scenarios run``
    writes: one value a row, columns ``variable, [scenario,] [member,]
    <one column per subscript dimension>, time, value``; a subscript
    column is empty (NaN) for variables without that dimension.

:func:`to_dataset_from_wide`, :func:`to_tidy` and :func:`to_wide` convert;
``to_wide(to_tidy(frame))`` gives `frame` back (columns in the same order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from sdkit.errors import InvalidValueError

__all__ = ["to_tidy", "to_wide", "to_dataset_from_wide", "describe", "tab_text", "ROW_DIMS",
           "split_column"]

#: dimensions that index runs and times (rows of the wide shape); all others are subscripts
ROW_DIMS = ("scenario", "member", "quantile", "time")


def split_column(col: object) -> tuple[str, tuple[str, ...]]:
    """``"Price[Pizza, Small]"`` -> ``("Price", ("Pizza", "Small"))``; ``"X"`` -> ``("X", ())``."""
    text = str(col)
    if text.endswith("]") and "[" in text:
        base, _, inner = text[:-1].partition("[")
        return base.strip(), tuple(e.strip() for e in inner.split(","))
    return text, ()


def _key(name: str) -> str:
    return " ".join(str(name).replace("_", " ").split()).lower()


def describe(ds: xr.Dataset, meta: Mapping[str, Sequence[str]] | None) -> xr.Dataset:
    """Set ``units`` and ``description`` on every variable of `ds` (in place; returned).

    `meta` maps a variable name (case, spaces and underscores ignored) to
    ``(units, description)``; variables it does not name get empty strings.
    """
    by_key = {_key(k): v for k, v in (meta or {}).items()}
    for name, da in ds.data_vars.items():
        units, text = (list(by_key.get(_key(da.attrs.get("long_name", name)), ("", "")))
                       + ["", ""])[:2]
        da.attrs["units"] = str(units or "")
        da.attrs["description"] = str(text or "")
    return ds


def _ordered_union(lists: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(e for lst in lists for e in lst))


def to_dataset_from_wide(frame: pd.DataFrame, *,
                         dims: Mapping[str, Sequence[str]] | None = None) -> xr.Dataset:
    """A wide frame as a Dataset with subscripts as dimensions.

    Parameters
    ----------
    frame : pandas.DataFrame
        The wide shape (see the module docstring).
    dims : mapping, optional
        ``{variable: [dimension, ...]}``; default ``frame.attrs["sdkit_dims"]``,
        else ``<name>_dim0, ...``.

    Returns
    -------
    xarray.Dataset
        Elements keep their first-seen order; units and descriptions from
        ``frame.attrs["sdkit_meta"]`` when present.
    """
    dims = dict(dims if dims is not None else frame.attrs.get("sdkit_dims", {}))
    rows = [str(n) for n in frame.index.names]
    if rows == ["None"]:
        rows = ["time"]
    grouped: dict[str, list[tuple[tuple[str, ...], object]]] = {}
    for col in frame.columns:
        base, elems = split_column(col)
        grouped.setdefault(base, []).append((elems, col))
    arrays: dict[str, xr.DataArray] = {}
    order: dict[str, list[list[str]]] = {}
    for base, items in grouped.items():
        n = len(items[0][0])
        if n == 0:
            arrays[base] = xr.DataArray.from_series(frame[items[0][1]].rename_axis(rows))
            continue
        names = list(dims.get(base) or [f"{base}_dim{i}" for i in range(n)])
        sub = frame[[c for _, c in items]].copy()
        sub.columns = pd.MultiIndex.from_tuples([e for e, _ in items], names=names)
        sub = sub.rename_axis(rows)
        series = sub.stack(list(range(n)), future_stack=True)
        da = xr.DataArray.from_series(series)
        for i, d in enumerate(names):
            order.setdefault(d, []).append(list(dict.fromkeys(e[i] for e, _ in items)))
        arrays[base] = da
    union = {d: _ordered_union(v) for d, v in order.items()}
    for base, da in arrays.items():
        wanted = {d: union[d] for d in da.dims if d in union}
        arrays[base] = da.reindex(wanted) if wanted else da
    ds = xr.Dataset(arrays)
    return describe(ds, frame.attrs.get("sdkit_meta"))


def _tidy_to_dataset(frame: pd.DataFrame) -> xr.Dataset:
    arrays = {}
    for name, part in frame.groupby("variable", sort=False):
        keys = [c for c in part.columns if c not in ("variable", "value")
                and part[c].notna().all()]
        da = xr.DataArray.from_series(part.set_index(keys)["value"])
        arrays[str(name)] = da.reindex({k: pd.unique(part[k]) for k in keys})  # file order
    return xr.Dataset(arrays)


def _as_dataset(obj) -> xr.Dataset:
    if isinstance(obj, xr.Dataset):
        return obj
    if isinstance(obj, pd.DataFrame):
        if {"variable", "value"} <= set(obj.columns):
            return _tidy_to_dataset(obj)
        return to_dataset_from_wide(obj)
    raise InvalidValueError(f"expected a pandas.DataFrame or xarray.Dataset of results, "
                            f"got {type(obj).__name__}")


def to_tidy(ds, *, member_dim: str | None = None) -> pd.DataFrame:
    """The tidy (long) shape of results: one value a row.

    Parameters
    ----------
    ds : xarray.Dataset or pandas.DataFrame
        A Dataset, or a wide frame (converted with :func:`to_dataset_from_wide`).
    member_dim : str, optional
        The dimension listed right after ``variable`` (default ``"scenario"``,
        if present); ``member`` and ``time`` follow, then the others.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, <member_dim>, member, <other dims>, time, value``
        (those present).
    """
    ds = _as_dataset(ds)
    frames = []
    for name, da in ds.data_vars.items():
        f = da.to_dataframe(name="value").reset_index()
        f.insert(0, "variable", name)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    lead = [c for c in ("variable", member_dim or "scenario", "member") if c in out.columns]
    rest = [c for c in out.columns if c not in lead and c not in ("time", "value")]
    return out[lead + rest + [c for c in ("time", "value") if c in out.columns]]


def to_wide(obj) -> pd.DataFrame:
    """The wide shape of results (as :func:`sdkit.simulate` returns one run).

    Parameters
    ----------
    obj : xarray.Dataset or pandas.DataFrame
        A Dataset, or a tidy frame (columns ``variable`` and ``value``).

    Returns
    -------
    pandas.DataFrame
        Index ``time``, or ``(scenario, member, quantile, time)`` (the levels
        present); columns ``"Name"`` and ``"Name[elem,elem]"``;
        ``attrs["sdkit_dims"]`` and ``attrs["sdkit_meta"]`` set.
    """
    ds = _as_dataset(obj)
    rows = [d for d in ROW_DIMS if d in ds.dims]
    cols: dict[str, np.ndarray] = {}
    sub_dims: dict[str, list[str]] = {}
    for name, da in ds.data_vars.items():
        missing = {d: ds[d].values for d in rows if d not in da.dims}
        if missing:
            da = da.expand_dims(missing)
        extra = [d for d in da.dims if d not in rows]
        arr = da.transpose(*rows, *extra).to_numpy()
        arr = arr.reshape(int(np.prod(arr.shape[:len(rows)])), *arr.shape[len(rows):])
        if not extra:
            cols[str(name)] = arr
            continue
        sub_dims[str(name)] = extra
        for idx in np.ndindex(*arr.shape[1:]):
            elems = [str(da[d].values[i]) for d, i in zip(extra, idx)]
            cols[f"{name}[{','.join(elems)}]"] = arr[(slice(None),) + idx]
    if rows == ["time"] or not rows:
        index = pd.Index(ds["time"].to_numpy(), name="time") if rows else pd.RangeIndex(1)
    else:
        index = pd.MultiIndex.from_product([ds[d].to_numpy() for d in rows], names=rows)
    frame = pd.DataFrame(cols, index=index)
    frame.attrs["sdkit_dims"] = sub_dims
    frame.attrs["sdkit_meta"] = {str(n): (str(da.attrs.get("units", "")),
                                          str(da.attrs.get("description", "")))
                                 for n, da in ds.data_vars.items()
                                 if "units" in da.attrs or "description" in da.attrs}
    return frame


def tab_text(frame: pd.DataFrame) -> str:
    """A wide run result in Vensim's tab-separated layout (time across).

    The first row is ``Time`` followed by the saved times; each further row
    is a variable (``Name`` or ``Name[elem,elem]``) followed by its values,
    as Vensim's "export to tab" writes and ``pysd.utils.load_outputs(...,
    transpose=True)`` reads.
    """
    def row(label: object, values) -> str:
        return "\t".join([str(label), *(f"{float(v):.15g}" for v in values)])

    lines = [row("Time", frame.index.to_numpy())]
    lines += [row(col, frame[col].to_numpy()) for col in frame.columns]
    return "\n".join(lines) + "\n"
