"""How models are built, stepped and read, on every Mesa version CI runs."""

import numpy as np
import pytest

from mesa_batch import BatchRunner, RunConfiguration, full_factorial
from mesa_batch.adapters import (
    DataNotFoundError,
    _select,
    instantiate,
    open_source,
    selected_steps,
)
from mesa_batch.execute import execute_run
from tests.conftest import HAS_SCENARIO, needs_scenario
from tests.models import CounterModel, KwargsModel, MoneyModel, RandomModel, SeedModel


def run(model_cls=CounterModel, max_steps=10, period=1, **parameters):
    config = RunConfiguration(
        model_cls=model_cls,
        parameters=parameters,
        max_steps=max_steps,
        data_collection_period=period,
        seed=5,
    )
    status, tables = execute_run(config)
    assert status.failure is None, status.failure
    return status, tables


def steps(tables, table="model"):
    return sorted(set(tables[table]["step"]))


@pytest.mark.parametrize("model_cls", [RandomModel, SeedModel, KwargsModel])
def test_the_seed_reaches_the_model(model_cls):
    config = RunConfiguration(model_cls=model_cls, parameters={"n": 3}, seed=123)
    a, b = instantiate(config), instantiate(config)
    assert a.rng.random() == b.rng.random()
    assert a.random.random() == b.random.random()
    other = instantiate(RunConfiguration(model_cls=model_cls, parameters={"n": 3}, seed=124))
    assert other.rng.random() != instantiate(config).rng.random()
    assert a.n == 3


def test_rng_models_get_exactly_the_seed():
    model = instantiate(RunConfiguration(model_cls=RandomModel, seed=42))
    assert model.draw == float(np.random.default_rng(42).random())


def test_mesa_example_models_get_parameters_and_seed(boltzmann):
    config = RunConfiguration(model_cls=boltzmann, parameters={"n": 7, "width": 4}, seed=9)
    model = instantiate(config)
    assert model.num_agents == 7
    assert len(model.agents) == 7
    if HAS_SCENARIO:
        assert model.scenario.n == 7
        assert model.scenario.width == 4
    again = instantiate(config)
    assert model.rng.random() == again.rng.random()


def test_stops_at_max_steps_or_when_running_is_false():
    status, tables = run(max_steps=6)
    assert status.steps == 6
    assert steps(tables) == list(range(7))
    status, tables = run(max_steps=50, stop_at=4)
    assert status.steps == 4
    assert steps(tables) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("period", "expected"),
    [(1, list(range(11))), (-1, [10]), (3, [0, 3, 6, 9, 10]), (5, [0, 5, 10]), (20, [0, 10])],
)
def test_collection_period_keeps_every_nth_step_and_the_final_state(period, expected):
    _, tables = run(max_steps=10, period=period)
    assert steps(tables) == expected
    assert steps(tables, "agents") == expected


def test_values_match_the_collected_step():
    _, tables = run(max_steps=4, period=1, n=2)
    assert list(tables["model"]["Total"]) == [0, 2, 4, 6, 8]
    assert list(tables["model"]["Count"]) == [0, 1, 2, 3, 4]
    assert list(tables["agents"]["Value"]) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert list(tables["agents"]["step"]) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_sparse_collection_has_no_ghost_rows():
    _, tables = run(max_steps=50, stop_at=20, collect="sparse")
    assert steps(tables) == [5, 10, 15, 20]
    _, tables = run(max_steps=22, collect="sparse", period=10)
    assert steps(tables) == [10, 20]  # 20 is the last collected state; 22 was never collected


def test_several_collections_per_step_are_all_kept():
    _, tables = run(max_steps=3, collect="twice")
    assert list(tables["model"]["step"]) == [0, 1, 1, 2, 2, 3, 3]
    assert steps(tables, "agents") == [0, 1, 2, 3]


def test_agent_only_collectors_still_yield_rows():
    _, tables = run(max_steps=3, collect="agents")
    assert "model" not in tables
    assert steps(tables, "agents") == [0, 1, 2, 3]


def test_agent_type_reporters_and_tables():
    _, tables = run(max_steps=2, collect="typed", n=2)
    assert set(tables) == {"model", "agents", "agents.Walker", "table.events"}
    walker = tables["agents.Walker"]
    assert list(walker["Walked"]) == [0, 0, 1, 1, 2, 2]
    assert len(tables["agents"]["agent_id"]) == 4 * 3  # all agents, 3 collections
    assert tables["table.events"] == {"count": [1, 2], "note": ["tick", "tick"]}


def test_configuration_reporters_replace_a_missing_collector():
    config = RunConfiguration(
        model_cls=CounterModel,
        parameters={"collect": "none", "n": 2},
        max_steps=5,
        data_collection_period=2,
        seed=1,
        model_reporters={"Total": total, "Count": "count"},
        agent_reporters={"v": "value", "double": lambda a: 2 * a.value},
    )
    status, tables = execute_run(config)
    assert status.failure is None
    assert tables["model"] == {"step": [0, 2, 4, 5], "Total": [0, 4, 8, 10], "Count": [0, 2, 4, 5]}
    assert tables["agents"]["double"] == [0, 0, 4, 4, 8, 8, 10, 10]


def total(model):
    return sum(a.value for a in model.agents)


def test_a_model_without_data_gets_a_clear_error():
    config = RunConfiguration(model_cls=CounterModel, parameters={"collect": "none"}, seed=1)
    model = instantiate(config)
    with pytest.raises(
        DataNotFoundError, match=r"looked for model_reporters.*DataCollector.*DataRecorder"
    ):
        open_source(model, config)


def test_reported_names_that_clash_with_id_columns_are_renamed():
    config = RunConfiguration(
        model_cls=MoneyModel,
        max_steps=2,
        data_collection_period=1,
        seed=1,
        model_reporters={"step": lambda m: 1},
    )
    _, tables = execute_run(config)
    assert list(tables["model"]) == ["step", "step (reported)"]


@pytest.mark.parametrize(
    ("collected", "period", "expected"),
    [([], -1, set()), ([3], 1, {3}), ([0, 2, 4, 6], 4, {0, 4, 6}), ([1, 2, 3, 4, 5], -1, {5})],
)
def test_selected_steps(collected, period, expected):
    assert selected_steps(collected, period) == expected


@needs_scenario
def test_data_recorder_models():
    from tests.scenario_models.recorder import RecorderModel

    _, tables = run(RecorderModel, max_steps=7, period=1, n=2)
    assert steps(tables) == list(range(8))  # the final state is captured
    assert list(tables["model"]["count"]) == list(range(8))
    assert steps(tables, "agents") == [0, 2, 4, 6, 7]  # the dataset's interval, then final
    assert list(tables["agents"]["energy"][-2:]) == [14, 14]
    _, tables = run(RecorderModel, max_steps=7, period=-1)
    assert steps(tables) == [7]


@needs_scenario
def test_mesa_example_prefers_its_datacollector(boltzmann):
    results = BatchRunner(
        full_factorial(boltzmann, {"n": 5}, max_steps=3, data_collection_period=1, seed=1),
        display_progress=False,
    ).run()
    assert list(results.model.columns) == ["run_id", "step", "Gini"]
    assert list(results.model["step"]) == [0, 1, 2, 3]


@pytest.mark.parametrize("period", [1, 3, -1])
@pytest.mark.parametrize("collect", ["step", "sparse", "twice", "agents", "typed"])
def test_fast_agent_rows_equal_the_public_dataframe(collect, period):
    # DataCollectorSource reads _agent_records directly; this pins that it matches
    # get_agent_vars_dataframe() on the Mesa version under test.
    config = RunConfiguration(
        model_cls=CounterModel,
        parameters={"collect": collect, "n": 3},
        max_steps=11,
        data_collection_period=period,
        seed=1,
    )
    model = instantiate(config)
    source = open_source(model, config)
    source.after_step(model, 0)
    for step in range(1, 12):
        source.before_step(step)
        model.step()
        source.after_step(model, step)
    fast = source._agent_columns()
    public = _select(source._agent_table(model.datacollector.get_agent_vars_dataframe()), period)
    assert list(fast) == list(public)
    for name in fast:
        assert np.asarray(fast[name]).tolist() == np.asarray(public[name]).tolist(), name
    assert len(fast["agent_id"]) > 0
