import math

import pytest

from mesa_batch import Categorical, DesignError, Integer, Real, sparse_grid
from tests.models import KwargsModel


def test_far_fewer_points_than_the_full_grid_at_the_same_resolution():
    for dims, level, expected in [(2, 2, 13), (3, 3, 69), (6, 3, 389)]:
        space = {f"x{i}": Real(0.0, 1.0) for i in range(dims)}
        configs = sparse_grid(KwargsModel, space, level, seed=1)
        assert len(configs) == expected
        assert len(configs) < (2**level + 1) ** dims


def test_level_zero_is_the_centre_and_nodes_are_nested():
    space = {"a": Real(0.0, 2.0), "b": Real(10.0, 20.0)}
    assert [c.parameters for c in sparse_grid(KwargsModel, space, 0, seed=1)] == [
        {"a": 1.0, "b": 15.0}
    ]
    level1 = {tuple(c.parameters.values()) for c in sparse_grid(KwargsModel, space, 1, seed=1)}
    level2 = {tuple(c.parameters.values()) for c in sparse_grid(KwargsModel, space, 2, seed=1)}
    assert level1 < level2
    axis = sorted({a for a, _ in level2})
    assert axis[0] == 0.0
    assert axis[-1] == 2.0
    assert axis[2] == 1.0
    assert axis[1] == pytest.approx(1 - math.cos(math.pi / 4))


def test_integers_round_and_duplicates_are_kept_once():
    configs = sparse_grid(KwargsModel, {"a": Integer(0, 2), "b": Real(0.0, 1.0)}, 3, seed=1)
    points = [tuple(c.parameters.values()) for c in configs]
    assert len(points) == len(set(points))
    assert {a for a, _ in points} == {0, 1, 2}
    assert all(isinstance(a, int) for a, _ in points)


def test_sparse_grid_errors():
    with pytest.raises(DesignError, match=r"space\['c'\] must be a Real or an Integer range"):
        sparse_grid(KwargsModel, {"a": Real(0, 1), "c": Categorical([1, 2])}, 2)
    with pytest.raises(DesignError, match="level must be an int >= 0; received -1"):
        sparse_grid(KwargsModel, {"a": Real(0, 1)}, -1)
