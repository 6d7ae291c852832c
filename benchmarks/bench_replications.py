"""Adaptive replications against a fixed number of iterations, on a model whose noise varies 5x.

Usage (inside the environment)::

    python benchmarks/bench_replications.py                  # seeds 1-10 serial, then a pool
    python benchmarks/bench_replications.py --seeds 10 --processes 2 --work 0.02

The model's outcome is ``10 + sigma * noise`` (noise standard normal, from the model's rng),
with ``sigma`` in {1, 2, 3, 4, 5}: the noise differs 5x between the points. The target is a
95% CI half-width of 5% of the mean. A fixed design needs, for its noisiest point, the fewest
``N`` with ``t(N-1) * 5 / sqrt(N) <= 0.5`` (computed from the true sigma: the best case for
the fixed design) for every point, ``5 N`` runs; ``replicate_until`` gives each point what it
needs (plus the look-ahead).

1. The run count: ``replicate_until`` serially, for several master seeds (tiny runs); the
   ratio of its runs to the fixed design's, per seed and on average over the seeds with its
   spread (standard deviation, the mean's 95% t interval, min and max: the claim is about the
   method, not one seed), and the share of points whose final CI met the target (the fixed
   design meets it on average, not per point).
2. The pool's utilisation: one seed on a local pool, each run doing ``--work`` seconds of
   arithmetic so that run time dominates; per round, the runs' time in the workers divided by
   (workers x the round's wall time). The pool is warmed (workers started) before.
"""

from __future__ import annotations

import argparse
import math
import time

import mesa
import numpy as np
import scipy.stats

SIGMAS = [1.0, 2.0, 3.0, 4.0, 5.0]
MEAN = 10.0
REL = 0.05


class NoisyModel(mesa.Model):
    """``value = mean + sigma * noise`` after one step; ``work`` seconds of arithmetic first."""

    def __init__(self, sigma=1.0, mean=MEAN, work=0.0, rng=None):
        super().__init__(rng=rng)
        self.sigma, self.mean, self.work, self.value = sigma, mean, work, mean
        self.datacollector = mesa.DataCollector(model_reporters={"value": "value"})
        self.datacollector.collect(self)

    def step(self):
        end = time.perf_counter() + self.work
        while time.perf_counter() < end:
            pass
        self.value = self.mean + self.sigma * self.rng.standard_normal()
        self.datacollector.collect(self)


def fixed_iterations(sigma: float) -> int:
    """The fewest iterations whose expected half-width meets the target at this sigma."""
    n = np.arange(2, 100_000)
    fits = scipy.stats.t.ppf(0.975, n - 1) * sigma / np.sqrt(n) <= REL * MEAN
    return int(n[fits][0])


def configurations(seed: int, work: float):
    from mesa_batch import full_factorial

    return full_factorial(NoisyModel, {"sigma": SIGMAS, "work": work}, max_steps=1, seed=seed)


def adaptive(seed: int, work: float = 0.0, processes: int = 1):
    from mesa_batch import replicate_until

    return replicate_until(
        configurations(seed, work),
        "value",
        rel_precision=REL,
        max_iterations=1000,
        number_processes=processes,
        display_progress=False,
        reproducibility_checks=0,
    )


def spread(ratios: list[float]) -> str:
    """The mean ratio over seeds with its spread: sd, the mean's 95% t interval, min and max.

    The claim (<= 0.5x) is about the method, not one seed: the interval says how far the mean
    of these seeds may be from the method's expected ratio.
    """
    n, mean = len(ratios), float(np.mean(ratios))
    text = f"mean ratio {mean:.3f}x over {n} seeds"
    if n >= 2:
        sd = float(np.std(ratios, ddof=1))
        low, high = scipy.stats.t.interval(0.95, n - 1, loc=mean, scale=sd / math.sqrt(n))
        text += f" (sd {sd:.3f}, 95% CI of the mean {low:.3f}-{high:.3f}x"
    else:
        text += " ("
    return text + f"; min {min(ratios):.3f}, max {max(ratios):.3f}; target <= 0.5x)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="master seeds 1..N (serial)")
    parser.add_argument("--processes", type=int, default=2, help="the pool for part 2")
    parser.add_argument("--work", type=float, default=0.02, help="seconds per run in part 2")
    args = parser.parse_args()

    per_point = {s: fixed_iterations(s) for s in SIGMAS}
    fixed = max(per_point.values()) * len(SIGMAS)
    print(
        f"fixed design: {max(per_point.values())} iterations x {len(SIGMAS)} points = {fixed} runs"
    )
    print(f"each point alone needs (true sigma): {per_point}, {sum(per_point.values())} runs")
    print("\n1. run counts (serial)")
    ratios, met = [], []
    for seed in range(1, args.seeds + 1):
        results = adaptive(seed)
        table = results.replications
        ratios.append(len(results) / fixed)
        met.append(table["target_met"].mean())
        iterations = dict(zip(table["sigma"], table["iterations"], strict=True))
        print(
            f"  seed {seed}: {len(results)} runs = {ratios[-1]:.3f}x fixed, "
            f"{len(results.rounds)} rounds, target met by {table['target_met'].mean():.0%}; "
            f"iterations per sigma {iterations}"
        )
    print(f"  {spread(ratios)}; target met by {np.mean(met):.0%} of the points")

    print(f"\n2. utilisation: {args.processes} processes, {args.work * 1000:.0f} ms per run")
    from mesa_batch import BatchRunner

    warm = configurations(99, 0.0)
    BatchRunner(warm * 1, args.processes, False, reproducibility_checks=0).run()
    started = time.perf_counter()
    results = adaptive(1, args.work, args.processes)
    elapsed = time.perf_counter() - started
    rounds = results.rounds
    for row in rounds.itertuples():
        print(
            f"  round {row.round}: {row.points} points, {row.runs} runs, {row.seconds:.2f} s, "
            f"utilisation {row.utilisation:.0%}"
        )
    busy = rounds["busy_seconds"].sum()
    workers = args.processes
    print(
        f"  all rounds: {len(results)} runs in {rounds['seconds'].sum():.2f} s "
        f"({elapsed:.2f} s with reading and deciding); utilisation "
        f"{busy / (workers * rounds['seconds'].sum()):.0%} across rounds, "
        f"{busy / (workers * elapsed):.0%} of the whole call; "
        f"ideal time {len(results) * args.work / workers:.2f} s"
    )
    if not math.isclose(len(results) / fixed, ratios[0]):
        print("  (the pool's rounds have at least one run per worker, hence other run counts)")


if __name__ == "__main__":
    main()
