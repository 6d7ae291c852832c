"""A design's runs as one block of arrays, each configuration a view of its place in it.

These pin that a view behaves as a configuration built directly: the same fields, equality,
pickling (standalone and small), renumbering, replicas and changed settings.
"""

import pickle

import pytest

from mesa_batch import RunConfiguration, concat, full_factorial, manual, replicate
from mesa_batch.config import renumber, with_settings
from tests.models import MoneyModel


def grid(width=3, **settings):
    settings = {"iterations": 2, "seed": 1} | settings
    return full_factorial(MoneyModel, {"n": [1, 2, 3], "width": range(width)}, **settings)


def built(config):
    """The configuration built directly from a view's fields."""
    fields = {name: getattr(config, name) for name in RunConfiguration.FIELDS[:-2]}
    return RunConfiguration(**fields)


def test_a_view_equals_the_configuration_built_directly():
    configs = grid()
    assert [c.run_id for c in configs] == list(range(18))
    for config in configs:
        direct = built(config)
        assert direct == config
        assert hash(direct) == hash(config)
        for field in RunConfiguration.FIELDS:
            assert getattr(direct, field) == getattr(config, field), field
        assert type(config.seed) is int
        assert type(config.run_id) is int


def test_a_view_pickles_standalone_and_small():
    small, large = grid(width=1)[0], grid(width=5000)[0]
    assert small.parameters == large.parameters == {"n": 1, "width": 0}
    # the block of 30,000 runs is not shipped: one run pickles the same size from either
    design_options = len(pickle.dumps(large.design)) - len(pickle.dumps(small.design))
    assert len(pickle.dumps(large)) - len(pickle.dumps(small)) == design_options
    assert len(pickle.dumps(small)) < 6000  # as a configuration built alone pickles (~5 kB)
    copy = pickle.loads(pickle.dumps(large))
    assert copy == large
    assert copy.parameters == large.parameters
    assert pickle.loads(pickle.dumps(copy)) == copy


def test_renumbering_a_block_keeps_every_field_but_the_run_id():
    configs = grid()
    ids = [100 + 2 * i for i in range(len(configs))]
    renumbered = renumber(configs, ids)
    assert [c.run_id for c in renumbered] == ids
    assert renumbered == [c.renumbered(i) for c, i in zip(configs, ids, strict=True)]
    assert [c.run_id for c in configs] == list(range(18))  # the originals are unchanged
    for old, new in zip(configs, renumbered, strict=True):
        assert (new.key, new.seed, new.parameters) == (old.key, old.seed, old.parameters)
    # the same run twice keeps both numbers
    twice = renumber([configs[3], configs[3]], [7, 8])
    assert [c.run_id for c in twice] == [7, 8]
    assert twice[0].key == twice[1].key
    # renumbered again: from the renumbered block
    again = renumber(renumbered, list(range(len(configs))))
    assert again == configs


def test_concat_renumbers_blocks():
    first, second = grid(), grid(width=4)  # the second holds the first's runs and more
    combined = concat(first, second)
    assert [c.run_id for c in combined] == list(range(24))
    assert combined[:18] == first
    assert {c.key for c in combined} == {c.key for c in second}


def test_replicas_of_a_block_equal_the_design_with_more_iterations_and_share_points():
    once = grid(iterations=1)
    assert replicate(once, 3) == grid(iterations=3)
    assert once[4].with_iteration(2, run_id=40) == grid(iterations=3)[22].renumbered(40)
    replicas = [once[4].replica(i, run_id=i, seed=i) for i in range(3)]
    assert replicas[0].parameters is replicas[2].parameters
    assert replicas[0].parameters == once[4].parameters


def test_changed_settings_of_a_block_are_not_keyed_again():
    configs = grid()
    changed = with_settings(configs, max_steps=7)
    assert [c.max_steps for c in changed] == [7] * len(configs)
    assert [c.max_steps for c in configs] == [1000] * len(configs)
    assert [(c.key, c.seed, c.run_id) for c in changed] == [
        (c.key, c.seed, c.run_id) for c in configs
    ]
    assert [c.parameters for c in changed] == [c.parameters for c in configs]


@pytest.mark.parametrize("common_random_numbers", [False, True])
def test_a_list_design_and_a_grid_make_the_same_runs(common_random_numbers):
    points = [{"n": n, "width": w} for n in [1, 2, 3] for w in range(3)]
    settings = {"seed": 1, "common_random_numbers": common_random_numbers}
    listed = manual(MoneyModel, points, iterations=2, **settings)
    gridded = grid(**settings)
    assert [(c.point_key, c.seed, c.parameters) for c in listed] == [
        (c.point_key, c.seed, c.parameters) for c in gridded
    ]


def test_a_store_plan_encodes_every_run_of_a_block_with_its_own_point():
    from mesa_batch.config import parameters_identity
    from mesa_batch.store.encoding import encode_parameters
    from mesa_batch.store.records import plan_table

    configs = grid()
    texts = plan_table(configs).column("parameters").to_pylist()
    assert texts == [encode_parameters(c.parameters)[0] for c in configs]
    assert parameters_identity(configs[0]) == parameters_identity(configs[9])  # one point
    assert parameters_identity(configs[0]) != parameters_identity(configs[1])
