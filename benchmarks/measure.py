"""Measuring a child process: wall time of a window it reports, and peak resident memory.

A benchmark child writes a JSON report with ``start`` and ``end`` (``time.time()``) around
the call it measures; :func:`run_child` samples the resident memory of the child (and, with
``tree=True``, of all its descendants: pool workers, listed again every 250 ms) every 20 ms and
keeps the peak inside that window.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def run_child(
    arguments: list[str], *, tree: bool = True, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``python <arguments> OUT`` and return its JSON report with ``peak_rss_mb`` added."""
    import psutil

    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        command = [sys.executable, *arguments, out.name]
        # this checkout's package first: a benchmark run from a copy measures that copy
        path = os.pathsep.join([str(HERE), str(ROOT / "src")])
        environment = {**os.environ, "PYTHONPATH": path, **(env or {})}
        process = subprocess.Popen(command, env=environment, cwd=ROOT)
        parent = psutil.Process(process.pid)
        samples: list[tuple[float, int]] = []
        members, listed = [parent], 0.0
        while process.poll() is None:
            if tree and time.time() - listed > 0.25:
                # listing a process tree scans every process (~1.5 ms): do it 4 times a
                # second, and read the members' memory (cheap) every 20 ms, so that the
                # sampling takes little CPU from the processes it measures
                members, listed = family(parent), time.time()
            samples.append((time.time(), resident(members)))
            time.sleep(0.02)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(arguments)} failed with exit {process.returncode}")
        report = json.loads(pathlib.Path(out.name).read_text())
    # only samples inside the window: what the child does after it (e.g. building a report
    # table) is not the call's memory
    window = [used for at, used in samples if report["start"] <= at <= report["end"]]
    if not window and samples:  # a call shorter than the sampling period: the nearest sample
        middle = (report["start"] + report["end"]) / 2
        window = [min(samples, key=lambda sample: abs(sample[0] - middle))[1]]
    report["peak_rss_mb"] = max(window, default=0) / 2**20
    return report


def family(process: Any) -> list[Any]:
    """A process and its descendants (just the process if it is gone)."""
    import psutil

    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return [process]


def resident(members: list[Any]) -> int:
    """The summed resident memory of processes (those that are gone count 0)."""
    import psutil

    total = 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total
