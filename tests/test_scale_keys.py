"""Keys and seeds of designs built at scale equal those of the implementation before it.

Building a million configurations became ~20x faster (a run's key from a template, seeds
derived for many runs with numpy arithmetic, point keys assembled from their values'
encodings): these tests pin what must not change. ``OLD`` holds keys and seeds computed on
``main`` at f6dafdc, before that work (each run built with ``RunConfiguration(...)`` and
``numpy.random.SeedSequence``), so that an existing store resumes with the same runs.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesa_batch import (
    Categorical,
    Integer,
    Real,
    RunConfiguration,
    base_case,
    full_factorial,
    manual,
    sample,
)
from mesa_batch.config import point_key_of, point_keys
from mesa_batch.errors import ParameterError
from mesa_batch.keys import MasterSeed, content_key, master_seed, run_seed, run_seeds
from tests.models import KwargsModel, MoneyModel

CASES = {
    "ff_seed1": lambda: full_factorial(
        MoneyModel, {"n": [1, 2, 3], "width": [3, 4]}, iterations=3, seed=1
    ),
    "ff_settings": lambda: full_factorial(
        MoneyModel,
        {"n": range(5), "width": 4},
        iterations=2,
        seed=0,
        max_steps=7,
        data_collection_period=2,
        model_reporters={"G": "gini", "A": "num_agents"},
        agent_reporters={"W": "wealth"},
    ),
    "ff_big_entropy": lambda: full_factorial(
        MoneyModel, {"n": [1, 2]}, iterations=300, seed=2**100 + 12345
    ),
    "ff_seedsequence": lambda: full_factorial(
        MoneyModel,
        {"n": [1, 2]},
        iterations=2,
        seed=np.random.SeedSequence(7, spawn_key=(3, 2**40)),
    ),
    "ff_crn": lambda: full_factorial(
        MoneyModel, {"n": [1, 2, 3]}, iterations=3, seed=5, common_random_numbers=True
    ),
    "sample_int": lambda: sample(
        KwargsModel,
        {"a": Integer(1, 3), "b": Categorical(["x", "y"]), "c": 2.5},
        12,
        seed=9,
        iterations=2,
    ),
    "sample_real": lambda: sample(
        KwargsModel, {"x": Real(0, 1), "y": Real(1, 100, log=True)}, 4, method="sobol", seed=3
    ),
    "base_case": lambda: base_case(
        KwargsModel, {"a": 1, "b": [1, 2], "c": {"h": 1}}, {"a": [1, 2, 3]}, seed=11
    ),
    "manual_dupes": lambda: manual(
        KwargsModel, [{"a": 1}, {"a": 1}, {"a": (1, 2)}, {"a": None}], seed=4, iterations=2
    ),
}

#: (number of runs, [(run_id, iteration, point, key, seed), ...]) on main before the change.
OLD = {
    "ff_seed1": (
        18,
        [
            (0, 0, 0, "a8db386bd339ef835c623ae87a7bf025", 3745873924254408762),
            (1, 0, 1, "9337e48f784430c48660bf828c490f75", 9337649792877527608),
            (9, 1, 3, "cea21329c20444fcaa9921fefdff3cea", 17448533247535908112),
            (17, 2, 5, "ea4f48e55c15de632db4d1c8f04e41f1", 6435546765289021079),
        ],
    ),
    "ff_settings": (
        10,
        [
            (0, 0, 0, "3fbd91abb3d20ef20ff7d4233e5a03b5", 5549774190156138588),
            (1, 0, 1, "c08b83188f3d1991dc8edf14ef37528a", 1947566853828140224),
            (5, 1, 0, "6fe4d83e99302ae1c08497a952ccc6b1", 24598126825198878),
            (9, 1, 4, "d7a4c5df669dee35eadc36cde3dd864c", 2852392596233446686),
        ],
    ),
    "ff_big_entropy": (
        600,
        [
            (0, 0, 0, "c7fd7c2f63e1624074ad2ba32328b06c", 11389386032005172075),
            (1, 0, 1, "8348096ccf00386579d458b2b0a3a311", 7935301083133996010),
            (300, 150, 0, "a6b12c9d73503aab5797c209dc7b39bd", 8028766749726401633),
            (599, 299, 1, "e46ec52bcb8bd87c48424b9ed517baf3", 7428441910711840337),
        ],
    ),
    "ff_seedsequence": (
        4,
        [
            (0, 0, 0, "c7fd7c2f63e1624074ad2ba32328b06c", 1332033312124469982),
            (1, 0, 1, "8348096ccf00386579d458b2b0a3a311", 15187791632779789662),
            (2, 1, 0, "7086088a53978866fbe287157876987b", 12536583364730104729),
            (3, 1, 1, "63a28bb22405c191331fdf00d7f5671a", 10247224883734655604),
        ],
    ),
    "ff_crn": (
        9,
        [
            (0, 0, 0, "c7fd7c2f63e1624074ad2ba32328b06c", 4117058261891355147),
            (1, 0, 1, "8348096ccf00386579d458b2b0a3a311", 4117058261891355147),
            (4, 1, 1, "63a28bb22405c191331fdf00d7f5671a", 12187356113770202648),
            (8, 2, 2, "7b3917edf6192ccfeb4f82395d2081b6", 6620230634530275204),
        ],
    ),
    "sample_int": (
        24,
        [
            (0, 0, 0, "f7601d00b79b51a1481a762542cca668", 9707728356004598786),
            (1, 0, 1, "0e145024d7f6bc955c2229394dea45e0", 12174837594854947832),
            (12, 1, 0, "2febdcddbae2a155aff9776c5bddc5b6", 9581183956276890069),
            (23, 1, 11, "7d4d4a569ddb3c6d4ce3a1f8ffa38d30", 6413159222768067175),
        ],
    ),
    "sample_real": (
        4,
        [
            (0, 0, 0, "0b62135240ee9773850e9bf106846c98", 3058408194189593961),
            (1, 0, 1, "fd92542a1060a5c0c7d6851718ac8fe0", 1323750423664742131),
            (2, 0, 2, "efa2fec215af1a9a575c14200f7ffc0d", 2478693485855530173),
            (3, 0, 3, "a4c76a1c64711acab2cba094616e9025", 17188502640574674939),
        ],
    ),
    "base_case": (
        3,
        [
            (0, 0, 0, "6c805205190b662427970726eac66202", 10295937379542275441),
            (1, 0, 1, "23d7380132b32980a62a65aacd069195", 7700645613719557802),
            (2, 0, 2, "0deec430f331f65c10fcbe55af080de1", 7678085033065992856),
        ],
    ),
    "manual_dupes": (
        8,
        [
            (0, 0, 0, "820ee4923295750c0b03c731015eaa76", 8560442410238067272),
            (1, 0, 1, "a2fc36cc0cfeb3958c0aecafaa40db37", 623821637075881305),
            (4, 1, 0, "96955f9eba4930567c58864567bd4c39", 2961331219327309411),
            (7, 1, 3, "ef1d8aea28ebe440fa5cec5b10302fc0", 18322311658752836688),
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_keys_and_seeds_are_those_of_the_old_implementation(case):
    configs = CASES[case]()
    count, rows = OLD[case]
    assert len(configs) == count
    for run_id, iteration, point, key, seed in rows:
        config = configs[run_id]
        assert (config.run_id, config.iteration, config.point) == (run_id, iteration, point)
        assert (config.key, config.seed) == (key, seed)


@pytest.mark.parametrize("case", list(CASES))
def test_every_run_equals_the_configuration_built_by_hand(case):
    """A design's runs equal RunConfiguration(...) built with their fields (validated, keyed)."""
    configs = CASES[case]()
    for config in configs[:: max(len(configs) // 40, 1)]:
        fields = {name: getattr(config, name) for name in RunConfiguration.FIELDS[:-2]}
        built = RunConfiguration(**fields)
        for name in RunConfiguration.FIELDS:
            assert getattr(built, name) == getattr(config, name), name
        if not config.design.common_random_numbers:
            assert config.seed == run_seed(config.design.seed, config.point_key, config.iteration)


MASTERS = [
    master_seed(0),
    master_seed(1),
    master_seed(2**31),
    master_seed(2**100 + 12345),
    master_seed(np.random.SeedSequence(7, spawn_key=(3, 2**40))),
    MasterSeed(2**127 + 5, (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("master", MASTERS, ids=str)
def test_many_seeds_at_once_equal_seedsequence(master):
    rng = random.Random(master.entropy)
    keys = [f"{rng.getrandbits(128):032x}" for _ in range(64)] + ["0" * 32, "f" * 32]
    seeds = run_seeds(master, keys)
    for iteration in (0, 1, 2, 255, 2**32 - 1, 2**32, 2**70):
        expected = [
            int(master.sequence(*_words(key), iteration).generate_state(1, np.uint64)[0])
            for key in keys
        ]
        assert seeds(iteration) == expected
        assert seeds(iteration) == [run_seed(master, key, iteration) for key in keys]
    assert run_seeds(master, [])(3) == []


def _words(key):
    return [int(key[i : i + 8], 16) for i in range(0, 32, 8)]


class Color(enum.Enum):
    RED = 1


@dataclasses.dataclass(frozen=True)
class Box:
    width: int
    label: str


VALUES = [
    0, 1, -1, 2**70, True, False, None, 0.0, -0.0, 1.0, 0.1, 1e300, 5e-324, math.nan, math.inf,
    -math.inf, "", "a", "é\n\"x\"", "1", (1, 2), [1, [2, "x"]], {"b": 1, "a": [2.5]},
    {1, 2}, b"ab", np.float64(0.1), np.int64(3), np.array([1.5, 2.0]), Color.RED, Box(3, "x"),
    datetime.date(2020, 1, 2), complex(1, 2), range(3),
]  # fmt: skip


def test_point_keys_equal_the_canonical_encoding_of_every_point():
    rng = random.Random(5)
    shared = {"h": [1, 2]}  # one object in many points, as a full factorial's levels are
    points = [{"a": v} for v in VALUES] + [{"a": v, "b": shared} for v in VALUES]
    points += [{"b": shared, "a": v, "zz": rng.choice(VALUES)} for v in VALUES]
    points += [{"a": 1}, {"a": 1}, {"a": True}, {"a": 1.0}, {"a": -0.0}, {"a": 0.0}, {"a": 0.0}]
    points += [{"a": math.nan}, {"a": math.nan}, {}, {}]
    expected, occurrences = [], {}
    for point in points:
        base = point_key_of(MoneyModel, point, 0)
        occurrences[base] = n = occurrences.get(base, -1) + 1
        expected.append((point_key_of(MoneyModel, point, n), n))
    keys, occurrences = point_keys(MoneyModel, points)
    assert list(zip(keys, occurrences, strict=True)) == expected
    keys, occurrences = point_keys(MoneyModel, [{"a": 0.0}, {"a": -0.0}])
    assert len(set(keys)) == 2  # 0.0 and -0.0 are different values, and different points


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "é", "A", "a b", "1"]),
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats()
            | st.text(max_size=4)
            | st.lists(st.integers(), max_size=2)
            | st.tuples(st.floats(), st.text(max_size=2)),
            max_size=4,
        ),
        max_size=8,
    )
)
def test_point_keys_equal_point_key_of_for_any_points(points):
    seen: dict[str, int] = {}
    expected = []
    for point in points:
        base = point_key_of(KwargsModel, point, 0)
        n = seen.get(base, 0)
        seen[base] = n + 1
        expected.append((point_key_of(KwargsModel, point, n), n))
    keys, occurrences = point_keys(KwargsModel, points)
    assert list(zip(keys, occurrences, strict=True)) == expected


def test_a_value_without_a_stable_encoding_is_refused_by_the_design():
    with pytest.raises(ParameterError, match="lambda"):
        full_factorial(KwargsModel, {"f": [lambda: 1]}, seed=1)


def test_configurations_share_their_point_and_settings_and_pickle():
    # a grid's runs make their parameters dict when asked (equal, not one shared object:
    # a million distinct points hold no dict each); a design's list of dicts is shared
    configs = full_factorial(MoneyModel, {"n": [1, 2]}, iterations=3, seed=1)
    assert configs[0].parameters == configs[2].parameters == {"n": 1}  # iteration 1 of point 0
    assert configs[0].point_key == configs[4].point_key
    assert configs[0].parameters != configs[1].parameters
    copies = pickle.loads(pickle.dumps(configs))
    assert copies == configs
    assert [c.key for c in copies] == [c.key for c in configs]
    assert [c.parameters for c in copies] == [c.parameters for c in configs]
    sampled = manual(MoneyModel, [{"n": 1}, {"n": 2}], iterations=3, seed=1)
    assert sampled[0].parameters is sampled[2].parameters
    again = pickle.loads(pickle.dumps(sampled))
    assert again[0].parameters is again[2].parameters  # the pickle keeps the sharing
    assert content_key({"a": 1}) == "4b2bdcab76f3efe9c7ac59694f635709"
