"""The Parquet store: the parent's memory stays flat, and a resume costs what is left.

Usage (inside the environment)::

    python benchmarks/bench_store.py              # both measures, 2 worker processes
    python benchmarks/bench_store.py --repeats 3

1. **Parent memory.** A sweep of the tiny wealth model (10 agents, 10 steps, model and agent
   data every step) into a fresh store, with 200 runs and with 20,000 runs: the peak resident
   memory of the *parent* process alone (the workers write the data; only statuses reach the
   parent) while ``BatchRunner.run()`` runs. Target: the 20,000-run peak within a few tens of
   MB of the 200-run peak.
2. **Resume.** The grid wealth model (100 agents, 100 steps, data every step), 250 runs: the
   full sweep into a fresh store, against a store already holding 90% of the runs (the first
   225 of the same design, run beforehand outside the measure), finished by running the whole
   design again. Reported: the resume's time as a share of the full sweep's.

Each measure runs in a fresh child process (``--child``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child


def designs(kind: str, runs: int) -> list:
    import bench_models

    from mesa_batch import full_factorial

    if kind == "tiny":
        return full_factorial(
            bench_models.TinyModel, {"n": [10]}, iterations=runs, max_steps=10,
            data_collection_period=1, seed=7, common_random_numbers=True,
        )  # fmt: skip
    sizes = [5, 10, 15, 20, 25]
    return full_factorial(
        bench_models.GridModel, {"n": [100], "width": sizes, "height": sizes},
        iterations=runs // 25, max_steps=100, data_collection_period=1, seed=7,
    )  # fmt: skip


def child(kind: str, runs: int, store: str, prefill: int, processes: int) -> dict[str, Any]:
    from mesa_batch import BatchRunner

    configs = designs(kind, runs)
    if prefill:
        BatchRunner(configs[:prefill], processes, display_progress=False, store=store).run()
    start_wall = time.time()
    start = time.perf_counter()
    results = BatchRunner(configs, processes, display_progress=False, store=store).run()
    elapsed = time.perf_counter() - start
    end_wall = time.time()
    return {
        "start": start_wall,
        "end": end_wall,
        "wall": elapsed,
        "succeeded": results.counts()["succeeded"],
    }


def measure(kind: str, runs: int, *, prefill: int = 0, processes: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        store = str(pathlib.Path(directory) / "store")
        arguments = [__file__, "--child", kind, str(runs), store, str(prefill), str(processes)]
        report = run_child(arguments, tree=False)
    if report["succeeded"] != runs:
        raise RuntimeError(f"{kind}: {report['succeeded']} of {runs} runs succeeded")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", nargs=6)
    args = parser.parse_args()
    if args.child:
        kind, runs, store, prefill, processes, out = args.child
        report = child(kind, int(runs), store, int(prefill), int(processes))
        pathlib.Path(out).write_text(json.dumps(report))
        return 0

    small, large, full, resumed = [], [], [], []
    for _ in range(args.repeats):
        small.append(measure("tiny", 200))
        large.append(measure("tiny", 20_000))
        full.append(measure("grid", 250))
        resumed.append(measure("grid", 250, prefill=225))
    pick = lambda reports, key: sorted(r[key] for r in reports)[(len(reports) - 1) // 2]  # noqa: E731
    rss_small, rss_large = pick(small, "peak_rss_mb"), pick(large, "peak_rss_mb")
    print(f"parent peak RSS, tiny model into a store, 2 workers (median of {args.repeats}):")
    print(f"     200 runs: {rss_small:6.0f} MB   ({pick(small, 'wall'):.1f} s)")
    print(f"  20,000 runs: {rss_large:6.0f} MB   ({pick(large, 'wall'):.1f} s)")
    print(f"  difference:  {rss_large - rss_small:6.0f} MB")
    full_wall, resume_wall = pick(full, "wall"), pick(resumed, "wall")
    print("grid model, 250 runs, 2 workers:")
    print(f"  full sweep into a fresh store: {full_wall:6.2f} s")
    print(f"  resume of a 90%-done store:    {resume_wall:6.2f} s")
    print(f"  resume / full:                 {resume_wall / full_wall:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
