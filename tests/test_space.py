import tempfile

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from mesa_batch import (
    Boolean,
    Categorical,
    Constant,
    Distribution,
    Integer,
    ParameterError,
    ParameterSpace,
    Real,
    Values,
    full_factorial,
)
from mesa_batch.space import TAIL_QUANTILE, level_sequences, to_parameter
from tests.models import MoneyModel

U = np.array([0.0, 0.25, 0.5, 0.75, 1.0])

ALL_TYPES = [
    Real(0.0, 2.0),
    Real(1.0, 100.0, num=3, log=True),
    Integer(-2, 2),
    Categorical(["a", {"b": 1}, [1, 2]]),
    Boolean(),
    Constant({"h": 10}),
    Values([1, "x"]),
    Distribution(scipy.stats.norm(loc=1.0, scale=2.0)),
    Distribution(scipy.stats.poisson(3)),
]


@pytest.mark.parametrize("parameter", ALL_TYPES, ids=repr)
def test_repr_pastes_back_as_code(parameter):
    namespace = {
        "Real": Real,
        "Integer": Integer,
        "Categorical": Categorical,
        "Boolean": Boolean,
        "Constant": Constant,
        "Values": Values,
        "Distribution": Distribution,
        "scipy": scipy,
    }
    rebuilt = eval(repr(parameter), namespace)
    assert rebuilt == parameter
    assert repr(rebuilt) == repr(parameter)


@pytest.mark.parametrize("parameter", ALL_TYPES, ids=repr)
def test_unit_samples_map_to_values_the_parameter_contains(parameter):
    values = parameter.from_unit(U)
    assert len(values) == len(U)
    assert all(parameter.contains(v) for v in values)
    assert not any(isinstance(v, np.generic) for v in values)


def test_real_maps_linearly_and_on_a_log_scale():
    assert Real(0, 2).from_unit(U) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert Real(1, 100, log=True).from_unit(np.array([0.0, 0.5, 1.0])) == pytest.approx(
        [1.0, 10.0, 100.0]
    )
    assert Real(0, 1).levels is None
    assert Real(0, 1, num=3).levels == (0.0, 0.5, 1.0)
    assert not Real(0, 1).contains(True)


def test_integer_spreads_unit_samples_evenly_over_its_values():
    assert Integer(1, 3).from_unit(np.array([0.0, 0.33, 0.34, 0.66, 0.67, 1.0])) == [
        1,
        1,
        2,
        2,
        3,
        3,
    ]
    assert Integer(1, 3).levels == (1, 2, 3)
    assert Integer(1, 3).contains(np.int64(2))
    assert not Integer(1, 3).contains(2.5)
    assert not Integer(0, 1).contains(True)


def test_categorical_boolean_values_constant():
    assert Categorical(["a", "b"]).from_unit(np.array([0.0, 0.49, 0.5, 1.0])) == [
        "a",
        "a",
        "b",
        "b",
    ]
    assert Boolean().levels == (False, True)
    assert Values([{"h": 1}]).contains({"h": 1})
    assert Constant([1, 2]).from_unit(np.zeros(2)) == [[1, 2], [1, 2]]
    assert Constant(1).is_constant
    assert not Values([1]).is_constant


def test_distribution_maps_through_ppf_and_clips_infinite_tails():
    normal = Distribution(scipy.stats.norm(0, 1))
    values = normal.from_unit(np.array([0.0, 0.5, 1.0]))
    assert values[1] == 0.0
    assert values[0] == pytest.approx(scipy.stats.norm.ppf(TAIL_QUANTILE))
    assert values[2] == pytest.approx(-values[0])
    uniform = Distribution(scipy.stats.uniform(loc=2, scale=4))
    assert uniform.from_unit(np.array([0.0, 1.0])) == [2.0, 6.0]
    poisson = Distribution(scipy.stats.poisson(3))
    assert all(isinstance(v, int) for v in poisson.from_unit(U))
    assert normal.levels is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Real(1, 0), r"Real low must be less than high; received \(1, 0\)\. Swap them"),
        (lambda: Real(1, 1), r"Real low must be less than high.*Use Constant\(1\)"),
        (lambda: Real(0, float("inf")), "Real high must be finite"),
        (lambda: Real("0", 1), "Real low must be a real number; received '0'"),
        (lambda: Real(0, 1, num=1), "Real num must be at least 2"),
        (lambda: Real(0, 1, log=True), "Real low must be positive when log=True"),
        (lambda: Integer(0, 1.5), "Integer high must be an int; received 1.5"),
        (lambda: Integer(True, 3), "Integer low must be an int; received True"),
        (lambda: Integer(3, 3), r"Integer low must be less than high.*Constant\(3\)"),
        (lambda: Categorical([]), "Categorical values must not be empty"),
        (lambda: Categorical("ab"), r"Categorical values must be a list.*Categorical\(\['ab'\]\)"),
        (lambda: Values(5), r"Values values must be a list of values; received 5"),
        (lambda: Distribution(3), "Distribution dist must be a scipy.stats frozen distribution"),
    ],
)
def test_bounds_and_types_are_validated_at_construction(make, message):
    with pytest.raises(ParameterError, match=message):
        make()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2], Values([1, 2])),
        ((1, 2), Values([1, 2])),
        (range(3), Values([0, 1, 2])),
        (np.array([1, 2]), Values([1, 2])),
        (np.array([[1, 2], [3, 4]]), Values([[1, 2], [3, 4]])),
        (pd.Series([0.5, 1.5]), Values([0.5, 1.5])),
        (iter([1, 2]), Values([1, 2])),
        ((x for x in "ab"), Values(["a", "b"])),
        ("abc", Constant("abc")),
        (b"ab", Constant(b"ab")),
        ({"h": 10, "w": 10}, Constant({"h": 10, "w": 10})),
        (5, Constant(5)),
        (None, Constant(None)),
        (np.array(3), Constant(np.array(3))),
        (Values([{"h": 10}]), Values([{"h": 10}])),
        (Integer(1, 2), Integer(1, 2)),
    ],
)
def test_plain_values_follow_the_documented_rules(value, expected):
    assert to_parameter(value) == expected


def test_scipy_distributions_become_distribution_parameters():
    assert to_parameter(scipy.stats.norm(0, 1)) == Distribution(scipy.stats.norm(0, 1))


def test_dicts_are_constants_not_swept_over_their_keys():
    # Mesa 3.5's batch_run sweeps {"h": 10, "w": 10} over "h" and "w"; mesa_batch does not.
    assert to_parameter({"h": 10, "w": 10}).levels == ({"h": 10, "w": 10},)


@pytest.mark.parametrize("empty", [[], (), range(0), np.array([]), iter([])])
def test_empty_sweeps_are_errors(empty):
    with pytest.raises(ParameterError, match=r"parameters\['x'\] must not be an empty sweep"):
        ParameterSpace({"x": empty})


def test_sets_are_refused_with_a_fix():
    with pytest.raises(ParameterError, match=r"must not be a set.*sorted list.*Constant"):
        to_parameter({1, 2})


@pytest.mark.parametrize("mode", ["r", "rb"])
def test_file_objects_are_refused_in_designs(tmp_path, mode):
    path = tmp_path / "values.txt"
    path.write_text("10\n20\n")
    with (
        path.open(mode) as handle,
        pytest.raises(
            ParameterError,
            match=r"parameters\['n'\] must not be a file object: it would be swept over its "
            r"lines; received <_io\.\w+ .*Read the values first .* or pass the file's path",
        ),
    ):
        full_factorial(MoneyModel, {"n": handle}, seed=1)
    with tempfile.TemporaryFile() as handle, pytest.raises(ParameterError, match="file object"):
        to_parameter(handle, what="n")


def test_parameter_space_maps_unit_samples_to_complete_points():
    space = ParameterSpace({"a": Real(0, 1), "b": "fixed", "c": [10, 20]})
    assert space.varying == ("a", "c")
    assert space.constants == {"b": "fixed"}
    points = space.from_unit(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert points == [{"a": 0.0, "b": "fixed", "c": 10}, {"a": 1.0, "b": "fixed", "c": 20}]
    assert list(points[0]) == ["a", "b", "c"]
    assert all(space.contains(p) for p in points)
    assert not space.contains({"a": 2.0, "b": "fixed", "c": 10})
    assert not space.contains({"a": 0.5})
    assert ParameterSpace(space) == space
    with pytest.raises(ParameterError, match=r"unit samples must have shape \(n, 2\)"):
        space.from_unit(np.zeros((2, 3)))


def test_parameter_space_refuses_non_mappings():
    with pytest.raises(ParameterError, match=r"space must be a mapping.*Pass a dict"):
        ParameterSpace([1, 2], what="space")


def test_grid_levels_need_finite_parameters():
    space = ParameterSpace({"a": Real(0, 1), "b": [1, 2]})
    with pytest.raises(ParameterError, match=r"\['a'\] must have finitely many levels.*num=5"):
        level_sequences(space, what="parameters")
    space = ParameterSpace({"d": scipy.stats.norm(0, 1)})
    with pytest.raises(ParameterError, match=r"must have finitely many levels.*sample"):
        level_sequences(space, what="space")
