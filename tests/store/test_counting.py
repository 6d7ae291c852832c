"""Counting a store in numpy (``mesa-batch status``) gives what reading its whole state gives."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mesa_batch import BatchRunner, Results, full_factorial
from mesa_batch.results import state_counts, store_counts
from mesa_batch.store.counting import count_runs
from mesa_batch.store.files import read_json
from tests.analysis.test_lean import assert_analysed_alike
from tests.models import CrashingModel, FlakyModel
from tests.store.test_corruption import copy_in_another_store, sweep
from tests.store.test_faults import RUNS

pytestmark = pytest.mark.filterwarnings("ignore::mesa_batch.errors.RunFailedWarning")


def sessions(store):
    return [e["id"] for e in read_json(store / "store.json")["sessions"]]


def assert_counted_alike(store, *, lean=True):
    """count_runs (unless it gives up), store_counts and the whole reading agree, per session.

    So do the analyses of the store's path (read the same lean way) and of its ``Results``.
    """
    results = Results.open(store)
    for session in [None, *sessions(store)]:
        whole = state_counts(store, session=session)
        counted = count_runs(store, read_json(store / "store.json"), session=session)
        if lean:
            assert counted == whole, session
        else:
            assert counted is None
        assert store_counts(store, session=session) == whole
        assert whole[0] == len(results.runs)
        assert {k: v for k, v in whole[1].items() if k != "session"} == results.counts()
    assert_analysed_alike(store, lean=lean)
    return whole


def flaky(needs, **options):
    return full_factorial(
        FlakyModel, {"n": range(4), "needs": [None, str(needs)]}, max_steps=2, seed=3, **options
    )


def test_failures_then_a_retry_are_counted_as_the_whole_reading_counts_them(tmp_path):
    store, needs = tmp_path / "store", tmp_path / "needs"
    sweep(store, flaky(needs))
    _, counts = assert_counted_alike(store)
    # the log records every failure, without a batch: it is the outcome the reading keeps
    assert counts == {"succeeded": 4, "failed": 4, "pending": 0, "session": 4}
    needs.touch()
    BatchRunner(flaky(needs), display_progress=False, store=store, retry_failed=True).run()
    first, second = sessions(store)
    assert state_counts(store, session=second)[1]["session"] == 4
    assert count_runs(store, read_json(store / "store.json"), session=first)[1]["session"] == 4
    _, counts = assert_counted_alike(store)
    assert counts["succeeded"] == 8


def test_a_worker_that_died_leaves_a_failure_only_the_log_holds(tmp_path):
    store = tmp_path / "store"
    configs = full_factorial(
        CrashingModel, {"n": range(4), "crash": [False, True]}, max_steps=2, seed=1
    )
    BatchRunner(configs, 2, display_progress=False, store=store).run()
    log = [json.loads(line) for line in (store / "status.jsonl").read_text().splitlines()]
    assert any(e.get("event") == "failed" and e.get("failure_stage") == "worker" for e in log)
    _, counts = assert_counted_alike(store)
    assert counts["failed"] == 4


def test_a_batch_recorded_twice_counts_once_from_the_batch_the_reading_keeps(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    part = max((store / "runs").glob("*.parquet"), key=lambda p: p.stat().st_size)
    session = sessions(store)[0]
    twin = f"{session}-000000-000000"  # sorts before the session's own (compacted) id
    table = pq.read_table(part)
    batch = pa.array([twin] * table.num_rows, table.schema.field("batch").type)
    pq.write_table(table.set_column(table.schema.get_field_index("batch"), "batch", batch),
                   store / "runs" / f"{twin}.parquet")  # fmt: skip
    for data in (store / "data").glob(f"*/{part.name}"):
        shutil.copy(data, data.with_name(f"{twin}.parquet"))
    _, counts = assert_counted_alike(store)
    assert counts["succeeded"] == RUNS


def test_a_damaged_or_foreign_part_is_counted_as_the_whole_reading_counts_it(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    parts = sorted((store / "data" / "model").glob("*.parquet"), key=lambda p: p.stat().st_size)
    shutil.copy(parts[0], parts[-1])  # another part's rows under this one's name
    copy_in_another_store(store, tmp_path / "other")
    (store / "runs" / "garbage.parquet").write_bytes(b"PAR1 not really")
    _, counts = assert_counted_alike(store)
    assert counts["pending"] > 0


@pytest.mark.parametrize("damage", ["lost plan", "key changed"])
def test_a_plan_that_disagrees_with_the_runs_is_read_the_whole_way(tmp_path, damage):
    store = tmp_path / "store"
    sweep(store)
    plan = next((store / "plan").glob("*.parquet"))
    if damage == "lost plan":
        plan.unlink()
    else:
        table = pq.read_table(plan)
        keys = table.column("key").to_pylist()
        keys[0] = "f" * 32
        changed = table.set_column(table.schema.get_field_index("key"), "key", pa.array(keys))
        pq.write_table(changed, plan)
    total, counts = assert_counted_alike(store, lean=False)
    assert counts["succeeded"] == total - counts["pending"] - counts["failed"]
