"""Property-based tests: keys and seeds are stable under the changes users make to designs."""

from hypothesis import given, settings
from hypothesis import strategies as st

from mesa_batch import full_factorial, manual
from tests.models import KwargsModel

names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: n not in {"rng", "seed", "scenario"}
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(allow_nan=False)
    | st.text(max_size=4)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)
points = st.lists(st.dictionaries(names, values, min_size=1, max_size=4), min_size=1, max_size=6)
seeds = st.integers(0, 2**32)


def identity(configs):
    return [(c.key, c.seed) for c in configs]


@settings(max_examples=60, deadline=None)
@given(points, seeds)
def test_same_inputs_give_the_same_configurations(pts, seed):
    a = manual(KwargsModel, pts, seed=seed, iterations=2)
    b = manual(KwargsModel, pts, seed=seed, iterations=2)
    assert identity(a) == identity(b)
    assert [c.parameters for c in a] == [c.parameters for c in b]


@settings(max_examples=60, deadline=None)
@given(points, points, seeds)
def test_adding_points_leaves_existing_keys_and_seeds_unchanged(first, more, seed):
    before = manual(KwargsModel, first, seed=seed)
    after = manual(KwargsModel, first + more, seed=seed)
    assert identity(after[: len(before)]) == identity(before)


@settings(max_examples=40, deadline=None)
@given(points, st.integers(1, 3), st.integers(1, 3), seeds)
def test_adding_iterations_leaves_existing_keys_and_seeds_unchanged(pts, a, b, seed):
    few, many = sorted((a, a + b))
    before = manual(KwargsModel, pts, seed=seed, iterations=few)
    after = manual(KwargsModel, pts, seed=seed, iterations=many)
    assert set(identity(before)) <= set(identity(after))
    assert identity(after[: len(before)]) == identity(before)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 100), min_size=1, max_size=5, unique=True),
    st.lists(st.integers(101, 200), min_size=1, max_size=3, unique=True),
    seeds,
)
def test_extending_a_sweep_or_reordering_it_keeps_each_runs_key_and_seed(base, extra, seed):
    before = full_factorial(KwargsModel, {"a": base, "b": ["x", "y"]}, seed=seed, iterations=2)
    after = full_factorial(
        KwargsModel, {"b": ["y", "x"], "a": extra + base[::-1]}, seed=seed, iterations=2
    )
    assert set(identity(before)) <= set(identity(after))


@settings(max_examples=40, deadline=None)
@given(points, seeds, st.integers(0, 50))
def test_run_ids_do_not_change_keys(pts, seed, shift):
    configs = manual(KwargsModel, pts, seed=seed)
    shifted = [c.replace(run_id=c.run_id + shift) for c in configs]
    assert identity(shifted) == identity(configs)
