"""The one rule by which a column's values become one type, in memory and in a store."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mesa_batch.columns import ENCODED, arrow_table, as_array, concat_columns, unify


def test_ints_beside_missing_values_stay_ints():
    array = unify([1, None, 3])
    assert array.dtype == object
    assert array.tolist() == [1, None, 3]
    assert [type(v) for v in array.tolist()] == [int, type(None), int]


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([1, 2], np.int64),
        ([1, 2.5], np.float64),
        ([2**63 + 5, 3], np.uint64),
        ([True, False], np.bool_),
        ([1.5, float("nan")], np.float64),
    ],
)
def test_values_of_one_exact_type_get_it(values, dtype):
    array = unify(values)
    assert array.dtype == dtype
    expected = [np.nan if v is None else v for v in values]
    np.testing.assert_array_equal(array, np.asarray(expected, dtype=dtype))


@pytest.mark.parametrize(
    "values",
    [
        [2**60 + 1, 2.5],  # past 2**53 beside a float: a float would round it
        [2**62 + 1, None],  # past 2**53 beside None
        [2**70, 1],
        [-(2**70), 1],
        [-1, 2**63],  # no 64-bit int holds both
        [True, 2],
        [1, "one"],
        [b"\x00", "text"],
        [[1, 2], {"a": 1}],
        [True, None],
    ],
)
def test_other_values_stay_exactly_as_they_are(values):
    array = unify(values)
    assert array.dtype == object
    assert array.tolist() == values
    assert [type(v) for v in array.tolist()] == [type(v) for v in values]


def test_concatenating_batches_follows_the_same_rule():
    parts = [{"a": np.array([2**60 + 1])}, {"a": np.array([2.5])}]
    assert concat_columns(parts)["a"].tolist() == [2**60 + 1, 2.5]
    parts = [{"a": np.array([1])}, {"a": np.array([2.5])}]
    assert concat_columns(parts)["a"].dtype == np.float64
    parts = [{"a": np.array([2**63 + 5], dtype=np.uint64)}, {"a": np.array([3])}]
    assert concat_columns(parts)["a"].dtype == np.uint64
    parts = [{"a": np.array([True])}, {"a": np.array([2])}]
    assert concat_columns(parts)["a"].tolist() == [True, 2]


def test_columns_no_arrow_type_holds_are_encoded_and_marked():
    table, encoded = arrow_table({"x": as_array([1, "one"]), "y": as_array([1.5, 2.0])})
    assert encoded == ["x"]
    assert table.schema.field("x").metadata[ENCODED] == b"json"
    assert table.schema.field("x").type == pa.string()
    assert table.schema.field("y").type == pa.float64()
    assert table.column("x").to_pylist() == ["1", '"one"']
