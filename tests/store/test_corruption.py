"""Corruption found, not hidden: damaged pages, parts from elsewhere, strays, a lost store.json."""

from __future__ import annotations

import json
import shutil
import warnings

import pandas as pd
import pyarrow.parquet as pq
import pytest

from mesa_batch import BatchRunner, Results, full_factorial
from mesa_batch.store import CorruptPartWarning, StoreConflictError, read_state
from tests.store.test_faults import RUNS, compare_with_uninterrupted, configs


def sweep(store, sweep_configs=None):
    return BatchRunner(
        configs() if sweep_configs is None else sweep_configs, display_progress=False, store=store
    ).run()


def flip_pages(part):
    """Flip bytes in the middle of a part's data pages; its footer and size stay intact."""
    footer = pq.read_metadata(part).serialized_size + 8
    data = bytearray(part.read_bytes())
    end = len(data) - footer
    for i in range(8, end - 8, max(1, (end - 16) // 40)):
        data[i] ^= 0xFF
    part.write_bytes(bytes(data))
    pq.read_metadata(part)  # the footer still reads


def largest_part(store):
    return max((store / "data" / "model").glob("*.parquet"), key=lambda p: p.stat().st_size)


def test_a_part_with_damaged_pages_is_found_and_its_runs_run_again(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    part = largest_part(store)
    batch = pq.read_table(store / "runs" / part.name)
    affected = sorted(batch.column("run_id").to_pylist())
    flip_pages(part)

    assert read_state(store).corrupt == []  # the cheap checks cannot see it ...
    state = read_state(store, verify=True)  # ... its checksum does
    assert state.corrupt == [part]
    assert any(str(affected[0]) in note and "not done" in note for note in state.notes)
    assert state.done_keys().isdisjoint(set(batch.column("key").to_pylist()))

    damaged = Results.open(store)
    with pytest.warns(CorruptPartWarning, match=r"rows of runs \[" + str(affected[0])):
        damaged.dataframe("model")

    sweep(store)  # the writing session verifies, quarantines and runs them again
    assert (store / "quarantine" / "data" / "model" / part.name).exists()
    starts = [json.loads(line) for line in (store / "status.jsonl").read_text().splitlines()]
    assert [e for e in starts if e["event"] == "start"][-1]["todo"] == len(affected)
    compare_with_uninterrupted(store)


def test_a_part_of_another_size_or_row_count_is_found_on_open(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    part = largest_part(store)
    other = min((store / "data" / "model").glob("*.parquet"), key=lambda p: p.stat().st_size)
    shutil.copy(other, part)  # a part copied in from another batch, under this one's name
    state = read_state(store)
    assert part in state.corrupt
    note = next(n for n in state.notes if part.name in n)
    assert "its batch recorded" in note
    assert Results.open(store).counts()["pending"] > 0
    sweep(store)
    compare_with_uninterrupted(store)


def copy_in_another_store(mine, other):
    """Sweep another model into ``other``; copy its runs and model parts into ``mine``."""
    from tests.models import CounterModel

    sweep(other, full_factorial(CounterModel, {"n": [1, 2]}, max_steps=2, seed=1))
    for part in (other / "runs").glob("*.parquet"):
        shutil.copy(part, mine / "runs" / part.name)
    for part in (other / "data" / "model").glob("*.parquet"):
        shutil.copy(part, mine / "data" / "model" / part.name)


def test_a_runs_part_from_another_store_is_left_out(tmp_path):
    mine, other = tmp_path / "mine", tmp_path / "other"
    sweep(mine)
    copy_in_another_store(mine, other)
    results = Results.open(mine)
    assert results.counts() == {"succeeded": RUNS, "failed": 0, "pending": 0}
    assert any("copied in from another store" in note for note in results.notes)
    compare_with_uninterrupted(mine)


def test_strays_in_runs_and_data_are_ignored(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    (store / "runs" / "notes.txt").write_text("mine")
    (store / "runs" / "garbage.parquet").write_bytes(b"PAR1 not really")
    (store / "runs" / "subdir.parquet").mkdir()
    (store / "data" / "bad name!").mkdir()
    (store / "data" / "bad name!" / "x.parquet").write_bytes(b"x")
    (store / "data" / "stray.txt").write_text("x")
    results = Results.open(store)
    assert results.counts()["succeeded"] == RUNS
    assert any("not table directories" in note for note in results.notes)
    sweep(store)
    compare_with_uninterrupted(store)
    assert (store / "runs" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("damage", ["missing", "garbled", "not an object", "empty"])
def test_a_lost_store_json_is_rebuilt_from_the_plan_and_another_model_refused(tmp_path, damage):
    from tests.models import CounterModel

    store = tmp_path / "store"
    sweep(store, configs()[:20])
    meta = store / "store.json"
    if damage == "missing":
        meta.unlink()
    else:
        meta.write_text(
            {"garbled": '{"format": "mesa', "not an object": "[1, 2]", "empty": ""}[damage]
        )
    assert Results.open(store).counts()["succeeded"] == 20  # what can be trusted is read
    other = full_factorial(CounterModel, {"n": [1]}, max_steps=1, seed=1)
    with pytest.raises(StoreConflictError, match=r"holds runs of tests\.models:RandomModel"):
        sweep(store, other)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweep(store)
    compare_with_uninterrupted(store)
    assert json.loads(meta.read_text())["model"] == "tests.models:RandomModel"


def test_a_version_2_store_without_checks_is_still_read(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    for part in (store / "runs").glob("*.parquet"):
        table = pq.read_table(part)
        pq.write_table(table.drop_columns(["checks"]), part)
    results = Results.open(store)
    assert results.counts()["succeeded"] == RUNS
    pd.testing.assert_frame_equal(
        results.model, BatchRunner(configs(), display_progress=False).run().model, check_dtype=False
    )
