"""The local pool: loky's reusable executor, equivalent to running in the calling process."""

import pandas as pd

from mesa_batch import BatchRunner, full_factorial
from mesa_batch.backends import ProcessPoolBackend, SerialBackend, local_pool
from mesa_batch.runner import _dispatch
from tests.models import MoneyModel


def configs():
    return full_factorial(
        MoneyModel,
        {"n": [3, 5, 7]},
        iterations=3,
        max_steps=5,
        data_collection_period=1,
        seed=2,
        model_reporters={"agents": lambda m: len(m.agents)},  # a lambda: shipped by value
        agent_reporters={"Wealth": "wealth"},
    )


def test_the_pool_runs_every_configuration_like_the_calling_process():
    expected = BatchRunner(configs(), display_progress=False).run().model
    backend = local_pool(2)
    assert isinstance(backend, ProcessPoolBackend)
    results = list(_dispatch(configs(), backend))
    backend.close()
    assert sorted(s.run_id for r in results for s in r.statuses) == list(range(9))
    model = pd.concat([pd.DataFrame(r.tables["model"]) for r in results if r.tables])
    model = model.sort_values(["run_id", "step"], ignore_index=True)
    pd.testing.assert_frame_equal(model, expected, check_dtype=False)


def test_workers_are_reused_across_sweeps():
    first = ProcessPoolBackend(2)
    pids = {first.executor.submit(_pid).result() for _ in range(4)}
    second = ProcessPoolBackend(2)
    assert second.executor is first.executor
    assert {second.executor.submit(_pid).result() for _ in range(4)} <= pids


def test_serial_backend_runs_in_the_calling_process():
    future = SerialBackend().submit(configs()[:2], task="t", writer=None)
    assert future.done()
    assert [s.run_id for s in future.result().statuses] == [0, 1]


def _pid():
    import os

    return os.getpid()
