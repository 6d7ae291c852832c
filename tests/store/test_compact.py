"""Compaction: a session's batch parts rewritten as one part per table, read the same, safely."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from mesa_batch import BatchRunner, Results, manual
from mesa_batch.store import compact, read_log, read_state
from mesa_batch.store.compact import compact_store
from tests.store.test_corruption import flip_pages, largest_part
from tests.store.test_faults import RUNS, compare_with_uninterrupted, configs


def sweep(store, sweep_configs=None):
    return BatchRunner(
        configs() if sweep_configs is None else sweep_configs, display_progress=False, store=store
    ).run()


def files(store):
    return sorted(str(p.relative_to(store)) for p in store.rglob("*.parquet"))


def session_id(store):
    (session,) = [s["id"] for s in json.loads((store / "store.json").read_text())["sessions"]]
    return session


@pytest.fixture
def store(tmp_path):
    """A store of one serial session that committed several batches (not compacted)."""
    path = tmp_path / "store"
    sweep(path)
    assert len(list((path / "runs").glob("*.parquet"))) >= 2
    return path


def test_a_compacted_store_holds_one_part_per_table_and_reads_the_same(store):
    before = Results.open(store)
    runs, model = before.runs, before.model
    session = session_id(store)

    assert compact_store(store, min_parts=2) == [session]
    assert files(store) == sorted(
        [f"data/model/{session}.parquet", f"runs/{session}.parquet"]
        + [str(p.relative_to(store)) for p in (store / "plan").glob("*.parquet")]
    )
    state = read_state(store, verify=True)  # every checksum of the new parts holds
    assert state.corrupt == []
    assert state.notes == []
    after = Results.open(store)
    pd.testing.assert_frame_equal(after.runs, runs)
    pd.testing.assert_frame_equal(after.model, model)
    assert pq.read_table(store / "runs" / f"{session}.parquet").column(
        "batch"
    ).unique().to_pylist() == [session]
    sweep(store)  # a resume finds everything done
    assert [e for e in read_log(store) if e["event"] == "start"][-1]["todo"] == 0
    compare_with_uninterrupted(store)


def test_a_session_with_few_batches_is_left_as_it_is(store):
    parts = files(store)
    assert compact_store(store, min_parts=len(parts)) == []
    assert files(store) == parts


def test_a_damaged_batch_part_is_never_compacted(store):
    part = largest_part(store)
    flip_pages(part)
    parts = files(store)
    assert compact_store(store, min_parts=2) == []  # its checksum is checked as it is read
    assert files(store) == parts
    sweep(store)  # the resume quarantines it and runs its batch again
    assert (store / "quarantine" / "data" / "model" / part.name).exists()
    compare_with_uninterrupted(store)


def test_a_damaged_compacted_part_is_found_and_its_session_run_again(store):
    session = session_id(store)
    compact_store(store, min_parts=2)
    part = store / "data" / "model" / f"{session}.parquet"
    flip_pages(part)
    state = read_state(store, verify=True)
    assert state.corrupt == [part]
    assert state.done_keys() == set()  # every run of the session lost its data
    sweep(store)
    assert (store / "quarantine" / "data" / "model" / part.name).exists()
    assert [e for e in read_log(store) if e["event"] == "start"][-1]["todo"] == RUNS
    compare_with_uninterrupted(store)


def test_an_interrupted_compaction_reads_the_same_and_is_finished_later(store, tmp_path):
    expected = Results.open(store).model
    session = session_id(store)
    saved = tmp_path / "saved"
    shutil.copytree(store, saved)
    compact_store(store, min_parts=2)
    compacted = {
        path: (store / path).read_bytes()
        for path in (f"runs/{session}.parquet", f"data/model/{session}.parquet")
    }

    # killed after the compacted runs part was committed, before the batch parts were deleted
    for path in saved.rglob("*.parquet"):
        target = store / path.relative_to(saved)
        if not target.exists():
            shutil.copy(path, target)
    results = Results.open(store)
    pd.testing.assert_frame_equal(results.model, expected)
    assert results.counts() == {"succeeded": RUNS, "failed": 0, "pending": 0}
    assert compact_store(store, min_parts=2) == []  # the leftovers are deleted
    assert files(store) == sorted(
        [*compacted, *(str(p.relative_to(store)) for p in (store / "plan").glob("*.parquet"))]
    )

    # killed before the compacted runs part was committed: its data part is no one's
    (store / f"runs/{session}.parquet").unlink()
    for path in saved.rglob("*.parquet"):
        shutil.copy(path, store / path.relative_to(saved))
    pd.testing.assert_frame_equal(Results.open(store).model, expected)
    assert compact_store(store, min_parts=2) == [session]
    pd.testing.assert_frame_equal(Results.open(store).model, expected)
    compare_with_uninterrupted(store)


def test_a_run_committed_twice_is_compacted_once(store):
    expected = Results.open(store)
    runs, model = expected.runs, expected.model
    # an engine ran the last batch twice: a second batch of the session with the same runs
    runs_part = max((store / "runs").glob("*.parquet"))
    twice = runs_part.with_name(runs_part.stem[:-6] + "ffffff.parquet")
    table = pq.read_table(runs_part)
    index = table.column_names.index("batch")
    table = table.set_column(index, "batch", [[twice.stem] * table.num_rows])
    pq.write_table(table, twice)
    shutil.copy(store / "data" / "model" / runs_part.name, store / "data" / "model" / twice.name)
    pd.testing.assert_frame_equal(Results.open(store).model, model)  # read once before ...

    session = session_id(store)
    assert compact_store(store, min_parts=2) == [session]
    after = Results.open(store)  # ... and after: its rows are in the compacted part once
    pd.testing.assert_frame_equal(after.model, model)
    pd.testing.assert_frame_equal(after.runs, runs)
    assert pq.read_metadata(store / "data" / "model" / f"{session}.parquet").num_rows == len(model)


@pytest.mark.filterwarnings("ignore::mesa_batch.store.ColumnTypesWarning")  # reading them
def test_parts_of_differing_column_types_are_not_compacted(tmp_path):
    from tests.store.valuemodels import ValueModel

    store = tmp_path / "store"
    points = [{"case": "int_str", "n": n % 2} for n in range(40)]
    sweep(store, manual(ValueModel, points, max_steps=1, seed=2))
    schemas = {str(pq.read_schema(p)) for p in (store / "data" / "model").glob("*.parquet")}
    assert len(schemas) > 1  # int in some batches, int and str (encoded) in others
    parts = files(store)
    assert compact_store(store, min_parts=2) == []
    assert files(store) == parts


def test_a_version_1_store_is_not_compacted_and_still_read(tmp_path):
    from tests.store.test_record import DATA

    store = tmp_path / "v1"
    shutil.copytree(DATA / "store_v1", store)
    before = Results.open(store).model
    parts = files(store)
    assert compact_store(store, min_parts=1) == []  # no checks to verify its parts by
    assert files(store) == parts
    pd.testing.assert_frame_equal(Results.open(store).model, before)


def test_the_runner_compacts_a_session_that_left_many_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(compact, "MIN_PARTS", 2)
    store = tmp_path / "store"
    results = sweep(store)
    session = session_id(store)
    assert [p.name for p in (store / "runs").glob("*.parquet")] == [f"{session}.parquet"]
    assert [e["sessions"] for e in read_log(store) if e["event"] == "compacted"] == [[session]]
    expected = BatchRunner(configs(), display_progress=False).run()
    pd.testing.assert_frame_equal(results.model, expected.model, check_dtype=False)
    compare_with_uninterrupted(store)


def test_a_batch_part_written_after_its_session_was_compacted_is_never_deleted(store, tmp_path):
    session = session_id(store)
    batches = sorted((store / "runs").glob(f"{session}*.parquet"))
    late = batches[-1]  # held back, as a batch that comes in after the compaction would be
    saved = {late: tmp_path / "late-runs.parquet"}
    saved.update(
        {
            part: tmp_path / f"late-{part.parent.name}.parquet"
            for part in (store / "data").glob(f"*/{late.name}")
        }
    )
    for part, copy in saved.items():
        shutil.move(part, copy)
    assert compact_store(store, min_parts=2) == [session]
    for part, copy in saved.items():  # it comes in now
        shutil.move(copy, part)
    compact_store(store, min_parts=2)  # the leftovers pass: only the batches it absorbed go
    assert late.exists()
    assert all(part.exists() for part in saved)


def test_a_table_folder_that_is_a_link_is_never_compacted_through(store, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(store / "data" / "model", elsewhere)
    (store / "data" / "model").symlink_to(elsewhere, target_is_directory=True)
    parts = files(store)
    outside = sorted(p.name for p in elsewhere.iterdir())
    assert compact_store(store, min_parts=2) == []
    assert files(store) == parts  # no runs part deleted
    assert sorted(p.name for p in elsewhere.iterdir()) == outside  # nothing written there
