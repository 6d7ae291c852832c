"""Shared fixtures and markers for the mesa_batch tests."""

from __future__ import annotations

import importlib.util
import os

import mesa
import pytest

MESA_VERSION = tuple(int(p) for p in mesa.__version__.split(".")[:2])
HAS_SCENARIO = importlib.util.find_spec("mesa.experimental.scenarios") is not None

#: CI sets this: optional backends (Dask, MPI) must then be installed, not skipped.
REQUIRE_BACKENDS = os.environ.get("MESA_BATCH_REQUIRE_BACKENDS") == "1"


def backend_missing(available: bool, what: str) -> pytest.MarkDecorator:
    """Skip a test whose optional backend is missing, unless CI requires the backends."""
    if REQUIRE_BACKENDS and not available:
        raise RuntimeError(f"MESA_BATCH_REQUIRE_BACKENDS=1 but {what} is not installed")
    return pytest.mark.skipif(not available, reason=f"{what} is not installed")


# Modules that import Mesa's Scenario cannot even be imported (for doctests) without it.
collect_ignore = [] if HAS_SCENARIO else ["scenario_models"]

needs_scenario = pytest.mark.skipif(
    not HAS_SCENARIO, reason="Mesa < 3.5 has no Scenario (mesa.experimental.scenarios)"
)


@pytest.fixture
def boltzmann():
    """Mesa's own Boltzmann wealth model (takes n, width, height directly or via a Scenario)."""
    from mesa.examples import BoltzmannWealth

    return BoltzmannWealth
