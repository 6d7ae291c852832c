"""The drop-in ``mesa_batch.batch_run`` against Mesa 3.5.1's ``mesa.batch_run``, side by side.

Usage (inside the environment, Mesa 3.5.1)::

    python benchmarks/bench_compat.py                  # both sweeps, 1 and 2 processes
    python benchmarks/bench_compat.py --sweeps long --repeats 5

Sweeps:

long   a BankReserves-like model (Mesa's bank_reserves example: 100 people on a 20 x 20 grid,
       a bank lending and taking deposits), 1,000 steps, ``rich_threshold`` x
       ``reserve_percent`` in {5, 10} x {5, 50}, 2 seeds (8 runs), the defaults of
       ``batch_run`` otherwise (``data_collection_period=-1``: the final state).
small  2,000 runs of a tiny wealth-exchange model (10 agents, 10 steps), every collection
       (``data_collection_period=1``).
long1  (only with ``--sweeps long1``) long with every collection (808,808 rows).

Every measurement runs in a fresh child process (``--child``); the competitors are interleaved
so that drifts in machine load spread evenly, and the median repeat stands for each. The child
times the ``batch_run`` call alone (the same call, the same arguments, only the function
differs), then hashes its rows (``Step`` as an int, rows sorted by run, step and agent) so the
driver can check that both give the same rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import sys
import time
from typing import Any

import mesa
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from measure import run_child

SWEEPS: dict[str, dict[str, Any]] = {
    "long": {
        "model": "BankModel",
        "parameters": {"init_people": 100, "rich_threshold": [5, 10], "reserve_percent": [5, 50]},
        "rng": [1, 2],
        "max_steps": 1000,
        "data_collection_period": -1,
    },
    "small": {
        "model": "TinyModel",
        "parameters": {"n": 10},
        "rng": list(range(2000)),
        "max_steps": 10,
        "data_collection_period": 1,
    },
}
#: not run by default: the long sweep with every collection (808,808 rows)
SWEEPS["long1"] = {**SWEEPS["long"], "data_collection_period": 1}
RUNNERS = [("mesa", 1), ("mesa_batch", 1), ("mesa", 2), ("mesa_batch", 2)]


# -- the models --------------------------------------------------------------------------------


class Bank(mesa.Agent):
    """Holds the people's savings and lends part of them out."""

    def __init__(self, model: mesa.Model, reserve_percent: int):
        super().__init__(model)
        self.reserve_percent = reserve_percent
        self.deposits = 0
        self.loans = 0
        self.lendable = 0

    def update(self) -> None:
        self.lendable = self.deposits * (100 - self.reserve_percent) // 100 - self.loans


class Person(CellAgent):
    """Walks the grid, trades with people it meets, saves, borrows and repays."""

    def __init__(self, model: mesa.Model, cell: Any, bank: Bank, rich_threshold: int):
        super().__init__(model)
        self.cell = cell
        self.bank = bank
        self.rich_threshold = rich_threshold
        self.wallet = self.random.randint(1, rich_threshold + 1)
        self.savings = 0
        self.loans = 0

    @property
    def wealth(self) -> int:
        return self.savings - self.loans

    def step(self) -> None:
        self.cell = self.cell.neighborhood.select_random_cell()
        others = [a for a in self.cell.agents if a is not self]
        if others and self.random.random() < 0.5:
            other = self.random.choice(others)
            amount = self.random.choice((2, 5))
            self.pay(amount)
            other.wallet += amount
        self.balance()

    def pay(self, amount: int) -> None:
        if self.wallet >= amount:
            self.wallet -= amount
            return
        amount -= self.wallet
        self.wallet = 0
        from_savings = min(amount, self.savings)
        self.savings -= from_savings
        self.bank.deposits -= from_savings
        self.loans += amount - from_savings
        self.bank.loans += amount - from_savings

    def balance(self) -> None:
        if self.wallet > 0 and self.loans > 0:  # repay
            repaid = min(self.wallet, self.loans)
            self.wallet -= repaid
            self.loans -= repaid
            self.bank.loans -= repaid
        if self.wallet > 0:  # save the rest
            self.savings += self.wallet
            self.bank.deposits += self.wallet
            self.wallet = 0
        self.bank.update()


class BankModel(mesa.Model):
    """A BankReserves-like economy: class counts and money totals, each person's wealth."""

    def __init__(self, init_people=100, rich_threshold=10, reserve_percent=50, rng=None):
        super().__init__(rng=rng)
        grid = OrthogonalMooreGrid((20, 20), torus=True, random=self.random)
        self.bank = Bank(self, reserve_percent)
        self.people = [
            Person(self, grid.select_random_empty_cell(), self.bank, rich_threshold)
            for _ in range(init_people)
        ]
        self.rich_threshold = rich_threshold
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "Rich": lambda m: sum(p.wealth > m.rich_threshold for p in m.people),
                "Poor": lambda m: sum(p.loans > 10 for p in m.people),
                "Middle Class": lambda m: sum(
                    p.loans <= 10 and p.wealth <= m.rich_threshold for p in m.people
                ),
                "Savings": lambda m: sum(p.savings for p in m.people),
                "Wallets": lambda m: sum(p.wallet for p in m.people),
                "Loans": lambda m: sum(p.loans for p in m.people),
                "Mean Wealth": lambda m: sum(p.wealth for p in m.people) / len(m.people),
            },
            agent_reporters={"Wealth": lambda a: getattr(a, "wealth", None)},
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.random.shuffle(self.people)
        for person in self.people:
            person.step()
        self.datacollector.collect(self)


class TinyAgent(mesa.Agent):
    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.wealth = 1

    def step(self) -> None:
        if self.wealth > 0:
            other = self.random.choice(self.model.agent_list)
            other.wealth += 1
            self.wealth -= 1


class TinyModel(mesa.Model):
    """Wealth exchange without space: ``n`` agents, the Gini coefficient and each wealth."""

    def __init__(self, n: int = 10, rng=None):
        super().__init__(rng=rng)
        self.agent_list = [TinyAgent(self) for _ in range(n)]
        self.datacollector = mesa.DataCollector(
            model_reporters={"Total": lambda m: sum(a.wealth for a in m.agent_list)},
            agent_reporters={"Wealth": "wealth"},
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


# -- the child: one competitor on one sweep ----------------------------------------------------


def child(runner: str, sweep_name: str, processes: int) -> dict[str, Any]:
    import bench_compat  # the models by their importable name, so that workers find them

    import mesa_batch

    sweep = SWEEPS[sweep_name]
    model_cls = getattr(bench_compat, sweep["model"])
    function = mesa.batch_run if runner == "mesa" else mesa_batch.batch_run
    start_wall = time.time()
    start, start_cpu = time.perf_counter(), time.process_time()
    rows = function(
        model_cls,
        sweep["parameters"],
        number_processes=processes,
        rng=sweep["rng"],
        max_steps=sweep["max_steps"],
        data_collection_period=sweep["data_collection_period"],
        display_progress=False,
    )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    end_wall = time.time()
    return {
        "start": start_wall,
        "end": end_wall,
        "wall": elapsed,
        "cpu": cpu,
        "rows": len(rows),
        "digest": digest(rows),
    }


def digest(rows: list[dict[str, Any]]) -> str:
    """A hash of the rows that does not depend on their order (``Step`` compared as an int)."""
    normal = [{**row, "Step": int(row["Step"])} for row in rows]
    normal.sort(key=lambda r: (r["RunId"], r["Step"], r.get("AgentID", 0)))
    sha = hashlib.sha256()
    for row in normal:
        sha.update(json.dumps(row, sort_keys=True, default=repr).encode())
    return sha.hexdigest()[:16]


# -- the driver ----------------------------------------------------------------------------------


def _median(reports: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(reports, key=lambda r: r["wall"])
    return ordered[(len(ordered) - 1) // 2]


def _median_of(reports: list[dict[str, Any]], key: str) -> float:
    values = sorted(r[key] for r in reports)
    return values[(len(values) - 1) // 2]


def driver(sweeps: list[str], repeats: int) -> int:
    print(f"mesa {mesa.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    measured: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for repeat in range(repeats):
        for sweep in sweeps:
            order = RUNNERS[repeat % len(RUNNERS) :] + RUNNERS[: repeat % len(RUNNERS)]
            for runner, processes in order:
                report = run_child([__file__, "--child", runner, sweep, str(processes)])
                measured.setdefault((sweep, runner, processes), []).append(report)
                print(
                    f"  {sweep:>5} {runner:>10} x{processes}: {report['wall']:7.2f} s "
                    f"{report['peak_rss_mb']:6.0f} MB",
                    flush=True,
                )
    best = {key: _median(reports) for key, reports in measured.items()}
    print(f"\nmedian of {repeats} repeats")
    print("sweep  procs  mesa s  mesa_batch s  mesa_batch/mesa  cpu ratio  rows     same rows")
    ok = True
    for sweep in sweeps:
        for processes in (1, 2):
            mesa_report = best[(sweep, "mesa", processes)]
            ours = best[(sweep, "mesa_batch", processes)]
            ratio = ours["wall"] / mesa_report["wall"]
            # the calling process's CPU time: the whole work at 1 process (no workers), and a
            # measure a loaded machine disturbs less than wall time
            cpu = _median_of(measured[(sweep, "mesa_batch", processes)], "cpu") / _median_of(
                measured[(sweep, "mesa", processes)], "cpu"
            )
            digests = {r["digest"] for (s, _, p), rs in measured.items() if s == sweep for r in rs}
            same = len(digests) == 1
            print(
                f"{sweep:>5} {processes:>6} {mesa_report['wall']:7.2f} {ours['wall']:13.2f} "
                f"{ratio:15.2f}x {cpu:9.2f}x  {ours['rows']:<8} {same}"
            )
            bound = 1.1 if processes == 1 else 1.0
            ok &= same and ratio <= bound
    print("\ntargets: mesa_batch/mesa (wall) <= 1.10 at 1 process, < 1.00 at 2; the same rows")
    print("(cpu ratio: of the calling process; at 2 processes it leaves the workers out)")
    print("all met" if ok else "MISSED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", default="long,small")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=4, metavar=("RUNNER", "SWEEP", "PROCESSES", "OUT"))
    args = parser.parse_args()
    if args.child:
        runner, sweep, processes, out = args.child
        report = child(runner, sweep, int(processes))
        pathlib.Path(out).write_text(json.dumps(report))
        return 0
    return driver(args.sweeps.split(","), args.repeats)


if __name__ == "__main__":
    sys.exit(main())
