"""The contract every design passes, run against every design and two real Mesa models."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from mesa_batch import (
    Boolean,
    Categorical,
    Integer,
    ParameterError,
    ParameterSpace,
    Real,
    RunConfiguration,
    base_case,
    concat,
    fast,
    full_factorial,
    manual,
    morris,
    replicate,
    saltelli,
    sample,
    sparse_grid,
)
from tests.models import MoneyModel

SPACE = {"n": Integer(5, 50), "width": Integer(3, 12), "height": 10}


@pytest.fixture(params=["MoneyModel", "BoltzmannWealth"])
def model_cls(request):
    if request.param == "MoneyModel":
        return MoneyModel
    from mesa.examples import BoltzmannWealth

    return BoltzmannWealth


class DesignContract:
    """Subclasses define ``make``, ``bad_name`` and ``space``; the tests are shared."""

    name: str
    space: dict = SPACE

    def make(self, model_cls, **settings) -> list[RunConfiguration]:
        raise NotImplementedError

    def bad_name(self, model_cls) -> list[RunConfiguration]:
        raise NotImplementedError

    def test_returns_numbered_configurations(self, model_cls):
        configs = self.make(model_cls, seed=1)
        assert isinstance(configs, list)
        assert configs
        assert all(isinstance(c, RunConfiguration) for c in configs)
        assert [c.run_id for c in configs] == list(range(len(configs)))
        assert all(c.model_cls is model_cls for c in configs)

    def test_deterministic_for_a_fixed_seed(self, model_cls):
        a = self.make(model_cls, seed=7)
        b = self.make(model_cls, seed=7)
        assert a == b
        assert [c.parameters for c in a] == [c.parameters for c in b]
        assert [c.seed for c in a] == [c.seed for c in b]

    def test_another_seed_gives_other_run_seeds(self, model_cls):
        a = self.make(model_cls, seed=7)
        b = self.make(model_cls, seed=8)
        assert {c.seed for c in a}.isdisjoint({c.seed for c in b})

    def test_seed_none_is_drawn_once_and_recorded(self, model_cls):
        configs = self.make(model_cls, seed=None)
        entropies = {c.design.seed.entropy for c in configs if c.design is not None}
        assert len(entropies) == 1
        assert all(isinstance(c.seed, int) and 0 <= c.seed < 2**64 for c in configs)

    def test_names_are_validated_before_running(self, model_cls):
        with pytest.raises(ParameterError, match=r"is not accepted by .*Accepted names: .*'n'"):
            self.bad_name(model_cls)

    def test_picklable(self, model_cls):
        configs = self.make(model_cls, seed=3)
        copy = pickle.loads(pickle.dumps(configs))
        assert copy == configs
        assert [c.key for c in copy] == [c.key for c in configs]
        assert [c.design for c in copy] == [c.design for c in configs]

    def test_keys_unique(self, model_cls):
        configs = self.make(model_cls, seed=3, iterations=2)
        assert len({c.key for c in configs}) == len(configs)

    def test_points_within_bounds(self, model_cls):
        space = ParameterSpace(self.space)
        for config in self.make(model_cls, seed=5):
            assert space.contains(config.parameters), config.parameters

    def test_iterations_cross_the_design(self, model_cls):
        once = self.make(model_cls, seed=9)
        thrice = self.make(model_cls, seed=9, iterations=3)
        assert len(thrice) == 3 * len(once)
        assert [c.iteration for c in thrice] == [i for i in range(3) for _ in once]
        assert [(c.key, c.seed) for c in thrice[: len(once)]] == [(c.key, c.seed) for c in once]
        assert len({c.seed for c in thrice}) == len(thrice)

    def test_run_settings_are_passed_through(self, model_cls):
        configs = self.make(model_cls, seed=1, max_steps=25, data_collection_period=5)
        assert {(c.max_steps, c.data_collection_period) for c in configs} == {(25, 5)}

    def test_common_random_numbers_share_one_seed_per_iteration(self, model_cls):
        configs = self.make(model_cls, seed=1, iterations=2, common_random_numbers=True)
        by_iteration = {}
        for config in configs:
            by_iteration.setdefault(config.iteration, set()).add(config.seed)
        assert [len(seeds) for seeds in by_iteration.values()] == [1, 1]
        assert by_iteration[0] != by_iteration[1]

    def test_design_is_recorded(self, model_cls):
        configs = self.make(model_cls, seed=1)
        assert {c.design.name for c in configs} == {self.name}
        assert sorted({c.point for c in configs}) == list(range(configs[0].design.n_points))


class TestFullFactorial(DesignContract):
    name = "full_factorial"
    space = {"n": [5, 10, 50], "width": Integer(3, 4), "height": 10}

    def make(self, model_cls, **settings):
        return full_factorial(model_cls, self.space, **settings)

    def bad_name(self, model_cls):
        return full_factorial(model_cls, {"n": [1, 2], "with": [1]})


class TestBaseCase(DesignContract):
    name = "base_case"
    space = {"n": [5, 10, 50], "width": [3, 12], "height": 10}

    def make(self, model_cls, **settings):
        return base_case(
            model_cls,
            {"n": 10, "width": 3, "height": 10},
            {"n": [5, 50], "width": [3, 12]},
            **settings,
        )

    def bad_name(self, model_cls):
        return base_case(model_cls, {"n": 10, "hieght": 3}, {"n": [5]})


class TestManualList(DesignContract):
    name = "manual"
    space = {"n": [5, 10], "width": [3, 4], "height": 10}
    points = [{"n": 5, "width": 3, "height": 10}, {"n": 10, "width": 4, "height": 10}]

    def make(self, model_cls, **settings):
        return manual(model_cls, self.points, **settings)

    def bad_name(self, model_cls):
        return manual(model_cls, [{"n": 5}, {"m": 1}])


class TestManualDataFrame(TestManualList):
    def make(self, model_cls, **settings):
        return manual(model_cls, pd.DataFrame(self.points), **settings)


class TestManualCSV(TestManualList):
    @pytest.fixture(autouse=True)
    def _csv(self, tmp_path):
        self.path = tmp_path / "points.csv"
        pd.DataFrame(self.points).to_csv(self.path, index=False)

    def make(self, model_cls, **settings):
        return manual(model_cls, self.path, **settings)


@pytest.mark.parametrize("method", ["random", "lhs", "sobol", "halton", "grid"])
class TestSample(DesignContract):
    name = "sample"

    @pytest.fixture(autouse=True)
    def _method(self, method):
        self.method = method

    def make(self, model_cls, **settings):
        return sample(model_cls, SPACE, 16, method=self.method, **settings)

    def bad_name(self, model_cls):
        return sample(model_cls, {"n": Integer(1, 5), "wdth": 3}, 4, method=self.method)


class TestSampleMixedTypes(DesignContract):
    name = "sample"
    space = {
        "n": Integer(5, 50),
        "width": Categorical([3, 5, 8]),
        "height": scipy.stats.randint(5, 15),
    }

    def make(self, model_cls, **settings):
        return sample(model_cls, self.space, 32, method="lhs", **settings)

    def bad_name(self, model_cls):
        return sample(model_cls, {"n": Boolean(), "x": Real(0, 1)}, 4)


class TestSaltelli(DesignContract):
    name = "saltelli"

    def make(self, model_cls, **settings):
        return saltelli(
            model_cls, {"n": Real(5, 50), "width": Integer(3, 12), "height": 10}, 8, **settings
        )

    space = {"n": Real(5, 50), "width": Integer(3, 12), "height": 10}

    def bad_name(self, model_cls):
        return saltelli(model_cls, {"n": Real(0, 1), "z": Real(0, 1)}, 8)


class TestMorris(DesignContract):
    name = "morris"

    def make(self, model_cls, **settings):
        return morris(model_cls, SPACE, 6, **settings)

    def bad_name(self, model_cls):
        return morris(model_cls, {"n": Real(0, 1), "z": Real(0, 1)}, 4)


class TestFast(DesignContract):
    name = "fast"

    def make(self, model_cls, **settings):
        return fast(model_cls, SPACE, 65, **settings)

    def bad_name(self, model_cls):
        return fast(model_cls, {"n": Real(0, 1), "z": Real(0, 1)}, 65)


class TestSparseGrid(DesignContract):
    name = "sparse_grid"
    space = {"n": Integer(5, 50), "width": Real(3.0, 12.0), "height": 10}

    def make(self, model_cls, **settings):
        return sparse_grid(model_cls, self.space, 2, **settings)

    def bad_name(self, model_cls):
        return sparse_grid(model_cls, {"n": Real(0, 1), "z": Real(0, 1)}, 2)


class TestConcat(DesignContract):
    name = "full_factorial"
    space = {"n": [5, 10, 50], "width": [3, 4], "height": 10}

    def make(self, model_cls, **settings):
        return concat(
            full_factorial(model_cls, {"n": [5, 10], "width": 3, "height": 10}, **settings),
            full_factorial(model_cls, {"n": [10, 50], "width": 4, "height": 10}, **settings),
        )

    def test_iterations_cross_the_design(self, model_cls):
        # concat keeps each design's own iteration blocks, one design after the other.
        once = self.make(model_cls, seed=9)
        thrice = self.make(model_cls, seed=9, iterations=3)
        assert len(thrice) == 3 * len(once)
        assert {(c.key, c.seed) for c in once} <= {(c.key, c.seed) for c in thrice}

    def test_design_is_recorded(self, model_cls):
        configs = self.make(model_cls, seed=1)
        assert {c.design.name for c in configs} == {"full_factorial"}

    def test_seed_none_is_drawn_once_and_recorded(self, model_cls):
        # Each concatenated design drew its own entropy once.
        configs = self.make(model_cls, seed=None)
        assert len({c.design.seed.entropy for c in configs}) == 2

    def bad_name(self, model_cls):
        return concat(full_factorial(model_cls, {"nn": [1]}))


class TestReplicate(DesignContract):
    name = "sample"

    def make(self, model_cls, iterations=1, **settings):
        return replicate(sample(model_cls, SPACE, 8, **settings), iterations)

    def bad_name(self, model_cls):
        return replicate(sample(model_cls, {"n": Real(0, 1), "q": 1}, 4), 2)


def test_every_public_design_has_a_contract_test():
    from mesa_batch import designs

    tested = {"full_factorial", "base_case", "manual", "sample", "saltelli", "morris", "fast"}
    tested |= {"sparse_grid", "concat", "replicate"}
    limits = {"generate", "max_runs", "run_limit"}  # not designs: building and its run limit
    public = {n for n in designs.__all__ if n.islower() and n not in limits}
    assert public == tested


def test_unit_cube_points_are_spread():
    model_cls = MoneyModel
    configs = sample(model_cls, {"n": Real(0.0, 1.0)}, 64, method="sobol", seed=2, max_steps=5)
    values = np.sort([c.parameters["n"] for c in configs])
    # scrambled Sobol: one point in each of 64 strata
    assert np.array_equal(np.floor(values * 64), np.arange(64))
