"""Small real Mesa models for the analysis tests (module level, so they pickle)."""

from __future__ import annotations

import math

import mesa


def ishigami(x1: float, x2: float, x3: float, a: float = 7.0, b: float = 0.1) -> float:
    """The Ishigami function."""
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)


class StopModel(mesa.Model):
    """Counts up by ``rate`` per step and stops at a random step in 2..5 (drawn from its rng).

    Agents hold ``rate * step + i`` for i in 0..2. Fails at ``__init__`` when ``fail`` and
    its rng says so (about a third of its runs).
    """

    def __init__(self, rate: float = 1.0, fail: bool = False, rng=None):
        super().__init__(rng=rng)
        self.rate = rate
        self.stop_at = int(self.random.randint(2, 5))
        if fail and self.random.random() < 0.4:
            raise RuntimeError("unlucky run")
        self.count = 0
        self.value = 0.0
        for i in range(3):
            agent = mesa.Agent(self)
            agent.offset = i
            agent.level = float(i)
        self.datacollector = mesa.DataCollector(
            model_reporters={"value": "value"}, agent_reporters={"level": "level"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.count += 1
        self.value = self.rate * self.count + self.random.random()
        for agent in self.agents:
            agent.level = self.rate * self.count + agent.offset
        self.datacollector.collect(self)
        if self.count >= self.stop_at:
            self.running = False
