"""The local pool: loky's reusable executor, equivalent to running in the calling process."""

import pandas as pd
import pytest

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


def _imported(names):
    import os
    import sys

    return os.getpid(), all(name in sys.modules for name in names)


def test_warming_up_imports_mesa_and_arrow_in_the_workers():
    ProcessPoolBackend(2).close(kill=True)  # fresh workers: nothing imported yet
    backend = ProcessPoolBackend(2)
    fresh = backend.executor.submit(_imported, ["mesa", "pyarrow.parquet"]).result()
    assert fresh[1] is False
    warmed = {future.result() for future in backend.warm_up()}
    checks = [backend.executor.submit(_imported, ["mesa", "pyarrow.parquet"]) for _ in range(8)]
    seen = dict(check.result() for check in checks)
    assert any(pid in warmed for pid in seen)
    assert all(imported for pid, imported in seen.items() if pid in warmed)
    backend.close(kill=True)


def _workers():
    import psutil

    children = psutil.Process().children(recursive=True)
    return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]


def test_a_store_with_nothing_left_to_do_or_refusing_the_sweep_starts_no_worker(tmp_path):
    from mesa_batch.errors import StoreConflictError
    from tests.models import KwargsModel

    store = tmp_path / "store"
    first = BatchRunner(configs(), 2, display_progress=False, store=store).run()
    assert first.counts()["succeeded"] == 9
    ProcessPoolBackend(2).close(kill=True)
    again = BatchRunner(configs(), 2, display_progress=False, store=store).run()
    assert again.counts() == first.counts()
    assert _workers() == []
    other = full_factorial(KwargsModel, {"n": [1, 2, 3]}, seed=1)
    with pytest.raises(StoreConflictError, match="a store holds one model"):
        BatchRunner(other, 2, display_progress=False, store=store).run()
    assert _workers() == []
