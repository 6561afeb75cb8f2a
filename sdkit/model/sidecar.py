"""A model's sidecar ``<model>.sdkit.toml``: what sdkit reads beside a model file.

Its tables are read where they are used: ``[summary]`` (what ``sdkit run``
prints, :mod:`sdkit.workflow.run_summary`), ``[loops]`` (the documented
loops, :mod:`sdkit.structure.named_loops`), ``[diagram]`` and
``[free_parameters]``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sdkit.errors import SpecError
from sdkit.io.textfile import read_toml_file

__all__ = ["sidecar_path", "read_sidecar"]


def sidecar_path(model_path: str | os.PathLike) -> Path:
    """``models/iis.mdl`` -> ``models/iis.sdkit.toml``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".sdkit.toml")


def read_sidecar(model_path: str | os.PathLike) -> tuple[Path, dict] | None:
    """The sidecar's path and its parsed TOML, or None when the model has no sidecar.

    Raises
    ------
    SpecError
        The sidecar is not valid TOML (naming the line), empty, binary or not
        UTF-8 (:func:`sdkit.io.textfile.read_toml_file`).
    """
    side = sidecar_path(model_path)
    if not side.is_file():
        return None
    return side, read_toml_file(side, error=SpecError, what="sidecar")
