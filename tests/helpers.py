"""Helpers for tests that run sweeps or the command line in real subprocesses, and look for
leftover processes."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: The environment of a command-line subprocess: this checkout's package first, wide output.
CLI_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    "COLUMNS": "200",
}


def cli(*arguments: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``python -m mesa_batch ARGUMENTS`` from the repository root; its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "mesa_batch", *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=CLI_ENV,
        timeout=timeout,
        check=False,
    )


def interruptible() -> None:
    """In a child process: let SIGINT interrupt it, as Ctrl-C in a terminal does.

    A shell starts background jobs with SIGINT ignored, and children inherit that: tests run
    from such a job (CI) would otherwise send SIGINT to processes that ignore it.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)


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
        preexec_fn=interruptible,  # noqa: PLW1509 - before exec, no threads involved
        **kwargs,
    )


def _processes():
    """(pid, parent pid, /proc entry) of every live (not zombie) process."""
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().split(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            yield int(entry.name), int(fields[1]), entry


def _read(path: pathlib.Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def processes_tagged(tag: str) -> list[int]:
    """The live processes started with ``tag`` in their environment (workers included)."""
    marker = f"MESA_BATCH_TEST_TAG={tag}".encode()
    return [pid for pid, _, entry in _processes() if marker in _read(entry / "environ")]


def pool_workers(pid: int) -> list[int]:
    """The loky pool workers that are children of ``pid`` (not its resource trackers)."""
    return [
        child
        for child, parent, entry in _processes()
        if parent == pid and b"LokyProcess" in _read(entry / "cmdline")
    ]
