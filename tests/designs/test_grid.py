import pytest

from mesa_batch import (
    Boolean,
    DesignError,
    Integer,
    ParameterError,
    Real,
    Values,
    base_case,
    full_factorial,
)
from tests.models import KwargsModel, MoneyModel


def params(configs):
    return [c.parameters for c in configs]


def test_full_factorial_order_matches_mesa_batch_run():
    # itertools.product in insertion order, last name fastest; iteration outer.
    configs = full_factorial(MoneyModel, {"n": range(2), "width": [5, 6]}, iterations=2, seed=1)
    assert params(configs[:4]) == [
        {"n": 0, "width": 5},
        {"n": 0, "width": 6},
        {"n": 1, "width": 5},
        {"n": 1, "width": 6},
    ]
    assert params(configs[4:]) == params(configs[:4])
    assert [c.run_id for c in configs] == list(range(8))
    assert [c.iteration for c in configs] == [0] * 4 + [1] * 4


def test_full_factorial_from_the_issue():
    configs = full_factorial(
        MoneyModel,
        {"n": [10, 50], "width": 10, "height": 10},
        iterations=3,
        max_steps=100,
        seed=42,
    )
    assert len(configs) == 6
    assert {c.max_steps for c in configs} == {100}
    assert params(configs[:2]) == [
        {"n": 10, "width": 10, "height": 10},
        {"n": 50, "width": 10, "height": 10},
    ]


def test_dicts_are_constants_and_values_sweeps_dicts():
    constant = full_factorial(KwargsModel, {"grid": {"h": 10, "w": 10}}, seed=1)
    assert params(constant) == [{"grid": {"h": 10, "w": 10}}]
    swept = full_factorial(KwargsModel, {"grid": Values([{"h": 1}, {"h": 2}])}, seed=1)
    assert params(swept) == [{"grid": {"h": 1}}, {"grid": {"h": 2}}]


def test_typed_parameters_sweep_their_levels():
    configs = full_factorial(
        KwargsModel, {"a": Integer(1, 3), "b": Boolean(), "c": Real(0, 1, num=3)}, seed=1
    )
    assert len(configs) == 3 * 2 * 3
    assert {c.parameters["c"] for c in configs} == {0.0, 0.5, 1.0}


def test_only_constants_give_one_run():
    assert params(full_factorial(MoneyModel, {"n": 3}, seed=1)) == [{"n": 3}]
    assert params(full_factorial(MoneyModel, {}, seed=1)) == [{}]


def test_full_factorial_errors():
    with pytest.raises(ParameterError, match=r"parameters\['n'\] must have finitely many levels"):
        full_factorial(MoneyModel, {"n": Real(0, 1)})
    with pytest.raises(ParameterError, match=r"parameters\['n'\] must not be an empty sweep"):
        full_factorial(MoneyModel, {"n": []})
    with pytest.raises(ParameterError, match=r"parameters must be a mapping"):
        full_factorial(MoneyModel, [("n", 1)])
    with pytest.raises(
        DesignError, match=r"full_factorial\(\) got unexpected keyword.*'iteration'"
    ):
        full_factorial(MoneyModel, {"n": 1}, iteration=3)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"iterations": 0}, "iterations must be a positive int; received 0"),
        ({"max_steps": 0}, "max_steps must be a positive int; received 0"),
        ({"data_collection_period": 0}, "data_collection_period must be -1"),
        ({"seed": -3}, "seed must be a non-negative int"),
    ],
)
def test_run_settings_are_checked_before_anything_is_generated(settings, message):
    with pytest.raises(ValueError, match=message):
        full_factorial(MoneyModel, {"n": [1, 2]}, **settings)


def test_base_case_has_the_reference_once_then_one_at_a_time():
    configs = base_case(
        MoneyModel,
        {"n": 10, "width": 5, "height": 5},
        {"n": [5, 10, 20], "width": [5, 8]},
        seed=1,
    )
    assert params(configs) == [
        {"n": 10, "width": 5, "height": 5},
        {"n": 5, "width": 5, "height": 5},
        {"n": 20, "width": 5, "height": 5},
        {"n": 10, "width": 8, "height": 5},
    ]


def test_base_case_takes_base_values_literally():
    configs = base_case(KwargsModel, {"sizes": [1, 2], "n": 1}, {"n": [1, 2]}, seed=1)
    assert params(configs) == [{"sizes": [1, 2], "n": 1}, {"sizes": [1, 2], "n": 2}]


def test_base_case_errors():
    with pytest.raises(DesignError, match=r"variations\['width'\] must have a reference value"):
        base_case(MoneyModel, {"n": 10}, {"width": [1, 2]})
    with pytest.raises(DesignError, match="variations must vary at least one parameter"):
        base_case(MoneyModel, {"n": 10}, {})
    with pytest.raises(DesignError, match="base must be a mapping"):
        base_case(MoneyModel, [10], {"n": [1]})
    with pytest.raises(ParameterError, match=r"base\['nn'\] is not accepted"):
        base_case(MoneyModel, {"nn": 10}, {"nn": [1]})
