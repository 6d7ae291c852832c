"""The worker side: stages, failures as data, columnar batches."""

import numpy as np
import pytest

from mesa_batch import RunConfiguration, full_factorial
from mesa_batch.columns import concat_columns
from mesa_batch.execute import execute_batch, execute_run
from tests.models import CounterModel, SlowModel


def failing(stage_option, **extra):
    return RunConfiguration(
        model_cls=CounterModel, parameters={"fail": stage_option}, max_steps=5, seed=1, **extra
    )


def explode(model):
    raise RuntimeError("reporter exploded")


@pytest.mark.parametrize(
    ("config", "stage", "kind", "message"),
    [
        (failing("init"), "instantiate", "ValueError", "failing in __init__ as asked"),
        (failing("step"), "run", "ZeroDivisionError", "failing in step 3 as asked"),
        (
            failing(None, model_reporters={"x": explode}),
            "collect",
            "RuntimeError",
            "reporter exploded",
        ),
    ],
)
def test_failures_are_recorded_with_stage_type_message_traceback(config, stage, kind, message):
    status, tables = execute_run(config)
    assert status.status == "failed"
    assert tables == {}
    failure = status.failure
    assert (failure.stage, failure.exception_type, failure.message) == (stage, kind, message)
    assert "Traceback" in failure.traceback
    assert message in failure.traceback
    assert failure.summary() == f"{stage}: {kind}: {message}"


def test_a_batch_goes_on_after_a_failing_run():
    configs = full_factorial(
        CounterModel, {"fail": [None, "init", "step", None]}, max_steps=4, seed=1
    )
    result = execute_batch(configs)
    assert [s.status for s in result.statuses] == ["succeeded", "failed", "failed", "succeeded"]
    assert sorted(set(result.tables["model"]["run_id"])) == [0, 3]
    assert all(isinstance(v, np.ndarray) for v in result.tables["model"].values())


def test_statuses_carry_steps_and_times():
    status, _ = execute_run(RunConfiguration(model_cls=CounterModel, max_steps=7, seed=1))
    assert status.steps == 7
    assert 0 < status.model_time <= status.wall_time


def test_concat_columns_unifies_missing_columns_and_types():
    parts = [{"a": [1, 2], "b": ["x", "y"]}, {"a": [3.5], "c": [[1, 2]]}]
    table = concat_columns(parts)
    assert list(table) == ["a", "b", "c"]
    assert table["a"].dtype == float
    assert table["a"].tolist() == [1.0, 2.0, 3.5]
    assert table["b"].tolist() == ["x", "y", None]
    assert table["c"].tolist() == [None, None, [1, 2]]
    assert table["b"].dtype == object


def test_interrupt_returns_what_finished_when_asked(monkeypatch):
    configs = full_factorial(SlowModel, {"n": [1, 2, 3]}, max_steps=2, seed=1)
    calls = {"n": 0}
    from mesa_batch import execute

    real = execute.execute_run

    def interrupt_on_second(config, **options):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(config, **options)

    monkeypatch.setattr(execute, "execute_run", interrupt_on_second)
    result = execute_batch(configs, stop_on_interrupt=True)
    assert result.interrupted
    assert [s.run_id for s in result.statuses] == [0]
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        execute_batch(configs)
