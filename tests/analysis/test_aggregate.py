import numpy as np
import pandas as pd
import pytest
from mesa.examples import BoltzmannWealth
from scipy import stats

from mesa_batch import ConfigurationError, full_factorial
from mesa_batch.analysis import aggregate, final
from tests.analysis.models import StopModel


@pytest.fixture(scope="module")
def wealth(both):
    configs = full_factorial(
        BoltzmannWealth, {"n": [5, 10], "width": [5, 10], "height": 5}, iterations=4,
        max_steps=6, data_collection_period=2, seed=11,
    )  # fmt: skip
    return both("wealth", configs)


@pytest.fixture(scope="module")
def stopping(both):
    configs = full_factorial(
        StopModel,
        {"rate": [1.0, 2.0]},
        iterations=6,
        max_steps=10,
        data_collection_period=1,
        seed=5,
    )
    return both("stopping", configs)


@pytest.fixture(scope="module")
def failing(both):
    configs = full_factorial(
        StopModel,
        {"rate": [1.0, 2.0], "fail": True},
        iterations=8,
        max_steps=10,
        data_collection_period=1,
        seed=8,
    )
    return both("failing", configs)


def interval(x, confidence):
    """scipy's t interval (the mean itself when every value is the same)."""
    if x.std() == 0:
        return x.mean(), x.mean()
    return stats.t.interval(confidence, len(x) - 1, loc=x.mean(), scale=stats.sem(x))


def last_rows(results, table="model"):
    """Each run's rows at its last step, the plain pandas way (independent of the package)."""
    frame = results.dataframe(table, with_parameters=True)
    return frame[frame["step"] == frame.groupby("run_id")["step"].transform("max")]


def test_final_is_the_last_step_of_each_succeeded_run(wealth):
    memory, _ = wealth
    rows = final(memory, "Gini")
    expected = last_rows(memory).sort_values("run_id")
    assert list(rows.columns) == ["run_id", "point", "iteration", "n", "width", "height", "Gini"]
    np.testing.assert_array_equal(rows["run_id"], expected["run_id"])
    np.testing.assert_array_equal(rows["Gini"], expected["Gini"])


def test_aggregate_equals_scipy_t_interval(wealth):
    memory, _ = wealth
    table = aggregate(memory, "Gini", by=["n", "width"], confidence=0.9)
    expected = last_rows(memory)
    for row in table.itertuples(index=False):
        x = expected[(expected["n"] == row[0]) & (expected["width"] == row.width)]["Gini"]
        low, high = interval(x, 0.9)
        assert row.n == len(x) == 4
        assert row.mean == pytest.approx(x.mean())
        assert row.std == pytest.approx(x.std(ddof=1))
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high))
        assert row.n_failed == 0
    assert list(table.columns[:2]) == ["n (parameter)", "width"]


def test_aggregate_by_point_has_the_parameters(wealth):
    memory, _ = wealth
    table = aggregate(memory, "Gini")
    assert list(table["point"]) == [0, 1, 2, 3]
    assert list(table.columns[:4]) == ["point", "n (parameter)", "width", "height"]
    assert (table["n"] == 4).all()


def test_bootstrap_is_seeded_and_contains_the_mean(wealth):
    memory, _ = wealth
    first = aggregate(memory, "Gini", method="bootstrap", seed=3)
    again = aggregate(memory, "Gini", method="bootstrap", seed=3)
    pd.testing.assert_frame_equal(first, again)
    assert ((first["ci_low"] <= first["mean"]) & (first["mean"] <= first["ci_high"])).all()


def test_agent_table_averages_agents_first_then_runs(wealth):
    memory, _ = wealth
    table = aggregate(memory, "Wealth", table="agents", at="all")
    agents = memory.dataframe("agents", with_parameters=True)
    per_run = agents.groupby(["run_id", "step", "n", "width"], as_index=False)["Wealth"].mean()
    expected = per_run.groupby(["n", "width", "step"])["Wealth"].mean()
    got = table.set_index(["n (parameter)", "width", "step"])["mean"]
    np.testing.assert_allclose(got.sort_index().to_numpy(), expected.sort_index().to_numpy())
    assert sorted(table["step"].unique()) == [0, 2, 4, 6]


def test_early_stopping_carries_the_last_value_forward(stopping):
    memory, _ = stopping
    table = aggregate(memory, "value", at="all")
    model = memory.dataframe("model", with_parameters=True)
    wide = model.pivot(index="run_id", columns="step", values="value").ffill(axis=1)
    points = memory.runs.set_index("run_id")["point"]
    assert model.groupby("run_id")["step"].max().nunique() > 1  # runs stopped early
    for (point, step), row in table.set_index(["point", "step"]).iterrows():
        x = wide.loc[points[wide.index] == point, step]
        low, high = interval(x, 0.95)
        assert row["n"] == len(x) == 6
        assert row["mean"] == pytest.approx(x.mean())
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_early_stopping_without_carrying_forward(stopping):
    memory, _ = stopping
    table = aggregate(memory, "value", at="all", carry_forward=False, confidence=None)
    model = memory.dataframe("model", with_parameters=True)
    expected = model.groupby(["rate", "step"])["value"].agg(["count", "mean"])
    np.testing.assert_array_equal(table["n"], expected["count"])
    np.testing.assert_allclose(table["mean"], expected["mean"])
    assert table["ci_low"].isna().all()


def test_at_a_step_takes_the_last_value_at_or_before_it(stopping):
    memory, _ = stopping
    table = aggregate(memory, "value", at=3)
    model = memory.dataframe("model", with_parameters=True)
    upto = model[model["step"] <= 3]
    last = upto[upto["step"] == upto.groupby("run_id")["step"].transform("max")]
    np.testing.assert_allclose(table["mean"], last.groupby("rate")["value"].mean())


def test_failed_runs_are_counted_not_averaged(failing):
    memory, _ = failing
    table = aggregate(memory, "value")
    runs = memory.runs
    failed = runs[runs["status"] == "failed"].groupby("point").size()
    assert failed.sum() > 0
    np.testing.assert_array_equal(table["n_failed"], failed.reindex([0, 1], fill_value=0))
    np.testing.assert_array_equal(table["n"] + table["n_failed"], [8, 8])
    done = last_rows(memory)
    np.testing.assert_allclose(table["mean"], done.groupby("rate")["value"].mean())


def test_memory_and_store_agree(wealth, stopping, failing):
    for memory, store in (wealth, stopping, failing):
        pd.testing.assert_frame_equal(final(memory), final(store))
        by = memory.parameter_names[0]
        for kwargs in ({}, {"at": "all"}, {"by": by, "method": "bootstrap", "seed": 1}):
            outcome = "Gini" if memory is wealth[0] else "value"
            pd.testing.assert_frame_equal(
                aggregate(memory, outcome, **kwargs), aggregate(store, outcome, **kwargs)
            )
    memory, store = wealth
    pd.testing.assert_frame_equal(
        aggregate(memory, "Wealth", table="agents", at="all"),
        aggregate(store.store, "Wealth", table="agents", at="all"),
    )


def test_unknown_outcome_parameter_table_and_method(wealth):
    memory, _ = wealth
    with pytest.raises(
        ConfigurationError,
        match=r"outcome must be a column of table 'model' \('Gini'\); received 'gini'",
    ):
        aggregate(memory, "gini")
    with pytest.raises(
        ConfigurationError, match=r"by must name parameters of the sweep .*received 'size'"
    ):
        aggregate(memory, "Gini", by=["size"])
    with pytest.raises(
        ConfigurationError, match=r"by must name at least one parameter; received \[\]"
    ):
        aggregate(memory, "Gini", by=[])
    with pytest.raises(ConfigurationError, match="table must be one of the sweep's data tables"):
        aggregate(memory, "Gini", table="agent")
    with pytest.raises(
        ConfigurationError, match="method must be one of 't', 'bootstrap'; received 'z'"
    ):
        aggregate(memory, "Gini", method="z")
    with pytest.raises(ConfigurationError, match="at must be 'final', 'all' or a step"):
        aggregate(memory, "Gini", at="last")
    with pytest.raises(ConfigurationError, match="confidence must be a number between 0 and 1"):
        aggregate(memory, "Gini", confidence=95)


def test_too_few_replications_for_an_interval(both):
    configs = full_factorial(StopModel, {"rate": [1.0, 2.0]}, max_steps=3, seed=1)
    memory, _ = both("single", configs)
    with pytest.raises(ConfigurationError, match=r"needs at least 2 runs per group .*iterations=5"):
        aggregate(memory, "value")
    table = aggregate(memory, "value", confidence=None)
    assert table["ci_low"].isna().all()
    assert (table["n"] == 1).all()
