"""A sweep of Mesa's own Boltzmann wealth model: the README's main job.

Run it with ``scripts/main`` (which sets up the environment first), or inside the environment
with ``python examples/boltzmann_sweep.py [--processes N] [--store DIR] [--fresh]``.

It runs a full-factorial sweep over the number of agents and the grid width, 5 replications
each, 100 steps, collecting every 10th step, into a Parquet store (``results/boltzmann`` by
default), and prints how inequality (the Gini coefficient) ends up for each setting, with
``mesa_batch.analysis.aggregate`` (the mean and a 95% confidence interval over replications).

The store keeps every finished run: interrupt the sweep (Ctrl-C) and run the same command again,
and only the runs not yet done are run.
"""

from __future__ import annotations

import argparse
import sys
import time

from mesa.examples import BoltzmannWealth

from mesa_batch import BatchRunner, Interrupted, full_factorial
from mesa_batch.analysis import aggregate

PARAMETERS = {"n": [10, 50, 100], "width": [5, 10, 20], "height": 10}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=None, help="worker processes (all CPUs)")
    parser.add_argument("--store", default="results/boltzmann", help="the Parquet store")
    parser.add_argument("--fresh", action="store_true", help="start a new store")
    args = parser.parse_args()

    configs = full_factorial(
        BoltzmannWealth,
        PARAMETERS,
        iterations=5,
        max_steps=100,
        data_collection_period=10,
        seed=42,
    )
    print(f"Boltzmann wealth: {len(configs)} runs of {configs[0].max_steps} steps (seed 42)")
    print(f"store: {args.store}")
    start = time.perf_counter()
    runner = BatchRunner(
        configs, number_processes=args.processes, store=args.store, replace_store=args.fresh
    )
    try:
        results = runner.run()
    except Interrupted as stop:
        done = stop.results.counts()["succeeded"]
        print(f"\ninterrupted: {done} runs are kept in {args.store}; run again to resume.")
        return 130
    elapsed = time.perf_counter() - start

    # each run's Gini at its last step; mean and 95% t interval over the 5 replications
    table = aggregate(results, "Gini", by=["n", "width"])
    table = table.rename(columns={"n (parameter)": "agents", "n": "runs"})
    shown = table[["agents", "width", "runs", "mean", "std", "ci_low", "ci_high", "n_failed"]]

    print(results.summary())
    print(f"\nfinal Gini by setting (mean and 95% CI over replications), {elapsed:.1f} s:")
    print(shown.round(3).to_string(index=False))
    print(f"\nevery table is in {args.store} (read it with mesa_batch.Results.open)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
