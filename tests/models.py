"""Small real Mesa models for the tests, written to run on Mesa 3.0 through Mesa 4.

They live at module level so that they pickle by reference.
"""

from __future__ import annotations

import mesa


class MoneyAgent(mesa.Agent):
    """An agent that gives one unit of wealth to a random other agent each step."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.wealth = 1

    def step(self) -> None:
        if self.wealth > 0:
            other = self.random.choice(list(self.model.agents))
            other.wealth += 1
            self.wealth -= 1


class MoneyModel(mesa.Model):
    """The wealth-exchange model of Mesa's tutorial, without space; seeded with ``rng=``."""

    def __init__(self, n: int = 10, width: int = 10, height: int = 10, rng=None):
        super().__init__(rng=rng)
        self.width = width
        self.height = height
        for _ in range(n):
            MoneyAgent(self)
        self.datacollector = mesa.DataCollector(
            model_reporters={"Gini": gini},
            agent_reporters={"Wealth": "wealth"},
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


def gini(model: mesa.Model) -> float:
    """The Gini coefficient of the agents' wealth."""
    wealth = sorted(agent.wealth for agent in model.agents)
    n = len(wealth)
    total = sum(wealth)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * w for i, w in enumerate(wealth))
    return (2 * weighted) / (n * total) - (n + 1) / n


class SeedModel(mesa.Model):
    """A model written for Mesa < 3.1: it declares ``seed=`` (and forwards it as ``rng``)."""

    def __init__(self, n: int = 5, seed=None):
        super().__init__(rng=seed)
        self.n = n


class KwargsModel(mesa.Model):
    """A model that takes ``**kwargs``: any parameter name is accepted."""

    def __init__(self, n: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.n = n
        self.extra = {k: v for k, v in kwargs.items() if k != "rng"}


class NoInitModel(mesa.Model):
    """A model that does not define ``__init__`` (it takes Mesa's own)."""


class UnseedableModel(mesa.Model):
    """A model that cannot receive a seed: no rng=, seed=, scenario= or **kwargs."""

    def __init__(self, n: int = 5):
        super().__init__()
        self.n = n


class NotAModel:
    """Not a Mesa model."""

    def __init__(self, n: int = 5):
        self.n = n
