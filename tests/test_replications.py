"""Adaptive replications (replicate_until) on small real Mesa models."""

from __future__ import annotations

import mesa


class NoisyModel(mesa.Model):
    """One value per step: ``mean + sigma * noise``, the noise drawn from the model's rng."""

    def __init__(self, mean: float = 10.0, sigma: float = 1.0, fail: bool = False, rng=None):
        super().__init__(rng=rng)
        if fail:
            raise RuntimeError("this point always fails")
        self.mean = mean
        self.sigma = sigma
        self.value = mean
        self.twice = 2 * mean
        self.datacollector = mesa.DataCollector(
            model_reporters={"value": "value", "twice": "twice"}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        noise = self.rng.standard_normal()
        self.value = self.mean + self.sigma * noise
        self.twice = 2 * self.mean + self.sigma * self.rng.standard_normal()
        self.datacollector.collect(self)
