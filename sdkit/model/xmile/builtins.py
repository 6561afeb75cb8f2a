"""The XMILE builtin functions sdkit translates, as PySD abstract structures.

``SCALAR_FUNCTIONS`` maps a canonical (lower-case) function name to
``(min_args, max_args, build)``, where ``build`` takes the lowered arguments
and returns a PySD structure. ``ARRAY_FUNCTIONS`` are the reductions handled
in :mod:`sdkit.model.xmile.lower`; ``UNSUPPORTED`` names functions refused with a
reason; ``SPECIAL_NAMES`` are the names that are not variables (``TIME``,
``DT``, ...).
"""

from __future__ import annotations

from pysd.translators.structures import abstract_expressions as ae

__all__ = ["SCALAR_FUNCTIONS", "ARRAY_FUNCTIONS", "UNSUPPORTED", "SPECIAL_NAMES"]


def _call(name: str):
    return lambda *args: ae.CallStructure(ae.ReferenceStructure(name), tuple(args))


def _ref(name: str):
    return lambda: ae.ReferenceStructure(name)


def _pulse(magnitude, start, interval=None):
    if interval is None:
        return ae.CallStructure(ae.ReferenceStructure("Xpulse"), (start, magnitude))
    return ae.CallStructure(ae.ReferenceStructure("Xpulse_train"),
                            (start, interval, magnitude))


def _ramp(slope, start, end=None):
    if end is None:
        return ae.CallStructure(ae.ReferenceStructure("Xramp"), (slope, start))
    return ae.CallStructure(ae.ReferenceStructure("ramp"), (slope, start, end))


def _safediv(a, b, otherwise=None):
    if otherwise is None:
        return ae.CallStructure(ae.ReferenceStructure("zidz"), (a, b))
    return ae.CallStructure(ae.ReferenceStructure("xidz"), (a, b, otherwise))


def _log10(x):
    return ae.CallStructure(ae.ReferenceStructure("log"), (x, 10))


def _minmax(name):
    return lambda a, b: ae.CallStructure(ae.ReferenceStructure(name), (a, b))


SCALAR_FUNCTIONS = {
    **{f: (1, 1, _call(f)) for f in (
        "abs", "exp", "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
        "sinh", "cosh", "tanh")},
    "ln": (1, 1, _call("ln")),
    "log10": (1, 1, _log10),
    "int": (1, 1, _call("integer")),
    "min": (2, 2, _minmax("min")),
    "max": (2, 2, _minmax("max")),
    "safediv": (2, 3, _safediv),
    "step": (2, 2, _call("step")),
    "ramp": (2, 3, _ramp),
    "pulse": (2, 3, _pulse),
    "init": (1, 1, lambda x: ae.InitialStructure(x)),
    "delay": (2, 3, lambda x, t, i=None: ae.DelayFixedStructure(x, t, x if i is None else i)),
    "delay1": (2, 3, lambda x, t, i=None: ae.DelayStructure(x, t, x if i is None else i, 1)),
    "delay3": (2, 3, lambda x, t, i=None: ae.DelayStructure(x, t, x if i is None else i, 3)),
    "delayn": (3, 4, lambda x, t, n, i=None: ae.DelayNStructure(x, t, x if i is None else i, n)),
    "smth1": (2, 3, lambda x, t, i=None: ae.SmoothStructure(x, t, x if i is None else i, 1)),
    "smth3": (2, 3, lambda x, t, i=None: ae.SmoothStructure(x, t, x if i is None else i, 3)),
    "smthn": (3, 4, lambda x, t, n, i=None: ae.SmoothNStructure(x, t, x if i is None else i, n)),
    "trend": (2, 3, lambda x, t, i=0: ae.TrendStructure(x, t, i)),
    "forcst": (3, 4, lambda x, t, h, i=0: ae.ForecastStructure(x, t, h, i)),
    "pi": (0, 0, lambda: ae.CallStructure(ae.ReferenceStructure("pi"), ())),
}

#: one-argument array reductions (MIN/MAX with two arguments are scalar)
ARRAY_FUNCTIONS = {"sum", "mean", "min", "max", "stddev", "size", "prod", "rank"}

UNSUPPORTED = {
    "random": "random numbers are not reproduced faithfully",
    "normal": "random numbers are not reproduced faithfully",
    "lognormal": "random numbers are not reproduced faithfully",
    "poisson": "random numbers are not reproduced faithfully",
    "exprnd": "random numbers are not reproduced faithfully",
    "binomial": "random numbers are not reproduced faithfully",
    "gamma": "random numbers are not reproduced faithfully",
    "beta": "random numbers are not reproduced faithfully",
    "triangular": "random numbers are not reproduced faithfully",
    "weibull": "random numbers are not reproduced faithfully",
    "logistic": "random numbers are not reproduced faithfully",
    "geometric": "random numbers are not reproduced faithfully",
    "negbinomial": "random numbers are not reproduced faithfully",
    "invnorm": "no PySD equivalent",
    "normalcdf": "no PySD equivalent",
    "previous": "no PySD equivalent",
    "self": "no PySD equivalent",
    "history": "no PySD equivalent",
    "npv": "no PySD equivalent",
    "irr": "no PySD equivalent",
    "lookupinv": "no PySD equivalent",
    "lookup_inv": "no PySD equivalent",
    "rank": "its result is an element index chosen at run time",
}

SPECIAL_NAMES = {
    "time": _ref("time"),
    "dt": _ref("time_step"),
    "starttime": _ref("initial_time"),
    "stoptime": _ref("final_time"),
    # the time settings as Vensim-converted files (xmutil) name them
    "time step": _ref("time_step"),
    "initial time": _ref("initial_time"),
    "final time": _ref("final_time"),
    "saveper": _ref("saveper"),
    "pi": lambda: ae.CallStructure(ae.ReferenceStructure("pi"), ()),
}
