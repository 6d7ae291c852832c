"""Models for the benchmarks: Mesa's tutorial wealth-exchange model, tiny and on a grid.

Both collect the Gini coefficient (model) and every agent's wealth (agents) at every step, like
the Mesa tutorial. A model records, once per process, when it was first built (for the
"time to first model work" measure), in ``$BENCH_STAMP_DIR`` when that is set.
"""

from __future__ import annotations

import os
import pathlib
import time

import mesa
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid

_stamped = False


def _stamp() -> None:
    global _stamped  # noqa: PLW0603 - once per process
    directory = os.environ.get("BENCH_STAMP_DIR")
    if directory and not _stamped:
        _stamped = True
        path = pathlib.Path(directory) / f"{os.getpid()}.stamp"
        path.write_text(repr(time.time()))


def gini(model: mesa.Model) -> float:
    """The Gini coefficient of the agents' wealth (the Mesa tutorial's formula)."""
    wealth = sorted(agent.wealth for agent in model.agents)
    n = len(wealth)
    total = sum(wealth)
    if total == 0:
        return 0.0
    b = sum(w * (n - i) for i, w in enumerate(wealth)) / (n * total)
    return 1 + (1 / n) - 2 * b


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
    """Wealth exchange without space: ``n`` agents."""

    def __init__(self, n: int = 10, rng=None):
        super().__init__(rng=rng)
        _stamp()
        self.agent_list = [TinyAgent(self) for _ in range(n)]
        self.datacollector = mesa.DataCollector(
            model_reporters={"Gini": gini}, agent_reporters={"Wealth": "wealth"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


class GridAgent(CellAgent):
    def __init__(self, model: mesa.Model, cell):
        super().__init__(model)
        self.cell = cell
        self.wealth = 1

    def step(self) -> None:
        self.cell = self.cell.neighborhood.select_random_cell()
        if self.wealth > 0:
            others = [a for a in self.cell.agents if a is not self]
            if others:
                other = self.random.choice(others)
                other.wealth += 1
                self.wealth -= 1


class GridModel(mesa.Model):
    """The Mesa tutorial's wealth model: ``n`` agents moving on a ``width`` x ``height`` grid."""

    def __init__(self, n: int = 100, width: int = 10, height: int = 10, rng=None):
        super().__init__(rng=rng)
        _stamp()
        self.grid = OrthogonalMooreGrid((width, height), torus=True, random=self.random)
        cells = self.random.choices(self.grid.all_cells.cells, k=n)
        for cell in cells:
            GridAgent(self, cell)
        self.datacollector = mesa.DataCollector(
            model_reporters={"Gini": gini}, agent_reporters={"Wealth": "wealth"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)
