import pytest

from mesa_batch import (
    ConfigurationError,
    RunConfiguration,
    base_case,
    concat,
    full_factorial,
    replicate,
    sample,
)
from mesa_batch.space import Integer
from tests.models import MoneyModel


def test_concat_keeps_shared_runs_once_and_renumbers():
    grid = full_factorial(MoneyModel, {"n": [10, 50], "width": 5}, seed=1)
    oat = base_case(MoneyModel, {"n": 50, "width": 5}, {"n": [20, 50], "width": [5, 7]}, seed=1)
    combined = concat(grid, oat)
    assert [c.parameters for c in combined] == [
        {"n": 10, "width": 5},
        {"n": 50, "width": 5},
        {"n": 20, "width": 5},
        {"n": 50, "width": 7},
    ]
    assert [c.run_id for c in combined] == [0, 1, 2, 3]
    assert combined[1].seed == grid[1].seed == oat[0].seed


def test_concat_refuses_one_run_with_two_seeds():
    a = full_factorial(MoneyModel, {"n": [10]}, seed=1)
    b = full_factorial(MoneyModel, {"n": [10]}, seed=2)
    with pytest.raises(
        ConfigurationError, match=r"two designs with different seeds.*same master seed"
    ):
        concat(a, b)


def test_concat_refuses_other_things():
    with pytest.raises(ConfigurationError, match=r"designs\[0\] must hold only RunConfiguration"):
        concat([{"n": 1}])
    with pytest.raises(
        ConfigurationError, match=r"designs\[0\] must be a list of RunConfiguration"
    ):
        concat(5)


def test_concat_accepts_single_configurations():
    config = RunConfiguration(model_cls=MoneyModel, parameters={"n": 3}, seed=1)
    assert concat(config, [config]) == [config]


def test_replicate_equals_the_design_built_with_iterations():
    space = {"n": Integer(5, 50)}
    once = sample(MoneyModel, space, 6, seed=11)
    assert replicate(once, 4) == sample(MoneyModel, space, 6, seed=11, iterations=4)
    # replicating a replicated design folds its iterations together first
    assert replicate(replicate(once, 2), 3) == replicate(once, 3)


def test_replicate_hand_made_configurations_with_a_master_seed():
    config = RunConfiguration(model_cls=MoneyModel, parameters={"n": 3}, seed=1)
    a = replicate([config], 3, seed=5)
    b = replicate([config], 3, seed=5)
    assert [c.seed for c in a] == [c.seed for c in b]
    assert [c.iteration for c in a] == [0, 1, 2]
    assert len({c.seed for c in a}) == 3


def test_replicate_errors():
    with pytest.raises(ConfigurationError, match="iterations must be a positive int"):
        replicate([], 0)
