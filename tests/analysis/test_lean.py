"""An analysis given a store's path reads it leanly, and gives what the whole reading gives."""

from __future__ import annotations

import pathlib

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mesa.examples import BoltzmannWealth

from mesa_batch import Results, full_factorial
from mesa_batch.analysis import aggregate, final
from mesa_batch.analysis._data import INDEX_COLUMNS
from mesa_batch.analysis._lean import lean_source
from tests.store.test_corruption import sweep


def assert_analysed_alike(store: pathlib.Path, *, lean: bool = True) -> None:
    """``final`` and ``aggregate`` of the path equal those of ``Results.open`` (the whole way).

    Args:
        store: The store.
        lean: Whether the path is read leanly (else: it falls back to ``Results.open``).
    """
    assert (lean_source(store) is not None) is lean
    results = Results.open(store)
    pd.testing.assert_frame_equal(final(store), final(results))
    if "model" not in results.tables:
        return
    outcomes = [c for c in results.columns("model") if c not in INDEX_COLUMNS]
    groupings = [{"by": results.parameter_names[:1]}] if results.parameter_names else []
    for outcome in outcomes:
        for options in ({}, {"at": "all"}, {"at": 1}, *groupings):
            pd.testing.assert_frame_equal(
                aggregate(store, outcome, confidence=None, **options),
                aggregate(results, outcome, confidence=None, **options),
            )


def test_a_path_is_read_leanly_with_the_values_of_memory_and_the_store(both):
    configs = full_factorial(
        BoltzmannWealth, {"n": [5, 10], "width": [5, 10], "height": 5}, iterations=3,
        max_steps=4, data_collection_period=2, seed=21,
    )  # fmt: skip
    memory, store = both("lean", configs)
    assert lean_source(store.store) is not None
    for options in ({}, {"at": "all"}, {"by": "n", "method": "bootstrap", "seed": 2}):
        expected = aggregate(memory, "Gini", **options)
        pd.testing.assert_frame_equal(aggregate(store.store, "Gini", **options), expected)
        pd.testing.assert_frame_equal(aggregate(str(store.store), "Gini", **options), expected)
    pd.testing.assert_frame_equal(
        aggregate(store.store, "Wealth", table="agents", at="all"),
        aggregate(memory, "Wealth", table="agents", at="all"),
    )
    pd.testing.assert_frame_equal(final(store.store), final(memory))
    assert_analysed_alike(store.store)


def test_several_designs_group_by_design_and_point_as_the_whole_reading(tmp_path):
    store = tmp_path / "store"
    sweep(store, full_factorial(BoltzmannWealth, {"n": [4, 6]}, iterations=2, max_steps=2, seed=1))
    sweep(store, full_factorial(BoltzmannWealth, {"n": [5]}, iterations=2, max_steps=2, seed=2))
    table = aggregate(store, "Gini")
    assert list(table.columns[:3]) == ["design", "point", "n (parameter)"]
    assert table["design"].nunique() == 2
    assert_analysed_alike(store)


def test_unknown_names_give_the_whole_readings_errors(tmp_path):
    store = tmp_path / "store"
    sweep(store, full_factorial(BoltzmannWealth, {"n": [4, 6]}, iterations=2, max_steps=2, seed=1))
    with pytest.raises(Exception, match=r"outcome must be a column of table 'model'") as lean:
        aggregate(store, "gini")
    with pytest.raises(Exception, match=r"outcome must be a column of table 'model'") as whole:
        aggregate(Results.open(store), "gini")
    assert str(lean.value) == str(whole.value)
    with pytest.raises(Exception, match="table must be one of the sweep's data tables"):
        aggregate(store, "Gini", table="agent")
    with pytest.raises(Exception, match=r"by must name parameters of the sweep .*'size'"):
        aggregate(store, "Gini", by="size")


def test_a_store_the_lean_reading_does_not_cover_is_opened_the_whole_way(tmp_path):
    store = tmp_path / "store"
    sweep(store, full_factorial(BoltzmannWealth, {"n": [4, 6]}, iterations=2, max_steps=2, seed=1))
    plan = next((store / "plan").glob("*.parquet"))
    table = pq.read_table(plan)
    keys = table.column("key").to_pylist()
    keys[0] = "f" * 32  # the plan disagrees with the runs parts: reconciled the whole way
    pq.write_table(table.set_column(table.schema.get_field_index("key"), "key", pa.array(keys)),
                   plan)  # fmt: skip
    assert_analysed_alike(store, lean=False)
    rows = final(store)  # the run whose key changed is listed, without its parameters
    assert len(rows) == 4
    assert rows["point"].isna().sum() == 1


def test_a_path_that_is_not_a_store_gets_the_usual_error(tmp_path):
    with pytest.raises(Exception, match="must be an existing directory"):
        aggregate(tmp_path / "missing", "Gini")
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match="must be a mesa_batch store directory"):
        aggregate(tmp_path / "empty", "Gini")
