import dataclasses
import datetime
import enum
import pathlib
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesa_batch.errors import ConfigurationError, ParameterError
from mesa_batch.keys import (
    KEY_VERSION,
    MasterSeed,
    canonical,
    check_seed_value,
    content_key,
    key_words,
    master_seed,
    run_seed,
)


class Color(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    LOW = 1


@dataclasses.dataclass
class Grid:
    width: int
    height: int


Point = namedtuple("Point", "x y")


class WithRepr:
    def __init__(self, v):
        self.v = v

    def __repr__(self):
        return f"WithRepr({self.v!r})"


class WithoutRepr:
    pass


def module_level_function():
    return 1


def test_encoding_is_pinned():
    # Changing the canonical encoding changes every key; bump KEY_VERSION when it must change.
    assert KEY_VERSION == 1
    assert content_key({"a": 1, "b": [1.0, "x", None, True]}) == content_key(
        {"b": [1.0, "x", None, True], "a": 1}
    )
    assert content_key({"a": 1}) == "4b2bdcab76f3efe9c7ac59694f635709"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, 1.0),
        (1, True),
        (0, False),
        (1, "1"),
        ([1, 2], (1, 2)),
        ([1, 2], {1, 2}),
        (b"ab", "ab"),
        ({"a": 1}, [["a", 1]]),
        (np.array([1, 2]), [1, 2]),
        (np.array([1, 2], dtype=np.int32), np.array([1, 2], dtype=np.int64)),
        (Color.RED, 1),
        (Level.LOW, 1),
        (Point(1, 2), (1, 2)),
        (Grid(1, 2), {"width": 1, "height": 2}),
        (float("nan"), None),
        (pathlib.Path("a"), "a"),
    ],
)
def test_canonical_keeps_different_values_apart(a, b):
    assert content_key({"v": a}) != content_key({"v": b})


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"x": 1, "y": 2}, {"y": 2, "x": 1}),
        ({1, 2, 3}, {3, 2, 1}),
        (np.int64(3), 3),
        (np.float64(0.5), 0.5),
        (np.bool_(True), True),
        (Grid(1, 2), Grid(1, 2)),
        (WithRepr(3), WithRepr(3)),
        (datetime.date(2026, 1, 2), datetime.date(2026, 1, 2)),
        (module_level_function, module_level_function),
    ],
)
def test_canonical_equal_values_give_equal_keys(a, b):
    assert content_key({"v": a}) == content_key({"v": b})


def test_unstable_values_are_refused_with_a_clear_message():
    with pytest.raises(ParameterError, match=r"lambda.*module level"):
        canonical(lambda: 1)
    with pytest.raises(ParameterError, match=r"default repr.*dataclass"):
        canonical(WithoutRepr())

    def local():
        return 1

    with pytest.raises(ParameterError, match="stable identity"):
        canonical(local)


def test_canonical_is_json_ready():
    import json

    value = {"a": [1, (2, 3), {4}], "b": np.array([[1, 2]]), "c": {"d": b"x"}}
    json.dumps(canonical(value), allow_nan=True)


def test_master_seed_forms():
    assert master_seed(42) == MasterSeed(42)
    assert master_seed(np.int64(7)) == MasterSeed(7)
    sequence = np.random.SeedSequence(5, spawn_key=(1, 2))
    assert master_seed(sequence) == MasterSeed(5, (1, 2))
    drawn = master_seed(None)
    assert drawn.entropy > 0
    assert master_seed(None) != drawn  # fresh entropy each time
    assert master_seed(drawn) is drawn


@pytest.mark.parametrize("bad", [-1, 1.5, "42", True, [1, 2], np.random.default_rng(1)])
def test_master_seed_refuses_other_values(bad):
    with pytest.raises(ConfigurationError, match=r"seed must be a non-negative int.*received"):
        master_seed(bad)


def test_run_seed_is_a_uint64_and_depends_on_point_and_iteration():
    master = MasterSeed(1)
    key_a, key_b = "0" * 32, "f" * 32
    seeds = {run_seed(master, k, i) for k in (key_a, key_b) for i in range(3)}
    assert len(seeds) == 6
    assert all(isinstance(s, int) and 0 <= s < 2**64 for s in seeds)
    assert run_seed(master, key_a, 0) == run_seed(MasterSeed(1), key_a, 0)
    assert run_seed(MasterSeed(2), key_a, 0) != run_seed(master, key_a, 0)


def test_common_random_numbers_share_a_seed_per_iteration():
    master = MasterSeed(1)
    a = run_seed(master, "0" * 32, 0, common_random_numbers=True)
    b = run_seed(master, "f" * 32, 0, common_random_numbers=True)
    c = run_seed(master, "f" * 32, 1, common_random_numbers=True)
    assert a == b != c


def test_seed_words_and_sequences_match_numpy_spawning():
    master = MasterSeed(42)
    assert key_words("0000000100000002000000030000000a") == (1, 2, 3, 10)
    child = master.sequence(3)
    assert child.generate_state(2).tolist() == (
        np.random.SeedSequence(42).spawn(4)[3].generate_state(2).tolist()
    )


@pytest.mark.parametrize("bad", [-1, 2**64, 1.0, "1", True])
def test_check_seed_value(bad):
    with pytest.raises(ConfigurationError, match=r"seed must be an int in \[0, 2\*\*64\)"):
        check_seed_value(bad)
    assert check_seed_value(np.uint64(2**64 - 1)) == 2**64 - 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=5))
def test_keys_ignore_insertion_order(parameters):
    reversed_order = dict(reversed(list(parameters.items())))
    assert content_key({"p": parameters}) == content_key({"p": reversed_order})
    assert len(content_key({"p": parameters})) == 32
