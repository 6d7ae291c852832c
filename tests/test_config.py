import dataclasses
import pickle

import pytest

from mesa_batch import ConfigurationError, ModelClassError, ParameterError, RunConfiguration
from tests.models import KwargsModel, MoneyModel, NotAModel, UnseedableModel


def make(**overrides):
    settings = {"model_cls": MoneyModel, "parameters": {"n": 5, "width": 3}, "seed": 7}
    return RunConfiguration(**(settings | overrides))


def test_defaults_and_fields():
    config = make()
    assert config.run_id == 0
    assert config.iteration == 0
    assert config.max_steps == 1000
    assert config.data_collection_period == -1
    assert config.seed == 7
    assert config.model_path == "tests.models:MoneyModel"
    assert len(config.key) == 32
    assert "MoneyModel" in repr(config)


def test_frozen_slotted_keyword_only():
    config = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_steps = 5
    assert not hasattr(config, "__dict__")
    with pytest.raises(TypeError):
        RunConfiguration(MoneyModel, {"n": 1})


def test_key_ignores_run_id_and_parameter_order_but_not_content():
    config = make()
    assert make(run_id=99).key == config.key
    assert make(parameters={"width": 3, "n": 5}).key == config.key
    assert make(seed=8).key == config.key  # the seed is a setting, not identity
    assert make(parameters={"n": 6, "width": 3}).key != config.key
    assert make(iteration=1).key != config.key
    assert make(max_steps=10).key != config.key
    assert make(data_collection_period=1).key != config.key
    assert make(occurrence=1).key != config.key
    assert make(model_cls=KwargsModel, parameters={"n": 5, "width": 3}).key != config.key
    assert make(iteration=1).point_key == config.point_key


def test_unhashable_parameter_values_work():
    config = make(model_cls=KwargsModel, parameters={"grid": {"h": 10}, "sizes": [1, 2]})
    assert config.parameters == {"grid": {"h": 10}, "sizes": [1, 2]}
    assert hash(config) == hash(pickle.loads(pickle.dumps(config)))


def test_pickles_and_keeps_its_key():
    config = make(parameters={"n": 5})
    copy = pickle.loads(pickle.dumps(config))
    assert copy == config
    assert copy.key == config.key
    assert copy.parameters == config.parameters


def test_parameters_are_copied():
    parameters = {"n": 5}
    config = make(parameters=parameters)
    parameters["n"] = 6
    assert config.parameters == {"n": 5}


def test_seed_none_draws_and_records_a_seed():
    a = make(seed=None)
    b = make(seed=None)
    assert isinstance(a.seed, int)
    assert 0 <= a.seed < 2**64
    assert a.seed != b.seed


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"model_cls": NotAModel}, ModelClassError, "model_cls must be a subclass of mesa.Model"),
        (
            {"model_cls": UnseedableModel, "parameters": {}},
            ModelClassError,
            r"model_cls must be able to receive a seed.*Add rng=None",
        ),
        ({"max_steps": 0}, ConfigurationError, "max_steps must be a positive int; received 0"),
        ({"max_steps": -5}, ConfigurationError, "max_steps must be a positive int; received -5"),
        ({"max_steps": 2.5}, ConfigurationError, "max_steps must be a positive int"),
        ({"max_steps": True}, ConfigurationError, "max_steps must be a positive int"),
        (
            {"data_collection_period": 0},
            ConfigurationError,
            r"data_collection_period must be -1 \(collect the final state only\) or a positive",
        ),
        ({"data_collection_period": -2}, ConfigurationError, "data_collection_period must be -1"),
        ({"run_id": -1}, ConfigurationError, "run_id must be an int >= 0; received -1"),
        ({"iteration": 1.0}, ConfigurationError, "iteration must be an int >= 0"),
        ({"seed": -1}, ConfigurationError, r"seed must be an int in \[0, 2\*\*64\)"),
        ({"seed": 2**64}, ConfigurationError, r"seed must be an int in \[0, 2\*\*64\)"),
        ({"parameters": [1, 2]}, ConfigurationError, "parameters must be a mapping"),
        ({"parameters": None}, ConfigurationError, "parameters must be a mapping"),
        ({"parameters": {"nn": 1}}, ParameterError, r"parameters\['nn'\] is not accepted"),
        ({"parameters": {"rng": 1}}, ParameterError, r"parameters\['rng'\] is reserved"),
        (
            {"parameters": {"n": lambda: 1}, "model_cls": KwargsModel},
            ParameterError,
            "lambda",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(overrides, error, message):
    with pytest.raises(error, match=message):
        make(**overrides)


def test_with_iteration_needs_a_design():
    with pytest.raises(ConfigurationError, match=r"with_iteration\(\) needs a configuration made"):
        make().with_iteration(1)


def test_a_replica_is_the_configuration_built_anew_and_shares_its_point():
    config = make(max_steps=20, data_collection_period=2, model_reporters={"n": "num_agents"})
    replica = config.replica(3, run_id=11, seed=99)
    built = make(
        max_steps=20,
        data_collection_period=2,
        model_reporters={"n": "num_agents"},
        iteration=3,
        run_id=11,
        seed=99,
    )
    for field in RunConfiguration.FIELDS:
        assert getattr(replica, field) == getattr(built, field), field
    assert replica.key != config.key
    assert replica.parameters is config.parameters
    assert replica.point_key is config.point_key
    assert pickle.loads(pickle.dumps(replica)) == replica


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"iteration": -1, "run_id": 0, "seed": 1}, "iteration must be an int >= 0"),
        ({"iteration": 1, "run_id": "2", "seed": 1}, "run_id must be an int >= 0"),
        ({"iteration": 1, "run_id": 2, "seed": 2**64}, "seed"),
    ],
)
def test_a_replica_refuses_bad_input(arguments, message):
    with pytest.raises(ConfigurationError, match=message):
        make().replica(arguments.pop("iteration"), **arguments)


def _first_reporter(model):
    return 1


def _second_reporter(model):
    return 2


def test_configurations_built_one_after_another_keep_their_own_settings():
    # consecutive constructions with the same settings share one settings object; any
    # difference (a reporter function, a run length, a design) must still be its own
    first = make(model_reporters={"x": _first_reporter})
    second = make(model_reporters={"x": _second_reporter})
    again = make(model_reporters={"x": _second_reporter}, max_steps=5)
    assert first.model_reporters["x"] is _first_reporter
    assert second.model_reporters["x"] is _second_reporter
    assert (again.max_steps, second.max_steps) == (5, 1000)
    assert again.key != second.key
    named = make(model_reporters={"x": "num_agents"})
    assert named.model_reporters == {"x": "num_agents"}
    assert make().model_reporters is None
