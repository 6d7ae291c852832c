"""mesa_batch in one process against a plain loop that keeps the DataCollector's raw records.

Usage (inside the environment)::

    python benchmarks/bench_inprocess.py                # 5 pairs
    python benchmarks/bench_inprocess.py --pairs 9

The sweep is case (b) of ``bench_runners.py``: the tutorial's wealth model on a grid, 25 grid
sizes x 10 iterations = 250 runs, 100 agents, 100 steps, model and agent data every step.

``raw`` builds and steps each model and keeps its collector's ``model_vars`` and
``_agent_records`` as they are: the model's own work and nothing else (no table is built).
``mesa_batch`` is ``BatchRunner(configs, number_processes=1, display_progress=False).run()``
(the defaults otherwise, its reproducibility check included) with ``results.model`` and
``results.agents`` built: the tidy tables. Each runs in a fresh child process; the two
alternate (raw, mesa_batch, raw, ...), and each pair gives a ratio. Reported: the call's wall
and CPU time (``time.process_time``, which a loaded machine disturbs less) and the whole
process's wall time (start to exit: imports included). Target: mesa_batch / raw <= 1.10.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child

PARAMETERS = {"n": [100], "width": [5, 10, 15, 20, 25], "height": [5, 10, 15, 20, 25]}


def child(runner: str) -> dict[str, Any]:
    import bench_models

    import mesa_batch

    configs = mesa_batch.full_factorial(
        bench_models.GridModel,
        PARAMETERS,
        iterations=10,
        max_steps=100,
        data_collection_period=1,
        seed=2026,
        common_random_numbers=True,
    )
    start_wall, start, cpu = time.time(), time.perf_counter(), time.process_time()
    if runner == "raw":
        kept = []
        for config in configs:
            model = bench_models.GridModel(**config.parameters, rng=config.seed)
            steps = 0
            while model.running and steps < config.max_steps:
                model.step()
                steps += 1
            collector = model.datacollector
            kept.append((collector.model_vars, collector._agent_records))
        rows = sum(len(rows) for _, records in kept for rows in records.values())
    else:
        results = mesa_batch.BatchRunner(configs, 1, display_progress=False).run()
        rows = len(results.agents) + 0 * len(results.model)
    return {
        "start": start_wall,
        "end": time.time(),
        "wall": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "agent_rows": rows,
    }


def driver(pairs: int) -> int:
    measured: dict[str, list[dict[str, Any]]] = {"raw": [], "mesa_batch": []}
    for pair in range(pairs):
        for runner in ("raw", "mesa_batch"):
            started = time.perf_counter()
            report = run_child([__file__, "--child", runner], tree=False)
            report["process"] = time.perf_counter() - started
            measured[runner].append(report)
            print(
                f"  pair {pair + 1} {runner:>10}: call {report['wall']:6.2f} s wall, "
                f"{report['cpu']:6.2f} s cpu; process {report['process']:6.2f} s; "
                f"{report['agent_rows']} agent rows",
                flush=True,
            )
    print(f"\nmedians of {pairs} pairs (ratio: mesa_batch / raw, pair by pair)")
    ok = True
    for key, label in (("wall", "call wall"), ("cpu", "call cpu"), ("process", "process wall")):
        raw = statistics.median(r[key] for r in measured["raw"])
        ours = statistics.median(r[key] for r in measured["mesa_batch"])
        ratios = [
            o[key] / r[key] for r, o in zip(measured["raw"], measured["mesa_batch"], strict=True)
        ]
        ratio = statistics.median(ratios)
        print(f"{label:>13}: raw {raw:6.2f} s, mesa_batch {ours:6.2f} s, ratio {ratio:.3f}")
        ok &= key == "process" or ratio <= 1.10
    print("target: mesa_batch / raw <= 1.10 (the call's wall and cpu)")
    print("met" if ok else "MISSED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("RUNNER", "OUT"))
    args = parser.parse_args()
    if args.child:
        runner, out = args.child
        pathlib.Path(out).write_text(json.dumps(child(runner)))
        return 0
    return driver(args.pairs)


if __name__ == "__main__":
    sys.exit(main())
