"""Sweeps run once per session, both in memory and into a store, for the analysis tests."""

from __future__ import annotations

import warnings

import pytest

from mesa_batch import BatchRunner, Results
from mesa_batch.errors import RunFailedWarning


def run_both(configs, store):
    """The same configurations run in memory and into ``store``: (memory, store) results."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunFailedWarning)
        memory = BatchRunner(configs, 1, display_progress=False).run()
        BatchRunner(configs, 1, display_progress=False, store=store).run()
    return memory, Results.open(store)


@pytest.fixture(scope="session")
def both(tmp_path_factory):
    """Run configurations both ways, cached by name."""
    cache = {}

    def make(name, configs):
        if name not in cache:
            cache[name] = run_both(configs, tmp_path_factory.mktemp(name) / "store")
        return cache[name]

    return make
