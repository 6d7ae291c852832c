"""Paths and files that are not the store's: refused or left alone, never written through."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import tracemalloc

import pytest

from mesa_batch import BatchRunner, Results, full_factorial
from mesa_batch.store import StoreConflictError, read_log
from tests.helpers import ROOT


def configs(n=4):
    from tests.models import RandomModel

    return full_factorial(RandomModel, {"n": range(n)}, max_steps=2, seed=5)


def sweep(store, sweep_configs=None, **kwargs):
    return BatchRunner(
        configs() if sweep_configs is None else sweep_configs,
        display_progress=False,
        store=store,
        **kwargs,
    ).run()


def test_a_directory_that_is_not_a_store_is_refused_untouched(tmp_path):
    home = tmp_path / "project"
    home.mkdir()
    (home / "notes.md").write_text("mine")
    (home / ".notes.md.0123abcd.tmp").write_text("an editor's file")
    before = sorted(p.name for p in home.iterdir())
    with pytest.raises(StoreConflictError, match=r"must be a mesa_batch store or empty.*notes"):
        sweep(home)
    with pytest.raises(StoreConflictError, match="must be a mesa_batch store or empty"):
        sweep(home, replace_store=True)
    assert sorted(p.name for p in home.iterdir()) == before
    sweep(home / "store")  # the fix the message gives
    assert Results.open(home / "store").counts()["succeeded"] == 4


def test_a_file_is_refused_as_a_store(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(StoreConflictError, match="must be a directory"):
        sweep(path)


@pytest.mark.parametrize("name", [".lock", "status.jsonl"])
def test_a_link_in_place_of_the_stores_own_file_is_refused(tmp_path, name):
    store = tmp_path / "store"
    sweep(store)
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    (store / name).unlink()
    (store / name).symlink_to(target)
    with pytest.raises(StoreConflictError, match=f"{name}.*symbolic link.*Remove the link"):
        sweep(store, configs(6))
    assert target.read_text() == "keep me\n"
    (store / name).unlink()
    sweep(store, configs(6))  # the lock was released; the store resumes
    assert Results.open(store).counts()["succeeded"] == 6


def test_cleanup_deletes_only_the_stores_own_temporary_files(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    mine = [
        store / ".foo.swp.tmp",
        store / ".notes.0123abcd.tmp",
        store / "data" / "model" / ".foo.swp.tmp",
        store / "runs" / ".scratch.deadbeef.tmp",
    ]
    for path in mine:
        path.write_text("a user's file")
    ours = [
        store / ".store.json.0123abcd.tmp",
        store / "runs" / ".20261201T000000-abcdef-0123456789ab.parquet.0123abcd.tmp",
        store / "data" / "model" / ".20261201T000000-abcdef-0123456789ab.parquet.89abcdef.tmp",
    ]
    for path in ours:
        path.write_bytes(b"half a file")
    sweep(store)
    assert all(path.read_text() == "a user's file" for path in mine)
    assert not any(path.exists() for path in ours)


LIMITED = """
import resource, sys
from mesa_batch import BatchRunner, full_factorial
from mesa_batch.errors import StoreWriteError
from tests.models import RandomModel

resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
configs = full_factorial(RandomModel, {{"n": [1]}}, iterations={n}, max_steps=1, seed=5)
try:
    BatchRunner(configs, display_progress=False, store={store!r}).run()
except StoreWriteError as error:
    print("StoreWriteError:", error)
    sys.exit(3)
"""


def limited(store, *, limit, n):
    code = textwrap.dedent(LIMITED.format(limit=limit, n=n, store=str(store)))
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )


def test_a_file_size_limit_while_writing_the_plan_is_a_store_write_error(tmp_path):
    store = tmp_path / "store"
    done = limited(store, limit=20_000, n=3000)
    assert done.returncode == 3, done.stderr
    assert "StoreWriteError: the store file" in done.stdout
    assert f"{store}/plan/" in done.stdout
    assert "File too large" in done.stdout
    assert "raise the file size limit" in done.stdout
    assert not list((store / "plan").glob("*.parquet"))  # nothing half-written is left
    from tests.models import RandomModel

    again = full_factorial(RandomModel, {"n": [1]}, iterations=3000, max_steps=1, seed=5)
    sweep(store, again[:10])  # without the limit, the store works


def test_a_file_size_limit_while_writing_the_log_is_a_store_write_error(tmp_path):
    store = tmp_path / "store"
    from tests.models import RandomModel

    four = full_factorial(RandomModel, {"n": [1]}, iterations=4, max_steps=1, seed=5)
    sweep(store, four)
    with open(store / "status.jsonl", "a") as log:
        log.write('{"event": "padding", "x": "' + "x" * (200_000 - 40) + '"}\n')
    size = (store / "status.jsonl").stat().st_size
    done = limited(store, limit=size + 10, n=4)
    assert done.returncode == 3, done.stderr
    assert f"StoreWriteError: the store file {store}/status.jsonl" in done.stdout
    assert Results.open(store).counts()["succeeded"] == 4


#: A sweep of 6 runs into a store, in a process of its own; exit 3 with the error on a
#: StoreWriteError.
READ_ONLY = """
import sys
from mesa_batch import BatchRunner
from mesa_batch.errors import StoreWriteError
from tests.store.test_paths import configs

try:
    BatchRunner(configs(6), display_progress=False, store={store!r}).run()
except StoreWriteError as error:
    print("StoreWriteError:", error)
    sys.exit(3)
"""

#: Root writes into read-only directories: its sweep runs without the capabilities that let it
#: (setpriv drops them from the process it starts), so the permissions apply to it too.
NO_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="root writes into read-only directories, and setpriv (util-linux) is missing",
)
def test_a_read_only_store_is_a_store_write_error(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    for path in [store, *store.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    try:
        code = textwrap.dedent(READ_ONLY.format(store=str(store)))
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
        prefix = NO_OVERRIDE if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, sys.executable, "-c", code],
            capture_output=True, text=True, cwd=ROOT, env=env, check=False,
        )  # fmt: skip
    finally:
        for path in [store, *store.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"StoreWriteError: the store file {store}/" in done.stdout  # the path, then the fix
    assert "Make the store writable" in done.stdout
    assert Results.open(store).counts() == {"succeeded": 4, "failed": 0, "pending": 0}


def test_a_torn_status_line_is_not_glued_to_the_next_session(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    with open(store / "status.jsonl", "a") as log:
        log.write('{"t": 1, "event": "succ')  # a crash mid-append
    sweep(store, configs(6))
    lines = (store / "status.jsonl").read_text().splitlines()
    assert '{"t": 1, "event": "succ' in lines
    starts = [e for e in read_log(store) if e["event"] == "start"]
    assert len(starts) == 2
    assert starts[-1]["todo"] == 2


def test_one_huge_status_line_is_read_in_bounded_memory(tmp_path):
    store = tmp_path / "store"
    sweep(store)
    with open(store / "status.jsonl", "a") as log:
        log.write('{"event": "failed", "x": "' + "x" * 50_000_000 + '"}\n')
        log.write('{"event": "failed", "run_id": 99, "key": "k"}\n')
    tracemalloc.start()
    try:
        entries = read_log(store, events=["failed"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e["run_id"] for e in entries] == [99]
    assert peak < 10_000_000
    assert Results.open(store).counts()["succeeded"] == 4


def test_the_log_searched_for_some_events_gives_the_lines_a_full_read_gives(tmp_path):
    from mesa_batch.store.reader import LOG_BLOCK, MAX_LINE

    store = tmp_path / "store"
    sweep(store)
    with open(store / "status.jsonl", "a") as log:
        n = 0
        while log.tell() < 3 * LOG_BLOCK:  # lines across the blocks the log is searched in
            event = ("failed", "succeeded", "note")[n % 3]
            log.write(json.dumps({"t": n, "event": event, "run_id": n, "pad": "p" * (n % 97)}))
            log.write("\n")
            n += 1
        log.write('{"event": "failed", "x": "' + "x" * (MAX_LINE + 10) + '"}\n')  # too long
        log.write('{"event": "failed", "run_id": -1}\n')
        log.write('{"event": "failed", "run_id": -2')  # torn: no newline, no closing brace
    for events in (["failed"], ["start", "succeeded"], ["failed", "note"]):
        everything = [e for e in read_log(store) if e.get("event") in events]
        assert read_log(store, events=events) == everything
    assert read_log(store, events=["failed"])[-1]["run_id"] == -1


def test_open_never_follows_a_linked_store_json_of_another_store(tmp_path):
    other = tmp_path / "other"
    sweep(other)
    store = tmp_path / "store"
    sweep(store)
    (store / "store.json").unlink()
    (store / "store.json").symlink_to(other / "store.json")
    results = Results.open(store)  # rebuilt from the plan, not read through the link
    assert results.counts()["succeeded"] == 4
    assert pathlib.Path(other / "store.json").is_file()
