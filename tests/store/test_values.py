"""Values that vary in type between runs: the store keeps every value, and reads like memory.

A contract: one sweep of real reporters, run in memory and into a store (in one session, and
in two sessions so that the values sit in different parts), gives equal tables.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from mesa_batch import BatchRunner, Results, full_factorial
from mesa_batch.store.unify import ColumnTypesWarning
from tests.store.valuemodels import CASES, UnstorableModel, ValueModel

#: Cases whose values no one type holds exactly: read as Python objects, with a warning.
MIXED = {
    "int_str",
    "bool_int",
    "int_list",
    "list_dict",
    "bytes_str",
    "big_float",
    "past_int64",
    "negative_past",
}


def configs(case, ns=(0, 1)):
    return full_factorial(ValueModel, {"case": [case], "n": list(ns)}, max_steps=2, seed=3)


def run(sweep, *args, **kwargs):
    """Run a sweep; the runner's own reads of the store may warn about mixed columns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnTypesWarning)
        return BatchRunner(sweep, *args, display_progress=False, **kwargs).run()


def in_memory(case):
    return BatchRunner(configs(case), display_progress=False).run().dataframe("model")


def read(store):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = Results.open(store).dataframe("model")
    return frame, [w for w in caught if issubclass(w.category, ColumnTypesWarning)]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("sessions", [1, 2])
def test_a_store_reads_like_memory(tmp_path, case, sessions):
    store = tmp_path / "store"
    if sessions == 2:  # the two runs' values in two sessions' parts
        run(configs(case, [0]), store=store)
    run(configs(case), store=store)
    stored, caught = read(store)
    memory = in_memory(case)
    pd.testing.assert_frame_equal(stored, memory)
    assert stored["value"].tolist() == [CASES[case][0], CASES[case][1]]
    assert bool(caught) == (case in MIXED), [str(w.message) for w in caught]
    if caught:
        assert "table 'model', column 'value' holds values of several types" in str(
            caught[0].message
        )


def test_the_warning_names_the_types_found(tmp_path):
    store = tmp_path / "store"
    run(configs("int_str", [0]), store=store)
    run(configs("int_str"), store=store)
    _, caught = read(store)
    assert len(caught) == 1
    assert "(int64, string)" in str(caught[0].message)


def test_large_ints_beside_none_stay_exact(tmp_path):
    store = tmp_path / "store"
    run(configs("big_none"), store=store)
    stored, caught = read(store)
    assert not caught
    assert stored["value"].tolist()[:1] == [2**62 + 1]
    assert stored["value"].tolist()[1:] == [None]


@pytest.mark.parametrize("processes", [1, 2])
def test_ints_past_int64_are_stored(tmp_path, processes):
    store = tmp_path / "store"
    results = run(configs("past_int64"), processes, store=store)
    assert set(results.runs["status"]) == {"succeeded"}
    stored, _ = read(store)
    assert stored["value"].tolist() == [2**70, 1]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_value_no_column_holds_fails_its_run_only(tmp_path, processes):
    store = tmp_path / "store"
    sweep = full_factorial(UnstorableModel, {"n": [0, 1, 2, 3]}, max_steps=1, seed=1)
    with pytest.warns(UserWarning, match="failed"):
        results = BatchRunner(sweep, processes, display_progress=False, store=store).run()
    runs = results.runs.set_index("run_id")
    assert runs["status"].to_dict() == {0: "succeeded", 1: "failed", 2: "succeeded", 3: "succeeded"}
    assert runs.loc[1, "failure_stage"] == "collect"
    assert runs.loc[1, "failure_type"] == "UnicodeEncodeError"
    assert (
        "the column 'value' of the table 'model' must hold values" in runs.loc[1, "failure_message"]
    )
    stored = Results.open(store).dataframe("model")
    assert sorted(set(stored["run_id"])) == [0, 2, 3]
    # resuming (failed runs again too) neither crashes nor loses the stored runs
    with pytest.warns(UserWarning, match="failed"):
        again = BatchRunner(
            sweep, processes, display_progress=False, store=store, retry_failed=True
        ).run()
    assert (again.runs["status"] == "succeeded").sum() == 3
