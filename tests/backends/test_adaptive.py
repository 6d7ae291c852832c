"""``number_processes=None``: the calling process first, the pool once the work left pays."""

from __future__ import annotations

import json
import os
import time

import mesa
import pandas as pd
import pytest

from mesa_batch import BatchRunner, full_factorial
from mesa_batch.backends import BatchSizer, adaptive, cpu_count
from mesa_batch.backends.adaptive import START_COST, AdaptiveBackend
from mesa_batch.runner import in_workers

pytestmark = pytest.mark.skipif(cpu_count() < 2, reason="needs 2 CPUs to have a pool to start")


class BusyModel(mesa.Model):
    """One step that keeps a CPU busy for ``ms`` milliseconds; reports its process id."""

    def __init__(self, n: int = 0, ms: float = 1.0, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.ms = ms
        self.pid = os.getpid()
        self.value = 0.0
        self.datacollector = mesa.DataCollector(model_reporters={"pid": "pid", "x": "value"})

    def step(self) -> None:
        end = time.perf_counter() + self.ms / 1000
        while time.perf_counter() < end:
            pass
        self.value = self.random.random()
        self.datacollector.collect(self)


def sweep(runs, ms, processes=None):
    configs = full_factorial(BusyModel, {"n": range(runs), "ms": [ms]}, max_steps=1, seed=4)
    # the process id differs on a rerun: no reproducibility check
    return BatchRunner(configs, processes, display_progress=False, reproducibility_checks=0).run()


def pids(results):
    return set(results.model["pid"])


@pytest.fixture(autouse=True)
def cold():
    """Every test starts with no pool known to be warm, and leaves none behind."""
    adaptive._last_pool.clear()
    yield
    adaptive._last_pool.clear()


def test_a_short_sweep_runs_in_the_calling_process():
    results = sweep(40, 1)
    assert results.counts()["succeeded"] == 40
    assert pids(results) == {os.getpid()}


def test_a_long_sweep_moves_to_the_pool_and_gives_the_one_process_results():
    results = sweep(300, 20)  # ~6 s of work: the pool's start pays
    used = pids(results)
    assert os.getpid() in used  # the first runs, while the workers started
    assert len(used - {os.getpid()}) >= 1
    expected = sweep(300, 20, processes=1)
    columns = ["run_id", "step", "x"]
    pd.testing.assert_frame_equal(results.model[columns], expected.model[columns])


def test_the_next_sweep_uses_the_warm_pool_at_once():
    sweep(300, 20)
    results = sweep(6, 1)
    assert os.getpid() not in pids(results)


def test_inside_in_workers_no_run_is_in_the_calling_process():
    with in_workers():
        results = sweep(20, 1)
    assert results.counts()["succeeded"] == 20
    assert os.getpid() not in pids(results)


def test_an_explicit_number_of_processes_still_means_that_pool():
    results = sweep(8, 1, processes=2)
    assert os.getpid() not in pids(results)


def sizer(batches, latest):
    made = BatchSizer(2)
    made.observed, made.latest = batches, latest
    return made


@pytest.mark.parametrize(
    ("waiting", "seconds", "batches", "starts"),
    [
        (1000, 0.01, 1, False),  # the first batch pays imports: not trusted
        (1000, 0.01, 2, True),  # 10 s of work left: half of it saved on 2 CPUs
        (100, 0.01, 2, False),  # 1 s of work left: 0.5 s saved < the workers' start
        (int(2 * START_COST / 0.01) + 10, 0.01, 5, True),
    ],
)
def test_the_pool_starts_only_when_the_work_left_pays_for_it(waiting, seconds, batches, starts):
    backend = AdaptiveBackend(10_000)
    try:
        backend.advise(waiting, sizer(batches, seconds))
        assert (backend._pool is not None) is starts
        assert backend.workers == 1  # batches stay here until the workers have started
    finally:
        backend.close(kill=True)


def test_a_sweep_into_a_store_that_moves_to_the_pool_keeps_every_run(tmp_path):
    store = tmp_path / "store"
    configs = full_factorial(BusyModel, {"n": range(300), "ms": [20]}, max_steps=1, seed=4)
    options = {"display_progress": False, "store": store, "reproducibility_checks": 0}
    results = BatchRunner(configs, None, **options).run()
    assert results.counts() == {"succeeded": 300, "failed": 0, "pending": 0}
    assert len(pids(results)) >= 2  # this process first, then the workers
    again = BatchRunner(configs, None, **options).run()
    assert again.counts()["succeeded"] == 300
    starts = [json.loads(line) for line in (store / "status.jsonl").read_text().splitlines()]
    assert [e["todo"] for e in starts if e["event"] == "start"][-1] == 0
