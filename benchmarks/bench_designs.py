"""Building a huge design: 1,000,000 configurations, built and validated, and its run count.

Usage (inside the environment)::

    python benchmarks/bench_designs.py                 # 1,000,000 configurations
    python benchmarks/bench_designs.py --points 100000
    python benchmarks/bench_designs.py --only runner validate

Measured, each in a fresh child process (wall time of the call, peak resident memory):

* ``count``: the run count ``mesa-batch validate`` prints first
  (``mesa_batch.experiment.run_count``: the design object only, no point or run built);
* ``build``: ``full_factorial(model, {"n": range(1000)}, iterations=points // 1000)``, the
  configurations themselves;
* ``runner``: the same, then ``BatchRunner(configurations)`` (which checks them: unique keys
  and run ids), the whole path before a Python sweep's first run;
* ``validate``: ``mesa-batch validate FILE`` of the same design as an experiment file (load and
  check the file, count, build every configuration, print the preview), in the child's process;
* ``distinct``: ``full_factorial(model, {"n": range(1000), "width": range(points // 1000)})``
  then ``BatchRunner``: as many distinct points as runs (every point key its own).

Targets (issue 12): 1,000,000 configurations built and validated in <= 10 s and <= 500 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pathlib
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child

KINDS = ("count", "build", "runner", "validate", "distinct")
EXPERIMENT = """
[experiment]
model = "bench_models:GridModel"
seed = 1
iterations = {width}
max_runs = 1_000_000_000
[design]
kind = "full_factorial"
[design.parameters]
n = {{ integer = [1, 1000] }}
"""


def child(kind: str, points: int, out: str) -> None:
    import tomllib

    import bench_models

    from mesa_batch import cli, experiment, full_factorial
    from mesa_batch.designs import run_limit
    from mesa_batch.runner import BatchRunner

    report: dict[str, Any] = {}
    width = max(points // 1000, 1)
    text = EXPERIMENT.format(width=width)
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "huge.toml"
        path.write_text(text)
        start = time.time()
        if kind == "count":
            loaded = experiment.ExperimentFile.model_validate(tomllib.loads(text))
            report["runs"] = experiment.run_count(loaded)
        elif kind == "validate":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                code = cli.app(["validate", str(path)], standalone_mode=False)
            assert code in (None, 0), printed.getvalue()
            report["runs"] = int(
                printed.getvalue().split(" runs")[0].split(": ")[-1].replace(",", "")
            )
        else:
            parameters: dict[str, Any] = {"n": range(1000)}
            iterations = width
            if kind == "distinct":
                parameters |= {"width": range(width)}
                iterations = 1
            with run_limit(10**9):
                configs = full_factorial(
                    bench_models.GridModel, parameters, iterations=iterations, seed=1
                )
            if kind != "build":
                BatchRunner(configs, display_progress=False)
            report["runs"] = len(configs)
        report |= {"start": start, "end": time.time()}
    pathlib.Path(out).write_text(json.dumps(report))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--only", nargs="+", choices=KINDS, default=KINDS)
    parser.add_argument("--child", nargs=3)
    arguments = parser.parse_args()
    if arguments.child:
        kind, points, out = arguments.child
        child(kind, int(points), out)
        return 0
    for kind in arguments.only:
        report = run_child([__file__, "--child", kind, str(arguments.points)], tree=False)
        seconds = report["end"] - report["start"]
        print(f"{kind:>8}: {report['runs']:>10,} runs in {seconds:7.2f} s, "
              f"peak RSS {report['peak_rss_mb']:7.0f} MB", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
