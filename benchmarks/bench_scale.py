"""Dispatch that scales: 100,000 tiny runs into a Parquet store, on 2 workers.

Usage (inside the environment, with the dask extra)::

    python benchmarks/bench_scale.py                  # 100,000 runs
    python benchmarks/bench_scale.py --runs 20000

The tiny wealth model (10 agents, 10 steps, model and agent data every step) runs into a fresh
store on (1) mesa_batch's process pool (loky, 2 workers) and (2) a Dask ``LocalCluster`` of 2
single-threaded worker processes (started before the measured call, as a user's cluster is).

Each is compared with a serial loop divided by 2. The serial loops are measured on a sample of
the same configurations (100,000 runs would take minutes each) and scaled to all runs, before
and after the runners (the mean is used: a shared machine drifts), in three forms:

* the plain loop, the model's own work as users write it: build, step, read the DataCollector
  with its public dataframe methods (the plain loop of ``bench_runners.py``);
* the same work as the parallel runs, done serially: mesa_batch in one process into a store
  (``BatchRunner(configs, 1, store=...)``), so the efficiency measures only what running in
  parallel costs;
* the model alone: build and step, no data read (a bound no runner that reads data can reach).

Reported:

* parallel efficiency = (serial time / 2) / measured time;
* the parent process's peak RSS (the workers write the data);
* dispatch overhead per run = (2 x wall time - the workers' time in batches) / runs: the time
  a worker was not running batches (start-up, waiting for work), per run.

Each measure runs in a fresh child process.
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


def design(runs: int) -> list:
    import bench_models

    from mesa_batch import full_factorial

    return full_factorial(
        bench_models.TinyModel, {"n": [10]}, iterations=runs, max_steps=10,
        data_collection_period=1, seed=3, common_random_numbers=True,
    )  # fmt: skip


def child_loop(runs: int, read: bool) -> dict[str, Any]:
    import bench_models

    configs = design(runs)
    start_wall, start = time.time(), time.perf_counter()
    for config in configs:
        model = bench_models.TinyModel(**config.parameters, rng=config.seed)
        for _ in range(config.max_steps):
            model.step()
        if read:
            model.datacollector.get_model_vars_dataframe()
            model.datacollector.get_agent_vars_dataframe()
    return {"start": start_wall, "end": time.time(), "wall": time.perf_counter() - start}


def child_serial(runs: int, store: str) -> dict[str, Any]:
    from mesa_batch import BatchRunner

    configs = design(runs)
    start_wall, start = time.time(), time.perf_counter()
    BatchRunner(configs, 1, display_progress=False, store=store).run()
    return {"start": start_wall, "end": time.time(), "wall": time.perf_counter() - start}


def child_runner(runs: int, store: str, engine: str) -> dict[str, Any]:
    from mesa_batch import BatchRunner

    configs = design(runs)
    executor, cluster = None, None
    if engine == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            host="127.0.0.1",
        )  # fmt: skip
        executor = Client(cluster)
        executor.run(lambda: __import__("mesa_batch.execute"))  # workers ready, like a pool
    start_wall, start = time.time(), time.perf_counter()
    runner = BatchRunner(configs, 2, display_progress=False, store=store, executor=executor)
    results = runner.run()
    wall = time.perf_counter() - start
    end_wall = time.time()
    if executor is not None:
        executor.close()
        cluster.close()
    worker = float(results.runs["worker_time"].sum())
    return {
        "start": start_wall,
        "end": end_wall,
        "wall": wall,
        "succeeded": results.counts()["succeeded"],
        "worker_time": worker,
        "overhead": results.runner_overhead,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000, help="runs of the serial loop")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest, out = args.child
        if kind == "loop":
            report = child_loop(int(rest[0]), rest[1] == "read")
        elif kind == "serial":
            report = child_serial(int(rest[0]), rest[1])
        else:
            report = child_runner(int(rest[0]), rest[1], kind)
        pathlib.Path(out).write_text(json.dumps(report))
        return 0

    n, sample = args.runs, args.sample

    def loop(read: str) -> float:
        if read == "serial":
            with tempfile.TemporaryDirectory() as directory:
                store = str(pathlib.Path(directory) / "store")
                arguments = [__file__, "--child", "serial", str(sample), store]
                return float(run_child(arguments, tree=False)["wall"])
        return float(run_child([__file__, "--child", "loop", str(sample), read])["wall"])

    # the loops are measured before and after the runners and averaged: a machine drifts
    before = {read: loop(read) for read in ("read", "serial", "model")}
    reports = {}
    for engine in ("pool", "dask"):
        with tempfile.TemporaryDirectory() as directory:
            store = str(pathlib.Path(directory) / "store")
            reports[engine] = run_child([__file__, "--child", engine, str(n), store], tree=False)
    loops = {read: (before[read] + loop(read)) / 2 * n / sample for read in before}
    print(f"{n:,} tiny runs (10 agents, 10 steps, data every step), 2 workers, into a store")
    print(f"serial loops, scaled from {sample:,} runs (mean of before and after):")
    print(f"  plain loop (model + DataCollector dataframes): {loops['read']:8.1f} s")
    print(f"  mesa_batch in 1 process, into a store:         {loops['serial']:8.1f} s")
    print(f"  model alone (nothing read):                    {loops['model']:8.1f} s")
    for engine, report in reports.items():
        if report["succeeded"] != n:
            raise RuntimeError(f"{engine}: {report['succeeded']} of {n} runs succeeded")
        wall = report["wall"]
        dispatch = (2 * wall - report["worker_time"]) / n
        print(f"{'process pool (loky)' if engine == 'pool' else 'Dask LocalCluster'}:")
        print(f"  wall {wall:.1f} s, {n / wall:,.0f} runs/s")
        labels = {"read": "plain loop", "serial": "mesa_batch, 1 process", "model": "model alone"}
        for read, loop in loops.items():
            print(f"  parallel efficiency vs {labels[read]} / 2: {loop / 2 / wall:6.1%}")
        print(f"  parent peak RSS: {report['peak_rss_mb']:.0f} MB")
        print(f"  dispatch overhead per run: {dispatch * 1e6:.0f} us")
        print(f"  runner overhead (worker time outside model code): {report['overhead']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
