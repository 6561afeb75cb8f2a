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
def conformance_report(conformance_dir):
    """The whole suite on sdkit's default route (the compiled engine, PySD where it cannot
    compile a model), run once (1-1.5 min on 2 cores) for every test that asks about a
    case's outcome (tests/test_conformance.py, tests/xmile)."""
    from sdkit.conformance.suite import run_conformance

    # one engine: both would double the time; PySD's own route is compared with the
    # compiled engine model by model in tests/engine/test_engine_conformance.py, and the
    # record (tests/data/conformance_engines.json) holds both engines' outcomes
    return run_conformance(conformance_dir, engine="sdkit", timeout=300)


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
