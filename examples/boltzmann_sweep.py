"""A sweep of Mesa's own Boltzmann wealth model: the README's main job.

Run it with ``scripts/main`` (which sets up the environment first), or inside the environment
with ``python examples/boltzmann_sweep.py [--processes N] [--out DIR]``.

It runs a full-factorial sweep over the number of agents and the grid width, 5 replications
each, 100 steps, collecting every 10th step; writes every table to Parquet files; and prints
how inequality (the Gini coefficient) ends up for each setting.
"""

from __future__ import annotations

import argparse
import pathlib
import time

from mesa.examples import BoltzmannWealth

from mesa_batch import BatchRunner, full_factorial

PARAMETERS = {"n": [10, 50, 100], "width": [5, 10, 20], "height": 10}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=None, help="worker processes (all CPUs)")
    parser.add_argument("--out", default="results/boltzmann", help="where the tables go")
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
    start = time.perf_counter()
    results = BatchRunner(configs, number_processes=args.processes).run()
    elapsed = time.perf_counter() - start

    written = results.to_parquet(pathlib.Path(args.out))
    final = results.dataframe("model", with_parameters=True)
    final = final[final["step"] == final.groupby("run_id")["step"].transform("max")]
    table = final.groupby(["n", "width"])["Gini"].agg(["mean", "std", "count"]).round(3)

    print(results.summary())
    print(f"\nfinal Gini by setting (mean, std over replications), {elapsed:.1f} s:")
    print(table.to_string())
    print(f"\ntables written to {', '.join(str(p) for p in written)}")


if __name__ == "__main__":
    main()
