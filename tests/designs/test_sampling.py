import numpy as np
import pytest
import scipy.stats

from mesa_batch import DesignError, Integer, ParameterError, Real, Values, sample
from mesa_batch.designs.sampling import GridSubset
from tests.models import KwargsModel, MoneyModel


def values(configs, name):
    return [c.parameters[name] for c in configs]


def test_latin_hypercube_puts_one_point_in_each_stratum():
    configs = sample(MoneyModel, {"n": Integer(0, 9), "width": Real(0.0, 1.0)}, 10, seed=4)
    assert sorted(values(configs, "n")) == list(range(10))
    assert sorted(np.floor(np.array(values(configs, "width")) * 10)) == list(range(10))


def test_methods_give_different_points_and_a_seed_fixes_them():
    space = {"n": Real(0.0, 1.0), "width": Real(0.0, 1.0)}
    drawn = {m: values(sample(MoneyModel, space, 8, m, seed=1), "n") for m in ("random", "lhs")}
    drawn |= {m: values(sample(MoneyModel, space, 8, m, seed=1), "n") for m in ("sobol", "halton")}
    assert len({tuple(v) for v in drawn.values()}) == 4
    assert values(sample(MoneyModel, space, 8, "halton", seed=1), "n") == drawn["halton"]
    assert values(sample(MoneyModel, space, 8, "halton", seed=2), "n") != drawn["halton"]


def test_distributions_and_constants():
    space = {"a": scipy.stats.norm(10, 1), "b": "const"}
    configs = sample(KwargsModel, space, 200, "random", seed=1)
    a = np.array(values(configs, "a"))
    assert abs(a.mean() - 10) < 0.3
    assert set(values(configs, "b")) == {"const"}


def test_grid_subset_is_distinct_grid_points_in_grid_order():
    space = {"a": Integer(0, 9), "b": Values(["x", "y"]), "c": 1}
    configs = sample(KwargsModel, space, 7, "grid", seed=3)
    points = [(c.parameters["a"], c.parameters["b"]) for c in configs]
    assert len(set(points)) == 7
    order = [a * 2 + "xy".index(b) for a, b in points]
    assert order == sorted(order)
    assert len(sample(KwargsModel, space, 20, "grid", seed=3)) == 20


def test_grid_subset_never_builds_a_huge_grid():
    space = {f"p{i}": Integer(0, 999) for i in range(12)}  # 10**36 grid points
    design = GridSubset(space, 5)
    assert design.size == 10**36
    configs = sample(KwargsModel, space, 5, "grid", seed=1)
    assert len({tuple(c.parameters.values()) for c in configs}) == 5


def test_sample_errors():
    space = {"n": Integer(1, 5)}
    with pytest.raises(
        DesignError,
        match=r"method must be one of 'random', 'lhs', 'sobol', 'halton', 'grid'; received 'latin'",
    ):
        sample(MoneyModel, space, 4, method="latin")
    with pytest.raises(DesignError, match="n must be a positive int; received 0"):
        sample(MoneyModel, space, 0)
    with pytest.raises(DesignError, match=r"n must be at most the grid's size \(5 points\)"):
        sample(MoneyModel, space, 6, method="grid")
    with pytest.raises(DesignError, match="space must have at least one varying parameter"):
        sample(MoneyModel, {"n": 3}, 4)
    with pytest.raises(ParameterError, match=r"space\['n'\] must have finitely many levels"):
        sample(MoneyModel, {"n": Real(0, 1)}, 4, method="grid")


def test_sobol_warns_when_n_is_not_a_power_of_two():
    with pytest.warns(UserWarning, match="power of 2"):
        sample(MoneyModel, {"n": Integer(1, 5)}, 6, method="sobol", seed=1)
