"""``number_processes=None`` against the better of 1 process and a warm pool, small to large.

Usage (inside the environment)::

    python benchmarks/bench_adaptive.py                # the default sweeps (a few minutes)
    python benchmarks/bench_adaptive.py --large        # and 10,000 runs of 50 ms (~15 minutes)
    python benchmarks/bench_adaptive.py --repeats 3

Each sweep is a full factorial of a Mesa model whose one step busy-waits ``ms`` milliseconds
(CPU work, as a model's), one model value per run, results in memory. Each measure runs in a
fresh child process (``measure.py``: wall time of ``BatchRunner(...).run()``, interpreter
start and imports outside the window), three ways:

* ``None``: ``number_processes=None``, the call as a user makes it (workers start cold);
* ``1``: ``number_processes=1``, in the calling process;
* ``warm 2``: ``number_processes=2`` on a pool whose workers already ran a sweep (the
  yardstick a pool's start cannot beat).

Target (issue 16): ``None`` takes <= 1.1x the faster of ``1`` and ``warm 2``, on every sweep.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time
from typing import Any

import mesa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child

#: (runs, milliseconds per run) of the default sweeps.
SWEEPS = ((10, 1), (100, 10), (45, 50), (250, 20), (1000, 5), (400, 50))
LARGE = ((10_000, 50),)


class BusyModel(mesa.Model):
    """One step that keeps a CPU busy for ``ms`` milliseconds, then reports ``n``."""

    def __init__(self, n: int = 0, ms: float = 1.0, rng=None):
        super().__init__(rng=rng)
        self.n = n
        self.ms = ms
        self.datacollector = mesa.DataCollector(model_reporters={"n": "n"})

    def step(self) -> None:
        end = time.perf_counter() + self.ms / 1000
        while time.perf_counter() < end:
            pass
        self.datacollector.collect(self)


def design(runs: int, ms: float) -> list:
    import bench_adaptive

    from mesa_batch import full_factorial

    return full_factorial(bench_adaptive.BusyModel, {"n": range(runs), "ms": [ms]}, max_steps=1,
                          seed=1)  # fmt: skip


def child(way: str, runs: int, ms: float) -> dict[str, Any]:
    from mesa_batch import BatchRunner

    processes = {"none": None, "one": 1, "warm": 2}[way]
    if way == "warm":  # the pool's workers start and run a sweep before the window
        BatchRunner(design(4, 1), 2, display_progress=False).run()
    configs = design(runs, ms)
    start_wall, start = time.time(), time.perf_counter()
    results = BatchRunner(configs, processes, display_progress=False).run()
    wall = time.perf_counter() - start
    assert results.counts()["succeeded"] == runs
    return {"start": start_wall, "end": time.time(), "wall": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also 10,000 runs of 50 ms")
    parser.add_argument("--repeats", type=int, default=1, help="measures of each way (median)")
    parser.add_argument("--child", nargs=4)
    arguments = parser.parse_args()
    if arguments.child:
        way, runs, ms, out = arguments.child
        report = child(way, int(runs), float(ms))
        pathlib.Path(out).write_text(json.dumps(report))
        return 0
    script = str(pathlib.Path(__file__).resolve())
    sweeps = SWEEPS + (LARGE if arguments.large else ())
    print(f"{'sweep':>18}  {'None':>8}  {'1':>8}  {'warm 2':>8}  {'None / best':>11}")
    worst = 0.0
    for runs, ms in sweeps:
        walls = {}
        for way in ("none", "one", "warm"):  # in turn, repeats interleaved below
            walls[way] = []
        for _ in range(arguments.repeats):
            for way in ("none", "one", "warm"):
                report = run_child([script, "--child", way, str(runs), str(ms)], tree=False)
                walls[way].append(report["wall"])
        median = {way: statistics.median(values) for way, values in walls.items()}
        ratio = median["none"] / min(median["one"], median["warm"])
        worst = max(worst, ratio)
        label = f"{runs:,} x {ms:g} ms"
        print(
            f"{label:>18}  {median['none']:7.2f}s  {median['one']:7.2f}s  "
            f"{median['warm']:7.2f}s  {ratio:10.2f}x"
        )
    print(f"worst: {worst:.2f}x (target <= 1.1x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
