"""The mesa-batch console script, driven for real in subprocesses."""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from mesa_batch import Results, replication_status
from mesa_batch.store import read_log
from tests.helpers import ROOT, interruptible

SCRIPT = pathlib.Path(sys.executable).parent / "mesa-batch"
PATH = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
ENV = {**os.environ, "PYTHONPATH": PATH, "COLUMNS": "200"}


def cli(*arguments, env=None, timeout=180):
    return subprocess.run(
        [str(SCRIPT), *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or ENV,
        timeout=timeout,
        check=False,
    )


def experiment(tmp_path, body, name="exp.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


RANDOM = """
    [experiment]
    model = "tests.models:RandomModel"
    store = "store"
    seed = 5
    iterations = 2
    max_steps = 5
    data_collection_period = 1

    [design]
    kind = "full_factorial"

    [design.parameters]
    n = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]

    [execution]
    processes = 2
"""


def test_every_command_has_help_with_an_example():
    assert cli("--help").returncode == 0
    for command in ("run", "validate", "status", "show", "failures", "export", "demo"):
        done = cli(command, "--help")
        assert done.returncode == 0
        assert "Example: mesa-batch " + command in done.stdout, command
    module = subprocess.run(
        [sys.executable, "-m", "mesa_batch", "--help"],
        capture_output=True, text=True, env=ENV, check=False,
    )  # fmt: skip
    assert module.returncode == 0
    assert "Exit codes: 0 every run done, 1 some runs failed or still pending" in module.stdout


def test_a_full_run_then_show_status_and_export(tmp_path):
    path = experiment(tmp_path, RANDOM)
    done = cli("run", path)
    assert done.returncode == 0, done.stderr
    assert "40 runs: 40 succeeded, 0 failed, 0 pending" in done.stdout
    store = tmp_path / "store"  # relative to the experiment file
    assert Results.open(store).counts()["succeeded"] == 40

    again = cli("run", path)
    assert again.returncode == 0
    assert read_log(store)[-2]["todo"] == 0  # nothing left to run
    assert f"nothing left to do: 40 of 40 runs are in {store}" in again.stderr
    assert "━" not in again.stderr  # no bar that never moves
    assert "note: nothing was run" not in again.stderr  # this file made the store

    status = cli("status", store)
    assert "40 runs: 40 done, 0 failed, 0 pending" in status.stdout
    assert "no sweep is running on it" in status.stdout
    show = cli("show", store)
    assert show.returncode == 0
    assert "model: tests.models:RandomModel" in show.stdout
    assert re.search(
        r"design full_factorial \([0-9a-f]{16}\): 20 points, 40 runs, master seed 5", show.stdout
    )
    assert re.search(r"│ model\s+│ 240\s+│ draw, stdlib_draw", show.stdout)
    assert "runner overhead:" in show.stdout

    expected = Results.open(store).dataframe("model", with_parameters=True)  # the default
    csv = cli("export", store, "--table", "model", "--format", "csv", "--out", tmp_path / "m.csv")
    assert csv.returncode == 0
    assert "240 rows of model written" in csv.stdout
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "m.csv"), expected, check_dtype=False)
    bare = cli("export", store, "--no-parameters", "--out", tmp_path / "b.csv")
    assert bare.returncode == 0
    assert list(pd.read_csv(tmp_path / "b.csv").columns) == list(Results.open(store).model.columns)
    parquet = cli(
        "export", store, "--table", "runs", "--format", "parquet", "--out", tmp_path / "r.parquet"
    )
    assert parquet.returncode == 0
    assert (
        pd.read_parquet(tmp_path / "r.parquet")["key"].tolist()
        == Results.open(store).runs["key"].tolist()
    )
    bad = cli("export", store, "--table", "agent")
    assert bad.returncode == 2
    assert "--table must be one of runs, model; received 'agent'" in bad.stderr


def _popen(path, *arguments, env=ENV):
    """``mesa-batch run PATH ARGUMENTS`` started, interruptible by SIGINT as in a terminal."""
    return subprocess.Popen(
        [str(SCRIPT), "run", str(path), *map(str, arguments)], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=interruptible,  # noqa: PLW1509 - before exec, no threads involved
    )  # fmt: skip


def _status_once_running(store, succeeded, total):
    """``mesa-batch status`` (in another process) once ``succeeded`` runs are logged.

    Returns:
        Its output, this session's runs done, and the store's runs done and failed.
    """
    deadline = time.monotonic() + 60
    while sum(e.get("event") == "succeeded" for e in read_log(store)) < succeeded:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status = cli("status", store).stdout
    pattern = rf"running \(pid \d+ on .*\): (\d+) of {total} runs of this session done"
    session = re.search(pattern, status)
    assert session, status
    in_store = re.search(rf"{total} runs: (\d+) done, (\d+) failed", status)
    assert in_store, status
    return status, int(session[1]), int(in_store[1]), int(in_store[2])


def test_ctrl_c_exits_130_and_running_again_resumes(tmp_path):
    path = experiment(tmp_path, RANDOM)
    store = tmp_path / "store"
    slow = {**ENV, "MESA_BATCH_TEST_DELAY": "0.2"}  # 1 s a run: 20 s in all
    process = _popen(path, env=slow)
    status, session, done, failed = _status_once_running(store, 6, 40)
    assert failed == 0
    assert session == done  # one count: this session's runs are the store's
    assert "left" in status
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert f"Resume with: mesa-batch run {path}" in err
    done = Results.open(store).counts()["succeeded"]
    assert 0 < done < 40

    resumed = cli("run", path)
    assert resumed.returncode == 0, resumed.stderr
    starts = [e for e in read_log(store) if e["event"] == "start"]
    assert starts[-1]["todo"] == 40 - done
    assert Results.open(store).counts() == {"succeeded": 40, "failed": 0, "pending": 0}


FLAKY = """
    [experiment]
    model = "tests.models:FlakyModel"
    store = "store"
    seed = 5
    iterations = 2
    max_steps = 4

    [design]
    kind = "full_factorial"

    [design.parameters]
    n = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    needs = ["{needs}"]

    [execution]
    processes = 1
"""


def test_status_of_a_retry_failed_session_counts_only_the_runs_it_reran(tmp_path):
    needs = tmp_path / "flag"  # missing: every run fails in __init__
    path = experiment(tmp_path, FLAKY.format(needs=needs.as_posix()))
    store = tmp_path / "store"
    first = cli("run", path)
    assert first.returncode != 0 or "20 failed" in first.stdout, first.stderr
    assert "20 runs: 0 done, 20 failed, 0 pending" in cli("status", store).stdout
    needs.touch()  # the runs succeed now
    slow = {**ENV, "MESA_BATCH_TEST_DELAY": "0.25"}  # 1 s a run: 20 s in all
    process = _popen(path, "--retry-failed", env=slow)
    _, session, done, failed = _status_once_running(store, 3, 20)
    # the runs still to rerun are failed in the store, not done by this session
    assert session == done < 20
    assert done + failed == 20
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    counts = Results.open(store).counts()
    assert 0 < counts["succeeded"] < 20
    assert counts["failed"] == 20 - counts["succeeded"]
    after = cli("status", store).stdout
    assert f"{counts['succeeded']} done, {counts['failed']} failed, 0 pending" in after
    assert "no sweep is running on it" in after


def test_validate_shows_the_design_without_running(tmp_path):
    path = experiment(tmp_path, RANDOM)
    done = cli("validate", path, "--preview", "3")
    assert done.returncode == 0, done.stderr
    assert "design: full_factorial, 20 points x 2 iterations = 40 runs" in done.stdout
    assert "{'n': 2}" in done.stdout
    assert not (tmp_path / "store").exists()


BAD = [
    (
        (
            "[experiment]\nmodel = 'tests.models:RandomModel'\nseed = 1\nmax_step = 5\n"
            "[design]\nkind = 'full_factorial'\n[design.parameters]\nn = [1]\n"
        ),
        "line 4: experiment.max_step: is not a known key (check its spelling)",
    ),
    (
        "[experiment]\nseed = 1\n[design]\nkind = 'full_factorial'\n[design.parameters]\nn = 1\n",
        "line 1: experiment.model: is required but missing",
    ),
    (
        "[experiment]\nmodel = 'tests.models:RandomModel'\n[design]\nkind = 'latin'\n",
        "line 4: design.kind: kind must be one of full_factorial, base_case, manual, sample",
    ),
    (
        (
            "[experiment]\nmodel = 'tests.models:RandomModel'\n[design]\nkind = 'sample'\nn = 4\n"
            "[design.space]\nn = { integer = [9, 3] }\n"
        ),
        "line 7: design.space.n: Integer low must be less than high; received (9, 3). Swap them.",
    ),
    (
        (
            "[experiment]\nmodel = 'tests.models:RandomModel'\nmax_steps = 0\n[design]\n"
            "kind = 'full_factorial'\n[design.parameters]\nn = 1\n"
        ),
        "line 3: experiment.max_steps: Input should be greater than 0",
    ),
    (
        (
            "[experiment]\nmodel = 'tests.models:RandomModel'\n[design]\nkind = 'full_factorial'\n"
            "[design.parameters]\nn = [1, 2]\nwidht = 3\n"
        ),
        "line 7: design.parameters.widht: parameters['widht'] is not accepted by RandomModel",
    ),
    (
        (
            "[experiment]\nmodel = 'tests.nowhere:Model'\n[design]\nkind = 'full_factorial'\n"
            "[design.parameters]\nn = 1\n"
        ),
        "experiment.model = 'tests.nowhere:Model' cannot be imported: No module named",
    ),
    ("[experiment\nmodel = 'x'\n", "is not valid TOML"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_validate_names_the_key_and_line_of_each_error(tmp_path, body, message):
    path = experiment(tmp_path, body)
    done = cli("validate", path)
    assert done.returncode == 2
    assert message in done.stderr.replace("\n", " ") or message in done.stderr, done.stderr


def test_a_file_without_a_seed_draws_one_and_resumes_with_it(tmp_path):
    path = experiment(tmp_path, RANDOM.replace("seed = 5", ""))
    first = cli("run", path, "--processes", "1")
    assert first.returncode == 0, first.stderr
    seeds = Results.open(tmp_path / "store").runs["seed"].tolist()
    again = cli("run", path, "--processes", "1")
    assert again.returncode == 0, again.stderr
    assert "note: the full_factorial design drew a fresh master seed" in again.stderr
    assert read_log(tmp_path / "store")[-2]["todo"] == 0  # resumed: nothing left to run
    assert Results.open(tmp_path / "store").runs["seed"].tolist() == seeds
    other = cli("run", path, "--seed", "6", "--processes", "1")
    assert other.returncode == 2
    assert "Pass seed=" in other.stderr
    assert "mesa-batch run FILE --fresh" in other.stderr
    fresh = cli("run", path, "--seed", "6", "--processes", "1", "--fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert len(list(tmp_path.glob("store.replaced-*"))) == 1


def test_failures_print_python_that_reruns_the_failed_run(tmp_path):
    path = experiment(
        tmp_path,
        """
        [experiment]
        model = "tests.models:CounterModel"
        store = "store"
        seed = 1
        max_steps = 5

        [design]
        kind = "full_factorial"

        [design.parameters]
        fail = ["none", "step"]
        """,
    )
    done = cli("run", path)
    assert done.returncode == 1  # some runs failed
    assert "1 failed" in done.stdout
    report = cli("failures", tmp_path / "store")
    assert report.returncode == 1
    assert "run: ZeroDivisionError: failing in step 3 as asked" in report.stdout
    assert "parameters: {'fail': 'step'}" in report.stdout
    snippet = report.stdout.split("rerun it alone (or: mesa-batch rerun STORE RUN_ID):\n", 1)[1]
    rerun = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, cwd=ROOT, env=ENV,
        check=False,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert "ZeroDivisionError: failing in step 3 as asked" in rerun.stdout


def test_a_model_from_a_file_next_to_the_experiment(tmp_path):
    (tmp_path / "mymodel.py").write_text(
        textwrap.dedent(
            """
            import mesa

            class FileModel(mesa.Model):
                def __init__(self, n=1, rng=None):
                    super().__init__(rng=rng)
                    self.n = n
                    self.datacollector = mesa.DataCollector(model_reporters={"twice": lambda m: 2 * m.n})
                    self.datacollector.collect(self)

                def step(self):
                    self.datacollector.collect(self)
            """
        )
    )
    path = experiment(
        tmp_path,
        """
        [experiment]
        model = "mymodel.py:FileModel"
        seed = 2
        max_steps = 2

        [design]
        kind = "manual"
        points = [{ n = 1 }, { n = 2 }, { n = 3 }]

        [execution]
        processes = 2
        """,
    )
    done = cli("run", path)
    assert done.returncode == 0, done.stderr
    results = Results.open(tmp_path / "results" / "exp")
    assert sorted(results.model["twice"].unique()) == [2, 4, 6]


def test_demo(tmp_path):
    done = cli("demo", "--keep", tmp_path / "demo")
    assert done.returncode == 0, done.stderr
    assert "18 runs: 18 succeeded" in done.stdout
    assert "final inequality" in done.stdout


EXITING = """
    [experiment]
    model = "tests.models:ExitingModel"
    store = "store"
    seed = 1
    max_steps = 2

    [design]
    kind = "full_factorial"

    [design.parameters]
    n = {sizes}
    code = 0  # n = 3 ends its process with os._exit(0): "success"

    [execution]
    processes = {processes}
"""


@pytest.mark.parametrize("processes", [1, 2])
def test_a_run_that_ends_its_process_never_exits_0(tmp_path, processes):
    path = experiment(tmp_path, EXITING.format(sizes=[1, 3, 2], processes=processes))
    done = cli("run", path)
    assert done.returncode == 1, done.stderr  # some runs failed (or are pending)
    assert "3 runs: 2 succeeded, 1 failed, 0 pending" in done.stdout
    failed = Results.open(tmp_path / "store").failures
    assert [(f.run_id, str(f.failure.stage)) for f in failed] == [(1, "worker")]


def test_a_run_that_ends_its_process_in_a_replications_round_never_exits_0(tmp_path):
    replicated = (
        EXITING.format(sizes=[1, 3], processes=1) + '\n    [replications]\n    outcome = "n"\n'
    )
    path = experiment(tmp_path, replicated)
    done = cli("run", path)
    assert done.returncode == 1, done.stderr  # the n = 3 point's runs failed
    table = replication_status(tmp_path / "store").set_index("n")
    assert table.loc[3, "status"] == "failed"
    assert table.loc[1, "status"] == "target"
    failed = Results.open(tmp_path / "store").failures
    assert {str(f.failure.stage) for f in failed} == {"worker"}
    assert len(failed) == table.loc[3, "iterations"]


HANGING = """
    [experiment]
    model = "tests.models:HangingModel"
    store = "store"
    seed = 1
    max_steps = 3

    [design]
    kind = "full_factorial"

    [design.parameters]
    n = [1, 3, 2]

    [execution]
    processes = 1
"""


def test_run_timeout_from_the_command_line_or_the_file_stops_a_hung_run(tmp_path):
    path = experiment(tmp_path, HANGING)  # run 1 sleeps for an hour in its step 2
    done = cli("run", path, "--run-timeout", "1.5", timeout=120)
    assert done.returncode == 1, done.stderr
    runs = Results.open(tmp_path / "store").runs
    assert runs["status"].tolist() == ["succeeded", "failed", "succeeded"]
    assert runs["failure_stage"][1] == "timeout"
    assert "run_timeout=1.5 s" in runs["failure_message"][1]
    # the file's limit, and a resume that does not wait on the timed-out run
    filed = experiment(tmp_path, HANGING + "    run_timeout = 1\n", name="filed.toml")
    again = cli("run", filed, "--retry-failed", timeout=120)
    assert again.returncode == 1, again.stderr
    runs = Results.open(tmp_path / "store").runs
    assert "run_timeout=1 s" in runs["failure_message"][1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "-1",
            (
                "error: --run-timeout must be a positive number of seconds (none given: no "
                "limit); received -1.0. Pass e.g. --run-timeout 60 to stop any run"
            ),
        ),
        ("0", "received 0.0. Pass e.g. --run-timeout 60"),
        ("abc", "Invalid value for '--run-timeout': Input should be a valid number"),
    ],
)
def test_a_bad_run_timeout_is_refused_before_anything_runs(tmp_path, value, message):
    path = experiment(tmp_path, HANGING)
    done = cli("run", path, "--run-timeout", value)
    assert done.returncode == 2
    assert message in " ".join(done.stderr.split()), done.stderr
    assert not (tmp_path / "store").exists()


def _started(path, *arguments, env):
    """``mesa-batch run PATH ARGUMENTS``, once it printed its first line (the file is loaded)."""
    process = _popen(path, *arguments, env=env)
    assert " runs of tests.models:RandomModel into " in process.stdout.readline()
    return process


def test_ctrl_c_while_the_command_line_loads_prints_one_line(tmp_path):
    # from the package's lazy front and mesa_batch._entry (a few ms), through Python's imports
    # of Mesa and pandas (the first ~0.2-0.7 s), to the file being read: never a traceback,
    # always exit 130 and the command to run again. Python's own start-up before the entry
    # point is not the package's: a delay shorter than 1.5 measured start-ups is skipped
    path = experiment(tmp_path, RANDOM)
    command = [str(SCRIPT)]
    began = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import mesa_batch._entry"], env=ENV, cwd=ROOT, check=True
    )
    start_up = time.monotonic() - began
    delays = [d for d in (0.05, 0.15, 0.25, 0.4, 0.6, 0.9) if d > 1.5 * start_up]
    assert len(delays) >= 4, start_up
    before_loaded = 0
    for delay in delays:
        # CPython drops a KeyboardInterrupt raised inside a weakref callback ("Exception
        # ignored in ... KeyedRef.remove") and the command goes on: a rare landing spot, not
        # the package's, so each delay gets a second try. Once (1 of ~80 tries, under a full
        # suite's load) a signal at 0.15 s was dropped by an import and the sweep ran to exit
        # 0; the command now notices such a Ctrl-C (the test below), but a lost one still
        # gets the second try
        for attempt in range(2):
            process = subprocess.Popen(
                [*command, "run", str(path)], cwd=ROOT, env=ENV, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                preexec_fn=interruptible,  # noqa: PLW1509 - before exec, no threads involved
            )  # fmt: skip
            time.sleep(delay)
            process.send_signal(signal.SIGINT)
            try:
                out, err = process.communicate(timeout=60)
            finally:
                process.kill()
            ignored = "Exception ignored in" in err
            lost = process.returncode == 0 and "interrupted" not in err
            dropped = process.returncode != 130 and (ignored or lost)
            if not (dropped and attempt == 0):
                break
            shutil.rmtree(tmp_path / "store", ignore_errors=True)
        assert process.returncode == 130, (delay, out, err)
        assert "Traceback" not in err, (delay, err)
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("runs")]
        assert len(lines) == 1, (delay, err)
        assert re.search(rf"(Resume|Run it) with: mesa-batch run {re.escape(str(path))}$", lines[0])
        before_loaded += " runs of tests.models:RandomModel" not in out
    assert before_loaded  # at least one Ctrl-C came before the experiment file was loaded


SWALLOWING_MODEL = """
import os
import signal
import time

import mesa

try:  # a Ctrl-C while this module imports, caught as some libraries' imports catch it
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
except KeyboardInterrupt:
    {caught}


class Model(mesa.Model):
    def step(self):
        pass
"""


@pytest.mark.parametrize(
    "caught",
    [
        'raise ImportError("numpy._core.umath failed to import") from None',  # numpy's way
        "pass",  # dropped
    ],
)
def test_a_ctrl_c_a_library_catches_while_the_model_imports_still_interrupts(tmp_path, caught):
    (tmp_path / "swallowing.py").write_text(SWALLOWING_MODEL.format(caught=caught))
    path = experiment(tmp_path, RANDOM.replace("tests.models:RandomModel", "swallowing:Model"))
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(tmp_path), ENV["PYTHONPATH"]])}
    done = cli("run", path, env=env)
    assert done.returncode == 130, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "cannot" not in done.stderr, done.stderr
    assert "error" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].endswith(f"Run it with: mesa-batch run {path}")
    assert not list((tmp_path / "store" / "runs").glob("*.parquet"))  # no run started


@pytest.mark.slow
def test_ctrl_c_while_the_pool_starts_prints_one_line_and_its_hint_resumes(tmp_path):
    path = experiment(tmp_path, RANDOM)
    store = tmp_path / "elsewhere"
    slow = {**ENV, "MESA_BATCH_TEST_DELAY": "0.05"}
    hints = set()
    # from just after the file is loaded (the pool starts, the store opens) to runs going on
    for delay in (0.0, 0.3, 1.0, 2.0, 3.0):
        process = _started(path, "--store", store, "--seed", 9, env=slow)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, (delay, err)
        assert "Traceback" not in err, (delay, err)
        assert "Error" not in err, (delay, err)
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("runs")]
        assert len(lines) == 1, (delay, err)
        hint = re.search(r"(Resume|Run it) with: (.*)$", lines[0])
        assert hint, (delay, err)
        hints.add(hint[2])
    expected = shlex.join(["mesa-batch", "run", str(path), "--store", str(store), "--seed", "9"])
    assert hints == {expected}  # the overrides given are repeated: following it resumes
    words = shlex.split(expected)
    resumed = cli(*words[1:])  # the hint, literally
    assert resumed.returncode == 0, resumed.stderr
    assert Results.open(store).counts() == {"succeeded": 40, "failed": 0, "pending": 0}
    seeds = {d.seed.entropy for d in Results.open(store).designs.values()}
    assert seeds == {9}


def test_a_store_conflict_is_reported_before_any_progress_bar(tmp_path):
    path = experiment(tmp_path, RANDOM.replace("processes = 2", "processes = 1"))
    assert cli("run", path).returncode == 0
    done = cli("run", path, "--seed", 6)  # the store's runs have seeds from 5
    assert done.returncode == 2
    assert "error: the run {'n': 0}, iteration 0 is in the store" in done.stderr
    assert "mesa-batch run FILE --fresh" in done.stderr
    assert "0/?" not in done.stderr
    assert "runs " not in done.stderr.split("error:")[0]  # nothing before the error


def test_a_copied_file_that_finds_its_runs_in_another_files_store_says_so(tmp_path):
    original = experiment(tmp_path, RANDOM.replace("processes = 2", "processes = 1"))
    assert cli("run", original).returncode == 0
    copy = tmp_path / "my_sweep.toml"  # the same store path, relative to the same folder
    shutil.copy(original, copy)
    done = cli("run", copy)
    assert done.returncode == 0, done.stderr
    assert (
        f"note: nothing was run: all 40 runs of {copy} are already in {tmp_path / 'store'}, a "
        f"store made by `mesa-batch run {original}` (in {ROOT}), not by this file."
    ) in done.stderr
    assert "--store DIR" in done.stderr
    assert "--fresh" in done.stderr
    again = cli("run", original)  # the file that made it: a plain resume, no note
    assert "note: nothing was run" not in again.stderr
    show = cli("show", tmp_path / "store")
    assert f"by mesa-batch run {copy}" in show.stdout
