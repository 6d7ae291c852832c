"""Building a huge design: 1,000,000 configurations of a full factorial, and its run count.

Usage (inside the environment)::

    python benchmarks/bench_designs.py                 # 1,000,000 configurations
    python benchmarks/bench_designs.py --points 100000

Measured, each in a fresh child process (wall time of the call, peak resident memory):

* ``count``: the run count ``mesa-batch validate`` prints first
  (``mesa_batch.experiment.run_count``: the design object only, no point or run built);
* ``build``: ``full_factorial(model, {"n": range(1000)}, iterations=points // 1000)``, the
  configurations themselves (what ``validate`` then builds to show a preview).

Targets (issue 12): 1,000,000 configurations built and validated in <= 10 s and <= 500 MB.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child

EXPERIMENT = """
[experiment]
model = "bench_models:TinyModel"
seed = 1
iterations = {width}
[design]
kind = "full_factorial"
[design.parameters]
n = {{ integer = [1, 1000] }}
"""


def child(kind: str, points: int, out: str) -> None:
    import bench_models

    from mesa_batch import experiment, full_factorial
    from mesa_batch.designs import run_limit

    report: dict[str, Any] = {}
    width = max(points // 1000, 1)
    start = time.time()
    if kind == "count":
        loaded = experiment.ExperimentFile.model_validate(
            __import__("tomllib").loads(EXPERIMENT.format(width=width))
        )
        report["runs"] = experiment.run_count(loaded)
    else:
        with run_limit(10**9):
            configs = full_factorial(
                bench_models.TinyModel, {"n": range(1000)}, iterations=width, seed=1
            )
        report["runs"] = len(configs)
    report |= {"start": start, "end": time.time()}
    pathlib.Path(out).write_text(json.dumps(report))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3)
    arguments = parser.parse_args()
    if arguments.child:
        kind, points, out = arguments.child
        child(kind, int(points), out)
        return 0
    for kind in ("count", "build"):
        report = run_child([__file__, "--child", kind, str(arguments.points)], tree=False)
        seconds = report["end"] - report["start"]
        print(f"{kind:>6}: {report['runs']:>10,} runs in {seconds:7.2f} s, "
              f"peak RSS {report['peak_rss_mb']:7.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
