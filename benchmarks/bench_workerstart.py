"""How fast a fresh local pool starts: 2 fresh workers against 1 process, on the same sweep.

Usage (inside the environment)::

    python benchmarks/bench_workerstart.py              # 3 pairs of each pool against 1 process
    python benchmarks/bench_workerstart.py --pairs 5

The sweep is bench_runners' case c: the wealth model on a grid, 250 runs of 100 agents and 100
steps, final state only (about 5 s of work in one process). Every measurement runs in a fresh
child process, which times the runner call only (the model class and the design are built
before it). Each "pool" measurement is paired with a "1 process" one run just before it, and
the ratio is taken pair by pair, so drifts in machine load cancel.

- ``cold``: the first pool of the child, started by the call.
- ``fresh``: a fresh pool after an earlier pool of the child was killed (as after a stuck run
  or a crash): its 2 new workers start with the call.

"first model" is the time from the call to the first model built in a worker.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent


def child(mode: str) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import bench_models

    import mesa_batch
    from mesa_batch.backends import local_pool

    configs = mesa_batch.full_factorial(
        bench_models.GridModel,
        {"n": [100], "width": [5, 10, 15, 20, 25], "height": [5, 10, 15, 20, 25]},
        iterations=10,
        max_steps=100,
        data_collection_period=-1,
        seed=2026,
        common_random_numbers=True,
    )
    processes = 1 if mode == "serial" else 2
    if mode == "fresh":  # the fork server started by an earlier pool, its workers killed
        mesa_batch.BatchRunner(configs[:4], 2, display_progress=False).run()
        local_pool(2).close(kill=True)
        for stamp in pathlib.Path(os.environ["BENCH_STAMP_DIR"]).iterdir():
            stamp.unlink()
    start_wall = time.time()
    start = time.perf_counter()
    results = mesa_batch.BatchRunner(configs, processes, display_progress=False).run()
    wall = time.perf_counter() - start
    assert results.counts()["succeeded"] == len(configs)
    stamps = [float(p.read_text()) for p in pathlib.Path(os.environ["BENCH_STAMP_DIR"]).iterdir()]
    return {"wall": wall, "first_model_after": min(stamps) - start_wall if stamps else None}


def measure(mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as stamps:
        env = {**os.environ, "BENCH_STAMP_DIR": stamps}
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--child", choices=["serial", "cold", "fresh"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    for mode in ("cold", "fresh"):
        ratios, firsts, walls = [], [], []
        for _ in range(args.pairs):
            serial = measure("serial")
            pool = measure(mode)
            ratios.append(serial["wall"] / pool["wall"])
            firsts.append(pool["first_model_after"])
            walls.append((serial["wall"], pool["wall"]))
        print(
            f"{mode:>5}: 1 process / 2 workers = {statistics.median(ratios):.2f}x"
            f" (range {min(ratios):.2f}-{max(ratios):.2f});"
            f" first model {statistics.median(firsts):.2f} s after the call"
            f" (range {min(firsts):.2f}-{max(firsts):.2f});"
            " walls " + ", ".join(f"{s:.1f}/{p:.1f} s" for s, p in walls)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
