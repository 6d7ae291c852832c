"""Faults a store survives, caused for real: killed workers, signals, torn files, full disks."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import threading
import time
import uuid

import pandas as pd
import pyarrow.parquet as pq
import pytest

from mesa_batch import BatchRunner, Results, full_factorial
from mesa_batch.store import StoreLockedError, StoreWriteError, read_log
from tests.helpers import pool_workers, processes_tagged, python

RUNS = 60


def configs():
    from tests.models import RandomModel

    return full_factorial(
        RandomModel,
        {"n": range(RUNS // 2)},
        iterations=2,
        max_steps=5,
        data_collection_period=1,
        seed=11,
    )


SWEEP = """
import sys
from mesa_batch import BatchRunner, Interrupted, full_factorial
from tests.models import RandomModel

configs = full_factorial(RandomModel, {{"n": range({half})}}, iterations=2,
                         max_steps=5, data_collection_period=1, seed=11)
runner = BatchRunner(configs, {processes}, display_progress=False, store={store!r})
print("started", flush=True)
try:
    runner.run()
except Interrupted:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def sweep_code(store, processes=2):
    return SWEEP.format(half=RUNS // 2, processes=processes, store=str(store))


def slow(seconds=0.05):
    """Run subprocess sweeps with this many seconds per model step."""
    return {"env": {**os.environ, "MESA_BATCH_TEST_DELAY": str(seconds)}}


def done_runs(store):
    return sum(e.get("event") == "succeeded" for e in read_log(pathlib.Path(store)))


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def all_parts_readable(store):
    for path in pathlib.Path(store).glob("**/*.parquet"):
        if "quarantine" not in path.parts:
            pq.read_metadata(path)


def compare_with_uninterrupted(store):
    results = Results.open(store)
    assert results.counts() == {"succeeded": RUNS, "failed": 0, "pending": 0}
    expected = BatchRunner(configs(), display_progress=False).run()
    pd.testing.assert_frame_equal(results.model, expected.model, check_dtype=False)
    assert results.runs["key"].tolist() == expected.runs["key"].tolist()
    assert results.runs["run_id"].is_unique


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_parent_signal_mid_sweep_then_resume_equals_an_uninterrupted_run(tmp_path, how):
    store = tmp_path / "store"
    tag = uuid.uuid4().hex
    process = python(sweep_code(store), tag, **slow())
    assert process.stdout.readline().strip() == "started"
    wait_for(lambda: done_runs(store) >= 10)
    sent = time.monotonic()
    process.send_signal(how)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert process.returncode == 130, err
    assert "interrupted" in out
    wait_for(lambda: not processes_tagged(tag), timeout=5)
    all_parts_readable(store)
    partial = Results.open(store)
    counts = partial.counts()
    assert counts["succeeded"] >= 10
    assert counts["pending"] > 0
    assert counts["failed"] == 0
    assert read_log(store)[-1] == read_log(store)[-1] | {"event": "end", "reason": "interrupted"}

    resumed = BatchRunner(configs(), 2, display_progress=False, store=store).run()
    starts = [e for e in read_log(store) if e["event"] == "start"]
    assert starts[-1]["todo"] == RUNS - counts["succeeded"]
    assert resumed.counts()["succeeded"] == RUNS
    compare_with_uninterrupted(store)


def test_a_worker_killed_mid_sweep_costs_nothing(tmp_path):
    store = tmp_path / "store"
    killed = []

    def kill_a_worker():
        wait_for(lambda: done_runs(store) >= 8)
        workers = pool_workers(os.getpid())
        os.kill(workers[0], signal.SIGKILL)
        killed.append(workers[0])

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    os.environ["MESA_BATCH_TEST_DELAY"] = "0.03"  # inherited by the pool's new workers
    try:
        results = BatchRunner(configs(), 2, display_progress=False, store=store).run()
    finally:
        del os.environ["MESA_BATCH_TEST_DELAY"]
    killer.join()
    assert killed
    assert results.counts() == {"succeeded": RUNS, "failed": 0, "pending": 0}
    compare_with_uninterrupted(store)


def test_a_torn_part_is_moved_aside_and_its_runs_run_again(tmp_path):
    store = tmp_path / "store"
    BatchRunner(configs(), display_progress=False, store=store).run()
    part = max((store / "data" / "model").glob("*.parquet"), key=lambda p: p.stat().st_size)
    with open(part, "r+b") as file:
        file.truncate(part.stat().st_size // 2)
    damaged = Results.open(store)  # reading never fails because of it
    counts = damaged.counts()
    assert counts["pending"] > 0
    assert counts["succeeded"] + counts["pending"] == RUNS
    assert set(damaged.model["run_id"]) == set(
        damaged.runs.loc[damaged.runs["status"] == "succeeded", "run_id"]
    )

    BatchRunner(configs(), display_progress=False, store=store).run()
    assert (store / "quarantine" / "data" / "model" / part.name).exists()
    starts = [e for e in read_log(store) if e["event"] == "start"]
    assert starts[-1]["todo"] == counts["pending"]
    compare_with_uninterrupted(store)


@pytest.fixture
def fresh_workers():
    """Workers of this test (with a file size limit) are not reused by the next tests."""
    yield
    from loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


@pytest.mark.usefixtures("fresh_workers")
def test_a_full_disk_is_a_clear_error_and_resume_finishes_later(tmp_path):
    from tests.models import DiskFullModel

    store = tmp_path / "store"
    full = tmp_path / "disk-is-full"
    full.touch()
    disk_full = full_factorial(
        DiskFullModel,
        {"n": range(RUNS // 2), "full": str(full)},
        iterations=2,
        max_steps=5,
        data_collection_period=1,
        seed=11,
    )
    with pytest.raises(
        StoreWriteError,
        match=r"could not be written; received .*File too large.*Free disk space .* run the "
        r"same sweep again: it resumes",
    ):
        BatchRunner(disk_full, 2, display_progress=False, store=store).run()
    full.unlink()  # space is back
    partial = Results.open(store)  # the store stays readable, with what was committed
    assert 0 < partial.counts()["succeeded"] < RUNS
    assert read_log(store)[-1]["reason"] == "error"
    all_parts_readable(store)
    resumed = BatchRunner(disk_full, 2, display_progress=False, store=store).run()
    assert resumed.counts() == {"succeeded": RUNS, "failed": 0, "pending": 0}
    expected = BatchRunner(disk_full, display_progress=False).run()
    pd.testing.assert_frame_equal(resumed.model, expected.model, check_dtype=False)


def test_a_second_writer_is_refused(tmp_path):
    store = tmp_path / "store"
    tag = uuid.uuid4().hex
    process = python(sweep_code(store, processes=1), tag, **slow())
    assert process.stdout.readline().strip() == "started"
    wait_for(lambda: done_runs(store) >= 1)
    try:
        with pytest.raises(
            StoreLockedError,
            match=rf"is being written by another process; received 'pid {process.pid} on .*'",
        ):
            BatchRunner(configs(), display_progress=False, store=store).run()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    # once the first writer is gone, the store can be written again
    BatchRunner(configs(), 2, display_progress=False, store=store).run()
    compare_with_uninterrupted(store)


def test_leftovers_of_a_crash_are_tolerated(tmp_path):
    store = tmp_path / "store"
    BatchRunner(configs()[:20], display_progress=False, store=store).run()
    stale = store / "data" / "model" / ".part.parquet.0123abcd.tmp"
    stale.write_bytes(b"half a file")
    with open(store / "status.jsonl", "a") as log:
        log.write('{"t": 1, "event": "succ')  # a torn last line
    assert Results.open(store).counts()["succeeded"] == 20
    BatchRunner(configs(), display_progress=False, store=store).run()
    assert not stale.exists()
    compare_with_uninterrupted(store)
    assert json.loads((store / "store.json").read_text())["sessions"][-1]["reason"] == "completed"
