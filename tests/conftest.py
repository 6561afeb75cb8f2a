"""Shared fixtures: the translation cache, the conformance suite, tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONFORMANCE = SHARED / "conformance"
MODELS = Path(__file__).resolve().parent / "models"

# One translation cache for the whole test session (gitignored), never beside models.
os.environ.setdefault("SDKIT_CACHE_DIR", str(ROOT / ".sdkit-cache" / "tests"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """The SDXorg conformance models shipped in ``../shared/conformance``."""
    assert CONFORMANCE.is_dir(), f"missing {CONFORMANCE}: tests need ../shared beside the repo"
    return CONFORMANCE


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Tiny models used by the tests (``tests/models``)."""
    return MODELS


@pytest.fixture(scope="session")
def teacup_path() -> Path:
    return MODELS / "teacup.mdl"


@pytest.fixture(scope="session")
def sir_path() -> Path:
    return MODELS / "SIR.mdl"
