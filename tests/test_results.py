"""Results: tidy tables, records, Parquet, failures."""

import pandas as pd
import pyarrow.parquet as pq
import pytest

from mesa_batch import BatchRunner, ConfigurationError, Results, RunFailedWarning, full_factorial
from tests.models import CounterModel, KwargsModel, MoneyModel


@pytest.fixture(scope="module")
def results():
    configs = full_factorial(
        CounterModel,
        {"n": [1, 2], "collect": "typed"},
        iterations=2,
        max_steps=3,
        data_collection_period=1,
        seed=4,
    )
    return BatchRunner(configs, display_progress=False).run()


def test_tables_and_their_shapes(results):
    assert results.tables == ["runs", "model", "agents", "agents.Walker", "table.events"]
    assert len(results.runs) == 4
    assert len(results.model) == 4 * 4  # 4 runs x steps 0..3
    assert list(results.model.columns) == ["run_id", "step", "Total", "Count"]
    assert len(results.agents) == (2 + 4 + 2 + 4) * 4  # Counters and Walkers, 4 collections
    assert list(results.agents.columns) == ["run_id", "step", "agent_id", "Value"]
    assert list(results.dataframe("table.events").columns) == ["run_id", "count", "note"]


def test_model_values_are_not_copied_onto_agent_rows(results):
    assert "Total" not in results.agents.columns


def test_runs_table(results):
    runs = results.runs
    assert list(runs.columns[:7]) == [
        "run_id",
        "iteration",
        "key",
        "seed",
        "status",
        "steps",
        "wall_time",
    ]
    assert runs["n"].tolist() == [1, 2, 1, 2]
    assert runs["status"].unique().tolist() == ["succeeded"]
    assert runs["steps"].tolist() == [3, 3, 3, 3]
    assert runs["seed"].dtype == "UInt64"
    assert (runs["wall_time"] > 0).all()


def test_dataframe_with_parameters_joins_on_run_id(results):
    frame = results.dataframe("model", with_parameters=True)
    assert list(frame.columns[:6]) == ["run_id", "iteration", "seed", "n", "collect", "step"]
    assert len(frame) == len(results.model)
    assert (frame.groupby("run_id")["n"].nunique() == 1).all()


def test_unknown_tables_are_refused(results):
    with pytest.raises(ConfigurationError, match=r"table must be one of \['runs', 'model'"):
        results.dataframe("agent")


def test_records_put_model_values_on_agent_rows(results):
    records = results.to_records()
    assert len(records) == len(results.agents) + len(results.dataframe("agents.Walker"))
    first = records[0]
    assert list(first)[:6] == ["run_id", "iteration", "step", "n", "collect", "seed"]
    assert first["Total"] == 0
    walker_rows = [r for r in records if r.get("agent_type") == "Walker"]
    assert len(walker_rows) == len(results.dataframe("agents.Walker"))


def test_records_without_agent_data_are_one_per_step():
    configs = full_factorial(
        MoneyModel,
        {"n": 3},
        max_steps=2,
        data_collection_period=1,
        seed=1,
        model_reporters={"count": lambda m: len(m.agents)},
    )
    records = BatchRunner(configs, display_progress=False).run().to_records()
    assert [(r["step"], r["count"]) for r in records] == [(0, 3), (1, 3), (2, 3)]


def test_parquet_round_trip(results, tmp_path):
    written = results.to_parquet(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(f"{t}.parquet" for t in results.tables)
    model = pq.read_table(tmp_path / "out" / "model.parquet").to_pandas()
    assert model.equals(results.model)
    runs = pq.read_table(tmp_path / "out" / "runs.parquet").to_pandas()
    assert runs["key"].tolist() == results.runs["key"].tolist()


def test_parquet_writes_untypable_values_as_text(tmp_path):
    configs = full_factorial(
        KwargsModel, {"n": 1}, max_steps=1, seed=1, model_reporters={"odd": lambda m: object()}
    )
    results = BatchRunner(configs, display_progress=False).run()
    with pytest.warns(UserWarning, match=r"table 'model': columns \['odd'\] .* repr strings"):
        results.to_parquet(tmp_path)
    assert pq.read_table(tmp_path / "model.parquet").column("odd")[0].as_py().startswith("<object")


def test_summary_repr_counts_and_failures():
    configs = full_factorial(CounterModel, {"fail": [None, "step"]}, max_steps=4, seed=1)
    with pytest.warns(RunFailedWarning):
        results = BatchRunner(configs, display_progress=False).run()
    assert results.counts() == {"succeeded": 1, "failed": 1, "pending": 0}
    assert "2 runs (1 succeeded, 1 failed, 0 pending)" in repr(results)
    summary = results.summary()
    assert "model: 1 rows; columns Total, Count" in summary
    assert "run: ZeroDivisionError: failing in step 3 as asked" in summary
    (failure,) = results.failures
    assert failure.configuration.parameters == {"fail": "step"}
    assert "ZeroDivisionError" in failure.traceback
    assert results.runs.loc[1, "failure_message"] == "failing in step 3 as asked"


def test_empty_tables_keep_their_key_columns():
    configs = full_factorial(CounterModel, {"fail": "init"}, seed=1)
    with pytest.warns(RunFailedWarning):
        results = BatchRunner(configs, display_progress=False).run()
    assert list(results.model.columns) == ["run_id", "step"]
    assert results.to_records() == []


def test_columns_are_read_without_rows_and_agree_with_the_tables(results, tmp_path):
    configs = full_factorial(
        CounterModel, {"n": [1, 2], "collect": "typed"}, iterations=2, max_steps=3, seed=4
    )
    stored = BatchRunner(configs, display_progress=False, store=tmp_path / "store").run()
    opened = Results.open(tmp_path / "store")
    for table in results.tables:
        expected = [str(c) for c in results.dataframe(table).columns]
        assert results.columns(table) == expected
        assert stored.columns(table) == expected
        assert opened.columns(table) == expected
    with pytest.raises(ConfigurationError, match="table must be one of"):
        opened.columns("nope")


def test_the_run_table_analyses_group_by_is_the_runs_table_s_columns(results, tmp_path):
    configs = full_factorial(
        CounterModel, {"n": [1, 2], "collect": "typed"}, iterations=2, max_steps=3, seed=4
    )
    BatchRunner(configs, display_progress=False, store=tmp_path / "store").run()
    for fresh in (lambda: results, lambda: Results.open(tmp_path / "store")):
        lean = fresh()._run_table()  # before the runs table is built ...
        columns = ["run_id", "iteration", "status", "steps", "point", "design"]
        expected = fresh().runs[[*columns, *fresh().parameter_names]]
        pd.testing.assert_frame_equal(lean, expected)  # ... its columns, equal
