"""Reading a huge store's summary: ``mesa-batch status`` and ``show`` of 1,000,000 runs.

Usage (inside the environment)::

    python benchmarks/bench_status.py                      # 1,000,000 runs (built once, cached)
    python benchmarks/bench_status.py --runs 100000        # a quicker check
    python benchmarks/bench_status.py --stores DIR         # where the store is kept (/tmp/...)
    python benchmarks/bench_status.py --repeats 3

The store is built once (not measured) by the real runner on 2 worker processes, with a trivial
Mesa model (one step, one model value), in sessions of 100,000 runs: each session is a full
factorial of two integer parameters (``a`` in 0..999, ``b`` in a range of its own), so every
run has parameters of its own: 1,000,000 distinct points, the case where decoding every
parameter costs most. Building it takes tens of minutes; it is kept in
``--stores`` (``$TMPDIR/mesa-batch-bench`` by default) and reused.

Each command then runs as a user runs it, in a fresh process (``python -m mesa_batch
status|show STORE``, its output discarded): its wall time from start to exit (interpreter start
and imports included) and its peak RSS (sampled every 20 ms) are reported, with the targets:
``status`` <= 2 s and <= 300 MB, ``show`` <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

import mesa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import HERE, ROOT, resident, run_child

#: Runs per building session (one design each).
CHUNK = 100_000


class Trivial(mesa.Model):
    """One model value per step, nothing else: the runs cost the runner, not the model."""

    def __init__(self, a: int = 0, b: int = 0, rng=None):
        super().__init__(rng=rng)
        self.x = a + b
        self.datacollector = mesa.DataCollector(model_reporters={"x": "x"})
        self.datacollector.collect(self)

    def step(self) -> None:
        self.x += 1
        self.datacollector.collect(self)


def chunk_design(chunk: int, runs: int) -> list:
    import bench_status

    from mesa_batch import full_factorial

    rows = max(1, runs // 1000)
    return full_factorial(
        bench_status.Trivial, {"a": range(1000), "b": range(chunk * rows, (chunk + 1) * rows)},
        max_steps=1, seed=5,
    )  # fmt: skip


def child_build(runs: int, store: str) -> dict[str, Any]:
    """Build the store session by session (a design of CHUNK runs each)."""
    from mesa_batch import BatchRunner

    start_wall, start = time.time(), time.perf_counter()
    done, sessions = 0, []
    for chunk in range(max(1, runs // CHUNK)):
        began = time.perf_counter()
        configs = chunk_design(chunk, min(runs, CHUNK))
        built = time.perf_counter() - began
        results = BatchRunner(configs, 2, display_progress=False, store=store).run()
        done += len(results)
        sessions.append({"design": built, "total": time.perf_counter() - began})
        print(f"session {chunk}: {done:,} runs in the store, {sessions[-1]}", flush=True)
    return {
        "start": start_wall,
        "end": time.time(),
        "wall": time.perf_counter() - start,
        "runs": done,
        "sessions": sessions,
    }


def measure_command(command: str, store: pathlib.Path) -> dict[str, Any]:
    """Run ``python -m mesa_batch COMMAND STORE``: its wall time and peak RSS, start to exit.

    The whole process is measured (interpreter start and imports included): what a user
    waits for.
    """
    import psutil

    path = os.pathsep.join([str(HERE), str(ROOT / "src")])
    environment = {**os.environ, "PYTHONPATH": path}
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mesa_batch", command, str(store)],
            stdout=sink, env=environment, cwd=ROOT,
        )  # fmt: skip
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            peak = max(peak, resident([watched]))
            time.sleep(0.02)
    return {"wall": time.perf_counter() - start, "peak_rss_mb": peak / 2**20,
            "code": process.returncode}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument(
        "--stores", default=str(pathlib.Path(tempfile.gettempdir()) / "mesa-batch-bench")
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        _, *rest, out = args.child
        found = child_build(int(rest[0]), rest[1])
        pathlib.Path(out).write_text(json.dumps(found))
        return 0
    store = pathlib.Path(args.stores) / f"status-{args.runs}"
    if not (store / "store.json").exists():
        store.parent.mkdir(parents=True, exist_ok=True)
        built = run_child([__file__, "--child", "build", str(args.runs), str(store)])
        print(f"built {store}: {built['runs']:,} runs in {built['wall']:.0f} s "
              f"(peak RSS of the sweeps {built['peak_rss_mb']:.0f} MB)")  # fmt: skip
    print(f"{'command':30} {'wall':>8} {'peak RSS':>10}   target")
    targets = {"status": "<= 2 s, <= 300 MB", "show": "<= 5 s"}
    for _ in range(args.repeats):
        for command in ("status", "show"):
            found = measure_command(command, store)
            if found["code"] not in (0, 1):
                raise RuntimeError(f"mesa-batch {command} exited {found['code']}")
            print(f"mesa-batch {command:19} {found['wall']:7.2f}s {found['peak_rss_mb']:8.0f} MB"
                  f"   {targets[command]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
