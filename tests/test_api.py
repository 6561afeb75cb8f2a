"""The public API: __all__ lists exactly what the package exports."""

from __future__ import annotations

import sdkit
from sdkit import errors


def test_all_names_exist():
    missing = [n for n in sdkit.__all__ if not hasattr(sdkit, n)]
    assert not missing


def test_public_callables_are_in_all():
    public = {n for n, v in vars(sdkit).items()
              if not n.startswith("_") and callable(v) and getattr(v, "__module__", "")
              .startswith("sdkit")}
    assert public <= set(sdkit.__all__)


def test_exception_tree_has_one_root():
    for name in errors.__all__:
        cls = getattr(errors, name)
        if issubclass(cls, Warning):
            assert issubclass(cls, errors.SdkitWarning)
        else:
            assert issubclass(cls, errors.SdkitError)
    assert issubclass(errors.UnknownVariableError, KeyError)
    assert str(errors.UnknownVariableError("x: no variable 'a'")) == "x: no variable 'a'"
