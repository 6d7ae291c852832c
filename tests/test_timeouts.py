"""run_timeout: runs that never end are stopped, recorded at stage timeout, and rerun on request.

Real hung models (an hour's sleep, a busy loop, SIGALRM blocked), a real loky pool, real stores.
"""

from __future__ import annotations

import math
import os
import re
import signal
import threading
import time

import pytest

from mesa_batch import BatchRunner, ConfigurationError, Results, RunFailedWarning, manual
from mesa_batch.backends import local_pool
from mesa_batch.execute import execute_batch
from tests.models import HangingModel, SlowModel

LIMIT = 1.0


def hanging(how, sizes=(1, 3, 2, 1, 2), **options):
    points = [{"n": n, "how": how, **options} for n in sizes]
    return manual(HangingModel, points, max_steps=4, seed=1)


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("how", ["sleep", "loop"])
def test_a_run_that_never_ends_is_stopped_at_stage_timeout_and_the_sweep_goes_on(processes, how):
    configs = hanging(how)
    runner = BatchRunner(
        configs, number_processes=processes, display_progress=False, run_timeout=LIMIT
    )
    with pytest.warns(RunFailedWarning, match="1 of 5 runs failed"):
        results = runner.run()
    (failure,) = results.failures
    assert (failure.run_id, failure.stage, failure.exception_type) == (1, "timeout", "RunTimeout")
    assert "longer than run_timeout=1 s and was stopped in step 2" in failure.message
    assert "raise the limit" in failure.message
    assert "retry_failed=True" in failure.message
    assert sorted(results.model["run_id"].unique()) == [0, 2, 3, 4]
    assert results.runs.loc[1, "steps"] == 1  # the step it hung in did not count


@pytest.mark.parametrize("where", ["here", "pool"])
def test_the_batch_mates_of_a_timed_out_run_run_on_in_its_batch(where):
    batch = hanging("sleep", sizes=(1, 3, 2))
    if where == "here":
        result = execute_batch(batch, run_timeout=LIMIT)
    else:
        pool = local_pool(2, run_timeout=LIMIT)
        result = pool.submit(batch, task="mates", writer=None).result(timeout=120)
    assert [(s.run_id, s.status) for s in result.statuses] == [
        (0, "succeeded"),
        (1, "failed"),
        (2, "succeeded"),
    ]
    assert result.statuses[1].failure.stage == "timeout"
    assert sorted(set(result.tables["model"]["run_id"])) == [0, 2]


def test_a_timed_out_run_is_kept_by_a_resume_and_rerun_by_retry_failed(tmp_path):
    store = tmp_path / "store"
    configs = hanging("slow", slow=4.0)  # run 1 needs about 4 s
    first = BatchRunner(
        configs, number_processes=2, display_progress=False, store=store, run_timeout=LIMIT
    )
    with pytest.warns(RunFailedWarning, match="1 of 5 runs failed"):
        first.run()
    runs = Results.open(store).runs
    assert runs["failure_stage"].fillna("").tolist() == ["", "timeout", "", "", ""]
    assert runs["status"].tolist().count("succeeded") == 4
    # a resume does not run it again (nor wait on it)
    again = BatchRunner(configs, display_progress=False, store=store, run_timeout=LIMIT)
    with pytest.warns(RunFailedWarning, match="1 of 5 runs failed"):
        assert again.run().counts() == {"succeeded": 4, "failed": 1, "pending": 0}
    # retry_failed with a larger limit completes it
    retry = BatchRunner(
        configs, display_progress=False, store=store, retry_failed=True, run_timeout=60
    )
    results = retry.run()
    assert results.counts() == {"succeeded": 5, "failed": 0, "pending": 0}
    assert sorted(results.model["run_id"].unique()) == [0, 1, 2, 3, 4]


def test_a_worker_the_limit_cannot_stop_is_killed_and_its_batch_mates_are_kept(tmp_path):
    # SIGALRM blocked: no timer reaches the run; the pool kills the stuck worker after
    # LIMIT + KILL_GRACE without news, replaces the pool and reruns what was in flight alone
    configs = hanging("blocked", sizes=(1, 3, 2, 1, 2, 1))
    store = tmp_path / "store"
    runner = BatchRunner(
        configs, number_processes=2, display_progress=False, store=store, run_timeout=LIMIT
    )
    with pytest.warns(RunFailedWarning, match="1 of 6 runs failed"):
        runner.run()
    results = Results.open(store)
    (failure,) = results.failures
    assert (failure.run_id, failure.stage) == (1, "timeout")
    assert "by killing its worker process, which did not stop it" in failure.message
    assert results.runs["failure_stage"].fillna("").tolist() == ["", "timeout", "", "", "", ""]
    assert sorted(results.model["run_id"].unique()) == [0, 2, 3, 4, 5]


def test_the_signal_timer_is_restored_after_each_run():
    fired = []

    def outer(signum, frame):
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 100)
        with pytest.warns(RunFailedWarning):
            BatchRunner(hanging("loop"), display_progress=False, run_timeout=0.5).run()
        assert signal.getsignal(signal.SIGALRM) is outer
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left < 100  # the caller's timer runs on, less the sweep's time
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # and still calls the caller's handler
        time.sleep(1)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_callers_own_sigalrm_during_a_run_goes_to_the_callers_handler():
    fired = []

    def outer(signum, frame):
        fired.append(signum)

    configs = manual(SlowModel, [{"n": 1, "delay": 0.2}], max_steps=3, seed=1)
    previous = signal.signal(signal.SIGALRM, outer)
    sender = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGALRM))  # not the run's timer
    try:
        sender.start()
        results = BatchRunner(configs, display_progress=False, run_timeout=30).run()
        sender.join()
        assert results.counts() == {"succeeded": 1, "failed": 0, "pending": 0}
        assert fired == [signal.SIGALRM]
        assert signal.getsignal(signal.SIGALRM) is outer
    finally:
        sender.cancel()
        signal.signal(signal.SIGALRM, previous)


def test_off_the_main_thread_the_limit_is_checked_between_steps():
    configs = manual(SlowModel, [{"n": 1, "delay": 0.1}], max_steps=10_000, seed=1)
    found = {}

    def sweep():
        runner = BatchRunner(configs, display_progress=False, run_timeout=LIMIT)
        with pytest.warns(RunFailedWarning):
            found["results"] = runner.run()
        found["handler"] = signal.getsignal(signal.SIGALRM)

    before = signal.getsignal(signal.SIGALRM)
    thread = threading.Thread(target=sweep)
    thread.start()
    thread.join(120)
    (failure,) = found["results"].failures
    assert failure.stage == "timeout"
    assert re.search(
        r"longer than run_timeout=1 s and was stopped (after|in step)", failure.message
    )
    assert 1 < found["results"].runs.loc[0, "steps"] < 10_000
    assert found["handler"] is before  # no handler was installed off the main thread


def test_off_the_main_thread_a_step_looping_forever_is_stopped():
    # no signal there: the exception is raised in the run's thread (a busy loop; a sleep
    # past the limit is stopped as it returns); the batch goes on with its other runs, and nothing is raised later
    points = [{"n": 3, "how": "loop"}, {"n": 1}, {"n": 3, "how": "slow", "slow": 2.0}]
    configs = manual(HangingModel, points, max_steps=3, seed=1)
    found = {}

    def sweep():
        runner = BatchRunner(configs, display_progress=False, run_timeout=LIMIT)
        with pytest.warns(RunFailedWarning, match="2 of 3 runs failed"):
            found["results"] = runner.run()
        time.sleep(LIMIT + 0.5)  # a withdrawn exception would be raised here: none is
        found["after"] = True

    thread = threading.Thread(target=sweep)
    started = time.monotonic()
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert found["after"]
    assert time.monotonic() - started < 30
    results = found["results"]
    assert list(results.runs["status"]) == ["failed", "succeeded", "failed"]
    for failure in results.failures:
        assert (failure.stage, failure.exception_type) == ("timeout", "RunTimeout")
        assert "longer than run_timeout=1 s and was stopped in step 2" in failure.message


@pytest.mark.parametrize("bad", [-1, 0, "abc", True, math.inf, math.nan, [5]])
def test_run_timeout_is_checked_before_anything_runs(bad):
    with pytest.raises(
        ConfigurationError,
        match=r"run_timeout must be a positive number of seconds \(none given: no limit\); "
        r"received .+\. Pass e\.g\. run_timeout=60 to stop any run",
    ):
        BatchRunner(hanging("sleep"), run_timeout=bad)
