"""mesa_batch against Mesa 3.5.1's batch_run and a plain loop, side by side.

Usage (inside the environment, Mesa 3.5.1)::

    python benchmarks/bench_runners.py                 # cases a, b, c; 1 and 2 processes
    python benchmarks/bench_runners.py --cases b --repeats 3

Cases:

a. 20,000 runs of a tiny wealth model (10 agents, 10 steps), data every step.
b. the tutorial's wealth model on a grid: width x height in {5, 10, 15, 20, 25}^2, 10 iterations
   (250 runs), 100 agents, 100 steps, model and agent data every step.
c. the same as b, keeping only the final state.

Every measurement runs in a fresh child process (``--child``); runners are interleaved so that
drifts in machine load spread evenly. The driver samples the resident memory of the child's
whole process tree (workers included) every 20 ms and keeps the peak while the runner call was
under way. The child times that call only: from the call to the runner's own output in memory
(mesa_batch: ``Results`` with its model and agent tables built; Mesa: the list of dicts; the
loop: one DataFrame pair per run). Imports and design building come before, and turning each
output into comparable frames and hashing them comes after, so the driver can check that every
runner produced the same rows. ``mesa_batch_warm`` uses the local pool after an earlier sweep
started its workers; ``mesa_batch_dask`` a Dask ``LocalCluster`` of 2 workers, started (and
warmed) before the call. All runners use the same seeds: one seed per
iteration (common random numbers, which is what Mesa's ``batch_run`` does with ``rng=[...]``).

The plain loop is the model's own work: build, step until done, read the DataCollector's
dataframes and keep the rows asked for.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

CASES: dict[str, dict[str, Any]] = {
    "a": {
        "model": "TinyModel",
        "parameters": {"n": [10]},
        "iterations": 20_000,
        "max_steps": 10,
        "period": 1,
    },
    "b": {
        "model": "GridModel",
        "parameters": {"n": [100], "width": [5, 10, 15, 20, 25], "height": [5, 10, 15, 20, 25]},
        "iterations": 10,
        "max_steps": 100,
        "period": 1,
    },
    "c": {
        "model": "GridModel",
        "parameters": {"n": [100], "width": [5, 10, 15, 20, 25], "height": [5, 10, 15, 20, 25]},
        "iterations": 10,
        "max_steps": 100,
        "period": -1,
    },
}
RUNNERS = [
    ("mesa_batch", 1),
    ("mesa", 1),
    ("loop", 1),
    ("mesa_batch", 2),
    ("mesa", 2),
    ("mesa_batch_warm", 2),
    ("mesa_batch_dask", 2),
]


# -- the child: one runner on one case ---------------------------------------------------------


def child(runner: str, case_name: str, processes: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import bench_models

    import mesa_batch

    case = CASES[case_name]
    model_cls = getattr(bench_models, case["model"])
    configs = mesa_batch.full_factorial(
        model_cls,
        case["parameters"],
        iterations=case["iterations"],
        max_steps=case["max_steps"],
        data_collection_period=case["period"],
        seed=2026,
        common_random_numbers=True,
    )
    executor = None
    if runner == "mesa_batch_warm":  # the pool's workers started by an earlier sweep
        mesa_batch.BatchRunner(configs[: 2 * processes], processes, display_progress=False).run()
    if runner == "mesa_batch_dask":  # a LocalCluster, started (and warmed) before the call
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=processes, threads_per_worker=1, dashboard_address=None, host="127.0.0.1"
        )
        executor = Client(cluster)
        mesa_batch.BatchRunner(
            configs[: 2 * processes], executor=executor, display_progress=False
        ).run()
    run, frames = {
        "mesa_batch": (run_mesa_batch, frames_mesa_batch),
        "mesa_batch_warm": (run_mesa_batch, frames_mesa_batch),
        "mesa_batch_dask": (run_mesa_batch, frames_mesa_batch),
        "mesa": (run_mesa, frames_mesa),
        "loop": (run_loop, frames_loop),
    }[runner]
    start_wall = time.time()
    start = time.perf_counter()
    output = run(model_cls, configs, case, processes, executor)
    elapsed = time.perf_counter() - start
    end_wall = time.time()
    model_frame, agent_frame = frames(output)
    report = {
        "start": start_wall,
        "end": end_wall,
        "wall": elapsed,
        "runs": len(configs),
        "model_rows": len(model_frame),
        "agent_rows": len(agent_frame),
        "digest": digest(model_frame, agent_frame),
    }
    # With 2 processes every model is built in a worker: the first stamp is the first worker's.
    stamps = [float(p.read_text()) for p in pathlib.Path(os.environ["BENCH_STAMP_DIR"]).iterdir()]
    report["first_model_after"] = min(stamps) - start_wall if stamps else None
    return report


def run_mesa_batch(model_cls, configs, case, processes, executor=None):
    from mesa_batch import BatchRunner

    runner = BatchRunner(configs, processes, display_progress=False, executor=executor)
    results = runner.run()
    results.model, results.agents  # noqa: B018 - the tidy tables, built
    return results


def frames_mesa_batch(results):
    model = results.dataframe("model", with_parameters=True)
    agents = results.dataframe("agents", with_parameters=True)
    return model, agents


def run_mesa(model_cls, configs, case, processes, executor=None):
    import mesa

    seeds = [c.seed for c in configs if c.point == 0]
    return mesa.batch_run(
        model_cls,
        case["parameters"],
        number_processes=processes,
        rng=seeds,
        max_steps=case["max_steps"],
        data_collection_period=case["period"],
        display_progress=False,
    )


def frames_mesa(rows):
    import pandas as pd

    frame = pd.DataFrame(rows).rename(columns={"Step": "step", "AgentID": "agent_id"})
    frame["step"] = frame["step"].astype(int)
    model = frame.drop_duplicates(["RunId", "step"])
    return model, frame


def run_loop(model_cls, configs, case, processes, executor=None):
    import numpy as np

    models, agents = [], []
    for config in configs:
        model = model_cls(**config.parameters, rng=config.seed)
        steps = 0
        while model.running and steps < config.max_steps:
            model.step()
            steps += 1
        dc = model.datacollector
        model_frame = dc.get_model_vars_dataframe()
        model_frame["step"] = np.arange(len(model_frame))
        agent_frame = dc.get_agent_vars_dataframe().reset_index()
        if config.data_collection_period == -1:
            model_frame = model_frame.iloc[-1:]
            agent_frame = agent_frame[agent_frame["Step"] == agent_frame["Step"].max()]
        ids = {"iteration": config.iteration, **config.parameters}
        models.append(model_frame.assign(**ids))
        agents.append(agent_frame.assign(**ids))
    return models, agents


def frames_loop(output):
    import pandas as pd

    models, agents = output
    model = pd.concat(models, ignore_index=True)
    agent = pd.concat(agents, ignore_index=True).rename(
        columns={"Step": "step", "AgentID": "agent_id"}
    )
    agent["step"] = agent["step"].astype(int)
    return model, agent


def digest(model_frame, agent_frame) -> str:
    """A hash of the data that does not depend on row order or on how runs are numbered."""
    import pandas as pd

    sha = hashlib.sha256()
    for frame, columns in (
        (model_frame, ["n", "width", "height", "iteration", "step", "Gini"]),
        (agent_frame, ["n", "width", "height", "iteration", "step", "agent_id", "Wealth"]),
    ):
        present = [c for c in columns if c in frame.columns]
        table = frame[present].copy()
        if "Gini" in table:
            table["Gini"] = table["Gini"].round(12)
        table = table.astype({c: "int64" for c in present if c != "Gini"})
        table = table.sort_values(present[:-1] if "Gini" in present else present, ignore_index=True)
        sha.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return sha.hexdigest()[:16]


# -- the driver ----------------------------------------------------------------------------------


def measure(runner: str, case: str, processes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as stamps:
        return run_child(
            [__file__, "--child", runner, case, str(processes)], env={"BENCH_STAMP_DIR": stamps}
        )


def _median(reports: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(reports, key=lambda r: r["wall"])
    return ordered[(len(ordered) - 1) // 2]


def driver(cases: list[str], repeats: int) -> int:
    import mesa

    print(f"mesa {mesa.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    measured: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for repeat in range(repeats):
        for case in cases:
            order = RUNNERS[repeat % len(RUNNERS) :] + RUNNERS[: repeat % len(RUNNERS)]
            for runner, processes in order:
                report = measure(runner, case, processes)
                measured.setdefault((case, runner, processes), []).append(report)
                print(
                    f"  case {case} {runner:>10} x{processes}: {report['wall']:8.2f} s "
                    f"{report['peak_rss_mb']:7.0f} MB",
                    flush=True,
                )
    return report_table(measured, cases)


def report_table(measured, cases) -> int:
    # The median repeat (by wall time) stands for each runner: this machine's speed drifts, and
    # the median is robust to a lucky or unlucky run in either direction.
    best = {key: _median(reports) for key, reports in measured.items()}
    print(
        "\nmedian of repeats (mesa_batch_warm: the pool's workers were started by an earlier sweep)"
    )
    print("case runner           procs   wall s   runs/s  peak MB  vs loop  vs mesa  digest")
    for (case, runner, processes), report in sorted(best.items()):
        loop = best[(case, "loop", 1)]["wall"]
        mesa_wall = best[(case, "mesa", processes)]["wall"]
        print(
            f"{case:>4} {runner:<16} {processes:>5} {report['wall']:8.2f} "
            f"{report['runs'] / report['wall']:8.0f} {report['peak_rss_mb']:8.0f} "
            f"{report['wall'] / loop:7.2f}x {report['wall'] / mesa_wall:7.2f}x  {report['digest']}"
        )
    ok = True
    for case in cases:
        digests = {r["digest"] for (c, _, _), rs in measured.items() if c == case for r in rs}
        same = len(digests) == 1
        ok &= same
        print(f"case {case}: every runner produced the same data: {same}")
    print("\ntargets:")
    checks = []

    def wall(case, runner, processes=1):
        return best[(case, runner, processes)]["wall"]

    if "b" in cases:
        b1 = best[("b", "mesa_batch", 1)]
        checks += [
            ("(b) 1 process / plain loop <= 1.15", b1["wall"] / wall("b", "loop"), 1.15, "<="),
            (
                "(b) mesa.batch_run / mesa_batch, 1 process >= 1.4",
                wall("b", "mesa") / b1["wall"],
                1.4,
                ">=",
            ),
            (
                "(b) peak RSS / mesa.batch_run's, 1 process <= 0.5",
                b1["peak_rss_mb"] / best[("b", "mesa", 1)]["peak_rss_mb"],
                0.5,
                "<=",
            ),
        ]
    for case in ("a", "b", "c"):
        if case in cases:
            one = wall(case, "mesa_batch")
            checks += [
                (
                    f"({case}) speed-up of 2 processes over 1 >= 1.6",
                    one / wall(case, "mesa_batch", 2),
                    1.6,
                    ">=",
                ),
                (
                    f"({case}) the same, pool started earlier >= 1.6",
                    one / wall(case, "mesa_batch_warm", 2),
                    1.6,
                    ">=",
                ),
            ]
            dask = one / wall(case, "mesa_batch_dask", 2)
            print(
                f"  ({case}) Dask LocalCluster(2), started earlier: speed-up over 1 process {dask:.2f}"
            )
    if "a" in cases:
        first = best[("a", "mesa_batch", 2)]["first_model_after"]
        checks.append(
            ("(a) first model work in a worker, s after the call <= 1.5", first, 1.5, "<=")
        )
    for name, value, bound, op in checks:
        passed = value <= bound if op == "<=" else value >= bound
        ok &= passed
        print(f"  {name}: {value:.2f} {'ok' if passed else 'MISSED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="a,b,c")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", nargs=4, metavar=("RUNNER", "CASE", "PROCESSES", "OUT"))
    args = parser.parse_args()
    if args.child:
        runner, case, processes, out = args.child
        report = child(runner, case, int(processes))
        pathlib.Path(out).write_text(json.dumps(report))
        return 0
    return driver(args.cases.split(","), args.repeats)


if __name__ == "__main__":
    sys.exit(main())
