"""Analysis out of core: a 100,000-run store analysed without loading it.

Usage (inside the environment)::

    python benchmarks/bench_analysis.py                   # 100,000 runs (building takes minutes)
    python benchmarks/bench_analysis.py --runs 20000      # a quicker check
    python benchmarks/bench_analysis.py --stores DIR      # build the stores once in DIR, reuse
    python benchmarks/bench_analysis.py --pairs 5         # and aggregate(final) vs pandas 5x more

Two stores are built on 2 workers (not measured): the tiny wealth model (10 +- 2 agents in 5
design points, 10 steps, model and agent data every step: ~1.1M model rows and ~11M agent rows
at 100,000 runs), and a Saltelli design of a 10-parameter model computing Sobol's G function
(N=1024 with second order: 22,528 runs, one step).

Each measure runs in a fresh child process, whose peak RSS is sampled every 20 ms
(``measure.py``); mesa_batch's analysis and the plain pandas way are measured side by side.
Imports both ways need (SciPy for the t interval, pandas for the DataFrame each gives) or that
are another library's own time (SALib) happen before the measured window, as in a session
that has used them; the ratio with those imports on both sides is printed too:

* ``Results.open(store).runs``: opening the store and its runs table, which both ways do;
* ``aggregate(store, "Gini")`` (final Gini by point, t interval) against
  ``results.dataframe("model", with_parameters=True)``, the last step of each run, ``groupby``;
* ``aggregate(store, "Wealth", table="agents", at="all")`` (per step: the mean over agents, then
  over runs, by point) against ``results.dataframe("agents", with_parameters=True)`` and
  ``groupby(["n", "step"])``;
* ``sensitivity(store, "y")`` (Sobol with second order) against SALib's own ``sobol.analyze``
  on the same outputs, timed in the same child: the difference is what mesa_batch adds.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import tempfile
import time
from typing import Any

import mesa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child

#: The G function's coefficients: the first parameters matter most.
G_COEFFICIENTS = (0, 1, 4.5, 9, 99, 99, 99, 99, 99, 99)
NAMES = tuple(f"x{i + 1}" for i in range(10))


class GModel(mesa.Model):
    """Sobol's G function of its ten parameters, as a Mesa model's one output."""

    def __init__(self, rng=None, **x: float):
        super().__init__(rng=rng)
        self.y = math.prod(
            (abs(4 * x[name] - 2) + a) / (1 + a)
            for name, a in zip(NAMES, G_COEFFICIENTS, strict=True)
        )
        self.datacollector = mesa.DataCollector(model_reporters={"y": "y"})

    def step(self) -> None:
        self.datacollector.collect(self)


def wealth_design(runs: int) -> list:
    import bench_models

    from mesa_batch import full_factorial

    return full_factorial(
        bench_models.TinyModel, {"n": [8, 9, 10, 11, 12]}, iterations=max(1, runs // 5),
        max_steps=10, data_collection_period=1, seed=3,
    )  # fmt: skip


def sobol_design(n: int) -> list:
    import bench_analysis

    from mesa_batch import Real
    from mesa_batch.designs import saltelli

    space = {name: Real(0.0, 1.0) for name in NAMES}
    return saltelli(bench_analysis.GModel, space, n, max_steps=1, seed=4)


def child_build(kind: str, size: int, store: str) -> dict[str, Any]:
    from mesa_batch import BatchRunner

    configs = wealth_design(size) if kind == "wealth" else sobol_design(size)
    start_wall, start = time.time(), time.perf_counter()
    results = BatchRunner(configs, 2, display_progress=False, store=store).run()
    return {
        "start": start_wall,
        "end": time.time(),
        "wall": time.perf_counter() - start,
        "runs": len(results),
    }


def child_measure(kind: str, store: str) -> dict[str, Any]:
    from mesa_batch import Results
    from mesa_batch.analysis import aggregate, sensitivity

    imported = 0.0
    if kind == "sobol":  # SALib's import (~1 s) is SALib's own time: outside the window
        before = time.perf_counter()
        import SALib.analyze.sobol  # noqa: F401

        imported = time.perf_counter() - before
    elif kind != "open":  # SciPy's and pandas' imports (~0.3-0.5 s each), which both ways
        before = time.perf_counter()  # need (both give a DataFrame): outside the window
        import pandas  # noqa: F401
        import scipy.stats  # noqa: F401

        imported = time.perf_counter() - before
    start_wall, start = time.time(), time.perf_counter()
    if kind == "open":  # what every analysis of a store starts with
        rows = len(Results.open(store).runs)
    elif kind == "final":
        rows = len(aggregate(store, "Gini"))
    elif kind == "final_pandas":
        rows = len(_pandas_final(Results.open(store)))
    elif kind == "agents":
        rows = len(aggregate(store, "Wealth", table="agents", at="all"))
    elif kind == "agents_pandas":
        frame = Results.open(store).dataframe("agents", with_parameters=True)
        rows = len(frame.groupby(["n", "step"])["Wealth"].agg(["mean", "std", "count"]))
    else:
        rows = len(sensitivity(store, "y", seed=1))
    found = {"start": start_wall, "end": time.time(), "wall": time.perf_counter() - start}
    if kind == "sobol":  # after the measured window
        found["salib"] = _salib_time(store)
        found["salib_import"] = imported
    else:
        found["scipy_import"] = imported
    return {**found, "rows": rows}


def _pandas_final(results: Any) -> Any:
    from scipy import stats

    frame = results.dataframe("model", with_parameters=True)
    last = frame[frame["step"] == frame.groupby("run_id")["step"].transform("max")]
    table = last.groupby("n")["Gini"].agg(["mean", "std", "count", "sem"])
    low, high = stats.t.interval(0.95, table["count"] - 1, loc=table["mean"], scale=table["sem"])
    return table.assign(ci_low=low, ci_high=high)


def _salib_time(store: str) -> float:
    """SALib's own time on the same outputs (read here, not timed)."""
    import numpy as np
    from SALib.analyze import sobol

    from mesa_batch import Results

    results = Results.open(store)
    runs = results.runs.sort_values("point")
    y = results.model.set_index("run_id").loc[runs["run_id"], "y"].to_numpy(dtype=float)
    problem = {"num_vars": 10, "names": list(NAMES), "bounds": [[0.0, 1.0]] * 10}
    start = time.perf_counter()
    sobol.analyze(problem, np.asarray(y), seed=1)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs of the wealth store")
    parser.add_argument("--sobol-n", type=int, default=1024, help="Saltelli's N (10 parameters)")
    parser.add_argument("--stores", help="keep (and reuse) the stores in this directory")
    parser.add_argument(
        "--pairs", type=int, default=0,
        help="then measure aggregate(final) and the pandas way this many times more, in turn",
    )  # fmt: skip
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest, out = args.child
        if kind == "build":
            found = child_build(rest[0], int(rest[1]), rest[2])
        else:
            found = child_measure(kind, rest[0])
        pathlib.Path(out).write_text(json.dumps(found))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        root = pathlib.Path(args.stores or scratch)
        code = report(root, args.runs, args.sobol_n)
        if args.pairs:
            paired(root / f"wealth-{args.runs}", args.pairs)
        return code


def paired(store: pathlib.Path, pairs: int) -> None:
    """aggregate(final) and the pandas way in turn: the ratio of each pair, and their median.

    Pairing keeps the ratio meaningful on a machine whose speed drifts (a shared one).
    """
    import statistics

    ratios, cold, ours, theirs = [], [], [], []
    for _ in range(pairs):
        mine = run_child([__file__, "--child", "final", str(store)], tree=False)
        pandas = run_child([__file__, "--child", "final_pandas", str(store)], tree=False)
        ours.append(mine)
        theirs.append(pandas)
        ratios.append(pandas["wall"] / mine["wall"])
        cold.append(
            (pandas["wall"] + pandas["scipy_import"]) / (mine["wall"] + mine["scipy_import"])
        )
    print(f"\naggregate(final) against the pandas way, {pairs} pairs in turn (SciPy and "
          "pandas imported before the window; cold: with their imports on both sides):")  # fmt: skip
    for mine, pandas, ratio, chilled in zip(ours, theirs, ratios, cold, strict=True):
        print(f"  {mine['wall']:5.2f} s, {mine['peak_rss_mb']:4.0f} MB   against "
              f"{pandas['wall']:5.2f} s, {pandas['peak_rss_mb']:4.0f} MB: {ratio:.1f}x "
              f"(cold {chilled:.1f}x)")  # fmt: skip
    print(f"median: aggregate {statistics.median(m['wall'] for m in ours):.2f} s, "
          f"peak {statistics.median(m['peak_rss_mb'] for m in ours):.0f} MB; "
          f"{statistics.median(ratios):.1f}x faster (target >= 3x); cold "
          f"{statistics.median(cold):.1f}x")  # fmt: skip


def report(root: pathlib.Path, runs: int, sobol_n: int) -> int:
    stores = {"wealth": root / f"wealth-{runs}", "sobol": root / f"sobol-{sobol_n}"}
    for kind, size in (("wealth", runs), ("sobol", sobol_n)):
        if not stores[kind].exists():
            built = run_child([__file__, "--child", "build", kind, str(size), str(stores[kind])])
            print(f"built the {kind} store: {built['runs']:,} runs in {built['wall']:.0f} s")
    measured = {}
    for kind in ("open", "final", "final_pandas", "agents", "agents_pandas"):
        measured[kind] = run_child([__file__, "--child", kind, str(stores["wealth"])], tree=False)
    measured["sobol"] = run_child([__file__, "--child", "sobol", str(stores["sobol"])], tree=False)
    wealth_runs = 5 * max(1, runs // 5)
    print(f"\n{wealth_runs:,}-run wealth store; Sobol store of {sobol_n * 22:,} runs (N={sobol_n})")
    print(f"{'measure':58} {'wall':>8} {'peak RSS':>10}")
    labels = {
        "open": "Results.open(store).runs (shared by both ways)",
        "final": "aggregate(final) of Gini by point",
        "final_pandas": "  the pandas way (dataframe(model) + groupby)",
        "agents": "aggregate(Wealth, agents, at='all') by point",
        "agents_pandas": "  the pandas way (dataframe(agents) + groupby)",
        "sobol": "sensitivity(Sobol, 10 parameters)",
    }
    for kind, label in labels.items():
        r = measured[kind]
        print(f"{label:58} {r['wall']:7.2f}s {r['peak_rss_mb']:8.0f} MB")
    final, agents, sobol = measured["final"], measured["agents"], measured["sobol"]
    pandas_final = measured["final_pandas"]
    print(f"aggregate(final): {pandas_final['wall'] / final['wall']:.1f}x faster than pandas "
          "(target >= 3x, <= 2 s, peak <= 400 MB); SciPy's and pandas' imports, which both "
          f"need, outside the window ({final['scipy_import']:.2f} s); with it on both sides "
          f"{(pandas_final['wall'] + pandas_final['scipy_import']) / (final['wall'] + final['scipy_import']):.1f}x")  # fmt: skip
    print(f"agents at='all': peak {agents['peak_rss_mb'] / measured['agents_pandas']['peak_rss_mb']:.2f}x "
          "the pandas way's (target <= 0.5x, <= 1 GB)")  # fmt: skip
    print(f"Sobol: SALib's own {sobol['salib']:.2f} s (its import, outside the window: "
          f"{sobol['salib_import']:.2f} s); beyond SALib "
          f"{sobol['wall'] - sobol['salib']:.2f} s (target <= 5 s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
