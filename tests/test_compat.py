"""The drop-in batch_run: Mesa 3.5.1's output, and the documented differences."""

from __future__ import annotations

import multiprocessing

import mesa
import pytest

from mesa_batch import (
    BatchRunner,
    ParameterError,
    RunFailedWarning,
    batch_run,
    full_factorial,
    manual,
)
from mesa_batch.compat import make_model_kwargs
from tests.conftest import HAS_SCENARIO, MESA_VERSION
from tests.models import (
    CounterModel,
    IdReportingModel,
    KwargsModel,
    MoneyModel,
    SeedModel,
    ShopsModel,
    SilentReporterModel,
)

has_mesa_batch_run = pytest.mark.skipif(
    MESA_VERSION[:2] != (3, 5) or not hasattr(mesa, "batch_run"),
    reason="compares with mesa.batch_run of Mesa 3.5.x",
)


@pytest.fixture
def mesa_batch_run():
    """Mesa's own batch_run; it sets the start method to spawn, which is undone afterwards."""
    method = multiprocessing.get_start_method(allow_none=True)
    yield mesa.batch_run
    multiprocessing.set_start_method(method, force=True)


CASES = [
    (MoneyModel, {"n": [5, 8], "width": 4}, {"rng": [42, 7], "data_collection_period": -1}),
    (MoneyModel, {"n": [5, 8], "width": 4}, {"rng": [42, 7], "data_collection_period": 1}),
    (MoneyModel, {"n": range(3, 6)}, {"rng": 11, "data_collection_period": 5}),
    (CounterModel, {"n": [1, 3], "collect": "typed"}, {"rng": 1, "data_collection_period": 1}),
    (CounterModel, {"collect": "sparse", "stop_at": 20}, {"rng": 1, "data_collection_period": 1}),
    (CounterModel, {"collect": "twice", "n": 2}, {"rng": 1, "data_collection_period": 1}),
    (CounterModel, {"collect": "twice", "n": 2}, {"rng": 1, "data_collection_period": 2}),
    (SeedModel, {"n": [1, 2]}, {"rng": [5, 6], "data_collection_period": -1}),
]


@has_mesa_batch_run
@pytest.mark.parametrize(("model_cls", "parameters", "options"), CASES)
def test_same_rows_as_mesa_batch_run(mesa_batch_run, model_cls, parameters, options):
    settings = {"max_steps": 10, "display_progress": False, **options}
    expected = mesa_batch_run(model_cls, parameters, **settings)
    actual = batch_run(model_cls, parameters, **settings)
    assert actual == expected


@has_mesa_batch_run
def test_same_rows_as_mesa_in_parallel(mesa_batch_run):
    settings = {"max_steps": 10, "display_progress": False, "rng": [3, 4], "number_processes": 2}
    expected = mesa_batch_run(MoneyModel, {"n": [4, 6, 8]}, **settings)
    actual = batch_run(MoneyModel, {"n": [4, 6, 8]}, **settings)
    key = lambda row: (row["RunId"], row["Step"], row.get("AgentID", 0))  # noqa: E731
    assert sorted(actual, key=key) == sorted(expected, key=key)


@has_mesa_batch_run
def test_every_nth_collection_keeps_the_final_state_mesa_drops(mesa_batch_run):
    settings = {"max_steps": 10, "display_progress": False, "rng": 1, "data_collection_period": 3}
    expected = mesa_batch_run(MoneyModel, {"n": 4}, **settings)
    actual = batch_run(MoneyModel, {"n": 4}, **settings)
    assert sorted({r["Step"] for r in expected}) == [0, 3, 6, 9]
    assert sorted({r["Step"] for r in actual}) == [0, 3, 6, 9, 10]
    assert [r for r in actual if r["Step"] != 10] == expected


def test_exact_rows_for_a_deterministic_model():
    rows = batch_run(CounterModel, {"n": 3}, max_steps=10, rng=42, display_progress=False)
    assert rows == [
        {
            "RunId": 0,
            "iteration": 0,
            "Step": 10,
            "n": 3,
            "rng": 42,
            "Total": 30,
            "Count": 10,
            "AgentID": agent_id,
            "Value": 10,
        }
        for agent_id in (1, 2, 3)
    ]


def test_seeds_and_iterations():
    rows = batch_run(CounterModel, {"n": 1}, max_steps=2, rng=[None], display_progress=False)
    assert rows[0]["rng"] is None
    rows = batch_run(CounterModel, {"n": 1}, max_steps=2, rng=[42, 31415], display_progress=False)
    assert [(r["RunId"], r["iteration"], r["rng"]) for r in rows] == [(0, 0, 42), (1, 1, 31415)]
    with pytest.raises(ValueError, match="cannot use both iterations and rng"):
        batch_run(CounterModel, {}, iterations=1, rng=42)
    with pytest.warns(DeprecationWarning, match=r"iterations.*deprecated.*rng"):
        rows = batch_run(CounterModel, {"n": 1}, iterations=2, max_steps=1, display_progress=False)
    assert [r["iteration"] for r in rows] == [0, 1]


def test_seed_column_is_named_after_the_models_seed_argument():
    rows = batch_run(SeedModel, {"n": 1}, max_steps=1, rng=3, display_progress=False)
    assert rows == [
        {"RunId": 0, "iteration": 0, "Step": 1, "n": 1, "seed": 3, "draw": rows[0]["draw"]}
    ]
    rows = batch_run(CounterModel, {"n": 1}, max_steps=1, rng=3, display_progress=False)
    assert rows[0]["rng"] == 3


def test_iteration_is_the_outer_loop_and_unhashable_values_pass_through():
    rows = batch_run(CounterModel, {"n": 2}, max_steps=1, rng=[None, None], display_progress=False)
    assert [(r["RunId"], r["iteration"], r["AgentID"]) for r in rows] == [
        (0, 0, 1),
        (0, 0, 2),
        (1, 1, 1),
        (1, 1, 2),
    ]
    rows = batch_run(
        KwargsModel,
        {"variable": [{"key": "value"}], "n": 2},
        max_steps=1,
        rng=[1, 2],
        display_progress=False,
    )
    assert [(r["RunId"], r["variable"], r["n"]) for r in rows] == [
        (0, {"key": "value"}, 2),
        (1, {"key": "value"}, 2),
    ]


def test_model_reporters_only_give_one_row_per_collection():
    rows = batch_run(
        KwargsModel, {"n": 4}, max_steps=3, rng=1, data_collection_period=1, display_progress=False
    )
    assert [(r["Step"], r["n"]) for r in rows] == [(0, 4), (1, 4), (2, 4), (3, 4)]
    assert "AgentID" not in rows[0]


def test_sparse_and_repeated_collections():
    rows = batch_run(
        CounterModel,
        {"collect": "sparse", "stop_at": 20, "n": 1},
        max_steps=50,
        rng=1,
        data_collection_period=1,
        display_progress=False,
    )
    assert [r["Step"] for r in rows] == [5, 10, 15, 20]
    rows = batch_run(
        CounterModel,
        {"collect": "twice", "n": 1},
        max_steps=5,
        rng=1,
        data_collection_period=1,
        display_progress=False,
    )
    assert [r["Step"] for r in rows] == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_agent_type_reporters_give_a_row_per_agent_and_family():
    rows = batch_run(
        CounterModel, {"collect": "typed", "n": [1, 2]}, max_steps=2, rng=1, display_progress=False
    )
    assert len(rows) == (2 + 1) + (4 + 2)  # all agents, then the Walkers again
    assert {"Value", "AgentID", "Total"} <= set(rows[0])
    assert "Walked" in rows[2]


def test_differences_agent_only_models_yield_rows():
    rows = batch_run(
        CounterModel, {"collect": "agents", "n": 2}, max_steps=2, rng=1, display_progress=False
    )
    assert [(r["Step"], r["AgentID"], r["Value"]) for r in rows] == [(2, 1, 2), (2, 2, 2)]


def test_differences_a_failing_run_does_not_lose_the_others():
    with pytest.warns(RunFailedWarning, match="1 of 3 runs failed"):
        rows = batch_run(
            CounterModel,
            {"fail": [None, "step", None], "n": 1},
            max_steps=4,
            rng=1,
            display_progress=False,
        )
    assert [r["RunId"] for r in rows] == [0, 2]


@pytest.mark.skipif(not HAS_SCENARIO, reason="Mesa < 3.5 has no Scenario models")
def test_differences_scenario_models_run(boltzmann):
    rows = batch_run(boltzmann, {"n": [3, 5]}, max_steps=3, rng=1, display_progress=False)
    assert len(rows) == 3 + 5
    assert rows[0]["rng"] == 1
    assert {"Gini", "Wealth", "AgentID"} <= set(rows[0])


def test_make_model_kwargs_follows_mesas_rules():
    assert make_model_kwargs({"a": 3, "b": 5}) == [{"a": 3, "b": 5}]
    assert make_model_kwargs({"a": 3, "b": range(3)}) == [{"a": 3, "b": i} for i in range(3)]
    assert make_model_kwargs({"a": range(2), "b": range(2)}) == [
        {"a": 0, "b": 0},
        {"a": 0, "b": 1},
        {"a": 1, "b": 0},
        {"a": 1, "b": 1},
    ]
    assert make_model_kwargs({"a": "value"}) == [{"a": "value"}]
    # differences: dicts and bytes are single values, not swept over keys or bytes
    assert make_model_kwargs({"grid": {"h": 1, "w": 2}}) == [{"grid": {"h": 1, "w": 2}}]
    assert make_model_kwargs({"b": b"ab"}) == [{"b": b"ab"}]


@pytest.mark.parametrize("empty", [[], (), set(), range(0), iter([])])
def test_empty_iterables_are_an_error(empty):
    with pytest.raises(ValueError, match="Parameter 'a' contains an empty iterable"):
        batch_run(CounterModel, {"a": empty})


@has_mesa_batch_run
@pytest.mark.parametrize("processes", [1, 2])
def test_runs_with_different_columns_and_int_values_match_mesa(mesa_batch_run, processes):
    settings = {"max_steps": 4, "display_progress": False, "rng": [1, 2]}
    settings |= {"data_collection_period": 1, "number_processes": processes}
    expected = mesa_batch_run(ShopsModel, {"n_stores": [2, 3]}, **settings)
    actual = batch_run(ShopsModel, {"n_stores": [2, 3]}, **settings)
    key = lambda row: (row["RunId"], row["Step"], row.get("AgentID", 0))  # noqa: E731
    assert sorted(actual, key=key) == sorted(expected, key=key)


def test_rows_have_their_own_runs_keys_and_ints_stay_ints():
    rows = batch_run(ShopsModel, {"n_stores": [2, 3]}, max_steps=2, rng=1, display_progress=False)
    assert [set(r) - {"RunId", "iteration", "Step", "n_stores", "rng"} for r in rows[:1]] == [
        {"Stores", "Mean", "Store_0_value", "Store_1_value", "AgentID", "Value"}
    ]
    assert {"Store_2_value" in r for r in rows} == {False, True}
    assert all("Store_2_value" in r for r in rows if r["n_stores"] == 3)
    for row in rows:
        assert type(row["Stores"]) is int
        assert type(row["Mean"]) is float
        assert type(row["AgentID"]) is int
        assert type(row["Value"]) is int
        assert type(row["Store_1_value"]) is int


def test_no_seeds_give_no_rows_and_zero_steps_the_initial_state():
    assert batch_run(CounterModel, {"n": [1, 2]}, rng=[], display_progress=False) == []
    with pytest.warns(DeprecationWarning, match="iterations"):
        assert batch_run(CounterModel, {"n": 1}, iterations=0, display_progress=False) == []
    rows = batch_run(CounterModel, {"n": 2}, max_steps=0, rng=5, display_progress=False)
    assert [(r["Step"], r["AgentID"], r["Value"], r["Count"]) for r in rows] == [
        (0, 1, 0, 0),
        (0, 2, 0, 0),
    ]
    with pytest.raises(ValueError, match="max_steps must be an int >= 0; received -1"):
        batch_run(CounterModel, {"n": 2}, max_steps=-1, rng=5)


@has_mesa_batch_run
def test_zero_steps_and_no_seeds_match_mesa(mesa_batch_run):
    for options in ({"max_steps": 0, "rng": 3}, {"rng": []}):
        settings = {"display_progress": False, **options}
        expected = mesa_batch_run(MoneyModel, {"n": [2, 3]}, **settings)
        assert batch_run(MoneyModel, {"n": [2, 3]}, **settings) == expected


def test_file_objects_are_refused_before_any_run(tmp_path):
    path = tmp_path / "values.txt"
    path.write_text("1\n2\n")
    with (
        path.open() as handle,
        pytest.raises(
            ParameterError,
            match=r"parameters\['n'\] must not be a file object: it would be swept over its "
            r"lines; received <_io.TextIOWrapper.*Read the values first",
        ),
    ):
        batch_run(CounterModel, {"n": handle}, rng=1, display_progress=False)
    with path.open("rb") as handle, pytest.raises(ParameterError, match="must not be a file"):
        batch_run(CounterModel, {"n": 2, "fail": handle}, rng=1, display_progress=False)


def test_reporters_named_like_mesa_batch_id_columns_keep_their_names():
    rows = batch_run(IdReportingModel, {}, max_steps=2, rng=1, display_progress=False)
    assert rows == [
        {"RunId": 0, "iteration": 0, "Step": 2, "rng": 1, "step": 2, "AgentID": i, "agent_id": i}
        for i in (1, 2)
    ]


# -- Results.to_records / BatchRunner.run_all: the same rules for the records of any sweep ------


@pytest.mark.parametrize("processes", [1, 2])
def test_records_have_their_own_runs_keys_and_ints_stay_ints(processes):
    configs = full_factorial(
        ShopsModel, {"n_stores": [2, 3]}, max_steps=2, data_collection_period=1, seed=1
    )
    rows = BatchRunner(configs, processes, display_progress=False).run_all()
    assert len(rows) == 3 * (2 + 3)
    two, three = [r for r in rows if r["n_stores"] == 2], [r for r in rows if r["n_stores"] == 3]
    assert all("Store_2_value" not in r for r in two)
    assert all(r["Store_2_value"] == 3 * r["step"] for r in three)
    assert list(two[0]) == [
        "run_id",
        "iteration",
        "step",
        "n_stores",
        "seed",
        "Stores",
        "Mean",
        "Store_0_value",
        "Store_1_value",
        "agent_id",
        "Value",
    ]
    for row in rows:
        assert type(row["agent_id"]) is int
        assert type(row["Value"]) is int
        assert type(row["Stores"]) is int
        assert type(row["Mean"]) is float


def test_records_of_runs_with_different_parameters_have_only_their_own():
    configs = manual(KwargsModel, [{"n": 2}, {"n": 3, "extra": 1.5}], max_steps=1, seed=1)
    rows = BatchRunner(configs, display_progress=False).run().to_records()
    assert [r.get("extra", "-") for r in rows] == ["-", 1.5]
    assert all(type(r["n"]) is int for r in rows)


@has_mesa_batch_run
def test_differences_a_reporter_that_is_always_none_is_left_out(mesa_batch_run):
    settings = {"max_steps": 2, "rng": 1, "display_progress": False}
    expected = mesa_batch_run(SilentReporterModel, {"n": 1}, **settings)
    actual = batch_run(SilentReporterModel, {"n": 1}, **settings)
    assert expected == [{**row, "Nothing": None} for row in actual]
    assert "Nothing" not in actual[0]


@pytest.mark.parametrize("split", [False, True])
def test_rows_are_found_per_run_and_step_whether_or_not_a_runs_rows_are_together(split):
    import pandas as pd

    from mesa_batch.compat import _Table

    run_id = [0, 0, 0, 1, 1, 0] if split else [0, 0, 0, 0, 1, 1]
    step = [0, 1, 1, 0, 1, 2] if split else [0, 1, 1, 2, 0, 1]
    frame = pd.DataFrame({"run_id": run_id, "step": step, "x": range(6)})
    table = _Table(frame, agents=False)
    if split:  # run 0's step 2 comes after run 1's rows
        assert table.segments(0) == {0: (0, 1), 1: (1, 3), 2: (5, 6)}
        assert table.range(0) == (0, 6)
        assert table.segments(1) == {0: (3, 4), 1: (4, 5)}
    else:
        assert table.segments(0) == {0: (0, 1), 1: (1, 3), 2: (3, 4)}
        assert table.range(0) == (0, 4)
        assert table.segments(1) == {0: (4, 5), 1: (5, 6)}
    assert table.segments(7) == {}
    assert table.range(7) == (0, 0)
