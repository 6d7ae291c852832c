"""Helpers for tests that run sweeps in real subprocesses and look for leftover processes."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[1]


def python(code: str, tag: str, *, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """Start ``python -c CODE`` from the repository root; its processes carry ``tag``."""
    env = {**(env or os.environ), "MESA_BATCH_TEST_TAG": tag, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        **kwargs,
    )


def processes_tagged(tag: str) -> list[int]:
    """The live processes started with ``tag`` in their environment (workers included)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if f"MESA_BATCH_TEST_TAG={tag}".encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def pool_workers(pid: int) -> list[int]:
    """The loky pool workers that are children of ``pid`` (not its resource trackers)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().split(") ", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"LokyProcess" in command:
            found.append(int(entry.name))
    return found
