"""The Parquet store: same tables as memory, resume and extend, conflicts, locks."""

from __future__ import annotations

import json
import pathlib
import shutil

import pandas as pd
import pytest

from mesa_batch import (
    BatchRunner,
    ConfigurationError,
    Results,
    RunFailedWarning,
    concat,
    full_factorial,
    manual,
)
from mesa_batch.store import StoreConflictError, read_log, read_state
from tests.models import CounterModel, FlakyModel, KwargsModel, MoneyModel


def sweep(points=(3, 5, 8), iterations=2, seed=1):
    return full_factorial(
        MoneyModel,
        {"n": list(points)},
        iterations=iterations,
        max_steps=6,
        data_collection_period=1,
        seed=seed,
    )


def run(configs, store, processes=1, **options):
    return BatchRunner(configs, processes, display_progress=False, store=store, **options).run()


def by_key(results, table):
    """A table keyed by run key instead of run id (ids are the store's own)."""
    keys = results.runs[["run_id", "key"]]
    frame = results.dataframe(table).merge(keys, on="run_id").drop(columns="run_id")
    order = ["key", "step", *(["agent_id"] if "agent_id" in frame else [])]
    return frame.sort_values(order, kind="stable", ignore_index=True)


def assert_same_tables(a, b):
    for table in ("model", "agents"):
        pd.testing.assert_frame_equal(a.dataframe(table), b.dataframe(table), check_dtype=False)
    columns = ["run_id", "iteration", "key", "seed", "status", "steps", "n"]
    pd.testing.assert_frame_equal(a.runs[columns], b.runs[columns], check_dtype=False)


@pytest.mark.parametrize("processes", [1, 2])
def test_a_store_gives_the_same_tables_as_memory(tmp_path, processes):
    memory = BatchRunner(sweep(), display_progress=False).run()
    stored = run(sweep(), tmp_path / "store", processes)
    assert_same_tables(stored, memory)
    assert_same_tables(Results.open(tmp_path / "store"), memory)
    assert stored.tables == memory.tables


def test_store_layout_and_metadata(tmp_path):
    run(sweep(), tmp_path)
    meta = json.loads((tmp_path / "store.json").read_text())
    assert meta["format"] == "mesa_batch.store"
    assert meta["version"] == 2
    assert meta["model"] == "tests.models:MoneyModel"
    assert {"python", "mesa", "mesa-batch"} <= set(meta["versions"])
    assert meta["sessions"][0]["reason"] == "completed"
    assert {p.name for p in tmp_path.iterdir()} >= {"plan", "runs", "data", "status.jsonl"}
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["agents", "model"]
    assert not list(tmp_path.glob("**/*.tmp"))
    events = [e["event"] for e in read_log(tmp_path)]
    assert events[0] == "start"
    assert events[-1] == "end"
    assert events.count("succeeded") == 6


def test_running_again_runs_nothing_and_extending_runs_only_new_runs(tmp_path):
    first = run(sweep(), tmp_path)
    again = run(sweep(), tmp_path)
    assert_same_tables(again, first)
    assert read_log(tmp_path)[-2]["event"] == "start"
    assert read_log(tmp_path)[-2]["todo"] == 0

    bigger = sweep(points=(3, 5, 8, 13), iterations=3)
    extended = run(bigger, tmp_path)
    starts = [e for e in read_log(tmp_path) if e["event"] == "start"]
    assert starts[-1]["todo"] == len(bigger) - len(first.runs)
    old = extended.runs.set_index("key").loc[first.runs["key"]]
    assert old["seed"].tolist() == first.runs["seed"].tolist()
    assert old["run_id"].tolist() == first.runs["run_id"].tolist()
    kept = extended.model[extended.model["run_id"].isin(first.runs["run_id"])]
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), first.model, check_dtype=False)
    assert extended.counts() == {"succeeded": 12, "failed": 0, "pending": 0}
    # the whole, extended sweep equals an uninterrupted run of it in a fresh store
    fresh = run(bigger, tmp_path.with_name(tmp_path.name + "-fresh"))
    for table in ("model", "agents"):
        pd.testing.assert_frame_equal(by_key(extended, table), by_key(fresh, table))


def test_failed_runs_are_kept_failed_unless_retried(tmp_path):
    needed = tmp_path / "needed"
    configs = manual(FlakyModel, [{"n": 1}, {"n": 2, "needs": str(needed)}], max_steps=2, seed=1)
    with pytest.warns(RunFailedWarning, match="1 of 2 runs failed"):
        run(configs, tmp_path / "store")
    needed.touch()
    with pytest.warns(RunFailedWarning):
        again = run(configs, tmp_path / "store")
    (failure,) = again.failures
    assert failure.stage == "instantiate"
    assert "needed is missing" in failure.message
    assert failure.configuration is not None
    retried = run(configs, tmp_path / "store", retry_failed=True)
    assert retried.counts() == {"succeeded": 2, "failed": 0, "pending": 0}
    assert retried.failures == []


def test_conflicting_configurations_are_refused(tmp_path):
    run(sweep(seed=1), tmp_path / "store")
    with pytest.raises(
        StoreConflictError,
        match=r"is in the store .* with seed \d+ \(from the master seed 1 of its full_factorial "
        r"design\), and this design gives it seed \d+ \(from master seed 2\).* Pass seed=1 to "
        r"the design to resume the stored sweep, or start a new store with replace_store=True "
        r"\(command line: mesa-batch run FILE --fresh\)",
    ):
        run(sweep(seed=2), tmp_path / "store")
    other = full_factorial(KwargsModel, {"n": [1]}, seed=1)
    with pytest.raises(StoreConflictError, match=r"holds runs of tests.models:MoneyModel"):
        run(other, tmp_path / "store")
    replaced = run(sweep(seed=2), tmp_path / "store", replace_store=True)
    assert replaced.counts()["succeeded"] == 6
    assert len(list(tmp_path.glob("store.replaced-*"))) == 1  # the old store is kept aside


def test_open_refuses_a_directory_that_is_not_a_store(tmp_path):
    with pytest.raises(ValueError, match="store must be a mesa_batch store directory"):
        Results.open(tmp_path)


def test_columns_present_in_only_some_runs_are_null_elsewhere(tmp_path):
    a = manual(KwargsModel, [{"n": 1}], max_steps=2, seed=1, model_reporters={"x": "n"})
    b = manual(
        KwargsModel, [{"n": 2}], max_steps=2, seed=1, model_reporters={"x": "n", "y": lambda m: 10}
    )
    results = run(concat(a, b), tmp_path)
    model = results.model
    assert list(model.columns) == ["run_id", "step", "x", "y"]
    assert model["y"].isna().tolist() == [True, False]


def test_a_run_executed_twice_is_read_once(tmp_path):
    first = run(sweep(), tmp_path)
    # an engine ran a batch twice: its parts exist twice under another batch id
    for part in (tmp_path / "runs").glob("*.parquet"):
        twin = part.stem + "-twin"
        shutil.copy(part, part.with_name(f"{twin}.parquet"))
        for table in ("model", "agents"):
            data = tmp_path / "data" / table / f"{part.stem}.parquet"
            shutil.copy(data, data.with_name(f"{twin}.parquet"))
        break
    assert_same_tables(Results.open(tmp_path), first)


def test_pending_runs_are_listed_while_nothing_ran(tmp_path):
    configs = sweep()
    state_before = read_state(tmp_path)
    assert state_before.meta == {}
    run(configs[:2], tmp_path)
    partial = Results.open(tmp_path)
    assert partial.counts() == {"succeeded": 2, "failed": 0, "pending": 0}
    with_all = Results.open(tmp_path, configurations=configs[:3])
    assert len(with_all) == 2  # the third was never planned in this store


def test_counter_model_tables_in_a_store(tmp_path):
    configs = full_factorial(
        CounterModel,
        {"collect": "typed", "n": [1, 2]},
        max_steps=3,
        data_collection_period=1,
        seed=1,
    )
    memory = BatchRunner(configs, display_progress=False).run()
    stored = run(configs, tmp_path)
    assert stored.tables == memory.tables
    for table in memory.tables[1:]:
        pd.testing.assert_frame_equal(
            stored.dataframe(table), memory.dataframe(table), check_dtype=False
        )
    assert pathlib.Path(tmp_path, "data", "agents.Walker").is_dir()


def test_the_runs_table_of_a_store_is_the_same_read_by_column_or_by_run(tmp_path):
    needed = tmp_path / "needed"
    points = [{"n": 1}, {"n": 2, "needs": str(needed)}, {"n": 3}]
    with pytest.warns(RunFailedWarning, match="1 of 3 runs failed"):
        run(manual(FlakyModel, points, max_steps=2, seed=1), tmp_path / "store")
    for part in (tmp_path / "store" / "runs").glob("*.parquet"):  # run 0's record is lost
        if pd.read_parquet(part)["run_id"].tolist() == [0]:
            part.unlink()
    by_column = Results.open(tmp_path / "store")
    by_run = Results.open(tmp_path / "store")
    assert len(by_run.statuses) == 2  # built from run statuses from now on
    pd.testing.assert_frame_equal(by_column.runs, by_run.runs)
    assert by_column.runs["status"].tolist() == ["pending", "failed", "succeeded"]
    assert by_column.runs["failure_type"].fillna("-").tolist() == ["-", "FileNotFoundError", "-"]
    assert by_column.counts() == {"succeeded": 1, "failed": 1, "pending": 1}


PARAMETER_KINDS = {
    "ints": [{"x": 1}, {"x": 2}],
    "floats": [{"x": 0.5}, {"x": 2.0}],
    "ints and floats": [{"x": 1}, {"x": 2.5}],
    "bools": [{"x": True}, {"x": False}],
    "text": [{"x": "a"}, {"x": "b"}],
    "None beside ints": [{"x": 1}, {"x": None}],
    "a name in some points": [{"x": 1, "y": 2}, {"x": 3}],
    "bools beside ints": [{"x": True}, {"x": 2}],
    "tuples": [{"x": (1, 2)}, {"x": (3,)}],
    "ints past int64": [{"x": 2**70}, {"x": 1}],
    "nan": [{"x": float("nan")}, {"x": 1.0}],
    "dates as text": [{"x": "2020-01-01"}, {"x": "2021-01-01"}],
}


@pytest.mark.parametrize("kind", PARAMETER_KINDS)
def test_parameter_columns_read_from_a_store_equal_those_in_memory(tmp_path, kind):
    from mesa_batch.store.reader import plain_parameter_columns

    configs = manual(KwargsModel, PARAMETER_KINDS[kind], iterations=2, max_steps=1, seed=3)
    memory = BatchRunner(configs, display_progress=False).run().runs
    run(configs, tmp_path)
    stored = Results.open(tmp_path).runs
    names = [c for c in memory.columns if c not in ("wall_time", "model_time", "worker_time")]
    pd.testing.assert_frame_equal(stored[names], memory[names])
    plain = kind in ("ints", "floats", "bools", "text", "None beside ints", "a name in some points")
    parsed = plain_parameter_columns(read_state(tmp_path).plan)
    assert (parsed is not None) == plain or kind == "ints and floats"  # Arrow's or Python's


def test_counting_a_store_reads_the_same_counts_as_opening_it(tmp_path):
    from mesa_batch.results import store_counts

    needed = tmp_path / "needed"
    points = [{"n": 1}, {"n": 2, "needs": str(needed)}, {"n": 3}]
    with pytest.warns(RunFailedWarning, match="1 of 3 runs failed"):
        run(manual(FlakyModel, points, max_steps=2, seed=1), tmp_path / "store")
    results = Results.open(tmp_path / "store")
    assert store_counts(tmp_path / "store") == (3, results.counts())
    assert results.counts() == {"succeeded": 2, "failed": 1, "pending": 0}
    with pytest.raises(ConfigurationError, match="must be an existing directory"):
        store_counts(tmp_path / "nope")
