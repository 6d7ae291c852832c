import numpy as np
import pytest
from SALib.analyze import fast as fast_analyze
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze

from mesa_batch import Categorical, DesignError, Integer, Real, fast, morris, saltelli
from tests.models import KwargsModel

SPACE = {"x1": Real(-np.pi, np.pi), "x2": Real(-np.pi, np.pi), "x3": Real(-np.pi, np.pi)}


def ishigami(p):
    return np.sin(p["x1"]) + 7 * np.sin(p["x2"]) ** 2 + 0.1 * p["x3"] ** 4 * np.sin(p["x1"])


def test_saltelli_sizes():
    assert len(saltelli(KwargsModel, SPACE, 16, seed=1)) == 16 * (2 * 3 + 2)
    assert len(saltelli(KwargsModel, SPACE, 16, calc_second_order=False, seed=1)) == 16 * 5


def test_saltelli_design_records_what_salib_needs_and_analyses_correctly():
    configs = saltelli(KwargsModel, SPACE, 512, seed=1)
    info = configs[0].design
    assert info.name == "saltelli"
    assert info.options["problem"]["names"] == ["x1", "x2", "x3"]
    assert info.options["calc_second_order"] is True
    ordered = sorted(configs, key=lambda c: c.point)
    y = np.array([ishigami(c.parameters) for c in ordered])
    indices = sobol_analyze.analyze(info.options["problem"], y, seed=1)
    # Known first-order indices of the Ishigami function: 0.314, 0.442, 0.0
    assert indices["S1"] == pytest.approx([0.314, 0.442, 0.0], abs=0.08)


def test_morris_sizes_levels_and_analysis():
    configs = morris(KwargsModel, SPACE, 10, num_levels=4, seed=2)
    assert len(configs) == 10 * 4
    x1 = {round(c.parameters["x1"], 9) for c in configs}
    assert len(x1) <= 4
    info = configs[0].design
    x = np.array([[c.parameters[n] for n in ("x1", "x2", "x3")] for c in configs])
    unit = (x + np.pi) / (2 * np.pi)
    y = np.array([ishigami(c.parameters) for c in configs])
    result = morris_analyze.analyze(info.options["problem"], unit, y, num_levels=4, seed=1)
    assert result["mu_star"][1] > result["mu_star"][2]  # x2 matters more than x3
    # duplicated points across trajectories stay distinct runs
    assert len({c.key for c in configs}) == len(configs)


def test_morris_optimal_trajectories_and_categoricals():
    space = {"a": Integer(1, 4), "b": Categorical(["x", "y"]), "c": Real(0, 1)}
    configs = morris(KwargsModel, space, 12, optimal_trajectories=4, seed=3)
    assert len(configs) == 4 * 4
    assert {c.parameters["b"] for c in configs} <= {"x", "y"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trajectories": 0}, "trajectories must be a positive int"),
        ({"trajectories": 4, "num_levels": 3}, r"num_levels must be even"),
        ({"trajectories": 4, "num_levels": 1}, r"num_levels must be an int >= 2"),
        ({"trajectories": 4, "optimal_trajectories": 4}, "optimal_trajectories must be less"),
    ],
)
def test_morris_errors(kwargs, message):
    with pytest.raises(DesignError, match=message):
        morris(KwargsModel, SPACE, **kwargs)


def test_saltelli_errors():
    with pytest.raises(DesignError, match="n must be a positive int"):
        saltelli(KwargsModel, SPACE, -1)


def test_fast_is_salibs_fast_sample_in_its_order_and_analyses_correctly():
    from SALib.sample import fast_sampler

    configs = fast(KwargsModel, {**SPACE, "c": 5}, 500, M=4, seed=4)
    assert len(configs) == 500 * 3
    info = configs[0].design
    assert (info.name, info.options["n"], info.options["M"]) == ("fast", 500, 4)
    assert info.options["problem"]["names"] == ["x1", "x2", "x3"]
    assert all(c.parameters["c"] == 5 for c in configs)
    # the unit sample is SALib's, drawn with the design's generator
    from mesa_batch.keys import master_seed

    rng = master_seed(4).sampling_rng()
    expected = fast_sampler.sample(info.options["problem"], 500, M=4, seed=rng)
    np.testing.assert_array_equal(info.samples, expected)
    x = np.array([[c.parameters[n] for n in SPACE] for c in sorted(configs, key=lambda c: c.point)])
    np.testing.assert_allclose(x, -np.pi + expected * 2 * np.pi)
    y = np.array([ishigami(c.parameters) for c in sorted(configs, key=lambda c: c.point)])
    with pytest.warns(UserWarning, match="FAST confidence intervals"):
        indices = fast_analyze.analyze(info.options["problem"], y, M=4, seed=1)
    assert indices["S1"] == pytest.approx([0.314, 0.442, 0.0], abs=0.05)
    # the same seed gives the same design; another seed shifts the curves' phases
    assert [c.key for c in fast(KwargsModel, {**SPACE, "c": 5}, 500, seed=4)] == [
        c.key for c in configs
    ]
    assert fast(KwargsModel, SPACE, 500, seed=5)[0].key != configs[0].key


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 64}, r"n must be greater than 4 \* M\*\*2 = 64 \(M = 4\).*received 64\. Pass n=65"),
        ({"n": 36, "M": 3}, r"4 \* M\*\*2 = 36 \(M = 3\).*Pass n=37 or more"),
        ({"n": 0}, "n must be a positive int"),
        ({"n": 100, "M": 0}, "M must be a positive int"),
        ({"n": 100, "M": 2.0}, "M must be"),
        ({"n": 10**8}, r"at most 10,000,000 runs.*300,000,000 points x 1 iterations"),
    ],
)
def test_fast_errors(kwargs, message):
    with pytest.raises(DesignError, match=message):
        fast(KwargsModel, SPACE, **kwargs)
